#include "breaker.h"

const char *rw_breaker_state_name(rw_breaker_state_t s)
{
    switch (s) {
    case RW_BREAKER_CLOSED:
        return "closed";
    case RW_BREAKER_OPEN:
        return "open";
    case RW_BREAKER_HALF_OPEN:
        return "half_open";
    }
    return "unknown";
}

rw_breaker_state_t rw_breaker_state(const rw_breaker_t *b, long long now)
{
    if (b->state == RW_BREAKER_OPEN && now >= b->open_until)
        return RW_BREAKER_HALF_OPEN;
    return b->state;
}

int rw_breaker_allow(rw_breaker_t *b, long long now, long long *retry_at)
{
    *retry_at = 0;
    if (b->state == RW_BREAKER_OPEN) {
        if (now < b->open_until) {
            *retry_at = b->open_until;
            return 0;
        }
        b->state = RW_BREAKER_HALF_OPEN;
        b->probing = 0;
    }
    if (b->state == RW_BREAKER_HALF_OPEN) {
        if (b->probing)
            return 0;
        b->probing = 1;
        return 1;
    }
    return 1;
}

void rw_breaker_success(rw_breaker_t *b)
{
    b->state = RW_BREAKER_CLOSED;
    b->failures = 0;
    b->probing = 0;
}

void rw_breaker_failure(rw_breaker_t *b, const rw_breaker_opts_t *o, long long now)
{
    if (b->state == RW_BREAKER_HALF_OPEN) {
        b->state = RW_BREAKER_OPEN;
        b->open_until = now + o->cooldown_ms;
        b->probing = 0;
        return;
    }
    if (b->state == RW_BREAKER_OPEN)
        return; /* a transfer started before the breaker opened */
    b->failures++;
    if (b->failures >= (o->threshold > 0 ? o->threshold : 1)) {
        b->state = RW_BREAKER_OPEN;
        b->open_until = now + o->cooldown_ms;
        b->failures = 0;
    }
}

void rw_breaker_abandon(rw_breaker_t *b)
{
    if (b->state == RW_BREAKER_HALF_OPEN)
        b->probing = 0;
}
