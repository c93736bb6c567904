/* Unit tests of api-gateway/src/interviews.c: ownership, latest state (ib_status_supersedes), the
 * payload exactly as ib_status_event_parse builds it (the worker's PUT body), shared links,
 * interviews.state records (owner and state from one record), erasure by tombstones, the bound,
 * and the memory one known interview costs. */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ib/crypto.h"
#include "ib/payload.h"
#include "interviews.h"

static const char TENANTS[] =
    "{\"tenants\":["
    "{\"id\":\"groove-tech\",\"api_token_sha256\":"
    "[\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"],"
    "\"workable_token\":\"w1\",\"callback_hosts\":[\"groove-tech.workable.com\"]},"
    "{\"id\":\"acme\",\"api_token_sha256\":"
    "[\"486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7\"],"
    "\"workable_token\":\"w2\",\"callback_hosts\":[\"acme.workable.com\"],"
    "\"declined_status\":\"rejected\"}]}";

/* The status example of docs/DESIGN.md with the contract's results. %s: interview id, then
 * occurred_at. */
static const char COMPLETED[] =
    "{\"interview_id\":\"%s\",\"status\":\"completed\",\"occurred_at\":\"%s\","
    "\"results_url\":\"https://acme.com/interviews/2044922\","
    "\"interview\":{\"score\":78,\"grade\":\"excelled\","
    "\"summary\":\"This candidate is an excellent prospect.\","
    "\"details\":{\"behavior\":{\"Influence\":97,\"conscientiousness\":76},"
    "\"mental_skills\":{\"Problem Solving\":82,\"Aptitude\":91}},\"duration\":\"01:01:17\"},"
    "\"attachments\":[{\"description\":\"Interview Report\","
    "\"url\":\"https://acme.com/interviews/2044922/report.pdf\"}],"
    "\"shared_link\":{\"url\":\"https://acme.com/interviews/2044922/link\",\"ttl\":120,"
    "\"ttl_units\":\"minutes\"}}";

static ib_tenants_t *tenants;
static const ib_tenant_t *groove;
static const ib_tenant_t *acme;
static gw_interviews_t *view;

static int setup(void **state)
{
    char err[256];
    (void)state;
    tenants = ib_tenants_parse(TENANTS, strlen(TENANTS), NULL, err, sizeof(err));
    if (tenants == NULL)
        return -1;
    groove = ib_tenants_find(tenants, "groove-tech");
    acme = ib_tenants_find(tenants, "acme");
    view = gw_interviews_new(tenants, 1000000);
    return view != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    gw_interviews_free(view);
    ib_tenants_free(tenants);
    return 0;
}

static void make_id(const char *tenant, int n, char id[33])
{
    char url[128];
    snprintf(url, sizeof(url), "https://%s.workable.com/interviews/%d", tenant, n);
    ib_interview_id("secret", tenant, url, id);
}

static ib_rc_t requested(const char *id, const char *tenant)
{
    char value[512];
    char err[256];
    snprintf(value, sizeof(value),
             "{\"interview_id\":\"%s\",\"tenant\":\"%s\",\"interview_template_id\":\"1\"}", id,
             tenant);
    return gw_interviews_apply_requested(view, id, strlen(id), value, strlen(value), err,
                                         sizeof(err));
}

static ib_rc_t status_text(const char *text)
{
    char err[256];
    return gw_interviews_apply_status(view, text, strlen(text), err, sizeof(err));
}

static ib_rc_t status(const char *id, const char *st, const char *at)
{
    char value[512];
    snprintf(value, sizeof(value),
             "{\"interview_id\":\"%s\",\"status\":\"%s\",\"occurred_at\":\"%s\"}", id, st, at);
    return status_text(value);
}

static char *payload_of(const ib_tenant_t *t, const char *id, gw_iv_result_t expect)
{
    char *text = NULL;
    assert_int_equal(gw_interviews_payload(view, t, id, &text), expect);
    return text;
}

static void expect_payload(const ib_tenant_t *t, const char *id, const char *want)
{
    char *text = payload_of(t, id, GW_IV_FOUND);
    assert_string_equal(text, want);
    free(text);
}

static void test_pending_unknown_and_isolation(void **state)
{
    char id[33], other[33];
    (void)state;
    make_id("groove-tech", 1, id);
    make_id("groove-tech", 2, other);

    assert_null(payload_of(groove, id, GW_IV_UNKNOWN));
    assert_int_equal(requested(id, "groove-tech"), IB_OK);
    expect_payload(groove, id, "{\"status\":\"pending\"}");
    assert_null(payload_of(acme, id, GW_IV_UNKNOWN)); /* another tenant's id: 404 */
    assert_null(payload_of(groove, other, GW_IV_UNKNOWN));
    assert_null(payload_of(NULL, id, GW_IV_UNKNOWN));
    /* Only the exact lowercase id names it. */
    char upper[33];
    for (size_t i = 0; i < 33; i++)
        upper[i] = (char)(id[i] >= 'a' && id[i] <= 'f' ? id[i] - 32 : id[i]);
    if (strcmp(upper, id) != 0)
        assert_null(payload_of(groove, upper, GW_IV_UNKNOWN));
    assert_null(payload_of(groove, "2044922", GW_IV_UNKNOWN));
    assert_null(payload_of(groove, "", GW_IV_UNKNOWN));
    /* A second requested event naming another tenant does not steal it. */
    assert_int_equal(requested(id, "acme"), IB_OK);
    assert_null(payload_of(acme, id, GW_IV_UNKNOWN));
    expect_payload(groove, id, "{\"status\":\"pending\"}");
}

