/*
 * scrypt and PBKDF2-HMAC-SHA256: RFC 7914 vectors, the EIP-2335 keystores
 * (checksum = sha256(dk[16:32] ‖ ciphertext), then the secret), the Web3
 * Secret Storage v3 keystores of ethereum/tests (MAC = keccak256(dk[16:32] ‖
 * ciphertext), then the private key), and every parameter bound.
 * AES-128-CTR decryption of the keystores uses OpenSSL directly (test oracle).
 */
#include "testutil.h"

#include "crypto/crypto.h"

#include <openssl/evp.h>
#include <string.h>

static const char *s(json_t *o, const char *k) {
    const char *v = json_string_value(json_object_get(o, k));
    if (!v) fail_msg("vector field %s missing", k);
    return v;
}

static void test_rfc7914_scrypt(void **state) {
    (void)state;
    json_t *d = tu_load_vector("kdf/rfc7914.json");
    size_t i;
    json_t *e;
    int computed = 0, refused = 0;
    json_array_foreach(json_object_get(d, "scrypt"), i, e) {
        const char *P = s(e, "P"), *S = s(e, "S");
        tkm_scrypt_params prm = {.n = (uint64_t)json_integer_value(json_object_get(e, "N")),
                                 .r = (uint32_t)json_integer_value(json_object_get(e, "r")),
                                 .p = (uint32_t)json_integer_value(json_object_get(e, "p"))};
        size_t dklen = (size_t)json_integer_value(json_object_get(e, "dkLen")), wlen;
        uint8_t *want = tu_hex(s(e, "DK"), &wlen);
        assert_int_equal(wlen, dklen);
        tkm_secret *dk = NULL;
        tkm_rc rc = tkm_scrypt(&dk, dklen, (const uint8_t *)P, strlen(P), (const uint8_t *)S, strlen(S), &prm);
        if (json_is_true(json_object_get(e, "over_bound"))) {
            /* 1 GiB: refused before any allocation */
            assert_int_equal(rc.code, TKM_ERR_KDF_COST);
            assert_null(dk);
            refused++;
        } else {
            TU_ASSERT_OK(rc);
            assert_memory_equal(tkm_secret_ptr(dk), want, dklen);
            computed++;
        }
        tkm_secret_free(dk);
        free(want);
    }
    assert_int_equal(computed, 3);
    assert_int_equal(refused, 1);
    json_decref(d);
}

static void test_rfc7914_pbkdf2(void **state) {
    (void)state;
    json_t *d = tu_load_vector("kdf/rfc7914.json");
    size_t i;
    json_t *e;
    assert_int_equal(json_array_size(json_object_get(d, "pbkdf2_hmac_sha256")), 2);
    json_array_foreach(json_object_get(d, "pbkdf2_hmac_sha256"), i, e) {
        const char *P = s(e, "P"), *S = s(e, "S");
        size_t dklen = (size_t)json_integer_value(json_object_get(e, "dkLen")), wlen;
        uint8_t *want = tu_hex(s(e, "DK"), &wlen);
        tkm_secret *dk = NULL;
        TU_ASSERT_OK(tkm_pbkdf2_sha256(&dk, dklen, (const uint8_t *)P, strlen(P), (const uint8_t *)S, strlen(S),
                                       (uint64_t)json_integer_value(json_object_get(e, "c"))));
        assert_memory_equal(tkm_secret_ptr(dk), want, dklen);
        tkm_secret_free(dk);
        free(want);
    }
    json_decref(d);
}

/* AES-128-CTR with dk[0:16] (the keystore cipher), via OpenSSL as an oracle. */
static void ctr_decrypt(uint8_t *out, const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, size_t n) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    assert_non_null(c);
    assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv), 1);
    assert_int_equal(EVP_DecryptUpdate(c, out, &l1, in, (int)n), 1);
    assert_int_equal(EVP_DecryptFinal_ex(c, out + l1, &l2), 1);
    assert_int_equal((size_t)(l1 + l2), n);
    EVP_CIPHER_CTX_free(c);
}

