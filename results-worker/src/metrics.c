#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>

void rw_metrics_init(rw_metrics_t *m)
{
    for (size_t i = 0; i < 3; i++)
        atomic_init(&m->deliveries[i], 0);
    atomic_init(&m->dead_letters, 0);
    atomic_init(&m->requested_events, 0);
    atomic_init(&m->requested_invalid, 0);
    atomic_init(&m->status_events, 0);
    atomic_init(&m->join_entries, 0);
    atomic_init(&m->join_bytes, 0);
    atomic_init(&m->paused_partitions, 0);
    atomic_init(&m->assigned, 0);
    atomic_init(&m->ready, 0);
}

typedef struct {
    char *buf;
    size_t size;
    size_t len;
} out_t;

static void emit(out_t *o, const char *fmt, ...) IB_PRINTF(2, 3);

static void emit(out_t *o, const char *fmt, ...)
{
    va_list ap;
    if (o->len + 1 >= o->size)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    o->len += (size_t)n;
    if (o->len >= o->size)
        o->len = o->size - 1;
}

size_t rw_metrics_render(const rw_metrics_t *m, char *buf, size_t size)
{
    out_t o = {buf, size, 0};
    if (size == 0)
        return 0;
    buf[0] = '\0';
    emit(&o, "# HELP deliveries_total Callback attempts by outcome.\n"
             "# TYPE deliveries_total counter\n");
    for (int i = 0; i < 3; i++)
        emit(&o, "deliveries_total{outcome=\"%s\"} %llu\n", rw_outcome_name((rw_outcome_t)i),
             atomic_load(&m->deliveries[i]));
    emit(&o,
         "# HELP dead_letters_total Dead letters acknowledged by Kafka.\n"
         "# TYPE dead_letters_total counter\n"
         "dead_letters_total %llu\n"
         "# HELP requested_events_total interviews.requested events read.\n"
         "# TYPE requested_events_total counter\n"
         "requested_events_total %llu\n"
         "# HELP requested_invalid_total interviews.requested events skipped as invalid.\n"
         "# TYPE requested_invalid_total counter\n"
         "requested_invalid_total %llu\n"
         "# HELP status_events_total interviews.status events handled.\n"
         "# TYPE status_events_total counter\n"
         "status_events_total %llu\n"
         "# HELP join_entries Interviews known from interviews.requested.\n"
         "# TYPE join_entries gauge\n"
         "join_entries %llu\n"
         "# HELP join_bytes Bytes held by the join.\n"
         "# TYPE join_bytes gauge\n"
         "join_bytes %llu\n"
         "# HELP paused_partitions Status partitions paused (catch-up gate or backoff).\n"
         "# TYPE paused_partitions gauge\n"
         "paused_partitions %llu\n"
         "# HELP ready 1 when assigned and caught up.\n"
         "# TYPE ready gauge\n"
         "ready %d\n",
         atomic_load(&m->dead_letters), atomic_load(&m->requested_events),
         atomic_load(&m->requested_invalid), atomic_load(&m->status_events),
         atomic_load(&m->join_entries), atomic_load(&m->join_bytes),
         atomic_load(&m->paused_partitions), atomic_load(&m->ready));
    return o.len;
}
