/* Unit tests of shared/src/json.c: the JSON trust boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ib/json.h"

static json_t *parse(const char *s, int depth)
{
    char err[160];
    return ib_json_parse(s, strlen(s), depth, err, sizeof(err));
}

static void test_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"a\":1,\"a\":2}",   /* duplicate keys */
        "{\"a\":\"\xff\"}",    /* invalid UTF-8 */
        "{\"a\":\"\\u0000\"}", /* NUL in a string */
        "{\"a\":1",            /* truncated */
        "{\"a\":1} x",         /* trailing garbage */
        "",
    };
    for (size_t i = 0; i < IB_ARRAY_LEN(bad); i++) {
        json_t *v = parse(bad[i], 8);
        if (v != NULL)
            fail_msg("accepted case %zu", i);
    }
}

static void test_depth_limit(void **state)
{
    (void)state;
    char deep[256];
    size_t n = 0;
    for (int i = 0; i < 9; i++)
        deep[n++] = '[';
    for (int i = 0; i < 9; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    assert_null(parse(deep, 8));
    json_t *v = parse(deep, 9);
    assert_non_null(v);
    assert_int_equal(ib_json_depth(v), 9);
    json_decref(v);
    v = parse("{\"a\":{\"b\":[1,{\"c\":2}]}}", 4);
    assert_non_null(v);
    assert_int_equal(ib_json_depth(v), 4);
    json_decref(v);
    assert_null(parse("{\"a\":{\"b\":[1,{\"c\":{}}]}}", 4));
}

static void test_embedded_nul_in_buffer(void **state)
{
    (void)state;
    char err[160];
    static const char buf[] = "{\"a\":1}\0{\"b\":2}";
    json_t *v = ib_json_parse(buf, sizeof(buf) - 1, 8, err, sizeof(err));
    assert_null(v);
}

/* The arena: trees made in a scope are dropped in it, trees from outside survive it, big blocks
 * fall through to malloc, scopes nest, and the dump matches json_dumps byte for byte. */
static void test_arena(void **state)
{
    (void)state;
    static const char doc[] = "{\"b\":[1,2.5,\"x\\u00e9\"],\"a\":{\"k\":null,\"t\":true}}";
    char why[128];
    ib_json_arena_install();
    json_t *outside = ib_json_parse(doc, strlen(doc), 8, why, sizeof(why));
    assert_non_null(outside);
    char *expect = json_dumps(outside, JSON_COMPACT);
    assert_non_null(expect);
    for (int round = 0; round < 3; round++) {
        ib_json_arena_begin();
        json_t *v = ib_json_parse(doc, strlen(doc), 8, why, sizeof(why));
        assert_non_null(v);
        ib_json_arena_begin();
        json_t *big = json_array();
        for (int i = 0; i < 5000; i++) /* more than the arena holds */
            assert_int_equal(json_array_append_new(big, json_string("some bytes")), 0);
        json_array_append(big, outside);
        json_decref(big);
        ib_json_arena_end();
        size_t len = 0;
        char *got = ib_json_dump_malloc(v, 0, &len);
        assert_non_null(got);
        assert_string_equal(got, expect);
        assert_int_equal(len, strlen(expect));
        free(got);
        json_decref(v);
        ib_json_arena_end();
    }
    ib_json_arena_end(); /* unbalanced: ignored */
    char *again = json_dumps(outside, JSON_COMPACT);
    assert_string_equal(again, expect);
    free(again);
    free(expect);
    json_decref(outside);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects), cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_embedded_nul_in_buffer),
        cmocka_unit_test(test_arena), /* last: it installs the allocator */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
