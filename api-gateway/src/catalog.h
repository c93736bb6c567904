/* The tenants' catalogs, materialised from the compacted TOPIC_CATALOG (key = tenant id, value =
 * {"interview_templates":[{"id","name"}...], "jobs"?:[...]}; the latest value per key wins, a
 * tombstone removes). Fed by the view consumer (tail.h, gw_catalog_on_record); readers take a
 * read lock and get copies. */
#ifndef GW_CATALOG_H
#define GW_CATALOG_H

#include <stddef.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "ib/common.h"

typedef struct gw_catalog gw_catalog_t;

/* A new, empty view. NULL on out of memory. */
gw_catalog_t *gw_catalog_new(void) IB_WUR;
/* Frees everything. Accepts NULL. */
void gw_catalog_destroy(gw_catalog_t *cat);

/* gw_tail_fn for TOPIC_CATALOG (opaque is the gw_catalog_t): applies the record, logs a refused
 * one. */
void gw_catalog_on_record(void *opaque, const rd_kafka_message_t *m);
/* Number of tenants with a catalog (a metric). */
size_t gw_catalog_size(gw_catalog_t *cat);

/* Applies one record: value NULL is a tombstone. A value that is not a valid catalog is refused
 * (IB_ERR, reason in errstr) and the tenant's previous catalog is kept. */
ib_rc_t gw_catalog_apply(gw_catalog_t *cat, const char *tenant_id, const void *value, size_t len,
                         char *errstr, size_t errstr_size) IB_WUR;

/* New array of the tenant's templates [{"id","name"}...]; empty when the tenant has no catalog.
 * NULL only on out of memory. */
json_t *gw_catalog_templates(gw_catalog_t *cat, const char *tenant_id);
/* New array of the tenant's jobs, or NULL when the tenant has no catalog or no "jobs" key. */
json_t *gw_catalog_jobs(gw_catalog_t *cat, const char *tenant_id);
/* The body of GET /interview-templates for the tenant, {"interview_templates":[...]} (the
 * bytes json_dumps(JSON_COMPACT) makes of it), as a new string of *len bytes; rendered once per
 * catalog change, copied here. NULL only on out of memory. */
char *gw_catalog_templates_body(gw_catalog_t *cat, const char *tenant_id, size_t *len) IB_WUR;
/* The body of GET /jobs, {"jobs":[...]}, likewise: IB_OK with *text a new string, or NULL when
 * the tenant has no catalog or no "jobs" key; IB_ERR on out of memory. */
ib_rc_t gw_catalog_jobs_body(gw_catalog_t *cat, const char *tenant_id, char **text,
                             size_t *len) IB_WUR;
int gw_catalog_has_template(gw_catalog_t *cat, const char *tenant_id, const char *template_id);
int gw_catalog_has_job(gw_catalog_t *cat, const char *tenant_id, const char *job_id);
/* gw_template_known_fn for validate.h; opaque is the gw_catalog_t. */
int gw_catalog_template_known(const char *tenant_id, const char *template_id, void *opaque);
/* gw_job_known_fn for validate.h: -1 when the tenant has no job categorisation (any job_id is
 * accepted), else 1 when the job exists and 0 when not. */
int gw_catalog_job_known(const char *tenant_id, const char *job_id, void *opaque);

#endif
