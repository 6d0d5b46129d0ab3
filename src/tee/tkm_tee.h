/*
 * tkm_tee.h — the platform interface: one tkm_tee per process, chosen at
 * start-up (`--tee sim|sgx|tdx|snp|auto`).
 *
 *   name         "sim" | "sgx" | "tdx" | "snp"
 *   evidence     report_data[64] → evidence bytes + format (tkm_tee_evidence.h)
 *   seal_key     label → 32-byte key bound to the measurement, or
 *                TKM_ERR_TEE_NO_SEAL_KEY (tdx: keys come from the verifier,
 *                see tkm_keyrelease.h)
 *   measurement  + platform info (JSON, for logs and /healthz)
 *   entropy      start-up entropy check
 *
 * Backends (details in docs/attestation.md):
 *  - sim: evidence signed by a P-256 key kept in a 0600 file (docs/sim-evidence.md);
 *    every open logs a loud warning. Proves nothing about isolation.
 *  - sgx: Gramine's /dev/attestation (user_report_data → quote; report; keys/_sgx_mrenclave).
 *  - tdx, snp: Linux configfs-tsm (/sys/kernel/config/tsm/report/); snp seal
 *    keys from the SNP_GET_DERIVED_KEY ioctl on /dev/sev-guest.
 * Hardware backends refuse debug TEEs (TKM_ERR_TEE_DEBUG) unless allow_debug,
 * and check that every evidence they hand out carries the requested report_data
 * and the measurement seen at open.
 *
 * Every path is resolved under opts.root (default "/"), so tests run the
 * backends against test doubles of those trees. The two places where the
 * kernel acts on a system call rather than on file contents (configfs-tsm
 * creating attributes on mkdir, the sev-guest ioctl) go through opts.sys.
 *
 * `auto` picks the platform from what exists under root: /dev/attestation/quote
 * (sgx), /sys/kernel/config/tsm/report with /dev/tdx_guest (tdx) or
 * /dev/sev-guest (snp). It never falls back to sim: with nothing found it is
 * TKM_ERR_TEE_NOT_DETECTED.
 *
 * seal_key(label) = HKDF-SHA256(salt = "teekm/seal/v1", ikm = platform root key,
 *                               info = platform ‖ 0x00 ‖ measurement ‖ label)
 * where the platform root key is Gramine's 16-byte _sgx_mrenclave key, the
 * 32-byte SNP derived key (VCEK root, mixing POLICY and MEASUREMENT), or the
 * sim file key's private scalar.
 *
 * Ownership: tkm_tee_open returns a handle the caller closes with tkm_tee_close.
 * Thread-safety: a tkm_tee may be used from several threads; evidence and
 * seal-key requests are serialised inside (Gramine's user_report_data/quote
 * pair is one shared slot per process).
 * Secrets: seal keys (tkm_secret) and the sim key; never logged.
 */
#ifndef TKM_TEE_H
#define TKM_TEE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/core.h"
#include "tkm_tee_evidence.h"

#define TKM_SEAL_KEY_LEN 32
#define TKM_SEAL_LABEL_MAX 128

typedef struct tkm_tee tkm_tee;

/* System calls the kernel answers (test doubles replace them). NULL members = the real call.
 * Each returns 0 on success, -1 with errno set on failure, like the system call. */
typedef struct {
    void *ctx;
    int (*mkdir)(void *ctx, const char *path, mode_t mode);
    int (*rmdir)(void *ctx, const char *path);
    int (*ioctl)(void *ctx, int fd, unsigned long req, void *arg);
} tkm_tee_sys;

/* One hardware random number (RDRAND); returns 1 on success, 0 on failure. */
typedef int (*tkm_tee_hwrng_fn)(uint64_t *out);

typedef struct {
    const char *root;         /* NULL = "/" */
    const char *sim_key_file; /* sim: the P-256 key file (required for sim) */
    int sim_create_key;       /* sim: create the key file (mode 0600) when it does not exist */
    int allow_debug;          /* accept debug enclaves / debug TDs / debug SNP guests */
    uint32_t snp_vmpl;        /* VMPL for SNP_GET_DERIVED_KEY (default 0) */
    const tkm_tee_sys *sys;   /* NULL = real mkdir(2) and ioctl(2) */
    tkm_tee_hwrng_fn hwrng;   /* NULL = RDRAND (x86-64) */
} tkm_tee_opts;

