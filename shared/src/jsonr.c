#include "ib/jsonr.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ib/crypto.h"
#include "ib/hash.h"
#include "ib/jsonw.h"

/* jansson's own nesting limit (JSON_PARSER_MAX_DEPTH): deeper texts fail to parse. */
#define JANSSON_MAX_DEPTH 2048
/* Keys of one object compared pairwise up to this count; beyond, sorted by a seeded hash. */
#define PAIRWISE_MAX 16
#define KEYS_INLINE  64
#define NUM_INLINE   64

typedef struct {
    size_t off; /* the key's opening quote in the text */
    size_t len; /* with its quotes */
    uint64_t hash;
    int escaped; /* holds a backslash */
} key_ref_t;

typedef struct {
    const unsigned char *s;
    size_t len;
    size_t pos;
    int max_depth;
    key_ref_t *keys; /* the keys of the objects being read, innermost last */
    size_t nkeys;
    size_t cap;
    key_ref_t inline_keys[KEYS_INLINE];
} checker_t;

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static void skip_ws(checker_t *ck)
{
    while (ck->pos < ck->len && is_ws(ck->s[ck->pos]))
        ck->pos++;
}

/* The four hex digits at s (already checked). */
static unsigned hex4(const unsigned char *s)
{
    return (unsigned)(ib_hex_value((char)s[0]) << 12 | ib_hex_value((char)s[1]) << 8 |
                      ib_hex_value((char)s[2]) << 4 | ib_hex_value((char)s[3]));
}

/* jansson reads one byte past a number or a literal and puts it back; a NUL byte put back is
 * lost (its stream buffer is NUL-terminated), so one NUL right after such a token is skipped. */
static size_t skip_unget_nul(const checker_t *ck, size_t i)
{
    return i < ck->len && ck->s[i] == '\0' ? i + 1 : i;
}

/* A string at ck->pos (its opening quote). *escaped: it holds a backslash. */
static ib_rc_t check_string(checker_t *ck, int *escaped)
{
    const unsigned char *s = ck->s;
    size_t i = ck->pos + 1;

    *escaped = 0;
    for (;;) {
        if (i >= ck->len)
            return IB_ERR;
        unsigned char c = s[i];
        if (c == '"')
            break;
        if (c < 0x20)
            return IB_ERR;
        if (c >= 0x80) {
            size_t k = ib_utf8_len(s + i, ck->len - i);
            if (k == 0)
                return IB_ERR;
            i += k;
            continue;
        }
        if (c != '\\') {
            i++;
            continue;
        }
        *escaped = 1;
        if (i + 1 >= ck->len)
            return IB_ERR;
        c = s[i + 1];
        if (c != 'u') {
            if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
                return IB_ERR;
            i += 2;
            continue;
        }
        if (ck->len - i < 6)
            return IB_ERR;
        for (size_t k = 2; k < 6; k++)
            if (ib_hex_value((char)s[i + k]) < 0)
                return IB_ERR;
        unsigned cp = hex4(s + i + 2);
        i += 6;
        if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
            return IB_ERR; /* NUL, or a low surrogate alone */
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            /* A high surrogate: a low one must follow at once. */
            if (ck->len - i < 6 || s[i] != '\\' || s[i + 1] != 'u')
                return IB_ERR;
            for (size_t k = 2; k < 6; k++)
                if (ib_hex_value((char)s[i + k]) < 0)
                    return IB_ERR;
            unsigned lo = hex4(s + i + 2);
            if (lo < 0xDC00 || lo > 0xDFFF)
                return IB_ERR;
            i += 6;
        }
    }
    ck->pos = i + 1;
    return IB_OK;
}

/* Copies n bytes of number text, NUL-terminated, into buf (NUM_INLINE bytes) or a new heap
 * block (*heap, for the caller to free). NULL when out of memory. */
static char *number_text(const unsigned char *s, size_t n, char *buf, char **heap)
{
    char *t = buf;
    *heap = NULL;
    if (n >= NUM_INLINE) {
        *heap = malloc(n + 1);
        if (*heap == NULL)
            return NULL;
        t = *heap;
    }
    memcpy(t, s, n);
    t[n] = '\0';
    return t;
}

/* A number at ck->pos, with jansson's grammar and range rules (lex_scan_number). *real: it has
 * a fraction or an exponent. */
