#include "server.h"

#include <errno.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ib/crypto.h"
#include "ib/jsonw.h"
#include "ib/log.h"
#include "router.h"

#define CONNECTION_MEMORY_LIMIT ((size_t)40 * 1024)
#define DISCARD_MAX             ((size_t)1024 * 1024)
#define SWEEP_INTERVAL_MS       200
#define TRIM_INTERVAL_MS        5000
#define LOG_PATH_MAX            256
#define GW_ERROR_BODY_STORAGE   512

struct gw_pending {
    gw_server_t *srv;
    struct MHD_Connection *conn;
    atomic_int refs;
    /* Under srv->pending_mu: */
    gw_outcome_t outcome;
    long long deadline_ms;
    gw_pending_t *prev;
    gw_pending_t *next;
    int linked;
};

/* One open connection, for the request deadline that MHD lacks: MHD's timeout is reset by every
 * byte, so a client trickling a header line keeps a connection forever (slowloris). */
struct gw_conn {
    gw_conn_t *prev;
    gw_conn_t *next;
    MHD_socket fd;
    long long deadline_ms; /* a whole request must have arrived by then; 0: none (answering) */
    int cut;               /* shut down by the sweeper */
    size_t target_len;     /* of the current request's target, query included (MHD thread) */
};

struct gw_server {
    const gw_app_t *app;
    struct MHD_Daemon *daemon;
    int epoll_fd;            /* MHD's, watched by loop_main */
    int wake_fd;             /* eventfd: wakes loop_main (a resume to process, or stop) */
    atomic_int wake_pending; /* wake_fd written and not yet read: further wakes need no write */
    atomic_int loop_stop;
    atomic_int conn_closed; /* a connection closed during this MHD_run() (loop_main) */
    pthread_t loop;         /* runs the daemon (loop_main) */
    int loop_started;
    MHD_socket quiesced_fd;
    struct sockaddr_storage addr;
    atomic_int draining;
    atomic_int active_requests;

    pthread_mutex_t pending_mu;
    pthread_cond_t sweep_cv;
    gw_pending_t *waiting; /* suspended connections, under pending_mu */
    int sweep_stop;        /* under pending_mu */
    pthread_t sweeper;
    int sweeper_started;

    long long idle_ms;
    pthread_mutex_t conn_mu;
    gw_conn_t *conns; /* under conn_mu */
};

/* ---- responses ---- */

static enum MHD_Result queue_text(gw_request_t *req, unsigned int status, const char *content_type,
                                  char *text, size_t len, const char *header, const char *value)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (req->request_id[0] != '\0')
        MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    if (header != NULL && value != NULL)
        MHD_add_response_header(resp, header, value);
    if (gw_server_draining(req->srv))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES)
        req->status = status;
    return ret;
}

enum MHD_Result gw_respond_text(gw_request_t *req, unsigned int status, const char *content_type,
                                char *text, size_t len)
{
    return queue_text(req, status, content_type, text, len, NULL, NULL);
}

enum MHD_Result gw_respond_json(gw_request_t *req, unsigned int status, json_t *body,
                                const char *header, const char *value)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL)
        return MHD_NO;
    return queue_text(req, status, "application/json", text, strlen(text), header, value);
}

enum MHD_Result gw_respond_error(gw_request_t *req, unsigned int status, const char *message,
                                 const char *header, const char *value)
{
    char storage[GW_ERROR_BODY_STORAGE];
    ib_jw_t w;
    size_t len = 0;

    ib_jw_init(&w, storage, sizeof(storage));
    IB_JW_LIT(&w, "{\"status\":");
    ib_jw_int(&w, status);
    IB_JW_LIT(&w, ",\"message\":");
    ib_jw_str(&w, message, strlen(message));
    IB_JW_LIT(&w, "}");
    char *text = ib_jw_take(&w, &len);
    ib_jw_free(&w);
    if (text == NULL)
        return MHD_NO;
    return queue_text(req, status, "application/json", text, len, header, value);
}

enum MHD_Result gw_reject(gw_request_t *req, unsigned int status, const char *message,
                          const char *header, const char *value)
{
    const char *cl =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *expect =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    unsigned long long len = cl != NULL ? strtoull(cl, NULL, 10) : 0;
    int body_follows = te != NULL || len > 0;

    if (!body_follows || expect != NULL || len > DISCARD_MAX)
        return gw_respond_error(req, status, message, header, value);
    req->deferred_status = status;
    req->deferred_message = message;
    req->deferred_header = header;
    req->deferred_value = value;
    return MHD_YES;
}

/* ---- suspended connections ---- */

