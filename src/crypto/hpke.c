/*
 * see tkm_hpke.h — RFC 9180 mode_base for DHKEM(X25519, HKDF-SHA256) /
 * HKDF-SHA256 / AES-256-GCM, over OpenSSL 3 (EVP_PKEY X25519, EVP_MAC HMAC).
 *
 * LabeledExtract and LabeledExpand are computed as HMAC over scattered
 * pieces, so that a secret input (a DH result, a shared secret) is never
 * concatenated into a temporary buffer; every secret intermediate lives on
 * the stack of one function and is wiped before it returns.
 */
#include "tkm_hpke.h"
#include "crypto_internal.h"
#include "tkm_aead.h"
#include "tkm_entropy.h"
#include "tkm_hash.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

/* suite_id of the KEM (§4.1) and of the whole suite (§5.1). */
static const uint8_t KEM_SUITE[5] = {'K', 'E', 'M', 0x00, 0x20};
static const uint8_t HPKE_SUITE[10] = {'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x02};
static const uint8_t V1[7] = {'H', 'P', 'K', 'E', '-', 'v', '1'};
static const uint8_t EMPTY[1] = {0};

typedef struct {
    const uint8_t *p;
    size_t n;
} piece;

/* ---- HMAC-SHA256 over pieces ---- */

static EVP_MAC *hmac_alg;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static void hmac_fetch(void) { hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL); }

static tkm_rc hmac_pieces(uint8_t out[static 32], const uint8_t *key, size_t key_len, const piece *v,
                          size_t count) {
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    size_t got = 0;
    pthread_once(&hmac_once, hmac_fetch);
    if (!hmac_alg) return TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "fetch HMAC");
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(hmac_alg);
    if (!c) return TKM_OSSL_FAIL(TKM_ERR_NOMEM, "HMAC context");
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                            OSSL_PARAM_construct_end()};
    /* An empty key (HPKE's default salt "") is legal HMAC; OpenSSL wants a non-NULL pointer. */
    if (EVP_MAC_init(c, key_len ? key : EMPTY, key_len, params) != 1) {
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "HMAC init");
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        if (v[i].n && EVP_MAC_update(c, v[i].p, v[i].n) != 1) {
            rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "HMAC update");
            goto out;
        }
    }
    if (EVP_MAC_final(c, out, &got, 32) != 1 || got != 32) {
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "HMAC final");
        goto out;
    }
    rc = TKM_RC_OK;
out:
    EVP_MAC_CTX_free(c); /* cleanses the keyed state */
    return rc;
}

/* LabeledExtract(salt, label, ikm) = HKDF-Extract(salt, "HPKE-v1" ‖ suite_id ‖ label ‖ ikm). */
static tkm_rc labeled_extract(uint8_t prk[static 32], const uint8_t *suite, size_t suite_len, const uint8_t *salt,
                              size_t salt_len, const char *label, const uint8_t *ikm, size_t ikm_len) {
    piece v[4] = {{V1, sizeof V1}, {suite, suite_len}, {(const uint8_t *)label, strlen(label)}, {ikm, ikm_len}};
    return hmac_pieces(prk, salt, salt_len, v, 4);
}

/*
 * LabeledExpand(prk, label, info, L) = HKDF-Expand(prk, I2OSP(L, 2) ‖ "HPKE-v1" ‖
 * suite_id ‖ label ‖ info, L), with info given as up to 3 pieces.
 * HKDF-Expand: T(i) = HMAC(prk, T(i-1) ‖ labeled_info ‖ i), out = first L bytes.
 */
