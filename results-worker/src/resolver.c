#define _GNU_SOURCE /* pthread_timedjoin_np */

#include "resolver.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

typedef struct req {
    STAILQ_ENTRY(req) link;
    rw_resolved_t a;
} req_t;

STAILQ_HEAD(req_list, req);

struct rw_resolver {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct req_list todo;
    struct req_list done;
    int stop;
    unsigned refs; /* the owner + every running thread; the last one frees */
    int pipe[2];
    pthread_t threads[MAX_THREADS];
    unsigned nthreads;
};

static void req_free(req_t *q)
{
    if (q == NULL)
        return;
    rw_resolved_clear(&q->a);
    free(q);
}

static void drop_list(struct req_list *l)
{
    req_t *q;
    while ((q = STAILQ_FIRST(l)) != NULL) {
        STAILQ_REMOVE_HEAD(l, link);
        req_free(q);
    }
}

static void destroy(rw_resolver_t *r)
{
    drop_list(&r->todo);
    drop_list(&r->done);
    if (r->pipe[0] >= 0)
        close(r->pipe[0]);
    if (r->pipe[1] >= 0)
        close(r->pipe[1]);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* Drops one reference under the mutex (held on entry, released here). */
static void unref_locked(rw_resolver_t *r)
{
    unsigned left = --r->refs;
    pthread_mutex_unlock(&r->mu);
    if (left == 0)
        destroy(r);
}

static void *run(void *arg)
{
    rw_resolver_t *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->stop && STAILQ_EMPTY(&r->todo))
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop)
            break;
        req_t *q = STAILQ_FIRST(&r->todo);
        STAILQ_REMOVE_HEAD(&r->todo, link);
        pthread_mutex_unlock(&r->mu);

        struct addrinfo hints;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        q->a.gai = getaddrinfo(q->a.name, NULL, &hints, &q->a.res);
        if (q->a.gai != 0)
            q->a.res = NULL;

        pthread_mutex_lock(&r->mu);
        if (r->stop) {
            req_free(q);
            break;
        }
        STAILQ_INSERT_TAIL(&r->done, q, link);
        ssize_t w = write(r->pipe[1], "r", 1); /* full pipe: already readable */
        (void)w;
    }
    unref_locked(r);
    return NULL;
}

rw_resolver_t *rw_resolver_new(unsigned nthreads, char *errstr, size_t errstr_size)
{
    rw_resolver_t *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    r->pipe[0] = r->pipe[1] = -1;
    STAILQ_INIT(&r->todo);
    STAILQ_INIT(&r->done);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->refs = 1;
    if (pipe(r->pipe) != 0 || fcntl(r->pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(r->pipe[1], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(r->pipe[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(r->pipe[1], F_SETFD, FD_CLOEXEC) != 0) {
        snprintf(errstr, errstr_size, "resolver pipe: %s", strerror(errno));
        destroy(r);
        return NULL;
    }
    if (nthreads == 0)
        nthreads = 1;
    if (nthreads > MAX_THREADS)
        nthreads = MAX_THREADS;
    for (unsigned i = 0; i < nthreads; i++) {
        pthread_t t;
        pthread_mutex_lock(&r->mu);
        r->refs++;
        pthread_mutex_unlock(&r->mu);
        int err = pthread_create(&t, NULL, run, r);
        if (err == 0)
            r->threads[r->nthreads++] = t;
        if (err != 0) {
            pthread_mutex_lock(&r->mu);
            r->refs--;
            pthread_mutex_unlock(&r->mu);
            snprintf(errstr, errstr_size, "resolver thread: %s", strerror(err));
            rw_resolver_free(r);
            return NULL;
        }
    }
    return r;
}

void rw_resolver_free(rw_resolver_t *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    /* Idle threads leave at once and are joined, so that none outlives its owner in the usual
     * case. A thread still inside getaddrinfo after the deadline is detached: it keeps its
     * reference, and the last one out frees. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    for (unsigned i = 0; i < r->nthreads; i++)
        if (pthread_timedjoin_np(r->threads[i], NULL, &until) != 0)
            pthread_detach(r->threads[i]);
    r->nthreads = 0;
    pthread_mutex_lock(&r->mu);
    unref_locked(r);
}

int rw_resolver_fd(const rw_resolver_t *r)
{
    return r->pipe[0];
}

ib_rc_t rw_resolver_submit(rw_resolver_t *r, const char *key, const char *name)
{
    req_t *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return IB_ERR;
    q->a.key = strdup(key);
    q->a.name = strdup(name);
    if (q->a.key == NULL || q->a.name == NULL) {
        req_free(q);
        return IB_ERR;
    }
    pthread_mutex_lock(&r->mu);
    STAILQ_INSERT_TAIL(&r->todo, q, link);
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return IB_OK;
}

int rw_resolver_take(rw_resolver_t *r, rw_resolved_t *out)
{
    char buf[64];
    pthread_mutex_lock(&r->mu);
    req_t *q = STAILQ_FIRST(&r->done);
    if (q != NULL)
        STAILQ_REMOVE_HEAD(&r->done, link);
    else
        while (read(r->pipe[0], buf, sizeof(buf)) > 0) {
        }
    pthread_mutex_unlock(&r->mu);
    if (q == NULL)
        return 0;
    *out = q->a;
    free(q);
    return 1;
}

void rw_resolved_clear(rw_resolved_t *a)
{
    if (a == NULL)
        return;
    free(a->key);
    free(a->name);
    if (a->res != NULL)
        freeaddrinfo(a->res);
    memset(a, 0, sizeof(*a));
}