/* The payload is byte for byte what ib_status_event_parse builds and the worker PUTs. */
static void test_payload_is_the_workers(void **state)
{
    char id[33], text[2048], err[256];
    ib_status_event_t ev;
    (void)state;
    make_id("groove-tech", 3, id);
    snprintf(text, sizeof(text), COMPLETED, id, "2026-11-28T20:00:00Z");
    assert_int_equal(ib_status_event_parse(text, strlen(text), &ev, err, sizeof(err)), IB_OK);
    char *want = json_dumps(ev.payload, JSON_COMPACT);
    char *want_link = json_dumps(ev.shared_link, JSON_COMPACT);
    ib_status_event_clear(&ev);

    assert_int_equal(requested(id, "groove-tech"), IB_OK);
    assert_int_equal(status_text(text), IB_OK);
    expect_payload(groove, id, want);
    char *link = NULL;
    long long t0 = 0;
    assert_int_equal(ib_rfc3339_parse("2026-11-28T20:00:00Z", &t0), IB_OK);
    /* The stored link is the expiry; the answer counts down from occurred_at + ttl. */
    assert_string_equal(want_link, "{\"url\":\"https://acme.com/interviews/2044922/link\","
                                   "\"ttl_units\":\"minutes\",\"expires_at_ms\":1795903200000}");
    assert_int_equal(gw_interviews_shared_link_at(view, groove, id, t0, &link), GW_IV_FOUND);
    assert_string_equal(link,
                        "{\"url\":\"https://acme.com/interviews/2044922/link\",\"ttl\":\"120\","
                        "\"ttl_units\":\"minutes\"}");
    free(link);
    assert_int_equal(gw_interviews_shared_link_at(view, groove, id, t0 + 30 * 60000, &link),
                     GW_IV_FOUND);
    assert_string_equal(link,
                        "{\"url\":\"https://acme.com/interviews/2044922/link\",\"ttl\":\"90\","
                        "\"ttl_units\":\"minutes\"}");
    free(link);
    assert_int_equal(gw_interviews_shared_link_at(view, groove, id, t0 + 120 * 60000, &link),
                     GW_IV_LINK_EXPIRED);
    assert_null(link);
    assert_int_equal(gw_interviews_shared_link(view, acme, id, &link), GW_IV_UNKNOWN);
    assert_null(link);
    free(want);
    free(want_link);
}

static void test_latest_state_wins(void **state)
{
    char id[33];
    (void)state;
    make_id("groove-tech", 4, id);
    /* The status event may be read before the requested event (two topics). */
    assert_int_equal(status(id, "pending", "2026-11-28T19:00:00Z"), IB_OK);
    assert_null(payload_of(groove, id, GW_IV_UNKNOWN)); /* no owner yet */
    assert_int_equal(requested(id, "groove-tech"), IB_OK);
    expect_payload(groove, id, "{\"status\":\"pending\"}");
    char *link = NULL;
    assert_int_equal(gw_interviews_shared_link(view, groove, id, &link), GW_IV_NO_LINK);

    assert_int_equal(status(id, "rejected", "2026-11-28T20:00:00Z"), IB_OK);
    expect_payload(groove, id, "{\"status\":\"declined\"}");
    /* Older, and pending after a terminal state: ignored. */
    assert_int_equal(status(id, "expired", "2026-11-28T19:30:00Z"), IB_OK);
    assert_int_equal(status(id, "pending", "2026-11-29T00:00:00Z"), IB_OK);
    expect_payload(groove, id, "{\"status\":\"declined\"}");
    /* A finished interview does not become another finished state; a later event of the same
     * state updates it. */
    assert_int_equal(status(id, "expired", "2026-11-28T21:00:00Z"), IB_OK);
    assert_int_equal(status(id, "completed", "2026-11-28T22:00:00Z"), IB_OK);
    expect_payload(groove, id, "{\"status\":\"declined\"}");
    char later[256];
    snprintf(later, sizeof(later),
             "{\"interview_id\":\"%s\",\"status\":\"declined\",\"occurred_at\":"
             "\"2026-11-28T23:00:00Z\",\"results_url\":\"https://a.b/r\"}",
             id);
    assert_int_equal(status_text(later), IB_OK);
    expect_payload(groove, id, "{\"results_url\":\"https://a.b/r\",\"status\":\"declined\"}");

    gw_interviews_stats_t st;
    gw_interviews_stats(view, &st);
    assert_int_equal(st.interviews, 1);
    assert_int_equal(st.with_status, 1);
    assert_int_equal(st.unowned, 0);
}

