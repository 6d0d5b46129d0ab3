/* secp256k1 wrapper: EIP-155 example signature, recovery, low-s rules, EIP-55 addresses. */
#include "testutil.h"

#include "crypto/tkm_entropy.h"

#include "crypto/crypto.h"

#include <openssl/bn.h>
#include <string.h>

static void dec_to_be32(uint8_t out[32], const char *dec) {
    BIGNUM *bn = NULL;
    assert_true(BN_dec2bn(&bn, dec) > 0);
    assert_int_equal(BN_bn2binpad(bn, out, 32), 32);
    BN_free(bn);
}

static tkm_secret *load_key(const char *hex) {
    uint8_t b[32];
    tu_hex_exact(b, 32, hex);
    tkm_secret *sk;
    TU_ASSERT_OK(tkm_secret_from(&sk, b, 32));
    tkm_wipe(b, 32);
    return sk;
}

static void test_eip155_example_signature(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip-155/eip155_example.json");
    tkm_secret *sk = load_key(json_string_value(json_object_get(v, "privateKey")));
    uint8_t digest[32], sig[65], want_r[32], want_s[32], pub[65], rec[65];
    tu_hex_exact(digest, 32, json_string_value(json_object_get(v, "signingHash")));
    /* the signing hash is keccak of the signing RLP given in the EIP */
    size_t n;
    uint8_t *rlp = tu_hex(json_string_value(json_object_get(v, "signingData")), &n);
    uint8_t h[32];
    tkm_keccak256(h, rlp, n);
    assert_memory_equal(h, digest, 32);
    free(rlp);
    TU_ASSERT_OK(tkm_secp_sign(sig, sk, digest));
    dec_to_be32(want_r, json_string_value(json_object_get(v, "r")));
    dec_to_be32(want_s, json_string_value(json_object_get(v, "s")));
    assert_memory_equal(sig, want_r, 32);
    assert_memory_equal(sig + 32, want_s, 32);
    assert_int_equal(35 + 2 * 1 + sig[64], json_integer_value(json_object_get(v, "v")));
    TU_ASSERT_OK(tkm_secp_pubkey(pub, sk));
    TU_ASSERT_OK(tkm_secp_verify(pub, digest, sig));
    TU_ASSERT_OK(tkm_secp_recover(rec, digest, sig, TKM_SECP_REQUIRE_LOW_S));
    assert_memory_equal(rec, pub, 65);
    /* a different digest does not verify */
    digest[0] ^= 1;
    TU_ASSERT_RC(tkm_secp_verify(pub, digest, sig), TKM_ERR_BAD_SIGNATURE);
    tkm_secret_free(sk);
    json_decref(v);
}

/* The self-checked signature is the plain one; checked against another key it is refused and wiped. */
static void test_sign_checked(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip-155/eip155_example.json");
    tkm_secret *sk = load_key(json_string_value(json_object_get(v, "privateKey")));
    uint8_t digest[32], sig[65], plain[65], pub[65], other[65];
    tu_hex_exact(digest, 32, json_string_value(json_object_get(v, "signingHash")));
    TU_ASSERT_OK(tkm_secp_pubkey(pub, sk));
    TU_ASSERT_OK(tkm_secp_sign(plain, sk, digest));
    TU_ASSERT_OK(tkm_secp_sign_checked(sig, sk, pub, digest));
    assert_memory_equal(sig, plain, 65);
    /* as if the key or the computation had been corrupted: the public key it must recover to differs */
    tkm_secret *sk2 = load_key("0x0000000000000000000000000000000000000000000000000000000000000001");
    TU_ASSERT_OK(tkm_secp_pubkey(other, sk2));
    TU_ASSERT_RC(tkm_secp_sign_checked(sig, sk, other, digest), TKM_ERR_SIGN_SELFCHECK);
    uint8_t zero[65] = {0};
    assert_memory_equal(sig, zero, 65);
    tkm_secret_free(sk2);
    tkm_secret_free(sk);
    json_decref(v);
}

/* A repeatable source that still passes the entropy health tests (splitmix64 from a fixed seed). */
static uint64_t fixed_state;
static int fixed_source(uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (fixed_state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        out[i] = (uint8_t)(z ^ (z >> 31));
    }
    return 0;
}
static int failing_source(uint8_t *out, size_t n) {
    (void)out;
    (void)n;
    return -1;
}

