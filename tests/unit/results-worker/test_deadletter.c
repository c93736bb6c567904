#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "deadletter.h"

static json_t *load(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, JSON_REJECT_DUPLICATES, &e);
    assert_non_null(v);
    return v;
}

static void test_text_value(void **state)
{
    (void)state;
    const char *value = "{\"interview_id\":\"abc\",\"status\":\"bogus\"}";
    char *s = rw_dead_letter_value("invalid status event: unknown status", "interviews.status", 3,
                                   42, "abc", 3, value, strlen(value), 1795896000123LL);
    assert_non_null(s);
    json_t *v = load(s);
    assert_string_equal(json_string_value(json_object_get(v, "reason")),
                        "invalid status event: unknown status");
    assert_string_equal(json_string_value(json_object_get(v, "source_topic")), "interviews.status");
    assert_int_equal(json_integer_value(json_object_get(v, "partition")), 3);
    assert_int_equal(json_integer_value(json_object_get(v, "offset")), 42);
    assert_string_equal(json_string_value(json_object_get(v, "key")), "abc");
    assert_string_equal(json_string_value(json_object_get(v, "value")), value);
    assert_non_null(strstr(json_string_value(json_object_get(v, "failed_at")), "T"));
    assert_null(json_object_get(v, "value_base64"));
    json_decref(v);
    free(s);
}

static void test_binary_and_absent(void **state)
{
    (void)state;
    const unsigned char bin[] = {0xff, 0xfe, 'a'};
    char *s = rw_dead_letter_value("r", "t", 0, 0, NULL, 0, bin, sizeof(bin), 0);
    assert_non_null(s);
    json_t *v = load(s);
    assert_true(json_is_null(json_object_get(v, "key")));
    assert_true(json_is_null(json_object_get(v, "value")));
    assert_string_equal(json_string_value(json_object_get(v, "value_base64")), "//5h");
    json_decref(v);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_value),
        cmocka_unit_test(test_binary_and_absent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
