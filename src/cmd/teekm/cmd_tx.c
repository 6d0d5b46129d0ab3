/*
 * teekm tx decode | sign-dev — see docs/transactions.md.
 *
 * `sign-dev` is a development tool for tests and for people trying teekm out:
 * it signs with a key kept in a plain file, which a production signer never
 * does. It accepts only a development key file (exactly one line
 * "dev:0x" + 64 hex digits, mode 0600 or stricter, owned by the caller) and
 * signs only parsed transactions, never raw bytes.
 */
#include "cli.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "eth/eth.h"

static void usage(void) {
    fprintf(stderr,
            "usage: teekm tx decode [--chain-id QUANTITY] [HEX | -]\n"
            "       teekm tx decode --batch [--chain-id QUANTITY]    (hex lines on stdin, one JSON line out each)\n"
            "       teekm tx sign-dev --key-file FILE [--batch] < tx.json\n"
            "sign-dev is a DEVELOPMENT tool: FILE holds one line \"dev:0x<64 hex>\" and must be mode 0600.\n");
}

/* Strip surrounding ASCII whitespace (a trailing newline from a pipe). */
static void trim(const char **s, size_t *n) {
    while (*n && (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\n' || (*s)[*n - 1] == '\r'))
        (*n)--;
}

static tkm_rc decode_one(const char *hex, size_t n, const tkm_u256 *chain, json_t **out) {
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    tkm_tx tx;
    *out = NULL;
    trim(&hex, &n);
    tkm_err_detail_clear();
    TKM_TRY(tkm_hex_decode_alloc(&raw, &raw_len, hex, n, TKM_HEX_0X_OPTIONAL, TKM_TX_MAX_RAW));
    tkm_rc rc = tkm_tx_decode_signed(&tx, raw, raw_len);
    free(raw);
    if (tkm_ok(rc) && chain) rc = tkm_tx_check_chain_id(&tx, chain);
    if (tkm_ok(rc)) rc = tkm_tx_to_json(&tx, out);
    tkm_tx_free(&tx);
    return rc;
}

static tkm_rc decode_line(const char *line, size_t len, void *chain, json_t **out) {
    return decode_one(line, len, chain, out);
}

static int cmd_decode(int argc, char **argv) {
    const char *arg = NULL;
    int batch = 0;
    tkm_u256 chain;
    const tkm_u256 *chainp = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--batch") == 0) {
            batch = 1;
        } else if (strcmp(argv[i], "--chain-id") == 0 && i + 1 < argc) {
            tkm_rc rc = tkm_u256_from_quantity(&chain, argv[i + 1], strlen(argv[i + 1]));
            if (tkm_failed(rc)) {
                cli_error("tx decode: --chain-id", rc);
                return 2;
            }
            chainp = &chain;
            i++;
        } else if (!arg && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)) {
            arg = argv[i];
        } else {
            usage();
            return 2;
        }
    }
    if (batch && arg) {
        usage();
        return 2;
    }
    return cli_run_input("tx decode", arg, batch, 2 * TKM_TX_MAX_RAW + 16, decode_line, (void *)chainp);
}

/* The development key and its address (key-file rules: cli_devkey_load in devkey.c). */
static tkm_rc load_dev_key(const char *path, tkm_secret **sk, uint8_t addr[TKM_ETH_ADDR_LEN]) {
    uint8_t pub[TKM_SECP_PUBKEY_LEN];
    TKM_TRY(cli_devkey_load(path, sk));
    tkm_rc rc = tkm_secp_pubkey(pub, *sk);
    if (tkm_failed(rc)) {
        tkm_secret_free(*sk);
        *sk = NULL;
        return rc;
    }
    tkm_eth_address(addr, pub);
    return TKM_RC_OK;
}

static tkm_rc sign_one(const uint8_t *json, size_t len, const tkm_secret *sk, const uint8_t addr[20], tkm_wr *hex) {
    tkm_tx tx;
    tkm_wr raw;
    tkm_wr_init(&raw, 0);
    tkm_err_detail_clear();
    TKM_TRY(tkm_tx_from_json(&tx, json, len));
    tkm_rc rc = tkm_tx_sign(&tx, sk, addr);
    if (tkm_ok(rc)) rc = tkm_tx_encode_signed(&tx, &raw);
    if (tkm_ok(rc)) rc = tkm_hex_encode_wr(hex, raw.p, raw.len, 1);
    if (tkm_ok(rc)) rc = tkm_wr_nul(hex);
    tkm_wr_free(&raw);
    tkm_tx_free(&tx);
    return rc;
}

typedef struct {
    const tkm_secret *sk;
    const uint8_t *addr;
} sign_job;

/* One batch line: a request → {"raw": "0x…"}. */
static tkm_rc sign_line(const char *line, size_t len, void *arg, json_t **out) {
    const sign_job *job = arg;
    tkm_wr hex;
    tkm_wr_init(&hex, 0);
    *out = NULL;
    tkm_rc rc = sign_one((const uint8_t *)line, len, job->sk, job->addr, &hex);
    if (tkm_ok(rc) && !(*out = json_pack("{s:s}", "raw", (const char *)hex.p))) rc = TKM_RC(TKM_ERR_NOMEM);
    tkm_wr_free(&hex);
    return rc;
}

static int cmd_sign_dev(int argc, char **argv) {
    const char *key_file = NULL;
    int batch = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--key-file") == 0 && i + 1 < argc)
            key_file = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0)
            batch = 1;
        else {
            usage();
            return 2;
        }
    }
    if (!key_file) {
        usage();
        return 2;
    }
    tkm_secret *sk = NULL;
    uint8_t addr[TKM_ETH_ADDR_LEN];
    tkm_rc rc = load_dev_key(key_file, &sk, addr);
    if (tkm_failed(rc)) {
        cli_error("tx sign-dev", rc);
        return 1;
    }
    int status = 0;
    tkm_wr hex;
    tkm_wr_init(&hex, 0);
    if (batch) {
        sign_job job = {sk, addr};
        status = cli_batch_lines(sign_line, &job);
    } else {
        uint8_t *in = NULL;
        size_t in_len = 0;
        rc = cli_read_input(NULL, TKM_TX_MAX_JSON, &in, &in_len);
        if (tkm_ok(rc)) rc = sign_one(in, in_len, sk, addr, &hex);
        free(in);
        if (tkm_ok(rc)) {
            printf("%s\n", (const char *)hex.p);
        } else {
            cli_error("tx sign-dev", rc);
            status = 1;
        }
    }
    tkm_wr_free(&hex);
    tkm_secret_free(sk);
    return status;
}

int cmd_tx(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "decode") == 0) return cmd_decode(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "sign-dev") == 0) return cmd_sign_dev(argc - 1, argv + 1);
    usage();
    return 2;
}
