#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#define NOT_READY          "Not ready: views catching up with Kafka"
/* Most events fit (a body is at most 64 KiB; the event moves to the heap when larger). */
#define EVENT_STORAGE 4096

static int views_ready(const gw_app_t *app)
{
    return app->tail != NULL && gw_tail_caught_up(app->tail);
}

enum MHD_Result gw_handle_healthz(gw_request_t *req)
{
    return gw_respond_json(req, 200, json_pack("{s:s}", "status", "ok"), NULL, NULL);
}

enum MHD_Result gw_handle_readyz(gw_request_t *req)
{
    const gw_app_t *app = gw_app(req);
    /* The operations listener stays up through the drain: say so to the readiness probe. */
    if (atomic_load(&app->draining))
        return gw_respond_error(req, 503, "Shutting down", "Retry-After", "1");
    if (!gw_producer_healthy(app->producer))
        return gw_respond_error(req, 503, "Not ready: Kafka producer not connected", NULL, NULL);
    if (!views_ready(app))
        return gw_respond_error(req, 503, "Not ready: views catching up with Kafka", NULL, NULL);
    return gw_respond_json(req, 200, json_pack("{s:s}", "status", "ready"), NULL, NULL);
}

enum MHD_Result gw_handle_templates(gw_request_t *req)
{
    const gw_app_t *app = gw_app(req);
    if (!views_ready(app))
        return gw_respond_error(req, 503, NOT_READY, "Retry-After", RETRY_AFTER_S);
    size_t len = 0;
    char *body = gw_catalog_templates_body(app->catalog, gw_exchange(req)->tenant->id, &len);
    if (body == NULL)
        return gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
    return gw_respond_text(req, 200, "application/json", body, len);
}

/* 404 for a tenant without job categorisation (no "jobs" key, or no catalog): the contract makes
 * the endpoint optional, and Workable then sends no job_id. */
enum MHD_Result gw_handle_jobs(gw_request_t *req)
{
    const gw_app_t *app = gw_app(req);
    if (!views_ready(app))
        return gw_respond_error(req, 503, NOT_READY, "Retry-After", RETRY_AFTER_S);
    size_t len = 0;
    char *body = NULL;
    if (gw_catalog_jobs_body(app->catalog, gw_exchange(req)->tenant->id, &body, &len) != IB_OK)
        return gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
    if (body == NULL)
        return gw_respond_error(req, 404, "Not Found: no job categorisation for this account", NULL,
                                NULL);
    return gw_respond_text(req, 200, "application/json", body, len);
}

static enum MHD_Result interview_view(gw_request_t *req, int shared_link)
{
    const gw_app_t *app = gw_app(req);
    gw_exchange_t *ex = gw_exchange(req);
    const char *id = ex->route.param;
    char *text = NULL;

    if (!views_ready(app))
        return gw_respond_error(req, 503, NOT_READY, "Retry-After", RETRY_AFTER_S);
    gw_iv_result_t r = shared_link
                           ? gw_interviews_shared_link(app->interviews, ex->tenant, id, &text)
                           : gw_interviews_payload(app->interviews, ex->tenant, id, &text);
    switch (r) {
    case GW_IV_FOUND:
        if (strlen(id) < sizeof(ex->interview_id))
            memcpy(ex->interview_id, id, strlen(id) + 1);
        return gw_respond_text(req, 200, "application/json", text, strlen(text));
    case GW_IV_NO_LINK:
        return gw_respond_error(req, 404, "Not Found: no shared link for this interview", NULL,
                                NULL);
    case GW_IV_LINK_EXPIRED:
        return gw_respond_error(req, 404, "Not Found: the shared link has expired", NULL, NULL);
    case GW_IV_NOMEM:
        return gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
    case GW_IV_UNKNOWN:
        break;
    }
    return gw_respond_error(req, 404, "Not Found: no such interview", NULL, NULL);
}

enum MHD_Result gw_handle_interview(gw_request_t *req)
{
    return interview_view(req, 0);
}

enum MHD_Result gw_handle_shared_link(gw_request_t *req)
{
    return interview_view(req, 1);
}

