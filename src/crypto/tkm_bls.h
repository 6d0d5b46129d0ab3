/*
 * tkm_bls.h — BLS12-381 signatures (blst) in Ethereum's ciphersuite
 * BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_ (IETF draft-irtf-cfrg-bls-signature
 * proof-of-possession scheme): public keys are G1 points (48-byte compressed),
 * signatures are G2 points (96-byte compressed), both in the ZCash
 * serialization; messages are hashed to G2 per RFC 9380. Key derivation per
 * EIP-2333 (derive_master_SK, derive_child_SK) and EIP-2334 paths.
 *
 * Conventions:
 *  - Secret keys are tkm_secret of TKM_BLS_SECKEY_LEN bytes holding the scalar
 *    big-endian, with 0 < sk < r (r = group order); anything else is
 *    TKM_ERR_BAD_KEY. Keys are read for the duration of one call; every
 *    blst_scalar and stack copy is wiped before return. Never logged.
 *  - Every point that arrives as bytes is decoded and checked before use:
 *    canonical encoding (flags, x < p), on the curve, in the prime-order
 *    subgroup. A public key must also not be the point at infinity
 *    (KeyValidate). A signature at infinity is a valid G2 element (it
 *    decodes) but never verifies against valid keys.
 *  - Errors for points: TKM_ERR_BLS_ENCODING (wrong length, bad flag bits,
 *    coordinate >= p), TKM_ERR_BLS_NOT_ON_CURVE, TKM_ERR_BLS_SUBGROUP,
 *    TKM_ERR_BLS_INFINITY (public key at infinity). A well-formed signature
 *    that does not verify is TKM_ERR_BAD_SIGNATURE. An empty set is
 *    TKM_ERR_BLS_EMPTY. The error detail names the offending input
 *    ("pubkeys[2]", "signature"); it never contains key material.
 *  - Messages are (msg, msg_len); msg may be NULL only when msg_len is 0.
 *    Pointers are non-NULL otherwise; a NULL or an impossible length is a
 *    caller bug (TKM_ARG_CHECK).
 *  - Outputs are cleared on entry and assigned only on success.
 *  - Thread-safety: every function is reentrant (no global state).
 */
#ifndef TKM_BLS_H
#define TKM_BLS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "tkm_hash.h" /* tkm_iov */

#define TKM_BLS_SECKEY_LEN 32
#define TKM_BLS_PUBKEY_LEN 48          /* compressed G1 */
#define TKM_BLS_SIG_LEN 96             /* compressed G2 */
#define TKM_BLS_G2_UNCOMPRESSED_LEN 192 /* x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0, big-endian */
#define TKM_BLS_SEED_MIN_LEN 32        /* EIP-2333: the seed MUST be >= 256 bits */
#define TKM_BLS_PATH_MAX_DEPTH 16
#define TKM_BLS_EIP2334_PATH_LEN 32 /* "m/12381/3600/4294967295/0/0" + NUL fits */
#define TKM_BLS_XMD_MAX_LEN 8160    /* 255 * 32: RFC 9380 ell <= 255 */
/* The domain separation tag of the ciphersuite (without NUL). */
#define TKM_BLS_DST "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"

/* ------------------------------------------------------------------ keys */

