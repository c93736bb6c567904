/* Unit tests of api-gateway/src/validate.c: POST /interviews body -> request or contract error. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ib/callback_url.h"
#include "ib/crypto.h"
#include "ib/json.h"
#include "ib/jsonw.h"
#include "validate.h"

static ib_tenants_t *tenants;
static const ib_tenant_t *groove;   /* templates "12345" and "2"; *.workable.com; port 8443 */
static const ib_tenant_t *localdev; /* template "t1"; callback hosts 127.0.0.1, localhost, ::1 */

/* The catalogs: tenant -> known template ids. */
static int template_known(const char *tenant_id, const char *template_id, void *opaque)
{
    (void)opaque;
    if (strcmp(tenant_id, "groove-tech") == 0)
        return strcmp(template_id, "12345") == 0 || strcmp(template_id, "2") == 0;
    if (strcmp(tenant_id, "localdev") == 0)
        return strcmp(template_id, "t1") == 0;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    char a[65], b[65], json[1024], err[256];
    uint8_t d[IB_SHA256_LEN];
    ib_sha256("token-a", 7, d);
    ib_hex(d, sizeof(d), a);
    ib_sha256("token-b", 7, d);
    ib_hex(d, sizeof(d), b);
    snprintf(json, sizeof(json),
             "{\"tenants\":[{\"id\":\"groove-tech\",\"api_token_sha256\":[\"%s\"],"
             "\"workable_token\":\"wk-a\",\"callback_hosts\":[\"groove-tech.workable.com\","
             "\"*.workable.com\"],\"callback_ports\":[8443]},"
             "{\"id\":\"localdev\",\"api_token_sha256\":[\"%s\"],\"workable_token\":\"wk-b\","
             "\"callback_hosts\":[\"127.0.0.1\",\"localhost\"]}]}",
             a, b);
    tenants = ib_tenants_parse(json, strlen(json), NULL, err, sizeof(err));
    if (tenants == NULL) {
        fprintf(stderr, "tenants: %s\n", err);
        return -1;
    }
    groove = ib_tenants_find(tenants, "groove-tech");
    localdev = ib_tenants_find(tenants, "localdev");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ib_tenants_free(tenants);
    return 0;
}

/* The contract's example body (its trailing comma removed), with a few unknown keys. */
static const char *const CONTRACT_BODY =
    "{\"interview_template_id\": \"12345\", \"job_id\": \"6789\","
    " \"job_title\": \"Operations Manager\","
    " \"callback_url\": \"https://groove-tech.workable.com/interviews/8823119\","
    " \"candidate\": {\"first_name\": \"Lakita\", \"last_name\": \"Marrero\","
    " \"phone\": \"(785)991-6256\", \"email\": \"lakita_marrero@gmail.com\", \"age\": 40},"
    " \"preferences\": {\"key\": \"value\"}, \"unknown\": [1, 2]}";

/* groove-tech has jobs 6789 and yec3; localdev has no job categorisation. */
static int job_known(const char *tenant_id, const char *job_id, void *opaque)
{
    (void)opaque;
    if (strcmp(tenant_id, "groove-tech") == 0)
        return strcmp(job_id, "6789") == 0 || strcmp(job_id, "yec3") == 0;
    return -1;
}

static gw_validate_ctx_t ctx_for(const ib_tenant_t *t, int insecure)
{
    gw_validate_ctx_t ctx = {t, insecure, template_known, NULL, NULL};
    return ctx;
}

/* Validates text for groove-tech (secure) and checks the error. */
static void expect_error(const char *text, unsigned int status, const char *message)
{
    gw_validate_ctx_t ctx = ctx_for(groove, 0);
    gw_interview_request_t r;
    gw_error_t err = {0};
    if (gw_validate_interview(&ctx, text, strlen(text), &r, &err) == IB_OK) {
        gw_interview_request_clear(&r);
        fail_msg("accepted: %s", text);
    }
    assert_int_equal(err.status, status);
    assert_string_equal(err.message, message);
    assert_null(r.interview_template_id);
    assert_null(r.candidate.first_name);
    assert_null(r.store);
}

/* The contract body with one top-level key replaced by raw JSON (NULL value: key removed). */
static char *with_field(const char *key, const char *raw)
{
    json_t *root = json_loads(CONTRACT_BODY, 0, NULL);
    assert_non_null(root);
    if (raw == NULL)
        json_object_del(root, key);
    else
        json_object_set_new(root, key, json_loads(raw, JSON_DECODE_ANY, NULL));
    char *text = json_dumps(root, 0);
    json_decref(root);
    return text;
}

