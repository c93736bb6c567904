/* The worker's operations endpoint: GET /healthz, /readyz, /metrics. */
#ifndef RW_HTTP_H
#define RW_HTTP_H

#include <stddef.h>

#include "ib/common.h"
#include "ib/config.h"
#include "metrics.h"

typedef struct rw_http rw_http_t;

/* Starts an internal-thread MHD daemon on listen (parsed by the configuration loader). listen and
 * m are borrowed; m must outlive the server. NULL with the reason in errstr on failure. */
rw_http_t *rw_http_start(const ib_listen_t *listen, rw_metrics_t *m, char *errstr,
                         size_t errstr_size) IB_WUR;
/* Stops and frees; accepts NULL. */
void rw_http_stop(rw_http_t *h);

#endif
