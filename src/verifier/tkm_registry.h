/*
 * tkm_registry.h — the verifier's registry: which instance runs what, with
 * which keys, under which policies, appraised when. SQLite (WAL).
 *
 * Append-only: every successful appraisal appends one registration row (and
 * its signer-key rows); re-attestations, key rotations and policy changes are
 * new rows, and triggers make UPDATE and DELETE on them fail, so history is
 * never rewritten through this interface. The current registration of an
 * instance is its row with the largest sequence number. Each row records
 * what changed compared with the instance's previous row (change bits).
 *
 * Besides registrations the database holds, per instance, the sealed state
 * key (inserted once, never updated: tkm_vkeys.h seals it) and a monotonic
 * counter (it can only go up: a trigger refuses a lower value).
 *
 * docs/verifier.md lists the schema. SQL is only ever run through prepared
 * statements with bound values; PRAGMA secure_delete, foreign_keys and
 * SQLITE_DBCONFIG_DEFENSIVE are on; synchronous=FULL.
 *
 * Ownership: tkm_registry_open returns a handle closed with
 * tkm_registry_close. tkm_registration owns its keys, claims and evidence
 * buffers: init before use, free with tkm_registration_free.
 * NULL: pointers are never NULL; blobs may be NULL only with length 0.
 * Secrets: none in clear (state keys are stored sealed).
 * Thread-safety: one tkm_registry may be used from any number of threads
 * (calls are serialised by a mutex); a tkm_registration belongs to its caller.
 */
#ifndef TKM_REGISTRY_H
#define TKM_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "../attest/attest.h"
#include "../core/core.h"
#include "tkm_vkeys.h"

#define TKM_REG_SPKI_MAX 1024
#define TKM_REG_INSTITUTION_MAX 128
#define TKM_REG_MAX_KEYS 1024

typedef enum {
    TKM_REG_KEY_SECP256K1 = 1,
    TKM_REG_KEY_BLS12381 = 2,
} tkm_reg_key_type;

typedef struct {
    tkm_reg_key_type type;
    uint8_t pub[65]; /* secp256k1: 65 bytes uncompressed; BLS: 48 bytes compressed */
    size_t pub_len;
    uint8_t addr[20]; /* secp256k1 only (zero for BLS) */
} tkm_reg_key;

/* What changed compared with the instance's previous registration. */
enum {
    TKM_REG_CHANGE_INITIAL = 1u << 0,          /* first registration of the instance */
    TKM_REG_CHANGE_PLATFORM = 1u << 1,
    TKM_REG_CHANGE_MEASUREMENT = 1u << 2,
    TKM_REG_CHANGE_TCB = 1u << 3,              /* TCB status or advisories */
    TKM_REG_CHANGE_TLS_KEY = 1u << 4,
    TKM_REG_CHANGE_AUDIT_KEY = 1u << 5,
    TKM_REG_CHANGE_SIGNER_KEYS = 1u << 6,
    TKM_REG_CHANGE_POLICY = 1u << 7,           /* the instance's policy hash or version */
    TKM_REG_CHANGE_APPRAISAL_POLICY = 1u << 8, /* the verifier's appraisal policy */
    TKM_REG_CHANGE_INSTITUTION = 1u << 9,
};
/* 0 after a re-attestation with nothing changed (JSON: ["reattestation"]). */

typedef struct {
    int64_t seq; /* assigned by tkm_registry_append */
    uint8_t instance_id[32];
    int64_t appraised_at;
    tkm_platform platform;
    int simulated;
    uint8_t measurement[48];
    size_t measurement_len;
    tkm_tcb_status tcb_status;
    size_t n_advisories;
    char advisory_ids[TKM_APPRAISAL_MAX_ADVISORIES][TKM_ADVISORY_ID_LEN];
    uint8_t tls_spki[TKM_REG_SPKI_MAX];
    size_t tls_spki_len;
    uint8_t audit_address[20];
    uint8_t policy_hash[32];
    uint64_t policy_version;
    uint64_t state_version;
    uint8_t appraisal_policy_hash[32];
    char institution[TKM_REG_INSTITUTION_MAX];
    uint8_t report_data[64];
    uint8_t evidence_sha256[32];
    unsigned change; /* set by tkm_registry_append */
    int key_released;
    tkm_reg_key *keys; /* owned, n_keys entries */
    size_t n_keys;
    uint8_t *claims; /* owned: the exact canonical claims bytes */
    size_t claims_len;
    uint8_t *evidence; /* owned: the evidence bytes as received */
    size_t evidence_len;
} tkm_registration;

