#include "ib/jsonw.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ib_jw_init(ib_jw_t *w, char *storage, size_t size)
{
    w->p = storage;
    w->len = 0;
    w->cap = storage != NULL ? size : 0;
    w->heap = 0;
    w->failed = 0;
}

void ib_jw_free(ib_jw_t *w)
{
    if (w->heap)
        free(w->p);
    w->p = NULL;
    w->len = w->cap = 0;
    w->heap = 0;
}

/* Room for n more bytes. 0 when failed. */
static int reserve(ib_jw_t *w, size_t n)
{
    if (w->failed)
        return 0;
    if (n <= w->cap - w->len)
        return 1;
    size_t cap = w->cap < 256 ? 256 : w->cap;
    while (cap - w->len < n) {
        if (cap > SIZE_MAX / 2)
            goto fail;
        cap *= 2;
    }
    char *p = NULL;
    if (w->heap) {
        p = realloc(w->p, cap);
    } else {
        p = malloc(cap);
        if (p != NULL && w->len > 0)
            memcpy(p, w->p, w->len);
    }
    if (p == NULL)
        goto fail;
    w->p = p;
    w->cap = cap;
    w->heap = 1;
    return 1;
fail:
    w->failed = 1;
    return 0;
}

void ib_jw_raw(ib_jw_t *w, const char *s, size_t n)
{
    if (n == 0 || !reserve(w, n))
        return;
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when it is not one. The same
 * rules as jansson's utf8_check_full (RFC 3629). */
size_t ib_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t cp;

    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0u) != 0x80u)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

void ib_jw_str(ib_jw_t *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    /* Worst case 6 bytes per input byte, plus the quotes. */
    if (n > (SIZE_MAX - 2) / 6 || !reserve(w, n * 6 + 2))
        return;
    char *o = w->p + w->len;
    *o++ = '"';
    while (i < n) {
        /* Plain ASCII in a run: the common case. */
        size_t start = i;
        while (i < n && u[i] >= 0x20 && u[i] < 0x80 && u[i] != '"' && u[i] != '\\')
            i++;
        memcpy(o, s + start, i - start);
        o += i - start;
        if (i >= n)
            break;
        unsigned char c = u[i];
        if (c >= 0x80) {
            size_t k = ib_utf8_len(u + i, n - i);
            if (k == 0) {
                memcpy(o, "\\ufffd", 6);
                o += 6;
                i++;
            } else {
                memcpy(o, s + i, k);
                o += k;
                i += k;
            }
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 0xF];
            break;
        }
        i++;
    }
    *o++ = '"';
    w->len = (size_t)(o - w->p);
}

void ib_jw_int(ib_jw_t *w, long long v)
{
    /* printf's "%lld" by hand: every log line and event writes a few. */
    char buf[24];
    char *p = buf + sizeof(buf);
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    ib_jw_raw(w, p, (size_t)(buf + sizeof(buf) - p));
}

static int dump_chunk(const char *buffer, size_t size, void *data)
{
    ib_jw_raw(data, buffer, size);
    return 0;
}

void ib_jw_value(ib_jw_t *w, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *child;
        int first = 1;
        IB_JW_LIT(w, "{");
        json_object_foreach((json_t *)(uintptr_t)v, key, child)
        {
            if (!first)
                IB_JW_LIT(w, ",");
            first = 0;
            ib_jw_str(w, key, strlen(key));
            IB_JW_LIT(w, ":");
            ib_jw_value(w, child);
        }
        IB_JW_LIT(w, "}");
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *child;
        IB_JW_LIT(w, "[");
        json_array_foreach(v, i, child)
        {
            if (i > 0)
                IB_JW_LIT(w, ",");
            ib_jw_value(w, child);
        }
        IB_JW_LIT(w, "]");
        break;
    }
    case JSON_STRING:
        ib_jw_str(w, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        ib_jw_int(w, (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        /* jansson's own formatting (precision, ".0"), written straight into w: no allocation. */
        if (json_dump_callback(v, dump_chunk, w, JSON_ENCODE_ANY | JSON_COMPACT) != 0)
            w->failed = 1;
        break;
    case JSON_TRUE:
        IB_JW_LIT(w, "true");
        break;
    case JSON_FALSE:
        IB_JW_LIT(w, "false");
        break;
    case JSON_NULL:
        IB_JW_LIT(w, "null");
        break;
    }
}

char *ib_jw_take(ib_jw_t *w, size_t *len)
{
    char *text = NULL;

    if (!reserve(w, 1))
        return NULL;
    w->p[w->len] = '\0';
    if (w->heap) {
        text = w->p;
        w->heap = 0;
        w->p = NULL;
        w->cap = 0;
    } else {
        text = malloc(w->len + 1);
        if (text == NULL)
            return NULL;
        memcpy(text, w->p, w->len + 1);
    }
    *len = w->len;
    w->len = 0;
    return text;
}
