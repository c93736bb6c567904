/* Unit tests of api-gateway/src/catalog.c: the materialised view (records applied directly). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog.h"

static gw_catalog_t *cat;

static int setup(void **state)
{
    (void)state;
    cat = gw_catalog_new();
    return cat != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    gw_catalog_destroy(cat);
    cat = NULL;
    return 0;
}

static ib_rc_t apply(const char *tenant, const char *value)
{
    char err[256];
    return gw_catalog_apply(cat, tenant, value, value != NULL ? strlen(value) : 0, err,
                            sizeof(err));
}

static void assert_json(json_t *got, const char *expect_text)
{
    json_t *expect = json_loads(expect_text, JSON_DECODE_ANY, NULL);
    assert_non_null(expect);
    if (!json_equal(got, expect)) {
        char *g = json_dumps(got, JSON_ENCODE_ANY);
        fail_msg("got %s, expected %s", g, expect_text);
    }
    json_decref(expect);
    json_decref(got);
}

/* The rendered GET bodies are the bytes the handlers once built per request from the lists:
 * json_dumps(JSON_COMPACT) of {"interview_templates": [...]} and {"jobs": [...]}. */
static void assert_bodies(const char *tenant)
{
    size_t len = 0;
    char *body = gw_catalog_templates_body(cat, tenant, &len);
    json_t *old = json_pack("{s:o}", "interview_templates", gw_catalog_templates(cat, tenant));
    char *expect = json_dumps(old, JSON_COMPACT);
    assert_non_null(body);
    assert_string_equal(body, expect);
    assert_int_equal(len, strlen(expect));
    free(body);
    free(expect);
    json_decref(old);

    body = NULL;
    assert_int_equal(gw_catalog_jobs_body(cat, tenant, &body, &len), IB_OK);
    json_t *jobs = gw_catalog_jobs(cat, tenant);
    if (jobs == NULL) {
        assert_null(body);
        return;
    }
    old = json_pack("{s:o}", "jobs", jobs);
    expect = json_dumps(old, JSON_COMPACT);
    assert_non_null(body);
    assert_string_equal(body, expect);
    assert_int_equal(len, strlen(expect));
    free(body);
    free(expect);
    json_decref(old);
}

static void test_rendered_bodies(void **state)
{
    (void)state;
    assert_bodies("nobody");
    assert_int_equal(apply("a", "{\"interview_templates\":[{\"id\":\"1\",\"name\":\"Caf\\u00e9 "
                                "\\\"One\\\" /\\n\"},{\"id\":22,\"name\":\"x\"}],"
                                "\"jobs\":[{\"id\":\"j\",\"name\":\"Job\"}]}"),
                     IB_OK);
    assert_bodies("a");
    size_t len = 0;
    char *body = gw_catalog_templates_body(cat, "a", &len);
    assert_string_equal(body, "{\"interview_templates\":[{\"id\":\"1\",\"name\":\"Caf\xc3\xa9 "
                              "\\\"One\\\" /\\n\"},{\"id\":\"22\",\"name\":\"x\"}]}");
    free(body);
    /* A change renders again; a refused value keeps the previous bodies; a tombstone drops them. */
    assert_int_equal(apply("a", "{\"interview_templates\":[{\"id\":\"2\",\"name\":\"Two\"}]}"),
                     IB_OK);
    assert_bodies("a");
    body = gw_catalog_templates_body(cat, "a", &len);
    assert_string_equal(body, "{\"interview_templates\":[{\"id\":\"2\",\"name\":\"Two\"}]}");
    free(body);
    assert_int_equal(apply("a", "not json"), IB_ERR);
    assert_bodies("a");
    body = gw_catalog_templates_body(cat, "a", &len);
    assert_string_equal(body, "{\"interview_templates\":[{\"id\":\"2\",\"name\":\"Two\"}]}");
    free(body);
    assert_int_equal(apply("a", NULL), IB_OK);
    assert_bodies("a");
    body = gw_catalog_templates_body(cat, "a", &len);
    assert_string_equal(body, "{\"interview_templates\":[]}");
    free(body);
}

