/*
 * teekm bench attest — appraisals per second of each real sample, the way a
 * verifier service runs them: collateral and policy parsed once, the context
 * (anchors + chain cache) shared; per appraisal the evidence bytes are parsed
 * and every per-evidence check runs (quote/QE/report signatures, binding, TCB
 * matching). Next to it, in the same run, the independent oracle
 * @phala/dcap-qvl (node, spawned once, looping its own verify()) on the same
 * SGX/TDX samples, and a raw OpenSSL ECDSA P-256 verification as the floor
 * (an SGX/TDX appraisal needs at least two).
 *
 * Vectors: $TKM_VECTORS_DIR, else ./tests/vectors. Oracle: tests/interop/dcap-qvl
 * under $TKM_SOURCE_DIR (else .), installed from its lockfile on first use.
 */
#include "bench.h"
#include "cli.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attest.h"

typedef struct {
    const char *name;
    const char *evidence, *collateral; /* relative to the vectors dir */
    int snp, oracle;
    int64_t at;
    const char *expect; /* expected verdict */
    const char *crl;    /* SNP: the AMD CRL appended to the VCEK (relative to the vectors dir), or NULL */
    int cold;           /* clear the chain cache before each appraisal */
    /* runtime */
    uint8_t *bytes;
    size_t len;
    tkm_collateral *coll;
    tkm_attest_ctx *ctx;
    bench_result ours, theirs;
    int have_theirs;
} attest_case;

static attest_case cases[] = {
    {"sgx v3 (valid)", "attestation/dcap-qvl/sgx_quote",
     "attestation/dcap-qvl/sgx_quote_collateral.json", 0, 1, 1751624924, "valid"},
    {"tdx v4 (valid)", "attestation/dcap-qvl/tdx_quote", "attestation/dcap-qvl/tdx_quote_collateral.json", 0, 1,
     1751624191, "valid"},
    {"tdx v5 (no TCB level)", "attestation/dcap-qvl/tdx_quote_outdated",
     "attestation/dcap-qvl/tdx_quote_outdated_collateral.json", 0, 1, 1772707803, "invalid"},
    {"snp v2 Milan + AMD CRL (valid)", "attestation/virtee-sev/DERIVED_report_milan.bin",
     "attestation/virtee-sev/vcek_milan.der", 1, 0, 1785000000, "valid", "attestation/amd-kds/milan.crl.der", 0},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* The cost of snp.crl: the same report with and without the CRL, warm and cold cache (measured in pairs). */
static attest_case snp_rev[] = {
    {"snp + CRL, warm", "attestation/virtee-sev/DERIVED_report_milan.bin", "attestation/virtee-sev/vcek_milan.der", 1, 0,
     1785000000, "valid", "attestation/amd-kds/milan.crl.der", 0},
    {"snp no CRL, warm", "attestation/virtee-sev/DERIVED_report_milan.bin", "attestation/virtee-sev/vcek_milan.der", 1,
     0, 1785000000, "invalid", NULL, 0},
    {"snp + CRL, cold", "attestation/virtee-sev/DERIVED_report_milan.bin", "attestation/virtee-sev/vcek_milan.der", 1, 0,
     1785000000, "valid", "attestation/amd-kds/milan.crl.der", 1},
    {"snp no CRL, cold", "attestation/virtee-sev/DERIVED_report_milan.bin", "attestation/virtee-sev/vcek_milan.der", 1,
     0, 1785000000, "invalid", NULL, 1},
};
#define NREV (sizeof snp_rev / sizeof snp_rev[0])

/* A vector file (evidence or collateral; the largest are a few hundred KiB), or NULL. */
static uint8_t *slurp(const char *path, size_t *len) {
    uint8_t *b = NULL;
    if (tkm_failed(cli_read_input(path, (size_t)16 << 20, &b, len)) || *len == 0) {
        free(b);
        *len = 0;
        return NULL;
    }
    return b;
}

static int appraise_op(void *p) {
    attest_case *c = p;
    tkm_evidence *ev;
    tkm_appraisal res;
    if (tkm_failed(tkm_evidence_parse(&ev, c->bytes, c->len))) return -1;
    if (c->cold) tkm_attest_ctx_cache_clear(c->ctx);
    tkm_appraise_opts o = {.at = c->at};
    tkm_rc rc = tkm_appraise(c->ctx, ev, c->coll, NULL, &o, &res);
    tkm_evidence_free(ev);
    if (tkm_failed(rc)) return -1;
    const char *v = res.verdict == TKM_VERDICT_VALID ? "valid" : "invalid";
    return strcmp(v, c->expect) == 0 ? 0 : -1;
}

/* raw OpenSSL ECDSA P-256 verification of a fixed signature: the floor */
typedef struct {
    EVP_PKEY *k;
    unsigned char sig[80];
    size_t sl;
    unsigned char msg[432];
} raw_ecdsa;

static int raw_verify(void *p) {
    raw_ecdsa *r = p;
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    int ok = mc && EVP_DigestVerifyInit(mc, NULL, EVP_sha256(), NULL, r->k) == 1 &&
             EVP_DigestVerify(mc, r->sig, r->sl, r->msg, sizeof r->msg) == 1;
    EVP_MD_CTX_free(mc);
    return ok ? 0 : -1;
}

static void run_oracle(const bench_opts *o, const char *vec_rel) {
    char vec[4096];
    if (!realpath(vec_rel, vec)) return;
    const char *src = getenv("TKM_SOURCE_DIR");
    if (!src) src = ".";
    char cmd[8192];
    int n = snprintf(cmd, sizeof cmd, "'%s/tests/interop/ensure_deps.sh' dcap-qvl >/dev/null 2>&1 && cd '%s/tests/interop/dcap-qvl' && node bench.js %.2f",
                     src, src, o->seconds);
    for (size_t i = 0; i < NCASES && n > 0 && (size_t)n < sizeof cmd; i++) {
        if (!cases[i].oracle) continue;
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " 'c%zu=%s/%s,%s/%s,%lld'", i, vec, cases[i].evidence, vec,
                      cases[i].collateral, (long long)cases[i].at);
    }
    if (n <= 0 || (size_t)n >= sizeof cmd) return;
    FILE *p = popen(cmd, "r");
    if (!p) return;
    char line[1024];
    while (fgets(line, sizeof line, p)) {
        size_t idx;
        unsigned long long ops;
        double secs;
        const char *a = strstr(line, "\"name\":\"c"), *b = strstr(line, "\"ops\":"), *s = strstr(line, "\"seconds\":");
        if (!a || !b || !s || sscanf(a, "\"name\":\"c%zu\"", &idx) != 1 || sscanf(b, "\"ops\":%llu", &ops) != 1 ||
            sscanf(s, "\"seconds\":%lf", &secs) != 1 || idx >= NCASES || secs <= 0)
            continue;
        cases[idx].theirs.ops = ops;
        cases[idx].theirs.seconds = secs;
        cases[idx].theirs.ops_per_sec = (double)ops / secs;
        cases[idx].have_theirs = 1;
    }
    pclose(p);
}

