/*
 * attest_int.h — private to src/attest/: DER reading, OpenSSL glue, the
 * collateral structures and the check recorder. Not part of the interface.
 * OpenSSL's X509/X509_CRL/X509_STORE/EVP APIs are used only inside this
 * folder; their errors are drained into tkm_err at the boundary
 * (TKM_OSSL_FAIL, ../crypto/tkm_ossl.h).
 */
#ifndef TKM_ATTEST_INT_H
#define TKM_ATTEST_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "../crypto/tkm_ossl.h"
#include "tkm_attest.h"
#include "tkm_evidence.h"

/* ---- compiled-in anchors (roots_data.c, generated) ---- */
extern const uint8_t tkm_root_intel_sgx_root[];
extern const size_t tkm_root_intel_sgx_root_len;
extern const uint8_t tkm_root_amd_ark_milan[], tkm_root_amd_ask_milan[], tkm_root_amd_asvk_milan[];
extern const size_t tkm_root_amd_ark_milan_len, tkm_root_amd_ask_milan_len, tkm_root_amd_asvk_milan_len;
extern const uint8_t tkm_root_amd_ark_genoa[], tkm_root_amd_ask_genoa[], tkm_root_amd_asvk_genoa[];
extern const size_t tkm_root_amd_ark_genoa_len, tkm_root_amd_ask_genoa_len, tkm_root_amd_asvk_genoa_len;
extern const uint8_t tkm_root_amd_ark_turin[], tkm_root_amd_ask_turin[], tkm_root_amd_asvk_turin[];
extern const size_t tkm_root_amd_ark_turin_len, tkm_root_amd_ask_turin_len, tkm_root_amd_asvk_turin_len;

/* ---- OpenSSL glue (x509.c) ---- */
/* One DER certificate; the whole buffer must be consumed. */
tkm_rc attest_x509_from_der(X509 **out, const uint8_t *der, size_t len);
/*
 * A PEM chain of 1..max certificates: only BEGIN/END CERTIFICATE blocks,
 * whitespace between them and an optional trailing NUL. Out: *out, caller
 * frees with sk_X509_pop_free(*out, X509_free).
 */
tkm_rc attest_pem_chain_parse(STACK_OF(X509) **out, const uint8_t *pem, size_t len, int max);
/*
 * Next PEM block from *pos (whitespace before it skipped): a CERTIFICATE or an
 * X509 CRL block, nothing else. Out: *kind (ATTEST_PEM_NONE at the end of the
 * text, *der NULL), *der (malloc'd, caller frees), *der_len; *pos advanced.
 */
enum { ATTEST_PEM_NONE = 0, ATTEST_PEM_CERT = 1, ATTEST_PEM_CRL = 2 };
tkm_rc attest_pem_next(const uint8_t *pem, size_t len, size_t *pos, int *kind, uint8_t **der, size_t *der_len);
/* One CRL in DER, whole buffer consumed. */
tkm_rc attest_crl_from_der(X509_CRL **out, const uint8_t *der, size_t len);
/* P-256 public key from raw X ‖ Y (64 bytes). */
tkm_rc attest_p256_from_xy(EVP_PKEY **out, const uint8_t xy[64]);
/* P-256 public key from SEC1 uncompressed (65 bytes). */
tkm_rc attest_p256_from_sec1(EVP_PKEY **out, const uint8_t pub[65]);
/*
 * ECDSA verification of msg with a raw (r, s) pair of n-byte fields,
 * big-endian (le = 0) or little-endian (le = 1). Returns: 1 valid, 0 invalid
 * (bad signature or malformed r/s), -1 internal error.
 */
int attest_ecdsa_verify(EVP_PKEY *pub, const EVP_MD *md, const uint8_t *msg, size_t msg_len,
                        const uint8_t *r, const uint8_t *s, size_t n, int le);
/* Unix seconds of an ASN1_TIME; 0 on failure (callers treat as invalid). */
int attest_asn1_time_unix(const ASN1_TIME *t, int64_t *out);
/* Common name of a name (first CN), into buf; "" when none. */
void attest_name_cn(const X509_NAME *n, char *buf, size_t cap);
/* sha256 of DER encoding of a cert */
tkm_rc attest_x509_sha256(uint8_t out[32], X509 *c);

/* ---- DER (x509.c) ---- */
/* Read one TLV with a single-byte tag and a minimal definite length. */
tkm_rc attest_der_tlv(tkm_rd *r, uint8_t *tag, tkm_rd *content);
tkm_rc attest_der_expect(tkm_rd *r, uint8_t tag, tkm_rd *content);
/* A non-negative minimal DER INTEGER ≤ max. */
tkm_rc attest_der_uint(tkm_rd *content, uint64_t max, uint64_t *v);

