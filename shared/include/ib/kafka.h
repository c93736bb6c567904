/* librdkafka configuration shared by both services. */
#ifndef IB_KAFKA_H
#define IB_KAFKA_H

#include <librdkafka/rdkafka.h>

#include "ib/common.h"

/* A new conf with bootstrap.servers, client.id, logs routed into ib_log, Nagle off, and every
 * environment variable KAFKA_<NAME> other than KAFKA_BOOTSTRAP_SERVERS passed through as
 * <name> lowercased with '_' -> '.' (KAFKA_SECURITY_PROTOCOL -> security.protocol). Returns NULL
 * with the offending variable's name in errstr. Caller owns the result. */
rd_kafka_conf_t *ib_kafka_conf_new(const char *bootstrap, const char *client_id, char *errstr,
                                   size_t errstr_size) IB_WUR;
/* Sets one property; on error writes "name: reason" into errstr. */
ib_rc_t ib_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                          size_t errstr_size) IB_WUR;

/* Sets name to value unless the environment overrides it through the KAFKA_<NAME> passthrough of
 * ib_kafka_conf_new (call it after ib_kafka_conf_new: the passthrough was applied there and this
 * leaves its value alone). On error writes "name: reason" into errstr. */
ib_rc_t ib_kafka_conf_default(rd_kafka_conf_t *conf, const char *name, const char *value,
                              char *errstr, size_t errstr_size) IB_WUR;

/* A new client of type from conf, which is stolen: owned by the client, or destroyed on failure.
 * Returns NULL with "what: reason" in errstr. Caller owns the result (rd_kafka_destroy). */
rd_kafka_t *ib_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *what,
                         char *errstr, size_t errstr_size) IB_WUR;

/* CloudEvents 1.0 binary-mode headers for an event we emit: ce_specversion, ce_id, ce_source,
 * ce_type, ce_time (now), content-type application/json, plus traceparent when not NULL. Returns a
 * new header list (owned by the caller until passed to producev with RD_KAFKA_V_HEADERS). */
rd_kafka_headers_t *ib_ce_headers_new(const char *id, const char *source, const char *type,
                                      const char *traceparent);

#endif