static void test_unknown_tenant_is_empty(void **state)
{
    (void)state;
    assert_json(gw_catalog_templates(cat, "nobody"), "[]");
    assert_null(gw_catalog_jobs(cat, "nobody"));
    assert_false(gw_catalog_has_template(cat, "nobody", "1"));
    assert_int_equal(gw_catalog_job_known("nobody", "j", cat), -1);
    assert_int_equal(gw_catalog_size(cat), 0);
}

static void test_latest_value_wins_and_tombstone(void **state)
{
    (void)state;
    assert_int_equal(apply("a", "{\"interview_templates\":[{\"id\":\"1\",\"name\":\"One\"}],"
                                "\"jobs\":[{\"id\":\"j\",\"name\":\"Job\"}],\"extra\":1}"),
                     IB_OK);
    assert_int_equal(apply("b", "{\"interview_templates\":[{\"id\":7,\"name\":\"Seven\"}]}"),
                     IB_OK);
    assert_json(gw_catalog_templates(cat, "a"), "[{\"id\":\"1\",\"name\":\"One\"}]");
    assert_json(gw_catalog_jobs(cat, "a"), "[{\"id\":\"j\",\"name\":\"Job\"}]");
    assert_true(gw_catalog_has_job(cat, "a", "j"));
    assert_int_equal(gw_catalog_job_known("a", "j", cat), 1);
    assert_int_equal(gw_catalog_job_known("a", "k", cat), 0);
    assert_int_equal(gw_catalog_job_known("b", "anything", cat), -1); /* no jobs key */
    assert_int_equal(gw_catalog_size(cat), 2);
    /* Integer ids are served as strings; no jobs key means no job categorisation. */
    assert_json(gw_catalog_templates(cat, "b"), "[{\"id\":\"7\",\"name\":\"Seven\"}]");
    assert_null(gw_catalog_jobs(cat, "b"));
    assert_true(gw_catalog_has_template(cat, "b", "7"));
    assert_true(gw_catalog_template_known("b", "7", cat));
    assert_false(gw_catalog_has_template(cat, "a", "7")); /* isolation */

    assert_int_equal(apply("a", "{\"interview_templates\":[{\"id\":\"2\",\"name\":\"Two\"}]}"),
                     IB_OK);
    assert_false(gw_catalog_has_template(cat, "a", "1"));
    assert_true(gw_catalog_has_template(cat, "a", "2"));
    assert_null(gw_catalog_jobs(cat, "a"));

    assert_int_equal(apply("a", NULL), IB_OK); /* tombstone */
    assert_json(gw_catalog_templates(cat, "a"), "[]");
    assert_bodies("a");
    assert_bodies("b");
    assert_int_equal(apply("a", NULL), IB_OK); /* tombstone of an absent key */
}

static void test_invalid_value_keeps_previous(void **state)
{
    (void)state;
    assert_int_equal(apply("a", "{\"interview_templates\":[{\"id\":\"1\",\"name\":\"One\"}]}"),
                     IB_OK);
    const char *bad[] = {"",
                         "not json",
                         "[]",
                         "{}",
                         "{\"interview_templates\":{}}",
                         "{\"interview_templates\":[{\"id\":\"1\"}]}",
                         "{\"interview_templates\":[{\"id\":\"\",\"name\":\"x\"}]}",
                         "{\"interview_templates\":[{\"id\":1.5,\"name\":\"x\"}]}",
                         "{\"interview_templates\":[\"1\"]}",
                         "{\"interview_templates\":[],\"jobs\":\"x\"}",
                         "{\"interview_templates\":[],\"a\":1,\"a\":2}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        assert_int_equal(gw_catalog_apply(cat, "a", bad[i], strlen(bad[i]), err, sizeof(err)),
                         IB_ERR);
        assert_true(err[0] != '\0');
    }
    assert_true(gw_catalog_has_template(cat, "a", "1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rendered_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_tenant_is_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latest_value_wins_and_tombstone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_value_keeps_previous, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
