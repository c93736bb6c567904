#include "config.h"

#include <stddef.h>

#define F(field) offsetof(rw_config_t, field)

/* CALLBACK_TIMEOUT stays well below max.poll.interval.ms (300 s): in this slice a PUT blocks the
 * poll loop for at most that long. */
const ib_conf_desc_t rw_config_table[] = {
    {"KAFKA_BOOTSTRAP_SERVERS", IB_CONF_STRING, "127.0.0.1:9092", 0, 0, 0, F(kafka_bootstrap),
     "Kafka bootstrap servers (host:port,...)"},
    {"TENANTS_FILE", IB_CONF_STRING, NULL, 0, 0, 0, F(tenants_file),
     "Path of the tenants JSON file (required)"},
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
    {"RETRY_MAX_AGE", IB_CONF_DURATION, "72h", 60000, 30L * 86400000L, 0, F(retry_max_age_ms),
     "Give up (dead letter) this long after the first attempt"},
    {"CALLBACK_TIMEOUT", IB_CONF_DURATION, "15s", 100, 120000, 0, F(callback_timeout_ms),
     "Total time allowed for one callback PUT"},
    {"ALLOW_INSECURE_CALLBACKS", IB_CONF_BOOL, "0", 0, 0, 0, F(allow_insecure_callbacks),
     "1 allows http callbacks (local development and tests only)"},
    {"LOG_LEVEL", IB_CONF_STRING, "info", 0, 0, 0, F(log_level), "debug, info, warn or error"},
};

const size_t rw_config_table_len = sizeof(rw_config_table) / sizeof(rw_config_table[0]);
