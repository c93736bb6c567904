/* Unit tests of api-gateway/src/jarena.c: jansson's allocations in a per-request arena. */
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
#include "jarena.h"

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
            assert_int_equal(gw_jarena_begin(), 1);
            char *arena = round_trip(text, strlen(text));
            gw_jarena_end();
            assert_non_null(plain);
            assert_non_null(arena);
            assert_string_equal(plain, arena);
            free(plain);
            free(arena);
            free(text);
        }
    }
}

static void *try_begin(void *arg)
{
    int *got = arg;
    *got = gw_jarena_begin();
    json_t *v = json_pack("{s:s}", "k", "v"); /* malloc'd: no window on this thread */
    json_decref(v);
    gw_jarena_end();
    return NULL;
}

static void test_one_window_at_a_time(void **state)
{
    (void)state;
    pthread_t th;
    int got = -1;
    assert_int_equal(gw_jarena_begin(), 1);
    assert_int_equal(pthread_create(&th, NULL, try_begin, &got), 0);
    pthread_join(th, NULL);
    assert_int_equal(got, 0);
    gw_jarena_end();
    assert_int_equal(pthread_create(&th, NULL, try_begin, &got), 0);
    pthread_join(th, NULL);
    assert_int_equal(got, 1);
}

int main(void)
{
    gw_jarena_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_results_in_and_out_of_a_window),
        cmocka_unit_test(test_one_window_at_a_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
