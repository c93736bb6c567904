/* Unit tests of api-gateway/src/tail.c against librdkafka's mock cluster: caught up only once
 * the backlog present at start was applied (every partition of every topic), records produced
 * later applied without a restart, lag back to 0. (The mock cluster auto-creates topics on
 * metadata requests, so "topic missing" is covered by the integration tests with a frozen
 * broker instead.) */
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

#include "tail.h"

static rd_kafka_t *owner;
static rd_kafka_mock_cluster_t *mcluster;
static char bootstrap[256];

typedef struct {
    pthread_mutex_t mu;
    int count[2];
} seen_t;

static void on_a(void *opaque, const rd_kafka_message_t *m)
{
    seen_t *s = opaque;
    (void)m;
    pthread_mutex_lock(&s->mu);
    s->count[0]++;
    pthread_mutex_unlock(&s->mu);
}

static void on_b(void *opaque, const rd_kafka_message_t *m)
{
    seen_t *s = opaque;
    (void)m;
    pthread_mutex_lock(&s->mu);
    s->count[1]++;
    pthread_mutex_unlock(&s->mu);
}

static int count(seen_t *s, int i)
{
    pthread_mutex_lock(&s->mu);
    int n = s->count[i];
    pthread_mutex_unlock(&s->mu);
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

/* Hang guard for every wait below: reached only when the awaited state never comes, however
 * slow the machine (valgrind, ASan, two busy cores). */
#define HANG_GUARD_MS 240000

static void produce(const char *topic, int n)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(p);
    for (int i = 0; i < n; i++) {
        char key[32];
        char value[] = "{}";
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(
            rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE(value, 2), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    assert_int_equal(rd_kafka_flush(p, HANG_GUARD_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);
}

static int setup(void **state)
{
    char err[256];
    (void)state;
    owner = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof(err));
    if (owner == NULL)
        return -1;
    mcluster = rd_kafka_mock_cluster_new(owner, 1);
    if (mcluster == NULL)
        return -1;
    snprintf(bootstrap, sizeof(bootstrap), "%s", rd_kafka_mock_cluster_bootstraps(mcluster));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rd_kafka_mock_cluster_destroy(mcluster);
    rd_kafka_destroy(owner);
    return 0;
}

static void test_caught_up_after_backlog_and_live_updates(void **state)
{
    char err[256];
    seen_t seen = {PTHREAD_MUTEX_INITIALIZER, {0, 0}};
    (void)state;
    assert_int_equal(rd_kafka_mock_topic_create(mcluster, "a", 3, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_mock_topic_create(mcluster, "b", 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    produce("a", 500);
    produce("b", 7);

    gw_tail_topic_t topics[] = {{"a", on_a, &seen}, {"b", on_b, &seen}};
    gw_tail_t *t = gw_tail_new(bootstrap, topics, 2);
    assert_non_null(t);
    assert_int_equal(gw_tail_lag(t, 0), -1);
    assert_false(gw_tail_caught_up(t));
    assert_int_equal(gw_tail_start(t, err, sizeof(err)), IB_OK);
    long long until = now_ms() + HANG_GUARD_MS;
    while (!gw_tail_caught_up(t) && now_ms() < until)
        sleep_ms(50);
    assert_true(gw_tail_caught_up(t));
    /* Caught up means everything present at start was applied. */
    assert_int_equal(count(&seen, 0), 500);
    assert_int_equal(count(&seen, 1), 7);
    assert_int_equal(gw_tail_records(t), 507);
    assert_int_equal(gw_tail_lag(t, 0), 0);

    /* Later records arrive without a restart. */
    produce("a", 20);
    until = now_ms() + HANG_GUARD_MS;
    while (count(&seen, 0) < 520 && now_ms() < until)
        sleep_ms(50);
    assert_int_equal(count(&seen, 0), 520);
    until = now_ms() + HANG_GUARD_MS;
    while (gw_tail_lag(t, 0) != 0 && now_ms() < until)
        sleep_ms(50);
    assert_int_equal(gw_tail_lag(t, 0), 0);
    gw_tail_destroy(t);
}

static void test_bad_arguments(void **state)
{
    gw_tail_topic_t topics[GW_TAIL_MAX_TOPICS + 1];
    (void)state;
    memset(topics, 0, sizeof(topics));
    for (size_t i = 0; i < GW_TAIL_MAX_TOPICS + 1; i++) {
        topics[i].topic = "x";
        topics[i].fn = on_a;
    }
    assert_null(gw_tail_new("127.0.0.1:1", topics, 0));
    assert_null(gw_tail_new("127.0.0.1:1", topics, GW_TAIL_MAX_TOPICS + 1));
    gw_tail_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_caught_up_after_backlog_and_live_updates, setup,
                                        teardown),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
