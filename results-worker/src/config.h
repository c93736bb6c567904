/* The results-worker's configuration: one descriptor table read by ib_config_load. */
#ifndef RW_CONFIG_H
#define RW_CONFIG_H

#include <stddef.h>

#include "ib/config.h"

typedef struct {
    char *kafka_bootstrap;
    char *tenants_file;
    char *listen;
    char *group_id;
    char *topic_requested;
    char *topic_status;
    char *topic_retry;
    char *topic_dlq;
    ib_durations_t retry_schedule;
    long retry_max_age_ms;
    long callback_timeout_ms;
    long max_inflight; /* WORKER_MAX_INFLIGHT */
    long per_host;     /* CALLBACK_HOST_CONCURRENCY */
    long breaker_threshold;
    long breaker_cooldown_ms;
    long max_pending; /* WORKER_MAX_PENDING: per partition */
    long shutdown_grace_ms;
    int allow_insecure_callbacks;
    char *log_level;
} rw_config_t;

/* The descriptor table (static storage) and its length, for ib_config_load/_free/_dump. */
extern const ib_conf_desc_t rw_config_table[];
extern const size_t rw_config_table_len;

#endif