/* A tenant whose Workable side expects "rejected" gets that word on GET; others "declined". */
static void test_declined_word_per_tenant(void **state)
{
    char g[33], a[33];
    (void)state;
    make_id("groove-tech", 40, g);
    make_id("acme", 41, a);
    assert_int_equal(requested(g, "groove-tech"), IB_OK);
    assert_int_equal(requested(a, "acme"), IB_OK);
    expect_payload(acme, a, "{\"status\":\"pending\"}");
    assert_int_equal(status(g, "declined", "2026-11-28T20:00:00Z"), IB_OK);
    assert_int_equal(status(a, "declined", "2026-11-28T20:00:00Z"), IB_OK);
    expect_payload(groove, g, "{\"status\":\"declined\"}");
    expect_payload(acme, a, "{\"status\":\"rejected\"}");
    make_id("acme", 42, a);
    assert_int_equal(requested(a, "acme"), IB_OK);
    assert_int_equal(status(a, "completed", "2026-11-28T20:00:00Z"), IB_OK);
    expect_payload(acme, a, "{\"status\":\"completed\"}");
}

static void test_refused_records(void **state)
{
    char id[33], err[256];
    (void)state;
    make_id("groove-tech", 5, id);
    const char *v = "{\"interview_id\":\"x\",\"tenant\":\"groove-tech\"}";
    /* key not an id; value's id not the key; tenant unknown; not JSON; tombstone */
    assert_int_equal(gw_interviews_apply_requested(view, "x", 1, v, strlen(v), err, sizeof(err)),
                     IB_ERR);
    assert_int_equal(gw_interviews_apply_requested(view, id, 32, v, strlen(v), err, sizeof(err)),
                     IB_ERR);
    assert_int_equal(requested(id, "nobody"), IB_ERR);
    assert_int_equal(gw_interviews_apply_requested(view, id, 32, "{", 1, err, sizeof(err)), IB_ERR);
    assert_int_equal(gw_interviews_apply_requested(view, id, 32, NULL, 0, err, sizeof(err)),
                     IB_ERR);
    assert_int_equal(status(id, "bogus", "2026-11-28T20:00:00Z"), IB_ERR);
    assert_int_equal(status("2044922", "completed", "2026-11-28T20:00:00Z"), IB_ERR);
    assert_int_equal(status_text("{\"interview_id\":1}"), IB_ERR);
    gw_interviews_stats_t st;
    gw_interviews_stats(view, &st);
    assert_int_equal(st.interviews, 0);
    assert_int_equal(st.refused, 8);
}

static void test_note_owner(void **state)
{
    char id[33];
    (void)state;
    make_id("acme", 7, id);
    assert_int_equal(gw_interviews_note_owner(view, acme, id), IB_OK);
    expect_payload(acme, id, "{\"status\":\"pending\"}");
    assert_null(payload_of(groove, id, GW_IV_UNKNOWN));
    /* The event read back later changes nothing; another tenant cannot take it. */
    assert_int_equal(requested(id, "acme"), IB_OK);
    assert_int_equal(gw_interviews_note_owner(view, groove, id), IB_OK);
    assert_null(payload_of(groove, id, GW_IV_UNKNOWN));
    assert_int_equal(gw_interviews_note_owner(view, acme, "nothex"), IB_ERR);
    assert_int_equal(gw_interviews_note_owner(view, NULL, id), IB_ERR);
    gw_interviews_stats_t st;
    gw_interviews_stats(view, &st);
    assert_int_equal(st.interviews, 1);
}

static void test_owned_id_not_parsed(void **state)
{
    char id[33], err[256];
    (void)state;
    make_id("acme", 8, id);
    assert_int_equal(requested(id, "acme"), IB_OK);
    /* Read back: the id is owned, the value is not looked at (idempotent event). */
    assert_int_equal(gw_interviews_apply_requested(view, id, 32, "{", 1, err, sizeof(err)), IB_OK);
    assert_int_equal(requested(id, "groove-tech"), IB_OK);
    expect_payload(acme, id, "{\"status\":\"pending\"}");
    assert_null(payload_of(groove, id, GW_IV_UNKNOWN));
    /* A tombstone is still refused. */
    assert_int_equal(gw_interviews_apply_requested(view, id, 32, NULL, 0, err, sizeof(err)),
                     IB_ERR);
    gw_interviews_stats_t st;
    gw_interviews_stats(view, &st);
    assert_int_equal(st.interviews, 1);
    assert_int_equal(st.refused, 1);
}

/* A record as the view consumer hands it over: key, value (NULL: a tombstone), topic. */
static void feed(const char *topic, const char *key, const char *value)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(rk);
    rd_kafka_message_t m;
    memset(&m, 0, sizeof(m));
    m.rkt = rd_kafka_topic_new(rk, topic, NULL);
    assert_non_null(m.rkt);
    m.key = (void *)(uintptr_t)key;
    m.key_len = key != NULL ? strlen(key) : 0;
    m.payload = (void *)(uintptr_t)value;
    m.len = value != NULL ? strlen(value) : 0;
    if (strcmp(topic, "interviews.requested") == 0)
        gw_interviews_on_requested(view, &m);
    else if (strcmp(topic, "interviews.state") == 0)
        gw_interviews_on_state(view, &m);
    else
        gw_interviews_on_status(view, &m);
    rd_kafka_topic_destroy(m.rkt);
    rd_kafka_destroy(rk);
}

/* An interviews.state value as the worker writes it: the status event (text, a JSON object) with
 * `tenant` and `callback_url` set at the top, and whatever else the platform sent. */
static void state_value(const char *event, const char *tenant, char *out, size_t size)
{
    int n = snprintf(out, size,
                     "{\"tenant\":\"%s\",\"callback_url\":\"https://%s.workable.com/cb\","
                     "\"vendor_extra\":{\"x\":[1,2]},%s",
                     tenant, tenant, event + 1);
    assert_true(n > 0 && (size_t)n < size);
}