static char *with_candidate_field(const char *key, const char *raw)
{
    json_t *root = json_loads(CONTRACT_BODY, 0, NULL);
    json_t *c = json_object_get(root, "candidate");
    if (raw == NULL)
        json_object_del(c, key);
    else
        json_object_set_new(c, key, json_loads(raw, JSON_DECODE_ANY, NULL));
    char *text = json_dumps(root, 0);
    json_decref(root);
    return text;
}

static void expect_field_error(const char *key, const char *raw, unsigned int status,
                               const char *message)
{
    char *text = with_field(key, raw);
    expect_error(text, status, message);
    free(text);
}

static void expect_candidate_error(const char *key, const char *raw, unsigned int status,
                                   const char *message)
{
    char *text = with_candidate_field(key, raw);
    expect_error(text, status, message);
    free(text);
}

static void test_contract_body(void **state)
{
    (void)state;
    gw_validate_ctx_t ctx = ctx_for(groove, 0);
    gw_interview_request_t r;
    gw_error_t err = {0};
    assert_int_equal(gw_validate_interview(&ctx, CONTRACT_BODY, strlen(CONTRACT_BODY), &r, &err),
                     IB_OK);
    assert_string_equal(r.interview_template_id, "12345");
    assert_string_equal(r.job_id, "6789");
    assert_string_equal(r.job_title, "Operations Manager");
    assert_string_equal(r.callback_url, "https://groove-tech.workable.com/interviews/8823119");
    /* Unknown candidate keys are dropped. */
    assert_string_equal(r.candidate.first_name, "Lakita");
    assert_string_equal(r.candidate.last_name, "Marrero");
    assert_string_equal(r.candidate.email, "lakita_marrero@gmail.com");
    assert_string_equal(r.candidate.phone, "(785)991-6256");
    assert_string_equal(r.preferences, "{\"key\":\"value\"}");
    assert_int_equal(r.preferences_len, strlen(r.preferences));
    gw_interview_request_clear(&r);
    gw_interview_request_clear(&r); /* idempotent */
}

static void test_optional_fields_absent(void **state)
{
    (void)state;
    const char *text = "{\"interview_template_id\":\"2\",\"job_title\":\"QA\","
                       "\"callback_url\":\"https://x.workable.com/cb\",\"job_id\":null,"
                       "\"candidate\":{\"first_name\":\"A\",\"last_name\":\"B\","
                       "\"email\":\"a@b.co\",\"phone\":null},\"preferences\":null}";
    gw_validate_ctx_t ctx = ctx_for(groove, 0);
    gw_interview_request_t r;
    gw_error_t err = {0};
    assert_int_equal(gw_validate_interview(&ctx, text, strlen(text), &r, &err), IB_OK);
    assert_null(r.job_id);
    assert_null(r.preferences);
    assert_null(r.candidate.phone);
    assert_string_equal(r.candidate.first_name, "A");
    assert_string_equal(r.candidate.last_name, "B");
    assert_string_equal(r.candidate.email, "a@b.co");
    gw_interview_request_clear(&r);
}

/* Workable candidates may lack a last name or a phone: only first_name and email are needed. */
static void test_candidate_without_last_name_or_phone(void **state)
{
    (void)state;
    const char *raw[] = {NULL, "null", "\"\""};
    gw_validate_ctx_t ctx = ctx_for(groove, 0);
    for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
        json_t *root = json_loads(CONTRACT_BODY, 0, NULL);
        json_t *c = json_object_get(root, "candidate");
        if (raw[i] == NULL) {
            json_object_del(c, "last_name");
            json_object_del(c, "phone");
        } else {
            json_object_set_new(c, "last_name", json_loads(raw[i], JSON_DECODE_ANY, NULL));
            json_object_set_new(c, "phone", json_loads(raw[i], JSON_DECODE_ANY, NULL));
        }
        char *text = json_dumps(root, 0);
        json_decref(root);
        gw_interview_request_t r;
        gw_error_t err = {0};
        if (gw_validate_interview(&ctx, text, strlen(text), &r, &err) != IB_OK)
            fail_msg("%s refused: %u %s", text, err.status, err.message);
        assert_string_equal(r.candidate.first_name, "Lakita");
        assert_null(r.candidate.last_name);
        assert_string_equal(r.candidate.email, "lakita_marrero@gmail.com");
        assert_null(r.candidate.phone);
        gw_interview_request_clear(&r);
        free(text);
    }
    /* A wrong type is still invalid. */
    expect_candidate_error("last_name", "7", 400,
                           "Invalid field: candidate.last_name should be a string");
}

