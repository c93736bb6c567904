/* Helpers shared by the libFuzzer targets in tests/fuzz. */
#ifndef IB_FUZZ_H
#define IB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ib/crypto.h"
#include "ib/tenants.h"

/* libFuzzer's entry points. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the code under test: a broken one is a finding, so abort (libFuzzer saves the
 * input as crash-<sha1>). assert() would vanish under NDEBUG. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* New NUL-terminated copy of size bytes (which may hold NULs). Exits on OOM. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        abort();
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Fixes jansson's hash seed, so an input takes the same path on every run (object iteration
 * order, and with it which error is found first, depends on the seed). */
static inline void fuzz_init_jansson(void)
{
    json_object_seed(1);
}

/* The tenants of the harnesses, from the real parser: "groove-tech" (token "token-a", callbacks
 * to groove-tech.workable.com and *.workable.com) and "localdev" (token "token-b", callbacks to
 * 127.0.0.1 and localhost). New set; exits when the parser refuses it. */
static inline ib_tenants_t *fuzz_tenants(void)
{
    char a[2 * IB_SHA256_LEN + 1], b[2 * IB_SHA256_LEN + 1], json[1024], err[256];
    uint8_t d[IB_SHA256_LEN];
    ib_tenants_t *ts;

    ib_sha256("token-a", 7, d);
    ib_hex(d, sizeof(d), a);
    ib_sha256("token-b", 7, d);
    ib_hex(d, sizeof(d), b);
    snprintf(json, sizeof(json),
             "{\"tenants\":[{\"id\":\"groove-tech\",\"api_token_sha256\":[\"%s\"],"
             "\"workable_token\":\"wk-a\",\"callback_hosts\":[\"groove-tech.workable.com\","
             "\"*.workable.com\"]},"
             "{\"id\":\"localdev\",\"api_token_sha256\":[\"%s\"],\"workable_token\":\"wk-b\","
             "\"callback_hosts\":[\"127.0.0.1\",\"localhost\"]}]}",
             a, b);
    ts = ib_tenants_parse(json, strlen(json), NULL, err, sizeof(err));
    if (ts == NULL) {
        fprintf(stderr, "fuzz_tenants: %s\n", err);
        abort();
    }
    return ts;
}

#endif