static void check_eip2335(const char *file) {
    char rel[128];
    snprintf(rel, sizeof rel, "eip-2335/%s", file);
    json_t *ks = tu_load_vector(rel), *exp = tu_load_vector("eip-2335/expected.json");
    json_t *crypto = json_object_get(ks, "crypto");
    json_t *kdf = json_object_get(crypto, "kdf"), *params = json_object_get(kdf, "params");
    size_t pw_len, salt_len, ct_len;
    uint8_t *pw = tu_hex(s(exp, "password_utf8_hex_after_nfkd_and_control_strip"), &pw_len);
    uint8_t *salt = tu_hex(s(params, "salt"), &salt_len);
    uint8_t *ct = tu_hex(s(json_object_get(crypto, "cipher"), "message"), &ct_len);
    size_t dklen = (size_t)json_integer_value(json_object_get(params, "dklen"));
    assert_int_equal(dklen, 32);
    tkm_secret *dk = NULL;
    if (strcmp(s(kdf, "function"), "scrypt") == 0) {
        tkm_scrypt_params prm = {.n = (uint64_t)json_integer_value(json_object_get(params, "n")),
                                 .r = (uint32_t)json_integer_value(json_object_get(params, "r")),
                                 .p = (uint32_t)json_integer_value(json_object_get(params, "p"))};
        TU_ASSERT_OK(tkm_scrypt(&dk, dklen, pw, pw_len, salt, salt_len, &prm));
    } else {
        assert_string_equal(s(kdf, "function"), "pbkdf2");
        assert_string_equal(s(params, "prf"), "hmac-sha256");
        TU_ASSERT_OK(tkm_pbkdf2_sha256(&dk, dklen, pw, pw_len, salt, salt_len,
                                       (uint64_t)json_integer_value(json_object_get(params, "c"))));
    }
    /* checksum = sha256(dk[16:32] ‖ cipher.message) */
    uint8_t sum[32], want_sum[32];
    tkm_iov v[2] = {{tkm_secret_ptr(dk) + 16, 16}, {ct, ct_len}};
    TU_ASSERT_OK(tkm_sha256_v(sum, v, 2));
    tu_hex_exact(want_sum, 32, s(json_object_get(crypto, "checksum"), "message"));
    assert_memory_equal(sum, want_sum, 32);
    /* and the key decrypts to the published secret */
    uint8_t iv[16], secret[32], want_secret[32];
    tu_hex_exact(iv, 16, s(json_object_get(json_object_get(crypto, "cipher"), "params"), "iv"));
    assert_int_equal(ct_len, 32);
    ctr_decrypt(secret, tkm_secret_ptr(dk), iv, ct, ct_len);
    tu_hex_exact(want_secret, 32, s(exp, "secret"));
    assert_memory_equal(secret, want_secret, 32);
    tkm_secret_free(dk);
    free(pw);
    free(salt);
    free(ct);
    json_decref(ks);
    json_decref(exp);
}

static void test_eip2335_pbkdf2(void **state) {
    (void)state;
    check_eip2335("keystore_pbkdf2.json");
}

/* 256 MiB of scrypt memory: the largest cost teekm accepts by default. */
static void test_eip2335_scrypt(void **state) {
    (void)state;
    check_eip2335("keystore_scrypt.json");
}

