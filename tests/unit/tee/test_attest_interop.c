/* Interop: evidence produced by the tee sim backend is parsed (by the one sim parser,
 * tkm_evidence_format.h, which tests/unit/attest/test_evidence.c checks against sim evidence
 * built independently from docs/sim-evidence.md) and verified by the attest module, and the
 * claims binding computed by tee is what attest checks as the expected report_data. */
#include "tee_doubles.h"

#include "attest/attest.h"

static void test_sim_evidence_verified_by_attest(void **state) {
    (void)state;
    char *root = td_tmpdir();
    char key[4200];
    snprintf(key, sizeof key, "%s/sim.pem", root);
    tkm_tee_opts o;
    memset(&o, 0, sizeof o);
    o.sim_key_file = key;
    o.sim_create_key = 1;
    tkm_tee *t = NULL;
    TD_OK(tkm_tee_open(&t, "sim", &o));
    tkm_claims c;
    tkm_claims_init(&c);
    snprintf(c.platform, sizeof c.platform, "sim");
    c.tls_spki[0] = 0x30;
    c.tls_spki_len = 1;
    c.state_version = 3;
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TD_OK(tkm_claims_encode(&c, &w));
    uint8_t rd[64];
    TD_OK(tkm_claims_report_data(rd, w.p, w.len));
    tkm_tee_evidence ev;
    TD_OK(tkm_tee_evidence_get(t, &ev, rd));

    tkm_evidence *pe = NULL;
    TD_OK(tkm_evidence_parse(&pe, ev.bytes, ev.len));
    assert_int_equal(tkm_evidence_platform(pe), TKM_PLATFORM_SIM);
    assert_memory_equal(tkm_evidence_report_data(pe), rd, 64);
    size_t ml = 0;
    const uint8_t *m = tkm_evidence_measurement(pe, &ml);
    const uint8_t *tm;
    size_t tml;
    tkm_tee_measurement(t, &tm, &tml);
    assert_int_equal(ml, tml);
    assert_memory_equal(m, tm, ml);

    static const char pol[] = "{\"version\":1,\"sim\":{\"enabled\":true}}";
    tkm_appraisal_policy *policy = NULL;
    TD_OK(tkm_appraisal_policy_parse(&policy, (const uint8_t *)pol, sizeof pol - 1));
    tkm_attest_ctx *ctx = NULL;
    TD_OK(tkm_attest_ctx_new(&ctx));
    tkm_appraise_opts ao;
    memset(&ao, 0, sizeof ao);
    ao.at = tkm_time_unix();
    ao.expected_report_data = rd;
    tkm_appraisal *res = calloc(1, sizeof *res);
    TD_OK(tkm_appraise(ctx, pe, NULL, policy, &ao, res));
    const tkm_check *sig = tkm_appraisal_find(res, "sim.signature");
    assert_non_null(sig);
    assert_true(sig->ok);
    const tkm_check *bad = tkm_appraisal_first_failure(res);
    if (bad) fail_msg("attest check %s failed: %s", bad->name, bad->detail);
    assert_int_equal(res->verdict, TKM_VERDICT_VALID);
    assert_true(res->simulated);
    /* other claims → attest sees the report_data mismatch */
    rd[0] ^= 1;
    TD_OK(tkm_appraise(ctx, pe, NULL, policy, &ao, res));
    assert_int_equal(res->verdict, TKM_VERDICT_INVALID);

    free(res);
    tkm_attest_ctx_free(ctx);
    tkm_appraisal_policy_free(policy);
    tkm_evidence_free(pe);
    tkm_tee_evidence_free(&ev);
    tkm_wr_free(&w);
    tkm_claims_free(&c);
    tkm_tee_close(t);
    td_rmrf(root);
    free(root);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sim_evidence_verified_by_attest)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
