/* Unit tests of shared/src/config.c: the descriptor table loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ib/config.h"

typedef struct {
    char *bootstrap;
    char *secret;
    long timeout_ms;
    long workers;
    int insecure;
    ib_durations_t schedule;
} cfg_t;

static const ib_conf_desc_t table[] = {
    {.name = "BOOTSTRAP",
     .type = IB_CONF_STRING,
     .def = "127.0.0.1:9092",
     .offset = offsetof(cfg_t, bootstrap),
     .help = ""},
    {.name = "SECRET",
     .type = IB_CONF_STRING,
     .def = NULL,
     .secret = 1,
     .offset = offsetof(cfg_t, secret),
     .help = ""},
    {.name = "TIMEOUT",
     .type = IB_CONF_DURATION,
     .def = "15s",
     .min = 1,
     .max = 60000,
     .offset = offsetof(cfg_t, timeout_ms),
     .help = ""},
    {.name = "WORKERS",
     .type = IB_CONF_INT,
     .def = "4",
     .min = 1,
     .max = 64,
     .offset = offsetof(cfg_t, workers),
     .help = ""},
    {.name = "INSECURE",
     .type = IB_CONF_BOOL,
     .def = "0",
     .offset = offsetof(cfg_t, insecure),
     .help = ""},
    {.name = "SCHEDULE",
     .type = IB_CONF_DURATIONS,
     .def = "0s,5s,2m",
     .offset = offsetof(cfg_t, schedule),
     .help = ""},
};

/* Environment as NULL-terminated name/value pairs. */
static const char *fake_get(const char *name, void *opaque)
{
    const char *const *env = opaque;
    for (size_t i = 0; env[i] != NULL; i += 2)
        if (strcmp(env[i], name) == 0)
            return env[i + 1];
    return NULL;
}

static ib_rc_t load(const char *const *env, cfg_t *c, char *err, size_t n)
{
    memset(c, 0, sizeof(*c));
    return ib_config_load_from(table, IB_ARRAY_LEN(table), c, fake_get, (void *)(uintptr_t)env, err,
                               n);
}

static void test_defaults_then_env(void **state)
{
    (void)state;
    const char *env[] = {"SECRET", "s3", "TIMEOUT", "250ms", "INSECURE", "true", NULL};
    cfg_t c;
    char err[256] = "";
    assert_int_equal(load(env, &c, err, sizeof(err)), IB_OK);
    assert_string_equal(c.bootstrap, "127.0.0.1:9092");
    assert_string_equal(c.secret, "s3");
    assert_int_equal(c.timeout_ms, 250);
    assert_int_equal(c.workers, 4);
    assert_int_equal(c.insecure, 1);
    assert_int_equal(c.schedule.count, 3);
    assert_int_equal(c.schedule.ms[0], 0);
    assert_int_equal(c.schedule.ms[1], 5000);
    assert_int_equal(c.schedule.ms[2], 120000);
    ib_config_free(table, IB_ARRAY_LEN(table), &c);
    assert_null(c.bootstrap);
}

static void expect_error(const char *const *env, const char *prefix)
{
    cfg_t c;
    char err[256] = "";
    assert_int_equal(load(env, &c, err, sizeof(err)), IB_ERR);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("error '%s' does not start with '%s'", err, prefix);
    /* Everything loaded before the failure was freed: valgrind checks this. */
}

static void test_errors_name_the_key(void **state)
{
    (void)state;
    const char *missing[] = {NULL};
    expect_error(missing, "SECRET: is required");
    const char *bad_duration[] = {"SECRET", "x", "TIMEOUT", "soon", NULL};
    expect_error(bad_duration, "TIMEOUT: ");
    const char *out_of_range[] = {"SECRET", "x", "TIMEOUT", "2m", NULL};
    expect_error(out_of_range, "TIMEOUT: 120000 ms is outside");
    const char *bad_int[] = {"SECRET", "x", "WORKERS", "4x", NULL};
    expect_error(bad_int, "WORKERS: ");
    const char *int_range[] = {"SECRET", "x", "WORKERS", "0", NULL};
    expect_error(int_range, "WORKERS: 0 is outside");
    const char *bad_bool[] = {"SECRET", "x", "INSECURE", "maybe", NULL};
    expect_error(bad_bool, "INSECURE: ");
    const char *bad_list[] = {"SECRET", "x", "SCHEDULE", "0s,,5q", NULL};
    expect_error(bad_list, "SCHEDULE: ");
    const char *empty_list[] = {"SECRET", "x", "SCHEDULE", ",", NULL};
    expect_error(empty_list, "SCHEDULE: ");
}

static void test_duration_parse(void **state)
{
    (void)state;
    long ms = -1;
    assert_int_equal(ib_duration_parse("0", &ms), IB_OK);
    assert_int_equal(ms, 0);
    assert_int_equal(ib_duration_parse("72h", &ms), IB_OK);
    assert_int_equal(ms, 72L * 3600 * 1000);
    assert_int_equal(ib_duration_parse("1d", &ms), IB_OK);
    assert_int_equal(ms, 86400000);
    assert_int_equal(ib_duration_parse("-5s", &ms), IB_ERR);
    assert_int_equal(ib_duration_parse("5 s", &ms), IB_ERR);
    assert_int_equal(ib_duration_parse("", &ms), IB_ERR);
    assert_int_equal(ib_duration_parse("99999999999999999999s", &ms), IB_ERR);
    assert_int_equal(ib_duration_parse("9223372036854775807h", &ms), IB_ERR);
}

static void test_listen_parse(void **state)
{
    (void)state;
    char host[64];
    unsigned short port = 0;
    assert_int_equal(ib_listen_parse("0.0.0.0:8080", host, sizeof(host), &port), IB_OK);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 8080);
    assert_int_equal(ib_listen_parse("[::1]:81", host, sizeof(host), &port), IB_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 81);
    assert_int_equal(ib_listen_parse("localhost", host, sizeof(host), &port), IB_ERR);
    assert_int_equal(ib_listen_parse(":80", host, sizeof(host), &port), IB_ERR);
    assert_int_equal(ib_listen_parse("h:70000", host, sizeof(host), &port), IB_ERR);
    assert_int_equal(ib_listen_parse("h:80x", host, sizeof(host), &port), IB_ERR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_then_env),
        cmocka_unit_test(test_errors_name_the_key),
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_listen_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
