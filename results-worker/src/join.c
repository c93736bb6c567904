#include "join.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ib/callback_url.h"
#include "ib/hash.h"
#include "ib/json.h"
#include "ib/log.h"
#include "ib/map.h"

/* An interned URL prefix (everything up to and including the URL's last '/'). */
typedef struct {
    uint32_t refs;
    uint32_t len;
    char text[]; /* len bytes, then '\0' */
} prefix_t;

/* One interview: a 38-byte header, then
 *   key:    [0][16 bytes of a 32-lowercase-hex id]  or  [n][the id's n bytes]  (n = 1..128)
 *   suffix: [0][16 bytes of a 32-lowercase-hex last segment]  or  [1][text '\0']
 * The key's first byte tells the two forms apart (an id is never empty), so the table is keyed
 * by the key bytes as they are. */
typedef struct entry {
    struct entry *prev; /* the finished list; both NULL and not the head when open */
    struct entry *next;
    prefix_t *prefix; /* NULL: the URL has no '/' */
    int64_t latest_ms;
    uint16_t tenant;
    uint16_t partition;
    uint8_t state;  /* rw_join_state_t */
    uint8_t latest; /* ib_status_t of the latest state, or NO_LATEST */
    unsigned char data[];
} entry_t;

#define ENTRY_HDR    offsetof(entry_t, data)
#define NO_LATEST    0xffu
#define MIN_CAP      64
#define PACKED       16 /* bytes of 32 hex characters */
#define KEY_MAX      (1 + RW_JOIN_MAX_ID_LEN)
#define GONE_MIN     1024u
#define GONE_MAX     65536u
#define LOG_EVERY_MS 10000

struct rw_join {
    ib_map_t *map;      /* key -> entry */
    ib_map_t *prefixes; /* text -> prefix_t */
    size_t max;
    size_t entry_bytes;
    size_t prefix_bytes;
    entry_t *oldest; /* the finished list: oldest finish first */
    entry_t *newest;
    size_t finished;
    uint64_t *gone; /* evicted and refused keys: seeded hash | absence, direct-mapped; 0: empty */
    size_t gone_cap;
    unsigned long long evicted;
    unsigned long long refused;
    unsigned long long logged_evicted;
    unsigned long long logged_refused;
    long long evicted_logged_at; /* last report of evictions (0: none yet) */
    long long refused_logged_at; /* last report of refusals (0: none yet) */
    char *url;                   /* rw_join_get rebuilds callback_url here */
};

