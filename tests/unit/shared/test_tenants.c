/* Unit tests of shared/src/tenants.c: the tenants file (docs/DESIGN.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ib/tenants.h"

/* SHA-256 hex of "token-a1", "token-a2", "token-b". */
static char dig_a1[65], dig_a2[65], dig_b[65];

static int setup(void **state)
{
    (void)state;
    uint8_t d[IB_SHA256_LEN];
    ib_sha256("token-a1", 8, d);
    ib_hex(d, sizeof(d), dig_a1);
    ib_sha256("token-a2", 8, d);
    ib_hex(d, sizeof(d), dig_a2);
    ib_sha256("token-b", 7, d);
    ib_hex(d, sizeof(d), dig_b);
    return 0;
}

static ib_tenants_t *parse(const char *text, char *err, size_t n)
{
    return ib_tenants_parse(text, strlen(text), NULL, err, n);
}

static char *two_tenants(void)
{
    static char buf[2048];
    snprintf(buf, sizeof(buf),
             "{\"tenants\":["
             "{\"id\":\"groove-tech\",\"api_token_sha256\":[\"%s\",\"%s\"],"
             "\"workable_token\":\"wk-a\",\"callback_hosts\":[\"groove-tech.workable.com\","
             "\"*.Workable.com\"],\"extra\":true},"
             "{\"id\":\"acme\",\"api_token_sha256\":[\"%s\"],\"workable_token\":\"wk-b\","
             "\"callback_hosts\":[\"acme.example\"]}]}",
             dig_a1, dig_a2, dig_b);
    return buf;
}

static void test_design_shape_and_auth(void **state)
{
    (void)state;
    char err[512] = "";
    ib_tenants_t *ts = parse(two_tenants(), err, sizeof(err));
    assert_non_null(ts);
    assert_int_equal(ts->count, 2);
    const ib_tenant_t *a = ib_tenants_authenticate(ts, "token-a1", 8);
    const ib_tenant_t *a2 = ib_tenants_authenticate(ts, "token-a2", 8);
    const ib_tenant_t *b = ib_tenants_authenticate(ts, "token-b", 7);
    assert_non_null(a);
    assert_ptr_equal(a, a2); /* two tokens for rotation */
    assert_string_equal(a->id, "groove-tech");
    assert_string_equal(a->workable_token, "wk-a");
    assert_non_null(b);
    assert_string_equal(b->id, "acme");
    assert_null(ib_tenants_authenticate(ts, "token-a", 7));
    assert_null(ib_tenants_authenticate(ts, "token-a1 ", 9));
    assert_null(ib_tenants_authenticate(ts, "", 0));
    assert_ptr_equal(ib_tenants_find(ts, "acme"), b);
    assert_null(ib_tenants_find(ts, "nobody"));
    ib_tenants_free(ts);
}

static void test_callback_hosts(void **state)
{
    (void)state;
    char err[512];
    ib_tenants_t *ts = parse(two_tenants(), err, sizeof(err));
    assert_non_null(ts);
    const ib_tenant_t *a = ib_tenants_find(ts, "groove-tech");
    assert_true(ib_tenant_host_allowed(a, "groove-tech.workable.com"));
    assert_true(ib_tenant_host_allowed(a, "GROOVE-TECH.workable.com"));
    assert_true(ib_tenant_host_allowed(a, "other.workable.com"));
    assert_false(ib_tenant_host_allowed(a, "workable.com")); /* wildcard excludes the apex */
    assert_false(ib_tenant_host_allowed(a, "evilworkable.com"));
    assert_false(ib_tenant_host_allowed(a, "workable.com.evil.example"));
    assert_false(ib_tenant_host_allowed(a, ""));
    const ib_tenant_t *b = ib_tenants_find(ts, "acme");
    assert_false(ib_tenant_host_allowed(b, "x.acme.example"));
    assert_true(ib_tenant_host_allowed(b, "acme.example"));
    ib_tenants_free(ts);
}

typedef struct {
    const char *json;
    const char *error_prefix;
} bad_case_t;

