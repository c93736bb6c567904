/* Unit tests of the jansson arena of shared/src/json.c (ib_json_arena_*): a tree parsed, copied
 * and written inside a scope gives the same bytes as outside one, and scopes on two threads at once
 * do not share memory. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ib/json.h"
#include "ib/jsonw.h"

/* Parses text and writes it back compactly (with jansson only through ib_json_parse). */
static char *round_trip(const char *text, size_t len)
{
    char why[160];
    char storage[256];
    ib_jw_t w;
    size_t out_len = 0;
    json_t *v = ib_json_parse(text, len, IB_JSON_MAX_DEPTH, why, sizeof(why));
    if (v == NULL)
        return strdup(why);
    json_t *copy = json_deep_copy(v); /* more allocations and frees */
    json_object_set_new(copy, "added", json_real(2.5));
    ib_jw_init(&w, storage, sizeof(storage));
    ib_jw_value(&w, copy);
    json_decref(copy);
    json_decref(v);
    char *out = ib_jw_take(&w, &out_len);
    ib_jw_free(&w);
    return out;
}

/* A document of n array elements (big ones outgrow the region: malloc takes over). */
static char *doc_of(size_t n)
{
    size_t size = 64 + n * 16;
    char *s = malloc(size);
    assert_non_null(s);
    size_t k = (size_t)snprintf(s, size, "{\"k\":\"caf\\u00e9\",\"a\":[");
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(s + k, size - k, "%s{\"x\":%zu}", i > 0 ? "," : "", i);
    snprintf(s + k, size - k, "]}");
    return s;
}

static void test_same_results_in_and_out_of_a_window(void **state)
{
    (void)state;
    static const char *const fixed[] = {"{\"a\":1,\"a\":2}", "{\"a\":\"\xff\"}",
                                        "[[[[[[[[[[[["
                                        "[[[[[[[[[]]]]]]]]]"
                                        "]]]]]]]]]",
                                        "{\"s\":\"x\",\"n\":null,\"t\":true}", "{"};
    size_t sizes[] = {0, 1, 10, 1000, 20000};
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < IB_ARRAY_LEN(fixed) + IB_ARRAY_LEN(sizes); i++) {
            char *text =
                i < IB_ARRAY_LEN(fixed) ? strdup(fixed[i]) : doc_of(sizes[i - IB_ARRAY_LEN(fixed)]);
            char *plain = round_trip(text, strlen(text));
            ib_json_arena_begin();
            char *arena = round_trip(text, strlen(text));
            ib_json_arena_end();
            assert_non_null(plain);
            assert_non_null(arena);
            assert_string_equal(plain, arena);
            free(plain);
            free(arena);
            free(text);
        }
    }
}

/* Each thread has its own arena: two threads in a scope at once build and drop trees without
 * touching each other's values. */
static void *churn(void *arg)
{
    const char *text = arg;
    ib_json_arena_begin();
    for (int i = 0; i < 2000; i++) {
        char *out = round_trip(text, strlen(text));
        assert_non_null(out);
        assert_non_null(strstr(out, "\"added\":2.5"));
        free(out);
    }
    ib_json_arena_end();
    return NULL;
}

static void test_threads_have_their_own_arena(void **state)
{
    (void)state;
    pthread_t th;
    char *a = doc_of(40);
    char *b = doc_of(3);
    assert_int_equal(pthread_create(&th, NULL, churn, a), 0);
    churn(b);
    pthread_join(th, NULL);
    free(a);
    free(b);
}

int main(void)
{
    ib_json_arena_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_results_in_and_out_of_a_window),
        cmocka_unit_test(test_threads_have_their_own_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
