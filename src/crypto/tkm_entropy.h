/*
 * tkm_entropy.h — the entropy source: getrandom(2) behind start-up health tests.
 *
 * Before the first bytes are handed out, a sample of TKM_ENTROPY_SAMPLE bytes is
 * drawn and run through the two SP 800-90B §4.4 health tests, with the source
 * claimed to give full entropy (H = 8 bits per byte) and a false-alarm rate
 * alpha = 2^-40 per sample:
 *  - Repetition Count Test: fail when one byte value repeats TKM_ENTROPY_RCT_CUTOFF
 *    times in a row (C = 1 + ceil(40 / 8) = 6).
 *  - Adaptive Proportion Test: in each window of 512 bytes, fail when the
 *    window's first value occurs TKM_ENTROPY_APT_CUTOFF or more times
 *    (binomial critical value for W = 512, p = 1/256, alpha = 2^-40: 20).
 * If the tests fail the source is latched off for the life of the process:
 * every later call returns TKM_ERR_ENTROPY and key generation refuses to run.
 * (No copy of handed-out bytes is kept for continuous comparison: those bytes
 * become keys, and a copy outside the caller's locked buffer would be a leak.)
 *
 * Secret?: yes: the bytes handed out become keys; write them straight into a
 * tkm_secret (or a stack buffer the caller wipes). NULL: out is never NULL
 * (n may be 0). Ownership: nothing is allocated.
 * Thread-safety: all functions are thread-safe.
 */
#ifndef TKM_ENTROPY_H
#define TKM_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#define TKM_ENTROPY_SAMPLE 8192
#define TKM_ENTROPY_RCT_CUTOFF 6
#define TKM_ENTROPY_APT_WINDOW 512
#define TKM_ENTROPY_APT_CUTOFF 20

/* Run the start-up tests now (idempotent; later calls return the latched result). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_entropy_init(void);
/* Fill out[0..n) with random bytes. Returns: OK or TKM_ERR_ENTROPY. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_entropy_bytes(uint8_t *out, size_t n);
/* Run both health tests on a caller-provided sample (used by init and by tests). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_entropy_health_check(const uint8_t *sample, size_t n);

/*
 * Test hook: replace the raw source (NULL restores getrandom) and reset the
 * latch so that the next call re-runs the start-up tests. Not for production.
 */
typedef int (*tkm_entropy_source_fn)(uint8_t *out, size_t n); /* 0 on success */
TKM_API void tkm_entropy_set_source_for_testing(tkm_entropy_source_fn fn);

#endif
