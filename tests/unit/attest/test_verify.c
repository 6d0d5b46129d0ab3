/*
 * Verification of real evidence at the MANIFEST's times: verdicts and TCB
 * statuses, every single-byte flip of the signed regions, swapped
 * certificates and collateral, time windows, the chain cache.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "attest/attest.h"

#define SGX_MID 1751624924
#define SGX_LO 1750330571 /* tcbInfo issueDate */
#define SGX_QE_NEXT 1752919278
#define SGX_TCB_NEXT 1752922571 /* 2025-07-19T10:56:11Z */
#define SGX_PCKCRL_NEXT 1752920598 /* 2025-07-19T10:23:18Z */
#define TDX_MID 1751624191
#define TDX5_MID 1772707803
#define SPR_AT 1688173200
#define SNP_AT 1764000000 /* 2025-11-24 */
/* the real Milan CRL (amd-kds/milan.crl.der): thisUpdate and nextUpdate as `openssl crl -text` prints them */
#define MILAN_CRL_THIS 1782107632 /* 2026-06-22T05:53:52Z */
#define MILAN_CRL_NEXT 1786147200 /* 2026-08-08T00:00:00Z */
#define SNP_CRL_AT 1785000000     /* 2026-07-25, inside that window */
#define MILAN_CRL "attestation/amd-kds/milan.crl.der"

static tkm_attest_ctx *ctx;

static int setup(void **state) {
    (void)state;
    return tkm_ok(tkm_attest_ctx_new(&ctx)) ? 0 : -1;
}
static int teardown(void **state) {
    (void)state;
    tkm_attest_ctx_free(ctx);
    return 0;
}

static uint8_t *load(const char *rel, size_t *len) {
    size_t n;
    uint8_t *raw = tu_read_file(tu_vector_path(rel), &n), *b;
    if (tkm_failed(tkm_evidence_decode_file_bytes(&b, len, raw, n))) fail_msg("decode %s", rel);
    free(raw);
    return b;
}

static tkm_collateral *load_dcap_coll(const char *rel) {
    size_t n;
    uint8_t *b = tu_read_file(tu_vector_path(rel), &n);
    tkm_collateral *c;
    tkm_rc rc = tkm_dcap_collateral_parse(&c, b, n);
    if (tkm_failed(rc)) fail_msg("collateral %s: %s %s", rel, tkm_err_name(rc.code), tkm_err_detail());
    free(b);
    return c;
}

static tkm_collateral *load_snp_coll(const char *rel) {
    size_t n;
    uint8_t *b = tu_read_file(tu_vector_path(rel), &n);
    tkm_collateral *c;
    tkm_rc rc = tkm_snp_collateral_parse(&c, b, n);
    if (tkm_failed(rc)) fail_msg("vcek %s: %s %s", rel, tkm_err_name(rc.code), tkm_err_detail());
    free(b);
    return c;
}

/* The VCEK/VLEK (DER) directly followed by a CRL (DER), parsed as one SNP collateral; flip: XOR into that CRL byte. */
static tkm_collateral *load_snp_coll_crl(const char *cert_rel, const char *crl_rel, long flip) {
    size_t n1, n2;
    uint8_t *a = tu_read_file(tu_vector_path(cert_rel), &n1);
    uint8_t *b = tu_read_file(tu_vector_path(crl_rel), &n2);
    uint8_t *cat = malloc(n1 + n2);
    assert_non_null(cat);
    memcpy(cat, a, n1);
    memcpy(cat + n1, b, n2);
    if (flip >= 0) cat[n1 + (size_t)flip] ^= 0x01;
    tkm_collateral *c;
    tkm_rc rc = tkm_snp_collateral_parse(&c, cat, n1 + n2);
    if (tkm_failed(rc)) fail_msg("vcek+crl %s: %s %s", cert_rel, tkm_err_name(rc.code), tkm_err_detail());
    free(a);
    free(b);
    free(cat);
    return c;
}

