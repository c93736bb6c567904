/* Configuration: one table of descriptors per service, read by one loader. Defaults first, then
 * the environment. Every value is validated and parsed once, by the loader; an invalid one fails
 * with the key's name ("NAME: reason"), and the service exits with IB_EXIT_CONFIG. */
#ifndef IB_CONFIG_H
#define IB_CONFIG_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include "ib/common.h"

/* Exit status of a service that stops at start because a configuration value is invalid (the
 * log line says "configuration: NAME: reason"). */
#define IB_EXIT_CONFIG 2

typedef enum {
    IB_CONF_STRING,    /* char *, malloc'd by the loader (free with ib_config_free); min/max, when
                          not both 0, bound its length (max 0: no upper bound) */
    IB_CONF_INT,       /* long, within [min, max] */
    IB_CONF_BOOL,      /* int 0/1; accepts 0/1/true/false/yes/no/on/off */
    IB_CONF_DURATION,  /* long milliseconds; "250ms", "15s", "2m", "1h", "3d" or bare ms, in [min,
                          max] */
    IB_CONF_DURATIONS, /* ib_durations_t; comma-separated durations, at least one */
    IB_CONF_ENUM,      /* int (or an enum type of int's size): the value of one of the words of
                          the descriptor's enums, matched exactly */
    IB_CONF_LISTEN     /* ib_listen_t; "IPv4:port" or "[IPv6]:port", port 1..65535 */
} ib_conf_type_t;

/* One accepted word of an IB_CONF_ENUM and the value it stands for. A list ends with
 * {NULL, 0}. */
typedef struct {
    const char *word;
    int value;
} ib_conf_enum_t;

typedef struct {
    long *ms; /* malloc'd */
    size_t count;
} ib_durations_t;

#define IB_LISTEN_TEXT_MAX 64

/* A listen address, parsed and checked by the loader; the services bind addr as it is. */
typedef struct {
    char text[IB_LISTEN_TEXT_MAX]; /* as configured, e.g. "0.0.0.0:8080" or "[::1]:8080" */
    char host[INET6_ADDRSTRLEN];   /* the address without brackets */
    unsigned short port;           /* 1..65535 */
    struct sockaddr_storage addr;  /* host and port, AF_INET or AF_INET6 */
    socklen_t addr_len;
} ib_listen_t;

typedef struct {
    const char *name; /* environment variable, e.g. "KAFKA_BOOTSTRAP_SERVERS" */
    ib_conf_type_t type;
    const char *def;             /* default as text; NULL means required */
    long min, max;               /* bounds (see the type); ignored when min == max == 0 */
    int secret;                  /* redacted by ib_config_dump */
    size_t offset;               /* offsetof(the service's config struct, field) */
    const char *help;            /* one line for README's configuration reference */
    const ib_conf_enum_t *enums; /* IB_CONF_ENUM only: the accepted words */
} ib_conf_desc_t;

/* LOG_LEVEL's words: debug, info, warn, error, as ib_log_level_t values. */
extern const ib_conf_enum_t ib_conf_log_levels[];

/* Rows both services share, defined once so that their names, types, defaults and help never
 * drift apart (config-doc refuses two different rows of one name). off is the offsetof() of the
 * field in the service's config struct. */
#define IB_CONF_ROW_KAFKA_BOOTSTRAP(off)                                                           \
    {                                                                                              \
        .name = "KAFKA_BOOTSTRAP_SERVERS", .type = IB_CONF_STRING, .def = "127.0.0.1:9092",        \
        .offset = (off), .help = "Kafka bootstrap servers (host:port,...)"                         \
    }
#define IB_CONF_ROW_TENANTS_FILE(off)                                                              \
    {                                                                                              \
        .name = "TENANTS_FILE", .type = IB_CONF_STRING, .def = NULL, .min = 1, .offset = (off),    \
        .help = "Path of the tenants JSON file (required)"                                         \
    }
