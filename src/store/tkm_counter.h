/*
 * tkm_counter.h — the monotonic-counter hook behind anti-rollback.
 *
 * The store's version grows by one with every commit. After each commit (and
 * before any result of it is released) the store raises the counter to that
 * version; at open it refuses a database whose version is below the counter.
 * A database ahead of the counter is accepted (a crash between the database
 * commit and the counter write leaves it one step ahead; nothing of that step
 * was released) and the counter is raised to it.
 *
 * How much this protects depends entirely on where the counter lives:
 *  - tkm_counter_file (sim, and the fallback): a MAC'd file next to the data.
 *    It catches restoring the database without the counter (a partial
 *    backup restore, a copied data file), but a host that rolls back both
 *    files together is NOT detected. It is not anti-rollback against a
 *    malicious host.
 *  - a remote counter (teekm-verifier's, wrapped around the file by teekmd
 *    with --remote-counter: src/api/tkm_vcounter.h) or platform NV storage:
 *    the host cannot roll it back, so a restored older copy is detected.
 * An advance that fails with STORE_ROLLBACK or STORE_COUNTER closes the
 * store; any other failure leaves the commit in place, unreleased, and is
 * retried at the next transaction (tkm_store.h).
 * See docs/store.md for the full analysis.
 *
 * Ownership: the store calls close() when it is closed (NULL allowed).
 * Thread-safety: the store calls the hook from its writer thread only.
 * Secret?: the file counter keeps a MAC key derived from the seal key.
 */
#ifndef TKM_COUNTER_H
#define TKM_COUNTER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

typedef struct {
    void *ctx;
    /* Out: *value and *exists (0 when the counter was never written). */
    tkm_rc (*read)(void *ctx, const uint8_t instance_id[32], uint64_t *value, int *exists);
    /* Durably raise the counter to value before returning (never lowers it). */
    tkm_rc (*advance)(void *ctx, const uint8_t instance_id[32], uint64_t value);
    void (*close)(void *ctx);
} tkm_counter;

/*
 * A counter kept in a file: two slots written alternately (so a torn write
 * leaves the other valid), each slot = value ‖ HMAC-SHA256(K, "teekm-counter-v1"
 * ‖ instance_id ‖ value) with K = HKDF(seal_key, "teekm counter file"), written
 * with pwrite + fdatasync. The file is created 0600 on first advance.
 * Returns: OK; TKM_ERR_IO. A file whose slots both fail the MAC is
 * TKM_ERR_STORE_COUNTER at read.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_counter_file_open(tkm_counter *out, const char *path,
                                                     const tkm_secret *seal_key);

/*
 * The largest value in the file's slots WITHOUT checking their MACs (the key
 * is not available yet): for teekmd claiming a state version to the verifier
 * before its state key is released. Never a basis for a decision alone: the
 * store verifies the file at open. Out: *value, *present (0: no file).
 * Returns: OK; TKM_ERR_IO.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_counter_file_peek(const char *path, uint64_t *value, int *present);

#endif
