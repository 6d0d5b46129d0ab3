/* teekm — the operator and auditor command line. Thin: each command is in cmd_*.c. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"

static const cli_command commands[] = {
    {"version", cmd_version, "print the version"},
    {"init", cmd_init, "create a teekmd instance: teekm init --data-dir DIR --tee sim --policy P.json [--key LABEL]..."},
    {"keys", cmd_keys, "keys of a running teekmd: list, show, generate, retire, rotate (admin API)"},
    {"rpc", cmd_rpc, "one JSON-RPC call to a running teekmd: teekm rpc METHOD [PARAMS_JSON]"},
    {"selftest", cmd_selftest, "check the entropy source and run the crypto known-answer tests"},
    {"bench", cmd_bench, "run benchmarks (crypto, …)"},
    {"typed-data", cmd_typed_data, "EIP-712 typed data: hash, recover, sign-dev (development only)"},
    {"evidence", cmd_evidence, "attestation evidence: evidence verify FILE [--policy] [--collateral] [--at] | evidence show --tls HOST:PORT"},
    {"tx", cmd_tx, "decode a signed transaction; sign-dev (development key files only)"},
    {"calldata", cmd_calldata, "decode ERC-20 / ERC-3643 token calldata"},
    {"siwe", cmd_siwe, "Sign-In with Ethereum (EIP-4361): parse a message as teekm reads it"},
    {"policy", cmd_policy, "check, evaluate (offline); get, propose, approve, activate (running teekmd)"},
    {"audit", cmd_audit, "export (from a state or a running teekmd) and verify the signed audit log"},
    {NULL, NULL, NULL},
};

int cli_dispatch(const char *prog, const cli_command *cmds, int argc, char **argv) {
    if (argc >= 1) {
        for (const cli_command *c = cmds; c->name; c++)
            if (strcmp(c->name, argv[0]) == 0) return c->fn(argc, argv);
    }
    FILE *out = argc >= 1 && (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0) ? stdout : stderr;
    if (argc >= 1 && out == stderr) fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[0]);
    fprintf(out, "usage: %s COMMAND [ARGS]\n\ncommands:\n", prog);
    for (const cli_command *c = cmds; c->name; c++) fprintf(out, "  %-12s %s\n", c->name, c->summary);
    return out == stdout ? 0 : 2;
}

void cli_error(const char *what, tkm_rc rc) {
    const char *d = tkm_err_detail();
    fprintf(stderr, "teekm: %s: %s (%s)%s%s\n", what, tkm_err_str(rc.code), tkm_err_name(rc.code),
            d[0] ? ": " : "", d);
}

tkm_rc cli_read_input(const char *path, size_t max, uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    FILE *f = stdin;
    if (path && strcmp(path, "-") != 0) {
        f = fopen(path, "rb");
        if (!f) {
            tkm_err_detail_set("cannot open %s", path);
            TKM_ENSURE(0, TKM_ERR_NOT_FOUND);
        }
    }
    tkm_wr w;
    tkm_wr_init(&w, max);
    uint8_t buf[65536];
    size_t n;
    tkm_rc rc = TKM_RC_OK;
    while (tkm_ok(rc) && (n = fread(buf, 1, sizeof buf, f)) > 0) rc = tkm_wr_put(&w, buf, n);
    if (tkm_ok(rc) && ferror(f)) rc = TKM_RC(TKM_ERR_IO);
    if (f != stdin) fclose(f);
    if (tkm_ok(rc)) rc = tkm_wr_take(&w, out, len);
    tkm_wr_free(&w);
    return rc;
}

int cli_print_json(const json_t *v) {
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!s) return 1;
    puts(s);
    free(s);
    return 0;
}

int cmd_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("teekm %s\n", TKM_VERSION);
    return 0;
}

int main(int argc, char **argv) {
    tkm_json_init();
    return cli_dispatch("teekm", commands, argc - 1, argv + 1);
}
