/* Unit tests of results-worker/src/config.c: the descriptor table, and the rows it shares with
 * the gateway's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "config.h"

/* The gateway's table, declared here: both services' headers are named config.h. */
extern const ib_conf_desc_t gw_config_table[];
extern const size_t gw_config_table_len;

/* NULL-terminated name/value pairs. */
static const char *lookup(const char *name, void *opaque)
{
    const char *const *env = opaque;
    for (size_t i = 0; env[i] != NULL; i += 2)
        if (strcmp(env[i], name) == 0)
            return env[i + 1];
    return NULL;
}

static void test_defaults(void **state)
{
    (void)state;
    const char *env[] = {"TENANTS_FILE", "/etc/ib/tenants.json", NULL};
    rw_config_t cfg;
    char err[256] = "";
    assert_int_equal(rw_config_load(&cfg, lookup, (void *)env, err, sizeof(err)), IB_OK);
    assert_string_equal(cfg.kafka_bootstrap, "127.0.0.1:9092");
    assert_string_equal(cfg.tenants_file, "/etc/ib/tenants.json");
    assert_string_equal(cfg.listen.text, "0.0.0.0:8081");
    assert_string_equal(cfg.listen.host, "0.0.0.0");
    assert_int_equal(cfg.listen.port, 8081);
    assert_int_equal(cfg.listen.addr.ss_family, AF_INET);
    assert_string_equal(cfg.group_id, "interview-bridge-results-worker");
    assert_string_equal(cfg.topic_requested, "interviews.requested");
    assert_string_equal(cfg.topic_status, "interviews.status");
    assert_string_equal(cfg.topic_retry, "interviews.callbacks.retry");
    assert_string_equal(cfg.topic_dlq, "interviews.callbacks.dlq");
    assert_string_equal(cfg.topic_status_repartition, "interviews.status.repartition");
    assert_int_equal(cfg.retry_schedule.count, 11);
    assert_int_equal(cfg.retry_schedule.ms[10], 24L * 3600 * 1000);
    assert_int_equal(cfg.retry_max_age_ms, 72L * 3600 * 1000);
    assert_int_equal(cfg.callback_timeout_ms, 15000);
    assert_int_equal(cfg.max_inflight, 64);
    assert_int_equal(cfg.per_host, 8);
    assert_int_equal(cfg.breaker_threshold, 10);
    assert_int_equal(cfg.breaker_cooldown_ms, 30000);
    assert_int_equal(cfg.max_pending, 2000);
    assert_int_equal(cfg.shutdown_grace_ms, 10000);
    assert_int_equal(cfg.allow_insecure_callbacks, 0);
    assert_int_equal(cfg.log_level, IB_LOG_INFO);
    assert_string_equal(cfg.callback_ca_file, "");
    assert_string_equal(cfg.callback_allowed_subnets, "");
    assert_int_equal(cfg.allowed_subnets.n, 0);
    rw_config_free(&cfg);
    assert_null(cfg.tenants_file);
    rw_config_free(&cfg);
    rw_config_free(NULL);
}

static void expect_error(const char **env, const char *prefix)
{
    rw_config_t cfg;
    char err[256] = "";
    assert_int_equal(rw_config_load(&cfg, lookup, (void *)env, err, sizeof(err)), IB_ERR);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("error '%s' does not start with %s", err, prefix);
    assert_null(cfg.tenants_file); /* freed */
}

static void test_log_level_words(void **state)
{
    (void)state;
    static const struct {
        const char *word;
        ib_log_level_t level;
    } ok[] = {{"debug", IB_LOG_DEBUG},
              {"info", IB_LOG_INFO},
              {"warn", IB_LOG_WARN},
              {"error", IB_LOG_ERROR}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *env[] = {"TENANTS_FILE", "t", "LOG_LEVEL", ok[i].word, NULL};
        rw_config_t cfg;
        char err[256] = "";
        assert_int_equal(rw_config_load(&cfg, lookup, (void *)env, err, sizeof(err)), IB_OK);
        assert_int_equal(cfg.log_level, ok[i].level);
        rw_config_free(&cfg);
    }
    const char *wrong[] = {"TENANTS_FILE", "t", "LOG_LEVEL", "trace", NULL};
    expect_error(wrong, "LOG_LEVEL: 'trace' is not one of debug, info, warn, error");
}

static void test_listen(void **state)
{
    (void)state;
    rw_config_t cfg;
    char err[256] = "";
    const char *v6[] = {"TENANTS_FILE", "t", "WORKER_LISTEN", "[::1]:8080", NULL};
    assert_int_equal(rw_config_load(&cfg, lookup, (void *)v6, err, sizeof(err)), IB_OK);
    assert_string_equal(cfg.listen.host, "::1");
    assert_int_equal(cfg.listen.port, 8080);
    assert_int_equal(cfg.listen.addr.ss_family, AF_INET6);
    rw_config_free(&cfg);

    static const char *const bad[] = {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
                                      "garbage",   "[::1]",       "::1:8080"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *env[] = {"TENANTS_FILE", "t", "WORKER_LISTEN", bad[i], NULL};
        expect_error(env, "WORKER_LISTEN: ");
    }
}

