#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "delivery.h"

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

/* End to end without a network: the protocol filter and a closed local port. */
static void test_perform_local(void **state)
{
    (void)state;
    char err[128];
    rw_delivery_opts_t opts = {.timeout_ms = 2000, .connect_timeout_ms = 1000, .allow_http = 0};
    rw_deliverer_t *d = rw_deliverer_new(&opts, err, sizeof(err));
    rw_delivery_t job;
    assert_non_null(d);

    memset(&job, 0, sizeof(job));
    job.interview_id = "i1";
    job.url = "http://127.0.0.1:1/cb";
    job.token = "secret-token";
    job.body = "{}";
    job.body_len = 2;
    job.attempt = 1;
    assert_int_equal(rw_deliverer_perform(d, &job), RW_OUTCOME_PERMANENT);
    assert_int_equal(job.curl_code, CURLE_UNSUPPORTED_PROTOCOL);
    assert_null(strstr(job.error, "secret-token"));
    rw_deliverer_free(d);

    opts.allow_http = 1;
    d = rw_deliverer_new(&opts, err, sizeof(err));
    assert_non_null(d);
    assert_int_equal(rw_deliverer_perform(d, &job), RW_OUTCOME_TRANSIENT);
    assert_int_equal(job.curl_code, CURLE_COULDNT_CONNECT);
    assert_int_equal(job.http_status, 0);

    /* A token that would inject a header is refused before any I/O. */
    job.token = "x\r\nX-Evil: 1";
    assert_int_equal(rw_deliverer_perform(d, &job), RW_OUTCOME_TRANSIENT);
    assert_int_equal(job.curl_code, CURLE_FAILED_INIT);
    assert_null(strstr(job.error, "X-Evil"));
    rw_deliverer_free(d);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_http),
        cmocka_unit_test(test_classify_curl),
        cmocka_unit_test(test_perform_local),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
