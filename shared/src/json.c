#include "ib/json.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int depth_of(const json_t *v, int limit);

/* Folds one child's depth into *max; non-zero when the walk can stop (over the limit). */
static int fold_child(const json_t *child, int limit, int *max)
{
    int d = depth_of(child, limit - 1);
    if (d > *max)
        *max = d;
    return *max > limit;
}

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
            if (fold_child(child, limit, &max))
                break;
        }
        return max + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child)
        {
            if (fold_child(child, limit, &max))
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

#define ARENA_SIZE  (64 * 1024)
#define ARENA_ALIGN 16

static int arena_installed;
static pthread_key_t arena_key; /* its destructor frees a thread's arena when the thread ends */
static _Thread_local struct {
    unsigned char *base; /* ARENA_SIZE bytes, allocated on the thread's first scope */
    size_t used;
    unsigned depth;
} arena;

static void *arena_malloc(size_t size)
{
    if (arena.depth > 0 && arena.base != NULL) {
        size_t at = (arena.used + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
        if (size <= ARENA_SIZE && at <= ARENA_SIZE - size) {
            arena.used = at + size;
            return arena.base + at;
        }
    }
    return malloc(size);
}

static void arena_free(void *p)
{
    uintptr_t a = (uintptr_t)p;
    uintptr_t base = (uintptr_t)arena.base;
    if (arena.base != NULL && a >= base && a < base + ARENA_SIZE)
        return; /* released by ib_json_arena_end */
    free(p);
}

void ib_json_arena_install(void)
{
    if (arena_installed || pthread_key_create(&arena_key, free) != 0)
        return; /* no arena: plain malloc */
    json_set_alloc_funcs(arena_malloc, arena_free);
    arena_installed = 1;
}

void ib_json_arena_begin(void)
{
    if (!arena_installed)
        return;
    if (arena.base == NULL) {
        arena.base = malloc(ARENA_SIZE); /* NULL: every allocation falls through to malloc */
        if (arena.base != NULL && pthread_setspecific(arena_key, arena.base) != 0) {
            free(arena.base);
            arena.base = NULL;
        }
    }
    arena.depth++;
}

void ib_json_arena_end(void)
{
    if (!arena_installed || arena.depth == 0)
        return;
    if (--arena.depth == 0)
        arena.used = 0;
}

char *ib_json_dump_malloc(const json_t *v, size_t flags, size_t *len_out)
{
    char tmp[4096];
    size_t n = json_dumpb(v, tmp, sizeof(tmp), JSON_COMPACT | flags);
    if (n == 0)
        return NULL;
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    if (n <= sizeof(tmp))
        memcpy(out, tmp, n);
    else if (json_dumpb(v, out, n, JSON_COMPACT | flags) != n) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    *len_out = n;
    return out;
}
