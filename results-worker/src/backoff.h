/* In-place retry delays of this slice (pause + seek back + resume when due). */
#ifndef RW_BACKOFF_H
#define RW_BACKOFF_H

#define RW_BACKOFF_BASE_MS 500L
#define RW_BACKOFF_CAP_MS  30000L

/* Delay before attempt number attempt+1 after `attempt` consecutive failures (attempt >= 1):
 * 500 ms * 2^(attempt-1), capped at 30 s, scaled by a jitter factor in [0.8, 1.2] drawn from
 * unit (in [0, 1)). A Retry-After hint (ms, 0 = none) raises the delay, capped the same way.
 * Pure. */
long rw_backoff_ms(unsigned attempt, double unit, long retry_after_ms);
/* A uniform draw in [0, 1) for the jitter (not for secrets). */
double rw_backoff_unit(void);

#endif