/* Appraise bytes; returns 0 when they did not parse. */
static int appraise(const uint8_t *b, size_t n, const tkm_collateral *c, const tkm_appraisal_policy *pol, int64_t at,
                    tkm_appraisal *res) {
    tkm_evidence *ev;
    if (tkm_failed(tkm_evidence_parse(&ev, b, n))) return 0;
    tkm_appraise_opts o = {.at = at};
    TU_ASSERT_OK(tkm_appraise(ctx, ev, c, pol, &o, res));
    tkm_evidence_free(ev);
    return 1;
}

static void dump_failures(const tkm_appraisal *r) {
    for (size_t i = 0; i < r->n_checks; i++)
        if (!r->checks[i].ok) print_message("  failed %s: %s\n", r->checks[i].name, r->checks[i].detail);
}

static void expect_ok(const tkm_appraisal *r, const char *name) {
    const tkm_check *c = tkm_appraisal_find(r, name);
    if (!c) fail_msg("check %s missing", name);
    if (!c->ok) fail_msg("check %s failed: %s", name, c->detail);
}
static void expect_fail(const tkm_appraisal *r, const char *name) {
    const tkm_check *c = tkm_appraisal_find(r, name);
    if (!c) {
        dump_failures(r);
        fail_msg("check %s missing", name);
    }
    if (c->ok) {
        dump_failures(r);
        fail_msg("check %s passed: %s", name, c->detail);
    }
    assert_int_equal(r->verdict, TKM_VERDICT_INVALID);
}