static void test_number_template_id_normalised(void **state)
{
    (void)state;
    gw_validate_ctx_t ctx = ctx_for(groove, 0);
    gw_interview_request_t r;
    gw_error_t err = {0};
    const char *ids[] = {"12345", "2"};
    for (size_t i = 0; i < 2; i++) {
        char *text = with_field("interview_template_id", ids[i]);
        assert_int_equal(gw_validate_interview(&ctx, text, strlen(text), &r, &err), IB_OK);
        assert_string_equal(r.interview_template_id, ids[i]);
        gw_interview_request_clear(&r);
        free(text);
    }
    /* An integer job_id is normalised the same way. */
    char *text = with_field("job_id", "6789");
    assert_int_equal(gw_validate_interview(&ctx, text, strlen(text), &r, &err), IB_OK);
    assert_string_equal(r.job_id, "6789");
    gw_interview_request_clear(&r);
    free(text);
    /* An integral number in any spelling is the same id; a fraction is no id. */
    const char *reals[] = {"12345.0", "1.2345e4"};
    for (size_t i = 0; i < IB_ARRAY_LEN(reals); i++) {
        text = with_field("interview_template_id", reals[i]);
        assert_int_equal(gw_validate_interview(&ctx, text, strlen(text), &r, &err), IB_OK);
        assert_string_equal(r.interview_template_id, "12345");
        gw_interview_request_clear(&r);
        free(text);
    }
    expect_field_error("interview_template_id", "12345.5", 400,
                       "Invalid field: interview_template_id should be a string");
    expect_field_error("interview_template_id", "-12345", 400,
                       "Invalid field: interview_template_id is not a known interview template");
    expect_field_error("interview_template_id", "99", 400,
                       "Invalid field: interview_template_id is not a known interview template");
}

