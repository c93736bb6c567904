#include "catalog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "ib/json.h"
#include "ib/kafka.h"
#include "ib/log.h"

#define CATALOG_KEY_MAX        128
#define CATALOG_ITEM_FIELD_MAX 1024
#define METADATA_TIMEOUT_MS    5000
#define CONSUME_WAIT_MS        200
#define RETRY_DELAY_MS         1000

struct gw_catalog {
    char *bootstrap;
    char *topic;

    pthread_rwlock_t lock;
    json_t *by_tenant; /* tenant id -> normalised catalog; under lock */

    pthread_t thread;
    int thread_started;
    atomic_int stop;
    atomic_int caught_up;

    /* Owned by the thread. */
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    rd_kafka_queue_t *rkqu;
    int32_t partition_count;
    int64_t *start_high; /* high watermark per partition when the thread started reading */
    int *partition_done; /* 1 once that partition reached start_high or EOF */
};

gw_catalog_t *gw_catalog_new(const char *bootstrap, const char *topic)
{
    gw_catalog_t *cat = calloc(1, sizeof(*cat));
    if (cat == NULL)
        return NULL;
    if (pthread_rwlock_init(&cat->lock, NULL) != 0) {
        free(cat);
        return NULL;
    }
    cat->bootstrap = strdup(bootstrap);
    cat->topic = strdup(topic);
    cat->by_tenant = json_object();
    if (cat->bootstrap == NULL || cat->topic == NULL || cat->by_tenant == NULL) {
        gw_catalog_destroy(cat);
        return NULL;
    }
    return cat;
}

