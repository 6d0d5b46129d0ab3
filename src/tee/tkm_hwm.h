/*
 * tkm_hwm.h — clone and snapshot detection: the attested high-water mark.
 *
 * The claims of every evidence carry instanceId and stateVersion (the version
 * of the sealed state, from the store). The mark is the largest stateVersion
 * this instance has put into evidence, with its instance id:
 *  - before teekmd attests with stateVersion v it calls tkm_hwm_advance(v),
 *    which refuses to go down (attesting an older state than one already
 *    attested is itself a rollback);
 *  - at start-up the store calls tkm_hwm_check(instance, version) with what it
 *    found in the sealed state, and refuses to start on an error:
 *      mark of another instance            → TKM_ERR_STORE_CLONE
 *      version < mark                      → TKM_ERR_STORE_ROLLBACK
 *      version < verifier_version (if any) → TKM_ERR_STORE_ROLLBACK
 *      no mark but version > 0             → TKM_ERR_STORE_ROLLBACK, unless the
 *        verifier vouches (verifier_version given and version >= it): a mark
 *        only disappears when someone removed it.
 *
 * The mark is a small file (80 bytes: "TKMHWM01", instance id, version u64
 * big-endian, HMAC-SHA256 over the first 48 bytes) written atomically
 * (temp file, fsync, rename, fsync of the directory), mode 0600. The MAC key
 * is the caller's: seal_key("teekm/hwm/v1") on sim, sgx and snp; on tdx a key
 * derived from the verifier-released state key. A mark that fails its MAC is
 * TKM_ERR_STORE_TAMPER.
 *
 * Limits (docs/attestation.md): the file lives on the host's disk. It stops a
 * host that rolls back the sealed state alone; a host that restores an old
 * state together with the old mark file defeats it on every platform (SGX has
 * no usable monotonic counter under Gramine; CVMs have no persistent sealed
 * counter). Only a counter kept outside the host — the verifier's
 * (verifier_version) — closes that gap.
 *
 * Thread-safety: one writer per path (teekmd holds its data-directory lock).
 * Secrets: the MAC key (borrowed, never copied out).
 */
#ifndef TKM_HWM_H
#define TKM_HWM_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#define TKM_HWM_FILE_LEN 80

typedef struct {
    uint8_t instance_id[32];
    uint64_t version;
} tkm_hwm;

/*
 * Read the mark. Out: *m and *present (0 when the file does not exist; *m zeroed).
 * Returns: OK; TKM_ERR_STORE_TAMPER (bad MAC or layout); TKM_ERR_IO.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hwm_load(tkm_hwm *m, int *present, const char *path,
                                            const tkm_secret *mac_key) TKM_NONNULL(1, 2, 3, 4);
/*
 * Parse the 80 bytes of a mark without checking its MAC. Out: *m and the tag.
 * Returns: OK; TKM_ERR_STORE_TAMPER (wrong length or magic).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hwm_parse(tkm_hwm *m, uint8_t tag[static 32], const uint8_t *buf, size_t n)
    TKM_NONNULL(1, 2);
/*
 * Read the mark WITHOUT verifying its MAC (*present 0 when there is none):
 * for a caller whose MAC key is not available yet (teekmd asking the verifier
 * for its state key claims this version, then verifies the mark with
 * tkm_hwm_check once the key is there). Never a basis for a decision alone.
 * Returns: OK; TKM_ERR_STORE_TAMPER (layout); TKM_ERR_IO.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hwm_peek(tkm_hwm *m, int *present, const char *path) TKM_NONNULL(1, 2, 3);
/* Raise the mark to version (no-op when equal). Errors: CLONE, ROLLBACK (lower), TAMPER, IO. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hwm_advance(const char *path, const tkm_secret *mac_key,
                                               const uint8_t instance_id[static 32], uint64_t version)
    TKM_NONNULL(1, 2, 3);
/* The start-up check described above. verifier_version may be NULL (no verifier counter). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hwm_check(const char *path, const tkm_secret *mac_key,
                                             const uint8_t instance_id[static 32], uint64_t state_version,
                                             const uint64_t *verifier_version) TKM_NONNULL(1, 2, 3);

#endif
