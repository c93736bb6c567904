/* Unit tests of results-worker/src/flow.c: what an erased interview leaves behind. A retry record
 * held until its due time, a PUT in flight and a newer state queued behind it are all dropped
 * unsent (their offsets complete); another interview's work stays. The flow runs without a
 * producer or an assigned consumer: a job that went on to a retry record instead of being
 * dropped would stay in the flow, waiting to be produced again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "flow.h"
#include "ib/log.h"

static const char tenants_json[] =
    "{\"tenants\":[{\"id\":\"acme\",\"api_token_sha256\":"
    "[\"60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752\"],"
    "\"workable_token\":\"wt-acme\",\"callback_hosts\":[\"127.0.0.1\"]}]}";

static char topic_requested[] = "interviews.requested";
static char topic_status[] = "interviews.status";
static char topic_retry[] = "interviews.callbacks.retry";
static char topic_dlq[] = "interviews.callbacks.dlq";

typedef struct {
    rw_config_t cfg;
    ib_tenants_t *tenants;
    rw_metrics_t m;
    rw_consumer_t consumer; /* zeroed: nothing assigned, so offsets and holds are no-ops */
    rw_flow_t f;
} fixture_t;

static int setup(void **state)
{
    char err[256];
    fixture_t *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return -1;
    x->cfg.topic_requested = topic_requested;
    x->cfg.topic_status = topic_status;
    x->cfg.topic_retry = topic_retry;
    x->cfg.topic_dlq = topic_dlq;
    x->tenants = ib_tenants_parse(tenants_json, strlen(tenants_json), NULL, err, sizeof(err));
    if (x->tenants == NULL || rw_metrics_init(&x->m) != IB_OK)
        return -1;
    rw_sender_opts_t so;
    memset(&so, 0, sizeof(so));
    so.delivery.timeout_ms = 2000;
    so.delivery.connect_timeout_ms = 1000;
    so.delivery.allow_http = 1;
    so.max_inflight = 4;
    so.per_host = 2;
    so.breaker.threshold = 100;
    so.breaker.cooldown_ms = 1000;
    so.dns_ttl_ms = 1000;
    x->f.cfg = &x->cfg;
    x->f.tenants = x->tenants;
    x->f.m = &x->m;
    x->f.join = rw_join_new();
    x->f.consumer = &x->consumer;
    x->f.sender = rw_sender_new(&so, rw_flow_on_send_done, &x->f, err, sizeof(err));
    if (x->f.join == NULL || x->f.sender == NULL || rw_flow_init(&x->f) != IB_OK)
        return -1;
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *x = *state;
    rw_job_t *job;
    LIST_FOREACH(job, &x->f.jobs, all)
    job->doomed = 1; /* revoked: forgotten, as the dispatcher does on its way out */
    rw_sender_abort(x->f.sender, NULL, NULL);
    rw_flow_clear(&x->f);
    rw_sender_free(x->f.sender);
    rw_join_free(x->f.join);
    rw_metrics_free(&x->m);
    ib_tenants_free(x->tenants);
    free(x);
    return 0;
}

/* A job for id's completed state at occurred_ms, consumed from src at offset. */
static rw_job_t *job_for(fixture_t *x, rw_topic_t src, int64_t offset, const char *id,
                         long long occurred_ms)
{
    rd_kafka_message_t msg;
    memset(&msg, 0, sizeof(msg));
    msg.partition = 0;
    msg.offset = offset;
    rw_job_t *job = rw_flow_job_new(&x->f, src, &msg);
    assert_non_null(job);
    job->interview_id = strdup(id);
    job->tenant = &x->tenants->tenants[0];
    job->callback_url = strdup("http://127.0.0.1:1/cb");
    job->body = strdup("{\"status\":\"completed\"}");
    assert_non_null(job->interview_id);
    assert_non_null(job->callback_url);
    assert_non_null(job->body);
    job->body_len = strlen(job->body);
    job->status = IB_STATUS_COMPLETED;
    job->occurred_ms = occurred_ms;
    return job;
}

static void hold(fixture_t *x, int64_t offset, const char *id)
{
    rw_job_t *job = job_for(x, RW_T_RETRY, offset, id, 1000);
    job->due_wall = ib_wall_ms() + 3600 * 1000;
    assert_int_equal(rw_flow_admit_at_due(&x->f, job), IB_OK);
    assert_int_equal(job->state, RW_JOB_WAIT_DUE);
}