/* A normalised [{"id","name"}...] from a catalog list; ids may be integers (made strings). */
static json_t *normalise_items(const json_t *arr, const char *what, char *why, size_t why_size)
{
    json_t *out = json_array();
    json_t *item;
    size_t i;
    char num[32];

    if (out == NULL) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    json_array_foreach(arr, i, item)
    {
        json_t *jid = json_object_get(item, "id");
        const char *name = ib_json_str(item, "name");
        const char *id = json_string_value(jid);
        if (json_is_integer(jid)) {
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(jid));
            id = num;
        }
        if (!json_is_object(item) || id == NULL || id[0] == '\0' || name == NULL ||
            strlen(id) > CATALOG_ITEM_FIELD_MAX || strlen(name) > CATALOG_ITEM_FIELD_MAX) {
            snprintf(why, why_size, "%s[%zu]: must be {\"id\": string, \"name\": string}", what, i);
            json_decref(out);
            return NULL;
        }
        if (json_array_append_new(out, json_pack("{s:s,s:s}", "id", id, "name", name)) != 0) {
            snprintf(why, why_size, "out of memory");
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *normalise_catalog(const void *value, size_t len, char *why, size_t why_size)
{
    char jerr[160];
    json_t *root = NULL;
    json_t *out = NULL;
    json_t *items = NULL;

    root = ib_json_parse(value, len, IB_JSON_MAX_DEPTH, jerr, sizeof(jerr));
    if (root == NULL || !json_is_object(root)) {
        snprintf(why, why_size, "not a JSON object%s%s", root == NULL ? ": " : "",
                 root == NULL ? jerr : "");
        goto fail;
    }
    out = json_object();
    if (out == NULL)
        goto oom;
    json_t *templates = json_object_get(root, "interview_templates");
    if (!json_is_array(templates)) {
        snprintf(why, why_size, "interview_templates: must be an array");
        goto fail;
    }
    items = normalise_items(templates, "interview_templates", why, why_size);
    if (items == NULL || json_object_set_new(out, "interview_templates", items) != 0)
        goto fail;
    json_t *jobs = json_object_get(root, "jobs");
    if (jobs != NULL && !json_is_null(jobs)) {
        if (!json_is_array(jobs)) {
            snprintf(why, why_size, "jobs: must be an array");
            goto fail;
        }
        items = normalise_items(jobs, "jobs", why, why_size);
        if (items == NULL || json_object_set_new(out, "jobs", items) != 0)
            goto fail;
    }
    json_decref(root);
    return out;
oom:
    snprintf(why, why_size, "out of memory");
fail:
    json_decref(root);
    json_decref(out);
    return NULL;
}

ib_rc_t gw_catalog_apply(gw_catalog_t *cat, const char *tenant_id, const void *value, size_t len,
                         char *errstr, size_t errstr_size)
{
    json_t *norm = NULL;

    if (value != NULL) {
        norm = normalise_catalog(value, len, errstr, errstr_size);
        if (norm == NULL)
            return IB_ERR;
    }
    pthread_rwlock_wrlock(&cat->lock);
    int rc = norm != NULL ? json_object_set_new(cat->by_tenant, tenant_id, norm)
                          : json_object_del(cat->by_tenant, tenant_id);
    pthread_rwlock_unlock(&cat->lock);
    if (norm != NULL && rc != 0) {
        snprintf(errstr, errstr_size, "out of memory");
        return IB_ERR;
    }
    return IB_OK;
}

static json_t *copy_list(gw_catalog_t *cat, const char *tenant_id, const char *list)
{
    pthread_rwlock_rdlock(&cat->lock);
    json_t *arr = json_object_get(json_object_get(cat->by_tenant, tenant_id), list);
    json_t *copy = arr != NULL ? json_deep_copy(arr) : NULL;
    pthread_rwlock_unlock(&cat->lock);
    return copy;
}

json_t *gw_catalog_templates(gw_catalog_t *cat, const char *tenant_id)
{
    json_t *arr = copy_list(cat, tenant_id, "interview_templates");
    return arr != NULL ? arr : json_array();
}

json_t *gw_catalog_jobs(gw_catalog_t *cat, const char *tenant_id)
{
    return copy_list(cat, tenant_id, "jobs");
}

static int has_item(gw_catalog_t *cat, const char *tenant_id, const char *list, const char *id)
{
    int found = 0;
    size_t i;
    json_t *item;

    pthread_rwlock_rdlock(&cat->lock);
    json_t *arr = json_object_get(json_object_get(cat->by_tenant, tenant_id), list);
    json_array_foreach(arr, i, item)
    {
        const char *s = ib_json_str(item, "id");
        if (s != NULL && strcmp(s, id) == 0) {
            found = 1;
            break;
        }
    }
    pthread_rwlock_unlock(&cat->lock);
    return found;
}

int gw_catalog_has_template(gw_catalog_t *cat, const char *tenant_id, const char *template_id)
{
    return has_item(cat, tenant_id, "interview_templates", template_id);
}

int gw_catalog_has_job(gw_catalog_t *cat, const char *tenant_id, const char *job_id)
{
    return has_item(cat, tenant_id, "jobs", job_id);
}

int gw_catalog_template_known(const char *tenant_id, const char *template_id, void *opaque)
{
    return gw_catalog_has_template(opaque, tenant_id, template_id);
}

int gw_catalog_caught_up(gw_catalog_t *cat)
{
    return atomic_load(&cat->caught_up);
}

/* ---- the consumer thread ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void check_caught_up(gw_catalog_t *cat)
{
    if (atomic_load(&cat->caught_up) || cat->partition_count == 0)
        return;
    for (int32_t p = 0; p < cat->partition_count; p++)
        if (!cat->partition_done[p])
            return;
    atomic_store(&cat->caught_up, 1);
    pthread_rwlock_rdlock(&cat->lock);
    size_t tenants = json_object_size(cat->by_tenant);
    pthread_rwlock_unlock(&cat->lock);
    IB_INFO("catalog view caught up: %zu tenant catalogs from %s (%d partitions)", tenants,
            cat->topic, (int)cat->partition_count);
}

/* Reads the partition count and high watermarks, then starts every partition from the
 * beginning. IB_AGAIN while the broker or topic is not there yet. */
static ib_rc_t begin_consuming(gw_catalog_t *cat, char *why, size_t why_size)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err;
    ib_rc_t rc = IB_AGAIN;

    err = rd_kafka_metadata(cat->rk, 0, cat->rkt, &md, METADATA_TIMEOUT_MS);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(why, why_size, "metadata: %s", rd_kafka_err2str(err));
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topics[0].partition_cnt <= 0) {
        snprintf(why, why_size, "topic %s: %s", cat->topic,
                 md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "not found");
        goto out;
    }
    int32_t n = md->topics[0].partition_cnt;
    cat->start_high = calloc((size_t)n, sizeof(*cat->start_high));
    cat->partition_done = calloc((size_t)n, sizeof(*cat->partition_done));
    if (cat->start_high == NULL || cat->partition_done == NULL) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    for (int32_t p = 0; p < n; p++) {
        int64_t low = 0;
        int64_t high = 0;
        err = rd_kafka_query_watermark_offsets(cat->rk, cat->topic, p, &low, &high,
                                               METADATA_TIMEOUT_MS);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(why, why_size, "watermarks of partition %d: %s", (int)p,
                     rd_kafka_err2str(err));
            goto out;
        }
        cat->start_high[p] = high;
        cat->partition_done[p] = high <= low;
    }
    for (int32_t p = 0; p < n; p++) {
        if (rd_kafka_consume_start_queue(cat->rkt, p, RD_KAFKA_OFFSET_BEGINNING, cat->rkqu) == -1) {
            snprintf(why, why_size, "consume_start partition %d: %s", (int)p,
                     rd_kafka_err2str(rd_kafka_last_error()));
            for (int32_t q = 0; q < p; q++)
                rd_kafka_consume_stop(cat->rkt, q);
            goto out;
        }
    }
    cat->partition_count = n;
    rc = IB_OK;
out:
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    if (rc != IB_OK) {
        free(cat->start_high);
        free(cat->partition_done);
        cat->start_high = NULL;
        cat->partition_done = NULL;
    }
    return rc;
}

