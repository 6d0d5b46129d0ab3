/*
 * Appraisal policy: parsing (strict) and its rules applied to real evidence;
 * sim evidence only under a policy that enables it; the compiled-in roots.
 */
#include "testutil.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attest.h"
#include "attest/attest_int.h"
#include "crypto/crypto.h"

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

static tkm_appraisal_policy *pol(const char *json) {
    tkm_appraisal_policy *p;
    tkm_rc rc = tkm_appraisal_policy_parse(&p, (const uint8_t *)json, strlen(json));
    if (tkm_failed(rc)) fail_msg("policy: %s %s", tkm_err_name(rc.code), tkm_err_detail());
    return p;
}

static tkm_rc pol_rc(const char *json) {
    tkm_appraisal_policy *p = NULL;
    tkm_rc rc = tkm_appraisal_policy_parse(&p, (const uint8_t *)json, strlen(json));
    tkm_appraisal_policy_free(p);
    return rc;
}

static void check(const tkm_appraisal *r, const char *name, int ok) {
    const tkm_check *c = tkm_appraisal_find(r, name);
    if (!c) fail_msg("check %s missing", name);
    if (c->ok != ok) fail_msg("check %s: ok=%d (%s)", name, c->ok, c->detail);
}

typedef struct {
    tkm_evidence *ev;
    tkm_collateral *coll;
    int64_t at;
} sample;

static sample load_sgx(void) {
    sample s;
    size_t n;
    uint8_t *b = tu_read_file(tu_vector_path("attestation/dcap-qvl/sgx_quote"), &n);
    TU_ASSERT_OK(tkm_evidence_parse(&s.ev, b, n));
    free(b);
    b = tu_read_file(tu_vector_path("attestation/dcap-qvl/sgx_quote_collateral.json"), &n);
    TU_ASSERT_OK(tkm_dcap_collateral_parse(&s.coll, b, n));
    free(b);
    s.at = 1751624924;
    return s;
}

static void sample_free(sample *s) {
    tkm_evidence_free(s->ev);
    tkm_collateral_free(s->coll);
}

static tkm_appraisal run(const sample *s, const tkm_appraisal_policy *p) {
    tkm_appraisal r;
    tkm_appraise_opts o = {.at = s->at};
    TU_ASSERT_OK(tkm_appraise(ctx, s->ev, s->coll, p, &o, &r));
    return r;
}

#define MRE "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"
#define MRS "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6"

static void test_sgx_policy(void **state) {
    (void)state;
    sample s = load_sgx();
    tkm_appraisal_policy *p;
    tkm_appraisal r;
    /* accepts the enclave by MRENCLAVE; default statuses include ConfigurationAndSWHardeningNeeded */
    p = pol("{\"version\":1,\"sgx\":[{\"mrenclave\":\"" MRE "\"}]}");
    r = run(&s, p);
    assert_int_equal(r.verdict, TKM_VERDICT_VALID);
    check(&r, "policy.measurement", 1);
    tkm_appraisal_policy_free(p);
    /* by MRSIGNER + product id + minimum SVN */
    p = pol("{\"version\":1,\"sgx\":[{\"mrsigner\":\"" MRS "\",\"isvProdId\":0,\"minIsvSvn\":1}]}");
    r = run(&s, p);
    check(&r, "policy.measurement", 0); /* isv_svn is 0 */
    tkm_appraisal_policy_free(p);
    /* stricter TCB: only UpToDate */
    p = pol("{\"version\":1,\"acceptedTcbStatuses\":[\"UpToDate\"],\"sgx\":[{\"mrenclave\":\"" MRE "\"}]}");
    r = run(&s, p);
    check(&r, "tcb.status", 0);
    assert_int_equal(r.verdict, TKM_VERDICT_INVALID);
    tkm_appraisal_policy_free(p);
    /* tolerated advisories: one missing */
    p = pol("{\"version\":1,\"toleratedAdvisoryIds\":[\"INTEL-SA-00289\"],\"sgx\":[{\"mrenclave\":\"" MRE "\"}]}");
    r = run(&s, p);
    check(&r, "tcb.advisories", 0);
    tkm_appraisal_policy_free(p);
    p = pol("{\"version\":1,\"toleratedAdvisoryIds\":[\"INTEL-SA-00289\",\"INTEL-SA-00615\"],\"sgx\":[{\"mrenclave\":\"" MRE "\"}]}");
    r = run(&s, p);
    check(&r, "tcb.advisories", 1);
    assert_int_equal(r.verdict, TKM_VERDICT_VALID);
    tkm_appraisal_policy_free(p);
    /* no SGX entry at all */
    p = pol("{\"version\":1,\"tdx\":[]}");
    r = run(&s, p);
    check(&r, "policy.measurement", 0);
    tkm_appraisal_policy_free(p);
    /* service hooks: nonce and evidence age */
    p = pol("{\"version\":1,\"requireNonce\":true,\"maxEvidenceAgeSeconds\":60,\"sgx\":[{\"mrenclave\":\"" MRE "\"}]}");
    r = run(&s, p);
    check(&r, "policy.nonce", 0);
    check(&r, "policy.freshness", 0);
    tkm_appraise_opts o = {.at = s.at, .expected_report_data = r.report_data, .nonce_bound = 1, .evidence_time = s.at - 30};
    uint8_t rd[64];
    memcpy(rd, r.report_data, 64);
    o.expected_report_data = rd;
    TU_ASSERT_OK(tkm_appraise(ctx, s.ev, s.coll, p, &o, &r));
    check(&r, "policy.nonce", 1);
    check(&r, "policy.freshness", 1);
    check(&r, "report_data", 1);
    assert_int_equal(r.verdict, TKM_VERDICT_VALID);
    o.evidence_time = s.at - 61;
    rd[0] ^= 1;
    TU_ASSERT_OK(tkm_appraise(ctx, s.ev, s.coll, p, &o, &r));
    check(&r, "policy.freshness", 0);
    check(&r, "report_data", 0);
    tkm_appraisal_policy_free(p);
    sample_free(&s);
}

