/* The first steps both services take with a callback URL: no spaces or control characters,
 * parsed by curl's URL API as an absolute URL with a scheme and a non-empty host. What is
 * allowed beyond that (schemes, userinfo, hosts) is each caller's own policy. */
#ifndef IB_URL_H
#define IB_URL_H

#include <curl/curl.h>

#include "ib/common.h"

typedef struct {
    CURLU *u;     /* the parsed URL, for the caller's further curl_url_get calls */
    char *scheme; /* as curl normalises it (lowercase) */
    char *host;   /* non-empty; a name, dotted IPv4 or [IPv6] */
} ib_url_t;

typedef enum {
    IB_URL_OK = 0,
    IB_URL_CONTROL,      /* a byte <= 0x20 (space, control) or 0x7f: refused before parsing */
    IB_URL_NOT_ABSOLUTE, /* curl refused it, or it has no scheme or no host */
    IB_URL_NO_MEMORY,
} ib_url_status_t;

/* Parses url (NUL-terminated) into out. On IB_URL_OK out holds new curl objects, released with
 * ib_url_free; on any other status out is empty (ib_url_free is still allowed). */
ib_url_status_t ib_url_parse(const char *url, ib_url_t *out) IB_WUR;

/* Releases what ib_url_parse stored and empties url. Accepts NULL and an empty url. */
void ib_url_free(ib_url_t *url);

#endif
