/*
 * HPKE base mode against the RFC 9180 vector for DHKEM(X25519, HKDF-SHA256) /
 * HKDF-SHA256 / AES-256-GCM (DeriveKeyPair, shared_secret, key, base_nonce,
 * exporter_secret, exports, first encryption), the RFC's A.1 KEM values, and
 * refusal of tampered enc/ct/aad/info, truncations and small-order keys.
 */
#include "testutil.h"

#include "crypto/crypto.h"

#include <string.h>

typedef struct {
    json_t *doc;
    uint8_t ikmE[32], ikmR[32], skEm[32], pkEm[32], skRm[32], pkRm[32], enc[32];
    uint8_t *info, *aad, *pt, *ct;
    size_t info_len, aad_len, pt_len, ct_len;
} rfc_vec;

static const char *s(json_t *o, const char *k) {
    const char *v = json_string_value(json_object_get(o, k));
    if (!v) fail_msg("vector field %s missing", k);
    return v;
}

static void load(rfc_vec *v) {
    v->doc = tu_load_vector("hpke/rfc9180_base_x25519_sha256_aes256gcm.json");
    json_t *d = v->doc;
    assert_int_equal(json_integer_value(json_object_get(d, "mode")), 0);
    assert_int_equal(json_integer_value(json_object_get(d, "kem_id")), 32);
    assert_int_equal(json_integer_value(json_object_get(d, "kdf_id")), 1);
    assert_int_equal(json_integer_value(json_object_get(d, "aead_id")), 2);
    tu_hex_exact(v->ikmE, 32, s(d, "ikmE"));
    tu_hex_exact(v->ikmR, 32, s(d, "ikmR"));
    tu_hex_exact(v->skEm, 32, s(d, "skEm"));
    tu_hex_exact(v->pkEm, 32, s(d, "pkEm"));
    tu_hex_exact(v->skRm, 32, s(d, "skRm"));
    tu_hex_exact(v->pkRm, 32, s(d, "pkRm"));
    tu_hex_exact(v->enc, 32, s(d, "enc"));
    v->info = tu_hex(s(d, "info"), &v->info_len);
    json_t *e0 = json_array_get(json_object_get(d, "encryptions"), 0);
    assert_int_equal(json_integer_value(json_object_get(e0, "sequence_number")), 0);
    v->aad = tu_hex(s(e0, "aad"), &v->aad_len);
    v->pt = tu_hex(s(e0, "pt"), &v->pt_len);
    v->ct = tu_hex(s(e0, "ct"), &v->ct_len);
}

static void unload(rfc_vec *v) {
    free(v->info);
    free(v->aad);
    free(v->pt);
    free(v->ct);
    json_decref(v->doc);
}

static tkm_secret *secret_of(const uint8_t *b, size_t n) {
    tkm_secret *sk = NULL;
    TU_ASSERT_OK(tkm_secret_from(&sk, b, n));
    return sk;
}

static void test_derive_keypair(void **state) {
    (void)state;
    rfc_vec v;
    load(&v);
    tkm_secret *sk = NULL;
    uint8_t pk[32];
    TU_ASSERT_OK(tkm_hpke_derive_keypair(&sk, pk, v.ikmR, 32));
    assert_memory_equal(tkm_secret_ptr(sk), v.skRm, 32);
    assert_memory_equal(pk, v.pkRm, 32);
    tkm_secret_free(sk);
    TU_ASSERT_OK(tkm_hpke_derive_keypair(&sk, pk, v.ikmE, 32));
    assert_memory_equal(tkm_secret_ptr(sk), v.skEm, 32);
    assert_memory_equal(pk, v.pkEm, 32);
    uint8_t pk2[32];
    TU_ASSERT_OK(tkm_hpke_pubkey(pk2, sk));
    assert_memory_equal(pk2, v.pkEm, 32);
    tkm_secret_free(sk);
    unload(&v);
}

