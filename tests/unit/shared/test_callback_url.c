/* Unit tests of shared/src/callback_url.c, driven by tests/data/shared/callback_urls.json: each
 * URL through the shared check, the gateway's check at creation, the worker's check when it joins
 * the request and the deliverer's reading of the target. They must agree: a URL the gateway
 * accepts is never refused later for anything the URL shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ib/callback_url.h"
#include "ib/tenants.h"
#include "join.h"
#include "ssrf.h"
#include "validate.h"

static json_t *table;
static ib_tenants_t *tenants;

static int setup(void **state)
{
    (void)state;
    char path[1024], err[256];
    const char *dir = getenv("IB_TEST_DATA");
    json_error_t jerr;
    snprintf(path, sizeof(path), "%s/shared/callback_urls.json", dir != NULL ? dir : "tests/data");
    table = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (table == NULL) {
        fprintf(stderr, "%s: %s\n", path, jerr.text);
        return -1;
    }
    char *text = json_dumps(json_object_get(table, "tenants"), 0);
    tenants = ib_tenants_parse(text, strlen(text), NULL, err, sizeof(err));
    free(text);
    if (tenants == NULL) {
        fprintf(stderr, "tenants: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ib_tenants_free(tenants);
    json_decref(table);
    return 0;
}

static rw_join_state_t join_state_of(ib_callback_url_verdict_t v)
{
    switch (v) {
    case IB_CALLBACK_URL_OK:
        return RW_JOIN_OK;
    case IB_CALLBACK_URL_MALFORMED:
    case IB_CALLBACK_URL_USERINFO:
        return RW_JOIN_BAD_URL;
    case IB_CALLBACK_URL_SCHEME:
        return RW_JOIN_SCHEME_REJECTED;
    case IB_CALLBACK_URL_HOST:
        return RW_JOIN_HOST_NOT_ALLOWED;
    case IB_CALLBACK_URL_LOOPBACK:
        return RW_JOIN_LOOPBACK;
    case IB_CALLBACK_URL_PORT:
        return RW_JOIN_PORT_NOT_ALLOWED;
    }
    return RW_JOIN_BAD_URL;
}

/* One URL through every path; want is the verdict's name, host/port (want "ok") the target. */
static void run_case(const char *url, const ib_tenant_t *t, int insecure, const char *want,
                     const char *host, long port)
{
    char why[200] = "";
    ib_callback_url_t cu;

    ib_callback_url_verdict_t v = ib_callback_url_check(url, t, insecure, &cu, why, sizeof(why));
    if (strcmp(ib_callback_url_verdict_name(v), want) != 0)
        fail_msg("%s (%s, insecure=%d): %s (%s), want %s", url, t->id, insecure,
                 ib_callback_url_verdict_name(v), why, want);

    /* The gateway at creation: 400 with the same reason, or accepted. */
    gw_validate_ctx_t ctx = {t, insecure, NULL, NULL, NULL};
    gw_error_t err = {0};
    ib_rc_t rc = gw_validate_callback_url(&ctx, url, &err);
    if ((rc == IB_OK) != (v == IB_CALLBACK_URL_OK))
        fail_msg("%s: gateway %s, shared %s", url, rc == IB_OK ? "accepts" : err.message, want);
    if (rc != IB_OK) {
        char msg[256];
        snprintf(msg, sizeof(msg), "Invalid field: %s", why);
        assert_int_equal(err.status, 400);
        assert_string_equal(err.message, msg);
        assert_true(strncmp(why, "callback_url ", 13) == 0);
    }

    /* The worker when it joins the request. */
    rw_join_state_t st = rw_callback_url_check(t, url, insecure);
    if (st != join_state_of(v))
        fail_msg("%s: worker join state %d (%s), shared %s", url, (int)st, rw_join_state_reason(st),
                 want);

    if (v != IB_CALLBACK_URL_OK)
        return;
    assert_string_equal(cu.host, host);
    assert_int_equal(cu.port, port);
    /* The deliverer: never refuses what the gateway accepted, and reads the same target. */
    rw_target_t target;
    if (rw_target_parse(url, insecure, &target, why, sizeof(why)) != IB_OK)
        fail_msg("%s: accepted at creation, refused at delivery: %s", url, why);
    assert_string_equal(target.host, cu.host);
    assert_int_equal(target.port, cu.port);
    assert_int_equal(target.literal, cu.literal);
    assert_int_equal(target.https, cu.https);
}

