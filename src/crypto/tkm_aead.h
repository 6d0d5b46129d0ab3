/*
 * tkm_aead.h — AES-256-GCM (OpenSSL EVP), the one AEAD teekm seals with.
 *
 * Layout: ciphertext ‖ 16-byte tag. Nonces are 12 bytes; the caller must never
 * reuse a (key, nonce) pair: use tkm_aead_seal_random (random nonce, prefixed
 * to the output) unless a protocol fixes the nonce (HPKE).
 * open verifies the tag before releasing any plaintext: on TKM_ERR_AUTH_TAG the
 * output buffer is wiped.
 *
 * Conventions:
 *  - key, nonce and out are never NULL. aad and pt (or in) may be NULL only
 *    with length 0.
 *  - Plaintexts and ciphertexts are at most TKM_AEAD_MAX_LEN bytes
 *    (TKM_ERR_TOO_LARGE beyond), far below GCM's own 2^36-byte limit.
 *  - out may be the same buffer as pt/in (in place, same start) but must not
 *    overlap it otherwise.
 *  - An out_cap below what the call writes is a caller bug (misuse handler).
 *    An input shorter than its fixed overhead (tag, nonce) is bad input:
 *    TKM_ERR_TRUNCATED.
 *  - On any failure nothing of the output is left: out[0..what would have
 *    been written) is wiped.
 * Secret?: the key is; plaintexts may be (callers wipe them).
 * Thread-safety: reentrant.
 */
#ifndef TKM_AEAD_H
#define TKM_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#define TKM_AEAD_KEY_LEN 32
#define TKM_AEAD_NONCE_LEN 12
#define TKM_AEAD_TAG_LEN 16
#define TKM_AEAD_MAX_LEN ((size_t)1 << 30)

/* Out: out[0..pt_len+16) = ct ‖ tag. out_cap >= pt_len + 16 (misuse otherwise). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_aead_seal(uint8_t *out, size_t out_cap, const uint8_t key[static 32],
                                             const uint8_t nonce[static 12], const uint8_t *aad,
                                             size_t aad_len, const uint8_t *pt, size_t pt_len);
/*
 * in = ct ‖ tag. Out: out[0..in_len-16), out_cap >= in_len - 16 (misuse otherwise).
 * Returns: OK; TKM_ERR_TRUNCATED when in_len < 16; TKM_ERR_AUTH_TAG on mismatch
 * (key, nonce, aad, ciphertext or tag wrong), out wiped.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_aead_open(uint8_t *out, size_t out_cap, const uint8_t key[static 32],
                                             const uint8_t nonce[static 12], const uint8_t *aad,
                                             size_t aad_len, const uint8_t *in, size_t in_len);
/*
 * Random nonce from the entropy source: out = nonce ‖ ct ‖ tag,
 * out_cap >= 12 + pt_len + 16. TKM_ERR_ENTROPY when the source is unhealthy.
 * In-place use is not possible here (the output is shifted by the nonce).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_aead_seal_random(uint8_t *out, size_t out_cap,
                                                    const uint8_t key[static 32], const uint8_t *aad,
                                                    size_t aad_len, const uint8_t *pt, size_t pt_len);
/* Inverse of seal_random: in = nonce ‖ ct ‖ tag (TKM_ERR_TRUNCATED when in_len < 28). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_aead_open_random(uint8_t *out, size_t out_cap,
                                                    const uint8_t key[static 32], const uint8_t *aad,
                                                    size_t aad_len, const uint8_t *in, size_t in_len);
#define TKM_AEAD_RANDOM_OVERHEAD (TKM_AEAD_NONCE_LEN + TKM_AEAD_TAG_LEN)

#endif
