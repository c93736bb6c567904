#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD(f) offsetof(gw_config_t, f)

const ib_conf_desc_t gw_config_table[] = {
    IB_CONF_ROW_KAFKA_BOOTSTRAP(FIELD(kafka_bootstrap_servers)),
    IB_CONF_ROW_TENANTS_FILE(FIELD(tenants_file)),
    {"GATEWAY_LISTEN", IB_CONF_STRING, "0.0.0.0:8080", 0, 0, 0, FIELD(gateway_listen),
     "Address and port the HTTP server listens on"},
    {"TOPIC_REQUESTED", IB_CONF_STRING, "interviews.requested", 0, 0, 0, FIELD(topic_requested),
     "Topic the interview.requested events are produced to"},
    {"TOPIC_CATALOG", IB_CONF_STRING, "interviews.catalog", 0, 0, 0, FIELD(topic_catalog),
     "Compacted topic of the tenants' catalogs (key = tenant id)"},
    {"TOPIC_STATUS", IB_CONF_STRING, "interviews.status", 0, 0, 0, FIELD(topic_status),
     "Topic of the platform's interview status events"},
    {"GATEWAY_PRODUCE_TIMEOUT", IB_CONF_DURATION, "10s", 100, 120000, 0, FIELD(produce_timeout_ms),
     "Kafka message.timeout.ms for a POST /interviews; 503 after it (keep below the client's "
     "timeout)"},
    {"INTERVIEW_ID_SECRET", IB_CONF_STRING, "", 0, 0, 1, FIELD(interview_id_secret),
     "Key of the interview-id HMAC; set it in production, the same on all replicas"},
    IB_CONF_ROW_ALLOW_INSECURE(FIELD(allow_insecure_callbacks)),
    {"GATEWAY_MAX_CONNECTIONS", IB_CONF_INT, "1000", 1, 100000, 0, FIELD(max_connections),
     "Open HTTP connections at most; further ones wait in the listen backlog until one closes"},
    {"GATEWAY_IDLE_TIMEOUT", IB_CONF_DURATION, "30s", 1000, 3600000, 0, FIELD(idle_timeout_ms),
     "A connection is closed when it sends nothing for this long, or has not delivered a whole "
     "request (headers and body) this long after it opened or after its previous answer "
     "(whole seconds)"},
    {"GATEWAY_VIEW_MAX_INTERVIEWS", IB_CONF_INT, "2000000", 1, 1000000000, 0,
     FIELD(view_max_interviews),
     "Interviews the GET /interviews/{id} view holds at most; beyond it new ids are dropped "
     "(logged, ib_gateway_view_interviews_dropped_total)"},
    IB_CONF_ROW_LOG_LEVEL(FIELD(log_level)),
};

const size_t gw_config_table_len = IB_ARRAY_LEN(gw_config_table);

static const char *env_get(const char *name, void *opaque)
{
    (void)opaque;
    return getenv(name);
}

ib_rc_t gw_config_load(gw_config_t *cfg, ib_getenv_fn *get, void *opaque, char *errstr,
                       size_t errstr_size)
{
    char host[256];
    unsigned short port;

    memset(cfg, 0, sizeof(*cfg));
    if (ib_config_load_from(gw_config_table, gw_config_table_len, cfg, get != NULL ? get : env_get,
                            opaque, errstr, errstr_size) != IB_OK)
        return IB_ERR;
    if (ib_log_level_parse(cfg->log_level, &cfg->log_level_value) != IB_OK) {
        snprintf(errstr, errstr_size, "LOG_LEVEL: must be one of debug, info, warn, error");
        goto fail;
    }
    if (ib_listen_parse(cfg->gateway_listen, host, sizeof(host), &port) != IB_OK || port == 0) {
        snprintf(errstr, errstr_size, "GATEWAY_LISTEN: must be host:port or [v6]:port");
        goto fail;
    }
    if (cfg->tenants_file[0] == '\0') {
        snprintf(errstr, errstr_size, "TENANTS_FILE: must not be empty");
        goto fail;
    }
    return IB_OK;
fail:
    gw_config_free(cfg);
    return IB_ERR;
}

void gw_config_free(gw_config_t *cfg)
{
    if (cfg == NULL)
        return;
    ib_config_free(gw_config_table, gw_config_table_len, cfg);
    memset(cfg, 0, sizeof(*cfg));
}
