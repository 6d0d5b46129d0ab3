/* see tkm_hash.h — SHA-2, HMAC and HKDF over OpenSSL 3 EVP. */
#include "tkm_hash.h"
#include "crypto_internal.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <string.h>

static tkm_rc digest_v(const EVP_MD *md, uint8_t *out, const tkm_iov *v, size_t count) {
    TKM_ARG_CHECK(v != NULL || count == 0);
    for (size_t i = 0; i < count; i++) TKM_ARG_CHECK(v[i].p != NULL || v[i].n == 0);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "digest context");
    int ok = EVP_DigestInit_ex(ctx, md, NULL);
    for (size_t i = 0; ok && i < count; i++) ok = EVP_DigestUpdate(ctx, v[i].p, v[i].n);
    unsigned int len = 0;
    if (ok) ok = EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
    if (!ok) return TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "digest");
    return TKM_RC_OK;
}

tkm_rc tkm_sha256(uint8_t out[static TKM_SHA256_LEN], const void *data, size_t n) {
    tkm_iov v = {data, n};
    return digest_v(EVP_sha256(), out, &v, 1);
}

tkm_rc tkm_sha384(uint8_t out[static TKM_SHA384_LEN], const void *data, size_t n) {
    tkm_iov v = {data, n};
    return digest_v(EVP_sha384(), out, &v, 1);
}

tkm_rc tkm_sha512(uint8_t out[static TKM_SHA512_LEN], const void *data, size_t n) {
    tkm_iov v = {data, n};
    return digest_v(EVP_sha512(), out, &v, 1);
}

tkm_rc tkm_sha256_v(uint8_t out[static TKM_SHA256_LEN], const tkm_iov *v, size_t count) {
    return digest_v(EVP_sha256(), out, v, count);
}

tkm_rc tkm_sha512_v(uint8_t out[static TKM_SHA512_LEN], const tkm_iov *v, size_t count) {
    return digest_v(EVP_sha512(), out, v, count);
}

static tkm_rc hmac(const EVP_MD *md, uint8_t *out, size_t out_len, const uint8_t *key,
                   size_t key_len, const void *data, size_t n) {
    unsigned int len = 0;
    static const uint8_t empty = 0;
    TKM_ARG_CHECK(key_len <= INT32_MAX);
    TKM_ARG_CHECK(key != NULL || key_len == 0);
    TKM_ARG_CHECK(data != NULL || n == 0);
    int ok = HMAC(md, key_len ? key : &empty, (int)key_len, n ? data : &empty, n, out, &len) != NULL;
    if (!ok || len != out_len) {
        tkm_wipe(out, out_len); /* a MAC under a secret key: nothing partial is left */
        if (!ok) return TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "HMAC");
        TKM_ENSURE(0, TKM_ERR_INTERNAL);
    }
    return TKM_RC_OK;
}

tkm_rc tkm_hmac_sha256(uint8_t out[static TKM_SHA256_LEN], const uint8_t *key, size_t key_len,
                       const void *data, size_t n) {
    return hmac(EVP_sha256(), out, TKM_SHA256_LEN, key, key_len, data, n);
}

tkm_rc tkm_hmac_sha512(uint8_t out[static TKM_SHA512_LEN], const uint8_t *key, size_t key_len,
                       const void *data, size_t n) {
    return hmac(EVP_sha512(), out, TKM_SHA512_LEN, key, key_len, data, n);
}

/* One EVP_KDF "HKDF" call in the given mode. */
static tkm_rc hkdf_run(int mode, uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
                       const uint8_t *key, size_t key_len, const uint8_t *info, size_t info_len) {
    static const uint8_t empty[1] = {0};
    TKM_ARG_CHECK(salt != NULL || salt_len == 0);
    TKM_ARG_CHECK(key != NULL || key_len == 0);
    TKM_ARG_CHECK(info != NULL || info_len == 0);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (!kdf) return TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "fetch HKDF");
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (!ctx) return TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "HKDF context");
    OSSL_PARAM params[6];
    size_t np = 0;
    params[np++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    params[np++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    /* An empty key is legal in HKDF-Extract (RFC 5869 uses IKM of any length);
     * OpenSSL needs a non-NULL pointer even for length 0. */
    params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                     (void *)(key_len ? key : empty), key_len);
    if (mode != EVP_KDF_HKDF_MODE_EXPAND_ONLY)
        params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                         (void *)(salt_len ? salt : empty), salt_len);
    if (mode != EVP_KDF_HKDF_MODE_EXTRACT_ONLY)
        params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                         (void *)(info_len ? info : empty), info_len);
    params[np] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, out, out_len, params);
    EVP_KDF_CTX_free(ctx);
    if (ok != 1) {
        tkm_wipe(out, out_len); /* derived key material: nothing partial is left */
        return TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "HKDF");
    }
    return TKM_RC_OK;
}

tkm_rc tkm_hkdf_sha256_extract(uint8_t prk[static TKM_SHA256_LEN], const uint8_t *salt,
                               size_t salt_len, const uint8_t *ikm, size_t ikm_len) {
    /* RFC 5869: an absent salt is HashLen zero bytes, which HMAC treats the
     * same as an empty key; pass what we were given. */
    return hkdf_run(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, prk, TKM_SHA256_LEN, salt, salt_len, ikm, ikm_len,
                    NULL, 0);
}

tkm_rc tkm_hkdf_sha256_expand(uint8_t *out, size_t out_len, const uint8_t prk[static TKM_SHA256_LEN],
                              const uint8_t *info, size_t info_len) {
    TKM_ARG_CHECK(out_len >= 1 && out_len <= 255 * TKM_SHA256_LEN);
    return hkdf_run(EVP_KDF_HKDF_MODE_EXPAND_ONLY, out, out_len, NULL, 0, prk, TKM_SHA256_LEN, info,
                    info_len);
}

tkm_rc tkm_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
                       const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len) {
    TKM_ARG_CHECK(out_len >= 1 && out_len <= 255 * TKM_SHA256_LEN);
    return hkdf_run(EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND, out, out_len, salt, salt_len, ikm, ikm_len,
                    info, info_len);
}