static void test_invalid_json(void **state)
{
    (void)state;
    char deep[256] = "{\"preferences\":";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    const char *cases[] = {
        "",
        "   ",
        "{\"interview_template_id\": \"12345\", ",
        "{\"a\":1,}",
        "[1,2]",
        "\"just a string\"",
        "null",
        "{\"job_title\":\"a\",\"job_title\":\"b\"}",
        "{\"candidate\":{\"first_name\":\"X\",\"first_name\":\"Y\"}}",
        "{\"job_title\":\"Marr\xff\xfero\"}",
        "{\"job_title\":\"a\\u0000b\"}",
        deep,
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(cases[i], 400, "Invalid JSON");
    /* The contract's own example, trailing comma included, is not JSON. */
    expect_error("{\"candidate\": {\"email\": \"lakita_marrero@gmail.com\",}}", 400,
                 "Invalid JSON");
}

static void test_wrong_types(void **state)
{
    (void)state;
    expect_field_error("job_title", "42", 400, "Invalid field: job_title should be a string");
    expect_field_error("job_id", "true", 400, "Invalid field: job_id should be a string");
    expect_field_error("job_id", "{}", 400, "Invalid field: job_id should be a string");
    expect_field_error("interview_template_id", "[\"12345\"]", 400,
                       "Invalid field: interview_template_id should be a string");
    expect_field_error("callback_url", "[\"x\"]", 400,
                       "Invalid field: callback_url should be a string");
    expect_field_error("candidate", "\"Lakita\"", 400,
                       "Invalid field: candidate should be an object");
    expect_field_error("preferences", "[1]", 400, "Invalid field: preferences should be an object");
    expect_candidate_error("email", "12", 400, "Invalid field: candidate.email should be a string");
    expect_candidate_error("first_name", "false", 400,
                           "Invalid field: candidate.first_name should be a string");
    expect_candidate_error("phone", "7859916256", 400,
                           "Invalid field: candidate.phone should be a string");
    char long_title[2100];
    memset(long_title, 'x', sizeof(long_title));
    long_title[0] = '"';
    long_title[sizeof(long_title) - 2] = '"';
    long_title[sizeof(long_title) - 1] = '\0';
    expect_field_error("job_title", long_title, 400,
                       "Invalid field: job_title should be at most 1024 characters");
}

static void test_missing_fields(void **state)
{
    (void)state;
    expect_field_error("interview_template_id", NULL, 422,
                       "Missing field: interview_template_id should be provided");
    expect_field_error("job_title", NULL, 422, "Missing field: job_title should be provided");
    expect_field_error("job_title", "\"\"", 422, "Missing field: job_title should be provided");
    expect_field_error("job_title", "null", 422, "Missing field: job_title should be provided");
    expect_field_error("callback_url", NULL, 422, "Missing field: callback_url should be provided");
    expect_field_error("candidate", NULL, 422, "Missing field: candidate should be provided");
    expect_candidate_error("first_name", NULL, 422,
                           "Missing field: candidate.first_name should be provided");
    expect_candidate_error("email", NULL, 422, "Missing field: candidate.email should be provided");
    expect_error("{}", 422, "Missing field: interview_template_id should be provided");
}

static void test_unknown_template(void **state)
{
    (void)state;
    const char *msg = "Invalid field: interview_template_id is not a known interview template";
    expect_field_error("interview_template_id", "\"no-such-template\"", 400, msg);
    /* Another tenant's template is unknown here. */
    expect_field_error("interview_template_id", "\"t1\"", 400, msg);
}

static void expect_callback(const ib_tenant_t *t, int insecure, const char *url,
                            unsigned int status, const char *message)
{
    gw_validate_ctx_t ctx = ctx_for(t, insecure);
    gw_error_t err = {0};
    ib_rc_t rc = gw_validate_callback_url(&ctx, url, &err);
    if (status == 0) {
        if (rc != IB_OK)
            fail_msg("%s refused: %s", url, err.message);
        return;
    }
    if (rc == IB_OK)
        fail_msg("%s accepted", url);
    assert_int_equal(err.status, status);
    assert_string_equal(err.message, message);
}

static void test_callback_url(void **state)
{
    (void)state;
    const char *not_url = "Invalid field: callback_url should be an absolute URL";
    const char *not_allowed = "Invalid field: callback_url host is not allowed for this account";
    const char *https = "Invalid field: callback_url should use https";
    const char *loopback = "Invalid field: callback_url must not point to a loopback address";
    const char *userinfo = "Invalid field: callback_url must not contain user information";

    expect_callback(groove, 0, "https://groove-tech.workable.com/interviews/8823119", 0, NULL);
    expect_callback(groove, 0, "https://GROOVE-TECH.Workable.com/x?y=1#z", 0, NULL);
    expect_callback(groove, 0, "https://other.workable.com:8443/x", 0, NULL);
    /* Ports: 443 or the tenant's callback_ports; any port on loopback in development mode. */
    expect_callback(groove, 0, "https://other.workable.com:443/x", 0, NULL);
    expect_callback(groove, 0, "https://other.workable.com:8444/x", 400,
                    "Invalid field: callback_url port 8444 is not allowed for this account");
    expect_callback(groove, 0, "https://other.workable.com:0/x", 400,
                    "Invalid field: callback_url port should be 1 to 65535");
    expect_callback(groove, 0, "https://[fe80::1%25eth0]/x", 400,
                    "Invalid field: callback_url must not carry an IPv6 zone id");
    expect_callback(groove, 0, "https://;opt@groove-tech.workable.com/x", 400, userinfo);
    expect_callback(localdev, 1, "http://localhost:1/cb", 0, NULL);
    expect_callback(groove, 0, "https://workable.com/x", 400, not_allowed); /* apex */
    expect_callback(groove, 0, "https://evil.com/x", 400, not_allowed);
    expect_callback(groove, 0, "https://groove-tech.workable.com.evil.com/x", 400, not_allowed);
    expect_callback(groove, 0, "https://evil.com/groove-tech.workable.com", 400, not_allowed);
    expect_callback(groove, 0, "http://groove-tech.workable.com/x", 400, https);
    expect_callback(groove, 1, "ftp://groove-tech.workable.com/x", 400, https);
    expect_callback(groove, 0, "https://user:pw@groove-tech.workable.com/x", 400, userinfo);
    expect_callback(groove, 0, "https://user@groove-tech.workable.com/x", 400, userinfo);
    expect_callback(groove, 0, "groove-tech.workable.com/x", 400, not_url);
    expect_callback(groove, 0, "/interviews/1", 400, not_url);
    expect_callback(groove, 0, "not a url", 400, not_url);
    expect_callback(groove, 0, "https://groove-tech.workable.com/x\r\nHost: evil", 400, not_url);
    expect_callback(groove, 0, "https://", 400, not_url);
    expect_callback(groove, 0, "", 400, not_url);

    /* http and loopback only with ALLOW_INSECURE_CALLBACKS=1, and still only listed hosts. */
    expect_callback(localdev, 0, "http://127.0.0.1:8099/cb", 400, https);
    expect_callback(localdev, 0, "https://127.0.0.1:8099/cb", 400, loopback);
    expect_callback(localdev, 0, "https://localhost/cb", 400, loopback);
    /* Not a listed host: refused for that first. */
    expect_callback(localdev, 0, "https://[::1]/cb", 400, not_allowed);
    expect_callback(localdev, 1, "http://127.0.0.1:8099/cb", 0, NULL);
    expect_callback(localdev, 1, "http://localhost:8099/cb", 0, NULL);
    expect_callback(localdev, 1, "https://127.0.0.1/cb", 0, NULL);
    expect_callback(localdev, 1, "http://127.0.0.2/cb", 400, not_allowed);
    expect_callback(groove, 1, "http://127.0.0.1/cb", 400, not_allowed);
    /* Odd IPv4 spellings are normalised by the URL parser before the check. */
    expect_callback(localdev, 0, "https://2130706433/cb", 400, loopback);

    /* Through the whole body, too. */
    expect_field_error("callback_url", "\"https://evil.com/x\"", 400, not_allowed);
    expect_field_error("callback_url", "\"http://groove-tech.workable.com/x\"", 400, https);
}

static void test_insecure_body(void **state)
{
    (void)state;
    const char *text = "{\"interview_template_id\":\"t1\",\"job_title\":\"QA\","
                       "\"callback_url\":\"http://127.0.0.1:8099/cb/1\","
                       "\"candidate\":{\"first_name\":\"A\",\"last_name\":\"B\","
                       "\"email\":\"a@b.co\"}}";
    gw_interview_request_t r;
    gw_error_t err = {0};
    gw_validate_ctx_t ctx = ctx_for(localdev, 1);
    assert_int_equal(gw_validate_interview(&ctx, text, strlen(text), &r, &err), IB_OK);
    gw_interview_request_clear(&r);
    ctx = ctx_for(localdev, 0);
    assert_int_equal(gw_validate_interview(&ctx, text, strlen(text), &r, &err), IB_ERR);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.message, "Invalid field: callback_url should use https");
}

