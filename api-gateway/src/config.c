#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD(f) offsetof(gw_config_t, f)

const ib_conf_desc_t gw_config_table[] = {
    IB_CONF_ROW_KAFKA_BOOTSTRAP(FIELD(kafka_bootstrap_servers)),
    IB_CONF_ROW_TENANTS_FILE(FIELD(tenants_file)),
    {.name = "GATEWAY_LISTEN",
     .type = IB_CONF_LISTEN,
     .def = "0.0.0.0:8080",
     .offset = FIELD(gateway_listen),
     .help = "Address and port of the public API (Workable's endpoints, /healthz, /readyz)"},
    {.name = "GATEWAY_OPS_LISTEN",
     .type = IB_CONF_LISTEN,
     .def = "0.0.0.0:8082",
     .offset = FIELD(ops_listen),
     .help = "Address and port of the operations listener: /healthz, /readyz and /metrics (not "
             "on the public port)"},
    {.name = "GATEWAY_REUSE_PORT",
     .type = IB_CONF_BOOL,
     .def = "0",
     .offset = FIELD(reuse_port),
     .help = "SO_REUSEPORT on both listeners; off, a second process cannot bind the same port"},
    {.name = "GATEWAY_BASE_PATH",
     .type = IB_CONF_STRING,
     .def = "",
     .offset = FIELD(base_path),
     .help = "Path prefix of Workable's endpoints, e.g. /workable for "
             "https://host/workable/interviews (empty: at the root); /healthz, /readyz and "
             "/metrics stay at the root"},
    IB_CONF_ROW_TOPIC_REQUESTED(FIELD(topic_requested)),
    {.name = "TOPIC_CATALOG",
     .type = IB_CONF_STRING,
     .def = "interviews.catalog",
     .offset = FIELD(topic_catalog),
     .help = "Compacted topic of the tenants' catalogs (key = tenant id)"},
    IB_CONF_ROW_TOPIC_STATUS(FIELD(topic_status)),
    IB_CONF_ROW_TOPIC_STATE(FIELD(topic_state)),
    {.name = "GATEWAY_PRODUCE_TIMEOUT",
     .type = IB_CONF_DURATION,
     .def = "10s",
     .min = 100,
     .max = 120000,
     .offset = FIELD(produce_timeout_ms),
     .help = "Kafka message.timeout.ms for a POST /interviews; 503 after it (keep below the "
             "client's timeout)"},
    {.name = "INTERVIEW_ID_SECRET",
     .type = IB_CONF_STRING,
     .def = "",
     .secret = 1,
     .offset = FIELD(interview_id_secret),
     .help = "Key of the interview-id HMAC, the same on all replicas; required unless "
             "ALLOW_INSECURE_CALLBACKS=1"},
    IB_CONF_ROW_ALLOW_INSECURE(FIELD(allow_insecure_callbacks)),
    {.name = "GATEWAY_MAX_CONNECTIONS",
     .type = IB_CONF_INT,
     .def = "1000",
     .min = 1,
     .max = 100000,
     .offset = FIELD(max_connections),
     .help = "Open HTTP connections at most; further ones wait in the listen backlog until one "
             "closes"},
    {.name = "GATEWAY_MAX_CONNECTIONS_PER_IP",
     .type = IB_CONF_INT,
     .def = "64",
     .min = 1,
     .max = 100000,
     .offset = FIELD(max_connections_per_ip),
     .help = "Open connections to the public port from one client address at most; further ones "
             "are closed at once (behind a proxy every client shares its address)"},
    {.name = "GATEWAY_CREATE_RATE",
     .type = IB_CONF_INT,
     .def = "50",
     .min = 0,
     .max = 1000000,
     .offset = FIELD(create_rate),
     .help = "POST /interviews per second and tenant, per replica (token bucket; 429 past it); "
             "0: no quota. The tenants file's create_rate overrides it"},
    {.name = "GATEWAY_CREATE_BURST",
     .type = IB_CONF_INT,
     .def = "500",
     .min = 1,
     .max = 1000000,
     .offset = FIELD(create_burst),
     .help = "POST /interviews a tenant may send at once on one replica before GATEWAY_CREATE_RATE "
             "applies. The tenants file's create_burst overrides it"},
    {.name = "GATEWAY_IDLE_TIMEOUT",
     .type = IB_CONF_DURATION,
     .def = "30s",
     .min = 1000,
     .max = 3600000,
     .offset = FIELD(idle_timeout_ms),
     .help = "A connection is closed when it sends nothing for this long, or has not delivered a "
             "whole request (headers and body) this long after it opened or after its previous "
             "answer (whole seconds)"},
    {.name = "GATEWAY_VIEW_MAX_INTERVIEWS",
     .type = IB_CONF_INT,
     .def = "2000000",
     .min = 1,
     .max = 1000000000,
     .offset = FIELD(view_max_interviews),
     .help = "Interviews the GET /interviews/{id} view holds at most; beyond it the earliest "
             "finished one is evicted (GET answers 404 for it; "
             "ib_gateway_view_interviews_evicted_total) and, when none is finished, the new id is "
             "dropped (logged, ib_gateway_view_interviews_dropped_total)"},
    IB_CONF_ROW_LOG_LEVEL(FIELD(log_level_value)),
};