static ib_rc_t check_number(checker_t *ck, int *real)
{
    const unsigned char *s = ck->s;
    size_t start = ck->pos, i = ck->pos, digits;

    *real = 0;
    if (i < ck->len && s[i] == '-')
        i++;
    if (i >= ck->len || !is_digit(s[i]))
        return IB_ERR;
    if (s[i] == '0') {
        i++;
        if (i < ck->len && is_digit(s[i]))
            return IB_ERR;
    } else {
        while (i < ck->len && is_digit(s[i]))
            i++;
    }
    digits = i - start;
    if (i < ck->len && s[i] == '.') {
        *real = 1;
        i++;
        if (i >= ck->len || !is_digit(s[i]))
            return IB_ERR;
        while (i < ck->len && is_digit(s[i]))
            i++;
    }
    if (i < ck->len && (s[i] == 'e' || s[i] == 'E')) {
        *real = 1;
        i++;
        if (i < ck->len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= ck->len || !is_digit(s[i]))
            return IB_ERR;
        while (i < ck->len && is_digit(s[i]))
            i++;
    }
    ck->pos = skip_unget_nul(ck, i);
    /* Ranges: up to 18 digits always fit a long long. */
    if (!*real && digits <= 18)
        return IB_OK;
    char buf[NUM_INLINE], *heap = NULL;
    const char *t = number_text(s + start, i - start, buf, &heap);
    ib_rc_t rc = IB_OK;
    if (t == NULL)
        return IB_ERR;
    errno = 0;
    if (!*real) {
        (void)strtoll(t, NULL, 10);
        if (errno == ERANGE)
            rc = IB_ERR;
    } else {
        double d = strtod(t, NULL);
        if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
            rc = IB_ERR;
    }
    free(heap);
    return rc;
}

static ib_rc_t check_literal(checker_t *ck, const char *lit, size_t n)
{
    if (ck->len - ck->pos < n || memcmp(ck->s + ck->pos, lit, n) != 0)
        return IB_ERR;
    ck->pos = skip_unget_nul(ck, ck->pos + n);
    return IB_OK;
}

/* Decodes the checked string at s (its opening quote) into out (room for its length), NUL
 * terminated; returns the decoded length. */
static size_t decode_string(const unsigned char *s, char *out)
{
    size_t i = 1, o = 0;
    for (;;) {
        unsigned char c = s[i];
        if (c == '"')
            break;
        if (c != '\\') {
            out[o++] = (char)c;
            i++;
            continue;
        }
        c = s[i + 1];
        i += 2;
        switch (c) {
        case 'b':
            out[o++] = '\b';
            continue;
        case 'f':
            out[o++] = '\f';
            continue;
        case 'n':
            out[o++] = '\n';
            continue;
        case 'r':
            out[o++] = '\r';
            continue;
        case 't':
            out[o++] = '\t';
            continue;
        case 'u':
            break;
        default: /* '"', '\\', '/' */
            out[o++] = (char)c;
            continue;
        }
        uint32_t cp = hex4(s + i);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(s + i + 2) - 0xDC00);
            i += 6;
        }
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else if (cp < 0x800) {
            out[o++] = (char)(0xC0 | (cp >> 6));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[o++] = (char)(0xE0 | (cp >> 12));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | (cp >> 18));
            out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    out[o] = '\0';
    return o;
}

/* 1 when the checked strings a and b (quotes included, their lengths) decode to the same bytes;
 * -1 when out of memory. */
static int keys_equal(const unsigned char *s, const key_ref_t *x, const key_ref_t *y)
{
    const unsigned char *a = s + x->off, *b = s + y->off;
    size_t alen = x->len, blen = y->len;
    if (!x->escaped && !y->escaped)
        return alen == blen && memcmp(a, b, alen) == 0;
    char *da = malloc(alen + blen);
    if (da == NULL)
        return -1;
    char *db = da + alen;
    size_t na = decode_string(a, da), nb = decode_string(b, db);
    int eq = na == nb && memcmp(da, db, na) == 0;
    free(da);
    return eq;
}

static uint64_t key_hash(const unsigned char *k, size_t len, int escaped, int *oom)
{
    if (!escaped)
        return ib_hash(k + 1, len - 2);
    char *d = malloc(len);
    if (d == NULL) {
        *oom = 1;
        return 0;
    }
    size_t n = decode_string(k, d);
    uint64_t h = ib_hash(d, n);
    free(d);
    return h;
}

