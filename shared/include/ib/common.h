/* Status codes and attributes shared by every layer. */
#ifndef IB_COMMON_H
#define IB_COMMON_H

#include <stddef.h>

/* The closed set of results every fallible function returns. Human detail goes into a caller's
 * buffer (errstr, errstr_size). */
typedef enum { IB_OK = 0, IB_ERR = -1, IB_AGAIN = 1 } ib_rc_t;

#if defined(__GNUC__)
#define IB_WUR               __attribute__((warn_unused_result))
#define IB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define IB_WUR
#define IB_PRINTF(fmt, args)
#endif

#define IB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Milliseconds on the monotonic clock. */
long long ib_now_ms(void);
/* Milliseconds since the Unix epoch (wall clock). */
long long ib_wall_ms(void);
/* Formats a wall-clock time in ms as RFC 3339 UTC with milliseconds into buf (>= 32 bytes). */
void ib_format_rfc3339(long long wall_ms, char *buf, size_t size);
/* No core dumps: a core would hold the tenants' Workable tokens and the HMAC secret. Sets the soft
 * and hard core size to 0 and makes the process non-dumpable (which also keeps ptrace by the same
 * unprivileged user out). Returns NULL, or the name of the call that failed (best effort: the
 * caller reports it and goes on). */
const char *ib_no_core_dumps(void);
/* Hands the free pages of glibc's arenas back to the system (malloc_trim). Does nothing in a
 * build with AddressSanitizer: its allocator replaces glibc's, whose arenas are then unused, and
 * malloc_trim on them can fault. */
void ib_release_free_memory(void);

#endif
