/*
 * teekm typed-data — EIP-712 (eth_signTypedData_v4) documents.
 *
 *   teekm typed-data hash [--batch] [FILE]
 *   teekm typed-data recover --signature 0x… [FILE]
 *   teekm typed-data recover --batch [FILE]
 *   teekm typed-data sign-dev --key-file KEYFILE [--batch] [FILE]
 *
 * FILE (default stdin) holds one typed-data JSON document. With --batch it
 * holds one JSON value per line (a document, or for recover an object
 * {"typedData": …, "signature": "0x…"}) and one JSON line is printed per input
 * line: the result, or {"error": NAME, "detail": …}. Batch mode exits 0 once
 * every line has been answered, whatever the per-line results.
 *
 * sign-dev is a development tool for tests: it signs with a development key
 * file (see cli_devkey_load) and is not how teekm signs in production.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "eth/eth.h"

#define DOC_MAX ((size_t)1 << 20)
#define BATCH_MAX ((size_t)256 << 20)

typedef enum { OP_HASH, OP_RECOVER, OP_SIGN } td_op;

typedef struct {
    td_op op;
    tkm_secret *sk;        /* OP_SIGN */
    const char *sig_hex;   /* OP_RECOVER, single document */
} td_job;

static int usage(void) {
    fprintf(stderr,
            "usage: teekm typed-data hash [--batch] [FILE]\n"
            "       teekm typed-data recover --signature 0x<65 bytes> [FILE]\n"
            "       teekm typed-data recover --batch [FILE]   (lines: {\"typedData\":…,\"signature\":\"0x…\"})\n"
            "       teekm typed-data sign-dev --key-file KEYFILE [--batch] [FILE]   (development only)\n");
    return 2;
}

static tkm_rc parse_sig(const char *hex, size_t len, uint8_t sig[65]) {
    tkm_rc rc = tkm_hex_decode_exact(sig, 65, hex, len, TKM_HEX_0X_REQUIRED);
    if (tkm_failed(rc)) tkm_err_detail_set("signature must be 0x followed by 130 hex digits (r, s, v)");
    return rc;
}

/* Run the job on one parsed document. Out: *res (a JSON object). */
static tkm_rc run(const td_job *job, const tkm_typed_data *td, const uint8_t *sig, json_t **res) {
    const tkm_eip712_hashes *h = tkm_typed_data_hashes(td);
    *res = NULL;
    switch (job->op) {
    case OP_HASH:
        *res = json_pack("{s:o, s:o, s:o}", "domainSeparator", tkm_json_hex_new(h->domain_separator, 32), "structHash",
                         tkm_json_hex_new(h->struct_hash, 32), "digest", tkm_json_hex_new(h->digest, 32));
        break;
    case OP_RECOVER: {
        uint8_t addr[TKM_ETH_ADDR_LEN];
        char s[TKM_ETH_ADDR_STR_LEN];
        TKM_TRY(tkm_typed_data_recover(td, addr, sig, 65));
        tkm_eth_address_checksum(s, addr);
        *res = json_pack("{s:s}", "signer", s);
        break;
    }
    case OP_SIGN: {
        uint8_t out[TKM_SECP_SIG_LEN];
        TKM_TRY(tkm_secp_sign(out, job->sk, h->digest));
        out[64] = (uint8_t)(out[64] + 27); /* wallets' r ‖ s ‖ v with v = 27/28 */
        *res = json_pack("{s:o}", "signature", tkm_json_hex_new(out, 65));
        break;
    }
    }
    if (!*res) {
        tkm_err_detail_set("out of memory");
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    return TKM_RC_OK;
}

/* One batch line: a document, or for recover {"typedData", "signature"}. */
static tkm_rc batch_line(const td_job *job, const uint8_t *line, size_t len, json_t **res) {
    tkm_rc rc;
    json_t *root = NULL;
    tkm_typed_data *td = NULL;
    uint8_t sig[65] = {0};
    *res = NULL;
    if (job->op != OP_RECOVER) {
        TKM_CHECK_GOTO(rc, tkm_typed_data_parse(&td, line, len, NULL));
    } else {
        tkm_json_limits jl = {.max_bytes = DOC_MAX + 256, .max_depth = 64 + 5}; /* the document nests one level deeper */
        static const char *const keys[] = {"typedData", "signature", NULL};
        const char *s;
        size_t n;
        json_t *doc;
        TKM_CHECK_GOTO(rc, tkm_json_load(&root, line, len, &jl));
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(root, "", keys));
        TKM_CHECK_GOTO(rc, tkm_json_str(root, "", "signature", 1, &s, &n));
        TKM_CHECK_GOTO(rc, parse_sig(s, n, sig));
        TKM_CHECK_GOTO(rc, tkm_json_get(root, "", "typedData", 1, &doc));
        TKM_CHECK_GOTO(rc, tkm_typed_data_from_json(&td, doc, NULL));
    }
    TKM_CHECK_GOTO(rc, run(job, td, sig, res));
out:
    tkm_typed_data_free(td);
    json_decref(root);
    return rc;
}

