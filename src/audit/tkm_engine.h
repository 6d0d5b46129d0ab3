/*
 * tkm_engine.h — the decision pipeline teekmd serves: one signing request =
 * evaluate (policy) + record (store) + audit + sign, committed durably as a
 * unit, with group commit.
 *
 * Concurrency: tkm_engine_sign may be called from any number of threads.
 * Requests queue; one caller at a time becomes the leader, takes up to
 * max_batch queued requests and runs them in one store transaction, in queue
 * order (each sees the state left by the ones before it), appends one audit
 * record per decision, signs the last audit record, commits once (fsync),
 * advances the monotonic counter, and only then hands out decisions and
 * signatures. If anything fails before that point, every request of the
 * batch gets the error and nothing is released. Admin operations run alone,
 * in the same queue discipline.
 *
 * Keys: signing keys and the audit key live sealed in the store; the engine
 * unseals a signing key on first use and keeps it as a tkm_secret until the
 * key is rotated/retired or the engine closes.
 *
 * Time: each request carries the host time; the engine uses
 * max(clock(host time), largest time seen), recorded with the batch, where
 * clock is the options' hook (teekmd: the host clock bounded by the
 * verifier's trusted time, tkm_vclock.h) or the identity.
 *
 * Ownership: tkm_engine_init/open return an engine freed by tkm_engine_close.
 * The counter in the options is owned by the engine from then on.
 * Secret?: yes (holds keys). Results never contain key material.
 */
#ifndef TKM_ENGINE_H
#define TKM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "../policy/policy.h"
#include "../store/store.h"
#include "tkm_audit.h"

typedef struct tkm_engine tkm_engine;

/*
 * Start-up check (clone and snapshot detection, tkm_hwm.h): called by
 * tkm_engine_open with the instance id and state version exactly as the
 * store found them, before anything is written. A failure aborts the open.
 */
typedef tkm_rc (*tkm_engine_open_check_fn)(void *ctx, const uint8_t instance_id[32], uint64_t state_version);

/*
 * The clock hook: called with the host time a request (or an admin operation,
 * or an audit event — the open's own included) carries and the active policy
 * (borrowed for the call; NULL while init has none yet), inside the engine's
 * exclusive section: it must not call back into the engine. Returns the time
 * to use before the store's largest-time-seen floor (INT64_MIN: that floor).
 */
typedef int64_t (*tkm_engine_clock_fn)(void *ctx, int64_t host_now, const tkm_policy *policy);

typedef struct {
    const char *dir;
    const tkm_secret *seal_key; /* 32 bytes */
    tkm_counter counter;        /* owned by the engine */
    int fast_unsafe;            /* tests only: synchronous=NORMAL */
    int sign_every_record;      /* audit: sign every record, not just the last of each commit */
    size_t max_batch;           /* 0 = 256 */
    tkm_engine_open_check_fn open_check; /* may be NULL */
    void *open_check_ctx;
    tkm_engine_clock_fn clock;  /* NULL: the host time as given */
    void *clock_ctx;            /* borrowed for the engine's life */
} tkm_engine_opts;

/*
 * Create a new state in o->dir with its first policy (installed without
 * approvals: it is part of what is attested), a fresh audit key, and the
 * audit records init, policy_activated, state_opened.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_init(tkm_engine **out, const tkm_engine_opts *o,
                                               const uint8_t *instance_id, const uint8_t *policy_json,
                                               size_t policy_len, int64_t now);
/* Open an existing state (verified by the store) and audit state_opened. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_open(tkm_engine **out, const tkm_engine_opts *o, int64_t now);
/* NULL-safe; waits for nothing: call when no other thread uses the engine. */
TKM_API void tkm_engine_close(tkm_engine *e);