static int by_hash(const void *a, const void *b)
{
    uint64_t x = ((const key_ref_t *)a)->hash, y = ((const key_ref_t *)b)->hash;
    return x < y ? -1 : x > y;
}

/* IB_ERR when two of the keys first..ck->nkeys decode to the same string. */
static ib_rc_t check_duplicates(checker_t *ck, size_t first)
{
    key_ref_t *k = ck->keys + first;
    size_t n = ck->nkeys - first;
    int eq, oom = 0;

    if (n <= PAIRWISE_MAX) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++) {
                eq = keys_equal(ck->s, &k[i], &k[j]);
                if (eq != 0)
                    return IB_ERR;
            }
        return IB_OK;
    }
    for (size_t i = 0; i < n; i++)
        k[i].hash = key_hash(ck->s + k[i].off, k[i].len, k[i].escaped, &oom);
    if (oom)
        return IB_ERR;
    qsort(k, n, sizeof(*k), by_hash);
    for (size_t i = 1; i < n; i++) {
        /* Equal hashes: compare every key of the run with each other. */
        for (size_t j = i; j-- > 0 && k[j].hash == k[i].hash;) {
            eq = keys_equal(ck->s, &k[i], &k[j]);
            if (eq != 0)
                return IB_ERR;
        }
    }
    return IB_OK;
}

static ib_rc_t push_key(checker_t *ck, size_t off, size_t len, int escaped)
{
    if (ck->nkeys == ck->cap) {
        size_t cap = ck->cap * 2;
        key_ref_t *keys = NULL;
        if (ck->keys == ck->inline_keys) {
            keys = malloc(cap * sizeof(*keys));
            if (keys != NULL)
                memcpy(keys, ck->keys, ck->nkeys * sizeof(*keys));
        } else {
            keys = realloc(ck->keys, cap * sizeof(*keys));
        }
        if (keys == NULL)
            return IB_ERR;
        ck->keys = keys;
        ck->cap = cap;
    }
    ck->keys[ck->nkeys++] = (key_ref_t){off, len, 0, escaped};
    return IB_OK;
}

static ib_rc_t check_value(checker_t *ck, int depth);

static ib_rc_t check_object(checker_t *ck, int depth)
{
    size_t first = ck->nkeys;
    int escaped;

    ck->pos++; /* '{' */
    skip_ws(ck);
    if (ck->pos < ck->len && ck->s[ck->pos] == '}') {
        ck->pos++;
        return IB_OK;
    }
    for (;;) {
        if (ck->pos >= ck->len || ck->s[ck->pos] != '"')
            return IB_ERR;
        size_t key_at = ck->pos;
        if (check_string(ck, &escaped) != IB_OK ||
            push_key(ck, key_at, ck->pos - key_at, escaped) != IB_OK)
            return IB_ERR;
        skip_ws(ck);
        if (ck->pos >= ck->len || ck->s[ck->pos] != ':')
            return IB_ERR;
        ck->pos++;
        skip_ws(ck);
        if (check_value(ck, depth) != IB_OK)
            return IB_ERR;
        skip_ws(ck);
        if (ck->pos >= ck->len)
            return IB_ERR;
        if (ck->s[ck->pos] == '}')
            break;
        if (ck->s[ck->pos] != ',')
            return IB_ERR;
        ck->pos++;
        skip_ws(ck);
    }
    ck->pos++;
    ib_rc_t rc = check_duplicates(ck, first);
    ck->nkeys = first;
    return rc;
}

static ib_rc_t check_array(checker_t *ck, int depth)
{
    ck->pos++; /* '[' */
    skip_ws(ck);
    if (ck->pos < ck->len && ck->s[ck->pos] == ']') {
        ck->pos++;
        return IB_OK;
    }
    for (;;) {
        if (check_value(ck, depth) != IB_OK)
            return IB_ERR;
        skip_ws(ck);
        if (ck->pos >= ck->len)
            return IB_ERR;
        if (ck->s[ck->pos] == ']')
            break;
        if (ck->s[ck->pos] != ',')
            return IB_ERR;
        ck->pos++;
        skip_ws(ck);
    }
    ck->pos++;
    return IB_OK;
}

