/* Fuzzes the configuration value parsers (shared/src/config.c): ib_duration_parse,
 * ib_listen_parse and ib_listen_addr_parse. The first input byte picks the host buffer's size
 * (0-63; the buffer is exactly that large, so ASan sees any write past it), the rest is the value.
 */
#include <ctype.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "ib/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t host_size = data[0] % 64;
    char *s = fuzz_cstr(data + 1, size - 1);
    char *host = malloc(host_size > 0 ? host_size : 1);
    long ms = -1;
    unsigned short port = 0;

    if (host == NULL)
        abort();
    if (ib_duration_parse(s, &ms) == IB_OK) {
        FUZZ_CHECK(ms >= 0);
        FUZZ_CHECK(isdigit((unsigned char)s[0]));
    }
    if (ib_listen_parse(s, host, host_size, &port) == IB_OK) {
        size_t n = strlen(host);
        FUZZ_CHECK(n >= 1 && n < host_size);
        FUZZ_CHECK(strstr(s, host) != NULL);
        FUZZ_CHECK(strchr(s, ':') != NULL);
    }
    ib_listen_t l;
    char why[160] = "";
    if (ib_listen_addr_parse(s, &l, why, sizeof(why)) == IB_OK) {
        FUZZ_CHECK(l.port != 0);
        FUZZ_CHECK(strcmp(l.text, s) == 0);
        FUZZ_CHECK(l.addr.ss_family == (s[0] == '[' ? AF_INET6 : AF_INET));
        FUZZ_CHECK(l.addr_len > 0 && l.addr_len <= sizeof(l.addr));
    } else {
        FUZZ_CHECK(why[0] != '\0'); /* a reason is always given */
    }
    free(host);
    free(s);
    return 0;
}
