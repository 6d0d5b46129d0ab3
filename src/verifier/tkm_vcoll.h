/*
 * tkm_vcoll.h — where the verifier gets attestation collateral: files
 * (offline), an Intel PCCS-compatible endpoint and an AMD KDS-compatible
 * endpoint over HTTPS (libcurl), with a memory cache and a disk cache.
 *
 * Intel (SGX and TDX), for the FMSPC and PCK CA of the quote's PCK certificate:
 *   GET {pccs}/{sgx|tdx}/certification/v4/tcb?fmspc={FMSPC}   body {"tcbInfo":…,"signature":…},
 *       header TCB-Info-Issuer-Chain (or SGX-TCB-Info-Issuer-Chain), URL-encoded PEM
 *   GET {pccs}/{sgx|tdx}/certification/v4/qe/identity         body {"enclaveIdentity":…,"signature":…},
 *       header SGX-Enclave-Identity-Issuer-Chain (or Enclave-Identity-Issuer-Chain)
 *   GET {pccs}/sgx/certification/v4/pckcrl?ca={processor|platform}&encoding=der
 *       header SGX-PCK-CRL-Issuer-Chain; body DER (PEM or hex text accepted too)
 *   GET {rootCaCrlUrl}  (default {pccs}/sgx/certification/v4/rootcacrl): the
 *       Intel SGX Root CA CRL, DER (PEM or hex text accepted too)
 * With tcbUpdate "early", "update=early" is added to the tcb and qe/identity
 * queries. The signed tcbInfo / enclaveIdentity texts are cut out of the
 * response bytes exactly (never re-serialised), and the pieces are assembled
 * into the collateral JSON of docs/verifier.md, then parsed by
 * tkm_dcap_collateral_parse; its TCB info must be for the FMSPC and TEE asked for.
 *
 * AMD SEV-SNP (VCEK only; a VLEK must come with the request):
 *   GET {kds}/vcek/v1/{Milan|Genoa|Turin}/{hwid}?blSPL=…&teeSPL=…&snpSPL=…&ucodeSPL=…
 *   (Turin: fmcSPL too, and hwid = the first 8 bytes of CHIP_ID) → DER certificate,
 *   whose hwID and TCB must be the ones asked for. The product comes from the
 *   report's CPUID (report v3+); for older reports snpProducts are tried in turn.
 *   GET {kds}/vcek/v1/{product}/crl → the product's CRL (DER; PEM or hex text
 *   accepted too), signed by the ARK; kept per product until its nextUpdate and
 *   appended to every VCEK of that product (collateral = VCEK DER ‖ CRL DER, see
 *   tkm_snp_collateral_parse), so appraisal can run the "snp.crl" check. A CRL
 *   that cannot be fetched fails the fetch (no VCEK without its CRL is cached).
 *   AMD's ARK/ASK are built into attest; the KDS cert_chain endpoint is not used.
 * Caching: parsed collateral is kept in memory (at most 64 entries, least
 * recently used evicted) and its source bytes on disk under cache_dir (files
 * named by SHA-256 of the lookup key, written atomically). An Intel entry is
 * fresh until the earliest nextUpdate of its TCB info, QE identity and CRLs; an
 * AMD entry until the earlier of the certificate's notAfter and the CRL's
 * nextUpdate. A stale entry is refetched; when
 * that fails the stale entry is still returned (appraisal then names the
 * expired item) and the key is not retried for 60 seconds. Files given in the
 * configuration are used as they are, never refetched.
 * Everything fetched or read from the cache is untrusted: it is verified in
 * full by tkm_appraise; nothing here makes it trusted.
 *
 * Ownership: tkm_vcoll_new copies the configuration. References returned by
 * tkm_vcoll_get keep their collateral alive until tkm_vcoll_release, even if
 * the cache replaced it meanwhile.
 * Secrets: none. Thread-safety: tkm_vcoll_get may be called from any thread.
 */
#ifndef TKM_VCOLL_H
#define TKM_VCOLL_H

#include <stddef.h>
#include <stdint.h>

#include "../attest/attest.h"
#include "../core/core.h"

