/*
 * tkm_secp.h — secp256k1 (libsecp256k1) and Ethereum addresses (EIP-55).
 *
 * One process-wide libsecp256k1 context, created on first use, randomized with
 * the entropy source, with an illegal-argument callback that aborts (caller
 * bugs are not bad input). Signing is RFC 6979 deterministic and always low-s;
 * signatures are r ‖ s ‖ recid (65 bytes, recid 0..3).
 *
 * Secret?: private keys are only accepted as tkm_secret; the wrapper reads them
 * for the duration of one libsecp256k1 call.
 * NULL: pointers are never NULL (fixed sizes are in the types).
 * Ownership: tkm_secp_keygen returns a tkm_secret the caller frees with
 * tkm_secret_free; everything else writes into the caller's buffers, zeroed
 * on failure.
 * Thread-safety: every function may be called from any thread once
 * tkm_secp_init has returned OK (it is also called implicitly).
 */
#ifndef TKM_SECP_H
#define TKM_SECP_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#define TKM_SECP_SECKEY_LEN 32
#define TKM_SECP_PUBKEY_LEN 65 /* 0x04 ‖ X ‖ Y */
#define TKM_SECP_PUBKEY_COMPRESSED_LEN 33
#define TKM_SECP_SIG_LEN 65 /* r ‖ s ‖ recid */
#define TKM_SECP_DIGEST_LEN 32
#define TKM_ETH_ADDR_LEN 20
#define TKM_ETH_ADDR_STR_LEN 43 /* "0x" + 40 + NUL */

/* Create and randomize the context (idempotent). Returns: OK, TKM_ERR_ENTROPY. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_secp_init(void);

/* Out: *sk, a fresh private key from the entropy source. Refuses (TKM_ERR_ENTROPY)
 * when the entropy source failed its health tests. Caller frees with tkm_secret_free. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_secp_keygen(tkm_secret **sk);
/* Returns: OK when sk is a valid key (32 bytes, 0 < sk < n), TKM_ERR_BAD_KEY otherwise. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_secp_seckey_check(const tkm_secret *sk);
/* Out: pub (uncompressed). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_secp_pubkey(uint8_t pub[static TKM_SECP_PUBKEY_LEN],
                                               const tkm_secret *sk);
/* Parse a 33- or 65-byte SEC1 key into the uncompressed form. TKM_ERR_BAD_KEY if invalid. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_secp_pubkey_parse(uint8_t pub[static TKM_SECP_PUBKEY_LEN],
                                                     const uint8_t *in, size_t len);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_secp_pubkey_compress(uint8_t out[static TKM_SECP_PUBKEY_COMPRESSED_LEN],
                                                        const uint8_t pub[static TKM_SECP_PUBKEY_LEN]);

/*
 * Sign a 32-byte digest, nonce as RFC 6979 (deterministic: the same key and
 * digest give the same signature, which the official vectors and ethers
 * agree on). Out: sig = r ‖ s ‖ recid, s is low.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_secp_sign(uint8_t sig[static TKM_SECP_SIG_LEN], const tkm_secret *sk,
                                             const uint8_t digest[static TKM_SECP_DIGEST_LEN]);
/*
 * Sign with a hedged nonce: RFC 6979 with 32 bytes of fresh entropy as its
 * additional data (§3.6; draft-irtf-cfrg-det-sigs-with-noise). What the
 * service signs with. With a purely deterministic nonce, a fault while
 * signing (an undervolted or glitched core, a bit flip) yields a wrong
 * signature whose nonce equals that of the right one over the same digest,
 * and the two together give away the private key; with fresh noise no two
 * signatures share a nonce, while a weak entropy source still leaves RFC 6979's
 * guarantee (the nonce stays secret and unique per digest). Costs one
 * entropy read (~1 µs). TKM_ERR_ENTROPY (nothing signed), TKM_ERR_BAD_KEY.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_secp_sign_hedged(uint8_t sig[static TKM_SECP_SIG_LEN], const tkm_secret *sk,
                                                    const uint8_t digest[static TKM_SECP_DIGEST_LEN]);
/*
 * Deterministic signing (as tkm_secp_sign), then a check that the signature
 * recovers to pub (the key's public key, derived once when the key was
 * loaded): r, s and the recovery id are all checked, so a faulty signature
 * never leaves and the deterministic nonce cannot be used against the key.
 * On a mismatch the signature is wiped and TKM_ERR_SIGN_SELFCHECK returned.
 * Costs one recovery (~1.5 signatures): for keys that sign once per group
 * commit (audit) or rarely (EAS records, whose export is reproducible).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_secp_sign_checked(uint8_t sig[static TKM_SECP_SIG_LEN], const tkm_secret *sk,
                                                     const uint8_t pub[static TKM_SECP_PUBKEY_LEN],
                                                     const uint8_t digest[static TKM_SECP_DIGEST_LEN]);
/*
 * Verify r ‖ s (64 bytes) over digest. High-s signatures are rejected
 * (TKM_ERR_HIGH_S); a wrong signature is TKM_ERR_BAD_SIGNATURE.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_secp_verify(const uint8_t pub[static TKM_SECP_PUBKEY_LEN],
                                               const uint8_t digest[static TKM_SECP_DIGEST_LEN],
                                               const uint8_t sig64[static 64]);

enum { TKM_SECP_ALLOW_HIGH_S = 0, TKM_SECP_REQUIRE_LOW_S = 1 };
/*
 * Recover the public key from r ‖ s ‖ recid. With TKM_SECP_REQUIRE_LOW_S a
 * high s is TKM_ERR_HIGH_S (Ethereum transactions, EIP-2). r or s of zero or
 * >= n, or recid > 3, are TKM_ERR_BAD_SIGNATURE; no point is TKM_ERR_RECOVER.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_secp_recover(uint8_t pub[static TKM_SECP_PUBKEY_LEN],
                                                const uint8_t digest[static TKM_SECP_DIGEST_LEN],
                                                const uint8_t sig[static TKM_SECP_SIG_LEN], int flags);

/* Ethereum address = last 20 bytes of keccak256(X ‖ Y). */
TKM_API void tkm_eth_address(uint8_t addr[static TKM_ETH_ADDR_LEN],
                             const uint8_t pub[static TKM_SECP_PUBKEY_LEN]);
/* EIP-55 mixed-case checksum form with "0x" and NUL. */
TKM_API void tkm_eth_address_checksum(char out[static TKM_ETH_ADDR_STR_LEN],
                                      const uint8_t addr[static TKM_ETH_ADDR_LEN]);
/*
 * Parse "0x" + 40 hex digits. All-lower and all-upper digits are accepted as
 * is; mixed case must match the EIP-55 checksum (TKM_ERR_CHECKSUM otherwise).
 * Any other form is TKM_ERR_ADDRESS.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_eth_address_parse(uint8_t addr[static TKM_ETH_ADDR_LEN],
                                                     const char *s, size_t len);

#endif
