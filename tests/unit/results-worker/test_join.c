#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ib/log.h"
#include "join.h"

#include <malloc.h>

static const char tenants_json[] =
    "{\"tenants\":["
    "{\"id\":\"groove-tech\",\"api_token_sha256\":"
    "[\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"],"
    "\"workable_token\":\"wt-groove\",\"callback_hosts\":[\"*.workable.com\",\"127.0.0.1\"]},"
    "{\"id\":\"acme\",\"api_token_sha256\":"
    "[\"60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752\"],"
    "\"workable_token\":\"wt-acme\",\"callback_hosts\":[\"acme.workable.com\"]}"
    "]}";

static int setup(void **state)
{
    char err[256];
    ib_tenants_t *ts = ib_tenants_parse(tenants_json, strlen(tenants_json), NULL, err, sizeof(err));
    if (ts == NULL) {
        fprintf(stderr, "tenants: %s\n", err);
        return -1;
    }
    *state = ts;
    return 0;
}

static int teardown(void **state)
{
    ib_tenants_free(*state);
    return 0;
}

static void test_put_get_replace(void **state)
{
    (void)state;
    rw_join_t *j = rw_join_new();
    rw_join_view_t v;
    assert_non_null(j);
    assert_int_equal(rw_join_get(j, "a", &v), 0);

    assert_int_equal(rw_join_put(j, "a", 1, 3, RW_JOIN_OK, "https://x.workable.com/1"), IB_OK);
    assert_int_equal(rw_join_count(j), 1);
    assert_int_equal(rw_join_get(j, "a", &v), 1);
    assert_int_equal(v.tenant, 1);
    assert_int_equal(v.partition, 3);
    assert_int_equal(v.state, RW_JOIN_OK);
    assert_string_equal(v.callback_url, "https://x.workable.com/1");

    /* Replace: same key, new values, count unchanged, bytes follow the new URL. */
    size_t before = rw_join_bytes(j);
    assert_int_equal(rw_join_put(j, "a", 0, 4, RW_JOIN_HOST_NOT_ALLOWED, "https://y/22"), IB_OK);
    assert_int_equal(rw_join_count(j), 1);
    assert_int_equal(rw_join_get(j, "a", &v), 1);
    assert_int_equal(v.tenant, 0);
    assert_int_equal(v.partition, 4);
    assert_int_equal(v.state, RW_JOIN_HOST_NOT_ALLOWED);
    assert_string_equal(v.callback_url, "https://y/22");
    assert_true(rw_join_bytes(j) < before);

    /* Prefixes and near misses are different keys. */
    assert_int_equal(rw_join_get(j, "", &v), 0);
    assert_int_equal(rw_join_get(j, "aa", &v), 0);
    rw_join_free(j);
}

static void test_put_rejects_bad_lengths(void **state)
{
    (void)state;
    char long_id[RW_JOIN_MAX_ID_LEN + 2];
    char *long_url = malloc(RW_JOIN_MAX_URL_LEN + 2);
    rw_join_t *j = rw_join_new();
    assert_non_null(long_url);
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    memset(long_url, 'u', RW_JOIN_MAX_URL_LEN + 1);
    long_url[RW_JOIN_MAX_URL_LEN + 1] = '\0';

    assert_int_equal(rw_join_put(j, "", 0, 0, RW_JOIN_OK, "https://x"), IB_ERR);
    assert_int_equal(rw_join_put(j, long_id, 0, 0, RW_JOIN_OK, "https://x"), IB_ERR);
    assert_int_equal(rw_join_put(j, "id", 0, 0, RW_JOIN_OK, long_url), IB_ERR);
    assert_int_equal(rw_join_put(j, "id", 0, -1, RW_JOIN_OK, "https://x"), IB_ERR);
    assert_int_equal(rw_join_put(j, "id", 0, 70000, RW_JOIN_OK, "https://x"), IB_ERR);
    long_id[RW_JOIN_MAX_ID_LEN] = '\0'; /* exactly the maximum is fine */
    assert_int_equal(rw_join_put(j, long_id, 0, 65535, RW_JOIN_OK, ""), IB_OK);
    assert_int_equal(rw_join_count(j), 1);
    free(long_url);
    rw_join_free(j);
}

#define MANY  100000
#define NPART 6

static void make_id(char *out, size_t i)
{
    /* 32 lowercase hex characters, like the gateway's HMAC-derived ids. */
    snprintf(out, 33, "%016zx%016zx", i * 0x9e3779b97f4a7c15u, ~i);
}

