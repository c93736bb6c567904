/* Kafka messages into the flow: a requested event into the join; a status event or a retry
 * record into a job (validated, joined with its interview's callback), admitted or
 * dead-lettered. A tombstone (NULL value) on any of these topics erases its key's interview:
 * its pending work is dropped unsent (rw_flow_erase), on TOPIC_REQUESTED and TOPIC_STATE its join
 * entry too (a
 * later status event for it is then an unknown interview); it is counted, its offset stored,
 * and it is never dead-lettered. Messages are borrowed; everything runs on the worker thread. */
#ifndef RW_INTAKE_H
#define RW_INTAKE_H

#include <librdkafka/rdkafka.h>

#include "flow.h"

/* A record of TOPIC_REQUESTED: into the join (an invalid one is logged and skipped). */
void rw_intake_requested(rw_flow_t *f, const rd_kafka_message_t *msg);
/* A record of TOPIC_STATE (the changelog): into the join with its latest state (an unreadable one
 * is logged and skipped); a tombstone erases the interview like one on TOPIC_REQUESTED. */
void rw_intake_state(rw_flow_t *f, const rd_kafka_message_t *msg);
/* A record of TOPIC_STATUS: while the partition is scanned, it only teaches the join the
 * interview's latest state; live, it becomes a job, or is moved to the repartition topic when
 * its interview's requested event is on another partition (route.h). */
void rw_intake_status(rw_flow_t *f, const rd_kafka_message_t *msg);
/* A record of TOPIC_STATUS_REPARTITION: handled exactly like a status event of this
 * partition (scan, join gate, unknown-interview re-check, ordering gate, retries, dead letters),
 * its origin the status position named by its headers. */
void rw_intake_repartition(rw_flow_t *f, const rd_kafka_message_t *msg);
/* A record of TOPIC_RETRY: a job held until its due time. */
void rw_intake_retry(rw_flow_t *f, const rd_kafka_message_t *msg);

#endif