/* RFC 5321's shape (RFC 6531's UTF-8 allowed): a syntax check, not a plausibility filter. */
static void test_email_syntax(void **state)
{
    (void)state;
    char local64[80], local65[80], domain[300], total255[300];
    memset(local64, 'a', 64);
    strcpy(local64 + 64, "@b.co");
    memset(local65, 'a', 65);
    strcpy(local65 + 65, "@b.co");
    /* 254 characters in all: the longest an address may be (60 + 1 + 193). */
    memset(domain, 'a', 60);
    domain[60] = '@';
    memset(domain + 61, 'b', 193);
    domain[61 + 62] = domain[61 + 125] = domain[61 + 188] = '.';
    domain[254] = '\0';
    memcpy(total255, domain, sizeof(domain));
    strcat(total255, "b"); /* 255: too long */
    const char *good[] = {"lakita_marrero@gmail.com",
                          "a@b.co",
                          "first.last+tag@sub.example.org",
                          "o'neil@example.ie",
                          "x@xn--bcher-kva.example",
                          "\xce\xb4\xce\xbf\xce\xba@\xcf\x80\xce\xb1.\xce\xb4\xce\xbf",
                          "a@b",
                          "\"a\"@b.co",
                          "\"john doe\"@example.com",
                          "\"a@b\"@example.com",
                          "\"a\\\"b\"@example.com",
                          "!#$%&'*+-/=?^_`{|}~@example.com",
                          "user@[192.0.2.1]",
                          "user@[IPv6:2001:db8::1]",
                          local64,
                          domain};
    const char *bad[] = {"",
                         "no-at-sign",
                         "@b.co",
                         "a@",
                         "a@@b.co",
                         "a@b@c.co",
                         "a b@c.de",
                         "a@b..co",
                         "a@-b.co",
                         "a@b.co-",
                         "a@.b.co",
                         "a@b.co.",
                         "<a@b.co>",
                         "a@b.co\n",
                         "a,b@c.de",
                         ".a@b.co",
                         "a.@b.co",
                         "a..b@c.co",
                         "\"a@b.co",
                         "\"a\"b@c.co",
                         "user@[192.0.2.300]",
                         "user@[:db8]", /* a general literal needs a tag */
                         "user@[IPv6:nope]",
                         "user@b.co]",
                         "a@b_c.co",
                         local65,
                         total255};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!gw_email_valid(good[i]))
            fail_msg("refused %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (gw_email_valid(bad[i]))
            fail_msg("accepted %s", bad[i]);
    /* A domain label of 64 characters is too long. */
    char label64[100];
    strcpy(label64, "a@");
    memset(label64 + 2, 'b', 64);
    strcpy(label64 + 66, ".co");
    assert_false(gw_email_valid(label64));
    label64[3] = '.'; /* 1 + 62 */
    assert_true(gw_email_valid(label64));
    expect_candidate_error("email", "\"not-an-email\"", 400,
                           "Invalid field: candidate.email should be an email address");
}

static void test_job_id_checked_against_jobs(void **state)
{
    (void)state;
    gw_validate_ctx_t ctx = ctx_for(groove, 0);
    gw_interview_request_t r;
    gw_error_t err;
    ctx.job_known = job_known;

    assert_int_equal(gw_validate_interview(&ctx, CONTRACT_BODY, strlen(CONTRACT_BODY), &r, &err),
                     IB_OK);
    assert_string_equal(r.job_id, "6789");
    gw_interview_request_clear(&r);
    char *text = with_field("job_id", "\"nope\"");
    assert_int_equal(gw_validate_interview(&ctx, text, strlen(text), &r, &err), IB_ERR);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.message, "Invalid field: job_id is not a known job");
    free(text);
    /* A number is normalised before the check. */
    text = with_field("job_id", "6789");
    assert_int_equal(gw_validate_interview(&ctx, text, strlen(text), &r, &err), IB_OK);
    gw_interview_request_clear(&r);
    free(text);
    /* Absent job_id: fine even when the tenant has jobs (it is optional). */
    text = with_field("job_id", "null");
    assert_int_equal(gw_validate_interview(&ctx, text, strlen(text), &r, &err), IB_OK);
    assert_null(r.job_id);
    gw_interview_request_clear(&r);
    free(text);
}

