#include "catalog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "ib/json.h"
#include "ib/log.h"

#define CATALOG_KEY_MAX        128
#define CATALOG_ITEM_FIELD_MAX 1024

struct gw_catalog {
    pthread_rwlock_t lock;
    json_t *by_tenant; /* tenant id -> normalised catalog; under lock */
    /* tenant id -> [templates body, jobs body or null]: the answers of GET /interview-templates
     * and GET /jobs, rendered once per catalog change; under lock */
    json_t *bodies;
};

#define NO_CATALOG_BODY "{\"interview_templates\":[]}"

gw_catalog_t *gw_catalog_new(void)
{
    gw_catalog_t *cat = calloc(1, sizeof(*cat));
    if (cat == NULL)
        return NULL;
    if (pthread_rwlock_init(&cat->lock, NULL) != 0) {
        free(cat);
        return NULL;
    }
    cat->by_tenant = json_object();
    cat->bodies = json_object();
    if (cat->by_tenant == NULL || cat->bodies == NULL) {
        gw_catalog_destroy(cat);
        return NULL;
    }
    return cat;
}

/* Copies root[key], a catalog list, into out[key] as [{"id","name"}...] (integer ids made
 * strings). A missing or null list is refused only when required. IB_ERR with the reason in why. */
static ib_rc_t put_items(json_t *out, const json_t *root, const char *key, int required, char *why,
                         size_t why_size)
{
    const json_t *arr = json_object_get(root, key);
    json_t *items = NULL;
    json_t *item;
    size_t i;
    char num[32];

    if (!required && (arr == NULL || json_is_null(arr)))
        return IB_OK;
    if (!json_is_array(arr)) {
        snprintf(why, why_size, "%s: must be an array", key);
        return IB_ERR;
    }
    items = json_array();
    if (items == NULL)
        goto oom;
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
            snprintf(why, why_size, "%s[%zu]: must be {\"id\": string, \"name\": string}", key, i);
            goto fail;
        }
        if (json_array_append_new(items, json_pack("{s:s,s:s}", "id", id, "name", name)) != 0)
            goto oom;
    }
    if (json_object_set_new(out, key, items) != 0) {
        items = NULL; /* json_object_set_new released it */
        goto oom;
    }
    return IB_OK;
oom:
    snprintf(why, why_size, "out of memory");
fail:
    json_decref(items);
    return IB_ERR;
}

static json_t *normalise_catalog(const void *value, size_t len, char *why, size_t why_size)
{
    char jerr[160];
    json_t *root = NULL;
    json_t *out = NULL;

    root = ib_json_parse(value, len, IB_JSON_MAX_DEPTH, jerr, sizeof(jerr));
    if (root == NULL || !json_is_object(root)) {
        snprintf(why, why_size, "not a JSON object%s%s", root == NULL ? ": " : "",
                 root == NULL ? jerr : "");
        goto fail;
    }
    out = json_object();
    if (out == NULL) {
        snprintf(why, why_size, "out of memory");
        goto fail;
    }
    if (put_items(out, root, "interview_templates", 1, why, why_size) != IB_OK ||
        put_items(out, root, "jobs", 0, why, why_size) != IB_OK)
        goto fail;
    json_decref(root);
    return out;
fail:
    json_decref(root);
    json_decref(out);
    return NULL;
}

/* {"<key>": norm[key]} in compact JSON as a new json string, or json null when norm has no such
 * list. NULL on out of memory. */
static json_t *render_body(const json_t *norm, const char *key)
{
    json_t *list = json_object_get(norm, key);
    if (list == NULL)
        return json_null();
    json_t *body = json_pack("{s:O}", key, list);
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_t *s = text != NULL ? json_string(text) : NULL;
    free(text);
    json_decref(body);
    return s;
}

