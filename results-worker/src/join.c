#include "join.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "ib/json.h"

/* Open addressing, linear probing, power-of-two capacity, load <= 3/4. A slot is 16 bytes; the
 * rest lives in one malloc'd blob per entry:
 *   [id_len][state][latest status or 0xff][latest occurred_at: 8 bytes] id '\0' url '\0'. */
typedef struct {
    char *blob; /* NULL: empty slot */
    uint32_t hash;
    uint16_t tenant;
    uint16_t partition;
} rw_slot_t;

struct rw_join {
    rw_slot_t *slots;
    size_t cap; /* 0 or a power of two */
    size_t count;
    size_t blob_bytes;
    uint32_t seed; /* random per table: hostile ids cannot aim at one chain */
};

#define BLOB_HDR  11
#define NO_LATEST 0xffu
#define MIN_CAP   64

static const char *blob_id(const char *blob)
{
    return blob + BLOB_HDR;
}

static size_t blob_id_len(const char *blob)
{
    return (unsigned char)blob[0];
}

static const char *blob_url(const char *blob)
{
    return blob + BLOB_HDR + blob_id_len(blob) + 1;
}

static size_t blob_size(const char *blob)
{
    return BLOB_HDR + blob_id_len(blob) + 1 + strlen(blob_url(blob)) + 1;
}

static uint32_t hash_id(uint32_t seed, const char *id, size_t len)
{
    /* FNV-1a, seeded, with a final avalanche so low bits (the slot index) mix well. */
    uint32_t h = 2166136261u ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)id[i];
        h *= 16777619u;
    }
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    return h;
}

const char *rw_join_state_reason(rw_join_state_t s)
{
    switch (s) {
    case RW_JOIN_OK:
        return "ok";
    case RW_JOIN_BAD_URL:
        return "callback_url is not a valid absolute URL without userinfo";
    case RW_JOIN_SCHEME_REJECTED:
        return "callback_url scheme is not allowed (https only)";
    case RW_JOIN_HOST_NOT_ALLOWED:
        return "callback_url host is not in the tenant's callback_hosts";
    }
    return "unknown";
}

rw_join_t *rw_join_new(void)
{
    rw_join_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return NULL;
    if (getrandom(&j->seed, sizeof(j->seed), GRND_NONBLOCK) != (ssize_t)sizeof(j->seed))
        j->seed = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)j;
    return j;
}

void rw_join_clear(rw_join_t *j)
{
    if (j == NULL)
        return;
    for (size_t i = 0; i < j->cap; i++)
        free(j->slots[i].blob);
    free(j->slots);
    j->slots = NULL;
    j->cap = 0;
    j->count = 0;
    j->blob_bytes = 0;
}

void rw_join_free(rw_join_t *j)
{
    rw_join_clear(j);
    free(j);
}

size_t rw_join_count(const rw_join_t *j)
{
    return j->count;
}

size_t rw_join_bytes(const rw_join_t *j)
{
    return sizeof(*j) + j->cap * sizeof(rw_slot_t) + j->blob_bytes;
}