static void test_many_and_remove_partition(void **state)
{
    (void)state;
    rw_join_t *j = rw_join_new();
    char id[33];
    char url[96];
    rw_join_view_t v;

    for (size_t i = 0; i < MANY; i++) {
        make_id(id, i);
        snprintf(url, sizeof(url), "https://groove-tech.workable.com/interviews/%zu", 8000000 + i);
        assert_int_equal(
            rw_join_put(j, id, (uint16_t)(i % 2), (int32_t)(i % NPART), RW_JOIN_OK, url), IB_OK);
    }
    assert_int_equal(rw_join_count(j), MANY);
    print_message("join: %d entries, %zu bytes requested, %.1f bytes/entry (+ malloc overhead)\n",
                  MANY, rw_join_bytes(j), (double)rw_join_bytes(j) / MANY);

    for (size_t i = 0; i < MANY; i += 997) {
        make_id(id, i);
        assert_int_equal(rw_join_get(j, id, &v), 1);
        assert_int_equal(v.partition, (int32_t)(i % NPART));
        snprintf(url, sizeof(url), "https://groove-tech.workable.com/interviews/%zu", 8000000 + i);
        assert_string_equal(v.callback_url, url);
    }

    size_t removed = rw_join_remove_partition(j, 2);
    assert_int_equal(removed, MANY / NPART + (MANY % NPART > 2 ? 1 : 0));
    assert_int_equal(rw_join_remove_partition(j, 2), 0);
    assert_int_equal(rw_join_remove_partition(j, 17), 0);
    removed += rw_join_remove_partition(j, 5);
    assert_int_equal(rw_join_count(j), MANY - removed);
    /* Every survivor is still reachable (backward-shift deletion kept the chains intact). */
    for (size_t i = 0; i < MANY; i++) {
        make_id(id, i);
        int expect = (i % NPART) != 2 && (i % NPART) != 5;
        assert_int_equal(rw_join_get(j, id, &v), expect);
    }
    for (int p = 0; p < NPART; p++)
        rw_join_remove_partition(j, p);
    assert_int_equal(rw_join_count(j), 0);
    make_id(id, 1);
    assert_int_equal(rw_join_get(j, id, &v), 0);
    /* Usable again after emptying. */
    assert_int_equal(rw_join_put(j, id, 0, 0, RW_JOIN_OK, "https://a.workable.com/x"), IB_OK);
    assert_int_equal(rw_join_get(j, id, &v), 1);
    rw_join_free(j);
}

static ib_rc_t ingest(rw_join_t *j, const ib_tenants_t *ts, int insecure, const char *key,
                      const char *value, rw_join_state_t *st, char *err, size_t err_size)
{
    char id[RW_JOIN_MAX_ID_LEN + 1];
    return rw_join_ingest(j, ts, insecure, 0, key, key != NULL ? strlen(key) : 0, value,
                          value != NULL ? strlen(value) : 0, st, id, err, err_size);
}

/* An erased interview's entry goes, with its latest state; the others stay; the bytes return. */
static void test_remove_one(void **state)
{
    (void)state;
    rw_join_t *j = rw_join_new();
    rw_join_view_t v;
    ib_status_t st;
    long long at;
    assert_non_null(j);
    size_t empty = rw_join_bytes(j);
    assert_int_equal(rw_join_put(j, "keep", 0, 1, RW_JOIN_OK, "https://x.workable.com/k"), IB_OK);
    size_t one = rw_join_bytes(j);
    assert_int_equal(rw_join_put(j, "gone", 0, 2, RW_JOIN_OK, "https://x.workable.com/g"), IB_OK);
    assert_int_equal(rw_join_order(j, "gone", IB_STATUS_COMPLETED, 1000, 1), RW_ORDER_NEWER);

    /* The key as Kafka hands it over: not terminated. */
    assert_int_equal(rw_join_remove(j, "gonexyz", 4), 1);
    assert_int_equal(rw_join_get(j, "gone", &v), 0);
    assert_int_equal(rw_join_latest(j, "gone", &st, &at), 0);
    assert_int_equal(rw_join_order(j, "gone", IB_STATUS_COMPLETED, 1000, 0), RW_ORDER_UNKNOWN);
    assert_int_equal(rw_join_count(j), 1);
    assert_int_equal(rw_join_bytes(j), one);
    assert_int_equal(rw_join_get(j, "keep", &v), 1);
    assert_string_equal(v.callback_url, "https://x.workable.com/k");

    /* Unknown, empty or too long: nothing removed. */
    assert_int_equal(rw_join_remove(j, "gone", 4), 0);
    assert_int_equal(rw_join_remove(j, "kee", 3), 0);
    assert_int_equal(rw_join_remove(j, "", 0), 0);
    char big[RW_JOIN_MAX_ID_LEN + 2];
    memset(big, 'k', sizeof(big));
    assert_int_equal(rw_join_remove(j, big, sizeof(big)), 0);
    assert_int_equal(rw_join_remove(j, "keep", 4), 1);
    assert_int_equal(rw_join_count(j), 0);
    assert_true(rw_join_bytes(j) > empty && rw_join_bytes(j) < one); /* the table is kept */
    rw_join_free(j);
}

static void test_ingest_valid(void **state)
{
    const ib_tenants_t *ts = *state;
    rw_join_t *j = rw_join_new();
    rw_join_state_t st;
    rw_join_view_t v;
    char err[256];
    const char *ev =
        "{\"interview_id\":\"abc123\",\"tenant\":\"acme\",\"interview_template_id\":\"1\","
        "\"job_title\":\"Ops\",\"callback_url\":\"https://acme.workable.com/i/1\","
        "\"candidate\":{\"first_name\":\"L\",\"last_name\":\"M\",\"email\":\"l@m\"},"
        "\"requested_at\":\"2026-11-28T20:00:00Z\"}";
    assert_int_equal(ingest(j, ts, 0, "abc123", ev, &st, err, sizeof(err)), IB_OK);
    assert_int_equal(st, RW_JOIN_OK);
    assert_int_equal(rw_join_get(j, "abc123", &v), 1);
    assert_int_equal(v.tenant, 1);
    assert_string_equal(v.callback_url, "https://acme.workable.com/i/1");
    /* No key is accepted too. */
    assert_int_equal(ingest(j, ts, 0, NULL, ev, &st, err, sizeof(err)), IB_OK);
    assert_int_equal(rw_join_count(j), 1);
    rw_join_free(j);
}