static void test_erase_drops_held_sending_and_queued(void **state)
{
    fixture_t *x = *state;
    long long oldest = 0;
    assert_int_equal(rw_join_put(x->f.join, "gone", 0, 0, RW_JOIN_OK, "http://127.0.0.1:1/cb"),
                     IB_OK);
    hold(x, 1, "gone");
    hold(x, 2, "kept");
    rw_job_t *sending = job_for(x, RW_T_STATUS, 3, "gone", 2000);
    rw_flow_admit(&x->f, sending);
    assert_int_equal(sending->state, RW_JOB_SENDING);
    rw_job_t *queued = job_for(x, RW_T_STATUS, 4, "gone", 3000);
    rw_flow_admit(&x->f, queued);
    assert_int_equal(queued->state, RW_JOB_QUEUED);
    assert_int_equal(x->f.njobs, 4);
    assert_int_equal(rw_flow_backlog(&x->f, &oldest), 2);

    /* The key as Kafka hands it over: not terminated. */
    assert_int_equal(rw_flow_erase(&x->f, "gone!", 4), 3);
    assert_int_equal(x->f.njobs, 1);
    assert_int_equal(rw_flow_backlog(&x->f, &oldest), 1);
    assert_int_equal(rw_sender_inflight(x->f.sender) + rw_sender_queued(x->f.sender), 0);
    assert_true(ib_series_value(x->m.erased_jobs) == 3.0);
    assert_true(ib_series_value(x->m.superseded) == 0.0);
    assert_true(ib_series_value(x->m.deliveries[RW_OUTCOME_ABORTED]) == 1.0);

    /* Nothing left for it; the other interview's held retry is untouched until it goes too. */
    assert_int_equal(rw_flow_erase(&x->f, "gone", 4), 0);
    assert_int_equal(rw_flow_erase(&x->f, "gon", 3), 0);
    assert_int_equal(rw_flow_erase(&x->f, "", 0), 0);
    assert_int_equal(x->f.njobs, 1);
    assert_int_equal(rw_flow_erase(&x->f, "kept", 4), 1);
    assert_int_equal(x->f.njobs, 0);
    assert_int_equal(rw_flow_next_due(&x->f), 0);

    /* A later state of the erased interview is sent like any new one (the flow keeps no list of
     * erased ids: the join decides what is known). */
    rw_job_t *later = job_for(x, RW_T_STATUS, 5, "gone", 4000);
    rw_flow_admit(&x->f, later);
    assert_int_equal(later->state, RW_JOB_SENDING);
}

/* The per-attempt log line's fields (rw_job_kv) are rw_job_fields' members, in their order. */
static void kv_matches_fields(const rw_job_t *job)
{
    ib_log_kv_t kv[RW_JOB_KV];
    size_t n = rw_job_kv(job, kv);
    json_t *fields = rw_job_fields(job);
    assert_non_null(fields);
    const char *key;
    json_t *value;
    size_t i = 0;
    json_object_foreach(fields, key, value)
    {
        while (i < n && kv[i].str == NULL && !kv[i].is_int)
            i++; /* unset: left out of the line */
        assert_true(i < n);
        assert_string_equal(kv[i].key, key);
        if (kv[i].is_int)
            assert_int_equal(kv[i].num, json_integer_value(value));
        else
            assert_string_equal(kv[i].str, json_string_value(value));
        i++;
    }
    while (i < n && kv[i].str == NULL && !kv[i].is_int)
        i++;
    assert_int_equal(i, n);
    json_decref(fields);
}

static void test_log_kv_matches_fields(void **state)
{
    fixture_t *x = *state;
    rw_job_t *job = job_for(x, RW_T_STATUS, 7, "abc", 1000);
    job->attempts = 2;
    kv_matches_fields(job); /* no event: no status */
    job->event_text = strdup("{}");
    assert_non_null(job->event_text);
    kv_matches_fields(job);
    job->tenant = NULL;
    kv_matches_fields(job);
    rw_flow_job_free(&x->f, job);
    job = job_for(x, RW_T_RETRY, 8, "abd", 1000);
    kv_matches_fields(job);
    rw_flow_job_free(&x->f, job);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ib_log_init("test_flow", IB_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_erase_drops_held_sending_and_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_kv_matches_fields, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
