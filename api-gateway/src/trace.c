#include "trace.h"

#include <string.h>
#include <sys/random.h>

#include "ib/crypto.h"

static int lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

static int all_zero(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0')
            return 0;
    return 1;
}

void gw_request_id_make(const char *given, const uint8_t rnd[16], char out[GW_REQUEST_ID_MAX + 1])
{
    static const char allowed[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-";
    size_t n = given != NULL ? strlen(given) : 0;

    if (n > 0 && n <= GW_REQUEST_ID_MAX && strspn(given, allowed) == n) {
        memcpy(out, given, n + 1);
        return;
    }
    ib_hex(rnd, 16, out);
}

int gw_traceparent_valid(const char *tp)
{
    if (tp == NULL)
        return 0;
    size_t n = strlen(tp);
    if (n < GW_TRACEPARENT_LEN || !lower_hex(tp, 2) || tp[2] != '-' || !lower_hex(tp + 3, 32) ||
        tp[35] != '-' || !lower_hex(tp + 36, 16) || tp[52] != '-' || !lower_hex(tp + 53, 2))
        return 0;
    if (memcmp(tp, "ff", 2) == 0 || all_zero(tp + 3, 32) || all_zero(tp + 36, 16))
        return 0;
    if (memcmp(tp, "00", 2) == 0)
        return n == GW_TRACEPARENT_LEN;
    return n == GW_TRACEPARENT_LEN || tp[GW_TRACEPARENT_LEN] == '-';
}

void gw_traceparent_make(const char *given, const uint8_t rnd[GW_TRACE_RANDOM],
                         char out[GW_TRACEPARENT_LEN + 1])
{
    char span[17];

    memcpy(out, "00-", 3);
    if (gw_traceparent_valid(given)) {
        memcpy(out + 3, given + 3, 32);
        memcpy(out + 52, given + 52, 3); /* "-" flags */
    } else {
        ib_hex(rnd, 16, out + 3);
        if (all_zero(out + 3, 32))
            out[34] = '1';
        memcpy(out + 52, "-00", 3);
    }
    out[35] = '-';
    ib_hex(rnd + 16, 8, span);
    if (all_zero(span, 16))
        span[15] = '1';
    memcpy(out + 36, span, 16);
    out[GW_TRACEPARENT_LEN] = '\0';
}

/* Fills buf from the kernel's generator. */
static void fill_random(uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n <= 0)
            continue; /* EINTR; getrandom does not fail otherwise once the pool is ready */
        got += (size_t)n;
    }
}

/* Ids are not keys: one getrandom(2) per RANDOM_BATCH bytes instead of one per request. Each
 * byte is handed out once and wiped as it goes. Per thread, so no lock. */
#define RANDOM_BATCH 1024
static _Thread_local struct {
    uint8_t bytes[RANDOM_BATCH];
    size_t left; /* the unused bytes are the last left of bytes */
} pool;

void gw_random(uint8_t *buf, size_t len)
{
    if (len > RANDOM_BATCH / 4) {
        fill_random(buf, len);
        return;
    }
    if (pool.left < len) {
        fill_random(pool.bytes, sizeof(pool.bytes));
        pool.left = sizeof(pool.bytes);
    }
    uint8_t *from = pool.bytes + sizeof(pool.bytes) - pool.left;
    memcpy(buf, from, len);
    memset(from, 0, len);
    pool.left -= len;
}
