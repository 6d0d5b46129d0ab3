/*
 * tkm_evidence_format.h — the one byte-exact parser of each attestation
 * evidence format. The tee module reads its own evidence with it
 * (tkm_ev_inspect, tkm_tee_evidence.h); the attest module builds its
 * owning evidence object and its verification on it (tkm_evidence.h).
 *
 * Formats: Intel SGX DCAP ECDSA quote v3 (and SGX v4/v5), Intel TDX quote v4
 * and v5 (body types 2 = TD 1.0 and 3 = TD 1.5), AMD SEV-SNP attestation
 * report versions 2, 3 and 5, and teekm's `sim` evidence
 * (docs/sim-evidence.md). Layouts: Intel's DCAP "Quote Library API" and TDX
 * DCAP quote documents, AMD SEV-SNP ABI spec (ATTESTATION_REPORT), the
 * offsets in the comments below, and docs/sim-evidence.md.
 *
 * Parsing only: nothing here checks a signature, a certificate or a TCB
 * level (that is appraisal, in src/attest/). Every field is read through
 * tkm_rd in little-endian order, never by casting a struct over the buffer;
 * every declared length is checked against the sub-reader that encloses it.
 *
 * Trailing bytes after a DCAP quote's signature data: real TDX quotes come
 * padded with zero bytes to a fixed buffer size (configfs-tsm/QGS outblobs).
 * The parser accepts any number of trailing ZERO bytes (recorded in
 * padding_len) and rejects any non-zero trailing byte with TKM_ERR_TRAILING:
 * unsigned bytes that carry data have no place in evidence. SNP reports must
 * be exactly 1184 bytes and sim evidence exactly 300 bytes.
 *
 * Returns (every parser): OK; TKM_ERR_EVIDENCE (an invalid field, the detail
 * says which); TKM_ERR_TRUNCATED (a declared length runs past its
 * enclosure, or the input is short); TKM_ERR_TRAILING.
 * Out: the struct, zeroed on entry and on failure.
 * Lifetime: the pointers inside a parsed struct (signed_region, views of
 * the QE report, auth data and PCK chain) point into the input buffer and
 * are valid while it is unchanged. Ownership: nothing is allocated.
 * NULL: buf may be NULL only with len 0. Secrets: none.
 * Thread-safety: reentrant.
 */
#ifndef TKM_EVIDENCE_FORMAT_H
#define TKM_EVIDENCE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

/* ---- Intel DCAP ---- */

#define TKM_DCAP_HEADER_LEN 48
#define TKM_SGX_REPORT_BODY_LEN 384
#define TKM_TD10_REPORT_BODY_LEN 584
#define TKM_TD15_REPORT_BODY_LEN 648
#define TKM_DCAP_TEE_SGX 0x00000000u
#define TKM_DCAP_TEE_TDX 0x00000081u
#define TKM_DCAP_ATT_KEY_ECDSA_P256 2
#define TKM_DCAP_CERT_PCK_CHAIN 5
#define TKM_DCAP_CERT_QE_REPORT 6
#define TKM_DCAP_BODY_SGX 1
#define TKM_DCAP_BODY_TD10 2
#define TKM_DCAP_BODY_TD15 3

/* SGX report body (sgx_report_body_t); used for ISV enclaves and the QE. */
typedef struct {
    uint8_t cpu_svn[16];
    uint32_t misc_select;
    uint8_t isv_ext_prod_id[16];
    uint8_t attributes[16]; /* flags u64 LE ‖ xfrm u64 LE; flags bit 1 = DEBUG */
    uint8_t mr_enclave[32];
    uint8_t mr_signer[32];
    uint8_t config_id[64];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    uint16_t config_svn;
    uint8_t isv_family_id[16];
    uint8_t report_data[64];
} tkm_sgx_report_body;

