/* The worker's metrics: an ib/metrics.h registry (rendered by the HTTP thread) plus readiness
 * flags. Series are updated with lock-free atomics from the worker thread; gauges that need the
 * worker's private state (breakers, lag, backlog) are set by the worker loop about once a
 * second, never from the HTTP thread. */
#ifndef RW_METRICS_H
#define RW_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

#include "delivery.h"
#include "ib/metrics.h"
#include "ib/payload.h"

typedef enum {
    RW_DLQ_INVALID_EVENT = 0, /* status event or retry record that cannot be made valid */
    RW_DLQ_UNKNOWN_INTERVIEW,
    RW_DLQ_CALLBACK_REFUSED, /* URL breaks the tenant's rules or the SSRF guard */
    RW_DLQ_PERMANENT_HTTP,   /* other 4xx, 3xx */
    RW_DLQ_EXHAUSTED,        /* RETRY_MAX_AGE passed */
    RW_DLQ_REASON_COUNT
} rw_dlq_class_t;

const char *rw_dlq_class_name(rw_dlq_class_t c);

typedef struct {
    ib_metrics_t *reg;
    ib_series_t *deliveries[RW_OUTCOME_COUNT]; /* rw_deliveries_total{outcome} */
    ib_series_t *dead_letters[RW_DLQ_REASON_COUNT];
    ib_series_t *attempts;                 /* histogram: attempts a delivery took (at 2xx) */
    ib_series_t *latency;                  /* histogram: event appended -> 2xx, seconds */
    ib_series_t *put_seconds;              /* histogram: one PUT */
    ib_series_t *superseded;               /* counter: states dropped for a newer one */
    ib_series_t *coercions;                /* counter: details values rewritten */
    ib_series_t *fixes[IB_FIX_KIND_COUNT]; /* counter {kind}: fields repaired or left out */
    ib_series_t *partial_records;          /* counter: partial records acknowledged */
    ib_series_t *lifecycle_refused;        /* counter: states that break the lifecycle */
    ib_series_t *retries_produced;         /* counter: records written to TOPIC_RETRY */
    ib_series_t *repartitioned;    /* counter: status events moved to TOPIC_STATUS_REPARTITION */
    ib_series_t *retry_backlog;    /* gauge: retry records held, waiting for their due time */
    ib_series_t *retry_next_due;   /* gauge: unix seconds of the earliest due time (0: none) */
    ib_series_t *retry_oldest_due; /* gauge: seconds the most overdue record is late (>= 0) */
    ib_series_t *retry_oldest_age; /* gauge: seconds since the first attempt of the oldest */
    ib_series_t *produce_errors;   /* counter: retry/DLQ records Kafka did not acknowledge */
    ib_series_t *ready_gauge;      /* gauge: 1 when ready (from the ready flag, set at render) */
    ib_series_t *requested_events;
    ib_series_t *requested_invalid;
    ib_series_t *tombstones;    /* counter: tombstones read (erased interviews), never delivered */
    ib_series_t *state_records; /* counter: changelog records read into the join */
    ib_series_t *state_written; /* counter: changelog records acknowledged */
    ib_series_t *state_write_errors; /* counter: changelog records that failed */
    ib_series_t *expired;            /* counter: finished interviews erased at their keep time */
    ib_series_t *erased_jobs; /* counter: deliveries dropped unsent, their interview erased */
    ib_series_t *status_events;
    ib_series_t *join_entries;
    ib_series_t *join_bytes;
    ib_series_t *join_evicted; /* counter: finished interviews evicted at the join's bound */
    ib_series_t *join_refused; /* counter: new interviews refused at the bound (none finished) */
    ib_series_t *paused;
    ib_series_t *inflight;
    ib_series_t *queued;
    ib_series_t *pending_jobs;
    ib_metric_t *breaker; /* gauge {host}: 0 closed, 1 open, 2 half-open */
    ib_metric_t *lag;     /* gauge {topic, partition} */
    atomic_int assigned;  /* partitions assigned */
    atomic_int ready;     /* 1 once assigned and the join and ordering state are rebuilt */
} rw_metrics_t;

/* Creates the registry and every family. IB_ERR when out of memory. */
ib_rc_t rw_metrics_init(rw_metrics_t *m) IB_WUR;
void rw_metrics_free(rw_metrics_t *m);
/* The Prometheus text; new malloc'd string (free()), NULL when out of memory. */
char *rw_metrics_render(rw_metrics_t *m, size_t *len) IB_WUR;

#endif