static ib_rc_t state_text(const char *id, const char *value)
{
    char err[256];
    return gw_interviews_apply_state(view, id, strlen(id), value, strlen(value), err, sizeof(err));
}

/* A state record alone gives a tenant-owned interview answered with the worker's payload. */
static void test_state_alone(void **state)
{
    char id[33], event[2048], value[2400], err[256];
    ib_status_event_t ev;
    (void)state;
    make_id("groove-tech", 60, id);
    snprintf(event, sizeof(event), COMPLETED, id, "2026-11-28T20:00:00Z");
    assert_int_equal(ib_status_event_parse(event, strlen(event), &ev, err, sizeof(err)), IB_OK);
    char *want = json_dumps(ev.payload, JSON_COMPACT);
    ib_status_event_clear(&ev);

    state_value(event, "groove-tech", value, sizeof(value));
    assert_int_equal(state_text(id, value), IB_OK);
    expect_payload(groove, id, want);
    assert_null(payload_of(acme, id, GW_IV_UNKNOWN));
    char *link = NULL;
    long long t0 = 0;
    assert_int_equal(ib_rfc3339_parse("2026-11-28T20:00:00Z", &t0), IB_OK);
    assert_int_equal(gw_interviews_shared_link_at(view, groove, id, t0, &link), GW_IV_FOUND);
    assert_string_equal(link,
                        "{\"url\":\"https://acme.com/interviews/2044922/link\",\"ttl\":\"120\","
                        "\"ttl_units\":\"minutes\"}");
    free(link);
    assert_int_equal(gw_interviews_shared_link(view, acme, id, &link), GW_IV_UNKNOWN);
    /* Its requested event read later (another topic) changes nothing; a forged one for another
     * tenant does not take it. */
    assert_int_equal(requested(id, "acme"), IB_OK);
    assert_null(payload_of(acme, id, GW_IV_UNKNOWN));
    expect_payload(groove, id, want);
    /* The tenant's word for declined applies to a state as to a status event. */
    char a[33];
    make_id("acme", 61, a);
    snprintf(event, sizeof(event),
             "{\"interview_id\":\"%s\",\"status\":\"declined\",\"occurred_at\":"
             "\"2026-11-28T20:00:00Z\"}",
             a);
    state_value(event, "acme", value, sizeof(value));
    assert_int_equal(state_text(a, value), IB_OK);
    expect_payload(acme, a, "{\"status\":\"rejected\"}");

    gw_interviews_stats_t st;
    gw_interviews_stats(view, &st);
    assert_int_equal(st.interviews, 2);
    assert_int_equal(st.with_status, 2);
    assert_int_equal(st.unowned, 0);
    assert_int_equal(st.finished, 2);
    assert_int_equal(st.refused, 0);
    free(want);
}

/* State and status records are merged by one rule, whatever order the topics are read in. */
static void test_state_never_regresses(void **state)
{
    char id[33], event[2048], value[2400];
    (void)state;
    make_id("groove-tech", 62, id);
    snprintf(event, sizeof(event),
             "{\"interview_id\":\"%s\",\"status\":\"completed\",\"occurred_at\":"
             "\"2026-11-28T20:00:00Z\",\"results_url\":\"https://a.b/state\"}",
             id);
    state_value(event, "groove-tech", value, sizeof(value));
    assert_int_equal(state_text(id, value), IB_OK);
    const char *want = "{\"results_url\":\"https://a.b/state\",\"status\":\"completed\"}";
    /* Older status events read after it (the raw history still retained): ignored. */
    assert_int_equal(status(id, "pending", "2026-11-28T19:00:00Z"), IB_OK);
    expect_payload(groove, id, want);
    assert_int_equal(status(id, "completed", "2026-11-28T19:30:00Z"), IB_OK);
    expect_payload(groove, id, want);
    assert_int_equal(status(id, "pending", "2026-11-29T00:00:00Z"), IB_OK);
    assert_int_equal(status(id, "expired", "2026-11-29T00:00:00Z"), IB_OK);
    expect_payload(groove, id, want);
    /* A later result of the same state, from either topic, updates it. */
    assert_int_equal(status(id, "completed", "2026-11-28T21:00:00Z"), IB_OK);
    expect_payload(groove, id, "{\"status\":\"completed\"}");
    /* ... and the state record read again (an older one now) does not take it back. */
    assert_int_equal(state_text(id, value), IB_OK);
    expect_payload(groove, id, "{\"status\":\"completed\"}");

    /* The other way round: a status event first, an older state record after it. */
    char other[33];
    make_id("groove-tech", 63, other);
    assert_int_equal(requested(other, "groove-tech"), IB_OK);
    assert_int_equal(status(other, "declined", "2026-11-28T22:00:00Z"), IB_OK);
    snprintf(event, sizeof(event),
             "{\"interview_id\":\"%s\",\"status\":\"pending\",\"occurred_at\":"
             "\"2026-11-28T19:00:00Z\"}",
             other);
    state_value(event, "groove-tech", value, sizeof(value));
    assert_int_equal(state_text(other, value), IB_OK);
    expect_payload(groove, other, "{\"status\":\"declined\"}");
    gw_interviews_stats_t st;
    gw_interviews_stats(view, &st);
    assert_int_equal(st.interviews, 2);
    assert_int_equal(st.finished, 2);
}

