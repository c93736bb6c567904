/* The gateway's configuration: one descriptor table (gw_config_table), one struct. */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>

#include "ib/common.h"
#include "ib/config.h"
#include "ib/log.h"

typedef struct {
    char *kafka_bootstrap_servers;
    char *tenants_file;
    ib_listen_t gateway_listen;
    ib_listen_t ops_listen; /* GATEWAY_OPS_LISTEN: /healthz, /readyz, /metrics */
    int reuse_port;         /* GATEWAY_REUSE_PORT: SO_REUSEPORT on both listeners */
    char *topic_requested;
    char *topic_catalog;
    char *topic_status;
    char *topic_state;
    long produce_timeout_ms; /* message.timeout.ms; a waiting POST gets 503 after it */
    char *interview_id_secret;
    int allow_insecure_callbacks;
    long max_connections;           /* GATEWAY_MAX_CONNECTIONS */
    long max_connections_per_ip;    /* GATEWAY_MAX_CONNECTIONS_PER_IP */
    long create_rate;               /* GATEWAY_CREATE_RATE: per second and tenant; 0: no quota */
    long create_burst;              /* GATEWAY_CREATE_BURST */
    long idle_timeout_ms;           /* GATEWAY_IDLE_TIMEOUT: whole seconds */
    long view_max_interviews;       /* GATEWAY_VIEW_MAX_INTERVIEWS */
    char *base_path;                /* GATEWAY_BASE_PATH: "" or "/seg...", no trailing slash */
    ib_log_level_t log_level_value; /* LOG_LEVEL */
} gw_config_t;

/* The table README's configuration reference is checked against. */
extern const ib_conf_desc_t gw_config_table[];
extern const size_t gw_config_table_len;

/* Loads defaults then the environment (get == NULL: getenv) into cfg (zeroed by the call); the
 * table validates and parses every value. On error writes "NAME: reason" into errstr, frees what
 * was loaded and returns IB_ERR. */
ib_rc_t gw_config_load(gw_config_t *cfg, ib_getenv_fn *get, void *opaque, char *errstr,
                       size_t errstr_size) IB_WUR;
/* Frees the strings; accepts a zeroed struct. */
/* Rules across keys, checked at start after gw_config_load: INTERVIEW_ID_SECRET must be set
 * unless ALLOW_INSECURE_CALLBACKS=1 (development), or ids are predictable (an HMAC under an empty
 * key). IB_ERR with "NAME: reason" in errstr. */
ib_rc_t gw_config_check(const gw_config_t *cfg, char *errstr, size_t errstr_size) IB_WUR;
void gw_config_free(gw_config_t *cfg);

#endif
