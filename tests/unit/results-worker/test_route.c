/* Unit tests of results-worker/src/route.c: where a status event belongs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ib/partition.h"
#include "route.h"

/* murmur2 owners (Java client, 6 partitions): "foobar" 0, "abc" 3, "x" 4, "xy" 3 (see
 * tests/unit/shared/test_partition.c). */
#define VAL(id) "{\"interview_id\":\"" id "\",\"status\":\"completed\"}"

static rw_route_t route(const char *value, int32_t p, int32_t n, int local, char *id,
                        int32_t *owner)
{
    return rw_route_status(value, value != NULL ? strlen(value) : 0, p, n, local, id, owner);
}

static void test_fast_path(void **state)
{
    (void)state;
    char id[RW_JOIN_MAX_ID_LEN + 1];
    int32_t owner = 99;
    assert_int_equal(route(VAL("abc"), 3, 6, 1, id, &owner), RW_ROUTE_LOCAL);
    assert_int_equal(owner, 3);
    assert_string_equal(id, "abc");
    assert_int_equal(route(VAL("foobar"), 0, 6, 1, id, &owner), RW_ROUTE_LOCAL);
    assert_int_equal(owner, 0);
}

static void test_other_partition_is_repartitioned(void **state)
{
    (void)state;
    char id[RW_JOIN_MAX_ID_LEN + 1];
    int32_t owner = 99;
    /* Consumed on 1 (CRC32, random, explicit): its requested event is on 3. */
    assert_int_equal(route(VAL("abc"), 1, 6, 1, id, &owner), RW_ROUTE_REPARTITION);
    assert_int_equal(owner, 3);
    assert_string_equal(id, "abc");
    /* A status topic with more partitions than requested: 9 is never local. */
    assert_int_equal(route(VAL("x"), 9, 6, 0, id, &owner), RW_ROUTE_REPARTITION);
    assert_int_equal(owner, 4);
    /* Another partition count of requested moves the owner: "x" is 1 of 3. */
    assert_int_equal(route(VAL("x"), 4, 3, 1, id, &owner), RW_ROUTE_REPARTITION);
    assert_int_equal(owner, 1);
    assert_int_equal(route(VAL("x"), 1, 3, 1, id, &owner), RW_ROUTE_LOCAL);
}

static void test_right_partition_not_owned_here(void **state)
{
    (void)state;
    char id[RW_JOIN_MAX_ID_LEN + 1];
    int32_t owner = 99;
    /* Status 3 is ours but requested 3 is not (status partitioned otherwise): move it. */
    assert_int_equal(route(VAL("abc"), 3, 6, 0, id, &owner), RW_ROUTE_REPARTITION);
    assert_int_equal(owner, 3);
}

static void test_id_is_the_values(void **state)
{
    (void)state;
    char id[RW_JOIN_MAX_ID_LEN + 1];
    int32_t owner = 99;
    /* Whatever the key was: the value's interview_id decides ("xy" is 3 of 6). */
    assert_int_equal(route("{\"status\":\"completed\",\"interview_id\":\"xy\",\"n\":[1,{}]}", 3, 6,
                           1, id, &owner),
                     RW_ROUTE_LOCAL);
    assert_string_equal(id, "xy");
    assert_int_equal(owner, 3);
    assert_int_equal(rw_route_status_id(VAL("foobar"), strlen(VAL("foobar")), id), 1);
    assert_string_equal(id, "foobar");
    /* Exactly len bytes are read. */
    assert_int_equal(rw_route_status_id(VAL("foobar") "garbage", strlen(VAL("foobar")), id), 1);
}

static void test_invalid(void **state)
{
    (void)state;
    char id[RW_JOIN_MAX_ID_LEN + 1];
    int32_t owner = 99;
    static const char *const values[] = {
        NULL,
        "",
        "not json",
        "[\"abc\"]",
        "\"abc\"",
        "{\"status\":\"completed\"}",
        "{\"interview_id\":7}",
        "{\"interview_id\":\"\"}",
        "{\"interview_id\":null}",
        "{\"interview_id\":\"a\\u0000b\"}",
        "{\"interview\":{\"interview_id\":\"abc\"}}",
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        owner = 99;
        strcpy(id, "stale");
        assert_int_equal(route(values[i], 0, 6, 1, id, &owner), RW_ROUTE_INVALID);
        assert_int_equal(owner, -1);
        assert_string_equal(id, "");
    }
    char big[300];
    memset(big, 'i', sizeof(big));
    char value[400];
    snprintf(value, sizeof(value), "{\"interview_id\":\"%.*s\"}", RW_JOIN_MAX_ID_LEN + 1, big);
    assert_int_equal(route(value, 0, 6, 1, id, &owner), RW_ROUTE_INVALID);
    snprintf(value, sizeof(value), "{\"interview_id\":\"%.*s\"}", RW_JOIN_MAX_ID_LEN, big);
    assert_int_not_equal(route(value, 0, 6, 1, id, &owner), RW_ROUTE_INVALID);
    assert_int_equal(strlen(id), RW_JOIN_MAX_ID_LEN);
    assert_int_equal(owner, ib_partition_murmur2(id, strlen(id), 6));
}

static void test_oversized_value_is_not_moved(void **state)
{
    (void)state;
    char id[RW_JOIN_MAX_ID_LEN + 1];
    int32_t owner = 99;
    size_t len = IB_STATUS_EVENT_MAX_BYTES + 1;
    char *v = malloc(len + 1);
    assert_non_null(v);
    memset(v, ' ', len);
    memcpy(v, VAL("abc"), strlen(VAL("abc")));
    v[len] = '\0';
    /* Invalid wherever it is handled: dead-lettered where it was consumed, never moved. */
    assert_int_equal(rw_route_status(v, len, 1, 6, 1, id, &owner), RW_ROUTE_INVALID);
    assert_int_equal(rw_route_status(v, len - 1, 1, 6, 1, id, &owner), RW_ROUTE_REPARTITION);
    free(v);
}

/* The route of an id read by the event's own parse is the one rw_route_status reads. */
static void test_route_of_id_agrees(void **state)
{
    (void)state;
    static const char *const ids[] = {"abc", "foobar", "x", "xy"};
    char id[RW_JOIN_MAX_ID_LEN + 1];
    char value[64];
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        for (int32_t p = 0; p < 6; p++) {
            for (int local = 0; local <= 1; local++) {
                int32_t a = -2;
                int32_t b = -3;
                snprintf(value, sizeof(value), "{\"interview_id\":\"%s\"}", ids[i]);
                rw_route_t want = route(value, p, 6, local, id, &a);
                assert_int_equal(rw_route_of_id(ids[i], p, 6, local, &b), want);
                assert_int_equal(b, a);
            }
        }
    }
    int32_t owner = -1;
    assert_int_equal(rw_route_of_id("x", 4, 6, 1, &owner), RW_ROUTE_LOCAL);
    assert_int_equal(owner, 4);
    assert_int_equal(rw_route_of_id("x", 3, 6, 1, &owner), RW_ROUTE_REPARTITION);
    assert_int_equal(owner, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_path),
        cmocka_unit_test(test_route_of_id_agrees),
        cmocka_unit_test(test_other_partition_is_repartitioned),
        cmocka_unit_test(test_right_partition_not_owned_here),
        cmocka_unit_test(test_id_is_the_values),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_oversized_value_is_not_moved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
