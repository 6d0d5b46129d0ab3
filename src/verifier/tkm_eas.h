/*
 * tkm_eas.h — registrations as Ethereum Attestation Service (EAS) records.
 *
 * Schema (one attestation per signer key of a registration; docs/verifier.md):
 *
 *   TKM_EAS_SCHEMA = "bytes32 instanceId,string institution,string platform,
 *                     bytes measurement,uint8 tcbStatus,bytes32 policyHash,
 *                     uint64 policyVersion,address auditAddress,address signer,
 *                     bytes signerPublicKey"
 *
 *   schema UID = keccak256(abi.encodePacked(schema, resolver, revocable))
 *   data       = abi.encode(the ten values)            (what SchemaEncoder produces)
 *   tcbStatus  = the tkm_tcb_status number: 0 none (SNP, sim), 1 UpToDate,
 *                2 SWHardeningNeeded, 3 ConfigurationNeeded,
 *                4 ConfigurationAndSWHardeningNeeded, 5 OutOfDate,
 *                6 OutOfDateConfigurationNeeded, 7 Revoked
 *   signer     = the key's Ethereum address (secp256k1), zero for BLS keys;
 *                signerPublicKey = 65-byte uncompressed secp256k1 or 48-byte BLS key
 *
 * Attestation fields: recipient = signer (zero for BLS), time = appraisal time,
 * expirationTime = when the registration turns stale (or 0), revocable per
 * configuration, refUID = 0, salt = 32 bytes derived from the verifier's
 * master key, the registration and the key index (unpredictable, yet the same
 * every time the same record is exported).
 *
 * Offchain (EAS SDK OffchainAttestationVersion.Version2): EIP-712 over
 *   domain  {name: "EAS Attestation", version: <EAS contract version>,
 *            chainId, verifyingContract: <EAS contract>}
 *   Attest(uint16 version,bytes32 schema,address recipient,uint64 time,
 *          uint64 expirationTime,bool revocable,bytes32 refUID,bytes data,bytes32 salt)
 * with version = 2, signed by the verifier's EAS key; uid =
 *   keccak256(abi.encodePacked(uint16 2, bytes(<schema UID as the 0x-hex
 *   string in the message>), address recipient, address 0, uint64 time,
 *   uint64 expirationTime, bool revocable, bytes32 refUID, bytes data,
 *   bytes32 salt, uint32 0))
 * — the SDK's getOffchainUID (it hashes the schema UID's text, not its bytes).
 *
 * Onchain: calldata of EAS.attest((bytes32 schema,(address recipient,
 * uint64 expirationTime,bool revocable,bytes32 refUID,bytes data,uint256 value)))
 * with value 0.
 *
 * Secrets: none here (signing goes through a callback holding the key).
 * Ownership: outputs go to the caller's buffers and writers (tkm_wr); the
 * JSON package is a new reference the caller json_decref's. NULL: pointers
 * are never NULL; byte fields may be NULL only with length 0.
 * Thread-safety: reentrant.
 */
#ifndef TKM_EAS_H
#define TKM_EAS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "../crypto/crypto.h"

#define TKM_EAS_SCHEMA                                                                                        \
    "bytes32 instanceId,string institution,string platform,bytes measurement,uint8 tcbStatus,bytes32 "        \
    "policyHash,uint64 policyVersion,address auditAddress,address signer,bytes signerPublicKey"
#define TKM_EAS_DOMAIN_NAME "EAS Attestation"
#define TKM_EAS_ATTEST_TYPE                                                                                   \
    "Attest(uint16 version,bytes32 schema,address recipient,uint64 time,uint64 expirationTime,bool "          \
    "revocable,bytes32 refUID,bytes data,bytes32 salt)"
#define TKM_EAS_ATTEST_SIGNATURE "attest((bytes32,(address,uint64,bool,bytes32,bytes,uint256)))"
#define TKM_EAS_OFFCHAIN_VERSION 2
#define TKM_EAS_VERSION_MAX 32

typedef struct {
    uint64_t chain_id;                        /* 1 ..= 2^53-1 */
    uint8_t contract[TKM_ETH_ADDR_LEN];       /* the EAS contract (verifyingContract) */
    char version[TKM_EAS_VERSION_MAX];        /* its EIP-712 version, e.g. "1.3.0" */
    uint8_t resolver[TKM_ETH_ADDR_LEN];       /* schema resolver (usually zero) */
    int revocable;                            /* schema and attestations revocable */
} tkm_eas_config;

/* The schema values of one attestation (all borrowed). */
typedef struct {
    uint8_t instance_id[32];
    const char *institution;
    const char *platform;
    const uint8_t *measurement;
    size_t measurement_len;
    uint8_t tcb_status;
    uint8_t policy_hash[32];
    uint64_t policy_version;
    uint8_t audit_address[20];
    uint8_t signer[20]; /* zero for BLS */
    const uint8_t *signer_pub;
    size_t signer_pub_len;
} tkm_eas_fields;

/* An attestation request (data borrowed). */
typedef struct {
    uint8_t schema[32];
    uint8_t recipient[20];
    uint64_t time;
    uint64_t expiration_time;
    int revocable;
    uint8_t ref_uid[32];
    const uint8_t *data;
    size_t data_len;
    uint8_t salt[32];
} tkm_eas_attestation;

/* schema UID of TKM_EAS_SCHEMA under cfg's resolver and revocable flag. */
TKM_API void tkm_eas_schema_uid(uint8_t out[static 32], const tkm_eas_config *cfg) TKM_NONNULL(1, 2);
/* Append abi.encode(fields) to w. Returns: OK or the writer's error. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_eas_encode_data(tkm_wr *w, const tkm_eas_fields *f) TKM_NONNULL(1, 2);
/* The offchain UID (see the top). */
TKM_API void tkm_eas_offchain_uid(uint8_t out[static 32], const tkm_eas_attestation *a) TKM_NONNULL(1, 2);
/* The EIP-712 digest the verifier signs. */
TKM_API void tkm_eas_offchain_digest(uint8_t out[static 32], const tkm_eas_config *cfg,
                                     const tkm_eas_attestation *a) TKM_NONNULL(1, 2, 3);
/*
 * The SDK's shareable package {sig: {version, uid, domain, primaryType, types,
 * message, signature: {v, r, s}}, signer} for a 65-byte r ‖ s ‖ recid
 * signature by `signer`. Out: *out (caller json_decref's).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_eas_offchain_json(json_t **out, const tkm_eas_config *cfg,
                                                     const tkm_eas_attestation *a,
                                                     const uint8_t sig[static TKM_SECP_SIG_LEN],
                                                     const uint8_t signer[static 20]) TKM_NONNULL(1, 2, 3, 4, 5);
/* Append the calldata of attest(...) (4-byte selector ‖ ABI arguments) to w. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_eas_attest_calldata(tkm_wr *w, const tkm_eas_attestation *a) TKM_NONNULL(1, 2);

#endif
