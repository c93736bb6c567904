#include "job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadletter.h"
#include "ib/json.h"
#include "ib/jsonw.h"
#include "ib/log.h"

rw_job_t *rw_job_new(rw_topic_t src, const rd_kafka_message_t *msg, const char *origin_topic)
{
    rw_job_t *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return NULL;
    job->src = src;
    job->partition = msg->partition;
    job->offset = msg->offset;
    ib_heap_node_init(&job->due_node);
    job->origin_partition = msg->partition;
    job->origin_offset = msg->offset;
    job->origin_topic = strdup(origin_topic);
    return job; /* origin_topic NULL (out of memory) is tolerated: logged as "?" */
}

void rw_job_free(rw_job_t *job)
{
    if (job == NULL)
        return;
    free(job->origin_topic);
    free(job->interview_id);
    free(job->callback_url);
    json_decref(job->event);
    free(job->event_text);
    free(job->raw);
    free(job->raw_key);
    free(job->body);
    json_decref(job->history);
    free(job->dlq_reason);
    if (job->fwd_headers != NULL)
        rd_kafka_headers_destroy(job->fwd_headers);
    free(job);
}

void rw_job_keep_raw(rw_job_t *job, const rd_kafka_message_t *msg)
{
    if (msg->payload != NULL && msg->len > 0) {
        job->raw = malloc(msg->len);
        if (job->raw != NULL) {
            memcpy(job->raw, msg->payload, msg->len);
            job->raw_len = msg->len;
        }
    }
    if (msg->key != NULL && msg->key_len > 0) {
        job->raw_key = malloc(msg->key_len + 1);
        if (job->raw_key != NULL) {
            memcpy(job->raw_key, msg->key, msg->key_len);
            job->raw_key[msg->key_len] = '\0';
        }
    }
}

