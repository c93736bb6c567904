#include "interviews.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ib/hash.h"
#include "ib/json.h"
#include "ib/log.h"
#include "ib/payload.h"

#define ID_BYTES         16
#define INITIAL_SLOTS    1024u
#define TENANT_ID_MAX    256
#define WARN_INTERVAL_MS 10000
#define PENDING_PAYLOAD  "{\"status\":\"pending\"}"

/* The latest status event of an interview: its place in the finished list (only while the
 * status is terminal), the id (to find the slot again: slots move, docs do not), then the
 * payload text '\0' shared-link text (maybe empty) '\0'. */
typedef struct doc {
    struct doc *prev; /* the finished list, oldest finish first */
    struct doc *next;
    uint8_t id[ID_BYTES];
    char text[];
} doc_t;

/* One interview. 40 bytes on LP64. */
typedef struct {
    uint8_t id[ID_BYTES];
    uint32_t owner;      /* 1 + index in the tenants file; 0: no requested event seen */
    uint8_t used;        /* slot taken */
    uint8_t status;      /* 1 + ib_status_t; 0: no status event seen */
    int64_t occurred_ms; /* of the held status event */
    doc_t *doc;          /* NULL: no status event */
} slot_t;

struct gw_interviews {
    const ib_tenants_t *tenants;
    size_t max;
    pthread_rwlock_t lock;
    /* Under lock: */
    slot_t *slots;
    size_t cap; /* power of two */
    size_t count;
    size_t with_status;
    size_t owned;
    size_t doc_bytes;
    doc_t *oldest; /* the finished list: docs of terminal states, in the order they finished */
    doc_t *newest;
    size_t finished;
    unsigned long long evicted;
    unsigned long long dropped;
    unsigned long long refused;
    unsigned long long erased;
    unsigned long long probes;   /* slots looked at by writers */
    long long evicted_logged_at; /* last report of evictions (0: none yet) */
    long long dropped_logged_at; /* last report of drops (0: none yet) */
    unsigned long long logged_evicted;
    unsigned long long logged_dropped;
};

size_t gw_interviews_slot_size(void)
{
    return sizeof(slot_t);
}

gw_interviews_t *gw_interviews_new(const ib_tenants_t *tenants, size_t max_interviews)
{
    gw_interviews_t *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return NULL;
    if (pthread_rwlock_init(&v->lock, NULL) != 0) {
        free(v);
        return NULL;
    }
    v->tenants = tenants;
    v->max = max_interviews;
    v->cap = INITIAL_SLOTS;
    v->slots = calloc(v->cap, sizeof(slot_t));
    if (v->slots == NULL) {
        gw_interviews_free(v);
        return NULL;
    }
    return v;
}

void gw_interviews_free(gw_interviews_t *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; v->slots != NULL && i < v->cap; i++)
        free(v->slots[i].doc);
    free(v->slots);
    pthread_rwlock_destroy(&v->lock);
    free(v);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Exactly 32 lowercase hex characters -> 16 bytes. */
