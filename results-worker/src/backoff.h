/* Delays: the callback retry schedule (RETRY_SCHEDULE) with jitter and Retry-After. */
#ifndef RW_BACKOFF_H
#define RW_BACKOFF_H

#include "ib/config.h"

/* A uniform draw in [0, 1) for the jitter (not for secrets). */
double rw_backoff_unit(void);

/* Retry-After is honoured up to this long (a hint beyond it is clamped). */
#define RW_RETRY_AFTER_MAX_MS (6L * 3600L * 1000L)

/* Delay before the next callback attempt after `failed` failed attempts (failed >= 1):
 * schedule->ms[failed] (the schedule lists the delay before each attempt, the first entry being
 * the delay before attempt 1; its last entry repeats), scaled by a jitter factor in [0.8, 1.2]
 * drawn from unit. A Retry-After hint (ms, 0 = none) raises the delay, clamped to
 * RW_RETRY_AFTER_MAX_MS. Pure. */
long rw_retry_delay(const ib_durations_t *schedule, unsigned failed, double unit,
                    long retry_after_ms);

#endif
