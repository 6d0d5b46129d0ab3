/* teekm selftest — entropy source health and crypto known-answer tests. */
#include "cli.h"

#include <stdio.h>

#include "crypto/crypto.h"

static void report(void *ctx, const char *name, tkm_rc rc) {
    (void)ctx;
    if (tkm_ok(rc))
        printf("  %-16s ok\n", name);
    else
        printf("  %-16s FAILED: %s (%s)\n", name, tkm_err_str(rc.code), tkm_err_name(rc.code));
}

int cmd_selftest(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("teekm %s self-test\n", TKM_VERSION);
    tkm_rc rc = tkm_crypto_selftest(report, NULL);
    if (tkm_failed(rc)) {
        printf("self-test FAILED: key generation and signing are refused\n");
        return 1;
    }
    printf("self-test passed\n");
    return 0;
}
