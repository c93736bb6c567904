/* A per-host circuit breaker: after `threshold` consecutive transient failures the host is left
 * alone for `cooldown_ms`; then one probe decides (success closes, failure reopens). Pure state
 * machine over a monotonic clock passed in. */
#ifndef RW_BREAKER_H
#define RW_BREAKER_H

typedef enum {
    RW_BREAKER_CLOSED = 0,
    RW_BREAKER_OPEN = 1,
    RW_BREAKER_HALF_OPEN = 2
} rw_breaker_state_t;

typedef struct {
    unsigned threshold; /* consecutive transient failures that open the breaker (>= 1) */
    long cooldown_ms;   /* how long it stays open before a probe */
} rw_breaker_opts_t;

typedef struct {
    rw_breaker_state_t state;
    unsigned failures;    /* consecutive transient failures (closed) */
    long long open_until; /* OPEN: monotonic ms when a probe may go */
    int probing;          /* HALF_OPEN: the probe is in flight */
} rw_breaker_t;

const char *rw_breaker_state_name(rw_breaker_state_t s);

/* May an attempt start at now? 1 yes (in half-open it becomes the probe); 0 no: *retry_at is
 * when to ask again (open: the end of the cooldown; half-open with a probe in flight: 0, wait
 * for the probe's verdict). A zeroed struct is closed. */
int rw_breaker_allow(rw_breaker_t *b, long long now, long long *retry_at);
/* Verdicts of an attempt that was allowed. A permanent failure (the host answered) counts as a
 * success here. */
void rw_breaker_success(rw_breaker_t *b);
void rw_breaker_failure(rw_breaker_t *b, const rw_breaker_opts_t *o, long long now);
/* An allowed attempt ended without a verdict (aborted): a probe slot is released. */
void rw_breaker_abandon(rw_breaker_t *b);
/* Current state as seen at now (OPEN turns HALF_OPEN once the cooldown is over). */
rw_breaker_state_t rw_breaker_state(const rw_breaker_t *b, long long now);

#endif