enum MHD_Result gw_handle_metrics(gw_request_t *req)
{
    const gw_app_t *app = gw_app(req);
    size_t len = 0;
    char *text = app->telemetry != NULL ? gw_telemetry_render(app->telemetry, &len) : NULL;
    if (text == NULL)
        return gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
    return gw_respond_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static const char *outcome_name(gw_outcome_t o)
{
    switch (o) {
    case GW_OUTCOME_DONE:
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

/* The POST's answer once Kafka acknowledged the event, refused it, or the wait ended. */
static enum MHD_Result interviews_resumed(gw_request_t *req, gw_outcome_t outcome)
{
    const gw_app_t *app = gw_app(req);
    gw_exchange_t *ex = gw_exchange(req);

    if (app->telemetry != NULL)
        gw_telemetry_produce(app->telemetry,
                             ex->produce_refused ? "refused" : outcome_name(outcome),
                             (double)(ib_now_ms() - ex->produce_start_ms) / 1000.0);
    if (outcome == GW_OUTCOME_DONE) {
        /* Read-your-writes on this replica: GET /interviews/{id} right after the 201. */
        if (gw_interviews_note_owner(app->interviews, ex->tenant, ex->interview_id) != IB_OK)
            IB_WARN("interview %s not noted in the view (full?)", ex->interview_id);
        /* The id is 32 lowercase hex: nothing to escape. */
        static const char fmt[] = "{\"interview_id\":\"%s\"}";
        size_t size = sizeof(fmt) + sizeof(ex->interview_id);
        char *text = malloc(size);
        if (text == NULL)
            return MHD_NO;
        int n = snprintf(text, size, fmt, ex->interview_id);
        return gw_respond_text(req, 201, "application/json", text, (size_t)n);
    }
    if (outcome == GW_OUTCOME_WAITING) {
        /* Not ours to answer yet (should not happen: MHD calls us only after a resume). */
        IB_ERROR("request %s resumed while still waiting", ex->interview_id);
    }
    return gw_respond_error(req, 503, "Kafka unavailable", "Retry-After", RETRY_AFTER_S);
}

/* Delivery report, on the producer's poll thread: opaque is our reference to the pending. */
static void on_delivery(void *opaque, ib_rc_t rc, const char *reason)
{
    gw_pending_t *pd = opaque;
    (void)reason; /* logged by the producer */
    gw_pending_complete(pd, rc == IB_OK ? GW_OUTCOME_DONE : GW_OUTCOME_FAILED);
    gw_pending_release(pd);
}

/* Charges one creation to the tenant's quota, unless the interview is one it already owns (a
 * repeat answers the same id and creates nothing). IB_AGAIN when over quota: 429 queued. */
static ib_rc_t charge_quota(gw_request_t *req)
{
    const gw_app_t *app = gw_app(req);
    gw_exchange_t *ex = gw_exchange(req);
    char *known = NULL;
    long retry_after_s = 1;
    char value[24];

    if (app->quota == NULL)
        return IB_OK;
    if (gw_interviews_payload(app->interviews, ex->tenant, ex->interview_id, &known) ==
        GW_IV_FOUND) {
        free(known);
        return IB_OK;
    }
    free(known);
    if (gw_quota_take(app->quota, ex->tenant, ib_now_ms(), &retry_after_s) == IB_OK)
        return IB_OK;
    if (app->telemetry != NULL)
        gw_telemetry_quota_rejected(app->telemetry, ex->tenant->id);
    snprintf(value, sizeof(value), "%ld", retry_after_s);
    if (gw_respond_error(req, 429, "Too Many Requests", "Retry-After", value) != MHD_YES)
        IB_WARN("429 for tenant %s not queued", ex->tenant->id);
    return IB_AGAIN;
}

enum MHD_Result gw_handle_interviews(gw_request_t *req)
{
    const gw_app_t *app = gw_app(req);
    gw_exchange_t *ex = gw_exchange(req);
    gw_interview_request_t ir = {0};
    gw_error_t err = {0};
    char errstr[256];
    enum MHD_Result ret;
    char ev_storage[EVENT_STORAGE];
    ib_jw_t ev;

    if (req->body_discarded > 0)
        return gw_respond_error(req, 413, GW_BODY_TOO_LARGE, NULL, NULL);
    if (!views_ready(app))
        return gw_respond_error(req, 503, NOT_READY, "Retry-After", RETRY_AFTER_S);

    gw_validate_ctx_t vctx = {ex->tenant, app->cfg->allow_insecure_callbacks,
                              gw_catalog_template_known, gw_catalog_job_known, app->catalog};
    /* jansson's values of this body live in the arena until gw_interview_request_clear below
     * (ib/json.h: no json_dumps result is passed to free() in between). */
    ib_json_arena_begin();
    if (gw_validate_interview(&vctx, req->body != NULL ? req->body : "", req->body_len, &ir,
                              &err) != IB_OK) {
        ib_json_arena_end();
        return gw_respond_error(req, err.status, err.message, NULL, NULL);
    }

    ib_interview_id(app->cfg->interview_id_secret, ex->tenant->id, ir.callback_url,
                    ex->interview_id);
    if (charge_quota(req) != IB_OK) {
        ret = MHD_YES; /* answered 429 */
        goto out;
    }
    ib_jw_init(&ev, ev_storage, sizeof(ev_storage));
    ib_rc_t written =
        gw_event_requested_write(&ev, &ir, ex->tenant->id, ex->interview_id, ib_wall_ms());
    rd_kafka_headers_t *hdrs = ib_ce_headers_new(ex->interview_id, GW_EVENT_SOURCE,
                                                 GW_EVENT_TYPE_REQUESTED, req->traceparent);
    if (written != IB_OK || hdrs == NULL) {
        rd_kafka_headers_destroy(hdrs);
        ret = gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
        goto out;
    }

    ex->produce_start_ms = ib_now_ms();
    gw_pending_t *pd = gw_server_suspend(
        req, ib_now_ms() + app->cfg->produce_timeout_ms + DEADLINE_MARGIN_MS, interviews_resumed);
    if (pd == NULL) {
        rd_kafka_headers_destroy(hdrs);
        ret = gw_respond_error(req, 500, "Internal Server Error", NULL, NULL);
        goto out;
    }
    ib_rc_t rc = gw_producer_send(app->producer, app->cfg->topic_requested, ex->interview_id, ev.p,
                                  ev.len, hdrs, on_delivery, pd, errstr, sizeof(errstr));
    hdrs = NULL; /* stolen */
    if (rc != IB_OK) {
        IB_WARN("produce of %s refused: %s", ex->interview_id, errstr);
        ex->produce_refused = 1;
        gw_pending_complete(pd, GW_OUTCOME_FAILED); /* resumes: answered in interviews_resumed */
        gw_pending_release(pd);
    }
    ret = MHD_YES; /* suspended */
out:
    ib_jw_free(&ev);
    gw_interview_request_clear(&ir);
    ib_json_arena_end();
    return ret;
}
