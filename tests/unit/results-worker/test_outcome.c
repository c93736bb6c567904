/* Unit tests of results-worker/src/outcome.c, driven by tests/data/results-worker/decisions.json:
 * each case is a job, one attempt's result and the policy, and the decision expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delivery.h"
#include "job.h"
#include "outcome.h"

#define NOW 1764360000000LL /* 2025-11-28T20:00:00Z */

static json_t *load_table(void)
{
    char path[1024];
    const char *dir = getenv("IB_TEST_DATA");
    json_error_t jerr;
    snprintf(path, sizeof(path), "%s/results-worker/decisions.json",
             dir != NULL ? dir : "tests/data");
    json_t *t = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (t == NULL)
        fail_msg("cannot load %s: %s", path, jerr.text);
    return t;
}

static CURLcode curl_code(const char *name, const char *test)
{
    static const struct {
        const char *name;
        CURLcode cc;
    } codes[] = {
        {"OK", CURLE_OK},
        {"COULDNT_RESOLVE_HOST", CURLE_COULDNT_RESOLVE_HOST},
        {"COULDNT_CONNECT", CURLE_COULDNT_CONNECT},
        {"OPERATION_TIMEDOUT", CURLE_OPERATION_TIMEDOUT},
        {"SSL_CONNECT_ERROR", CURLE_SSL_CONNECT_ERROR},
        {"PEER_FAILED_VERIFICATION", CURLE_PEER_FAILED_VERIFICATION},
        {"RECV_ERROR", CURLE_RECV_ERROR},
        {"UNSUPPORTED_PROTOCOL", CURLE_UNSUPPORTED_PROTOCOL},
    };
    if (name == NULL)
        return CURLE_OK;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(codes[i].name, name) == 0)
            return codes[i].cc;
    fail_msg("%s: unknown curl code %s", test, name);
    return CURLE_OK;
}

static rw_outcome_t outcome_named(const char *name, const char *test)
{
    for (int o = 0; o < RW_OUTCOME_COUNT; o++)
        if (strcmp(rw_outcome_name((rw_outcome_t)o), name) == 0)
            return (rw_outcome_t)o;
    fail_msg("%s: unknown outcome %s", test, name);
    return RW_OUTCOME_SUCCESS;
}

static long long num(const json_t *obj, const char *key, long long dflt)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