/* ---- Intel PCK certificate SGX extension (OID 1.2.840.113741.1.13.1) ---- */
typedef struct {
    uint8_t ppid[16];
    uint8_t tcb_comp[16]; /* SGX TCB component SVNs .2.1 … .2.16 */
    uint16_t pce_svn;     /* .2.17 */
    uint8_t cpu_svn[16];  /* .2.18 */
    uint8_t pce_id[2];
    uint8_t fmspc[6];
    int sgx_type;
} attest_pck_ext;
/* Parse the extension value (the content of the extnValue OCTET STRING). */
TKM_API tkm_rc attest_pck_ext_parse(attest_pck_ext *out, const uint8_t *der, size_t len);
tkm_rc attest_pck_ext_from_cert(attest_pck_ext *out, X509 *cert);

/* ---- AMD VCEK/VLEK extensions (OID 1.3.6.1.4.1.3704.1.x) ---- */
typedef struct {
    int has_bl, has_tee, has_snp, has_ucode, has_fmc;
    uint8_t bl, tee, snp, ucode, fmc;
    char product[32];
    size_t hwid_len; /* 0 = absent; 64 (Milan/Genoa) or 8 (Turin) */
    uint8_t hwid[64];
    int has_csp;
    char csp_id[128];
} attest_vcek_ext;
TKM_API tkm_rc attest_vcek_ext_from_cert(attest_vcek_ext *out, X509 *cert);

