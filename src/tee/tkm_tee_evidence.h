/*
 * tkm_tee_evidence.h — evidence formats produced by the tee backends, and a
 * structural reader that extracts what the tee module and `teekm evidence
 * show` need: platform, measurement, report_data, debug flag.
 *
 * tkm_ev_inspect reads UNTRUSTED bytes with the byte-exact parser of the
 * format (tkm_evidence_format.h, the same parser the verifier uses). It
 * checks the layout (sizes, versions, TEE type, declared lengths, reserved
 * fields) but does NOT verify any signature, certificate chain or TCB level:
 * that is appraisal, done by the attest module. A view says what the
 * evidence claims, not that it is genuine.
 *
 * Formats, with what a teekm backend produces (stricter than the verifier,
 * which reports the same facts as named appraisal checks):
 *  - TKM_EV_SIM_V1: docs/sim-evidence.md (300 bytes).
 *  - TKM_EV_SGX_QUOTE: Intel SGX ECDSA quote v3. Zero padding after the
 *    signature data is tolerated (seen on real quotes); other trailing
 *    bytes are not.
 *  - TKM_EV_TDX_QUOTE: Intel TDX quote v4 (TD report body 584 bytes) or v5
 *    (body descriptor type 2 = TDX 1.0, 584 bytes; type 3 = TDX 1.5, 648 bytes).
 *  - TKM_EV_SNP_REPORT: AMD SEV-SNP ATTESTATION_REPORT, exactly 1184 bytes,
 *    version 2, 3 or 5, signature algorithm ECDSA P-384 with SHA-384.
 *
 * Ownership: views are plain values (no pointers into the input).
 * NULL: evidence bytes may be NULL only with length 0.
 * Thread-safety: reentrant. Secrets: none.
 */
#ifndef TKM_TEE_EVIDENCE_H
#define TKM_TEE_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "tkm_claims.h"
#include "tkm_evidence_format.h"

typedef enum {
    TKM_TEE_KIND_NONE = 0,
    TKM_TEE_KIND_SIM = 1,
    TKM_TEE_KIND_SGX = 2,
    TKM_TEE_KIND_TDX = 3,
    TKM_TEE_KIND_SNP = 4,
} tkm_tee_kind;

typedef enum {
    TKM_EV_NONE = 0,
    TKM_EV_SIM_V1 = 1,
    TKM_EV_SGX_QUOTE = 2,
    TKM_EV_TDX_QUOTE = 3,
    TKM_EV_SNP_REPORT = 4,
} tkm_ev_format;

#define TKM_EV_MAX_BYTES ((size_t)32 * 1024) /* = Linux TSM_OUTBLOB_MAX */
#define TKM_EV_MEASUREMENT_MAX 48
#define TKM_TEE_SIM_EVIDENCE_LEN TKM_SIM_EVIDENCE_LEN
#define TKM_TEE_SGX_REPORT_LEN 432 /* sgx_report_t: body, key_id, mac */
#define TKM_TEE_SNP_REPORT_LEN TKM_SNP_REPORT_LEN

/* Returns: "sim", "sgx", "tdx", "snp" ("none" otherwise). Static strings. */
TKM_API const char *tkm_tee_kind_name(tkm_tee_kind k);
/* Returns: "sim-v1", "sgx-dcap-quote", "tdx-quote", "snp-report" ("none" otherwise). */
TKM_API const char *tkm_ev_format_name(tkm_ev_format f);
/* The platform a format belongs to. */
TKM_API tkm_tee_kind tkm_ev_format_kind(tkm_ev_format f);

typedef struct {
    tkm_ev_format format;
    tkm_tee_kind platform;
    uint8_t report_data[TKM_REPORT_DATA_LEN];
    /* sim: SHA-384 of teekmd; sgx: MRENCLAVE (32); tdx: MRTD (48); snp: MEASUREMENT (48) */
    uint8_t measurement[TKM_EV_MEASUREMENT_MAX];
    size_t measurement_len;
    int debug; /* the rule of tkm_evidence_format.h (sgx ATTRIBUTES.DEBUG, tdx any TUD bit, snp POLICY.DEBUG); sim: 0 */
    /* platform details for logs and /healthz */
    uint8_t sgx_mrsigner[32];
    uint16_t sgx_isv_prod_id, sgx_isv_svn;
    uint64_t sgx_attributes_flags;
    uint16_t quote_version;
    uint8_t tdx_rtmr[4][48];
    uint8_t tdx_td_attributes[8];
    uint64_t snp_policy;
    uint32_t snp_version, snp_vmpl, snp_guest_svn;
    uint64_t sim_timestamp;
    uint8_t sim_signer[65];
} tkm_ev_view;

/*
 * Read evidence bytes of the given format. Out: *v (zeroed on failure).
 * Returns: OK; TKM_ERR_EVIDENCE (with what in the detail); TKM_ERR_TRUNCATED;
 * TKM_ERR_TRAILING; TKM_ERR_TOO_LARGE (over TKM_EV_MAX_BYTES).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ev_inspect(tkm_ev_view *v, tkm_ev_format fmt, const uint8_t *ev,
                                              size_t len) TKM_NONNULL(1);

/*
 * Parse an SGX REPORT (sgx_report_t, 432 bytes, as read from Gramine's
 * /dev/attestation/report) into the same view (format stays TKM_EV_NONE).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ev_inspect_sgx_report(tkm_ev_view *v, const uint8_t *rep, size_t len)
    TKM_NONNULL(1);

/*
 * Out: *out, a JSON object with platform, format, measurement, debug and the
 * platform details (no report_data unless with_report_data). Caller json_decref's.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ev_view_json(const tkm_ev_view *v, int with_report_data, json_t **out)
    TKM_NONNULL(1, 3);

#endif
