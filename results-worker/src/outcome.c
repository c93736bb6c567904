#include "outcome.h"

#include <stdio.h>
#include <string.h>

#include "backoff.h"

const char *rw_verdict_name(rw_verdict_t v)
{
    switch (v) {
    case RW_DECIDE_FINISH:
        return "finish";
    case RW_DECIDE_RETRY:
        return "retry";
    case RW_DECIDE_DEAD_LETTER:
        return "dead_letter";
    case RW_DECIDE_SUPERSEDED:
        return "superseded";
    }
    return "unknown";
}

/* The next attempt goes through the retry topic, or the dead-letter topic once RETRY_MAX_AGE
 * would be passed. last: the last failure, for the reason. */
static void retry_or_exhausted(const rw_policy_t *p, long long now_wall, long long not_before_wall,
                               long retry_after_ms, const char *last, rw_decision_t *out)
{
    long delay =
        rw_retry_delay(p->schedule, out->attempts > 0 ? out->attempts : 1, p->unit, retry_after_ms);
    long long due = now_wall + delay;
    if (due < not_before_wall)
        due = not_before_wall;
    if (due > out->first_attempt_wall + p->max_age_ms) {
        char first[40];
        ib_format_rfc3339(out->first_attempt_wall, first, sizeof(first));
        out->verdict = RW_DECIDE_DEAD_LETTER;
        out->dlq_class = RW_DLQ_EXHAUSTED;
        snprintf(out->reason, sizeof(out->reason),
                 "retries exhausted: RETRY_MAX_AGE (%lld ms) since the first attempt at %s; %u "
                 "attempts, last: %s",
                 p->max_age_ms, first, out->attempts, last);
        return;
    }
    out->verdict = RW_DECIDE_RETRY;
    out->due_wall = due;
}

static void superseded(rw_decision_t *out)
{
    out->verdict = RW_DECIDE_SUPERSEDED;
    snprintf(out->reason, sizeof(out->reason), "a newer state is waiting to be sent");
}

void rw_decide(const rw_job_t *job, const rw_attempt_result_t *r, long long now_wall,
               const rw_policy_t *p, rw_decision_t *out)
{
    char last[200];
    const char *what = r->what != NULL ? r->what : "transport error";

    memset(out, 0, sizeof(*out));
    out->attempts = job->attempts;
    out->first_attempt_wall = job->first_attempt_wall > 0 ? job->first_attempt_wall : now_wall;
    switch (r->outcome) {
    case RW_OUTCOME_SUCCESS:
        out->verdict = RW_DECIDE_FINISH;
        return;
    case RW_OUTCOME_PERMANENT:
        out->counted = 1;
        out->attempts++;
        out->verdict = RW_DECIDE_DEAD_LETTER;
        out->dlq_class = r->refused ? RW_DLQ_CALLBACK_REFUSED : RW_DLQ_PERMANENT_HTTP;
        snprintf(out->reason, sizeof(out->reason), "%s: %s",
                 r->refused ? "callback refused" : "permanent callback failure", what);
        return;
    case RW_OUTCOME_TRANSIENT:
        out->counted = 1;
        out->attempts++;
        if (r->newer_waiting) {
            superseded(out);
            return;
        }
        /* The history's last entry will be this attempt, as rw_job_history_add records it. */
        if (!r->refused && r->http_status > 0)
            snprintf(last, sizeof(last), "HTTP %ld", r->http_status);
        else
            snprintf(last, sizeof(last), "%.150s", what);
        retry_or_exhausted(p, now_wall, 0, r->retry_after_ms, last, out);
        return;
    case RW_OUTCOME_DEFERRED: {
        if (r->newer_waiting) {
            superseded(out);
            return;
        }
        long long wait = r->breaker_wait_ms > 0 ? r->breaker_wait_ms : 0;
        double unit = p->defer_unit < 0.0 ? 0.0 : p->defer_unit >= 1.0 ? 0.999999 : p->defer_unit;
        long long not_before = now_wall + wait + (long long)(unit * (double)wait * 0.2);
        rw_job_last_failure(job, last, sizeof(last));
        retry_or_exhausted(p, now_wall, not_before, 0, last, out);
        return;
    }
    case RW_OUTCOME_ABORTED:
        rw_job_last_failure(job, last, sizeof(last));
        retry_or_exhausted(p, now_wall, 0, 0, last, out);
        return;
    }
}
