#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "delivery.h"
#include "sender.h"

static void test_classify_http(void **state)
{
    (void)state;
    static const struct {
        long status;
        rw_outcome_t want;
    } cases[] = {
        {200, RW_OUTCOME_SUCCESS},   {201, RW_OUTCOME_SUCCESS},   {204, RW_OUTCOME_SUCCESS},
        {299, RW_OUTCOME_SUCCESS},   {300, RW_OUTCOME_PERMANENT}, {301, RW_OUTCOME_PERMANENT},
        {302, RW_OUTCOME_PERMANENT}, {307, RW_OUTCOME_PERMANENT}, {400, RW_OUTCOME_PERMANENT},
        {401, RW_OUTCOME_PERMANENT}, {403, RW_OUTCOME_PERMANENT}, {404, RW_OUTCOME_PERMANENT},
        {405, RW_OUTCOME_PERMANENT}, {408, RW_OUTCOME_TRANSIENT}, {409, RW_OUTCOME_PERMANENT},
        {410, RW_OUTCOME_PERMANENT}, {413, RW_OUTCOME_PERMANENT}, {422, RW_OUTCOME_PERMANENT},
        {425, RW_OUTCOME_TRANSIENT}, {429, RW_OUTCOME_TRANSIENT}, {499, RW_OUTCOME_PERMANENT},
        {500, RW_OUTCOME_TRANSIENT}, {502, RW_OUTCOME_TRANSIENT}, {503, RW_OUTCOME_TRANSIENT},
        {504, RW_OUTCOME_TRANSIENT}, {599, RW_OUTCOME_TRANSIENT}, {0, RW_OUTCOME_TRANSIENT},
        {100, RW_OUTCOME_TRANSIENT}, {600, RW_OUTCOME_TRANSIENT}, {999, RW_OUTCOME_TRANSIENT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rw_outcome_t got = rw_delivery_classify(CURLE_OK, cases[i].status, 0);
        if (got != cases[i].want)
            fail_msg("HTTP %ld: %s, want %s", cases[i].status, rw_outcome_name(got),
                     rw_outcome_name(cases[i].want));
    }
}

static void test_classify_curl(void **state)
{
    (void)state;
    static const struct {
        CURLcode cc;
        long status;
        int capped;
        rw_outcome_t want;
    } cases[] = {
        {CURLE_COULDNT_RESOLVE_HOST, 0, 0, RW_OUTCOME_TRANSIENT},
        {CURLE_COULDNT_CONNECT, 0, 0, RW_OUTCOME_TRANSIENT},
        {CURLE_OPERATION_TIMEDOUT, 0, 0, RW_OUTCOME_TRANSIENT},
        {CURLE_OPERATION_TIMEDOUT, 200, 0, RW_OUTCOME_TRANSIENT}, /* body never finished */
        {CURLE_SSL_CONNECT_ERROR, 0, 0, RW_OUTCOME_TRANSIENT},
        {CURLE_PEER_FAILED_VERIFICATION, 0, 0, RW_OUTCOME_TRANSIENT},
        {CURLE_SEND_ERROR, 0, 0, RW_OUTCOME_TRANSIENT},
        {CURLE_RECV_ERROR, 0, 0, RW_OUTCOME_TRANSIENT},
        {CURLE_GOT_NOTHING, 0, 0, RW_OUTCOME_TRANSIENT},
        {CURLE_PARTIAL_FILE, 200, 0, RW_OUTCOME_TRANSIENT},
        {CURLE_OUT_OF_MEMORY, 0, 0, RW_OUTCOME_TRANSIENT},
        {CURLE_UNSUPPORTED_PROTOCOL, 0, 0, RW_OUTCOME_PERMANENT},
        {CURLE_URL_MALFORMAT, 0, 0, RW_OUTCOME_PERMANENT},
        {CURLE_NOT_BUILT_IN, 0, 0, RW_OUTCOME_PERMANENT},
        /* Our response cap aborted the read: judged by the status that did arrive. */
        {CURLE_WRITE_ERROR, 200, 1, RW_OUTCOME_SUCCESS},
        {CURLE_WRITE_ERROR, 404, 1, RW_OUTCOME_PERMANENT},
        {CURLE_WRITE_ERROR, 503, 1, RW_OUTCOME_TRANSIENT},
        {CURLE_WRITE_ERROR, 200, 0, RW_OUTCOME_TRANSIENT}, /* a write error that was not ours */
        {CURLE_WRITE_ERROR, 0, 1, RW_OUTCOME_TRANSIENT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rw_outcome_t got = rw_delivery_classify(cases[i].cc, cases[i].status, cases[i].capped);
        if (got != cases[i].want)
            fail_msg("case %zu (%s, %ld): %s, want %s", i, curl_easy_strerror(cases[i].cc),
                     cases[i].status, rw_outcome_name(got), rw_outcome_name(cases[i].want));
    }
}

/* One attempt the way the callback engine makes it: prepare a fresh easy handle, perform,
 * finish; a prepare that fails is finished with CURLE_FAILED_INIT and never performed. */
static rw_outcome_t perform(rw_delivery_t *job, const rw_delivery_opts_t *opts, char *why,
                            size_t why_size)
{
    CURL *easy = curl_easy_init();
    assert_non_null(easy);
    why[0] = '\0';
    CURLcode cc = CURLE_FAILED_INIT;
    if (rw_delivery_prepare(easy, job, opts, why, why_size) == IB_OK)
        cc = curl_easy_perform(easy);
    rw_outcome_t o = rw_delivery_finish(easy, job, cc);
    curl_easy_cleanup(easy);
    return o;
}

/* End to end without a network: the protocol filter and a closed local port. */
static void test_perform_local(void **state)
{
    (void)state;
    char why[128];
    rw_delivery_opts_t opts = {.timeout_ms = 2000, .connect_timeout_ms = 1000, .allow_http = 0};
    rw_delivery_t job;

    memset(&job, 0, sizeof(job));
    job.interview_id = "i1";
    job.url = "http://127.0.0.1:1/cb";
    job.token = "secret-token";
    job.body = "{}";
    job.body_len = 2;
    job.attempt = 1;
    assert_int_equal(perform(&job, &opts, why, sizeof(why)), RW_OUTCOME_PERMANENT);
    assert_int_equal(job.curl_code, CURLE_UNSUPPORTED_PROTOCOL);
    assert_null(strstr(job.error, "secret-token"));

    opts.allow_http = 1;
    assert_int_equal(perform(&job, &opts, why, sizeof(why)), RW_OUTCOME_TRANSIENT);
    assert_int_equal(job.curl_code, CURLE_COULDNT_CONNECT);
    assert_int_equal(job.http_status, 0);

    /* A token that would inject a header is refused before any I/O. */
    job.token = "x\r\nX-Evil: 1";
    assert_int_equal(perform(&job, &opts, why, sizeof(why)), RW_OUTCOME_TRANSIENT);
    assert_int_equal(job.curl_code, CURLE_FAILED_INIT);
    assert_true(why[0] != '\0');
    assert_null(strstr(why, "X-Evil"));
    assert_null(strstr(job.error, "X-Evil"));
}

static void on_done(rw_send_t *x, void *opaque)
{
    (void)x;
    (*(int *)opaque)++;
}

/* The same through the callback engine (sender.h), the worker's only way to send. */
static void test_send_local(void **state)
{
    (void)state;
    char err[128];
    int done = 0;
    rw_sender_opts_t so;
    rw_send_t x;
    memset(&so, 0, sizeof(so));
    so.delivery.timeout_ms = 2000;
    so.delivery.connect_timeout_ms = 1000;
    so.delivery.allow_http = 0;
    so.max_inflight = 4;
    so.per_host = 2;
    so.breaker.threshold = 100;
    so.breaker.cooldown_ms = 1000;
    so.dns_ttl_ms = 1000;

    memset(&x, 0, sizeof(x));
    x.d.interview_id = "i1";
    x.d.url = "http://127.0.0.1:1/cb";
    x.d.token = "secret-token";
    x.d.body = "{}";
    x.d.body_len = 2;
    x.d.attempt = 1;

    /* http without ALLOW_INSECURE_CALLBACKS: refused before any transfer. */
    rw_sender_t *s = rw_sender_new(&so, on_done, &done, err, sizeof(err));
    assert_non_null(s);
    rw_sender_submit(s, &x);
    for (int i = 0; i < 100 && done == 0; i++)
        rw_sender_run(s, 50, -1);
    assert_int_equal(done, 1);
    assert_int_equal(x.d.outcome, RW_OUTCOME_PERMANENT);
    assert_true(x.d.refused[0] != '\0');
    assert_null(strstr(x.d.error, "secret-token"));
    rw_sender_free(s);

    /* A closed local port: transient. */
    so.delivery.allow_http = 1;
    done = 0;
    s = rw_sender_new(&so, on_done, &done, err, sizeof(err));
    assert_non_null(s);
    rw_sender_submit(s, &x);
    for (int i = 0; i < 100 && done == 0; i++)
        rw_sender_run(s, 50, -1);
    assert_int_equal(done, 1);
    assert_int_equal(x.d.outcome, RW_OUTCOME_TRANSIENT);
    assert_int_equal(x.d.curl_code, CURLE_COULDNT_CONNECT);
    assert_int_equal(x.d.http_status, 0);

    /* A token that would inject a header: transient, nothing sent, the token not echoed. */
    x.d.token = "x\r\nX-Evil: 1";
    done = 0;
    rw_sender_submit(s, &x);
    for (int i = 0; i < 100 && done == 0; i++)
        rw_sender_run(s, 50, -1);
    assert_int_equal(done, 1);
    assert_int_equal(x.d.outcome, RW_OUTCOME_TRANSIENT);
    assert_int_equal(x.d.curl_code, CURLE_OK);
    assert_null(strstr(x.d.error, "X-Evil"));
    rw_sender_free(s);
}

/* A keep-alive HTTP server on a loopback port, stepped by the test between the engine's rounds:
 * it answers every complete PUT (no body beyond the 2-byte "{}") with 200. */
typedef struct {
    int lfd;
    int cfd;
    char buf[4096];
    size_t len;
    int answered;
    int received;
} mini_server_t;

static void server_open(mini_server_t *sv, char *url, size_t url_size)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    memset(sv, 0, sizeof(*sv));
    sv->cfd = -1;
    sv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(sv->lfd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(sv->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(sv->lfd, 8), 0);
    assert_int_equal(getsockname(sv->lfd, (struct sockaddr *)&a, &alen), 0);
    snprintf(url, url_size, "http://127.0.0.1:%u/cb", (unsigned)ntohs(a.sin_port));
}

/* Reads what has arrived (waiting up to wait_ms for something) and answers complete requests. */
static void server_step(mini_server_t *sv, int wait_ms)
{
    struct pollfd p = {.fd = sv->cfd >= 0 ? sv->cfd : sv->lfd, .events = POLLIN};
    if (poll(&p, 1, wait_ms) <= 0)
        return;
    if (sv->cfd < 0) {
        sv->cfd = accept(sv->lfd, NULL, NULL);
        if (sv->cfd < 0)
            return;
        p.fd = sv->cfd;
        if (poll(&p, 1, wait_ms) <= 0)
            return;
    }
    ssize_t n = read(sv->cfd, sv->buf + sv->len, sizeof(sv->buf) - 1 - sv->len);
    if (n <= 0)
        return;
    sv->len += (size_t)n;
    sv->buf[sv->len] = '\0';
    char *end;
    while ((end = strstr(sv->buf, "\r\n\r\n{}")) != NULL) {
        size_t used = (size_t)(end - sv->buf) + 6;
        memmove(sv->buf, sv->buf + used, sv->len - used + 1);
        sv->len -= used;
        sv->received++;
        static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_int_equal(write(sv->cfd, ok, sizeof(ok) - 1), (ssize_t)(sizeof(ok) - 1));
        sv->answered++;
    }
}

static void server_close(mini_server_t *sv)
{
    if (sv->cfd >= 0)
        close(sv->cfd);
    close(sv->lfd);
}

/* A slot freed by a completion is refilled and its request written in the same round: the next
 * PUT to the host reaches the server before the caller runs the engine again. */
static void test_send_refill_same_round(void **state)
{
    (void)state;
    char err[128];
    char url[64];
    int done = 0;
    rw_sender_opts_t so;
    rw_send_t x[2];
    mini_server_t sv;
    memset(&so, 0, sizeof(so));
    so.delivery.timeout_ms = 5000;
    so.delivery.connect_timeout_ms = 2000;
    so.delivery.allow_http = 1;
    so.max_inflight = 4;
    so.per_host = 1;
    so.breaker.threshold = 100;
    so.breaker.cooldown_ms = 1000;
    so.dns_ttl_ms = 1000;
    server_open(&sv, url, sizeof(url));

    rw_sender_t *s = rw_sender_new(&so, on_done, &done, err, sizeof(err));
    assert_non_null(s);
    for (int i = 0; i < 2; i++) {
        memset(&x[i], 0, sizeof(x[i]));
        x[i].d.interview_id = i == 0 ? "i1" : "i2";
        x[i].d.url = url;
        x[i].d.token = "t";
        x[i].d.body = "{}";
        x[i].d.body_len = 2;
        x[i].d.attempt = 1;
        rw_sender_submit(s, &x[i]);
    }
    for (int i = 0; i < 2000 && done == 0; i++) {
        rw_sender_run(s, 5, -1);
        if (done == 0)
            server_step(&sv, 5);
    }
    assert_int_equal(done, 1);
    assert_int_equal(x[0].d.outcome, RW_OUTCOME_SUCCESS);
    assert_int_equal(sv.received, 1);
    /* No rw_sender_run now: the second request must already be on its way. */
    for (int i = 0; i < 100 && sv.received < 2; i++)
        server_step(&sv, 20);
    assert_int_equal(sv.received, 2);
    for (int i = 0; i < 2000 && done < 2; i++)
        rw_sender_run(s, 5, -1);
    assert_int_equal(done, 2);
    assert_int_equal(x[1].d.outcome, RW_OUTCOME_SUCCESS);
    rw_sender_free(s);
    server_close(&sv);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_http),          cmocka_unit_test(test_classify_curl),
        cmocka_unit_test(test_perform_local),          cmocka_unit_test(test_send_local),
        cmocka_unit_test(test_send_refill_same_round),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
