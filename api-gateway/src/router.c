#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "event.h"
#include "ib/crypto.h"
#include "ib/json.h"
#include "ib/kafka.h"
#include "ib/log.h"
#include "validate.h"

#define RETRY_AFTER_S "5"
/* Our deadline for a suspended POST: librdkafka's report is due by message.timeout.ms; this
 * margin only catches a report that never comes. */
#define DEADLINE_MARGIN_MS 5000
#define BODY_TOO_LARGE     "Request body too large (at most 65536 bytes)"
#define NOT_READY          "Not ready: views catching up with Kafka"
/* Most events fit (a body is at most 64 KiB; the event moves to the heap when larger). */
#define EVENT_STORAGE 4096

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

/* What the request's header lines say about its framing and credentials. */
typedef struct {
    size_t bytes;           /* header names and values, with ": " and CRLF */
    unsigned authorization; /* Authorization lines */
    unsigned content_length;
    unsigned transfer_encoding;
} header_scan_t;

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    header_scan_t *h = cls;
    (void)kind;
    (void)value;
    h->bytes += key_size + value_size + 4;
    if (strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION) == 0)
        h->authorization++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        h->content_length++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        h->transfer_encoding++;
    return MHD_YES;
}

/* "chunked", the one transfer coding we read (RFC 9112 6.1; OWS around it allowed). */
static int te_is_chunked(const char *te)
{
    static const char chunked[] = "chunked";
    while (*te == ' ' || *te == '\t')
        te++;
    if (strncasecmp(te, chunked, sizeof(chunked) - 1) != 0)
        return 0;
    te += sizeof(chunked) - 1;
    while (*te == ' ' || *te == '\t')
        te++;
    return *te == '\0';
}

static int views_ready(const gw_app_t *app)
{
    return app->tail != NULL && gw_tail_caught_up(app->tail);
}

enum MHD_Result gw_router_begin(gw_request_t *req)
{
    header_scan_t hs = {0};

