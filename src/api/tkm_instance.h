/*
 * tkm_instance.h — the data directory of a teekmd instance: creating it
 * (`teekm init`, which runs `teekmd init`), opening it at start-up with the
 * clone/snapshot checks, and the attestation it presents (RA-TLS certificate,
 * fresh evidence on request).
 *
 * Layout of DIR (docs/teekmd.md "Data directory"):
 *   instance.json       instance id, platform, audit address, operator certificate
 *                       fingerprint, stateKey (seal|verifier), verifier.url;
 *                       MAC'd with the root's key of label "teekm/instance/v1"
 *   lock                held (flock) by the process using the directory
 *   sim.key             sim platform only: its P-256 key (0600)
 *   state.db, counter   the protected state (store) and its monotonic counter
 *   hwm                 the attested high-water mark (tkm_hwm.h)
 *   tls.crt             the RA-TLS certificate currently served (PEM, public);
 *                       rewritten at every start — clients that trust it as
 *                       their CA file re-read it after a restart
 *   client-ca.crt       the local client CA (its private key is not kept)
 *   client/operator.crt, client/operator.key (0600)
 *                       the operator's client certificate: all roles
 * A verifier given to a seal-keyed instance (init, open) is for registration
 * only: nothing about it is recorded, it is given at every start.
 * Everything secret is sealed under keys derived from the instance's root key
 * (state key, signing keys, audit key) or never written (the TLS key is made
 * at every start inside the TEE). The root is the platform seal key, or — on
 * TDX, which has none, or when chosen with state_key "verifier" — the 32-byte
 * key teekm-verifier releases after appraising this instance's evidence
 * (docs/teekmd.md "State key from teekm-verifier"): asked for at init and at
 * every open, held only in a tkm_secret, never written. instance.json records
 * which ("stateKey") and the verifier's URL; its MAC is under the root's key,
 * so an edited source or URL fails the MAC. The operator's client key is the one thing
 * handed out in clear: it is the operator's credential, not a signing key.
 *
 * The state is sealed by the binary that creates it (the sim and SGX seal
 * keys depend on the measurement): initialise with the same teekmd binary
 * that will serve the directory.
 *
 * Clone and snapshot detection at open: the store refuses a database older
 * than its counter or belonging to another instance; the attested high-water
 * mark (DIR/hwm) refuses a state older than one already put into evidence,
 * and the instance id of instance.json must be the state's. The counter and
 * the mark are files on the host's disk (docs/attestation.md §5 says what that
 * does not stop). With "remoteCounter" (instance.json, under the MAC) every
 * commit also advances teekm-verifier's counter and the state opened must not
 * be older than it (vtrust.c, tkm_vcounter.h): that stops a host restoring
 * the whole directory. With any verifier, the evaluation clock is bounded by
 * the verifier's trusted time (tkm_vclock.h).
 *
 * Thread-safety: tkm_instance_attest and the key-set updates may be called
 * from any thread (serialised inside); open/close from one thread.
 * Ownership: tkm_instance_open returns an instance freed by tkm_instance_close.
 * Secrets: the TLS private key and, through the engine, every key.
 */
#ifndef TKM_INSTANCE_H
#define TKM_INSTANCE_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

#include "../audit/audit.h"
#include "../tee/tee.h"

#define TKM_INSTANCE_FORMAT 1
#define TKM_INSTANCE_OPERATOR_CN "teekm-operator"
/* Keys listed in the claims one by one up to this many; above, the claims carry keyCount + keysDigest. */
#define TKM_INSTANCE_INLINE_KEYS 64

typedef struct {
    const char *dir;              /* created 0700 if missing; must not hold an instance */
    const char *tee;              /* "sim", "sgx", "tdx", "snp" or "auto" */
    const char *tee_root;         /* NULL = "/" (tests: doubles of the kernel interfaces) */
    const tkm_tee_sys *tee_sys;   /* NULL = the real system calls (tests: the configfs-tsm double) */
    int allow_debug;
    const uint8_t *policy;        /* the initial policy document */
    size_t policy_len;
    const char *const *labels;    /* one secp256k1 key generated per label */
    size_t n_labels;
    const char *const *tls_names; /* names in the first RA-TLS certificate (NULL: 127.0.0.1, ::1, localhost) */
    size_t n_tls_names;
    int fast_unsafe;              /* tests and benchmarks only: SQLite synchronous=NORMAL */
    const char *state_key;        /* NULL/"auto": the seal key if the platform has one, else the verifier;
                                     "seal"; "verifier" (recorded in instance.json, fixed for the instance) */
    const char *verifier_url;     /* teekm-verifier base URL (https://…). With the verifier source: the key's
                                     source, recorded. With the seal source: registration only, not recorded */
    const char *verifier_ca;      /* PEM file the verifier's TLS certificate must chain to (not recorded) */
    unsigned verifier_retries;    /* extra attempts while the verifier is unreachable (backoff 1 s, doubling) */
    int remote_counter;           /* 1: every commit also advances the verifier's monotonic counter (recorded) */
} tkm_instance_init_opts;

