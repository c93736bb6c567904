/* Unit tests of api-gateway/src/routes.c: templates, {id}, 404 vs 405 with Allow, each row's
 * handler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "handlers.h"
#include "routes.h"

static void expect(const char *path, const char *method, gw_route_result_t rr, gw_route_id_t id,
                   const char *name, const char *param)
{
    gw_route_t r;
    gw_route_result_t got = gw_route_match(path, method, &r);
    if (got != rr || (rr != GW_ROUTE_NOT_FOUND && r.id != id))
        fail_msg("%s %s: got result %d route %d, want %d route %d", method, path, (int)got,
                 (int)r.id, (int)rr, (int)id);
    assert_string_equal(r.name, name);
    if (param != NULL)
        assert_string_equal(r.param, param);
}

static void test_fixed_paths(void **state)
{
    (void)state;
    expect("/healthz", "GET", GW_ROUTE_OK, GW_ROUTE_HEALTHZ, "/healthz", "");
    expect("/readyz", "GET", GW_ROUTE_OK, GW_ROUTE_READYZ, "/readyz", NULL);
    expect("/metrics", "GET", GW_ROUTE_OK, GW_ROUTE_METRICS, "/metrics", NULL);
    expect("/interview-templates", "GET", GW_ROUTE_OK, GW_ROUTE_TEMPLATES, "/interview-templates",
           NULL);
    expect("/jobs", "GET", GW_ROUTE_OK, GW_ROUTE_JOBS, "/jobs", NULL);
    expect("/interviews", "POST", GW_ROUTE_OK, GW_ROUTE_INTERVIEWS, "/interviews", NULL);
}

static void test_interview_id(void **state)
{
    gw_route_t r;
    (void)state;
    expect("/interviews/abc123", "GET", GW_ROUTE_OK, GW_ROUTE_INTERVIEW, "/interviews/{id}",
           "abc123");
    expect("/interviews/abc123/shared-link", "GET", GW_ROUTE_OK, GW_ROUTE_SHARED_LINK,
           "/interviews/{id}/shared-link", "abc123");
    /* Not routes: empty segment, extra segments, other suffixes, too long an id. */
    const char *none[] = {"/interviews//shared-link",
                          "/interviews/a/b",
                          "/interviews/a/shared-link//",
                          "/interviews/a/link",
                          "/interviewsx",
                          "/interviews/a//",
                          "/interviews//",
                          "/",
                          "//",
                          "",
                          "/healthz/"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        if (gw_route_match(none[i], "GET", &r) != GW_ROUTE_NOT_FOUND)
            fail_msg("%s routed", none[i]);
        assert_string_equal(r.name, "unmatched");
    }
    char path[128] = "/interviews/";
    memset(path + strlen(path), 'a', GW_ROUTE_ID_MAX);
    assert_int_equal(gw_route_match(path, "GET", &r), GW_ROUTE_OK);
    strcat(path, "a");
    assert_int_equal(gw_route_match(path, "GET", &r), GW_ROUTE_NOT_FOUND);
}

/* Clients write "/interview-templates/" and "POST /interviews/": one trailing slash on a
 * Workable endpoint is the same route. The operations endpoints are probed by machines and stay
 * exact. */
