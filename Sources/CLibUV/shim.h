#ifndef LWM2M_FLEET_CLIBUV_SHIM_H
#define LWM2M_FLEET_CLIBUV_SHIM_H
// The one C header the EventLoop module sees: libuv itself, plus the socket headers
// Swift needs to build and read sockaddr values for uv_udp_bind/uv_udp_connect, and the
// timerfd that gives the loop's timers nanosecond deadlines.
#include <uv.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <netdb.h>
#endif