/* Evidence and collateral (SNP: the VCEK, then the CRL appended) of c. Returns 0 or -1 (message printed). */
static int load_case(attest_case *c, const char *vec, tkm_attest_ctx *ctx) {
    char path[4096];
    size_t cl = 0, rl = 0;
    snprintf(path, sizeof path, "%s/%s", vec, c->evidence);
    c->bytes = slurp(path, &c->len);
    snprintf(path, sizeof path, "%s/%s", vec, c->collateral);
    uint8_t *cb = slurp(path, &cl), *rb = NULL, *both = NULL;
    if (c->crl) {
        snprintf(path, sizeof path, "%s/%s", vec, c->crl);
        rb = slurp(path, &rl);
        both = cb && rb ? malloc(cl + rl) : NULL;
        if (both) {
            memcpy(both, cb, cl);
            memcpy(both + cl, rb, rl);
        }
        free(cb);
        cb = both;
        cl += rl;
        free(rb);
    }
    tkm_rc rc = TKM_RC(TKM_ERR_NOT_FOUND);
    if (cb) rc = c->snp ? tkm_snp_collateral_parse(&c->coll, cb, cl) : tkm_dcap_collateral_parse(&c->coll, cb, cl);
    free(cb);
    if (!c->bytes || tkm_failed(rc)) {
        fprintf(stderr, "bench attest: cannot load %s (set TKM_VECTORS_DIR)\n", c->evidence);
        return -1;
    }
    c->ctx = ctx;
    return 0;
}

