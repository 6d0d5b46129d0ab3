/*
 * tkm_ratls.h — RA-TLS: a self-signed X.509 certificate whose key was made
 * inside the TEE and which carries the evidence and the claims that bind it.
 *
 * Certificate (docs/attestation.md "RA-TLS certificate"):
 *  - key: ECDSA P-256, generated from the health-checked entropy source; the
 *    private scalar lives only in locked memory (tkm_secret and OpenSSL's
 *    secure heap) and is never exported;
 *  - self-signed, ecdsa-with-SHA256, CN "teekm RA-TLS", basicConstraints
 *    CA:FALSE, keyUsage digitalSignature, extKeyUsage serverAuth+clientAuth;
 *  - one extension, OID 2.23.133.5.4.9 (TCG DICE conceptual-message-wrapper,
 *    formerly "tagged evidence", the OID Gramine's RA-TLS uses), not critical,
 *    whose extnValue is the deterministic CBOR encoding of
 *        tag(T) [ evidence: bstr, claims: bstr ]
 *    with T = 60000 for Intel quotes (SGX or TDX: the tag Gramine uses),
 *    T = 1953066240 (0x746B6D00) for sim-v1 evidence and T = 1953066241
 *    (0x746B6D01) for SEV-SNP reports (teekm-private, unregistered), and
 *    claims = the JCS claims bytes (tkm_claims.h) whose SHA-512 binding is the
 *    evidence's report_data.
 *
 * Checking a peer (tkm_ratls_inspect): parse the certificate (OpenSSL), check
 * its self-signature, take exactly one evidence extension, parse the CBOR
 * (tkm_rd: definite lengths, shortest forms, nothing after), read the evidence
 * structurally (tkm_ev_inspect) and the claims strictly (tkm_claims_parse),
 * then compute two facts:
 *   report_data_matches: SHA-512 binding of the claims == the evidence's
 *                        report_data, and claims.platform == evidence platform;
 *   tls_key_matches:     claims.tlsPublicKey == the certificate's key
 *                        == the key the TLS session used (when given).
 * Neither says the evidence is genuine: appraisal (signatures, TCB,
 * measurement policy) is the attest module's job.
 *
 * Ownership: keys are freed with tkm_ratls_key_free; DER outputs and peer
 * buffers are malloc'd (free / tkm_ratls_peer_free).
 * Thread-safety: reentrant; a key may be shared read-only between threads.
 * Secrets: the private key (never exported).
 */
#ifndef TKM_RATLS_H
#define TKM_RATLS_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "tkm_claims.h"
#include "tkm_tee_evidence.h"
#include "tkm_tee.h"

#define TKM_RATLS_OID "2.23.133.5.4.9"
#define TKM_RATLS_TAG_INTEL_QUOTE 60000u
#define TKM_RATLS_TAG_SIM 0x746B6D00u
#define TKM_RATLS_TAG_SNP 0x746B6D01u
#define TKM_RATLS_CERT_MAX ((size_t)1 << 20)

typedef struct tkm_ratls_key tkm_ratls_key;

/* Out: *k, a new P-256 key from the entropy source. Refuses (TKM_ERR_ENTROPY) when entropy failed. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ratls_key_new(tkm_ratls_key **k) TKM_NONNULL(1);
TKM_API void tkm_ratls_key_free(tkm_ratls_key *k);
/* The key's DER SubjectPublicKeyInfo (view valid until free). */
TKM_API void tkm_ratls_key_spki(const tkm_ratls_key *k, const uint8_t **spki, size_t *len) TKM_NONNULL(1, 2, 3);

/* The key as an OpenSSL object (borrowed: valid until tkm_ratls_key_free), for a TLS server config. */
TKM_API EVP_PKEY *tkm_ratls_key_pkey(const tkm_ratls_key *k) TKM_NONNULL(1);

/* Append the extension value CBOR for (fmt, evidence, claims) to w. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ratls_ext_encode(tkm_wr *w, tkm_ev_format fmt, const uint8_t *ev,
                                                    size_t ev_len, const uint8_t *claims, size_t claims_len)
    TKM_NONNULL(1);

typedef struct {
    tkm_ev_format format;
    const uint8_t *evidence; /* views into the input */
    size_t evidence_len;
    const uint8_t *claims;
    size_t claims_len;
} tkm_ratls_ext;

