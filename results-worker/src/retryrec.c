#include "retryrec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ib/json.h"

static json_t *time_str(long long wall_ms)
{
    char buf[40];
    ib_format_rfc3339(wall_ms, buf, sizeof(buf));
    return json_string(buf);
}

char *rw_retry_rec_encode(const rw_retry_rec_t *r)
{
    char *out = NULL;
    json_t *o = json_object();
    json_t *src =
        json_pack("{s:s,s:i,s:I}", "topic", r->source_topic ? r->source_topic : "", "partition",
                  (int)r->source_partition, "offset", (json_int_t)r->source_offset);
    if (o == NULL || src == NULL)
        goto done;
    int bad = 0;
    bad |= json_object_set_new(o, "interview_id", json_string(r->interview_id));
    bad |= json_object_set_new(o, "tenant", json_string(r->tenant));
    bad |= json_object_set_new(o, "callback_url", json_string(r->callback_url));
    bad |= json_object_set(o, "event", r->event);
    bad |= json_object_set_new(o, "status", json_string(ib_status_name(r->status)));
    bad |= json_object_set_new(o, "occurred_at", time_str(r->occurred_ms));
    bad |= json_object_set_new(o, "attempts", json_integer(r->attempts));
    bad |= json_object_set_new(o, "due_at", time_str(r->due_ms));
    bad |= json_object_set_new(o, "first_attempt_at", time_str(r->first_attempt_ms));
    bad |= json_object_set_new(o, "first_seen_at", time_str(r->first_seen_ms));
    bad |= json_object_set_new(o, "history", r->history ? json_incref(r->history) : json_array());
    if (r->history_dropped > 0)
        bad |= json_object_set_new(o, "history_dropped", json_integer(r->history_dropped));
    bad |= json_object_set_new(o, "source", src);
    src = NULL;
    if (bad == 0)
        out = json_dumps(o, JSON_COMPACT);
done:
    json_decref(src);
    json_decref(o);
    return out;
}

void rw_retry_rec_clear(rw_retry_rec_t *r)
{
    free(r->interview_id);
    free(r->tenant);
    free(r->callback_url);
    free(r->source_topic);
    json_decref(r->event);
    json_decref(r->history);
    memset(r, 0, sizeof(*r));
}

static char *dup_str(const json_t *o, const char *key)
{
    const char *s = ib_json_str(o, key);
    return s != NULL ? strdup(s) : NULL;
}

static ib_rc_t get_time(const json_t *o, const char *key, long long *out)
{
    const char *s = ib_json_str(o, key);
    return s != NULL ? ib_rfc3339_parse(s, out) : IB_ERR;
}

ib_rc_t rw_retry_rec_decode(const void *buf, size_t len, rw_retry_rec_t *r, char *errstr,
                            size_t errstr_size)
{
    char why[128];
    json_t *o = NULL;
    const char *bad = NULL;
    json_t *v;

    memset(r, 0, sizeof(*r));
    if (buf == NULL || len == 0 || len > RW_RETRY_MAX_BYTES) {
        snprintf(errstr, errstr_size, "retry record: empty or too large");
        return IB_ERR;
    }
    o = ib_json_parse(buf, len, IB_JSON_MAX_DEPTH, why, sizeof(why));
    if (o == NULL || !json_is_object(o)) {
        snprintf(errstr, errstr_size, "retry record: not a JSON object%s%s", o ? "" : ": ",
                 o ? "" : why);
        json_decref(o);
        return IB_ERR;
    }
    r->interview_id = dup_str(o, "interview_id");
    r->tenant = dup_str(o, "tenant");
    r->callback_url = dup_str(o, "callback_url");
    if (r->interview_id == NULL || r->interview_id[0] == '\0' ||
        strlen(r->interview_id) > RW_RETRY_MAX_ID_LEN)
        bad = "interview_id";
    else if (r->tenant == NULL)
        bad = "tenant";
    else if (r->callback_url == NULL)
        bad = "callback_url";
    else if (!json_is_object(json_object_get(o, "event")))
        bad = "event";
    else if (ib_status_parse(ib_json_str(o, "status"), &r->status) != IB_OK)
        bad = "status";
    else if (get_time(o, "occurred_at", &r->occurred_ms) != IB_OK)
        bad = "occurred_at";
    else if (!json_is_integer(v = json_object_get(o, "attempts")) || json_integer_value(v) < 0 ||
             json_integer_value(v) > 1000000)
        bad = "attempts";
    else if (get_time(o, "due_at", &r->due_ms) != IB_OK)
        bad = "due_at";
    else if (get_time(o, "first_attempt_at", &r->first_attempt_ms) != IB_OK)
        bad = "first_attempt_at";
    else if (!json_is_array(json_object_get(o, "history")))
        bad = "history";
    if (bad != NULL) {
        snprintf(errstr, errstr_size, "retry record: %s missing or invalid", bad);
        json_decref(o);
        rw_retry_rec_clear(r);
        return IB_ERR;
    }
    r->attempts = (unsigned)json_integer_value(json_object_get(o, "attempts"));
    if (get_time(o, "first_seen_at", &r->first_seen_ms) != IB_OK)
        r->first_seen_ms = r->first_attempt_ms;
    r->event = json_incref(json_object_get(o, "event"));
    r->history = json_incref(json_object_get(o, "history"));
    v = json_object_get(o, "history_dropped");
    r->history_dropped = json_is_integer(v) ? json_integer_value(v) : 0;
    v = json_object_get(o, "source");
    r->source_topic = dup_str(v, "topic");
    r->source_partition = json_is_integer(json_object_get(v, "partition"))
                              ? (int32_t)json_integer_value(json_object_get(v, "partition"))
                              : -1;
    r->source_offset = json_is_integer(json_object_get(v, "offset"))
                           ? (int64_t)json_integer_value(json_object_get(v, "offset"))
                           : -1;
    json_decref(o);
    return IB_OK;
}

ib_rc_t rw_retry_rec_add_history(rw_retry_rec_t *r, long long at_wall_ms, unsigned attempt,
                                 long http_status, const char *error, const char *excerpt)
{
    if (r->history == NULL && (r->history = json_array()) == NULL)
        return IB_ERR;
    json_t *h = json_object();
    if (h == NULL)
        return IB_ERR;
    int bad = json_object_set_new(h, "at", time_str(at_wall_ms));
    bad |= json_object_set_new(h, "attempt", json_integer(attempt));
    if (http_status > 0)
        bad |= json_object_set_new(h, "http_status", json_integer(http_status));
    else
        bad |= json_object_set_new(h, "error", json_string(error ? error : "transport error"));
    if (excerpt != NULL && excerpt[0] != '\0')
        bad |= json_object_set_new(h, "excerpt", json_string(excerpt));
    if (bad != 0 || json_array_append_new(r->history, h) != 0) {
        if (bad != 0)
            json_decref(h);
        return IB_ERR;
    }
    while (json_array_size(r->history) > RW_RETRY_HISTORY_MAX) {
        json_array_remove(r->history, 0);
        r->history_dropped++;
    }
    return IB_OK;
}
