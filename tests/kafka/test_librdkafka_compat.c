/* Proves that Debian's librdkafka 2.0.2 keeps its idempotent producer and its group consumer
 * against the broker scripts/kafka runs (Kafka 4 removed the protocol versions 2.0.2 gates these
 * features on; librdkafka fixed that in 2.8). Needs IB_TEST_KAFKA_BOOTSTRAP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#define MESSAGES 100

static const char *bootstrap;
static char topic[64];
static int delivered_ok;
static int delivered_err;
static char stats_idemp_state[64];
static long long stats_producer_id = -1;

static void set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        fail_msg("%s: %s", k, err);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        delivered_ok++;
    else
        delivered_err++;
}

/* The statistics JSON carries the idempotence state machine ("eos"). */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    (void)rk;
    (void)opaque;
    json_t *root = json_loadb(json, len, 0, NULL);
    json_t *eos = json_object_get(root, "eos");
    const char *state = json_string_value(json_object_get(eos, "idemp_state"));
    if (state != NULL)
        snprintf(stats_idemp_state, sizeof(stats_idemp_state), "%s", state);
    json_t *pid = json_object_get(eos, "producer_id");
    if (json_is_integer(pid))
        stats_producer_id = (long long)json_integer_value(pid);
    json_decref(root);
    return 0;
}

static int create_topic(void)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL)
        return -1;
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, 3, 1, err, sizeof(err));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    int rc = -1;
    if (ev != NULL) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
        rc = (n == 1 && rd_kafka_topic_result_error(tr[0]) == RD_KAFKA_RESP_ERR_NO_ERROR) ? 0 : -1;
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    bootstrap = getenv("IB_TEST_KAFKA_BOOTSTRAP");
    if (bootstrap == NULL)
        fail_msg("IB_TEST_KAFKA_BOOTSTRAP is not set (ctest sets it; start scripts/kafka)");
    snprintf(topic, sizeof(topic), "compat-%d-%ld", (int)getpid(), (long)time(NULL));
    return create_topic();
}

static void test_idempotent_producer(void **state)
{
    (void)state;
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "enable.idempotence", "true");
    set(conf, "statistics.interval.ms", "100");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(rk);
    for (int i = 0; i < MESSAGES; i++) {
        char key[16], val[32];
        snprintf(key, sizeof(key), "k%d", i % 7);
        snprintf(val, sizeof(val), "{\"n\":%d}", i);
        rd_kafka_resp_err_t e =
            rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE(val, strlen(val)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    assert_int_equal(rd_kafka_flush(rk, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    /* Wait for a statistics callback after the flush (bounded). */
    stats_producer_id = -1;
    for (int i = 0; i < 100 && stats_producer_id < 0; i++)
        rd_kafka_poll(rk, 100);
    assert_int_equal(delivered_ok, MESSAGES);
    assert_int_equal(delivered_err, 0);
    assert_int_equal(rd_kafka_fatal_error(rk, err, sizeof(err)), RD_KAFKA_RESP_ERR_NO_ERROR);
    /* With a broker that lacks InitProducerId v0 the state never reaches Assigned. */
    assert_string_equal(stats_idemp_state, "Assigned");
    assert_true(stats_producer_id >= 0);
    rd_kafka_destroy(rk);
}

static void test_group_consume_and_commit(void **state)
{
    (void)state;
    char err[512];
    char group[96];
    snprintf(group, sizeof(group), "%s-group", topic);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "group.id", group);
    set(conf, "auto.offset.reset", "earliest");
    set(conf, "enable.auto.offset.store", "false");
    set(conf, "enable.auto.commit", "false");
    set(conf, "partition.assignment.strategy", "range");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    assert_non_null(rk);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(rk, sub), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(sub);

    int got = 0;
    for (int polls = 0; polls < 600 && got < MESSAGES; polls++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            got++;
            rd_kafka_topic_partition_list_t *st = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(st, topic, m->partition)->offset = m->offset + 1;
            assert_int_equal(rd_kafka_offsets_store(rk, st), RD_KAFKA_RESP_ERR_NO_ERROR);
            rd_kafka_topic_partition_list_destroy(st);
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fail_msg("consumer error: %s", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    assert_int_equal(got, MESSAGES);
    /* Commit what was stored, then read the committed offsets back from the group coordinator. */
    assert_int_equal(rd_kafka_commit(rk, NULL, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(3);
    for (int p = 0; p < 3; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p);
    assert_int_equal(rd_kafka_committed(rk, parts, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    long long total = 0;
    for (int i = 0; i < parts->cnt; i++) {
        assert_int_equal(parts->elems[i].err, RD_KAFKA_RESP_ERR_NO_ERROR);
        if (parts->elems[i].offset > 0)
            total += parts->elems[i].offset;
    }
    assert_int_equal(total, MESSAGES);
    rd_kafka_topic_partition_list_destroy(parts);
    assert_int_equal(rd_kafka_consumer_close(rk), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idempotent_producer),
        cmocka_unit_test(test_group_consume_and_commit),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
