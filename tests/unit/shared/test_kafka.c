/* Unit tests of shared/src/kafka.c: the KAFKA_<NAME> passthrough and the defaults that it
 * overrides (ib_kafka_conf_default), which set the services' read-ahead and fetch batching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ib/kafka.h"

static const char *conf_get(rd_kafka_conf_t *conf, const char *name, char *buf, size_t size)
{
    size_t n = size;
    assert_int_equal(rd_kafka_conf_get(conf, name, buf, &n), RD_KAFKA_CONF_OK);
    return buf;
}

static void test_default_applies_without_the_variable(void **state)
{
    (void)state;
    char err[256];
    char buf[64];
    unsetenv("KAFKA_FETCH_WAIT_MAX_MS");
    rd_kafka_conf_t *conf = ib_kafka_conf_new("127.0.0.1:9", "test", err, sizeof(err));
    assert_non_null(conf);
    assert_int_equal(ib_kafka_conf_default(conf, "fetch.wait.max.ms", "100", err, sizeof(err)),
                     IB_OK);
    assert_string_equal(conf_get(conf, "fetch.wait.max.ms", buf, sizeof(buf)), "100");
    rd_kafka_conf_destroy(conf);
}

static void test_variable_overrides_the_default(void **state)
{
    (void)state;
    char err[256];
    char buf[64];
    setenv("KAFKA_FETCH_WAIT_MAX_MS", "250", 1);
    rd_kafka_conf_t *conf = ib_kafka_conf_new("127.0.0.1:9", "test", err, sizeof(err));
    assert_non_null(conf);
    assert_string_equal(conf_get(conf, "fetch.wait.max.ms", buf, sizeof(buf)), "250");
    assert_int_equal(ib_kafka_conf_default(conf, "fetch.wait.max.ms", "100", err, sizeof(err)),
                     IB_OK);
    assert_string_equal(conf_get(conf, "fetch.wait.max.ms", buf, sizeof(buf)), "250");
    unsetenv("KAFKA_FETCH_WAIT_MAX_MS");
    rd_kafka_conf_destroy(conf);
}

static void test_bad_default_names_the_property(void **state)
{
    (void)state;
    char err[256];
    rd_kafka_conf_t *conf = ib_kafka_conf_new("127.0.0.1:9", "test", err, sizeof(err));
    assert_non_null(conf);
    assert_int_equal(ib_kafka_conf_default(conf, "fetch.wait.max.ms", "soon", err, sizeof(err)),
                     IB_ERR);
    assert_non_null(strstr(err, "fetch.wait.max.ms"));
    rd_kafka_conf_destroy(conf);
}

/* ib_kafka_new takes conf either way: on success the client owns it, on failure it is destroyed
 * (the ASan build reports a leak otherwise), and the reason carries the caller's prefix. */
static void test_new_steals_conf_and_prefixes_the_reason(void **state)
{
    (void)state;
    char err[256] = "";
    rd_kafka_conf_t *conf = ib_kafka_conf_new("127.0.0.1:9", "test", err, sizeof(err));
    assert_non_null(conf);
    rd_kafka_t *rk = ib_kafka_new(RD_KAFKA_PRODUCER, conf, "test producer", err, sizeof(err));
    assert_non_null(rk);
    rd_kafka_destroy(rk);

    conf = ib_kafka_conf_new("127.0.0.1:9", "test", err, sizeof(err));
    assert_non_null(conf);
    assert_int_equal(ib_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)),
                     IB_OK);
    assert_int_equal(ib_kafka_conf_set(conf, "acks", "1", err, sizeof(err)), IB_OK);
    rk = ib_kafka_new(RD_KAFKA_PRODUCER, conf, "test producer", err, sizeof(err));
    assert_null(rk);
    assert_memory_equal(err, "test producer: ", 15);
    assert_true(strlen(err) > 15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_applies_without_the_variable),
        cmocka_unit_test(test_variable_overrides_the_default),
        cmocka_unit_test(test_bad_default_names_the_property),
        cmocka_unit_test(test_new_steals_conf_and_prefixes_the_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