static tkm_rc labeled_expand(uint8_t *out, size_t L, const uint8_t *suite, size_t suite_len,
                             const uint8_t prk[static 32], const char *label, const piece *info, size_t info_count) {
    TKM_ARG_CHECK(L >= 1 && L <= 255 * 32 && info_count <= 3);
    uint8_t t[32];
    uint8_t len2[2] = {(uint8_t)(L >> 8), (uint8_t)L};
    uint8_t ctr = 0;
    piece v[8];
    size_t done = 0;
    tkm_rc rc = TKM_RC_OK;
    while (done < L) {
        size_t k = 0;
        ctr++;
        if (ctr > 1) v[k++] = (piece){t, 32};
        v[k++] = (piece){len2, 2};
        v[k++] = (piece){V1, sizeof V1};
        v[k++] = (piece){suite, suite_len};
        v[k++] = (piece){(const uint8_t *)label, strlen(label)};
        for (size_t i = 0; i < info_count; i++) v[k++] = info[i];
        v[k++] = (piece){&ctr, 1};
        rc = hmac_pieces(t, prk, 32, v, k);
        if (tkm_failed(rc)) break;
        size_t take = L - done < 32 ? L - done : 32;
        memcpy(out + done, t, take);
        done += take;
    }
    tkm_wipe(t, sizeof t);
    if (tkm_failed(rc)) tkm_wipe(out, L);
    return rc;
}

/* ---- X25519 ---- */

/*
 * Load a raw private key (OpenSSL keeps it in its secure heap and computes the
 * public key once). Out: *k (caller EVP_PKEY_free's), pk when not NULL.
 */
static tkm_rc x25519_load(EVP_PKEY **k, uint8_t *pk, const uint8_t sk[static 32]) {
    size_t n = 32;
    *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sk, 32);
    if (!*k) return TKM_OSSL_FAIL(TKM_ERR_BAD_KEY, "X25519 private key");
    if (pk && (EVP_PKEY_get_raw_public_key(*k, pk, &n) != 1 || n != 32)) {
        EVP_PKEY_free(*k);
        *k = NULL;
        return TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "X25519 public key");
    }
    return TKM_RC_OK;
}

static tkm_rc x25519_pub(uint8_t pk[static 32], const uint8_t sk[static 32]) {
    EVP_PKEY *k = NULL;
    TKM_TRY(x25519_load(&k, pk, sk));
    EVP_PKEY_free(k);
    return TKM_RC_OK;
}

/*
 * dh = X25519(ks, pk). An all-zero result means pk has small order: refused
 * (RFC 9180 §7.1.4). OpenSSL refuses it inside EVP_PKEY_derive already; the
 * explicit check below keeps the property independent of the provider.
 */
static tkm_rc x25519_dh(uint8_t dh[static 32], EVP_PKEY *ks, const uint8_t pk[static 32]) {
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    EVP_PKEY *kp = NULL;
    EVP_PKEY_CTX *c = NULL;
    size_t n = 32;
    kp = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pk, 32);
    if (!kp) {
        rc = TKM_OSSL_FAIL(TKM_ERR_BAD_KEY, "X25519 public key");
        goto out;
    }
    c = EVP_PKEY_CTX_new(ks, NULL);
    if (!c || EVP_PKEY_derive_init(c) != 1 || EVP_PKEY_derive_set_peer(c, kp) != 1) {
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "X25519 derive setup");
        goto out;
    }
    int ok = EVP_PKEY_derive(c, dh, &n) == 1 && n == 32;
    ERR_clear_error();
    /* Constant-time zero test. Declassified: whether the result is zero (then we stop). */
    unsigned acc = 0;
    for (size_t i = 0; i < 32; i++) acc |= dh[i];
    unsigned zero = ((acc - 1u) >> 8) & 1u;
    tkm_declassify(&zero, sizeof zero);
    if (!ok || zero) {
        tkm_err_detail_set("X25519 result is zero: the public key has small order");
        tkm_err_record_where_(__FILE__, __LINE__);
        rc = TKM_RC(TKM_ERR_BAD_KEY);
        goto out;
    }
    rc = TKM_RC_OK;
out:
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(kp);
    if (tkm_failed(rc)) tkm_wipe(dh, 32);
    return rc;
}

/* ---- DHKEM (§4.1) ---- */

