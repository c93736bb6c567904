/* A job's way from admission to a stored offset: at most one PUT in flight per interview (a
 * newer state waits behind it and replaces any older one waiting there), the ordering gate of
 * the join, the due-time heap of retry records, and the retry records and dead letters produced
 * for failed jobs, as decided by rw_decide (outcome.h). Everything runs on the worker thread. */
#ifndef RW_FLOW_H
#define RW_FLOW_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <sys/queue.h>

#include "config.h"
#include "consumer.h"
#include "ib/heap.h"
#include "ib/map.h"
#include "ib/tenants.h"
#include "job.h"
#include "join.h"
#include "metrics.h"
#include "producer.h"
#include "sender.h"

LIST_HEAD(rw_job_list, rw_job);

/* The fields up to sender are the caller's (borrowed, set before use); the rest is private. */
typedef struct {
    const rw_config_t *cfg;
    const ib_tenants_t *tenants;
    rw_metrics_t *m;
    rw_join_t *join;
    rw_consumer_t *consumer;
    rw_producer_t *producer;
    rw_sender_t *sender;
    int stopping;            /* shutdown: jobs about to be sent go to the retry topic instead */
    struct rw_job_list jobs; /* every job, whatever it waits for */
    size_t njobs;
    ib_heap_t due;   /* jobs waiting for due_wall: retry records and failed produces */
    ib_map_t *slots; /* interview_id -> the interview's in-flight and waiting jobs */
} rw_flow_t;

/* Empty flow; IB_ERR when out of memory. */
ib_rc_t rw_flow_init(rw_flow_t *f) IB_WUR;
/* Frees every job left (unstored: Kafka has them) and the flow's tables. The sender must have
 * been aborted. Accepts a zeroed flow. */
void rw_flow_clear(rw_flow_t *f);

/* A new job for msg (see rw_job_new), in the flow's list; NULL when out of memory. */
rw_job_t *rw_flow_job_new(rw_flow_t *f, rw_topic_t src, const rd_kafka_message_t *msg) IB_WUR;
/* Forgets the job (its offset is not stored) and frees it. */
void rw_flow_job_free(rw_flow_t *f, rw_job_t *job);
/* A job ready to be sent: through the ordering gate, then sent or queued behind the interview's
 * PUT. */
void rw_flow_admit(rw_flow_t *f, rw_job_t *job);
/* Writes the changelog record of id's latest state (event: the status event's len bytes, as
 * consumed, which ib_json_parse has accepted) to TOPIC_STATE, on the interview's partition, with
 * its tenant and callback URL from the join; nobody waits for it (counted when acknowledged; a
 * failure is logged and counted, and the next assignment's scan of the status topics writes it
 * again). Nothing when id is not in the join. */
void rw_flow_write_state(rw_flow_t *f, const char *id, ib_status_t status, long long occurred_ms,
                         const void *event, size_t len);
/* The keep time: erases up to max finished interviews whose final state is older than
 * INTERVIEW_KEEP_FINISHED at now_wall (rw_join_expire): their pending work is dropped and
 * tombstones go to TOPIC_STATE and TOPIC_REQUESTED. Returns how many. */
size_t rw_flow_expire(rw_flow_t *f, long long now_wall, size_t max);
/* The same for interviews whose latest state is pending and older than INTERVIEW_KEEP_OPEN
 * (rw_join_expire_open: a walk of the whole join). */
size_t rw_flow_expire_open(rw_flow_t *f, long long now_wall, size_t max);
/* A job ready to be sent once job->due_wall has come (retry record): admitted now when due,
 * else held. IB_ERR when out of memory (the job is left to the caller). */
ib_rc_t rw_flow_admit_at_due(rw_flow_t *f, rw_job_t *job) IB_WUR;
/* Records what was repaired or left out of the job's event (fixes: compact JSON array, counts:
 * per ib_fix_kind_t) before the job is admitted: counted by kind, logged with the interview id,
 * and written as a partial record to the dead-letter topic (its delivery report is logged and
 * counted; the job does not wait for it). */
void rw_flow_partial(rw_flow_t *f, const rw_job_t *job, const char *fixes,
                     const unsigned counts[IB_FIX_KIND_COUNT]);
/* Produces the job, made a move by rw_job_set_forward, to the repartition topic; finished (its
 * offset stored) once Kafka acknowledged it, produced again a little later when that fails. */
void rw_flow_repartition(rw_flow_t *f, rw_job_t *job);
/* Sends the job to the dead-letter topic with class and reason (copied). */
void rw_flow_dead_letter(rw_flow_t *f, rw_job_t *job, rw_dlq_class_t cls, const char *reason);

/* Admits or produces again what is due by now. */
void rw_flow_run_due(rw_flow_t *f);
/* Wall ms of the earliest due time, or 0 when nothing waits. */
long long rw_flow_next_due(const rw_flow_t *f);
/* Jobs waiting for a due time, and the earliest first attempt among them (0: none). */
size_t rw_flow_backlog(const rw_flow_t *f, long long *oldest_first_attempt);
/* Produces now what waits for another try at producing (shutdown). */
void rw_flow_produce_pending(rw_flow_t *f);
/* Drops the work of the partitions in parts (revoked; unstored, the next owner redoes it):
 * returns how many jobs. */
size_t rw_flow_revoke(rw_flow_t *f, const rd_kafka_topic_partition_list_t *parts);

/* The interview id (id_len bytes: a Kafka key) was erased: its waiting work, a retry record held
 * until its due time, a state queued behind its PUT, a PUT queued or in flight (aborted), a retry
 * record or dead letter waiting to be produced again, is finished unsent (offsets complete), so
 * nothing is PUT nor written to Kafka for it afterwards. A record already being produced is left
 * to finish. Returns how many jobs were dropped (counted in erased_jobs). Linear in the jobs held.
 */
size_t rw_flow_erase(rw_flow_t *f, const char *id, size_t id_len);

/* The sender's done callback (opaque: the flow). */
void rw_flow_on_send_done(rw_send_t *x, void *opaque);
/* The producer's report callback (opaque: the flow). */
void rw_flow_on_produced(void *owner, rd_kafka_resp_err_t err, void *opaque);

#endif
