#include "server.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#endif

#include "daemon_loop.h"
#include "framing.h"
#include "ib/common.h"
#include "ib/config.h"
#include "ib/crypto.h"
#include "ib/log.h"

/* libmicrohttpd 0.9.75 zeroes a connection's whole pool for every keep-alive request, so every
 * byte costs CPU and resident memory per connection. 36 KiB (nine pages: pools above 32 KiB are
 * mmap'd whole pages) is the smallest that still holds header sections just past GW_HEADERS_MAX
 * (20,000 bytes in one header, or 200 headers of 100 bytes with MHD's per-header records), so
 * that they get our JSON 431 rather than MHD's own; 32 KiB does not. */
#define CONNECTION_MEMORY_LIMIT ((size_t)36 * 1024)
#define SWEEP_INTERVAL_MS       200
#define TRIM_INTERVAL_MS        5000
#define LOG_PATH_MAX            256
#define LOG_FIELDS_MAX          8 /* the handler's members of a request log line */

struct gw_pending {
    gw_server_t *srv;
    struct MHD_Connection *conn;
    atomic_int refs;
    /* Under srv->pending_mu: */
    gw_outcome_t outcome;
    long long deadline_ms;
    LIST_ENTRY(gw_pending) link; /* in srv->waiting while linked */
    int linked;
};

/* One open connection, for the request deadline that MHD lacks: MHD's timeout is reset by every
 * byte, so a client trickling a header line keeps a connection forever (slowloris). */
struct gw_conn {
    LIST_ENTRY(gw_conn) link; /* in srv->conns */
    MHD_socket fd;
    long long deadline_ms; /* a whole request must have arrived by then; 0: none (answering) */
    int cut;               /* shut down by the sweeper */
    size_t target_len;     /* of the current request's target, query included (MHD thread) */
};

struct gw_server {
    gw_handler_t handler;
    struct MHD_Daemon *daemon;
    gw_daemon_loop_t *loop;
    MHD_socket quiesced_fd;
    struct sockaddr_storage addr;
    atomic_int draining;
    atomic_int active_requests;

    pthread_mutex_t pending_mu;
    pthread_cond_t sweep_cv;
    LIST_HEAD(, gw_pending) waiting; /* suspended connections, under pending_mu */
    int sweep_stop;                  /* under pending_mu */
    pthread_t sweeper;
    int sweeper_started;

    long long idle_ms;
    pthread_mutex_t conn_mu;
    LIST_HEAD(, gw_conn) conns; /* under conn_mu */
};

/* ---- request headers ---- */

const char *gw_request_header(const gw_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

typedef struct {
    const char *const *names;
    unsigned *counts;
    size_t n;
    size_t bytes;
} header_scan_t;

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    header_scan_t *hs = cls;
    (void)kind;
    (void)value;
    hs->bytes += key_size + value_size + 4;
    for (size_t i = 0; i < hs->n; i++)
        if (strcasecmp(key, hs->names[i]) == 0)
            hs->counts[i]++;
    return MHD_YES;
}

size_t gw_request_headers_scan(const gw_request_t *req, const char *const *names, unsigned *counts,
                               size_t n)
{
    header_scan_t hs = {names, counts, n, 0};
    for (size_t i = 0; i < n; i++)
        counts[i] = 0;
    MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, scan_header, &hs);
    return hs.bytes;
}

unsigned gw_request_header_count(const gw_request_t *req, const char *name)
{
    unsigned n = 0;
    (void)gw_request_headers_scan(req, &name, &n, 1);
    return n;
}

/* ---- suspended connections ---- */

static void unlink_pending(gw_pending_t *pd)
{
    if (!pd->linked)
        return;
    LIST_REMOVE(pd, link);
    pd->linked = 0;
}

gw_pending_t *gw_server_suspend(gw_request_t *req, long long deadline_ms, gw_resume_fn *on_resume)
{
    gw_server_t *srv = req->srv;
    gw_pending_t *pd = calloc(1, sizeof(*pd));
    if (pd == NULL)
        return NULL;
    pd->srv = srv;
    pd->conn = req->conn;
    atomic_init(&pd->refs, 2);
    pd->outcome = GW_OUTCOME_WAITING;
    pd->deadline_ms = deadline_ms;
    req->pending = pd;
    req->on_resume = on_resume;

    /* Suspend before anything can complete it: a report arriving at once finds it suspended. */
    MHD_suspend_connection(req->conn);
    pthread_mutex_lock(&srv->pending_mu);
    LIST_INSERT_HEAD(&srv->waiting, pd, link);
    pd->linked = 1;
    pthread_mutex_unlock(&srv->pending_mu);
    return pd;
}

