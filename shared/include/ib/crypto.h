/* Digests, constant-time comparison, deterministic ids. */
#ifndef IB_CRYPTO_H
#define IB_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "ib/common.h"

#define IB_SHA256_LEN 32

void ib_sha256(const void *data, size_t len, uint8_t out[IB_SHA256_LEN]);
/* HMAC-SHA256 (OpenSSL's EVP_MAC, fetched once and shared by all threads; each thread keeps a
 * context keyed with its last key of at most 128 bytes, wiped when the thread ends). Any key
 * length, including 0. Aborts when OpenSSL cannot allocate or has no default provider. */
void ib_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    uint8_t out[IB_SHA256_LEN]);
/* 1 when equal; time depends only on len (CRYPTO_memcmp). */
int ib_ct_equal(const void *a, const void *b, size_t len);
/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void ib_hex(const uint8_t *in, size_t len, char *out);
/* The value of one hex digit (either case), or -1 when c is not one. */
int ib_hex_value(char c);
/* Parses exactly 2*len lowercase or uppercase hex chars; IB_ERR otherwise. */
ib_rc_t ib_unhex(const char *hex, uint8_t *out, size_t len) IB_WUR;

/* The interview id for (tenant, callback_url): lowercase hex of the first 16 bytes of
 * HMAC-SHA256(secret, tenant "\n" callback_url). Same inputs, same id, on any replica. out must
 * hold 33 bytes. */
void ib_interview_id(const char *secret, const char *tenant, const char *callback_url,
                     char out[33]);

#endif
