/* The one hash function for tables keyed by data from outside: SipHash-2-4 under a per-process
 * key. The key is drawn from getrandom() on first use, so hostile keys (interview ids, host
 * names) cannot be chosen to collide; tests may fix it with ib_hash_set_key. */
#ifndef IB_HASH_H
#define IB_HASH_H

#include <stddef.h>
#include <stdint.h>

#define IB_HASH_KEY_LEN 16

/* SipHash-2-4 of len bytes of data under key. Pure. */
uint64_t ib_siphash(const uint8_t key[IB_HASH_KEY_LEN], const void *data, size_t len);

/* ib_siphash under the process key (drawn once, thread-safe). */
uint64_t ib_hash(const void *data, size_t len);
/* ib_hash of a NUL-terminated string (without the NUL). */
uint64_t ib_hash_str(const char *s);

/* Replaces the process key (tests: reproducible layouts). Call before any table is filled: a
 * table built under the old key cannot be read under the new one. */
void ib_hash_set_key(const uint8_t key[IB_HASH_KEY_LEN]);

#endif
