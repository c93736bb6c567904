/* Unit tests of api-gateway/src/auth.c: Authorization header -> tenant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "ib/crypto.h"

static ib_tenants_t *tenants;

static void digest(const char *token, char out[65])
{
    uint8_t d[IB_SHA256_LEN];
    ib_sha256(token, strlen(token), d);
    ib_hex(d, sizeof(d), out);
}

static int setup(void **state)
{
    (void)state;
    char a1[65], a2[65], b[65], json[1024], err[256];
    digest("token-a1", a1);
    digest("token-a2", a2);
    digest("token-b", b);
    snprintf(json, sizeof(json),
             "{\"tenants\":[{\"id\":\"groove-tech\",\"api_token_sha256\":[\"%s\",\"%s\"],"
             "\"workable_token\":\"wk-a\",\"callback_hosts\":[\"groove-tech.workable.com\"]},"
             "{\"id\":\"acme\",\"api_token_sha256\":[\"%s\"],\"workable_token\":\"wk-b\","
             "\"callback_hosts\":[\"acme.workable.com\"]}]}",
             a1, a2, b);
    tenants = ib_tenants_parse(json, strlen(json), NULL, err, sizeof(err));
    return tenants != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ib_tenants_free(tenants);
    return 0;
}

static gw_auth_result_t auth(const char *header, const char **tenant_id)
{
    const ib_tenant_t *t = (const ib_tenant_t *)0x1;
    gw_auth_result_t r = gw_auth_tenant(tenants, header, &t);
    if (r != GW_AUTH_OK)
        assert_null(t);
    *tenant_id = t != NULL ? t->id : NULL;
    return r;
}

static void test_missing(void **state)
{
    (void)state;
    const char *id;
    const char *cases[] = {NULL, "", "   ", "Bearer", "bearer", "Bearer   ", "Bearer \t "};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(auth(cases[i], &id), GW_AUTH_MISSING);
        assert_null(id);
    }
    assert_string_equal(gw_auth_message(GW_AUTH_MISSING), "Missing Token");
}

static void test_invalid(void **state)
{
    (void)state;
    const char *id;
    char dig[65];
    digest("token-a1", dig);
    char as_token[80];
    snprintf(as_token, sizeof(as_token), "Bearer %s", dig);
    const char *cases[] = {"Basic dXNlcjpwYXNz",
                           "Basic token-a1",
                           "token-a1",
                           "Bearertoken-a1",
                           "Bearer wrong",
                           "Bearer token-a1x",
                           "Bearer token-a",
                           "Token token-a1",
                           "Bearer token-a1 token-b",
                           as_token};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(auth(cases[i], &id), GW_AUTH_INVALID);
        assert_null(id);
    }
    assert_string_equal(gw_auth_message(GW_AUTH_INVALID), "Invalid Token");
}

static void test_right_tokens(void **state)
{
    (void)state;
    const char *id;
    assert_int_equal(auth("Bearer token-a1", &id), GW_AUTH_OK);
    assert_string_equal(id, "groove-tech");
    assert_int_equal(auth("Bearer token-a2", &id), GW_AUTH_OK); /* rotation: second token */
    assert_string_equal(id, "groove-tech");
    assert_int_equal(auth("Bearer token-b", &id), GW_AUTH_OK);
    assert_string_equal(id, "acme");
}

static void test_scheme_case_and_spaces(void **state)
{
    (void)state;
    const char *id;
    assert_int_equal(auth("bearer token-b", &id), GW_AUTH_OK);
    assert_string_equal(id, "acme");
    assert_int_equal(auth("BEARER token-a1", &id), GW_AUTH_OK);
    assert_string_equal(id, "groove-tech");
    assert_int_equal(auth("  Bearer   token-a1  ", &id), GW_AUTH_OK);
    assert_string_equal(id, "groove-tech");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_right_tokens),
        cmocka_unit_test(test_scheme_case_and_spaces),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
