/*
 * tkm_store.h — protected state (docs/store.md).
 *
 * Model: one table of rows (table, key, value) behind a small backend
 * interface (SQLite in WAL mode today; PostgreSQL can implement the same five
 * operations). Over it, this layer keeps:
 *  - a MAC on every row: the first half of HMAC-SHA512(K_row, table ‖ key ‖
 *    value); the second half is the row's secret term in the set hash;
 *  - a head: store version (grows by one per commit), a keyed set hash of all
 *    rows (sum mod 2^256 of the rows' terms), the row count, the largest
 *    time seen, the audit tail, all MAC'd with K_head;
 *  - a monotonic counter (tkm_counter.h) raised to the version after every
 *    commit, before results are released.
 * At open every row is read and checked: an edited row fails its MAC; a
 * deleted, added or older-version row changes the set hash; an older copy of
 * the whole database has a version below the counter. Each is refused with
 * TKM_ERR_STORE_TAMPER or TKM_ERR_STORE_ROLLBACK and a detail saying what.
 * K_row, K_head and K_seal are derived (HKDF) from a random 32-byte
 * state key, which is stored wrapped (AES-256-GCM) under the platform seal key.
 * Key material is stored only sealed under K_seal.
 *
 * Transactions: one writer. tkm_store_begin … tkm_store_commit groups any
 * number of records into one durable commit (group commit); rollback drops
 * them and restores the in-memory state. A failed commit, or a counter that
 * refuses for good (ROLLBACK, COUNTER), closes the store for writing
 * (TKM_ERR_STORE_CLOSED) until reopened. A counter write that fails otherwise
 * (I/O, a remote counter that is unreachable) leaves the committed state in
 * place, unreleased: the next tkm_store_begin retries the counter and fails
 * with its error, writing nothing, until the counter has caught up.
 *
 * Thread-safety: none; the caller serializes (tkm_engine does).
 * Ownership: tkm_store_create/open return a store freed by tkm_store_close
 * (which also closes the counter). Returned strings/views live until the next
 * call on the store unless said otherwise.
 */
#ifndef TKM_STORE_H
#define TKM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "../policy/policy.h"
#include "tkm_counter.h"

#define TKM_STORE_FORMAT 1
#define TKM_STORE_RESULT_MAX 1024 /* stored result of a request (e.g. a signature) */
#define TKM_STORE_DB_NAME "state.db"
#define TKM_STORE_MAX_KEYS 65536 /* keys (signer + audit) in one state */

typedef struct tkm_store tkm_store;

typedef struct {
    const char *dir;            /* data directory (created 0700 by create) */
    const tkm_secret *seal_key; /* 32 bytes from the platform */
    tkm_counter counter;        /* owned by the store from now on (closed by it, also on failure) */
    int fast_unsafe;            /* 1: synchronous=NORMAL (tests only: a crash may lose the last commits) */
} tkm_store_opts;

/*
 * Create a new store in o->dir (which must not hold an initialised one; the
 * leftover of an initialisation that never committed is removed). instance_id
 * may be NULL (a random one is drawn). The new store is returned inside its
 * first transaction: the caller adds its initial records (keys, policy, audit)
 * and tkm_store_commit makes them version 1 together, so an interrupted
 * initialisation leaves nothing usable behind.
 * Returns: OK; TKM_ERR_EXISTS; TKM_ERR_IO; TKM_ERR_STORE.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_create(tkm_store **out, const tkm_store_opts *o,
                                                const uint8_t *instance_id);
/*
 * Open and verify an existing store (see above).
 * Returns: OK; TKM_ERR_NOT_FOUND (no state, or one whose initialisation never
 * committed); TKM_ERR_STORE_FORMAT; TKM_ERR_STORE_TAMPER;
 * TKM_ERR_STORE_ROLLBACK; TKM_ERR_STORE_COUNTER; TKM_ERR_STORE_BUSY (another
 * process has it open); TKM_ERR_IO.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_open(tkm_store **out, const tkm_store_opts *o);
/* NULL-safe. An open transaction is rolled back. */
TKM_API void tkm_store_close(tkm_store *s);

TKM_API const uint8_t *tkm_store_instance_id(const tkm_store *s);
TKM_API uint64_t tkm_store_version(const tkm_store *s);
/* Largest time recorded (0 for a new store). */
TKM_API int64_t tkm_store_max_time(const tkm_store *s);

TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_begin(tkm_store *s);
/*
 * Durable commit, version + 1, counter advanced. On any failure nothing of the
 * transaction may be released; see above for what the store does next.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_commit(tkm_store *s);
TKM_API void tkm_store_rollback(tkm_store *s);
/* Returns: 1 inside a transaction. */
TKM_API int tkm_store_in_txn(const tkm_store *s);
/* Returns: 1 when a failed commit or counter write closed the store for writing (reopen to recover). */
TKM_API int tkm_store_is_failed(const tkm_store *s);
/* Returns: 1 while the last commit's counter write has not succeeded yet (retried by tkm_store_begin). */
TKM_API int tkm_store_counter_behind(const tkm_store *s);

/*
 * Effective time: max(host_now, largest time seen). Inside a transaction the
 * largest time is raised to it (recorded at commit).
 */
TKM_API int64_t tkm_store_observe_time(tkm_store *s, int64_t host_now);

/* ---- requests, nonces, window spends, used approvals ---- */

typedef struct {
    char request_id[TKM_REQUEST_ID_MAX + 1];
    uint8_t key[TKM_ETH_ADDR_LEN];
    uint8_t payload_hash[32];
    int64_t time;
    uint64_t policy_version;
    char rule_id[TKM_POLICY_NAME_MAX + 1];
    char asset[TKM_POLICY_NAME_MAX + 1]; /* "" when nothing was charged */
    int charged;
    tkm_u256 amount;
    size_t result_len;
    uint8_t result[TKM_STORE_RESULT_MAX];
} tkm_store_request;

/* Out: *found, and *out when found. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_request_get(tkm_store *s, const char *request_id, int *found,
                                                     tkm_store_request *out);
/*
 * Record an allowed request (inside a transaction): the request row, the
 * nonce row when the intent has one (kept if the same payload is already
 * there), the window spend when charged, and each used approval.
 * Returns: OK; TKM_ERR_EXISTS (request id already recorded); TKM_ERR_NONCE_CONFLICT.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_record_allowed(tkm_store *s, const tkm_intent *it,
                                                        const tkm_decision *d, uint64_t policy_version,
                                                        const char *asset_name, const uint8_t *result,
                                                        size_t result_len);
/* Sum of spends charged to (rule, asset) at times > since (served from memory). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_window_spent(tkm_store *s, const char *rule_id, const char *asset,
                                                      int64_t since, tkm_u256 *spent);
/* A tkm_policy_state reading this store (valid while s is open). */
TKM_API void tkm_store_policy_state(tkm_store *s, tkm_policy_state *st);
/* Record an approval digest as used outside a request (admin approvals). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_approval_use(tkm_store *s, const uint8_t digest[32],
                                                      const uint8_t signer[20], const char *context);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_approval_used(tkm_store *s, const uint8_t digest[32],
                                                       const uint8_t signer[20], int *used);

/*
 * ---- requests prepared for approvals, policy proposals ----
 *
 * What teekmd collects between a teekm_prepare (or a policy proposal) and
 * the decision that consumes it, so that a restart or a crash does not lose
 * approvals people already gave. One row per request (keyed by request id)
 * or proposal (keyed by policy hash), rewritten whole when an approval is
 * added and deleted when the request is signed or the proposal activated
 * (or when it expires). An approval is kept as accepted: its signature, the
 * expiresAt it signed and its recovered signer (has_signer = 1). Nothing in
 * them is secret (an approval is its signer's signed statement).
 * The encodings (docs/store.md) are canonical: decode(encode(x)) = x, and
 * bytes that decode re-encode to themselves.
 */
typedef struct {
    tkm_intent intent; /* as prepared: request_id (the row key), key, payload_hash, not_after, … */
    int64_t created;
    size_t n_approvals; /* <= TKM_APPROVALS_MAX */
    tkm_approval approvals[TKM_APPROVALS_MAX];
} tkm_store_pending;

typedef struct {
    uint64_t version;
    uint8_t hash[32]; /* the proposed policy's hash (the row key) */
    uint64_t prev_version;
    uint8_t prev_hash[32];
    uint64_t expires_at;
    int64_t created;
    size_t n_approvals;
    tkm_approval approvals[TKM_APPROVALS_MAX];
    uint8_t *doc; /* the canonical policy document (ownership: see each function) */
    size_t doc_len;
} tkm_store_proposal;

