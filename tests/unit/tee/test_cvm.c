/* tdx and snp backends against a configfs-tsm double (and a /dev/sev-guest ioctl double):
 * round trips, short and oversized outblob, changed generation, missing or wrong provider,
 * debug TD / guest, SNP derived key request fields and seal-key binding. */
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

typedef struct {
    tsm_double d;
    tkm_tee_sys sys;
    tkm_tee_opts o;
} fixture;

static void fx_init(fixture *f, int snp, const char *vector) {
    tsm_double_init(&f->d, root, snp, vector);
    f->sys = (tkm_tee_sys){&f->d, tsm_mkdir, tsm_rmdir, tsm_ioctl};
    memset(&f->o, 0, sizeof f->o);
    f->o.root = root;
    f->o.sys = &f->sys;
}

static void entries_gone(void) {
    char p[4200];
    snprintf(p, sizeof p, "%s/sys/kernel/config/tsm/report", root);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", p);
    assert_int_equal(system(cmd), 0);
}

static void test_tdx_round_trip(void **state) {
    (void)state;
    fixture f;
    fx_init(&f, 0, "tee/tdx_quote_v4.bin");
    tkm_tee *t = NULL;
    TU_ASSERT_OK(tkm_tee_open(&t, "auto", &f.o));
    assert_string_equal(tkm_tee_name(t), "tdx");
    const uint8_t *m;
    size_t ml;
    tkm_tee_measurement(t, &m, &ml);
    assert_int_equal(ml, 48);
    assert_memory_equal(m, f.d.tmpl + 48 + 136, 48); /* MRTD */
    uint8_t rd[64];
    for (int i = 0; i < 64; i++) rd[i] = (uint8_t)(0x80 ^ i);
    tkm_tee_evidence ev;
    TU_ASSERT_OK(tkm_tee_evidence_get(t, &ev, rd));
    assert_int_equal(ev.format, TKM_EV_TDX_QUOTE);
    assert_int_equal(ev.len, f.d.tmpl_len);
    assert_memory_equal(ev.bytes + 568, rd, 64);
    assert_true(td_verify(f.d.key, EVP_sha256(), ev.bytes, 632, ev.bytes + 636, ev.bytes + 668, 32, 0));
    tkm_tee_evidence_free(&ev);
    assert_int_equal(f.d.reports, 2); /* one at open, one now */
    assert_int_equal(f.d.entries, 0);
    entries_gone();
    tkm_secret *k = NULL;
    TU_ASSERT_RC(tkm_tee_seal_key(t, &k, "state"), TKM_ERR_TEE_NO_SEAL_KEY);
    assert_null(k);
    tkm_tee_close(t);
    tsm_double_free(&f.d);
}

static void run_bad(int snp, const char *vector, tsm_mode mode, tkm_err want) {
    fixture f;
    fx_init(&f, snp, vector);
    tkm_tee *t = NULL;
    TU_ASSERT_OK(tkm_tee_open(&t, snp ? "snp" : "tdx", &f.o));
    f.d.mode = mode;
    uint8_t rd[64] = {9};
    tkm_tee_evidence ev;
    tkm_rc rc = tkm_tee_evidence_get(t, &ev, rd);
    if (rc.code != want)
        fail_msg("mode %d: got %s (%s), want %s", mode, tkm_err_name(rc.code), tkm_err_detail(), tkm_err_name(want));
    assert_null(ev.bytes);
    assert_int_equal(f.d.entries, 0); /* the entry is removed on every path */
    /* opening under the same fault fails too */
    tkm_tee *t2 = NULL;
    TU_ASSERT_RC(tkm_tee_open(&t2, snp ? "snp" : "tdx", &f.o), want);
    assert_null(t2);
    f.d.mode = TSM_OK;
    TU_ASSERT_OK(tkm_tee_evidence_get(t, &ev, rd));
    tkm_tee_evidence_free(&ev);
    tkm_tee_close(t);
    tsm_double_free(&f.d);
    entries_gone();
}

static void test_tdx_bad_cases(void **state) {
    (void)state;
    run_bad(0, "tee/tdx_quote_v4.bin", TSM_SHORT, TKM_ERR_TEE_EVIDENCE);
    run_bad(0, "tee/tdx_quote_v4.bin", TSM_OVERSIZED, TKM_ERR_TEE_EVIDENCE);
    run_bad(0, "tee/tdx_quote_v4.bin", TSM_GEN_SKIP, TKM_ERR_TEE_RACE);
    run_bad(0, "tee/tdx_quote_v4.bin", TSM_NO_PROVIDER, TKM_ERR_TEE_PROVIDER);
    run_bad(0, "tee/tdx_quote_v4.bin", TSM_WRONG_PROVIDER, TKM_ERR_TEE_PROVIDER);
}