void gw_pending_complete(gw_pending_t *pd, gw_outcome_t outcome)
{
    gw_server_t *srv = pd->srv;

    pthread_mutex_lock(&srv->pending_mu);
    if (pd->outcome != GW_OUTCOME_WAITING) {
        pthread_mutex_unlock(&srv->pending_mu);
        return;
    }
    pd->outcome = outcome;
    unlink_pending(pd);
    pthread_mutex_unlock(&srv->pending_mu);
    /* The connection stays suspended (and alive) until this resume: only the first completion
     * gets here. */
    MHD_resume_connection(pd->conn);
    gw_daemon_loop_wake(srv->loop);
}

void gw_pending_release(gw_pending_t *pd)
{
    if (pd != NULL && atomic_fetch_sub(&pd->refs, 1) == 1)
        free(pd);
}

gw_outcome_t gw_pending_outcome(gw_pending_t *pd)
{
    pthread_mutex_lock(&pd->srv->pending_mu);
    gw_outcome_t o = pd->outcome;
    pthread_mutex_unlock(&pd->srv->pending_mu);
    return o;
}

/* Completes, with outcome, every waiting connection whose deadline passed (all when
 * everything is set). Resumes outside the lock. */
static size_t complete_waiting(gw_server_t *srv, gw_outcome_t outcome, int everything)
{
    gw_pending_t *batch[64];
    size_t total = 0;
    size_t n;

    do {
        long long now = ib_now_ms();
        n = 0;
        pthread_mutex_lock(&srv->pending_mu);
        gw_pending_t *next = NULL;
        for (gw_pending_t *pd = LIST_FIRST(&srv->waiting); pd != NULL && n < IB_ARRAY_LEN(batch);
             pd = next) {
            next = LIST_NEXT(pd, link);
            if (everything || pd->deadline_ms <= now) {
                pd->outcome = outcome;
                unlink_pending(pd);
                batch[n++] = pd;
            }
        }
        pthread_mutex_unlock(&srv->pending_mu);
        for (size_t i = 0; i < n; i++)
            MHD_resume_connection(batch[i]->conn);
        if (n > 0)
            gw_daemon_loop_wake(srv->loop);
        total += n;
    } while (n == IB_ARRAY_LEN(batch));
    return total;
}

/* ---- connection deadlines ---- */

/* Shuts down (both ways) every connection whose request deadline passed; MHD then sees the end
 * of the stream and closes it. Under conn_mu, which MHD_CONNECTION_NOTIFY_CLOSED also takes before
 * MHD closes the descriptor, so fd is still this connection's. */
static size_t cut_late_connections(gw_server_t *srv)
{
    size_t n = 0;
    long long now = ib_now_ms();
    gw_conn_t *c;

    pthread_mutex_lock(&srv->conn_mu);
    LIST_FOREACH(c, &srv->conns, link)
    {
        if (c->cut || c->deadline_ms == 0 || c->deadline_ms > now)
            continue;
        shutdown(c->fd, SHUT_RDWR);
        c->cut = 1;
        n++;
    }
    pthread_mutex_unlock(&srv->conn_mu);
    return n;
}

static void conn_set_deadline(gw_server_t *srv, gw_conn_t *c, long long deadline_ms)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&srv->conn_mu);
    c->deadline_ms = deadline_ms;
    pthread_mutex_unlock(&srv->conn_mu);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    gw_server_t *srv = cls;
    gw_conn_t *c = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
        gw_daemon_loop_closed(srv->loop);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        c = ci != NULL ? calloc(1, sizeof(*c)) : NULL;
        if (c == NULL)
            return; /* untracked: MHD's own inactivity timeout still applies */
        c->fd = ci->connect_fd;
        c->deadline_ms = ib_now_ms() + srv->idle_ms;
        pthread_mutex_lock(&srv->conn_mu);
        LIST_INSERT_HEAD(&srv->conns, c, link);
        pthread_mutex_unlock(&srv->conn_mu);
        *socket_context = c;
        return;
    }
    if (c == NULL)
        return;
    pthread_mutex_lock(&srv->conn_mu);
    LIST_REMOVE(c, link);
    pthread_mutex_unlock(&srv->conn_mu);
    free(c);
    *socket_context = NULL;
}

