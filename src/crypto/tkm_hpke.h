/*
 * tkm_hpke.h — HPKE base mode (RFC 9180), single suite:
 * DHKEM(X25519, HKDF-SHA256) (0x0020) / HKDF-SHA256 (0x0001) / AES-256-GCM (0x0002).
 * Single-shot seal/open (sequence number 0). Used to release state keys to
 * attested instances (TDX) and for wrapped key import.
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

/* Out: *sk (32-byte X25519 private key, caller frees) and pk. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hpke_keygen(tkm_secret **sk, uint8_t pk[static TKM_X25519_LEN]);
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
/* Same, plaintext delivered straight into a new tkm_secret (for wrapped keys). */
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
/* DeriveKeyPair(ikm) for the recipient side of the known-answer tests. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hpke_derive_keypair(tkm_secret **sk, uint8_t pk[static TKM_X25519_LEN],
                                                       const uint8_t *ikm, size_t ikm_len);

#endif
