/*
 * tkm_hash.h — hashes, MACs and HKDF.
 *
 * Keccak-256 is Ethereum's (original Keccak padding 0x01, rate 1088), not
 * FIPS-202 SHA3-256. It is implemented here (no OpenSSL dependency) and is
 * not secret-dependent-timing-sensitive beyond its input length.
 * SHA-2, HMAC and HKDF use OpenSSL's EVP interface.
 *
 * Secret?: HMAC keys and HKDF inputs/outputs may be secret; these functions
 * never copy them anywhere but OpenSSL's contexts, which are freed (and
 * cleansed by OpenSSL) before return. Callers wipe their own outputs; a
 * failed HMAC or HKDF wipes its output itself.
 * NULL: a data, key, salt or info pointer may be NULL only with length 0
 * (misuse otherwise); outputs are never NULL. Ownership: nothing is
 * allocated. Thread-safety: all functions are reentrant.
 */
#ifndef TKM_HASH_H
#define TKM_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#define TKM_KECCAK256_LEN 32
#define TKM_SHA256_LEN 32
#define TKM_SHA384_LEN 48
#define TKM_SHA512_LEN 64

typedef struct {
    uint64_t st[25];
    size_t pos; /* bytes absorbed into the current block */
} tkm_keccak_ctx;

TKM_API void tkm_keccak256_init(tkm_keccak_ctx *c);
TKM_API void tkm_keccak256_update(tkm_keccak_ctx *c, const void *data, size_t n);
/* Writes the digest and wipes the context. */
TKM_API void tkm_keccak256_final(tkm_keccak_ctx *c, uint8_t out[static TKM_KECCAK256_LEN]);
TKM_API void tkm_keccak256(uint8_t out[static TKM_KECCAK256_LEN], const void *data, size_t n);

/* One-shot SHA-2. Returns: OK or TKM_ERR_CRYPTO (OpenSSL failure). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_sha256(uint8_t out[static TKM_SHA256_LEN], const void *data,
                                          size_t n);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_sha384(uint8_t out[static TKM_SHA384_LEN], const void *data,
                                          size_t n);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_sha512(uint8_t out[static TKM_SHA512_LEN], const void *data,
                                          size_t n);

/* Scatter input for hashing several pieces without concatenating them. */
typedef struct {
    const void *p;
    size_t n;
} tkm_iov;
TKM_API TKM_WARN_UNUSED tkm_rc tkm_sha256_v(uint8_t out[static TKM_SHA256_LEN], const tkm_iov *v,
                                            size_t count);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_sha512_v(uint8_t out[static TKM_SHA512_LEN], const tkm_iov *v,
                                            size_t count);

/* HMAC-SHA256 / HMAC-SHA512. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hmac_sha256(uint8_t out[static TKM_SHA256_LEN], const uint8_t *key,
                                               size_t key_len, const void *data, size_t n);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hmac_sha512(uint8_t out[static TKM_SHA512_LEN], const uint8_t *key,
                                               size_t key_len, const void *data, size_t n);

/* HKDF-SHA256 (RFC 5869). extract: prk = HMAC(salt, ikm); expand: okm of out_len <= 255*32. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hkdf_sha256_extract(uint8_t prk[static TKM_SHA256_LEN],
                                                       const uint8_t *salt, size_t salt_len,
                                                       const uint8_t *ikm, size_t ikm_len);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hkdf_sha256_expand(uint8_t *out, size_t out_len,
                                                      const uint8_t prk[static TKM_SHA256_LEN],
                                                      const uint8_t *info, size_t info_len);
/* extract then expand. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt,
                                               size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                                               const uint8_t *info, size_t info_len);

#endif
