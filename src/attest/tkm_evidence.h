/*
 * tkm_evidence.h — attestation evidence as the verifier receives it: an
 * owning, immutable object that recognises the format from the bytes and
 * parses it with the byte-exact format parsers of the tee module
 * (../tee/tkm_evidence_format.h: the DCAP quote, SNP report and sim
 * structures and their field-level parsers, included from here).
 *
 * Formats: Intel SGX DCAP ECDSA quote v3 (and SGX v4/v5), Intel TDX quote v4
 * and v5, AMD SEV-SNP attestation report versions 2, 3 and 5, and teekm's
 * `sim` evidence (docs/sim-evidence.md). Parsing only: nothing here checks a
 * signature or a certificate (tkm_attest.h does). Trailing zero padding after
 * a DCAP quote is accepted and recorded; see tkm_evidence_format.h.
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
#include "../tee/tkm_evidence_format.h"

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

/*
 * Evidence files: raw binary, or hex text (optional 0x, surrounding
 * whitespace allowed) which is decoded first. Out: *out malloc'd (caller frees).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_evidence_decode_file_bytes(uint8_t **out, size_t *out_len,
                                                              const uint8_t *buf, size_t len)
    TKM_NONNULL(1, 2);

#endif
