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

#endif
