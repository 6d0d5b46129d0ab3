/*
 * tkm_kdf.h — password-based key derivation for keystores: scrypt (RFC 7914)
 * and PBKDF2-HMAC-SHA256 (RFC 8018), both from OpenSSL 3 (EVP_KDF).
 *
 * Parameters arrive from untrusted files (EIP-2335 and Web3 Secret Storage v3
 * keystores), so every cost is bounded before any memory is touched:
 *  - Invalid parameters are TKM_ERR_KDF_PARAMS: scrypt N not a power of two
 *    or < 2, r or p zero, N >= 2^(16·r) (RFC 7914 §2 requires
 *    N < 2^(128·r/8)), PBKDF2 iterations zero, dk_len zero.
 *  - Valid but too costly parameters are TKM_ERR_KDF_COST: scrypt N above
 *    TKM_SCRYPT_MAX_N, r above TKM_SCRYPT_MAX_R, p above TKM_SCRYPT_MAX_P,
 *    memory 128·r·(N+2+p) above TKM_SCRYPT_MAX_MEM or N·r·p above
 *    TKM_SCRYPT_MAX_WORK; PBKDF2 iterations above TKM_PBKDF2_MAX_ITER; dk_len
 *    above TKM_KDF_MAX_DKLEN.
 *  - Passwords above TKM_KDF_MAX_PASSWORD and salts above TKM_KDF_MAX_SALT
 *    bytes are TKM_ERR_TOO_LARGE.
 * The detail slot names the offending parameter and its bound (never the
 * password). The bounds admit the EIP-2335 default (scrypt N=2^18, r=8, p=1:
 * 256 MiB; PBKDF2 c=2^18) with headroom.
 *
 * Note (Web3 Secret Storage test vector "test2", scrypt N=2^18 with r=1):
 * it violates the RFC 7914 bound N < 2^(16·r); OpenSSL and @noble/hashes
 * refuse it, geth accepts it. teekm refuses it with TKM_ERR_KDF_PARAMS
 * (docs/kdf.md).
 *
 * Conventions: pw and salt may be NULL only with length 0. The derived key
 * is returned in a new tkm_secret (caller frees with tkm_secret_free); *dk is
 * NULL on failure. Secret?: the password (the caller wipes it) and the
 * derived key. Thread-safety: reentrant.
 */
#ifndef TKM_KDF_H
#define TKM_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#define TKM_SCRYPT_MAX_N ((uint64_t)1 << 20)
#define TKM_SCRYPT_MAX_R 32u
#define TKM_SCRYPT_MAX_P 16u
#define TKM_SCRYPT_MAX_MEM (((uint64_t)256 << 20) + ((uint64_t)1 << 20)) /* 257 MiB */
#define TKM_SCRYPT_MAX_WORK ((uint64_t)1 << 22)                           /* N·r·p */
#define TKM_PBKDF2_MAX_ITER 4194304u                                      /* 2^22 */
#define TKM_KDF_MAX_DKLEN 64u
#define TKM_KDF_MAX_PASSWORD 4096u
#define TKM_KDF_MAX_SALT 1024u

typedef struct {
    uint64_t n; /* CPU/memory cost N, a power of two */
    uint32_t r; /* block size */
    uint32_t p; /* parallelism */
} tkm_scrypt_params;

/* Returns: OK when prm and dk_len pass every check above (nothing is allocated). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_scrypt_check(const tkm_scrypt_params *prm, size_t dk_len) TKM_NONNULL(1);

/* Out: *dk = scrypt(pw, salt, N, r, p, dk_len). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_scrypt(tkm_secret **dk, size_t dk_len, const uint8_t *pw, size_t pw_len,
                                          const uint8_t *salt, size_t salt_len, const tkm_scrypt_params *prm)
    TKM_NONNULL(1, 7);

/* Returns: OK when iterations and dk_len pass the checks above. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_pbkdf2_check(uint64_t iterations, size_t dk_len);

/* Out: *dk = PBKDF2-HMAC-SHA256(pw, salt, iterations, dk_len). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_pbkdf2_sha256(tkm_secret **dk, size_t dk_len, const uint8_t *pw,
                                                 size_t pw_len, const uint8_t *salt, size_t salt_len,
                                                 uint64_t iterations) TKM_NONNULL(1);

#endif