const size_t gw_config_table_len = IB_ARRAY_LEN(gw_config_table);

/* GATEWAY_BASE_PATH: "" or "/" and segments of URL path characters; a trailing slash is
 * dropped in place ("/workable/" is "/workable", "/" is ""). */
static ib_rc_t base_path_normalise(char *p, char *errstr, size_t errstr_size)
{
    size_t len = strlen(p);

    if (len > 0 && p[0] != '/') {
        snprintf(errstr, errstr_size, "GATEWAY_BASE_PATH: must start with '/'");
        return IB_ERR;
    }
    if (len > 256) {
        snprintf(errstr, errstr_size, "GATEWAY_BASE_PATH: at most 256 characters");
        return IB_ERR;
    }
    while (len > 0 && p[len - 1] == '/')
        p[--len] = '\0';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '/' && p[i + 1] == '/') {
            snprintf(errstr, errstr_size, "GATEWAY_BASE_PATH: has an empty segment");
            return IB_ERR;
        }
        if (!isalnum(c) && strchr("/-._~!$&'()*+,;=:@", c) == NULL) {
            snprintf(errstr, errstr_size,
                     "GATEWAY_BASE_PATH: only letters, digits and -._~!$&'()*+,;=:@ in segments");
            return IB_ERR;
        }
    }
    return IB_OK;
}

ib_rc_t gw_config_load(gw_config_t *cfg, ib_getenv_fn *get, void *opaque, char *errstr,
                       size_t errstr_size)
{
    memset(cfg, 0, sizeof(*cfg));
    if (ib_config_load_from(gw_config_table, gw_config_table_len, cfg, get, opaque, errstr,
                            errstr_size) != IB_OK)
        return IB_ERR;
    if (base_path_normalise(cfg->base_path, errstr, errstr_size) != IB_OK) {
        gw_config_free(cfg);
        return IB_ERR;
    }
    /* Without SO_REUSEPORT the second bind would fail anyway; with it, both listeners would
     * share the port and the operations routes would leak onto the public one. */
    if (cfg->ops_listen.port == cfg->gateway_listen.port) {
        snprintf(errstr, errstr_size, "GATEWAY_OPS_LISTEN: port %u is GATEWAY_LISTEN's",
                 (unsigned)cfg->ops_listen.port);
        gw_config_free(cfg);
        return IB_ERR;
    }
    return IB_OK;
}

ib_rc_t gw_config_check(const gw_config_t *cfg, char *errstr, size_t errstr_size)
{
    if (!cfg->allow_insecure_callbacks &&
        (cfg->interview_id_secret == NULL || cfg->interview_id_secret[0] == '\0')) {
        snprintf(errstr, errstr_size,
                 "INTERVIEW_ID_SECRET: is required (or ALLOW_INSECURE_CALLBACKS=1 for "
                 "development)");
        return IB_ERR;
    }
    return IB_OK;
}

void gw_config_free(gw_config_t *cfg)
{
    if (cfg == NULL)
        return;
    ib_config_free(gw_config_table, gw_config_table_len, cfg);
    memset(cfg, 0, sizeof(*cfg));
}
