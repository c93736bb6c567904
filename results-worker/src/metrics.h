/* Counters and readiness shared by the consumer thread (writer) and the HTTP thread (reader). */
#ifndef RW_METRICS_H
#define RW_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

#include "delivery.h"

typedef struct {
    atomic_ullong deliveries[3]; /* by rw_outcome_t */
    atomic_ullong dead_letters;
    atomic_ullong requested_events;
    atomic_ullong requested_invalid;
    atomic_ullong status_events;
    atomic_ullong join_entries;      /* gauge */
    atomic_ullong join_bytes;        /* gauge */
    atomic_ullong paused_partitions; /* gauge: status partitions waiting (gate or backoff) */
    atomic_int assigned;             /* status partitions assigned */
    atomic_int ready;                /* 1 once assigned and requested partitions caught up */
} rw_metrics_t;

void rw_metrics_init(rw_metrics_t *m);
/* Prometheus text exposition (version 0.0.4) into buf; returns the length written, truncated
 * to size - 1. */
size_t rw_metrics_render(const rw_metrics_t *m, char *buf, size_t size);

#endif
