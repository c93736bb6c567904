/* Unit tests of shared/src/crypto.c. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* RFC 4231's HMAC-SHA256 test cases; case 5's MAC is truncated to 128 bits. */
typedef struct {
    const char *name;
    const char *key_hex;
    const char *data_text; /* or NULL, then data_hex */
    const char *data_hex;
    const char *mac_hex; /* a prefix of the MAC's hex */
} kat_t;

static const kat_t rfc4231[] = {
    {"1", "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There", NULL,
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {"2", "4a656665", "what do ya want for nothing?", NULL,
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {"3", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL,
     "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
     "dddddddddddddddddddd",
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
    {"4", "0102030405060708090a0b0c0d0e0f10111213141516171819", NULL,
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
     "cdcdcdcdcdcdcdcdcdcd",
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
    {"5", "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", "Test With Truncation", NULL,
     "a3b6167473100ee06e0c796c2955552b"},
    {"6",
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaa",
     "Test Using Larger Than Block-Size Key - Hash Key First", NULL,
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    {"7",
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaa",
     "This is a test using a larger than block-size key and a larger than "
     "block-size data. The key needs to be hashed before being used by the "
     "HMAC algorithm.",
     NULL, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
};

/* Decodes without ib_unhex, so a fault there cannot hide one here. */
static size_t from_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

static void test_hmac_rfc4231_all_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rfc4231) / sizeof(rfc4231[0]); i++) {
        const kat_t *c = &rfc4231[i];
        uint8_t key[256], data[256], mac[IB_SHA256_LEN];
        char hex[2 * IB_SHA256_LEN + 1];
        size_t key_len = from_hex(c->key_hex, key, sizeof(key));
        size_t data_len;
        if (c->data_text != NULL) {
            data_len = strlen(c->data_text);
            memcpy(data, c->data_text, data_len);
        } else {
            data_len = from_hex(c->data_hex, data, sizeof(data));
        }
        ib_hmac_sha256(key, key_len, data, data_len, mac);
        ib_hex(mac, sizeof(mac), hex);
        if (strncmp(hex, c->mac_hex, strlen(c->mac_hex)) != 0)
            fail_msg("RFC 4231 case %s: got %s, want %s", c->name, hex, c->mac_hex);
    }
}

static void test_hmac_empty_key_and_data(void **state)
{
    (void)state;
    uint8_t d[IB_SHA256_LEN];
    char hex[65];
    ib_hmac_sha256("", 0, "", 0, d);
    ib_hex(d, sizeof(d), hex);
    assert_string_equal(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/* The ids already handed out must never change: these were computed before the HMAC moved to
 * EVP_MAC, and equal HMAC-SHA256(secret, tenant "\n" url) truncated to 16 bytes. */
static void test_interview_id_known_values(void **state)
{
    (void)state;
    char id[33];
    uint8_t mac[IB_SHA256_LEN];
    char whole[65];
    const char *msg = "groove-tech\nhttps://x.workable.com/i/1";

    ib_interview_id("k", "groove-tech", "https://x.workable.com/i/1", id);
    assert_string_equal(id, "a643e06725bc68ba125687c1b2e94ac1");
    ib_hmac_sha256("k", 1, msg, strlen(msg), mac);
    ib_hex(mac, sizeof(mac), whole);
    assert_memory_equal(whole, id, 32);
    ib_interview_id("", "groove-tech", "https://x.workable.com/i/1", id);
    assert_string_equal(id, "c7518f0d8123070ac32f016fef3b1cc7");
}

/* The per-thread keyed context must follow the key: keys of equal length that differ in one
 * byte, a key and its prefix, the empty key, keys past the cached size, back and forth. */
static void test_hmac_key_changes(void **state)
{
    (void)state;
    /* NULL: a 200-byte key. */
    static const char *const keys[] = {"Jefe", "Jeff", "Jef", "", "Jefe", NULL};
    uint8_t long_key[200];
    uint8_t mac[IB_SHA256_LEN], again[IB_SHA256_LEN], first[6][IB_SHA256_LEN];

    for (size_t i = 0; i < sizeof(long_key); i++)
        long_key[i] = (uint8_t)i;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < IB_ARRAY_LEN(keys); i++) {
            const void *key = keys[i] != NULL ? (const void *)keys[i] : long_key;
            size_t key_len = keys[i] != NULL ? strlen(keys[i]) : sizeof(long_key);
            ib_hmac_sha256(key, key_len, "data", 4, mac);
            if (round == 0)
                memcpy(first[i], mac, sizeof(mac));
            else
                assert_memory_equal(mac, first[i], sizeof(mac));
            /* The same key twice in a row takes the cached context. */
            ib_hmac_sha256(key, key_len, "data", 4, again);
            assert_memory_equal(mac, again, sizeof(mac));
        }
    }
    /* RFC 4231 case 2 between them: "Jefe" is not confused with "Jeff" or a 3-byte prefix. */
    assert_memory_equal(first[0], first[4], IB_SHA256_LEN);
    assert_memory_not_equal(first[0], first[1], IB_SHA256_LEN);
    assert_memory_not_equal(first[0], first[2], IB_SHA256_LEN);
    assert_memory_not_equal(first[0], first[3], IB_SHA256_LEN);
    ib_hmac_sha256("Jeff", 4, "data", 4, mac);
    ib_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
    char hex[65];
    ib_hex(mac, sizeof(mac), hex);
    assert_string_equal(hex, rfc4231[1].mac_hex);
    ib_interview_id("k", "groove-tech", "https://x.workable.com/i/1", hex);
    assert_string_equal(hex, "a643e06725bc68ba125687c1b2e94ac1");
    ib_interview_id("", "groove-tech", "https://x.workable.com/i/1", hex);
    assert_string_equal(hex, "c7518f0d8123070ac32f016fef3b1cc7");
    ib_interview_id("k", "groove-tech", "https://x.workable.com/i/1", hex);
    assert_string_equal(hex, "a643e06725bc68ba125687c1b2e94ac1");
}

#define HMAC_THREADS 4
#define HMAC_ROUNDS  2000

static void *hmac_worker(void *arg)
{
    const kat_t *c = &rfc4231[1]; /* "Jefe" */
    uint8_t mac[IB_SHA256_LEN];
    char hex[65];
    int *ok = arg;
    *ok = 1;
    for (int i = 0; i < HMAC_ROUNDS; i++) {
        ib_hmac_sha256("Jefe", 4, c->data_text, strlen(c->data_text), mac);
        ib_hex(mac, sizeof(mac), hex);
        if (strcmp(hex, c->mac_hex) != 0)
            *ok = 0;
    }
    return NULL;
}

/* The MAC implementation is fetched once and shared: threads racing on the first use agree. */
static void test_hmac_from_many_threads(void **state)
{
    (void)state;
    pthread_t t[HMAC_THREADS];
    int ok[HMAC_THREADS];
    for (size_t i = 0; i < HMAC_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hmac_worker, &ok[i]), 0);
    for (size_t i = 0; i < HMAC_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_true(ok[i]);
    }
}

static void test_ct_equal_lengths(void **state)
{
    (void)state;
    uint8_t x[33], y[33];
    memset(x, 7, sizeof(x));
    memcpy(y, x, sizeof(y));
    assert_true(ib_ct_equal(x, y, sizeof(x)));
    assert_true(ib_ct_equal(x, y, 0));
    y[32] ^= 0x80; /* a difference in the last byte only */
    assert_false(ib_ct_equal(x, y, sizeof(x)));
    assert_true(ib_ct_equal(x, y, 32));
    y[0] ^= 1;
    assert_false(ib_ct_equal(x, y, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known_answer),
        cmocka_unit_test(test_hmac_rfc4231_case2),
        cmocka_unit_test(test_hmac_long_key),
        cmocka_unit_test(test_interview_id_is_deterministic_and_keyed),
        cmocka_unit_test(test_ct_equal_and_unhex),
        cmocka_unit_test(test_hmac_rfc4231_all_cases),
        cmocka_unit_test(test_hmac_empty_key_and_data),
        cmocka_unit_test(test_interview_id_known_values),
        cmocka_unit_test(test_hmac_key_changes),
        cmocka_unit_test(test_hmac_from_many_threads),
        cmocka_unit_test(test_ct_equal_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
