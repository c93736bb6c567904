/* What happens to a job after a delivery attempt: the worker's retry and dead-letter policy as
 * one pure function. The dispatcher carries the decision out (produces the retry record or the
 * dead letter, stores the offset, or drops the job as superseded). */
#ifndef RW_OUTCOME_H
#define RW_OUTCOME_H

#include "delivery.h"
#include "ib/config.h"
#include "job.h"
#include "metrics.h"

typedef enum {
    RW_DECIDE_FINISH = 0,  /* delivered: the offset may be stored */
    RW_DECIDE_RETRY,       /* a retry record due at due_wall */
    RW_DECIDE_DEAD_LETTER, /* a dead letter of class dlq_class with reason */
    RW_DECIDE_SUPERSEDED   /* not worth another attempt: a newer state takes its place */
} rw_verdict_t;

/* One attempt's result as the policy sees it. */
typedef struct {
    rw_outcome_t outcome;      /* the delivery's verdict (delivery.h) */
    long http_status;          /* 0 when no response arrived */
    long retry_after_ms;       /* Retry-After of the response, 0 when absent */
    int refused;               /* the SSRF guard or the URL check refused the attempt */
    const char *what;          /* rw_delivery_describe: "HTTP 503", curl's error, the refusal */
    long long breaker_wait_ms; /* DEFERRED: ms until the host's breaker lets a probe through */
    int newer_waiting;         /* a newer state of the interview waits behind this one */
} rw_attempt_result_t;

typedef struct {
    const ib_durations_t *schedule; /* RETRY_SCHEDULE (borrowed) */
    long long max_age_ms;           /* RETRY_MAX_AGE, from the first attempt */
    double unit;                    /* jitter draw in [0, 1) for the schedule (rw_backoff_unit) */
    double defer_unit;              /* jitter draw in [0, 1) for a breaker deferral */
} rw_policy_t;

typedef struct {
    rw_verdict_t verdict;
    int counted;                  /* the attempt is a failure to record: attempts, history */
    unsigned attempts;            /* the job's failed attempts after this one */
    long long first_attempt_wall; /* the job's, now when it had none */
    long long due_wall;           /* RETRY: when the next attempt is due */
    rw_dlq_class_t dlq_class;     /* DEAD_LETTER */
    char reason[400];             /* DEAD_LETTER: the reason; SUPERSEDED: why */
} rw_decision_t;

/* The decision after attempt r of job (both borrowed, unchanged) at wall time now_wall:
 *  - SUCCESS: FINISH.
 *  - PERMANENT: counted; DEAD_LETTER, CALLBACK_REFUSED when refused, else PERMANENT_HTTP.
 *  - TRANSIENT: counted; SUPERSEDED when a newer state waits, else a retry.
 *  - DEFERRED (breaker open): not counted; SUPERSEDED when a newer state waits, else a retry no
 *    earlier than the breaker's wait plus up to 20% jitter.
 *  - ABORTED (shutdown, handed off): not counted; a retry.
 * A retry is due after schedule->ms[attempts] (last entry repeating) with jitter in [0.8, 1.2],
 * or the Retry-After hint when later; when that is past first_attempt_wall + max_age_ms it
 * becomes DEAD_LETTER EXHAUSTED instead. Pure. */
void rw_decide(const rw_job_t *job, const rw_attempt_result_t *r, long long now_wall,
               const rw_policy_t *p, rw_decision_t *out);

const char *rw_verdict_name(rw_verdict_t v);

#endif