TKM_API void tkm_registration_init(tkm_registration *r) TKM_NONNULL(1);
/* Free owned buffers and zero r; NULL-safe. */
TKM_API void tkm_registration_free(tkm_registration *r);
/* Append a key (copied). Returns: OK, TKM_ERR_LIMIT, TKM_ERR_NOMEM, misuse for bad lengths. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_registration_add_key(tkm_registration *r, tkm_reg_key_type type, const uint8_t *pub,
                                                        size_t pub_len, const uint8_t addr[20]) TKM_NONNULL(1, 3);
/* Copy claims/evidence bytes into r (replacing earlier ones). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_registration_set_blobs(tkm_registration *r, const uint8_t *claims, size_t claims_len,
                                                          const uint8_t *evidence, size_t evidence_len) TKM_NONNULL(1);

/* JSON flags */
enum { TKM_REG_JSON_BLOBS = 1 }; /* include "claims" (text) and "evidence" (hex) */
/*
 * The registration as JSON (docs/verifier.md): instanceId, seq, appraisedAt,
 * platform, simulated, measurement, tcbStatus, advisoryIds, tlsPublicKey,
 * auditAddress, keys [{type, publicKey, address?}], policyHash,
 * policyVersion, stateVersion, appraisalPolicyHash, institution, reportData,
 * evidenceSha256, changes, keyReleased. Out: *out (caller json_decref's).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_registration_to_json(const tkm_registration *r, unsigned flags, json_t **out)
    TKM_NONNULL(1, 3);
/* Returns: the name of one change bit ("initial", "signerKeys", …), NULL for others. */
TKM_API const char *tkm_reg_change_name(unsigned bit);

typedef struct tkm_registry tkm_registry;

/*
 * Open (creating when absent) the database at path.
 * Returns: OK; TKM_ERR_STORE (cannot open, or the schema is newer/unknown,
 * detail says which); TKM_ERR_NOMEM.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_registry_open(tkm_registry **out, const char *path) TKM_NONNULL(1, 2);
/* NULL-safe. */
TKM_API void tkm_registry_close(tkm_registry *reg);

/*
 * Append r (its seq and change are assigned here, in one transaction with the
 * lookup of the previous registration). Returns: OK; TKM_ERR_STORE;
 * TKM_ERR_STORE_BUSY.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_registry_append(tkm_registry *reg, tkm_registration *r) TKM_NONNULL(1, 2);
/* Out: *out filled (init'd by the callee; free with tkm_registration_free), *found. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_registry_get(tkm_registry *reg, int64_t seq, tkm_registration *out, int *found)
    TKM_NONNULL(1, 3, 4);
/* The current (latest) registration of an instance. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_registry_latest(tkm_registry *reg, const uint8_t instance_id[static 32],
                                                   tkm_registration *out, int *found) TKM_NONNULL(1, 2, 3, 4);
/*
 * Sequence numbers, ascending: of one instance's registrations (instance_id
 * given), or of every instance's current registration (instance_id NULL).
 * At most limit entries after `after` (0 = from the start).
 * Out: *seqs (malloc'd, caller frees; NULL when *n is 0), *n.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_registry_list(tkm_registry *reg, const uint8_t *instance_id, int64_t after,
                                                 size_t limit, int64_t **seqs, size_t *n) TKM_NONNULL(1, 5, 6);

/* Sealed state keys: inserted once per instance, never updated. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_registry_state_key_get(tkm_registry *reg, const uint8_t instance_id[static 32],
                                                          uint8_t sealed[static TKM_SEALED_STATE_KEY_LEN], int *found)
    TKM_NONNULL(1, 2, 3, 4);
/* Returns: OK; TKM_ERR_EXISTS when the instance already has one (read it instead). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_registry_state_key_put(tkm_registry *reg, const uint8_t instance_id[static 32],
                                                          const uint8_t sealed[static TKM_SEALED_STATE_KEY_LEN],
                                                          int64_t now) TKM_NONNULL(1, 2, 3);

/* Monotonic counters. Out: *value, *updated_at (0, 0 and *found = 0 when the instance has none). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_registry_counter_get(tkm_registry *reg, const uint8_t instance_id[static 32],
                                                        uint64_t *value, int64_t *updated_at, int *found)
    TKM_NONNULL(1, 2, 3, 4, 5);
/*
 * Raise the instance's counter to value (a counter starts at 0; equal is an
 * idempotent success so that a retried request after a lost answer works).
 * Out: *current, the counter after the call (on ROLLBACK: the larger value it has).
 * Returns: OK; TKM_ERR_STORE_ROLLBACK when value is below the counter; TKM_ERR_STORE.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_registry_counter_advance(tkm_registry *reg, const uint8_t instance_id[static 32],
                                                            uint64_t value, int64_t now, uint64_t *current)
    TKM_NONNULL(1, 2, 5);

#endif
