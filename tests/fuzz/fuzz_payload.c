/* Structure-aware fuzzing of the payload builder (shared/src/payload.c): the input bytes drive a
 * generator of well-formed status events, so mutations land in details coercion and dates rather
 * than in jansson's syntax errors. Two oracles:
 *   - details: the rule of payload.h is lossless. Every value the builder rewrote is a string
 *     whose JSON text parses back to the original subtree, everything else is unchanged, and
 *     ev.coercions counts the rewrites;
 *   - occurred_at: ib_rfc3339_parse accepts exactly the valid RFC 3339 date-times the generator
 *     built (month lengths, leap years, 23:59:60 allowed) and returns timegm's value. */
#include <time.h>

#include "fuzz.h"
#include "ib/payload.h"

typedef struct {
    const uint8_t *p;
    size_t n;
} src_t;

static unsigned u8(src_t *s)
{
    if (s->n == 0)
        return 0;
    s->n--;
    return *s->p++;
}

static unsigned long long u64(src_t *s)
{
    unsigned long long v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | u8(s);
    return v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_jansson();
    return 0;
}

/* Short strings from fragments that matter to JSON encoding (quotes, escapes, UTF-8). */
static json_t *gen_string(src_t *s)
{
    static const char *const frags[] = {"a",  "b", "x",  "\"", "\\", "{",   "}",   "[",
                                        "]",  ":", ",",  " ",  "0",  "7",   "-",   "\xc3\xa9",
                                        "\n", "/", "\t", "e",  ".",  "1e5", "null"};
    char buf[128];
    size_t len = 0;
    unsigned n = u8(s) % 8;

    buf[0] = '\0';
    for (unsigned i = 0; i < n; i++) {
        const char *f = frags[u8(s) % IB_ARRAY_LEN(frags)];
        size_t fl = strlen(f);
        memcpy(buf + len, f, fl + 1);
        len += fl;
    }
    return json_string(buf);
}

static json_t *gen_key_value(src_t *s, int depth);

static json_t *gen_value(src_t *s, int depth)
{
    unsigned kind = u8(s) % (depth <= 0 ? 5u : 8u);
    switch (kind) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(u8(s) & 1);
    case 2:
        return json_integer((json_int_t)u64(s));
    case 3: {
        double d = (double)(long long)u64(s) / (double)(1 + u8(s));
        return json_real(d);
    }
    case 4:
        return gen_string(s);
    case 5: {
        json_t *a = json_array();
        unsigned n = u8(s) % 4;
        for (unsigned i = 0; i < n; i++)
            json_array_append_new(a, gen_value(s, depth - 1));
        return a;
    }
    default:
        return gen_key_value(s, depth);
    }
}

/* An object of up to 3 keys (a repeated key replaces the value: still a valid object). */
static json_t *gen_key_value(src_t *s, int depth)
{
    static const char *const keys[] = {"a",     "b",        "behavior", "Problem Solving",
                                       "score", "\xc3\xa9", ""};
    json_t *o = json_object();
    unsigned n = u8(s) % 4;
    for (unsigned i = 0; i < n; i++)
        json_object_set_new(o, keys[u8(s) % IB_ARRAY_LEN(keys)], gen_value(s, depth - 1));
    return o;
}

static int days_in_month(int y, int m)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : mdays[m - 1];
}

/* A date-time near the RFC 3339 form; *valid and *ms say what a correct parser returns. */
static void gen_date(src_t *s, char *buf, size_t size, int *valid, long long *ms)
{
    static const char seps[] = {'T', 't', ' ', 'x'};
    int y = (int)((u8(s) << 8 | u8(s)) % 10000);
    int mo = (int)(u8(s) % 14);
    int d = (int)(u8(s) % 33);
    int h = (int)(u8(s) % 25);
    int mi = (int)(u8(s) % 61);
    int sec = (int)(u8(s) % 62);
    unsigned frac_digits = u8(s) % 6;
    unsigned frac = (unsigned)(u64(s) % 100000);
    unsigned zone = u8(s) % 5;
    int oh = (int)(u8(s) % 25);
    int om = (int)(u8(s) % 61);
    char sep = seps[u8(s) % IB_ARRAY_LEN(seps)];
    char fbuf[16] = "";
    char zbuf[16] = "";
    int frac_ms = 0;

    if (frac_digits > 0) {
        char digits[8];
        snprintf(digits, sizeof(digits), "%05u", frac);
        snprintf(fbuf, sizeof(fbuf), ".%.*s", (int)frac_digits, digits);
        for (unsigned i = 0; i < 3; i++)
            frac_ms = frac_ms * 10 + (i < frac_digits ? digits[i] - '0' : 0);
    }
    int offset_min = 0;
    switch (zone) {
    case 0:
        snprintf(zbuf, sizeof(zbuf), "Z");
        break;
    case 1:
        snprintf(zbuf, sizeof(zbuf), "z");
        break;
    case 2:
    case 3:
        snprintf(zbuf, sizeof(zbuf), "%c%02d:%02d", zone == 2 ? '+' : '-', oh, om);
        offset_min = (zone == 2 ? 1 : -1) * (oh * 60 + om);
        break;
    default:
        break; /* no zone: invalid */
    }
    snprintf(buf, size, "%04d-%02d-%02d%c%02d:%02d:%02d%s%s", y, mo, d, sep, h, mi, sec, fbuf,
             zbuf);

    *valid = sep != 'x' && zone < 4 && mo >= 1 && mo <= 12 && d >= 1 && d <= days_in_month(y, mo) &&
             h <= 23 && mi <= 59 && sec <= 60 && (zone > 1 ? oh <= 23 && om <= 59 : 1);
    *ms = 0;
    if (*valid) {
        struct tm tm = {0};
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec; /* 60 normalises to the next minute, as the parser does */
        *ms = ((long long)timegm(&tm) - offset_min * 60LL) * 1000 + frac_ms;
    }
}

