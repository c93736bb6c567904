#include "telemetry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ib/metrics.h"

struct gw_telemetry {
    ib_metrics_t *m;
    ib_metric_t *requests;
    ib_metric_t *duration;
    ib_series_t *in_flight;
    ib_metric_t *produce_duration;
    ib_metric_t *produce_errors;
    ib_series_t *rebuilds;
    ib_series_t *ready;
    ib_metric_t *view_lag;
    ib_series_t *catalog_tenants;
    ib_series_t *interviews;
    ib_series_t *interviews_with_status;
    ib_series_t *interviews_unowned;
    ib_series_t *view_bytes;
    ib_series_t *view_evicted;
    ib_series_t *view_dropped;
    ib_series_t *view_refused;
    ib_series_t *view_records;
    ib_metric_t *quota_rejected;
    gw_telemetry_sources_t src;
};

static const char *const route_labels[] = {"route", "method", "status"};
static const char *const route_only[] = {"route"};
static const char *const outcome_label[] = {"outcome"};
static const char *const view_label[] = {"view"};
static const char *const tenant_label[] = {"tenant"};

static void collect(void *opaque)
{
    gw_telemetry_t *t = opaque;
    const gw_telemetry_sources_t *s = &t->src;

    if (s->tail != NULL) {
        ib_series_set(t->ready, gw_tail_caught_up(s->tail) ? 1 : 0);
        ib_series_set(t->view_records, (double)gw_tail_records(s->tail));
        for (size_t i = 0; i < s->nviews; i++) {
            const char *name[] = {s->view_names[i]};
            ib_series_set(ib_metric_series(t->view_lag, name), (double)gw_tail_lag(s->tail, i));
        }
    }
    if (s->catalog != NULL)
        ib_series_set(t->catalog_tenants, (double)gw_catalog_size(s->catalog));
    if (s->interviews != NULL) {
        gw_interviews_stats_t st;
        gw_interviews_stats(s->interviews, &st);
        ib_series_set(t->interviews, (double)st.interviews);
        ib_series_set(t->interviews_with_status, (double)st.with_status);
        ib_series_set(t->interviews_unowned, (double)st.unowned);
        ib_series_set(t->view_bytes, (double)st.bytes);
        ib_series_set(t->view_evicted, (double)st.evicted);
        ib_series_set(t->view_dropped, (double)st.dropped);
        ib_series_set(t->view_refused, (double)st.refused);
    }
    if (s->producer != NULL)
        ib_series_set(t->rebuilds, (double)gw_producer_rebuilds(s->producer));
}