static void test_snp_bad_cases(void **state) {
    (void)state;
    run_bad(1, "tee/snp_report_milan.bin", TSM_SHORT, TKM_ERR_TEE_EVIDENCE);
    run_bad(1, "tee/snp_report_milan.bin", TSM_OVERSIZED, TKM_ERR_TEE_EVIDENCE);
    run_bad(1, "tee/snp_report_milan.bin", TSM_GEN_SKIP, TKM_ERR_TEE_RACE);
    run_bad(1, "tee/snp_report_milan.bin", TSM_NO_PROVIDER, TKM_ERR_TEE_PROVIDER);
    run_bad(1, "tee/snp_report_milan.bin", TSM_WRONG_PROVIDER, TKM_ERR_TEE_PROVIDER);
}

static void test_debug_guests(void **state) {
    (void)state;
    fixture f;
    fx_init(&f, 1, "tee/snp_report_milan_debug.bin"); /* POLICY.DEBUG = 1 */
    tkm_tee *t = NULL;
    TU_ASSERT_RC(tkm_tee_open(&t, "snp", &f.o), TKM_ERR_TEE_DEBUG);
    f.o.allow_debug = 1;
    TU_ASSERT_OK(tkm_tee_open(&t, "snp", &f.o));
    tkm_tee_close(t);
    tsm_double_free(&f.d);
    td_rmrf(root);
    assert_int_equal(mkdir(root, 0700), 0);
    fx_init(&f, 0, "tee/tdx_quote_v4.bin");
    f.d.tmpl[48 + 120] |= 1; /* TD_ATTRIBUTES.DEBUG */
    TU_ASSERT_RC(tkm_tee_open(&t, "tdx", &f.o), TKM_ERR_TEE_DEBUG);
    tsm_double_free(&f.d);
}

static void test_snp_round_trip_and_seal(void **state) {
    (void)state;
    fixture f;
    fx_init(&f, 1, "tee/snp_report_milan.bin");
    f.o.snp_vmpl = 1;
    f.d.want_vmpl = 1;
    tkm_tee *t = NULL;
    TU_ASSERT_OK(tkm_tee_open(&t, "auto", &f.o));
    assert_string_equal(tkm_tee_name(t), "snp");
    uint8_t rd[64];
    memset(rd, 0xcd, sizeof rd);
    tkm_tee_evidence ev;
    TU_ASSERT_OK(tkm_tee_evidence_get(t, &ev, rd));
    assert_int_equal(ev.format, TKM_EV_SNP_REPORT);
    assert_int_equal(ev.len, 1184);
    assert_memory_equal(ev.bytes + 0x50, rd, 64);
    assert_true(td_verify(f.d.key, EVP_sha384(), ev.bytes, 0x2A0, ev.bytes + 0x2A0, ev.bytes + 0x2E8, 48, 1));
    tkm_tee_evidence_free(&ev);
    /* seal key: the double answers HMAC(root, MEASUREMENT ‖ POLICY) only for the request teekm
     * must send (VCEK root, GUEST_FIELD_SELECT = POLICY|MEASUREMENT, our VMPL) */
    tkm_secret *k = NULL;
    TU_ASSERT_OK(tkm_tee_seal_key(t, &k, "state"));
    assert_int_equal(f.d.ioctl_calls, 1);
    uint8_t msg[56], derived[32], info[4 + 48 + 5], want[32];
    memcpy(msg, f.d.tmpl + 0x90, 48);
    memcpy(msg + 48, f.d.tmpl + 8, 8);
    unsigned int dl = 32;
    HMAC(EVP_sha256(), f.d.snp_root, 32, msg, sizeof msg, derived, &dl);
    memcpy(info, "snp\0", 4);
    memcpy(info + 4, f.d.tmpl + 0x90, 48);
    memcpy(info + 52, "state", 5);
    td_hkdf(want, (const uint8_t *)"teekm/seal/v1", 13, derived, 32, info, sizeof info);
    assert_memory_equal(tkm_secret_ptr(k), want, 32);
    tkm_secret_free(k);
    /* the firmware refuses (wrong VMPL for this guest) */
    f.d.want_vmpl = 0;
    TU_ASSERT_RC(tkm_tee_seal_key(t, &k, "state"), TKM_ERR_TEE_SEAL);
    assert_null(k);
    tkm_tee_close(t);
    /* no /dev/sev-guest */
    f.d.want_vmpl = 1;
    TU_ASSERT_OK(tkm_tee_open(&t, "snp", &f.o));
    char p[4200];
    snprintf(p, sizeof p, "%s/dev/sev-guest", root);
    unlink(p);
    TU_ASSERT_RC(tkm_tee_seal_key(t, &k, "state"), TKM_ERR_TEE_SEAL);
    tkm_tee_close(t);
    tsm_double_free(&f.d);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tdx_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tdx_bad_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_bad_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_guests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_round_trip_and_seal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