/* A state record that is not one of ours changes nothing, not even an owner. */
static void test_state_refused(void **state)
{
    char id[33], other[33], event[2048], value[2400], err[256];
    (void)state;
    make_id("groove-tech", 64, id);
    make_id("groove-tech", 65, other);
    snprintf(event, sizeof(event),
             "{\"interview_id\":\"%s\",\"status\":\"completed\",\"occurred_at\":"
             "\"2026-11-28T20:00:00Z\"}",
             id);
    /* Unknown tenant: neither the owner nor the state is taken. */
    state_value(event, "nobody", value, sizeof(value));
    assert_int_equal(state_text(id, value), IB_ERR);
    gw_interviews_stats_t st;
    gw_interviews_stats(view, &st);
    assert_int_equal(st.interviews, 0);
    assert_int_equal(st.refused, 1);
    /* ... nor over a known interview. */
    assert_int_equal(requested(id, "groove-tech"), IB_OK);
    assert_int_equal(state_text(id, value), IB_ERR);
    expect_payload(groove, id, "{\"status\":\"pending\"}");
    /* No tenant at all (a bare status event); the key is another interview; a bad key; not a
     * status event; a tombstone (gw_interviews_erase's). */
    assert_int_equal(state_text(id, event), IB_ERR);
    state_value(event, "groove-tech", value, sizeof(value));
    assert_int_equal(state_text(other, value), IB_ERR);
    assert_int_equal(
        gw_interviews_apply_state(view, "2044922", 7, value, strlen(value), err, sizeof(err)),
        IB_ERR);
    assert_int_equal(state_text(id, "{\"tenant\":\"groove-tech\",\"status\":\"completed\"}"),
                     IB_ERR);
    assert_int_equal(gw_interviews_apply_state(view, id, 32, NULL, 0, err, sizeof(err)), IB_ERR);
    expect_payload(groove, id, "{\"status\":\"pending\"}");
    assert_null(payload_of(groove, other, GW_IV_UNKNOWN));
    gw_interviews_stats(view, &st);
    assert_int_equal(st.interviews, 1);
    assert_int_equal(st.with_status, 0);
    assert_int_equal(st.refused, 7);
    /* The valid record is taken. */
    assert_int_equal(state_text(id, value), IB_OK);
    expect_payload(groove, id, "{\"status\":\"completed\"}");
}

/* A tombstone on interviews.state drops an interview known from that topic alone. */
static void test_state_tombstone(void **state)
{
    char id[33], event[2048], value[2400];
    (void)state;
    make_id("groove-tech", 66, id);
    snprintf(event, sizeof(event), COMPLETED, id, "2026-11-28T20:00:00Z");
    state_value(event, "groove-tech", value, sizeof(value));
    feed("interviews.state", id, value);
    char *text = payload_of(groove, id, GW_IV_FOUND);
    free(text);
    feed("interviews.state", id, NULL);
    assert_null(payload_of(groove, id, GW_IV_UNKNOWN));
    assert_int_equal(gw_interviews_shared_link(view, groove, id, &text), GW_IV_UNKNOWN);
    gw_interviews_stats_t st;
    gw_interviews_stats(view, &st);
    assert_int_equal(st.interviews, 0);
    assert_int_equal(st.with_status, 0);
    assert_int_equal(st.finished, 0);
    assert_int_equal(st.erased, 1);
    assert_int_equal(st.refused, 0);
}

static void completed(const char *id)
{
    char value[2048];
    snprintf(value, sizeof(value), COMPLETED, id, "2026-11-28T20:00:00Z");
    assert_int_equal(status_text(value), IB_OK);
}

/* The erased id is gone whole: no owner, no state, no link, no bytes held; its neighbour stays. */
static void expect_erased(const char *id, const char *kept, size_t baseline_bytes)
{
    char *text = NULL;
    gw_interviews_stats_t st;
    assert_null(payload_of(groove, id, GW_IV_UNKNOWN));
    assert_int_equal(gw_interviews_shared_link(view, groove, id, &text), GW_IV_UNKNOWN);
    assert_null(text);
    expect_payload(groove, kept, "{\"status\":\"pending\"}");
    gw_interviews_stats(view, &st);
    assert_int_equal(st.interviews, 1);
    assert_int_equal(st.with_status, 0);
    assert_int_equal(st.unowned, 0);
    assert_int_equal(st.bytes, baseline_bytes);
    assert_int_equal(st.refused, 0);
}

