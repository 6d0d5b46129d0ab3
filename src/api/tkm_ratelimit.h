/*
 * tkm_ratelimit.h — per-client token buckets.
 *
 * Each client key (a certificate fingerprint, or an IP address for
 * unauthenticated callers) has a bucket of `burst` tokens refilled at `rate`
 * tokens per second. tkm_ratelimit_take spends `cost` tokens or refuses.
 *
 * Memory is bounded: at most max_clients buckets, in shards with their own
 * mutex. When a shard is full the least recently seen bucket in the probe
 * window is recycled (a recycled client starts again with a full bucket, so
 * under a flood of distinct keys the limit degrades towards "per shard slot",
 * never towards unbounded memory). Keys are hashed with a per-table random
 * seed so that clients cannot aim at one slot.
 *
 * Time is passed in by the caller (monotonic nanoseconds) so tests can drive it.
 * Ownership: the table is the caller's (tkm_ratelimit_free). Keys are copied.
 * Thread-safety: take may be called from any thread. Secrets: none.
 */
#ifndef TKM_RATELIMIT_H
#define TKM_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#define TKM_RATELIMIT_KEY_MAX 33 /* one type byte + a SHA-256 fingerprint, or an IPv6 address */

typedef struct tkm_ratelimit tkm_ratelimit;

/*
 * rate > 0 tokens/s, burst >= 1 tokens, max_clients >= 16 buckets.
 * Out: *out. Returns: OK, TKM_ERR_NOMEM; bad parameters are caller bugs.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_ratelimit_new(tkm_ratelimit **out, double rate, double burst,
                                                 size_t max_clients);
TKM_API void tkm_ratelimit_free(tkm_ratelimit *rl); /* NULL-safe */

/*
 * Spend cost tokens from key's bucket at time now_ns.
 * Returns: 1 when allowed; 0 when refused, with *retry_after_ms (may be NULL)
 * set to when enough tokens will be there (a cost above burst never fits:
 * refused with the time to refill the whole bucket).
 */
TKM_API int tkm_ratelimit_take(tkm_ratelimit *rl, const uint8_t *key, size_t key_len, double cost,
                               uint64_t now_ns, uint64_t *retry_after_ms);

#endif
