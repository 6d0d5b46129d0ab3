/* see tkm_entropy.h */
#include "tkm_entropy.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int state; /* 0 = untested, 1 = healthy, -1 = failed (latched) */

static int getrandom_source(uint8_t *out, size_t n) {
    while (n > 0) {
        ssize_t r = getrandom(out, n, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        out += r;
        n -= (size_t)r;
    }
    return 0;
}

static tkm_entropy_source_fn source = getrandom_source;

tkm_rc tkm_entropy_health_check(const uint8_t *s, size_t n) {
    TKM_ARG_CHECK(s != NULL && n >= TKM_ENTROPY_APT_WINDOW);
    /* Repetition Count Test */
    size_t run = 1;
    for (size_t i = 1; i < n; i++) {
        run = s[i] == s[i - 1] ? run + 1 : 1;
        if (run >= TKM_ENTROPY_RCT_CUTOFF) {
            tkm_err_detail_set("repetition count test failed at sample %zu", i);
            TKM_ENSURE(0, TKM_ERR_ENTROPY);
        }
    }
    /* Adaptive Proportion Test over consecutive, non-overlapping windows */
    for (size_t w = 0; w + TKM_ENTROPY_APT_WINDOW <= n; w += TKM_ENTROPY_APT_WINDOW) {
        uint8_t ref = s[w];
        unsigned count = 0;
        for (size_t i = w; i < w + TKM_ENTROPY_APT_WINDOW; i++) count += s[i] == ref;
        if (count >= TKM_ENTROPY_APT_CUTOFF) {
            tkm_err_detail_set("adaptive proportion test failed in window at %zu", w);
            TKM_ENSURE(0, TKM_ERR_ENTROPY);
        }
    }
    return TKM_RC_OK;
}

/* Caller holds lock. */
static tkm_rc init_locked(void) {
    if (state == 1) return TKM_RC_OK;
    if (state == -1) TKM_ENSURE(0, TKM_ERR_ENTROPY);
    uint8_t sample[TKM_ENTROPY_SAMPLE];
    tkm_rc rc = TKM_RC(TKM_ERR_ENTROPY);
    if (source(sample, sizeof sample) == 0) rc = tkm_entropy_health_check(sample, sizeof sample);
    tkm_wipe(sample, sizeof sample);
    state = tkm_ok(rc) ? 1 : -1;
    return rc;
}

tkm_rc tkm_entropy_init(void) {
    pthread_mutex_lock(&lock);
    tkm_rc rc = init_locked();
    pthread_mutex_unlock(&lock);
    return rc;
}

tkm_rc tkm_entropy_bytes(uint8_t *out, size_t n) {
    TKM_ARG_CHECK(out != NULL || n == 0);
    pthread_mutex_lock(&lock);
    tkm_rc rc = init_locked();
    if (tkm_ok(rc) && n > 0) {
        if (source(out, n) != 0) {
            state = -1;
            rc = TKM_RC(TKM_ERR_ENTROPY);
        }
    }
    pthread_mutex_unlock(&lock);
    if (tkm_failed(rc) && n) tkm_wipe(out, n);
    return rc;
}

void tkm_entropy_set_source_for_testing(tkm_entropy_source_fn fn) {
    pthread_mutex_lock(&lock);
    source = fn ? fn : getrandom_source;
    state = 0;
    pthread_mutex_unlock(&lock);
}
