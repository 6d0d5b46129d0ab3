/*
 * tkm_attest.h — verifying and appraising evidence (see docs/verifier.md).
 *
 * Flow (what a verifier service does):
 *   ctx  = tkm_attest_ctx_new()                    once: built-in trust anchors, caches
 *   coll = tkm_dcap_collateral_parse(json)         once per collateral set (Intel), or
 *          tkm_snp_collateral_parse(vcek)          once per VCEK/VLEK (AMD)
 *   pol  = tkm_appraisal_policy_parse(json)        once per policy
 *   ev   = tkm_evidence_parse(bytes)               per evidence
 *   tkm_appraise(ctx, ev, coll, pol, &opts, &res)  per evidence, at opts.at
 *
 * The result lists every check by a stable name with ok/detail (the list of
 * names is in docs/verifier.md) and a verdict; a check that could not be
 * evaluated is reported as failed, never as passing.
 *
 * Time: every time-dependent check (certificate and CRL validity, collateral
 * issueDate/nextUpdate, evidence age) uses opts.at, never the clock.
 *
 * Caching: the context caches the outcome of certificate-chain verifications
 * keyed by the SHA-256 of the exact chain bytes and of the CRLs used, together
 * with the time interval in which that outcome holds; a verification at a time
 * outside the interval is recomputed. Collateral objects verify their own
 * signatures once, at parse time, over the exact signed bytes they keep.
 * Per-evidence checks (quote and QE report signatures, QE binding, TCB
 * matching, report signature) are never cached.
 *
 * Ownership: tkm_attest_ctx_new, tkm_*_collateral_parse and
 * tkm_appraisal_policy_parse return objects the caller frees with the
 * matching *_free (NULL-safe); a tkm_appraisal is a caller-provided struct
 * (large: allocate it), filled in place. NULL: input buffers may be NULL only
 * with length 0; the collateral and policy arguments of tkm_appraise may be
 * NULL (see there).
 * Thread-safety: ctx may be shared between threads (its cache has a mutex);
 * collateral, policy and evidence objects are immutable after parsing and may
 * be shared; a result belongs to the caller. Nothing here is secret.
 */
#ifndef TKM_ATTEST_H
#define TKM_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "tkm_evidence.h"

/* ---- TCB status (Intel PCS names; severity order as below) ---- */
typedef enum {
    TKM_TCB_NONE = 0, /* not determined / not applicable (SNP, sim) */
    TKM_TCB_UP_TO_DATE = 1,
    TKM_TCB_SW_HARDENING_NEEDED = 2,
    TKM_TCB_CONFIGURATION_NEEDED = 3,
    TKM_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED = 4,
    TKM_TCB_OUT_OF_DATE = 5,
    TKM_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED = 6,
    TKM_TCB_REVOKED = 7,
} tkm_tcb_status;

/* Returns: "UpToDate", …, "Revoked"; NULL for TKM_TCB_NONE. */
TKM_API const char *tkm_tcb_status_name(tkm_tcb_status s);
/* Returns: the status for a PCS name, TKM_TCB_NONE when unknown. */
TKM_API tkm_tcb_status tkm_tcb_status_from_name(const char *s, size_t len);

/* ---- result ---- */
#define TKM_CHECK_DETAIL_LEN 200
#define TKM_APPRAISAL_MAX_CHECKS 48
#define TKM_APPRAISAL_MAX_ADVISORIES 64
#define TKM_ADVISORY_ID_LEN 32

typedef struct {
    const char *name; /* stable check name (static string) */
    int ok;
    char detail[TKM_CHECK_DETAIL_LEN];
} tkm_check;

typedef enum { TKM_VERDICT_INVALID = 0, TKM_VERDICT_VALID = 1 } tkm_verdict;

/*
 * Whether the certificate chain behind the evidence was checked against its
 * vendor's revocation lists (SGX/TDX: "pck.crl"; SNP: "snp.crl").
 */
typedef enum {
    TKM_REVOCATION_NOT_APPLICABLE = 0, /* sim evidence, or appraisal stopped before the chain */
    TKM_REVOCATION_NOT_CHECKED = 1,    /* no CRL given: the check failed as "not evaluated" */
    TKM_REVOCATION_CHECKED = 2,        /* the CRLs are authentic, current and list none of the chain */
    TKM_REVOCATION_REVOKED = 3,        /* a certificate of the chain is listed */
    TKM_REVOCATION_FAILED = 4,         /* a CRL was given but is unusable (signature, issuer, dates) */
} tkm_revocation;
/* Returns: "not_applicable", "not_checked", "checked", "revoked", "failed". */
TKM_API const char *tkm_revocation_name(tkm_revocation r);

typedef struct {
    tkm_verdict verdict; /* VALID only when every check passed */
    tkm_platform platform;
    int simulated; /* sim evidence: never proof of isolation */
    tkm_tcb_status tcb_status;
    tkm_revocation revocation;
    size_t n_advisories;
    char advisory_ids[TKM_APPRAISAL_MAX_ADVISORIES][TKM_ADVISORY_ID_LEN];
    uint8_t measurement[48];
    size_t measurement_len;
    uint8_t report_data[64];
    int debug;
    size_t n_checks;
    tkm_check checks[TKM_APPRAISAL_MAX_CHECKS];
} tkm_appraisal;