/* glibc keeps freed memory in its arenas (one per thread that allocates: the HTTP loop, the
 * view consumer, librdkafka's threads), fragmented by the catch-up parse and bursts of
 * connections; resident memory only ever grew. Handing the free pages back now and then costs a
 * walk of the free lists (about a millisecond). */
static void return_free_memory(void)
{
    ib_release_free_memory();
}

/* Our own deadlines: MHD never times out a suspended connection, and resets its inactivity
 * timeout on every byte. */
static void *sweeper_main(void *arg)
{
    gw_server_t *srv = arg;
    unsigned long sweeps = 0;

    pthread_mutex_lock(&srv->pending_mu);
    while (!srv->sweep_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += SWEEP_INTERVAL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->sweep_cv, &srv->pending_mu, &ts);
        if (srv->sweep_stop)
            break;
        pthread_mutex_unlock(&srv->pending_mu);
        size_t n = complete_waiting(srv, GW_OUTCOME_TIMED_OUT, 0);
        if (n > 0)
            IB_WARN("%zu suspended request(s) not completed before their deadline", n);
        n = cut_late_connections(srv);
        if (n > 0)
            IB_WARN("closed %zu connection(s) that delivered no whole request within "
                    "GATEWAY_IDLE_TIMEOUT",
                    n);
        if (++sweeps % (TRIM_INTERVAL_MS / SWEEP_INTERVAL_MS) == 0)
            return_free_memory();
        pthread_mutex_lock(&srv->pending_mu);
    }
    pthread_mutex_unlock(&srv->pending_mu);
    return NULL;
}

/* ---- requests ---- */

/* The handler's state follows the request in the same block. */
static size_t ctx_offset(void)
{
    size_t a = alignof(max_align_t);
    return (sizeof(gw_request_t) + a - 1) / a * a;
}

static gw_request_t *request_new(gw_server_t *srv, struct MHD_Connection *conn, const char *url,
                                 const char *method)
{
    size_t ctx_size = srv->handler.ctx_size;
    gw_request_t *req = calloc(1, ctx_offset() + ctx_size);
    if (req == NULL)
        return NULL;
    req->app = srv->handler.app;
    req->ctx = ctx_size > 0 ? (char *)req + ctx_offset() : NULL;
    req->srv = srv;
    req->conn = conn;
    req->url = url;
    req->method = method;
    req->start_ms = ib_now_ms();

    uint8_t rnd[16 + GW_TRACE_RANDOM];
    gw_random(rnd, sizeof(rnd));
    gw_request_id_make(gw_request_header(req, "X-Request-Id"), rnd, req->request_id);
    gw_traceparent_make(gw_request_header(req, "traceparent"), rnd + 16, req->traceparent);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    req->link = ci != NULL ? ci->socket_context : NULL;
    if (req->link != NULL)
        req->target_len = req->link->target_len;

    atomic_fetch_add(&srv->active_requests, 1);
    if (srv->handler.begin != NULL)
        srv->handler.begin(req);
    return req;
}

static void request_log(const gw_server_t *srv, const gw_request_t *req,
                        enum MHD_RequestTerminationCode toe)
{
    static const char *const toe_names[] = {
        "ok", "error", "timeout", "daemon shutdown", "read error", "client abort"};
    long long duration = ib_now_ms() - req->start_ms;
    char trace_id[33];
    ib_log_kv_t kv[8 + LOG_FIELDS_MAX];
    size_t n = 0;

    memcpy(trace_id, req->traceparent + 3, 32);
    trace_id[32] = '\0';
    kv[n++] = IB_KV_STR("request_id", req->request_id);
    kv[n++] = IB_KV_STR("method", req->method);
    kv[n++] = IB_KV_STRN("path", req->url, strnlen(req->url, LOG_PATH_MAX));
    kv[n++] = IB_KV_INT("status", req->status);
    kv[n++] = IB_KV_INT("duration_ms", duration);
    kv[n++] = IB_KV_STR("trace_id", trace_id);
    if (srv->handler.log_fields != NULL)
        n += srv->handler.log_fields(req, kv + n, LOG_FIELDS_MAX);
    kv[n++] = IB_KV_STR("termination", toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? NULL
                                       : (size_t)toe < IB_ARRAY_LEN(toe_names)    ? toe_names[toe]
                                                                                  : "unknown");
    ib_log_kv(req->status >= 500 || req->status == 0 ? IB_LOG_WARN : IB_LOG_INFO, kv, n, "request");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    gw_server_t *srv = cls;
    gw_request_t *req = *con_cls;
    (void)conn;
    if (req == NULL)
        return;
    request_log(srv, req, toe);
    if (srv->handler.end != NULL)
        srv->handler.end(req, (double)(ib_now_ms() - req->start_ms) / 1000.0);
    conn_set_deadline(srv, req->link, ib_now_ms() + srv->idle_ms);
    gw_pending_release(req->pending);
    free(req->body);
    free(req);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->active_requests, 1);
}