/*
 * Parse an untrusted extension value. Out: *e (views borrow buf; zeroed on failure).
 * Returns: OK; TKM_ERR_CBOR (not the expected deterministic CBOR shape);
 * TKM_ERR_RATLS_EXT (unknown tag, or tag 60000 on a quote that is neither SGX nor TDX).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ratls_ext_parse(tkm_ratls_ext *e, const uint8_t *buf, size_t len)
    TKM_NONNULL(1);

/*
 * Build the self-signed certificate. Validity [not_before, not_after] in Unix
 * seconds. Out: *der (malloc'd, caller frees), *der_len.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ratls_cert_new(uint8_t **der, size_t *der_len, const tkm_ratls_key *k,
                                                  tkm_ev_format fmt, const uint8_t *ev, size_t ev_len,
                                                  const uint8_t *claims, size_t claims_len, int64_t not_before,
                                                  int64_t not_after) TKM_NONNULL(1, 2, 3);

/*
 * The same with subject alternative names, so that ordinary TLS clients that
 * trust this exact certificate (curl --cacert, node's `ca`) also accept the
 * host name they connect to: each name is an IPv4/IPv6 literal (iPAddress) or
 * a DNS name (dNSName: 1-253 of A-Z a-z 0-9 . - *). At most
 * TKM_RATLS_MAX_NAMES. Returns: as above; TKM_ERR_FORMAT for a bad name.
 */
#define TKM_RATLS_MAX_NAMES 16
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ratls_cert_new_names(uint8_t **der, size_t *der_len, const tkm_ratls_key *k,
                                                        tkm_ev_format fmt, const uint8_t *ev, size_t ev_len,
                                                        const uint8_t *claims, size_t claims_len,
                                                        int64_t not_before, int64_t not_after,
                                                        const char *const *names, size_t n_names)
    TKM_NONNULL(1, 2, 3);

/*
 * The whole issuing step teekmd runs at start-up: set c->platform and
 * c->tlsPublicKey from t and k, encode the claims, compute report_data, take
 * evidence from t and build the certificate. Out: *der (malloc'd).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ratls_issue(uint8_t **der, size_t *der_len, tkm_tee *t,
                                               const tkm_ratls_key *k, tkm_claims *c, int64_t not_before,
                                               int64_t not_after) TKM_NONNULL(1, 2, 3, 4, 5);

/* Install key and certificate in a server or client SSL_CTX (TLS 1.3 only). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ratls_ssl_ctx_use(SSL_CTX *ctx, const tkm_ratls_key *k, const uint8_t *der,
                                                     size_t der_len) TKM_NONNULL(1, 2, 3);

typedef struct {
    tkm_ev_format format;
    uint8_t *evidence; /* owned copies */
    size_t evidence_len;
    uint8_t *claims_jcs;
    size_t claims_len;
    uint8_t *cert_spki;
    size_t cert_spki_len;
    tkm_ev_view view;
    tkm_claims claims;
    int report_data_matches;
    int tls_key_matches;
    int session_key_given;
} tkm_ratls_peer;

/*
 * Inspect a peer certificate (DER, untrusted). session_spki is the DER SPKI of
 * the key the TLS handshake authenticated (NULL when not from a session).
 * Out: *p (caller frees with tkm_ratls_peer_free; empty on failure).
 * Returns OK whenever the certificate, extension, evidence and claims parse —
 * the two match flags then say whether the binding holds. Errors: TKM_ERR_X509
 * (not a certificate, bad self-signature), TKM_ERR_RATLS_EXT / TKM_ERR_CBOR,
 * evidence parse errors, claims parse errors.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ratls_inspect(tkm_ratls_peer *p, const uint8_t *cert, size_t cert_len,
                                                 const uint8_t *session_spki, size_t session_spki_len)
    TKM_NONNULL(1, 2);
/* inspect, then OK only when both flags hold: TKM_ERR_TEE_BINDING / TKM_ERR_TEE_KEY_MISMATCH otherwise
 * (on those two errors *p is still filled, for display). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ratls_verify(tkm_ratls_peer *p, const uint8_t *cert, size_t cert_len,
                                                const uint8_t *session_spki, size_t session_spki_len)
    TKM_NONNULL(1, 2);
TKM_API void tkm_ratls_peer_free(tkm_ratls_peer *p);

/*
 * The `teekm evidence show` object: platform, format, measurement, debug,
 * claims, evidence (hex), reportData, reportDataMatches (both facts),
 * checks {reportData, tlsKey}, evidenceAppraised (always false here).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ratls_peer_json(const tkm_ratls_peer *p, json_t **out) TKM_NONNULL(1, 2);

/*
 * Connect to host:port over TLS 1.3 WITHOUT certificate verification (this is
 * an inspection tool: it shows what the peer presents), and return the peer
 * certificate and the SPKI of the key the handshake authenticated.
 * Returns: OK; TKM_ERR_NETWORK; TKM_ERR_TIMEOUT; TKM_ERR_X509 (no certificate).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ratls_fetch(uint8_t **cert, size_t *cert_len, uint8_t **session_spki,
                                               size_t *session_spki_len, const char *host, const char *port,
                                               int timeout_ms) TKM_NONNULL(1, 2, 3, 4, 5, 6);

#endif