static void test_key_schedule_and_exports(void **state) {
    (void)state;
    rfc_vec v;
    load(&v);
    uint8_t want[32], nonce[12], got[32];
    tkm_secret *skR = secret_of(v.skRm, 32);
    tkm_hpke_schedule ks;
    TU_ASSERT_OK(tkm_hpke_schedule_for_testing(&ks, skR, v.enc, v.info, v.info_len));
    tu_hex_exact(want, 32, s(v.doc, "shared_secret"));
    assert_memory_equal(ks.shared_secret, want, 32);
    tu_hex_exact(want, 32, s(v.doc, "key"));
    assert_memory_equal(ks.key, want, 32);
    tu_hex_exact(nonce, 12, s(v.doc, "base_nonce"));
    assert_memory_equal(ks.base_nonce, nonce, 12);
    tu_hex_exact(want, 32, s(v.doc, "exporter_secret"));
    assert_memory_equal(ks.exporter_secret, want, 32);
    json_t *exports = json_object_get(v.doc, "exports");
    size_t i;
    json_t *e;
    assert_int_equal(json_array_size(exports), 3);
    json_array_foreach(exports, i, e) {
        size_t clen;
        uint8_t *ctx = tu_hex(s(e, "exporter_context"), &clen);
        assert_int_equal(json_integer_value(json_object_get(e, "L")), 32);
        TU_ASSERT_OK(tkm_hpke_export_for_testing(got, 32, &ks, ctx, clen));
        tu_hex_exact(want, 32, s(e, "exported_value"));
        assert_memory_equal(got, want, 32);
        free(ctx);
    }
    tkm_wipe(&ks, sizeof ks);
    tkm_secret_free(skR);
    unload(&v);
}

static void test_seal_derand_is_the_rfc_ciphertext(void **state) {
    (void)state;
    rfc_vec v;
    load(&v);
    uint8_t enc[32];
    uint8_t *ct = malloc(v.ct_len);
    assert_int_equal(v.ct_len, v.pt_len + 16);
    TU_ASSERT_OK(tkm_hpke_seal_derand(enc, ct, v.ct_len, v.pkRm, v.ikmE, 32, v.info, v.info_len, v.aad, v.aad_len,
                                      v.pt, v.pt_len));
    assert_memory_equal(enc, v.enc, 32);
    assert_memory_equal(ct, v.ct, v.ct_len);
    free(ct);
    unload(&v);
}

static void test_open_rfc_ciphertext(void **state) {
    (void)state;
    rfc_vec v;
    load(&v);
    tkm_secret *skR = secret_of(v.skRm, 32);
    uint8_t *pt = malloc(v.pt_len);
    TU_ASSERT_OK(tkm_hpke_open(pt, v.pt_len, skR, v.enc, v.info, v.info_len, v.aad, v.aad_len, v.ct, v.ct_len));
    assert_memory_equal(pt, v.pt, v.pt_len);
    tkm_secret *sp = NULL;
    TU_ASSERT_OK(tkm_hpke_open_secret(&sp, skR, v.enc, v.info, v.info_len, v.aad, v.aad_len, v.ct, v.ct_len));
    assert_int_equal(tkm_secret_len(sp), v.pt_len);
    assert_memory_equal(tkm_secret_ptr(sp), v.pt, v.pt_len);
    tkm_secret_free(sp);
    tkm_secret_free(skR);
    free(pt);
    unload(&v);
}

