/* Unit tests of api-gateway/src/telemetry.c: the series /metrics exposes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ib/tenants.h"
#include "telemetry.h"

static void assert_has(const char *text, const char *line)
{
    if (strstr(text, line) == NULL)
        fail_msg("metrics lack %s in:\n%s", line, text);
}

static void test_requests_and_produce(void **state)
{
    (void)state;
    gw_telemetry_t *t = gw_telemetry_new();
    assert_non_null(t);
    gw_telemetry_request_begin(t);
    gw_telemetry_request_begin(t);
    gw_telemetry_request_end(t, "/interviews/{id}", "GET", 404, 0.003);
    gw_telemetry_request_begin(t);
    gw_telemetry_request_end(t, "/interviews/{id}", "GET", 404, 0.2);
    gw_telemetry_request_begin(t);
    gw_telemetry_request_end(t, "unmatched", "BREW", 0, 0.0001);
    gw_telemetry_produce(t, "acknowledged", 0.004);
    gw_telemetry_produce(t, "timeout", 3.0);

    size_t len = 0;
    char *text = gw_telemetry_render(t, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_has(text, "# TYPE ib_gateway_http_requests_total counter\n");
    assert_has(text, "ib_gateway_http_requests_total{route=\"/interviews/"
                     "{id}\",method=\"GET\",status=\"404\"} 2\n");
    assert_has(
        text,
        "ib_gateway_http_requests_total{route=\"unmatched\",method=\"other\",status=\"none\"} 1\n");
    assert_has(text, "# TYPE ib_gateway_http_request_duration_seconds histogram\n");
    assert_has(text, "ib_gateway_http_request_duration_seconds_bucket{route=\"/interviews/"
                     "{id}\",le=\"0.005\"} 1\n");
    assert_has(text, "ib_gateway_http_request_duration_seconds_bucket{route=\"/interviews/"
                     "{id}\",le=\"+Inf\"} 2\n");
    assert_has(text,
               "ib_gateway_http_request_duration_seconds_count{route=\"/interviews/{id}\"} 2\n");
    assert_has(text, "ib_gateway_http_requests_in_flight 1\n"); /* one begun, never ended */
    assert_has(text,
               "ib_gateway_kafka_produce_duration_seconds_count{outcome=\"acknowledged\"} 1\n");
    assert_has(text, "ib_gateway_kafka_produce_errors_total{outcome=\"timeout\"} 1\n");
    assert_null(strstr(text, "ib_gateway_kafka_produce_errors_total{outcome=\"acknowledged\"}"));
    free(text);
    gw_telemetry_free(t);
}

static void test_view_gauges(void **state)
{
    char err[256];
    (void)state;
    static const char tenants_json[] =
        "{\"tenants\":[{\"id\":\"t\",\"api_token_sha256\":"
        "[\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"],"
        "\"workable_token\":\"w\",\"callback_hosts\":[\"x.example\"]}]}";
    ib_tenants_t *ts = ib_tenants_parse(tenants_json, strlen(tenants_json), NULL, err, sizeof(err));
    assert_non_null(ts);
    gw_interviews_t *iv = gw_interviews_new(ts, 10);
    gw_catalog_t *cat = gw_catalog_new();
    assert_non_null(iv);
    assert_non_null(cat);
    const char *id = "0123456789abcdef0123456789abcdef";
    const char *v = "{\"interview_id\":\"0123456789abcdef0123456789abcdef\",\"tenant\":\"t\"}";
    assert_int_equal(gw_interviews_apply_requested(iv, id, 32, v, strlen(v), err, sizeof(err)),
                     IB_OK);
    const char *c = "{\"interview_templates\":[]}";
    assert_int_equal(gw_catalog_apply(cat, "t", c, strlen(c), err, sizeof(err)), IB_OK);

    gw_telemetry_t *t = gw_telemetry_new();
    assert_non_null(t);
    gw_telemetry_sources_t src = {NULL, NULL, 0, cat, iv, NULL};
    gw_telemetry_set_sources(t, &src);
    char *text = gw_telemetry_render(t, NULL);
    assert_non_null(text);
    assert_has(text, "ib_gateway_view_interviews 1\n");
    assert_has(text, "ib_gateway_view_interviews_with_status 0\n");
    assert_has(text, "ib_gateway_view_catalog_tenants 1\n");
    assert_has(text, "# TYPE ib_gateway_view_lag_messages gauge\n");
    free(text);
    gw_telemetry_free(t);
    gw_interviews_free(iv);
    gw_catalog_destroy(cat);
    ib_tenants_free(ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_and_produce),
        cmocka_unit_test(test_view_gauges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
