/* see tkm_kdf.h — scrypt and PBKDF2-HMAC-SHA256 over OpenSSL 3 EVP_KDF, with bounds first. */
#include "tkm_kdf.h"
#include "crypto_internal.h"

#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

static const uint8_t EMPTY[1] = {0};

static tkm_rc bad(tkm_err code, const char *fmt_param, uint64_t value, uint64_t bound) {
    tkm_err_detail_set("%s = %" PRIu64 " (bound %" PRIu64 ")", fmt_param, value, bound);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(code);
}

static tkm_rc check_dklen(size_t dk_len) {
    if (dk_len == 0) return bad(TKM_ERR_KDF_PARAMS, "dklen", 0, 1);
    if (dk_len > TKM_KDF_MAX_DKLEN) return bad(TKM_ERR_KDF_COST, "dklen", dk_len, TKM_KDF_MAX_DKLEN);
    return TKM_RC_OK;
}

static tkm_rc check_inputs(const uint8_t *pw, size_t pw_len, const uint8_t *salt, size_t salt_len) {
    TKM_ARG_CHECK(pw != NULL || pw_len == 0);
    TKM_ARG_CHECK(salt != NULL || salt_len == 0);
    if (pw_len > TKM_KDF_MAX_PASSWORD) {
        tkm_err_detail_set("password of %zu bytes exceeds %u", pw_len, TKM_KDF_MAX_PASSWORD);
        TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    }
    if (salt_len > TKM_KDF_MAX_SALT) {
        tkm_err_detail_set("salt of %zu bytes exceeds %u", salt_len, TKM_KDF_MAX_SALT);
        TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    }
    return TKM_RC_OK;
}

tkm_rc tkm_scrypt_check(const tkm_scrypt_params *prm, size_t dk_len) {
    uint64_t n = prm->n, r = prm->r, p = prm->p;
    if (n < 2 || (n & (n - 1)) != 0) {
        tkm_err_detail_set("scrypt n = %" PRIu64 " is not a power of two >= 2", n);
        TKM_ENSURE(0, TKM_ERR_KDF_PARAMS);
    }
    if (r == 0) return bad(TKM_ERR_KDF_PARAMS, "scrypt r", r, 1);
    if (p == 0) return bad(TKM_ERR_KDF_PARAMS, "scrypt p", p, 1);
    if (n > TKM_SCRYPT_MAX_N) return bad(TKM_ERR_KDF_COST, "scrypt n", n, TKM_SCRYPT_MAX_N);
    if (r > TKM_SCRYPT_MAX_R) return bad(TKM_ERR_KDF_COST, "scrypt r", r, TKM_SCRYPT_MAX_R);
    if (p > TKM_SCRYPT_MAX_P) return bad(TKM_ERR_KDF_COST, "scrypt p", p, TKM_SCRYPT_MAX_P);
    /* RFC 7914 §2: N < 2^(128·r/8) = 2^(16·r). Only binds for r < 4 given n <= 2^20. */
    if (16 * r < 64 && n >= ((uint64_t)1 << (16 * r))) {
        tkm_err_detail_set("scrypt n = %" PRIu64 " with r = %" PRIu64 " violates RFC 7914 (n < 2^(16*r))", n, r);
        TKM_ENSURE(0, TKM_ERR_KDF_PARAMS);
    }
    /* n <= 2^20, r <= 32, p <= 16: no overflow below. */
    uint64_t mem = 128 * r * (n + 2 + p);
    if (mem > TKM_SCRYPT_MAX_MEM) return bad(TKM_ERR_KDF_COST, "scrypt memory bytes", mem, TKM_SCRYPT_MAX_MEM);
    uint64_t work = n * r * p;
    if (work > TKM_SCRYPT_MAX_WORK) return bad(TKM_ERR_KDF_COST, "scrypt n*r*p", work, TKM_SCRYPT_MAX_WORK);
    return check_dklen(dk_len);
}

tkm_rc tkm_pbkdf2_check(uint64_t iterations, size_t dk_len) {
    if (iterations == 0) return bad(TKM_ERR_KDF_PARAMS, "pbkdf2 c", 0, 1);
    if (iterations > TKM_PBKDF2_MAX_ITER) return bad(TKM_ERR_KDF_COST, "pbkdf2 c", iterations, TKM_PBKDF2_MAX_ITER);
    return check_dklen(dk_len);
}

/* Run one EVP_KDF into a fresh secret. params are terminated by the caller. */
static tkm_rc kdf_run(tkm_secret **dk, size_t dk_len, const char *alg, const OSSL_PARAM *params) {
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    tkm_secret *s = NULL;
    EVP_KDF_CTX *c = NULL;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, alg, NULL);
    if (!kdf) return TKM_OSSL_FAIL(TKM_ERR_CRYPTO, alg);
    c = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (!c) return TKM_OSSL_FAIL(TKM_ERR_NOMEM, alg);
    TKM_CHECK_GOTO(rc, tkm_secret_new(&s, dk_len));
    if (EVP_KDF_derive(c, tkm_secret_mut(s), dk_len, params) != 1) {
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, alg);
        goto out;
    }
    *dk = s;
    s = NULL;
    rc = TKM_RC_OK;
out:
    tkm_secret_free(s);
    EVP_KDF_CTX_free(c); /* cleanses the password copy OpenSSL holds */
    return rc;
}

tkm_rc tkm_scrypt(tkm_secret **dk, size_t dk_len, const uint8_t *pw, size_t pw_len, const uint8_t *salt,
                  size_t salt_len, const tkm_scrypt_params *prm) {
    *dk = NULL;
    TKM_TRY(check_inputs(pw, pw_len, salt, salt_len));
    TKM_TRY(tkm_scrypt_check(prm, dk_len));
    uint64_t n = prm->n, maxmem = TKM_SCRYPT_MAX_MEM;
    uint32_t r = prm->r, p = prm->p;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)(pw_len ? pw : EMPTY), pw_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(salt_len ? salt : EMPTY), salt_len),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    return kdf_run(dk, dk_len, "SCRYPT", params);
}

tkm_rc tkm_pbkdf2_sha256(tkm_secret **dk, size_t dk_len, const uint8_t *pw, size_t pw_len, const uint8_t *salt,
                         size_t salt_len, uint64_t iterations) {
    *dk = NULL;
    TKM_TRY(check_inputs(pw, pw_len, salt, salt_len));
    TKM_TRY(tkm_pbkdf2_check(iterations, dk_len));
    uint64_t iter = iterations;
    /* pkcs5 = 1: plain PKCS#5 semantics. Without it the SP 800-132 minimums
     * (salt >= 16 bytes, c >= 1000) would refuse RFC 7914's c = 1 vector;
     * our own bounds above are what protects us. */
    int pkcs5 = 1;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)(pw_len ? pw : EMPTY), pw_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(salt_len ? salt : EMPTY), salt_len),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_ITER, &iter),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &pkcs5),
        OSSL_PARAM_construct_end(),
    };
    return kdf_run(dk, dk_len, "PBKDF2", params);
}