/* The A.1 suite shares the KEM: DeriveKeyPair and shared_secret must match too. */
static void test_rfc_a1_kem(void **state) {
    (void)state;
    json_t *d = tu_load_vector("hpke/rfc9180_a1_kem_x25519.json");
    uint8_t ikm[32], want[32], pk[32], enc[32];
    tkm_secret *skR = NULL, *skE = NULL;
    tu_hex_exact(ikm, 32, s(d, "ikmR"));
    TU_ASSERT_OK(tkm_hpke_derive_keypair(&skR, pk, ikm, 32));
    tu_hex_exact(want, 32, s(d, "skRm"));
    assert_memory_equal(tkm_secret_ptr(skR), want, 32);
    tu_hex_exact(want, 32, s(d, "pkRm"));
    assert_memory_equal(pk, want, 32);
    tu_hex_exact(ikm, 32, s(d, "ikmE"));
    TU_ASSERT_OK(tkm_hpke_derive_keypair(&skE, pk, ikm, 32));
    tu_hex_exact(want, 32, s(d, "skEm"));
    assert_memory_equal(tkm_secret_ptr(skE), want, 32);
    tu_hex_exact(enc, 32, s(d, "enc"));
    assert_memory_equal(pk, enc, 32);
    tkm_hpke_schedule ks;
    TU_ASSERT_OK(tkm_hpke_schedule_for_testing(&ks, skR, enc, NULL, 0));
    tu_hex_exact(want, 32, s(d, "shared_secret"));
    assert_memory_equal(ks.shared_secret, want, 32);
    tkm_wipe(&ks, sizeof ks);
    tkm_secret_free(skR);
    tkm_secret_free(skE);
    json_decref(d);
}

static void test_tampering_refused(void **state) {
    (void)state;
    rfc_vec v;
    load(&v);
    tkm_secret *skR = secret_of(v.skRm, 32);
    uint8_t *pt = malloc(v.pt_len + 1), *ct = malloc(v.ct_len + 1), enc[32];
    /* every bit of enc */
    for (size_t bit = 0; bit < 256; bit++) {
        memcpy(enc, v.enc, 32);
        enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        tkm_rc rc = tkm_hpke_open(pt, v.pt_len, skR, enc, v.info, v.info_len, v.aad, v.aad_len, v.ct, v.ct_len);
        /* bit 255 of an X25519 u-coordinate is ignored (RFC 7748 §5): that enc decodes
         * to the same point, yet the KEM context (enc itself) changes, so the key does. */
        assert_int_equal(rc.code, TKM_ERR_AUTH_TAG);
    }
    /* every bit of ct ‖ tag */
    for (size_t bit = 0; bit < v.ct_len * 8; bit++) {
        memcpy(ct, v.ct, v.ct_len);
        ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        TU_ASSERT_RC(tkm_hpke_open(pt, v.pt_len, skR, v.enc, v.info, v.info_len, v.aad, v.aad_len, ct, v.ct_len),
                     TKM_ERR_AUTH_TAG);
    }
    /* aad and info: changed, dropped, shortened */
    v.aad[0] ^= 1;
    TU_ASSERT_RC(tkm_hpke_open(pt, v.pt_len, skR, v.enc, v.info, v.info_len, v.aad, v.aad_len, v.ct, v.ct_len),
                 TKM_ERR_AUTH_TAG);
    v.aad[0] ^= 1;
    TU_ASSERT_RC(tkm_hpke_open(pt, v.pt_len, skR, v.enc, v.info, v.info_len, NULL, 0, v.ct, v.ct_len),
                 TKM_ERR_AUTH_TAG);
    v.info[3] ^= 0x20;
    TU_ASSERT_RC(tkm_hpke_open(pt, v.pt_len, skR, v.enc, v.info, v.info_len, v.aad, v.aad_len, v.ct, v.ct_len),
                 TKM_ERR_AUTH_TAG);
    v.info[3] ^= 0x20;
    TU_ASSERT_RC(tkm_hpke_open(pt, v.pt_len, skR, v.enc, v.info, v.info_len - 1, v.aad, v.aad_len, v.ct, v.ct_len),
                 TKM_ERR_AUTH_TAG);
    TU_ASSERT_RC(tkm_hpke_open(pt, v.pt_len, skR, v.enc, NULL, 0, v.aad, v.aad_len, v.ct, v.ct_len),
                 TKM_ERR_AUTH_TAG);
    /* every truncation, and an extra byte */
    for (size_t n = 0; n < v.ct_len; n++) {
        tkm_rc rc = tkm_hpke_open(pt, v.pt_len, skR, v.enc, v.info, v.info_len, v.aad, v.aad_len, v.ct, n);
        assert_int_equal(rc.code, n < 16 ? TKM_ERR_TRUNCATED : TKM_ERR_AUTH_TAG);
    }
    memcpy(ct, v.ct, v.ct_len);
    ct[v.ct_len] = 0;
    TU_ASSERT_RC(tkm_hpke_open(pt, v.pt_len + 1, skR, v.enc, v.info, v.info_len, v.aad, v.aad_len, ct, v.ct_len + 1),
                 TKM_ERR_AUTH_TAG);
    /* the wrong recipient */
    tkm_secret *other = NULL;
    uint8_t opk[32];
    TU_ASSERT_OK(tkm_hpke_keygen(&other, opk));
    TU_ASSERT_RC(tkm_hpke_open(pt, v.pt_len, other, v.enc, v.info, v.info_len, v.aad, v.aad_len, v.ct, v.ct_len),
                 TKM_ERR_AUTH_TAG);
    /* open_secret leaves nothing behind on failure */
    tkm_secret *sp = (tkm_secret *)1;
    TU_ASSERT_RC(tkm_hpke_open_secret(&sp, other, v.enc, v.info, v.info_len, v.aad, v.aad_len, v.ct, v.ct_len),
                 TKM_ERR_AUTH_TAG);
    assert_null(sp);
    /* a failed open wipes the plaintext buffer */
    memset(pt, 0xcc, v.pt_len);
    TU_ASSERT_RC(tkm_hpke_open(pt, v.pt_len, other, v.enc, v.info, v.info_len, v.aad, v.aad_len, v.ct, v.ct_len),
                 TKM_ERR_AUTH_TAG);
    for (size_t i = 0; i < v.pt_len; i++) assert_int_equal(pt[i], 0);
    tkm_secret_free(other);
    tkm_secret_free(skR);
    free(pt);
    free(ct);
    unload(&v);
}

