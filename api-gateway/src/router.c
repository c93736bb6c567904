#include "router.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "routes.h"

/* application/json, parameters (charset) ignored; an absent Content-Type is taken as JSON. */
static int content_type_is_json(const char *ct)
{
    static const char json[] = "application/json";
    if (ct == NULL)
        return 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, json, sizeof(json) - 1) != 0)
        return 0;
    ct += sizeof(json) - 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

static void on_begin(gw_request_t *req)
{
    const gw_app_t *app = gw_app(req);
    gw_exchange(req)->route.name = "unmatched";
    if (app->telemetry != NULL)
        gw_telemetry_request_begin(app->telemetry);
}

static void on_end(gw_request_t *req, double seconds)
{
    const gw_app_t *app = gw_app(req);
    if (app->telemetry != NULL)
        gw_telemetry_request_end(app->telemetry, gw_exchange(req)->route.name, req->method,
                                 req->status, seconds);
}

static size_t log_fields(const gw_request_t *req, ib_log_kv_t *kv, size_t cap)
{
    const gw_exchange_t *ex = gw_exchange(req);
    if (cap < 3)
        return 0;
    kv[0] = IB_KV_STR("route", ex->route.name);
    kv[1] = IB_KV_STR("tenant", ex->tenant != NULL ? ex->tenant->id : NULL);
    kv[2] = IB_KV_STR("interview_id", ex->interview_id[0] != '\0' ? ex->interview_id : NULL);
    return 3;
}

static enum MHD_Result on_headers(gw_request_t *req)
{
    const gw_app_t *app = gw_app(req);
    gw_exchange_t *ex = gw_exchange(req);

    gw_route_result_t rr =
        gw_route_match_under(app->cfg->base_path, req->url, req->method, &ex->route);
    if (rr == GW_ROUTE_NOT_FOUND)
        return gw_reject(req, 404, "Not Found", NULL, NULL);
    if (rr == GW_ROUTE_METHOD_NOT_ALLOWED)
        return gw_reject(req, 405, "Method Not Allowed", MHD_HTTP_HEADER_ALLOW, ex->route.allow);

    if (ex->route.authenticated) {
        /* Two Authorization lines: which one counts depends on who reads them. */
        if (gw_request_header_count(req, MHD_HTTP_HEADER_AUTHORIZATION) > 1)
            return gw_reject(req, 401, gw_auth_message(GW_AUTH_INVALID),
                             MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        gw_auth_result_t ar = gw_auth_tenant(
            app->tenants, gw_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION), &ex->tenant);
        if (ar != GW_AUTH_OK)
            return gw_reject(req, 401, gw_auth_message(ar), MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                             "Bearer");
    }
    if (ex->route.json_body) {
        if (!content_type_is_json(gw_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE)))
            return gw_reject(req, 415,
                             "Unsupported Media Type: Content-Type should be "
                             "application/json",
                             NULL, NULL);
        const char *cl = gw_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && strtoull(cl, NULL, 10) > GW_BODY_MAX)
            return gw_reject(req, 413, GW_BODY_TOO_LARGE, NULL, NULL);
    }
    return MHD_YES;
}

static enum MHD_Result on_complete(gw_request_t *req)
{
    gw_route_handler_fn *handler = gw_exchange(req)->route.handler;
    if (handler == NULL) /* not reached: on_headers rejected the request */
        return gw_respond_error(req, 404, "Not Found", NULL, NULL);
    return handler(req);
}

void gw_router_handler(gw_app_t *app, gw_handler_t *out)
{
    memset(out, 0, sizeof(*out));
    out->app = app;
    out->ctx_size = sizeof(gw_exchange_t);
    out->begin = on_begin;
    out->end = on_end;
    out->headers = on_headers;
    out->complete = on_complete;
    out->log_fields = log_fields;
}
