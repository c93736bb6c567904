#include "ib/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* SHA-256, fetched once: EVP_sha256() is a legacy handle that EVP_Digest resolves through the
 * provider store (a lock and a name lookup) on every call. */
static EVP_MD *sha256_impl;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_impl = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void ib_sha256(const void *data, size_t len, uint8_t out[IB_SHA256_LEN])
{
    unsigned int out_len = IB_SHA256_LEN;
    if (pthread_once(&sha256_once, sha256_fetch) != 0 || sha256_impl == NULL ||
        EVP_Digest(data, len, out, &out_len, sha256_impl, NULL) != 1)
        abort();
}

/* The HMAC implementation, fetched once from the default provider. An EVP_MAC is immutable and
 * reference-counted: every thread may create contexts from it at the same time. */
static EVP_MAC *hmac_impl;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

/* Each thread keeps one context keyed with the last key it used (a process uses one secret):
 * re-initialising it without a key restarts from the stored key's pads, instead of a new
 * context, a digest lookup by name and a key schedule per call. Keys longer than key[] are not
 * cached. The copy of the key is wiped when the thread ends. */
#define HMAC_CACHED_KEY_MAX 128

typedef struct {
    EVP_MAC_CTX *ctx; /* keyed with key[0..key_len) */
    size_t key_len;
    unsigned char key[HMAC_CACHED_KEY_MAX];
} hmac_cache_t;

static pthread_key_t hmac_cache_key;

static void hmac_cache_free(void *arg)
{
    hmac_cache_t *c = arg;
    EVP_MAC_CTX_free(c->ctx);
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

static void hmac_fetch(void)
{
    hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (pthread_key_create(&hmac_cache_key, hmac_cache_free) != 0) {
        EVP_MAC_free(hmac_impl);
        hmac_impl = NULL;
    }
}

/* A context keyed with key: the thread's cached one when it holds this key, otherwise a new one
 * (*cached tells which; a new one is the caller's to free). */
static EVP_MAC_CTX *hmac_ctx(const void *key, size_t key_len, int *cached)
{
    static char digest[] = "SHA256";
    /* OpenSSL keeps no key when given NULL; an empty key is a valid HMAC key. */
    static const unsigned char empty_key[1] = {0};
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    hmac_cache_t *c = NULL;
    EVP_MAC_CTX *ctx = NULL;

    *cached = 0;
    if (key_len <= HMAC_CACHED_KEY_MAX) {
        c = pthread_getspecific(hmac_cache_key);
        if (c == NULL) {
            c = calloc(1, sizeof(*c));
            if (c == NULL || pthread_setspecific(hmac_cache_key, c) != 0)
                abort();
        }
        if (c->ctx != NULL && c->key_len == key_len && CRYPTO_memcmp(c->key, key, key_len) == 0) {
            if (EVP_MAC_init(c->ctx, NULL, 0, NULL) != 1)
                abort();
            *cached = 1;
            return c->ctx;
        }
    }
    ctx = EVP_MAC_CTX_new(hmac_impl);
    if (ctx == NULL || EVP_MAC_init(ctx, key_len > 0 ? key : empty_key, key_len, params) != 1)
        abort();
    if (c == NULL)
        return ctx;
    EVP_MAC_CTX_free(c->ctx);
    c->ctx = ctx;
    c->key_len = key_len;
    if (key_len > 0)
        memcpy(c->key, key, key_len);
    *cached = 1;
    return ctx;
}

/* HMAC-SHA256 over the concatenation of parts. Failure here means no memory or no default
 * provider: nothing sensible remains, so it aborts rather than return a wrong digest. */
static void hmac_parts(const void *key, size_t key_len, const void *const *parts,
                       const size_t *lens, size_t nparts, uint8_t out[IB_SHA256_LEN])
{
    EVP_MAC_CTX *ctx = NULL;
    size_t out_len = 0;
    int cached = 0;

    if (pthread_once(&hmac_once, hmac_fetch) != 0 || hmac_impl == NULL)
        abort();
    ctx = hmac_ctx(key, key_len, &cached);
    for (size_t i = 0; i < nparts; i++)
        if (EVP_MAC_update(ctx, parts[i], lens[i]) != 1)
            abort();
    if (EVP_MAC_final(ctx, out, &out_len, IB_SHA256_LEN) != 1 || out_len != IB_SHA256_LEN)
        abort();
    if (!cached)
        EVP_MAC_CTX_free(ctx);
}

void ib_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    uint8_t out[IB_SHA256_LEN])
{
    const void *parts[1] = {data};
    size_t lens[1] = {len};
    hmac_parts(key, key_len, parts, lens, 1, out);
}

int ib_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void ib_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

int ib_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

ib_rc_t ib_unhex(const char *hex, uint8_t *out, size_t len)
{
    if (strlen(hex) != 2 * len)
        return IB_ERR;
    for (size_t i = 0; i < len; i++) {
        int hi = ib_hex_value(hex[2 * i]);
        int lo = ib_hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return IB_ERR;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return IB_OK;
}

void ib_interview_id(const char *secret, const char *tenant, const char *callback_url, char out[33])
{
    uint8_t mac[IB_SHA256_LEN];
    /* Tenant ids cannot contain '\n' (tenants file validation): the framing is unambiguous. */
    const void *parts[3] = {tenant, "\n", callback_url};
    size_t lens[3] = {strlen(tenant), 1, strlen(callback_url)};
    hmac_parts(secret, strlen(secret), parts, lens, 3, mac);
    ib_hex(mac, 16, out);
}