static void test_invalid_files_name_the_key(void **state)
{
    (void)state;
    char ok_digest[200];
    snprintf(ok_digest, sizeof(ok_digest), "[\"%s\"]", dig_a1);
    char cases[10][600];
    const char *prefixes[10];
    int n = 0;
#define CASE(prefix, ...)                                                                          \
    do {                                                                                           \
        snprintf(cases[n], sizeof(cases[n]), __VA_ARGS__);                                         \
        prefixes[n++] = prefix;                                                                    \
    } while (0)
    CASE("not valid JSON", "{\"tenants\":[}");
    CASE("tenants: must be a non-empty array", "{\"tenants\":[]}");
    CASE("tenants[0].id",
         "{\"tenants\":[{\"id\":\"a b\",\"api_token_sha256\":%s,"
         "\"workable_token\":\"w\",\"callback_hosts\":[\"h\"]}]}",
         ok_digest);
    CASE("tenants[0].api_token_sha256[0]", "{\"tenants\":[{\"id\":\"a\",\"api_token_sha256\":"
                                           "[\"abc\"],\"workable_token\":\"w\","
                                           "\"callback_hosts\":[\"h\"]}]}");
    CASE("tenants[0].workable_token",
         "{\"tenants\":[{\"id\":\"a\",\"api_token_sha256\":%s,"
         "\"callback_hosts\":[\"h\"]}]}",
         ok_digest);
    CASE("tenants[0].callback_hosts",
         "{\"tenants\":[{\"id\":\"a\",\"api_token_sha256\":%s,"
         "\"workable_token\":\"w\",\"callback_hosts\":[]}]}",
         ok_digest);
    CASE("tenants[0].callback_hosts[0]",
         "{\"tenants\":[{\"id\":\"a\",\"api_token_sha256\":%s,"
         "\"workable_token\":\"w\",\"callback_hosts\":"
         "[\"h/evil\"]}]}",
         ok_digest);
    CASE("tenants[1].id: duplicate",
         "{\"tenants\":[{\"id\":\"a\",\"api_token_sha256\":%s,\"workable_token\":\"w\","
         "\"callback_hosts\":[\"h\"]},{\"id\":\"a\",\"api_token_sha256\":[\"%s\"],"
         "\"workable_token\":\"w\",\"callback_hosts\":[\"h\"]}]}",
         ok_digest, dig_b);
    CASE("tenants[1].api_token_sha256[0]: digest is used twice",
         "{\"tenants\":[{\"id\":\"a\",\"api_token_sha256\":%s,\"workable_token\":\"w\","
         "\"callback_hosts\":[\"h\"]},{\"id\":\"b\",\"api_token_sha256\":%s,"
         "\"workable_token\":\"w\",\"callback_hosts\":[\"h\"]}]}",
         ok_digest, ok_digest);
    CASE("tenants[0].workable_token_file",
         "{\"tenants\":[{\"id\":\"a\",\"api_token_sha256\":%s,"
         "\"workable_token_file\":\"/nonexistent/x\","
         "\"callback_hosts\":[\"h\"]}]}",
         ok_digest);
#undef CASE
    for (int i = 0; i < n; i++) {
        char err[512] = "";
        ib_tenants_t *ts = parse(cases[i], err, sizeof(err));
        if (ts != NULL)
            fail_msg("case %d accepted", i);
        if (strncmp(err, prefixes[i], strlen(prefixes[i])) != 0)
            fail_msg("case %d: error '%s' does not start with '%s'", i, err, prefixes[i]);
        assert_null(strstr(err, "wk-")); /* never a secret in an error */
    }
}

