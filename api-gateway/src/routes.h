/* The HTTP surface as a table: path templates, methods, authentication, and each route's
 * handler (handlers.h), as lwan's url_map rows carry theirs. Matching is pure (no MHD). */
#ifndef GW_ROUTES_H
#define GW_ROUTES_H

#include "server.h"

#define GW_ROUTE_ID_MAX 64 /* a longer {id} segment is no route (404) */

typedef enum {
    GW_ROUTE_NONE = 0,
    GW_ROUTE_HEALTHZ,
    GW_ROUTE_READYZ,
    GW_ROUTE_METRICS,
    GW_ROUTE_TEMPLATES,
    GW_ROUTE_JOBS,
    GW_ROUTE_INTERVIEWS, /* POST /interviews */
    GW_ROUTE_INTERVIEW,  /* GET /interviews/{id} */
    GW_ROUTE_SHARED_LINK /* GET /interviews/{id}/shared-link */
} gw_route_id_t;

/* Answers a request whose route matched and whose whole body arrived (gw_handler_t.complete). */
typedef enum MHD_Result gw_route_handler_fn(gw_request_t *req);

typedef struct {
    gw_route_id_t id;
    const char *name;  /* the template, e.g. "/interviews/{id}" (a metric label); static */
    const char *allow; /* the methods the path allows (Allow header of a 405); static */
    int authenticated; /* needs a tenant's Bearer token */
    int json_body;     /* takes a JSON body of at most GW_BODY_MAX bytes (415, 413) */
    gw_route_handler_fn *handler;
    char param[GW_ROUTE_ID_MAX + 1]; /* {id}, when the template has one */
} gw_route_t;

typedef enum {
    GW_ROUTE_OK = 0,
    GW_ROUTE_NOT_FOUND,         /* no template matches the path: 404 */
    GW_ROUTE_METHOD_NOT_ALLOWED /* the path matches, the method does not: 405 with route.allow */
} gw_route_result_t;

/* Matches path (no query string) and method. The operations endpoints (the rows without
 * authentication: /healthz, /readyz, /metrics) match exactly, at the root. Workable's endpoints
 * match under base (GATEWAY_BASE_PATH: "" or "/seg[/seg...]" without a trailing slash) and only
 * there, with one trailing slash allowed ("/interviews/" is "/interviews"). On GW_ROUTE_OK and
 * GW_ROUTE_METHOD_NOT_ALLOWED *route is filled (name is the template without the base); on
 * GW_ROUTE_NOT_FOUND route->name is "unmatched". */
gw_route_result_t gw_route_match_under(const char *base, const char *path, const char *method,
                                       gw_route_t *route);
/* gw_route_match_under with no base path. */
gw_route_result_t gw_route_match(const char *path, const char *method, gw_route_t *route);

#endif
