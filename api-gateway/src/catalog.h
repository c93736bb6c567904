/* The tenants' catalogs, materialised from the compacted TOPIC_CATALOG (key = tenant id, value =
 * {"interview_templates":[{"id","name"}...], "jobs"?:[...]}; the latest value per key wins, a
 * tombstone removes). A thread with its own consumer (no group, every partition from the start)
 * keeps the view; readers take a read lock and get copies. */
#ifndef GW_CATALOG_H
#define GW_CATALOG_H

#include <stddef.h>

#include <jansson.h>

#include "ib/common.h"

typedef struct gw_catalog gw_catalog_t;

/* A new, empty view; no thread, no Kafka yet (tests use it with gw_catalog_apply). Strings are
 * copied. Returns NULL on out of memory. */
gw_catalog_t *gw_catalog_new(const char *bootstrap, const char *topic);
/* Starts the consumer thread. It never gives up: an unreachable broker is retried and
 * gw_catalog_caught_up stays 0 meanwhile. IB_ERR with errstr when the consumer cannot be built
 * (configuration). */
ib_rc_t gw_catalog_start(gw_catalog_t *cat, char *errstr, size_t errstr_size) IB_WUR;
/* Stops and joins the thread, frees everything. Accepts NULL. */
void gw_catalog_destroy(gw_catalog_t *cat);

/* 1 once every partition was read up to the high watermark seen at start (for /readyz). */
int gw_catalog_caught_up(gw_catalog_t *cat);

/* Applies one record: value NULL is a tombstone. A value that is not a valid catalog is refused
 * (IB_ERR, reason in errstr) and the tenant's previous catalog is kept. */
ib_rc_t gw_catalog_apply(gw_catalog_t *cat, const char *tenant_id, const void *value, size_t len,
                         char *errstr, size_t errstr_size) IB_WUR;

/* New array of the tenant's templates [{"id","name"}...]; empty when the tenant has no catalog.
 * NULL only on out of memory. */
json_t *gw_catalog_templates(gw_catalog_t *cat, const char *tenant_id);
/* New array of the tenant's jobs, or NULL when the tenant has no catalog or no "jobs" key. */
json_t *gw_catalog_jobs(gw_catalog_t *cat, const char *tenant_id);
int gw_catalog_has_template(gw_catalog_t *cat, const char *tenant_id, const char *template_id);
int gw_catalog_has_job(gw_catalog_t *cat, const char *tenant_id, const char *job_id);
/* gw_template_known_fn for validate.h; opaque is the gw_catalog_t. */
int gw_catalog_template_known(const char *tenant_id, const char *template_id, void *opaque);

#endif