/* "callback_ports": optional, ports besides 443 a callback_url may name. */
static void test_callback_ports(void **state)
{
    (void)state;
    char text[600], err[512] = "";
    snprintf(text, sizeof(text),
             "{\"tenants\":[{\"id\":\"a\",\"api_token_sha256\":[\"%s\"],"
             "\"workable_token\":\"w\",\"callback_hosts\":[\"h\"],"
             "\"callback_ports\":[8443,65535]},{\"id\":\"b\",\"api_token_sha256\":[\"%s\"],"
             "\"workable_token\":\"w\",\"callback_hosts\":[\"h\"]}]}",
             dig_a1, dig_b);
    ib_tenants_t *ts = parse(text, err, sizeof(err));
    if (ts == NULL)
        fail_msg("%s", err);
    const ib_tenant_t *a = ib_tenants_find(ts, "a");
    const ib_tenant_t *b = ib_tenants_find(ts, "b");
    assert_true(ib_tenant_port_allowed(a, 443));
    assert_true(ib_tenant_port_allowed(a, 8443));
    assert_true(ib_tenant_port_allowed(a, 65535));
    assert_false(ib_tenant_port_allowed(a, 8080));
    assert_true(ib_tenant_port_allowed(b, 443));
    assert_false(ib_tenant_port_allowed(b, 8443));
    ib_tenants_free(ts);

    const char *bad[] = {"[]", "[0]", "[65536]", "[\"8443\"]", "[443.5]", "8443"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text),
                 "{\"tenants\":[{\"id\":\"a\",\"api_token_sha256\":[\"%s\"],"
                 "\"workable_token\":\"w\",\"callback_hosts\":[\"h\"],"
                 "\"callback_ports\":%s}]}",
                 dig_a1, bad[i]);
        ts = parse(text, err, sizeof(err));
        if (ts != NULL)
            fail_msg("callback_ports %s accepted", bad[i]);
        if (strstr(err, "tenants[0].callback_ports") == NULL)
            fail_msg("callback_ports %s: error '%s'", bad[i], err);
    }
}

static void test_token_file_and_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/ib-tenants-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[300], tok[300];
    snprintf(tok, sizeof(tok), "%s/workable.token", dir);
    FILE *f = fopen(tok, "w");
    assert_non_null(f);
    fputs("secret-from-file\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/tenants.json", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"tenants\":[{\"id\":\"a\",\"api_token_sha256\":[\"%s\"],"
            "\"workable_token_file\":\"workable.token\",\"callback_hosts\":[\"h.example\"]}]}",
            dig_a1);
    fclose(f);
    char err[512] = "";
    ib_tenants_t *ts = ib_tenants_load(path, err, sizeof(err));
    if (ts == NULL)
        fail_msg("%s", err);
    assert_string_equal(ts->tenants[0].workable_token, "secret-from-file");
    ib_tenants_free(ts);
    ts = ib_tenants_load("/nonexistent/tenants.json", err, sizeof(err));
    assert_null(ts);
    assert_int_equal(strncmp(err, "TENANTS_FILE: ", 14), 0);
    unlink(tok);
    unlink(path);
    rmdir(dir);
}

/* create_rate / create_burst: optional integers; -1 when absent. */
static void test_create_quota_keys(void **state)
{
    (void)state;
    char text[1024];
    char err[512] = "";
    static const char fmt[] =
        "{\"tenants\":[{\"id\":\"a\",\"api_token_sha256\":[\"%s\"],\"workable_token\":\"w\","
        "\"callback_hosts\":[\"h\"]%s},{\"id\":\"b\",\"api_token_sha256\":[\"%s\"],"
        "\"workable_token\":\"w\",\"callback_hosts\":[\"h\"]}]}";
    snprintf(text, sizeof(text), fmt, dig_a1, ",\"create_rate\":5,\"create_burst\":20", dig_b);
    ib_tenants_t *ts = parse(text, err, sizeof(err));
    assert_non_null(ts);
    assert_int_equal(ts->tenants[0].create_rate, 5);
    assert_int_equal(ts->tenants[0].create_burst, 20);
    assert_int_equal(ts->tenants[1].create_rate, -1);
    assert_int_equal(ts->tenants[1].create_burst, -1);
    ib_tenants_free(ts);
    snprintf(text, sizeof(text), fmt, dig_a1, ",\"create_rate\":0", dig_b);
    ts = parse(text, err, sizeof(err));
    assert_non_null(ts);
    assert_int_equal(ts->tenants[0].create_rate, 0); /* no quota for this tenant */
    ib_tenants_free(ts);

    static const struct {
        const char *extra;
        const char *prefix;
    } bad[] = {
        {",\"create_rate\":-1", "tenants[0].create_rate: "},
        {",\"create_rate\":1.5", "tenants[0].create_rate: "},
        {",\"create_rate\":\"5\"", "tenants[0].create_rate: "},
        {",\"create_burst\":0", "tenants[0].create_burst: "},
        {",\"create_burst\":1000001", "tenants[0].create_burst: "},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), fmt, dig_a1, bad[i].extra, dig_b);
        ts = parse(text, err, sizeof(err));
        if (ts != NULL)
            fail_msg("%s accepted", bad[i].extra);
        if (strncmp(err, bad[i].prefix, strlen(bad[i].prefix)) != 0)
            fail_msg("%s: error '%s'", bad[i].extra, err);
    }
}

