#include "deadletter.h"

#include <jansson.h>
#include <stdlib.h>

static json_t *base64(const unsigned char *in, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t out_len = 4 * ((len + 2) / 3);
    char *out = malloc(out_len + 1);
    size_t o = 0;
    json_t *s;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    s = json_stringn(out, o);
    free(out);
    return s;
}

/* Sets name to the bytes as a string, or name_base64 when they are not UTF-8. 0 on OOM. */
static int set_bytes(json_t *obj, const char *name, const char *name_b64, const void *p, size_t len)
{
    if (p == NULL)
        return json_object_set_new(obj, name, json_null()) == 0;
    json_t *s = json_stringn(p, len);
    if (s != NULL)
        return json_object_set_new(obj, name, s) == 0;
    if (json_object_set_new(obj, name, json_null()) != 0)
        return 0;
    json_t *b = base64(p, len);
    return b != NULL && json_object_set_new(obj, name_b64, b) == 0;
}

char *rw_dead_letter_value(const char *reason, const char *topic, int32_t partition, int64_t offset,
                           const void *key, size_t key_len, const void *value, size_t value_len,
                           long long failed_at_wall_ms)
{
    return rw_dead_letter_value_ex(reason, topic, partition, offset, key, key_len, value, value_len,
                                   failed_at_wall_ms, NULL);
}

char *rw_dead_letter_value_ex(const char *reason, const char *topic, int32_t partition,
                              int64_t offset, const void *key, size_t key_len, const void *value,
                              size_t value_len, long long failed_at_wall_ms, json_t *extra)
{
    char when[40];
    char *out = NULL;
    json_t *o = NULL;

    ib_format_rfc3339(failed_at_wall_ms, when, sizeof(when));
    o = json_pack("{s:s, s:s, s:i, s:I, s:s}", "reason", reason, "source_topic", topic, "partition",
                  (int)partition, "offset", (json_int_t)offset, "failed_at", when);
    if (o == NULL)
        goto done;
    if (!set_bytes(o, "key", "key_base64", key, key_len) ||
        !set_bytes(o, "value", "value_base64", value, value_len))
        goto done;
    if (extra != NULL && json_object_update(o, extra) != 0)
        goto done;
    out = json_dumps(o, JSON_COMPACT);
done:
    json_decref(o);
    return out;
}