typedef struct {
    const char *const *files; /* offline collateral: Intel JSON or AMD VCEK/VLEK (+ CRL), see tkm_snp_collateral_parse */
    size_t n_files;
    const char *pccs_url;        /* https://host[:port][/prefix], NULL = no Intel fetching */
    const char *root_ca_crl_url; /* NULL = {pccs_url}/sgx/certification/v4/rootcacrl */
    const char *kds_url;         /* https://host[:port][/prefix], NULL = no AMD fetching */
    const char *ca_file;         /* trust anchors for those HTTPS servers (NULL = system store) */
    const char *cache_dir;       /* NULL = memory only; created (0700) when missing */
    unsigned timeout_s;          /* per HTTP request, 0 = 10 */
    const char *const *snp_products; /* tried for SNP reports without CPUID, NULL = Milan, Genoa, Turin */
    size_t n_snp_products;
    int tcb_update_early;
} tkm_vcoll_config;

typedef struct tkm_vcoll tkm_vcoll;
typedef struct tkm_vcoll_ref tkm_vcoll_ref;

/*
 * Out: *out. Loads and parses the files now.
 * Returns: OK; TKM_ERR_NOT_FOUND / TKM_ERR_IO / TKM_ERR_COLLATERAL /
 * TKM_ERR_X509 / TKM_ERR_JSON* for a file (detail names it); TKM_ERR_NOMEM.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vcoll_new(tkm_vcoll **out, const tkm_vcoll_config *cfg) TKM_NONNULL(1, 2);
TKM_API void tkm_vcoll_free(tkm_vcoll *p);

/*
 * Collateral for ev at time now (sim evidence needs none: *ref = NULL, OK).
 * Out: *ref (release with tkm_vcoll_release), *source = "file", "memory",
 * "disk", "fetched" or "stale" (static strings).
 * Returns: OK; TKM_ERR_COLLATERAL_UNAVAILABLE (nothing configured or fetchable
 * for it; the detail says what was tried); TKM_ERR_X509 (the quote's PCK
 * certificate cannot be read to find the FMSPC).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vcoll_get(tkm_vcoll *p, const tkm_evidence *ev, int64_t now, tkm_vcoll_ref **ref,
                                             const char **source) TKM_NONNULL(1, 2, 4, 5);
TKM_API const tkm_collateral *tkm_vcoll_ref_collateral(const tkm_vcoll_ref *r) TKM_NONNULL(1);
/* NULL-safe. */
TKM_API void tkm_vcoll_release(tkm_vcoll_ref *r);
/* Counters for tests and metrics: HTTP fetches made, memory hits, disk hits. */
TKM_API void tkm_vcoll_stats(tkm_vcoll *p, uint64_t *fetches, uint64_t *memory_hits, uint64_t *disk_hits)
    TKM_NONNULL(1, 2, 3, 4);

/*
 * A VCEK/VLEK sent with a request: parsed like tkm_snp_collateral_parse;
 * when it carries no CRL, is DER and a KDS is configured, the product's CRL
 * (VCEK: {kds}/vcek/v1/{product}/crl, VLEK: {kds}/vlek/v1/{product}/crl; the
 * same per-product memo as tkm_vcoll_get) is appended. A CRL that cannot be
 * had is not an error: the certificate is returned alone (the appraisal's
 * snp.crl then fails as not evaluated) and note says why.
 * Out: *out (free with tkm_collateral_free), note (NUL-terminated, may be "").
 * Returns: OK; TKM_ERR_X509 / TKM_ERR_COLLATERAL (the bytes do not parse); TKM_ERR_NOMEM.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vcoll_snp_collateral(tkm_vcoll *p, const uint8_t *cert, size_t len, int64_t now,
                                                        tkm_collateral **out, char *note, size_t note_cap)
    TKM_NONNULL(1, 5);

/* ---- building blocks, exposed for tests and fuzzing ---- */

/*
 * Exact byte span of the value of member `key` in the JSON object text
 * buf[0..len) (which must be one strict JSON object; duplicate keys refused).
 * Out: *off, *n. Returns: OK; TKM_ERR_JSON* (not strict JSON); TKM_ERR_JSON_MISSING.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vcoll_json_member_span(const uint8_t *buf, size_t len, const char *key,
                                                          size_t *off, size_t *n) TKM_NONNULL(3, 4, 5);
/*
 * A CRL as served: DER, PEM ("-----BEGIN X509 CRL-----") or hex text. Out:
 * *der (malloc'd, caller frees), *der_len. Returns: OK or TKM_ERR_COLLATERAL.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vcoll_crl_to_der(uint8_t **der, size_t *der_len, const uint8_t *buf, size_t len)
    TKM_NONNULL(1, 2);
/* Percent-decode a header value (a URL-encoded PEM chain). Out: *out (malloc'd, NUL-terminated), *out_len. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vcoll_url_decode(char **out, size_t *out_len, const char *s, size_t len)
    TKM_NONNULL(1, 2);

#endif
