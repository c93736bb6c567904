/* Unit tests of shared/src/jsonr.c (the in-place JSON reader): it must accept exactly the texts
 * ib_json_parse (jansson) accepts and write what ib_jw_value writes of jansson's tree. Checked on
 * a table of edge cases and on many mutations of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ib/json.h"
#include "ib/jsonr.h"

/* Compares the reader with jansson on len bytes of text; returns 1 when jansson accepted. */
static int same_as_jansson(const char *text, size_t len, int max_depth)
{
    char why[128];
    ib_jr_value_t root;
    json_t *tree = ib_json_parse(text, len, max_depth, why, sizeof(why));
    int ours = ib_jr_check(text, len, max_depth, &root) == IB_OK;

    if (ours != (tree != NULL))
        fail_msg("jansson %s, the reader %s: %.*s", tree != NULL ? "accepts" : "refuses",
                 ours ? "accepts" : "refuses", (int)len, text);
    if (tree == NULL)
        return 0;
    assert_int_equal(root.type, json_is_object(tree) ? IB_JR_OBJECT : IB_JR_ARRAY);
    ib_jw_t a, b;
    ib_jw_init(&a, NULL, 0);
    ib_jw_init(&b, NULL, 0);
    ib_jr_write(&a, &root);
    ib_jw_value(&b, tree);
    if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
        fail_msg("the reader writes %.*s, jansson's tree %.*s (text %.*s)", (int)a.len, a.p,
                 (int)b.len, b.p, (int)len, text);
    ib_jw_free(&a);
    ib_jw_free(&b);
    json_decref(tree);
    return 1;
}

static int same(const char *text)
{
    return same_as_jansson(text, strlen(text), IB_JSON_MAX_DEPTH);
}

/* Edge cases of jansson's grammar; the comment says which way jansson goes when not obvious. */
static const char *const CASES[] = {
    "{}",
    "[]",
    " \t\r\n{ } \n",
    "{\"a\":1}",
    "[1,2,3]",
    "{\"a\":[1,{\"b\":null}],\"c\":true,\"d\":false}",
    "1",
    "\"s\"",
    "null",
    "",
    " ",
    "{",
    "{\"a\"}",
    "{\"a\":}",
    "{\"a\":1,}",
    "[1,]",
    "[,1]",
    "{\"a\":1}{",
    "{\"a\":1} x",
    "{a:1}",
    "{'a':1}",
    /* Numbers. */
    "[0,-0,1,-1,10,123456789012345678,1234567890123456789]",
    "[9223372036854775807,-9223372036854775808]",
    "[9223372036854775808]",     /* too big integer */
    "[-9223372036854775809]",    /* too big negative integer */
    "[99999999999999999999999]", /* too big */
    "[01]",
    "[-01]",
    "[00]",
    "[1.]",
    "[.5]",
    "[-]",
    "[+1]",
    "[1e]",
    "[1e+]",
    "[1.5e-3,2E4,2e+4,0.0,-0.0,1e-400,1.7976931348623157e308]",
    "[1e400]",  /* real number overflow */
    "[-1e400]", /* real number overflow */
    "[0.1,0.30000000000000004,1e22,1e21,123456789.125,5e-324]",
    "[1.0,100e0,12345.0,1.2345e4]",
    "[0x10]",
    "[1 2]",
    "[Infinity]",
    "[NaN]",
    /* Literals. */
    "[true,false,null]",
    "[tru]",
    "[truex]",
    "[True]",
    "[nul]",
    "[null1]",
    /* NUL bytes: jansson loses one NUL right after a number or a literal. */
    "[1\0]",
    "[1\0\0]",
    "[true\0,null\0]",
    "{\"a\":false\0}",
    "{\"a\":\"x\"\0}",
    "[\0]",
    "{\0}",
    "[1]\0",
    "[1.5\0]",
    /* Strings and escapes. */
    "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
    "[\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"]",
    "[\"\\u0000\"]",
    "[\"\\ud83d\"]",
    "[\"\\ud83dx\"]",
    "[\"\\ud83d\\u0041\"]",
    "[\"\\ude00\"]",
    "[\"\\ud83d\\ud83d\"]",
    "[\"\\u12\"]",
    "[\"\\u12g4\"]",
    "[\"\\x\"]",
    "[\"\\'\"]",
    "[\"a\tb\"]",
    "[\"a\nb\"]",
    "[\"\x1f\"]",
    "[\"\x7f\"]",
    "[\"unterminated]",
    "[\"\\\"]",
    /* UTF-8. */
    "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"]",
    "[\"\xc0\xaf\"]",         /* overlong */
    "[\"\xc1\xbf\"]",         /* overlong */
    "[\"\xe0\x80\xaf\"]",     /* overlong */
    "[\"\xf0\x80\x80\xaf\"]", /* overlong */
    "[\"\xed\xa0\x80\"]",     /* a surrogate */
    "[\"\xf4\x90\x80\x80\"]", /* above U+10FFFF */
    "[\"\xf5\x80\x80\x80\"]",
    "[\"\xff\"]",
    "[\"\x80\"]",
    "[\"\xc3\"]",
    "[\"\xe2\x82\"]",
    "[\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"]",
    "[\"\xe2\x80\xa8\"]",
    "[1]\xc3\xa9",
    "\xef\xbb\xbf{}", /* a byte order mark */
    /* Keys and duplicates. */
    "{\"a\":1,\"a\":2}",
    "{\"a\":1,\"b\":{\"a\":2}}",
    "{\"a\":{\"b\":1,\"b\":2}}",
    "{\"a\":1,\"\\u0061\":2}",
    "{\"\\u00e9\":1,\"\xc3\xa9\":2}",
    "{\"\\/\":1,\"/\":2}",
    "{\"ab\":1,\"a\\u0062\":2}",
    "{\"\":1,\"\":2}",
    "{\"\":1}",
    "{\"a\\u0000\":1}",
    "{\"a\":1,\"A\":2}",
    "[{\"a\":1},{\"a\":1}]",
    "{1:2}",
    "{\"a\" : 1 , \"b\" : [ 1 , 2 ] }",
};