/* Makes loop_main call MHD_run() soon. Needed after MHD_resume_connection(): with an external
 * event loop MHD has no inter-thread channel of its own (MHD_USE_ITC is ignored), and a resumed
 * connection is only served by the next MHD_run(). */
static void loop_wake(gw_server_t *srv)
{
    uint64_t one = 1;
    /* Coalesced: under load many reports arrive between two rounds of the loop, and one write
     * brings it round for all of them (loop_main clears the flag after it reads the eventfd and
     * before it runs MHD, so a wake after the clear writes again, and one before it is served by
     * that run). */
    if (atomic_exchange(&srv->wake_pending, 1) != 0)
        return;
    if (srv->wake_fd >= 0)
        while (write(srv->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
            ;
}

static void unlink_pending(gw_server_t *srv, gw_pending_t *pd)
{
    if (!pd->linked)
        return;
    if (pd->prev != NULL)
        pd->prev->next = pd->next;
    else
        srv->waiting = pd->next;
    if (pd->next != NULL)
        pd->next->prev = pd->prev;
    pd->prev = pd->next = NULL;
    pd->linked = 0;
}

gw_pending_t *gw_server_suspend(gw_request_t *req, long long deadline_ms)
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

    /* Suspend before anything can complete it: a report arriving at once finds it suspended. */
    MHD_suspend_connection(req->conn);
    pthread_mutex_lock(&srv->pending_mu);
    pd->next = srv->waiting;
    if (srv->waiting != NULL)
        srv->waiting->prev = pd;
    srv->waiting = pd;
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
    unlink_pending(srv, pd);
    pthread_mutex_unlock(&srv->pending_mu);
    /* The connection stays suspended (and alive) until this resume: only the first completion
     * gets here. */
    MHD_resume_connection(pd->conn);
    loop_wake(srv);
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
        gw_pending_t *pd = srv->waiting;
        while (pd != NULL && n < IB_ARRAY_LEN(batch)) {
            gw_pending_t *next = pd->next;
            if (everything || pd->deadline_ms <= now) {
                pd->outcome = outcome;
                unlink_pending(srv, pd);
                batch[n++] = pd;
            }
            pd = next;
        }
        pthread_mutex_unlock(&srv->pending_mu);
        for (size_t i = 0; i < n; i++)
            MHD_resume_connection(batch[i]->conn);
        if (n > 0)
            loop_wake(srv);
        total += n;
    } while (n == IB_ARRAY_LEN(batch));
    return total;
}

/* Shuts down (both ways) every connection whose request deadline passed; MHD then sees the end
 * of the stream and closes it. Under conn_mu, which MHD_CONNECTION_NOTIFY_CLOSED also takes before
 * MHD closes the descriptor, so fd is still this connection's. */
static size_t cut_late_connections(gw_server_t *srv)
{
    size_t n = 0;
    long long now = ib_now_ms();

    pthread_mutex_lock(&srv->conn_mu);
    for (gw_conn_t *c = srv->conns; c != NULL; c = c->next) {
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
        atomic_store(&srv->conn_closed, 1);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        c = ci != NULL ? calloc(1, sizeof(*c)) : NULL;
        if (c == NULL)
            return; /* untracked: MHD's own inactivity timeout still applies */
        c->fd = ci->connect_fd;
        c->deadline_ms = ib_now_ms() + srv->idle_ms;
        pthread_mutex_lock(&srv->conn_mu);
        c->next = srv->conns;
        if (srv->conns != NULL)
            srv->conns->prev = c;
        srv->conns = c;
        pthread_mutex_unlock(&srv->conn_mu);
        *socket_context = c;
        return;
    }
    if (c == NULL)
        return;
    pthread_mutex_lock(&srv->conn_mu);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&srv->conn_mu);
    free(c);
    *socket_context = NULL;
}

/* Our own deadline: MHD never times out a suspended connection. */
/* glibc keeps freed memory in its arenas (one per thread that allocates: the HTTP loop, the
 * view consumer, librdkafka's threads), fragmented by the catch-up parse and bursts of
 * connections; resident memory only ever grew. Handing the free pages back now and then costs a
 * walk of the free lists (about a millisecond). */
static void return_free_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

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
            IB_WARN("%zu request(s) got no delivery report before their deadline: 503", n);
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

/* ---- the daemon's event loop ---- */