static void erase_by(const char *topic)
{
    char id[33], kept[33];
    gw_interviews_stats_t st;
    make_id("groove-tech", 40, id);
    make_id("groove-tech", 41, kept);
    assert_int_equal(requested(kept, "groove-tech"), IB_OK);
    gw_interviews_stats(view, &st);
    size_t baseline = st.bytes;

    assert_int_equal(requested(id, "groove-tech"), IB_OK);
    completed(id);
    char *text = payload_of(groove, id, GW_IV_FOUND);
    free(text);
    feed(topic, id, NULL);
    expect_erased(id, kept, baseline);
    gw_interviews_stats(view, &st);
    assert_int_equal(st.erased, 1);

    /* A status event read after the erasure holds a state again, but no owner: still 404. */
    completed(id);
    assert_null(payload_of(groove, id, GW_IV_UNKNOWN));
    gw_interviews_stats(view, &st);
    assert_int_equal(st.unowned, 1);
    /* ... and the tombstone on the other topic takes that too. */
    feed(strcmp(topic, "interviews.requested") == 0 ? "interviews.status" : "interviews.requested",
         id, NULL);
    expect_erased(id, kept, baseline);
    /* An empty value is a value (refused), not a tombstone; a tombstone for an unknown id or
     * twice is harmless. */
    feed(topic, kept, "");
    expect_payload(groove, kept, "{\"status\":\"pending\"}");
    feed(topic, id, NULL);
    gw_interviews_stats(view, &st);
    assert_int_equal(st.interviews, 1);
    assert_int_equal(st.erased, 3);
    /* Requested again (a new POST for the same callback): known again. */
    assert_int_equal(requested(id, "groove-tech"), IB_OK);
    expect_payload(groove, id, "{\"status\":\"pending\"}");
}

static void test_erase_by_requested_tombstone(void **state)
{
    (void)state;
    erase_by("interviews.requested");
}

static void test_erase_by_status_tombstone(void **state)
{
    (void)state;
    erase_by("interviews.status");
}

static void test_erase_by_state_tombstone(void **state)
{
    (void)state;
    erase_by("interviews.state");
}

static void test_erase_bad_key(void **state)
{
    char err[256];
    (void)state;
    assert_int_equal(gw_interviews_erase(view, "2044922", 7, err, sizeof(err)), IB_ERR);
    assert_int_equal(gw_interviews_erase(view, NULL, 0, err, sizeof(err)), IB_ERR);
    gw_interviews_stats_t st;
    gw_interviews_stats(view, &st);
    assert_int_equal(st.refused, 2);
    assert_int_equal(st.erased, 0);
}

/* Removal closes the gaps it leaves in the probe runs: with the table three quarters full (long
 * runs), erasing every third id leaves every other one findable, and erasing the rest empties
 * the view. */
static void test_erase_keeps_the_rest(void **state)
{
    char id[33], err[256];
    enum { N = 760 }; /* under 3/4 of the 1024 initial slots: no growth in between */
    (void)state;
    for (int i = 0; i < N; i++) {
        make_id("acme", 5000 + i, id);
        assert_int_equal(requested(id, "acme"), IB_OK);
        if (i % 2 == 0)
            assert_int_equal(status(id, "declined", "2026-11-28T20:00:00Z"), IB_OK);
    }
    for (int i = 0; i < N; i += 3) {
        make_id("acme", 5000 + i, id);
        assert_int_equal(gw_interviews_erase(view, id, 32, err, sizeof(err)), IB_OK);
    }
    for (int i = 0; i < N; i++) {
        make_id("acme", 5000 + i, id);
        if (i % 3 == 0)
            assert_null(payload_of(acme, id, GW_IV_UNKNOWN));
        else
            free(payload_of(acme, id, GW_IV_FOUND));
    }
    for (int i = 0; i < N; i++) {
        make_id("acme", 5000 + i, id);
        assert_int_equal(gw_interviews_erase(view, id, 32, err, sizeof(err)), IB_OK);
    }
    gw_interviews_stats_t st;
    gw_interviews_stats(view, &st);
    assert_int_equal(st.interviews, 0);
    assert_int_equal(st.with_status, 0);
    assert_int_equal(st.unowned, 0);
    assert_int_equal(st.bytes, 1024 * gw_interviews_slot_size());
}

static void test_bounded(void **state)
{
    char id[33], err[256];
    (void)state;
    gw_interviews_t *small = gw_interviews_new(tenants, 3);
    assert_non_null(small);
    for (int i = 0; i < 5; i++) {
        char value[256];
        make_id("acme", 100 + i, id);
        snprintf(value, sizeof(value), "{\"interview_id\":\"%s\",\"tenant\":\"acme\"}", id);
        assert_int_equal(
            gw_interviews_apply_requested(small, id, 32, value, strlen(value), err, sizeof(err)),
            i < 3 ? IB_OK : IB_AGAIN);
    }
    gw_interviews_stats_t st;
    gw_interviews_stats(small, &st);
    assert_int_equal(st.interviews, 3);
    assert_int_equal(st.dropped, 2);
    gw_interviews_free(small);
}

static void test_growth_keeps_everything(void **state)
{
    char id[33];
    (void)state;
    for (int i = 0; i < 20000; i++) {
        make_id(i % 2 ? "acme" : "groove-tech", 1000 + i, id);
        assert_int_equal(requested(id, i % 2 ? "acme" : "groove-tech"), IB_OK);
    }
    for (int i = 0; i < 20000; i++) {
        make_id(i % 2 ? "acme" : "groove-tech", 1000 + i, id);
        expect_payload(i % 2 ? acme : groove, id, "{\"status\":\"pending\"}");
        assert_null(payload_of(i % 2 ? groove : acme, id, GW_IV_UNKNOWN));
    }
}

/* Ids sharing their first 8 bytes (16 hex digits) must not pile into one chain: a hash of
 * those bytes alone made n inserts cost n^2/2 probes. The bound is on the slots looked at, not
 * time, so it holds under valgrind and sanitizers. */
