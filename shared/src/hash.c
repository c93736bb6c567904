#include "ib/hash.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static uint8_t process_key[IB_HASH_KEY_LEN];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static uint64_t load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t rotl(uint64_t x, int b)
{
    return x << b | x >> (64 - b);
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = rotl(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = rotl(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = rotl(v2, 32);                                                                         \
    } while (0)

uint64_t ib_siphash(const uint8_t key[IB_HASH_KEY_LEN], const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t k0 = load64(key);
    uint64_t k1 = load64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ull ^ k0;
    uint64_t v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0;
    uint64_t v3 = 0x7465646279746573ull ^ k1;
    size_t full = len - len % 8;

    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load64(in + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < len % 8; i++)
        b |= (uint64_t)in[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static void draw_key(void)
{
    if (getrandom(process_key, sizeof(process_key), GRND_NONBLOCK) !=
        (ssize_t)sizeof(process_key)) {
        /* No entropy yet (early boot) or none at all: still different per process and start. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t a = (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&ts;
        uint64_t b = (uint64_t)ts.tv_sec;
        memcpy(process_key, &a, 8);
        memcpy(process_key + 8, &b, 8);
    }
}

uint64_t ib_hash(const void *data, size_t len)
{
    pthread_once(&key_once, draw_key);
    return ib_siphash(process_key, data, len);
}

uint64_t ib_hash_str(const char *s)
{
    return ib_hash(s, strlen(s));
}

void ib_hash_set_key(const uint8_t key[IB_HASH_KEY_LEN])
{
    pthread_once(&key_once, draw_key);
    memcpy(process_key, key, IB_HASH_KEY_LEN);
}
