#include "metrics.h"

#include <stdlib.h>
#include <string.h>

const char *rw_dlq_class_name(rw_dlq_class_t c)
{
    static const char *const names[RW_DLQ_REASON_COUNT] = {
        "invalid_event", "unknown_interview", "callback_refused", "permanent_http", "exhausted"};
    return (size_t)c < RW_DLQ_REASON_COUNT ? names[c] : "unknown";
}

ib_rc_t rw_metrics_init(rw_metrics_t *m)
{
    static const char *const outcome_label[] = {"outcome"};
    static const char *const reason_label[] = {"reason"};
    static const char *const kind_label[] = {"kind"};
    static const char *const host_label[] = {"host"};
    static const char *const lag_labels[] = {"topic", "partition"};
    static const double attempt_buckets[] = {1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30};
    static const double e2e_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1,    2.5,  5,     10,
                                         30,   60,   120, 300,  600, 1800, 3600, 21600, 86400};
    ib_metric_t *deliveries = NULL;
    ib_metric_t *dead_letters = NULL;
    ib_metric_t *fixes = NULL;

    memset(m, 0, sizeof(*m));
    atomic_init(&m->assigned, 0);
    atomic_init(&m->ready, 0);
    const ib_metric_desc_t rows[] = {
        {IB_METRIC_COUNTER, "ib_worker_deliveries_total",
         "Callback attempts by outcome (deferred: breaker open, aborted: shutdown or revocation).",
         1, outcome_label, NULL, 0, &deliveries, NULL},
        {IB_METRIC_COUNTER, "ib_worker_dead_letters_total",
         "Dead letters acknowledged by Kafka, by reason class.", 1, reason_label, NULL, 0,
         &dead_letters, NULL},
        {IB_METRIC_COUNTER, "ib_worker_payload_fixes_total",
         "Fields of status events repaired or left out so that the rest could be delivered, by "
         "kind (docs/DEAD-LETTERS.md, partial records).",
         1, kind_label, NULL, 0, &fixes, NULL},
        {IB_METRIC_COUNTER, "ib_worker_partial_records_total",
         "Partial records (kind \"partial\") acknowledged on the dead-letter topic.",
         .series = &m->partial_records},
        {IB_METRIC_COUNTER, "ib_worker_lifecycle_refused_total",
         "Status events not sent because they break the lifecycle: another finished state after a "
         "finished one.",
         .series = &m->lifecycle_refused},
        {IB_METRIC_HISTOGRAM, "ib_worker_delivery_attempts",
         "Attempts a delivered state took (1 = first try).", 0, NULL, attempt_buckets,
         IB_ARRAY_LEN(attempt_buckets), NULL, &m->attempts},
        {IB_METRIC_HISTOGRAM, "ib_worker_event_to_delivered_seconds",
         "From the status event's Kafka timestamp to the callback's 2xx.", 0, NULL, e2e_buckets,
         IB_ARRAY_LEN(e2e_buckets), NULL, &m->latency},
        {IB_METRIC_HISTOGRAM, "ib_worker_callback_put_seconds", "Duration of one PUT.", 0, NULL,
         ib_metrics_latency_buckets, ib_metrics_latency_buckets_len, NULL, &m->put_seconds},
        {IB_METRIC_COUNTER, "ib_worker_superseded_total",
         "States not sent because a newer state of the interview is known.",
         .series = &m->superseded},
        {IB_METRIC_COUNTER, "ib_worker_details_coercions_total",
         "details values rewritten into the contract's two-level form.", .series = &m->coercions},
        {IB_METRIC_COUNTER, "ib_worker_retry_records_total",
         "Records written to the retry topic and acknowledged.", .series = &m->retries_produced},
        {IB_METRIC_COUNTER, "ib_worker_status_repartitioned_total",
         "Status events consumed on another partition than their interview's, written to the "
         "repartition topic and acknowledged.",
         .series = &m->repartitioned},
        {IB_METRIC_GAUGE, "ib_worker_retry_backlog",
         "Retry records read and waiting for their due time.", .series = &m->retry_backlog},
        {IB_METRIC_GAUGE, "ib_worker_retry_next_due_timestamp_seconds",
         "Earliest due time among waiting retry records (0: none).", .series = &m->retry_next_due},
        {IB_METRIC_GAUGE, "ib_worker_retry_overdue_seconds",
         "How late the most overdue waiting retry record is.", .series = &m->retry_oldest_due},
        {IB_METRIC_GAUGE, "ib_worker_retry_oldest_age_seconds",
         "Age (since its first attempt) of the oldest delivery waiting in the retry topic.",
         .series = &m->retry_oldest_age},
        {IB_METRIC_COUNTER, "ib_worker_kafka_produce_errors_total",
         "Retry and dead-letter records whose delivery report carried an error (they are "
         "produced again).",
         .series = &m->produce_errors},
        {IB_METRIC_GAUGE, "ib_worker_ready",
         "1 when partitions are assigned and the join is rebuilt (/readyz).",
         .series = &m->ready_gauge},
        {IB_METRIC_COUNTER, "ib_worker_requested_events_total", "interviews.requested events read.",
         .series = &m->requested_events},
        {IB_METRIC_COUNTER, "ib_worker_requested_invalid_total",
         "interviews.requested events skipped as invalid.", .series = &m->requested_invalid},
        {IB_METRIC_COUNTER, "ib_worker_tombstones_total",
         "Tombstones (null values: an erased interview) read on interviews.requested, "
         "interviews.status and the retry topic; never delivered nor dead-lettered.",
         .series = &m->tombstones},
        {IB_METRIC_COUNTER, "ib_worker_erased_deliveries_total",
         "Deliveries dropped unsent because their interview was erased (a held retry, a state "
         "queued or in flight).",
         .series = &m->erased_jobs},
        {IB_METRIC_COUNTER, "ib_worker_state_records_total",
         "Records read from interviews.state (the changelog) into the join, tombstones excluded.",
         .series = &m->state_records},
        {IB_METRIC_COUNTER, "ib_worker_state_written_total",
         "Latest states written to interviews.state and acknowledged by Kafka.",
         .series = &m->state_written},
        {IB_METRIC_COUNTER, "ib_worker_state_write_errors_total",
         "Writes to interviews.state that failed (the next assignment's scan writes them again "
         "while interviews.status retains the event).",
         .series = &m->state_write_errors},
        {IB_METRIC_COUNTER, "ib_worker_interviews_expired_total",
         "Finished interviews erased INTERVIEW_KEEP_FINISHED after their final state "
         "(tombstones on interviews.state and interviews.requested).",
         .series = &m->expired},
        {IB_METRIC_COUNTER, "ib_worker_status_events_total",
         "interviews.status events handled (live, not history).", .series = &m->status_events},
        {IB_METRIC_GAUGE, "ib_worker_join_entries", "Interviews known from interviews.requested.",
         .series = &m->join_entries},
        {IB_METRIC_GAUGE, "ib_worker_join_bytes", "Bytes requested from malloc by the join.",
         .series = &m->join_bytes},
        {IB_METRIC_COUNTER, "ib_worker_join_evicted_total",
         "Finished interviews evicted from the join at WORKER_JOIN_MAX_INTERVIEWS.",
         .series = &m->join_evicted},
        {IB_METRIC_COUNTER, "ib_worker_join_refused_total",
         "Interviews not joined: WORKER_JOIN_MAX_INTERVIEWS reached and none finished.",
         .series = &m->join_refused},
        {IB_METRIC_GAUGE, "ib_worker_paused_partitions",
         "Partitions paused (catch-up gate, full window).", .series = &m->paused},
        {IB_METRIC_GAUGE, "ib_worker_callbacks_in_flight", "PUTs in flight.",
         .series = &m->inflight},
        {IB_METRIC_GAUGE, "ib_worker_callbacks_queued", "PUTs waiting for a connection slot.",
         .series = &m->queued},
        {IB_METRIC_GAUGE, "ib_worker_pending_messages",
         "Consumed messages whose offset is not stored yet.", .series = &m->pending_jobs},
        {IB_METRIC_GAUGE, "ib_worker_breaker_state",
         "Circuit breaker per callback host: 0 closed, 1 open, 2 half-open.", 1, host_label, NULL,
         0, &m->breaker, NULL},
        {IB_METRIC_GAUGE, "ib_worker_consumer_lag", "High watermark minus the consumer's position.",
         2, lag_labels, NULL, 0, &m->lag, NULL},
    };
    m->reg = ib_metrics_new();
    if (m->reg == NULL || ib_metrics_register(m->reg, rows, IB_ARRAY_LEN(rows)) != IB_OK)
        goto fail;
    for (int i = 0; i < RW_OUTCOME_COUNT; i++) {
        const char *v[] = {rw_outcome_name((rw_outcome_t)i)};
        m->deliveries[i] = ib_metric_series(deliveries, v);
    }
    for (int i = 0; i < RW_DLQ_REASON_COUNT; i++) {
        const char *v[] = {rw_dlq_class_name((rw_dlq_class_t)i)};
        m->dead_letters[i] = ib_metric_series(dead_letters, v);
    }
    for (int i = 0; i < IB_FIX_KIND_COUNT; i++) {
        const char *v[] = {ib_fix_kind_name((ib_fix_kind_t)i)};
        m->fixes[i] = ib_metric_series(fixes, v);
    }
    return IB_OK;
fail:
    rw_metrics_free(m);
    return IB_ERR;
}

void rw_metrics_free(rw_metrics_t *m)
{
    ib_metrics_free(m->reg);
    m->reg = NULL;
}

char *rw_metrics_render(rw_metrics_t *m, size_t *len)
{
    ib_series_set(m->ready_gauge, atomic_load(&m->ready) ? 1 : 0);
    return ib_metrics_render(m->reg, len);
}
