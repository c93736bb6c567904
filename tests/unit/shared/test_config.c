/* Unit tests of shared/src/config.c: the descriptor table loader. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ib/config.h"
#include "ib/log.h"

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

/* A second table for the enum, listen-address and string-length types. */
typedef enum { COLOR_RED = 3, COLOR_GREEN = 5, COLOR_BLUE = 9 } color_t;

static const ib_conf_enum_t colors[] = {
    {"red", COLOR_RED}, {"green", COLOR_GREEN}, {"blue", COLOR_BLUE}, {NULL, 0}};

typedef struct {
    color_t color;
    ib_log_level_t level;
    ib_listen_t listen;
    char *path;
} cfg2_t;

static const ib_conf_desc_t table2[] = {
    {.name = "COLOR",
     .type = IB_CONF_ENUM,
     .def = "green",
     .offset = offsetof(cfg2_t, color),
     .help = "",
     .enums = colors},
    IB_CONF_ROW_LOG_LEVEL(offsetof(cfg2_t, level)),
    {.name = "LISTEN",
     .type = IB_CONF_LISTEN,
     .def = "0.0.0.0:8080",
     .offset = offsetof(cfg2_t, listen),
     .help = ""},
    {.name = "PATH",
     .type = IB_CONF_STRING,
     .def = "p",
     .min = 1,
     .offset = offsetof(cfg2_t, path)},
};

static ib_rc_t load2(const char *const *env, cfg2_t *c, char *err, size_t n)
{
    memset(c, 0, sizeof(*c));
    return ib_config_load_from(table2, IB_ARRAY_LEN(table2), c, fake_get, (void *)(uintptr_t)env,
                               err, n);
}

static void expect_error2(const char *const *env, const char *want)
{
    cfg2_t c;
    char err[256] = "";
    assert_int_equal(load2(env, &c, err, sizeof(err)), IB_ERR);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("error '%s' does not start with '%s'", err, want);
    assert_null(c.path);
}

static void test_enum_words(void **state)
{
    (void)state;
    static const struct {
        const char *word;
        color_t value;
    } ok[] = {{"red", COLOR_RED}, {"green", COLOR_GREEN}, {"blue", COLOR_BLUE}};
    cfg2_t c;
    char err[256] = "";
    const char *none[] = {NULL};

    assert_int_equal(load2(none, &c, err, sizeof(err)), IB_OK);
    assert_int_equal(c.color, COLOR_GREEN); /* the default word's value */
    assert_int_equal(c.level, IB_LOG_INFO);
    ib_config_free(table2, IB_ARRAY_LEN(table2), &c);
    for (size_t i = 0; i < IB_ARRAY_LEN(ok); i++) {
        const char *env[] = {"COLOR", ok[i].word, NULL};
        assert_int_equal(load2(env, &c, err, sizeof(err)), IB_OK);
        assert_int_equal(c.color, ok[i].value);
        assert_string_equal(ib_conf_enum_word(&table2[0], (int)c.color), ok[i].word);
        ib_config_free(table2, IB_ARRAY_LEN(table2), &c);
    }
    const char *wrong[] = {"COLOR", "purple", NULL};
    expect_error2(wrong, "COLOR: 'purple' is not one of red, green, blue");
    const char *upper[] = {"COLOR", "RED", NULL}; /* words match exactly */
    expect_error2(upper, "COLOR: 'RED' is not one of");
    const char *empty[] = {"COLOR", "", NULL};
    expect_error2(empty, "COLOR: '' is not one of");
    const char *prefix[] = {"COLOR", "re", NULL};
    expect_error2(prefix, "COLOR: 're' is not one of");
    assert_null(ib_conf_enum_word(&table2[0], 4));
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
    cfg2_t c;
    char err[256] = "";
    for (size_t i = 0; i < IB_ARRAY_LEN(ok); i++) {
        const char *env[] = {"LOG_LEVEL", ok[i].word, NULL};
        assert_int_equal(load2(env, &c, err, sizeof(err)), IB_OK);
        assert_int_equal(c.level, ok[i].level);
        ib_config_free(table2, IB_ARRAY_LEN(table2), &c);
    }
    const char *wrong[] = {"LOG_LEVEL", "verbose", NULL};
    expect_error2(wrong, "LOG_LEVEL: 'verbose' is not one of debug, info, warn, error");
    const char *warning[] = {"LOG_LEVEL", "warning", NULL};
    expect_error2(warning, "LOG_LEVEL: 'warning' is not one of");
}

static void test_listen_loaded_once(void **state)
{
    (void)state;
    cfg2_t c;
    char err[256] = "";
    char text[INET6_ADDRSTRLEN];

    const char *v4[] = {"LISTEN", "127.0.0.1:18080", NULL};
    assert_int_equal(load2(v4, &c, err, sizeof(err)), IB_OK);
    assert_string_equal(c.listen.text, "127.0.0.1:18080");
    assert_string_equal(c.listen.host, "127.0.0.1");
    assert_int_equal(c.listen.port, 18080);
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)(const void *)&c.listen.addr;
    assert_int_equal(a4->sin_family, AF_INET);
    assert_int_equal(ntohs(a4->sin_port), 18080);
    assert_int_equal(c.listen.addr_len, sizeof(struct sockaddr_in));
    assert_non_null(inet_ntop(AF_INET, &a4->sin_addr, text, sizeof(text)));
    assert_string_equal(text, "127.0.0.1");
    ib_config_free(table2, IB_ARRAY_LEN(table2), &c);

    const char *v6[] = {"LISTEN", "[::1]:8080", NULL};
    assert_int_equal(load2(v6, &c, err, sizeof(err)), IB_OK);
    assert_string_equal(c.listen.text, "[::1]:8080");
    assert_string_equal(c.listen.host, "::1");
    assert_int_equal(c.listen.port, 8080);
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)(const void *)&c.listen.addr;
    assert_int_equal(a6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(a6->sin6_port), 8080);
    assert_int_equal(c.listen.addr_len, sizeof(struct sockaddr_in6));
    assert_true(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));
    ib_config_free(table2, IB_ARRAY_LEN(table2), &c);
}

