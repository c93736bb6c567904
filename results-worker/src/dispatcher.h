/* The worker: a consumer thread that joins interviews.requested with interviews.status and
 * delivers each status event to its callback URL, in order per partition. */
#ifndef RW_DISPATCHER_H
#define RW_DISPATCHER_H

#include <stddef.h>

#include "config.h"
#include "ib/common.h"
#include "ib/tenants.h"
#include "metrics.h"

typedef struct rw_dispatcher rw_dispatcher_t;

/* Creates the Kafka clients, the join and the deliverer. cfg, tenants and m are borrowed and
 * must outlive the dispatcher. NULL with the reason in errstr. */
rw_dispatcher_t *rw_dispatcher_new(const rw_config_t *cfg, const ib_tenants_t *tenants,
                                   rw_metrics_t *m, char *errstr, size_t errstr_size) IB_WUR;
/* Starts the consumer thread. */
ib_rc_t rw_dispatcher_start(rw_dispatcher_t *d, char *errstr, size_t errstr_size) IB_WUR;
/* Asks the thread to stop (async-signal-unsafe; call from a normal thread), waits for the
 * in-flight attempt, commits stored offsets, leaves the group. Returns IB_ERR when the thread
 * ended on a fatal error. */
ib_rc_t rw_dispatcher_stop(rw_dispatcher_t *d) IB_WUR;
/* Frees everything; accepts NULL. Stops first when still running. */
void rw_dispatcher_free(rw_dispatcher_t *d);

#endif