/*
 * Create an instance in o->dir. Refuses a directory that holds one
 * (TKM_ERR_EXISTS) without touching it; on any failure removes what it made.
 * With a verifier (URL and CA, any state-key source) the new instance
 * registers its full claims; for a seal-keyed instance a failed registration
 * is a logged warning, not a failure (registered: false).
 * Out: *out, the JSON object `teekm init` prints: instanceId, platform,
 * dataDir, keys (label → address), auditAddress, policyHash, policyVersion,
 * client {cert, key, ca, clientCa} (absolute paths; ca = the RA-TLS
 * certificate file to verify the server with), stateKey, and with a verifier
 * verifier (URL), registered (bool), registrationError (error name, when not).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_instance_init(json_t **out, const tkm_instance_init_opts *o);

typedef struct tkm_instance tkm_instance;

typedef struct {
    const char *dir;
    const char *tee;              /* NULL = the platform recorded at init; else must be it ("auto" detects) */
    const char *tee_root;
    const tkm_tee_sys *tee_sys;   /* NULL = the real system calls */
    int allow_debug;
    const char *const *tls_names; /* subject alternative names of the RA-TLS certificate */
    size_t n_tls_names;
    size_t max_batch;             /* engine group-commit size (0 = 256) */
    int fast_unsafe;
    const char *state_key;        /* NULL/"auto" = as recorded; else must be the recorded source (never switched) */
    const char *verifier_url;     /* verifier source: NULL = the URL recorded at init. Seal source: NULL = no
                                     registration; else register with it (then verifier_ca is required) */
    const char *verifier_ca;      /* required for a verifier-sourced instance and with verifier_url */
    unsigned verifier_retries;    /* verifier source only: extra attempts at start (seal source: one attempt) */
    int remote_counter;           /* 1: switch the remote counter on (recorded; a recorded one is never off) */
} tkm_instance_open_opts;

/*
 * Open: lock the directory, read and check instance.json, open the platform
 * (entropy check), open the state (counter + high-water mark checks), issue
 * the RA-TLS certificate over fresh evidence (key made now, inside the TEE),
 * write DIR/tls.crt, raise the high-water mark, audit attestation_produced.
 * With the verifier source, first the key release (nonce, evidence, attest,
 * open) and after the certificate a registration of the full claims, both
 * required. With the seal source and a verifier_url, after the certificate one
 * registration attempt: its failure is logged as a warning and kept
 * (tkm_instance_registration_info); the open still succeeds, because the state
 * does not depend on the verifier (the caller retries: tkm_registrar.h).
 * Returns: OK; TKM_ERR_STORE_BUSY (another process holds the directory);
 * TKM_ERR_NOT_FOUND (no instance); TKM_ERR_STORE_TAMPER (instance.json
 * edited, or a key released by another verifier); TKM_ERR_STORE_ROLLBACK /
 * TKM_ERR_STORE_CLONE (snapshot or clone); TKM_ERR_CONFIG (a --state-key
 * other than the recorded one, a missing verifier URL/CA); verifier errors
 * (api_keyrel_fetch: APPRAISAL, TEE_NO_SEAL_KEY, AUTH_TAG, NETWORK…);
 * platform and store errors.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_instance_open(tkm_instance **out, const tkm_instance_open_opts *o);
/* Close the engine (state), the platform, wipe the TLS key, unlock. NULL-safe. */
TKM_API void tkm_instance_close(tkm_instance *in);

TKM_API tkm_engine *tkm_instance_engine(const tkm_instance *in);
TKM_API tkm_tee *tkm_instance_tee(const tkm_instance *in);
/* The served certificate and its key (borrowed; valid until close). */
TKM_API X509 *tkm_instance_cert(const tkm_instance *in);
TKM_API EVP_PKEY *tkm_instance_tls_key(const tkm_instance *in);
/* SHA-256 of the operator certificate's DER (it gets every role). */
TKM_API const uint8_t *tkm_instance_operator_fingerprint(const tkm_instance *in);
TKM_API const char *tkm_instance_dir(const tkm_instance *in);
TKM_API const char *tkm_instance_platform(const tkm_instance *in);
/* Absolute path of DIR/client-ca.crt (the local client CA certificate). */
TKM_API const char *tkm_instance_client_ca_path(const tkm_instance *in);
/* Unix time of the last evidence produced (certificate or teekm_evidence). */
TKM_API int64_t tkm_instance_evidence_time(const tkm_instance *in);
/* Active signer keys in the attested key set. */
TKM_API size_t tkm_instance_key_count(const tkm_instance *in);

