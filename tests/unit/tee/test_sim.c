/* sim platform: key file rules, evidence exactly as docs/sim-evidence.md (checked field by field and
 * its signature with OpenSSL), seal keys (formula checked with OpenSSL HKDF), auto never picks sim. */
#include "tee_doubles.h"

#include <openssl/pem.h>

static char *root;
static char keyfile[4200];

static int setup(void **state) {
    (void)state;
    root = td_tmpdir();
    snprintf(keyfile, sizeof keyfile, "%s/sim-key.pem", root);
    /* a fake teekmd binary at <root>/proc/self/exe with known bytes */
    td_mkdirs(root, "/proc/self");
    td_writef(root, "/proc/self/exe", "teekmd test binary\n", 19);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    td_rmrf(root);
    free(root);
    return 0;
}

static tkm_tee_opts sim_opts(int create) {
    tkm_tee_opts o;
    memset(&o, 0, sizeof o);
    o.root = root;
    o.sim_key_file = keyfile;
    o.sim_create_key = create;
    return o;
}

static void test_key_file_rules(void **state) {
    (void)state;
    tkm_tee *t = NULL;
    tkm_tee_opts o = sim_opts(0);
    TU_ASSERT_RC(tkm_tee_open(&t, "sim", &o), TKM_ERR_NOT_FOUND);
    assert_null(t);
    o.sim_create_key = 1;
    TU_ASSERT_OK(tkm_tee_open(&t, "sim", &o));
    struct stat st;
    assert_int_equal(stat(keyfile, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_string_equal(tkm_tee_name(t), "sim");
    tkm_tee_close(t);
    /* wrong permissions are refused, whatever else is right */
    static const mode_t bad[] = {0644, 0640, 0604, 0400, 0700, 0660};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chmod(keyfile, bad[i]), 0);
        TU_ASSERT_RC(tkm_tee_open(&t, "sim", &o), TKM_ERR_PERMISSIONS);
        assert_null(t);
    }
    assert_int_equal(chmod(keyfile, 0600), 0);
    /* a symlink is not followed (refused like every secret file: core tkm_file) */
    char link[4300];
    snprintf(link, sizeof link, "%s/link.pem", root);
    assert_int_equal(symlink(keyfile, link), 0);
    o.sim_key_file = link;
    TU_ASSERT_RC(tkm_tee_open(&t, "sim", &o), TKM_ERR_PERMISSIONS);
    assert_non_null(strstr(tkm_err_detail(), "symbolic link"));
    /* not a P-256 key */
    char other[4300];
    snprintf(other, sizeof other, "%s/ed.pem", root);
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    FILE *f = fopen(other, "w");
    PEM_write_PrivateKey(f, ed, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    EVP_PKEY_free(ed);
    chmod(other, 0600);
    o.sim_key_file = other;
    TU_ASSERT_RC(tkm_tee_open(&t, "sim", &o), TKM_ERR_TEE_SIM_KEY);
    /* garbage */
    td_write(other, "not a key", 9, 0600);
    TU_ASSERT_RC(tkm_tee_open(&t, "sim", &o), TKM_ERR_TEE_SIM_KEY);
    o.sim_key_file = NULL;
    TU_ASSERT_RC(tkm_tee_open(&t, "sim", &o), TKM_ERR_TEE_SIM_KEY);
}

static EVP_PKEY *load_key(void) {
    FILE *f = fopen(keyfile, "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

static void test_evidence_layout(void **state) {
    (void)state;
    tkm_tee *t = NULL;
    tkm_tee_opts o = sim_opts(1);
    TU_ASSERT_OK(tkm_tee_open(&t, "sim", &o));
    uint8_t rd[64];
    for (int i = 0; i < 64; i++) rd[i] = (uint8_t)(i * 3 + 1);
    tkm_tee_evidence ev;
    int64_t before = tkm_time_unix();
    TU_ASSERT_OK(tkm_tee_evidence_get(t, &ev, rd));
    assert_int_equal(ev.format, TKM_EV_SIM_V1);
    assert_int_equal(ev.len, 300);
    const uint8_t *b = ev.bytes;
    assert_memory_equal(b, "TKMSIM01", 8);
    assert_memory_equal(b + 8, "\x01\x00\x00\x00", 4);
    assert_memory_equal(b + 12, "\x01\x00\x00\x00", 4);
    assert_memory_equal(b + 16, "SIMULATED \xe2\x80\x94 NOT SECURE", 24);
    for (int i = 40; i < 48; i++) assert_int_equal(b[i], 0);
    /* measurement = SHA-384 of <root>/proc/self/exe, computed by OpenSSL */
    uint8_t want[48];
    unsigned int wl = 0;
    assert_int_equal(EVP_Digest("teekmd test binary\n", 19, want, &wl, EVP_sha384(), NULL), 1);
    assert_memory_equal(b + 48, want, 48);
    assert_memory_equal(b + 96, rd, 64);
    uint64_t ts = 0;
    for (int i = 7; i >= 0; i--) ts = ts << 8 | b[160 + i];
    assert_true((int64_t)ts >= before && (int64_t)ts <= tkm_time_unix() + 1);
    EVP_PKEY *k = load_key();
    uint8_t pub[65];
    size_t pl = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, 65, &pl), 1);
    assert_memory_equal(b + 168, pub, 65);
    assert_memory_equal(b + 233, "\0\0\0", 3);
    assert_true(td_verify(k, EVP_sha256(), b, 236, b + 236, b + 268, 32, 0));
    uint8_t tampered[300];
    memcpy(tampered, b, 300);
    tampered[100] ^= 1;
    assert_false(td_verify(k, EVP_sha256(), tampered, 236, tampered + 236, tampered + 268, 32, 0));
    EVP_PKEY_free(k);
    /* info */
    json_t *info = NULL;
    TU_ASSERT_OK(tkm_tee_info(t, &info));
    assert_true(json_is_true(json_object_get(info, "simulated")));
    assert_string_equal(json_string_value(json_object_get(info, "platform")), "sim");
    json_decref(info);
    const uint8_t *m;
    size_t ml;
    tkm_tee_measurement(t, &m, &ml);
    assert_int_equal(ml, 48);
    assert_memory_equal(m, want, 48);
    TU_ASSERT_OK(tkm_tee_entropy_check(t));
    tkm_tee_evidence_free(&ev);
    tkm_tee_close(t);
}

static void test_seal_key(void **state) {
    (void)state;
    tkm_tee *t = NULL;
    tkm_tee_opts o = sim_opts(1);
    TU_ASSERT_OK(tkm_tee_open(&t, "sim", &o));
    tkm_secret *a = NULL, *a2 = NULL, *b = NULL;
    TU_ASSERT_OK(tkm_tee_seal_key(t, &a, "state"));
    TU_ASSERT_OK(tkm_tee_seal_key(t, &a2, "state"));
    TU_ASSERT_OK(tkm_tee_seal_key(t, &b, "audit"));
    assert_true(tkm_secret_eq(a, a2));
    assert_false(tkm_secret_eq(a, b));
    /* HKDF-SHA256(salt "teekm/seal/v1", ikm = private scalar, info = "sim\0" ‖ measurement ‖ label) */
    EVP_PKEY *k = load_key();
    BIGNUM *d = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
    uint8_t ikm[32];
    BN_bn2binpad(d, ikm, 32);
    BN_free(d);
    EVP_PKEY_free(k);
    uint8_t info[4 + 48 + 5];
    memcpy(info, "sim\0", 4);
    const uint8_t *m;
    size_t ml;
    tkm_tee_measurement(t, &m, &ml);
    memcpy(info + 4, m, 48);
    memcpy(info + 52, "state", 5);
    uint8_t want[32];
    td_hkdf(want, (const uint8_t *)"teekm/seal/v1", 13, ikm, 32, info, sizeof info);
    assert_memory_equal(tkm_secret_ptr(a), want, 32);
    tkm_secret_free(a);
    tkm_secret_free(a2);
    tkm_secret_free(b);
    TU_CHECK_ILLEGAL(tkm_tee_seal_key(t, &a, ""));
    TU_CHECK_ILLEGAL(tkm_tee_seal_key(t, &a, "has space"));
    tkm_tee_close(t);
    /* another binary (measurement) gives another key */
    td_writef(root, "/proc/self/exe", "teekmd v2\n", 10);
    TU_ASSERT_OK(tkm_tee_open(&t, "sim", &o));
    TU_ASSERT_OK(tkm_tee_seal_key(t, &b, "state"));
    assert_false(memcmp(tkm_secret_ptr(b), want, 32) == 0);
    tkm_secret_free(b);
    tkm_tee_close(t);
}

static void test_auto_never_sim(void **state) {
    (void)state;
    tkm_tee *t = NULL;
    tkm_tee_opts o = sim_opts(1); /* a sim key file exists: still not chosen */
    TU_ASSERT_RC(tkm_tee_open(&t, "auto", &o), TKM_ERR_TEE_NOT_DETECTED);
    assert_null(t);
    tkm_tee_kind k;
    TU_ASSERT_RC(tkm_tee_kind_parse("SIM", &k), TKM_ERR_FORMAT);
    TU_ASSERT_RC(tkm_tee_open(&t, "simulation", &o), TKM_ERR_FORMAT);
    /* both TDX and SNP devices with configfs-tsm: ambiguous, refused */
    td_mkdirs(root, "/sys/kernel/config/tsm/report");
    td_mkdirs(root, "/dev");
    td_writef(root, "/dev/tdx_guest", "", 0);
    TU_ASSERT_OK(tkm_tee_detect(root, &k));
    assert_int_equal(k, TKM_TEE_KIND_TDX);
    td_writef(root, "/dev/sev-guest", "", 0);
    TU_ASSERT_RC(tkm_tee_detect(root, &k), TKM_ERR_TEE_NOT_DETECTED);
}

static int rng_const(uint64_t *v) {
    *v = 0xffffffffffffffffull;
    return 1;
}

static void test_entropy_check_hw(void **state) {
    (void)state;
    /* the hardware RNG check runs on hardware platforms only; exercise it through an snp double */
    tsm_double d;
    char *r2 = td_tmpdir();
    tsm_double_init(&d, r2, 1, "tee/snp_report_milan.bin");
    tkm_tee_sys sys = {&d, tsm_mkdir, tsm_rmdir, tsm_ioctl};
    tkm_tee_opts o;
    memset(&o, 0, sizeof o);
    o.root = r2;
    o.sys = &sys;
    o.hwrng = rng_const;
    tkm_tee *t = NULL;
    TU_ASSERT_OK(tkm_tee_open(&t, "snp", &o));
    TU_ASSERT_RC(tkm_tee_entropy_check(t), TKM_ERR_ENTROPY);
    tkm_tee_close(t);
    tsm_double_free(&d);
    td_rmrf(r2);
    free(r2);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_file_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seal_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_never_sim, setup, teardown),
        cmocka_unit_test(test_entropy_check_hw),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