static void test_policy_parse_errors(void **state) {
    (void)state;
    TU_ASSERT_RC(pol_rc("{\"version\":1,\"unknown\":1}"), TKM_ERR_JSON_UNKNOWN_FIELD);
    TU_ASSERT_RC(pol_rc("{\"sgx\":[]}"), TKM_ERR_JSON_MISSING);
    TU_ASSERT_RC(pol_rc("{\"version\":2}"), TKM_ERR_RANGE);
    TU_ASSERT_RC(pol_rc("{\"version\":1,\"acceptedTcbStatuses\":[\"Revoked\"]}"), TKM_ERR_POLICY_DOC);
    TU_ASSERT_RC(pol_rc("{\"version\":1,\"acceptedTcbStatuses\":[\"Fine\"]}"), TKM_ERR_POLICY_DOC);
    TU_ASSERT_RC(pol_rc("{\"version\":1,\"sgx\":[{}]}"), TKM_ERR_POLICY_DOC);
    TU_ASSERT_RC(pol_rc("{\"version\":1,\"sgx\":[{\"mrsigner\":\"" MRS "\"}]}"), TKM_ERR_POLICY_DOC);
    TU_ASSERT_RC(pol_rc("{\"version\":1,\"sgx\":[{\"mrenclave\":\"00\"}]}"), TKM_ERR_POLICY_DOC);
    TU_ASSERT_RC(pol_rc("{\"version\":1,\"tdx\":[{\"rtmr0\":\"00\"}]}"), TKM_ERR_JSON_MISSING);
    TU_ASSERT_RC(pol_rc("{\"version\":1,\"sim\":{}}"), TKM_ERR_JSON_MISSING);
    TU_ASSERT_RC(pol_rc("{\"version\":1,\"version\":1}"), TKM_ERR_JSON_DUPLICATE);
    TU_ASSERT_RC(pol_rc("{\"version\":1,\"snpOptions\":{\"vmpl\":4}}"), TKM_ERR_RANGE);
    TU_ASSERT_RC(pol_rc("[]"), TKM_ERR_JSON_TYPE);
}