static void test_table(void **state)
{
    (void)state;
    size_t i;
    json_t *c;
    json_t *cases = json_object_get(table, "cases");
    assert_true(json_array_size(cases) > 50);
    json_array_foreach(cases, i, c)
    {
        const ib_tenant_t *t =
            ib_tenants_find(tenants, json_string_value(json_object_get(c, "tenant")));
        assert_non_null(t);
        run_case(json_string_value(json_object_get(c, "url")), t,
                 (int)json_integer_value(json_object_get(c, "insecure")),
                 json_string_value(json_object_get(c, "verdict")),
                 json_string_value(json_object_get(c, "host")),
                 (long)json_integer_value(json_object_get(c, "port")));
    }
}

/* The length limits: 2048 bytes of URL, 255 of host. */
static void test_lengths(void **state)
{
    (void)state;
    static const char head[] = "https://groove-tech.workable.com/";
    char url[IB_CALLBACK_URL_MAX + 2];
    const ib_tenant_t *groove = ib_tenants_find(tenants, "groove");

    memcpy(url, head, sizeof(head) - 1);
    memset(url + sizeof(head) - 1, 'a', sizeof(url) - sizeof(head));
    url[IB_CALLBACK_URL_MAX] = '\0';
    run_case(url, groove, 0, "ok", "groove-tech.workable.com", 443);
    url[IB_CALLBACK_URL_MAX] = 'a';
    url[IB_CALLBACK_URL_MAX + 1] = '\0';
    run_case(url, groove, 0, "malformed", NULL, 0);

    /* A 256-byte subdomain of workable.com matches the wildcard, but is no host name. */
    char host_url[400] = "https://";
    size_t n = strlen(host_url);
    for (int label = 0; label < 4; label++) {
        memset(host_url + n, 'b', 60);
        n += 60;
        host_url[n++] = '.';
    }
    strcpy(host_url + n, "workable.com/x"); /* 244 + 12 = 256 bytes of host */
    run_case(host_url, groove, 0, "malformed", NULL, 0);
}

/* No tenant: syntax and scheme only (the deliverer's reading of a URL already checked). */
static void test_without_tenant(void **state)
{
    (void)state;
    ib_callback_url_t cu;
    assert_int_equal(
        ib_callback_url_check("https://anything.example:8443/x", NULL, 0, &cu, NULL, 0),
        IB_CALLBACK_URL_OK);
    assert_int_equal(cu.port, 8443);
    assert_int_equal(ib_callback_url_check("https://u@anything.example/x", NULL, 0, NULL, NULL, 0),
                     IB_CALLBACK_URL_USERINFO);
    assert_int_equal(ib_callback_url_check("http://anything.example/x", NULL, 0, NULL, NULL, 0),
                     IB_CALLBACK_URL_SCHEME);
    assert_int_equal(ib_callback_url_check(NULL, NULL, 0, NULL, NULL, 0),
                     IB_CALLBACK_URL_MALFORMED);
}

static void test_loopback_hosts(void **state)
{
    (void)state;
    const char *yes[] = {"localhost", "LOCALHOST",   "a.localhost",
                         "127.0.0.1", "127.255.0.9", "0.0.0.0",
                         "[::1]",     "[::]",        "[::ffff:127.0.0.1]"};
    const char *no[] = {"localhost.example", "128.0.0.1", "[::2]", "[::ffff:10.0.0.1]", "", "["};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (!ib_callback_host_is_loopback(yes[i]))
            fail_msg("%s not loopback", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (ib_callback_host_is_loopback(no[i]))
            fail_msg("%s loopback", no[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_without_tenant),
        cmocka_unit_test(test_loopback_hosts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