/* shared_secret = ExtractAndExpand(dh, enc ‖ pkR) */
static tkm_rc extract_and_expand(uint8_t ss[static 32], const uint8_t dh[static 32], const uint8_t enc[static 32],
                                 const uint8_t pkR[static 32]) {
    uint8_t prk[32];
    tkm_rc rc = labeled_extract(prk, KEM_SUITE, sizeof KEM_SUITE, NULL, 0, "eae_prk", dh, 32);
    if (tkm_ok(rc)) {
        piece kem_context[2] = {{enc, 32}, {pkR, 32}};
        rc = labeled_expand(ss, 32, KEM_SUITE, sizeof KEM_SUITE, prk, "shared_secret", kem_context, 2);
    }
    tkm_wipe(prk, sizeof prk);
    return rc;
}

/* DeriveKeyPair(ikm) (§7.1.3, X25519): sk = LabeledExpand(LabeledExtract("", "dkp_prk", ikm), "sk", "", 32). */
static tkm_rc derive_sk(uint8_t sk[static 32], const uint8_t *ikm, size_t ikm_len) {
    uint8_t prk[32];
    tkm_rc rc = labeled_extract(prk, KEM_SUITE, sizeof KEM_SUITE, NULL, 0, "dkp_prk", ikm, ikm_len);
    if (tkm_ok(rc)) rc = labeled_expand(sk, 32, KEM_SUITE, sizeof KEM_SUITE, prk, "sk", NULL, 0);
    tkm_wipe(prk, sizeof prk);
    return rc;
}

/* Encap with the ephemeral secret skE. Out: ss, enc. */
static tkm_rc encap(uint8_t ss[static 32], uint8_t enc[static 32], const uint8_t skE[static 32],
                    const uint8_t pkR[static 32]) {
    uint8_t dh[32];
    EVP_PKEY *k = NULL;
    TKM_TRY(x25519_load(&k, enc, skE));
    tkm_rc rc = x25519_dh(dh, k, pkR);
    EVP_PKEY_free(k);
    if (tkm_ok(rc)) rc = extract_and_expand(ss, dh, enc, pkR);
    tkm_wipe(dh, sizeof dh);
    return rc;
}

static tkm_rc decap(uint8_t ss[static 32], const uint8_t enc[static 32], const tkm_secret *skR) {
    uint8_t dh[32], pkR[32];
    EVP_PKEY *k = NULL;
    TKM_ENSURE(tkm_secret_len(skR) == TKM_X25519_LEN, TKM_ERR_BAD_KEY);
    TKM_TRY(x25519_load(&k, pkR, tkm_secret_ptr(skR)));
    tkm_rc rc = x25519_dh(dh, k, enc);
    EVP_PKEY_free(k);
    if (tkm_ok(rc)) rc = extract_and_expand(ss, dh, enc, pkR);
    tkm_wipe(dh, sizeof dh);
    return rc;
}

/* ---- key schedule (§5.1), mode_base: psk = psk_id = "" ---- */

static tkm_rc key_schedule(tkm_hpke_schedule *ks, const uint8_t *info, size_t info_len) {
    uint8_t psk_id_hash[32], info_hash[32], secret[32];
    static const uint8_t mode_base = 0x00;
    tkm_rc rc = labeled_extract(psk_id_hash, HPKE_SUITE, sizeof HPKE_SUITE, NULL, 0, "psk_id_hash", NULL, 0);
    if (tkm_ok(rc))
        rc = labeled_extract(info_hash, HPKE_SUITE, sizeof HPKE_SUITE, NULL, 0, "info_hash", info, info_len);
    if (tkm_ok(rc))
        rc = labeled_extract(secret, HPKE_SUITE, sizeof HPKE_SUITE, ks->shared_secret, 32, "secret", NULL, 0);
    piece ctx[3] = {{&mode_base, 1}, {psk_id_hash, 32}, {info_hash, 32}};
    if (tkm_ok(rc)) rc = labeled_expand(ks->key, 32, HPKE_SUITE, sizeof HPKE_SUITE, secret, "key", ctx, 3);
    if (tkm_ok(rc))
        rc = labeled_expand(ks->base_nonce, 12, HPKE_SUITE, sizeof HPKE_SUITE, secret, "base_nonce", ctx, 3);
    if (tkm_ok(rc))
        rc = labeled_expand(ks->exporter_secret, 32, HPKE_SUITE, sizeof HPKE_SUITE, secret, "exp", ctx, 3);
    tkm_wipe(secret, sizeof secret);
    return rc;
}