/*
 * Parse a --tee value. Out: *kind (TKM_TEE_KIND_NONE for "auto").
 * Returns: OK or TKM_ERR_FORMAT.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tee_kind_parse(const char *s, tkm_tee_kind *kind) TKM_NONNULL(1, 2);

/* Detect the platform under root (NULL = "/"). Returns: OK or TKM_ERR_TEE_NOT_DETECTED. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tee_detect(const char *root, tkm_tee_kind *kind) TKM_NONNULL(2);

/*
 * Open the platform `name` ("sim", "sgx", "tdx", "snp", "auto"). o may be NULL
 * for the defaults (sim then fails: it needs sim_key_file).
 * Opening a hardware platform takes one evidence sample to learn the
 * measurement and debug state.
 * Returns: OK; TKM_ERR_FORMAT (name); TKM_ERR_TEE_NOT_DETECTED; TKM_ERR_TEE_DEBUG;
 * TKM_ERR_TEE_PROVIDER; TKM_ERR_TEE_EVIDENCE; TKM_ERR_TEE_SIM_KEY;
 * TKM_ERR_PERMISSIONS (sim key file not 0600); TKM_ERR_IO/NOT_FOUND.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tee_open(tkm_tee **t, const char *name, const tkm_tee_opts *o)
    TKM_NONNULL(1, 2);
/* Close and wipe. NULL-safe. */
TKM_API void tkm_tee_close(tkm_tee *t);

TKM_API tkm_tee_kind tkm_tee_get_kind(const tkm_tee *t) TKM_NONNULL(1);
/* Returns: "sim", "sgx", "tdx" or "snp" (static). */
TKM_API const char *tkm_tee_name(const tkm_tee *t) TKM_NONNULL(1);

typedef struct {
    tkm_ev_format format;
    uint8_t *bytes; /* malloc'd */
    size_t len;
    uint8_t *aux; /* snp: the certificate table from auxblob, may be NULL */
    size_t aux_len;
} tkm_tee_evidence;

/*
 * Produce evidence carrying report_data. Out: *ev (caller frees with
 * tkm_tee_evidence_free; zeroed on failure).
 * Returns: OK; TKM_ERR_TEE_RACE (generation changed, or the evidence carries
 * other report_data); TKM_ERR_TEE_EVIDENCE (short, oversized or malformed);
 * TKM_ERR_TEE_PROVIDER; TKM_ERR_IO.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tee_evidence_get(tkm_tee *t, tkm_tee_evidence *ev,
                                                    const uint8_t report_data[static TKM_REPORT_DATA_LEN])
    TKM_NONNULL(1, 2, 3);
TKM_API void tkm_tee_evidence_free(tkm_tee_evidence *ev);

/*
 * Out: *key, 32 bytes bound to the platform, the measurement and label
 * (printable ASCII, 1..128 bytes). Caller frees with tkm_secret_free. Secret: yes.
 * Returns: OK; TKM_ERR_TEE_NO_SEAL_KEY (tdx); TKM_ERR_TEE_SEAL; TKM_ERR_IO.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tee_seal_key(tkm_tee *t, tkm_secret **key, const char *label)
    TKM_NONNULL(1, 2, 3);

/* The measurement seen at open (view valid until close). */
TKM_API void tkm_tee_measurement(const tkm_tee *t, const uint8_t **m, size_t *len) TKM_NONNULL(1, 2, 3);
/* Out: *info, JSON object {platform, measurement, debug, simulated?, …} (caller json_decref's). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tee_info(const tkm_tee *t, json_t **info) TKM_NONNULL(1, 2);

/*
 * Entropy check: the core start-up health tests (tkm_entropy_init) and, on
 * hardware platforms, that the CPU's RDRAND answers with varying values (it is
 * what the guest kernel / Gramine seed from; a CPU that returns a constant,
 * as some firmware bugs did, fails). Returns: OK or TKM_ERR_ENTROPY.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tee_entropy_check(tkm_tee *t) TKM_NONNULL(1);

#endif