    if (gw_server_draining(req->srv))
        return gw_reject(req, 503, "Shutting down", "Retry-After", "1");
    if (strlen(req->url) > GW_URL_MAX || req->target_len > GW_URL_MAX)
        return gw_reject(req, 414, "URI Too Long", NULL, NULL);
    MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, scan_header, &hs);
    if (hs.bytes > GW_HEADERS_MAX)
        return gw_reject(req, 431, "Request Header Fields Too Large", NULL, NULL);
    /* Framing the gateway and a proxy in front of it could read differently (request
     * smuggling): answered at once, and the connection closed after the answer. */
    if (hs.content_length > 1 || (hs.content_length > 0 && hs.transfer_encoding > 0))
        return gw_respond_error(req, 400,
                                "Bad Request: ambiguous message length (Content-Length "
                                "repeated or with Transfer-Encoding)",
                                MHD_HTTP_HEADER_CONNECTION, "close");
    if (hs.transfer_encoding > 1 ||
        (hs.transfer_encoding == 1 &&
         !te_is_chunked(header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING))))
        return gw_respond_error(req, 501, "Not Implemented: Transfer-Encoding other than chunked",
                                MHD_HTTP_HEADER_CONNECTION, "close");

    gw_route_result_t rr = gw_route_match(req->url, req->method, &req->route);
    if (rr == GW_ROUTE_NOT_FOUND)
        return gw_reject(req, 404, "Not Found", NULL, NULL);
    if (rr == GW_ROUTE_METHOD_NOT_ALLOWED)
        return gw_reject(req, 405, "Method Not Allowed", MHD_HTTP_HEADER_ALLOW, req->route.allow);

    if (req->route.authenticated) {
        /* Two Authorization lines: which one counts depends on who reads them. */
        if (hs.authorization > 1)
            return gw_reject(req, 401, gw_auth_message(GW_AUTH_INVALID),
                             MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        gw_auth_result_t ar = gw_auth_tenant(
            req->app->tenants, header(req, MHD_HTTP_HEADER_AUTHORIZATION), &req->tenant);
        if (ar != GW_AUTH_OK)
            return gw_reject(req, 401, gw_auth_message(ar), MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                             "Bearer");
    }
    if (req->route.id == GW_ROUTE_INTERVIEWS) {
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
    if (!views_ready(req->app))
        return gw_respond_error(req, 503, "Not ready: views catching up with Kafka", NULL, NULL);
    return gw_respond_json(req, 200, json_pack("{s:s}", "status", "ready"), NULL, NULL);
}

static enum MHD_Result handle_templates(gw_request_t *req)
{
    if (!views_ready(req->app))
        return gw_respond_error(req, 503, NOT_READY, "Retry-After", RETRY_AFTER_S);
    json_t *templates = gw_catalog_templates(req->app->catalog, req->tenant->id);
    if (templates == NULL)
        return gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
    return gw_respond_json(req, 200, json_pack("{s:o}", "interview_templates", templates), NULL,
                           NULL);
}

/* {"jobs": [...]}; 404 for a tenant without job categorisation (no "jobs" key, or no catalog):
 * the contract makes the endpoint optional, and Workable then sends no job_id. */
static enum MHD_Result handle_jobs(gw_request_t *req)
{
    if (!views_ready(req->app))
        return gw_respond_error(req, 503, NOT_READY, "Retry-After", RETRY_AFTER_S);
    json_t *jobs = gw_catalog_jobs(req->app->catalog, req->tenant->id);
    if (jobs == NULL)
        return gw_respond_error(req, 404, "Not Found: no job categorisation for this account", NULL,
                                NULL);
    return gw_respond_json(req, 200, json_pack("{s:o}", "jobs", jobs), NULL, NULL);
}

static enum MHD_Result handle_interview(gw_request_t *req, int shared_link)
{
    char *text = NULL;

    if (!views_ready(req->app))
        return gw_respond_error(req, 503, NOT_READY, "Retry-After", RETRY_AFTER_S);
    gw_iv_result_t r =
        shared_link
            ? gw_interviews_shared_link(req->app->interviews, req->tenant, req->route.param, &text)
            : gw_interviews_payload(req->app->interviews, req->tenant, req->route.param, &text);
    switch (r) {
    case GW_IV_FOUND:
        if (strlen(req->route.param) < sizeof(req->interview_id))
            memcpy(req->interview_id, req->route.param, strlen(req->route.param) + 1);
        return gw_respond_text(req, 200, "application/json", text, strlen(text));
    case GW_IV_NO_LINK:
        return gw_respond_error(req, 404, "Not Found: no shared link for this interview", NULL,
                                NULL);
    case GW_IV_NOMEM:
        return gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
    case GW_IV_UNKNOWN:
        break;
    }
    return gw_respond_error(req, 404, "Not Found: no such interview", NULL, NULL);
}

static enum MHD_Result handle_metrics(gw_request_t *req)
{
    size_t len = 0;
    char *text =
        req->app->telemetry != NULL ? gw_telemetry_render(req->app->telemetry, &len) : NULL;
    if (text == NULL)
        return gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
    return gw_respond_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
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
    char ev_storage[EVENT_STORAGE];
    ib_jw_t ev;

    if (req->body_discarded > 0)
        return gw_respond_error(req, 413, BODY_TOO_LARGE, NULL, NULL);
    if (!views_ready(app))
        return gw_respond_error(req, 503, NOT_READY, "Retry-After", RETRY_AFTER_S);

    gw_validate_ctx_t vctx = {req->tenant, app->cfg->allow_insecure_callbacks,
                              gw_catalog_template_known, gw_catalog_job_known, app->catalog};
    /* jansson's values of this body live in the arena until gw_interview_request_clear below
     * (ib/json.h: no json_dumps result is passed to free() in between). */
    ib_json_arena_begin();
    if (gw_validate_interview(&vctx, req->body != NULL ? req->body : "", req->body_len, &ir,
                              &err) != IB_OK) {
        ib_json_arena_end();
        return gw_respond_error(req, err.status, err.message, NULL, NULL);
    }

    ib_interview_id(app->cfg->interview_id_secret, req->tenant->id, ir.callback_url,
                    req->interview_id);
    ib_jw_init(&ev, ev_storage, sizeof(ev_storage));
    ib_rc_t written =
        gw_event_requested_write(&ev, &ir, req->tenant->id, req->interview_id, ib_wall_ms());
    rd_kafka_headers_t *hdrs = ib_ce_headers_new(req->interview_id, GW_EVENT_SOURCE,
                                                 GW_EVENT_TYPE_REQUESTED, req->traceparent);
    if (written != IB_OK || hdrs == NULL) {
        rd_kafka_headers_destroy(hdrs);
        ret = gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
        goto out;
    }

    req->produce_start_ms = ib_now_ms();
    gw_pending_t *pd =
        gw_server_suspend(req, ib_now_ms() + app->cfg->produce_timeout_ms + DEADLINE_MARGIN_MS);
    if (pd == NULL) {
        rd_kafka_headers_destroy(hdrs);
        ret = gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
        goto out;
    }
    ib_rc_t rc = gw_producer_send(app->producer, app->cfg->topic_requested, req->interview_id, ev.p,
                                  ev.len, hdrs, on_delivery, pd, errstr, sizeof(errstr));
    hdrs = NULL; /* stolen */
    if (rc != IB_OK) {
        IB_WARN("produce of %s refused: %s", req->interview_id, errstr);
        req->produce_refused = 1;
        gw_pending_complete(pd, GW_OUTCOME_FAILED); /* resumes: answered in gw_router_resumed */
        gw_pending_release(pd);
    }
    ret = MHD_YES; /* suspended */
out:
    ib_jw_free(&ev);
    gw_interview_request_clear(&ir);
    ib_json_arena_end();
    return ret;
}

enum MHD_Result gw_router_complete(gw_request_t *req)
{
    switch (req->route.id) {
    case GW_ROUTE_HEALTHZ:
        return gw_respond_json(req, 200, json_pack("{s:s}", "status", "ok"), NULL, NULL);
    case GW_ROUTE_READYZ:
        return handle_readyz(req);
    case GW_ROUTE_METRICS:
        return handle_metrics(req);
    case GW_ROUTE_TEMPLATES:
        return handle_templates(req);
    case GW_ROUTE_JOBS:
        return handle_jobs(req);
    case GW_ROUTE_INTERVIEWS:
        return handle_interviews(req);
    case GW_ROUTE_INTERVIEW:
        return handle_interview(req, 0);
    case GW_ROUTE_SHARED_LINK:
        return handle_interview(req, 1);
    case GW_ROUTE_NONE:
        break;
    }
    return gw_respond_error(req, 404, "Not Found", NULL, NULL);
}

static const char *outcome_name(gw_outcome_t o)
{
    switch (o) {
    case GW_OUTCOME_DELIVERED:
        return "acknowledged";
    case GW_OUTCOME_TIMED_OUT:
        return "timeout";
    case GW_OUTCOME_SHUTDOWN:
        return "shutdown";
    case GW_OUTCOME_FAILED:
    case GW_OUTCOME_WAITING:
        break;
    }
    return "failed";
}

enum MHD_Result gw_router_resumed(gw_request_t *req)
{
    gw_outcome_t outcome = gw_pending_outcome(req->pending);
    if (req->app->telemetry != NULL)
        gw_telemetry_produce(req->app->telemetry,
                             req->produce_refused ? "refused" : outcome_name(outcome),
                             (double)(ib_now_ms() - req->produce_start_ms) / 1000.0);
    if (outcome == GW_OUTCOME_DELIVERED) {
        /* Read-your-writes on this replica: GET /interviews/{id} right after the 201. */
        if (gw_interviews_note_owner(req->app->interviews, req->tenant, req->interview_id) != IB_OK)
            IB_WARN("interview %s not noted in the view (full?)", req->interview_id);
        /* The id is 32 lowercase hex: nothing to escape. */
        static const char fmt[] = "{\"interview_id\":\"%s\"}";
        size_t size = sizeof(fmt) + sizeof(req->interview_id);
        char *text = malloc(size);
        if (text == NULL)
            return MHD_NO;
        int n = snprintf(text, size, fmt, req->interview_id);
        return gw_respond_text(req, 201, "application/json", text, (size_t)n);
    }
    if (outcome == GW_OUTCOME_WAITING) {
        /* Not ours to answer yet (should not happen: MHD calls us only after a resume). */
        IB_ERROR("request %s resumed while still waiting", req->interview_id);
    }
    return gw_respond_error(req, 503, "Kafka unavailable", "Retry-After", RETRY_AFTER_S);
}
