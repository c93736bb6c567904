/* The idempotent Kafka producer of interviews.requested, with its poll thread. */
#ifndef GW_PRODUCER_H
#define GW_PRODUCER_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "ib/common.h"

typedef struct gw_producer gw_producer_t;

/* Called exactly once per message accepted by gw_producer_send, on the poll thread (or in
 * gw_producer_flush/destroy): rc IB_OK when Kafka acknowledged it (acks=all), IB_ERR with the
 * reason otherwise. Must not block. */
typedef void gw_delivery_fn(void *opaque, ib_rc_t rc, const char *reason);

/* A new producer (enable.idempotence, acks=all, message.timeout.ms = timeout_ms; linger.ms 0
 * unless KAFKA_LINGER_MS says otherwise) and its poll thread. NULL with errstr on a configuration
 * error. */
gw_producer_t *gw_producer_new(const char *bootstrap, long timeout_ms, char *errstr,
                               size_t errstr_size) IB_WUR;
/* Enqueues one message. hdrs is stolen (freed on failure too). IB_OK: cb will be called once.
 * IB_AGAIN: local queue full (cb not called). IB_ERR: not enqueued, reason in errstr (cb not
 * called). value is copied. */
ib_rc_t gw_producer_send(gw_producer_t *p, const char *topic, const char *key, void *value,
                         size_t len, rd_kafka_headers_t *hdrs, gw_delivery_fn *cb, void *opaque,
                         char *errstr, size_t errstr_size) IB_WUR;
/* 1 when no fatal error is pending and a broker connection is up. */
int gw_producer_healthy(gw_producer_t *p);
/* How many times the instance was rebuilt after a fatal error. */
unsigned gw_producer_rebuilds(gw_producer_t *p);
/* Waits up to timeout_ms for every outstanding delivery report. IB_AGAIN when some remain. */
ib_rc_t gw_producer_flush(gw_producer_t *p, int timeout_ms) IB_WUR;
/* Stops the poll thread; outstanding messages are purged and their callbacks get IB_ERR.
 * Accepts NULL. */
void gw_producer_destroy(gw_producer_t *p);

#endif
