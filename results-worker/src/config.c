#include "config.h"

#include <stddef.h>

#define F(field) offsetof(rw_config_t, field)

const ib_conf_desc_t rw_config_table[] = {
    IB_CONF_ROW_KAFKA_BOOTSTRAP(F(kafka_bootstrap)),
    IB_CONF_ROW_TENANTS_FILE(F(tenants_file)),
    {"WORKER_LISTEN", IB_CONF_STRING, "0.0.0.0:8081", 0, 0, 0, F(listen),
     "host:port of /healthz, /readyz and /metrics"},
    {"WORKER_GROUP_ID", IB_CONF_STRING, "interview-bridge-results-worker", 0, 0, 0, F(group_id),
     "Kafka consumer group of the workers"},
    {"TOPIC_REQUESTED", IB_CONF_STRING, "interviews.requested", 0, 0, 0, F(topic_requested),
     "Topic of interview.requested events (joined for callback_url and tenant)"},
    {"TOPIC_STATUS", IB_CONF_STRING, "interviews.status", 0, 0, 0, F(topic_status),
     "Topic of interview status events (delivered to Workable)"},
    {"TOPIC_RETRY", IB_CONF_STRING, "interviews.callbacks.retry", 0, 0, 0, F(topic_retry),
     "Topic of delayed callback retries"},
    {"TOPIC_DLQ", IB_CONF_STRING, "interviews.callbacks.dlq", 0, 0, 0, F(topic_dlq),
     "Topic of dead letters"},
    {"RETRY_SCHEDULE", IB_CONF_DURATIONS, "0s,5s,30s,2m,10m,30m,1h,3h,6h,12h,24h", 0, 0, 0,
     F(retry_schedule), "Delays before each callback attempt; the last repeats"},
    {"RETRY_MAX_AGE", IB_CONF_DURATION, "72h", 1000, 30L * 86400000L, 0, F(retry_max_age_ms),
     "Give up (dead letter) this long after the first attempt"},
    {"CALLBACK_TIMEOUT", IB_CONF_DURATION, "15s", 100, 120000, 0, F(callback_timeout_ms),
     "Total time allowed for one callback PUT"},
    {"WORKER_MAX_INFLIGHT", IB_CONF_INT, "64", 1, 4096, 0, F(max_inflight),
     "Callback PUTs in flight at once (all hosts)"},
    {"CALLBACK_HOST_CONCURRENCY", IB_CONF_INT, "8", 1, 1024, 0, F(per_host),
     "Callback PUTs in flight at once to one host"},
    {"BREAKER_THRESHOLD", IB_CONF_INT, "10", 1, 100000, 0, F(breaker_threshold),
     "Consecutive transient failures that open a host's circuit breaker"},
    {"BREAKER_COOLDOWN", IB_CONF_DURATION, "30s", 100, 3600000, 0, F(breaker_cooldown_ms),
     "How long an open breaker leaves its host alone before one probe"},
    {"WORKER_MAX_PENDING", IB_CONF_INT, "2000", 10, 1000000, 0, F(max_pending),
     "Messages in progress per partition before it is paused"},
    {"SHUTDOWN_GRACE", IB_CONF_DURATION, "10s", 0, 600000, 0, F(shutdown_grace_ms),
     "On SIGTERM, how long in-flight PUTs may finish before they are handed to the retry topic"},
    IB_CONF_ROW_ALLOW_INSECURE(F(allow_insecure_callbacks)),
    IB_CONF_ROW_LOG_LEVEL(F(log_level)),
};

const size_t rw_config_table_len = sizeof(rw_config_table) / sizeof(rw_config_table[0]);