/*
 * What one queued job does (all of them commit in the batch's transaction):
 *  SIGN    evaluate the intent, record, audit (sign_allowed / sign_rejected), sign;
 *  REJECT  audit a request refused before evaluation (it could not be turned
 *          into an intent, or carried a malformed approval) as sign_rejected
 *          with reject_reason and reject_detail; intent.request_id and
 *          intent.key_label name it (either may be empty);
 *  AUDIT   append one audit record of type audit_type (access_denied or
 *          attestation_produced) with audit_body (borrowed until the call returns).
 */
typedef enum { TKM_JOB_SIGN = 0, TKM_JOB_REJECT = 1, TKM_JOB_AUDIT = 2 } tkm_job_kind;

typedef struct {
    tkm_intent intent;       /* built by the caller (key label, payload, …) */
    tkm_approval approvals[TKM_APPROVALS_MAX];
    size_t n_approvals;
    int64_t host_now;
    int sign;                /* 1: sign with the stored key; 0: decide and record only (offline eval) */
    tkm_key_status key_status; /* used when sign == 0 (the caller knows the key) */
    tkm_job_kind kind;       /* 0 = TKM_JOB_SIGN */
    tkm_reason reject_reason;  /* REJECT */
    char reject_detail[256];   /* REJECT: no secrets */
    tkm_audit_event audit_type; /* AUDIT */
    const json_t *audit_body;   /* AUDIT */
    int drop_pending;           /* SIGN: a prepared record of intent.request_id exists: delete it when allowed */
} tkm_sign_request;

typedef struct {
    tkm_decision decision;
    int has_sig;
    uint8_t sig[TKM_SECP_SIG_LEN]; /* r ‖ s ‖ recid over intent.payload_hash */
    uint64_t audit_seq;
    uint64_t policy_version;
} tkm_sign_result;

/*
 * Decide, record, audit and (if allowed and req->sign) sign one request.
 * Thread-safe (group commit). Returns: OK when a decision was committed
 * (allow or deny: see res->decision); a store/crypto error when none was.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_sign(tkm_engine *e, const tkm_sign_request *req, tkm_sign_result *res);
/* The same for n requests in one commit, on the caller's thread. rcs[i] per request. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_sign_batch(tkm_engine *e, const tkm_sign_request *reqs,
                                                     tkm_sign_result *res, tkm_rc *rcs, size_t n);
/* Audit a request that could not be turned into an intent (reason, detail: no secrets). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_reject(tkm_engine *e, const char *request_id, const char *key_label,
                                                 tkm_reason reason, const char *detail, int64_t host_now,
                                                 uint64_t *audit_seq);

/*
 * Generate signer keys at initialisation (teekm init --key): no approvals (the
 * initial keys are part of the initial, attested state), committed in groups
 * of 256, each audited as key_generated with "initial": true. Refuses labels
 * that exist (TKM_ERR_EXISTS) or are reserved. Out: addrs[0..n).
 * Only for a state that has not served requests yet: the service never calls it.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_keys_initial(tkm_engine *e, const char *const *labels, size_t n,
                                                       int64_t host_now, uint8_t (*addrs)[20]);

/* Key lookup for intent building: *found, address, status. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_key_lookup(tkm_engine *e, const char *label, int *found,
                                                     uint8_t addr[20], tkm_key_status *status);

/*
 * Admin operations, each approved by the admins quorum of the active policy
 * (tkm_approval.h: PolicyUpdate / KeyEvent typed data), each audited.
 * allow_unapproved = 1 skips the quorum (offline eval tool only; audited as such).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_policy_activate(tkm_engine *e, const uint8_t *json, size_t len,
                                                          const tkm_approval *a, size_t n, int64_t host_now,
                                                          int allow_unapproved);
/* key: NULL to generate; an imported secret otherwise (then ev must be IMPORT). Out: addr. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_key_event(tkm_engine *e, tkm_key_event ev, const char *request_id,
                                                    const char *label, const tkm_secret *import_key,
                                                    const tkm_approval *a, size_t n, int64_t host_now,
                                                    uint8_t addr[20]);
/*
 * Requests prepared for approvals and policy proposals (docs/teekmd.md
 * "Approvals workflow"). teekmd serves them from memory and keeps them here,
 * so that approvals already given survive a restart or a crash. Each call
 * below commits alone, with its audit record: OK means durable.
 * tkm_engine_open drops (deletes) what expired: prepared requests past their
 * notAfter, proposals past their expiresAt or no longer above the active
 * version, and inside the survivors every approval past its expiresAt.
 * A prepared request's record is deleted in the commit of the decision that
 * signs it (tkm_sign_request.drop_pending); a proposal's in the commit that
 * activates it (tkm_engine_policy_activate also deletes every proposal at or
 * below the new version).
 */

