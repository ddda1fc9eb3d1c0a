#ifndef LWM2M_FLEET_CMALLOCINFO_SHIM_H
#define LWM2M_FLEET_CMALLOCINFO_SHIM_H
// glibc's heap statistics (mallinfo2), which Swift's Glibc module leaves out: the DTLS tests
// measure what one session costs on the heap, mbedTLS's buffers included.
#include <malloc.h>
#endif
