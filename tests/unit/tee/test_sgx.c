/* sgx backend against a Gramine /dev/attestation double: quote round trip (signed by the double's
 * test attestation key), debug enclave refused unless allowed, attestation type, race, seal key. */
#include "tee_doubles.h"

static char *root;

static int setup(void **state) {
    (void)state;
    root = td_tmpdir();
    return 0;
}

static int teardown(void **state) {
    (void)state;
    td_rmrf(root);
    free(root);
    return 0;
}

static tkm_tee_opts opts(void) {
    tkm_tee_opts o;
    memset(&o, 0, sizeof o);
    o.root = root;
    return o;
}

static void test_quote_round_trip(void **state) {
    (void)state;
    sgx_double d;
    sgx_double_start(&d, root, 0, "dcap\n");
    tkm_tee_opts o = opts();
    tkm_tee *t = NULL;
    TU_ASSERT_OK(tkm_tee_open(&t, "auto", &o)); /* detected from /dev/attestation/quote */
    assert_string_equal(tkm_tee_name(t), "sgx");
    const uint8_t *m;
    size_t ml;
    tkm_tee_measurement(t, &m, &ml);
    assert_int_equal(ml, 32);
    assert_memory_equal(m, d.quote + 48 + 64, 32); /* MRENCLAVE of the sample */
    for (int round = 0; round < 3; round++) {
        uint8_t rd[64];
        for (int i = 0; i < 64; i++) rd[i] = (uint8_t)(round * 64 + i);
        tkm_tee_evidence ev;
        TD_OK(tkm_tee_evidence_get(t, &ev, rd));
        assert_int_equal(ev.format, TKM_EV_SGX_QUOTE);
        assert_int_equal(ev.len, d.quote_len);
        assert_memory_equal(ev.bytes + 368, rd, 64);
        /* the ISV report signature made by the double's attestation key verifies */
        assert_true(td_verify(d.key, EVP_sha256(), ev.bytes, 432, ev.bytes + 436, ev.bytes + 468, 32, 0));
        tkm_tee_evidence_free(&ev);
    }
    assert_int_equal(d.served, 3);
    json_t *info = NULL;
    TU_ASSERT_OK(tkm_tee_info(t, &info));
    assert_string_equal(json_string_value(json_object_get(info, "mrsigner")),
                        "0x815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6");
    json_decref(info);
    /* seal key from _sgx_mrenclave: HKDF(salt, 16-byte key, "sgx\0" ‖ MRENCLAVE ‖ label) */
    tkm_secret *k = NULL;
    TU_ASSERT_OK(tkm_tee_seal_key(t, &k, "state"));
    uint8_t ikm[16], info_b[4 + 32 + 5], want[32];
    for (int i = 0; i < 16; i++) ikm[i] = (uint8_t)(0xa0 + i);
    memcpy(info_b, "sgx\0", 4);
    memcpy(info_b + 4, m, 32);
    memcpy(info_b + 36, "state", 5);
    td_hkdf(want, (const uint8_t *)"teekm/seal/v1", 13, ikm, 16, info_b, sizeof info_b);
    assert_memory_equal(tkm_secret_ptr(k), want, 32);
    tkm_secret_free(k);
    /* a key file of the wrong size is refused */
    td_writef(root, "/dev/attestation/keys/_sgx_mrenclave", "short", 5);
    TU_ASSERT_RC(tkm_tee_seal_key(t, &k, "state"), TKM_ERR_TEE_SEAL);
    td_writef(root, "/dev/attestation/keys/_sgx_mrenclave", "0123456789abcdefX", 17);
    TU_ASSERT_RC(tkm_tee_seal_key(t, &k, "state"), TKM_ERR_TEE_SEAL);
    tkm_tee_close(t);
    sgx_double_stop(&d);
}

static void test_debug_enclave(void **state) {
    (void)state;
    sgx_double d;
    sgx_double_start(&d, root, 1, "dcap");
    tkm_tee_opts o = opts();
    tkm_tee *t = NULL;
    TU_ASSERT_RC(tkm_tee_open(&t, "sgx", &o), TKM_ERR_TEE_DEBUG);
    assert_null(t);
    o.allow_debug = 1;
    TU_ASSERT_OK(tkm_tee_open(&t, "sgx", &o));
    json_t *info = NULL;
    TU_ASSERT_OK(tkm_tee_info(t, &info));
    assert_true(json_is_true(json_object_get(info, "debug")));
    json_decref(info);
    uint8_t rd[64] = {1};
    tkm_tee_evidence ev;
    TD_OK(tkm_tee_evidence_get(t, &ev, rd));
    tkm_tee_evidence_free(&ev);
    tkm_tee_close(t);
    sgx_double_stop(&d);
}

static void test_bad_platform_answers(void **state) {
    (void)state;
    sgx_double d;
    sgx_double_start(&d, root, 0, "none");
    tkm_tee_opts o = opts();
    tkm_tee *t = NULL;
    TU_ASSERT_RC(tkm_tee_open(&t, "sgx", &o), TKM_ERR_TEE_PROVIDER);
    td_writef(root, "/dev/attestation/attestation_type", "dcap", 4);
    /* a truncated report */
    uint8_t rep[100] = {0};
    td_writef(root, "/dev/attestation/report", rep, sizeof rep);
    TU_ASSERT_RC(tkm_tee_open(&t, "sgx", &o), TKM_ERR_TEE_EVIDENCE);
    uint8_t full[432] = {0};
    memcpy(full, d.quote + 48, 384);
    memset(full + 320, 0, 64);
    td_writef(root, "/dev/attestation/report", full, sizeof full);
    TU_ASSERT_OK(tkm_tee_open(&t, "sgx", &o));
    /* the quote answers other report data: someone else's request */
    d.wrong_report_data = 1;
    uint8_t rd[64] = {7};
    tkm_tee_evidence ev;
    TU_ASSERT_RC(tkm_tee_evidence_get(t, &ev, rd), TKM_ERR_TEE_RACE);
    assert_null(ev.bytes);
    d.wrong_report_data = 0;
    /* a quote of another enclave than the one at start-up */
    d.quote[48 + 64] ^= 1;
    TU_ASSERT_RC(tkm_tee_evidence_get(t, &ev, rd), TKM_ERR_TEE_EVIDENCE);
    d.quote[48 + 64] ^= 1;
    TD_OK(tkm_tee_evidence_get(t, &ev, rd));
    tkm_tee_evidence_free(&ev);
    tkm_tee_close(t);
    sgx_double_stop(&d);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_quote_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_enclave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_platform_answers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