static int run_batch(const td_job *job, const uint8_t *buf, size_t len) {
    size_t off = 0;
    while (off < len) {
        const uint8_t *nl = memchr(buf + off, '\n', len - off);
        size_t end = nl ? (size_t)(nl - buf) : len;
        json_t *res = NULL;
        tkm_err_detail_clear();
        tkm_rc rc = batch_line(job, buf + off, end - off, &res);
        if (tkm_failed(rc)) res = cli_error_json(rc);
        char *s = res ? json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(res);
        if (!s) {
            fprintf(stderr, "teekm typed-data: out of memory\n");
            return 1;
        }
        puts(s);
        free(s);
        off = end + 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_typed_data(int argc, char **argv) {
    td_job job = {0};
    const char *key_file = NULL, *file = NULL;
    int batch = 0, status = 1;
    uint8_t *buf = NULL;
    size_t len = 0;
    tkm_typed_data *td = NULL;
    json_t *res = NULL;
    tkm_rc rc;

    if (argc < 2) return usage();
    if (strcmp(argv[1], "hash") == 0)
        job.op = OP_HASH;
    else if (strcmp(argv[1], "recover") == 0)
        job.op = OP_RECOVER;
    else if (strcmp(argv[1], "sign-dev") == 0)
        job.op = OP_SIGN;
    else
        return usage();
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--batch") == 0)
            batch = 1;
        else if (strcmp(argv[i], "--key-file") == 0 && i + 1 < argc && job.op == OP_SIGN)
            key_file = argv[++i];
        else if (strcmp(argv[i], "--signature") == 0 && i + 1 < argc && job.op == OP_RECOVER)
            job.sig_hex = argv[++i];
        else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && !file)
            file = argv[i];
        else
            return usage();
    }
    if (job.op == OP_SIGN && !key_file) return usage();
    if (job.op == OP_RECOVER && batch == (job.sig_hex != NULL)) return usage();

    if (job.op == OP_SIGN) {
        rc = cli_devkey_load(key_file, &job.sk);
        if (tkm_failed(rc)) {
            cli_error("typed-data sign-dev", rc);
            goto out;
        }
    }
    rc = cli_read_input(file, batch ? BATCH_MAX : DOC_MAX, &buf, &len);
    if (tkm_failed(rc)) {
        cli_error("typed-data: reading input", rc);
        goto out;
    }
    if (batch) {
        status = run_batch(&job, buf, len);
        goto out;
    }
    uint8_t sig[65] = {0};
    if (job.op == OP_RECOVER) {
        rc = parse_sig(job.sig_hex, strlen(job.sig_hex), sig);
        if (tkm_failed(rc)) {
            cli_error("typed-data recover", rc);
            goto out;
        }
    }
    rc = tkm_typed_data_parse(&td, buf, len, NULL);
    if (tkm_ok(rc)) rc = run(&job, td, sig, &res);
    if (tkm_failed(rc)) {
        cli_error("typed-data", rc);
        goto out;
    }
    if (job.op == OP_HASH)
        status = cli_print_json(res);
    else {
        /* sign-dev prints the bare signature, recover the bare address */
        json_t *v = json_object_get(res, job.op == OP_SIGN ? "signature" : "signer");
        printf("%s\n", json_string_value(v));
        status = 0;
    }
out:
    json_decref(res);
    tkm_typed_data_free(td);
    free(buf);
    tkm_secret_free(job.sk);
    return status;
}
