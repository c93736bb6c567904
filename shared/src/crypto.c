#include "ib/crypto.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

void ib_sha256(const void *data, size_t len, uint8_t out[IB_SHA256_LEN])
{
    unsigned int out_len = IB_SHA256_LEN;
    EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL);
}

/* HMAC-SHA256 over the concatenation of parts (RFC 2104), with EVP digests only. */
static void hmac_parts(const void *key, size_t key_len, const void *const *parts,
                       const size_t *lens, size_t nparts, uint8_t out[IB_SHA256_LEN])
{
    uint8_t k[64] = {0};
    uint8_t pad[64];
    uint8_t inner[IB_SHA256_LEN];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (key_len > sizeof(k))
        ib_sha256(key, key_len, k);
    else if (key_len > 0)
        memcpy(k, key, key_len);
    if (ctx == NULL)
        abort(); /* out of memory in a 200-byte allocation: nothing sensible remains */
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = (uint8_t)(k[i] ^ 0x36);
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, pad, sizeof(pad));
    for (size_t i = 0; i < nparts; i++)
        EVP_DigestUpdate(ctx, parts[i], lens[i]);
    EVP_DigestFinal_ex(ctx, inner, NULL);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = (uint8_t)(k[i] ^ 0x5c);
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, pad, sizeof(pad));
    EVP_DigestUpdate(ctx, inner, sizeof(inner));
    EVP_DigestFinal_ex(ctx, out, NULL);
    EVP_MD_CTX_free(ctx);
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
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (uint8_t)(x[i] ^ y[i]);
    return diff == 0;
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