static void test_listen_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "127.0.0.1",                                              /* missing port */
        "127.0.0.1:",                                             /* empty port */
        "[::1]",                                                  /* missing port */
        "[::1]8080",                                              /* no colon after the bracket */
        "127.0.0.1:0",                                            /* port 0 */
        "[::]:0",                                                 /* port 0 */
        "127.0.0.1:65536",                                        /* port too large */
        "127.0.0.1:99999999999999999",                            /* overflow */
        "127.0.0.1:-1",                                           /* sign */
        "127.0.0.1:+80",                                          /* sign */
        "127.0.0.1: 80",                                          /* space */
        "127.0.0.1:80x",                                          /* junk after the port */
        ":8080",                                                  /* no host */
        "[]:8080",                                                /* no host */
        "garbage",                                                /* no colon at all */
        "not an address:80",                                      /* not an IP address */
        "localhost:8080",                                         /* host names are not resolved */
        "256.0.0.1:80",                                           /* not an IPv4 address */
        "1.2.3:80",                                               /* not an IPv4 address */
        "::1:8080",                                               /* IPv6 without brackets */
        "[127.0.0.1]:80",                                         /* IPv4 in brackets */
        "[::1:8080",                                              /* unclosed bracket */
        "[fe80::1%eth0]:80",                                      /* zone ids are not accepted */
        "[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]:80", /* too long */
        "",
    };
    for (size_t i = 0; i < IB_ARRAY_LEN(bad); i++) {
        const char *env[] = {"LISTEN", bad[i], NULL};
        cfg2_t c;
        char err[256] = "";
        if (load2(env, &c, err, sizeof(err)) != IB_ERR)
            fail_msg("'%s' was accepted", bad[i]);
        if (strncmp(err, "LISTEN: ", 8) != 0)
            fail_msg("'%s': error '%s' does not name LISTEN", bad[i], err);
        assert_null(c.path);
    }
    /* The reason says what is wrong. */
    const char *zero[] = {"LISTEN", "0.0.0.0:0", NULL};
    expect_error2(zero, "LISTEN: '0.0.0.0:0': port 0 is outside [1, 65535]");
    const char *unbracketed[] = {"LISTEN", "::1:80", NULL};
    expect_error2(unbracketed, "LISTEN: '::1:80': an IPv6 address goes in brackets");
    const char *name[] = {"LISTEN", "localhost:80", NULL};
    expect_error2(name, "LISTEN: 'localhost:80': 'localhost' is not an IPv4 address");
}

static void test_listen_addr_parse_bounds(void **state)
{
    (void)state;
    ib_listen_t l;
    char why[128];
    assert_int_equal(ib_listen_addr_parse("0.0.0.0:1", &l, why, sizeof(why)), IB_OK);
    assert_int_equal(l.port, 1);
    assert_int_equal(ib_listen_addr_parse("[::]:65535", &l, why, sizeof(why)), IB_OK);
    assert_int_equal(l.port, 65535);
    assert_string_equal(l.host, "::");
    assert_int_equal(ib_listen_addr_parse("[::ffff:192.0.2.1]:80", &l, why, sizeof(why)), IB_OK);
    assert_string_equal(l.host, "::ffff:192.0.2.1");
}

static void test_string_min_length(void **state)
{
    (void)state;
    const char *empty[] = {"PATH", "", NULL};
    expect_error2(empty, "PATH: must not be empty");
    cfg2_t c;
    char err[256] = "";
    const char *one[] = {"PATH", "x", NULL};
    assert_int_equal(load2(one, &c, err, sizeof(err)), IB_OK);
    assert_string_equal(c.path, "x");
    ib_config_free(table2, IB_ARRAY_LEN(table2), &c);
    assert_null(c.path);
}

/* get == NULL reads the process environment. */
static void test_null_get_reads_getenv(void **state)
{
    (void)state;
    char err[256];
    cfg_t c;
    setenv("WORKERS", "17", 1);
    setenv("SECRET", "s", 1);
    memset(&c, 0, sizeof(c));
    ib_rc_t rc = ib_config_load_from(table, IB_ARRAY_LEN(table), &c, NULL, NULL, err, sizeof(err));
    if (rc != IB_OK)
        fail_msg("%s", err);
    unsetenv("WORKERS");
    unsetenv("SECRET");
    assert_int_equal(c.workers, 17);
    assert_string_equal(c.bootstrap, "127.0.0.1:9092");
    ib_config_free(table, IB_ARRAY_LEN(table), &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_then_env),
        cmocka_unit_test(test_errors_name_the_key),
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_listen_parse),
        cmocka_unit_test(test_enum_words),
        cmocka_unit_test(test_log_level_words),
        cmocka_unit_test(test_listen_loaded_once),
        cmocka_unit_test(test_listen_refused),
        cmocka_unit_test(test_listen_addr_parse_bounds),
        cmocka_unit_test(test_string_min_length),
        cmocka_unit_test(test_null_get_reads_getenv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
