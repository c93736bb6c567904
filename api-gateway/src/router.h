/* Handlers of the routes of routes.h: operations (/healthz, /readyz, /metrics) and Workable's
 * endpoints. */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H

#include "server.h"

/* First call (headers only): route, method, auth and size checks. Queues an error response or
 * returns MHD_YES to receive the body. */
enum MHD_Result gw_router_begin(gw_request_t *req);
/* The whole body has arrived: answer, or suspend until Kafka acknowledges. */
enum MHD_Result gw_router_complete(gw_request_t *req);
/* Called again after a suspended request was resumed: answer from the outcome. */
enum MHD_Result gw_router_resumed(gw_request_t *req);

#endif
