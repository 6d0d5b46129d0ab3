/*
 * teekm evidence verify FILE [--policy appraisal.json] [--collateral PATH] [--at UNIX]
 * (teekm evidence show --tls HOST:PORT lives in cmd_evidence_show.c.)
 *
 * Prints the appraisal result JSON (docs/verifier.md). Exit 0 only when the
 * verdict is valid, 1 when it is invalid (evidence that does not parse
 * included), 2 for usage errors and unreadable or malformed policy/collateral.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attest.h"

#define MAX_FILE ((size_t)4 << 20)

static int usage(void) {
    fprintf(stderr, "usage: teekm evidence verify FILE [--policy appraisal.json] [--collateral PATH] [--at UNIX]\n"
                    "  FILE        SGX/TDX quote, SEV-SNP report or sim evidence: raw binary or hex text\n"
                    "  --collateral  SGX/TDX: collateral JSON (dcap-qvl QuoteCollateralV3 format);\n"
                    "                SNP: the VCEK or VLEK certificate with the AMD KDS CRL of its product:\n"
                    "                DER certificate then DER CRL (cat vcek.der crl.der), or PEM with one\n"
                    "                CERTIFICATE and one X509 CRL block; without the CRL, snp.crl fails\n"
                    "                (\"revocation\": \"not_checked\")\n"
                    "  --policy    appraisal policy JSON (without it: authenticity only, debug refused)\n"
                    "  --at        verification time in Unix seconds (default: now)\n"
                    "       teekm evidence show --tls HOST:PORT [--timeout SECONDS]\n"
                    "  what an RA-TLS server presents and whether its claims bind (see `evidence show`)\n");
    return 2;
}

static int parse_time_arg(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0) return 0;
    *out = (int64_t)v;
    return 1;
}

static int verify(int argc, char **argv) {
    const char *file = NULL, *policy_path = NULL, *coll_path = NULL;
    int64_t at = tkm_time_unix();
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc)
            policy_path = argv[++i];
        else if (strcmp(argv[i], "--collateral") == 0 && i + 1 < argc)
            coll_path = argv[++i];
        else if (strcmp(argv[i], "--at") == 0 && i + 1 < argc) {
            if (!parse_time_arg(argv[++i], &at)) {
                fprintf(stderr, "teekm evidence verify: --at needs Unix seconds\n");
                return 2;
            }
        } else if (argv[i][0] == '-' && argv[i][1])
            return usage();
        else if (!file)
            file = argv[i];
        else
            return usage();
    }
    if (!file) return usage();

    int status = 2;
    uint8_t *raw = NULL, *bytes = NULL, *cbuf = NULL, *pbuf = NULL;
    size_t raw_len, len, clen, plen;
    tkm_evidence *ev = NULL;
    tkm_collateral *coll = NULL;
    tkm_appraisal_policy *pol = NULL;
    tkm_attest_ctx *ctx = NULL;
    json_t *out = NULL;
    tkm_appraisal *res = calloc(1, sizeof *res);
    tkm_rc rc;
    if (!res) goto out;
    if (tkm_failed(rc = cli_read_input(file, MAX_FILE, &raw, &raw_len))) {
        cli_error("reading evidence", rc);
        goto out;
    }
    if (policy_path) {
        if (tkm_failed(rc = cli_read_input(policy_path, MAX_FILE, &pbuf, &plen)) ||
            tkm_failed(rc = tkm_appraisal_policy_parse(&pol, pbuf, plen))) {
            cli_error("appraisal policy", rc);
            goto out;
        }
    }
    if (tkm_failed(rc = tkm_attest_ctx_new(&ctx))) {
        cli_error("trust anchors", rc);
        goto out;
    }
    rc = tkm_evidence_decode_file_bytes(&bytes, &len, raw, raw_len);
    if (tkm_ok(rc)) rc = tkm_evidence_parse(&ev, bytes, len);
    if (tkm_failed(rc)) {
        tkm_appraisal_parse_failure(res, TKM_PLATFORM_UNKNOWN, rc, tkm_err_detail());
    } else {
        if (coll_path) {
            if (tkm_failed(rc = cli_read_input(coll_path, MAX_FILE, &cbuf, &clen))) {
                cli_error("reading collateral", rc);
                goto out;
            }
            tkm_platform p = tkm_evidence_platform(ev);
            rc = p == TKM_PLATFORM_SNP ? tkm_snp_collateral_parse(&coll, cbuf, clen)
                                       : tkm_dcap_collateral_parse(&coll, cbuf, clen);
            if (tkm_failed(rc)) {
                cli_error(p == TKM_PLATFORM_SNP ? "VCEK/VLEK certificate" : "collateral", rc);
                goto out;
            }
        }
        tkm_appraise_opts opts = {.at = at};
        if (tkm_failed(rc = tkm_appraise(ctx, ev, coll, pol, &opts, res))) {
            cli_error("appraisal", rc);
            goto out;
        }
    }
    if (tkm_failed(rc = tkm_appraisal_to_json(res, &out))) {
        cli_error("result", rc);
        goto out;
    }
    if (cli_print_json(out) != 0) goto out;
    status = res->verdict == TKM_VERDICT_VALID ? 0 : 1;
out:
    json_decref(out);
    free(res);
    tkm_attest_ctx_free(ctx);
    tkm_appraisal_policy_free(pol);
    tkm_collateral_free(coll);
    tkm_evidence_free(ev);
    free(raw);
    free(bytes);
    free(cbuf);
    free(pbuf);
    return status;
}

int cmd_evidence(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "verify") == 0) return verify(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "show") == 0) return cmd_evidence_show(argc - 1, argv + 1);
    return usage();
}
