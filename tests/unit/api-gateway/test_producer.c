/* Unit tests of api-gateway/src/producer.c against librdkafka's mock cluster: acknowledged
 * delivery, a broker that is down (error report, never success), and the rebuild after a fatal
 * error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>

#include "ib/common.h"
#include "producer_testing.h"

#define TOPIC "interviews.requested"

static rd_kafka_t *mock_owner;
static rd_kafka_mock_cluster_t *mcluster;
static char bootstrap[256];

typedef struct {
    pthread_mutex_t mu;
    int calls;
    ib_rc_t rc;
} report_t;

static void on_report(void *opaque, ib_rc_t rc, const char *reason)
{
    report_t *r = opaque;
    (void)reason;
    pthread_mutex_lock(&r->mu);
    r->calls++;
    r->rc = rc;
    pthread_mutex_unlock(&r->mu);
}

static int report_calls(report_t *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->calls;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Hang guard for every wait below: a report comes within message.timeout.ms (at most 30 s
 * here), statistics every 2 s; only a report that never comes reaches it, however slow the
 * machine (valgrind, ASan, two busy cores). */
#define HANG_GUARD_MS 240000

/* Waits for the report (against the hang guard); returns its call count. */
static int await_report(report_t *r)
{
    long long until = now_ms() + HANG_GUARD_MS;
    while (report_calls(r) == 0 && now_ms() < until)
        sleep_ms(20);
    return report_calls(r);
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    mock_owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (mock_owner == NULL)
        return -1;
    mcluster = rd_kafka_mock_cluster_new(mock_owner, 1);
    if (mcluster == NULL)
        return -1;
    snprintf(bootstrap, sizeof(bootstrap), "%s", rd_kafka_mock_cluster_bootstraps(mcluster));
    return rd_kafka_mock_topic_create(mcluster, TOPIC, 2, 1) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rd_kafka_mock_cluster_destroy(mcluster);
    rd_kafka_destroy(mock_owner);
    return 0;
}

static ib_rc_t send_one(gw_producer_t *p, report_t *r)
{
    char errstr[256];
    char value[] = "{\"interview_id\":\"x\"}";
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);
    rd_kafka_header_add(hdrs, "ce_id", -1, "x", -1);
    return gw_producer_send(p, TOPIC, "0123456789abcdef0123456789abcdef", value, strlen(value),
                            hdrs, on_report, r, errstr, sizeof(errstr));
}

static void test_acknowledged(void **state)
{
    (void)state;
    char errstr[256];
    report_t r = {PTHREAD_MUTEX_INITIALIZER, 0, IB_ERR};
    /* Generous: under valgrind on a loaded machine the first produce can take seconds. */
    gw_producer_t *p = gw_producer_new(bootstrap, 30000, errstr, sizeof(errstr));
    assert_non_null(p);
    assert_int_equal(send_one(p, &r), IB_OK);
    assert_int_equal(await_report(&r), 1);
    assert_int_equal(r.rc, IB_OK);
    long long until = now_ms() + HANG_GUARD_MS;
    while (!gw_producer_healthy(p) && now_ms() < until)
        sleep_ms(50); /* statistics every 2 s tell us a broker is up */
    assert_true(gw_producer_healthy(p));
    gw_producer_destroy(p);
    assert_int_equal(report_calls(&r), 1); /* exactly once */
}

static void test_broker_down_reports_error(void **state)
{
    (void)state;
    char errstr[256];
    report_t r = {PTHREAD_MUTEX_INITIALIZER, 0, IB_OK};
    gw_producer_t *p = gw_producer_new(bootstrap, 1000, errstr, sizeof(errstr));
    assert_non_null(p);
    rd_kafka_mock_broker_set_down(mcluster, 1);
    assert_int_equal(send_one(p, &r), IB_OK);
    assert_int_equal(await_report(&r), 1);
    assert_int_equal(r.rc, IB_ERR);
    rd_kafka_mock_broker_set_up(mcluster, 1);
    gw_producer_destroy(p);
}

static void test_fatal_error_rebuilds(void **state)
{
    (void)state;
    char errstr[256];
    report_t r1 = {PTHREAD_MUTEX_INITIALIZER, 0, IB_ERR};
    report_t r2[64];
    gw_producer_t *p = gw_producer_new(bootstrap, 30000, errstr, sizeof(errstr));
    assert_non_null(p);
    assert_int_equal(send_one(p, &r1), IB_OK);
    assert_int_equal(await_report(&r1), 1);
    assert_int_equal(r1.rc, IB_OK);

    assert_int_equal(gw_producer_test_fatal(p), IB_OK);
    /* The poll thread swaps in a fresh instance; sends succeed again. Until then a send is
     * refused at once (no report) or, accepted, reported once (an error, or OK from the fresh
     * instance). Each accepted send has its own report, so a late one is never misread. */
    int ok = 0;
    int accepted = 0;
    long long until = now_ms() + HANG_GUARD_MS;
    while (!ok && accepted < 64 && now_ms() < until) {
        report_t *r = &r2[accepted];
        pthread_mutex_init(&r->mu, NULL);
        r->calls = 0;
        r->rc = IB_ERR;
        if (send_one(p, r) != IB_OK) {
            pthread_mutex_destroy(&r->mu);
            sleep_ms(50);
            continue;
        }
        accepted++;
        assert_int_equal(await_report(r), 1);
        ok = r->rc == IB_OK;
    }
    assert_true(ok);
    gw_producer_destroy(p);
    for (int i = 0; i < accepted; i++) {
        assert_int_equal(report_calls(&r2[i]), 1); /* exactly once, also after destroy */
        pthread_mutex_destroy(&r2[i].mu);
    }
}

static const char *conf_of(gw_producer_t *p, const char *name, char *buf, size_t size)
{
    assert_int_equal(gw_producer_test_conf_get(p, name, buf, size), IB_OK);
    return buf;
}

/* No linger by default (a POST waits for its acknowledgement); KAFKA_LINGER_MS overrides it, and
 * never the contract: the passthrough cannot turn off acks=all or idempotence. */
static void test_linger_default_and_override(void **state)
{
    (void)state;
    char errstr[256];
    char buf[64];
    unsetenv("KAFKA_LINGER_MS");
    gw_producer_t *p = gw_producer_new(bootstrap, 30000, errstr, sizeof(errstr));
    assert_non_null(p);
    assert_float_equal(strtod(conf_of(p, "linger.ms", buf, sizeof(buf)), NULL), 0.0, 1e-9);
    gw_producer_destroy(p);

    setenv("KAFKA_LINGER_MS", "7", 1);
    setenv("KAFKA_ACKS", "1", 1);
    setenv("KAFKA_ENABLE_IDEMPOTENCE", "false", 1);
    p = gw_producer_new(bootstrap, 30000, errstr, sizeof(errstr));
    unsetenv("KAFKA_LINGER_MS");
    unsetenv("KAFKA_ACKS");
    unsetenv("KAFKA_ENABLE_IDEMPOTENCE");
    assert_non_null(p);
    assert_float_equal(strtod(conf_of(p, "linger.ms", buf, sizeof(buf)), NULL), 7.0, 1e-9);
    assert_string_equal(conf_of(p, "enable.idempotence", buf, sizeof(buf)), "true");
    assert_string_equal(conf_of(p, "acks", buf, sizeof(buf)), "-1");
    gw_producer_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acknowledged),
        cmocka_unit_test(test_broker_down_reports_error),
        cmocka_unit_test(test_fatal_error_rebuilds),
        cmocka_unit_test(test_linger_default_and_override),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
