/* Reads whole topics into the gateway's views: one consumer without a group (offsets are never
 * committed), every partition of every topic from the beginning, one thread, each message handed
 * to its topic's handler. Every replica therefore builds the same views, and updates keep coming
 * without a restart. Caught up once every partition was read up to the high watermark seen when
 * reading started (for /readyz). */
#ifndef GW_TAIL_H
#define GW_TAIL_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "ib/common.h"

#define GW_TAIL_MAX_TOPICS 4

/* Called on the tail's thread for every record (errors and EOF events are not passed). m is
 * borrowed for the call. */
typedef void gw_tail_fn(void *opaque, const rd_kafka_message_t *m);

typedef struct {
    const char *topic; /* copied */
    gw_tail_fn *fn;
    void *opaque;
} gw_tail_topic_t;

typedef struct gw_tail gw_tail_t;

/* A new tail over n (<= GW_TAIL_MAX_TOPICS) topics; nothing runs yet. NULL on out of memory or
 * bad arguments. */
gw_tail_t *gw_tail_new(const char *bootstrap, const gw_tail_topic_t *topics, size_t n) IB_WUR;
/* Starts the thread. It never gives up: while the broker or a topic is missing it retries and
 * gw_tail_caught_up stays 0. IB_ERR with errstr when the consumer cannot be built. */
ib_rc_t gw_tail_start(gw_tail_t *t, char *errstr, size_t errstr_size) IB_WUR;
/* Stops and joins the thread, frees everything. Accepts NULL. */
void gw_tail_destroy(gw_tail_t *t);

/* 1 once every partition of every topic reached the high watermark seen at start. Any thread. */
int gw_tail_caught_up(const gw_tail_t *t);
/* Messages of topic i not yet applied: sum over its partitions of (latest known high watermark
 * - next offset to read); -1 while reading has not started. Any thread. */
long long gw_tail_lag(gw_tail_t *t, size_t i);
/* Records applied (handed to the handlers) so far, all topics. Any thread. */
unsigned long long gw_tail_records(const gw_tail_t *t);

#endif
