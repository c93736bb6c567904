/* The gateway's side of the transport (gw_handler_t): on the headers, the route (404, 405), the
 * tenant's token (401) and a JSON body's media type and size (415, 413); then the route's own
 * handler (routes.h); and each request's metrics and log members. */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H

#include "handlers.h"
#include "server.h"

/* The handler interface to give gw_server_start, over app (borrowed; it must outlive the
 * server): the public API's routes (GW_ON_PUBLIC). */
void gw_router_handler(gw_app_t *app, gw_handler_t *out);
/* The same for the operations listener: its routes only (GW_ON_OPS); any other path is 404. */
void gw_router_ops_handler(gw_app_t *app, gw_handler_t *out);

#endif
