/* The worker's producer: retry records, dead letters and repartitioned status events, acks=all,
 * asynchronous. Each message
 * carries a ticket; its delivery report hands the ticket's owner to a callback, unless the owner
 * cancelled it first (the owner was dropped on revocation). Single-threaded: delivery reports
 * are served by rw_producer_poll on the worker thread. */
#ifndef RW_PRODUCER_H
#define RW_PRODUCER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "ib/common.h"

typedef struct rw_producer rw_producer_t;
typedef struct rw_ticket rw_ticket_t;

/* owner's message is durable (err == NO_ERROR) or failed for good (message.timeout.ms). */
typedef void rw_produced_fn(void *owner, rd_kafka_resp_err_t err, void *opaque);

rw_producer_t *rw_producer_new(const char *bootstrap, rw_produced_fn *cb, void *opaque,
                               char *errstr, size_t errstr_size) IB_WUR;
/* Flushes (bounded by timeout_ms; reports run), then frees. Accepts NULL. */
void rw_producer_free(rw_producer_t *p, int timeout_ms);

/* Produces value (copied) with key to topic (partition RD_KAFKA_PARTITION_UA: by key), with
 * CloudEvents headers (ce_id, ce_type). Returns a borrowed ticket, valid until the callback ran
 * or rw_ticket_cancel; NULL with errstr when librdkafka refused the message (then nothing will be
 * reported). */
rw_ticket_t *rw_producer_send(rw_producer_t *p, const char *topic, int32_t partition,
                              const char *key, const char *value, size_t len, const char *ce_id,
                              const char *ce_type, void *owner, char *errstr, size_t errstr_size);
/* Produces value (len bytes, copied) with key to partition of topic, with hdrs as they are
 * (copied; NULL: none) and no headers of our own: a consumed record moved elsewhere. Ticket
 * and errors as rw_producer_send. */
rw_ticket_t *rw_producer_forward(rw_producer_t *p, const char *topic, int32_t partition,
                                 const char *key, const void *value, size_t len,
                                 const rd_kafka_headers_t *hdrs, void *owner, char *errstr,
                                 size_t errstr_size);
/* Produces a tombstone (key, NULL value, no headers) to partition of topic: the key's interview
 * is erased. Ticket and errors as rw_producer_send. */
rw_ticket_t *rw_producer_tombstone(rw_producer_t *p, const char *topic, int32_t partition,
                                   const char *key, void *owner, char *errstr, size_t errstr_size);
/* The owner is gone: its report will be ignored. */
void rw_ticket_cancel(rw_ticket_t *t);
/* Serves delivery reports (waits up to timeout_ms). */
void rw_producer_poll(rw_producer_t *p, int timeout_ms);
/* Waits up to timeout_ms for every outstanding message; IB_AGAIN when some remain. */
ib_rc_t rw_producer_flush(rw_producer_t *p, int timeout_ms) IB_WUR;
/* Lets the producer's reports wake a poll(2) on fd (writes one byte). */
void rw_producer_wake_fd(rw_producer_t *p, int fd);
/* Partition count of topic (metadata; blocking up to timeout_ms), -1 when unknown. */
int rw_producer_partitions(rw_producer_t *p, const char *topic, int timeout_ms);

#endif
