/* Unit tests of shared/src/jsonw.c (the direct JSON writer) and of the log lines built with it
 * (shared/src/log.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ib/jsonw.h"
#include "ib/log.h"

/* s (n bytes) written as a JSON string, as a new string. */
static char *str_of(const char *s, size_t n)
{
    char small[8]; /* forces the move to the heap */
    ib_jw_t w;
    size_t len = 0;
    ib_jw_init(&w, small, sizeof(small));
    ib_jw_str(&w, s, n);
    char *text = ib_jw_take(&w, &len);
    ib_jw_free(&w);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

static void test_escapes_like_jansson(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "plain",
        "quote \" backslash \\ slash /",
        "\b\f\n\r\t\x01\x1f\x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
        "\xe2\x80\xa8 line separator",
        "",
    };
    for (size_t i = 0; i < IB_ARRAY_LEN(cases); i++) {
        char *got = str_of(cases[i], strlen(cases[i]));
        json_t *v = json_string(cases[i]);
        char *want = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        assert_string_equal(got, want);
        free(got);
        free(want);
        json_decref(v);
    }
}

static void test_invalid_utf8_stays_json(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"a\xff"
         "b",
         3,
         "a\xef\xbf\xbd"
         "b"},
        {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong */
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
        {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"ok\xe2\x82", 4, "ok\xef\xbf\xbd\xef\xbf\xbd"}, /* truncated */
        {"nul\0x", 5, "nul\0x"},
    };
    for (size_t i = 0; i < IB_ARRAY_LEN(cases); i++) {
        char *text = str_of(cases[i].in, cases[i].len);
        json_error_t jerr;
        json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        assert_non_null(v);
        size_t want_len = i == 5 ? 5 : strlen(cases[i].want);
        assert_int_equal(json_string_length(v), want_len);
        assert_memory_equal(json_string_value(v), cases[i].want, want_len);
        json_decref(v);
        free(text);
    }
}

static void test_value_matches_dumps(void **state)
{
    (void)state;
    const char *doc = "{\"b\":[1,-2,3.5,true,false,null,\"x\\u00e9\"],\"a\":{\"k\":{}},\"c\":[],"
                      "\"big\":9007199254740993,\"e\":1e300}";
    json_t *v = json_loads(doc, 0, NULL);
    assert_non_null(v);
    char storage[512];
    ib_jw_t w;
    size_t len = 0;
    ib_jw_init(&w, storage, sizeof(storage));
    ib_jw_value(&w, v);
    char *got = ib_jw_take(&w, &len);
    char *want = json_dumps(v, JSON_COMPACT);
    assert_string_equal(got, want);
    free(got);
    free(want);
    ib_jw_free(&w);
    json_decref(v);
}

/* Runs fn with stdout captured; returns what it wrote (new string). */
static char *capture(void (*fn)(void))
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[1]);
    fn();
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    char *out = calloc(1, 65536);
    assert_non_null(out);
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], out + len, 65535 - len)) > 0)
        len += (size_t)n;
    close(fds[0]);
    return out;
}

static void log_kv_line(void)
{
    const ib_log_kv_t kv[] = {
        IB_KV_STR("path", "/p\xff\"q"), IB_KV_STRN("cut", "abcdef", 3), IB_KV_INT("status", 201),
        IB_KV_STR("absent", NULL),      IB_KV_STR("msg", "ignored"),
    };
    ib_log_kv(IB_LOG_WARN, kv, IB_ARRAY_LEN(kv), "hello %s", "w\xc3\x28rld\n");
}

