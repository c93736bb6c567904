/* Request ids and W3C Trace Context (traceparent) for one request. Pure apart from the random
 * source. */
#ifndef GW_TRACE_H
#define GW_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define GW_REQUEST_ID_MAX  64 /* an accepted X-Request-Id has at most this many characters */
#define GW_TRACEPARENT_LEN 55 /* "00-<32 hex>-<16 hex>-<2 hex>" */
#define GW_TRACE_RANDOM    24 /* random bytes a new trace-id (16) and span id (8) take */

/* The request id: the client's X-Request-Id when it is 1..GW_REQUEST_ID_MAX characters of
 * [A-Za-z0-9._:-] (so it can be logged and echoed safely), else 32 hex characters of rnd (16
 * bytes). given may be NULL. */
void gw_request_id_make(const char *given, const uint8_t rnd[16], char out[GW_REQUEST_ID_MAX + 1]);

/* 1 when tp is a traceparent we can continue (W3C Trace Context level 1: lowercase hex, version
 * not ff, trace-id and parent-id not all zero; version 00 exactly 55 characters, a later version
 * at least 55 with '-' after them). */
int gw_traceparent_valid(const char *tp);
/* Our span's traceparent: version 00, the incoming trace-id and flags when given is valid
 * (otherwise a new trace-id from rnd[0..15] and flags 00), a new parent-id from rnd[16..23].
 * out: GW_TRACEPARENT_LEN + 1 bytes. */
void gw_traceparent_make(const char *given, const uint8_t rnd[GW_TRACE_RANDOM],
                         char out[GW_TRACEPARENT_LEN + 1]);

/* Fills buf with len random bytes from getrandom (never blocks after boot), drawn in batches
 * per thread: no two calls get the same bytes. */
void gw_random(uint8_t *buf, size_t len);

#endif
