/* see tkm_aead.h — AES-256-GCM over OpenSSL 3 EVP. */
#include "tkm_aead.h"
#include "crypto_internal.h"
#include "tkm_entropy.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

/* One-shot GCM with a 12-byte nonce. enc = 1 seals, 0 opens (tag is input then). */
static tkm_rc gcm_run(int enc, uint8_t *out, const uint8_t key[static 32], const uint8_t nonce[static 12],
                      const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                      uint8_t tag[static TKM_AEAD_TAG_LEN]) {
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0;
    if (!c) return TKM_OSSL_FAIL(TKM_ERR_NOMEM, "aes-256-gcm context");
    /* 12 bytes is EVP's default GCM IV length: no SET_IVLEN needed. */
    if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc) != 1) {
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "aes-256-gcm init");
        goto out;
    }
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TKM_AEAD_TAG_LEN, tag) != 1) {
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "aes-256-gcm set tag");
        goto out;
    }
    if (aad_len > 0 && EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1) {
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "aes-256-gcm aad");
        goto out;
    }
    if (in_len > 0 && (EVP_CipherUpdate(c, out, &n, in, (int)in_len) != 1 || (size_t)n != in_len)) {
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "aes-256-gcm update");
        goto out;
    }
    if (EVP_CipherFinal_ex(c, out + in_len, &n) != 1) {
        /* On open this is the tag comparison (CRYPTO_memcmp inside OpenSSL). */
        ERR_clear_error();
        if (!enc) {
            tkm_err_detail_set("AES-256-GCM tag does not authenticate the ciphertext");
            tkm_err_record_where_(__FILE__, __LINE__);
            rc = TKM_RC(TKM_ERR_AUTH_TAG);
        } else {
            rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "aes-256-gcm final");
        }
        goto out;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TKM_AEAD_TAG_LEN, tag) != 1) {
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "aes-256-gcm get tag");
        goto out;
    }
    rc = TKM_RC_OK;
out:
    EVP_CIPHER_CTX_free(c); /* cleanses the key schedule */
    return rc;
}

tkm_rc tkm_aead_seal(uint8_t *out, size_t out_cap, const uint8_t key[static 32], const uint8_t nonce[static 12],
                     const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len) {
    TKM_ARG_CHECK(out != NULL);
    TKM_ARG_CHECK(aad != NULL || aad_len == 0);
    TKM_ARG_CHECK(pt != NULL || pt_len == 0);
    TKM_ENSURE(pt_len <= TKM_AEAD_MAX_LEN && aad_len <= TKM_AEAD_MAX_LEN, TKM_ERR_TOO_LARGE);
    TKM_ARG_CHECK(out_cap >= pt_len + TKM_AEAD_TAG_LEN);
    uint8_t tag[TKM_AEAD_TAG_LEN];
    tkm_rc rc = gcm_run(1, out, key, nonce, aad, aad_len, pt, pt_len, tag);
    if (tkm_failed(rc)) {
        tkm_wipe(out, pt_len + TKM_AEAD_TAG_LEN);
        return rc;
    }
    memcpy(out + pt_len, tag, TKM_AEAD_TAG_LEN);
    return TKM_RC_OK;
}

tkm_rc tkm_aead_open(uint8_t *out, size_t out_cap, const uint8_t key[static 32], const uint8_t nonce[static 12],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len) {
    TKM_ARG_CHECK(out != NULL);
    TKM_ARG_CHECK(aad != NULL || aad_len == 0);
    TKM_ARG_CHECK(in != NULL || in_len == 0);
    if (in_len < TKM_AEAD_TAG_LEN) {
        tkm_err_detail_set("AEAD input of %zu bytes is shorter than the 16-byte tag", in_len);
        TKM_ENSURE(0, TKM_ERR_TRUNCATED);
    }
    size_t ct_len = in_len - TKM_AEAD_TAG_LEN;
    TKM_ENSURE(ct_len <= TKM_AEAD_MAX_LEN && aad_len <= TKM_AEAD_MAX_LEN, TKM_ERR_TOO_LARGE);
    TKM_ARG_CHECK(out_cap >= ct_len);
    uint8_t tag[TKM_AEAD_TAG_LEN];
    memcpy(tag, in + ct_len, TKM_AEAD_TAG_LEN); /* before a possible in-place overwrite */
    tkm_rc rc = gcm_run(0, out, key, nonce, aad, aad_len, in, ct_len, tag);
    if (tkm_failed(rc)) tkm_wipe(out, ct_len); /* OpenSSL decrypts before it checks */
    return rc;
}

tkm_rc tkm_aead_seal_random(uint8_t *out, size_t out_cap, const uint8_t key[static 32], const uint8_t *aad,
                            size_t aad_len, const uint8_t *pt, size_t pt_len) {
    TKM_ARG_CHECK(out != NULL);
    TKM_ARG_CHECK(pt != NULL || pt_len == 0);
    TKM_ENSURE(pt_len <= TKM_AEAD_MAX_LEN, TKM_ERR_TOO_LARGE);
    TKM_ARG_CHECK(out_cap >= pt_len + TKM_AEAD_RANDOM_OVERHEAD);
    TKM_ARG_CHECK(pt == NULL || pt + pt_len <= out || out + out_cap <= pt); /* no overlap */
    tkm_rc rc = tkm_entropy_bytes(out, TKM_AEAD_NONCE_LEN);
    if (tkm_ok(rc))
        rc = tkm_aead_seal(out + TKM_AEAD_NONCE_LEN, out_cap - TKM_AEAD_NONCE_LEN, key, out, aad, aad_len,
                           pt, pt_len);
    if (tkm_failed(rc)) tkm_wipe(out, TKM_AEAD_NONCE_LEN);
    return rc;
}

tkm_rc tkm_aead_open_random(uint8_t *out, size_t out_cap, const uint8_t key[static 32], const uint8_t *aad,
                            size_t aad_len, const uint8_t *in, size_t in_len) {
    TKM_ARG_CHECK(in != NULL || in_len == 0);
    if (in_len < TKM_AEAD_RANDOM_OVERHEAD) {
        tkm_err_detail_set("sealed blob of %zu bytes is shorter than nonce and tag (28 bytes)", in_len);
        TKM_ENSURE(0, TKM_ERR_TRUNCATED);
    }
    return tkm_aead_open(out, out_cap, key, in, aad, aad_len, in + TKM_AEAD_NONCE_LEN,
                         in_len - TKM_AEAD_NONCE_LEN);
}