/*
 * Small-order X25519 public keys (u-coordinates of order 1, 2, 4, 8, and
 * their non-canonical encodings) make the DH result zero: both sides refuse.
 */
static const char *small_order[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

static void test_small_order_keys_refused(void **state) {
    (void)state;
    tkm_secret *skR = NULL;
    uint8_t pkR[32], enc[32], bad[32], ct[48], pt[32] = {0};
    TU_ASSERT_OK(tkm_hpke_keygen(&skR, pkR));
    for (size_t i = 0; i < sizeof small_order / sizeof small_order[0]; i++) {
        tu_hex_exact(bad, 32, small_order[i]);
        memset(ct, 0xcc, sizeof ct);
        TU_ASSERT_RC(tkm_hpke_seal(enc, ct, sizeof ct, bad, NULL, 0, NULL, 0, pt, sizeof pt), TKM_ERR_BAD_KEY);
        uint8_t zero[32] = {0};
        assert_memory_equal(enc, zero, 32);
        memset(ct, 0xcc, sizeof ct);
        TU_ASSERT_RC(tkm_hpke_open(pt, sizeof pt, skR, bad, NULL, 0, NULL, 0, ct, sizeof ct), TKM_ERR_BAD_KEY);
    }
    tkm_secret_free(skR);
}

static void test_round_trip_and_bounds(void **state) {
    (void)state;
    tkm_secret *skR = NULL, *got = NULL;
    uint8_t pkR[32], enc[32], enc2[32], key[32], ct[48], ct2[48], pt[32];
    memset(key, 0x3c, sizeof key);
    TU_ASSERT_OK(tkm_hpke_keygen(&skR, pkR));
    const uint8_t info[] = "teekm state key release v1";
    TU_ASSERT_OK(tkm_hpke_seal(enc, ct, sizeof ct, pkR, info, sizeof info, (const uint8_t *)"x", 1, key, 32));
    TU_ASSERT_OK(tkm_hpke_seal(enc2, ct2, sizeof ct2, pkR, info, sizeof info, (const uint8_t *)"x", 1, key, 32));
    assert_memory_not_equal(enc, enc2, 32); /* fresh ephemeral keys */
    TU_ASSERT_OK(tkm_hpke_open_secret(&got, skR, enc, info, sizeof info, (const uint8_t *)"x", 1, ct, sizeof ct));
    assert_memory_equal(tkm_secret_ptr(got), key, 32);
    tkm_secret_free(got);
    TU_ASSERT_OK(tkm_hpke_open(pt, sizeof pt, skR, enc2, info, sizeof info, (const uint8_t *)"x", 1, ct2, sizeof ct2));
    assert_memory_equal(pt, key, 32);
    /* empty plaintext: open works, open_secret refuses (no empty secrets) */
    uint8_t tag_only[16];
    TU_ASSERT_OK(tkm_hpke_seal(enc, tag_only, sizeof tag_only, pkR, NULL, 0, NULL, 0, NULL, 0));
    TU_ASSERT_OK(tkm_hpke_open(NULL, 0, skR, enc, NULL, 0, NULL, 0, tag_only, sizeof tag_only));
    TU_ASSERT_RC(tkm_hpke_open_secret(&got, skR, enc, NULL, 0, NULL, 0, tag_only, sizeof tag_only), TKM_ERR_FORMAT);
    /* bounds: info too long, wrong key length, caller bugs */
    static uint8_t big[TKM_HPKE_MAX_INFO_LEN + 1];
    TU_ASSERT_RC(tkm_hpke_seal(enc, ct, sizeof ct, pkR, big, sizeof big, NULL, 0, key, 32), TKM_ERR_TOO_LARGE);
    TU_ASSERT_RC(tkm_hpke_open(pt, sizeof pt, skR, enc, big, sizeof big, NULL, 0, ct, sizeof ct), TKM_ERR_TOO_LARGE);
    tkm_secret *short_key = NULL;
    TU_ASSERT_OK(tkm_secret_new(&short_key, 31));
    TU_ASSERT_RC(tkm_hpke_open(pt, sizeof pt, short_key, enc, NULL, 0, NULL, 0, ct, sizeof ct), TKM_ERR_BAD_KEY);
    TU_ASSERT_RC(tkm_hpke_pubkey(pkR, short_key), TKM_ERR_BAD_KEY);
    tkm_secret_free(short_key);
    TU_CHECK_ILLEGAL(tkm_hpke_seal(enc, ct, 32 + 15, pkR, NULL, 0, NULL, 0, key, 32));
    TU_CHECK_ILLEGAL(tkm_hpke_open(pt, 31, skR, enc, NULL, 0, NULL, 0, ct, sizeof ct));
    TU_CHECK_ILLEGAL(tkm_hpke_seal(enc, ct, sizeof ct, pkR, NULL, 3, NULL, 0, key, 32));
    TU_CHECK_ILLEGAL(tkm_hpke_derive_keypair(&got, pkR, key, 0));
    tkm_misuse_set_handler(NULL);
    tkm_secret_free(skR);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derive_keypair),
        cmocka_unit_test(test_key_schedule_and_exports),
        cmocka_unit_test(test_seal_derand_is_the_rfc_ciphertext),
        cmocka_unit_test(test_open_rfc_ciphertext),
        cmocka_unit_test(test_rfc_a1_kem),
        cmocka_unit_test(test_tampering_refused),
        cmocka_unit_test(test_small_order_keys_refused),
        cmocka_unit_test(test_round_trip_and_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