static tkm_rc check_common(const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len) {
    TKM_ARG_CHECK(info != NULL || info_len == 0);
    TKM_ARG_CHECK(aad != NULL || aad_len == 0);
    if (info_len > TKM_HPKE_MAX_INFO_LEN) {
        tkm_err_detail_set("HPKE info of %zu bytes exceeds %d", info_len, TKM_HPKE_MAX_INFO_LEN);
        TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    }
    return TKM_RC_OK;
}

/* Seal with a given ephemeral secret (random in tkm_hpke_seal, derived in seal_derand). */
static tkm_rc seal_with(uint8_t enc[static 32], uint8_t *ct, size_t ct_cap, const uint8_t pkR[static 32],
                        const uint8_t skE[static 32], const uint8_t *info, size_t info_len, const uint8_t *aad,
                        size_t aad_len, const uint8_t *pt, size_t pt_len) {
    tkm_hpke_schedule ks;
    tkm_rc rc = encap(ks.shared_secret, enc, skE, pkR);
    if (tkm_ok(rc)) rc = key_schedule(&ks, info, info_len);
    /* sequence number 0: nonce = base_nonce xor 0 */
    if (tkm_ok(rc)) rc = tkm_aead_seal(ct, ct_cap, ks.key, ks.base_nonce, aad, aad_len, pt, pt_len);
    tkm_wipe(&ks, sizeof ks);
    if (tkm_failed(rc)) memset(enc, 0, 32);
    return rc;
}

static tkm_rc check_seal_args(uint8_t *ct, size_t ct_cap, const uint8_t *info, size_t info_len,
                              const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len) {
    TKM_ARG_CHECK(ct != NULL);
    TKM_ARG_CHECK(pt != NULL || pt_len == 0);
    TKM_TRY(check_common(info, info_len, aad, aad_len));
    TKM_ENSURE(pt_len <= TKM_AEAD_MAX_LEN, TKM_ERR_TOO_LARGE);
    TKM_ARG_CHECK(ct_cap >= pt_len + TKM_HPKE_TAG_LEN);
    return TKM_RC_OK;
}

tkm_rc tkm_hpke_seal(uint8_t enc[static TKM_HPKE_ENC_LEN], uint8_t *ct, size_t ct_cap,
                     const uint8_t pkR[static TKM_X25519_LEN], const uint8_t *info, size_t info_len,
                     const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len) {
    memset(enc, 0, TKM_HPKE_ENC_LEN);
    TKM_TRY(check_seal_args(ct, ct_cap, info, info_len, aad, aad_len, pt, pt_len));
    uint8_t skE[32];
    /* GenerateKeyPair: any 32 random bytes are an X25519 private key (clamped on use). */
    tkm_rc rc = tkm_entropy_bytes(skE, sizeof skE);
    if (tkm_ok(rc)) rc = seal_with(enc, ct, ct_cap, pkR, skE, info, info_len, aad, aad_len, pt, pt_len);
    tkm_wipe(skE, sizeof skE);
    return rc;
}

