/* A JSON reader without a tree: checks a text once, then walks it in place. For hot paths that
 * read a few members of a small document (the gateway's POST body) and would otherwise build and
 * drop a jansson tree per message. */
#ifndef IB_JSONR_H
#define IB_JSONR_H

#include <stddef.h>

#include "ib/common.h"
#include "ib/jsonw.h"

typedef enum {
    IB_JR_OBJECT,
    IB_JR_ARRAY,
    IB_JR_STRING,
    IB_JR_INTEGER, /* no fraction and no exponent: jansson's integer */
    IB_JR_REAL,
    IB_JR_TRUE,
    IB_JR_FALSE,
    IB_JR_NULL
} ib_jr_type_t;

/* One value of a checked text: its bytes are borrowed from that text (a string with its quotes,
 * a container with its brackets). */
typedef struct {
    ib_jr_type_t type;
    const char *text;
    size_t len;
} ib_jr_value_t;

/* Checks that len bytes are a JSON text that ib_json_parse (jansson 2.14's json_loadb with
 * JSON_REJECT_DUPLICATES, then the depth limit) would accept: an object or an array at the top,
 * strict UTF-8 everywhere, no control character or \u0000 in strings, no lone surrogate escape,
 * no duplicate key in an object (keys compared once decoded), integers that fit a long long,
 * reals that do not overflow a double, containers nested at most max_depth levels. IB_OK with
 * *root the whole value; IB_ERR when jansson would have refused it, or out of memory. */
ib_rc_t ib_jr_check(const char *buf, size_t len, int max_depth, ib_jr_value_t *root) IB_WUR;

/* Walks the members of a checked object: *pos starts at 0. Returns 1 with *key (a string) and
 * *value, 0 after the last member. */
int ib_jr_next_member(const ib_jr_value_t *obj, size_t *pos, ib_jr_value_t *key,
                      ib_jr_value_t *value);
/* 1 when the checked string s, decoded, is the NUL-terminated lit. */
int ib_jr_string_is(const ib_jr_value_t *s, const char *lit);
/* Decodes the checked string s into out (at least s->len bytes), NUL-terminated; returns its
 * length. The result holds no NUL byte and is valid UTF-8. */
size_t ib_jr_string(const ib_jr_value_t *s, char *out);
/* The value of a checked IB_JR_INTEGER or IB_JR_REAL (strtoll, strtod). */
long long ib_jr_integer(const ib_jr_value_t *v);
double ib_jr_real(const ib_jr_value_t *v);
/* Appends the checked value v in compact form: the bytes ib_jw_value writes for the tree jansson
 * would have parsed from v (members in their order, strings re-escaped, integers and reals as
 * jansson prints them). */
void ib_jr_write(ib_jw_t *w, const ib_jr_value_t *v);

#endif