/* TD report body: TD 1.0 (584 bytes) plus, for TD 1.5, tee_tcb_svn2 and mr_servicetd. */
typedef struct {
    uint8_t tee_tcb_svn[16];
    uint8_t mr_seam[48];
    uint8_t mr_signer_seam[48];
    uint8_t seam_attributes[8];
    uint8_t td_attributes[8]; /* byte 0 = TUD (bit 0 DEBUG); bit 28 SEPT_VE_DISABLE */
    uint8_t xfam[8];
    uint8_t mr_td[48];
    uint8_t mr_config_id[48];
    uint8_t mr_owner[48];
    uint8_t mr_owner_config[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    int is_td15;
    uint8_t tee_tcb_svn2[16];  /* TD 1.5 only, else zero */
    uint8_t mr_servicetd[48];  /* TD 1.5 only, else zero */
} tkm_td_report_body;

typedef struct {
    /* header */
    uint16_t version;      /* 3, 4 or 5 */
    uint16_t att_key_type; /* 2 = ECDSA P-256 */
    uint32_t tee_type;     /* 0 SGX, 0x81 TDX (v3: reserved field, must be 0) */
    uint16_t qe_svn;
    uint16_t pce_svn;
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
    /* body */
    uint16_t body_type; /* v5: from the descriptor; v3/v4: 1 (SGX) or 2 (TD 1.0) */
    tkm_sgx_report_body sgx; /* when body_type == 1 */
    tkm_td_report_body td;   /* when body_type == 2 or 3 */
    /* the bytes covered by the quote signature: header (‖ v5 descriptor) ‖ body */
    const uint8_t *signed_region;
    size_t signed_len;
    /* signature data */
    uint32_t sig_data_len;
    uint8_t quote_sig[64];  /* r ‖ s, big-endian */
    uint8_t attest_key[64]; /* X ‖ Y, big-endian */
    uint16_t outer_cert_type; /* v3: 5; v4/v5: 6 (QE report certification data) */
    tkm_sgx_report_body qe_report;
    const uint8_t *qe_report_raw; /* 384 bytes, signed by the PCK key */
    uint8_t qe_report_sig[64];
    const uint8_t *qe_auth_data;
    uint16_t qe_auth_len;
    /* certification data type 5: the PEM PCK chain (leaf, CA, root) */
    const uint8_t *pck_chain_pem;
    size_t pck_chain_len;
    /* bytes after the signature data (all zero) */
    size_t quote_len;   /* meaningful bytes */
    size_t padding_len; /* zero bytes that followed */
} tkm_dcap_quote;

/* ---- AMD SEV-SNP ---- */

#define TKM_SNP_REPORT_LEN 1184
#define TKM_SNP_SIGNED_LEN 0x2A0

typedef struct {
    uint32_t version; /* 2, 3 or 5 */
    uint32_t guest_svn;
    uint64_t policy;
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t vmpl;
    uint32_t signature_algo; /* 1 = ECDSA P-384 with SHA-384 */
    uint64_t current_tcb;
    uint64_t platform_info;
    uint32_t flags; /* bit0 AUTHOR_KEY_EN, bit1 MASK_CHIP_KEY, bits 2-4 SIGNING_KEY */
    uint8_t report_data[64];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t id_key_digest[48];
    uint8_t author_key_digest[48];
    uint8_t report_id[32];
    uint8_t report_id_ma[32];
    uint64_t reported_tcb;
    uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step; /* v3+, else 0 */
    uint8_t chip_id[64];
    uint64_t committed_tcb;
    uint8_t current_build, current_minor, current_major;
    uint8_t committed_build, committed_minor, committed_major;
    uint64_t launch_tcb;
    uint64_t launch_mit_vector, current_mit_vector; /* v5, else 0 */
    uint8_t sig_r[72]; /* little-endian */
    uint8_t sig_s[72]; /* little-endian */
    const uint8_t *signed_region; /* bytes 0x000..0x29F */
} tkm_snp_report;

#define TKM_SNP_POLICY_SMT (1ull << 16)
#define TKM_SNP_POLICY_RESERVED1 (1ull << 17)
#define TKM_SNP_POLICY_MIGRATE_MA (1ull << 18)
#define TKM_SNP_POLICY_DEBUG (1ull << 19)
#define TKM_SNP_SIGNING_KEY(flags) (((flags) >> 2) & 7u) /* 0 VCEK, 1 VLEK, 7 none */

/* ---- teekm sim ---- */

#define TKM_SIM_EVIDENCE_LEN 300
#define TKM_SIM_SIGNED_LEN 236
#define TKM_SIM_MAGIC "TKMSIM01" /* 8 bytes, no NUL in the evidence */
/* The label field (32 bytes): this UTF-8 text (24 bytes, U+2014 is e2 80 94), then 8 zero bytes. */
#define TKM_SIM_LABEL "SIMULATED \xe2\x80\x94 NOT SECURE"
#define TKM_SIM_LABEL_LEN 32
#define TKM_SIM_FLAG_SIMULATED_NOT_SECURE 1u

typedef struct {
    uint32_t version;
    uint32_t flags;
    uint8_t measurement[48];
    uint8_t report_data[64];
    uint64_t timestamp;
    uint8_t pubkey[65]; /* SEC1 uncompressed P-256 */
    uint8_t sig[64];    /* r ‖ s, big-endian */
    const uint8_t *signed_region; /* bytes 0..235 */
} tkm_sim_evidence;

/* ---- parsers ---- */

TKM_API TKM_WARN_UNUSED tkm_rc tkm_dcap_quote_parse(tkm_dcap_quote *out, const uint8_t *buf, size_t len)
    TKM_NONNULL(1);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_snp_report_parse(tkm_snp_report *out, const uint8_t *buf, size_t len)
    TKM_NONNULL(1);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_sim_evidence_parse(tkm_sim_evidence *out, const uint8_t *buf,
                                                      size_t len) TKM_NONNULL(1);
/* The next 384 bytes of r as an SGX report body; r advances by 384 (not on failure). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_sgx_report_body_parse(tkm_sgx_report_body *out, tkm_rd *r)
    TKM_NONNULL(1, 2);

/*
 * Debug (non-confidential) guest or enclave, one rule per format, shared by
 * the tee (which refuses to start in debug) and the appraisal:
 * SGX ATTRIBUTES.DEBUG (flags bit 1); TDX any TUD bit (TD_ATTRIBUTES byte 0:
 * bit 0 DEBUG, bits 1-7 reserved for debug features); SNP POLICY.DEBUG.
 * Returns: 1 when debug, else 0.
 */
TKM_API int tkm_sgx_report_body_debug(const tkm_sgx_report_body *b) TKM_NONNULL(1);
TKM_API int tkm_td_report_body_debug(const tkm_td_report_body *b) TKM_NONNULL(1);
TKM_API int tkm_snp_report_debug(const tkm_snp_report *s) TKM_NONNULL(1);

#endif
