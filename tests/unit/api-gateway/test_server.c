/* Unit tests of api-gateway/src/server.c, the HTTP transport, with a fake handler and real
 * sockets on 127.0.0.1: the framing checks answered without the handler, a rejection deferred
 * until the body is drained, a suspended request resumed from another thread, a suspended request
 * answered when its deadline passes or the server shuts down, and a connection that never sends a
 * whole request closed at its deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "server.h"

#define IO_GUARD_S 10 /* a socket read that waits longer fails the test instead of hanging it */

/* ---- the fake handler ---- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int begins;
    int ends;
    int headers_calls;
    int complete_calls;
    gw_pending_t *suspended; /* the handler's reference, handed to the test thread */
    int resumed;
    gw_outcome_t outcome;
    pthread_t resumed_on;
} fake_t;

typedef struct {
    int seen; /* the per-request state: zeroed by the transport */
} fake_ctx_t;

static void fake_begin(gw_request_t *req)
{
    fake_t *f = req->app;
    fake_ctx_t *ctx = req->ctx;
    assert_non_null(ctx);
    assert_int_equal(ctx->seen, 0);
    ctx->seen = 1;
    pthread_mutex_lock(&f->mu);
    f->begins++;
    pthread_mutex_unlock(&f->mu);
}

static void fake_end(gw_request_t *req, double seconds)
{
    fake_t *f = req->app;
    (void)seconds;
    pthread_mutex_lock(&f->mu);
    f->ends++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static enum MHD_Result fake_headers(gw_request_t *req)
{
    fake_t *f = req->app;
    pthread_mutex_lock(&f->mu);
    f->headers_calls++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (strcmp(req->url, "/reject") == 0)
        return gw_reject(req, 404, "Not Found", "X-Rejected", "yes");
    return MHD_YES;
}

static enum MHD_Result fake_resumed(gw_request_t *req, gw_outcome_t outcome)
{
    fake_t *f = req->app;
    pthread_mutex_lock(&f->mu);
    f->resumed++;
    f->outcome = outcome;
    f->resumed_on = pthread_self();
    pthread_mutex_unlock(&f->mu);
    switch (outcome) {
    case GW_OUTCOME_DONE:
        return gw_respond_error(req, 201, "done", NULL, NULL);
    case GW_OUTCOME_TIMED_OUT:
        return gw_respond_error(req, 504, "timed out", NULL, NULL);
    default:
        return gw_respond_error(req, 503, "unavailable", NULL, NULL);
    }
}

static enum MHD_Result fake_complete(gw_request_t *req)
{
    fake_t *f = req->app;
    char *text = NULL;

    pthread_mutex_lock(&f->mu);
    f->complete_calls++;
    pthread_mutex_unlock(&f->mu);
    if (strcmp(req->url, "/suspend") == 0 || strcmp(req->url, "/deadline") == 0) {
        int deadline = strcmp(req->url, "/deadline") == 0;
        gw_pending_t *pd =
            gw_server_suspend(req, ib_now_ms() + (deadline ? 50 : 600000), fake_resumed);
        assert_non_null(pd);
        if (deadline) {
            gw_pending_release(pd); /* nobody completes it: the deadline must */
            return MHD_YES;
        }
        pthread_mutex_lock(&f->mu);
        f->suspended = pd;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        return MHD_YES;
    }
    /* Echo what arrived. */
    size_t size = 64;
    text = malloc(size);
    assert_non_null(text);
    int n = snprintf(text, size, "%s %zu %zu", req->method, req->body_len, req->body_discarded);
    return gw_respond_text(req, 200, "text/plain", text, (size_t)n);
}

static void loopback_listen(ib_listen_t *listen, unsigned short port)
{
    memset(listen, 0, sizeof(*listen));
    snprintf(listen->text, sizeof(listen->text), "127.0.0.1:%u", (unsigned)port);
    snprintf(listen->host, sizeof(listen->host), "127.0.0.1");
    struct sockaddr_in *sin = (struct sockaddr_in *)&listen->addr;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin->sin_port = htons(port);
    listen->addr_len = sizeof(*sin);
}

static void fake_init(fake_t *f, gw_handler_t *h)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    *h = (gw_handler_t){.app = f,
                        .ctx_size = sizeof(fake_ctx_t),
                        .begin = fake_begin,
                        .end = fake_end,
                        .headers = fake_headers,
                        .complete = fake_complete};
}