/* Returns: the named check in res, or NULL. */
TKM_API const tkm_check *tkm_appraisal_find(const tkm_appraisal *res, const char *name) TKM_NONNULL(1, 2);
/* Returns: the first failed check, or NULL. */
TKM_API const tkm_check *tkm_appraisal_first_failure(const tkm_appraisal *res) TKM_NONNULL(1);
/*
 * Result JSON: {verdict, platform, simulated, tcbStatus, revocation, advisoryIds,
 * measurement, reportData, debug, checks:[{name, ok, detail}]} (revocation:
 * tkm_revocation_name). Out: *out (caller json_decref's).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_appraisal_to_json(const tkm_appraisal *res, json_t **out)
    TKM_NONNULL(1, 2);

/* ---- context: trust anchors and caches ---- */
typedef struct tkm_attest_ctx tkm_attest_ctx;

/* Built-in anchors: Intel SGX Root CA; AMD ARK/ASK/ASVK for Milan, Genoa, Turin. Free with tkm_attest_ctx_free. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_attest_ctx_new(tkm_attest_ctx **out) TKM_NONNULL(1);
TKM_API void tkm_attest_ctx_free(tkm_attest_ctx *ctx);
/* Cache statistics (hits, misses) for benchmarks and tests. */
TKM_API void tkm_attest_ctx_cache_stats(tkm_attest_ctx *ctx, uint64_t *hits, uint64_t *misses) TKM_NONNULL(1, 2, 3);
/* Drop every cached chain outcome. */
TKM_API void tkm_attest_ctx_cache_clear(tkm_attest_ctx *ctx) TKM_NONNULL(1);

/*
 * ---- collateral ----
 * One opaque type for both vendors: Intel collateral (the dcap-qvl
 * QuoteCollateralV3 JSON, see docs/verifier.md) or an AMD VCEK/VLEK.
 */
typedef struct tkm_collateral tkm_collateral;

/*
 * Parse strictly (unknown fields rejected) and keep the exact signed bytes of
 * tcb_info and qe_identity. Also parses the CRLs and issuer chains and checks
 * the two collateral signatures against the first certificate of their
 * issuer chain (the chains themselves are checked against the root at
 * appraisal time). A bad signature is not a parse error: it is recorded and
 * reported by the tcbinfo.signature / qeidentity.signature checks.
 * Returns: OK; TKM_ERR_COLLATERAL, TKM_ERR_JSON*, TKM_ERR_X509, TKM_ERR_NOMEM.
 * Out: *out (free with tkm_collateral_free).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_dcap_collateral_parse(tkm_collateral **out, const uint8_t *json,
                                                         size_t len) TKM_NONNULL(1);
/*
 * AMD: the VCEK or VLEK certificate, optionally with the AMD KDS CRL of its
 * product ({kds}/vcek/v1/{product}/crl, or .../vlek/v1/... for a VLEK):
 *   DER: the certificate, optionally followed directly by the DER CRL;
 *   PEM: exactly one CERTIFICATE block and at most one X509 CRL block, in
 *        either order, whitespace between them.
 * The CRL is only parsed here; the "snp.crl" check verifies it at appraisal.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_snp_collateral_parse(tkm_collateral **out, const uint8_t *buf,
                                                        size_t len) TKM_NONNULL(1);
/* Returns: TKM_PLATFORM_SGX for Intel collateral (SGX and TDX alike), TKM_PLATFORM_SNP for AMD. */
TKM_API tkm_platform tkm_collateral_vendor(const tkm_collateral *c) TKM_NONNULL(1);
/* NULL-safe. */
TKM_API void tkm_collateral_free(tkm_collateral *c);

/*
 * ---- collateral lookup (for fetchers and caches) ----
 * Which collateral a piece of evidence needs, and what a parsed collateral
 * covers. Nothing here verifies anything: a fetched collateral is still
 * checked in full by tkm_appraise.
 */
typedef struct {
    uint8_t fmc, bl, tee, snp, ucode; /* SEV-SNP TCB_VERSION components (fmc: Turin only) */
} tkm_snp_tcb;
/* Split a TCB_VERSION: Milan/Genoa bl=byte 0, tee=1, snp=6, ucode=7; Turin fmc=0, bl=1, tee=2, snp=3, ucode=7. */
TKM_API void tkm_snp_tcb_split(uint64_t tcb, int turin, tkm_snp_tcb *out) TKM_NONNULL(3);

