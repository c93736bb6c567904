#include "ib/json.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Recursion depth is bounded by limit: a subtree deeper than the limit stops the walk. */
static int depth_of(const json_t *v, int limit)
{
    int max = 0;
    if (limit < 0)
        return 1;
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach((json_t *)(uintptr_t)v, key, child)
        {
            int d = depth_of(child, limit - 1);
            if (d > max)
                max = d;
            if (max > limit)
                break;
        }
        return max + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child)
        {
            int d = depth_of(child, limit - 1);
            if (d > max)
                max = d;
            if (max > limit)
                break;
        }
        return max + 1;
    }
    return 0;
}

int ib_json_depth(const json_t *v)
{
    return depth_of(v, 4096);
}

json_t *ib_json_parse(const char *buf, size_t len, int max_depth, char *errstr, size_t errstr_size)
{
    json_error_t jerr;
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL) {
        snprintf(errstr, errstr_size, "%s at line %d column %d", jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (depth_of(v, max_depth) > max_depth) {
        snprintf(errstr, errstr_size, "nesting deeper than %d levels", max_depth);
        json_decref(v);
        return NULL;
    }
    return v;
}

const char *ib_json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}