/* The value at ck->pos (no blank before it); depth counts the containers around it. */
static ib_rc_t check_value(checker_t *ck, int depth)
{
    int flag;

    if (ck->pos >= ck->len)
        return IB_ERR;
    switch (ck->s[ck->pos]) {
    case '{':
        if (depth >= ck->max_depth)
            return IB_ERR;
        return check_object(ck, depth + 1);
    case '[':
        if (depth >= ck->max_depth)
            return IB_ERR;
        return check_array(ck, depth + 1);
    case '"':
        return check_string(ck, &flag);
    case 't':
        return check_literal(ck, "true", 4);
    case 'f':
        return check_literal(ck, "false", 5);
    case 'n':
        return check_literal(ck, "null", 4);
    default:
        return check_number(ck, &flag);
    }
}

/* The extent and type of the checked value at s[*pos..n); *pos moves past it. */
static void read_value(const char *s, size_t n, size_t *pos, ib_jr_value_t *v)
{
    size_t i = *pos;
    const unsigned char *u = (const unsigned char *)s;

    v->text = s + i;
    switch (u[i]) {
    case '"':
        for (i++; u[i] != '"'; i++)
            if (u[i] == '\\')
                i++;
        i++;
        v->type = IB_JR_STRING;
        break;
    case '{':
    case '[': {
        size_t level = 0;
        v->type = u[i] == '{' ? IB_JR_OBJECT : IB_JR_ARRAY;
        do {
            unsigned char c = u[i];
            if (c == '"') {
                for (i++; u[i] != '"'; i++)
                    if (u[i] == '\\')
                        i++;
            } else if (c == '{' || c == '[') {
                level++;
            } else if (c == '}' || c == ']') {
                level--;
            }
            i++;
        } while (level > 0);
        break;
    }
    case 't':
        v->type = IB_JR_TRUE;
        i += 4;
        break;
    case 'f':
        v->type = IB_JR_FALSE;
        i += 5;
        break;
    case 'n':
        v->type = IB_JR_NULL;
        i += 4;
        break;
    default:
        v->type = IB_JR_INTEGER;
        while (i < n && (is_digit(u[i]) || u[i] == '-' || u[i] == '+' || u[i] == '.' ||
                         u[i] == 'e' || u[i] == 'E')) {
            if (u[i] == '.' || u[i] == 'e' || u[i] == 'E')
                v->type = IB_JR_REAL;
            i++;
        }
        break;
    }
    v->len = (size_t)(s + i - v->text);
    *pos = i;
}

ib_rc_t ib_jr_check(const char *buf, size_t len, int max_depth, ib_jr_value_t *root)
{
    checker_t ck;
    ib_rc_t rc = IB_ERR;

    ck.s = (const unsigned char *)buf;
    ck.len = len;
    ck.pos = 0;
    ck.max_depth = max_depth < JANSSON_MAX_DEPTH ? max_depth : JANSSON_MAX_DEPTH;
    ck.keys = ck.inline_keys;
    ck.nkeys = 0;
    ck.cap = KEYS_INLINE;

    skip_ws(&ck);
    if (ck.pos >= len || (buf[ck.pos] != '{' && buf[ck.pos] != '['))
        goto out;
    size_t start = ck.pos;
    if (check_value(&ck, 0) != IB_OK)
        goto out;
    size_t end = ck.pos;
    skip_ws(&ck);
    if (ck.pos != len)
        goto out;
    root->type = buf[start] == '{' ? IB_JR_OBJECT : IB_JR_ARRAY;
    root->text = buf + start;
    root->len = end - start;
    rc = IB_OK;
out:
    if (ck.keys != ck.inline_keys)
        free(ck.keys);
    return rc;
}

/* Blanks, and the NUL a checked text may hold after a number or a literal (skip_unget_nul). */
static size_t skip_blank(const char *s, size_t i)
{
    while (is_ws((unsigned char)s[i]) || s[i] == '\0')
        i++;
    return i;
}

int ib_jr_next_member(const ib_jr_value_t *obj, size_t *pos, ib_jr_value_t *key,
                      ib_jr_value_t *value)
{
    const char *s = obj->text;
    size_t i = *pos == 0 ? 1 : *pos; /* past '{', or just past the previous value */

    i = skip_blank(s, i);
    if (s[i] == ',')
        i = skip_blank(s, i + 1);
    if (s[i] == '}')
        return 0;
    read_value(s, obj->len, &i, key);
    i = skip_blank(s, i) + 1; /* ':' */
    i = skip_blank(s, i);
    read_value(s, obj->len, &i, value);
    *pos = i;
    return 1;
}