typedef struct {
    tkm_platform platform;
    /* SGX / TDX: from the PCK certificate carried in the quote */
    uint8_t fmspc[6];
    int pck_ca_platform;     /* 1: issued by the PCK Platform CA; 0: by the Processor CA */
    /* SNP */
    const char *snp_product; /* "Milan", "Genoa" or "Turin" from the report's CPUID (v3+), NULL when unknown */
    uint8_t chip_id[64];
    uint64_t reported_tcb;
    int snp_vlek;            /* signed by a VLEK (not available from the KDS VCEK endpoint) */
    int snp_chip_masked;     /* MASK_CHIP_KEY: chip_id is zero, no VCEK can be looked up */
} tkm_collateral_id;

/*
 * Out: *out for the evidence (sim: platform only).
 * Returns: OK; TKM_ERR_X509 (the quote's PCK chain or its SGX extension does
 * not parse, or its issuer is not a PCK CA); TKM_ERR_NOMEM.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_evidence_collateral_id(const tkm_evidence *ev, tkm_collateral_id *out)
    TKM_NONNULL(1, 2);

typedef struct {
    tkm_platform vendor;  /* SGX (Intel, SGX and TDX alike) or SNP */
    /* Intel */
    char tcb_id[8];       /* TCB info id: "SGX" or "TDX" */
    uint8_t fmspc[6];
    int pck_ca_platform;  /* the PCK CRL is the Platform CA's (1) or the Processor CA's (0) */
    /* AMD */
    char product[32];     /* productName extension, e.g. "Milan-B0" */
    uint8_t hwid[64];
    size_t hwid_len;      /* 0 (VLEK), 8 (Turin) or 64 */
    tkm_snp_tcb tcb;
    int is_vlek;
    int has_crl;          /* the AMD CRL came with the certificate */
    int64_t crl_next_update; /* its nextUpdate (0 without a CRL) */
    /* both: Intel = earliest nextUpdate of TCB info, QE identity, root CA CRL and PCK CRL;
     * AMD = the certificate's notAfter, or the CRL's nextUpdate when earlier */
    int64_t next_update;
} tkm_collateral_info;

/* Out: *out describing c. */
TKM_API void tkm_collateral_info_get(const tkm_collateral *c, tkm_collateral_info *out) TKM_NONNULL(1, 2);

/* ---- appraisal policy (JSON, docs/verifier.md) ---- */
typedef struct tkm_appraisal_policy tkm_appraisal_policy;
TKM_API TKM_WARN_UNUSED tkm_rc tkm_appraisal_policy_parse(tkm_appraisal_policy **out, const uint8_t *json,
                                                          size_t len) TKM_NONNULL(1);
TKM_API void tkm_appraisal_policy_free(tkm_appraisal_policy *p);
/* Out: out = SHA-256 of the policy document's RFC 8785 canonical form (what registries record). */
TKM_API void tkm_appraisal_policy_hash(const tkm_appraisal_policy *p, uint8_t out[static 32]) TKM_NONNULL(1, 2);
/*
 * Returns: 1 when the policy lists the platform under "keyRelease": a
 * verifier may then release the instance's state key (HPKE-wrapped) after a
 * valid appraisal of that platform's evidence; 0 otherwise.
 */
TKM_API int tkm_appraisal_policy_key_release(const tkm_appraisal_policy *p, tkm_platform platform) TKM_NONNULL(1);

/* ---- appraisal ---- */
typedef struct {
    int64_t at; /* verification time, Unix seconds */
    /* Hooks for the verifier service (all optional): */
    const uint8_t *expected_report_data; /* 64 bytes recomputed from the claims, or NULL */
    int nonce_bound;        /* 1 when expected_report_data includes a fresh verifier nonce */
    int64_t evidence_time;  /* when the evidence was requested/produced (0 = unknown) */
} tkm_appraise_opts;

/*
 * Verify the evidence and appraise it under policy (NULL = the default
 * "authenticity only" rules of `teekm evidence verify` without --policy).
 * coll: Intel collateral for SGX/TDX, a VCEK/VLEK (with the AMD CRL) for SNP,
 * NULL for sim (or when none is available: the collateral checks then fail).
 * SNP without a CRL: "snp.crl" fails as "not evaluated" and res->revocation
 * is TKM_REVOCATION_NOT_CHECKED (never presented as passed).
 * Returns: OK when the appraisal ran (read res->verdict); TKM_ERR_NOMEM or
 * TKM_ERR_INTERNAL otherwise. res is fully overwritten.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_appraise(tkm_attest_ctx *ctx, const tkm_evidence *ev,
                                            const tkm_collateral *coll, const tkm_appraisal_policy *policy,
                                            const tkm_appraise_opts *opts, tkm_appraisal *res)
    TKM_NONNULL(1, 2, 5, 6);

/* Result for evidence that did not parse: verdict invalid, one failed check "evidence.parse". */
TKM_API void tkm_appraisal_parse_failure(tkm_appraisal *res, tkm_platform platform, tkm_rc rc,
                                         const char *detail) TKM_NONNULL(1);

/* ---- helpers shared with tests ---- */
/* "YYYY-MM-DDTHH:MM:SSZ" → Unix seconds. Returns: OK or TKM_ERR_FORMAT. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_attest_parse_time(int64_t *out, const char *s, size_t len) TKM_NONNULL(1, 2);

#endif