/*
 * Encode / decode one record value (pure; the store MACs what it writes, so
 * decode only ever sees its own bytes, but it is strict anyway: enums,
 * lengths, flags and request ids are checked, nothing may trail).
 * An approval without has_signer cannot be encoded (caller bug: misuse).
 * proposal_decode: out->doc points into v (borrowed while v lives).
 * Returns: OK; TKM_ERR_STORE_RECORD (detail: what) for bytes that are not one.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_pending_encode(tkm_wr *w, const tkm_store_pending *p);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_pending_decode(tkm_store_pending *out, const uint8_t *v, size_t n);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_proposal_encode(tkm_wr *w, const tkm_store_proposal *p);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_proposal_decode(tkm_store_proposal *out, const uint8_t *v, size_t n);

/* Insert or replace the record of p->intent.request_id (inside a transaction). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_pending_put(tkm_store *s, const tkm_store_pending *p);
/* Out: *found, and *out when found. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_pending_get(tkm_store *s, const char *request_id, int *found,
                                                     tkm_store_pending *out);
/* Delete it when present (inside a transaction). Out: *deleted (may be NULL). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_pending_delete(tkm_store *s, const char *request_id, int *deleted);
/* Visit every record (request id order); fn returns non-zero to stop. p is valid during the call. */
typedef int (*tkm_store_pending_fn)(void *ctx, const tkm_store_pending *p);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_pending_scan(tkm_store *s, tkm_store_pending_fn fn, void *ctx);

/* The same for proposals. put: p->doc borrowed. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_proposal_put(tkm_store *s, const tkm_store_proposal *p);
/* Out: *found, *out; out->doc is the caller's (free) when found. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_proposal_get(tkm_store *s, const uint8_t hash[32], int *found,
                                                      tkm_store_proposal *out);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_proposal_delete(tkm_store *s, const uint8_t hash[32], int *deleted);
/* p and p->doc are valid during the call. */
typedef int (*tkm_store_proposal_fn)(void *ctx, const tkm_store_proposal *p);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_proposal_scan(tkm_store *s, tkm_store_proposal_fn fn, void *ctx);

/* ---- keys (sealed) ---- */

typedef enum { TKM_KEY_ROLE_SIGNER = 0, TKM_KEY_ROLE_AUDIT = 1 } tkm_key_role;
typedef enum { TKM_STORE_KEY_ACTIVE = 0, TKM_STORE_KEY_RETIRED = 1 } tkm_store_key_status;

typedef struct {
    char label[TKM_POLICY_NAME_MAX + 1];
    uint8_t address[TKM_ETH_ADDR_LEN];
    tkm_key_role role;
    tkm_store_key_status status;
    int64_t created;
} tkm_store_key_info;

/* Insert or replace the key under label, sealed (inside a transaction). Secret: sk. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_key_put(tkm_store *s, const tkm_store_key_info *info,
                                                 const tkm_secret *sk);
/* Change a key's status (inside a transaction); TKM_ERR_NOT_FOUND when absent. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_key_set_status(tkm_store *s, const char *label,
                                                        tkm_store_key_status st);
/* Key info by label (*found). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_key_info_get(tkm_store *s, const char *label, int *found,
                                                      tkm_store_key_info *out);
/* Unseal a key's secret. Out: *sk (caller frees with tkm_secret_free). Secret: yes. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_key_unseal(tkm_store *s, const char *label, tkm_secret **sk);
/* Returns: the number of keys (every role and status). */
TKM_API size_t tkm_store_key_count(const tkm_store *s);
/* Out: *n keys listed into out[0..cap) (sorted by label). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_key_list(tkm_store *s, tkm_store_key_info *out, size_t cap, size_t *n);

/* ---- policy ---- */

/* Record a policy (inside a transaction); its version must exceed the active one. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_policy_put(tkm_store *s, const tkm_policy *p, int64_t now);
/* The active (highest version) policy's canonical bytes. Out: *json (caller frees), *found. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_policy_active(tkm_store *s, uint8_t **json, size_t *len, int *found);

/* ---- audit rows (record format: audit module) ---- */

/* Tail of the audit chain: last seq (0 when empty) and its record hash (zeros when empty). */
TKM_API void tkm_store_audit_tail(const tkm_store *s, uint64_t *seq, uint8_t hash[32]);
/*
 * Append count records first_seq.. (first_seq = tail + 1) given as their
 * lines, each ending in '\n' (none inside), with the last record's hash
 * (inside a transaction). One call per commit.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_audit_append(tkm_store *s, uint64_t first_seq, uint32_t count,
                                                      const uint8_t last_hash[32], const uint8_t *lines, size_t len);
/*
 * Call fn for each record line (newline included) from from_seq on, in order;
 * fn returns non-zero to stop. Starts at the commit that holds from_seq (the
 * rows before it are not read), so paging through the log costs what it reads.
 */
typedef int (*tkm_store_audit_fn)(void *ctx, uint64_t seq, const uint8_t *rec, size_t len);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_store_audit_scan(tkm_store *s, uint64_t from_seq, tkm_store_audit_fn fn,
                                                    void *ctx);

#endif