static void test_keystore_v3(void **state) {
    (void)state;
    json_t *d = tu_load_vector("keystore-v3/ethereum-tests-basic_tests.json");
    const char *name;
    json_t *t;
    int ok = 0, refused = 0;
    json_object_foreach(d, name, t) {
        json_t *crypto = json_object_get(json_object_get(t, "json"), "crypto");
        json_t *params = json_object_get(crypto, "kdfparams");
        const char *pw = s(t, "password");
        size_t salt_len, ct_len;
        uint8_t *salt = tu_hex(s(params, "salt"), &salt_len);
        uint8_t *ct = tu_hex(s(crypto, "ciphertext"), &ct_len);
        size_t dklen = (size_t)json_integer_value(json_object_get(params, "dklen"));
        tkm_secret *dk = NULL;
        tkm_rc rc;
        if (strcmp(s(crypto, "kdf"), "scrypt") == 0) {
            tkm_scrypt_params prm = {.n = (uint64_t)json_integer_value(json_object_get(params, "n")),
                                     .r = (uint32_t)json_integer_value(json_object_get(params, "r")),
                                     .p = (uint32_t)json_integer_value(json_object_get(params, "p"))};
            rc = tkm_scrypt(&dk, dklen, (const uint8_t *)pw, strlen(pw), salt, salt_len, &prm);
        } else {
            assert_string_equal(s(params, "prf"), "hmac-sha256");
            rc = tkm_pbkdf2_sha256(&dk, dklen, (const uint8_t *)pw, strlen(pw), salt, salt_len,
                                   (uint64_t)json_integer_value(json_object_get(params, "c")));
        }
        if (strcmp(name, "test2") == 0) {
            /* scrypt N = 2^18 with r = 1 breaks RFC 7914's N < 2^(16 r): refused, see docs/kdf.md */
            assert_int_equal(rc.code, TKM_ERR_KDF_PARAMS);
            assert_null(dk);
            refused++;
        } else {
            TU_ASSERT_OK(rc);
            uint8_t mac[32], want_mac[32];
            tkm_keccak_ctx k;
            tkm_keccak256_init(&k);
            tkm_keccak256_update(&k, tkm_secret_ptr(dk) + 16, 16);
            tkm_keccak256_update(&k, ct, ct_len);
            tkm_keccak256_final(&k, mac);
            tu_hex_exact(want_mac, 32, s(crypto, "mac"));
            if (memcmp(mac, want_mac, 32) != 0) fail_msg("%s: MAC mismatch", name);
            uint8_t iv[16], priv[32], want_priv[32];
            tu_hex_exact(iv, 16, s(json_object_get(crypto, "cipherparams"), "iv"));
            assert_int_equal(ct_len, 32);
            ctr_decrypt(priv, tkm_secret_ptr(dk), iv, ct, ct_len);
            tu_hex_exact(want_priv, 32, s(t, "priv"));
            if (memcmp(priv, want_priv, 32) != 0) fail_msg("%s: private key mismatch", name);
            ok++;
        }
        tkm_secret_free(dk);
        free(salt);
        free(ct);
    }
    assert_int_equal(ok, 4);
    assert_int_equal(refused, 1);
    json_decref(d);
}

static void expect_scrypt(uint64_t n, uint32_t r, uint32_t p, size_t dklen, tkm_err want) {
    tkm_scrypt_params prm = {.n = n, .r = r, .p = p};
    tkm_secret *dk = (tkm_secret *)1;
    tkm_rc rc = tkm_scrypt(&dk, dklen, (const uint8_t *)"pw", 2, (const uint8_t *)"salt", 4, &prm);
    if (rc.code != want)
        fail_msg("scrypt n=%llu r=%u p=%u dklen=%zu: got %s, want %s", (unsigned long long)n, r, p, dklen,
                 tkm_err_name(rc.code), tkm_err_name(want));
    if (want == TKM_OK) {
        assert_non_null(dk);
        tkm_secret_free(dk);
    } else {
        assert_null(dk);
        assert_true(strlen(tkm_err_detail()) > 0);
    }
    assert_int_equal(tkm_scrypt_check(&prm, dklen).code, want);
}