/* A token whose digest differs from a configured one in a single byte (the first, a middle or
 * the last) is refused, for every digest of every tenant: the comparison covers all 32 bytes.
 * The configured digests are SHA-256 of the presented tokens with that one byte flipped. */
static void test_one_byte_off_digest_refused(void **state)
{
    (void)state;
    static const char *const tokens[2][2] = {{"token-a1", "token-a2"}, {"token-b1", "token-b2"}};
    static const size_t positions[] = {0, IB_SHA256_LEN / 2, IB_SHA256_LEN - 1};
    for (size_t pi = 0; pi <= IB_ARRAY_LEN(positions); pi++) {
        /* pi == IB_ARRAY_LEN(positions): unchanged digests, every token accepted (control). */
        char hex[2][2][2 * IB_SHA256_LEN + 1];
        for (size_t t = 0; t < 2; t++) {
            for (size_t k = 0; k < 2; k++) {
                uint8_t d[IB_SHA256_LEN];
                ib_sha256(tokens[t][k], strlen(tokens[t][k]), d);
                if (pi < IB_ARRAY_LEN(positions))
                    d[positions[pi]] ^= 0x01;
                ib_hex(d, sizeof(d), hex[t][k]);
            }
        }
        char buf[1024];
        char err[512] = "";
        snprintf(buf, sizeof(buf),
                 "{\"tenants\":["
                 "{\"id\":\"a\",\"api_token_sha256\":[\"%s\",\"%s\"],\"workable_token\":\"wk-a\","
                 "\"callback_hosts\":[\"a.example\"]},"
                 "{\"id\":\"b\",\"api_token_sha256\":[\"%s\",\"%s\"],\"workable_token\":\"wk-b\","
                 "\"callback_hosts\":[\"b.example\"]}]}",
                 hex[0][0], hex[0][1], hex[1][0], hex[1][1]);
        ib_tenants_t *ts = parse(buf, err, sizeof(err));
        assert_non_null(ts);
        for (size_t t = 0; t < 2; t++) {
            for (size_t k = 0; k < 2; k++) {
                const ib_tenant_t *got =
                    ib_tenants_authenticate(ts, tokens[t][k], strlen(tokens[t][k]));
                if (pi < IB_ARRAY_LEN(positions)) {
                    if (got != NULL)
                        fail_msg("token %s accepted against a digest differing in byte %zu",
                                 tokens[t][k], positions[pi]);
                } else {
                    assert_ptr_equal(got, &ts->tenants[t]);
                }
            }
        }
        ib_tenants_free(ts);
    }
}

/* A syntax error never echoes the file's text (jansson's "near '...'" excerpt can hold a
 * token): the error names the line and column and a generic reason. */
static void test_parse_errors_never_echo_content(void **state)
{
    (void)state;
    static const char *const files[] = {
        "{\"tenants\":[{\"id\":\"a\",\"workable_token\":\"wk-SECRET-1\" wk-SECRET-2}]}",
        "{\"tenants\":[{\"workable_token\":\"wk-SECRET-1\",\"workable_token\":\"wk-SECRET-2\"}]}",
        "{\"tenants\":[{\"workable_token\":\"wk-SECRET-1\n\"}]}",
        "{\"tenants\":[{\"workable_token\":wk-SECRET-1}]}",
        "{\"tenants\":[{\"workable_token\":\"wk-SECRET-1\"",
    };
    for (size_t i = 0; i < IB_ARRAY_LEN(files); i++) {
        char err[512] = "";
        ib_tenants_t *ts = parse(files[i], err, sizeof(err));
        assert_null(ts);
        if (strstr(err, "SECRET") != NULL || strstr(err, "near") != NULL ||
            strncmp(err, "not valid JSON: ", 16) != 0 || strstr(err, " at line 1 column ") == NULL)
            fail_msg("file %zu: %s", i, err);
    }
}

/* IB_TENANTS_NO_WORKABLE_TOKENS (the gateway): the Workable tokens are not loaded and a
 * workable_token_file is not opened (it may be mounted only where the worker runs); the file's
 * shape is still checked and authentication works. */
