/* The checks of a request's framing that the transport makes on its headers, before any handler
 * sees it: request-target and header sizes, and a message length the gateway and a proxy in front
 * of it could read differently (request smuggling). */
#ifndef GW_FRAMING_H
#define GW_FRAMING_H

#include "server.h"

typedef struct {
    unsigned int status; /* 0: sound */
    const char *message; /* static */
    /* Answer at once and close the connection: the body's extent is in doubt, so it can be
     * neither skipped nor read. Otherwise the answer waits for the body (gw_reject). */
    int close;
} gw_framing_t;

/* Checks req's target length (414), header size (431), Content-Length and Transfer-Encoding
 * (400 when repeated or together, 501 for a coding other than chunked). */
void gw_framing_check(const gw_request_t *req, gw_framing_t *out);

#endif