static void test_shared_prefix_is_linear(void **state)
{
    const int N = getenv("IB_UNDER_VALGRIND") != NULL ? 20000 : 1000000;
    char id[33];
    char value[256];
    char err[256];
    gw_interviews_stats_t st;
    (void)state;
    gw_interviews_t *v = gw_interviews_new(tenants, (size_t)N);
    assert_non_null(v);
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "0123456789abcdef%016x", (unsigned)i + 1u);
        snprintf(value, sizeof(value), "{\"interview_id\":\"%s\",\"tenant\":\"acme\"}", id);
        assert_int_equal(
            gw_interviews_apply_requested(v, id, 32, value, strlen(value), err, sizeof(err)),
            IB_OK);
    }
    gw_interviews_stats(v, &st);
    assert_int_equal(st.interviews, (size_t)N);
    print_message("%d ids sharing 8 bytes: %llu probes (%.2f per insert, growth included)\n", N,
                  st.probes, (double)st.probes / N);
    assert_true(st.probes < 10ull * (unsigned long long)N);
    gw_interviews_free(v);
}

static size_t heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* Reports what a known interview costs: a pending one (slot only) and one holding the contract's
 * completed payload and shared link. Measured as heap growth (mallinfo2) over N interviews. */
static void test_memory_per_interview(void **state)
{
    /* Under valgrind (scripts/valgrind-unit sets IB_UNDER_VALGRIND) the heap counters are
     * valgrind's and 100,000 interviews take minutes: a smaller run checks memory safety. */
    const int N = getenv("IB_UNDER_VALGRIND") != NULL ? 5000 : 100000;
    char id[33], text[2048];
    (void)state;
    gw_interviews_t *v = gw_interviews_new(tenants, (size_t)N);
    assert_non_null(v);
    gw_interviews_t *saved = view;
    view = v;

    size_t before = heap_used();
    for (int i = 0; i < N; i++) {
        make_id("groove-tech", i, id);
        assert_int_equal(requested(id, "groove-tech"), IB_OK);
    }
    size_t pending = heap_used();
    gw_interviews_stats_t st_pending;
    gw_interviews_stats(v, &st_pending);
    for (int i = 0; i < N; i++) {
        make_id("groove-tech", i, id);
        snprintf(text, sizeof(text), COMPLETED, id, "2026-11-28T20:00:00Z");
        assert_int_equal(status_text(text), IB_OK);
    }
    size_t completed = heap_used();
    gw_interviews_stats_t st;
    gw_interviews_stats(v, &st);
    view = saved;
    gw_interviews_free(v);

    size_t slots = st_pending.bytes / gw_interviews_slot_size();
    print_message("slot %zu bytes, %zu slots for %d interviews (load %.2f): pending %.1f bytes "
                  "each by heap growth (%.1f by the view's accounting); with the contract's "
                  "completed payload + shared link %.1f bytes each (%.1f by accounting)\n",
                  gw_interviews_slot_size(), slots, N, (double)N / (double)slots,
                  (double)(pending - before) / N, (double)st_pending.bytes / N,
                  (double)(completed - before) / N, (double)st.bytes / N);
    if (pending == before) {
        print_message("heap not measurable here (sanitizer allocator): skipped the bound\n");
        return;
    }
    assert_true(gw_interviews_slot_size() <= 40);
    /* One slot at a load factor of at least 3/8 (just after a doubling): <= 107 bytes. */
    assert_true((pending - before) / (size_t)N <= 40 * 8 / 3 + 1);
    /* The payload text (~540 bytes) in one allocation, not a JSON tree (several KiB). */
    assert_true((completed - pending) / (size_t)N <= 700);
}

static int known(const char *id)
{
    char *text = NULL;
    gw_iv_result_t r = gw_interviews_payload(view, groove, id, &text);
    free(text);
    assert_true(r == GW_IV_FOUND || r == GW_IV_UNKNOWN);
    return r == GW_IV_FOUND;
}

/* At the bound only finished interviews go, the one that finished first first; an open one
 * (requested, pending, or no status) never; with only open ones left a new id is dropped. */
