/* Unit tests of api-gateway/src/validate.c: POST /interviews body -> request or contract error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ib/crypto.h"
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
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