/*
 * Fresh evidence over the current claims (state version, policy, keys, TLS
 * key) and an optional verifier nonce (1..64 bytes). Raises the high-water
 * mark first; audits attestation_produced. Out: *out {platform, format,
 * claims (the exact JCS text, as the verifier's /v1/attest takes it),
 * claimsObject, evidence (0x hex), reportData, stateVersion, and keys (the
 * full list) when the claims carry a digest}.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_instance_attest(tkm_instance *in, const uint8_t *nonce, size_t nonce_len,
                                                   json_t **out);
/*
 * Register the current claims with teekm-verifier again (new nonce, fresh
 * evidence; the protocol of docs/verifier.md), so the registry shows the
 * current keys and policy and the registration does not go stale. One
 * attempt, no retries and no sleeping (tkm_registrar.h retries with backoff).
 * For any instance with a verifier (tkm_instance_has_verifier: its state key's
 * source, or one given at open); CONFIG otherwise.
 * Returns what the registration returns (NETWORK, TIMEOUT, TLS, HTTP_STATUS,
 * APPRAISAL, …); the outcome is kept for tkm_instance_registration_info.
 * Thread-safety: as tkm_instance_attest (may run beside the service).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_instance_reattest(tkm_instance *in) TKM_NONNULL(1);

typedef struct tkm_api_server tkm_api_server;
/*
 * For an instance with a verifier (else a no-op returning OK): the trusted
 * time refreshed every refresh_seconds (>= 1) on a thread of its own (which
 * also registers again when the verifier said the registration is stale or
 * unknown), the metrics teekm_trusted_time_age_seconds,
 * teekm_host_clock_offset_seconds, teekm_host_clock_off,
 * teekm_host_clock_clamped_above/below, teekm_verifier_up,
 * teekm_verifier_failures, teekm_verifier_round_trip_seconds,
 * teekm_remote_counter_value, and the health check "verifier" (unhealthy
 * while a remote counter does not answer). Call once, after open; the
 * schedule stops at tkm_instance_close.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_instance_verifier_attach(tkm_instance *in, tkm_api_server *srv,
                                                            unsigned refresh_seconds) TKM_NONNULL(1, 2);
/*
 * The host clock as the engine bounds it with policy p's trusted_time (without
 * the state's largest-time-seen floor): for defaults such as a request's
 * notAfter. The host clock itself without a verifier. Thread-safe.
 */
TKM_API int64_t tkm_instance_time(tkm_instance *in, const tkm_policy *p) TKM_NONNULL(1, 2);
/* 1 when every commit also advances teekm-verifier's counter (instance.json "remoteCounter"). */
TKM_API int tkm_instance_remote_counter(const tkm_instance *in) TKM_NONNULL(1);
TKM_API int tkm_instance_has_verifier(const tkm_instance *in) TKM_NONNULL(1);

/* The outcome of the registrations made through the instance (open, init, tkm_instance_reattest). */
typedef struct {
    int64_t last_ok;      /* Unix time of the last successful registration; 0 = none since open */
    int64_t last_attempt; /* Unix time of the last attempt; 0 = none */
    tkm_err last_err;     /* the last attempt's outcome; TKM_OK when it succeeded or none was made */
} tkm_instance_reg_info;
/* Out: *out. Thread-safe; quick (a mutex that no registration holds while it runs). */
TKM_API void tkm_instance_registration_info(const tkm_instance *in, tkm_instance_reg_info *out) TKM_NONNULL(1, 2);

/*
 * The attested key set follows key events (call after the engine committed
 * them). Each change (a key added, a key of the set removed) is reported to
 * the change hook.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_instance_key_added(tkm_instance *in, const uint8_t pub[65]);
TKM_API void tkm_instance_key_removed(tkm_instance *in, const uint8_t addr[20]);
/* Report another change of the claims (a policy activated: call after the engine committed it). */
TKM_API void tkm_instance_claims_changed(tkm_instance *in) TKM_NONNULL(1);
/*
 * The change hook: fn(arg) is called after each change of the claims
 * (tkm_instance_key_added / _removed / tkm_instance_claims_changed), on the
 * caller's thread and under the instance's lock — it must be quick and must
 * not call back into the instance (tkm_registrar_wake only signals). NULL
 * removes it; setting or removing waits for a call in progress, so after
 * tkm_instance_on_change(in, NULL, NULL) returns, fn is not running and will
 * not be called. One hook at a time.
 */
typedef void (*tkm_instance_change_fn)(void *arg);
TKM_API void tkm_instance_on_change(tkm_instance *in, tkm_instance_change_fn fn, void *arg) TKM_NONNULL(1);

#endif
