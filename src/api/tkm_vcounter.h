/*
 * tkm_vcounter.h — teekmd's client of teekm-verifier's monotonic counter and
 * trusted time (docs/verifier.md "Monotonic counters and trusted time";
 * docs/teekmd.md "Remote counter and trusted time").
 *
 * Every request is POST /v1/instances/{id}/counter with a fresh 32-byte random
 * challenge, signed with the instance's audit key through a callback
 * (tkm_engine_counter_request_sign). Every answer is checked before anything
 * is taken from it (tkm_vcounter_state_check): its fields exactly, the
 * instance id, the echo of our challenge (so it is neither replayed nor meant
 * for another request), and the verifier's signature over the EIP-712
 * CounterState, which must recover to the signer address pinned for this
 * instance (recorded in instance.json under its MAC; never taken from the
 * answer itself). A verified answer's `time` is a trusted time: it anchors
 * the evaluation clock (tkm_vclock.h) at the monotonic reading of its arrival.
 *
 * The counter hook (tkm_vcounter_hook) wraps the local file counter: reads
 * are the file's (the store's open check), every advance raises the file,
 * then — once armed — the verifier's counter, synchronously, before the store
 * lets any result of the commit out. Arming happens after the state opened
 * and the instance registered (the verifier only takes requests signed by a
 * registered audit key): tkm_vcounter_arm reads the remote counter and
 * refuses a state opened at a version below it (STORE_ROLLBACK: an older copy
 * of the whole data directory, local counter and high-water mark included).
 *
 * Failures: an unreachable verifier (connect, timeout, 502/503/504) is tried
 * 1 + retries times, then TKM_ERR_UNAVAILABLE naming the verifier; for
 * fail_fast_ms after such a failure further calls fail at once with the same
 * error (a black-holed verifier does not stall every commit for its
 * timeouts). A 409 STORE_ROLLBACK answer (the remote counter is above the
 * value advanced to: a newer copy of this state exists) is checked like any
 * answer and returned as TKM_ERR_STORE_ROLLBACK. REGISTRATION_STALE,
 * NOT_REGISTERED and FORBIDDEN come back as themselves (the instance must
 * register again: tkm_vcounter_needs_registration).
 *
 * Ownership: tkm_vcounter_new returns a client freed by tkm_vcounter_free,
 * which must outlive every hook made from it (close the engine first).
 * Thread-safety: every call may come from any thread; requests are serialised
 * on one keep-alive HTTPS connection.
 * Secrets: none held (the audit key stays in the engine).
 */
#ifndef TKM_VCOUNTER_H
#define TKM_VCOUNTER_H

#include <stdint.h>

#include "../core/core.h"
#include "../store/store.h"
#include "tkm_metrics.h"
#include "tkm_vclock.h"

typedef struct {
    uint64_t value; /* the verifier's counter for this instance */
    int64_t time;   /* the verifier's clock when it answered (unix seconds) */
} tkm_vcounter_state;

/*
 * Check one CounterState object (the 200 answer, or the "counter" member of a
 * 409): exactly the fields instanceId, value, time, challenge, signature,
 * verifier; instanceId = instance_id (TKM_ERR_VERIFY otherwise); challenge =
 * ours (TKM_ERR_VERIFY); signature 65 bytes r ‖ s ‖ v, v 27 or 28, low s,
 * over tkm_counter_state_digest(instanceId, value, time, challenge) and
 * recovering to signer (TKM_ERR_BAD_SIGNATURE otherwise); "verifier" = that
 * address. value and time are integers 0..2^53−1. Out: *out (zeroed on failure).
 * Returns: OK or the error named (JSON errors for malformed fields), with a detail.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vcounter_state_check(tkm_vcounter_state *out, const json_t *st,
                                                        const uint8_t signer[static 20],
                                                        const uint8_t instance_id[static 32],
                                                        const uint8_t challenge[static 32]) TKM_NONNULL(1);

/*
 * The whole check of one answer to our request (op, value, challenge): status
 * 200 → the state, checked as above, and for an advance its value must not be
 * below the one asked for (TKM_ERR_VERIFY: a verifier that did not advance);
 * 409 STORE_ROLLBACK to an advance with a "counter" state above value →
 * TKM_ERR_STORE_ROLLBACK with *out filled (checked like any answer);
 * REGISTRATION_STALE / NOT_REGISTERED / FORBIDDEN → that code and
 * *needs_registration = 1; any other error status → TKM_ERR_HTTP_STATUS.
 * Returns: OK with *out; the errors named, each with a detail.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vcounter_answer_check(tkm_vcounter_state *out, int *needs_registration,
                                                         long status, const json_t *ans, const char *op,
                                                         uint64_t value, const uint8_t signer[static 20],
                                                         const uint8_t instance_id[static 32],
                                                         const uint8_t challenge[static 32]) TKM_NONNULL(1, 2, 5);

/* Signs a counter request with the audit key (tkm_engine_counter_request_sign's contract). */
typedef tkm_rc (*tkm_vcounter_sign_fn)(void *ctx, const char *op, uint64_t value, const uint8_t challenge[32],
                                       uint8_t sig[65]);

