/* Unit tests of shared/src/hash.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ib/hash.h"

/* The reference vectors of the SipHash paper (Aumasson, Bernstein): key 00..0f, message
 * 00..(n-1). */
static void test_siphash_reference_vectors(void **state)
{
    (void)state;
    uint8_t key[IB_HASH_KEY_LEN];
    uint8_t msg[64];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)i;
    assert_true(ib_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ull);
    assert_true(ib_siphash(key, msg, 1) == 0x74f839c593dc67fdull);
    assert_true(ib_siphash(key, msg, 8) == 0x93f5f5799a932462ull);
    assert_true(ib_siphash(key, msg, 15) == 0xa129ca6149be45e5ull);
    assert_true(ib_siphash(key, msg, 63) == 0x958a324ceb064572ull);
}

static void test_key_changes_hash(void **state)
{
    (void)state;
    uint8_t a[IB_HASH_KEY_LEN] = {0};
    uint8_t b[IB_HASH_KEY_LEN] = {0};
    b[15] = 1;
    assert_true(ib_siphash(a, "interview", 9) != ib_siphash(b, "interview", 9));
    ib_hash_set_key(a);
    uint64_t under_a = ib_hash_str("interview");
    assert_true(under_a == ib_siphash(a, "interview", 9));
    ib_hash_set_key(b);
    assert_true(ib_hash_str("interview") != under_a);
    assert_true(ib_hash("interview", 9) == ib_hash_str("interview"));
}

/* Every byte counts, not only a prefix: ids sharing their first 8 (or 16) bytes spread out. */
static void test_shared_prefix_spreads(void **state)
{
    (void)state;
    enum { N = 4096, BUCKETS = 256 };
    unsigned counts[BUCKETS] = {0};
    char id[64];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "prefix-prefix-%08d", i);
        counts[ib_hash_str(id) % BUCKETS]++;
    }
    /* 16 per bucket on average; a prefix hash would put all 4096 in one. */
    for (int i = 0; i < BUCKETS; i++)
        assert_in_range(counts[i], 0, 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_reference_vectors),
        cmocka_unit_test(test_key_changes_hash),
        cmocka_unit_test(test_shared_prefix_spreads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