/* Starts a server on conf (conf->listen NULL: 127.0.0.1, any free port). */
static gw_server_t *start_conf(fake_t *f, gw_server_conf_t *conf)
{
    char errstr[256];
    gw_handler_t h;
    ib_listen_t listen;
    fake_init(f, &h);
    /* Port 0 (any free port): only the configuration loader refuses it. */
    loopback_listen(&listen, 0);
    if (conf->listen == NULL)
        conf->listen = &listen;
    gw_server_t *srv = gw_server_start(conf, &h, errstr, sizeof(errstr));
    if (srv == NULL)
        fail_msg("gw_server_start: %s", errstr);
    assert_int_not_equal(gw_server_port(srv), 0);
    if (conf->listen == &listen)
        conf->listen = NULL;
    return srv;
}

static gw_server_t *start(fake_t *f, long idle_ms)
{
    gw_server_conf_t conf = {.idle_timeout_ms = idle_ms, .max_connections = 16};
    return start_conf(f, &conf);
}

static void stop(gw_server_t *srv, fake_t *f)
{
    gw_server_stop(srv);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
}

/* Waits until the handler has handed over a suspended request, and takes it. */
static gw_pending_t *await_suspended(fake_t *f)
{
    pthread_mutex_lock(&f->mu);
    while (f->suspended == NULL)
        pthread_cond_wait(&f->cv, &f->mu);
    gw_pending_t *pd = f->suspended;
    f->suspended = NULL;
    pthread_mutex_unlock(&f->mu);
    return pd;
}

/* Waits until n requests have ended (their log line written, their state freed). */
static void await_ends(fake_t *f, int n)
{
    pthread_mutex_lock(&f->mu);
    while (f->ends < n)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

/* Waits until the handler has seen the headers of n requests. */
static void await_headers(fake_t *f, int n)
{
    pthread_mutex_lock(&f->mu);
    while (f->headers_calls < n)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

static int counter(fake_t *f, const int *field)
{
    pthread_mutex_lock(&f->mu);
    int v = *field;
    pthread_mutex_unlock(&f->mu);
    return v;
}

/* ---- a raw HTTP client ---- */

/* A connection to srv from the loopback address from (e.g. "127.0.0.2"). */
static int connect_from(gw_server_t *srv, const char *from)
{
    struct sockaddr_in sa;
    struct timeval tv = {IO_GUARD_S, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (from != NULL) {
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, from, &sa.sin_addr), 1);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(gw_server_port(srv));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    return fd;
}

static int connect_to(gw_server_t *srv)
{
    return connect_from(srv, NULL);
}

static void send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

typedef struct {
    int status;
    char head[4096]; /* status line and headers, NUL-terminated */
    char body[1024];
} response_t;

/* Reads one response (with a Content-Length). */
static void read_response(int fd, response_t *r)
{
    char buf[8192];
    size_t len = 0;
    char *end = NULL;

    memset(r, 0, sizeof(*r));
    while (end == NULL) {
        assert_true(len < sizeof(buf) - 1);
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            fail_msg("connection closed or timed out before a whole response (%zu bytes)", len);
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - buf);
    assert_true(head_len < sizeof(r->head));
    memcpy(r->head, buf, head_len);
    assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
    const char *cl = strstr(r->head, "\r\nContent-Length:");
    assert_non_null(cl);
    size_t body_len = strtoul(cl + strlen("\r\nContent-Length:"), NULL, 10);
    assert_true(body_len < sizeof(r->body));
    size_t have = len - head_len - 4;
    assert_true(have <= body_len);
    memcpy(r->body, end + 4, have);
    while (have < body_len) {
        ssize_t n = recv(fd, r->body + have, body_len - have, 0);
        if (n <= 0)
            fail_msg("connection closed or timed out in a response body");
        have += (size_t)n;
    }
}

/* The server closed the connection: EOF (or a reset) on the next read. */
static void assert_closed(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    assert_true(n <= 0);
}

/* MHD writes header names as given: an exact search will do. */
static int has_header(const response_t *r, const char *line)
{
    return strstr(r->head, line) != NULL;
}

/* ---- tests ---- */

static void test_plain_request(void **state)
{
    fake_t f;
    response_t r;
    (void)state;
    gw_server_t *srv = start(&f, 30000);
    int fd = connect_to(srv);

    send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    read_response(fd, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "POST 5 0");
    assert_true(has_header(&r, "\r\nCache-Control: no-store"));
    assert_true(has_header(&r, "\r\nX-Request-Id: "));
    /* Past GW_BODY_MAX the body is counted, not kept: the handler answers 413. */
    char head[128];
    size_t big = GW_BODY_MAX + 100;
    snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
             big);
    send_str(fd, head);
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, 'x', big);
    send_all(fd, body, big);
    free(body);
    read_response(fd, &r);
    assert_int_equal(r.status, 200);
    /* The first chunk that does not fit is dropped whole, with all after it. */
    size_t kept = 0;
    size_t dropped = 0;
    assert_int_equal(sscanf(r.body, "POST %zu %zu", &kept, &dropped), 2);
    assert_true(kept <= GW_BODY_MAX);
    assert_int_equal(kept + dropped, big);
    assert_true(dropped > 0);
    close(fd);
    await_ends(&f, 2);
    assert_int_equal(counter(&f, &f.begins), 2);
    stop(srv, &f);
}