static void test_table(void **state)
{
    (void)state;
    int accepted = 0;
    for (size_t i = 0; i < IB_ARRAY_LEN(CASES); i++)
        accepted += same(CASES[i]);
    /* Cases with an embedded NUL: strlen stops there, so they are given with their lengths. */
    static const struct {
        const char *text;
        size_t len;
    } nul[] = {
        {"[1\0]", 4},
        {"[1\0\0]", 5},
        {"[true\0,null\0]", 14},
        {"{\"a\":false\0}", 13},
        {"[\0]", 3},
        {"{\0}", 3},
        {"[1]\0", 4},
        {"[1.5\0]", 6},
        {"[1\0 ]", 5},
        {"[1 \0]", 5},
        {"[\"a\0\"]", 6},
        {"{\"a\"\0:1}", 8},
        {"[-\0]", 4},
        {"[1e\0]", 5},
        {"[1,\0 2]", 7},
        {"{\"a\":1\0,\"a\":2}", 15},
        {"[1\0", 3},
        {"[null\0]\0", 8},
        {"[-1\0]", 5},
        {"[1.5e3\0,2\0]", 12},
    };
    for (size_t i = 0; i < IB_ARRAY_LEN(nul); i++)
        accepted += same_as_jansson(nul[i].text, nul[i].len, IB_JSON_MAX_DEPTH);
    assert_true(accepted >= 25); /* the table holds both kinds */
}

static void test_depth(void **state)
{
    (void)state;
    static char text[6 * 2100 + 16];
    /* Up to the limit, one past, and around jansson's own limit (2048). */
    const int depths[] = {1, 15, 16, 17, 40, 2047, 2048, 2049, 2100};
    const int limits[] = {16, 4096};
    for (size_t i = 0; i < IB_ARRAY_LEN(depths); i++) {
        for (size_t l = 0; l < IB_ARRAY_LEN(limits); l++) {
            int d = depths[i], limit = limits[l];
            size_t n = 0;
            /* [[[...]]] */
            for (int k = 0; k < d; k++)
                text[n++] = '[';
            for (int k = 0; k < d; k++)
                text[n++] = ']';
            assert_int_equal(same_as_jansson(text, n, limit), d <= limit && d <= 2048);
            /* {"a":{"a":...{}}} */
            n = 0;
            for (int k = 0; k + 1 < d; k++) {
                memcpy(text + n, "{\"a\":", 5);
                n += 5;
            }
            text[n++] = '{';
            for (int k = 0; k < d; k++)
                text[n++] = '}';
            assert_int_equal(same_as_jansson(text, n, limit), d <= limit && d <= 2048);
        }
    }
}

/* Objects of many keys (sorted by hash past 16): a duplicate anywhere is found. */
static void test_many_keys(void **state)
{
    (void)state;
    size_t cap = 64 * 1024;
    char *text = malloc(cap);
    assert_non_null(text);
    const int counts[] = {2, 15, 16, 17, 100, 3000};
    for (size_t c = 0; c < IB_ARRAY_LEN(counts); c++) {
        int n = counts[c];
        /* No duplicate; then key n-1 spelled again as the first key, escaped or not. */
        for (int dup = -1; dup < 2; dup++) {
            size_t len = 0;
            text[len++] = '{';
            for (int k = 0; k < n; k++)
                len += (size_t)snprintf(text + len, cap - len, "%s\"k%d\":%d", k ? "," : "", k, k);
            if (dup == 0)
                len += (size_t)snprintf(text + len, cap - len, ",\"k%d\":0", n - 1);
            if (dup == 1)
                len += (size_t)snprintf(text + len, cap - len, ",\"\\u006b%d\":0", n / 2);
            text[len++] = '}';
            assert_int_equal(same_as_jansson(text, len, IB_JSON_MAX_DEPTH), dup < 0);
        }
    }
    free(text);
}