static void test_trailing_slash(void **state)
{
    gw_route_t r;
    (void)state;
    expect("/interview-templates/", "GET", GW_ROUTE_OK, GW_ROUTE_TEMPLATES, "/interview-templates",
           NULL);
    expect("/jobs/", "GET", GW_ROUTE_OK, GW_ROUTE_JOBS, "/jobs", NULL);
    expect("/interviews/", "POST", GW_ROUTE_OK, GW_ROUTE_INTERVIEWS, "/interviews", NULL);
    expect("/interviews/abc/", "GET", GW_ROUTE_OK, GW_ROUTE_INTERVIEW, "/interviews/{id}", "abc");
    expect("/interviews/abc/shared-link/", "GET", GW_ROUTE_OK, GW_ROUTE_SHARED_LINK,
           "/interviews/{id}/shared-link", "abc");
    assert_int_equal(gw_route_match("/interviews/", "GET", &r), GW_ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(r.allow, "POST");
    assert_int_equal(gw_route_match("/healthz/", "GET", &r), GW_ROUTE_NOT_FOUND);
    assert_int_equal(gw_route_match("/metrics/", "GET", &r), GW_ROUTE_NOT_FOUND);
}

/* GATEWAY_BASE_PATH=/workable: Workable's endpoints live under it (and only there), the
 * operations endpoints stay at the root. */
static void test_base_path(void **state)
{
    gw_route_t r;
    (void)state;
    static const struct {
        const char *path;
        const char *method;
        gw_route_result_t rr;
        gw_route_id_t id;
    } rows[] = {
        {"/workable/interview-templates", "GET", GW_ROUTE_OK, GW_ROUTE_TEMPLATES},
        {"/workable/interview-templates/", "GET", GW_ROUTE_OK, GW_ROUTE_TEMPLATES},
        {"/workable/jobs", "GET", GW_ROUTE_OK, GW_ROUTE_JOBS},
        {"/workable/interviews", "POST", GW_ROUTE_OK, GW_ROUTE_INTERVIEWS},
        {"/workable/interviews/", "POST", GW_ROUTE_OK, GW_ROUTE_INTERVIEWS},
        {"/workable/interviews/x", "GET", GW_ROUTE_OK, GW_ROUTE_INTERVIEW},
        {"/workable/interviews/x/shared-link", "GET", GW_ROUTE_OK, GW_ROUTE_SHARED_LINK},
        {"/workable/interviews", "GET", GW_ROUTE_METHOD_NOT_ALLOWED, GW_ROUTE_INTERVIEWS},
        {"/healthz", "GET", GW_ROUTE_OK, GW_ROUTE_HEALTHZ},
        {"/readyz", "GET", GW_ROUTE_OK, GW_ROUTE_READYZ},
        {"/metrics", "GET", GW_ROUTE_OK, GW_ROUTE_METRICS},
        /* Not routes: outside the base, the base alone, a prefix of a segment, ops under it. */
        {"/interviews", "POST", GW_ROUTE_NOT_FOUND, GW_ROUTE_NONE},
        {"/interview-templates", "GET", GW_ROUTE_NOT_FOUND, GW_ROUTE_NONE},
        {"/workable", "GET", GW_ROUTE_NOT_FOUND, GW_ROUTE_NONE},
        {"/workable/", "GET", GW_ROUTE_NOT_FOUND, GW_ROUTE_NONE},
        {"/workablex/interviews", "POST", GW_ROUTE_NOT_FOUND, GW_ROUTE_NONE},
        {"/workable/healthz", "GET", GW_ROUTE_NOT_FOUND, GW_ROUTE_NONE},
        {"/workable//interviews", "POST", GW_ROUTE_NOT_FOUND, GW_ROUTE_NONE},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        gw_route_result_t got = gw_route_match_under("/workable", rows[i].path, rows[i].method, &r);
        if (got != rows[i].rr || (got != GW_ROUTE_NOT_FOUND && r.id != rows[i].id))
            fail_msg("%s %s: got %d route %d", rows[i].method, rows[i].path, (int)got, (int)r.id);
    }
    /* A nested base and the empty base (the root). */
    assert_int_equal(gw_route_match_under("/api/v1", "/api/v1/jobs/", "GET", &r), GW_ROUTE_OK);
    assert_int_equal(r.id, GW_ROUTE_JOBS);
    assert_int_equal(gw_route_match_under("", "/jobs", "GET", &r), GW_ROUTE_OK);
    assert_int_equal(r.id, GW_ROUTE_JOBS);
}

static void test_method_not_allowed(void **state)
{
    gw_route_t r;
    (void)state;
    assert_int_equal(gw_route_match("/interviews", "GET", &r), GW_ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(r.allow, "POST");
    assert_int_equal(gw_route_match("/interviews/x", "POST", &r), GW_ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(r.allow, "GET");
    assert_int_equal(gw_route_match("/interview-templates", "DELETE", &r),
                     GW_ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(r.allow, "GET");
    assert_string_equal(r.name, "/interview-templates");
    assert_int_equal(gw_route_match("/metrics", "POST", &r), GW_ROUTE_METHOD_NOT_ALLOWED);
    /* Methods are case-sensitive (RFC 9110). */
    assert_int_equal(gw_route_match("/healthz", "get", &r), GW_ROUTE_METHOD_NOT_ALLOWED);
}

static void test_authentication_flags(void **state)
{
    gw_route_t r;
    (void)state;
    const char *open[] = {"/healthz", "/readyz", "/metrics"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(gw_route_match(open[i], "GET", &r), GW_ROUTE_OK);
        assert_false(r.authenticated);
    }
    const char *closed[][2] = {{"/interview-templates", "GET"},
                               {"/jobs", "GET"},
                               {"/interviews", "POST"},
                               {"/interviews/x", "GET"},
                               {"/interviews/x/shared-link", "GET"}};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(gw_route_match(closed[i][0], closed[i][1], &r), GW_ROUTE_OK);
        assert_true(r.authenticated);
    }
}

static void test_rows_carry_their_handler(void **state)
{
    static const struct {
        const char *path;
        const char *method;
        gw_route_handler_fn *handler;
        int json_body;
    } rows[] = {
        {"/healthz", "GET", gw_handle_healthz, 0},
        {"/readyz", "GET", gw_handle_readyz, 0},
        {"/metrics", "GET", gw_handle_metrics, 0},
        {"/interview-templates", "GET", gw_handle_templates, 0},
        {"/jobs", "GET", gw_handle_jobs, 0},
        {"/interviews", "POST", gw_handle_interviews, 1},
        {"/interviews/x", "GET", gw_handle_interview, 0},
        {"/interviews/x/shared-link", "GET", gw_handle_shared_link, 0},
    };
    gw_route_t r;
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(gw_route_match(rows[i].path, rows[i].method, &r), GW_ROUTE_OK);
        if (r.handler != rows[i].handler)
            fail_msg("%s %s: another row's handler", rows[i].method, rows[i].path);
        assert_int_equal(r.json_body, rows[i].json_body);
    }
    assert_int_equal(gw_route_match("/nowhere", "GET", &r), GW_ROUTE_NOT_FOUND);
    assert_null(r.handler);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_paths),
        cmocka_unit_test(test_interview_id),
        cmocka_unit_test(test_trailing_slash),
        cmocka_unit_test(test_base_path),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_authentication_flags),
        cmocka_unit_test(test_rows_carry_their_handler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