static int parse_id(const char *s, size_t len, uint8_t out[ID_BYTES])
{
    if (len != GW_INTERVIEW_ID_LEN)
        return 0;
    for (size_t i = 0; i < ID_BYTES; i++) {
        int hi = hexval(s[2 * i]);
        int lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

static size_t hash_id(const uint8_t id[ID_BYTES])
{
    /* Ids come from Kafka and from requests: hashed whole, with the process's seeded hash, so ids
     * chosen to share bytes do not pile into one chain. */
    return (size_t)ib_hash(id, ID_BYTES);
}

/* The slot holding id, or the free slot where it would go. cap is never full. Adds the slots
 * looked at to *steps when not NULL (writers only: readers share the lock). */
static slot_t *probe(slot_t *slots, size_t cap, const uint8_t id[ID_BYTES],
                     unsigned long long *steps)
{
    size_t i = hash_id(id) & (cap - 1);
    unsigned long long n = 1;
    while (slots[i].used && memcmp(slots[i].id, id, ID_BYTES) != 0) {
        i = (i + 1) & (cap - 1);
        n++;
    }
    if (steps != NULL)
        *steps += n;
    return &slots[i];
}

static ib_rc_t grow(gw_interviews_t *v)
{
    size_t cap = v->cap * 2;
    slot_t *slots = calloc(cap, sizeof(slot_t));
    if (slots == NULL)
        return IB_ERR;
    for (size_t i = 0; i < v->cap; i++)
        if (v->slots[i].used)
            *probe(slots, cap, v->slots[i].id, &v->probes) = v->slots[i];
    free(v->slots);
    v->slots = slots;
    v->cap = cap;
    return IB_OK;
}

static size_t doc_size(const doc_t *d)
{
    size_t plen = strlen(d->text);
    return sizeof(*d) + plen + strlen(d->text + plen + 1) + 2;
}

static int slot_finished(const slot_t *s)
{
    return s->status != 0 && ib_status_terminal((ib_status_t)(s->status - 1));
}

static void finished_append(gw_interviews_t *v, doc_t *d)
{
    d->next = NULL;
    d->prev = v->newest;
    if (v->newest != NULL)
        v->newest->next = d;
    else
        v->oldest = d;
    v->newest = d;
    v->finished++;
}

static void finished_unlink(gw_interviews_t *v, doc_t *d)
{
    if (d->prev != NULL)
        d->prev->next = d->next;
    else
        v->oldest = d->next;
    if (d->next != NULL)
        d->next->prev = d->prev;
    else
        v->newest = d->prev;
    d->prev = d->next = NULL;
    v->finished--;
}

/* d takes old's place in the finished list. */
static void finished_replace(gw_interviews_t *v, doc_t *old, doc_t *d)
{
    d->prev = old->prev;
    d->next = old->next;
    if (old->prev != NULL)
        old->prev->next = d;
    else
        v->oldest = d;
    if (old->next != NULL)
        old->next->prev = d;
    else
        v->newest = d;
    old->prev = old->next = NULL;
}

/* Empties slot s and closes the gap by backward shift (Knuth 6.4, algorithm R), so no chain is
 * cut and no tombstone is left. Under the write lock. */
static void delete_slot(gw_interviews_t *v, slot_t *s)
{
    if (s->doc != NULL) {
        if (slot_finished(s))
            finished_unlink(v, s->doc);
        v->doc_bytes -= doc_size(s->doc);
        v->with_status--;
        free(s->doc);
    }
    if (s->owner != 0)
        v->owned--;
    v->count--;
    size_t mask = v->cap - 1;
    size_t i = (size_t)(s - v->slots);
    size_t k = i;
    for (;;) {
        k = (k + 1) & mask;
        if (!v->slots[k].used)
            break;
        v->probes++;
        size_t home = hash_id(v->slots[k].id) & mask;
        /* The slot at k may stay when its home lies cyclically in (i, k]. */
        int stays = i <= k ? (i < home && home <= k) : (i < home || home <= k);
        if (stays)
            continue;
        v->slots[i] = v->slots[k];
        i = k;
    }
    memset(&v->slots[i], 0, sizeof(slot_t));
}

/* Reports evictions (dropped = 0) or drops (1), each kind in one line at most every
 * WARN_INTERVAL_MS, so the first of a burst is reported at once and the rest summed up. */
static void log_bound(gw_interviews_t *v, int dropped)
{
    long long now = ib_now_ms();
    long long *at = dropped ? &v->dropped_logged_at : &v->evicted_logged_at;
    if (*at != 0 && now - *at < WARN_INTERVAL_MS)
        return;
    *at = now != 0 ? now : 1;
    if (dropped) {
        IB_ERROR("interviews view full of open interviews (GATEWAY_VIEW_MAX_INTERVIEWS=%zu): "
                 "%llu id(s) dropped since the last report (%llu in all)",
                 v->max, v->dropped - v->logged_dropped, v->dropped);
        v->logged_dropped = v->dropped;
    } else {
        IB_INFO("interviews view at its bound (GATEWAY_VIEW_MAX_INTERVIEWS=%zu): %llu finished "
                "interview(s) evicted since the last report (%llu in all)",
                v->max, v->evicted - v->logged_evicted, v->evicted);
        v->logged_evicted = v->evicted;
    }
}

/* The slot of id, created when absent. At the bound the earliest finished interview is evicted
 * to make room; NULL when none is (dropped: counted) or out of memory. Under the write lock. */
static slot_t *slot_for(gw_interviews_t *v, const uint8_t id[ID_BYTES])
{
    slot_t *s = probe(v->slots, v->cap, id, &v->probes);
    if (s->used)
        return s;
    if (v->count >= v->max) {
        if (v->oldest == NULL) {
            v->dropped++;
            log_bound(v, 1);
            return NULL;
        }
        delete_slot(v, probe(v->slots, v->cap, v->oldest->id, &v->probes));
        v->evicted++;
        log_bound(v, 0);
        s = probe(v->slots, v->cap, id, &v->probes); /* the shift may have moved the gap */
    }
    /* Load factor at most 3/4. */
    if ((v->count + 1) * 4 > v->cap * 3) {
        if (grow(v) != IB_OK)
            return NULL;
        s = probe(v->slots, v->cap, id, &v->probes);
    }
    memset(s, 0, sizeof(*s));
    memcpy(s->id, id, ID_BYTES);
    s->used = 1;
    v->count++;
    return s;
}

static uint32_t tenant_index(const gw_interviews_t *v, const ib_tenant_t *t)
{
    if (t == NULL || v->tenants == NULL || t < v->tenants->tenants ||
        t >= v->tenants->tenants + v->tenants->count)
        return 0;
    return (uint32_t)(t - v->tenants->tenants) + 1;
}

ib_rc_t gw_interviews_apply_requested(gw_interviews_t *v, const void *key, size_t key_len,
                                      const void *value, size_t len, char *errstr,
                                      size_t errstr_size)
{
    char why[160];
    uint8_t id[ID_BYTES];
    json_t *root = NULL;
    ib_rc_t rc = IB_ERR;

    if (key == NULL || !parse_id(key, key_len, id)) {
        snprintf(errstr, errstr_size, "key is not an interview id (32 lowercase hex)");
        goto out;
    }
    if (value == NULL) {
        snprintf(errstr, errstr_size, "tombstone");
        goto out;
    }
    /* The gateway reads back every event it produced, and its id was noted on the 201: an id
     * already owned needs no parse (id = HMAC(tenant, callback_url), so a second requested
     * event for it changes nothing; a forged owner would not win anyway, see below). */
    pthread_rwlock_rdlock(&v->lock);
    const slot_t *known = probe(v->slots, v->cap, id, NULL);
    int owned = known->used && known->owner != 0;
    pthread_rwlock_unlock(&v->lock);
    if (owned)
        return IB_OK;
    root = ib_json_parse(value, len, IB_JSON_MAX_DEPTH, why, sizeof(why));
    const char *vid = ib_json_str(root, "interview_id");
    const char *tenant = ib_json_str(root, "tenant");
    if (root == NULL || vid == NULL || strlen(vid) != key_len || memcmp(vid, key, key_len) != 0 ||
        tenant == NULL || strlen(tenant) > TENANT_ID_MAX) {
        snprintf(errstr, errstr_size, "not an interview.requested event for its key");
        goto out;
    }
    uint32_t owner = tenant_index(v, ib_tenants_find(v->tenants, tenant));
    if (owner == 0) {
        snprintf(errstr, errstr_size, "tenant %s is not in the tenants file", tenant);
        goto out;
    }
    pthread_rwlock_wrlock(&v->lock);
    slot_t *s = slot_for(v, id);
    if (s == NULL) {
        rc = IB_AGAIN;
    } else {
        /* The first owner stays: the id is derived from the tenant, a second one is forged. */
        if (s->owner == 0) {
            s->owner = owner;
            v->owned++;
        }
        rc = IB_OK;
    }
    pthread_rwlock_unlock(&v->lock);
    if (rc == IB_AGAIN)
        snprintf(errstr, errstr_size, "view full");
out:
    json_decref(root);
    if (rc == IB_ERR) {
        pthread_rwlock_wrlock(&v->lock);
        v->refused++;
        pthread_rwlock_unlock(&v->lock);
    }
    return rc;
}

ib_rc_t gw_interviews_erase(gw_interviews_t *v, const void *key, size_t key_len, char *errstr,
                            size_t errstr_size)
{
    uint8_t id[ID_BYTES];

    if (key == NULL || !parse_id(key, key_len, id)) {
        snprintf(errstr, errstr_size, "tombstone: key is not an interview id (32 lowercase hex)");
        pthread_rwlock_wrlock(&v->lock);
        v->refused++;
        pthread_rwlock_unlock(&v->lock);
        return IB_ERR;
    }
    pthread_rwlock_wrlock(&v->lock);
    slot_t *s = probe(v->slots, v->cap, id, &v->probes);
    if (s->used)
        delete_slot(v, s);
    v->erased++;
    pthread_rwlock_unlock(&v->lock);
    return IB_OK;
}

ib_rc_t gw_interviews_note_owner(gw_interviews_t *v, const ib_tenant_t *tenant, const char *id)
{
    uint8_t bin[ID_BYTES];
    uint32_t owner = tenant_index(v, tenant);
    ib_rc_t rc = IB_AGAIN;

    if (owner == 0 || id == NULL || !parse_id(id, strlen(id), bin))
        return IB_ERR;
    pthread_rwlock_wrlock(&v->lock);
    slot_t *s = slot_for(v, bin);
    if (s != NULL) {
        if (s->owner == 0) {
            s->owner = owner;
            v->owned++;
        }
        rc = IB_OK;
    }
    pthread_rwlock_unlock(&v->lock);
    return rc;
}

/* The doc of id: payload '\0' link '\0' in one allocation, not in the finished list. */
static doc_t *make_doc(const ib_status_event_t *ev, const uint8_t id[ID_BYTES], size_t *size)
{
    char *payload = json_dumps(ev->payload, JSON_COMPACT);
    char *link = ev->shared_link != NULL ? json_dumps(ev->shared_link, JSON_COMPACT) : NULL;
    doc_t *doc = NULL;

    if (payload == NULL || (ev->shared_link != NULL && link == NULL))
        goto out;
    size_t plen = strlen(payload);
    size_t llen = link != NULL ? strlen(link) : 0;
    doc = malloc(sizeof(*doc) + plen + llen + 2);
    if (doc == NULL)
        goto out;
    doc->prev = doc->next = NULL;
    memcpy(doc->id, id, ID_BYTES);
    memcpy(doc->text, payload, plen + 1);
    if (link != NULL)
        memcpy(doc->text + plen + 1, link, llen);
    doc->text[plen + 1 + llen] = '\0';
    *size = sizeof(*doc) + plen + llen + 2;
out:
    free(payload);
    free(link);
    return doc;
}

/* Applies ev to the interview id: kept when it supersedes the held state. owner (0: none) becomes
 * the interview's owner when it has none, in the same write, so a reader never sees the state of
 * a changelog record without its owner. IB_AGAIN when dropped (full). */
static ib_rc_t apply_event(gw_interviews_t *v, const ib_status_event_t *ev,
                           const uint8_t id[ID_BYTES], uint32_t owner, char *errstr,
                           size_t errstr_size)
{
    size_t size = 0;
    doc_t *doc = make_doc(ev, id, &size);
    ib_rc_t rc = IB_OK;

    if (doc == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return IB_ERR;
    }
    pthread_rwlock_wrlock(&v->lock);
    slot_t *s = slot_for(v, id);
    if (s == NULL) {
        rc = IB_AGAIN;
        snprintf(errstr, errstr_size, "view full");
        goto out;
    }
    /* The first owner stays, as for requested events. */
    if (owner != 0 && s->owner == 0) {
        s->owner = owner;
        v->owned++;
    }
    /* Older or equal: the held state stays. */
    if (s->status != 0 && !ib_status_supersedes((ib_status_t)(s->status - 1), s->occurred_ms,
                                                ev->status, ev->occurred_ms))
        goto out;
    int was_finished = slot_finished(s);
    if (s->status == 0)
        v->with_status++;
    if (s->doc != NULL) {
        v->doc_bytes -= doc_size(s->doc);
        if (was_finished) /* a later result: the interview keeps its place */
            finished_replace(v, s->doc, doc);
    }
    free(s->doc);
    s->doc = doc;
    doc = NULL; /* now owned by the slot */
    v->doc_bytes += size;
    s->status = (uint8_t)(ev->status + 1);
    s->occurred_ms = ev->occurred_ms;
    if (!was_finished && slot_finished(s))
        finished_append(v, s->doc);
out:
    pthread_rwlock_unlock(&v->lock);
    free(doc);
    return rc;
}

static void count_refused(gw_interviews_t *v)
{
    pthread_rwlock_wrlock(&v->lock);
    v->refused++;
    pthread_rwlock_unlock(&v->lock);
}

ib_rc_t gw_interviews_apply_status(gw_interviews_t *v, const void *value, size_t len, char *errstr,
                                   size_t errstr_size)
{
    ib_status_event_t ev;
    uint8_t id[ID_BYTES];
    ib_rc_t rc = IB_ERR;

    memset(&ev, 0, sizeof(ev));
    if (value == NULL) {
        snprintf(errstr, errstr_size, "tombstone");
        goto out;
    }
    if (ib_status_event_parse(value, len, &ev, errstr, errstr_size) != IB_OK)
        goto out;
    if (!parse_id(ev.interview_id, strlen(ev.interview_id), id)) {
        snprintf(errstr, errstr_size, "interview_id is not one of ours (32 lowercase hex)");
        goto out;
    }
    rc = apply_event(v, &ev, id, 0, errstr, errstr_size);
out:
    ib_status_event_clear(&ev);
    if (rc == IB_ERR)
        count_refused(v);
    return rc;
}

ib_rc_t gw_interviews_apply_state(gw_interviews_t *v, const void *key, size_t key_len,
                                  const void *value, size_t len, char *errstr, size_t errstr_size)
{
    char why[160];
    ib_status_event_t ev;
    uint8_t id[ID_BYTES];
    json_t *root = NULL;
    ib_rc_t rc = IB_ERR;

    memset(&ev, 0, sizeof(ev));
    if (key == NULL || !parse_id(key, key_len, id)) {
        snprintf(errstr, errstr_size, "key is not an interview id (32 lowercase hex)");
        goto out;
    }
    if (value == NULL) {
        snprintf(errstr, errstr_size, "tombstone");
        goto out;
    }
    /* The state is a status event: the same parse, so the payload and link are the same bytes. */
    if (ib_status_event_parse(value, len, &ev, errstr, errstr_size) != IB_OK)
        goto out;
    if (strlen(ev.interview_id) != key_len || memcmp(ev.interview_id, key, key_len) != 0) {
        snprintf(errstr, errstr_size, "interview_id is not the record's key");
        goto out;
    }
    root = ib_json_parse(value, len, IB_JSON_MAX_DEPTH, why, sizeof(why));
    const char *tenant = ib_json_str(root, "tenant");
    if (tenant == NULL || strlen(tenant) > TENANT_ID_MAX) {
        snprintf(errstr, errstr_size, "no tenant in the state record");
        goto out;
    }
    uint32_t owner = tenant_index(v, ib_tenants_find(v->tenants, tenant));
    if (owner == 0) {
        snprintf(errstr, errstr_size, "tenant %s is not in the tenants file", tenant);
        goto out;
    }
    rc = apply_event(v, &ev, id, owner, errstr, errstr_size);
out:
    json_decref(root);
    ib_status_event_clear(&ev);
    if (rc == IB_ERR)
        count_refused(v);
    return rc;
}

static void log_refused(const rd_kafka_message_t *m, const char *why)
{
    json_t *fields = json_pack("{s:s,s:i,s:I}", "topic", rd_kafka_topic_name(m->rkt), "partition",
                               (int)m->partition, "offset", (json_int_t)m->offset);
    ib_log_fields(IB_LOG_WARN, fields, "view: record ignored: %s", why);
    json_decref(fields);
}

/* A NULL value is a tombstone (an empty one is a value, and refused as such). */
static ib_rc_t apply_tombstone(gw_interviews_t *v, const rd_kafka_message_t *m, char *why,
                               size_t why_size)
{
    ib_rc_t rc = gw_interviews_erase(v, m->key, m->key_len, why, why_size);
    /* Debug: every replica reads every tombstone at start (a tenant's erasure is thousands per
     * partition until delete.retention.ms). */
    if (rc == IB_OK && ib_log_enabled(IB_LOG_DEBUG)) {
        json_t *fields = json_pack("{s:s,s:i,s:I,s:s%}", "topic", rd_kafka_topic_name(m->rkt),
                                   "partition", (int)m->partition, "offset", (json_int_t)m->offset,
                                   "interview_id", (const char *)m->key, m->key_len);
        ib_log_fields(IB_LOG_DEBUG, fields, "view: interview erased (tombstone)");
        json_decref(fields);
    }
    return rc;
}

void gw_interviews_on_requested(void *opaque, const rd_kafka_message_t *m)
{
    char why[256] = "";
    ib_rc_t rc = m->payload == NULL
                     ? apply_tombstone(opaque, m, why, sizeof(why))
                     : gw_interviews_apply_requested(opaque, m->key, m->key_len, m->payload, m->len,
                                                     why, sizeof(why));
    if (rc == IB_ERR)
        log_refused(m, why);
}

void gw_interviews_on_status(void *opaque, const rd_kafka_message_t *m)
{
    char why[256] = "";
    ib_rc_t rc = m->payload == NULL
                     ? apply_tombstone(opaque, m, why, sizeof(why))
                     : gw_interviews_apply_status(opaque, m->payload, m->len, why, sizeof(why));
    if (rc == IB_ERR)
        log_refused(m, why);
}

void gw_interviews_on_state(void *opaque, const rd_kafka_message_t *m)
{
    char why[256] = "";
    ib_rc_t rc = m->payload == NULL
                     ? apply_tombstone(opaque, m, why, sizeof(why))
                     : gw_interviews_apply_state(opaque, m->key, m->key_len, m->payload, m->len,
                                                 why, sizeof(why));
    if (rc == IB_ERR)
        log_refused(m, why);
}

/* Copies part (0: payload, 1: link) of the slot id owned by tenant. */
static gw_iv_result_t lookup(gw_interviews_t *v, const ib_tenant_t *tenant, const char *id,
                             int part, char **text)
{
    uint8_t bin[ID_BYTES];
    gw_iv_result_t r = GW_IV_UNKNOWN;
    const char *src = NULL;

    *text = NULL;
    uint32_t owner = tenant_index(v, tenant);
    if (owner == 0 || id == NULL || !parse_id(id, strlen(id), bin))
        return GW_IV_UNKNOWN;
    pthread_rwlock_rdlock(&v->lock);
    slot_t *s = probe(v->slots, v->cap, bin, NULL);
    if (!s->used || s->owner != owner)
        goto out;
    if (part == 0)
        src = s->doc != NULL ? s->doc->text : PENDING_PAYLOAD;
    else if (s->doc != NULL && s->doc->text[strlen(s->doc->text) + 1] != '\0')
        src = s->doc->text + strlen(s->doc->text) + 1;
    if (src == NULL) {
        r = GW_IV_NO_LINK;
        goto out;
    }
    *text = strdup(src);
    r = *text != NULL ? GW_IV_FOUND : GW_IV_NOMEM;
out:
    pthread_rwlock_unlock(&v->lock);
    return r;
}

gw_iv_result_t gw_interviews_payload(gw_interviews_t *v, const ib_tenant_t *tenant, const char *id,
                                     char **text)
{
    gw_iv_result_t r = lookup(v, tenant, id, 0, text);
    if (r != GW_IV_FOUND || tenant->declined_status == NULL ||
        strcmp(tenant->declined_status, "declined") == 0)
        return r;
    /* The tenant's word for a declined interview, as in the worker's PUT. */
    size_t len = 0;
    char *worded = ib_payload_declined_as(*text, strlen(*text), tenant->declined_status, &len);
    free(*text);
    *text = worded;
    return worded != NULL ? GW_IV_FOUND : GW_IV_NOMEM;
}

gw_iv_result_t gw_interviews_shared_link_at(gw_interviews_t *v, const ib_tenant_t *tenant,
                                            const char *id, long long now_wall_ms, char **text)
{
    char jerr[160];
    gw_iv_result_t r = lookup(v, tenant, id, 1, text);
    if (r != GW_IV_FOUND)
        return r;
    json_t *stored = ib_json_parse(*text, strlen(*text), IB_JSON_MAX_DEPTH, jerr, sizeof(jerr));
    json_t *answer = NULL;
    free(*text);
    *text = NULL;
    int live = stored != NULL ? ib_shared_link_answer(stored, now_wall_ms, &answer) : -1;
    json_decref(stored);
    if (live == 0)
        return GW_IV_LINK_EXPIRED;
    if (live > 0)
        *text = json_dumps(answer, JSON_COMPACT);
    json_decref(answer);
    return *text != NULL ? GW_IV_FOUND : GW_IV_NOMEM;
}

gw_iv_result_t gw_interviews_shared_link(gw_interviews_t *v, const ib_tenant_t *tenant,
                                         const char *id, char **text)
{
    return gw_interviews_shared_link_at(v, tenant, id, ib_wall_ms(), text);
}

void gw_interviews_stats(gw_interviews_t *v, gw_interviews_stats_t *out)
{
    pthread_rwlock_rdlock(&v->lock);
    out->interviews = v->count;
    out->with_status = v->with_status;
    out->unowned = v->count - v->owned;
    out->bytes = v->cap * sizeof(slot_t) + v->doc_bytes;
    out->finished = v->finished;
    out->evicted = v->evicted;
    out->dropped = v->dropped;
    out->refused = v->refused;
    out->erased = v->erased;
    out->probes = v->probes;
    pthread_rwlock_unlock(&v->lock);
}
