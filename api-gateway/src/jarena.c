#include "jarena.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

/* A typical body needs a few KiB; only the pages a window touches become resident. */
#define REGION_SIZE ((size_t)256 * 1024)
#define ALIGN       ((size_t)16)

static alignas(16) unsigned char region[REGION_SIZE];
static atomic_flag region_taken = ATOMIC_FLAG_INIT;
static int installed;

static _Thread_local int window_open; /* this thread holds the region */
static _Thread_local size_t used;

static void *arena_malloc(size_t size)
{
    if (window_open) {
        size_t need = (size + ALIGN - 1) & ~(ALIGN - 1);
        if (need >= size && need <= REGION_SIZE - used) {
            void *p = region + used;
            used += need;
            return p;
        }
    }
    return malloc(size);
}

static void arena_free(void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (a >= (uintptr_t)region && a < (uintptr_t)region + REGION_SIZE)
        return; /* recycled by gw_jarena_end */
    free(p);
}

void gw_jarena_install(void)
{
    json_set_alloc_funcs(arena_malloc, arena_free);
    installed = 1;
}

int gw_jarena_begin(void)
{
    if (!installed || window_open)
        return 0;
    if (atomic_flag_test_and_set(&region_taken))
        return 0;
    window_open = 1;
    used = 0;
    return 1;
}

void gw_jarena_end(void)
{
    if (!window_open)
        return;
    window_open = 0;
    used = 0;
    atomic_flag_clear(&region_taken);
}
