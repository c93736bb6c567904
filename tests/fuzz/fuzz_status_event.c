/* Fuzzes the status-event parser and payload builder (shared/src/payload.c,
 * ib_status_event_parse): the input is the Kafka value. On success the payload must be what the
 * worker may PUT to Workable; on failure the event is zeroed and a reason is given. */
#include <string.h>

#include "fuzz.h"
#include "ib/payload.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_jansson();
    return 0;
}

static int one_of(const char *s, const char *const *words)
{
    for (; *words != NULL; words++)
        if (strcmp(s, *words) == 0)
            return 1;
    return 0;
}

static int https_url(const json_t *v)
{
    const char *s = json_string_value(v);
    return s != NULL && strncmp(s, "https://", 8) == 0 && strlen(s) > 8;
}

static void check_details(const json_t *d, int level)
{
    const char *key;
    json_t *v;

    FUZZ_CHECK(json_is_object(d));
    json_object_foreach((json_t *)(uintptr_t)d, key, v)
    {
        FUZZ_CHECK(!json_is_array(v));
        if (json_is_object(v)) {
            FUZZ_CHECK(level == 1); /* details -> group -> scalar: two levels at most */
            check_details(v, level + 1);
        }
    }
}

static void check_payload(const ib_status_event_t *ev)
{
    static const char *const top[] = {"results_url", "status", "interview", "attachments", NULL};
    static const char *const iv_keys[] = {"score", "grade", "summary", "details", "duration", NULL};
    static const char *const statuses[] = {"pending", "completed", "declined", "expired", NULL};
    static const char *const grades[] = {"failed", "passed", "excelled", NULL};
    const char *key;
    json_t *v;

    FUZZ_CHECK(ev->interview_id != NULL && ev->interview_id[0] != '\0');
    FUZZ_CHECK(strlen(ev->interview_id) <= 128);
    FUZZ_CHECK(json_is_object(ev->payload));
    json_object_foreach(ev->payload, key, v)
    {
        FUZZ_CHECK(one_of(key, top));
    }
    const char *status = json_string_value(json_object_get(ev->payload, "status"));
    FUZZ_CHECK(status != NULL && one_of(status, statuses));
    FUZZ_CHECK(strcmp(status, ib_status_name(ev->status)) == 0);

    v = json_object_get(ev->payload, "results_url");
    FUZZ_CHECK(v == NULL || https_url(v));

    json_t *iv = json_object_get(ev->payload, "interview");
    if (iv != NULL) {
        FUZZ_CHECK(json_is_object(iv));
        json_object_foreach(iv, key, v)
        {
            FUZZ_CHECK(one_of(key, iv_keys));
        }
        v = json_object_get(iv, "score");
        FUZZ_CHECK(v == NULL || json_is_string(v));
        v = json_object_get(iv, "grade");
        FUZZ_CHECK(v == NULL || (json_is_string(v) && one_of(json_string_value(v), grades)));
        v = json_object_get(iv, "summary");
        FUZZ_CHECK(v == NULL || json_is_string(v));
        v = json_object_get(iv, "duration");
        FUZZ_CHECK(v == NULL || json_is_string(v));
        v = json_object_get(iv, "details");
        if (v != NULL)
            check_details(v, 1);
    }

    json_t *att = json_object_get(ev->payload, "attachments");
    if (att != NULL) {
        size_t i;
        FUZZ_CHECK(json_is_array(att));
        json_array_foreach(att, i, v)
        {
            FUZZ_CHECK(json_is_object(v));
            FUZZ_CHECK(https_url(json_object_get(v, "url")));
            json_t *desc = json_object_get(v, "description");
            FUZZ_CHECK(desc == NULL || json_is_string(desc));
        }
    }

    if (ev->shared_link != NULL) {
        FUZZ_CHECK(https_url(json_object_get(ev->shared_link, "url")));
        /* Stored forms: {url}; {url, ttl, ttl_units: views}; {url, ttl_units: minutes|days,
         * expires_at_ms} (the countdown is answered from the expiry, payload.c). */
        v = json_object_get(ev->shared_link, "ttl");
        json_t *units = json_object_get(ev->shared_link, "ttl_units");
        json_t *expires = json_object_get(ev->shared_link, "expires_at_ms");
        FUZZ_CHECK(v == NULL || json_is_string(v));
        if (units == NULL) {
            FUZZ_CHECK(v == NULL && expires == NULL);
        } else {
            static const char *const timed[] = {"minutes", "days", NULL};
            FUZZ_CHECK(json_is_string(units));
            if (strcmp(json_string_value(units), "views") == 0)
                FUZZ_CHECK(v != NULL && expires == NULL);
            else
                FUZZ_CHECK(one_of(json_string_value(units), timed) && v == NULL &&
                           json_is_integer(expires));
        }
    }

    /* The worker sends the payload as a PUT body: it must encode, and stay within the limits. */
    char *text = json_dumps(ev->payload, JSON_COMPACT);
    FUZZ_CHECK(text != NULL);
    json_error_t jerr;
    json_t *back = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    FUZZ_CHECK(back != NULL && json_equal(back, ev->payload));
    json_decref(back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ib_status_event_t zero = {0};
    ib_status_event_t ev;
    char err[256];

    err[0] = '\0';
    if (ib_status_event_parse((const char *)data, size, &ev, err, sizeof(err)) == IB_OK) {
        check_payload(&ev);
    } else {
        FUZZ_CHECK(memcmp(&ev, &zero, sizeof(zero)) == 0);
        FUZZ_CHECK(err[0] != '\0');
    }
    ib_status_event_clear(&ev);
    return 0;
}
