/* Unit tests of api-gateway/src/config.c: the descriptor table and its checks. */
#include <setjmp.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

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
    gw_config_t cfg;
    char err[256] = "";
    assert_int_equal(gw_config_load(&cfg, lookup, (void *)env, err, sizeof(err)), IB_OK);
    assert_string_equal(cfg.kafka_bootstrap_servers, "127.0.0.1:9092");
    assert_string_equal(cfg.tenants_file, "/etc/ib/tenants.json");
    assert_string_equal(cfg.gateway_listen.text, "0.0.0.0:8080");
    assert_string_equal(cfg.gateway_listen.host, "0.0.0.0");
    assert_int_equal(cfg.gateway_listen.port, 8080);
    assert_string_equal(cfg.topic_requested, "interviews.requested");
    assert_string_equal(cfg.topic_catalog, "interviews.catalog");
    assert_string_equal(cfg.topic_status, "interviews.status");
    assert_int_equal(cfg.produce_timeout_ms, 10000);
    assert_string_equal(cfg.interview_id_secret, "");
    assert_int_equal(cfg.allow_insecure_callbacks, 0);
    assert_int_equal(cfg.max_connections, 1000);
    assert_int_equal(cfg.idle_timeout_ms, 30000);
    assert_int_equal(cfg.view_max_interviews, 2000000);
    assert_int_equal(cfg.log_level_value, IB_LOG_INFO);
    /* Operations on their own port; no SO_REUSEPORT; fairness on by default. */
    assert_string_equal(cfg.ops_listen.text, "0.0.0.0:8082");
    assert_int_equal(cfg.ops_listen.port, 8082);
    assert_int_equal(cfg.reuse_port, 0);
    assert_int_equal(cfg.max_connections_per_ip, 64);
    assert_int_equal(cfg.create_rate, 50);
    assert_int_equal(cfg.create_burst, 500);
    gw_config_free(&cfg);
    gw_config_free(&cfg);
}

static void test_overrides(void **state)
{
    (void)state;
    const char *env[] = {"TENANTS_FILE",
                         "t.json",
                         "GATEWAY_PRODUCE_TIMEOUT",
                         "3s",
                         "ALLOW_INSECURE_CALLBACKS",
                         "1",
                         "LOG_LEVEL",
                         "debug",
                         "GATEWAY_LISTEN",
                         "[::1]:18080",
                         "INTERVIEW_ID_SECRET",
                         "k",
                         NULL};
    gw_config_t cfg;
    char err[256] = "";
    assert_int_equal(gw_config_load(&cfg, lookup, (void *)env, err, sizeof(err)), IB_OK);
    assert_int_equal(cfg.produce_timeout_ms, 3000);
    assert_int_equal(cfg.allow_insecure_callbacks, 1);
    assert_int_equal(cfg.log_level_value, IB_LOG_DEBUG);
    assert_string_equal(cfg.interview_id_secret, "k");
    gw_config_free(&cfg);
}

static void expect_error(const char **env, const char *prefix)
{
    gw_config_t cfg;
    char err[256] = "";
    assert_int_equal(gw_config_load(&cfg, lookup, (void *)env, err, sizeof(err)), IB_ERR);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("error '%s' does not name %s", err, prefix);
    assert_null(cfg.tenants_file); /* freed */
}

static void test_errors_name_the_key(void **state)
{
    (void)state;
    const char *none[] = {NULL};
    expect_error(none, "TENANTS_FILE:");
    const char *empty[] = {"TENANTS_FILE", "", NULL};
    expect_error(empty, "TENANTS_FILE:");
    const char *level[] = {"TENANTS_FILE", "t", "LOG_LEVEL", "verbose", NULL};
    expect_error(level, "LOG_LEVEL:");
    const char *timeout[] = {"TENANTS_FILE", "t", "GATEWAY_PRODUCE_TIMEOUT", "soon", NULL};
    expect_error(timeout, "GATEWAY_PRODUCE_TIMEOUT:");
    const char *too_long[] = {"TENANTS_FILE", "t", "GATEWAY_PRODUCE_TIMEOUT", "1h", NULL};
    expect_error(too_long, "GATEWAY_PRODUCE_TIMEOUT:");
    const char *listen[] = {"TENANTS_FILE", "t", "GATEWAY_LISTEN", "8080", NULL};
    expect_error(listen, "GATEWAY_LISTEN:");
    const char *insecure[] = {"TENANTS_FILE", "t", "ALLOW_INSECURE_CALLBACKS", "maybe", NULL};
    expect_error(insecure, "ALLOW_INSECURE_CALLBACKS:");
}

