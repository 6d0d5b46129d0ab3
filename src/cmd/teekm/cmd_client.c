/*
 * What the teekm commands that talk to a running teekmd share: the connection
 * options, and signing an approval's typed data with a development key file
 * (demos and tests; approvers sign with their own wallets in production).
 * Also `teekm init` (runs `teekmd init`) and `teekm rpc`.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "eth/eth.h"

const char cli_conn_usage[] =
    "connection: [--url https://HOST:PORT] (default $TEEKM_URL or https://127.0.0.1:8545)\n"
    "            [--data-dir DIR] (default $TEEKM_DATA_DIR: the operator certificate from teekm init)\n"
    "            [--cert FILE --key FILE] [--ca FILE] (override the data directory's)\n";

int cli_conn_option(cli_conn *c, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    if (*i + 1 >= argc) return 0;
    const char **slot = strcmp(a, "--url") == 0        ? &c->url
                        : strcmp(a, "--data-dir") == 0 ? &c->data_dir
                        : strcmp(a, "--cert") == 0     ? &c->cert
                        : strcmp(a, "--key") == 0      ? &c->key
                        : strcmp(a, "--ca") == 0       ? &c->ca
                                                       : NULL;
    if (!slot) return 0;
    *slot = argv[++*i];
    return 1;
}

tkm_rc cli_conn_open(cli_conn *c, tkm_httpc **out) {
    static char cert[PATH_MAX + 32], key[PATH_MAX + 32], ca[PATH_MAX + 32];
    *out = NULL;
    if (!c->url) c->url = getenv("TEEKM_URL") ? getenv("TEEKM_URL") : "https://127.0.0.1:8545";
    if (!c->data_dir) c->data_dir = getenv("TEEKM_DATA_DIR");
    if (c->data_dir) {
        snprintf(cert, sizeof cert, "%s/client/operator.crt", c->data_dir);
        snprintf(key, sizeof key, "%s/client/operator.key", c->data_dir);
        snprintf(ca, sizeof ca, "%s/tls.crt", c->data_dir);
        if (!c->cert && !c->key) {
            c->cert = cert;
            c->key = key;
        }
        if (!c->ca) c->ca = ca;
    }
    int plain = strncmp(c->url, "http://", 7) == 0;
    if (!plain && (!c->ca || !c->cert != !c->key)) {
        tkm_err_detail_set("give --data-dir DIR (or $TEEKM_DATA_DIR), or --ca with --cert and --key");
        TKM_ENSURE(0, TKM_ERR_FORMAT);
    }
    tkm_httpc_config hc = {.base_url = c->url, .ca_file = plain ? NULL : c->ca, .cert_file = plain ? NULL : c->cert,
                           .key_file = plain ? NULL : c->key, .allow_plain_http = plain, .timeout_ms = 60000,
                           .max_response = (size_t)256 << 20};
    return tkm_httpc_new(out, &hc);
}

tkm_rc cli_sign_typed(const json_t *doc, const char *devkey_path, json_t **sig) {
    *sig = NULL;
    tkm_secret *sk = NULL;
    tkm_typed_data *td = NULL;
    TKM_TRY(cli_devkey_load(devkey_path, &sk));
    tkm_rc rc = tkm_typed_data_from_json(&td, doc, NULL);
    uint8_t s[65];
    if (tkm_ok(rc)) rc = tkm_secp_sign(s, sk, tkm_typed_data_hashes(td)->digest);
    if (tkm_ok(rc)) {
        s[64] = (uint8_t)(s[64] + 27);
        char hex[TKM_HEX_ENC_LEN(65, 1)];
        rc = tkm_hex_encode(hex, sizeof hex, s, 65, 1);
        if (tkm_ok(rc)) *sig = json_string(hex);
        if (tkm_ok(rc) && !*sig) rc = TKM_RC(TKM_ERR_NOMEM);
    }
    tkm_typed_data_free(td);
    tkm_secret_free(sk);
    return rc;
}

/* The teekmd next to this program, else the one on PATH. */
const char *cli_teekmd_path(void) {
    static char path[PATH_MAX + 16];
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            snprintf(path, sizeof path, "%s/teekmd", self);
            if (access(path, X_OK) == 0) return path;
        }
    }
    return "teekmd";
}

/*
 * teekm init …: the state is sealed by the binary that will serve it (the sim
 * and SGX seal keys depend on the measured binary), so the work is done by
 * `teekmd init` with the same arguments.
 */
int cmd_init(int argc, char **argv) {
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: teekm init --data-dir DIR --tee sim|sgx|tdx|snp|auto --policy POLICY.json [--key LABEL]...\n"
               "                  [--keys-from FILE] [--tls-name NAME]...\n"
               "                  [--state-key auto|seal|verifier] [--verifier URL --verifier-ca FILE] [--verifier-retries N]\n"
               "                  [--remote-counter]\n"
               "On TDX (no seal key), or with --state-key verifier, the state key is released by teekm-verifier.\n"
               "With --verifier and the seal key, the new instance only registers with teekm-verifier.\n"
               "Creates the instance by running `teekmd init` (the teekmd binary seals the state).\n");
        return 0;
    }
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (!args) return 1;
    const char *exe = cli_teekmd_path();
    args[0] = (char *)exe;
    args[1] = (char *)"init";
    for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
    fflush(stdout);
    execvp(exe, args);
    fprintf(stderr, "teekm: init: cannot run %s: %s (teekmd must be installed next to teekm or on PATH)\n", exe,
            strerror(errno));
    free(args);
    return 1;
}

/* teekm rpc METHOD [PARAMS_JSON] — one JSON-RPC call, the result (or error) printed. */
int cmd_rpc(int argc, char **argv) {
    cli_conn conn = {0};
    const char *method = NULL, *params_s = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_conn_option(&conn, argc, argv, &i)) continue;
        if (argv[i][0] == '-' && argv[i][1]) goto usage;
        if (!method)
            method = argv[i];
        else if (!params_s)
            params_s = argv[i];
        else
            goto usage;
    }
    if (!method) goto usage;
    json_t *params = NULL;
    if (params_s) {
        tkm_rc prc = tkm_json_load(&params, (const uint8_t *)params_s, strlen(params_s), NULL);
        if (tkm_failed(prc) || !(json_is_array(params) || json_is_object(params))) {
            json_decref(params);
            fprintf(stderr, "teekm: rpc: PARAMS must be a JSON array or object\n");
            return 2;
        }
    }
    tkm_httpc *h = NULL;
    tkm_rc rc = cli_conn_open(&conn, &h);
    if (tkm_failed(rc)) {
        json_decref(params);
        cli_error("rpc", rc);
        return 1;
    }
    json_t *result = NULL;
    tkm_rpc_error e;
    rc = tkm_httpc_rpc(h, "/", method, params, &result, &e);
    int status = 1;
    if (tkm_ok(rc)) {
        cli_print_json(result);
        status = 0;
    } else if (rc.code == TKM_ERR_REQUEST && e.code) {
        json_t *o = json_pack("{s:i,s:s,s:s,s:s}", "code", e.code, "reason", e.reason, "rule", e.rule, "detail",
                              e.detail);
        if (o) cli_print_json(o);
        json_decref(o);
    } else {
        cli_error("rpc", rc);
    }
    json_decref(result);
    tkm_httpc_free(h);
    return status;
usage:
    fprintf(stderr, "usage: teekm rpc METHOD [PARAMS_JSON] [connection options]\n%s", cli_conn_usage);
    return 2;
}