static void test_ingest_url_rules(void **state)
{
    const ib_tenants_t *ts = *state;
    rw_join_t *j = rw_join_new();
    rw_join_state_t st;
    rw_join_view_t v;
    char err[256];
    static const struct {
        const char *url;
        int insecure;
        rw_join_state_t want;
    } cases[] = {
        {"https://groove-tech.workable.com/interviews/1", 0, RW_JOIN_OK},
        {"https://a.b.workable.com/x", 0, RW_JOIN_OK},
        {"https://workable.com/x", 0, RW_JOIN_HOST_NOT_ALLOWED},
        {"https://evil.com/x", 0, RW_JOIN_HOST_NOT_ALLOWED},
        {"https://evil.com/.workable.com", 0, RW_JOIN_HOST_NOT_ALLOWED},
        {"http://groove-tech.workable.com/x", 0, RW_JOIN_SCHEME_REJECTED},
        {"http://127.0.0.1:8099/cb", 1, RW_JOIN_OK},
        {"http://127.0.0.1:8099/cb", 0, RW_JOIN_SCHEME_REJECTED},
        {"ftp://groove-tech.workable.com/x", 1, RW_JOIN_SCHEME_REJECTED},
        {"https://user:pw@groove-tech.workable.com/x", 0, RW_JOIN_BAD_URL},
        {"https://groove-tech.workable.com/x y", 0, RW_JOIN_BAD_URL},
        {"https://groove-tech.workable.com/x\\r\\nX: y", 0, RW_JOIN_BAD_URL},
        {"/relative/path", 0, RW_JOIN_BAD_URL},
        {"https://", 0, RW_JOIN_BAD_URL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char ev[512];
        snprintf(ev, sizeof(ev),
                 "{\"interview_id\":\"id%zu\",\"tenant\":\"groove-tech\",\"callback_url\":\"%s\"}",
                 i, cases[i].url);
        char id[16];
        snprintf(id, sizeof(id), "id%zu", i);
        assert_int_equal(ingest(j, ts, cases[i].insecure, id, ev, &st, err, sizeof(err)), IB_OK);
        if (st != cases[i].want)
            fail_msg("case %zu (%s): state %d, want %d", i, cases[i].url, st, cases[i].want);
        /* Kept either way, so a status event gets the precise reason. */
        assert_int_equal(rw_join_get(j, id, &v), 1);
        assert_int_equal(v.state, cases[i].want);
    }
    rw_join_free(j);
}

static void test_ingest_bad_values(void **state)
{
    const ib_tenants_t *ts = *state;
    rw_join_t *j = rw_join_new();
    rw_join_state_t st;
    char err[256];
    static const struct {
        const char *key;
        const char *value;
        const char *why; /* substring of the reason */
    } cases[] = {
        {NULL, NULL, "empty"},
        {NULL, "", "empty"},
        {NULL, "not json", "invalid JSON"},
        {NULL, "{\"interview_id\":\"a\",\"interview_id\":\"b\"}", "invalid JSON"},
        {NULL, "[1,2]", "not a JSON object"},
        {NULL, "{\"tenant\":\"acme\",\"callback_url\":\"https://acme.workable.com/\"}",
         "interview_id"},
        {NULL, "{\"interview_id\":7,\"tenant\":\"acme\"}", "interview_id"},
        {NULL, "{\"interview_id\":\"\",\"tenant\":\"acme\"}", "interview_id"},
        {NULL, "{\"interview_id\":\"a b\",\"tenant\":\"acme\"}", "interview_id"},
        {"other",
         "{\"interview_id\":\"a\",\"tenant\":\"acme\",\"callback_url\":\"https://acme.workable.com/"
         "\"}",
         "key differs"},
        {NULL, "{\"interview_id\":\"a\",\"callback_url\":\"https://acme.workable.com/\"}",
         "tenant"},
        {NULL, "{\"interview_id\":\"a\",\"tenant\":\"nobody\",\"callback_url\":\"https://x/\"}",
         "unknown tenant"},
        {NULL, "{\"interview_id\":\"a\",\"tenant\":\"acme\"}", "callback_url"},
        {NULL, "{\"interview_id\":\"a\",\"tenant\":\"acme\",\"callback_url\":[\"x\"]}",
         "callback_url"},
        {NULL, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
         "invalid JSON"},
        {NULL, "{\"interview_id\":\"a\xff\",\"tenant\":\"acme\"}", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        assert_int_equal(ingest(j, ts, 0, cases[i].key, cases[i].value, &st, err, sizeof(err)),
                         IB_ERR);
        if (strstr(err, cases[i].why) == NULL)
            fail_msg("case %zu: reason '%s' lacks '%s'", i, err, cases[i].why);
    }
    assert_int_equal(rw_join_count(j), 0);
    rw_join_free(j);
}

static void test_order(void **state)
{
    (void)state;
    rw_join_t *j = rw_join_new();
    assert_int_equal(rw_join_put(j, "i1", 0, 0, RW_JOIN_OK, "https://x.workable.com/1"), IB_OK);
    assert_int_equal(rw_join_order(j, "nope", IB_STATUS_PENDING, 1, 1), RW_ORDER_UNKNOWN);
    /* First state, then only newer ones pass; a duplicate is SAME. */
    assert_int_equal(rw_join_order(j, "i1", IB_STATUS_PENDING, 100, 1), RW_ORDER_NEWER);
    assert_int_equal(rw_join_order(j, "i1", IB_STATUS_PENDING, 100, 1), RW_ORDER_SAME);
    assert_int_equal(rw_join_order(j, "i1", IB_STATUS_PENDING, 50, 1), RW_ORDER_OLDER);
    assert_int_equal(rw_join_order(j, "i1", IB_STATUS_COMPLETED, 200, 0), RW_ORDER_NEWER);
    /* update=0 only looks. */
    assert_int_equal(rw_join_order(j, "i1", IB_STATUS_PENDING, 150, 1), RW_ORDER_NEWER);
    assert_int_equal(rw_join_order(j, "i1", IB_STATUS_COMPLETED, 200, 1), RW_ORDER_NEWER);
    /* pending never replaces a terminal status, however late. */
    assert_int_equal(rw_join_order(j, "i1", IB_STATUS_PENDING, 999, 1), RW_ORDER_OLDER);
    /* A finished interview does not become another finished state, at any time. */
    assert_int_equal(rw_join_order(j, "i1", IB_STATUS_EXPIRED, 200, 1), RW_ORDER_OLDER);
    assert_int_equal(rw_join_order(j, "i1", IB_STATUS_EXPIRED, 900, 1), RW_ORDER_OLDER);
    assert_int_equal(rw_join_order(j, "i1", IB_STATUS_DECLINED, 300, 1), RW_ORDER_OLDER);
    assert_int_equal(rw_join_order(j, "i1", IB_STATUS_COMPLETED, 200, 1), RW_ORDER_SAME);
    /* A later completed updates the result. */
    assert_int_equal(rw_join_order(j, "i1", IB_STATUS_COMPLETED, 300, 1), RW_ORDER_NEWER);
    /* Arrival order does not matter: a late pending seen first still loses to a terminal. */
    assert_int_equal(rw_join_put(j, "i2", 0, 0, RW_JOIN_OK, "https://x.workable.com/3"), IB_OK);
    assert_int_equal(rw_join_order(j, "i2", IB_STATUS_PENDING, 900, 1), RW_ORDER_NEWER);
    assert_int_equal(rw_join_order(j, "i2", IB_STATUS_COMPLETED, 100, 1), RW_ORDER_NEWER);
    assert_int_equal(rw_join_order(j, "i2", IB_STATUS_PENDING, 900, 1), RW_ORDER_OLDER);
    /* A repeated requested event keeps the latest state. */
    assert_int_equal(rw_join_put(j, "i1", 0, 0, RW_JOIN_OK, "https://x.workable.com/2"), IB_OK);
    assert_int_equal(rw_join_order(j, "i1", IB_STATUS_COMPLETED, 200, 1), RW_ORDER_OLDER);
    assert_int_equal(rw_join_order(j, "i1", IB_STATUS_COMPLETED, 300, 1), RW_ORDER_SAME);
    /* The order itself. */
    assert_true(ib_status_compare(IB_STATUS_PENDING, 5, IB_STATUS_EXPIRED, 1) > 0);
    assert_true(ib_status_compare(IB_STATUS_EXPIRED, 1, IB_STATUS_PENDING, 5) < 0);
    assert_true(ib_status_compare(IB_STATUS_PENDING, 1, IB_STATUS_PENDING, 5) > 0);
    assert_int_equal(ib_status_compare(IB_STATUS_DECLINED, 7, IB_STATUS_DECLINED, 7), 0);
    rw_join_free(j);
}

/* Memory per known interview with gateway-like ids (32 hex) and Workable-like callback URLs.
 * IB_JOIN_BENCH_N sets the count (100000 by default, so valgrind stays quick; the README's
 * figure is from 1000000). Bound: 256 bytes per interview. */
static void test_bytes_per_interview(void **state)
{
    (void)state;
    const char *env = getenv("IB_JOIN_BENCH_N");
    size_t n = env != NULL ? (size_t)strtoul(env, NULL, 10) : 100000;
    char id[40];
    char url[128];
    struct mallinfo2 before = mallinfo2();
    rw_join_t *j = rw_join_new();
    for (size_t i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "%016zx%016zx", i * 2654435761u, i);
        snprintf(url, sizeof(url), "https://groove-tech.workable.com/interviews/%zu", 8800000 + i);
        assert_int_equal(rw_join_put(j, id, (uint16_t)(i % 7), (int32_t)(i % 6), RW_JOIN_OK, url),
                         IB_OK);
        assert_int_equal(rw_join_order(j, id, IB_STATUS_COMPLETED, 1800000000000LL, 1),
                         RW_ORDER_NEWER);
    }
    struct mallinfo2 after = mallinfo2();
    double requested = (double)rw_join_bytes(j) / (double)n;
    /* uordblks: in-use heap chunks; hblkhd: mmap'd blocks (the big slot table). */
    size_t used_before = before.uordblks + before.hblkhd;
    size_t used_after = after.uordblks + after.hblkhd;
    double heap = used_after > used_before ? (double)(used_after - used_before) / (double)n : 0.0;
    printf("join: %zu interviews, %.1f bytes each requested, %.1f bytes each from the heap "
           "(malloc overhead included; 0 when the allocator is replaced)\n",
           n, requested, heap);
    assert_true(requested <= 256.0);
    assert_true(heap <= 256.0);
    rw_join_free(j);
}

/* A 32-hex id and a Workable-like callback URL for interview i of tenant sub. */
static void bounded_id(char *id, size_t i)
{
    snprintf(id, 33, "%016zx%016zx", i * 0x9e3779b97f4a7c15u + 7, i);
}

static void bounded_url(char *url, size_t size, size_t i)
{
    snprintf(url, size, "https://tenant%zu.workable.com/api/v1/interviews/callbacks/%016zx%016zx",
             i % 3, ~i, i * 31);
}

static void put_n(rw_join_t *j, size_t i)
{
    char id[33];
    char url[128];
    bounded_id(id, i);
    bounded_url(url, sizeof(url), i);
    assert_int_equal(rw_join_put(j, id, 0, (int32_t)(i % 4), RW_JOIN_OK, url), IB_OK);
}

static void finish_n(rw_join_t *j, size_t i, ib_status_t st, long long ms)
{
    char id[33];
    bounded_id(id, i);
    assert_int_equal(rw_join_order(j, id, st, ms, 1), RW_ORDER_NEWER);
}

static int known_n(const rw_join_t *j, size_t i)
{
    char id[33];
    rw_join_view_t v;
    bounded_id(id, i);
    return rw_join_get(j, id, &v);
}

static int evicted_n(const rw_join_t *j, size_t i)
{
    char id[33];
    bounded_id(id, i);
    return rw_join_absence(j, id) == RW_JOIN_EVICTED;
}

/* At the bound only finished entries go, in the order they finished; open ones (no state or
 * pending) stay; when only open ones are left the new id is refused and counted. */
static void test_bound_evicts_finished_oldest_first(void **state)
{
    (void)state;
    rw_join_t *j = rw_join_new_bounded(10);
    rw_join_stats_t st;
    assert_non_null(j);
    for (size_t i = 0; i < 10; i++)
        put_n(j, i);
    /* 0..3 pending, 4 and 5 no state, 6..9 finished in the order 8, 6, 9, 7 (by occurred_at
     * 8 is the latest: the order is the order they finished in, not their occurred_at). */
    for (size_t i = 0; i < 4; i++)
        finish_n(j, i, IB_STATUS_PENDING, 1000);
    finish_n(j, 8, IB_STATUS_COMPLETED, 9000);
    finish_n(j, 6, IB_STATUS_DECLINED, 2000);
    finish_n(j, 9, IB_STATUS_EXPIRED, 3000);
    finish_n(j, 7, IB_STATUS_COMPLETED, 4000);
    /* A later result of a finished interview does not move it. */
    finish_n(j, 8, IB_STATUS_COMPLETED, 9500);
    rw_join_stats(j, &st);
    assert_int_equal(st.interviews, 10);
    assert_int_equal(st.finished, 4);
    assert_int_equal(st.evicted, 0);

    static const size_t order[] = {8, 6, 9, 7};
    for (size_t k = 0; k < 4; k++) {
        put_n(j, 100 + k);
        assert_int_equal(rw_join_count(j), 10);
        for (size_t m = 0; m < 4; m++)
            assert_int_equal(known_n(j, order[m]), m > k);
        assert_int_equal(evicted_n(j, order[k]), 1);
        assert_int_equal(known_n(j, 100 + k), 1);
        rw_join_stats(j, &st);
        assert_int_equal(st.evicted, k + 1);
        assert_int_equal(st.finished, 3 - k);
    }
    /* An evicted id is unknown to every lookup. */
    char id[33];
    ib_status_t latest;
    long long latest_ms;
    bounded_id(id, 8);
    assert_int_equal(rw_join_order(j, id, IB_STATUS_COMPLETED, 9999, 1), RW_ORDER_UNKNOWN);
    assert_int_equal(rw_join_latest(j, id, &latest, &latest_ms), 0);
    /* Never seen is not evicted; held is not evicted. */
    assert_int_equal(evicted_n(j, 5000), 0);
    assert_int_equal(evicted_n(j, 0), 0);

    /* Only open entries now: the next new id is refused and counted, the join unchanged. */
    char url[128];
    bounded_id(id, 200);
    bounded_url(url, sizeof(url), 200);
    size_t bytes = rw_join_bytes(j);
    assert_int_equal(rw_join_absence(j, id), RW_JOIN_NEVER);
    assert_int_equal(rw_join_put(j, id, 0, 0, RW_JOIN_OK, url), IB_AGAIN);
    assert_int_equal(rw_join_put(j, id, 0, 0, RW_JOIN_OK, url), IB_AGAIN);
    assert_int_equal(rw_join_get(j, id, &(rw_join_view_t){0}), 0);
    assert_int_equal(rw_join_absence(j, id), RW_JOIN_REFUSED);
    assert_string_equal(rw_join_absence_reason(RW_JOIN_REFUSED),
                        "interview refused by the join (WORKER_JOIN_MAX_INTERVIEWS open "
                        "interviews held)");
    assert_string_equal(rw_join_absence_reason(RW_JOIN_EVICTED),
                        "interview evicted from the join (finished)");
    assert_int_equal(rw_join_bytes(j), bytes);
    rw_join_stats(j, &st);
    assert_int_equal(st.refused, 2);
    assert_int_equal(st.evicted, 4);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(known_n(j, i), 1);
    /* A repeated requested event of a held id is not a new one: no room needed. */
    put_n(j, 3);
    rw_join_stats(j, &st);
    assert_int_equal(st.refused, 2);

    /* One finishes: room for exactly one more. */
    finish_n(j, 2, IB_STATUS_COMPLETED, 5000);
    assert_int_equal(rw_join_put(j, id, 0, 0, RW_JOIN_OK, url), IB_OK);
    assert_int_equal(rw_join_absence(j, id), RW_JOIN_NEVER); /* held now */
    assert_int_equal(known_n(j, 2), 0);
    assert_int_equal(rw_join_put(j, "another", 0, 0, RW_JOIN_OK, url), IB_AGAIN);

    /* An evicted id that comes back (a replay) is held again and no longer "evicted". */
    finish_n(j, 0, IB_STATUS_EXPIRED, 5000);
    put_n(j, 8);
    assert_int_equal(known_n(j, 8), 1);
    assert_int_equal(evicted_n(j, 8), 0);
    assert_int_equal(evicted_n(j, 0), 1);
    rw_join_free(j);
}

/* Replacing a finished entry keeps its place in the eviction order; removing entries of a
 * partition takes them out of it. */
static void test_bound_replace_and_remove_keep_order(void **state)
{
    (void)state;
    rw_join_t *j = rw_join_new_bounded(6);
    for (size_t i = 0; i < 6; i++)
        put_n(j, i); /* partition i % 4 */
    finish_n(j, 0, IB_STATUS_COMPLETED, 1);
    finish_n(j, 1, IB_STATUS_COMPLETED, 1);
    finish_n(j, 2, IB_STATUS_COMPLETED, 1);
    finish_n(j, 5, IB_STATUS_COMPLETED, 1); /* partition 1 */
    /* 1 replaced by a new requested event with another URL: still second in line. */
    char id[33];
    bounded_id(id, 1);
    assert_int_equal(rw_join_put(j, id, 2, 1, RW_JOIN_OK, "https://other.workable.com/x/y"), IB_OK);
    rw_join_view_t v;
    assert_int_equal(rw_join_get(j, id, &v), 1);
    assert_string_equal(v.callback_url, "https://other.workable.com/x/y");
    /* Partition 1 goes (ids 1 and 5): the order left is 0, 2. */
    assert_int_equal(rw_join_remove_partition(j, 1), 2);
    rw_join_stats_t st;
    rw_join_stats(j, &st);
    assert_int_equal(st.finished, 2);
    put_n(j, 10);
    put_n(j, 11); /* below the bound again: nothing evicted */
    assert_int_equal(known_n(j, 0), 1);
    put_n(j, 12);
    assert_int_equal(known_n(j, 0), 0);
    assert_int_equal(known_n(j, 2), 1);
    put_n(j, 13);
    assert_int_equal(known_n(j, 2), 0);
    rw_join_stats(j, &st);
    assert_int_equal(st.finished, 0);
    assert_int_equal(st.evicted, 2);
    rw_join_clear(j);
    rw_join_stats(j, &st);
    assert_int_equal(st.interviews, 0);
    assert_int_equal(st.finished, 0);
    assert_int_equal(st.prefixes, 0);
    rw_join_free(j);
}

/* Callback URLs come back exactly, whatever part is interned or packed. */
typedef struct {
    char ids[8][RW_JOIN_MAX_ID_LEN + 1];
    int32_t partitions[8];
    size_t n;
    rw_join_t *j;
} expired_t;

static void on_expired(const char *id, int32_t partition, void *arg)
{
    expired_t *e = arg;
    assert_true(e->n < 8);
    /* Called after the entry is gone. */
    rw_join_view_t v;
    assert_int_equal(rw_join_get(e->j, id, &v), 0);
    snprintf(e->ids[e->n], sizeof(e->ids[e->n]), "%s", id);
    e->partitions[e->n] = partition;
    e->n++;
}

/* The keep time takes finished interviews from the head of the finished list while their final
 * state is older than the cutoff, never an open one, at most max per call, and names each one
 * (packed and text ids alike) with its partition. */
static void test_expire_finished(void **state)
{
    (void)state;
    rw_join_t *j = rw_join_new();
    expired_t e = {.j = j};
    char id[33];
    assert_non_null(j);
    for (size_t i = 0; i < 8; i++)
        put_n(j, i);
    assert_int_equal(rw_join_put(j, "not-hex-id", 1, 3, RW_JOIN_OK, "https://x.workable.com/a/b"),
                     IB_OK);
    finish_n(j, 0, IB_STATUS_PENDING, 100); /* open: never expires */
    finish_n(j, 5, IB_STATUS_COMPLETED, 1000);
    finish_n(j, 2, IB_STATUS_DECLINED, 2000);
    assert_int_equal(rw_join_order(j, "not-hex-id", IB_STATUS_EXPIRED, 3000, 1), RW_ORDER_NEWER);
    finish_n(j, 7, IB_STATUS_COMPLETED, 9000);
    finish_n(j, 6, IB_STATUS_COMPLETED, 4000); /* finished after 7: waits behind it */

    assert_int_equal(rw_join_expire(j, 1000, 100, on_expired, &e), 0);
    assert_int_equal(rw_join_expire(j, 2500, 1, on_expired, &e), 1); /* max */
    assert_int_equal(rw_join_expire(j, 2500, 100, on_expired, &e), 1);
    assert_int_equal(rw_join_expire(j, 5000, 100, on_expired, &e), 1);
    assert_int_equal(e.n, 3);
    bounded_id(id, 5);
    assert_string_equal(e.ids[0], id);
    assert_int_equal(e.partitions[0], 5 % 4);
    bounded_id(id, 2);
    assert_string_equal(e.ids[1], id);
    assert_string_equal(e.ids[2], "not-hex-id");
    assert_int_equal(e.partitions[2], 3);
    assert_int_equal(known_n(j, 6), 1); /* behind 7 in the list */
    assert_int_equal(rw_join_expire(j, 10000, 100, on_expired, &e), 2);
    assert_int_equal(e.n, 5);
    assert_int_equal(rw_join_count(j), 4); /* 0 (pending), 1, 3, 4 (no state) */
    assert_int_equal(known_n(j, 0), 1);
    rw_join_stats_t st;
    rw_join_stats(j, &st);
    assert_int_equal(st.finished, 0);
    assert_int_equal(rw_join_expire(j, 1LL << 60, 100, on_expired, &e), 0);
    rw_join_free(j);
}

/* INTERVIEW_KEEP_OPEN: only entries whose latest state is pending and older than the cutoff go,
 * at most max per walk; finished ones and ones without a state stay. */
static void test_expire_open(void **state)
{
    (void)state;
    rw_join_t *j = rw_join_new();
    expired_t e = {.j = j};
    char id[33];
    assert_non_null(j);
    for (size_t i = 0; i < 6; i++)
        put_n(j, i);
    finish_n(j, 0, IB_STATUS_PENDING, 1000);
    finish_n(j, 1, IB_STATUS_PENDING, 2000);
    finish_n(j, 2, IB_STATUS_PENDING, 9000);  /* recent */
    finish_n(j, 3, IB_STATUS_COMPLETED, 500); /* finished: the other keep time */
    /* 4 and 5: no state */
    assert_int_equal(rw_join_expire_open(j, 1000, 100, on_expired, &e), 0);
    assert_int_equal(rw_join_expire_open(j, 5000, 1, on_expired, &e), 1);
    assert_int_equal(rw_join_expire_open(j, 5000, 100, on_expired, &e), 1);
    assert_int_equal(e.n, 2);
    char a[33];
    char b[33];
    bounded_id(a, 0);
    bounded_id(b, 1);
    assert_true((strcmp(e.ids[0], a) == 0 && strcmp(e.ids[1], b) == 0) ||
                (strcmp(e.ids[0], b) == 0 && strcmp(e.ids[1], a) == 0));
    assert_int_equal(rw_join_count(j), 4);
    for (size_t i = 2; i < 6; i++)
        assert_int_equal(known_n(j, i), 1);
    bounded_id(id, 2);
    assert_int_equal(rw_join_expire_open(j, 1LL << 60, 100, on_expired, &e), 1);
    assert_string_equal(e.ids[2], id);
    rw_join_stats_t st;
    rw_join_stats(j, &st);
    assert_int_equal(st.finished, 1);
    rw_join_free(j);
}

static void test_url_round_trip(void **state)
{
    (void)state;
    static const char *const urls[] = {
        "https://a.workable.com/api/v1/interviews/callbacks/0123456789abcdef0123456789abcdef",
        "https://a.workable.com/api/v1/interviews/callbacks/0123456789ABCDEF0123456789abcdef",
        "https://a.workable.com/api/v1/interviews/callbacks/0123456789abcdef0123456789abcde",
        "https://a.workable.com/api/v1/interviews/callbacks/",
        "https://a.workable.com/api/v1/interviews/callbacks/x?y=/z",
        "https://a.workable.com",
        "no-slash-at-all",
        "",
        "/",
    };
    rw_join_t *j = rw_join_new();
    char id[40];
    rw_join_view_t v;
    for (size_t i = 0; i < IB_ARRAY_LEN(urls); i++) {
        snprintf(id, sizeof(id), "id-%zu", i);
        assert_int_equal(rw_join_put(j, id, 0, 0, RW_JOIN_OK, urls[i]), IB_OK);
    }
    /* A 32-hex id and its 32-hex twin in upper case are different ids. */
    assert_int_equal(rw_join_put(j, "0123456789abcdef0123456789abcdef", 1, 0, RW_JOIN_OK, urls[0]),
                     IB_OK);
    assert_int_equal(rw_join_put(j, "0123456789ABCDEF0123456789abcdef", 2, 0, RW_JOIN_OK, urls[1]),
                     IB_OK);
    for (size_t i = 0; i < IB_ARRAY_LEN(urls); i++) {
        snprintf(id, sizeof(id), "id-%zu", i);
        assert_int_equal(rw_join_get(j, id, &v), 1);
        assert_string_equal(v.callback_url, urls[i]);
    }
    assert_int_equal(rw_join_get(j, "0123456789abcdef0123456789abcdef", &v), 1);
    assert_int_equal(v.tenant, 1);
    assert_string_equal(v.callback_url, urls[0]);
    assert_int_equal(rw_join_get(j, "0123456789ABCDEF0123456789abcdef", &v), 1);
    assert_int_equal(v.tenant, 2);
    assert_string_equal(v.callback_url, urls[1]);
    rw_join_stats_t st;
    rw_join_stats(j, &st);
    /* ".../callbacks/", ".../callbacks/x?y=/", "https://", "/" */
    assert_int_equal(st.prefixes, 4);
    rw_join_free(j);
}

/* The join's memory per known interview with 32-hex ids and Workable callback URLs
 * (https://<sub>.workable.com/api/v1/interviews/callbacks/<32 hex>), counting what malloc really
 * hands out (malloc_usable_size of each entry and prefix plus glibc's 8-byte chunk header; the
 * tables are page-sized mmaps). Bound: 104 bytes (an 80-byte chunk and an 8-byte slot at a
 * load of 3/8: 101; a 16-byte slot would be 122). Also holds at a bound that evicts. */
static void test_memory_per_interview(void **state)
{
    (void)state;
    /* Smaller under valgrind (scripts/valgrind-unit): memory safety, not measurement. */
    const size_t n = getenv("IB_UNDER_VALGRIND") != NULL ? 10000 : 100000;
    char id[33];
    char url[128];
    rw_join_t *j = rw_join_new_bounded(n);
    for (size_t i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "%016zx%016zx", i * 2654435761u, i);
        snprintf(url, sizeof(url),
                 "https://tenant%zu.workable.com/api/v1/interviews/callbacks/%016zx%016zx", i % 50,
                 i * 0x9e3779b97f4a7c15u, ~i);
        assert_int_equal(rw_join_put(j, id, (uint16_t)(i % 50), (int32_t)(i % 6), RW_JOIN_OK, url),
                         IB_OK);
        if (i % 2 == 0)
            assert_int_equal(rw_join_order(j, id, IB_STATUS_COMPLETED, 1800000000000LL, 1),
                             RW_ORDER_NEWER);
    }
    size_t requested = rw_join_bytes(j);
    size_t real = rw_join_heap_bytes(j);
    rw_join_stats_t st;
    rw_join_stats(j, &st);
    double per_requested = (double)requested / (double)n;
    double per_real = (double)real / (double)n;
    printf("join memory: %zu interviews (%zu prefixes): %.1f bytes each requested, %.1f bytes "
           "each from malloc (usable size + chunk header)\n",
           n, st.prefixes, per_requested, per_real);
    assert_int_equal(st.interviews, n);
    assert_true(per_requested <= 104.0);
    assert_true(per_real <= 104.0);

    /* Past the bound: finished ones make room, the figure stays. */
    for (size_t i = n; i < n + n / 4; i++) {
        snprintf(id, sizeof(id), "%016zx%016zx", i * 2654435761u, i);
        snprintf(url, sizeof(url),
                 "https://tenant%zu.workable.com/api/v1/interviews/callbacks/%016zx%016zx", i % 50,
                 i * 0x9e3779b97f4a7c15u, ~i);
        assert_int_equal(rw_join_put(j, id, 0, 0, RW_JOIN_OK, url), IB_OK);
    }
    rw_join_stats(j, &st);
    assert_int_equal(st.interviews, n);
    assert_int_equal(st.evicted, n / 4);
    per_real = (double)rw_join_heap_bytes(j) / (double)n;
    printf("join memory after %llu evictions: %.1f bytes each from malloc\n", st.evicted, per_real);
    assert_true(per_real <= 128.0);
    rw_join_free(j);
}

int main(void)
{
    ib_log_init("test_join", IB_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace),
        cmocka_unit_test(test_put_rejects_bad_lengths),
        cmocka_unit_test(test_many_and_remove_partition),
        cmocka_unit_test(test_remove_one),
        cmocka_unit_test(test_ingest_valid),
        cmocka_unit_test(test_ingest_url_rules),
        cmocka_unit_test(test_ingest_bad_values),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_bytes_per_interview),
        cmocka_unit_test(test_bound_evicts_finished_oldest_first),
        cmocka_unit_test(test_bound_replace_and_remove_keep_order),
        cmocka_unit_test(test_expire_finished),
        cmocka_unit_test(test_expire_open),
        cmocka_unit_test(test_url_round_trip),
        cmocka_unit_test(test_memory_per_interview),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
