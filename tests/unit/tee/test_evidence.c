/* Structural evidence reader on real SGX/TDX quotes and SNP reports (tests/vectors/tee/MANIFEST.md):
 * valid samples, single-field corruptions, every truncation. The byte-exact format parsers it
 * runs on (tkm_evidence_format.h) are checked field by field in tests/unit/attest/test_evidence.c. */
#include "testutil.h"

#include <string.h>

#include "tee/tee.h"

static uint8_t *vec(const char *rel, size_t *n) { return tu_read_file(tu_vector_path(rel), n); }

static void expect_hex(const uint8_t *got, size_t n, const char *hex) {
    uint8_t want[64];
    tu_hex_exact(want, n, hex);
    assert_memory_equal(got, want, n);
}

static void test_sgx_quote(void **state) {
    (void)state;
    size_t n = 0;
    uint8_t *q = vec("tee/sgx_quote_v3.bin", &n);
    tkm_ev_view v;
    TU_ASSERT_OK(tkm_ev_inspect(&v, TKM_EV_SGX_QUOTE, q, n));
    assert_int_equal(v.platform, TKM_TEE_KIND_SGX);
    assert_int_equal(v.measurement_len, 32);
    expect_hex(v.measurement, 32, "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
    expect_hex(v.sgx_mrsigner, 32, "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6");
    assert_int_equal(v.sgx_attributes_flags, 0x05);
    assert_int_equal(v.debug, 0);
    assert_memory_equal(v.report_data, "Hello, world!", 13);
    for (int i = 13; i < 64; i++) assert_int_equal(v.report_data[i], 0);
    /* corruptions */
    q[0] = 4; /* version */
    TU_ASSERT_RC(tkm_ev_inspect(&v, TKM_EV_SGX_QUOTE, q, n), TKM_ERR_EVIDENCE);
    q[0] = 3;
    q[4] = 0x81; /* TDX TEE type under the SGX format */
    TU_ASSERT_RC(tkm_ev_inspect(&v, TKM_EV_SGX_QUOTE, q, n), TKM_ERR_EVIDENCE);
    q[4] = 0;
    q[48 + 48] |= 2; /* DEBUG attribute */
    TU_ASSERT_OK(tkm_ev_inspect(&v, TKM_EV_SGX_QUOTE, q, n));
    assert_int_equal(v.debug, 1);
    q[48 + 48] &= (uint8_t)~2;
    q[2] = 3; /* ECDSA P-384 attestation key: not a layout teekm reads (the verifier cannot check it) */
    TU_ASSERT_RC(tkm_ev_inspect(&v, TKM_EV_SGX_QUOTE, q, n), TKM_ERR_EVIDENCE);
    q[2] = 2;
    q[12] ^= 1; /* QE vendor id is not Intel's */
    TU_ASSERT_RC(tkm_ev_inspect(&v, TKM_EV_SGX_QUOTE, q, n), TKM_ERR_EVIDENCE);
    q[12] ^= 1;
    /* trailing garbage vs zero padding */
    uint8_t *p = malloc(n + 5);
    memcpy(p, q, n);
    memset(p + n, 0, 5);
    TU_ASSERT_OK(tkm_ev_inspect(&v, TKM_EV_SGX_QUOTE, p, n + 5));
    p[n + 4] = 1;
    TU_ASSERT_RC(tkm_ev_inspect(&v, TKM_EV_SGX_QUOTE, p, n + 5), TKM_ERR_TRAILING);
    free(p);
    for (size_t i = 0; i < n; i++) {
        tkm_rc rc = tkm_ev_inspect(&v, TKM_EV_SGX_QUOTE, q, i);
        if (tkm_ok(rc)) fail_msg("truncated quote of %zu bytes accepted", i);
        assert_int_equal(v.measurement_len, 0);
    }
    free(q);
}

static void test_sgx_report(void **state) {
    (void)state;
    size_t n = 0;
    uint8_t *q = vec("tee/sgx_quote_v3.bin", &n);
    uint8_t rep[432] = {0};
    memcpy(rep, q + 48, 384);
    tkm_ev_view v;
    TU_ASSERT_OK(tkm_ev_inspect_sgx_report(&v, rep, sizeof rep));
    expect_hex(v.measurement, 32, "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
    TU_ASSERT_RC(tkm_ev_inspect_sgx_report(&v, rep, 431), TKM_ERR_TRUNCATED);
    free(q);
}

static void test_tdx_quotes(void **state) {
    (void)state;
    size_t n = 0;
    uint8_t *q = vec("tee/tdx_quote_v4.bin", &n);
    tkm_ev_view v;
    TU_ASSERT_OK(tkm_ev_inspect(&v, TKM_EV_TDX_QUOTE, q, n));
    assert_int_equal(v.platform, TKM_TEE_KIND_TDX);
    assert_int_equal(v.quote_version, 4);
    expect_hex(v.measurement, 48,
               "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7");
    expect_hex(v.tdx_td_attributes, 8, "0000001000000000");
    assert_int_equal(v.debug, 0);
    expect_hex(v.report_data, 64,
               "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51e"
               "c39b7e518fadb92c2b523f20");
    expect_hex(v.tdx_rtmr[0], 48,
               "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0");
    /* the SGX format refuses it, and a debug TD is seen */
    TU_ASSERT_RC(tkm_ev_inspect(&v, TKM_EV_SGX_QUOTE, q, n), TKM_ERR_EVIDENCE);
    q[48 + 120] |= 1;
    TU_ASSERT_OK(tkm_ev_inspect(&v, TKM_EV_TDX_QUOTE, q, n));
    assert_int_equal(v.debug, 1);
    q[48 + 120] = 0x02; /* another TUD (debug-group) bit: debug too, as the verifier sees it */
    TU_ASSERT_OK(tkm_ev_inspect(&v, TKM_EV_TDX_QUOTE, q, n));
    assert_int_equal(v.debug, 1);
    q[48 + 120] = 0;
    size_t meaningful = 636 + (size_t)(q[632] | q[633] << 8 | q[634] << 16); /* then 70 zero bytes */
    assert_int_equal(meaningful, 4936);
    for (size_t i = 0; i < meaningful; i += (i < 700 ? 1 : 97)) {
        if (tkm_ok(tkm_ev_inspect(&v, TKM_EV_TDX_QUOTE, q, i))) fail_msg("truncated TDX quote %zu accepted", i);
    }
    free(q);
    q = vec("tee/tdx_quote_v5.bin", &n);
    TU_ASSERT_OK(tkm_ev_inspect(&v, TKM_EV_TDX_QUOTE, q, n));
    assert_int_equal(v.quote_version, 5);
    expect_hex(v.measurement, 48,
               "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd");
    q[50] ^= 1; /* body size no longer matches type 3 */
    TU_ASSERT_RC(tkm_ev_inspect(&v, TKM_EV_TDX_QUOTE, q, n), TKM_ERR_EVIDENCE);
    free(q);
}

static void test_snp_reports(void **state) {
    (void)state;
    size_t n = 0;
    uint8_t *r = vec("tee/snp_report_milan.bin", &n);
    tkm_ev_view v;
    TU_ASSERT_OK(tkm_ev_inspect(&v, TKM_EV_SNP_REPORT, r, n));
    assert_int_equal(v.platform, TKM_TEE_KIND_SNP);
    assert_int_equal(v.snp_policy, 0x30000);
    assert_int_equal(v.debug, 0);
    expect_hex(v.measurement, 48,
               "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f");
    for (size_t i = 0; i < n; i++)
        if (tkm_ok(tkm_ev_inspect(&v, TKM_EV_SNP_REPORT, r, i))) fail_msg("truncated SNP report %zu accepted", i);
    r[0x34] = 2; /* signature algorithm */
    TU_ASSERT_RC(tkm_ev_inspect(&v, TKM_EV_SNP_REPORT, r, n), TKM_ERR_EVIDENCE);
    r[0x34] = 1;
    r[0x4C] = 1; /* a reserved (must-be-zero) byte */
    TU_ASSERT_RC(tkm_ev_inspect(&v, TKM_EV_SNP_REPORT, r, n), TKM_ERR_EVIDENCE);
    r[0x4C] = 0;
    r[0] = 4; /* report version 4 was never defined */
    TU_ASSERT_RC(tkm_ev_inspect(&v, TKM_EV_SNP_REPORT, r, n), TKM_ERR_EVIDENCE);
    free(r);
    r = vec("tee/snp_report_milan_debug.bin", &n);
    TU_ASSERT_OK(tkm_ev_inspect(&v, TKM_EV_SNP_REPORT, r, n));
    assert_int_equal(v.snp_policy, 0xb0000);
    assert_int_equal(v.debug, 1);
    expect_hex(v.report_data, 5, "0102030405");
    expect_hex(v.measurement, 48,
               "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01");
    free(r);
}

static void test_view_json(void **state) {
    (void)state;
    size_t n = 0;
    uint8_t *r = vec("tee/snp_report_milan.bin", &n);
    tkm_ev_view v;
    TU_ASSERT_OK(tkm_ev_inspect(&v, TKM_EV_SNP_REPORT, r, n));
    json_t *j = NULL;
    TU_ASSERT_OK(tkm_ev_view_json(&v, 1, &j));
    assert_string_equal(json_string_value(json_object_get(j, "platform")), "snp");
    assert_string_equal(json_string_value(json_object_get(j, "format")), "snp-report");
    assert_true(json_is_false(json_object_get(j, "debug")));
    assert_int_equal(json_integer_value(json_object_get(j, "policy")), 0x30000);
    assert_non_null(json_object_get(j, "reportData"));
    json_decref(j);
    TU_ASSERT_RC(tkm_ev_inspect(&v, (tkm_ev_format)9, r, n), TKM_ERR_EVIDENCE);
    free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_quote),  cmocka_unit_test(test_sgx_report), cmocka_unit_test(test_tdx_quotes),
        cmocka_unit_test(test_snp_reports), cmocka_unit_test(test_view_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