int ib_jr_string_is(const ib_jr_value_t *s, const char *lit)
{
    size_t n = strlen(lit);
    if (memchr(s->text, '\\', s->len) == NULL)
        return s->len == n + 2 && memcmp(s->text + 1, lit, n) == 0;
    /* Escapes only shorten a string. */
    if (s->len - 2 < n)
        return 0;
    char small[256], *d = s->len <= sizeof(small) ? small : malloc(s->len);
    if (d == NULL)
        return 0;
    size_t dn = decode_string((const unsigned char *)s->text, d);
    int eq = dn == n && memcmp(d, lit, n) == 0;
    if (d != small)
        free(d);
    return eq;
}

size_t ib_jr_string(const ib_jr_value_t *s, char *out)
{
    if (memchr(s->text, '\\', s->len) == NULL) {
        memcpy(out, s->text + 1, s->len - 2);
        out[s->len - 2] = '\0';
        return s->len - 2;
    }
    return decode_string((const unsigned char *)s->text, out);
}

long long ib_jr_integer(const ib_jr_value_t *v)
{
    char buf[NUM_INLINE], *heap = NULL;
    const char *t = number_text((const unsigned char *)v->text, v->len, buf, &heap);
    long long x = t != NULL ? strtoll(t, NULL, 10) : 0;
    free(heap);
    return x;
}

double ib_jr_real(const ib_jr_value_t *v)
{
    char buf[NUM_INLINE], *heap = NULL;
    const char *t = number_text((const unsigned char *)v->text, v->len, buf, &heap);
    double x = t != NULL ? strtod(t, NULL) : 0.0;
    free(heap);
    return x;
}

static void write_string(ib_jw_t *w, const ib_jr_value_t *v)
{
    if (memchr(v->text, '\\', v->len) == NULL) {
        ib_jw_str(w, v->text + 1, v->len - 2);
        return;
    }
    char small[256], *d = v->len <= sizeof(small) ? small : malloc(v->len);
    if (d == NULL) {
        w->failed = 1;
        return;
    }
    size_t n = decode_string((const unsigned char *)v->text, d);
    ib_jw_str(w, d, n);
    if (d != small)
        free(d);
}

void ib_jr_write(ib_jw_t *w, const ib_jr_value_t *v)
{
    ib_jr_value_t key, child;
    size_t pos = 0;
    int first = 1;

    switch (v->type) {
    case IB_JR_OBJECT:
        IB_JW_LIT(w, "{");
        while (ib_jr_next_member(v, &pos, &key, &child)) {
            if (!first)
                IB_JW_LIT(w, ",");
            first = 0;
            write_string(w, &key);
            IB_JW_LIT(w, ":");
            ib_jr_write(w, &child);
        }
        IB_JW_LIT(w, "}");
        break;
    case IB_JR_ARRAY: {
        size_t i = skip_blank(v->text, 1);
        IB_JW_LIT(w, "[");
        while (v->text[i] != ']') {
            if (!first)
                IB_JW_LIT(w, ",");
            first = 0;
            read_value(v->text, v->len, &i, &child);
            ib_jr_write(w, &child);
            i = skip_blank(v->text, i);
            if (v->text[i] == ',')
                i = skip_blank(v->text, i + 1);
        }
        IB_JW_LIT(w, "]");
        break;
    }
    case IB_JR_STRING:
        write_string(w, v);
        break;
    case IB_JR_INTEGER:
        ib_jw_int(w, ib_jr_integer(v));
        break;
    case IB_JR_REAL: {
        /* jansson's own formatting of the real it would have parsed. */
        json_t *r = json_real(ib_jr_real(v));
        if (r == NULL)
            w->failed = 1;
        else
            ib_jw_value(w, r);
        json_decref(r);
        break;
    }
    case IB_JR_TRUE:
        IB_JW_LIT(w, "true");
        break;
    case IB_JR_FALSE:
        IB_JW_LIT(w, "false");
        break;
    case IB_JR_NULL:
        IB_JW_LIT(w, "null");
        break;
    }
}