/* ---- The previous implementation, over jansson's tree: the reference the in-place reader must
 * agree with, answer for answer. ---- */

typedef struct {
    unsigned int status; /* 0: accepted */
    char message[GW_ERROR_MESSAGE_MAX];
    char *fields[8]; /* template, job, title, url, first, last, email, phone (NULL: absent) */
    char *preferences;
} ref_answer_t;

static void ref_answer_clear(ref_answer_t *a)
{
    for (size_t i = 0; i < IB_ARRAY_LEN(a->fields); i++)
        free(a->fields[i]);
    free(a->preferences);
    memset(a, 0, sizeof(*a));
}

static IB_PRINTF(3, 4) int ref_err(ref_answer_t *a, unsigned int status, const char *fmt, ...)
{
    va_list ap;
    a->status = status;
    va_start(ap, fmt);
    vsnprintf(a->message, sizeof(a->message), fmt, ap);
    va_end(ap);
    return -1;
}

static int ref_get_string(const json_t *obj, const char *key, const char *path, int id,
                          int required, size_t max_len, char **out, ref_answer_t *a)
{
    char num[32];
    const char *v_s = NULL;
    json_t *v = json_object_get(obj, key);
    if (json_is_string(v)) {
        v_s = json_string_value(v);
    } else if (id && json_is_integer(v)) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        v_s = num;
    } else if (id && json_is_real(v) && json_real_value(v) >= 0 &&
               json_real_value(v) < 9007199254740992.0 &&
               floor(json_real_value(v)) == json_real_value(v)) {
        snprintf(num, sizeof(num), "%.0f", json_real_value(v));
        v_s = num;
    } else if (v != NULL && !json_is_null(v)) {
        return ref_err(a, 400, "Invalid field: %s should be a string", path);
    }
    if (v_s == NULL || v_s[0] == '\0') {
        if (!required)
            return 0;
        return ref_err(a, 422, "Missing field: %s should be provided", path);
    }
    if (strlen(v_s) > max_len)
        return ref_err(a, 400, "Invalid field: %s should be at most %zu characters", path, max_len);
    *out = strdup(v_s);
    return 0;
}

static void ref_validate(const gw_validate_ctx_t *ctx, const char *body, size_t len,
                         ref_answer_t *a)
{
    char why[128];
    gw_error_t err;
    char **f = a->fields;
    json_t *root = ib_json_parse(body, len, IB_JSON_MAX_DEPTH, why, sizeof(why));
    memset(a, 0, sizeof(*a));
    if (root == NULL || !json_is_object(root)) {
        a->status = 400;
        strcpy(a->message, "Invalid JSON");
        goto out;
    }
    if (ref_get_string(root, "interview_template_id", "interview_template_id", 1, 1, 256, &f[0],
                       a) != 0)
        goto out;
    if (!ctx->template_known(ctx->tenant->id, f[0], ctx->opaque)) {
        ref_err(a, 400, "Invalid field: interview_template_id is not a known interview template");
        goto out;
    }
    if (ref_get_string(root, "job_id", "job_id", 1, 0, 256, &f[1], a) != 0)
        goto out;
    if (f[1] != NULL && ctx->job_known != NULL &&
        ctx->job_known(ctx->tenant->id, f[1], ctx->opaque) == 0) {
        ref_err(a, 400, "Invalid field: job_id is not a known job");
        goto out;
    }
    if (ref_get_string(root, "job_title", "job_title", 0, 1, 1024, &f[2], a) != 0 ||
        ref_get_string(root, "callback_url", "callback_url", 0, 1, IB_CALLBACK_URL_MAX, &f[3], a) !=
            0)
        goto out;
    if (gw_validate_callback_url(ctx, f[3], &err) != IB_OK) {
        a->status = err.status;
        strcpy(a->message, err.message);
        goto out;
    }
    json_t *c = json_object_get(root, "candidate");
    if (c == NULL || json_is_null(c)) {
        ref_err(a, 422, "Missing field: candidate should be provided");
        goto out;
    }
    if (!json_is_object(c)) {
        ref_err(a, 400, "Invalid field: candidate should be an object");
        goto out;
    }
    if (ref_get_string(c, "first_name", "candidate.first_name", 0, 1, 1024, &f[4], a) != 0 ||
        ref_get_string(c, "last_name", "candidate.last_name", 0, 0, 1024, &f[5], a) != 0 ||
        ref_get_string(c, "email", "candidate.email", 0, 1, 254, &f[6], a) != 0)
        goto out;
    if (!gw_email_valid(f[6])) {
        ref_err(a, 400, "Invalid field: candidate.email should be an email address");
        goto out;
    }
    if (ref_get_string(c, "phone", "candidate.phone", 0, 0, 256, &f[7], a) != 0)
        goto out;
    json_t *prefs = json_object_get(root, "preferences");
    if (prefs != NULL && !json_is_null(prefs)) {
        if (!json_is_object(prefs)) {
            ref_err(a, 400, "Invalid field: preferences should be an object");
            goto out;
        }
        /* The bytes the event carried: ib_jw_value of the tree. */
        ib_jw_t w;
        size_t n = 0;
        ib_jw_init(&w, NULL, 0);
        ib_jw_value(&w, prefs);
        a->preferences = ib_jw_take(&w, &n);
        ib_jw_free(&w);
    }
out:
    json_decref(root);
}