ib_rc_t gw_catalog_apply(gw_catalog_t *cat, const char *tenant_id, const void *value, size_t len,
                         char *errstr, size_t errstr_size)
{
    json_t *norm = NULL, *bodies = NULL;
    int rc = 0;

    if (value != NULL) {
        norm = normalise_catalog(value, len, errstr, errstr_size);
        if (norm == NULL)
            return IB_ERR;
        bodies = json_array();
        if (bodies == NULL ||
            json_array_append_new(bodies, render_body(norm, "interview_templates")) != 0 ||
            json_array_append_new(bodies, render_body(norm, "jobs")) != 0) {
            json_decref(norm);
            json_decref(bodies);
            snprintf(errstr, errstr_size, "out of memory");
            return IB_ERR;
        }
    }
    pthread_rwlock_wrlock(&cat->lock);
    if (norm != NULL) {
        rc = json_object_set_new(cat->by_tenant, tenant_id, norm);
        if (rc == 0)
            rc = json_object_set_new(cat->bodies, tenant_id, bodies);
        else
            json_decref(bodies);
        if (rc != 0) /* neither or both */
            json_object_del(cat->by_tenant, tenant_id);
    } else {
        json_object_del(cat->by_tenant, tenant_id);
        json_object_del(cat->bodies, tenant_id);
    }
    pthread_rwlock_unlock(&cat->lock);
    if (rc != 0) {
        snprintf(errstr, errstr_size, "out of memory");
        return IB_ERR;
    }
    return IB_OK;
}

/* A new copy of the tenant's rendered body at index i (*text NULL when there is none). */
static ib_rc_t copy_body(gw_catalog_t *cat, const char *tenant_id, size_t i, char **text,
                         size_t *len)
{
    ib_rc_t rc = IB_OK;

    *text = NULL;
    *len = 0;
    pthread_rwlock_rdlock(&cat->lock);
    json_t *s = json_array_get(json_object_get(cat->bodies, tenant_id), i);
    if (json_is_string(s)) {
        *len = json_string_length(s);
        *text = malloc(*len + 1);
        if (*text != NULL)
            memcpy(*text, json_string_value(s), *len + 1);
        else
            rc = IB_ERR;
    }
    pthread_rwlock_unlock(&cat->lock);
    return rc;
}

char *gw_catalog_templates_body(gw_catalog_t *cat, const char *tenant_id, size_t *len)
{
    char *text = NULL;
    if (copy_body(cat, tenant_id, 0, &text, len) != IB_OK)
        return NULL;
    if (text == NULL) {
        *len = sizeof(NO_CATALOG_BODY) - 1;
        text = strdup(NO_CATALOG_BODY);
    }
    return text;
}

ib_rc_t gw_catalog_jobs_body(gw_catalog_t *cat, const char *tenant_id, char **text, size_t *len)
{
    return copy_body(cat, tenant_id, 1, text, len);
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

int gw_catalog_job_known(const char *tenant_id, const char *job_id, void *opaque)
{
    gw_catalog_t *cat = opaque;
    pthread_rwlock_rdlock(&cat->lock);
    int has_jobs =
        json_is_array(json_object_get(json_object_get(cat->by_tenant, tenant_id), "jobs"));
    pthread_rwlock_unlock(&cat->lock);
    if (!has_jobs)
        return -1;
    return gw_catalog_has_job(cat, tenant_id, job_id);
}

size_t gw_catalog_size(gw_catalog_t *cat)
{
    pthread_rwlock_rdlock(&cat->lock);
    size_t n = json_object_size(cat->by_tenant);
    pthread_rwlock_unlock(&cat->lock);
    return n;
}

void gw_catalog_on_record(void *opaque, const rd_kafka_message_t *m)
{
    gw_catalog_t *cat = opaque;
    char key[CATALOG_KEY_MAX + 1];
    char why[256];

    if (m->key == NULL || m->key_len == 0 || m->key_len > CATALOG_KEY_MAX ||
        memchr(m->key, '\0', m->key_len) != NULL) {
        IB_WARN("catalog record %s[%d]@%lld ignored: the key must be a tenant id",
                rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset);
        return;
    }
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = '\0';
    why[0] = '\0';
    if (gw_catalog_apply(cat, key, m->payload, m->len, why, sizeof(why)) != IB_OK) {
        json_t *fields = json_pack("{s:s,s:i,s:I}", "tenant", key, "partition", (int)m->partition,
                                   "offset", (json_int_t)m->offset);
        ib_log_fields(IB_LOG_WARN, fields, "catalog record refused, previous catalog kept: %s",
                      why);
        json_decref(fields);
        return;
    }
    IB_DEBUG("catalog of %s %s", key, m->payload != NULL ? "updated" : "removed");
}

void gw_catalog_destroy(gw_catalog_t *cat)
{
    if (cat == NULL)
        return;
    json_decref(cat->by_tenant);
    json_decref(cat->bodies);
    pthread_rwlock_destroy(&cat->lock);
    free(cat);
}
