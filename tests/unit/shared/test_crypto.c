/* Unit tests of shared/src/crypto.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ib/crypto.h"

static void test_sha256_known_answer(void **state)
{
    (void)state;
    uint8_t d[IB_SHA256_LEN];
    char hex[65];
    ib_sha256("abc", 3, d);
    ib_hex(d, sizeof(d), hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_hmac_rfc4231_case2(void **state)
{
    (void)state;
    uint8_t d[IB_SHA256_LEN];
    char hex[65];
    const char *data = "what do ya want for nothing?";
    ib_hmac_sha256("Jefe", 4, data, strlen(data), d);
    ib_hex(d, sizeof(d), hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_hmac_long_key(void **state)
{
    (void)state;
    /* RFC 4231 case 6: a 131-byte key is hashed first. */
    uint8_t key[131];
    uint8_t d[IB_SHA256_LEN];
    char hex[65];
    const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";
    memset(key, 0xaa, sizeof(key));
    ib_hmac_sha256(key, sizeof(key), data, strlen(data), d);
    ib_hex(d, sizeof(d), hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_interview_id_is_deterministic_and_keyed(void **state)
{
    (void)state;
    char a[33], b[33], c[33], d[33], e[33];
    ib_interview_id("k", "groove-tech", "https://x.workable.com/i/1", a);
    ib_interview_id("k", "groove-tech", "https://x.workable.com/i/1", b);
    ib_interview_id("k", "groove-tech", "https://x.workable.com/i/2", c);
    ib_interview_id("other", "groove-tech", "https://x.workable.com/i/1", d);
    ib_interview_id("k", "groove-tec", "hhttps://x.workable.com/i/1", e);
    assert_int_equal(strlen(a), 32);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    assert_string_not_equal(a, e); /* the separator keeps tenant and URL apart */
}

static void test_ct_equal_and_unhex(void **state)
{
    (void)state;
    uint8_t x[4] = {1, 2, 3, 4}, y[4] = {1, 2, 3, 5}, out[2];
    assert_true(ib_ct_equal(x, x, 4));
    assert_false(ib_ct_equal(x, y, 4));
    assert_int_equal(ib_unhex("0aFf", out, 2), IB_OK);
    assert_int_equal(out[0], 0x0a);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(ib_unhex("0aF", out, 2), IB_ERR);
    assert_int_equal(ib_unhex("0g00", out, 2), IB_ERR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known_answer),
        cmocka_unit_test(test_hmac_rfc4231_case2),
        cmocka_unit_test(test_hmac_long_key),
        cmocka_unit_test(test_interview_id_is_deterministic_and_keyed),
        cmocka_unit_test(test_ct_equal_and_unhex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