static void handle_message(gw_catalog_t *cat, const rd_kafka_message_t *m)
{
    char key[CATALOG_KEY_MAX + 1];
    char why[256];
    int32_t p = m->partition;
    int in_range = p >= 0 && p < cat->partition_count;

    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (in_range)
            cat->partition_done[p] = 1;
        return;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        IB_WARN("catalog consumer: %s", rd_kafka_message_errstr(m));
        return;
    }
    if (in_range && m->offset + 1 >= cat->start_high[p])
        cat->partition_done[p] = 1;
    if (m->key == NULL || m->key_len == 0 || m->key_len > CATALOG_KEY_MAX ||
        memchr(m->key, '\0', m->key_len) != NULL) {
        IB_WARN("catalog record %s[%d]@%lld ignored: the key must be a tenant id", cat->topic,
                (int)p, (long long)m->offset);
        return;
    }
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = '\0';
    why[0] = '\0';
    if (gw_catalog_apply(cat, key, m->payload, m->len, why, sizeof(why)) != IB_OK) {
        json_t *fields = json_pack("{s:s,s:i,s:I}", "tenant", key, "partition", (int)p, "offset",
                                   (json_int_t)m->offset);
        ib_log_fields(IB_LOG_WARN, fields, "catalog record refused, previous catalog kept: %s",
                      why);
        json_decref(fields);
        return;
    }
    IB_DEBUG("catalog of %s %s", key, m->payload != NULL ? "updated" : "removed");
}

static void *catalog_main(void *arg)
{
    gw_catalog_t *cat = arg;
    char why[512];
    long long last_warn_ms = 0;

    while (!atomic_load(&cat->stop)) {
        if (cat->partition_count == 0) {
            why[0] = '\0';
            if (begin_consuming(cat, why, sizeof(why)) != IB_OK) {
                long long now = ib_now_ms();
                if (now - last_warn_ms >= 10000) {
                    IB_WARN("catalog view not loading yet (retrying): %s", why);
                    last_warn_ms = now;
                }
                sleep_ms(RETRY_DELAY_MS);
                continue;
            }
            IB_INFO("catalog consumer reading %s from the beginning (%d partitions)", cat->topic,
                    (int)cat->partition_count);
            check_caught_up(cat);
        }
        rd_kafka_poll(cat->rk, 0); /* error callbacks */
        rd_kafka_message_t *m = rd_kafka_consume_queue(cat->rkqu, CONSUME_WAIT_MS);
        if (m != NULL) {
            handle_message(cat, m);
            rd_kafka_message_destroy(m);
        }
        check_caught_up(cat);
    }
    for (int32_t p = 0; p < cat->partition_count; p++)
        rd_kafka_consume_stop(cat->rkt, p);
    return NULL;
}

ib_rc_t gw_catalog_start(gw_catalog_t *cat, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = NULL;
    char why[512];

    conf = ib_kafka_conf_new(cat->bootstrap, "interview-bridge-api-gateway-catalog", errstr,
                             errstr_size);
    if (conf == NULL)
        goto fail;
    if (ib_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, errstr_size) != IB_OK)
        goto fail;
    /* No group: offsets are never committed, every start reads the whole compacted topic. */
    cat->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
    if (cat->rk == NULL) {
        snprintf(errstr, errstr_size, "catalog consumer: %s", why);
        goto fail;
    }
    conf = NULL; /* now owned by rk */
    cat->rkt = rd_kafka_topic_new(cat->rk, cat->topic, NULL);
    cat->rkqu = rd_kafka_queue_new(cat->rk);
    if (cat->rkt == NULL || cat->rkqu == NULL) {
        snprintf(errstr, errstr_size, "TOPIC_CATALOG: %s", rd_kafka_err2str(rd_kafka_last_error()));
        goto fail;
    }
    if (pthread_create(&cat->thread, NULL, catalog_main, cat) != 0) {
        snprintf(errstr, errstr_size, "catalog thread: cannot start");
        goto fail;
    }
    cat->thread_started = 1;
    return IB_OK;
fail:
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    return IB_ERR;
}

void gw_catalog_destroy(gw_catalog_t *cat)
{
    if (cat == NULL)
        return;
    if (cat->thread_started) {
        atomic_store(&cat->stop, 1);
        pthread_join(cat->thread, NULL);
    }
    if (cat->rkqu != NULL)
        rd_kafka_queue_destroy(cat->rkqu);
    if (cat->rkt != NULL)
        rd_kafka_topic_destroy(cat->rkt);
    if (cat->rk != NULL)
        rd_kafka_destroy(cat->rk);
    free(cat->start_high);
    free(cat->partition_done);
    json_decref(cat->by_tenant);
    pthread_rwlock_destroy(&cat->lock);
    free(cat->bootstrap);
    free(cat->topic);
    free(cat);
}