/*
 * Record a request prepared for approvals (p->n_approvals = 0), audited as
 * request_prepared, and delete the prepared requests named in drop[0..n_drop)
 * (the caller's evictions: expired ones) in the same commit.
 * Out: *out = the record as stored (p, or the one already prepared with this
 * request id, key and payload hash: then nothing is written and *created = 0).
 * Returns: OK; TKM_ERR_REPLAY (the id is prepared for another key or payload);
 * a store error.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_pending_create(tkm_engine *e, const tkm_store_pending *p,
                                                         const char *const *drop, size_t n_drop, int64_t host_now,
                                                         tkm_store_pending *out, int *created);
/*
 * Collect one approval for the prepared request request_id: its signer is
 * recovered over the request's Approval (expiresAt = a->expires_at) and must
 * be in an approver group of the active policy; it replaces an earlier
 * approval by the same signer. The record is rewritten and approval_received
 * audited (signer, groups, digest, signature) in one commit.
 * Out: *stored (the approval as kept: signer set), *count (approvals now held).
 * Returns: OK (durable); TKM_ERR_NOT_FOUND (not prepared, or decided since);
 * TKM_ERR_HIGH_S / TKM_ERR_BAD_SIGNATURE / TKM_ERR_RECOVER / TKM_ERR_VERIFY;
 * TKM_ERR_NOT_APPROVER; TKM_ERR_LIMIT (TKM_APPROVALS_MAX signers); a store error.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_pending_approve(tkm_engine *e, const char *request_id, const tkm_approval *a,
                                                          int64_t host_now, tkm_approval *stored, size_t *count);
/* Visit every prepared request (request id order) under the engine lock; fn returns non-zero to stop. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_pending_visit(tkm_engine *e, tkm_store_pending_fn fn, void *ctx);

/*
 * Record a policy proposal (p->n_approvals = 0; p->doc borrowed): the
 * document must load, hash to p->hash, carry p->version above the active
 * version, and p->prev_* must name the active policy (else
 * TKM_ERR_POLICY_VERSION). Audited as policy_proposed; the proposals named in
 * drop[0..n_drop) are deleted in the same commit. Out: *out = the proposal as
 * stored without its document (out->doc = NULL): p, or the one already open
 * with this hash (then nothing is written and *created = 0).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_proposal_create(tkm_engine *e, const tkm_store_proposal *p,
                                                          const uint8_t (*drop)[32], size_t n_drop, int64_t host_now,
                                                          tkm_store_proposal *out, int *created);
/*
 * Collect one admin approval for the proposal hash (PolicyUpdate with
 * expiresAt = a->expires_at; the signer must be an admin of the active
 * policy). Same shape and errors as tkm_engine_pending_approve.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_proposal_approve(tkm_engine *e, const uint8_t hash[32],
                                                           const tkm_approval *a, int64_t host_now,
                                                           tkm_approval *stored, size_t *count);
/* Visit every proposal under the engine lock (p->doc valid during the call). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_proposal_visit(tkm_engine *e, tkm_store_proposal_fn fn, void *ctx);

/* Audit an event produced elsewhere (attestation_produced, access_denied) in its own commit. body borrowed. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_audit_event(tkm_engine *e, tkm_audit_event type, const json_t *body,
                                                      int64_t host_now);

/*
 * Visit every signer key (sorted by label), under the engine lock: fn gets the
 * key's info and, when with_public is 1, its 65-byte public key (the key is
 * unsealed for that; nothing secret leaves). fn returns non-zero to stop.
 * Returns: OK; a store/crypto error.
 */