static void test_log_kv(void **state)
{
    (void)state;
    char *out = capture(log_kv_line);
    size_t len = strlen(out);
    assert_true(len > 0 && out[len - 1] == '\n');
    assert_ptr_equal(strchr(out, '\n'), out + len - 1);
    json_error_t jerr;
    json_t *v = json_loads(out, 0, &jerr);
    assert_non_null(v);
    const char *keys[] = {"ts", "level", "svc", "msg", "path", "cut", "status"};
    const char *key;
    json_t *child;
    size_t i = 0;
    json_object_foreach(v, key, child)
    {
        assert_true(i < IB_ARRAY_LEN(keys));
        assert_string_equal(key, keys[i]);
        i++;
    }
    assert_int_equal(i, IB_ARRAY_LEN(keys));
    assert_string_equal(json_string_value(json_object_get(v, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(v, "msg")), "hello w\xef\xbf\xbd(rld\n");
    assert_string_equal(json_string_value(json_object_get(v, "path")), "/p\xef\xbf\xbd\"q");
    assert_string_equal(json_string_value(json_object_get(v, "cut")), "abc");
    assert_int_equal(json_integer_value(json_object_get(v, "status")), 201);
    json_decref(v);
    free(out);
}

static void log_fields_line(void)
{
    json_t *fields = json_pack("{s:s,s:i,s:[i,s],s:s}", "component", "x", "n", 7, "list", 1, "y",
                               "level", "custom");
    ib_log_fields(IB_LOG_INFO, fields, "m");
    json_decref(fields);
}

static void test_log_fields(void **state)
{
    (void)state;
    char *out = capture(log_fields_line);
    json_t *v = json_loads(out, 0, NULL);
    assert_non_null(v);
    const char *keys[] = {"ts", "level", "svc", "msg", "component", "n", "list"};
    const char *key;
    json_t *child;
    size_t i = 0;
    json_object_foreach(v, key, child)
    {
        assert_true(i < IB_ARRAY_LEN(keys));
        assert_string_equal(key, keys[i]);
        i++;
    }
    assert_int_equal(i, IB_ARRAY_LEN(keys));
    assert_string_equal(json_string_value(json_object_get(v, "level")), "custom");
    assert_string_equal(json_string_value(json_object_get(v, "svc")), "test");
    json_decref(v);
    free(out);
}

static void long_line(void)
{
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    const ib_log_kv_t kv[] = {IB_KV_STR("a", big), IB_KV_STR("b", big)};
    ib_log_kv(IB_LOG_ERROR, kv, IB_ARRAY_LEN(kv), "%s", big);
}

static void test_long_line(void **state)
{
    (void)state;
    char *out = capture(long_line);
    json_t *v = json_loads(out, 0, NULL);
    assert_non_null(v);
    assert_int_equal(json_string_length(json_object_get(v, "b")), 2999);
    assert_int_equal(json_string_length(json_object_get(v, "msg")), 1023); /* message cap */
    json_decref(v);
    free(out);
}

/* Batched lines: nothing written before the end of the batch or a full buffer; every write holds
 * whole lines, at most PIPE_BUF bytes; the lines arrive complete and in order. */
static void test_log_batch(void **state)
{
    (void)state;
    int fds[2];
    char buf[8192];
    /* Records keep the boundaries of the writes. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds), 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[1]);
    struct pollfd pfd = {fds[0], POLLIN, 0};

    ib_log_batch_begin();
    IB_INFO("line %d", 0);
    assert_int_equal(poll(&pfd, 1, 0), 0); /* gathered */
    ib_log_batch_end();
    assert_int_equal(poll(&pfd, 1, 0), 1);
    ssize_t n = read(fds[0], buf, sizeof(buf));
    assert_true(n > 0 && buf[n - 1] == '\n' && memchr(buf, '\n', (size_t)n) == buf + n - 1);

    ib_log_batch_begin();
    for (int i = 1; i <= 60; i++)
        IB_INFO("line %d %0100d", i, 0);
    assert_int_equal(poll(&pfd, 1, 0), 1); /* a full buffer was written before the end */
    ib_log_batch_end();
    IB_INFO("line %d", 61); /* unbatched again */
    dup2(saved, STDOUT_FILENO);
    close(saved);

    shutdown(fds[0], SHUT_WR);
    int next = 1, writes = 0;
    while ((n = read(fds[0], buf, sizeof(buf) - 1)) > 0) {
        assert_true((size_t)n <= PIPE_BUF);
        assert_true(buf[n - 1] == '\n'); /* whole lines */
        writes++;
        buf[n] = '\0';
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            json_t *v = json_loads(line, 0, NULL);
            assert_non_null(v);
            int k = -1;
            assert_int_equal(sscanf(json_string_value(json_object_get(v, "msg")), "line %d", &k),
                             1);
            assert_int_equal(k, next);
            next++;
            json_decref(v);
            line = nl + 1;
        }
    }
    assert_int_equal(next, 62);
    assert_true(writes >= 3 && writes < 20); /* gathered, yet within PIPE_BUF per write */
    close(fds[0]);
}

/* ib_jw_int and ib_format_rfc3339 are written by hand: they must print what printf does. */
static void test_int_and_time_like_printf(void **state)
{
    (void)state;
    long long ints[64] = {0,
                          1,
                          -1,
                          9,
                          10,
                          -10,
                          99,
                          100,
                          201,
                          1795896000250LL,
                          LLONG_MAX,
                          LLONG_MIN,
                          LLONG_MIN + 1,
                          LLONG_MAX - 1};
    unsigned long long r = 0x2545F4914F6CDD1Dull;
    for (size_t i = 14; i < IB_ARRAY_LEN(ints); i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        ints[i] = (long long)(r >> (i % 60));
        if (i % 2)
            ints[i] = -ints[i];
    }
    for (size_t i = 0; i < IB_ARRAY_LEN(ints); i++) {
        char expect[32];
        ib_jw_t w;
        ib_jw_init(&w, NULL, 0);
        ib_jw_int(&w, ints[i]);
        snprintf(expect, sizeof(expect), "%lld", ints[i]);
        assert_int_equal(w.len, strlen(expect));
        assert_memory_equal(w.p, expect, w.len);
        ib_jw_free(&w);
    }

    const long long times[] = {0,
                               1,
                               999,
                               1000,
                               59999,
                               951782400000LL /* 2000-02-29 */,
                               1795896000250LL,
                               253402300799999LL /* 9999-12-31T23:59:59.999 */,
                               253402300800000LL /* year 10000 */,
                               -1,
                               -1000,
                               -86400001};
    for (size_t i = 0; i < IB_ARRAY_LEN(times) + 200; i++) {
        long long t = i < IB_ARRAY_LEN(times)
                          ? times[i]
                          : (long long)((i * 7919ull * 104729ull * 1000003ull) % 4102444800000ull);
        char got[40], expect[96];
        time_t secs = (time_t)(t / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        snprintf(expect, sizeof(expect), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(t % 1000));
        ib_format_rfc3339(t, got, sizeof(got));
        assert_string_equal(got, expect);
        /* A short buffer is cut as snprintf cuts. */
        ib_format_rfc3339(t, got, 10);
        assert_int_equal(strlen(got), 9);
        assert_memory_equal(got, expect, 9);
    }
}

int main(void)
{
    ib_log_init("test", IB_LOG_DEBUG);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes_like_jansson),
        cmocka_unit_test(test_invalid_utf8_stays_json),
        cmocka_unit_test(test_value_matches_dumps),
        cmocka_unit_test(test_log_kv),
        cmocka_unit_test(test_log_fields),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_int_and_time_like_printf),
        cmocka_unit_test(test_log_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
