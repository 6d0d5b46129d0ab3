/*
 * tkm_verifier.h — the teekm-verifier service as plain functions: a request
 * (method, path, query, body, whether the caller is an authenticated admin,
 * the time) in, an HTTP status and a JSON body out. The HTTPS server (api
 * module) only routes bytes to tkm_verifier_handle; everything the service
 * decides is here and unit-tested without a network.
 *
 * Endpoints (docs/verifier.md has the bodies):
 *   GET  /v1/verifier                      who this verifier is: EAS signer address, schema, limits
 *   POST /v1/nonce                         a fresh single-use nonce
 *   POST /v1/attest                        appraise evidence + claims; register; release the state key
 *   GET  /v1/instances/{id}                the current registration, marked stale past maxAgeSeconds
 *   POST /v1/instances/{id}/counter        read / advance the instance's monotonic counter
 *                                          (request signed by its audit key, answer signed by the verifier)
 *   GET  /admin/v1/instances               current registrations (?after=SEQ&limit=N)
 *   GET  /admin/v1/instances/{id}/history  every registration of the instance
 *   GET  /admin/v1/instances/{id}/eas      EAS records of a registration (?seq=N, default current)
 * Admin paths answer 403 unless req->admin; the HTTPS layer adds mTLS (401
 * without a client certificate) in front.
 *
 * Errors: {"error": {"code": "NAME", "message": "…", "detail": "…"}} with the
 * status of the code's category; an appraisal that fails is 403 with the
 * full appraisal (every check named) in the body.
 *
 * Ownership: tkm_verifier_open copies what it needs from the configuration
 * (the configuration may be freed afterwards). Responses belong to the caller.
 * Secrets: the verifier holds its master-key-derived keys and EAS key
 * (tkm_vkeys.h) and briefly the state keys it releases; responses never carry
 * a secret in clear (released keys are HPKE-sealed to the instance).
 * Thread-safety: tkm_verifier_handle may be called from many threads at once.
 */
#ifndef TKM_VERIFIER_H
#define TKM_VERIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "tkm_vconfig.h"

#define TKM_COUNTER_DOMAIN_NAME "teekm-verifier"
#define TKM_COUNTER_DOMAIN_VERSION "1"
#define TKM_COUNTER_REQUEST_TYPE "CounterRequest(bytes32 instanceId,string op,uint64 value,bytes32 challenge)"
#define TKM_COUNTER_STATE_TYPE "CounterState(bytes32 instanceId,uint64 value,uint64 time,bytes32 challenge)"

typedef struct tkm_verifier tkm_verifier;

/*
 * Open the data directory's keys and registry, the appraisal policy, the
 * collateral provider, a nonce table and an attestation context.
 * Returns: OK or the first failure (detail names the file or field).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_verifier_open(tkm_verifier **out, const tkm_vconfig *cfg) TKM_NONNULL(1, 2);
/* NULL-safe. */
TKM_API void tkm_verifier_close(tkm_verifier *v);

enum { TKM_VREQ_GET = 1, TKM_VREQ_POST = 2 };

typedef struct {
    unsigned method;     /* TKM_VREQ_GET or TKM_VREQ_POST (others: 405) */
    const char *path;    /* raw path without the query */
    const char *query;   /* raw query string or NULL */
    const uint8_t *body; /* may be NULL when body_len is 0 */
    size_t body_len;
    int admin;           /* the caller authenticated as an administrator */
    int64_t now;         /* Unix seconds */
} tkm_vreq;

/*
 * Handle one request. Out: *status (HTTP) and *resp (JSON object; caller
 * json_decref's). Always answers; on out-of-memory *resp may be NULL with
 * status 500.
 */
TKM_API void tkm_verifier_handle(tkm_verifier *v, const tkm_vreq *req, int *status, json_t **resp)
    TKM_NONNULL(1, 2, 3, 4);

/* EIP-712 digests of the counter protocol (also for instance-side clients and tests). */
TKM_API void tkm_counter_request_digest(uint8_t out[static 32], const uint8_t instance_id[static 32], const char *op,
                                        uint64_t value, const uint8_t challenge[static 32]) TKM_NONNULL(1, 2, 3, 5);
TKM_API void tkm_counter_state_digest(uint8_t out[static 32], const uint8_t instance_id[static 32], uint64_t value,
                                      uint64_t time, const uint8_t challenge[static 32]) TKM_NONNULL(1, 2, 5);

#endif