int bench_attest(const bench_opts *o) {
    const char *vec = getenv("TKM_VECTORS_DIR");
    if (!vec) vec = "tests/vectors";
    int status = 0;
    tkm_attest_ctx *ctx = NULL;
    tkm_json_init();
    if (tkm_failed(tkm_attest_ctx_new(&ctx))) {
        fprintf(stderr, "bench attest: cannot build the trust anchors\n");
        return 1;
    }
    printf("teekm bench attest (single thread, %.1f s per item; collateral parsed once, chain outcomes cached)\n",
           o->seconds);
    for (size_t i = 0; i < NCASES; i++) {
        attest_case *c = &cases[i];
        if (load_case(c, vec, ctx) != 0) {
            status = 1;
            goto out;
        }
        if (bench_one(o, appraise_op, c, &c->ours) != 0) {
            fprintf(stderr, "bench attest: %s did not give the expected verdict\n", c->name);
            status = 1;
        }
    }
    uint64_t hits, misses; /* of the warm runs above (the cold pairs below clear the cache and its counters) */
    tkm_attest_ctx_cache_stats(ctx, &hits, &misses);
    for (size_t i = 0; i < NREV; i++)
        if (load_case(&snp_rev[i], vec, ctx) != 0) {
            status = 1;
            goto out;
        }
    for (size_t i = 0; i < NREV; i += 2)
        if (bench_pair(o, appraise_op, &snp_rev[i], appraise_op, &snp_rev[i + 1], &snp_rev[i].ours, &snp_rev[i + 1].ours) != 0) {
            fprintf(stderr, "bench attest: %s did not give the expected verdict\n", snp_rev[i].name);
            status = 1;
        }
    /* the floor: one raw OpenSSL ECDSA P-256 verification */
    raw_ecdsa raw = {0};
    raw.k = EVP_EC_gen("P-256");
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    raw.sl = sizeof raw.sig;
    bench_result rr = {0};
    if (!raw.k || !mc || EVP_DigestSignInit(mc, NULL, EVP_sha256(), NULL, raw.k) != 1 ||
        EVP_DigestSign(mc, raw.sig, &raw.sl, raw.msg, sizeof raw.msg) != 1 || bench_one(o, raw_verify, &raw, &rr) != 0)
        status = 1;
    EVP_MD_CTX_free(mc);
    EVP_PKEY_free(raw.k);

    run_oracle(o, vec);

    bench_print_row("raw OpenSSL ECDSA P-256 verify (floor)", &rr);
    for (size_t i = 0; i < NCASES; i++) {
        attest_case *c = &cases[i];
        char name[96];
        snprintf(name, sizeof name, "appraise %s", c->name);
        if (c->have_theirs) {
            snprintf(name, sizeof name, "dcap-qvl %s", c->name);
            bench_print_row(name, &c->theirs);
            snprintf(name, sizeof name, "appraise %s", c->name);
            bench_print_ratio(name, &c->ours, "dcap-qvl", &c->theirs, 10.0);
        } else {
            bench_print_row(name, &c->ours);
            if (c->oracle) printf("    (oracle unavailable: node or the dcap-qvl install failed; no ratio)\n");
        }
        if (!c->snp)
            printf("    %-38s %s (target >= 1000 appraisals/s on one core)\n", "",
                   c->ours.ops_per_sec >= 1000 ? "met" : "NOT MET");
        printf("    %-38s = %.2f raw P-256 verifications per appraisal\n", "",
               c->ours.ops_per_sec > 0 ? rr.ops_per_sec / c->ours.ops_per_sec : 0);
    }
    printf("  SNP revocation (snp.crl) cost, same report with and without the AMD CRL, measured in pairs:\n");
    for (size_t i = 0; i < NREV; i += 2) {
        char name[96];
        snprintf(name, sizeof name, "appraise %s", snp_rev[i].name);
        bench_print_ratio(name, &snp_rev[i].ours, snp_rev[i + 1].name, &snp_rev[i + 1].ours, 0);
        printf("    %-38s = %.1f us added per appraisal\n", "",
               snp_rev[i].ours.ops_per_sec > 0 && snp_rev[i + 1].ours.ops_per_sec > 0
                   ? 1e6 / snp_rev[i].ours.ops_per_sec - 1e6 / snp_rev[i + 1].ours.ops_per_sec
                   : 0);
    }
    printf("  chain cache: %llu hits, %llu misses\n", (unsigned long long)hits, (unsigned long long)misses);
out:
    for (size_t i = 0; i < NCASES; i++) {
        free(cases[i].bytes);
        tkm_collateral_free(cases[i].coll);
        cases[i].bytes = NULL;
        cases[i].coll = NULL;
    }
    for (size_t i = 0; i < NREV; i++) {
        free(snp_rev[i].bytes);
        tkm_collateral_free(snp_rev[i].coll);
        snp_rev[i].bytes = NULL;
        snp_rev[i].coll = NULL;
    }
    tkm_attest_ctx_free(ctx);
    return status;
}
