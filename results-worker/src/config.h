/* The results-worker's configuration: one descriptor table read by ib_config_load. */
#ifndef RW_CONFIG_H
#define RW_CONFIG_H

#include <stddef.h>

#include "ib/common.h"
#include "ib/config.h"
#include "ib/log.h"
#include "ssrf.h"

typedef struct {
    char *kafka_bootstrap;
    char *tenants_file;
    ib_listen_t listen; /* WORKER_LISTEN */
    char *group_id;
    char *topic_requested;
    char *topic_status;
    char *topic_state;
    char *topic_status_repartition;
    char *topic_retry;
    char *topic_dlq;
    ib_durations_t retry_schedule;
    long retry_max_age_ms;
    long keep_finished_ms; /* INTERVIEW_KEEP_FINISHED */
    long keep_open_ms;     /* INTERVIEW_KEEP_OPEN */
    long callback_timeout_ms;
    long max_inflight; /* WORKER_MAX_INFLIGHT */
    long per_host;     /* CALLBACK_HOST_CONCURRENCY */
    long breaker_threshold;
    long breaker_cooldown_ms;
    long max_pending; /* WORKER_MAX_PENDING: per partition */
    long join_max_interviews;
    long shutdown_grace_ms;
    char *callback_ca_file;         /* CALLBACK_CA_FILE: "" when unset */
    char *callback_allowed_subnets; /* CALLBACK_ALLOWED_SUBNETS as configured */
    rw_subnets_t allowed_subnets;   /* the same, parsed by rw_config_load */
    int allow_insecure_callbacks;
    ib_log_level_t log_level;
} rw_config_t;

/* The descriptor table (static storage) and its length, for ib_config_load/_free/_dump. */
extern const ib_conf_desc_t rw_config_table[];
extern const size_t rw_config_table_len;

/* Loads defaults then the environment (get == NULL: getenv) into cfg (zeroed by the call); the
 * table validates and parses every value, then CALLBACK_ALLOWED_SUBNETS is parsed into
 * allowed_subnets. On error writes "NAME: reason" into errstr, frees what
 * was loaded and returns IB_ERR. */
ib_rc_t rw_config_load(rw_config_t *cfg, ib_getenv_fn *get, void *opaque, char *errstr,
                       size_t errstr_size) IB_WUR;
/* Frees the strings and lists; accepts a zeroed struct (or NULL). */
void rw_config_free(rw_config_t *cfg);

#endif
