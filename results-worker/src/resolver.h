/* Name resolution off the worker's loop: a few threads run getaddrinfo(3) for names handed to
 * them, and the answers wait in a list until the loop takes them; a pipe becomes readable when
 * one is ready, so the loop's poll wakes for it. A slow or dead DNS server for one name holds
 * one resolver thread, never the loop (and with several threads, not the other names).
 *
 * rw_resolver_submit and rw_resolver_take are for one thread (the loop); the resolver threads
 * only touch the queues under the mutex. */
#ifndef RW_RESOLVER_H
#define RW_RESOLVER_H

#include <netdb.h>
#include <stddef.h>

#include "ib/common.h"

typedef struct rw_resolver rw_resolver_t;

/* One answer. key and name are the caller's strings (copies, new); res is getaddrinfo's list
 * (new, NULL when gai != 0). */
typedef struct {
    char *key;
    char *name;
    int gai; /* 0 or getaddrinfo's error code */
    struct addrinfo *res;
} rw_resolved_t;

/* New resolver with nthreads threads (at least 1). NULL with errstr on failure. */
rw_resolver_t *rw_resolver_new(unsigned nthreads, char *errstr, size_t errstr_size) IB_WUR;
/* Stops the resolver and forgets unanswered names. A thread still inside getaddrinfo finishes
 * on its own (detached) and frees what is left. Accepts NULL. */
void rw_resolver_free(rw_resolver_t *r);
/* Readable while answers wait (drained by rw_resolver_take). */
int rw_resolver_fd(const rw_resolver_t *r);
/* Resolves name (TCP, any family) on a resolver thread; key (copied) comes back with the answer.
 * IB_ERR when out of memory. */
ib_rc_t rw_resolver_submit(rw_resolver_t *r, const char *key, const char *name) IB_WUR;
/* Moves one answer into *out (its fields then the caller's; rw_resolved_clear frees them): 1,
 * or 0 when none is ready. */
int rw_resolver_take(rw_resolver_t *r, rw_resolved_t *out);
void rw_resolved_clear(rw_resolved_t *a);

#endif