/* Our own thread runs the daemon, instead of MHD_USE_EPOLL_INTERNAL_THREAD, because of a
 * libmicrohttpd 0.9.75 bug that stalls the internal epoll thread. Its MHD_epoll() drains the
 * epoll set with `while (128 == num_events) epoll_wait(.., 128, timeout)`, passing the same
 * timeout to every call. When exactly 128 (or 256, ...) connections are ready at once, the call
 * after the last full batch finds nothing and blocks for the whole timeout (up to the connection
 * timeout, GATEWAY_IDLE_TIMEOUT), with the batches already fetched unprocessed and the edge-
 * triggered sockets silent from then on: every connection sits with its request unread until some
 * new event (a new connection, a client giving up, a resume) wakes the thread. With 128 or 256
 * busy keep-alive clients this happens at once (GET /interview-templates at 256 connections: ~100
 * req/s instead of ~12,000; 127 connections never hit it). POST hid it: every Kafka ack resumes a
 * connection and so wakes the loop.
 *
 * MHD_run() runs the same MHD_epoll() with a zero timeout, so its drain loop never blocks; the
 * wait happens here, in poll() on MHD's epoll descriptor (readable while any of its descriptors is
 * ready) for at most MHD_get_timeout() (0 while MHD still has ready connections to serve). The
 * wake_fd, polled with it, brings the loop round after MHD_resume_connection() from other threads
 * (loop_wake) and for stopping. */