_Static_assert(offsetof(entry_t, data) == 38, "entry header is 38 bytes");

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Packs 32 lowercase hex characters into 16 bytes; 0 when s is not that. */
static int pack_hex(const char *s, size_t len, unsigned char out[PACKED])
{
    if (len != 2 * PACKED)
        return 0;
    for (size_t i = 0; i < PACKED; i++) {
        int hi = hexval((unsigned char)s[2 * i]);
        int lo = hexval((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 1;
}

static void unpack_hex(const unsigned char in[PACKED], char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < PACKED; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
}

/* The key of id (1..RW_JOIN_MAX_ID_LEN bytes) into out[KEY_MAX]; its length. */
static size_t make_key(const char *id, size_t id_len, unsigned char *out)
{
    if (pack_hex(id, id_len, out + 1)) {
        out[0] = 0;
        return 1 + PACKED;
    }
    out[0] = (unsigned char)id_len;
    memcpy(out + 1, id, id_len);
    return 1 + id_len;
}

static size_t key_len(const entry_t *e)
{
    return 1 + (e->data[0] == 0 ? PACKED : e->data[0]);
}

static const unsigned char *suffix_of(const entry_t *e)
{
    return e->data + key_len(e);
}

static size_t entry_size(const entry_t *e)
{
    const unsigned char *sfx = suffix_of(e);
    return ENTRY_HDR + key_len(e) + 1 + (sfx[0] == 0 ? PACKED : strlen((const char *)sfx + 1) + 1);
}

static int is_finished(const entry_t *e)
{
    return e->latest != NO_LATEST && ib_status_terminal((ib_status_t)e->latest);
}

static const void *entry_key(const void *item, size_t *len)
{
    const entry_t *e = item;
    *len = key_len(e);
    return e->data;
}

static const void *prefix_key(const void *item, size_t *len)
{
    const prefix_t *p = item;
    *len = p->len;
    return p->text;
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
    case RW_JOIN_LOOPBACK:
        return "callback_url host is a loopback address (localhost, 127.0.0.0/8, ::1, 0.0.0.0, ::)";
    case RW_JOIN_PORT_NOT_ALLOWED:
        return "callback_url port is neither 443 nor in the tenant's callback_ports";
    }
    return "unknown";
}

rw_join_t *rw_join_new_bounded(size_t max_interviews)
{
    rw_join_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return NULL;
    j->max = max_interviews > 0 ? max_interviews : 1;
    j->map = ib_map_new(entry_key, MIN_CAP);
    j->prefixes = ib_map_new(prefix_key, 8);
    j->url = malloc(RW_JOIN_MAX_URL_LEN + 1);
    if (j->map == NULL || j->prefixes == NULL || j->url == NULL) {
        rw_join_free(j);
        return NULL;
    }
    return j;
}

rw_join_t *rw_join_new(void)
{
    return rw_join_new_bounded(SIZE_MAX);
}

/* -- the finished list --------------------------------------------------------------------------*/

static void finished_append(rw_join_t *j, entry_t *e)
{
    e->next = NULL;
    e->prev = j->newest;
    if (j->newest != NULL)
        j->newest->next = e;
    else
        j->oldest = e;
    j->newest = e;
    j->finished++;
}

static void finished_unlink(rw_join_t *j, entry_t *e)
{
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        j->oldest = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        j->newest = e->prev;
    e->prev = e->next = NULL;
    j->finished--;
}

/* new takes old's place in the list. */
static void finished_replace(rw_join_t *j, entry_t *old, entry_t *new)
{
    new->prev = old->prev;
    new->next = old->next;
    if (old->prev != NULL)
        old->prev->next = new;
    else
        j->oldest = new;
    if (old->next != NULL)
        old->next->prev = new;
    else
        j->newest = new;
}

/* -- interned prefixes --------------------------------------------------------------------------*/

/* The interned prefix of len bytes of text, with one more reference; NULL when out of memory. */
static prefix_t *prefix_ref(rw_join_t *j, const char *text, size_t len)
{
    prefix_t *p = ib_map_get(j->prefixes, text, len);
    if (p != NULL) {
        p->refs++;
        return p;
    }
    p = malloc(sizeof(*p) + len + 1);
    if (p == NULL)
        return NULL;
    p->refs = 1;
    p->len = (uint32_t)len;
    memcpy(p->text, text, len);
    p->text[len] = '\0';
    if (ib_map_put(j->prefixes, p, NULL) != IB_OK) {
        free(p);
        return NULL;
    }
    j->prefix_bytes += sizeof(*p) + len + 1;
    return p;
}

static void prefix_unref(rw_join_t *j, prefix_t *p)
{
    if (p == NULL || --p->refs > 0)
        return;
    (void)ib_map_remove(j->prefixes, p->text, p->len);
    j->prefix_bytes -= sizeof(*p) + p->len + 1;
    free(p);
}

/* -- entries ------------------------------------------------------------------------------------*/

/* Frees e, already out of the table. */
static void entry_free(rw_join_t *j, entry_t *e)
{
    if (is_finished(e))
        finished_unlink(j, e);
    j->entry_bytes -= entry_size(e);
    prefix_unref(j, e->prefix);
    free(e);
}

static int drop_entry(void *item, void *arg)
{
    entry_free(arg, item);
    return 1;
}

void rw_join_clear(rw_join_t *j)
{
    if (j == NULL)
        return;
    ib_map_remove_if(j->map, drop_entry, j);
}

void rw_join_free(rw_join_t *j)
{
    if (j == NULL)
        return;
    if (j->map != NULL)
        rw_join_clear(j);
    ib_map_free(j->map);
    ib_map_free(j->prefixes);
    free(j->gone);
    free(j->url);
    free(j);
}

size_t rw_join_count(const rw_join_t *j)
{
    return ib_map_count(j->map);
}

size_t rw_join_bytes(const rw_join_t *j)
{
    return sizeof(*j) + RW_JOIN_MAX_URL_LEN + 1 + ib_map_bytes(j->map) + ib_map_bytes(j->prefixes) +
           j->entry_bytes + j->prefix_bytes + j->gone_cap * sizeof(uint64_t);
}

void rw_join_stats(const rw_join_t *j, rw_join_stats_t *out)
{
    out->interviews = ib_map_count(j->map);
    out->finished = j->finished;
    out->prefixes = ib_map_count(j->prefixes);
    out->max = j->max;
    out->evicted = j->evicted;
    out->refused = j->refused;
}

/* glibc's chunk header: a chunk is its usable size plus one size_t. */
static size_t heap_size(void *p)
{
    return malloc_usable_size(p) + sizeof(size_t);
}

size_t rw_join_heap_bytes(const rw_join_t *j)
{
    size_t n = sizeof(*j) + RW_JOIN_MAX_URL_LEN + 1 + ib_map_bytes(j->map) +
               ib_map_bytes(j->prefixes) + j->gone_cap * sizeof(uint64_t);
    size_t pos = 0;
    void *item;
    while ((item = ib_map_next(j->map, &pos)) != NULL)
        n += heap_size(item);
    pos = 0;
    while ((item = ib_map_next(j->prefixes, &pos)) != NULL)
        n += heap_size(item);
    return n;
}

/* The entry of id, or NULL. */
static entry_t *find(const rw_join_t *j, const char *id)
{
    unsigned char key[KEY_MAX];
    size_t id_len = strlen(id);
    if (id_len == 0 || id_len > RW_JOIN_MAX_ID_LEN)
        return NULL;
    return ib_map_get(j->map, key, make_key(id, id_len, key));
}

#define GONE_KIND 3u /* the low bits of a cell: its rw_join_absence_t (never 0) */

static uint64_t gone_hash(const unsigned char *key, size_t len)
{
    return ib_hash(key, len) & ~(uint64_t)GONE_KIND;
}

/* Remembers why key is absent (RW_JOIN_EVICTED, RW_JOIN_REFUSED), or forgets it (RW_JOIN_NEVER:
 * key is held again). */
static void gone_mark(rw_join_t *j, const unsigned char *key, size_t len, rw_join_absence_t why)
{
    if (j->gone == NULL) {
        if (why == RW_JOIN_NEVER)
            return;
        size_t cap = GONE_MIN;
        while (cap < GONE_MAX && cap < j->max / 4)
            cap *= 2;
        j->gone = calloc(cap, sizeof(*j->gone));
        if (j->gone == NULL)
            return; /* only the dead letter's reason is less precise */
        j->gone_cap = cap;
    }
    uint64_t h = gone_hash(key, len);
    uint64_t *cell = &j->gone[(h >> 32) & (j->gone_cap - 1)];
    if (why != RW_JOIN_NEVER)
        *cell = h | (uint64_t)why;
    else if ((*cell & ~(uint64_t)GONE_KIND) == h)
        *cell = 0;
}

rw_join_absence_t rw_join_absence(const rw_join_t *j, const char *id)
{
    unsigned char key[KEY_MAX];
    size_t id_len = strlen(id);
    if (j->gone == NULL || id_len == 0 || id_len > RW_JOIN_MAX_ID_LEN)
        return RW_JOIN_NEVER;
    size_t len = make_key(id, id_len, key);
    if (ib_map_get(j->map, key, len) != NULL)
        return RW_JOIN_NEVER;
    uint64_t h = gone_hash(key, len);
    uint64_t cell = j->gone[(h >> 32) & (j->gone_cap - 1)];
    if (cell == 0 || (cell & ~(uint64_t)GONE_KIND) != h)
        return RW_JOIN_NEVER;
    return (rw_join_absence_t)(cell & GONE_KIND);
}

const char *rw_join_absence_reason(rw_join_absence_t a)
{
    switch (a) {
    case RW_JOIN_NEVER:
        break;
    case RW_JOIN_EVICTED:
        return "interview evicted from the join (finished)";
    case RW_JOIN_REFUSED:
        return "interview refused by the join (WORKER_JOIN_MAX_INTERVIEWS open interviews held)";
    }
    return "no interviews.requested event for it";
}

/* Reports evictions (refused = 0) or refusals (1), each kind in one line at most every
 * LOG_EVERY_MS, so the first of a burst is reported at once and the rest summed up. */
static void log_bound(rw_join_t *j, int refused)
{
    long long now = ib_now_ms();
    long long *at = refused ? &j->refused_logged_at : &j->evicted_logged_at;
    if (*at != 0 && now - *at < LOG_EVERY_MS)
        return;
    *at = now != 0 ? now : 1;
    if (refused) {
        IB_ERROR("join full of open interviews (WORKER_JOIN_MAX_INTERVIEWS=%zu): %llu new "
                 "interview(s) refused since the last report (%llu in all)",
                 j->max, j->refused - j->logged_refused, j->refused);
        j->logged_refused = j->refused;
    } else {
        IB_INFO("join at its bound (WORKER_JOIN_MAX_INTERVIEWS=%zu): %llu finished interview(s) "
                "evicted since the last report (%llu in all)",
                j->max, j->evicted - j->logged_evicted, j->evicted);
        j->logged_evicted = j->evicted;
    }
}

/* Makes room for one new entry: evicts the earliest finished one. IB_AGAIN when all are open. */
static ib_rc_t make_room(rw_join_t *j)
{
    if (ib_map_count(j->map) < j->max)
        return IB_OK;
    entry_t *victim = j->oldest;
    if (victim == NULL) {
        j->refused++;
        log_bound(j, 1);
        return IB_AGAIN;
    }
    size_t len = key_len(victim);
    (void)ib_map_remove(j->map, victim->data, len);
    gone_mark(j, victim->data, len, RW_JOIN_EVICTED);
    entry_free(j, victim);
    j->evicted++;
    log_bound(j, 0);
    return IB_OK;
}

ib_rc_t rw_join_put(rw_join_t *j, const char *id, uint16_t tenant, int32_t partition,
                    rw_join_state_t state, const char *callback_url)
{
    unsigned char key[KEY_MAX];
    unsigned char packed[PACKED];
    size_t id_len = strlen(id);
    size_t url_len = strlen(callback_url);
    if (id_len == 0 || id_len > RW_JOIN_MAX_ID_LEN || url_len > RW_JOIN_MAX_URL_LEN ||
        partition < 0 || partition > UINT16_MAX)
        return IB_ERR;

    size_t klen = make_key(id, id_len, key);
    const char *slash = strrchr(callback_url, '/');
    size_t plen = slash != NULL ? (size_t)(slash - callback_url) + 1 : 0;
    const char *sfx = callback_url + plen;
    size_t slen = url_len - plen;
    int sfx_packed = pack_hex(sfx, slen, packed);
    size_t size = ENTRY_HDR + klen + 1 + (sfx_packed ? PACKED : slen + 1);

    entry_t *known = ib_map_get(j->map, key, klen);
    entry_t *e = malloc(size);
    prefix_t *prefix = NULL;
    if (e == NULL)
        return IB_ERR;
    if (plen > 0 && (prefix = prefix_ref(j, callback_url, plen)) == NULL) {
        free(e);
        return IB_ERR;
    }
    memset(e, 0, ENTRY_HDR);
    e->prefix = prefix;
    e->tenant = tenant;
    e->partition = (uint16_t)partition;
    e->state = (uint8_t)state;
    e->latest = NO_LATEST;
    memcpy(e->data, key, klen);
    if (sfx_packed) {
        e->data[klen] = 0;
        memcpy(e->data + klen + 1, packed, PACKED);
    } else {
        e->data[klen] = 1;
        memcpy(e->data + klen + 1, sfx, slen + 1);
    }
    if (known != NULL) {
        /* A repeated requested event keeps what the status events taught us, and its place. */
        e->latest = known->latest;
        e->latest_ms = known->latest_ms;
    } else if (make_room(j) != IB_OK) {
        gone_mark(j, key, klen, RW_JOIN_REFUSED);
        prefix_unref(j, prefix);
        free(e);
        return IB_AGAIN;
    }
    void *old = NULL;
    if (ib_map_put(j->map, e, &old) != IB_OK) {
        prefix_unref(j, prefix);
        free(e);
        return IB_ERR;
    }
    j->entry_bytes += size;
    if (old != NULL) {
        entry_t *was = old;
        if (is_finished(was)) {
            finished_replace(j, was, e);
            was->prev = was->next = NULL;
            was->latest = NO_LATEST; /* already unlinked: entry_free must not unlink it */
        }
        entry_free(j, was);
    } else {
        gone_mark(j, key, klen, RW_JOIN_NEVER);
    }
    return IB_OK;
}

int rw_join_get(const rw_join_t *j, const char *id, rw_join_view_t *out)
{
    const entry_t *e = find(j, id);
    if (e == NULL)
        return 0;
    out->tenant = e->tenant;
    out->partition = e->partition;
    out->state = (rw_join_state_t)e->state;
    size_t plen = e->prefix != NULL ? e->prefix->len : 0;
    if (plen > 0)
        memcpy(j->url, e->prefix->text, plen);
    const unsigned char *sfx = suffix_of(e);
    if (sfx[0] == 0) {
        unpack_hex(sfx + 1, j->url + plen);
        j->url[plen + 2 * PACKED] = '\0';
    } else {
        memcpy(j->url + plen, sfx + 1, strlen((const char *)sfx + 1) + 1);
    }
    out->callback_url = j->url;
    return 1;
}

int rw_join_latest(const rw_join_t *j, const char *id, ib_status_t *status, long long *occurred_ms)
{
    const entry_t *e = find(j, id);
    if (e == NULL || e->latest == NO_LATEST)
        return 0;
    *status = (ib_status_t)e->latest;
    *occurred_ms = e->latest_ms;
    return 1;
}

rw_order_t rw_join_order(rw_join_t *j, const char *id, ib_status_t status, long long occurred_ms,
                         int update)
{
    entry_t *e = find(j, id);
    if (e == NULL)
        return RW_ORDER_UNKNOWN;
    rw_order_t verdict;
    int cmp = e->latest == NO_LATEST
                  ? 1
                  : ib_status_compare((ib_status_t)e->latest, e->latest_ms, status, occurred_ms);
    if (cmp > 0)
        verdict = RW_ORDER_NEWER;
    else if (cmp == 0)
        verdict = RW_ORDER_SAME;
    else
        verdict = RW_ORDER_OLDER;
    if (update && verdict == RW_ORDER_NEWER) {
        int was_finished = is_finished(e);
        e->latest = (uint8_t)status;
        e->latest_ms = occurred_ms;
        if (!was_finished && is_finished(e))
            finished_append(j, e);
    }
    return verdict;
}

typedef struct {
    rw_join_t *j;
    uint16_t partition;
} part_arg_t;

static int in_partition(void *item, void *arg)
{
    part_arg_t *a = arg;
    entry_t *e = item;
    if (e->partition != a->partition)
        return 0;
    return drop_entry(item, a->j);
}

size_t rw_join_remove_partition(rw_join_t *j, int32_t partition)
{
    if (partition < 0 || partition > UINT16_MAX)
        return 0;
    part_arg_t a = {j, (uint16_t)partition};
    return ib_map_remove_if(j->map, in_partition, &a);
}

int rw_join_remove(rw_join_t *j, const char *id, size_t id_len)
{
    if (id_len == 0 || id_len > RW_JOIN_MAX_ID_LEN)
        return 0;
    unsigned char key[KEY_MAX];
    entry_t *e = ib_map_remove(j->map, key, make_key(id, id_len, key));
    if (e == NULL)
        return 0;
    entry_free(j, e);
    return 1;
}

/* The id of e, as text, into id[RW_JOIN_MAX_ID_LEN + 1]. */
static void entry_id(const entry_t *e, char *id)
{
    if (e->data[0] == 0) {
        unpack_hex(e->data + 1, id);
        id[2 * PACKED] = '\0';
    } else {
        memcpy(id, e->data + 1, e->data[0]);
        id[e->data[0]] = '\0';
    }
}

size_t rw_join_expire(rw_join_t *j, long long cutoff_ms, size_t max, rw_join_expire_fn *fn,
                      void *arg)
{
    char id[RW_JOIN_MAX_ID_LEN + 1];
    size_t n = 0;
    while (n < max && j->oldest != NULL && j->oldest->latest_ms < cutoff_ms) {
        entry_t *e = j->oldest;
        size_t klen = key_len(e);
        entry_id(e, id);
        int32_t partition = e->partition;
        entry_t *gone = ib_map_remove(j->map, e->data, klen);
        if (gone != e) /* cannot happen: every listed entry is in the table */
            break;
        entry_free(j, e);
        fn(id, partition, arg);
        n++;
    }
    return n;
}

size_t rw_join_expire_open(rw_join_t *j, long long cutoff_ms, size_t max, rw_join_expire_fn *fn,
                           void *arg)
{
    /* Found first, dropped after: the table must not change during the walk, and fn sees a
     * join without the entry. */
    size_t pos = 0;
    size_t n = 0;
    entry_t **found = NULL;
    size_t cap = 0;
    entry_t *e;
    while (n < max && (e = ib_map_next(j->map, &pos)) != NULL) {
        if (e->latest != (uint8_t)IB_STATUS_PENDING || e->latest_ms >= cutoff_ms)
            continue;
        if (n == cap) {
            size_t ncap = cap == 0 ? 64 : 2 * cap;
            entry_t **nf = realloc(found, ncap * sizeof(*nf));
            if (nf == NULL)
                break; /* out of memory: the rest waits for the next walk */
            found = nf;
            cap = ncap;
        }
        found[n++] = e;
    }
    for (size_t i = 0; i < n; i++) {
        char id[RW_JOIN_MAX_ID_LEN + 1];
        entry_t *x = found[i];
        int32_t partition = x->partition;
        entry_id(x, id);
        (void)ib_map_remove(j->map, x->data, key_len(x));
        entry_free(j, x);
        fn(id, partition, arg);
    }
    free(found);
    return n;
}

rw_join_state_t rw_join_state_of_verdict(ib_callback_url_verdict_t v)
{
    switch (v) {
    case IB_CALLBACK_URL_OK:
        return RW_JOIN_OK;
    case IB_CALLBACK_URL_MALFORMED:
    case IB_CALLBACK_URL_USERINFO:
        return RW_JOIN_BAD_URL;
    case IB_CALLBACK_URL_SCHEME:
        return RW_JOIN_SCHEME_REJECTED;
    case IB_CALLBACK_URL_HOST:
        return RW_JOIN_HOST_NOT_ALLOWED;
    case IB_CALLBACK_URL_LOOPBACK:
        return RW_JOIN_LOOPBACK;
    case IB_CALLBACK_URL_PORT:
        return RW_JOIN_PORT_NOT_ALLOWED;
    }
    return RW_JOIN_BAD_URL;
}

rw_join_state_t rw_callback_url_check(const ib_tenant_t *t, const char *url, int allow_insecure)
{
    return rw_join_state_of_verdict(ib_callback_url_check(url, t, allow_insecure, NULL, NULL, 0));
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
    rc = rw_join_put(j, id, (uint16_t)(t - ts->tenants), partition, *state_out, url);
    if (rc == IB_AGAIN) {
        snprintf(errstr, errstr_size,
                 "join full: %zu interviews held, none finished (WORKER_JOIN_MAX_INTERVIEWS)",
                 j->max);
        goto done;
    }
    if (rc != IB_OK) {
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