static void test_tdx_snp_policy(void **state) {
    (void)state;
    size_t n;
    uint8_t *b = tu_read_file(tu_vector_path("attestation/dcap-qvl/tdx_quote"), &n);
    sample s;
    TU_ASSERT_OK(tkm_evidence_parse(&s.ev, b, n));
    free(b);
    b = tu_read_file(tu_vector_path("attestation/dcap-qvl/tdx_quote_collateral.json"), &n);
    TU_ASSERT_OK(tkm_dcap_collateral_parse(&s.coll, b, n));
    free(b);
    s.at = 1751624191;
    const char *mrtd = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";
    const char *rtmr3 = "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
    char js[1024];
    snprintf(js, sizeof js, "{\"version\":1,\"tdx\":[{\"mrtd\":\"%s\",\"rtmr3\":\"%s\"}]}", mrtd, rtmr3);
    tkm_appraisal_policy *p = pol(js);
    tkm_appraisal r = run(&s, p);
    assert_int_equal(r.verdict, TKM_VERDICT_VALID);
    tkm_appraisal_policy_free(p);
    snprintf(js, sizeof js, "{\"version\":1,\"tdx\":[{\"mrtd\":\"%s\",\"rtmr2\":\"%s\"}]}", mrtd, rtmr3);
    p = pol(js);
    r = run(&s, p);
    check(&r, "policy.measurement", 0);
    tkm_appraisal_policy_free(p);
    sample_free(&s);

    /* SNP: measurement + host data, SMT forbidden by policy */
    b = tu_read_file(tu_vector_path("attestation/virtee-sev/DERIVED_report_milan.bin"), &n);
    TU_ASSERT_OK(tkm_evidence_parse(&s.ev, b, n));
    free(b);
    /* the VCEK followed by the real AMD Milan CRL, at a time inside the CRL's window */
    b = tu_read_file(tu_vector_path("attestation/virtee-sev/vcek_milan.der"), &n);
    size_t crl_n;
    uint8_t *crl = tu_read_file(tu_vector_path("attestation/amd-kds/milan.crl.der"), &crl_n);
    uint8_t *both = malloc(n + crl_n);
    assert_non_null(both);
    memcpy(both, b, n);
    memcpy(both + n, crl, crl_n);
    TU_ASSERT_OK(tkm_snp_collateral_parse(&s.coll, both, n + crl_n));
    free(both);
    free(crl);
    free(b);
    s.at = 1785000000; /* 2026-07-25 */
    const char *meas = "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f";
    snprintf(js, sizeof js, "{\"version\":1,\"snp\":[{\"measurement\":\"%s\"}],\"snpOptions\":{\"vmpl\":0,\"minTcb\":{\"bootloader\":3,\"tee\":0,\"snp\":8,\"microcode\":115}}}", meas);
    p = pol(js);
    r = run(&s, p);
    assert_int_equal(r.verdict, TKM_VERDICT_VALID);
    tkm_appraisal_policy_free(p);
    snprintf(js, sizeof js, "{\"version\":1,\"snp\":[{\"measurement\":\"%s\"}],\"snpOptions\":{\"allowSmt\":false}}", meas);
    p = pol(js);
    r = run(&s, p);
    check(&r, "snp.policy", 0);
    tkm_appraisal_policy_free(p);
    snprintf(js, sizeof js, "{\"version\":1,\"snp\":[{\"measurement\":\"%s\"}],\"snpOptions\":{\"minTcb\":{\"bootloader\":3,\"tee\":0,\"snp\":9,\"microcode\":115}}}", meas);
    p = pol(js);
    r = run(&s, p);
    check(&r, "snp.policy", 0);
    tkm_appraisal_policy_free(p);
    snprintf(js, sizeof js, "{\"version\":1,\"snp\":[{\"measurement\":\"%s\",\"hostData\":\"%064d\",\"minGuestSvn\":1}]}", meas, 0);
    p = pol(js);
    r = run(&s, p);
    check(&r, "policy.measurement", 0); /* guest_svn is 0 */
    tkm_appraisal_policy_free(p);
    sample_free(&s);
}

