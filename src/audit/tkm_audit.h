/*
 * tkm_audit.h — the hash-chained, signed audit log (docs/audit.md).
 *
 * A record is one line of canonical JSON (RFC 8785):
 *   {"body":{…},"hash":"0x…","prev":"0x…","seq":N,"sig":"0x…"|null,"time":T,"type":"…"}
 *  - seq counts from 1 with no gaps; time is the effective time (never
 *    decreases); type is one of the event names below; body is an object.
 *  - hash = SHA-256 of the canonical JSON of the record without "hash" and
 *    "sig": {"body":…,"prev":…,"seq":…,"time":…,"type":…}. (SHA-256 rather
 *    than Keccak: every auditor's toolbox has it, and it is several times
 *    faster on the signing path.)
 *  - prev is the previous record's hash (32 zero bytes for record 1).
 *  - sig is a secp256k1 signature (r ‖ s ‖ v, v = 27/28, low s) by the audit
 *    key over the EIP-191 personal message of the 32 hash bytes
 *    (keccak256("\x19Ethereum Signed Message:\n32" ‖ hash)), so
 *    ethers.verifyMessage(getBytes(hash), sig) returns the audit address.
 *    By default only the last record of each commit is signed ("sig": null
 *    on the others): the chain makes that signature cover them. With
 *    sign_every the writer signs every record.
 *  - Record 1 is "init" and its body names the audit address.
 *
 * The writer keeps the records of the current store transaction pending,
 * signs at flush and appends them to the store in that same transaction, so
 * the log and the state always commit together.
 *
 * Secret?: the writer borrows the audit key (tkm_secret). Verify handles no
 * secret. Thread-safety: a writer belongs to the thread holding the store.
 */
#ifndef TKM_AUDIT_H
#define TKM_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "../store/store.h"

#define TKM_AUDIT_LINE_MAX ((size_t)64 << 10)

typedef enum {
    TKM_AUDIT_INIT = 0,
    TKM_AUDIT_KEY_GENERATED,
    TKM_AUDIT_KEY_IMPORTED,
    TKM_AUDIT_KEY_ROTATED,
    TKM_AUDIT_KEY_RETIRED,
    TKM_AUDIT_POLICY_ACTIVATED,
    TKM_AUDIT_SIGN_ALLOWED,
    TKM_AUDIT_SIGN_REJECTED,
    TKM_AUDIT_ATTESTATION_PRODUCED,
    TKM_AUDIT_STATE_OPENED,
    TKM_AUDIT_ACCESS_DENIED, /* a caller refused by the transport (401) or for a missing role (403) */
    TKM_AUDIT_REQUEST_PREPARED,  /* teekm_prepare: a request now waits for approvals (durable) */
    TKM_AUDIT_APPROVAL_RECEIVED, /* an approval collected for a prepared request or a policy proposal */
    TKM_AUDIT_POLICY_PROPOSED,   /* a policy proposal now waits for the admins' approvals (durable) */
    TKM_AUDIT_HOST_CLOCK,    /* the host clock left (or came back within) the skew around the verifier's trusted time */
    TKM_AUDIT_EVENT_COUNT
} tkm_audit_event;

/* Returns: "init", "key_generated", …; NULL for an unknown value. */
TKM_API const char *tkm_audit_event_name(tkm_audit_event e);

typedef struct tkm_audit_writer tkm_audit_writer;

/*
 * Out: *out (caller frees with tkm_audit_writer_free). store and key are
 * borrowed and must outlive the writer.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_audit_writer_new(tkm_audit_writer **out, tkm_store *store,
                                                    const tkm_secret *audit_key, int sign_every);
TKM_API void tkm_audit_writer_free(tkm_audit_writer *w);
/*
 * Queue a record (inside the store transaction). body is borrowed (not
 * stolen) and canonicalized now. Out: *seq (may be NULL).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_audit_add(tkm_audit_writer *w, int64_t time, tkm_audit_event type,
                                             const json_t *body, uint64_t *seq);
/*
 * The same with a body already in canonical form (the caller guarantees it:
 * verify re-canonicalizes every record and would reject the log otherwise).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_audit_add_canonical(tkm_audit_writer *w, int64_t time, tkm_audit_event type,
                                                       const uint8_t *body, size_t body_len, uint64_t *seq);
/* Sign and append the queued records to the store (before tkm_store_commit). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_audit_flush(tkm_audit_writer *w);
/* Drop queued records (after a rollback). */
TKM_API void tkm_audit_discard(tkm_audit_writer *w);

/* Record hash and EIP-191 digest helpers (also used by verify). */
TKM_API void tkm_audit_sig_digest(uint8_t out[static 32], const uint8_t hash[static 32]);

/* Write every record as JSON Lines through fn (one call per line, newline included). */
typedef int (*tkm_audit_out_fn)(void *ctx, const uint8_t *line, size_t len);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_audit_export(tkm_store *store, tkm_audit_out_fn fn, void *ctx);

typedef struct {
    uint64_t records;
    uint64_t signed_records;
    uint64_t first_seq, last_seq;
    int64_t first_time, last_time;
    uint8_t last_hash[32];
    uint8_t instance_id[32];
    int has_instance_id;
    uint64_t by_type[TKM_AUDIT_EVENT_COUNT];
    uint64_t bad_record; /* record (line) number of the first problem, 0 when none */
} tkm_audit_summary;

/*
 * Verify an exported log offline: JSON Lines, each line canonical; seq
 * contiguous from 1; record 1 is init naming audit_addr; prev links; hashes;
 * times never decrease; every signature recovers to audit_addr; every
 * unsigned record is followed by a signed one (the last record is signed).
 * Out: *sum (filled as far as verification got).
 * Returns: OK; TKM_ERR_AUDIT_CHAIN with "record N: what" in the detail and
 * sum->bad_record = N.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_audit_verify(tkm_audit_summary *sum, const uint8_t *data, size_t len,
                                                const uint8_t audit_addr[static 20]);

#endif