static void expect_framing_error(gw_server_t *srv, fake_t *f, const char *request, int status,
                                 int closes)
{
    response_t r;
    int fd = connect_to(srv);
    send_str(fd, request);
    read_response(fd, &r);
    if (r.status != status)
        fail_msg("got %d, want %d, for %.60s", r.status, status, request);
    if (closes) {
        assert_true(has_header(&r, "\r\nConnection: close"));
        assert_closed(fd);
    }
    close(fd);
    /* Answered by the transport alone. */
    assert_int_equal(counter(f, &f->headers_calls), 0);
    assert_int_equal(counter(f, &f->complete_calls), 0);
}

static void test_framing_checks(void **state)
{
    fake_t f;
    (void)state;
    gw_server_t *srv = start(&f, 30000);
    char *req = malloc(32 * 1024);
    assert_non_null(req);

    /* 414: a long path, or a long query string (the path the handler sees has none). */
    strcpy(req, "GET /");
    memset(req + 5, 'a', GW_URL_MAX);
    strcpy(req + 5 + GW_URL_MAX, " HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_framing_error(srv, &f, req, 414, 0);
    strcpy(req, "GET /x?q=");
    memset(req + 9, 'a', GW_URL_MAX);
    strcpy(req + 9 + GW_URL_MAX, " HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_framing_error(srv, &f, req, 414, 0);

    /* 431: header lines over GW_HEADERS_MAX together. */
    strcpy(req, "GET /echo HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 20; i++) {
        char line[1100];
        snprintf(line, sizeof(line), "X-Pad-%d: %01000d\r\n", i, 0);
        strcat(req, line);
    }
    strcat(req, "\r\n");
    expect_framing_error(srv, &f, req, 431, 0);

    /* Request smuggling: the length two readers could disagree on is refused, and the
     * connection closed (its body cannot be skipped safely). */
    expect_framing_error(srv, &f,
                         "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                         400, 1);
    expect_framing_error(srv, &f,
                         "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                         "Content-Length: 5\r\n\r\nhello",
                         400, 1);
    expect_framing_error(
        srv, &f, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501, 1);
    expect_framing_error(srv, &f,
                         "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                         501, 1);
    free(req);
    /* Every request that began also ended, handler or not. */
    await_ends(&f, 7);
    assert_int_equal(counter(&f, &f.begins), 7);

    /* A sound chunked request reaches the handler. */
    response_t r;
    int fd = connect_to(srv);
    send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n0\r\n\r\n");
    read_response(fd, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "POST 5 0");
    close(fd);
    stop(srv, &f);
}

static void test_deferred_reject(void **state)
{
    fake_t f;
    response_t r;
    char body[1000];
    (void)state;
    gw_server_t *srv = start(&f, 30000);
    int fd = connect_to(srv);

    /* Rejected on its headers, answered after its body: the connection stays usable. */
    memset(body, 'b', sizeof(body));
    send_str(fd, "POST /reject HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
    send_all(fd, body, sizeof(body));
    read_response(fd, &r);
    assert_int_equal(r.status, 404);
    assert_true(has_header(&r, "\r\nX-Rejected: yes"));
    assert_false(has_header(&r, "\r\nConnection: close"));
    assert_int_equal(counter(&f, &f.complete_calls), 0);
    send_str(fd, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fd, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "GET 0 0");

    /* Without a body it is answered at once. */
    send_str(fd, "GET /reject HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fd, &r);
    assert_int_equal(r.status, 404);
    close(fd);
    stop(srv, &f);
}

/* Completes the pending from a thread of its own, as a Kafka delivery report would. */
static void *complete_main(void *arg)
{
    gw_pending_t *pd = arg;
    gw_pending_complete(pd, GW_OUTCOME_DONE);
    gw_pending_complete(pd, GW_OUTCOME_FAILED); /* only the first counts */
    gw_pending_release(pd);
    return NULL;
}

static void test_resume_after_suspend(void **state)
{
    fake_t f;
    response_t r;
    pthread_t t;
    (void)state;
    gw_server_t *srv = start(&f, 30000);
    int fd = connect_to(srv);

    send_str(fd, "POST /suspend HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}");
    gw_pending_t *pd = await_suspended(&f);
    assert_int_equal(gw_pending_outcome(pd), GW_OUTCOME_WAITING);
    assert_int_equal(pthread_create(&t, NULL, complete_main, pd), 0);
    read_response(fd, &r);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.status, 201);
    assert_int_equal(counter(&f, &f.resumed), 1);
    assert_int_equal(f.outcome, GW_OUTCOME_DONE);
    assert_false(pthread_equal(f.resumed_on, t));

    /* The connection carries on after a suspended request. */
    send_str(fd, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fd, &r);
    assert_int_equal(r.status, 200);
    close(fd);
    stop(srv, &f);
}

static void test_deadline(void **state)
{
    fake_t f;
    response_t r;
    (void)state;
    gw_server_t *srv = start(&f, 30000);
    int fd = connect_to(srv);

    /* Nobody completes it: the transport answers when its deadline passes. */
    long long t0 = ib_now_ms();
    send_str(fd, "GET /deadline HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fd, &r);
    assert_int_equal(r.status, 504);
    assert_true(ib_now_ms() - t0 >= 50);
    assert_int_equal(counter(&f, &f.resumed), 1);
    assert_int_equal(f.outcome, GW_OUTCOME_TIMED_OUT);
    close(fd);
    stop(srv, &f);
}

static void test_shutdown_answers_suspended(void **state)
{
    fake_t f;
    response_t r;
    (void)state;
    gw_server_t *srv = start(&f, 30000);
    int fd = connect_to(srv);

    send_str(fd, "GET /suspend HTTP/1.1\r\nHost: t\r\n\r\n");
    gw_pending_t *pd = await_suspended(&f);
    gw_server_quiesce(srv);
    assert_true(gw_server_draining(srv));
    gw_server_resume_all(srv, 5000);
    read_response(fd, &r);
    assert_int_equal(r.status, 503);
    assert_true(has_header(&r, "\r\nConnection: close"));
    assert_int_equal(f.outcome, GW_OUTCOME_SHUTDOWN);
    /* A completion arriving late changes nothing. */
    gw_pending_complete(pd, GW_OUTCOME_DONE);
    assert_int_equal(gw_pending_outcome(pd), GW_OUTCOME_SHUTDOWN);
    gw_pending_release(pd);
    close(fd);
    stop(srv, &f);
}

static void test_draining_rejects_new_requests(void **state)
{
    fake_t f;
    response_t r;
    (void)state;
    gw_server_t *srv = start(&f, 30000);
    int fd = connect_to(srv);

    send_str(fd, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fd, &r);
    assert_int_equal(r.status, 200);
    gw_server_quiesce(srv);
    send_str(fd, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(fd, &r);
    assert_int_equal(r.status, 503);
    assert_true(has_header(&r, "\r\nRetry-After: 1"));
    assert_int_equal(counter(&f, &f.headers_calls), 1);
    close(fd);
    stop(srv, &f);
}

/* Headers before the drain, body after it: answered 503 by the transport, never handed to the
 * handler, which would start work (a Kafka produce) that nobody waits for any more. */
static void test_draining_body_after_quiesce(void **state)
{
    fake_t f;
    response_t r;
    (void)state;
    gw_server_t *srv = start(&f, 30000);
    int fd = connect_to(srv);

    send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab");
    await_headers(&f, 1);
    gw_server_quiesce(srv);
    send_str(fd, "cd");
    read_response(fd, &r);
    assert_int_equal(r.status, 503);
    assert_true(has_header(&r, "\r\nRetry-After: 1"));
    assert_int_equal(counter(&f, &f.complete_calls), 0);
    close(fd);
    stop(srv, &f);
}

static void test_incomplete_request_cut_at_deadline(void **state)
{
    fake_t f;
    struct pollfd pfd;
    (void)state;
    gw_server_t *srv = start(&f, 1000);
    int fd = connect_to(srv);

    /* A header line trickled a byte every 100 ms (each one resets MHD's own inactivity
     * timeout): closed at the request deadline all the same. */
    long long t0 = ib_now_ms();
    send_str(fd, "GET /echo HTTP/1.1\r\nHost: t\r\nX-Slow: ");
    pfd.fd = fd;
    pfd.events = POLLIN;
    for (;;) {
        pfd.revents = 0;
        int n = poll(&pfd, 1, 100);
        assert_true(n >= 0);
        if (n > 0)
            break;
        if (ib_now_ms() - t0 > IO_GUARD_S * 1000)
            fail_msg("still open after %d s", IO_GUARD_S);
        if (send(fd, "a", 1, MSG_NOSIGNAL) != 1)
            break;
    }
    assert_closed(fd);
    assert_true(ib_now_ms() - t0 >= 900);
    assert_int_equal(counter(&f, &f.headers_calls), 0);
    close(fd);
    stop(srv, &f);
}

/* One address holding its limit of idle connections: its next connection is closed unanswered,
 * while another address is served at once. */
static void test_per_ip_connection_limit(void **state)
{
    fake_t f;
    response_t r;
    int held[3];
    (void)state;
    gw_server_conf_t conf = {
        .idle_timeout_ms = 30000, .max_connections = 16, .max_connections_per_ip = 3};
    gw_server_t *srv = start_conf(&f, &conf);

    for (size_t i = 0; i < IB_ARRAY_LEN(held); i++)
        held[i] = connect_from(srv, "127.0.0.1");
    /* The held ones are accepted (one of them still answers). */
    send_str(held[0], "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(held[0], &r);
    assert_int_equal(r.status, 200);

    int over = connect_from(srv, "127.0.0.1");
    send_str(over, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_closed(over);
    close(over);

    long long t0 = ib_now_ms();
    int other = connect_from(srv, "127.0.0.2");
    send_str(other, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    read_response(other, &r);
    assert_int_equal(r.status, 200);
    assert_true(ib_now_ms() - t0 < 2000);
    close(other);
    for (size_t i = 0; i < IB_ARRAY_LEN(held); i++)
        close(held[i]);
    stop(srv, &f);
}

/* Without reuse_port a second server cannot bind the port of a running one; with it on both,
 * it can. */
static void test_second_bind_refused_without_reuse_port(void **state)
{
    fake_t f1, f2;
    gw_handler_t h;
    ib_listen_t listen;
    char errstr[256];
    (void)state;

    gw_server_conf_t conf = {.idle_timeout_ms = 30000, .max_connections = 16};
    gw_server_t *first = start_conf(&f1, &conf);
    loopback_listen(&listen, gw_server_port(first));
    fake_init(&f2, &h);
    gw_server_conf_t again = {.name = "GATEWAY_OPS_LISTEN",
                              .listen = &listen,
                              .idle_timeout_ms = 30000,
                              .max_connections = 16};
    errstr[0] = '\0';
    gw_server_t *second = gw_server_start(&again, &h, errstr, sizeof(errstr));
    assert_null(second);
    assert_non_null(strstr(errstr, "GATEWAY_OPS_LISTEN: cannot listen on 127.0.0.1:"));
    stop(first, &f1);
    pthread_cond_destroy(&f2.cv);
    pthread_mutex_destroy(&f2.mu);

    conf = (gw_server_conf_t){.idle_timeout_ms = 30000, .max_connections = 16, .reuse_port = 1};
    first = start_conf(&f1, &conf);
    loopback_listen(&listen, gw_server_port(first));
    again.reuse_port = 1;
    second = start_conf(&f2, &again);
    stop(second, &f2);
    stop(first, &f1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_request),
        cmocka_unit_test(test_framing_checks),
        cmocka_unit_test(test_deferred_reject),
        cmocka_unit_test(test_resume_after_suspend),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_shutdown_answers_suspended),
        cmocka_unit_test(test_draining_rejects_new_requests),
        cmocka_unit_test(test_draining_body_after_quiesce),
        cmocka_unit_test(test_incomplete_request_cut_at_deadline),
        cmocka_unit_test(test_per_ip_connection_limit),
        cmocka_unit_test(test_second_bind_refused_without_reuse_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