/* sim evidence made with OpenSSL per docs/sim-evidence.md */
static void make_sim(uint8_t out[300], uint8_t pub[65]) {
    EVP_PKEY *k = EVP_EC_gen("P-256");
    memset(out, 0, 300);
    memcpy(out, "TKMSIM01", 8);
    out[8] = 1;
    out[12] = 1;
    memcpy(out + 16, "SIMULATED \xe2\x80\x94 NOT SECURE", 24);
    memset(out + 48, 0x11, 48);
    memset(out + 96, 0x22, 64);
    size_t pl;
    assert_int_equal(EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", out + 168, 65, &pl), 1);
    memcpy(pub, out + 168, 65);
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    unsigned char der[80];
    size_t dl = sizeof der;
    assert_int_equal(EVP_DigestSignInit(mc, NULL, EVP_sha256(), NULL, k), 1);
    assert_int_equal(EVP_DigestSign(mc, der, &dl, out, 236), 1);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    BN_bn2binpad(r, out + 236, 32);
    BN_bn2binpad(s, out + 268, 32);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(mc);
    EVP_PKEY_free(k);
}

static void test_sim_policy(void **state) {
    (void)state;
    uint8_t b[300], pub[65];
    make_sim(b, pub);
    tkm_evidence *ev;
    TU_ASSERT_OK(tkm_evidence_parse(&ev, b, 300));
    tkm_appraisal r;
    tkm_appraise_opts o = {.at = 1764000000};
    /* default rules: never valid, always flagged */
    TU_ASSERT_OK(tkm_appraise(ctx, ev, NULL, NULL, &o, &r));
    assert_int_equal(r.verdict, TKM_VERDICT_INVALID);
    assert_true(r.simulated);
    check(&r, "sim.signature", 1);
    check(&r, "policy.sim", 0);
    /* a policy that does not mention sim */
    tkm_appraisal_policy *p = pol("{\"version\":1,\"sgx\":[{\"mrenclave\":\"" MRE "\"}]}");
    TU_ASSERT_OK(tkm_appraise(ctx, ev, NULL, p, &o, &r));
    assert_int_equal(r.verdict, TKM_VERDICT_INVALID);
    tkm_appraisal_policy_free(p);
    /* explicitly enabled */
    p = pol("{\"version\":1,\"sim\":{\"enabled\":true}}");
    TU_ASSERT_OK(tkm_appraise(ctx, ev, NULL, p, &o, &r));
    assert_int_equal(r.verdict, TKM_VERDICT_VALID);
    assert_true(r.simulated);
    json_t *j;
    TU_ASSERT_OK(tkm_appraisal_to_json(&r, &j));
    assert_true(json_is_true(json_object_get(j, "simulated")));
    assert_string_equal(json_string_value(json_object_get(j, "platform")), "sim");
    json_decref(j);
    tkm_appraisal_policy_free(p);
    /* enabled, with a pinned key that is not this one, and with the right one */
    char js[512], hex[133];
    TU_ASSERT_OK(tkm_hex_encode(hex, sizeof hex, pub, 65, 1));
    snprintf(js, sizeof js, "{\"version\":1,\"sim\":{\"enabled\":true,\"signerPublicKeys\":[\"%s\"],\"measurements\":[\"0x%s\"]}}",
             hex, "111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111");
    p = pol(js);
    TU_ASSERT_OK(tkm_appraise(ctx, ev, NULL, p, &o, &r));
    assert_int_equal(r.verdict, TKM_VERDICT_VALID);
    tkm_appraisal_policy_free(p);
    hex[10] = hex[10] == 'a' ? 'b' : 'a';
    snprintf(js, sizeof js, "{\"version\":1,\"sim\":{\"enabled\":true,\"signerPublicKeys\":[\"%s\"]}}", hex);
    p = pol(js);
    TU_ASSERT_OK(tkm_appraise(ctx, ev, NULL, p, &o, &r));
    check(&r, "policy.sim", 0);
    tkm_appraisal_policy_free(p);
    tkm_evidence_free(ev);
    /* a flipped signed byte */
    b[100] ^= 1;
    TU_ASSERT_OK(tkm_evidence_parse(&ev, b, 300));
    TU_ASSERT_OK(tkm_appraise(ctx, ev, NULL, NULL, &o, &r));
    check(&r, "sim.signature", 0);
    tkm_evidence_free(ev);
}

/* The compiled-in anchors are byte-for-byte the vector files, with the published fingerprints. */
static void test_roots(void **state) {
    (void)state;
    size_t n;
    uint8_t *b = tu_read_file(tu_vector_path("attestation/roots/Intel_SGX_Root_CA.der"), &n);
    assert_int_equal(n, tkm_root_intel_sgx_root_len);
    assert_memory_equal(b, tkm_root_intel_sgx_root, n);
    free(b);
    uint8_t h[32];
    TU_ASSERT_OK(tkm_sha256(h, tkm_root_intel_sgx_root, tkm_root_intel_sgx_root_len));
    assert_string_equal(tu_tohex(h, 32), "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
    TU_ASSERT_OK(tkm_sha256(h, tkm_root_amd_ark_milan, tkm_root_amd_ark_milan_len));
    assert_string_equal(tu_tohex(h, 32), "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd");
    TU_ASSERT_OK(tkm_sha256(h, tkm_root_amd_ark_genoa, tkm_root_amd_ark_genoa_len));
    assert_string_equal(tu_tohex(h, 32), "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1");
    TU_ASSERT_OK(tkm_sha256(h, tkm_root_amd_ark_turin, tkm_root_amd_ark_turin_len));
    assert_string_equal(tu_tohex(h, 32), "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a");
    /* the context verified every built-in AMD signature (RSA-PSS) at creation */
    for (int i = 0; i < 3; i++) {
        assert_true(ctx->amd[i].ark_ok);
        assert_true(ctx->amd[i].ask_ok);
        assert_true(ctx->amd[i].asvk_ok);
    }
}

int main(void) {
    tkm_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_policy), cmocka_unit_test(test_policy_parse_errors),
        cmocka_unit_test(test_tdx_snp_policy), cmocka_unit_test(test_sim_policy),
        cmocka_unit_test(test_roots),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