static void test_sgx_valid(void **state) {
    (void)state;
    size_t n;
    uint8_t *q = load("attestation/dcap-qvl/sgx_quote", &n);
    tkm_collateral *c = load_dcap_coll("attestation/dcap-qvl/sgx_quote_collateral.json");
    tkm_appraisal r;
    assert_true(appraise(q, n, c, NULL, SGX_MID, &r));
    if (r.verdict != TKM_VERDICT_VALID) dump_failures(&r);
    assert_int_equal(r.verdict, TKM_VERDICT_VALID);
    assert_int_equal(r.platform, TKM_PLATFORM_SGX);
    assert_int_equal(r.tcb_status, TKM_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    assert_int_equal(r.n_advisories, 2);
    assert_string_equal(r.advisory_ids[0], "INTEL-SA-00289");
    assert_string_equal(r.advisory_ids[1], "INTEL-SA-00615");
    assert_false(r.debug);
    static const char *const names[] = {"quote.header", "collateral", "pck.chain", "pck.extension", "pck.crl",
                                        "qe.report.signature", "qe.report.binding", "quote.signature",
                                        "tcbinfo.chain", "tcbinfo.signature", "tcbinfo.validity", "tcbinfo.match",
                                        "qeidentity.chain", "qeidentity.signature", "qeidentity.validity",
                                        "qeidentity.match", "qeidentity.tcb", "tcb.level", "debug", "tcb.status"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) expect_ok(&r, names[i]);
    /* the window edges (inclusive) and one second past them */
    assert_true(appraise(q, n, c, NULL, SGX_LO, &r));
    assert_int_equal(r.verdict, TKM_VERDICT_VALID);
    assert_true(appraise(q, n, c, NULL, SGX_QE_NEXT, &r));
    assert_int_equal(r.verdict, TKM_VERDICT_VALID);
    assert_true(appraise(q, n, c, NULL, SGX_LO - 1, &r));
    expect_fail(&r, "tcbinfo.validity");
    assert_true(appraise(q, n, c, NULL, SGX_QE_NEXT + 1, &r));
    expect_fail(&r, "qeidentity.validity");
    expect_ok(&r, "tcbinfo.validity");
    assert_true(appraise(q, n, c, NULL, SGX_PCKCRL_NEXT + 1, &r));
    expect_fail(&r, "pck.crl");
    assert_true(appraise(q, n, c, NULL, SGX_TCB_NEXT + 1, &r));
    expect_fail(&r, "tcbinfo.validity");
    /* the chain cache never carries a success past the CRL's nextUpdate */
    tkm_attest_ctx_cache_clear(ctx);
    assert_true(appraise(q, n, c, NULL, SGX_MID, &r));
    assert_true(appraise(q, n, c, NULL, SGX_MID + 1, &r));
    uint64_t hits, misses;
    tkm_attest_ctx_cache_stats(ctx, &hits, &misses);
    assert_true(hits >= 3); /* PCK chain, TCB info chain, QE identity chain */
    assert_int_equal(r.verdict, TKM_VERDICT_VALID);
    assert_true(appraise(q, n, c, NULL, SGX_PCKCRL_NEXT + 1, &r));
    expect_fail(&r, "pck.crl");
    /* a root CA that has expired: year 2050 */
    assert_true(appraise(q, n, c, NULL, 2524608000, &r));
    expect_fail(&r, "pck.chain");
    tkm_collateral_free(c);
    free(q);
}

static void test_tdx_valid(void **state) {
    (void)state;
    size_t n;
    uint8_t *q = load("attestation/dcap-qvl/tdx_quote", &n);
    tkm_collateral *c = load_dcap_coll("attestation/dcap-qvl/tdx_quote_collateral.json");
    tkm_appraisal r;
    assert_true(appraise(q, n, c, NULL, TDX_MID, &r));
    if (r.verdict != TKM_VERDICT_VALID) dump_failures(&r);
    assert_int_equal(r.verdict, TKM_VERDICT_VALID);
    assert_int_equal(r.platform, TKM_PLATFORM_TDX);
    assert_int_equal(r.tcb_status, TKM_TCB_UP_TO_DATE);
    assert_int_equal(r.n_advisories, 0);
    expect_ok(&r, "tdx.module");
    expect_ok(&r, "tdx.attributes");
    assert_true(appraise(q, n, c, NULL, 1752919235 + 1, &r)); /* PCK CRL nextUpdate + 1 */
    expect_fail(&r, "pck.crl");
    assert_true(appraise(q, n, c, NULL, 1750329147 - 1, &r)); /* QE identity issueDate - 1 */
    expect_fail(&r, "qeidentity.validity");
    tkm_collateral_free(c);
    free(q);
}

static void test_no_matching_tcb_level(void **state) {
    (void)state;
    size_t n;
    uint8_t *q = load("attestation/dcap-qvl/tdx_quote_outdated", &n);
    tkm_collateral *c = load_dcap_coll("attestation/dcap-qvl/tdx_quote_outdated_collateral.json");
    tkm_appraisal r;
    assert_true(appraise(q, n, c, NULL, TDX5_MID, &r));
    expect_fail(&r, "tcb.level");
    assert_int_equal(r.tcb_status, TKM_TCB_NONE);
    /* every signature is valid: only the TCB level (and the status derived from it) fails */
    for (size_t i = 0; i < r.n_checks; i++)
        if (!r.checks[i].ok && strcmp(r.checks[i].name, "tcb.level") != 0 && strcmp(r.checks[i].name, "tcb.status") != 0)
            fail_msg("unexpected failure %s: %s", r.checks[i].name, r.checks[i].detail);
    tkm_collateral_free(c);
    free(q);

    q = load("attestation/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", &n);
    c = load_dcap_coll("attestation/go-tdx-guest/DERIVED_collateral_spr_e4.json");
    assert_false(appraise(q, n, c, NULL, SPR_AT, &r)); /* trailing text: refused at parse */
    assert_true(appraise(q, 4935, c, NULL, SPR_AT, &r));
    expect_fail(&r, "tcb.level");
    expect_ok(&r, "quote.signature");
    expect_ok(&r, "qe.report.signature");
    expect_ok(&r, "pck.crl");
    expect_ok(&r, "tcbinfo.signature");
    expect_fail(&r, "tdx.attributes"); /* SEPT_VE_DISABLE = 0 on that machine */
    tkm_collateral_free(c);
    free(q);
}

/* Quotes shipped without collateral: in-quote crypto passes, the collateral checks fail. */
static void test_without_collateral(void **state) {
    (void)state;
    static const struct {
        const char *file;
        int64_t at;
    } cases[] = {
        {"attestation/dcap-qvl/tdx-quote.hex", SNP_AT},
        {"attestation/dcap-qvl/quote-from-tappd.hex", SNP_AT},
        {"attestation/go-tdx-guest/quote_v5_sample.dat", 1770080400},
        {"attestation/go-tdx-guest/ccel_cos-113-tdx-quote.dat", SNP_AT},
        {"attestation/trustee/tdx_quote_5.dat", SNP_AT},
        {"attestation/trustee/tdx_quote_6.dat", SNP_AT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        uint8_t *q = load(cases[i].file, &n);
        tkm_appraisal r;
        assert_true(appraise(q, n, NULL, NULL, cases[i].at, &r));
        expect_ok(&r, "pck.chain");
        expect_ok(&r, "qe.report.signature");
        expect_ok(&r, "qe.report.binding");
        expect_ok(&r, "quote.signature");
        expect_fail(&r, "collateral");
        expect_fail(&r, "pck.crl");
        expect_fail(&r, "tcb.status");
        free(q);
    }
}

/*
 * Flip every byte of a signed region: the evidence either does not parse or
 * the named check fails, and the verdict is never valid.
 */
static void flip_all(const char *file, const tkm_collateral *c, int64_t at, size_t from, size_t to, const char *check) {
    size_t n;
    uint8_t *q = load(file, &n);
    tkm_appraisal r;
    size_t parsed = 0;
    for (size_t i = from; i < to; i++) {
        q[i] ^= 0x01;
        if (appraise(q, n, c, NULL, at, &r)) {
            parsed++;
            const tkm_check *k = tkm_appraisal_find(&r, check);
            if (!k || k->ok || r.verdict == TKM_VERDICT_VALID)
                fail_msg("%s: flipping byte %zu did not fail %s", file, i, check);
        }
        q[i] ^= 0x01;
    }
    assert_true(parsed > (to - from) / 2); /* most flips reach the signature checks */
    free(q);
}

static void test_flip_sgx(void **state) {
    (void)state;
    tkm_collateral *c = load_dcap_coll("attestation/dcap-qvl/sgx_quote_collateral.json");
    const char *f = "attestation/dcap-qvl/sgx_quote";
    flip_all(f, c, SGX_MID, 0, 432, "quote.signature");             /* header ‖ body */
    flip_all(f, c, SGX_MID, 436 + 64, 436 + 128, "qe.report.binding"); /* attestation key */
    flip_all(f, c, SGX_MID, 436 + 128, 436 + 512, "qe.report.signature"); /* QE report */
    flip_all(f, c, SGX_MID, 436 + 578, 436 + 578 + 32, "qe.report.binding"); /* QE auth data */
    tkm_collateral_free(c);
}

static void test_flip_tdx(void **state) {
    (void)state;
    tkm_collateral *c = load_dcap_coll("attestation/dcap-qvl/tdx_quote_collateral.json");
    flip_all("attestation/dcap-qvl/tdx_quote", c, TDX_MID, 0, 632, "quote.signature");
    tkm_collateral_free(c);
    c = load_dcap_coll("attestation/dcap-qvl/tdx_quote_outdated_collateral.json");
    flip_all("attestation/dcap-qvl/tdx_quote_outdated", c, TDX5_MID, 0, 702, "quote.signature");
    tkm_collateral_free(c);
}

static void test_flip_snp(void **state) {
    (void)state;
    tkm_collateral *c = load_snp_coll("attestation/virtee-sev/vcek_milan.der");
    flip_all("attestation/virtee-sev/DERIVED_report_milan.bin", c, SNP_AT, 0, 0x2A0, "snp.report.signature");
    flip_all("attestation/virtee-sev/DERIVED_report_milan.bin", c, SNP_AT, 0x2A0, 0x2A0 + 144, "snp.report.signature");
    tkm_collateral_free(c);
}

static void test_snp(void **state) {
    (void)state;
    size_t n;
    tkm_appraisal r;
    uint8_t *s = load("attestation/virtee-sev/report_milan.hex", &n);
    tkm_collateral *c = load_snp_coll("attestation/virtee-sev/vcek_milan.der");
    static const char *const names[] = {"snp.report.format", "collateral", "snp.ark", "snp.ask", "snp.vcek.chain",
                                        "snp.key.type", "snp.report.signature", "snp.tcb", "snp.chip_id", "debug",
                                        "snp.policy"};
    /* without the AMD CRL: everything else passes, revocation is reported as not checked and the verdict is invalid */
    assert_true(appraise(s, n, c, NULL, SNP_AT, &r));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) expect_ok(&r, names[i]);
    expect_fail(&r, "snp.crl");
    assert_non_null(strstr(tkm_appraisal_find(&r, "snp.crl")->detail, "not evaluated"));
    assert_string_equal(tkm_appraisal_first_failure(&r)->name, "snp.crl");
    assert_int_equal(r.revocation, TKM_REVOCATION_NOT_CHECKED);
    assert_int_equal(r.verdict, TKM_VERDICT_INVALID);
    /* with the real Milan CRL, inside its window: valid */
    tkm_collateral *cc = load_snp_coll_crl("attestation/virtee-sev/vcek_milan.der", MILAN_CRL, -1);
    assert_true(appraise(s, n, cc, NULL, SNP_CRL_AT, &r));
    if (r.verdict != TKM_VERDICT_VALID) dump_failures(&r);
    assert_int_equal(r.verdict, TKM_VERDICT_VALID);
    assert_int_equal(r.platform, TKM_PLATFORM_SNP);
    assert_int_equal(r.tcb_status, TKM_TCB_NONE);
    assert_int_equal(r.revocation, TKM_REVOCATION_CHECKED);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) expect_ok(&r, names[i]);
    expect_ok(&r, "snp.crl");
    tkm_collateral_free(cc);
    /* before the VCEK was issued / after it expired */
    assert_true(appraise(s, n, c, NULL, 1672531200, &r)); /* 2023-01-01 */
    expect_fail(&r, "snp.vcek.chain");
    assert_true(appraise(s, n, c, NULL, 1988150400, &r)); /* 2033 */
    expect_fail(&r, "snp.vcek.chain");
    /* another chip's VCEK */
    tkm_collateral *other = load_snp_coll("attestation/go-sev-guest/vcek.testcer");
    assert_true(appraise(s, n, other, NULL, SNP_AT, &r));
    expect_fail(&r, "snp.report.signature");
    expect_fail(&r, "snp.chip_id");
    expect_fail(&r, "snp.tcb");
    free(s);
    /* go-sev-guest's report: authentic, but DEBUG */
    s = load("attestation/go-sev-guest/attestation.bin", &n);
    assert_true(appraise(s, n, other, NULL, SNP_AT, &r));
    expect_ok(&r, "snp.report.signature");
    expect_ok(&r, "snp.vcek.chain");
    expect_ok(&r, "snp.tcb");
    expect_ok(&r, "snp.chip_id");
    expect_fail(&r, "debug");
    assert_true(r.debug);
    /* Intel collateral given for an SNP report */
    tkm_collateral *intel = load_dcap_coll("attestation/dcap-qvl/sgx_quote_collateral.json");
    assert_true(appraise(s, n, intel, NULL, SNP_AT, &r));
    expect_fail(&r, "collateral");
    tkm_collateral_free(intel);
    tkm_collateral_free(other);
    tkm_collateral_free(c);
    free(s);
}

