/*
 * api_int.h — private to the api module: X.509 helpers shared by the
 * instance (data directory) and the signer service (files: core tkm_file.h).
 */
#ifndef TKM_API_INT_H
#define TKM_API_INT_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "../audit/audit.h"

/*
 * A local client CA and the operator's client certificate (ECDSA P-256):
 * CA certificate to ca_path (0644), operator certificate to cert_path (0644)
 * and its private key to key_path (0600, unencrypted PEM: it is the
 * operator's credential, handed out in clear). The CA's private key is wiped
 * after signing: further client certificates come from the operator's own
 * CA (teekmd --client-ca). Out: the operator certificate's SHA-256
 * fingerprint (of its DER) and RFC 2253 subject.
 */
tkm_rc api_pki_create(const char *ca_path, const char *cert_path, const char *key_path, const char *ca_cn,
                      const char *client_cn, uint8_t fpr[32], char *subject, size_t subject_cap);

/* PEM of a DER certificate. Out: *pem (malloc'd, NUL-terminated), *len. */
tkm_rc api_der_to_pem(const uint8_t *der, size_t der_len, char **pem, size_t *len);

/*
 * teekm-verifier, from the instance (keyrel.c; docs/teekmd.md "State key from
 * teekm-verifier"). HTTPS (TLS 1.3) to url, the server verified against
 * ca_file; no client certificate (the verifier's public endpoints).
 * A failure that looks transient (connect, timeout, 502/503/504) is retried
 * up to `retries` more times, each run with a new nonce, the pause doubling
 * from backoff_ms (0 = 1000) up to 30 s, each retry logged.
 */
typedef struct {
    const char *url;
    const char *ca_file;
    unsigned retries;
    unsigned backoff_ms;
} api_verifier;

typedef struct tkm_tee tkm_tee;
typedef struct tkm_instance tkm_instance;

/*
 * The state key released by the verifier: nonce, claims {platform, the TLS key
 * spki, instance_id, state_version, zero audit address/policy, no signer keys,
 * nonce, a fresh hpkePublicKey}, evidence over their report_data, POST
 * /v1/attest, keyRelease opened with tkm_keyrelease_open.
 * Out: *key (32 bytes, secret; caller frees). Returns: OK; TKM_ERR_STORE_ROLLBACK
 * (the verifier's check state.version: the claimed state is older than one it
 * recorded or than its counter); TKM_ERR_APPRAISAL
 * (verdict invalid: the detail names the failed check); TKM_ERR_TEE_NO_SEAL_KEY
 * (valid, not released: the verifier's reason); TKM_ERR_AUTH_TAG (the answer
 * does not open); TKM_ERR_NETWORK / TIMEOUT / TLS / HTTP_STATUS. Every detail
 * names the step (nonce, attest, key release).
 */
tkm_rc api_keyrel_fetch(tkm_secret **key, const api_verifier *v, tkm_tee *tee, const uint8_t instance_id[32],
                        uint64_t state_version, const uint8_t *spki, size_t spki_len);
/* Register the open instance's full claims (nonce, tkm_instance_attest, POST /v1/attest). */
tkm_rc api_verifier_register(const api_verifier *v, tkm_instance *in);

/*
 * vtrust.c — an instance's remote monotonic counter and trusted time from
 * teekm-verifier (docs/teekmd.md "Remote counter and trusted time"; the pieces
 * are tkm_vcounter.h and tkm_vclock.h). Owned by the instance, freed after its
 * engine is closed. Thread-safety: api_vtrust_refresh and the status
 * functions from any thread; the rest from the opening thread.
 */
typedef struct api_vtrust api_vtrust;
typedef struct tkm_metrics tkm_metrics;

tkm_rc api_vtrust_new(api_vtrust **out, const api_verifier *v, const uint8_t instance_id[32], int remote_counter);
void api_vtrust_free(api_vtrust *vt);
/*
 * The engine's clock hook (opts clock/clock_ctx): the host clock bounded by
 * the trusted time once api_vtrust_start took one; before that the host clock
 * (freeze 0: init, a new state) or nothing beyond the state's largest time
 * seen (freeze 1: open, so that a host clock pushed forward is not recorded
 * by the open's own audit records before the bound is known).
 */
void api_vtrust_engine_clock(api_vtrust *vt, tkm_engine_opts *eo, int freeze);
/* The store's counter: local as it is, or wrapped with the remote counter (ownership of local passes). */
tkm_rc api_vtrust_counter(api_vtrust *vt, tkm_counter *out, tkm_counter local);
/*
 * After the instance registered: pin the verifier's signer (recorded, or —
 * recorded NULL — fetched from /v1/verifier over the CA-pinned TLS: then
 * *is_learned = 1 and the caller records learned), arm the remote counter
 * (open_version: the state's version as found at open), take the first trusted
 * time, check the host clock against it, install the engine's clock.
 */
tkm_rc api_vtrust_start(api_vtrust *vt, tkm_engine *e, uint64_t open_version, const uint8_t *recorded,
                        uint8_t learned[20], int *is_learned);
/* A fresh trusted time; audits host_clock when the host clock crosses the skew (either way). */
tkm_rc api_vtrust_refresh(api_vtrust *vt);
int api_vtrust_needs_registration(api_vtrust *vt);
/* host_now bounded by the trusted time with p's bounds (not counted in the clamp metrics). */
int64_t api_vtrust_time(api_vtrust *vt, int64_t host_now, const tkm_policy *p);
int api_vtrust_remote(const api_vtrust *vt);
/* Metrics (gauges) and the "verifier" health check's answer. */
tkm_rc api_vtrust_metrics(api_vtrust *vt, tkm_metrics *m);
tkm_rc api_vtrust_health(api_vtrust *vt);
/*
 * A thread refreshing every `seconds` (re-registering first with reregister(ctx)
 * when an answer said so); stopped by api_vtrust_free. Its pauses are
 * relative waits, not deadlines on the host clock.
 */
tkm_rc api_vtrust_schedule(api_vtrust *vt, unsigned seconds, tkm_rc (*reregister)(void *ctx), void *ctx);
/* Stop the schedule (before the engine closes); NULL-safe. */
void api_vtrust_stop(api_vtrust *vt);

#endif
