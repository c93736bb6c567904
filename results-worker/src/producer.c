#include "producer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ib/kafka.h"
#include "ib/log.h"

#define MESSAGE_TIMEOUT_MS "30000"

struct rw_ticket {
    void *owner; /* NULL once cancelled */
};

struct rw_producer {
    rd_kafka_t *rk;
    rd_kafka_queue_t *main_q;
    rw_produced_fn *cb;
    void *opaque;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    rw_producer_t *p = opaque;
    rw_ticket_t *t = msg->_private;
    (void)rk;
    if (t == NULL)
        return;
    if (t->owner != NULL)
        p->cb(t->owner, msg->err, p->opaque);
    free(t);
}

rw_producer_t *rw_producer_new(const char *bootstrap, rw_produced_fn *cb, void *opaque,
                               char *errstr, size_t errstr_size)
{
    char why[512];
    rw_producer_t *p = calloc(1, sizeof(*p));
    rd_kafka_conf_t *conf = NULL;
    if (p == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    p->cb = cb;
    p->opaque = opaque;
    conf = ib_kafka_conf_new(bootstrap, "results-worker-producer", errstr, errstr_size);
    if (conf == NULL)
        goto fail;
    /* Not idempotent: 2.0.2's idempotent producer can raise fatal errors under broker faults,
     * and a duplicated retry record or dead letter is harmless (the PUT is idempotent). One
     * request in flight per broker instead keeps each partition's records in the order they
     * were produced across retries: compaction keeps the last record of an interview in
     * interviews.state, which must be its latest state. */
    if (ib_kafka_conf_set(conf, "acks", "all", why, sizeof(why)) != IB_OK ||
        ib_kafka_conf_default(conf, "max.in.flight.requests.per.connection", "1", why,
                              sizeof(why)) != IB_OK ||
        ib_kafka_conf_set(conf, "message.timeout.ms", MESSAGE_TIMEOUT_MS, why, sizeof(why)) !=
            IB_OK ||
        ib_kafka_conf_set(conf, "linger.ms", "2", why, sizeof(why)) != IB_OK ||
        /* Above librdkafka's 1,000,000: a status event of up to IB_STATUS_EVENT_MAX_BYTES
         * moved to the repartition topic with its headers, and retry records up to
         * RW_RETRY_MAX_BYTES; the topics' max.message.bytes is the real bound. */
        ib_kafka_conf_default(conf, "message.max.bytes", "3145728", why, sizeof(why)) != IB_OK) {
        snprintf(errstr, errstr_size, "kafka producer: %s", why);
        goto fail;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = ib_kafka_new(RD_KAFKA_PRODUCER, conf, "kafka producer", errstr, errstr_size);
    conf = NULL; /* stolen by ib_kafka_new */
    if (p->rk == NULL)
        goto fail;
    p->main_q = rd_kafka_queue_get_main(p->rk);
    return p;
fail:
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    free(p);
    return NULL;
}

void rw_producer_free(rw_producer_t *p, int timeout_ms)
{
    if (p == NULL)
        return;
    if (p->rk != NULL) {
        if (rd_kafka_flush(p->rk, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
            IB_WARN("producer: %d messages not acknowledged at exit", rd_kafka_outq_len(p->rk));
        if (p->main_q != NULL) {
            rd_kafka_queue_io_event_enable(p->main_q, -1, NULL, 0);
            rd_kafka_queue_destroy(p->main_q);
        }
        rd_kafka_destroy(p->rk);
    }
    free(p);
}

/* Produces with hdrs (stolen: owned by the message, or destroyed on failure). */
static rw_ticket_t *produce(rw_producer_t *p, const char *topic, int32_t partition, const char *key,
                            const void *value, size_t len, rd_kafka_headers_t *hdrs, void *owner,
                            char *errstr, size_t errstr_size)
{
    rw_ticket_t *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        if (hdrs != NULL)
            rd_kafka_headers_destroy(hdrs);
        return NULL;
    }
    t->owner = owner;
    for (int tries = 0;; tries++) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)(uintptr_t)value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
            RD_KAFKA_V_OPAQUE(t), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return t; /* headers now owned by the message */
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries > 100) {
            snprintf(errstr, errstr_size, "produce to %s: %s", topic, rd_kafka_err2str(err));
            break;
        }
        rd_kafka_poll(p->rk, 100);
    }
    if (hdrs != NULL)
        rd_kafka_headers_destroy(hdrs);
    free(t);
    return NULL;
}

rw_ticket_t *rw_producer_send(rw_producer_t *p, const char *topic, int32_t partition,
                              const char *key, const char *value, size_t len, const char *ce_id,
                              const char *ce_type, void *owner, char *errstr, size_t errstr_size)
{
    rd_kafka_headers_t *hdrs =
        ib_ce_headers_new(ce_id, "/interview-bridge/results-worker", ce_type, NULL);
    return produce(p, topic, partition, key, value, len, hdrs, owner, errstr, errstr_size);
}

rw_ticket_t *rw_producer_forward(rw_producer_t *p, const char *topic, int32_t partition,
                                 const char *key, const void *value, size_t len,
                                 const rd_kafka_headers_t *hdrs, void *owner, char *errstr,
                                 size_t errstr_size)
{
    rd_kafka_headers_t *copy = NULL;
    if (hdrs != NULL) {
        copy = rd_kafka_headers_copy(hdrs);
        if (copy == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
            return NULL;
        }
    }
    return produce(p, topic, partition, key, value, len, copy, owner, errstr, errstr_size);
}

rw_ticket_t *rw_producer_tombstone(rw_producer_t *p, const char *topic, int32_t partition,
                                   const char *key, void *owner, char *errstr, size_t errstr_size)
{
    return produce(p, topic, partition, key, NULL, 0, NULL, owner, errstr, errstr_size);
}

void rw_ticket_cancel(rw_ticket_t *t)
{
    if (t != NULL)
        t->owner = NULL;
}

void rw_producer_poll(rw_producer_t *p, int timeout_ms)
{
    rd_kafka_poll(p->rk, timeout_ms);
}

ib_rc_t rw_producer_flush(rw_producer_t *p, int timeout_ms)
{
    return rd_kafka_flush(p->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? IB_OK : IB_AGAIN;
}

void rw_producer_wake_fd(rw_producer_t *p, int fd)
{
    rd_kafka_queue_io_event_enable(p->main_q, fd, "p", 1);
}

int rw_producer_partitions(rw_producer_t *p, const char *topic, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, topic, NULL);
    int n = -1;
    if (rkt == NULL)
        return -1;
    if (rd_kafka_metadata(p->rk, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        n = md->topics[0].partition_cnt;
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}