/*
 * Out: *sk, a fresh secret key: derive_master_SK over 32 bytes from the
 * entropy source. Refuses (TKM_ERR_ENTROPY) when the entropy source failed
 * its health tests. Caller frees with tkm_secret_free. Secret: yes.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_keygen(tkm_secret **sk) TKM_NONNULL(1);

/*
 * EIP-2333 derive_master_SK(seed). seed must hold >= TKM_BLS_SEED_MIN_LEN
 * bytes (TKM_ERR_BLS_SEED otherwise; it is usually the 64-byte BIP-39 seed).
 * Out: *sk (caller frees with tkm_secret_free). Secret: seed and sk.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_derive_master_sk(tkm_secret **sk, const tkm_secret *seed)
    TKM_NONNULL(1, 2);
/*
 * EIP-2333 derive_child_SK(parent, index). parent must be a valid key
 * (TKM_ERR_BAD_KEY otherwise). Out: *child (caller frees). Secret: both.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_derive_child_sk(tkm_secret **child, const tkm_secret *parent,
                                                       uint32_t index) TKM_NONNULL(1, 2);

/*
 * Parse an EIP-2334 path "m/12381/3600/0/0/0": "m" then 0..TKM_BLS_PATH_MAX_DEPTH
 * components "/<decimal>", each <= 2^32-1, no sign, no leading zeros, no
 * hardened marker (EIP-2333 has only one kind of child), nothing trailing.
 * Any other form is TKM_ERR_BLS_PATH with the reason in the detail.
 * Out: idx[0..*depth). Secret: no.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_path_parse(uint32_t idx[static TKM_BLS_PATH_MAX_DEPTH],
                                                  size_t *depth, const char *path, size_t path_len)
    TKM_NONNULL(1, 2);
/*
 * derive_master_SK(seed) followed by derive_child_SK along path (syntax of
 * tkm_bls_path_parse; "m" alone gives the master key). The path is not
 * required to start with 12381/3600: EIP-2334 fixes those for Ethereum, and
 * callers that derive validator keys use tkm_bls_eip2334_*_path.
 * Out: *sk (caller frees). Secret: seed and sk.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_derive_path(tkm_secret **sk, const tkm_secret *seed,
                                                   const char *path, size_t path_len)
    TKM_NONNULL(1, 2);
/* EIP-2334 paths of validator `account`: signing m/12381/3600/<account>/0/0,
 * withdrawal m/12381/3600/<account>/0 (NUL-terminated). */
TKM_API void tkm_bls_eip2334_signing_path(char out[static TKM_BLS_EIP2334_PATH_LEN], uint32_t account);
TKM_API void tkm_bls_eip2334_withdrawal_path(char out[static TKM_BLS_EIP2334_PATH_LEN],
                                             uint32_t account);

/* Returns: OK when sk is TKM_BLS_SECKEY_LEN bytes and 0 < sk < r, else TKM_ERR_BAD_KEY. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_seckey_check(const tkm_secret *sk) TKM_NONNULL(1);
/* SkToPk. Out: pk (compressed G1). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_sk_to_pk(uint8_t pk[static TKM_BLS_PUBKEY_LEN],
                                                const tkm_secret *sk) TKM_NONNULL(1, 2);

/* ---------------------------------------------------------------- points */

/*
 * KeyValidate: in[0..len) is a compressed G1 point, canonically encoded, on
 * the curve, in the subgroup and not the point at infinity. Returns OK or one
 * of the point errors above.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_key_validate(const uint8_t *in, size_t len);
/* Deserialization only: like KeyValidate but the point at infinity is accepted. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_g1_check(const uint8_t *in, size_t len);
/* in[0..len) is a compressed G2 point in the subgroup (infinity accepted):
 * what signature_to_point plus the subgroup check accept. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_g2_check(const uint8_t *in, size_t len);

/* ------------------------------------------------------ sign and verify */

