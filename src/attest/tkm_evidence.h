/*
 * tkm_evidence.h — byte-exact parsers for attestation evidence.
 *
 * Formats: Intel SGX DCAP ECDSA quote v3 (and SGX v4), Intel TDX quote v4 and
 * v5 (body types 2 = TD 1.0 and 3 = TD 1.5), AMD SEV-SNP attestation report
 * versions 2, 3 and 5, and teekm's `sim` evidence (docs/sim-evidence.md).
 * Layouts: ../shared/attestation/FORMATS.md, summarised in docs/verifier.md.
 *
 * Parsing only: nothing here checks a signature or a certificate. Every field
 * is read through tkm_rd in little-endian order, never by casting a struct
 * over the buffer; every declared length is checked against the sub-reader
 * that encloses it.
 *
 * Trailing bytes after a DCAP quote's signature data: real TDX quotes come
 * padded with zero bytes to a fixed buffer size (configfs-tsm/QGS outblobs).
 * The parser accepts any number of trailing ZERO bytes (recorded in
 * padding_len) and rejects any non-zero trailing byte with TKM_ERR_TRAILING:
 * unsigned bytes that carry data have no place in evidence. SNP reports must
 * be exactly 1184 bytes and sim evidence exactly 300 bytes.
 *
 * Ownership: tkm_evidence_parse copies the input; the evidence object owns
 * that copy and every view below points into it, valid until
 * tkm_evidence_free. The object is immutable after parsing, so any number of
 * threads may read or verify it at once. Nothing here is secret.
 */
#ifndef TKM_EVIDENCE_H
#define TKM_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

typedef enum {
    TKM_PLATFORM_UNKNOWN = 0,
    TKM_PLATFORM_SGX = 1,
    TKM_PLATFORM_TDX = 2,
    TKM_PLATFORM_SNP = 3,
    TKM_PLATFORM_SIM = 4,
} tkm_platform;

/* Returns: "sgx", "tdx", "snp", "sim" or "unknown". */
TKM_API const char *tkm_platform_name(tkm_platform p);

#define TKM_EVIDENCE_MAX_LEN ((size_t)1 << 20) /* 1 MiB: quotes are ~5 KiB */

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

/* ---- parsed evidence (opaque owner of the bytes) ---- */

typedef struct tkm_evidence tkm_evidence;

/*
 * Parse evidence of any supported format. The format is recognised from the
 * first bytes: "TKMSIM01" → sim; u16 version 3..5 with u16 att_key_type 2 →
 * DCAP quote; u32 version 2, 3 or 5 → SNP report (which must be exactly 1184 bytes).
 * Returns: OK; TKM_ERR_EVIDENCE (unrecognised or invalid field, detail says
 * which), TKM_ERR_TRUNCATED (a declared length runs past its enclosure),
 * TKM_ERR_TRAILING (non-zero bytes after a quote, or bytes after an SNP/sim
 * body), TKM_ERR_TOO_LARGE, TKM_ERR_NOMEM.
 * Out: *out on success (caller frees with tkm_evidence_free).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_evidence_parse(tkm_evidence **out, const uint8_t *buf, size_t len)
    TKM_NONNULL(1);
/* Same, but insist on one platform (SGX and TDX both mean a DCAP quote of that TEE type). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_evidence_parse_as(tkm_evidence **out, tkm_platform want,
                                                     const uint8_t *buf, size_t len) TKM_NONNULL(1);
/* NULL-safe. */
TKM_API void tkm_evidence_free(tkm_evidence *ev);

/* Accessors: borrowed views, valid while ev lives. NULL when ev is another platform. */
TKM_API tkm_platform tkm_evidence_platform(const tkm_evidence *ev) TKM_NONNULL(1);
TKM_API const tkm_dcap_quote *tkm_evidence_dcap(const tkm_evidence *ev) TKM_NONNULL(1);
TKM_API const tkm_snp_report *tkm_evidence_snp(const tkm_evidence *ev) TKM_NONNULL(1);
TKM_API const tkm_sim_evidence *tkm_evidence_sim(const tkm_evidence *ev) TKM_NONNULL(1);
/* The evidence bytes as given (padding included). */
TKM_API const uint8_t *tkm_evidence_bytes(const tkm_evidence *ev, size_t *len) TKM_NONNULL(1, 2);
/* report_data (64 bytes) of any platform. */
TKM_API const uint8_t *tkm_evidence_report_data(const tkm_evidence *ev) TKM_NONNULL(1);
/* The platform's main measurement: MRENCLAVE (32), MRTD (48), SNP measurement (48), sim (48). */
TKM_API const uint8_t *tkm_evidence_measurement(const tkm_evidence *ev, size_t *len) TKM_NONNULL(1, 2);
/* 1 when the evidence declares a debug (non-confidential) guest or enclave. sim: 0 (it has no debug
 * mode; its results are flagged `simulated` instead). */
TKM_API int tkm_evidence_debug(const tkm_evidence *ev) TKM_NONNULL(1);

/* Field-level parsers, for tests and fuzzing; out is zeroed on failure. Views point into buf. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_dcap_quote_parse(tkm_dcap_quote *out, const uint8_t *buf, size_t len)
    TKM_NONNULL(1);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_snp_report_parse(tkm_snp_report *out, const uint8_t *buf, size_t len)
    TKM_NONNULL(1);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_sim_evidence_parse(tkm_sim_evidence *out, const uint8_t *buf,
                                                      size_t len) TKM_NONNULL(1);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_sgx_report_body_parse(tkm_sgx_report_body *out, tkm_rd *r)
    TKM_NONNULL(1, 2);

/*
 * Evidence files: raw binary, or hex text (optional 0x, surrounding
 * whitespace allowed) which is decoded first. Out: *out malloc'd (caller frees).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_evidence_decode_file_bytes(uint8_t **out, size_t *out_len,
                                                              const uint8_t *buf, size_t len)
    TKM_NONNULL(1, 2);

#endif
