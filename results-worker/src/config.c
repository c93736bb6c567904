#include "config.h"

#include <stdio.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define F(field) offsetof(rw_config_t, field)

const ib_conf_desc_t rw_config_table[] = {
    IB_CONF_ROW_KAFKA_BOOTSTRAP(F(kafka_bootstrap)),
    IB_CONF_ROW_TENANTS_FILE(F(tenants_file)),
    {.name = "WORKER_LISTEN",
     .type = IB_CONF_LISTEN,
     .def = "0.0.0.0:8081",
     .offset = F(listen),
     .help = "Address and port of /healthz, /readyz and /metrics"},
    {.name = "WORKER_GROUP_ID",
     .type = IB_CONF_STRING,
     .def = "interview-bridge-results-worker",
     .offset = F(group_id),
     .help = "Kafka consumer group of the workers"},
    IB_CONF_ROW_TOPIC_REQUESTED(F(topic_requested)),
    IB_CONF_ROW_TOPIC_STATUS(F(topic_status)),
    IB_CONF_ROW_TOPIC_STATE(F(topic_state)),
    {.name = "TOPIC_STATUS_REPARTITION",
     .type = IB_CONF_STRING,
     .def = "interviews.status.repartition",
     .offset = F(topic_status_repartition),
     .help = "Internal topic of status events moved to their interview's partition (as many "
             "partitions as TOPIC_REQUESTED)"},
    {.name = "INTERVIEW_KEEP_FINISHED",
     .type = IB_CONF_DURATION,
     .def = "90d",
     .min = 1000,
     .max = 3650L * 86400000L,
     .offset = F(keep_finished_ms),
     .help = "How long a finished interview (completed, declined, expired) is kept after its "
             "final state: then the worker erases it from TOPIC_STATE and TOPIC_REQUESTED"},
    {.name = "INTERVIEW_KEEP_OPEN",
     .type = IB_CONF_DURATION,
     .def = "365d",
     .min = 1000,
     .max = 3650L * 86400000L,
     .offset = F(keep_open_ms),
     .help = "How long an interview whose latest state is pending is kept after that state: then "
             "the worker erases it from TOPIC_STATE and TOPIC_REQUESTED (the platform never "
             "finished it)"},
    {.name = "TOPIC_RETRY",
     .type = IB_CONF_STRING,
     .def = "interviews.callbacks.retry",
     .offset = F(topic_retry),
     .help = "Topic of delayed callback retries"},
    {.name = "TOPIC_DLQ",
     .type = IB_CONF_STRING,
     .def = "interviews.callbacks.dlq",
     .offset = F(topic_dlq),
     .help = "Topic of dead letters"},
    {.name = "RETRY_SCHEDULE",
     .type = IB_CONF_DURATIONS,
     .def = "0s,5s,30s,2m,10m,30m,1h,3h,6h,12h,24h",
     .offset = F(retry_schedule),
     .help = "Delays before each callback attempt; the last repeats"},
    {.name = "RETRY_MAX_AGE",
     .type = IB_CONF_DURATION,
     .def = "72h",
     .min = 1000,
     .max = 30L * 86400000L,
     .offset = F(retry_max_age_ms),
     .help = "Give up (dead letter) this long after the first attempt"},
    {.name = "CALLBACK_TIMEOUT",
     .type = IB_CONF_DURATION,
     .def = "15s",
     .min = 100,
     .max = 120000,
     .offset = F(callback_timeout_ms),
     .help = "Total time allowed for one callback PUT"},
    {.name = "WORKER_MAX_INFLIGHT",
     .type = IB_CONF_INT,
     .def = "64",
     .min = 1,
     .max = 4096,
     .offset = F(max_inflight),
     .help = "Callback PUTs in flight at once (all hosts)"},
    {.name = "CALLBACK_HOST_CONCURRENCY",
     .type = IB_CONF_INT,
     .def = "8",
     .min = 1,
     .max = 1024,
     .offset = F(per_host),
     .help = "Callback PUTs in flight at once to one host"},
    {.name = "BREAKER_THRESHOLD",
     .type = IB_CONF_INT,
     .def = "10",
     .min = 1,
     .max = 100000,
     .offset = F(breaker_threshold),
     .help = "Consecutive transient failures that open a host's circuit breaker"},
    {.name = "BREAKER_COOLDOWN",
     .type = IB_CONF_DURATION,
     .def = "30s",
     .min = 100,
     .max = 3600000,
     .offset = F(breaker_cooldown_ms),
     .help = "How long an open breaker leaves its host alone before one probe"},
    {.name = "WORKER_MAX_PENDING",
     .type = IB_CONF_INT,
     .def = "2000",
     .min = 10,
     .max = 1000000,
     .offset = F(max_pending),
     .help = "Messages in progress per partition before it is paused"},
    {.name = "WORKER_JOIN_MAX_INTERVIEWS",
     .type = IB_CONF_INT,
     .def = "2000000",
     .min = 1,
     .max = 1000000000,
     .offset = F(join_max_interviews),
     .help = "Interviews the join holds at most (about 122 bytes each with Workable callback "
             "URLs); beyond it the earliest finished one is evicted (ib_worker_join_evicted_total) "
             "and, when none is finished, the new one is refused (logged, "
             "ib_worker_join_refused_total)"},
    {.name = "SHUTDOWN_GRACE",
     .type = IB_CONF_DURATION,
     .def = "10s",
     .min = 0,
     .max = 600000,
     .offset = F(shutdown_grace_ms),
     .help = "On SIGTERM, how long in-flight PUTs may finish before they are handed to the retry "
             "topic"},
    {.name = "CALLBACK_CA_FILE",
     .type = IB_CONF_STRING,
     .def = "",
     .offset = F(callback_ca_file),
     .help = "PEM file of extra trust anchors for callback TLS, added to the system store; empty: "
             "the system store only"},
    {.name = "CALLBACK_ALLOWED_SUBNETS",
     .type = IB_CONF_STRING,
     .def = "",
     .offset = F(callback_allowed_subnets),
     .help = "Comma-separated CIDR blocks the SSRF guard lets callbacks connect to although they "
             "are special-purpose (a private receiver); empty: none"},
    IB_CONF_ROW_ALLOW_INSECURE(F(allow_insecure_callbacks)),
    IB_CONF_ROW_LOG_LEVEL(F(log_level)),
};

const size_t rw_config_table_len = IB_ARRAY_LEN(rw_config_table);

ib_rc_t rw_config_load(rw_config_t *cfg, ib_getenv_fn *get, void *opaque, char *errstr,
                       size_t errstr_size)
{
    char why[160];
    memset(cfg, 0, sizeof(*cfg));
    if (ib_config_load_from(rw_config_table, rw_config_table_len, cfg, get, opaque, errstr,
                            errstr_size) != IB_OK)
        return IB_ERR;
    if (rw_subnets_parse(cfg->callback_allowed_subnets, &cfg->allowed_subnets, why, sizeof(why)) !=
        IB_OK) {
        snprintf(errstr, errstr_size, "CALLBACK_ALLOWED_SUBNETS: %s", why);
        rw_config_free(cfg);
        return IB_ERR;
    }
    return IB_OK;
}

void rw_config_free(rw_config_t *cfg)
{
    if (cfg == NULL)
        return;
    ib_config_free(rw_config_table, rw_config_table_len, cfg);
    rw_subnets_free(&cfg->allowed_subnets);
    memset(cfg, 0, sizeof(*cfg));
}
