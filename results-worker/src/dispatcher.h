/* The worker: one thread that runs the Kafka consumer (consumer.h), the callback engine
 * (sender.h) and the producer of retry records and dead letters (producer.h) in one loop, so
 * the consumer keeps polling while many PUTs are in flight. This file is the loop and the
 * wiring: messages go to intake.h, jobs move through flow.h, the decision after an attempt is
 * outcome.h's.
 *
 * Per interview at most one PUT is in flight; a newer state waits behind it and replaces any
 * older one waiting there. Ordering against everything ever seen is kept by the join's latest
 * state per interview (join.h rw_join_order): a state older than the latest known is never
 * sent. A transient failure becomes a record on TOPIC_RETRY (partition p, like its status
 * event) and the source offset is stored only once Kafka acknowledged it; records are read
 * back, held in memory until due (a min-heap; no partition is blocked by another record's due
 * time), and sent again unless a newer state is known by then. */
#ifndef RW_DISPATCHER_H
#define RW_DISPATCHER_H

#include <stddef.h>

#include "config.h"
#include "ib/common.h"
#include "ib/tenants.h"
#include "metrics.h"

typedef struct rw_dispatcher rw_dispatcher_t;

/* Creates the Kafka clients, the join and the callback engine. cfg, tenants and m are borrowed
 * and must outlive the dispatcher. NULL with the reason in errstr. */
rw_dispatcher_t *rw_dispatcher_new(const rw_config_t *cfg, const ib_tenants_t *tenants,
                                   rw_metrics_t *m, char *errstr, size_t errstr_size) IB_WUR;
ib_rc_t rw_dispatcher_start(rw_dispatcher_t *d, char *errstr, size_t errstr_size) IB_WUR;
/* Stops: no new messages; in-flight PUTs get SHUTDOWN_GRACE to finish, the rest (and states
 * queued behind them) are handed to the retry topic; the producer is flushed, stored offsets
 * committed, the group left. IB_ERR when the thread ended on a fatal error. */
ib_rc_t rw_dispatcher_stop(rw_dispatcher_t *d) IB_WUR;
/* Frees everything; accepts NULL. Stops first when still running. */
void rw_dispatcher_free(rw_dispatcher_t *d);

#endif