/* Sign(sk, msg). Out: sig (compressed G2). Secret: sk. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_sign(uint8_t sig[static TKM_BLS_SIG_LEN], const tkm_secret *sk,
                                            const uint8_t *msg, size_t msg_len) TKM_NONNULL(1, 2);
/* Verify(pk, msg, sig): OK, a point error, or TKM_ERR_BAD_SIGNATURE. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_verify(const uint8_t pk[static TKM_BLS_PUBKEY_LEN],
                                              const uint8_t *msg, size_t msg_len,
                                              const uint8_t sig[static TKM_BLS_SIG_LEN])
    TKM_NONNULL(1, 4);

/* Aggregate(sigs[0..n)), n >= 1 (TKM_ERR_BLS_EMPTY otherwise). Every input is
 * decoded and subgroup-checked. Out: the aggregate signature. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_aggregate_sigs(uint8_t out[static TKM_BLS_SIG_LEN],
                                                      const uint8_t (*sigs)[TKM_BLS_SIG_LEN], size_t n)
    TKM_NONNULL(1);
/* eth_aggregate_pubkeys: n >= 1 keys, each passing KeyValidate. Out: their sum
 * (which may be the point at infinity, e.g. for pk and -pk; verifying against
 * it then fails with TKM_ERR_BLS_INFINITY). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_aggregate_pubkeys(uint8_t out[static TKM_BLS_PUBKEY_LEN],
                                                         const uint8_t (*pks)[TKM_BLS_PUBKEY_LEN],
                                                         size_t n) TKM_NONNULL(1);
/*
 * FastAggregateVerify(pks[0..n), msg, sig): n signers of one message.
 * n == 0 is TKM_ERR_BLS_EMPTY (the IETF rule; Ethereum's
 * eth_fast_aggregate_verify exception for empty sync committees is not
 * applied here).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_fast_aggregate_verify(const uint8_t (*pks)[TKM_BLS_PUBKEY_LEN],
                                                             size_t n, const uint8_t *msg, size_t msg_len,
                                                             const uint8_t sig[static TKM_BLS_SIG_LEN])
    TKM_NONNULL(5);

enum {
    /* Also refuse repeated messages (TKM_ERR_BLS_DUPLICATE_MSG): the rule of the
     * basic scheme. The POP ciphersuite itself does not require it. */
    TKM_BLS_REQUIRE_DISTINCT_MSGS = 1,
};
/*
 * AggregateVerify((pks[i], msgs[i]) for i < n, sig) of the POP ciphersuite
 * (CoreAggregateVerify). n == 0 is TKM_ERR_BLS_EMPTY. flags: 0 or
 * TKM_BLS_REQUIRE_DISTINCT_MSGS.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_aggregate_verify(const uint8_t (*pks)[TKM_BLS_PUBKEY_LEN],
                                                        const tkm_iov *msgs, size_t n,
                                                        const uint8_t sig[static TKM_BLS_SIG_LEN],
                                                        unsigned flags) TKM_NONNULL(4);

/* One (pubkey, message, signature) triple of a batch. */
typedef struct {
    const uint8_t *pk;  /* TKM_BLS_PUBKEY_LEN bytes */
    const uint8_t *msg; /* may be NULL when msg_len == 0 */
    size_t msg_len;
    const uint8_t *sig; /* TKM_BLS_SIG_LEN bytes */
} tkm_bls_sig_set;
/*
 * Verify n >= 1 independent signatures at once (random linear combination
 * with 64-bit scalars from the entropy source: a forged set passes with
 * probability <= 2^-64). OK only when every signature is valid; the failing
 * index is not reported (verify one by one to find it). TKM_ERR_ENTROPY when
 * the entropy source is latched off.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_batch_verify(const tkm_bls_sig_set *sets, size_t n);

/* --------------------------------------------------------- hash to curve */

/*
 * RFC 9380 hash_to_curve for BLS12381G2_XMD:SHA-256_SSWU_RO_ with any DST
 * (dst_len >= 1; a DST over 255 bytes is hashed as the RFC says).
 * Out: the affine point in the 192-byte uncompressed encoding.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_hash_to_g2(uint8_t out[static TKM_BLS_G2_UNCOMPRESSED_LEN],
                                                  const uint8_t *msg, size_t msg_len, const uint8_t *dst,
                                                  size_t dst_len) TKM_NONNULL(1, 4);
/* RFC 9380 expand_message_xmd with SHA-256; 1 <= out_len <= TKM_BLS_XMD_MAX_LEN, dst_len >= 1. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_bls_expand_message_xmd(uint8_t *out, size_t out_len, const uint8_t *msg,
                                                          size_t msg_len, const uint8_t *dst,
                                                          size_t dst_len) TKM_NONNULL(1, 5);

#endif