static unsigned expected_coercions(const json_t *v, int level)
{
    const char *key;
    json_t *child;
    unsigned n = 0;

    if (json_is_array(v) || (json_is_object(v) && level >= 2))
        return 1;
    if (!json_is_object(v))
        return 0;
    json_object_foreach((json_t *)(uintptr_t)v, key, child)
    {
        n += expected_coercions(child, level + 1);
    }
    return n;
}

/* out is the builder's form of in at level (0 = details itself). */
static void check_lossless(const json_t *in, const json_t *out, int level)
{
    const char *key;
    json_t *child;

    if (json_is_array(in) || (json_is_object(in) && level >= 2)) {
        json_error_t jerr;
        FUZZ_CHECK(json_is_string(out));
        json_t *back = json_loads(json_string_value(out), JSON_DECODE_ANY, &jerr);
        FUZZ_CHECK(back != NULL);
        FUZZ_CHECK(json_equal(back, in));
        json_decref(back);
        return;
    }
    if (json_is_object(in)) {
        FUZZ_CHECK(json_is_object(out));
        FUZZ_CHECK(json_object_size(out) == json_object_size(in));
        json_object_foreach((json_t *)(uintptr_t)in, key, child)
        {
            check_lossless(child, json_object_get(out, key), level + 1);
        }
        return;
    }
    FUZZ_CHECK(json_equal(in, out));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const statuses[] = {"pending",  "completed", "declined",
                                           "rejected", "expired",   "accepted"};
    static const char *const grades[] = {"failed", "passed", "excelled", "good"};
    src_t s = {data, size};
    char date[96], id[16], err[256];
    int date_valid;
    long long date_ms, parsed_ms = 0;
    ib_status_event_t ev;

    gen_date(&s, date, sizeof(date), &date_valid, &date_ms);
    ib_rc_t date_rc = ib_rfc3339_parse(date, &parsed_ms);
    if ((date_rc == IB_OK) != date_valid || (date_valid && parsed_ms != date_ms))
        fprintf(stderr, "occurred_at \"%s\": parser %s %lld, expected %s %lld\n", date,
                date_rc == IB_OK ? "accepts" : "refuses", parsed_ms,
                date_valid ? "accept" : "refuse", date_ms);
    if (date_valid) {
        FUZZ_CHECK(date_rc == IB_OK);
        FUZZ_CHECK(parsed_ms == date_ms);
    } else {
        FUZZ_CHECK(date_rc == IB_ERR);
    }

    unsigned flags = u8(&s);
    const char *status = statuses[u8(&s) % IB_ARRAY_LEN(statuses)];
    snprintf(id, sizeof(id), "i-%u", u8(&s));
    json_t *root =
        json_pack("{s:s, s:s, s:s}", "interview_id", id, "status", status, "occurred_at", date);
    json_t *details = gen_key_value(&s, 1 + (int)(u8(&s) % 6));
    json_t *iv = json_object();
    json_object_set(iv, "details", details);
    if (flags & 1)
        json_object_set_new(iv, "score", gen_value(&s, 0));
    if (flags & 2)
        json_object_set_new(iv, "grade", json_string(grades[u8(&s) % IB_ARRAY_LEN(grades)]));
    if (flags & 4)
        json_object_set_new(iv, "summary", gen_value(&s, 0));
    if (flags & 8)
        json_object_set_new(iv, "duration", gen_string(&s));
    json_object_set_new(root, "interview", iv);
    if (flags & 16)
        json_object_set_new(root, "results_url",
                            json_string(flags & 32 ? "https://p.example/r" : "http://p.example/r"));

    char *text = json_dumps(root, JSON_COMPACT);
    FUZZ_CHECK(text != NULL);
    if (ib_status_event_parse(text, strlen(text), &ev, err, sizeof(err)) == IB_OK) {
        FUZZ_CHECK(date_valid && ev.occurred_ms == date_ms);
        FUZZ_CHECK(strcmp(ev.interview_id, id) == 0);
        json_t *out = json_object_get(json_object_get(ev.payload, "interview"), "details");
        check_lossless(details, out, 0);
        FUZZ_CHECK(ev.coercions == expected_coercions(details, 0));
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    ib_status_event_clear(&ev);
    free(text);
    json_decref(details);
    json_decref(root);
    return 0;
}