static double real(const json_t *obj, const char *key, double dflt)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static void run_case(const json_t *c, const json_t *base_policy)
{
    const char *name = str(c, "name");
    const json_t *jj = json_object_get(c, "job");
    const json_t *ja = json_object_get(c, "attempt");
    const json_t *jp = json_object_get(c, "policy");
    const json_t *want = json_object_get(c, "want");
    rw_job_t job;
    rw_delivery_t r;
    rw_attempt_result_t res;
    rw_policy_t p;
    rw_decision_t dec;
    char what[256];
    long ms[16];
    ib_durations_t schedule = {ms, 0};

    /* The job before the attempt. */
    memset(&job, 0, sizeof(job));
    job.attempts = (unsigned)num(jj, "attempts", 0);
    if (json_object_get(jj, "first_attempt_ago_ms") != NULL)
        job.first_attempt_wall = NOW - num(jj, "first_attempt_ago_ms", 0);
    const json_t *last = json_object_get(jj, "history_last");
    if (last != NULL) {
        job.history = json_array();
        json_array_append(job.history, (json_t *)(uintptr_t)last);
    }

    /* The attempt, as the sender reports it. */
    memset(&r, 0, sizeof(r));
    r.http_status = (long)num(ja, "http_status", 0);
    r.curl_code = curl_code(str(ja, "curl"), name);
    r.retry_after_ms = (long)num(ja, "retry_after_ms", 0);
    snprintf(r.error, sizeof(r.error), "%s", str(ja, "error") ? str(ja, "error") : "");
    snprintf(r.refused, sizeof(r.refused), "%s", str(ja, "refused") ? str(ja, "refused") : "");
    r.outcome = str(ja, "outcome") != NULL ? outcome_named(str(ja, "outcome"), name)
                                           : rw_delivery_classify(r.curl_code, r.http_status, 0);
    rw_delivery_describe(&r, what, sizeof(what));
    memset(&res, 0, sizeof(res));
    res.outcome = r.outcome;
    res.http_status = r.http_status;
    res.retry_after_ms = r.retry_after_ms;
    res.refused = r.refused[0] != '\0';
    res.what = what;
    res.breaker_wait_ms = num(ja, "breaker_wait_ms", 0);
    res.newer_waiting = json_is_true(json_object_get(ja, "newer_waiting"));

    /* The policy: the table's, with the case's overrides. */
    const json_t *steps = json_object_get(jp, "schedule_ms")
                              ? json_object_get(jp, "schedule_ms")
                              : json_object_get(base_policy, "schedule_ms");
    for (size_t i = 0; i < json_array_size(steps) && i < 16; i++)
        ms[schedule.count++] = (long)json_integer_value(json_array_get(steps, i));
    p.schedule = &schedule;
    p.max_age_ms = num(jp, "max_age_ms", num(base_policy, "max_age_ms", 0));
    p.unit = real(jp, "unit", real(base_policy, "unit", 0.5));
    p.defer_unit = real(jp, "defer_unit", real(base_policy, "defer_unit", 0.5));

    rw_job_t before = job;
    rw_decide(&job, &res, NOW, &p, &dec);
    if (memcmp(&before, &job, sizeof(job)) != 0)
        fail_msg("%s: the job was changed", name);

    const char *verdict = str(want, "verdict");
    if (strcmp(rw_verdict_name(dec.verdict), verdict) != 0)
        fail_msg("%s: %s (%s), want %s", name, rw_verdict_name(dec.verdict), dec.reason, verdict);
    if (json_object_get(want, "due_in_ms") != NULL &&
        dec.due_wall - NOW != num(want, "due_in_ms", 0))
        fail_msg("%s: due in %lld ms, want %lld", name, dec.due_wall - NOW,
                 num(want, "due_in_ms", 0));
    if (json_object_get(want, "counted") != NULL &&
        dec.counted != json_is_true(json_object_get(want, "counted")))
        fail_msg("%s: counted %d", name, dec.counted);
    if (json_object_get(want, "attempts") != NULL &&
        dec.attempts != (unsigned)num(want, "attempts", 0))
        fail_msg("%s: attempts %u, want %lld", name, dec.attempts, num(want, "attempts", 0));
    if (json_object_get(want, "first_attempt_ago_ms") != NULL &&
        NOW - dec.first_attempt_wall != num(want, "first_attempt_ago_ms", 0))
        fail_msg("%s: first attempt %lld ms ago", name, NOW - dec.first_attempt_wall);
    if (str(want, "class") != NULL &&
        (dec.verdict != RW_DECIDE_DEAD_LETTER ||
         strcmp(rw_dlq_class_name(dec.dlq_class), str(want, "class")) != 0))
        fail_msg("%s: class %s, want %s", name, rw_dlq_class_name(dec.dlq_class),
                 str(want, "class"));
    if (str(want, "reason") != NULL && strcmp(dec.reason, str(want, "reason")) != 0)
        fail_msg("%s: reason '%s', want '%s'", name, dec.reason, str(want, "reason"));
    const char *prefix = str(want, "reason_prefix");
    if (prefix != NULL && strncmp(dec.reason, prefix, strlen(prefix)) != 0)
        fail_msg("%s: reason '%s' does not start with '%s'", name, dec.reason, prefix);
    const char *suffix = str(want, "reason_suffix");
    if (suffix != NULL && (strlen(dec.reason) < strlen(suffix) ||
                           strcmp(dec.reason + strlen(dec.reason) - strlen(suffix), suffix) != 0))
        fail_msg("%s: reason '%s' does not end with '%s'", name, dec.reason, suffix);
    json_decref(job.history);
}

static void test_decision_table(void **state)
{
    (void)state;
    json_t *t = load_table();
    const json_t *cases = json_object_get(t, "cases");
    const json_t *policy = json_object_get(t, "policy");
    size_t i;
    json_t *c;
    assert_true(json_array_size(cases) >= 40);
    json_array_foreach(cases, i, c)
    {
        run_case(c, policy);
    }
    json_decref(t);
}

/* The exhausted reason names the first attempt's time (RFC 3339). */
static void test_exhausted_reason_names_first_attempt(void **state)
{
    (void)state;
    long ms[] = {0, 1000};
    ib_durations_t schedule = {ms, 2};
    rw_policy_t p = {&schedule, 60000, 0.5, 0.5};
    rw_job_t job;
    rw_attempt_result_t res;
    rw_decision_t dec;
    memset(&job, 0, sizeof(job));
    memset(&res, 0, sizeof(res));
    job.first_attempt_wall = NOW - 60000;
    res.outcome = RW_OUTCOME_TRANSIENT;
    res.http_status = 500;
    res.what = "HTTP 500";
    rw_decide(&job, &res, NOW, &p, &dec);
    assert_int_equal(dec.verdict, RW_DECIDE_DEAD_LETTER);
    assert_string_equal(dec.reason,
                        "retries exhausted: RETRY_MAX_AGE (60000 ms) since the first attempt at "
                        "2025-11-28T19:59:00.000Z; 1 attempts, last: HTTP 500");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_table),
        cmocka_unit_test(test_exhausted_reason_names_first_attempt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
