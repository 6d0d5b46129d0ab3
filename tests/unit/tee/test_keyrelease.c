/* TDX key release, instance side: the ephemeral HPKE key is bound in the claims, the verifier's
 * answer opens only for the report_data it was made for, and only once. The verifier side is
 * played with tkm_hpke_seal (RFC 9180 known-answer-tested in the crypto module). */
#include "tee_doubles.h"

static const char INFO[] = "teekm/key-release/v1";

static void verifier_seal(uint8_t enc[32], uint8_t ct[48], const uint8_t pk[32], const uint8_t rd[64],
                          const uint8_t key[32]) {
    TD_OK(tkm_hpke_seal(enc, ct, 48, pk, (const uint8_t *)INFO, sizeof INFO - 1, rd, 64, key, 32));
}

static void test_flow_on_tdx_double(void **state) {
    (void)state;
    char *root = td_tmpdir();
    tsm_double d;
    tsm_double_init(&d, root, 0, "tee/tdx_quote_v4.bin");
    tkm_tee_sys sys = {&d, tsm_mkdir, tsm_rmdir, tsm_ioctl};
    tkm_tee_opts o;
    memset(&o, 0, sizeof o);
    o.root = root;
    o.sys = &sys;
    tkm_tee *t = NULL;
    TD_OK(tkm_tee_open(&t, "tdx", &o));
    tkm_secret *none = NULL;
    TU_ASSERT_RC(tkm_tee_seal_key(t, &none, "state"), TKM_ERR_TEE_NO_SEAL_KEY);

    /* instance: ephemeral key into the claims, evidence over them */
    tkm_keyrelease *kr = NULL;
    uint8_t pk[32];
    TD_OK(tkm_keyrelease_begin(&kr, pk));
    tkm_claims c;
    tkm_claims_init(&c);
    snprintf(c.platform, sizeof c.platform, "tdx");
    c.tls_spki[0] = 0x30;
    c.tls_spki_len = 1;
    memcpy(c.hpke_pk, pk, 32);
    c.has_hpke_pk = 1;
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TD_OK(tkm_claims_encode(&c, &w));
    uint8_t rd[64];
    TD_OK(tkm_claims_report_data(rd, w.p, w.len));
    tkm_tee_evidence ev;
    TD_OK(tkm_tee_evidence_get(t, &ev, rd));

    /* verifier: report_data of the evidence binds the claims, it seals to their hpkePublicKey */
    tkm_ev_view v;
    TD_OK(tkm_ev_inspect(&v, ev.format, ev.bytes, ev.len));
    TD_OK(tkm_claims_verify_report_data(v.report_data, w.p, w.len));
    tkm_claims vc;
    TD_OK(tkm_claims_parse(&vc, w.p, w.len));
    assert_true(vc.has_hpke_pk);
    uint8_t state_key[32], enc[32], ct[48];
    for (int i = 0; i < 32; i++) state_key[i] = (uint8_t)(0xc0 + i);
    verifier_seal(enc, ct, vc.hpke_pk, v.report_data, state_key);

    /* instance opens it */
    tkm_secret *k = NULL;
    TD_OK(tkm_keyrelease_open(kr, &k, rd, enc, ct, sizeof ct));
    assert_int_equal(tkm_secret_len(k), 32);
    assert_memory_equal(tkm_secret_ptr(k), state_key, 32);
    tkm_secret_free(k);
    /* one evidence, one release */
    TU_ASSERT_RC(tkm_keyrelease_open(kr, &k, rd, enc, ct, sizeof ct), TKM_ERR_STATE);
    assert_null(k);
    tkm_keyrelease_free(kr);

    tkm_claims_free(&vc);
    tkm_claims_free(&c);
    tkm_wr_free(&w);
    tkm_tee_evidence_free(&ev);
    tkm_tee_close(t);
    tsm_double_free(&d);
    td_rmrf(root);
    free(root);
}

static void test_wrong_answers(void **state) {
    (void)state;
    uint8_t rd[64], other_rd[64], key[32], enc[32], ct[48];
    memset(rd, 1, 64);
    memset(other_rd, 2, 64);
    memset(key, 3, 32);
    tkm_keyrelease *kr = NULL;
    uint8_t pk[32];
    tkm_secret *k = NULL;
    /* sealed for other evidence */
    TD_OK(tkm_keyrelease_begin(&kr, pk));
    verifier_seal(enc, ct, pk, other_rd, key);
    TU_ASSERT_RC(tkm_keyrelease_open(kr, &k, rd, enc, ct, sizeof ct), TKM_ERR_AUTH_TAG);
    assert_null(k);
    /* the failed attempt used the key up */
    verifier_seal(enc, ct, pk, rd, key);
    TU_ASSERT_RC(tkm_keyrelease_open(kr, &k, rd, enc, ct, sizeof ct), TKM_ERR_STATE);
    tkm_keyrelease_free(kr);
    /* sealed to another instance's key */
    uint8_t pk2[32];
    tkm_keyrelease *kr2 = NULL;
    TD_OK(tkm_keyrelease_begin(&kr, pk));
    TD_OK(tkm_keyrelease_begin(&kr2, pk2));
    assert_memory_not_equal(pk, pk2, 32);
    verifier_seal(enc, ct, pk2, rd, key);
    TU_ASSERT_RC(tkm_keyrelease_open(kr, &k, rd, enc, ct, sizeof ct), TKM_ERR_AUTH_TAG);
    /* wrong size */
    TD_OK(tkm_keyrelease_open(kr2, &k, rd, enc, ct, sizeof ct));
    tkm_secret_free(k);
    tkm_keyrelease_free(kr);
    tkm_keyrelease_free(kr2);
    TD_OK(tkm_keyrelease_begin(&kr, pk));
    TU_ASSERT_RC(tkm_keyrelease_open(kr, &k, rd, enc, ct, 47), TKM_ERR_FORMAT);
    tkm_keyrelease_free(kr);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_on_tdx_double),
        cmocka_unit_test(test_wrong_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