tkm_rc tkm_hpke_seal_derand(uint8_t enc[static TKM_HPKE_ENC_LEN], uint8_t *ct, size_t ct_cap,
                            const uint8_t pkR[static TKM_X25519_LEN], const uint8_t *ikmE, size_t ikmE_len,
                            const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
                            const uint8_t *pt, size_t pt_len) {
    memset(enc, 0, TKM_HPKE_ENC_LEN);
    TKM_ARG_CHECK(ikmE != NULL && ikmE_len >= 1 && ikmE_len <= TKM_HPKE_MAX_IKM_LEN);
    TKM_TRY(check_seal_args(ct, ct_cap, info, info_len, aad, aad_len, pt, pt_len));
    uint8_t skE[32];
    tkm_rc rc = derive_sk(skE, ikmE, ikmE_len);
    if (tkm_ok(rc)) rc = seal_with(enc, ct, ct_cap, pkR, skE, info, info_len, aad, aad_len, pt, pt_len);
    tkm_wipe(skE, sizeof skE);
    return rc;
}

static tkm_rc check_open_args(const tkm_secret *skR, const uint8_t *info, size_t info_len, const uint8_t *aad,
                              size_t aad_len, const uint8_t *ct, size_t ct_len) {
    TKM_ARG_CHECK(skR != NULL);
    TKM_ARG_CHECK(ct != NULL || ct_len == 0);
    TKM_TRY(check_common(info, info_len, aad, aad_len));
    if (ct_len < TKM_HPKE_TAG_LEN) {
        tkm_err_detail_set("HPKE ciphertext of %zu bytes is shorter than the 16-byte tag", ct_len);
        TKM_ENSURE(0, TKM_ERR_TRUNCATED);
    }
    TKM_ENSURE(ct_len - TKM_HPKE_TAG_LEN <= TKM_AEAD_MAX_LEN, TKM_ERR_TOO_LARGE);
    TKM_ENSURE(tkm_secret_len(skR) == TKM_X25519_LEN, TKM_ERR_BAD_KEY);
    return TKM_RC_OK;
}

/* Decap, schedule, AEAD open into out (out_cap >= ct_len - 16, checked by the callers). */
static tkm_rc open_into(uint8_t *out, size_t out_cap, const tkm_secret *skR, const uint8_t enc[static 32],
                        const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
                        const uint8_t *ct, size_t ct_len) {
    tkm_hpke_schedule ks;
    tkm_rc rc = decap(ks.shared_secret, enc, skR);
    if (tkm_ok(rc)) rc = key_schedule(&ks, info, info_len);
    if (tkm_ok(rc)) rc = tkm_aead_open(out, out_cap, ks.key, ks.base_nonce, aad, aad_len, ct, ct_len);
    tkm_wipe(&ks, sizeof ks);
    return rc;
}

tkm_rc tkm_hpke_open(uint8_t *pt, size_t pt_cap, const tkm_secret *skR, const uint8_t enc[static TKM_HPKE_ENC_LEN],
                     const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                     size_t ct_len) {
    TKM_ARG_CHECK(pt != NULL || pt_cap == 0);
    TKM_TRY(check_open_args(skR, info, info_len, aad, aad_len, ct, ct_len));
    TKM_ARG_CHECK(pt_cap >= ct_len - TKM_HPKE_TAG_LEN);
    uint8_t dummy[1];
    tkm_rc rc = open_into(pt ? pt : dummy, pt_cap, skR, enc, info, info_len, aad, aad_len, ct, ct_len);
    if (tkm_failed(rc) && pt) tkm_wipe(pt, ct_len - TKM_HPKE_TAG_LEN);
    return rc;
}

tkm_rc tkm_hpke_open_secret(tkm_secret **pt, const tkm_secret *skR, const uint8_t enc[static TKM_HPKE_ENC_LEN],
                            const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
                            const uint8_t *ct, size_t ct_len) {
    *pt = NULL;
    TKM_TRY(check_open_args(skR, info, info_len, aad, aad_len, ct, ct_len));
    if (ct_len == TKM_HPKE_TAG_LEN) {
        tkm_err_detail_set("HPKE ciphertext carries an empty secret");
        TKM_ENSURE(0, TKM_ERR_FORMAT);
    }
    tkm_secret *s = NULL;
    TKM_TRY(tkm_secret_new(&s, ct_len - TKM_HPKE_TAG_LEN));
    tkm_rc rc = open_into(tkm_secret_mut(s), tkm_secret_len(s), skR, enc, info, info_len, aad, aad_len, ct, ct_len);
    if (tkm_failed(rc)) {
        tkm_secret_free(s); /* wipes */
        return rc;
    }
    *pt = s;
    return TKM_RC_OK;
}

