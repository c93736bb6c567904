/* JSON parsing at the trust boundary. */
#ifndef IB_JSON_H
#define IB_JSON_H

#include <jansson.h>

#include "ib/common.h"

#define IB_JSON_MAX_DEPTH 16

/* Parses exactly len bytes with JSON_REJECT_DUPLICATES, then rejects nesting deeper than
 * max_depth (arrays and objects count one level each). Returns a new reference, or NULL with a
 * short reason in errstr. Invalid UTF-8 and NUL in strings are rejected by jansson. */
json_t *ib_json_parse(const char *buf, size_t len, int max_depth, char *errstr,
                      size_t errstr_size) IB_WUR;
/* Depth of a value: scalars 0, {} or [] 1, ... */
int ib_json_depth(const json_t *v);
/* Borrowed string value of key, or NULL when absent or not a string. */
const char *ib_json_str(const json_t *obj, const char *key);

/* A per-thread bump arena for jansson, for code that builds and drops a tree per message.
 * ib_json_arena_install() routes jansson's allocations through it (json_set_alloc_funcs); call it
 * once at start, before any other thread exists. Without it begin and end do nothing.
 * Between ib_json_arena_begin() and the matching ib_json_arena_end() (they nest), jansson's
 * allocations on this thread come from the arena (malloc beyond its 64 KiB) and freeing them is a
 * no-op; end releases the arena at once. Every json_t made in between must be freed before the
 * end, and nothing jansson returned in between may be passed to free(): json_dumps' result and
 * ib_log_fields are out (use json_dumpb into your buffer). Other threads, and this one outside a
 * scope, get plain malloc and free. */
void ib_json_arena_install(void);
void ib_json_arena_begin(void);
void ib_json_arena_end(void);
/* The compact dump of v (json_dumpb, JSON_COMPACT | flags) in a new malloc'd string (free());
 * *len_out gets its length. NULL when out of memory or v cannot be dumped. */
char *ib_json_dump_malloc(const json_t *v, size_t flags, size_t *len_out) IB_WUR;

#endif
