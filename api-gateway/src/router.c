#include "router.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "event.h"
#include "ib/crypto.h"
#include "ib/kafka.h"
#include "ib/log.h"
#include "validate.h"

#define RETRY_AFTER_S "5"
/* Our deadline for a suspended POST: librdkafka's report is due by message.timeout.ms; this
 * margin only catches a report that never comes. */
#define DEADLINE_MARGIN_MS 5000
#define BODY_TOO_LARGE     "Request body too large (at most 65536 bytes)"

typedef enum {
    ROUTE_NONE = 0,
    ROUTE_HEALTHZ,
    ROUTE_READYZ,
    ROUTE_TEMPLATES,
    ROUTE_JOBS,
    ROUTE_INTERVIEWS
} route_id_t;

static const struct {
    const char *path;
    const char *method;
    route_id_t id;
    int authenticated;
} routes[] = {
    {"/healthz", "GET", ROUTE_HEALTHZ, 0},
    {"/readyz", "GET", ROUTE_READYZ, 0},
    {"/interview-templates", "GET", ROUTE_TEMPLATES, 1},
    {"/jobs", "GET", ROUTE_JOBS, 1},
    {"/interviews", "POST", ROUTE_INTERVIEWS, 1},
};

static const char *header(const gw_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

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

/* W3C traceparent "00-<32 hex>-<16 hex>-<2 hex>", passed into the event only when well formed. */
static const char *valid_traceparent(const char *tp)
{
    static const char shape[] = "xx-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-xxxxxxxxxxxxxxxx-xx";
    if (tp == NULL || strlen(tp) != sizeof(shape) - 1)
        return NULL;
    for (size_t i = 0; shape[i] != '\0'; i++) {
        if (shape[i] == '-' ? tp[i] != '-' : !isxdigit((unsigned char)tp[i]))
            return NULL;
    }
    return tp;
}

enum MHD_Result gw_router_begin(gw_request_t *req)
{
    size_t i;
    int path_known = 0;

    if (gw_server_draining(req->srv))
        return gw_reject(req, 503, "Shutting down", "Retry-After", "1");
    for (i = 0; i < IB_ARRAY_LEN(routes); i++) {
        if (strcmp(req->url, routes[i].path) != 0)
            continue;
        path_known = 1;
        if (strcmp(req->method, routes[i].method) == 0)
            break;
    }
    if (!path_known)
        return gw_reject(req, 404, "Not Found", NULL, NULL);
    if (i == IB_ARRAY_LEN(routes)) {
        /* One method per path today. */
        for (i = 0; strcmp(req->url, routes[i].path) != 0; i++)
            ;
        return gw_reject(req, 405, "Method Not Allowed", MHD_HTTP_HEADER_ALLOW, routes[i].method);
    }
    req->route = (int)routes[i].id;

    if (routes[i].authenticated) {
        gw_auth_result_t ar = gw_auth_tenant(
            req->app->tenants, header(req, MHD_HTTP_HEADER_AUTHORIZATION), &req->tenant);
        if (ar != GW_AUTH_OK)
            return gw_reject(req, 401, gw_auth_message(ar), MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                             "Bearer");
    }
    if (req->route == ROUTE_INTERVIEWS) {
        if (!content_type_is_json(header(req, MHD_HTTP_HEADER_CONTENT_TYPE)))
            return gw_reject(req, 415,
                             "Unsupported Media Type: Content-Type should be "
                             "application/json",
                             NULL, NULL);
        const char *cl = header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && strtoull(cl, NULL, 10) > GW_BODY_MAX)
            return gw_reject(req, 413, BODY_TOO_LARGE, NULL, NULL);
    }
    return MHD_YES;
}

static enum MHD_Result handle_readyz(gw_request_t *req)
{
    if (!gw_producer_healthy(req->app->producer))
        return gw_respond_error(req, 503, "Not ready: Kafka producer not connected", NULL, NULL);
    if (!gw_catalog_caught_up(req->app->catalog))
        return gw_respond_error(req, 503, "Not ready: catalog view catching up", NULL, NULL);
    return gw_respond_json(req, 200, json_pack("{s:s}", "status", "ready"), NULL, NULL);
}

static enum MHD_Result handle_templates(gw_request_t *req)
{
    if (!gw_catalog_caught_up(req->app->catalog))
        return gw_respond_error(req, 503, "Catalog not ready", "Retry-After", RETRY_AFTER_S);
    json_t *templates = gw_catalog_templates(req->app->catalog, req->tenant->id);
    if (templates == NULL)
        return gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
    return gw_respond_json(req, 200, json_pack("{s:o}", "interview_templates", templates), NULL,
                           NULL);
}