/* The real AMD Milan CRL (ARK-signed, no entries) with real Milan evidence. */
static void test_snp_crl(void **state) {
    (void)state;
    size_t n;
    tkm_appraisal r;
    uint8_t *s = load("attestation/virtee-sev/report_milan.hex", &n);
    tkm_collateral *c = load_snp_coll_crl("attestation/virtee-sev/vcek_milan.der", MILAN_CRL, -1);
    tkm_collateral_info in;
    tkm_collateral_info_get(c, &in);
    assert_true(in.has_crl);
    assert_int_equal(in.next_update, MILAN_CRL_NEXT); /* earlier than the VCEK's notAfter */
    /* window edges: thisUpdate <= at < nextUpdate */
    const struct {
        int64_t at;
        int ok;
        const char *word;
    } win[] = {{MILAN_CRL_THIS - 1, 0, "not yet valid"}, {MILAN_CRL_THIS, 1, "none for this chain"},
               {MILAN_CRL_NEXT - 1, 1, "none for this chain"}, {MILAN_CRL_NEXT, 0, "expired"},
               {SNP_CRL_AT, 1, "(cached)"}};
    for (size_t i = 0; i < sizeof win / sizeof win[0]; i++) {
        assert_true(appraise(s, n, c, NULL, win[i].at, &r));
        const tkm_check *k = tkm_appraisal_find(&r, "snp.crl");
        assert_non_null(k);
        if (k->ok != win[i].ok || !strstr(k->detail, win[i].word))
            fail_msg("at %lld: snp.crl ok=%d %s", (long long)win[i].at, k->ok, k->detail);
        assert_int_equal(r.revocation, win[i].ok ? TKM_REVOCATION_CHECKED : TKM_REVOCATION_FAILED);
        assert_int_equal(r.verdict, win[i].ok ? TKM_VERDICT_VALID : TKM_VERDICT_INVALID);
        assert_non_null(strstr(k->detail, "ARK-Milan"));
    }
    tkm_collateral_free(c);
    /* one flipped byte in the signature (the CRL's last byte) or in the signed list (its issuer name) */
    size_t crl_n;
    free(tu_read_file(tu_vector_path(MILAN_CRL), &crl_n));
    const long flips[] = {(long)crl_n - 1, (long)crl_n - 200, 0xc2 + 8 /* the n of ARK-Milan in the issuer */};
    for (size_t i = 0; i < 3; i++) {
        c = load_snp_coll_crl("attestation/virtee-sev/vcek_milan.der", MILAN_CRL, flips[i]);
        assert_true(appraise(s, n, c, NULL, SNP_CRL_AT, &r));
        expect_fail(&r, "snp.crl");
        expect_ok(&r, "snp.report.signature");
        assert_int_equal(r.revocation, TKM_REVOCATION_FAILED);
        assert_int_equal(r.verdict, TKM_VERDICT_INVALID);
        tkm_collateral_free(c);
    }
    /* the Milan CRL given with a Turin VCEK: issued by another product's ARK */
    c = load_snp_coll_crl("attestation/virtee-sev/vcek_turin.der", MILAN_CRL, -1);
    assert_true(appraise(s, n, c, NULL, SNP_CRL_AT, &r));
    expect_fail(&r, "snp.crl");
    assert_non_null(strstr(tkm_appraisal_find(&r, "snp.crl")->detail, "not by the built-in ARK-Turin"));
    tkm_collateral_free(c);
    /* PEM form, CRL block first: the same outcome as DER */
    char cmd[2048], dir[] = "/tmp/tkm_snpcrl_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char crl_path[600];
    snprintf(crl_path, sizeof crl_path, "%s", tu_vector_path(MILAN_CRL)); /* tu_vector_path reuses its buffer */
    snprintf(cmd, sizeof cmd,
             "openssl crl -inform DER -in '%s' -outform PEM > '%s/b.pem' && openssl x509 -inform DER -in '%s' >> '%s/b.pem'",
             crl_path, dir, tu_vector_path("attestation/virtee-sev/vcek_milan.der"), dir);
    assert_int_equal(system(cmd), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/b.pem", dir);
    size_t pn;
    uint8_t *pem = tu_read_file(path, &pn);
    TU_ASSERT_OK(tkm_snp_collateral_parse(&c, pem, pn));
    assert_true(appraise(s, n, c, NULL, SNP_CRL_AT, &r));
    assert_int_equal(r.verdict, TKM_VERDICT_VALID);
    expect_ok(&r, "snp.crl");
    tkm_collateral_free(c);
    /* two CRLs, or two certificates, are refused; so is a DER certificate followed by junk */
    snprintf(cmd, sizeof cmd, "openssl crl -inform DER -in '%s' -outform PEM >> '%s/b.pem'", tu_vector_path(MILAN_CRL), dir);
    assert_int_equal(system(cmd), 0);
    free(pem);
    pem = tu_read_file(path, &pn);
    TU_ASSERT_RC(tkm_snp_collateral_parse(&c, pem, pn), TKM_ERR_X509);
    free(pem);
    size_t vn;
    uint8_t *v = tu_read_file(tu_vector_path("attestation/virtee-sev/vcek_milan.der"), &vn);
    uint8_t *vj = malloc(vn + 4);
    assert_non_null(vj);
    memcpy(vj, v, vn);
    memcpy(vj + vn, "\x30\x02\x01\x00", 4);
    TU_ASSERT_RC(tkm_snp_collateral_parse(&c, vj, vn + 4), TKM_ERR_X509);
    free(vj);
    free(v);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(s);
}

static void test_vcek_certs(void **state) {
    (void)state;
    /* PEM bundle with two certificates is not one VCEK; PEM with one is fine */
    size_t n;
    uint8_t *b = tu_read_file(tu_vector_path("attestation/virtee-sev/cert_chain_milan"), &n);
    tkm_collateral *c;
    TU_ASSERT_RC(tkm_snp_collateral_parse(&c, b, n), TKM_ERR_X509);
    free(b);
    /* Turin VCEK: its chain verifies against the built-in Turin ASK/ARK (no Turin report exists) */
    c = load_snp_coll("attestation/virtee-sev/vcek_turin.der");
    uint8_t *s = load("attestation/virtee-sev/DERIVED_report_milan.bin", &n);
    tkm_appraisal r;
    assert_true(appraise(s, n, c, NULL, SNP_AT, &r));
    expect_ok(&r, "snp.ark");
    expect_ok(&r, "snp.ask");
    expect_ok(&r, "snp.vcek.chain");
    expect_fail(&r, "snp.report.signature");
    tkm_collateral_free(c);
    /* odd encodings: hwID wrapped in an OCTET STRING, two-byte ucodeSPL */
    c = load_snp_coll("attestation/trustee/test-vcek-invalid-new.der");
    assert_true(appraise(s, n, c, NULL, SNP_AT, &r));
    expect_fail(&r, "snp.vcek.chain"); /* not signed by AMD */
    tkm_collateral_free(c);
    c = load_snp_coll("attestation/trustee/test-vcek-invalid-legacy.der");
    tkm_collateral_free(c);
    free(s);
}

/* Replace a quote's PCK chain with another quote's (lengths rewritten), keeping everything else. */
static uint8_t *swap_pck_chain(const uint8_t *q, size_t qn, const uint8_t *chain, size_t cn, size_t *out_n) {
    tkm_dcap_quote p;
    TU_ASSERT_OK(tkm_dcap_quote_parse(&p, q, qn));
    size_t head = (size_t)(p.pck_chain_pem - q); /* up to the chain bytes */
    size_t n = head + cn;
    uint8_t *o = malloc(n);
    memcpy(o, q, head);
    memcpy(o + head, chain, cn);
    uint32_t sig_len = (uint32_t)(n - p.signed_len - 4);
    memcpy(o + p.signed_len, &sig_len, 4); /* little-endian host */
    uint32_t cl = (uint32_t)cn;
    memcpy(o + head - 4, &cl, 4);
    if (p.version != 3) {
        uint32_t outer = (uint32_t)(n - (p.signed_len + 4 + 128 + 6));
        memcpy(o + p.signed_len + 4 + 128 + 2, &outer, 4);
    }
    *out_n = n;
    return o;
}

static void test_swaps(void **state) {
    (void)state;
    size_t sn, tn, xn;
    uint8_t *sgx = load("attestation/dcap-qvl/sgx_quote", &sn);
    uint8_t *tdx = load("attestation/dcap-qvl/tdx_quote", &tn);
    tkm_collateral *sc = load_dcap_coll("attestation/dcap-qvl/sgx_quote_collateral.json");
    tkm_collateral *tc = load_dcap_coll("attestation/dcap-qvl/tdx_quote_collateral.json");
    tkm_dcap_quote pt;
    TU_ASSERT_OK(tkm_dcap_quote_parse(&pt, tdx, tn));
    tkm_appraisal r;
    /* the SGX quote carrying the TDX machine's PCK chain */
    uint8_t *x = swap_pck_chain(sgx, sn, pt.pck_chain_pem, pt.pck_chain_len, &xn);
    assert_true(appraise(x, xn, sc, NULL, SGX_MID, &r));
    expect_ok(&r, "pck.chain");
    expect_fail(&r, "qe.report.signature");
    expect_fail(&r, "pck.crl"); /* a Platform CA leaf against the Processor CA CRL */
    expect_fail(&r, "tcbinfo.match");
    free(x);
    /* swapped collateral */
    assert_true(appraise(sgx, sn, tc, NULL, SGX_MID, &r));
    expect_fail(&r, "tcbinfo.match");
    expect_fail(&r, "qeidentity.match");
    assert_true(appraise(tdx, tn, sc, NULL, TDX_MID, &r));
    expect_fail(&r, "tcbinfo.match");
    expect_fail(&r, "qeidentity.match");
    /* SNP collateral for an Intel quote */
    tkm_collateral *v = load_snp_coll("attestation/virtee-sev/vcek_milan.der");
    assert_true(appraise(sgx, sn, v, NULL, SGX_MID, &r));
    expect_fail(&r, "collateral");
    tkm_collateral_free(v);
    tkm_collateral_free(sc);
    tkm_collateral_free(tc);
    free(sgx);
    free(tdx);
}

/* Collateral edits: the exact signed bytes matter; malformed documents are refused at parse. */
static void test_collateral_tamper(void **state) {
    (void)state;
    size_t n;
    uint8_t *b = tu_read_file(tu_vector_path("attestation/dcap-qvl/sgx_quote_collateral.json"), &n);
    char *s = (char *)b;
    tkm_collateral *c;
    /* "tcbEvaluationDataNumber":17 → 18 inside the signed tcb_info text */
    char *p = strstr(s, "\\\"tcbEvaluationDataNumber\\\":17");
    if (!p) p = strstr(s, "\"tcbEvaluationDataNumber\":17");
    assert_non_null(p);
    char *digit = strstr(p, "17");
    digit[1] = '8';
    TU_ASSERT_OK(tkm_dcap_collateral_parse(&c, b, n));
    size_t qn;
    uint8_t *q = load("attestation/dcap-qvl/sgx_quote", &qn);
    tkm_appraisal r;
    assert_true(appraise(q, qn, c, NULL, SGX_MID, &r));
    expect_fail(&r, "tcbinfo.signature");
    expect_ok(&r, "qeidentity.signature");
    tkm_collateral_free(c);
    digit[1] = '7';
    /* an unknown field */
    uint8_t *u = malloc(n + 16);
    memcpy(u, "{\"extra\":1,", 11);
    memcpy(u + 11, b + 1, n - 1);
    TU_ASSERT_RC(tkm_dcap_collateral_parse(&c, u, n + 10), TKM_ERR_JSON_UNKNOWN_FIELD);
    free(u);
    /* truncations of the collateral document fail cleanly */
    for (size_t k = 0; k < n; k += 97) {
        tkm_rc rc = tkm_dcap_collateral_parse(&c, b, k);
        if (tkm_ok(rc)) fail_msg("collateral truncated at %zu parsed", k);
    }
    free(q);
    free(b);
}

static void test_parse_time(void **state) {
    (void)state;
    int64_t t;
    static const char ok[] = "2025-06-19T10:56:11Z";
    TU_ASSERT_OK(tkm_attest_parse_time(&t, ok, strlen(ok)));
    assert_int_equal(t, 1750330571);
    TU_ASSERT_OK(tkm_attest_parse_time(&t, "2024-02-29T00:00:00Z", 20));
    assert_int_equal(t, 1709164800);
    TU_ASSERT_RC(tkm_attest_parse_time(&t, "2023-02-29T00:00:00Z", 20), TKM_ERR_FORMAT);
    TU_ASSERT_RC(tkm_attest_parse_time(&t, "2025-06-19T10:56:11", 19), TKM_ERR_FORMAT);
    TU_ASSERT_RC(tkm_attest_parse_time(&t, "2025-06-19 10:56:11Z", 20), TKM_ERR_FORMAT);
    TU_ASSERT_RC(tkm_attest_parse_time(&t, "2025-13-19T10:56:11Z", 20), TKM_ERR_FORMAT);
}

int main(void) {
    tkm_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_valid),      cmocka_unit_test(test_tdx_valid),
        cmocka_unit_test(test_no_matching_tcb_level), cmocka_unit_test(test_without_collateral),
        cmocka_unit_test(test_flip_sgx),       cmocka_unit_test(test_flip_tdx),
        cmocka_unit_test(test_flip_snp),       cmocka_unit_test(test_snp), cmocka_unit_test(test_snp_crl),
        cmocka_unit_test(test_vcek_certs),     cmocka_unit_test(test_swaps),
        cmocka_unit_test(test_collateral_tamper), cmocka_unit_test(test_parse_time),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
