/* Unit tests of shared/src/partition.c: the Java client's partitioner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ib/partition.h"

/* Kafka's Utils.murmur2 hashes (clients/src/test/.../UtilsTest.testMurmur2, and the others
 * computed with kafka-clients 3.9.2), with toPositive(hash) % n for n = 6, 3 and 7, as
 * printed by the Java client. */
static const struct {
    const char *key;
    int32_t hash;
    int32_t p6, p3, p7;
} vectors[] = {
    {"", 275646681, 3, 0, 2},
    {"21", -973932308, 0, 0, 3},
    {"foobar", -790332482, 0, 0, 0},
    {"a-little-bit-long-string", -985981536, 2, 2, 1},
    {"a-little-bit-longer-string", -1486304829, 5, 2, 0},
    {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971, 5, 2, 3},
    {"abc", 479470107, 3, 0, 4},
    {"iv_01HZX3Q6W4K8V9N2B7M5T1R0CD", 1931698175, 5, 2, 1},
    {"x", 2121525046, 4, 1, 4},
    {"xy", -1884506471, 3, 0, 1},
};

static void test_java_client_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const char *k = vectors[i].key;
        size_t len = strlen(k);
        assert_int_equal(ib_partition_murmur2(k, len, 6), vectors[i].p6);
        assert_int_equal(ib_partition_murmur2(k, len, 3), vectors[i].p3);
        assert_int_equal(ib_partition_murmur2(k, len, 7), vectors[i].p7);
        /* With 2^31 - 1 partitions the partition is the positive hash itself (mod 2^31 - 1). */
        uint32_t positive = (uint32_t)vectors[i].hash & 0x7fffffffu;
        assert_int_equal(ib_partition_murmur2(k, len, INT32_MAX),
                         (int32_t)(positive % (uint32_t)INT32_MAX));
    }
}

static void test_negative_hash_is_made_positive_not_absolute(void **state)
{
    (void)state;
    /* "21" hashes to -973932308: toPositive gives 1173551340 (sign bit cleared), abs() would
     * give 973932308; modulo 7 they differ (3 and 6). */
    assert_int_equal(ib_partition_murmur2("21", 2, 7), 1173551340 % 7);
    assert_true(ib_partition_murmur2("21", 2, 7) != 973932308 % 7);
}

static void test_bad_count(void **state)
{
    (void)state;
    assert_int_equal(ib_partition_murmur2("abc", 3, 0), -1);
    assert_int_equal(ib_partition_murmur2("abc", 3, -4), -1);
    assert_int_equal(ib_partition_murmur2("abc", 3, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_java_client_vectors),
        cmocka_unit_test(test_negative_hash_is_made_positive_not_absolute),
        cmocka_unit_test(test_bad_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