/* {"jobs": [...]}; a tenant without job categorisation (or without a catalog) gets []. */
static enum MHD_Result handle_jobs(gw_request_t *req)
{
    if (!gw_catalog_caught_up(req->app->catalog))
        return gw_respond_error(req, 503, "Catalog not ready", "Retry-After", RETRY_AFTER_S);
    json_t *jobs = gw_catalog_jobs(req->app->catalog, req->tenant->id);
    if (jobs == NULL)
        jobs = json_array();
    if (jobs == NULL)
        return gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
    return gw_respond_json(req, 200, json_pack("{s:o}", "jobs", jobs), NULL, NULL);
}

/* Delivery report, on the producer's poll thread: opaque is our reference to the pending. */
static void on_delivery(void *opaque, ib_rc_t rc, const char *reason)
{
    gw_pending_t *pd = opaque;
    (void)reason; /* logged by the producer */
    gw_pending_complete(pd, rc == IB_OK ? GW_OUTCOME_DELIVERED : GW_OUTCOME_FAILED);
    gw_pending_release(pd);
}

static enum MHD_Result handle_interviews(gw_request_t *req)
{
    const gw_app_t *app = req->app;
    gw_interview_request_t ir = {0};
    gw_error_t err = {0};
    char errstr[256];
    enum MHD_Result ret;
    json_t *ev = NULL;
    char *value = NULL;

    if (req->body_discarded > 0)
        return gw_respond_error(req, 413, BODY_TOO_LARGE, NULL, NULL);
    if (!gw_catalog_caught_up(app->catalog))
        return gw_respond_error(req, 503, "Catalog not ready", "Retry-After", RETRY_AFTER_S);

    gw_validate_ctx_t vctx = {req->tenant, app->cfg->allow_insecure_callbacks,
                              gw_catalog_template_known, app->catalog};
    if (gw_validate_interview(&vctx, req->body != NULL ? req->body : "", req->body_len, &ir,
                              &err) != IB_OK)
        return gw_respond_error(req, err.status, err.message, NULL, NULL);

    ib_interview_id(app->cfg->interview_id_secret, req->tenant->id, ir.callback_url,
                    req->interview_id);
    ev = gw_event_requested_new(&ir, req->tenant->id, req->interview_id, ib_wall_ms());
    value = ev != NULL ? json_dumps(ev, JSON_COMPACT) : NULL;
    rd_kafka_headers_t *hdrs =
        ib_ce_headers_new(req->interview_id, GW_EVENT_SOURCE, GW_EVENT_TYPE_REQUESTED,
                          valid_traceparent(header(req, "traceparent")));
    if (value == NULL || hdrs == NULL) {
        rd_kafka_headers_destroy(hdrs);
        ret = gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
        goto out;
    }

    gw_pending_t *pd =
        gw_server_suspend(req, ib_now_ms() + app->cfg->produce_timeout_ms + DEADLINE_MARGIN_MS);
    if (pd == NULL) {
        rd_kafka_headers_destroy(hdrs);
        ret = gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
        goto out;
    }
    ib_rc_t rc =
        gw_producer_send(app->producer, app->cfg->topic_requested, req->interview_id, value,
                         strlen(value), hdrs, on_delivery, pd, errstr, sizeof(errstr));
    hdrs = NULL; /* stolen */
    if (rc != IB_OK) {
        IB_WARN("produce of %s refused: %s", req->interview_id, errstr);
        gw_pending_complete(pd, GW_OUTCOME_FAILED); /* resumes: answered in gw_router_resumed */
        gw_pending_release(pd);
    }
    ret = MHD_YES; /* suspended */
out:
    json_decref(ev);
    free(value);
    gw_interview_request_clear(&ir);
    return ret;
}

enum MHD_Result gw_router_complete(gw_request_t *req)
{
    switch ((route_id_t)req->route) {
    case ROUTE_HEALTHZ:
        return gw_respond_json(req, 200, json_pack("{s:s}", "status", "ok"), NULL, NULL);
    case ROUTE_READYZ:
        return handle_readyz(req);
    case ROUTE_TEMPLATES:
        return handle_templates(req);
    case ROUTE_JOBS:
        return handle_jobs(req);
    case ROUTE_INTERVIEWS:
        return handle_interviews(req);
    case ROUTE_NONE:
        break;
    }
    return gw_respond_error(req, 404, "Not Found", NULL, NULL);
}

enum MHD_Result gw_router_resumed(gw_request_t *req)
{
    gw_outcome_t outcome = gw_pending_outcome(req->pending);
    if (outcome == GW_OUTCOME_DELIVERED)
        return gw_respond_json(req, 201, json_pack("{s:s}", "interview_id", req->interview_id),
                               NULL, NULL);
    if (outcome == GW_OUTCOME_WAITING) {
        /* Not ours to answer yet (should not happen: MHD calls us only after a resume). */
        IB_ERROR("request %s resumed while still waiting", req->interview_id);
    }
    return gw_respond_error(req, 503, "Kafka unavailable", "Retry-After", RETRY_AFTER_S);
}