static void test_table(void **state)
{
    (void)state;
    const char *names[] = {"KAFKA_BOOTSTRAP_SERVERS",
                           "TENANTS_FILE",
                           "GATEWAY_LISTEN",
                           "GATEWAY_OPS_LISTEN",
                           "GATEWAY_REUSE_PORT",
                           "GATEWAY_BASE_PATH",
                           "TOPIC_REQUESTED",
                           "TOPIC_CATALOG",
                           "TOPIC_STATUS",
                           "TOPIC_STATE",
                           "GATEWAY_PRODUCE_TIMEOUT",
                           "INTERVIEW_ID_SECRET",
                           "ALLOW_INSECURE_CALLBACKS",
                           "GATEWAY_MAX_CONNECTIONS",
                           "GATEWAY_MAX_CONNECTIONS_PER_IP",
                           "GATEWAY_CREATE_RATE",
                           "GATEWAY_CREATE_BURST",
                           "GATEWAY_IDLE_TIMEOUT",
                           "GATEWAY_VIEW_MAX_INTERVIEWS",
                           "LOG_LEVEL"};
    assert_int_equal(gw_config_table_len, sizeof(names) / sizeof(names[0]));
    for (size_t i = 0; i < gw_config_table_len; i++) {
        assert_string_equal(gw_config_table[i].name, names[i]);
        assert_non_null(gw_config_table[i].help);
        assert_int_equal(gw_config_table[i].secret, strcmp(names[i], "INTERVIEW_ID_SECRET") == 0);
    }
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
        gw_config_t cfg;
        char err[256] = "";
        assert_int_equal(gw_config_load(&cfg, lookup, (void *)env, err, sizeof(err)), IB_OK);
        assert_int_equal(cfg.log_level_value, ok[i].level);
        gw_config_free(&cfg);
    }
    const char *wrong[] = {"TENANTS_FILE", "t", "LOG_LEVEL", "Info", NULL};
    expect_error(wrong, "LOG_LEVEL: 'Info' is not one of debug, info, warn, error");
}

static void test_listen(void **state)
{
    (void)state;
    gw_config_t cfg;
    char err[256] = "";
    const char *v4[] = {"TENANTS_FILE", "t", "GATEWAY_LISTEN", "127.0.0.1:18080", NULL};
    assert_int_equal(gw_config_load(&cfg, lookup, (void *)v4, err, sizeof(err)), IB_OK);
    assert_string_equal(cfg.gateway_listen.host, "127.0.0.1");
    assert_int_equal(cfg.gateway_listen.port, 18080);
    assert_int_equal(cfg.gateway_listen.addr.ss_family, AF_INET);
    gw_config_free(&cfg);
    const char *v6[] = {"TENANTS_FILE", "t", "GATEWAY_LISTEN", "[::1]:8080", NULL};
    assert_int_equal(gw_config_load(&cfg, lookup, (void *)v6, err, sizeof(err)), IB_OK);
    assert_string_equal(cfg.gateway_listen.host, "::1");
    assert_int_equal(cfg.gateway_listen.port, 8080);
    assert_int_equal(cfg.gateway_listen.addr.ss_family, AF_INET6);
    gw_config_free(&cfg);

    static const char *const bad[] = {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
                                      "garbage",   "[::1]",       "::1:8080"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *env[] = {"TENANTS_FILE", "t", "GATEWAY_LISTEN", bad[i], NULL};
        expect_error(env, "GATEWAY_LISTEN: ");
    }

    /* The operations listener never shares the public port. */
    const char *same[] = {
        "TENANTS_FILE", "t", "GATEWAY_LISTEN", "127.0.0.1:9000", "GATEWAY_OPS_LISTEN",
        "0.0.0.0:9000", NULL};
    expect_error(same, "GATEWAY_OPS_LISTEN: ");
    const char *ops[] = {"TENANTS_FILE",
                         "t",
                         "GATEWAY_OPS_LISTEN",
                         "[::1]:9100",
                         "GATEWAY_REUSE_PORT",
                         "1",
                         "GATEWAY_CREATE_RATE",
                         "0",
                         "GATEWAY_MAX_CONNECTIONS_PER_IP",
                         "2",
                         NULL};
    assert_int_equal(gw_config_load(&cfg, lookup, (void *)ops, err, sizeof(err)), IB_OK);
    assert_int_equal(cfg.ops_listen.port, 9100);
    assert_int_equal(cfg.reuse_port, 1);
    assert_int_equal(cfg.create_rate, 0);
    assert_int_equal(cfg.max_connections_per_ip, 2);
    gw_config_free(&cfg);
    const char *burst0[] = {"TENANTS_FILE", "t", "GATEWAY_CREATE_BURST", "0", NULL};
    expect_error(burst0, "GATEWAY_CREATE_BURST: ");
}

