/* Anti-rollback high-water mark: clone, rollback, tamper, missing mark, verifier counter. */
#include "tee_doubles.h"

static char *root;
static char path[4200];
static tkm_secret *key;

static int setup(void **state) {
    (void)state;
    root = td_tmpdir();
    snprintf(path, sizeof path, "%s/attested-hwm", root);
    TD_OK(tkm_secret_new(&key, 32));
    memset(tkm_secret_mut(key), 0x77, 32);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tkm_secret_free(key);
    td_rmrf(root);
    free(root);
    return 0;
}

static void test_advance_and_check(void **state) {
    (void)state;
    uint8_t inst[32], other[32];
    memset(inst, 1, 32);
    memset(other, 2, 32);
    /* a fresh instance starts without a mark */
    TD_OK(tkm_hwm_check(path, key, inst, 0, NULL));
    TD_OK(tkm_hwm_advance(path, key, inst, 5));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, TKM_HWM_FILE_LEN);
    TD_OK(tkm_hwm_check(path, key, inst, 5, NULL));
    TD_OK(tkm_hwm_check(path, key, inst, 6, NULL)); /* newer state not yet attested: fine */
    TU_ASSERT_RC(tkm_hwm_check(path, key, inst, 4, NULL), TKM_ERR_STORE_ROLLBACK);
    TU_ASSERT_RC(tkm_hwm_check(path, key, other, 5, NULL), TKM_ERR_STORE_CLONE);
    TU_ASSERT_RC(tkm_hwm_advance(path, key, inst, 4), TKM_ERR_STORE_ROLLBACK);
    TU_ASSERT_RC(tkm_hwm_advance(path, key, other, 9), TKM_ERR_STORE_CLONE);
    TD_OK(tkm_hwm_advance(path, key, inst, 5));
    TD_OK(tkm_hwm_advance(path, key, inst, 8));
    TU_ASSERT_RC(tkm_hwm_check(path, key, inst, 7, NULL), TKM_ERR_STORE_ROLLBACK);
    /* the verifier's counter is authoritative when given */
    uint64_t vc = 9;
    TU_ASSERT_RC(tkm_hwm_check(path, key, inst, 8, &vc), TKM_ERR_STORE_ROLLBACK);
    vc = 8;
    TD_OK(tkm_hwm_check(path, key, inst, 8, &vc));
    tkm_hwm m;
    int present = 0;
    TD_OK(tkm_hwm_load(&m, &present, path, key));
    assert_int_equal(present, 1);
    assert_int_equal(m.version, 8);
    /* file layout: magic, instance, version BE, HMAC-SHA256 (checked with OpenSSL) */
    size_t n = 0;
    uint8_t *f = tu_read_file(path, &n);
    assert_memory_equal(f, "TKMHWM01", 8);
    assert_memory_equal(f + 8, inst, 32);
    assert_memory_equal(f + 40, "\0\0\0\0\0\0\0\x08", 8);
    uint8_t mac[32];
    unsigned int ml = 32;
    HMAC(EVP_sha256(), tkm_secret_ptr(key), 32, f, 48, mac, &ml);
    assert_memory_equal(f + 48, mac, 32);
    free(f);
}

static void test_tamper_and_removal(void **state) {
    (void)state;
    uint8_t inst[32];
    memset(inst, 1, 32);
    TD_OK(tkm_hwm_advance(path, key, inst, 3));
    size_t n = 0;
    uint8_t *f = tu_read_file(path, &n);
    /* host edits the version down */
    f[47] = 1;
    td_write(path, f, n, 0600);
    TU_ASSERT_RC(tkm_hwm_check(path, key, inst, 1, NULL), TKM_ERR_STORE_TAMPER);
    f[47] = 3;
    td_write(path, f, n - 1, 0600);
    TU_ASSERT_RC(tkm_hwm_check(path, key, inst, 3, NULL), TKM_ERR_STORE_TAMPER);
    td_write(path, f, n, 0600);
    TD_OK(tkm_hwm_check(path, key, inst, 3, NULL));
    /* another key (another platform / measurement) cannot read it */
    tkm_secret *k2 = NULL;
    TD_OK(tkm_secret_new(&k2, 32));
    TU_ASSERT_RC(tkm_hwm_check(path, k2, inst, 3, NULL), TKM_ERR_STORE_TAMPER);
    tkm_secret_free(k2);
    /* the mark was removed: a non-initial state does not start without the verifier */
    unlink(path);
    TU_ASSERT_RC(tkm_hwm_check(path, key, inst, 3, NULL), TKM_ERR_STORE_ROLLBACK);
    uint64_t vc = 3;
    TD_OK(tkm_hwm_check(path, key, inst, 3, &vc));
    free(f);
}

/* peek: the version without the MAC key (teekmd's key-release claims); layout still enforced */
static void test_peek(void **state) {
    (void)state;
    uint8_t inst[32];
    memset(inst, 1, 32);
    tkm_hwm m;
    int present = 1;
    TD_OK(tkm_hwm_peek(&m, &present, path));
    assert_int_equal(present, 0);
    TD_OK(tkm_hwm_advance(path, key, inst, 0x0102030405ull));
    TD_OK(tkm_hwm_peek(&m, &present, path));
    assert_int_equal(present, 1);
    assert_true(m.version == 0x0102030405ull);
    assert_memory_equal(m.instance_id, inst, 32);
    size_t n = 0;
    uint8_t *f = tu_read_file(path, &n);
    /* a wrong MAC still peeks (the caller verifies later), load refuses it */
    f[79] ^= 1;
    td_write(path, f, n, 0600);
    TD_OK(tkm_hwm_peek(&m, &present, path));
    assert_true(m.version == 0x0102030405ull);
    TU_ASSERT_RC(tkm_hwm_load(&m, &present, path, key), TKM_ERR_STORE_TAMPER);
    /* layout: short, long, wrong magic */
    td_write(path, f, n - 1, 0600);
    TU_ASSERT_RC(tkm_hwm_peek(&m, &present, path), TKM_ERR_STORE_TAMPER);
    assert_int_equal(present, 0);
    uint8_t big[TKM_HWM_FILE_LEN + 1];
    memcpy(big, f, n);
    big[n] = 0;
    td_write(path, big, sizeof big, 0600);
    TU_ASSERT_RC(tkm_hwm_peek(&m, &present, path), TKM_ERR_STORE_TAMPER);
    f[0] = 'X';
    uint8_t tag[32];
    TU_ASSERT_RC(tkm_hwm_parse(&m, tag, f, n), TKM_ERR_STORE_TAMPER);
    free(f);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_advance_and_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_and_removal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peek, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