/* Hedged: fresh noise gives a fresh nonce every time, every signature is valid, and no entropy means no signature. */
static void test_sign_hedged(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip-155/eip155_example.json");
    tkm_secret *sk = load_key(json_string_value(json_object_get(v, "privateKey")));
    uint8_t digest[32], a[65], b[65], det[65], pub[65], rec[65];
    tu_hex_exact(digest, 32, json_string_value(json_object_get(v, "signingHash")));
    TU_ASSERT_OK(tkm_secp_pubkey(pub, sk));
    TU_ASSERT_OK(tkm_secp_sign(det, sk, digest));
    TU_ASSERT_OK(tkm_secp_sign_hedged(a, sk, digest));
    TU_ASSERT_OK(tkm_secp_sign_hedged(b, sk, digest));
    assert_memory_not_equal(a, b, 32); /* another r: another nonce */
    assert_memory_not_equal(a, det, 32);
    for (int i = 0; i < 2; i++) {
        TU_ASSERT_OK(tkm_secp_recover(rec, digest, i ? b : a, TKM_SECP_REQUIRE_LOW_S));
        assert_memory_equal(rec, pub, 65);
    }
    /* the noise is what changes the nonce: the same noise gives the same signature, not RFC 6979's */
    fixed_state = 42;
    tkm_entropy_set_source_for_testing(fixed_source);
    TU_ASSERT_OK(tkm_secp_sign_hedged(a, sk, digest));
    fixed_state = 42;
    tkm_entropy_set_source_for_testing(fixed_source);
    TU_ASSERT_OK(tkm_secp_sign_hedged(b, sk, digest));
    assert_memory_equal(a, b, 65);
    assert_memory_not_equal(a, det, 32);
    tkm_entropy_set_source_for_testing(failing_source);
    TU_ASSERT_RC(tkm_secp_sign_hedged(a, sk, digest), TKM_ERR_ENTROPY);
    uint8_t zero[65] = {0};
    assert_memory_equal(a, zero, 65);
    tkm_entropy_set_source_for_testing(NULL);
    tkm_secret_free(sk);
    json_decref(v);
}

/* Serves the health test from splitmix, then exactly the queued 32 bytes of noise. */
static const uint8_t *queued_noise;
static int queued_source(uint8_t *out, size_t n) {
    if (n != 32 || !queued_noise) return fixed_source(out, n);
    memcpy(out, queued_noise, 32);
    queued_noise = NULL;
    return 0;
}

/* The hedged nonce is RFC 6979 §3.6 with the noise as additional data: the same signatures as @noble/curves' extraEntropy. */
static void test_sign_hedged_matches_noble(void **state) {
    (void)state;
    json_t *v = tu_load_vector("secp-hedged/noble_extra_entropy.json");
    json_t *cases = json_object_get(v, "cases");
    assert_true(json_array_size(cases) >= 32);
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        tkm_secret *sk = load_key(json_string_value(json_object_get(c, "secretKey")));
        uint8_t digest[32], noise[32], want[65], want_det[65], sig[65];
        tu_hex_exact(digest, 32, json_string_value(json_object_get(c, "digest")));
        tu_hex_exact(noise, 32, json_string_value(json_object_get(c, "noise")));
        tu_hex_exact(want, 65, json_string_value(json_object_get(c, "hedged")));
        tu_hex_exact(want_det, 65, json_string_value(json_object_get(c, "rfc6979")));
        fixed_state = 7;
        queued_noise = noise;
        tkm_entropy_set_source_for_testing(queued_source);
        TU_ASSERT_OK(tkm_secp_sign_hedged(sig, sk, digest));
        assert_null(queued_noise); /* the noise was drawn */
        assert_memory_equal(sig, want, 65);
        TU_ASSERT_OK(tkm_secp_sign(sig, sk, digest));
        assert_memory_equal(sig, want_det, 65);
        tkm_secret_free(sk);
    }
    tkm_entropy_set_source_for_testing(NULL);
    json_decref(v);
}

