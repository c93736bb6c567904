/* Unit tests of shared/src/metrics.c: Prometheus text exposition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ib/metrics.h"

static void collect(void *opaque)
{
    ib_series_set(ib_metric_single(opaque), 42);
}

static void test_render(void **state)
{
    (void)state;
    ib_metrics_t *m = ib_metrics_new();
    static const char *const route_status[] = {"route", "status"};
    ib_metric_t *req = ib_metrics_family(m, IB_METRIC_COUNTER, "ib_requests_total", "Requests.", 2,
                                         route_status, NULL, 0);
    ib_metric_t *inflight =
        ib_metrics_family(m, IB_METRIC_GAUGE, "ib_in_flight", "In flight.", 0, NULL, NULL, 0);
    static const double bounds[] = {0.01, 0.1};
    ib_metric_t *lat = ib_metrics_family(m, IB_METRIC_HISTOGRAM, "ib_latency_seconds", "Latency.",
                                         0, NULL, bounds, 2);
    assert_non_null(req);
    assert_non_null(lat);
    const char *a[] = {"POST /interviews", "201"};
    const char *b[] = {"weird\"\\\nroute", "404"};
    ib_metric_inc(req, a);
    ib_metric_inc(req, a);
    ib_metric_inc(req, b);
    assert_ptr_equal(ib_metric_series(req, a), ib_metric_series(req, a));
    ib_series_observe(ib_metric_single(lat), 0.005);
    ib_series_observe(ib_metric_single(lat), 0.05);
    ib_series_observe(ib_metric_single(lat), 3);
    ib_metrics_on_collect(m, collect, inflight);
    size_t len = 0;
    char *text = ib_metrics_render(m, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    const char *want[] = {
        "# TYPE ib_requests_total counter\n",
        "ib_requests_total{route=\"POST /interviews\",status=\"201\"} 2\n",
        "ib_requests_total{route=\"weird\\\"\\\\\\nroute\",status=\"404\"} 1\n",
        "# TYPE ib_in_flight gauge\nib_in_flight 42\n",
        "ib_latency_seconds_bucket{le=\"0.01\"} 1\n",
        "ib_latency_seconds_bucket{le=\"0.1\"} 2\n",
        "ib_latency_seconds_bucket{le=\"+Inf\"} 3\n",
        "ib_latency_seconds_sum 3.055\n",
        "ib_latency_seconds_count 3\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (strstr(text, want[i]) == NULL)
            fail_msg("missing %s in:\n%s", want[i], text);
    free(text);
    ib_metrics_free(m);
}

static void test_series_cap(void **state)
{
    (void)state;
    ib_metrics_t *m = ib_metrics_new();
    static const char *const host[] = {"host"};
    ib_metric_t *f = ib_metrics_family(m, IB_METRIC_COUNTER, "ib_x_total", "X.", 1, host, NULL, 0);
    char name[32];
    for (int i = 0; i < IB_METRICS_MAX_SERIES + 10; i++) {
        snprintf(name, sizeof(name), "h%d", i);
        const char *v[] = {name};
        ib_metric_inc(f, v);
    }
    char *text = ib_metrics_render(m, NULL);
    assert_non_null(strstr(text, "ib_x_total{host=\"_other\"} 10\n"));
    free(text);
    ib_metrics_free(m);
}

static void test_register_table(void **state)
{
    (void)state;
    static const char *const route[] = {"route"};
    static const char *const too_many[] = {"a", "b", "c", "d", "e"};
    static const double bounds[] = {1, 2};
    ib_metrics_t *m = ib_metrics_new();
    ib_metric_t *req = NULL;
    ib_series_t *up = NULL;
    ib_series_t *lat = NULL;
    ib_series_t *bad = (ib_series_t *)&up; /* any non-NULL value: it must be overwritten */
    ib_series_t *after = (ib_series_t *)&up;
    const ib_metric_desc_t good[] = {
        {IB_METRIC_COUNTER, "ib_req_total", "Requests.", 1, route, NULL, 0, &req, NULL},
        {IB_METRIC_GAUGE, "ib_up", "Up.", .series = &up},
        {IB_METRIC_HISTOGRAM, "ib_lat", "Lat.", 0, NULL, bounds, 2, NULL, &lat},
    };
    assert_int_equal(ib_metrics_register(m, good, 3), IB_OK);
    assert_non_null(req);
    assert_non_null(up);
    assert_non_null(lat);
    const char *v[] = {"/x"};
    ib_metric_inc(req, v);
    ib_series_set(up, 1);
    ib_series_observe(lat, 1.5);

    const ib_metric_desc_t broken[] = {
        {IB_METRIC_GAUGE, "ib_bad", "Bad.", 5, too_many, NULL, 0, NULL, &bad},
        {IB_METRIC_GAUGE, "ib_after", "After.", .series = &after},
    };
    assert_int_equal(ib_metrics_register(m, broken, 2), IB_ERR);
    assert_null(bad);
    assert_null(after);

    char *text = ib_metrics_render(m, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "# TYPE ib_req_total counter\n"));
    assert_non_null(strstr(text, "ib_req_total{route=\"/x\"} 1\n"));
    assert_non_null(strstr(text, "# HELP ib_up Up.\n# TYPE ib_up gauge\nib_up 1\n"));
    assert_non_null(strstr(text, "ib_lat_bucket{le=\"1\"} 0\nib_lat_bucket{le=\"2\"} 1\n"));
    assert_null(strstr(text, "ib_bad"));
    assert_null(strstr(text, "ib_after"));
    free(text);
    ib_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_series_cap),
        cmocka_unit_test(test_register_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
