// zlib, for the tests that read back the PNG screenshots of a report.
#include <zlib.h>
