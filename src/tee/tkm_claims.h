/*
 * tkm_claims.h — the identity claims of a teekm instance and their binding
 * into the 64-byte report_data of TEE evidence (docs/attestation.md).
 *
 * The claims are one JSON object, always exchanged in its RFC 8785 (JCS)
 * canonical form, and
 *
 *   report_data = SHA-512( "teekm/attestation/claims/v1" ‖ 0x00 ‖ JCS(claims) )
 *
 * Fields (all hex is lower-case with a "0x" prefix; integers are JSON
 * integers in [0, 2^53-1] so that every JSON implementation reads them
 * exactly; the optional fields are absent, never null):
 *   version        1
 *   platform       "sim" | "sgx" | "tdx" | "snp"
 *   tlsPublicKey   DER SubjectPublicKeyInfo of the RA-TLS key
 *   auditAddress   20-byte Ethereum address of the audit-log signing key
 *   keys           signer keys, sorted by publicKey (string order), no duplicates:
 *                  {"type":"secp256k1","publicKey":65-byte SEC1 uncompressed,"address":20 bytes}
 *                  {"type":"bls12-381","publicKey":48-byte compressed G1}
 *   policyHash     32 bytes;   policyVersion  integer
 *   instanceId     32 bytes;   stateVersion   integer
 *   nonce          optional, 1..64 bytes (verifier nonce)
 *   hpkePublicKey  optional, 32-byte X25519 key (TDX key release)
 *   keyCount, keysDigest  optional, together: an instance with more keys
 *                  than fit a certificate commits to them instead of listing
 *                  them — keys is then [] and
 *                  keysDigest = SHA-256("teekm/attestation/keys/v1" ‖ 0x00 ‖
 *                               JCS(the sorted keys array as it would appear))
 *                  keyCount = its length (>= 1). The full list is served by
 *                  the instance (teekm_evidence, /admin/v1/keys) and checked
 *                  against the digest (tkm_claims_keys_digest).
 *
 * Parsing is strict: unknown fields, missing fields, wrong lengths, a secp256k1
 * address that is not the key's, unsorted keys and any byte sequence that is
 * not exactly the canonical encoding of what was parsed are all rejected.
 * So a verifier may hash the bytes it received once tkm_claims_parse accepted
 * them.
 *
 * Ownership: a tkm_claims owns its keys array; release with tkm_claims_free.
 * Secrets: none (claims are public).
 * Thread-safety: functions are reentrant; one tkm_claims belongs to one thread.
 */
#ifndef TKM_CLAIMS_H
#define TKM_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#define TKM_CLAIMS_VERSION 1
#define TKM_CLAIMS_DOMAIN "teekm/attestation/claims/v1" /* followed by one 0x00 byte */
#define TKM_CLAIMS_KEYS_DOMAIN "teekm/attestation/keys/v1" /* followed by one 0x00 byte */
#define TKM_REPORT_DATA_LEN 64
#define TKM_CLAIMS_SPKI_MAX 1024
#define TKM_CLAIMS_MAX_KEYS 1024
#define TKM_CLAIMS_NONCE_MAX 64
#define TKM_CLAIMS_MAX_BYTES ((size_t)512 * 1024)
#define TKM_CLAIMS_INT_MAX ((uint64_t)9007199254740991) /* 2^53 - 1 */

typedef enum {
    TKM_CLAIM_KEY_SECP256K1 = 1,
    TKM_CLAIM_KEY_BLS12381 = 2,
} tkm_claim_key_type;

typedef struct {
    tkm_claim_key_type type;
    uint8_t pub[65]; /* secp256k1: 65 bytes 0x04‖X‖Y; BLS: 48 bytes compressed */
    size_t pub_len;
    uint8_t addr[20]; /* secp256k1 only */
} tkm_claim_key;

typedef struct {
    char platform[4]; /* "sim", "sgx", "tdx", "snp" (NUL-terminated) */
    uint8_t tls_spki[TKM_CLAIMS_SPKI_MAX];
    size_t tls_spki_len;
    uint8_t audit_addr[20];
    tkm_claim_key *keys; /* owned; n_keys entries */
    size_t n_keys;
    uint8_t policy_hash[32];
    uint64_t policy_version;
    uint8_t instance_id[32];
    uint64_t state_version;
    uint8_t nonce[TKM_CLAIMS_NONCE_MAX];
    size_t nonce_len; /* 0 = absent */
    uint8_t hpke_pk[32];
    int has_hpke_pk;
    int has_keys_digest; /* keys committed by digest: n_keys == 0 */
    uint64_t key_count;
    uint8_t keys_digest[32];
} tkm_claims;

/* Zero c (no allocation). */
TKM_API void tkm_claims_init(tkm_claims *c) TKM_NONNULL(1);
/* Free the keys array and zero c. NULL-safe. */
TKM_API void tkm_claims_free(tkm_claims *c);

/*
 * Add a signer key (copied). secp256k1: 65-byte uncompressed key, the address
 * is computed here; BLS: 48-byte compressed key (not subgroup-checked here:
 * the key comes from teekm's own key store). Keys may be added in any order;
 * encode sorts them. Returns: OK, TKM_ERR_BAD_KEY (wrong length/prefix),
 * TKM_ERR_LIMIT (more than TKM_CLAIMS_MAX_KEYS), TKM_ERR_NOMEM.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_claims_add_key(tkm_claims *c, tkm_claim_key_type type,
                                                  const uint8_t *pub, size_t pub_len)
    TKM_NONNULL(1, 3);

/* Fill one key entry (checked like tkm_claims_add_key; the address computed for secp256k1). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_claim_key_set(tkm_claim_key *k, tkm_claim_key_type type, const uint8_t *pub,
                                                 size_t pub_len) TKM_NONNULL(1, 3);
/*
 * keysDigest of keys[0..n) (sorted in place). Any number of keys.
 * Returns: OK; TKM_ERR_CLAIMS (duplicate keys); TKM_ERR_NOMEM.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_claims_keys_digest(uint8_t out[static 32], tkm_claim_key *keys, size_t n);

/*
 * Append JCS(claims) to w (sorting c->keys in place first).
 * Returns: OK; TKM_ERR_CLAIMS for values that cannot be encoded (platform
 * unknown, integers over 2^53-1, empty TLS key, duplicate keys).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_claims_encode(tkm_claims *c, tkm_wr *w) TKM_NONNULL(1, 2);

/*
 * Parse untrusted canonical claims bytes into c (which must be initialised or
 * freed; it is overwritten). On failure c is left empty.
 * Returns: OK; TKM_ERR_JSON_* / TKM_ERR_CLAIMS (with the field in the detail);
 * TKM_ERR_CLAIMS_NONCANONICAL when the bytes parse but are not JCS.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_claims_parse(tkm_claims *c, const uint8_t *buf, size_t len)
    TKM_NONNULL(1);

/* report_data of canonical claims bytes (not re-checked: pass parsed bytes). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_claims_report_data(uint8_t rd[static TKM_REPORT_DATA_LEN],
                                                      const uint8_t *jcs, size_t len);

/*
 * Check that rd is the report_data of the claims bytes jcs, which must parse
 * (tkm_claims_parse) — the usual verifier entry point.
 * Returns: OK; the parse error; TKM_ERR_TEE_BINDING when rd differs.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_claims_verify_report_data(const uint8_t rd[static TKM_REPORT_DATA_LEN],
                                                             const uint8_t *jcs, size_t len);

/* Out: *out, the claims as a new JSON object (caller json_decref's). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_claims_to_json(const tkm_claims *c, json_t **out) TKM_NONNULL(1, 2);

#endif