gw_telemetry_t *gw_telemetry_new(void)
{
    gw_telemetry_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    const ib_metric_desc_t rows[] = {
        {IB_METRIC_COUNTER, "ib_gateway_http_requests_total",
         "HTTP requests answered, by route template, method and status", 3, route_labels, NULL, 0,
         &t->requests, NULL},
        {IB_METRIC_HISTOGRAM, "ib_gateway_http_request_duration_seconds",
         "Time from the request's headers to its completion, by route template", 1, route_only,
         ib_metrics_latency_buckets, ib_metrics_latency_buckets_len, &t->duration, NULL},
        {IB_METRIC_GAUGE, "ib_gateway_http_requests_in_flight",
         "Requests received and not yet completed", .series = &t->in_flight},
        {IB_METRIC_HISTOGRAM, "ib_gateway_kafka_produce_duration_seconds",
         "Time from producing an interviews.requested event to its delivery report, by outcome", 1,
         outcome_label, ib_metrics_latency_buckets, ib_metrics_latency_buckets_len,
         &t->produce_duration, NULL},
        {IB_METRIC_COUNTER, "ib_gateway_kafka_produce_errors_total",
         "Creations answered 503 because Kafka did not acknowledge, by outcome", 1, outcome_label,
         NULL, 0, &t->produce_errors, NULL},
        {IB_METRIC_COUNTER, "ib_gateway_kafka_producer_rebuilds_total",
         "Producer instances replaced after a fatal librdkafka error", .series = &t->rebuilds},
        {IB_METRIC_GAUGE, "ib_gateway_views_caught_up",
         "1 once the views reached the end offsets seen at start", .series = &t->ready},
        {IB_METRIC_GAUGE, "ib_gateway_view_lag_messages",
         "Records of the view's topic not yet applied", 1, view_label, NULL, 0, &t->view_lag, NULL},
        {IB_METRIC_COUNTER, "ib_gateway_view_records_total",
         "Records applied to the views (all topics)", .series = &t->view_records},
        {IB_METRIC_GAUGE, "ib_gateway_view_catalog_tenants",
         "Tenants with a catalog in the catalog view", .series = &t->catalog_tenants},
        {IB_METRIC_GAUGE, "ib_gateway_view_interviews", "Interviews held in the interviews view",
         .series = &t->interviews},
        {IB_METRIC_GAUGE, "ib_gateway_view_interviews_with_status",
         "Interviews of the view with a status event", .series = &t->interviews_with_status},
        {IB_METRIC_GAUGE, "ib_gateway_view_interviews_unowned",
         "Interviews of the view with a status event but no interviews.requested event",
         .series = &t->interviews_unowned},
        {IB_METRIC_GAUGE, "ib_gateway_view_interviews_bytes",
         "Memory of the interviews view: table slots plus payload text", .series = &t->view_bytes},
        {IB_METRIC_COUNTER, "ib_gateway_view_interviews_evicted_total",
         "Finished interviews evicted from the view at GATEWAY_VIEW_MAX_INTERVIEWS (GET answers "
         "404 for them)",
         .series = &t->view_evicted},
        {IB_METRIC_COUNTER, "ib_gateway_view_interviews_dropped_total",
         "Interview ids not held because GATEWAY_VIEW_MAX_INTERVIEWS was reached and none was "
         "finished",
         .series = &t->view_dropped},
        {IB_METRIC_COUNTER, "ib_gateway_view_records_refused_total",
         "interviews.requested/status records that were not valid events",
         .series = &t->view_refused},
        {IB_METRIC_COUNTER, "ib_gateway_create_quota_rejected_total",
         "POST /interviews answered 429 by the tenant's quota on this replica, by tenant", 1,
         tenant_label, NULL, 0, &t->quota_rejected, NULL},
    };
    t->m = ib_metrics_new();
    if (t->m == NULL || ib_metrics_register(t->m, rows, IB_ARRAY_LEN(rows)) != IB_OK)
        goto fail;
    ib_metrics_on_collect(t->m, collect, t);
    return t;
fail:
    gw_telemetry_free(t);
    return NULL;
}

void gw_telemetry_free(gw_telemetry_t *t)
{
    if (t == NULL)
        return;
    ib_metrics_free(t->m);
    free(t);
}

void gw_telemetry_set_sources(gw_telemetry_t *t, const gw_telemetry_sources_t *src)
{
    t->src = *src;
}

void gw_telemetry_request_begin(gw_telemetry_t *t)
{
    ib_series_add(t->in_flight, 1);
}

void gw_telemetry_request_end(gw_telemetry_t *t, const char *route, const char *method,
                              unsigned int status, double seconds)
{
    char code[8];
    static const char *const methods[] = {"GET",    "POST",  "HEAD",   "PUT",
                                          "DELETE", "PATCH", "OPTIONS"};
    const char *m = "other";
    for (size_t i = 0; i < IB_ARRAY_LEN(methods); i++)
        if (method != NULL && strcmp(method, methods[i]) == 0)
            m = methods[i];
    if (status == 0)
        memcpy(code, "none", 5); /* the connection ended before an answer */
    else
        snprintf(code, sizeof(code), "%u", status % 1000);
    const char *labels[] = {route, m, code};
    const char *route_l[] = {route};
    ib_metric_inc(t->requests, labels);
    ib_series_observe(ib_metric_series(t->duration, route_l), seconds);
    ib_series_add(t->in_flight, -1);
}

void gw_telemetry_produce(gw_telemetry_t *t, const char *outcome, double seconds)
{
    const char *labels[] = {outcome};
    ib_series_observe(ib_metric_series(t->produce_duration, labels), seconds);
    if (strcmp(outcome, "acknowledged") != 0)
        ib_metric_inc(t->produce_errors, labels);
}

void gw_telemetry_quota_rejected(gw_telemetry_t *t, const char *tenant)
{
    const char *labels[] = {tenant};
    ib_metric_inc(t->quota_rejected, labels);
}

char *gw_telemetry_render(gw_telemetry_t *t, size_t *len)
{
    return ib_metrics_render(t->m, len);
}