/* Keeps at most GW_BODY_MAX bytes; the rest is counted and dropped (answered 413). IB_ERR when
 * the client keeps sending far past the cap. */
static ib_rc_t append_body(gw_request_t *req, const char *data, size_t len)
{
    if (req->deferred_status != 0 || req->body_discarded > 0 || len > GW_BODY_MAX - req->body_len) {
        req->body_discarded += len;
        return req->body_discarded > GW_DISCARD_MAX ? IB_ERR : IB_OK;
    }
    if (req->body_len + len + 1 > req->body_cap) {
        size_t cap = req->body_cap == 0 ? 1024 : req->body_cap;
        while (cap < req->body_len + len + 1)
            cap *= 2;
        char *grown = realloc(req->body, cap);
        if (grown == NULL)
            return IB_ERR;
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
    return IB_OK;
}

/* The first call: what the transport answers itself, then the handler's say. */
static enum MHD_Result request_headers(gw_server_t *srv, gw_request_t *req)
{
    gw_framing_t fr;

    if (gw_server_draining(srv))
        return gw_reject(req, 503, "Shutting down", "Retry-After", "1");
    gw_framing_check(req, &fr);
    if (fr.status != 0 && fr.close)
        return gw_respond_error(req, fr.status, fr.message, MHD_HTTP_HEADER_CONNECTION, "close");
    if (fr.status != 0)
        return gw_reject(req, fr.status, fr.message, NULL, NULL);
    return srv->handler.headers(req);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    gw_server_t *srv = cls;
    gw_request_t *req = *con_cls;
    (void)version;

    if (req == NULL) {
        req = request_new(srv, conn, url, method);
        if (req == NULL)
            return MHD_NO;
        *con_cls = req;
        return request_headers(srv, req);
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->status != 0)
            return MHD_YES; /* already answered: drop the rest */
        return append_body(req, upload_data, n) == IB_OK ? MHD_YES : MHD_NO;
    }
    /* The whole request is here: from now on the answer is ours to make in time. */
    conn_set_deadline(srv, req->link, 0);
    if (req->status != 0)
        return MHD_YES;
    if (req->deferred_status != 0)
        return gw_respond_error(req, req->deferred_status, req->deferred_message,
                                req->deferred_header, req->deferred_value);
    if (req->pending != NULL)
        return req->on_resume(req, gw_pending_outcome(req->pending));
    /* Headers before the drain, body after it: the handler would start work (a produce) after
     * the flush that shutdown waits for, and the request would be cut without an answer. */
    if (gw_server_draining(srv))
        return gw_respond_error(req, 503, "Shutting down", "Retry-After", "1");
    return srv->handler.complete(req);
}

/* ---- the daemon ---- */

/* MHD's percent-decoding, except that %00 stays as it is: a decoded NUL would end the path
 * early for every C string reader, so "/interview-templates%00.json" would be routed as
 * "/interview-templates". Returns the new length. */