static void test_base_path(void **state)
{
    (void)state;
    static const char *const ok[][2] = {{"", ""},
                                        {"/", ""},
                                        {"/workable", "/workable"},
                                        {"/workable/", "/workable"},
                                        {"/api/v1", "/api/v1"}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *env[] = {"TENANTS_FILE", "t", "GATEWAY_BASE_PATH", ok[i][0], NULL};
        gw_config_t cfg;
        char err[256] = "";
        if (gw_config_load(&cfg, lookup, (void *)env, err, sizeof(err)) != IB_OK)
            fail_msg("%s: %s", ok[i][0], err);
        assert_string_equal(cfg.base_path, ok[i][1]);
        gw_config_free(&cfg);
    }
    static const char *const bad[] = {"workable", "/a//b", "/a b", "/a?x", "/a#x", "/a%2f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *env[] = {"TENANTS_FILE", "t", "GATEWAY_BASE_PATH", bad[i], NULL};
        expect_error(env, "GATEWAY_BASE_PATH: ");
    }
}

/* INTERVIEW_ID_SECRET is required unless ALLOW_INSECURE_CALLBACKS=1. */
static void test_secret_required(void **state)
{
    (void)state;
    static const struct {
        const char *secret; /* NULL: unset */
        const char *insecure;
        ib_rc_t want;
    } rows[] = {
        {NULL, NULL, IB_ERR}, {"", NULL, IB_ERR}, {"", "0", IB_ERR},
        {"k", NULL, IB_OK},   {NULL, "1", IB_OK}, {"k", "1", IB_OK},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *env[8] = {"TENANTS_FILE", "t"};
        size_t n = 2;
        if (rows[i].secret != NULL) {
            env[n++] = "INTERVIEW_ID_SECRET";
            env[n++] = rows[i].secret;
        }
        if (rows[i].insecure != NULL) {
            env[n++] = "ALLOW_INSECURE_CALLBACKS";
            env[n++] = rows[i].insecure;
        }
        env[n] = NULL;
        gw_config_t cfg;
        char err[256] = "";
        assert_int_equal(gw_config_load(&cfg, lookup, (void *)env, err, sizeof(err)), IB_OK);
        ib_rc_t rc = gw_config_check(&cfg, err, sizeof(err));
        if (rc != rows[i].want)
            fail_msg("row %zu: check returned %d", i, (int)rc);
        if (rc != IB_OK)
            assert_string_equal(err, "INTERVIEW_ID_SECRET: is required (or "
                                     "ALLOW_INSECURE_CALLBACKS=1 for development)");
        gw_config_free(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_errors_name_the_key),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_log_level_words),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_base_path),
        cmocka_unit_test(test_secret_required),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