/* The same body through both: the same status and message, or the same request. Returns the
 * status (0: accepted). */
static unsigned int expect_same_as_before(const gw_validate_ctx_t *ctx, const char *body,
                                          size_t len)
{
    ref_answer_t a;
    gw_interview_request_t r;
    gw_error_t err = {0};
    ref_validate(ctx, body, len, &a);
    ib_rc_t rc = gw_validate_interview(ctx, body, len, &r, &err);
    if ((rc == IB_OK) != (a.status == 0) ||
        (rc != IB_OK && (err.status != a.status || strcmp(err.message, a.message) != 0)))
        fail_msg("before: %u %s, now: %u %s; body %.*s", a.status, a.message,
                 rc == IB_OK ? 0 : err.status, rc == IB_OK ? "" : err.message, (int)len, body);
    if (rc == IB_OK) {
        const char *now[8] = {r.interview_template_id,
                              r.job_id,
                              r.job_title,
                              r.callback_url,
                              r.candidate.first_name,
                              r.candidate.last_name,
                              r.candidate.email,
                              r.candidate.phone};
        for (size_t i = 0; i < IB_ARRAY_LEN(now); i++) {
            if ((now[i] == NULL) != (a.fields[i] == NULL) ||
                (now[i] != NULL && strcmp(now[i], a.fields[i]) != 0))
                fail_msg("field %zu: before %s, now %s; body %.*s", i,
                         a.fields[i] ? a.fields[i] : "(absent)", now[i] ? now[i] : "(absent)",
                         (int)len, body);
        }
        if ((r.preferences == NULL) != (a.preferences == NULL) ||
            (r.preferences != NULL && strcmp(r.preferences, a.preferences) != 0))
            fail_msg("preferences: before %s, now %s", a.preferences ? a.preferences : "(absent)",
                     r.preferences ? r.preferences : "(absent)");
        gw_interview_request_clear(&r);
    }
    unsigned int status = a.status;
    ref_answer_clear(&a);
    return status;
}