static size_t unescape_keep_nul(void *cls, struct MHD_Connection *conn, char *s)
{
    char *w = s;
    (void)cls;
    (void)conn;
    for (const char *r = s; *r != '\0';) {
        int hi = r[0] == '%' ? ib_hex_value(r[1]) : -1;
        int lo = hi >= 0 ? ib_hex_value(r[2]) : -1;
        if (lo >= 0 && (hi | lo) != 0) {
            *w++ = (char)(hi << 4 | lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* The raw request target, query string included (the url MHD hands on_access has none): its
 * length, for the 414 limit. Returns the initial request context: none. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    gw_conn_t *c = ci != NULL ? ci->socket_context : NULL;
    if (c != NULL)
        c->target_len = strlen(uri);
    return NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) IB_PRINTF(2, 0);

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    (void)cls;
    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t len = strlen(buf);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    const ib_log_kv_t kv[] = {IB_KV_STR("component", "libmicrohttpd")};
    ib_log_kv(IB_LOG_WARN, kv, IB_ARRAY_LEN(kv), "%s", buf);
}

gw_server_t *gw_server_start(const gw_server_conf_t *conf, const gw_handler_t *handler,
                             char *errstr, size_t errstr_size)
{
    gw_server_t *srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    srv->handler = *handler;
    srv->quiesced_fd = MHD_INVALID_SOCKET;
    srv->idle_ms = conf->idle_timeout_ms;
    LIST_INIT(&srv->waiting);
    LIST_INIT(&srv->conns);
    pthread_mutex_init(&srv->pending_mu, NULL);
    pthread_mutex_init(&srv->conn_mu, NULL);
    pthread_cond_init(&srv->sweep_cv, NULL);
    /* Parsed and checked by the configuration loader. */
    memcpy(&srv->addr, &conf->listen->addr, conf->listen->addr_len);

    /* epoll without MHD's internal thread: daemon_loop.c runs it (see there why). */
    unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (srv->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, srv,
        /* First, so that MHD's own messages about the other options reach our log too. */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&srv->addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_UNESCAPE_CALLBACK,
        unescape_keep_nul, NULL, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)((conf->idle_timeout_ms + 999) / 1000),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)conf->max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_LIMIT,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)conf->max_connections_per_ip,
        /* Last. Absent, MHD sets only SO_REUSEADDR (a restart binds past TIME_WAIT; a second
         * listener on the port fails); 1 adds SO_REUSEPORT (both listen, the kernel splits the
         * connections). "Absent" is the list ending here; false would also drop SO_REUSEADDR. */
        conf->reuse_port ? MHD_OPTION_LISTENING_ADDRESS_REUSE : MHD_OPTION_END, 1u, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        snprintf(errstr, errstr_size, "%s: cannot listen on %s",
                 conf->name != NULL ? conf->name : "GATEWAY_LISTEN", conf->listen->text);
        goto fail;
    }
    srv->loop = gw_daemon_loop_start(srv->daemon, errstr, errstr_size);
    if (srv->loop == NULL)
        goto fail;
    if (pthread_create(&srv->sweeper, NULL, sweeper_main, srv) != 0) {
        snprintf(errstr, errstr_size, "cannot start the deadline thread");
        goto fail;
    }
    srv->sweeper_started = 1;
    IB_INFO("listening on %s", conf->listen->text);
    return srv;
fail:
    gw_server_stop(srv);
    return NULL;
}

unsigned short gw_server_port(const gw_server_t *srv)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return di != NULL ? (unsigned short)di->port : 0;
}

void gw_server_quiesce(gw_server_t *srv)
{
    atomic_store(&srv->draining, 1);
    if (srv->daemon != NULL && srv->quiesced_fd == MHD_INVALID_SOCKET) {
        srv->quiesced_fd = MHD_quiesce_daemon(srv->daemon);
        gw_daemon_loop_wake(srv->loop); /* MHD signals no one itself with an external loop */
    }
}

int gw_server_draining(const gw_server_t *srv)
{
    return atomic_load(&srv->draining);
}

void gw_server_resume_all(gw_server_t *srv, int wait_ms)
{
    size_t n = complete_waiting(srv, GW_OUTCOME_SHUTDOWN, 1);
    if (n > 0)
        IB_WARN("shutdown: %zu suspended request(s) answered", n);
    long long until = ib_now_ms() + wait_ms;
    while (atomic_load(&srv->active_requests) > 0 && ib_now_ms() < until) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    int left = atomic_load(&srv->active_requests);
    if (left > 0)
        IB_WARN("shutdown: %d request(s) still open, closing them", left);
}

void gw_server_stop(gw_server_t *srv)
{
    if (srv == NULL)
        return;
    if (srv->sweeper_started) {
        pthread_mutex_lock(&srv->pending_mu);
        srv->sweep_stop = 1;
        pthread_cond_signal(&srv->sweep_cv);
        pthread_mutex_unlock(&srv->pending_mu);
        pthread_join(srv->sweeper, NULL);
    }
    /* No MHD_run() after this: nothing is suspended any more from here on. */
    gw_daemon_loop_stop(srv->loop);
    /* Stopping with suspended connections is an API violation: resume them first
     * (MHD_stop_daemon processes the pending resumes before it checks). */
    complete_waiting(srv, GW_OUTCOME_SHUTDOWN, 1);
    if (srv->daemon != NULL)
        MHD_stop_daemon(srv->daemon);
    gw_daemon_loop_free(srv->loop);
    if (srv->quiesced_fd != MHD_INVALID_SOCKET)
        close(srv->quiesced_fd);
    pthread_cond_destroy(&srv->sweep_cv);
    pthread_mutex_destroy(&srv->pending_mu);
    pthread_mutex_destroy(&srv->conn_mu);
    free(srv);
}
