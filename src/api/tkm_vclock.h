/*
 * tkm_vclock.h — the evaluation clock bounded by a trusted time
 * (docs/teekmd.md "Trusted time", docs/policy.md "Windows").
 *
 * The host's clock is untrusted: the state remembers the largest time it has
 * seen, so a clock that goes back reopens nothing, but a clock pushed forward
 * would let every rolling window expire early. With a verifier, teekmd holds
 * an anchor: a trusted time T (teekm-verifier's clock, signed over a fresh
 * random challenge of ours, tkm_vcounter.h) and the monotonic clock reading m
 * when that answer arrived. A request is then evaluated at
 *
 *   elapsed = monotonic now − m                (0 when the monotonic clock went back)
 *   lower   = T
 *   upper   = T + min(elapsed, max_age) + skew
 *   time    = clamp(host clock, lower, upper)
 *
 * and the store takes max(time, largest time seen) as before. The upper bound
 * grows with the monotonic clock only up to max_age past the anchor: a host
 * that speeds up the monotonic clock or keeps the verifier away gains at most
 * max_age + skew over the verifier's clock, after which time stops moving
 * forward (windows stay closed: fail-safe) until a fresh anchor arrives.
 * max_age and skew come from the active policy ("trusted_time"). The
 * monotonic clock is CLOCK_BOOTTIME (it keeps counting across a suspend).
 *
 * Ownership: tkm_vclock_new returns a clock freed by tkm_vclock_free.
 * Thread-safety: every function on a tkm_vclock may be called from any thread
 * (one mutex inside); tkm_vclock_clamp is pure.
 * Secrets: none.
 */
#ifndef TKM_VCLOCK_H
#define TKM_VCLOCK_H

#include <stdint.h>

#include "../core/core.h"

typedef struct {
    int64_t time;   /* the clamped evaluation time (before the store's largest-time-seen floor) */
    int64_t lower;  /* T */
    int64_t upper;  /* T + min(elapsed, max_age) + skew */
    int64_t offset; /* host − (T + elapsed): how far the host clock is from the trusted estimate */
    int64_t age;    /* elapsed seconds since the anchor */
    int clamped;    /* -1: host below lower; 1: host above upper; 0: the host clock was used */
    int off;        /* |offset| > skew: the host clock is off (an operator alarm) */
    int stale;      /* elapsed > max_age: the upper bound has stopped growing */
} tkm_vclock_eval;

/*
 * The arithmetic above, saturating (no input overflows it). host: the host
 * clock (unix seconds); trusted: T; elapsed_ns: monotonic nanoseconds since
 * the anchor (the caller passes 0 when the clock went back); max_age, skew:
 * seconds. Out: *out (every field).
 */
TKM_API void tkm_vclock_clamp(tkm_vclock_eval *out, int64_t host, int64_t trusted, uint64_t elapsed_ns,
                              uint64_t max_age, uint64_t skew) TKM_NONNULL(1);

typedef struct tkm_vclock tkm_vclock;

/* Out: *out, a clock without an anchor. Returns: OK; TKM_ERR_NOMEM. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vclock_new(tkm_vclock **out) TKM_NONNULL(1);
/* NULL-safe. */
TKM_API void tkm_vclock_free(tkm_vclock *c);

/*
 * A trusted time T received when the monotonic clock read mono_ns (take it
 * when the answer arrived: a host that delays the answer then only makes the
 * bound tighter). An anchor older (by monotonic reading) than the one held is
 * ignored, so answers landing out of order from two threads keep the newest.
 */
TKM_API void tkm_vclock_anchor(tkm_vclock *c, int64_t trusted, uint64_t mono_ns) TKM_NONNULL(1);

/*
 * Evaluate at host (host clock) and mono_ns (monotonic now). Out: *ev.
 * Returns: 1 with *ev filled when an anchor is held; 0 without one (then
 * ev->time = host and the other fields are 0). Counts clamped evaluations and
 * remembers the last offset (tkm_vclock_status).
 */
TKM_API int tkm_vclock_now(tkm_vclock *c, tkm_vclock_eval *ev, int64_t host, uint64_t mono_ns, uint64_t max_age,
                           uint64_t skew) TKM_NONNULL(1, 2);

typedef struct {
    int anchored;            /* 0 until the first trusted time */
    int64_t trusted;         /* T of the anchor */
    uint64_t anchor_mono_ns; /* m of the anchor */
    int64_t last_offset;     /* offset of the last evaluation (or of the last anchor: host − T) */
    uint64_t clamped_above;  /* evaluations whose host clock was above the upper bound */
    uint64_t clamped_below;  /* … below the lower bound */
    uint64_t anchors;        /* trusted times received */
} tkm_vclock_status;

/* A consistent copy of the clock's state. */
TKM_API void tkm_vclock_status_get(tkm_vclock *c, tkm_vclock_status *st) TKM_NONNULL(1, 2);

/* The monotonic clock the anchors use: CLOCK_BOOTTIME in nanoseconds. */
TKM_API uint64_t tkm_vclock_mono_ns(void);

#endif
