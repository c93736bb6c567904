#include "backoff.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>

double rw_backoff_unit(void)
{
    /* Only the consumer thread draws; jitter needs no cryptographic quality. */
    static uint64_t state = 0;
    if (state == 0 && getrandom(&state, sizeof(state), GRND_NONBLOCK) != (ssize_t)sizeof(state))
        state = (uint64_t)(uintptr_t)&state;
    if (state == 0)
        state = 0x9e3779b97f4a7c15ull;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (double)(state >> 11) / 9007199254740992.0;
}

long rw_retry_delay(const ib_durations_t *schedule, unsigned failed, double unit,
                    long retry_after_ms)
{
    long base = 0;
    if (schedule->count > 0) {
        size_t i = failed < schedule->count ? failed : schedule->count - 1;
        base = schedule->ms[i];
    }
    if (unit < 0.0)
        unit = 0.0;
    if (unit >= 1.0)
        unit = 0.999999;
    long delay = (long)((double)base * (0.8 + 0.4 * unit));
    if (retry_after_ms > RW_RETRY_AFTER_MAX_MS)
        retry_after_ms = RW_RETRY_AFTER_MAX_MS;
    if (retry_after_ms > delay)
        delay = retry_after_ms;
    return delay;
}
