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
 * Out: *key (32 bytes, secret; caller frees). Returns: OK; TKM_ERR_APPRAISAL
 * (verdict invalid: the detail names the failed check); TKM_ERR_TEE_NO_SEAL_KEY
 * (valid, not released: the verifier's reason); TKM_ERR_AUTH_TAG (the answer
 * does not open); TKM_ERR_NETWORK / TIMEOUT / TLS / HTTP_STATUS. Every detail
 * names the step (nonce, attest, key release).
 */
tkm_rc api_keyrel_fetch(tkm_secret **key, const api_verifier *v, tkm_tee *tee, const uint8_t instance_id[32],
                        uint64_t state_version, const uint8_t *spki, size_t spki_len);
/* Register the open instance's full claims (nonce, tkm_instance_attest, POST /v1/attest). */
tkm_rc api_verifier_register(const api_verifier *v, tkm_instance *in);

#endif
