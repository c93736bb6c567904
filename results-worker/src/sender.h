/* The callback engine: one libcurl multi handle driving many PUTs at once (keep-alive through
 * the multi's connection cache; TLS sessions and DNS shared through a share handle), a global
 * cap and a per-host cap on transfers in flight, a circuit breaker per host, and the SSRF guard
 * (ssrf.h): each host is resolved once per DNS_TTL, every address vetted, the vetted addresses
 * pinned with CURLOPT_RESOLVE, and the connected address checked again by the delivery
 * callbacks.
 *
 * Everything runs on the caller's thread (the worker's loop) except getaddrinfo, which runs on
 * resolver threads (resolver.h): a host waiting for its name is skipped, the others go on. The
 * per-host state is bounded (10,000 hosts at once; hosts idle for 10 minutes with a closed
 * breaker are forgotten), so rw_sender_each_host costs what the hosts in use cost. */
#ifndef RW_SENDER_H
#define RW_SENDER_H

#include <stddef.h>
#include <sys/queue.h>

#include "breaker.h"
#include "delivery.h"
#include "ib/common.h"

typedef struct rw_sender rw_sender_t;
typedef struct rw_host rw_host_t;

/* One attempt. The caller owns it and keeps it (and the delivery's borrowed inputs) valid until
 * its done callback ran. */
typedef struct rw_send {
    rw_delivery_t d;    /* inputs (url, token, body, ...) and, when done, the results */
    void *owner;        /* the caller's job */
    long long retry_at; /* DEFERRED: monotonic ms when the host may be tried again */
    /* Private to sender.c. */
    STAILQ_ENTRY(rw_send) link; /* its host's queue, or the finished ones' */
    LIST_ENTRY(rw_send) live;   /* transfers in flight */
    rw_host_t *host;
    CURL *easy;
    struct curl_slist *resolve;
    int queued;
} rw_send_t;

typedef void rw_send_done_fn(rw_send_t *s, void *opaque);

typedef struct {
    rw_delivery_opts_t delivery; /* share and ca_blob are filled in by the sender */
    unsigned max_inflight;       /* transfers at once, all hosts */
    unsigned per_host;           /* transfers at once to one host */
    rw_breaker_opts_t breaker;
    long dns_ttl_ms;
} rw_sender_opts_t;

/* New engine; done (with opaque) receives every finished attempt. NULL with errstr on failure. */
rw_sender_t *rw_sender_new(const rw_sender_opts_t *opts, rw_send_done_fn *done, void *opaque,
                           char *errstr, size_t errstr_size) IB_WUR;
/* Aborts whatever is left (done callbacks run), then frees. Accepts NULL. */
void rw_sender_free(rw_sender_t *s);

/* Queues one attempt. done runs exactly once for it, always later, from rw_sender_run or
 * rw_sender_abort: SUCCESS/TRANSIENT/PERMANENT after a transfer or a refusal (bad URL, refused
 * address: PERMANENT), DEFERRED when the host's breaker is open, ABORTED when aborted. */
void rw_sender_submit(rw_sender_t *s, rw_send_t *x);
/* Waits up to timeout_ms for network activity or for wake_fd (-1: none) to become readable,
 * progresses transfers, runs the done callbacks of finished ones and starts queued ones; a
 * request started in a slot freed by this call is written before it returns. */
void rw_sender_run(rw_sender_t *s, int timeout_ms, int wake_fd);
/* Aborts queued and in-flight attempts whose owner satisfies pred (NULL: all); their done
 * callbacks run before this returns, with RW_OUTCOME_ABORTED. */
void rw_sender_abort(rw_sender_t *s, int (*pred)(void *owner, void *arg), void *arg);

size_t rw_sender_inflight(const rw_sender_t *s);
size_t rw_sender_queued(const rw_sender_t *s);
/* Calls fn for every host seen (metrics: breaker state per host). */
void rw_sender_each_host(const rw_sender_t *s, long long now,
                         void (*fn)(const char *host, rw_breaker_state_t st, void *arg), void *arg);

#endif