typedef struct {
    const char *url;          /* https:// base URL of the verifier */
    const char *ca_file;      /* PEM its TLS certificate must chain to */
    const uint8_t *instance_id; /* 32 bytes */
    unsigned retries;         /* extra attempts on a transient failure (default 0) */
    unsigned backoff_ms;      /* pause before the first retry, doubling (0 = 100) */
    unsigned connect_timeout_ms; /* 0 = 2000 */
    unsigned timeout_ms;      /* whole request, 0 = 5000 */
    unsigned fail_fast_ms;    /* 0 = 1000 */
} tkm_vcounter_config;

typedef struct tkm_vcounter tkm_vcounter;

/* Out: *out (strings copied). Returns: OK; TKM_ERR_FORMAT (URL); TKM_ERR_NOMEM. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vcounter_new(tkm_vcounter **out, const tkm_vcounter_config *cfg) TKM_NONNULL(1, 2);
/* NULL-safe. */
TKM_API void tkm_vcounter_free(tkm_vcounter *vc);

/* GET /v1/verifier → its "signer" address (over the CA-pinned TLS; for a first pin or a comparison). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vcounter_fetch_signer(tkm_vcounter *vc, uint8_t signer[static 20]) TKM_NONNULL(1);
/* The address every answer must be signed by. Call before any read/advance. */
TKM_API void tkm_vcounter_pin(tkm_vcounter *vc, const uint8_t signer[static 20]) TKM_NONNULL(1);
/* The request signer (the engine's audit key) and the clock to anchor; both borrowed. */
TKM_API void tkm_vcounter_attach(tkm_vcounter *vc, tkm_vcounter_sign_fn sign, void *sign_ctx, tkm_vclock *clock)
    TKM_NONNULL(1, 2);

/* A fresh read. Out: *st (verified). Returns: OK; see above. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vcounter_read(tkm_vcounter *vc, tkm_vcounter_state *st) TKM_NONNULL(1, 2);
/* Raise the remote counter to value (equal: unchanged). Out: *st. Returns: OK; STORE_ROLLBACK; see above. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vcounter_advance(tkm_vcounter *vc, uint64_t value, tkm_vcounter_state *st)
    TKM_NONNULL(1, 3);

/*
 * The store's counter hook over `local` (ownership of local passes to the
 * hook, also on failure) and vc (borrowed). Until tkm_vcounter_arm succeeds,
 * advances go to the local counter only.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vcounter_hook(tkm_counter *out, tkm_counter local, tkm_vcounter *vc)
    TKM_NONNULL(1, 3);
/*
 * Arm the remote side: read the remote counter R; open_version (the state's
 * version as the store found it at open, before anything was written) below
 * R is TKM_ERR_STORE_ROLLBACK; else advance R to current_version. From then on
 * every commit advances the remote counter.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vcounter_arm(tkm_vcounter *vc, uint64_t open_version, uint64_t current_version)
    TKM_NONNULL(1);
TKM_API int tkm_vcounter_armed(tkm_vcounter *vc) TKM_NONNULL(1);
/* 1 after an answer said the instance must register again (stale, unknown, or its audit key not registered). */
TKM_API int tkm_vcounter_needs_registration(tkm_vcounter *vc) TKM_NONNULL(1);

typedef struct {
    uint64_t ok, failed;      /* requests answered and verified / not */
    uint64_t last_value;      /* the last verified counter value */
    int up;                   /* the last request succeeded */
    double last_seconds;      /* duration of the last successful request */
    tkm_err last_error;       /* TKM_OK when none */
} tkm_vcounter_status;
TKM_API void tkm_vcounter_status_get(tkm_vcounter *vc, tkm_vcounter_status *st) TKM_NONNULL(1, 2);

#endif