/* n - s flips a low s to a high s: verify and strict recover must refuse it. */
static void test_high_s_refused(void **state) {
    (void)state;
    tkm_secret *sk;
    TU_ASSERT_OK(tkm_secp_keygen(&sk));
    uint8_t digest[32] = {1, 2, 3}, sig[65], pub[65], rec[65];
    TU_ASSERT_OK(tkm_secp_sign(sig, sk, digest));
    TU_ASSERT_OK(tkm_secp_pubkey(pub, sk));
    BIGNUM *n = NULL, *s = BN_bin2bn(sig + 32, 32, NULL);
    BN_hex2bn(&n, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
    BN_sub(s, n, s);
    BN_bn2binpad(s, sig + 32, 32);
    sig[64] ^= 1; /* the high-s twin recovers with the other parity */
    TU_ASSERT_RC(tkm_secp_verify(pub, digest, sig), TKM_ERR_HIGH_S);
    TU_ASSERT_RC(tkm_secp_recover(rec, digest, sig, TKM_SECP_REQUIRE_LOW_S), TKM_ERR_HIGH_S);
    TU_ASSERT_OK(tkm_secp_recover(rec, digest, sig, TKM_SECP_ALLOW_HIGH_S));
    assert_memory_equal(rec, pub, 65);
    /* r = 0, s >= n and recid > 3 are invalid */
    uint8_t bad[65];
    memcpy(bad, sig, 65);
    memset(bad, 0, 32);
    TU_ASSERT_RC(tkm_secp_recover(rec, digest, bad, TKM_SECP_ALLOW_HIGH_S), TKM_ERR_BAD_SIGNATURE);
    memcpy(bad, sig, 65);
    BN_bn2binpad(n, bad + 32, 32);
    TU_ASSERT_RC(tkm_secp_recover(rec, digest, bad, TKM_SECP_ALLOW_HIGH_S), TKM_ERR_BAD_SIGNATURE);
    memcpy(bad, sig, 65);
    bad[64] = 4;
    TU_ASSERT_RC(tkm_secp_recover(rec, digest, bad, TKM_SECP_ALLOW_HIGH_S), TKM_ERR_BAD_SIGNATURE);
    BN_free(n);
    BN_free(s);
    tkm_secret_free(sk);
}

static void test_invalid_keys(void **state) {
    (void)state;
    tkm_secret *zero = load_key("0000000000000000000000000000000000000000000000000000000000000000");
    tkm_secret *order = load_key("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
    uint8_t pub[65], sig[65], d[32] = {0};
    TU_ASSERT_RC(tkm_secp_seckey_check(zero), TKM_ERR_BAD_KEY);
    TU_ASSERT_RC(tkm_secp_seckey_check(order), TKM_ERR_BAD_KEY);
    TU_ASSERT_RC(tkm_secp_pubkey(pub, zero), TKM_ERR_BAD_KEY);
    TU_ASSERT_RC(tkm_secp_sign(sig, order, d), TKM_ERR_BAD_KEY);
    tkm_secret_free(zero);
    tkm_secret_free(order);
    uint8_t junk[33] = {0x02};
    TU_ASSERT_RC(tkm_secp_pubkey_parse(pub, junk, 20), TKM_ERR_BAD_KEY);
}

static void test_compressed_round_trip(void **state) {
    (void)state;
    tkm_secret *sk;
    TU_ASSERT_OK(tkm_secp_keygen(&sk));
    uint8_t pub[65], c[33], back[65];
    TU_ASSERT_OK(tkm_secp_pubkey(pub, sk));
    TU_ASSERT_OK(tkm_secp_pubkey_compress(c, pub));
    TU_ASSERT_OK(tkm_secp_pubkey_parse(back, c, 33));
    assert_memory_equal(back, pub, 65);
    /* a point off the curve is refused and leaves no stale output */
    pub[64] ^= 1;
    TU_ASSERT_RC(tkm_secp_pubkey_compress(c, pub), TKM_ERR_BAD_KEY);
    for (int i = 0; i < 33; i++) assert_int_equal(c[i], 0);
    tkm_secret_free(sk);
}

static void test_eip55_vectors(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip-55/eip55_checksum.json");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(v, "checksummed"), i, e) {
        const char *s = json_string_value(e);
        uint8_t a[20];
        char out[TKM_ETH_ADDR_STR_LEN];
        TU_ASSERT_OK(tkm_eth_address_parse(a, s, strlen(s)));
        tkm_eth_address_checksum(out, a);
        assert_string_equal(out, s);
        /* lower-cased form is accepted and re-checksums to the same string */
        char lower[43];
        for (int k = 0; k < 43; k++) lower[k] = (s[k] >= 'A' && s[k] <= 'F') ? (char)(s[k] + 32) : s[k];
        TU_ASSERT_OK(tkm_eth_address_parse(a, lower, 42));
        tkm_eth_address_checksum(out, a);
        assert_string_equal(out, s);
        /* flipping the case of one letter breaks a mixed-case checksum */
        int mixed = 0, lo = 0, up = 0;
        for (int k = 2; k < 42; k++) {
            lo |= s[k] >= 'a' && s[k] <= 'f';
            up |= s[k] >= 'A' && s[k] <= 'F';
        }
        mixed = lo && up;
        if (mixed) {
            char bad[43];
            memcpy(bad, s, 43);
            for (int k = 2; k < 42; k++)
                if ((bad[k] >= 'a' && bad[k] <= 'f')) {
                    bad[k] = (char)(bad[k] - 32);
                    break;
                }
            TU_ASSERT_RC(tkm_eth_address_parse(a, bad, 42), TKM_ERR_CHECKSUM);
        }
    }
    uint8_t a[20];
    TU_ASSERT_RC(tkm_eth_address_parse(a, "0x1234", 6), TKM_ERR_ADDRESS);
    TU_ASSERT_RC(tkm_eth_address_parse(a, "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00", 42), TKM_ERR_ADDRESS);
    TU_ASSERT_RC(tkm_eth_address_parse(a, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg", 42), TKM_ERR_ADDRESS);
    json_decref(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eip155_example_signature),
        cmocka_unit_test(test_sign_checked),
        cmocka_unit_test(test_sign_hedged),
        cmocka_unit_test(test_sign_hedged_matches_noble),
        cmocka_unit_test(test_high_s_refused),
        cmocka_unit_test(test_invalid_keys),
        cmocka_unit_test(test_compressed_round_trip),
        cmocka_unit_test(test_eip55_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
