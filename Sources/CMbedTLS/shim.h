#ifndef LWM2M_FLEET_CMBEDTLS_SHIM_H
#define LWM2M_FLEET_CMBEDTLS_SHIM_H
// The one C header the DTLS module sees: Debian's mbedTLS 2.28 (libmbedtls-dev), which ships
// no pkg-config file, so the module map names the three libraries itself. ssl.h brings the
// session and configuration API, ssl_cookie.h the HelloVerifyRequest cookies, ssl_ticket.h the
// session tickets a server resumes sessions from, md.h the HMAC
// that derives per-device keys, error.h the text of an error code.
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cookie.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/md.h>
#include <mbedtls/error.h>
#endif
