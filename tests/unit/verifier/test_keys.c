/* The verifier's data directory: master key, sealed EAS key, state-key sealing, TLS certificate. */
#include "testutil.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "verifier/tkm_vkeys.h"

static char dir[256];

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tkm_vkeys_XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* rotating buffers: several paths may be passed to one call */
static const char *p(const char *name) {
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static void test_init_load_sign(void **state) {
    (void)state;
    char sub[300];
    snprintf(sub, sizeof sub, "%s/data", dir);
    TU_ASSERT_OK(tkm_vkeys_init_dir(sub, NULL));
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char f[400];
    snprintf(f, sizeof f, "%s/master.key", sub);
    assert_int_equal(stat(f, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    snprintf(f, sizeof f, "%s/eas.key", sub);
    assert_int_equal(stat(f, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(f, sizeof f, "%s/tls.key", sub);
    assert_int_equal(stat(f, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* never overwritten */
    TU_ASSERT_RC(tkm_vkeys_init_dir(sub, NULL), TKM_ERR_EXISTS);

    tkm_vkeys *k = NULL;
    TU_ASSERT_OK(tkm_vkeys_load(&k, sub));
    /* the EAS key signs; the signature recovers to the advertised address */
    uint8_t digest[32], sig[65], pub[65], addr[20];
    for (int i = 0; i < 32; i++) digest[i] = (uint8_t)(i * 7 + 1);
    TU_ASSERT_OK(tkm_vkeys_sign(k, sig, digest));
    TU_ASSERT_OK(tkm_secp_recover(pub, digest, sig, TKM_SECP_REQUIRE_LOW_S));
    assert_memory_equal(pub, tkm_vkeys_eas_pubkey(k), 65);
    tkm_eth_address(addr, pub);
    assert_memory_equal(addr, tkm_vkeys_eas_address(k), 20);

    /* loading again yields the same EAS key */
    tkm_vkeys *k2 = NULL;
    TU_ASSERT_OK(tkm_vkeys_load(&k2, sub));
    assert_memory_equal(tkm_vkeys_eas_address(k), tkm_vkeys_eas_address(k2), 20);
    /* salts: stable for the same input, different for another input or another verifier */
    uint8_t s1[32], s2[32], s3[32];
    TU_ASSERT_OK(tkm_vkeys_salt(k, s1, (const uint8_t *)"abc", 3));
    TU_ASSERT_OK(tkm_vkeys_salt(k2, s2, (const uint8_t *)"abc", 3));
    TU_ASSERT_OK(tkm_vkeys_salt(k, s3, (const uint8_t *)"abd", 3));
    assert_memory_equal(s1, s2, 32);
    assert_memory_not_equal(s1, s3, 32);
    tkm_vkeys_free(k2);
    tkm_vkeys_free(k);
}

/* A failure late in init (here: a bad certificate name) leaves no key file behind, so init can run again. */
static void test_init_all_or_nothing(void **state) {
    (void)state;
    char sub[300];
    snprintf(sub, sizeof sub, "%s/data", dir);
    static const char *const bad_dns[] = {"a,b"};
    tkm_vtls_names bad = {bad_dns, 1, NULL, 0, 0};
    TU_ASSERT_RC(tkm_vkeys_init_dir(sub, &bad), TKM_ERR_FORMAT);
    static const char *const files[] = {"master.key", "eas.key", "tls.key", "tls.crt"};
    struct stat st;
    for (size_t i = 0; i < 4; i++) {
        char f[400];
        snprintf(f, sizeof f, "%s/%s", sub, files[i]);
        if (stat(f, &st) == 0) fail_msg("%s left behind by a failed init", files[i]);
    }
    TU_ASSERT_OK(tkm_vkeys_init_dir(sub, NULL));
    tkm_vkeys *k = NULL;
    TU_ASSERT_OK(tkm_vkeys_load(&k, sub));
    tkm_vkeys_free(k);
}

static void test_state_keys(void **state) {
    (void)state;
    TU_ASSERT_OK(tkm_vkeys_init_dir(dir, NULL));
    tkm_vkeys *k = NULL;
    TU_ASSERT_OK(tkm_vkeys_load(&k, dir));
    uint8_t id1[32], id2[32], sealed[TKM_SEALED_STATE_KEY_LEN];
    memset(id1, 0x11, 32);
    memset(id2, 0x22, 32);
    tkm_secret *key = NULL, *back = NULL;
    TU_ASSERT_OK(tkm_vkeys_state_key_new(&key));
    TU_ASSERT_OK(tkm_vkeys_state_key_seal(k, sealed, id1, key));
    TU_ASSERT_OK(tkm_vkeys_state_key_open(k, &back, id1, sealed, sizeof sealed));
    assert_true(tkm_secret_eq(key, back));
    tkm_secret_free(back);
    back = NULL;
    /* bound to the instance id */
    TU_ASSERT_RC(tkm_vkeys_state_key_open(k, &back, id2, sealed, sizeof sealed), TKM_ERR_AUTH_TAG);
    assert_null(back);
    /* any byte changed */
    for (size_t i = 0; i < sizeof sealed; i += 5) {
        sealed[i] ^= 0x80;
        TU_ASSERT_RC(tkm_vkeys_state_key_open(k, &back, id1, sealed, sizeof sealed), TKM_ERR_AUTH_TAG);
        sealed[i] ^= 0x80;
    }
    TU_ASSERT_RC(tkm_vkeys_state_key_open(k, &back, id1, sealed, sizeof sealed - 1), TKM_ERR_FORMAT);
    /* another verifier (another master key) cannot open it */
    char other[300];
    snprintf(other, sizeof other, "%s/other", dir);
    TU_ASSERT_OK(tkm_vkeys_init_dir(other, NULL));
    tkm_vkeys *o = NULL;
    TU_ASSERT_OK(tkm_vkeys_load(&o, other));
    TU_ASSERT_RC(tkm_vkeys_state_key_open(o, &back, id1, sealed, sizeof sealed), TKM_ERR_AUTH_TAG);
    /* nor its EAS key file: swap eas.key between the two directories */
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cp '%s/eas.key' '%s/eas.key.x' && cp '%s/eas.key' '%s/eas.key'", other, dir, dir, other);
    assert_int_equal(system(cmd), 0);
    tkm_vkeys *bad = NULL;
    TU_ASSERT_RC(tkm_vkeys_load(&bad, other), TKM_ERR_AUTH_TAG);
    assert_null(bad);
    tkm_vkeys_free(o);
    tkm_secret_free(key);
    tkm_vkeys_free(k);
}

static void test_file_rules(void **state) {
    (void)state;
    TU_ASSERT_OK(tkm_vkeys_init_dir(dir, NULL));
    tkm_vkeys *k = NULL;
    assert_int_equal(chmod(p("master.key"), 0640), 0);
    TU_ASSERT_RC(tkm_vkeys_load(&k, dir), TKM_ERR_PERMISSIONS);
    assert_int_equal(chmod(p("master.key"), 0600), 0);
    assert_int_equal(chmod(p("eas.key"), 0604), 0);
    TU_ASSERT_RC(tkm_vkeys_load(&k, dir), TKM_ERR_PERMISSIONS);
    assert_int_equal(chmod(p("eas.key"), 0600), 0);
    /* a symlink is refused */
    assert_int_equal(rename(p("master.key"), p("real.key")), 0);
    assert_int_equal(symlink("real.key", p("master.key")), 0);
    TU_ASSERT_RC(tkm_vkeys_load(&k, dir), TKM_ERR_PERMISSIONS);
    assert_int_equal(unlink(p("master.key")), 0);
    TU_ASSERT_RC(tkm_vkeys_load(&k, dir), TKM_ERR_NOT_FOUND);
    /* wrong size */
    FILE *f = fopen(p("master.key"), "wb");
    fwrite("short", 1, 5, f);
    fclose(f);
    assert_int_equal(chmod(p("master.key"), 0600), 0);
    TU_ASSERT_RC(tkm_vkeys_load(&k, dir), TKM_ERR_FORMAT);
    assert_int_equal(rename(p("real.key"), p("master.key")), 0);
    TU_ASSERT_OK(tkm_vkeys_load(&k, dir));
    tkm_vkeys_free(k);
}

static void test_tls_certificate(void **state) {
    (void)state;
    static const char *const dns[] = {"verifier.example"};
    static const char *const ips[] = {"10.1.2.3"};
    tkm_vtls_names names = {dns, 1, ips, 1, 30};
    TU_ASSERT_OK(tkm_vtls_make_self_signed(p("c.pem"), p("k.pem"), &names));
    TU_ASSERT_RC(tkm_vtls_make_self_signed(p("c.pem"), p("k2.pem"), &names), TKM_ERR_EXISTS);
    FILE *f = fopen(p("c.pem"), "r");
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    f = fopen(p("k.pem"), "r");
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(c);
    assert_non_null(key);
    assert_int_equal(X509_check_private_key(c, key), 1);
    assert_int_equal(X509_verify(c, key), 1); /* self-signed */
    assert_int_equal(X509_check_host(c, "verifier.example", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(c, "other.example", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ip_asc(c, "10.1.2.3", 0), 1);
    assert_string_equal(OBJ_nid2sn(EVP_PKEY_get_base_id(key)), "id-ecPublicKey");
    assert_int_equal(EVP_PKEY_get_bits(key), 256);
    EVP_PKEY_free(key);
    X509_free(c);
    /* names with separators are refused */
    static const char *const evil[] = {"a,DNS:b"};
    tkm_vtls_names bad = {evil, 1, NULL, 0, 0};
    TU_ASSERT_RC(tkm_vtls_make_self_signed(p("c2.pem"), p("k3.pem"), &bad), TKM_ERR_FORMAT);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_load_sign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_certificate, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