/* Members, string decoding and numbers of a checked text. */
static void test_walk(void **state)
{
    (void)state;
    const char *text = " { \"a\" : \"x\\ny\" , \"b\\u0063\":[1, {\"z\":2}] ,\"n\":-12,"
                       "\"r\":1.25e2 , \"t\":true,\"u\":null}";
    ib_jr_value_t root, key, value;
    size_t pos = 0;
    char buf[64];
    assert_int_equal(ib_jr_check(text, strlen(text), 16, &root), IB_OK);
    assert_int_equal(root.type, IB_JR_OBJECT);

    assert_true(ib_jr_next_member(&root, &pos, &key, &value));
    assert_true(ib_jr_string_is(&key, "a"));
    assert_false(ib_jr_string_is(&key, "ab"));
    assert_int_equal(value.type, IB_JR_STRING);
    assert_int_equal(ib_jr_string(&value, buf), 3);
    assert_string_equal(buf, "x\ny");

    assert_true(ib_jr_next_member(&root, &pos, &key, &value));
    assert_true(ib_jr_string_is(&key, "bc"));
    assert_false(ib_jr_string_is(&key, "b"));
    assert_int_equal(value.type, IB_JR_ARRAY);
    assert_int_equal(value.len, strlen("[1, {\"z\":2}]"));

    assert_true(ib_jr_next_member(&root, &pos, &key, &value));
    assert_int_equal(value.type, IB_JR_INTEGER);
    assert_int_equal(ib_jr_integer(&value), -12);

    assert_true(ib_jr_next_member(&root, &pos, &key, &value));
    assert_int_equal(value.type, IB_JR_REAL);
    assert_true(ib_jr_real(&value) == 125.0);

    assert_true(ib_jr_next_member(&root, &pos, &key, &value));
    assert_int_equal(value.type, IB_JR_TRUE);
    assert_true(ib_jr_next_member(&root, &pos, &key, &value));
    assert_true(ib_jr_string_is(&key, "u"));
    assert_int_equal(value.type, IB_JR_NULL);
    assert_false(ib_jr_next_member(&root, &pos, &key, &value));
}

/* A small deterministic generator (xorshift), so a failure replays. */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* Mutations of the table's texts and of a realistic body: bytes replaced, inserted, deleted,
 * and pieces of JSON spliced in; each compared with jansson. */
static void test_mutations(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "\"",
        "\\",
        "\\u",
        "\\ud83d",
        "\\ude00",
        "0",
        "-",
        "e",
        ".",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "null",
        "true",
        "\"a\":1",
        "\xc3",
        "\xe2\x82",
        "\xf0\x9f\x98\x80",
        "\x00",
        " ",
        "1e999",
        "9223372036854775808",
        "\"k\"",
        "\\u0000",
        "\\/",
        "\"a\":1,\"a\":2",
    };
    static const char body[] =
        "{\"interview_template_id\":\"12345\",\"job_id\":6789,\"job_title\":\"Operations "
        "Manager\",\"callback_url\":\"https://groove-tech.workable.com/interviews/8823119\","
        "\"candidate\":{\"first_name\":\"Lakita\",\"last_name\":\"Marr\\u00e9ro\",\"phone\":"
        "\"(785)991-6256\",\"email\":\"lakita_marrero@gmail.com\"},\"preferences\":{\"key\":"
        "\"value\",\"n\":[1,2.5,-0,1e3,true,null,{\"x\":\"\\ud83d\\ude00\"}]}}";
    char text[1024];
    int accepted = 0;

    for (int round = 0; round < 200000; round++) {
        const char *seed = round % 2 ? body : CASES[rnd(IB_ARRAY_LEN(CASES))];
        size_t len = strlen(seed);
        memcpy(text, seed, len);
        for (unsigned m = 1 + rnd(3); m > 0; m--) {
            size_t at = len > 0 ? rnd((unsigned)len + 1) : 0;
            switch (rnd(4)) {
            case 0: /* replace a byte */
                if (at < len)
                    text[at] = (char)rnd(256);
                break;
            case 1: /* delete a byte */
                if (at < len) {
                    memmove(text + at, text + at + 1, len - at - 1);
                    len--;
                }
                break;
            default: { /* insert a piece */
                const char *p = pieces[rnd(IB_ARRAY_LEN(pieces))];
                size_t n = p[0] == '\0' ? 1 : strlen(p);
                if (len + n < sizeof(text)) {
                    memmove(text + at + n, text + at, len - at);
                    memcpy(text + at, p, n);
                    len += n;
                }
                break;
            }
            }
        }
        accepted += same_as_jansson(text, len, IB_JSON_MAX_DEPTH);
    }
    assert_true(accepted > 1000);
}

int main(void)
{
    ib_json_arena_install(); /* as both services run jansson */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),     cmocka_unit_test(test_depth),
        cmocka_unit_test(test_many_keys), cmocka_unit_test(test_walk),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
