/* see tkm_vclock.h */
#include "tkm_vclock.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tkm_vclock {
    pthread_mutex_t mu;
    tkm_vclock_status st;
};

static int64_t sat_add(int64_t a, int64_t b) {
    if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
    return a + b;
}

static int64_t sat_sub(int64_t a, int64_t b) {
    if (b < 0 && a > INT64_MAX + b) return INT64_MAX;
    if (b > 0 && a < INT64_MIN + b) return INT64_MIN;
    return a - b;
}

static int64_t clip_u64(uint64_t v) { return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v; }

void tkm_vclock_clamp(tkm_vclock_eval *out, int64_t host, int64_t trusted, uint64_t elapsed_ns, uint64_t max_age,
                      uint64_t skew) {
    memset(out, 0, sizeof *out);
    uint64_t elapsed = elapsed_ns / 1000000000u;
    uint64_t grow = elapsed < max_age ? elapsed : max_age;
    out->age = clip_u64(elapsed);
    out->stale = elapsed > max_age;
    out->lower = trusted;
    out->upper = sat_add(sat_add(trusted, clip_u64(grow)), clip_u64(skew));
    int64_t estimate = sat_add(trusted, clip_u64(elapsed));
    out->offset = sat_sub(host, estimate);
    out->off = out->offset > clip_u64(skew) || out->offset < -clip_u64(skew);
    if (host > out->upper) {
        out->time = out->upper;
        out->clamped = 1;
    } else if (host < out->lower) {
        out->time = out->lower;
        out->clamped = -1;
    } else {
        out->time = host;
    }
}

tkm_rc tkm_vclock_new(tkm_vclock **out) {
    *out = NULL;
    tkm_vclock *c = calloc(1, sizeof *c);
    TKM_ENSURE(c, TKM_ERR_NOMEM);
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return TKM_RC_OK;
}

void tkm_vclock_free(tkm_vclock *c) {
    if (!c) return;
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void tkm_vclock_anchor(tkm_vclock *c, int64_t trusted, uint64_t mono_ns) {
    pthread_mutex_lock(&c->mu);
    if (!c->st.anchored || mono_ns >= c->st.anchor_mono_ns) {
        c->st.anchored = 1;
        c->st.trusted = trusted;
        c->st.anchor_mono_ns = mono_ns;
    }
    c->st.anchors++;
    pthread_mutex_unlock(&c->mu);
}

int tkm_vclock_now(tkm_vclock *c, tkm_vclock_eval *ev, int64_t host, uint64_t mono_ns, uint64_t max_age,
                   uint64_t skew) {
    memset(ev, 0, sizeof *ev);
    ev->time = host;
    pthread_mutex_lock(&c->mu);
    int anchored = c->st.anchored;
    if (anchored) {
        /* a monotonic clock that went back gives no elapsed time (never a negative one) */
        uint64_t elapsed = mono_ns > c->st.anchor_mono_ns ? mono_ns - c->st.anchor_mono_ns : 0;
        tkm_vclock_clamp(ev, host, c->st.trusted, elapsed, max_age, skew);
        c->st.last_offset = ev->offset;
        if (ev->clamped > 0) c->st.clamped_above++;
        if (ev->clamped < 0) c->st.clamped_below++;
    }
    pthread_mutex_unlock(&c->mu);
    return anchored;
}

void tkm_vclock_status_get(tkm_vclock *c, tkm_vclock_status *st) {
    pthread_mutex_lock(&c->mu);
    *st = c->st;
    pthread_mutex_unlock(&c->mu);
}

uint64_t tkm_vclock_mono_ns(void) {
    struct timespec ts;
#ifdef CLOCK_BOOTTIME
    if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
#endif
        clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