/* Index of id's slot, or of the empty slot where it would go. cap must be > count. */
static size_t find_slot(const rw_slot_t *slots, size_t cap, uint32_t hash, const char *id,
                        size_t id_len)
{
    size_t mask = cap - 1;
    size_t i = hash & mask;
    while (slots[i].blob != NULL) {
        const char *b = slots[i].blob;
        if (slots[i].hash == hash && blob_id_len(b) == id_len &&
            memcmp(blob_id(b), id, id_len) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

static ib_rc_t rehash(rw_join_t *j, size_t new_cap)
{
    rw_slot_t *slots = calloc(new_cap, sizeof(*slots));
    if (slots == NULL)
        return IB_ERR;
    for (size_t i = 0; i < j->cap; i++) {
        if (j->slots[i].blob == NULL)
            continue;
        size_t k = find_slot(slots, new_cap, j->slots[i].hash, blob_id(j->slots[i].blob),
                             blob_id_len(j->slots[i].blob));
        slots[k] = j->slots[i];
    }
    free(j->slots);
    j->slots = slots;
    j->cap = new_cap;
    return IB_OK;
}

ib_rc_t rw_join_put(rw_join_t *j, const char *id, uint16_t tenant, int32_t partition,
                    rw_join_state_t state, const char *callback_url)
{
    size_t id_len = strlen(id);
    size_t url_len = strlen(callback_url);
    if (id_len == 0 || id_len > RW_JOIN_MAX_ID_LEN || url_len > RW_JOIN_MAX_URL_LEN ||
        partition < 0 || partition > UINT16_MAX)
        return IB_ERR;
    if ((j->count + 1) * 4 > j->cap * 3 && rehash(j, j->cap == 0 ? MIN_CAP : j->cap * 2) != IB_OK)
        return IB_ERR;

    size_t size = BLOB_HDR + id_len + 1 + url_len + 1;
    char *blob = malloc(size);
    if (blob == NULL)
        return IB_ERR;
    blob[0] = (char)(unsigned char)id_len;
    blob[1] = (char)state;
    blob[2] = (char)NO_LATEST;
    memset(blob + 3, 0, 8);
    memcpy(blob + BLOB_HDR, id, id_len + 1);
    memcpy(blob + BLOB_HDR + id_len + 1, callback_url, url_len + 1);

    uint32_t hash = hash_id(j->seed, id, id_len);
    size_t i = find_slot(j->slots, j->cap, hash, id, id_len);
    rw_slot_t *s = &j->slots[i];
    if (s->blob != NULL) {
        /* A repeated requested event keeps what the status events taught us. */
        memcpy(blob + 2, s->blob + 2, 9);
        j->blob_bytes -= blob_size(s->blob);
        free(s->blob);
    } else {
        j->count++;
    }
    s->blob = blob;
    s->hash = hash;
    s->tenant = tenant;
    s->partition = (uint16_t)partition;
    j->blob_bytes += size;
    return IB_OK;
}

int rw_join_get(const rw_join_t *j, const char *id, rw_join_view_t *out)
{
    size_t id_len = strlen(id);
    if (j->count == 0 || id_len == 0 || id_len > RW_JOIN_MAX_ID_LEN)
        return 0;
    size_t i = find_slot(j->slots, j->cap, hash_id(j->seed, id, id_len), id, id_len);
    const rw_slot_t *s = &j->slots[i];
    if (s->blob == NULL)
        return 0;
    out->tenant = s->tenant;
    out->partition = s->partition;
    out->state = (rw_join_state_t)(unsigned char)s->blob[1];
    out->callback_url = blob_url(s->blob);
    return 1;
}

rw_order_t rw_join_order(rw_join_t *j, const char *id, ib_status_t status, long long occurred_ms,
                         int update)
{
    size_t id_len = strlen(id);
    if (j->count == 0 || id_len == 0 || id_len > RW_JOIN_MAX_ID_LEN)
        return RW_ORDER_UNKNOWN;
    size_t i = find_slot(j->slots, j->cap, hash_id(j->seed, id, id_len), id, id_len);
    char *b = j->slots[i].blob;
    if (b == NULL)
        return RW_ORDER_UNKNOWN;
    unsigned cur = (unsigned char)b[2];
    long long cur_ms = 0;
    memcpy(&cur_ms, b + 3, sizeof(cur_ms));
    rw_order_t verdict;
    int cmp =
        cur == NO_LATEST ? 1 : ib_status_compare((ib_status_t)cur, cur_ms, status, occurred_ms);
    if (cmp > 0)
        verdict = RW_ORDER_NEWER;
    else if (cmp == 0)
        verdict = RW_ORDER_SAME;
    else
        verdict = RW_ORDER_OLDER;
    if (update && verdict == RW_ORDER_NEWER) {
        b[2] = (char)(unsigned char)status;
        memcpy(b + 3, &occurred_ms, sizeof(occurred_ms));
    }
    return verdict;
}

/* Backward-shift deletion (Knuth 6.4, algorithm R): no tombstones, chains stay intact. */
static void delete_at(rw_join_t *j, size_t i)
{
    size_t mask = j->cap - 1;
    size_t k = i;
    j->blob_bytes -= blob_size(j->slots[i].blob);
    free(j->slots[i].blob);
    for (;;) {
        k = (k + 1) & mask;
        if (j->slots[k].blob == NULL)
            break;
        size_t home = j->slots[k].hash & mask;
        /* The entry at k may stay when its home lies cyclically in (i, k]. */
        int stays = i <= k ? (i < home && home <= k) : (i < home || home <= k);
        if (stays)
            continue;
        j->slots[i] = j->slots[k];
        i = k;
    }
    j->slots[i].blob = NULL;
    j->count--;
}

size_t rw_join_remove_partition(rw_join_t *j, int32_t partition)
{
    size_t removed = 0;
    size_t i = 0;
    while (i < j->cap) {
        const rw_slot_t *s = &j->slots[i];
        if (s->blob != NULL && (int32_t)s->partition == partition) {
            /* Slot i may now hold a shifted entry: look at it again. Entries shifted from
             * the wrapped-around start were visited already and do not match. */
            delete_at(j, i);
            removed++;
        } else {
            i++;
        }
    }
    size_t cap = j->cap;
    while (cap > MIN_CAP && j->count * 4 < cap)
        cap /= 2;
    if (cap != j->cap) {
        /* Shrinking may fail on allocation; keeping the larger table is fine. */
        ib_rc_t shrunk = rehash(j, cap);
        (void)shrunk;
    }
    return removed;
}

rw_join_state_t rw_callback_url_check(const ib_tenant_t *t, const char *url, int allow_insecure)
{
    rw_join_state_t st = RW_JOIN_BAD_URL;
    CURLU *u = curl_url();
    char *scheme = NULL;
    char *host = NULL;
    char *user = NULL;
    char *password = NULL;

    if (u == NULL)
        goto done;
    for (const char *p = url; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            goto done;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto done;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
        goto done;
    if (curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) != CURLUE_NO_PASSWORD)
        goto done;
    if (strcmp(scheme, "https") != 0 && !(allow_insecure && strcmp(scheme, "http") == 0)) {
        st = RW_JOIN_SCHEME_REJECTED;
        goto done;
    }
    /* curl keeps IPv6 brackets in the host; callback_hosts holds names, never literals. */
    st = ib_tenant_host_allowed(t, host) ? RW_JOIN_OK : RW_JOIN_HOST_NOT_ALLOWED;
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(password);
    curl_url_cleanup(u);
    return st;
}

static int printable_id(const char *id)
{
    for (const char *p = id; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 0;
    }
    return 1;
}

ib_rc_t rw_join_ingest(rw_join_t *j, const ib_tenants_t *ts, int allow_insecure, int32_t partition,
                       const void *key, size_t key_len, const void *value, size_t len,
                       rw_join_state_t *state_out, char *id_out, char *errstr, size_t errstr_size)
{
    ib_rc_t rc = IB_ERR;
    char why[128];
    json_t *root = NULL;
    int arena = 0;
    const char *id;
    const char *tenant_id;
    const char *url;
    const ib_tenant_t *t;

    if (id_out != NULL)
        id_out[0] = '\0';
    *state_out = RW_JOIN_OK;
    if (value == NULL || len == 0) {
        snprintf(errstr, errstr_size, "empty value");
        goto done;
    }
    ib_json_arena_begin(); /* the tree dies below; rw_join_put copies what it keeps */
    arena = 1;
    root = ib_json_parse(value, len, IB_JSON_MAX_DEPTH, why, sizeof(why));
    if (root == NULL) {
        snprintf(errstr, errstr_size, "invalid JSON: %s", why);
        goto done;
    }
    if (!json_is_object(root)) {
        snprintf(errstr, errstr_size, "value is not a JSON object");
        goto done;
    }
    id = ib_json_str(root, "interview_id");
    if (id == NULL || id[0] == '\0' || strlen(id) > RW_JOIN_MAX_ID_LEN || !printable_id(id)) {
        snprintf(errstr, errstr_size, "interview_id missing, not a string or malformed");
        goto done;
    }
    if (id_out != NULL)
        memcpy(id_out, id, strlen(id) + 1);
    if (key != NULL && (key_len != strlen(id) || memcmp(key, id, key_len) != 0)) {
        snprintf(errstr, errstr_size, "message key differs from interview_id");
        goto done;
    }
    tenant_id = ib_json_str(root, "tenant");
    if (tenant_id == NULL) {
        snprintf(errstr, errstr_size, "tenant missing or not a string");
        goto done;
    }
    t = ib_tenants_find(ts, tenant_id);
    if (t == NULL) {
        snprintf(errstr, errstr_size, "unknown tenant");
        goto done;
    }
    url = ib_json_str(root, "callback_url");
    if (url == NULL || url[0] == '\0' || strlen(url) > RW_JOIN_MAX_URL_LEN) {
        snprintf(errstr, errstr_size, "callback_url missing, not a string or too long");
        goto done;
    }
    *state_out = rw_callback_url_check(t, url, allow_insecure);
    if (rw_join_put(j, id, (uint16_t)(t - ts->tenants), partition, *state_out, url) != IB_OK) {
        snprintf(errstr, errstr_size, "out of memory");
        goto done;
    }
    rc = IB_OK;
done:
    json_decref(root);
    if (arena)
        ib_json_arena_end();
    return rc;
}