static unsigned long long next_random(unsigned long long *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Bodies built from a grammar of field values (right and wrong types, number spellings, escapes,
 * empty and null, unknown keys, duplicates), then mutated byte-wise: both implementations must
 * answer alike, for the tenant with job ids and https callbacks and for the insecure one. */
static void test_same_answers_as_before(void **state)
{
    (void)state;
    static const char *const ids[] = {"\"12345\"",
                                      "12345",
                                      "12345.0",
                                      "1.2345e4",
                                      "1.2345E+4",
                                      "12345.5",
                                      "-12345",
                                      "\"2\"",
                                      "2",
                                      "2e0",
                                      "-0",
                                      "-0.0",
                                      "0.0",
                                      "\"t1\"",
                                      "\"\\u0074\\u0031\"",
                                      "9007199254740993",
                                      "9007199254740992.0",
                                      "1e300",
                                      "null",
                                      "\"\"",
                                      "true",
                                      "[\"12345\"]",
                                      "{}",
                                      "9223372036854775807",
                                      "\"12345\\u0000\"",
                                      "\"\\ud83d\\ude00\""};
    static const char *const texts[] = {"\"Operations Manager\"",
                                        "\"\"",
                                        "null",
                                        "42",
                                        "\"caf\\u00e9 \\\"q\\\" \\/\\n\"",
                                        "\"\xc3\xa9\"",
                                        "\"a\\ud83d\\ude00b\"",
                                        "[]",
                                        "{\"a\":1}",
                                        "false",
                                        "1.5"};
    static const char *const urls[] = {"\"https://groove-tech.workable.com/interviews/8823119\"",
                                       "\"https://groove-tech.workable.com:8443/x\"",
                                       "\"http://127.0.0.1:9/cb\"",
                                       "\"https://evil.example/cb\"",
                                       "\"https://u:p@groove-tech.workable.com/x\"",
                                       "\"https:\\/\\/a.workable.com\\/x\"",
                                       "\"\"",
                                       "null",
                                       "7",
                                       "\"https://a.workable.com/\\u0000\""};
    static const char *const emails[] = {"\"lakita_marrero@gmail.com\"",
                                         "\"a@b\"",
                                         "\"not-an-email\"",
                                         "\"\"",
                                         "null",
                                         "12",
                                         "\"\\\"q\\\"@[IPv6:::1]\"",
                                         "\"caf\xc3\xa9@exampl\xc3\xa9.com\""};
    static const char *const prefs[] = {
        "{\"key\":\"value\"}",
        "null",
        "[1]",
        "\"x\"",
        "{}",
        "{\"a\":[1,2.5,-0,1e3,1E-2,true,null,{\"b\":\"\\u0007\\/\"}],\"c\":{}}",
        "{\"n\":123456789012345678901}",
        "{\"r\":1e999}",
        "{\"d\":1,\"d\":2}",
        "{\"u\":\"\\ud83d\\ude00\\u00e9\"}",
        "{\"x\":0.1,\"y\":100000000000000000000000.0}"};
    static const char *const extras[] = {"",
                                         ",\"unknown\":[1,{\"k\":null}]",
                                         ",\"job_title\":\"dup\"",
                                         ",\"Job_title\":\"x\"",
                                         ",\"candidate\\u0000\":1",
                                         ",\"deep\":[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]",
                                         ",\"deep\":[[[[[[[[[[[[[[1]]]]]]]]]]]]]]"};
    const gw_validate_ctx_t ctxs[] = {
        {groove, 0, template_known, job_known, NULL},
        {localdev, 1, template_known, NULL, NULL},
    };
    char body[4096];
    unsigned long long rng = 0x9E3779B97F4A7C15ull;
    int tally[3] = {0}; /* accepted, 422, 400 */
#define PICK(list) list[next_random(&rng) % IB_ARRAY_LEN(list)]
    for (int round = 0; round < 20000; round++) {
        const char *v[11] = {PICK(ids),   PICK(ids),   PICK(texts),  PICK(urls),
                             PICK(texts), PICK(texts), PICK(emails), PICK(texts),
                             PICK(texts), PICK(prefs), PICK(extras)};
        int n = snprintf(body, sizeof(body),
                         "{\"interview_template_id\":%s,\"job_id\":%s,\"job_title\":%s,"
                         "\"callback_url\":%s,\"candidate\":{\"first_name\":%s,\"last_name\":%s,"
                         "\"email\":%s,\"phone\":%s,\"extra\":%s},\"preferences\":%s%s}",
                         v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]);
        assert_true(n > 0 && (size_t)n < sizeof(body) - 8);
        size_t len = (size_t)n;
        /* Good values more often: a fair share gets past the JSON into the fields' rules. */
        if (round % 3 == 1) {
            const char *g[4] = {PICK(ids), PICK(urls), PICK(emails), PICK(prefs)};
            len = (size_t)snprintf(
                body, sizeof(body),
                "{\"interview_template_id\":%s,\"job_title\":\"T\",\"callback_url\":%s,"
                "\"candidate\":{\"first_name\":\"A\",\"email\":%s},\"preferences\":%s}",
                g[0], g[1], g[2], g[3]);
        }
        if (round % 3 == 2 && len > 0) {
            /* A byte replaced, dropped or doubled. */
            size_t at = (size_t)(rng % len);
            switch ((rng >> 20) % 3) {
            case 0:
                body[at] = (char)(rng >> 32);
                break;
            case 1:
                memmove(body + at, body + at + 1, len - at - 1);
                len--;
                break;
            default:
                memmove(body + at + 1, body + at, len - at);
                len++;
                break;
            }
        }
        for (size_t c = 0; c < IB_ARRAY_LEN(ctxs); c++) {
            unsigned int st = expect_same_as_before(&ctxs[c], body, len);
            tally[st == 0 ? 0 : st == 422 ? 1 : 2]++;
        }
    }
    /* Every kind of answer was compared (about 200 accepted, 2,000 422s, 38,000 400s). */
    assert_true(tally[0] >= 100 && tally[1] >= 1000 && tally[2] >= 10000);
#undef PICK
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_body),
        cmocka_unit_test(test_optional_fields_absent),
        cmocka_unit_test(test_candidate_without_last_name_or_phone),
        cmocka_unit_test(test_number_template_id_normalised),
        cmocka_unit_test(test_job_id_checked_against_jobs),
        cmocka_unit_test(test_invalid_json),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_missing_fields),
        cmocka_unit_test(test_unknown_template),
        cmocka_unit_test(test_callback_url),
        cmocka_unit_test(test_insecure_body),
        cmocka_unit_test(test_email_syntax),
        cmocka_unit_test(test_same_answers_as_before),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
