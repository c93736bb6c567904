/* Fuzzes POST /interviews validation (api-gateway/src/validate.c): the input is the raw body.
 * Every input is validated twice: for groove-tech (https only, job ids checked) and for localdev
 * (ALLOW_INSECURE_CALLBACKS, no job categorisation). On success the request must satisfy what
 * the producer relies on; on failure the error must be the contract's 400 or 422. The in-place
 * JSON reader (shared/src/jsonr.c) must accept what jansson accepts and re-encode it as
 * ib_jw_value does. */
#include <string.h>

#include "fuzz.h"
#include "ib/json.h"
#include "ib/jsonr.h"
#include "validate.h"

#define ID_MAX_LEN   256
#define TEXT_MAX_LEN 1024

static ib_tenants_t *tenants;

/* The catalog: groove-tech knows templates "12345" and "2", localdev knows "t1". */
static int template_known(const char *tenant_id, const char *template_id, void *opaque)
{
    (void)opaque;
    if (strcmp(tenant_id, "groove-tech") == 0)
        return strcmp(template_id, "12345") == 0 || strcmp(template_id, "2") == 0;
    return strcmp(template_id, "t1") == 0;
}

/* groove-tech has jobs "6789" and "yec3". */
static int job_known(const char *tenant_id, const char *job_id, void *opaque)
{
    (void)opaque;
    if (strcmp(tenant_id, "groove-tech") != 0)
        return -1;
    return strcmp(job_id, "6789") == 0 || strcmp(job_id, "yec3") == 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_jansson();
    tenants = fuzz_tenants();
    return 0;
}

static void check_text(const char *s, size_t max_len)
{
    FUZZ_CHECK(s != NULL);
    FUZZ_CHECK(s[0] != '\0');
    FUZZ_CHECK(strlen(s) <= max_len);
}

static void check_ok(const gw_validate_ctx_t *ctx, const gw_interview_request_t *r)
{
    gw_error_t err;

    check_text(r->interview_template_id, ID_MAX_LEN);
    FUZZ_CHECK(template_known(ctx->tenant->id, r->interview_template_id, NULL));
    if (r->job_id != NULL) {
        check_text(r->job_id, ID_MAX_LEN);
        FUZZ_CHECK(ctx->job_known == NULL || ctx->job_known(ctx->tenant->id, r->job_id, NULL));
    }
    check_text(r->job_title, TEXT_MAX_LEN);
    check_text(r->callback_url, 2048);
    for (const char *p = r->callback_url; *p != '\0'; p++)
        FUZZ_CHECK((unsigned char)*p > 0x20 && *p != 0x7f);
    FUZZ_CHECK(gw_validate_callback_url(ctx, r->callback_url, &err) == IB_OK);

    check_text(r->candidate.first_name, TEXT_MAX_LEN);
    if (r->candidate.last_name != NULL) /* optional */
        check_text(r->candidate.last_name, TEXT_MAX_LEN);
    check_text(r->candidate.email, 254);
    FUZZ_CHECK(gw_email_valid(r->candidate.email));
    if (r->candidate.phone != NULL)
        check_text(r->candidate.phone, ID_MAX_LEN);

    /* preferences is the compact text of an object, as jansson prints the one it parses. */
    if (r->preferences != NULL) {
        FUZZ_CHECK(r->preferences_len == strlen(r->preferences));
        json_t *p = json_loadb(r->preferences, r->preferences_len, JSON_REJECT_DUPLICATES, NULL);
        FUZZ_CHECK(json_is_object(p));
        char *text = json_dumps(p, JSON_COMPACT);
        FUZZ_CHECK(text != NULL && strcmp(text, r->preferences) == 0);
        free(text);
        json_decref(p);
    }
}

static void check_err(const gw_interview_request_t *r, const gw_error_t *err)
{
    static const gw_interview_request_t zero = {0};

    FUZZ_CHECK(memcmp(r, &zero, sizeof(zero)) == 0);
    FUZZ_CHECK(err->status == 400 || err->status == 422);
    /* The contract's pairing: 422 is only ever a missing field. */
    FUZZ_CHECK((err->status == 422) == (strncmp(err->message, "Missing field: ", 15) == 0));
    FUZZ_CHECK(memchr(err->message, '\0', sizeof(err->message)) != NULL);
    FUZZ_CHECK(err->message[0] != '\0');
}

static void run(const gw_validate_ctx_t *ctx, const uint8_t *data, size_t size)
{
    gw_interview_request_t r;
    gw_error_t err = {0};

    if (gw_validate_interview(ctx, (const char *)data, size, &r, &err) == IB_OK)
        check_ok(ctx, &r);
    else
        check_err(&r, &err);
    gw_interview_request_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const gw_validate_ctx_t secure = {
        .tenant = ib_tenants_find(tenants, "groove-tech"),
        .allow_insecure_callbacks = 0,
        .template_known = template_known,
        .job_known = job_known,
    };
    const gw_validate_ctx_t insecure = {
        .tenant = ib_tenants_find(tenants, "localdev"),
        .allow_insecure_callbacks = 1,
        .template_known = template_known,
        .job_known = NULL,
    };

    /* The in-place reader accepts exactly what jansson (ib_json_parse) accepts. */
    char why[128];
    ib_jr_value_t root;
    json_t *tree = ib_json_parse((const char *)data, size, IB_JSON_MAX_DEPTH, why, sizeof(why));
    FUZZ_CHECK((ib_jr_check((const char *)data, size, IB_JSON_MAX_DEPTH, &root) == IB_OK) ==
               (tree != NULL));
    if (tree != NULL) {
        /* ...and writes what ib_jw_value writes of jansson's tree. */
        ib_jw_t a, b;
        ib_jw_init(&a, NULL, 0);
        ib_jw_init(&b, NULL, 0);
        ib_jr_write(&a, &root);
        ib_jw_value(&b, tree);
        FUZZ_CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
        ib_jw_free(&a);
        ib_jw_free(&b);
    }
    json_decref(tree);

    run(&secure, data, size);
    run(&insecure, data, size);
    return 0;
}