typedef int (*tkm_engine_key_fn)(void *ctx, const tkm_store_key_info *info, const uint8_t *pub65);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_keys_visit(tkm_engine *e, int with_public, tkm_engine_key_fn fn,
                                                     void *ctx);
/* The 65-byte public key of one signer key (*found = 0 when there is none). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_key_public(tkm_engine *e, const char *label, int *found,
                                                     tkm_store_key_info *info, uint8_t pub[65]);
/*
 * The recorded (allowed) request with this id: *found and *out. While the
 * last commit's monotonic-counter write has not succeeded, the counter is
 * caught up first and its error returned if that fails (UNAVAILABLE):
 * nothing of an unconfirmed commit leaves by this path.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_request_get(tkm_engine *e, const char *request_id, int *found,
                                                      tkm_store_request *out);
/* Page through the audit log from from_seq (fn returns non-zero to stop), under the engine lock for this call. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_audit_scan(tkm_engine *e, uint64_t from_seq, tkm_store_audit_fn fn,
                                                     void *ctx);
/* The active policy's canonical (JCS) bytes. Out: *json (caller frees), *len. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_policy_canonical(tkm_engine *e, uint8_t **json, size_t *len);
/* State version and last audit sequence number (thread-safe, under the engine lock). */
TKM_API void tkm_engine_state_info(tkm_engine *e, uint64_t *state_version, uint64_t *audit_seq);
/*
 * Returns: OK while the state is open for writing; TKM_ERR_STORE_CLOSED after a
 * failed commit or a counter that refused for good (nothing more is decided
 * until a restart re-verifies the state); TKM_ERR_UNAVAILABLE while the last
 * commit's counter write has not succeeded (every batch retries it first,
 * tkm_store.h; so does tkm_engine_counter_catch_up). Lock-free: for health checks.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_health(const tkm_engine *e);
/*
 * When the last commit's counter write failed, retry it now (no request
 * needed: a service that is routed away from while unhealthy still recovers).
 * Returns: OK (nothing to do, or caught up); the counter's error.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_counter_catch_up(tkm_engine *e) TKM_NONNULL(1);

/*
 * Sign a teekm-verifier counter request (docs/verifier.md "Monotonic counters
 * and trusted time") with the audit key: the EIP-712 CounterRequest over this
 * engine's instance id, op ("read", value 0; or "advance"), value and the
 * caller's 32-byte random challenge (tkm_counter_request_digest). Nothing else
 * can be signed with the audit key through this call: the digest is built
 * here. Out: sig = r ‖ s ‖ v with v 27/28, checked to recover to the audit key.
 * Thread-safe and lock-free (usable from inside a commit's counter hook).
 * Returns: OK; TKM_ERR_SIGN_SELFCHECK; misuse for another op.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_counter_request_sign(const tkm_engine *e, const char *op, uint64_t value,
                                                               const uint8_t challenge[static 32],
                                                               uint8_t sig[static 65]);

/* Accessors (thread-safe). */
TKM_API void tkm_engine_instance_id(const tkm_engine *e, uint8_t out[32]);
TKM_API void tkm_engine_audit_address(const tkm_engine *e, uint8_t out[20]);
TKM_API void tkm_engine_policy_info(tkm_engine *e, uint64_t *version, uint8_t hash[32]);
/*
 * Run fn with the active policy (borrowed for the duration of the call, under
 * the engine lock): for building intents against the listed assets.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_with_policy(tkm_engine *e, tkm_rc (*fn)(void *ctx, const tkm_policy *p),
                                                      void *ctx);
/* Export the audit log (JSON Lines) through fn. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_engine_audit_export(tkm_engine *e, tkm_audit_out_fn fn, void *ctx);

#endif
