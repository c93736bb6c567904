/* Fuzzes the tenants-file parser (shared/src/tenants.c, ib_tenants_parse): the input is the file.
 * Relative workable_token_file paths resolve in a private directory holding one token file,
 * "token"; stdin is /dev/null so a path to it cannot block. On success the set must hold what
 * authentication and callback vetting rely on. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char base_dir[64];
static char token_path[128];

static void remove_base_dir(void)
{
    unlink(token_path);
    rmdir(base_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FILE *f;

    (void)argc;
    (void)argv;
    fuzz_init_jansson();
    if (freopen("/dev/null", "rb", stdin) == NULL)
        abort();
    snprintf(base_dir, sizeof(base_dir), "/tmp/ib-fuzz-tenants.XXXXXX");
    if (mkdtemp(base_dir) == NULL)
        abort();
    snprintf(token_path, sizeof(token_path), "%s/token", base_dir);
    atexit(remove_base_dir);
    f = fopen(token_path, "wb");
    if (f == NULL || fputs("file-token\n", f) == EOF || fclose(f) != 0)
        abort();
    return 0;
}

static void check_tenant(const ib_tenants_t *ts, const ib_tenant_t *t)
{
    size_t n = strlen(t->id);

    FUZZ_CHECK(n >= 1 && n <= 128);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(isalnum((unsigned char)t->id[i]) || strchr("-_.", t->id[i]) != NULL);
    FUZZ_CHECK(ib_tenants_find(ts, t->id) == t);
    FUZZ_CHECK(t->token_count >= 1);
    FUZZ_CHECK(t->workable_token != NULL && t->workable_token[0] != '\0');
    FUZZ_CHECK(t->callback_host_count >= 1);
    for (size_t i = 0; i < t->callback_host_count; i++) {
        const char *h = t->callback_hosts[i];
        FUZZ_CHECK(h != NULL && h[0] != '\0' && strlen(h) <= 253);
        for (const char *p = h; *p != '\0'; p++)
            FUZZ_CHECK(!isupper((unsigned char)*p));
        if (h[0] != '*') {
            FUZZ_CHECK(ib_tenant_host_allowed(t, h));
            continue;
        }
        FUZZ_CHECK(h[1] == '.' && h[2] != '\0');
        if (t->callback_host_count == 1) {
            /* "*.d" alone: any subdomain of d, never d itself. */
            char sub[300];
            snprintf(sub, sizeof(sub), "x%s", h + 1);
            FUZZ_CHECK(ib_tenant_host_allowed(t, sub));
            FUZZ_CHECK(!ib_tenant_host_allowed(t, h + 2));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    ib_tenants_t *ts;

    err[0] = '\0';
    ts = ib_tenants_parse((const char *)data, size, base_dir, err, sizeof(err));
    if (ts == NULL) {
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        return 0;
    }
    FUZZ_CHECK(ts->count >= 1);
    for (size_t i = 0; i < ts->count; i++)
        check_tenant(ts, &ts->tenants[i]);
    /* An unknown token finds no tenant (the digests of "token-a"-like words are not in seeds). */
    FUZZ_CHECK(ib_tenants_authenticate(ts, "\x01not-a-token", 12) == NULL);
    ib_tenants_free(ts);
    return 0;
}
