#include "ib/common.h"

#include <stdio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

long long ib_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long ib_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* n as exactly width decimal digits (n >= 0, below 10^width). */
static char *put_digits(char *p, int n, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + n % 10);
        n /= 10;
    }
    return p + width;
}

void ib_format_rfc3339(long long wall_ms, char *buf, size_t size)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int year = tm.tm_year + 1900;
    if (wall_ms >= 0 && year <= 9999 && size >= 25) {
        /* The common case without printf (every log line has one). */
        char *p = put_digits(buf, year, 4);
        *p++ = '-';
        p = put_digits(p, tm.tm_mon + 1, 2);
        *p++ = '-';
        p = put_digits(p, tm.tm_mday, 2);
        *p++ = 'T';
        p = put_digits(p, tm.tm_hour, 2);
        *p++ = ':';
        p = put_digits(p, tm.tm_min, 2);
        *p++ = ':';
        p = put_digits(p, tm.tm_sec, 2);
        *p++ = '.';
        p = put_digits(p, (int)(wall_ms % 1000), 3);
        *p++ = 'Z';
        *p = '\0';
        return;
    }
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(wall_ms % 1000));
}

#if defined(__SANITIZE_ADDRESS__)
#define IB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IB_ASAN 1
#endif
#endif

void ib_release_free_memory(void)
{
#if defined(__GLIBC__) && !defined(IB_ASAN)
    malloc_trim(0);
#endif
}

const char *ib_no_core_dumps(void)
{
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        return "setrlimit(RLIMIT_CORE)";
    if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) != 0)
        return "prctl(PR_SET_DUMPABLE)";
    return NULL;
}
