/*
 * tkm_nonce.h — verifier nonces: random, single use, expiring.
 *
 * A nonce is 32 bytes:
 *   issued_at (u64 big-endian) ‖ 8 random bytes ‖ first 16 bytes of
 *   HMAC-SHA256(k, "teekm/verifier/nonce/v1" ‖ 0x00 ‖ issued_at ‖ random)
 * where k is a random key drawn when the table is created. Issuing keeps no
 * state, so a flood of nonce requests costs no memory. Consuming checks the
 * MAC (a nonce this process did not issue is TKM_ERR_NONCE_UNKNOWN — this
 * includes every nonce issued before a restart), the age (issued_at + ttl,
 * TKM_ERR_EXPIRED) and single use: a consumed nonce is remembered until it
 * expires (TKM_ERR_REPLAY when seen again). The set of remembered nonces is
 * bounded (max_used); when it is full of unexpired nonces consuming fails
 * with TKM_ERR_LIMIT rather than forgetting one.
 *
 * The issue time in a consumed nonce is authenticated, so the verifier uses
 * it as the evidence time (the evidence was made after the nonce existed).
 *
 * Ownership: the caller frees the table with tkm_nonce_table_free.
 * Secrets: the MAC key (held in a tkm_secret). Nonces themselves are public.
 * Thread-safety: issue and consume may be called from any thread (a mutex).
 */
#ifndef TKM_NONCE_H
#define TKM_NONCE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#define TKM_NONCE_LEN 32

typedef struct tkm_nonce_table tkm_nonce_table;

/*
 * Out: *out. ttl_seconds in [1, 86400]; max_used in [1, 2^24] (misuse otherwise).
 * Returns: OK, TKM_ERR_ENTROPY, TKM_ERR_NOMEM.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_nonce_table_new(tkm_nonce_table **out, int64_t ttl_seconds, size_t max_used)
    TKM_NONNULL(1);
/* NULL-safe; wipes the key. */
TKM_API void tkm_nonce_table_free(tkm_nonce_table *t);

/* Out: nonce, *expires_at (now + ttl). Returns: OK, TKM_ERR_ENTROPY, TKM_ERR_CRYPTO. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_nonce_issue(tkm_nonce_table *t, int64_t now, uint8_t nonce[static TKM_NONCE_LEN],
                                               int64_t *expires_at) TKM_NONNULL(1, 3, 4);

/*
 * Consume a nonce received back (any length: only 32-byte nonces can be ours).
 * Out: *issued_at (0 on failure).
 * Returns: OK; TKM_ERR_NONCE_UNKNOWN (wrong length or MAC, or issued in the
 * future); TKM_ERR_EXPIRED; TKM_ERR_REPLAY (already consumed); TKM_ERR_LIMIT
 * (too many unexpired consumed nonces remembered).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_nonce_consume(tkm_nonce_table *t, int64_t now, const uint8_t *nonce, size_t len,
                                                 int64_t *issued_at) TKM_NONNULL(1, 5);

/* Number of consumed nonces currently remembered (for tests and metrics). */
TKM_API size_t tkm_nonce_table_used(tkm_nonce_table *t) TKM_NONNULL(1);

#endif
