/* Configuration: one table of descriptors per service, read by one loader. Defaults first, then
 * the environment. Invalid values fail with the key's name. */
#ifndef IB_CONFIG_H
#define IB_CONFIG_H

#include <stddef.h>

#include "ib/common.h"

typedef enum {
    IB_CONF_STRING,   /* char *, malloc'd by the loader (free with ib_config_free) */
    IB_CONF_INT,      /* long, within [min, max] */
    IB_CONF_BOOL,     /* int 0/1; accepts 0/1/true/false/yes/no */
    IB_CONF_DURATION, /* long milliseconds; "250ms", "15s", "2m", "1h", "3d" or bare ms, in [min,
                         max] */
    IB_CONF_DURATIONS /* ib_durations_t; comma-separated durations, at least one */
} ib_conf_type_t;

typedef struct {
    long *ms; /* malloc'd */
    size_t count;
} ib_durations_t;

typedef struct {
    const char *name; /* environment variable, e.g. "KAFKA_BOOTSTRAP_SERVERS" */
    ib_conf_type_t type;
    const char *def;  /* default as text; NULL means required (strings) or 0 */
    long min, max;    /* bounds for INT and DURATION (ms); ignored when min == max == 0 */
    int secret;       /* redacted by ib_config_dump */
    size_t offset;    /* offsetof(the service's config struct, field) */
    const char *help; /* one line for README's configuration reference */
} ib_conf_desc_t;

/* Rows both services share, so their names, defaults and help never drift apart. off is the
 * offsetof() of the field in the service's config struct. */
#define IB_CONF_ROW_KAFKA_BOOTSTRAP(off)                                                           \
    {                                                                                              \
        "KAFKA_BOOTSTRAP_SERVERS", IB_CONF_STRING, "127.0.0.1:9092", 0, 0, 0, (off),               \
            "Kafka bootstrap servers (host:port,...)"                                              \
    }
#define IB_CONF_ROW_TENANTS_FILE(off)                                                              \
    {                                                                                              \
        "TENANTS_FILE", IB_CONF_STRING, NULL, 0, 0, 0, (off),                                      \
            "Path of the tenants JSON file (required)"                                             \
    }
#define IB_CONF_ROW_ALLOW_INSECURE(off)                                                            \
    {                                                                                              \
        "ALLOW_INSECURE_CALLBACKS", IB_CONF_BOOL, "0", 0, 0, 0, (off),                             \
            "1 allows http and loopback callback URLs (local development and tests only)"          \
    }
#define IB_CONF_ROW_LOG_LEVEL(off)                                                                 \
    {                                                                                              \
        "LOG_LEVEL", IB_CONF_STRING, "info", 0, 0, 0, (off), "debug, info, warn or error"          \
    }

/* Fills the struct at base from defaults then getenv. On error writes "NAME: reason" into errstr
 * and returns IB_ERR (fields already loaded are freed). */
ib_rc_t ib_config_load(const ib_conf_desc_t *table, size_t n, void *base, char *errstr,
                       size_t errstr_size) IB_WUR;
/* Same, with a lookup function instead of getenv (tests). */
typedef const char *ib_getenv_fn(const char *name, void *opaque);
ib_rc_t ib_config_load_from(const ib_conf_desc_t *table, size_t n, void *base, ib_getenv_fn *get,
                            void *opaque, char *errstr, size_t errstr_size) IB_WUR;
/* Frees the strings and duration lists the loader allocated. Accepts a zeroed struct. */
void ib_config_free(const ib_conf_desc_t *table, size_t n, void *base);
/* Logs the effective configuration at info level, secrets redacted. */
void ib_config_dump(const ib_conf_desc_t *table, size_t n, const void *base);
/* Parses one duration ("15s"); IB_ERR on junk or overflow. */
ib_rc_t ib_duration_parse(const char *s, long *ms) IB_WUR;
/* Splits "host:port" / "[v6]:port" into host and port. */
ib_rc_t ib_listen_parse(const char *s, char *host, size_t host_size, unsigned short *port) IB_WUR;

#endif
