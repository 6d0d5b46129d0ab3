/*
 * see tkm_aead.h — TEMPORARY stand-in on the policy branch so that the store
 * can seal while the real implementation is being written on branch
 * crypto-misc (same file name: the merge takes theirs and drops this one).
 */
#include "tkm_aead.h"
#include "tkm_entropy.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

static tkm_rc gcm(int enc, uint8_t *out, const uint8_t key[static 32], const uint8_t nonce[static 12],
                  const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                  uint8_t tag[static 16]) {
    tkm_rc rc = TKM_RC(TKM_ERR_CRYPTO);
    int len = 0, ok;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    TKM_ENSURE(c != NULL, TKM_ERR_NOMEM);
    TKM_ENSURE(in_len <= INT_MAX && aad_len <= INT_MAX, TKM_ERR_TOO_LARGE);
    ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc);
    if (ok && aad_len) ok = EVP_CipherUpdate(c, NULL, &len, aad, (int)aad_len);
    if (ok && in_len) ok = EVP_CipherUpdate(c, out, &len, in, (int)in_len);
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag);
    if (ok) {
        ok = EVP_CipherFinal_ex(c, out + (in_len ? (size_t)len : 0), &len);
        if (!ok && !enc) rc = TKM_RC(TKM_ERR_AUTH_TAG);
    }
    if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
    if (ok) rc = TKM_RC_OK;
    EVP_CIPHER_CTX_free(c);
    ERR_clear_error();
    if (tkm_failed(rc) && in_len) tkm_wipe(out, in_len);
    return rc;
}

tkm_rc tkm_aead_seal(uint8_t *out, size_t out_cap, const uint8_t key[static 32],
                     const uint8_t nonce[static 12], const uint8_t *aad, size_t aad_len,
                     const uint8_t *pt, size_t pt_len) {
    TKM_ARG_CHECK(out_cap >= pt_len + TKM_AEAD_TAG_LEN);
    return gcm(1, out, key, nonce, aad, aad_len, pt, pt_len, out + pt_len);
}

tkm_rc tkm_aead_open(uint8_t *out, size_t out_cap, const uint8_t key[static 32],
                     const uint8_t nonce[static 12], const uint8_t *aad, size_t aad_len,
                     const uint8_t *in, size_t in_len) {
    TKM_ENSURE(in_len >= TKM_AEAD_TAG_LEN, TKM_ERR_TRUNCATED);
    TKM_ARG_CHECK(out_cap >= in_len - TKM_AEAD_TAG_LEN);
    uint8_t tag[16];
    memcpy(tag, in + in_len - 16, 16);
    return gcm(0, out, key, nonce, aad, aad_len, in, in_len - 16, tag);
}

tkm_rc tkm_aead_seal_random(uint8_t *out, size_t out_cap, const uint8_t key[static 32],
                            const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len) {
    TKM_ARG_CHECK(out_cap >= pt_len + TKM_AEAD_RANDOM_OVERHEAD);
    TKM_TRY(tkm_entropy_bytes(out, TKM_AEAD_NONCE_LEN));
    return tkm_aead_seal(out + 12, out_cap - 12, key, out, aad, aad_len, pt, pt_len);
}

tkm_rc tkm_aead_open_random(uint8_t *out, size_t out_cap, const uint8_t key[static 32],
                            const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len) {
    TKM_ENSURE(in_len >= TKM_AEAD_RANDOM_OVERHEAD, TKM_ERR_TRUNCATED);
    return tkm_aead_open(out, out_cap, key, in, aad, aad_len, in + 12, in_len - 12);
}
