/*
 * AES-256-GCM against McGrew & Viega's GCM spec (test cases 13-16) and Wycheproof
 * (valid and modified-tag cases), plus every single-bit corruption, every
 * truncation, wrong AAD/nonce/key, the random-nonce framing and misuse.
 */
#include "testutil.h"

#include "crypto/crypto.h"

#include <string.h>

typedef struct {
    uint8_t key[32], iv[12];
    uint8_t *aad, *pt, *ct, *tag;
    size_t aad_len, pt_len, ct_len, tag_len;
} vec;

static void vec_load(vec *v, json_t *e) {
    size_t n;
    tu_hex_exact(v->key, 32, json_string_value(json_object_get(e, "key")));
    tu_hex_exact(v->iv, 12, json_string_value(json_object_get(e, "iv")));
    v->aad = tu_hex(json_string_value(json_object_get(e, "aad")), &v->aad_len);
    v->pt = tu_hex(json_string_value(json_object_get(e, "pt")), &v->pt_len);
    v->ct = tu_hex(json_string_value(json_object_get(e, "ct")), &v->ct_len);
    v->tag = tu_hex(json_string_value(json_object_get(e, "tag")), &n);
    v->tag_len = n;
    assert_int_equal(v->tag_len, 16);
    assert_int_equal(v->ct_len, v->pt_len);
}

static void vec_free(vec *v) {
    free(v->aad);
    free(v->pt);
    free(v->ct);
    free(v->tag);
}

/* ct ‖ tag of a vector in a fresh buffer. */
static uint8_t *sealed_of(const vec *v, size_t *len) {
    *len = v->ct_len + 16;
    uint8_t *b = malloc(*len);
    if (v->ct_len) memcpy(b, v->ct, v->ct_len);
    memcpy(b + v->ct_len, v->tag, 16);
    return b;
}

static void check_valid(const vec *v, const char *name) {
    size_t slen;
    uint8_t *want = sealed_of(v, &slen);
    uint8_t *out = malloc(slen);
    uint8_t *pt = malloc(v->pt_len + 1);
    TU_ASSERT_OK(tkm_aead_seal(out, slen, v->key, v->iv, v->aad, v->aad_len, v->pt, v->pt_len));
    if (memcmp(out, want, slen) != 0) fail_msg("%s: seal mismatch: %s", name, tu_tohex(out, slen));
    TU_ASSERT_OK(tkm_aead_open(pt, v->pt_len, v->key, v->iv, v->aad, v->aad_len, want, slen));
    if (v->pt_len && memcmp(pt, v->pt, v->pt_len) != 0) fail_msg("%s: open mismatch", name);
    free(want);
    free(out);
    free(pt);
}

static void test_gcm_spec_vectors(void **state) {
    (void)state;
    json_t *doc = tu_load_vector("aead/aes256gcm.json");
    json_t *list = json_object_get(doc, "gcm_spec");
    size_t i;
    json_t *e;
    assert_int_equal(json_array_size(list), 4);
    json_array_foreach(list, i, e) {
        vec v;
        vec_load(&v, e);
        check_valid(&v, json_string_value(json_object_get(e, "name")));
        vec_free(&v);
    }
    json_decref(doc);
}

static void test_wycheproof_valid(void **state) {
    (void)state;
    json_t *doc = tu_load_vector("aead/aes256gcm.json");
    json_t *list = json_object_get(doc, "wycheproof_valid");
    size_t i;
    json_t *e;
    assert_true(json_array_size(list) >= 15);
    json_array_foreach(list, i, e) {
        vec v;
        char name[32];
        vec_load(&v, e);
        snprintf(name, sizeof name, "tcId %d", (int)json_integer_value(json_object_get(e, "tcId")));
        check_valid(&v, name);
        vec_free(&v);
    }
    json_decref(doc);
}

static void test_wycheproof_modified_tags(void **state) {
    (void)state;
    json_t *doc = tu_load_vector("aead/aes256gcm.json");
    json_t *m = json_object_get(doc, "wycheproof_modified_tag");
    uint8_t key[32], iv[12], pt[16], ct[16], in[32], out[16], sealed[32];
    tu_hex_exact(key, 32, json_string_value(json_object_get(m, "key")));
    tu_hex_exact(iv, 12, json_string_value(json_object_get(m, "iv")));
    tu_hex_exact(pt, 16, json_string_value(json_object_get(m, "pt")));
    tu_hex_exact(ct, 16, json_string_value(json_object_get(m, "ct")));
    /* Our ciphertext for the group's message is the vector's. */
    TU_ASSERT_OK(tkm_aead_seal(sealed, sizeof sealed, key, iv, NULL, 0, pt, 16));
    assert_memory_equal(sealed, ct, 16);
    json_t *tags = json_object_get(m, "invalid_tags");
    size_t i;
    json_t *e;
    assert_int_equal(json_array_size(tags), 27);
    json_array_foreach(tags, i, e) {
        memcpy(in, ct, 16);
        tu_hex_exact(in + 16, 16, json_string_value(json_object_get(e, "tag")));
        memset(out, 0xaa, sizeof out);
        tkm_rc rc = tkm_aead_open(out, sizeof out, key, iv, NULL, 0, in, sizeof in);
        if (rc.code != TKM_ERR_AUTH_TAG)
            fail_msg("tcId %d accepted", (int)json_integer_value(json_object_get(e, "tcId")));
        uint8_t zero[16] = {0};
        assert_memory_equal(out, zero, 16); /* nothing released */
    }
    json_decref(doc);
}