tkm_rc tkm_hpke_keygen(tkm_secret **sk, uint8_t pk[static TKM_X25519_LEN]) {
    *sk = NULL;
    memset(pk, 0, TKM_X25519_LEN);
    tkm_secret *s = NULL;
    TKM_TRY(tkm_secret_new(&s, TKM_X25519_LEN));
    tkm_rc rc = tkm_entropy_bytes(tkm_secret_mut(s), TKM_X25519_LEN);
    if (tkm_ok(rc)) rc = x25519_pub(pk, tkm_secret_ptr(s));
    if (tkm_failed(rc)) {
        tkm_secret_free(s);
        memset(pk, 0, TKM_X25519_LEN);
        return rc;
    }
    *sk = s;
    return TKM_RC_OK;
}

tkm_rc tkm_hpke_pubkey(uint8_t pk[static TKM_X25519_LEN], const tkm_secret *sk) {
    memset(pk, 0, TKM_X25519_LEN);
    TKM_ENSURE(tkm_secret_len(sk) == TKM_X25519_LEN, TKM_ERR_BAD_KEY);
    tkm_rc rc = x25519_pub(pk, tkm_secret_ptr(sk));
    if (tkm_failed(rc)) memset(pk, 0, TKM_X25519_LEN);
    return rc;
}

tkm_rc tkm_hpke_derive_keypair(tkm_secret **sk, uint8_t pk[static TKM_X25519_LEN], const uint8_t *ikm,
                               size_t ikm_len) {
    *sk = NULL;
    memset(pk, 0, TKM_X25519_LEN);
    TKM_ARG_CHECK(ikm != NULL && ikm_len >= 1 && ikm_len <= TKM_HPKE_MAX_IKM_LEN);
    tkm_secret *s = NULL;
    TKM_TRY(tkm_secret_new(&s, TKM_X25519_LEN));
    tkm_rc rc = derive_sk(tkm_secret_mut(s), ikm, ikm_len);
    if (tkm_ok(rc)) rc = x25519_pub(pk, tkm_secret_ptr(s));
    if (tkm_failed(rc)) {
        tkm_secret_free(s);
        memset(pk, 0, TKM_X25519_LEN);
        return rc;
    }
    *sk = s;
    return TKM_RC_OK;
}

tkm_rc tkm_hpke_schedule_for_testing(tkm_hpke_schedule *out, const tkm_secret *skR,
                                     const uint8_t enc[static TKM_HPKE_ENC_LEN], const uint8_t *info,
                                     size_t info_len) {
    memset(out, 0, sizeof *out);
    TKM_TRY(check_common(info, info_len, NULL, 0));
    tkm_rc rc = decap(out->shared_secret, enc, skR);
    if (tkm_ok(rc)) rc = key_schedule(out, info, info_len);
    if (tkm_failed(rc)) tkm_wipe(out, sizeof *out);
    return rc;
}

tkm_rc tkm_hpke_export_for_testing(uint8_t *out, size_t L, const tkm_hpke_schedule *s,
                                   const uint8_t *exporter_context, size_t ctx_len) {
    TKM_ARG_CHECK(out != NULL && L >= 1 && L <= 255 * 32);
    TKM_ARG_CHECK(exporter_context != NULL || ctx_len == 0);
    TKM_ENSURE(ctx_len <= TKM_HPKE_MAX_INFO_LEN, TKM_ERR_TOO_LARGE);
    piece ctx[1] = {{exporter_context, ctx_len}};
    return labeled_expand(out, L, HPKE_SUITE, sizeof HPKE_SUITE, s->exporter_secret, "sec", ctx, 1);
}