static void test_bound_evicts_finished_oldest_first(void **state)
{
    char ids[6][33], fresh[6][33];
    gw_interviews_stats_t st;
    (void)state;
    gw_interviews_t *saved = view;
    view = gw_interviews_new(tenants, 6);
    assert_non_null(view);
    for (int i = 0; i < 6; i++) {
        make_id("groove-tech", 500 + i, ids[i]);
        make_id("groove-tech", 600 + i, fresh[i]);
        assert_int_equal(requested(ids[i], "groove-tech"), IB_OK);
    }
    /* 0 pending, 1 no status; 2..5 finish in the order 4, 2, 5, 3 (occurred_at says otherwise:
     * the order is the order they finished in). */
    assert_int_equal(status(ids[0], "pending", "2026-11-28T10:00:00Z"), IB_OK);
    assert_int_equal(status(ids[4], "expired", "2026-11-28T19:00:00Z"), IB_OK);
    assert_int_equal(status(ids[2], "completed", "2026-11-28T11:00:00Z"), IB_OK);
    assert_int_equal(status(ids[5], "rejected", "2026-11-28T12:00:00Z"), IB_OK);
    assert_int_equal(status(ids[3], "completed", "2026-11-28T09:00:00Z"), IB_OK);
    /* A later result of a finished interview does not move it. */
    assert_int_equal(status(ids[4], "expired", "2026-11-28T21:00:00Z"), IB_OK);
    gw_interviews_stats(view, &st);
    assert_int_equal(st.finished, 4);
    assert_int_equal(st.evicted, 0);

    static const int order[] = {4, 2, 5, 3};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(requested(fresh[k], "groove-tech"), IB_OK);
        for (int m = 0; m < 4; m++)
            assert_int_equal(known(ids[order[m]]), m > k);
        assert_true(known(fresh[k]));
        gw_interviews_stats(view, &st);
        assert_int_equal(st.interviews, 6);
        assert_int_equal(st.evicted, (unsigned long long)k + 1);
        assert_int_equal(st.finished, (size_t)(3 - k));
        assert_int_equal(st.dropped, 0);
    }
    /* The evicted ones are unknown to the shared link too. */
    char *text = NULL;
    assert_int_equal(gw_interviews_shared_link(view, groove, ids[4], &text), GW_IV_UNKNOWN);

    /* Only open ones left: new ids are dropped, whichever way they come, and counted. */
    assert_int_equal(requested(fresh[4], "groove-tech"), IB_AGAIN);
    assert_int_equal(gw_interviews_note_owner(view, groove, fresh[4]), IB_AGAIN);
    assert_int_equal(status(fresh[4], "completed", "2026-11-28T22:00:00Z"), IB_AGAIN);
    gw_interviews_stats(view, &st);
    assert_int_equal(st.dropped, 3);
    assert_int_equal(st.evicted, 4);
    assert_false(known(fresh[4]));
    expect_payload(groove, ids[0], "{\"status\":\"pending\"}");
    expect_payload(groove, ids[1], "{\"status\":\"pending\"}");
    for (int k = 0; k < 4; k++)
        expect_payload(groove, fresh[k], "{\"status\":\"pending\"}");
    /* An update of a held id needs no room. */
    assert_int_equal(status(fresh[0], "pending", "2026-11-28T22:00:00Z"), IB_OK);

    /* One finishes: room for exactly one more, and it is the one evicted. */
    assert_int_equal(status(ids[1], "completed", "2026-11-28T23:00:00Z"), IB_OK);
    assert_int_equal(requested(fresh[4], "groove-tech"), IB_OK);
    assert_false(known(ids[1]));
    assert_true(known(fresh[4]));
    assert_int_equal(requested(fresh[5], "groove-tech"), IB_AGAIN);

    /* A late status event of an evicted interview is held without its owner: still 404. */
    assert_int_equal(status(fresh[2], "declined", "2026-11-28T23:00:00Z"), IB_OK);
    assert_int_equal(status(ids[2], "completed", "2026-11-29T01:00:00Z"), IB_OK);
    assert_false(known(ids[2]));
    assert_false(known(fresh[2]));
    gw_interviews_stats(view, &st);
    assert_int_equal(st.interviews, 6);
    assert_int_equal(st.unowned, 1);
    assert_int_equal(st.evicted, 6);
    gw_interviews_free(view);
    view = saved;
}

/* Many more interviews than the bound pass through: the open ones all stay, the newest finished
 * fill the rest, the accounting follows and the work stays linear. */
static void test_bound_churn(void **state)
{
    /* Smaller under valgrind (scripts/valgrind-unit): memory safety, not measurement. */
    const int N = getenv("IB_UNDER_VALGRIND") != NULL ? 4000 : 20000;
    const int BOUND = N / 20;
    char id[33], text[2048];
    gw_interviews_stats_t st;
    (void)state;
    gw_interviews_t *saved = view;
    view = gw_interviews_new(tenants, (size_t)BOUND);
    assert_non_null(view);
    for (int i = 0; i < N; i++) {
        make_id("groove-tech", 100000 + i, id);
        assert_int_equal(requested(id, "groove-tech"), IB_OK);
        if (i % 40 != 0) { /* N / 40 stay open */
            snprintf(text, sizeof(text), COMPLETED, id, "2026-11-28T20:00:00Z");
            assert_int_equal(status_text(text), IB_OK);
        }
    }
    gw_interviews_stats(view, &st);
    assert_int_equal(st.interviews, (size_t)BOUND);
    assert_int_equal(st.finished, (size_t)(BOUND - N / 40));
    assert_int_equal(st.evicted, (unsigned long long)(N - BOUND));
    assert_int_equal(st.dropped, 0);
    int last_finished_kept = 0;
    for (int i = N - 1; i >= 0; i--) {
        make_id("groove-tech", 100000 + i, id);
        if (i % 40 == 0) {
            expect_payload(groove, id, "{\"status\":\"pending\"}");
        } else if (last_finished_kept < BOUND - N / 40) {
            assert_true(known(id));
            last_finished_kept++;
        } else {
            assert_false(known(id));
        }
    }
    print_message("bound %d, %d interviews: %llu probes (%.2f per record)\n", BOUND, N, st.probes,
                  (double)st.probes / (2.0 * N));
    assert_true(st.probes < 20ull * (unsigned long long)N);
    gw_interviews_free(view);
    view = saved;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pending_unknown_and_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payload_is_the_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latest_state_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_declined_word_per_tenant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_note_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owned_id_not_parsed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_by_requested_tombstone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_by_status_tombstone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_by_state_tombstone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_bad_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_never_regresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_tombstone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_keeps_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_prefix_is_linear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_growth_keeps_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_per_interview, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_evicts_finished_oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_churn, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
