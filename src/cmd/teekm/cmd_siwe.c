/*
 * teekm siwe parse — what teekm reads in a Sign-In with Ethereum (EIP-4361)
 * message: every field as JSON, or the line and field that do not conform
 * (docs/policy.md "Sign-In with Ethereum"). The message is given as 0x hex of
 * its bytes (what personal_sign carries), on the command line, on stdin, or
 * one per line with --batch.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/eth.h"

#define SIWE_CLI_MAX ((size_t)1 << 20) /* bytes of one message (teekmd's personal message limit) */

static void usage(void) {
    fprintf(stderr, "usage: teekm siwe parse [0xHEX | -]\n"
                    "       teekm siwe parse --batch    (0x hex lines on stdin, one JSON line out each)\n");
}

static tkm_rc parse_one(const char *hex, size_t n, json_t **out) {
    uint8_t *msg = NULL;
    size_t len = 0;
    tkm_siwe_msg m;
    *out = NULL;
    while (n && (hex[n - 1] == '\n' || hex[n - 1] == '\r' || hex[n - 1] == ' ')) n--;
    tkm_err_detail_clear();
    TKM_TRY(tkm_hex_decode_alloc(&msg, &len, hex, n, TKM_HEX_0X_REQUIRED | TKM_HEX_EMPTY_OK, SIWE_CLI_MAX));
    tkm_rc rc = tkm_siwe_parse(&m, msg, len);
    if (tkm_ok(rc)) rc = tkm_siwe_to_json(out, &m, msg);
    free(msg);
    return rc;
}

static tkm_rc parse_line(const char *line, size_t len, void *arg, json_t **out) {
    (void)arg;
    return parse_one(line, len, out);
}

int cmd_siwe(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "parse") != 0) {
        usage();
        return 2;
    }
    const char *arg;
    int batch;
    if (cli_input_args(argc, argv, 2, &arg, &batch) != 0) {
        usage();
        return 2;
    }
    return cli_run_input("siwe parse", arg, batch, 2 * SIWE_CLI_MAX + 16, parse_line, NULL);
}
