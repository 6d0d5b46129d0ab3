/*
 * tkm_approval.h — EIP-712 approvals of signing intents and admin quorums.
 *
 * Every struct is hashed in the domain
 *   EIP712Domain(string name,string version,bytes32 salt)
 *   {name: "teekm", version: "1", salt: <32-byte instance id>}
 * so any wallet can sign it with eth_signTypedData_v4 and shows the fields.
 * The types are fixed, so they are hashed directly per EIP-712 (typeHash ‖
 * 32-byte words; strings as keccak of their UTF-8 bytes):
 *
 *   Approval(string requestId,address key,uint256 chainId,string action,
 *            address asset,address to,uint256 amount,bytes32 payloadHash,
 *            uint64 expiresAt)
 *     requestId/key/payloadHash from the intent; chainId 0 when the intent
 *     has none; action its name; asset the token contract, zero for the
 *     native coin and for none; to zero when absent; amount the intent's
 *     amount (0 when absent).
 *   PolicyUpdate(uint64 version,bytes32 policyHash,uint64 previousVersion,
 *                bytes32 previousPolicyHash,uint64 expiresAt)
 *   KeyEvent(string requestId,string action,string label,address key,
 *            uint64 policyVersion,uint64 expiresAt)
 *     action one of "generate", "import", "rotate", "retire"; key is the
 *     address concerned (zero for generate; the old address for rotate).
 *
 * An approval as presented is a 65-byte signature r ‖ s ‖ v (v 27/28 or
 * 0/1) plus the expiresAt it signed (by default the request's notAfter) and
 * optionally the signer it claims to be. It counts only when it is well
 * formed, low-s, not expired, recovers to its claimed signer (if any), and
 * has not been used before; each signer counts once per group.
 *
 * Secret?: no. Thread-safety: reentrant.
 */
#ifndef TKM_APPROVAL_H
#define TKM_APPROVAL_H

#include <stddef.h>
#include <stdint.h>

#include "tkm_intent.h"
#include "tkm_policy.h"

#define TKM_INSTANCE_ID_LEN 32
#define TKM_APPROVALS_MAX 32 /* approvals accepted in one request */

typedef struct {
    uint8_t sig[TKM_SECP_SIG_LEN]; /* r ‖ s ‖ recid (normalized to 0/1) */
    uint64_t expires_at;
    int has_signer;
    uint8_t signer[TKM_ETH_ADDR_LEN];
} tkm_approval;

/*
 * Parse one presented approval: a "0x…" string of 65 bytes (expiresAt =
 * default_expires_at) or {"signature": "0x…", "expiresAt": N, "signer": "0x…"}
 * (signer optional). path names v in error details.
 * Returns: OK; TKM_ERR_APPROVAL_FORMAT (bad length, v not 0/1/27/28) or a JSON error.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_approval_parse(tkm_approval *out, const json_t *v, const char *path,
                                                  uint64_t default_expires_at);

/* Domain separator of {name:"teekm", version:"1", salt:instance_id}. */
TKM_API void tkm_approval_domain(uint8_t out[static 32], const uint8_t instance_id[static TKM_INSTANCE_ID_LEN]);

/* EIP-712 digest of Approval for this intent and expiry. */
TKM_API void tkm_approval_digest(uint8_t out[static 32], const uint8_t instance_id[static TKM_INSTANCE_ID_LEN],
                                 const tkm_intent *in, uint64_t expires_at);

/* EIP-712 digest of PolicyUpdate. */
TKM_API void tkm_policy_update_digest(uint8_t out[static 32], const uint8_t instance_id[static TKM_INSTANCE_ID_LEN],
                                      uint64_t version, const uint8_t policy_hash[static 32],
                                      uint64_t prev_version, const uint8_t prev_hash[static 32],
                                      uint64_t expires_at);

typedef enum {
    TKM_KEY_EVENT_GENERATE = 0,
    TKM_KEY_EVENT_IMPORT = 1,
    TKM_KEY_EVENT_ROTATE = 2,
    TKM_KEY_EVENT_RETIRE = 3,
} tkm_key_event;
TKM_API const char *tkm_key_event_name(tkm_key_event e);

/* EIP-712 digest of KeyEvent. key may be NULL (zero address). */
TKM_API void tkm_key_event_digest(uint8_t out[static 32], const uint8_t instance_id[static TKM_INSTANCE_ID_LEN],
                                  const char *request_id, tkm_key_event ev, const char *label,
                                  const uint8_t *key, uint64_t policy_version, uint64_t expires_at);

/*
 * The same three structs as complete eth_signTypedData_v4 documents
 * ({types, primaryType, domain, message}) for approvers' wallets: what they
 * sign hashes to the digests above. uint256 values are decimal strings,
 * uint64 values JSON integers (strings above 2^53-1), addresses EIP-55,
 * bytes32 0x hex. Out: *out (caller json_decref's).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_approval_typed_data(json_t **out, const uint8_t instance_id[static TKM_INSTANCE_ID_LEN],
                                                       const tkm_intent *in, uint64_t expires_at);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_policy_update_typed_data(json_t **out,
                                                            const uint8_t instance_id[static TKM_INSTANCE_ID_LEN],
                                                            uint64_t version, const uint8_t policy_hash[static 32],
                                                            uint64_t prev_version, const uint8_t prev_hash[static 32],
                                                            uint64_t expires_at);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_key_event_typed_data(json_t **out,
                                                        const uint8_t instance_id[static TKM_INSTANCE_ID_LEN],
                                                        const char *request_id, tkm_key_event ev, const char *label,
                                                        const uint8_t *key, uint64_t policy_version,
                                                        uint64_t expires_at);

/*
 * Recover the signer of a presented approval over a digest.
 * Returns: OK and *signer; TKM_ERR_HIGH_S / TKM_ERR_BAD_SIGNATURE / TKM_ERR_RECOVER
 * for a bad signature; TKM_ERR_VERIFY when it recovers to another address than
 * the claimed signer.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_approval_recover(uint8_t signer[static TKM_ETH_ADDR_LEN],
                                                    const tkm_approval *a, const uint8_t digest[static 32]);

/* Per-approval outcome of a check (also what the store records as used). */
typedef struct {
    int ok;                             /* recovered, unexpired, matches its claim, unused */
    uint8_t digest[32];                 /* what was signed */
    uint8_t signer[TKM_ETH_ADDR_LEN];   /* valid when ok */
    const char *why;                    /* when !ok: static text */
} tkm_approval_check;

/*
 * Check a quorum of admins over a digest built per approval by digest_fn
 * (called with each approval's expires_at). used_fn (may be NULL) reports
 * approvals already consumed. Out: checks[0..n) (n <= TKM_APPROVALS_MAX),
 * *count = distinct admin signers with valid approvals.
 * Returns: OK when *count >= threshold; TKM_ERR_QUORUM otherwise (detail
 * names the first rejected approval and why); a used_fn error.
 */
typedef void (*tkm_digest_fn)(uint8_t out[static 32], void *ctx, uint64_t expires_at);
typedef tkm_rc (*tkm_used_fn)(void *ctx, const uint8_t digest[static 32], const uint8_t signer[static 20], int *used);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_admin_quorum_check(const tkm_policy *p, const tkm_approval *a, size_t n,
                                                      int64_t now, tkm_digest_fn digest_fn, void *dctx,
                                                      tkm_used_fn used_fn, void *uctx,
                                                      tkm_approval_check *checks, unsigned *count);

#endif
