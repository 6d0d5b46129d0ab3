/*
 * tkm_registrar.h — keeps a serving instance's teekm-verifier registration
 * current (docs/verifier.md "Freshness and re-attestation"): one thread that
 * registers the instance's claims again
 *   - after each change of them (a key generated, rotated or retired, a policy
 *     activated: the instance's change hook, tkm_instance_on_change), once the
 *     changes have settled: a burst of changes gives one registration, and a
 *     steady stream at most one per max_delay_ms;
 *   - on a schedule, period_ms after the last successful registration;
 *   - after a failure, with a backoff doubling from backoff_min_ms to
 *     backoff_max_ms (a change does not shorten a backoff: a verifier that is
 *     down is not hammered; the retry registers the claims as they are then).
 * Every attempt is one run of the protocol (tkm_instance_reattest: nonce,
 * evidence, attest); nothing runs on the caller's thread: tkm_registrar_wake
 * only signals a condition variable, so the request that made the change (and
 * the signing path, which never calls it) is not slowed by the verifier.
 *
 * Reporting: each outcome is logged (info on success, warning on failure with
 * the error and the next attempt), counted in the metrics
 *   teekm_verifier_registrations_total{result="ok"|"unreachable"|"refused"|"error"}
 *   teekm_verifier_last_registration_timestamp_seconds   (0 = none since start)
 *   teekm_verifier_registration_pending                  (1 = the registry lags behind)
 * and shown in /healthz under "verifier" (tkm_registrar_status_json), without
 * bearing on the health status: a registration is not what serving needs.
 * The start's own registration (made by tkm_instance_open) is counted too.
 *
 * Lifecycle: tkm_registrar_start (before the server starts: it adds the
 * /healthz information) → … → tkm_registrar_stop (detaches the hook, waits
 * for an attempt in progress: bounded by the HTTP timeouts) → the server is
 * freed (its metric and health callbacks point here) → tkm_registrar_free.
 * Ownership: the instance, metrics registry and server are borrowed.
 * Thread-safety: wake and the status functions from any thread; start, stop
 * and free from one thread.
 * Secrets: none (the registration's evidence and claims are public).
 */
#ifndef TKM_REGISTRAR_H
#define TKM_REGISTRAR_H

#include "tkm_http.h"
#include "tkm_instance.h"
#include "tkm_metrics.h"

/* Outcome classes (the metric's result label). */
typedef enum {
    TKM_REGISTRAR_OK = 0,
    TKM_REGISTRAR_UNREACHABLE = 1, /* NETWORK, TIMEOUT, HTTP_STATUS: the verifier away or failing */
    TKM_REGISTRAR_REFUSED = 2,     /* APPRAISAL: the verifier answered and does not accept the evidence */
    TKM_REGISTRAR_ERROR = 3,       /* anything else: TLS (certificate not trusted), malformed answers, local */
    TKM_REGISTRAR_RESULTS = 4
} tkm_registrar_result;

/* The class of an attempt's error code, and its label ("ok", "unreachable", "refused", "error"). */
TKM_API tkm_registrar_result tkm_registrar_classify(tkm_err code);
TKM_API const char *tkm_registrar_result_name(tkm_registrar_result r);

/* One registration attempt (tests replace tkm_instance_reattest with it). */
typedef tkm_rc (*tkm_registrar_attempt_fn)(void *arg);

typedef struct {
    tkm_instance *instance;     /* borrowed; NULL only with attempt (tests) */
    unsigned period_ms;         /* the schedule: this long after the last success; 0 = no schedule */
    unsigned settle_ms;         /* quiet time after a change before registering (0 = 300) */
    unsigned max_delay_ms;      /* a change waits at most this long, however many follow (0 = 2000) */
    unsigned backoff_min_ms;    /* first pause after a failure (0 = 1000) */
    unsigned backoff_max_ms;    /* largest pause (0 = 60000); never more than period_ms when there is a schedule */
    tkm_metrics *metrics;       /* NULL = no metrics */
    tkm_api_server *server;     /* NULL = no /healthz information; else not started yet */
    tkm_registrar_attempt_fn attempt; /* NULL = tkm_instance_reattest(instance) */
    void *attempt_arg;
} tkm_registrar_config;

typedef struct tkm_registrar tkm_registrar;

typedef struct {
    int64_t last_ok;               /* Unix time of the last successful registration; 0 = none */
    int64_t last_attempt;          /* Unix time of the last attempt; 0 = none */
    tkm_err last_err;              /* the last attempt's outcome (TKM_OK: succeeded, or none yet) */
    uint64_t attempts;             /* counted since start, the start's own included */
    uint64_t by_result[TKM_REGISTRAR_RESULTS];
    uint64_t consecutive_failures; /* 0 after a success */
    int pending;                   /* 1: a change or a failure not yet made good by a successful registration */
} tkm_registrar_status;

/*
 * Start the thread; hook the instance's change notifications; register the
 * metrics and the /healthz information. The outcome of the instance's last
 * registration (tkm_instance_registration_info: the one its open made) seeds
 * the state: a failure there is retried after backoff_min_ms, a success
 * starts the schedule.
 * Out: *out (free with tkm_registrar_free). Returns: OK; TKM_ERR_EXISTS (the
 * metric names or "verifier" health information already registered);
 * TKM_ERR_NOMEM; TKM_ERR_INTERNAL (no thread). On failure some callbacks may
 * already be registered in cfg->metrics / cfg->server, pointing to freed
 * memory: the caller must then neither start that server nor render that
 * registry (teekmd gives up its start).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_registrar_start(tkm_registrar **out, const tkm_registrar_config *cfg);
/* A change of the claims: register soon (coalesced). Quick; never blocks on the verifier. */
TKM_API void tkm_registrar_wake(tkm_registrar *r) TKM_NONNULL(1);
/* Out: *out, a consistent snapshot. */
TKM_API void tkm_registrar_status_get(tkm_registrar *r, tkm_registrar_status *out) TKM_NONNULL(1, 2);
/*
 * The /healthz "verifier" object: {lastRegistration (Unix time or null),
 * lastAttempt (or null), lastResult ("ok", an error name, or null),
 * consecutiveFailures, pending}. New reference; NULL when out of memory.
 */
TKM_API json_t *tkm_registrar_status_json(tkm_registrar *r) TKM_NONNULL(1);
/* Detach from the instance, stop the thread (after an attempt in progress). Idempotent; NULL-safe. */
TKM_API void tkm_registrar_stop(tkm_registrar *r);
/* Stop, then free. After the server given in the config is freed. NULL-safe. */
TKM_API void tkm_registrar_free(tkm_registrar *r);

#endif
