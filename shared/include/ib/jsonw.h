/* A direct JSON writer: appends JSON text to a caller's buffer, no jansson tree. Used on hot
 * paths (log lines, the gateway's events and answers). */
#ifndef IB_JSONW_H
#define IB_JSONW_H

#include <stddef.h>

#include <jansson.h>

#include "ib/common.h"

/* The text so far is p[0..len); it starts in the caller's storage and moves to the heap when it
 * outgrows it. After an allocation failure, failed is set and further writes are ignored. */
typedef struct {
    char *p;
    size_t len;
    size_t cap;
    int heap;   /* p is malloc'd (ib_jw_free frees it) */
    int failed; /* out of memory: the text is incomplete */
} ib_jw_t;

/* Starts empty in storage (borrowed, size bytes; may be NULL with size 0). */
void ib_jw_init(ib_jw_t *w, char *storage, size_t size);
/* Frees the heap copy, if any. Accepts a zeroed writer. */
void ib_jw_free(ib_jw_t *w);

/* Appends n bytes as they are (the caller's JSON punctuation). */
void ib_jw_raw(ib_jw_t *w, const char *s, size_t n);
#define IB_JW_LIT(w, lit) ib_jw_raw((w), (lit), sizeof(lit) - 1)
/* Appends n bytes of s as a quoted JSON string: '"', '\\' and control characters escaped as
 * jansson does; each byte that is not part of valid UTF-8 (overlong forms, surrogates, above
 * U+10FFFF, truncated sequences) becomes \ufffd, so the output is always valid JSON. */
void ib_jw_str(ib_jw_t *w, const char *s, size_t n);
/* Appends the decimal integer v. */
void ib_jw_int(ib_jw_t *w, long long v);
/* Appends any jansson value (borrowed) in compact form, as json_dumps(JSON_COMPACT) would;
 * object members in their order. Never allocates through jansson. */
void ib_jw_value(ib_jw_t *w, const json_t *v);

/* The text as a new NUL-terminated malloc'd string (the writer is left empty and must still be
 * freed), *len its length. NULL when the writer failed or on out of memory. */
char *ib_jw_take(ib_jw_t *w, size_t *len) IB_WUR;

/* Length of the valid UTF-8 sequence at s (at most n bytes, n > 0), 0 when it is not one: the
 * rules of jansson's utf8_check_full (RFC 3629, no surrogates). */
size_t ib_utf8_len(const unsigned char *s, size_t n);

#endif