static void test_without_workable_tokens(void **state)
{
    (void)state;
    char buf[1024];
    char err[512] = "";
    snprintf(buf, sizeof(buf),
             "{\"tenants\":["
             "{\"id\":\"a\",\"api_token_sha256\":[\"%s\"],\"workable_token\":\"wk-a\","
             "\"callback_hosts\":[\"a.example\"]},"
             "{\"id\":\"b\",\"api_token_sha256\":[\"%s\"],"
             "\"workable_token_file\":\"/nonexistent/worker-only/b\","
             "\"callback_hosts\":[\"b.example\"]}]}",
             dig_a1, dig_b);
    assert_null(parse(buf, err, sizeof(err))); /* the worker needs the file */
    ib_tenants_t *ts = ib_tenants_parse_opts(buf, strlen(buf), NULL, IB_TENANTS_NO_WORKABLE_TOKENS,
                                             err, sizeof(err));
    assert_non_null(ts);
    assert_null(ts->tenants[0].workable_token);
    assert_null(ts->tenants[1].workable_token);
    assert_ptr_equal(ib_tenants_authenticate(ts, "token-b", 7), &ts->tenants[1]);
    ib_tenants_free(ts);
    /* Still exactly one of the two keys, of the right type. */
    for (int i = 0; i < 2; i++) {
        snprintf(buf, sizeof(buf),
                 "{\"tenants\":[{\"id\":\"a\",\"api_token_sha256\":[\"%s\"],%s"
                 "\"callback_hosts\":[\"a.example\"]}]}",
                 dig_a1, i == 0 ? "" : "\"workable_token_file\":7,");
        assert_null(ib_tenants_parse_opts(buf, strlen(buf), NULL, IB_TENANTS_NO_WORKABLE_TOKENS,
                                          err, sizeof(err)));
        assert_non_null(strstr(err, "workable_token"));
    }
}

#define DECLINED_FMT                                                                               \
    "{\"tenants\":[{\"id\":\"a\",\"api_token_sha256\":[\"%s\"],\"workable_token\":\"w\","          \
    "\"callback_hosts\":[\"h\"]%s},{\"id\":\"b\",\"api_token_sha256\":[\"%s\"],"                   \
    "\"workable_token\":\"w\",\"callback_hosts\":[\"h\"]}]}"

/* "declined_status": the word a declined interview is sent with; "declined" by default. */
static void test_declined_status(void **state)
{
    (void)state;
    char err[512] = "";
    char text[1024];
    snprintf(text, sizeof(text), DECLINED_FMT, dig_a1, ",\"declined_status\":\"rejected\"", dig_b);
    ib_tenants_t *ts = parse(text, err, sizeof(err));
    assert_non_null(ts);
    assert_string_equal(ib_tenants_find(ts, "a")->declined_status, "rejected");
    assert_string_equal(ib_tenants_find(ts, "b")->declined_status, "declined");
    ib_tenants_free(ts);
    snprintf(text, sizeof(text), DECLINED_FMT, dig_a1, ",\"declined_status\":\"declined\"", dig_b);
    ts = parse(text, err, sizeof(err));
    assert_non_null(ts);
    assert_string_equal(ib_tenants_find(ts, "a")->declined_status, "declined");
    ib_tenants_free(ts);
    const char *bad[] = {",\"declined_status\":\"Rejected\"", ",\"declined_status\":true"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(text, sizeof(text), DECLINED_FMT, dig_a1, bad[i], dig_b);
        err[0] = '\0';
        assert_null(parse(text, err, sizeof(err)));
        assert_non_null(strstr(err, "tenants[0].declined_status"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_design_shape_and_auth),
        cmocka_unit_test(test_callback_hosts),
        cmocka_unit_test(test_callback_ports),
        cmocka_unit_test(test_invalid_files_name_the_key),
        cmocka_unit_test(test_token_file_and_load),
        cmocka_unit_test(test_create_quota_keys),
        cmocka_unit_test(test_one_byte_off_digest_refused),
        cmocka_unit_test(test_parse_errors_never_echo_content),
        cmocka_unit_test(test_without_workable_tokens),
        cmocka_unit_test(test_declined_status),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