static void test_scrypt_bounds(void **state) {
    (void)state;
    expect_scrypt(0, 8, 1, 32, TKM_ERR_KDF_PARAMS);
    expect_scrypt(1, 8, 1, 32, TKM_ERR_KDF_PARAMS);
    expect_scrypt(1000, 8, 1, 32, TKM_ERR_KDF_PARAMS); /* not a power of two */
    expect_scrypt(1024, 0, 1, 32, TKM_ERR_KDF_PARAMS);
    expect_scrypt(1024, 8, 0, 32, TKM_ERR_KDF_PARAMS);
    expect_scrypt(1024, 8, 1, 0, TKM_ERR_KDF_PARAMS);
    expect_scrypt((uint64_t)1 << 16, 1, 1, 32, TKM_ERR_KDF_PARAMS); /* N >= 2^(16 r) */
    expect_scrypt((uint64_t)1 << 32, 1, 1, 32, TKM_ERR_KDF_COST);
    expect_scrypt((uint64_t)1 << 63, 8, 1, 32, TKM_ERR_KDF_COST);
    expect_scrypt((uint64_t)1 << 21, 8, 1, 32, TKM_ERR_KDF_COST);  /* N */
    expect_scrypt(1024, 33, 1, 32, TKM_ERR_KDF_COST);              /* r */
    expect_scrypt(1024, 8, 17, 32, TKM_ERR_KDF_COST);              /* p */
    expect_scrypt((uint64_t)1 << 19, 8, 1, 32, TKM_ERR_KDF_COST);  /* 512 MiB */
    expect_scrypt((uint64_t)1 << 18, 8, 3, 32, TKM_ERR_KDF_COST);  /* work 2^22·1.5 */
    expect_scrypt((uint64_t)1 << 17, 32, 1, 32, TKM_ERR_KDF_COST); /* 512 MiB via r */
    expect_scrypt(1024, 8, 1, 65, TKM_ERR_KDF_COST);                /* dklen */
    expect_scrypt(4, 1, 1, 64, TKM_OK);
    expect_scrypt((uint64_t)1 << 15, 1, 1, 32, TKM_OK); /* largest N that r = 1 allows */
    /* sizes of password and salt */
    static uint8_t big[TKM_KDF_MAX_PASSWORD + 1];
    tkm_scrypt_params ok = {.n = 16, .r = 1, .p = 1};
    tkm_secret *dk = NULL;
    TU_ASSERT_RC(tkm_scrypt(&dk, 32, big, TKM_KDF_MAX_PASSWORD + 1, NULL, 0, &ok), TKM_ERR_TOO_LARGE);
    TU_ASSERT_RC(tkm_scrypt(&dk, 32, NULL, 0, big, TKM_KDF_MAX_SALT + 1, &ok), TKM_ERR_TOO_LARGE);
    TU_ASSERT_OK(tkm_scrypt(&dk, 32, big, TKM_KDF_MAX_PASSWORD, big, TKM_KDF_MAX_SALT, &ok));
    tkm_secret_free(dk);
    TU_CHECK_ILLEGAL(tkm_scrypt(&dk, 32, NULL, 3, NULL, 0, &ok));
    tkm_misuse_set_handler(NULL);
}

static void test_pbkdf2_bounds(void **state) {
    (void)state;
    tkm_secret *dk = (tkm_secret *)1;
    TU_ASSERT_RC(tkm_pbkdf2_sha256(&dk, 32, (const uint8_t *)"pw", 2, NULL, 0, 0), TKM_ERR_KDF_PARAMS);
    assert_null(dk);
    TU_ASSERT_RC(tkm_pbkdf2_sha256(&dk, 32, (const uint8_t *)"pw", 2, NULL, 0, TKM_PBKDF2_MAX_ITER + 1ull),
                 TKM_ERR_KDF_COST);
    TU_ASSERT_RC(tkm_pbkdf2_sha256(&dk, 32, (const uint8_t *)"pw", 2, NULL, 0, UINT64_MAX), TKM_ERR_KDF_COST);
    TU_ASSERT_RC(tkm_pbkdf2_sha256(&dk, 0, (const uint8_t *)"pw", 2, NULL, 0, 1), TKM_ERR_KDF_PARAMS);
    TU_ASSERT_RC(tkm_pbkdf2_sha256(&dk, 65, (const uint8_t *)"pw", 2, NULL, 0, 1), TKM_ERR_KDF_COST);
    TU_ASSERT_OK(tkm_pbkdf2_check(TKM_PBKDF2_MAX_ITER, 64));
    /* empty password and salt are legal (and deterministic) */
    tkm_secret *a = NULL, *b = NULL;
    TU_ASSERT_OK(tkm_pbkdf2_sha256(&a, 32, NULL, 0, NULL, 0, 2));
    TU_ASSERT_OK(tkm_pbkdf2_sha256(&b, 32, (const uint8_t *)"", 0, (const uint8_t *)"", 0, 2));
    assert_true(tkm_secret_eq(a, b));
    tkm_secret_free(a);
    tkm_secret_free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7914_scrypt), cmocka_unit_test(test_rfc7914_pbkdf2),
        cmocka_unit_test(test_eip2335_pbkdf2), cmocka_unit_test(test_eip2335_scrypt),
        cmocka_unit_test(test_keystore_v3),    cmocka_unit_test(test_scrypt_bounds),
        cmocka_unit_test(test_pbkdf2_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