static void *loop_main(void *arg)
{
    gw_server_t *srv = arg;
    struct pollfd fds[2];
    int again = 0;

    fds[0].fd = srv->epoll_fd;
    fds[0].events = POLLIN;
    fds[1].fd = srv->wake_fd;
    fds[1].events = POLLIN;
    while (!atomic_load(&srv->loop_stop)) {
        MHD_UNSIGNED_LONG_LONG timeout;
        int ms = -1;
        if (again)
            ms = 0;
        else if (MHD_get_timeout(srv->daemon, &timeout) == MHD_YES)
            ms = timeout > (MHD_UNSIGNED_LONG_LONG)INT_MAX ? INT_MAX : (int)timeout;
        if (poll(fds, IB_ARRAY_LEN(fds), ms) < 0 && errno != EINTR) {
            IB_ERROR("poll on the HTTP daemon: %s", strerror(errno));
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (atomic_load(&srv->loop_stop))
            break;
        if (fds[1].revents & POLLIN) {
            uint64_t count; /* reset before MHD_run: a later wake brings us round again */
            if (read(srv->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
                IB_ERROR("read on the HTTP loop's eventfd: %s", strerror(errno));
            /* Cleared after the read, never before: a wake between a clear and the read would
             * have its write consumed here yet leave the flag set, and every later wake would
             * skip its write (lost wake-ups: test_gateway_concurrency). Cleared here, a wake
             * that saw the flag set resumed before this point and is served by the MHD_run
             * below; one after it writes again. */
            atomic_store(&srv->wake_pending, 0);
        }
        MHD_run(srv->daemon);
        /* At the connection limit MHD takes its listen socket out of the epoll set, and puts it
         * back only at the start of the run after a connection closed: run again at once rather
         * than wait with the listen socket out of the set (a queued client would wait until
         * some other event). */
        again = atomic_exchange(&srv->conn_closed, 0);
    }
    return NULL;
}

static void loop_stop(gw_server_t *srv)
{
    if (!srv->loop_started)
        return;
    atomic_store(&srv->loop_stop, 1);
    loop_wake(srv);
    pthread_join(srv->loop, NULL);
    srv->loop_started = 0;
}

/* ---- MHD callbacks ---- */

static gw_request_t *request_new(gw_server_t *srv, struct MHD_Connection *conn, const char *url,
                                 const char *method)
{
    gw_request_t *req = calloc(1, sizeof(*req));
    if (req == NULL)
        return NULL;
    req->srv = srv;
    req->app = srv->app;
    req->conn = conn;
    req->url = url;
    req->method = method;
    req->start_ms = ib_now_ms();
    req->route.name = "unmatched";

    uint8_t rnd[16 + GW_TRACE_RANDOM];
    gw_random(rnd, sizeof(rnd));
    gw_request_id_make(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id"), rnd,
                       req->request_id);
    gw_traceparent_make(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "traceparent"), rnd + 16,
                        req->traceparent);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    req->link = ci != NULL ? ci->socket_context : NULL;
    if (req->link != NULL)
        req->target_len = req->link->target_len;

    atomic_fetch_add(&srv->active_requests, 1);
    if (srv->app->telemetry != NULL)
        gw_telemetry_request_begin(srv->app->telemetry);
    return req;
}

static void request_log(const gw_request_t *req, enum MHD_RequestTerminationCode toe)
{
    static const char *const toe_names[] = {
        "ok", "error", "timeout", "daemon shutdown", "read error", "client abort"};
    long long duration = ib_now_ms() - req->start_ms;
    char trace_id[33];
    memcpy(trace_id, req->traceparent + 3, 32);
    trace_id[32] = '\0';
    const ib_log_kv_t kv[] = {
        IB_KV_STR("request_id", req->request_id),
        IB_KV_STR("method", req->method),
        IB_KV_STRN("path", req->url, strnlen(req->url, LOG_PATH_MAX)),
        IB_KV_STR("route", req->route.name),
        IB_KV_INT("status", req->status),
        IB_KV_INT("duration_ms", duration),
        IB_KV_STR("trace_id", trace_id),
        IB_KV_STR("tenant", req->tenant != NULL ? req->tenant->id : NULL),
        IB_KV_STR("interview_id", req->interview_id[0] != '\0' ? req->interview_id : NULL),
        IB_KV_STR("termination", toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? NULL
                                 : (size_t)toe < IB_ARRAY_LEN(toe_names)    ? toe_names[toe]
                                                                            : "unknown"),
    };
    ib_log_kv(req->status >= 500 || req->status == 0 ? IB_LOG_WARN : IB_LOG_INFO, kv,
              IB_ARRAY_LEN(kv), "request");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    gw_server_t *srv = cls;
    gw_request_t *req = *con_cls;
    (void)conn;
    if (req == NULL)
        return;
    request_log(req, toe);
    if (srv->app->telemetry != NULL)
        gw_telemetry_request_end(srv->app->telemetry, req->route.name, req->method, req->status,
                                 (double)(ib_now_ms() - req->start_ms) / 1000.0);
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
        return req->body_discarded > DISCARD_MAX ? IB_ERR : IB_OK;
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
        return gw_router_begin(req);
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
        return gw_router_resumed(req);
    return gw_router_complete(req);
}

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

gw_server_t *gw_server_start(const gw_app_t *app, char *errstr, size_t errstr_size)
{
    gw_server_t *srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    srv->app = app;
    srv->quiesced_fd = MHD_INVALID_SOCKET;
    srv->epoll_fd = -1;
    srv->wake_fd = -1;
    atomic_init(&srv->loop_stop, 0);
    atomic_init(&srv->conn_closed, 0);
    atomic_init(&srv->wake_pending, 0);
    srv->idle_ms = app->cfg->idle_timeout_ms;
    pthread_mutex_init(&srv->pending_mu, NULL);
    pthread_mutex_init(&srv->conn_mu, NULL);
    pthread_cond_init(&srv->sweep_cv, NULL);
    /* Parsed and checked by the configuration loader. */
    memcpy(&srv->addr, &app->cfg->gateway_listen.addr, app->cfg->gateway_listen.addr_len);

    /* epoll without MHD's internal thread: loop_main runs it (see there why). */
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
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)((app->cfg->idle_timeout_ms + 999) / 1000),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)app->cfg->max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_LIMIT,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        snprintf(errstr, errstr_size, "GATEWAY_LISTEN: cannot listen on %s",
                 app->cfg->gateway_listen.text);
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (di == NULL || srv->wake_fd < 0) {
        snprintf(errstr, errstr_size, "cannot set up the HTTP event loop");
        goto fail;
    }
    srv->epoll_fd = di->epoll_fd;
    if (pthread_create(&srv->loop, NULL, loop_main, srv) != 0) {
        snprintf(errstr, errstr_size, "cannot start the HTTP thread");
        goto fail;
    }
    srv->loop_started = 1;
    if (pthread_create(&srv->sweeper, NULL, sweeper_main, srv) != 0) {
        snprintf(errstr, errstr_size, "cannot start the deadline thread");
        goto fail;
    }
    srv->sweeper_started = 1;
    IB_INFO("listening on %s", app->cfg->gateway_listen.text);
    return srv;
fail:
    gw_server_stop(srv);
    return NULL;
}

void gw_server_quiesce(gw_server_t *srv)
{
    atomic_store(&srv->draining, 1);
    if (srv->daemon != NULL && srv->quiesced_fd == MHD_INVALID_SOCKET) {
        srv->quiesced_fd = MHD_quiesce_daemon(srv->daemon);
        loop_wake(srv); /* MHD signals no one itself with an external loop */
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
        IB_WARN("shutdown: %zu request(s) still waiting for Kafka answered 503", n);
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
    loop_stop(srv);
    /* Stopping with suspended connections is an API violation: resume them first
     * (MHD_stop_daemon processes the pending resumes before it checks). */
    complete_waiting(srv, GW_OUTCOME_SHUTDOWN, 1);
    if (srv->daemon != NULL)
        MHD_stop_daemon(srv->daemon);
    if (srv->wake_fd >= 0)
        close(srv->wake_fd);
    if (srv->quiesced_fd != MHD_INVALID_SOCKET)
        close(srv->quiesced_fd);
    pthread_cond_destroy(&srv->sweep_cv);
    pthread_mutex_destroy(&srv->pending_mu);
    pthread_mutex_destroy(&srv->conn_mu);
    free(srv);
}