ib_rc_t rw_job_set_forward(rw_job_t *job, const rd_kafka_message_t *msg, const char *origin_topic,
                           const char *id, int32_t partition)
{
    static const char *const ours[] = {RW_HDR_SOURCE_TOPIC, RW_HDR_SOURCE_PARTITION,
                                       RW_HDR_SOURCE_OFFSET};
    char num[24];
    rd_kafka_headers_t *in = NULL;
    rd_kafka_headers_t *h = NULL;
    if (msg->payload != NULL && msg->len > 0) {
        job->raw = malloc(msg->len);
        if (job->raw == NULL)
            goto fail;
        memcpy(job->raw, msg->payload, msg->len);
        job->raw_len = msg->len;
    }
    job->interview_id = strdup(id);
    if (job->interview_id == NULL)
        goto fail;
    if (rd_kafka_message_headers(msg, &in) == RD_KAFKA_RESP_ERR_NO_ERROR && in != NULL)
        h = rd_kafka_headers_copy(in);
    else
        h = rd_kafka_headers_new(3);
    if (h == NULL)
        goto fail;
    for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
        (void)rd_kafka_header_remove(h, ours[i]); /* NOENT when absent */
    if (rd_kafka_header_add(h, RW_HDR_SOURCE_TOPIC, -1, origin_topic, -1) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        goto fail;
    snprintf(num, sizeof(num), "%d", (int)msg->partition);
    if (rd_kafka_header_add(h, RW_HDR_SOURCE_PARTITION, -1, num, -1) != RD_KAFKA_RESP_ERR_NO_ERROR)
        goto fail;
    snprintf(num, sizeof(num), "%lld", (long long)msg->offset);
    if (rd_kafka_header_add(h, RW_HDR_SOURCE_OFFSET, -1, num, -1) != RD_KAFKA_RESP_ERR_NO_ERROR)
        goto fail;
    job->fwd_headers = h;
    job->fwd_partition = partition;
    job->action = RW_ACT_REPARTITION;
    return IB_OK;
fail:
    if (h != NULL)
        rd_kafka_headers_destroy(h);
    return IB_ERR;
}

/* The value of the last header name of hdrs as a number in [0, max], or -1. */
static long long header_number(rd_kafka_headers_t *hdrs, const char *name, long long max)
{
    const void *v = NULL;
    size_t size = 0;
    char buf[24];
    if (rd_kafka_header_get_last(hdrs, name, &v, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        v == NULL || size == 0 || size >= sizeof(buf))
        return -1;
    memcpy(buf, v, size);
    buf[size] = '\0';
    long long n = 0;
    for (size_t i = 0; i < size; i++) {
        if (buf[i] < '0' || buf[i] > '9' || n > (max - (buf[i] - '0')) / 10)
            return -1;
        n = n * 10 + (buf[i] - '0');
    }
    return n;
}

void rw_job_origin_from_headers(rw_job_t *job, const rd_kafka_message_t *msg)
{
    rd_kafka_headers_t *hdrs = NULL;
    const void *v = NULL;
    size_t size = 0;
    if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || hdrs == NULL)
        return;
    long long p = header_number(hdrs, RW_HDR_SOURCE_PARTITION, INT32_MAX);
    long long off = header_number(hdrs, RW_HDR_SOURCE_OFFSET, INT64_MAX);
    if (p < 0 || off < 0 ||
        rd_kafka_header_get_last(hdrs, RW_HDR_SOURCE_TOPIC, &v, &size) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        v == NULL || size == 0 || size > 249 || memchr(v, '\0', size) != NULL)
        return; /* 249: Kafka's longest topic name */
    char *topic = malloc(size + 1);
    if (topic == NULL)
        return;
    memcpy(topic, v, size);
    topic[size] = '\0';
    free(job->origin_topic);
    job->origin_topic = topic;
    job->origin_partition = (int32_t)p;
    job->origin_offset = off;
}

json_t *rw_job_event(rw_job_t *job)
{
    char why[128];
    if (job->event == NULL && job->event_text != NULL)
        job->event =
            ib_json_parse(job->event_text, job->event_len, IB_JSON_MAX_DEPTH, why, sizeof(why));
    return job->event;
}

json_t *rw_job_fields(const rw_job_t *job)
{
    json_t *f = json_pack("{s:s,s:i,s:I}", "topic",
                          job->src == RW_T_RETRY         ? "retry"
                          : job->src == RW_T_REPARTITION ? "repartition"
                          : job->origin_topic            ? job->origin_topic
                                                         : "?",
                          "partition", (int)job->partition, "offset", (json_int_t)job->offset);
    if (f == NULL)
        return NULL;
    if (job->interview_id != NULL)
        json_object_set_new(f, "interview_id", json_string(job->interview_id));
    if (job->tenant != NULL)
        json_object_set_new(f, "tenant", json_string(job->tenant->id));
    if (job->event_text != NULL)
        json_object_set_new(f, "status", json_string(ib_status_name(job->status)));
    json_object_set_new(f, "attempt", json_integer(job->attempts + 1));
    return f;
}

size_t rw_job_kv(const rw_job_t *job, ib_log_kv_t kv[RW_JOB_KV])
{
    size_t n = 0;
    kv[n++] = IB_KV_STR("topic", job->src == RW_T_RETRY         ? "retry"
                                 : job->src == RW_T_REPARTITION ? "repartition"
                                 : job->origin_topic            ? job->origin_topic
                                                                : "?");
    kv[n++] = IB_KV_INT("partition", job->partition);
    kv[n++] = IB_KV_INT("offset", job->offset);
    /* Unset members (NULL strings) are left out by ib_log_kv, as rw_job_fields leaves them. */
    kv[n++] = IB_KV_STR("interview_id", job->interview_id);
    kv[n++] = IB_KV_STR("tenant", job->tenant != NULL ? job->tenant->id : NULL);
    kv[n++] = IB_KV_STR("status", job->event_text != NULL ? ib_status_name(job->status) : NULL);
    kv[n++] = IB_KV_INT("attempt", job->attempts + 1);
    return n;
}

void rw_job_history_add(rw_job_t *job, const rw_delivery_t *r, long long now_wall)
{
    rw_retry_rec_t tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.history = job->history;
    tmp.history_dropped = job->history_dropped;
    char err[256];
    rw_delivery_describe(r, err, sizeof(err));
    if (rw_retry_rec_add_history(&tmp, now_wall, job->attempts, r->refused[0] ? 0 : r->http_status,
                                 err, r->excerpt) != IB_OK)
        IB_WARN("out of memory recording a failure in the history");
    job->history = tmp.history;
    job->history_dropped = tmp.history_dropped;
}

void rw_job_last_failure(const rw_job_t *job, char *buf, size_t size)
{
    size_t n = job->history != NULL ? json_array_size(job->history) : 0;
    if (n == 0) {
        snprintf(buf, size, "no attempt");
        return;
    }
    json_t *h = json_array_get(job->history, n - 1);
    json_t *st = json_object_get(h, "http_status");
    if (json_is_integer(st))
        snprintf(buf, size, "HTTP %lld", (long long)json_integer_value(st));
    else
        snprintf(buf, size, "%.150s", ib_json_str(h, "error") ? ib_json_str(h, "error") : "?");
}

void rw_status_parse_clear(rw_status_parse_t *sp)
{
    free(sp->interview_id);
    free(sp->body);
    free(sp->fixes);
    memset(sp, 0, sizeof(*sp));
}

ib_rc_t rw_status_parse(const void *buf, size_t len, int want_body, rw_status_parse_t *sp,
                        char *errstr, size_t errstr_size)
{
    ib_status_event_t ev;
    ib_rc_t rc = IB_ERR;
    memset(sp, 0, sizeof(*sp));
    ib_json_arena_begin();
    if (ib_status_event_parse(buf, len, &ev, errstr, errstr_size) != IB_OK)
        goto done; /* ev is zeroed */
    sp->interview_id = ev.interview_id;
    ev.interview_id = NULL; /* now owned by sp */
    sp->status = ev.status;
    sp->occurred_ms = ev.occurred_ms;
    sp->coercions = ev.coercions;
    if (ev.fixes != NULL) {
        size_t i, n = 0;
        json_t *fx;
        json_array_foreach(ev.fixes, i, fx)
        {
            for (int k = 0; k < IB_FIX_KIND_COUNT; k++)
                if (strcmp(ib_json_str(fx, "kind") ? ib_json_str(fx, "kind") : "",
                           ib_fix_kind_name((ib_fix_kind_t)k)) == 0)
                    sp->fix_counts[k]++;
        }
        sp->fixes = ib_json_dump_malloc(ev.fixes, 0, &n);
        if (sp->fixes == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
            rw_status_parse_clear(sp);
            goto clear;
        }
    }
    if (want_body) {
        /* Written directly from the tree: jansson's compact dump, byte for byte (test_payload),
         * in one pass. */
        char storage[4096];
        ib_jw_t w;
        ib_jw_init(&w, storage, sizeof(storage));
        ib_jw_value(&w, ev.payload);
        sp->body = ib_jw_take(&w, &sp->body_len);
        ib_jw_free(&w);
        if (sp->body == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
            rw_status_parse_clear(sp);
            goto clear;
        }
    }
    rc = IB_OK;
clear:
    ib_status_event_clear(&ev);
done:
    ib_json_arena_end();
    return rc;
}

ib_rc_t rw_job_set_event(rw_job_t *job, const void *buf, size_t len, rw_status_parse_t *sp,
                         char *errstr, size_t errstr_size)
{
    job->event_text = malloc(len + 1);
    if (job->event_text == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return IB_ERR;
    }
    memcpy(job->event_text, buf, len);
    job->event_text[len] = '\0';
    job->event_len = len;
    if (job->interview_id == NULL) {
        job->interview_id = sp->interview_id;
        sp->interview_id = NULL;
    } else if (strcmp(job->interview_id, sp->interview_id) != 0) {
        snprintf(errstr, errstr_size, "event interview_id differs from the record's");
        return IB_ERR;
    }
    job->body = sp->body;
    job->body_len = sp->body_len;
    sp->body = NULL;
    job->status = sp->status;
    job->occurred_ms = sp->occurred_ms;
    return IB_OK;
}

ib_rc_t rw_job_apply_tenant_word(rw_job_t *job)
{
    if (job->tenant == NULL || job->status != IB_STATUS_DECLINED || job->body == NULL ||
        job->tenant->declined_status == NULL ||
        strcmp(job->tenant->declined_status, "declined") == 0)
        return IB_OK;
    size_t len = 0;
    ib_json_arena_begin();
    char *body =
        ib_payload_declined_as(job->body, job->body_len, job->tenant->declined_status, &len);
    ib_json_arena_end();
    if (body == NULL)
        return IB_ERR;
    free(job->body);
    job->body = body;
    job->body_len = len;
    return IB_OK;
}

ib_rc_t rw_job_from_retry_rec(rw_job_t *job, rw_retry_rec_t *r, const ib_tenants_t *tenants,
                              char *errstr, size_t errstr_size)
{
    char why[256];
    job->interview_id = r->interview_id;
    r->interview_id = NULL;
    job->callback_url = r->callback_url;
    r->callback_url = NULL;
    job->attempts = r->attempts;
    job->first_attempt_wall = r->first_attempt_ms;
    job->first_seen_wall = r->first_seen_ms;
    job->history = r->history;
    r->history = NULL;
    job->history_dropped = r->history_dropped;
    job->due_wall = r->due_ms;
    if (r->source_topic != NULL && r->source_partition >= 0 && r->source_offset >= 0) {
        free(job->origin_topic);
        job->origin_topic = r->source_topic;
        r->source_topic = NULL;
        job->origin_partition = r->source_partition;
        job->origin_offset = r->source_offset;
    }
    char *text = json_dumps(r->event, JSON_COMPACT);
    rw_status_parse_t sp;
    ib_rc_t ok = IB_ERR;
    if (text == NULL) {
        snprintf(why, sizeof(why), "out of memory");
    } else if (rw_status_parse(text, strlen(text), 1, &sp, why, sizeof(why)) == IB_OK) {
        ok = rw_job_set_event(job, text, strlen(text), &sp, why, sizeof(why));
        rw_status_parse_clear(&sp);
    }
    free(text);
    job->tenant = ib_tenants_find(tenants, r->tenant);
    if (ok != IB_OK)
        snprintf(errstr, errstr_size, "%s", why);
    return ok;
}

char *rw_job_retry_value(rw_job_t *job, long long now_wall)
{
    rw_retry_rec_t r;
    memset(&r, 0, sizeof(r));
    r.interview_id = job->interview_id;
    r.tenant = job->tenant->id;
    r.callback_url = job->callback_url;
    r.event = rw_job_event(job);
    if (r.event == NULL)
        return NULL;
    r.status = job->status;
    r.occurred_ms = job->occurred_ms;
    r.attempts = job->attempts;
    r.due_ms = job->retry_due_wall;
    r.first_attempt_ms = job->first_attempt_wall > 0 ? job->first_attempt_wall : now_wall;
    r.first_seen_ms = job->first_seen_wall;
    r.history = job->history;
    r.history_dropped = job->history_dropped;
    r.source_topic = job->origin_topic;
    r.source_partition = job->origin_partition;
    r.source_offset = job->origin_offset;
    return rw_retry_rec_encode(&r); /* r borrows everything: no clear */
}

/* The failure's details a dead letter of a delivery carries besides the source message. */
static json_t *failure_fields(const rw_job_t *job)
{
    char when[40];
    json_t *x = json_object();
    if (x == NULL)
        return NULL;
    if (job->interview_id != NULL)
        json_object_set_new(x, "interview_id", json_string(job->interview_id));
    if (job->tenant != NULL)
        json_object_set_new(x, "tenant", json_string(job->tenant->id));
    if (job->callback_url != NULL)
        json_object_set_new(x, "callback_url", json_string(job->callback_url));
    if (job->event_text != NULL) {
        json_object_set_new(x, "status", json_string(ib_status_name(job->status)));
        ib_format_rfc3339(job->occurred_ms, when, sizeof(when));
        json_object_set_new(x, "occurred_at", json_string(when));
    }
    json_object_set_new(x, "attempts", json_integer(job->attempts));
    if (job->first_attempt_wall > 0) {
        ib_format_rfc3339(job->first_attempt_wall, when, sizeof(when));
        json_object_set_new(x, "first_attempt_at", json_string(when));
    }
    json_object_set_new(x, "history", job->history ? json_incref(job->history) : json_array());
    if (job->history_dropped > 0)
        json_object_set_new(x, "history_dropped", json_integer(job->history_dropped));
    return x;
}

const char *rw_job_key(const rw_job_t *job)
{
    return job->interview_id != NULL ? job->interview_id : job->raw_key != NULL ? job->raw_key : "";
}

char *rw_job_dead_letter_value(rw_job_t *job, long long now_wall)
{
    char *event_text = NULL;
    const void *value = job->raw;
    size_t value_len = job->raw_len;
    if (job->event_text != NULL) {
        const json_t *event = rw_job_event(job);
        event_text = event != NULL ? json_dumps(event, JSON_COMPACT) : NULL;
        value = event_text;
        value_len = event_text != NULL ? strlen(event_text) : 0;
    }
    const char *key = rw_job_key(job);
    json_t *extra = failure_fields(job);
    char *dl = rw_dead_letter_value_ex(job->dlq_reason, job->origin_topic, job->origin_partition,
                                       job->origin_offset, key, strlen(key), value, value_len,
                                       now_wall, extra);
    if (dl != NULL && strlen(dl) > RW_DEAD_LETTER_MAX_BYTES && extra != NULL) {
        free(dl);
        json_object_set_new(extra, "value_omitted_bytes", json_integer((json_int_t)value_len));
        dl =
            rw_dead_letter_value_ex(job->dlq_reason, job->origin_topic, job->origin_partition,
                                    job->origin_offset, key, strlen(key), NULL, 0, now_wall, extra);
    }
    json_decref(extra);
    free(event_text);
    return dl;
}

char *rw_job_partial_value(const rw_job_t *job, const char *fixes, long long now_wall)
{
    char when[40];
    char reason[200];
    char jerr[160];
    char *out = NULL;
    json_t *list = ib_json_parse(fixes, strlen(fixes), IB_JSON_MAX_DEPTH, jerr, sizeof(jerr));
    json_t *extra = json_object();
    if (list == NULL || extra == NULL || job->event_text == NULL)
        goto done;
    size_t repaired = 0, omitted = 0, i;
    json_t *fx;
    json_array_foreach(list, i, fx)
    {
        const char *action = ib_json_str(fx, "action");
        if (action != NULL && strcmp(action, "repaired") == 0)
            repaired++;
        else
            omitted++;
    }
    snprintf(reason, sizeof(reason), "partial: %zu field(s) repaired and %zu left out", repaired,
             omitted);
    json_object_set_new(extra, "kind", json_string("partial"));
    if (job->interview_id != NULL)
        json_object_set_new(extra, "interview_id", json_string(job->interview_id));
    if (job->tenant != NULL)
        json_object_set_new(extra, "tenant", json_string(job->tenant->id));
    json_object_set_new(extra, "status", json_string(ib_status_name(job->status)));
    ib_format_rfc3339(job->occurred_ms, when, sizeof(when));
    json_object_set_new(extra, "occurred_at", json_string(when));
    json_object_set(extra, "fixes", list);
    const char *key = rw_job_key(job);
    out = rw_dead_letter_value_ex(reason, job->origin_topic != NULL ? job->origin_topic : "?",
                                  job->origin_partition, job->origin_offset, key, strlen(key),
                                  job->event_text, job->event_len, now_wall, extra);
done:
    json_decref(list);
    json_decref(extra);
    return out;
}
