/*
 * tkm_hpke.h — HPKE base mode (RFC 9180), single suite:
 * DHKEM(X25519, HKDF-SHA256) (0x0020) / HKDF-SHA256 (0x0001) / AES-256-GCM (0x0002).
 * Single-shot seal/open (sequence number 0). Used to release state keys to
 * attested instances (TDX) and for wrapped key import.
 *
 * Conventions:
 *  - enc is the 32-byte encapsulated key (the sender's ephemeral X25519
 *    public key); ct is AES-256-GCM ciphertext ‖ 16-byte tag.
 *  - info is at most TKM_HPKE_MAX_INFO_LEN bytes (TKM_ERR_TOO_LARGE beyond);
 *    info, aad and pt may be NULL only with length 0.
 *  - An X25519 exchange whose result is all zeros (a small-order public key,
 *    RFC 9180 §7.1.4) is refused with TKM_ERR_BAD_KEY, on both sides.
 *  - ct_cap/pt_cap too small is a caller bug (misuse handler). A ciphertext
 *    shorter than the tag is bad input (TKM_ERR_TRUNCATED).
 *  - Outputs are wiped on failure; nothing is released unless the tag
 *    authenticates.
 *
 * Secret?: recipient private keys (tkm_secret, 32 bytes X25519) and, for
 * open_secret, the plaintext. Shared secrets and key schedules are wiped.
 * Thread-safety: reentrant.
 */
#ifndef TKM_HPKE_H
#define TKM_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#define TKM_X25519_LEN 32
#define TKM_HPKE_ENC_LEN 32 /* the encapsulated key = ephemeral X25519 public key */
#define TKM_HPKE_TAG_LEN 16
#define TKM_HPKE_MAX_INFO_LEN 1024
#define TKM_HPKE_MAX_IKM_LEN 1024

/* Out: *sk (32-byte X25519 private key from the entropy source, caller frees) and pk. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hpke_keygen(tkm_secret **sk, uint8_t pk[static TKM_X25519_LEN]);
/* Out: pk of sk (sk must be 32 bytes: TKM_ERR_BAD_KEY otherwise). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hpke_pubkey(uint8_t pk[static TKM_X25519_LEN], const tkm_secret *sk);

/*
 * Seal pt to pkR. Out: enc, and ct[0..pt_len+16) (ct_cap >= pt_len + 16).
 * info and aad may be empty (NULL with length 0).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hpke_seal(uint8_t enc[static TKM_HPKE_ENC_LEN], uint8_t *ct, size_t ct_cap,
                                             const uint8_t pkR[static TKM_X25519_LEN], const uint8_t *info,
                                             size_t info_len, const uint8_t *aad, size_t aad_len,
                                             const uint8_t *pt, size_t pt_len);
/* Open ct (ct_len >= 16). Out: pt[0..ct_len-16). TKM_ERR_AUTH_TAG when it does not authenticate. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hpke_open(uint8_t *pt, size_t pt_cap, const tkm_secret *skR,
                                             const uint8_t enc[static TKM_HPKE_ENC_LEN], const uint8_t *info,
                                             size_t info_len, const uint8_t *aad, size_t aad_len,
                                             const uint8_t *ct, size_t ct_len);
/*
 * Same, plaintext delivered straight into a new tkm_secret (for wrapped keys;
 * ct_len must be at least 17: an empty secret does not exist).
 * Out: *pt (caller frees with tkm_secret_free), NULL on failure.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hpke_open_secret(tkm_secret **pt, const tkm_secret *skR,
                                                    const uint8_t enc[static TKM_HPKE_ENC_LEN],
                                                    const uint8_t *info, size_t info_len, const uint8_t *aad,
                                                    size_t aad_len, const uint8_t *ct, size_t ct_len);

/*
 * Deterministic seal from a given ephemeral key seed ikmE (DeriveKeyPair, RFC 9180 §7.1.3).
 * For known-answer tests only: production code calls tkm_hpke_seal.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hpke_seal_derand(uint8_t enc[static TKM_HPKE_ENC_LEN], uint8_t *ct,
                                                    size_t ct_cap, const uint8_t pkR[static TKM_X25519_LEN],
                                                    const uint8_t *ikmE, size_t ikmE_len, const uint8_t *info,
                                                    size_t info_len, const uint8_t *aad, size_t aad_len,
                                                    const uint8_t *pt, size_t pt_len);
/* DeriveKeyPair(ikm) for the recipient side of the known-answer tests (1 <= ikm_len <= 1024). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hpke_derive_keypair(tkm_secret **sk, uint8_t pk[static TKM_X25519_LEN],
                                                       const uint8_t *ikm, size_t ikm_len);

/*
 * The recipient's key schedule (RFC 9180 §5.1, mode_base), exposed for
 * known-answer tests of the intermediate values only. Secret: yes, all of it;
 * the caller wipes the struct (tkm_wipe) when done.
 */
typedef struct {
    uint8_t shared_secret[32];
    uint8_t key[32];
    uint8_t base_nonce[12];
    uint8_t exporter_secret[32];
} tkm_hpke_schedule;
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hpke_schedule_for_testing(tkm_hpke_schedule *out, const tkm_secret *skR,
                                                             const uint8_t enc[static TKM_HPKE_ENC_LEN],
                                                             const uint8_t *info, size_t info_len);
/* Export(exporter_context, L) of RFC 9180 §5.3 from a schedule (1 <= L <= 8160). Secret: yes. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hpke_export_for_testing(uint8_t *out, size_t L, const tkm_hpke_schedule *s,
                                                           const uint8_t *exporter_context, size_t ctx_len);

#endif