/* A fixed message sealed under gcm-spec TC16 inputs; every corruption is refused. */
static void test_every_corruption_refused(void **state) {
    (void)state;
    json_t *doc = tu_load_vector("aead/aes256gcm.json");
    vec v;
    vec_load(&v, json_array_get(json_object_get(doc, "gcm_spec"), 3));
    size_t slen;
    uint8_t *sealed = sealed_of(&v, &slen);
    uint8_t *buf = malloc(slen), *out = malloc(slen);
    /* each bit of ciphertext and tag */
    for (size_t bit = 0; bit < slen * 8; bit++) {
        memcpy(buf, sealed, slen);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        TU_ASSERT_RC(tkm_aead_open(out, slen, v.key, v.iv, v.aad, v.aad_len, buf, slen), TKM_ERR_AUTH_TAG);
    }
    /* every truncation: shorter than a tag is TRUNCATED, longer but cut is AUTH_TAG */
    for (size_t n = 0; n < slen; n++) {
        tkm_rc rc = tkm_aead_open(out, slen, v.key, v.iv, v.aad, v.aad_len, sealed, n);
        assert_int_equal(rc.code, n < 16 ? TKM_ERR_TRUNCATED : TKM_ERR_AUTH_TAG);
    }
    /* an appended byte */
    uint8_t *longer = malloc(slen + 1);
    memcpy(longer, sealed, slen);
    longer[slen] = 0;
    TU_ASSERT_RC(tkm_aead_open(out, slen + 1, v.key, v.iv, v.aad, v.aad_len, longer, slen + 1), TKM_ERR_AUTH_TAG);
    /* wrong AAD: missing, one bit, one byte shorter */
    TU_ASSERT_RC(tkm_aead_open(out, slen, v.key, v.iv, NULL, 0, sealed, slen), TKM_ERR_AUTH_TAG);
    v.aad[0] ^= 1;
    TU_ASSERT_RC(tkm_aead_open(out, slen, v.key, v.iv, v.aad, v.aad_len, sealed, slen), TKM_ERR_AUTH_TAG);
    v.aad[0] ^= 1;
    TU_ASSERT_RC(tkm_aead_open(out, slen, v.key, v.iv, v.aad, v.aad_len - 1, sealed, slen), TKM_ERR_AUTH_TAG);
    /* wrong nonce, wrong key */
    v.iv[11] ^= 0x80;
    TU_ASSERT_RC(tkm_aead_open(out, slen, v.key, v.iv, v.aad, v.aad_len, sealed, slen), TKM_ERR_AUTH_TAG);
    v.iv[11] ^= 0x80;
    v.key[31] ^= 1;
    TU_ASSERT_RC(tkm_aead_open(out, slen, v.key, v.iv, v.aad, v.aad_len, sealed, slen), TKM_ERR_AUTH_TAG);
    v.key[31] ^= 1;
    /* and the untouched input still opens */
    TU_ASSERT_OK(tkm_aead_open(out, slen, v.key, v.iv, v.aad, v.aad_len, sealed, slen));
    assert_memory_equal(out, v.pt, v.pt_len);
    free(longer);
    free(buf);
    free(out);
    free(sealed);
    vec_free(&v);
    json_decref(doc);
}

/* On a failed open the whole output is wiped, even where it was written. */
static void test_failed_open_wipes_output(void **state) {
    (void)state;
    uint8_t key[32] = {1}, nonce[12] = {2}, pt[40], sealed[56], out[40];
    memset(pt, 0x5a, sizeof pt);
    TU_ASSERT_OK(tkm_aead_seal(sealed, sizeof sealed, key, nonce, NULL, 0, pt, sizeof pt));
    sealed[55] ^= 1;
    memset(out, 0xcc, sizeof out);
    TU_ASSERT_RC(tkm_aead_open(out, sizeof out, key, nonce, NULL, 0, sealed, sizeof sealed), TKM_ERR_AUTH_TAG);
    uint8_t zero[40] = {0};
    assert_memory_equal(out, zero, sizeof out);
}