/* ---- check recorder (appraisal.c) ---- */
void attest_check(tkm_appraisal *res, const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void attest_add_advisories(tkm_appraisal *res, const char *const *ids, size_t n);

/* ---- Intel collateral (collateral.c) ---- */
typedef struct {
    int64_t isvsvn;
    tkm_tcb_status status;
    size_t n_adv;
    char **adv; /* advisory ids */
} attest_qe_level;

typedef struct {
    uint8_t sgx_comp[16];
    int n_sgx; /* 16 */
    uint16_t pcesvn;
    uint8_t tdx_comp[16];
    int n_tdx; /* 0 or 16 */
    tkm_tcb_status status;
    size_t n_adv;
    char **adv;
} attest_tcb_level;

typedef struct {
    char id[16]; /* "TDX_01" */
    uint8_t mrsigner[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    size_t n_levels;
    attest_qe_level *levels;
} attest_tdx_module_identity;

typedef struct {
    char id[8]; /* "SGX" or "TDX" */
    int version;
    int64_t issue_date, next_update;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    int tcb_type;
    int64_t eval_num;
    int has_tdx_module;
    uint8_t tdx_module_mrsigner[48];
    uint8_t tdx_module_attributes[8];
    uint8_t tdx_module_attributes_mask[8];
    size_t n_module_ids;
    attest_tdx_module_identity *module_ids;
    size_t n_levels;
    attest_tcb_level *levels;
} attest_tcb_info;

typedef struct {
    char id[8]; /* "QE" or "TD_QE" */
    int version;
    int64_t issue_date, next_update;
    int64_t eval_num;
    uint32_t miscselect, miscselect_mask;
    uint8_t attributes[16], attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    size_t n_levels;
    attest_qe_level *levels;
} attest_qe_identity;

/* A signed collateral document (TCB info or QE identity): exact bytes + chain + signature outcome. */
typedef struct {
    uint8_t *text; /* the exact signed JSON bytes */
    size_t text_len;
    uint8_t *chain_pem;
    size_t chain_len;
    uint8_t chain_digest[32];
    STACK_OF(X509) *chain; /* [signing cert, root] */
    int sig_ok;            /* signature over text by chain[0]'s key */
    char sig_detail[TKM_CHECK_DETAIL_LEN];
} attest_signed_doc;

typedef struct {
    X509_CRL *root_crl, *pck_crl;
    uint8_t crl_digest[32]; /* SHA-256(SHA-256(root crl) ‖ SHA-256(pck crl)) */
    STACK_OF(X509) *pck_crl_chain;
    attest_signed_doc tcb_doc, qe_doc;
    attest_tcb_info tcb;
    attest_qe_identity qe;
} attest_dcap_coll;

typedef struct {
    X509 *cert;
    uint8_t digest[32];
    attest_vcek_ext ext;
    int is_vlek; /* issuer is an ASVK */
    X509_CRL *crl;          /* the AMD KDS CRL (ARK-signed), NULL when none was given */
    uint8_t crl_digest[32]; /* SHA-256 of its DER */
} attest_snp_coll;

struct tkm_collateral {
    tkm_platform vendor; /* SGX (Intel) or SNP (AMD) */
    attest_dcap_coll dcap;
    attest_snp_coll snp;
};

/* ---- context and cache (ctx.c) ---- */
typedef struct {
    const char *product; /* "Milan", "Genoa", "Turin" */
    X509 *ark, *ask, *asvk;
    int ark_ok, ask_ok, asvk_ok; /* signatures verified at ctx creation */
    char ark_detail[TKM_CHECK_DETAIL_LEN], ask_detail[TKM_CHECK_DETAIL_LEN], asvk_detail[TKM_CHECK_DETAIL_LEN];
} attest_amd_product;

#define ATTEST_CACHE_SLOTS 64
typedef struct {
    int used;
    uint8_t key[32];
    int64_t lo, hi;   /* outcome holds for lo < at < hi */
    EVP_PKEY *leaf_pub; /* owned (up-ref'd) */
    X509 *leaf;       /* owned */
    char ca_cn[64];
    attest_pck_ext pck; /* for PCK chains */
    char detail[TKM_CHECK_DETAIL_LEN];
    char crl_detail[TKM_CHECK_DETAIL_LEN];
    uint64_t stamp;
} attest_cache_entry;

struct tkm_attest_ctx {
    X509 *intel_root;
    uint8_t intel_root_digest[32];
    attest_amd_product amd[3];
    pthread_mutex_t mu;
    attest_cache_entry cache[ATTEST_CACHE_SLOTS];
    uint64_t clock, hits, misses;
};

/* Look up a cached successful outcome for key at time at; copies it to *out (leaf refs up'd). */
int attest_cache_get(tkm_attest_ctx *ctx, const uint8_t key[32], int64_t at, attest_cache_entry *out);
void attest_cache_put(tkm_attest_ctx *ctx, const attest_cache_entry *e);
void attest_cache_entry_release(attest_cache_entry *e);

/* ---- verifiers ---- */
void attest_verify_dcap(tkm_attest_ctx *ctx, const tkm_evidence *ev, const tkm_collateral *coll,
                        int64_t at, tkm_appraisal *res);
void attest_verify_snp(tkm_attest_ctx *ctx, const tkm_evidence *ev, const tkm_collateral *coll,
                       int64_t at, tkm_appraisal *res);
void attest_verify_sim(const tkm_evidence *ev, tkm_appraisal *res);

/* RSA-PSS (SHA-384, MGF1-SHA-384, salt 48) signature of cert by issuer; 1 valid. */
int attest_pss_verify_cert(X509 *cert, EVP_PKEY *issuer, char *detail, size_t cap);

/* The same for a CRL (AMD KDS CRLs are signed by the ARK with RSA-PSS). */
int attest_pss_verify_crl(X509_CRL *crl, EVP_PKEY *issuer, char *detail, size_t cap);

/*
 * The AMD CRL check ("snp.crl") without caching: crl's issuer name is ark's
 * subject, its RSA-PSS signature verifies with ark's key, thisUpdate <= at <
 * nextUpdate, and neither mid (ASK/ASVK, issued by the ARK) nor leaf
 * (VCEK/VLEK, issued by mid) is listed. An entry names the CRL issuer's
 * certificates unless a certificateIssuer entry extension (RFC 5280 5.3.3)
 * names another issuer, which then holds for the following entries too; a
 * serial counts only together with its issuer (AMD VCEK serials are often 0).
 * Out: *revoked = 1 when a certificate is listed; detail. Returns: 1 when the
 * CRL is good and lists neither, 0 otherwise. Exposed for the unit tests.
 */
/*
 * Only the entry lookup of the above (no signature or date checks): is mid or
 * leaf listed? Returns 1 listed, 0 not, -1 an entry cannot be read; appends
 * to detail. Exposed for the fuzz target.
 */
TKM_API int attest_snp_crl_lists(X509_CRL *crl, X509 *mid, X509 *leaf, char *detail, size_t cap);
TKM_API int attest_snp_crl_eval(X509_CRL *crl, X509 *ark, X509 *mid, X509 *leaf, int64_t at, int *revoked,
                                char *detail, size_t cap);

/* Chain of X509s to the Intel root at time at, with optional CRLs; lo and hi get the validity interval. */
int attest_intel_chain_verify(tkm_attest_ctx *ctx, STACK_OF(X509) *chain, X509_CRL *root_crl,
                              X509_CRL *pck_crl, int64_t at, char *detail, size_t cap, int64_t *lo,
                              int64_t *hi);

#endif