#define IB_CONF_ROW_TOPIC_REQUESTED(off)                                                           \
    {                                                                                              \
        .name = "TOPIC_REQUESTED", .type = IB_CONF_STRING, .def = "interviews.requested",          \
        .offset = (off),                                                                           \
        .help = "Topic of the interview.requested events (the gateway produces them, the worker "  \
                "joins them for callback_url and tenant)"                                          \
    }
#define IB_CONF_ROW_TOPIC_STATUS(off)                                                              \
    {                                                                                              \
        .name = "TOPIC_STATUS", .type = IB_CONF_STRING, .def = "interviews.status",                \
        .offset = (off),                                                                           \
        .help = "Topic of the platform's interview status events (the gateway's view reads them, " \
                "the worker delivers them to Workable)"                                            \
    }
#define IB_CONF_ROW_TOPIC_STATE(off)                                                               \
    {                                                                                              \
        .name = "TOPIC_STATE", .type = IB_CONF_STRING, .def = "interviews.state", .offset = (off), \
        .help = "Compacted changelog of each interview's latest state (the worker writes it, "     \
                "both services rebuild from it; as many partitions as TOPIC_REQUESTED)"            \
    }
#define IB_CONF_ROW_ALLOW_INSECURE(off)                                                            \
    {                                                                                              \
        .name = "ALLOW_INSECURE_CALLBACKS", .type = IB_CONF_BOOL, .def = "0", .offset = (off),     \
        .help = "1 allows http and loopback callback URLs (local development and tests only)"      \
    }
#define IB_CONF_ROW_LOG_LEVEL(off)                                                                 \
    {                                                                                              \
        .name = "LOG_LEVEL", .type = IB_CONF_ENUM, .def = "info", .offset = (off),                 \
        .help = "Least severe level logged", .enums = ib_conf_log_levels                           \
    }

/* Fills the struct at base from defaults then getenv. On error writes "NAME: reason" into errstr
 * and returns IB_ERR (fields already loaded are freed). */
ib_rc_t ib_config_load(const ib_conf_desc_t *table, size_t n, void *base, char *errstr,
                       size_t errstr_size) IB_WUR;
/* Same, with a lookup function instead of getenv (tests); get == NULL: getenv. */
typedef const char *ib_getenv_fn(const char *name, void *opaque);
ib_rc_t ib_config_load_from(const ib_conf_desc_t *table, size_t n, void *base, ib_getenv_fn *get,
                            void *opaque, char *errstr, size_t errstr_size) IB_WUR;
/* Frees the strings and duration lists the loader allocated. Accepts a zeroed struct. */
void ib_config_free(const ib_conf_desc_t *table, size_t n, void *base);
/* Logs the effective configuration at info level, secrets redacted. */
void ib_config_dump(const ib_conf_desc_t *table, size_t n, const void *base);
/* The row of table named name, or NULL. */
const ib_conf_desc_t *ib_config_find(const ib_conf_desc_t *table, size_t n, const char *name);
/* The word of an IB_CONF_ENUM row for value, or NULL. */
const char *ib_conf_enum_word(const ib_conf_desc_t *d, int value);
/* Parses one duration ("15s"); IB_ERR on junk or overflow. */
ib_rc_t ib_duration_parse(const char *s, long *ms) IB_WUR;
/* Splits "host:port" / "[v6]:port" into host and port (0..65535, digits only); syntax only. */
ib_rc_t ib_listen_parse(const char *s, char *host, size_t host_size, unsigned short *port) IB_WUR;
/* Parses a listen address as IB_CONF_LISTEN does: "IPv4:port" or "[IPv6]:port", port 1..65535,
 * no host names (no resolver at start). On IB_ERR writes the reason (without the key) into why. */
ib_rc_t ib_listen_addr_parse(const char *s, ib_listen_t *out, char *why, size_t why_size) IB_WUR;

#endif