static void test_in_place(void **state) {
    (void)state;
    json_t *doc = tu_load_vector("aead/aes256gcm.json");
    vec v;
    vec_load(&v, json_array_get(json_object_get(doc, "gcm_spec"), 2));
    uint8_t buf[80];
    memcpy(buf, v.pt, v.pt_len);
    TU_ASSERT_OK(tkm_aead_seal(buf, sizeof buf, v.key, v.iv, NULL, 0, buf, v.pt_len));
    assert_memory_equal(buf, v.ct, v.ct_len);
    assert_memory_equal(buf + v.ct_len, v.tag, 16);
    TU_ASSERT_OK(tkm_aead_open(buf, sizeof buf, v.key, v.iv, NULL, 0, buf, v.ct_len + 16));
    assert_memory_equal(buf, v.pt, v.pt_len);
    vec_free(&v);
    json_decref(doc);
}

static void test_random_nonce_framing(void **state) {
    (void)state;
    uint8_t key[32], pt[33], a[33 + TKM_AEAD_RANDOM_OVERHEAD], b[sizeof a], out[33];
    memset(key, 7, sizeof key);
    memset(pt, 0x42, sizeof pt);
    TU_ASSERT_OK(tkm_aead_seal_random(a, sizeof a, key, (const uint8_t *)"hdr", 3, pt, sizeof pt));
    TU_ASSERT_OK(tkm_aead_seal_random(b, sizeof b, key, (const uint8_t *)"hdr", 3, pt, sizeof pt));
    assert_memory_not_equal(a, b, 12); /* fresh nonces */
    /* the framing is nonce ‖ seal(key, nonce, aad, pt) */
    uint8_t again[33 + 16];
    TU_ASSERT_OK(tkm_aead_seal(again, sizeof again, key, a, (const uint8_t *)"hdr", 3, pt, sizeof pt));
    assert_memory_equal(again, a + 12, sizeof again);
    TU_ASSERT_OK(tkm_aead_open_random(out, sizeof out, key, (const uint8_t *)"hdr", 3, a, sizeof a));
    assert_memory_equal(out, pt, sizeof pt);
    TU_ASSERT_RC(tkm_aead_open_random(out, sizeof out, key, (const uint8_t *)"hdx", 3, a, sizeof a),
                 TKM_ERR_AUTH_TAG);
    a[0] ^= 1; /* nonce */
    TU_ASSERT_RC(tkm_aead_open_random(out, sizeof out, key, (const uint8_t *)"hdr", 3, a, sizeof a),
                 TKM_ERR_AUTH_TAG);
    for (size_t n = 0; n < TKM_AEAD_RANDOM_OVERHEAD; n++)
        TU_ASSERT_RC(tkm_aead_open_random(out, sizeof out, key, NULL, 0, b, n), TKM_ERR_TRUNCATED);
    /* empty plaintext round trip */
    uint8_t e[TKM_AEAD_RANDOM_OVERHEAD];
    TU_ASSERT_OK(tkm_aead_seal_random(e, sizeof e, key, NULL, 0, NULL, 0));
    TU_ASSERT_OK(tkm_aead_open_random(out, 0, key, NULL, 0, e, sizeof e));
}

static void test_misuse(void **state) {
    (void)state;
    uint8_t key[32] = {0}, nonce[12] = {0}, pt[8] = {0}, out[64];
    TU_CHECK_ILLEGAL(tkm_aead_seal(out, 8 + 15, key, nonce, NULL, 0, pt, 8));
    TU_CHECK_ILLEGAL(tkm_aead_seal(out, sizeof out, key, nonce, NULL, 1, pt, 8));
    TU_CHECK_ILLEGAL(tkm_aead_seal(out, sizeof out, key, nonce, NULL, 0, NULL, 8));
    TU_ASSERT_OK(tkm_aead_seal(out, sizeof out, key, nonce, NULL, 0, pt, 8));
    TU_CHECK_ILLEGAL(tkm_aead_open(out, 7, key, nonce, NULL, 0, out, 24));
    TU_CHECK_ILLEGAL(tkm_aead_seal_random(out, 8 + 27, key, NULL, 0, pt, 8));
    tkm_misuse_set_handler(NULL);
    TU_ASSERT_RC(tkm_aead_seal(out, sizeof out, key, nonce, NULL, 0, pt, TKM_AEAD_MAX_LEN + 1), TKM_ERR_TOO_LARGE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gcm_spec_vectors),      cmocka_unit_test(test_wycheproof_valid),
        cmocka_unit_test(test_wycheproof_modified_tags), cmocka_unit_test(test_every_corruption_refused),
        cmocka_unit_test(test_failed_open_wipes_output), cmocka_unit_test(test_in_place),
        cmocka_unit_test(test_random_nonce_framing),  cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