static void test_errors_name_the_key(void **state)
{
    (void)state;
    const char *none[] = {NULL};
    expect_error(none, "TENANTS_FILE: is required");
    const char *empty[] = {"TENANTS_FILE", "", NULL};
    expect_error(empty, "TENANTS_FILE: must not be empty");
    const char *schedule[] = {"TENANTS_FILE", "t", "RETRY_SCHEDULE", "5s,soon", NULL};
    expect_error(schedule, "RETRY_SCHEDULE: ");
    const char *inflight[] = {"TENANTS_FILE", "t", "WORKER_MAX_INFLIGHT", "0", NULL};
    expect_error(inflight, "WORKER_MAX_INFLIGHT: 0 is outside");
    const char *insecure[] = {"TENANTS_FILE", "t", "ALLOW_INSECURE_CALLBACKS", "maybe", NULL};
    expect_error(insecure, "ALLOW_INSECURE_CALLBACKS: ");
    const char *subnets[] = {"TENANTS_FILE", "t", "CALLBACK_ALLOWED_SUBNETS", "10.0.0.1/8", NULL};
    expect_error(subnets, "CALLBACK_ALLOWED_SUBNETS: '10.0.0.1/8' has host bits set");
}

/* CALLBACK_ALLOWED_SUBNETS is parsed at load, so the worker never starts with a bad list. */
static void test_allowed_subnets(void **state)
{
    (void)state;
    const char *env[] = {"TENANTS_FILE",
                         "t",
                         "CALLBACK_ALLOWED_SUBNETS",
                         "10.77.0.0/30,fd00::/8",
                         "CALLBACK_CA_FILE",
                         "/etc/ib/ca.pem",
                         NULL};
    rw_config_t cfg;
    char err[256] = "";
    assert_int_equal(rw_config_load(&cfg, lookup, (void *)env, err, sizeof(err)), IB_OK);
    assert_int_equal(cfg.allowed_subnets.n, 2);
    assert_null(rw_ip_text_verdict("10.77.0.2", 0, &cfg.allowed_subnets));
    assert_non_null(rw_ip_text_verdict("10.77.0.6", 0, &cfg.allowed_subnets));
    assert_string_equal(cfg.callback_ca_file, "/etc/ib/ca.pem");
    rw_config_free(&cfg);
    assert_null(cfg.allowed_subnets.v);
}

static int same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* A variable both services read is one descriptor: same type, default, bounds, words and help
 * in both tables (only the field's offset may differ). */
static void test_shared_rows_identical(void **state)
{
    (void)state;
    static const char *const shared[] = {"KAFKA_BOOTSTRAP_SERVERS",
                                         "TENANTS_FILE",
                                         "TOPIC_REQUESTED",
                                         "TOPIC_STATUS",
                                         "TOPIC_STATE",
                                         "ALLOW_INSECURE_CALLBACKS",
                                         "LOG_LEVEL"};
    size_t in_both = 0;
    for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
        const ib_conf_desc_t *w = ib_config_find(rw_config_table, rw_config_table_len, shared[i]);
        const ib_conf_desc_t *g = ib_config_find(gw_config_table, gw_config_table_len, shared[i]);
        if (w == NULL || g == NULL)
            fail_msg("%s is missing from a table", shared[i]);
    }
    for (size_t i = 0; i < rw_config_table_len; i++) {
        const ib_conf_desc_t *w = &rw_config_table[i];
        const ib_conf_desc_t *g = ib_config_find(gw_config_table, gw_config_table_len, w->name);
        if (g == NULL)
            continue;
        in_both++;
        assert_int_equal(w->type, g->type);
        assert_true(same_text(w->def, g->def));
        assert_int_equal(w->min, g->min);
        assert_int_equal(w->max, g->max);
        assert_int_equal(w->secret, g->secret);
        assert_true(same_text(w->help, g->help));
        assert_ptr_equal(w->enums, g->enums);
    }
    assert_int_equal(in_both, sizeof(shared) / sizeof(shared[0]));
    const ib_conf_desc_t *level = ib_config_find(rw_config_table, rw_config_table_len, "LOG_LEVEL");
    assert_int_equal(level->type, IB_CONF_ENUM);
    assert_ptr_equal(level->enums, ib_conf_log_levels);
}

/* Every row has a name, help and, for an enum, its words; no name twice. */
static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < rw_config_table_len; i++) {
        const ib_conf_desc_t *d = &rw_config_table[i];
        assert_non_null(d->name);
        assert_non_null(d->help);
        assert_int_equal(d->secret, 0);
        assert_true(d->type != IB_CONF_ENUM || d->enums != NULL);
        assert_ptr_equal(ib_config_find(rw_config_table, rw_config_table_len, d->name), d);
    }
    assert_int_equal(ib_config_find(rw_config_table, rw_config_table_len, "WORKER_LISTEN")->type,
                     IB_CONF_LISTEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),        cmocka_unit_test(test_log_level_words),
        cmocka_unit_test(test_listen),          cmocka_unit_test(test_errors_name_the_key),
        cmocka_unit_test(test_allowed_subnets), cmocka_unit_test(test_shared_rows_identical),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
