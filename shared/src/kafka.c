#include "ib/kafka.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ib/log.h"

extern char **environ;

/* librdkafka's syslog levels mapped onto ours. */
static void kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    ib_log_level_t l = level <= 3   ? IB_LOG_ERROR
                       : level <= 4 ? IB_LOG_WARN
                       : level <= 6 ? IB_LOG_INFO
                                    : IB_LOG_DEBUG;
    if (!ib_log_enabled(l))
        return;
    json_t *fields = json_pack("{s:s,s:s,s:s}", "component", "librdkafka", "client",
                               rk != NULL ? rd_kafka_name(rk) : "", "facility", fac);
    ib_log_fields(l, fields, "%s", buf);
    json_decref(fields);
}

ib_rc_t ib_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                          size_t errstr_size)
{
    char why[256];
    if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "%s: %s", name, why);
        return IB_ERR;
    }
    return IB_OK;
}

/* queued.max.messages.kbytes -> KAFKA_QUEUED_MAX_MESSAGES_KBYTES; 0 when the name does not fit. */
static int env_name(const char *prop, char *out, size_t out_size)
{
    size_t n = strlen(prop);
    if (n + 7 > out_size)
        return 0;
    memcpy(out, "KAFKA_", 6);
    for (size_t i = 0; i < n; i++)
        out[6 + i] = prop[i] == '.' ? '_' : (char)toupper((unsigned char)prop[i]);
    out[6 + n] = '\0';
    return 1;
}

ib_rc_t ib_kafka_conf_default(rd_kafka_conf_t *conf, const char *name, const char *value,
                              char *errstr, size_t errstr_size)
{
    char var[160];
    if (env_name(name, var, sizeof(var)) && getenv(var) != NULL)
        return IB_OK;
    return ib_kafka_conf_set(conf, name, value, errstr, errstr_size);
}

rd_kafka_t *ib_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *what,
                         char *errstr, size_t errstr_size)
{
    char why[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, why, sizeof(why));
    if (rk == NULL) {
        snprintf(errstr, errstr_size, "%s: %s", what, why);
        rd_kafka_conf_destroy(conf); /* rd_kafka_new takes it only on success */
    }
    return rk;
}

/* KAFKA_SASL_MECHANISMS=PLAIN -> sasl.mechanisms=PLAIN. Skips the variables we own. */
static ib_rc_t apply_env_passthrough(rd_kafka_conf_t *conf, char *errstr, size_t errstr_size)
{
    static const char *const own[] = {
        "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_PORT", "KAFKA_CONTROLLER_PORT",
        "KAFKA_DATA_DIR",          "KAFKA_HEAP", "KAFKA_PARTITIONS",
        "KAFKA_START_TIMEOUT"};
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, "KAFKA_", 6) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        if (eq == NULL)
            continue;
        size_t name_len = (size_t)(eq - *e);
        int skip = 0;
        for (size_t i = 0; i < IB_ARRAY_LEN(own); i++)
            if (strlen(own[i]) == name_len && strncmp(*e, own[i], name_len) == 0)
                skip = 1;
        if (skip || name_len <= 6 || name_len - 6 >= 128)
            continue;
        char prop[128];
        size_t k = 0;
        for (const char *p = *e + 6; p < eq; p++)
            prop[k++] = *p == '_' ? '.' : (char)tolower((unsigned char)*p);
        prop[k] = '\0';
        char why[256];
        if (rd_kafka_conf_set(conf, prop, eq + 1, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
            /* Name the variable, never echo its value: it may be a SASL password. */
            snprintf(errstr, errstr_size, "%.*s: %s", (int)name_len, *e, why);
            return IB_ERR;
        }
    }
    return IB_OK;
}

rd_kafka_conf_t *ib_kafka_conf_new(const char *bootstrap, const char *client_id, char *errstr,
                                   size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char why[300];

    if (ib_kafka_conf_set(conf, "bootstrap.servers", bootstrap, why, sizeof(why)) != IB_OK ||
        ib_kafka_conf_set(conf, "client.id", client_id, why, sizeof(why)) != IB_OK ||
        ib_kafka_conf_set(conf, "socket.nagle.disable", "true", why, sizeof(why)) != IB_OK) {
        snprintf(errstr, errstr_size, "KAFKA_BOOTSTRAP_SERVERS: %s", why);
        goto fail;
    }
    rd_kafka_conf_set_log_cb(conf, kafka_log);
    if (apply_env_passthrough(conf, errstr, errstr_size) != IB_OK)
        goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

rd_kafka_headers_t *ib_ce_headers_new(const char *id, const char *source, const char *type,
                                      const char *traceparent)
{
    char now[40];
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(traceparent != NULL ? 7 : 6);
    ib_format_rfc3339(ib_wall_ms(), now, sizeof(now));
    rd_kafka_header_add(hdrs, "ce_specversion", -1, "1.0", -1);
    rd_kafka_header_add(hdrs, "ce_id", -1, id, -1);
    rd_kafka_header_add(hdrs, "ce_source", -1, source, -1);
    rd_kafka_header_add(hdrs, "ce_type", -1, type, -1);
    rd_kafka_header_add(hdrs, "ce_time", -1, now, -1);
    rd_kafka_header_add(hdrs, "content-type", -1, "application/json", -1);
    if (traceparent != NULL)
        rd_kafka_header_add(hdrs, "traceparent", -1, traceparent, -1);
    return hdrs;
}
