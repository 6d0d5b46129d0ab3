/*
 * vtrust.c — an instance's remote monotonic counter and trusted time from
 * teekm-verifier (api_int.h; docs/teekmd.md "Remote counter and trusted time").
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../audit/audit.h"
#include "../crypto/crypto.h"
#include "api_int.h"
#include "tkm_metrics.h"
#include "tkm_vclock.h"
#include "tkm_vcounter.h"

struct api_vtrust {
    tkm_vcounter *vc;
    tkm_vclock *clock;
    tkm_engine *engine;
    int remote;
    int freeze;                /* no trusted time yet: hold the clock at the state's largest time seen */
    _Atomic int started;       /* api_vtrust_start succeeded (else the schedule tries again) */
    uint8_t pin[20];           /* the signer pinned (recorded, or learned at a start) */
    int has_pin;
    _Atomic int host_off;      /* the host clock is off by more than the skew (last refresh) */
    _Atomic int64_t host_offset; /* host − trusted at the last refresh */
    pthread_mutex_t refresh_mu; /* one refresh at a time (the start's and the schedule's) */
    /* the schedule */
    pthread_t thread;
    int thread_started;
    int wake[2];
    unsigned seconds;
    tkm_rc (*reregister)(void *ctx);
    void *rereg_ctx;
};

tkm_rc api_vtrust_new(api_vtrust **out, const api_verifier *v, const uint8_t instance_id[32], int remote_counter) {
    *out = NULL;
    TKM_ARG_CHECK(v && v->url && v->ca_file && instance_id);
    api_vtrust *vt = calloc(1, sizeof *vt);
    TKM_ENSURE(vt, TKM_ERR_NOMEM);
    vt->wake[0] = vt->wake[1] = -1;
    vt->remote = remote_counter;
    pthread_mutex_init(&vt->refresh_mu, NULL);
    /* commits wait for the counter: short timeouts, one quick retry, then a clear UNAVAILABLE */
    tkm_vcounter_config cc = {.url = v->url, .ca_file = v->ca_file, .instance_id = instance_id, .retries = 1,
                              .backoff_ms = 100, .connect_timeout_ms = 2000, .timeout_ms = 5000, .fail_fast_ms = 1000};
    tkm_rc rc = tkm_vclock_new(&vt->clock);
    if (tkm_ok(rc)) rc = tkm_vcounter_new(&vt->vc, &cc);
    if (tkm_failed(rc)) {
        api_vtrust_free(vt);
        return rc;
    }
    *out = vt;
    return TKM_RC_OK;
}

void api_vtrust_stop(api_vtrust *vt) {
    if (!vt || !vt->thread_started) return;
    char c = 1;
    ssize_t n = write(vt->wake[1], &c, 1);
    (void)n;
    pthread_join(vt->thread, NULL); /* waits for a refresh in progress (bounded by its timeouts) */
    vt->thread_started = 0;
}

void api_vtrust_free(api_vtrust *vt) {
    if (!vt) return;
    api_vtrust_stop(vt);
    if (vt->wake[0] >= 0) close(vt->wake[0]);
    if (vt->wake[1] >= 0) close(vt->wake[1]);
    tkm_vcounter_free(vt->vc);
    tkm_vclock_free(vt->clock);
    pthread_mutex_destroy(&vt->refresh_mu);
    free(vt);
}

int api_vtrust_remote(const api_vtrust *vt) { return vt->remote; }
int api_vtrust_needs_registration(api_vtrust *vt) { return tkm_vcounter_needs_registration(vt->vc); }

tkm_rc api_vtrust_counter(api_vtrust *vt, tkm_counter *out, tkm_counter local) {
    if (!vt->remote) {
        *out = local;
        return TKM_RC_OK;
    }
    return tkm_vcounter_hook(out, local, vt->vc);
}

/* ---- the engine's clock ---- */

static int64_t engine_clock(void *ctx, int64_t host_now, const tkm_policy *p) {
    api_vtrust *vt = ctx;
    tkm_vclock_eval ev;
    uint64_t max_age = p ? p->time_max_age_seconds : TKM_POLICY_TIME_MAX_AGE_DEFAULT;
    uint64_t skew = p ? p->time_skew_seconds : TKM_POLICY_TIME_SKEW_DEFAULT;
    if (tkm_vclock_now(vt->clock, &ev, host_now, tkm_vclock_mono_ns(), max_age, skew)) return ev.time;
    /* before the first trusted time of an open: the host clock moves nothing (the state's floor holds) */
    return vt->freeze ? INT64_MIN : host_now;
}

void api_vtrust_engine_clock(api_vtrust *vt, tkm_engine_opts *eo, int freeze) {
    vt->freeze = freeze;
    eo->clock = engine_clock;
    eo->clock_ctx = vt;
}

int64_t api_vtrust_time(api_vtrust *vt, int64_t host_now, const tkm_policy *p) {
    tkm_vclock_status st;
    tkm_vclock_status_get(vt->clock, &st);
    if (!st.anchored) return host_now;
    uint64_t now = tkm_vclock_mono_ns();
    tkm_vclock_eval ev;
    tkm_vclock_clamp(&ev, host_now, st.trusted, now > st.anchor_mono_ns ? now - st.anchor_mono_ns : 0,
                     p->time_max_age_seconds, p->time_skew_seconds);
    return ev.time;
}

static tkm_rc sign_request(void *ctx, const char *op, uint64_t value, const uint8_t challenge[32], uint8_t sig[65]) {
    return tkm_engine_counter_request_sign(ctx, op, value, challenge, sig);
}

/* ---- host clock check ---- */

typedef struct {
    uint64_t skew;
} skew_ctx;

static tkm_rc read_skew(void *ctx, const tkm_policy *p) {
    ((skew_ctx *)ctx)->skew = p->time_skew_seconds;
    return TKM_RC_OK;
}

/*
 * Compare the host clock with a fresh trusted time; audit (and log) when it
 * crosses the skew either way, so an operator sees a host clock that is off.
 */
static tkm_rc check_host_clock(api_vtrust *vt, int64_t trusted, int first) {
    skew_ctx sk = {TKM_POLICY_TIME_SKEW_DEFAULT};
    TKM_TRY(tkm_engine_with_policy(vt->engine, read_skew, &sk));
    int64_t host = tkm_time_unix();
    int64_t off = host - trusted;
    int is_off = off > (int64_t)sk.skew || off < -(int64_t)sk.skew;
    atomic_store(&vt->host_offset, off);
    int was_off = atomic_exchange(&vt->host_off, is_off);
    if (is_off == was_off && !(first && is_off)) return TKM_RC_OK;
    tkm_log(is_off ? TKM_LOG_WARN : TKM_LOG_INFO, "teekmd",
            "host clock %s: host %lld, teekm-verifier %lld, offset %+lld s, allowed skew %llu s%s",
            is_off ? "is off" : "is back within the skew", (long long)host, (long long)trusted, (long long)off,
            (unsigned long long)sk.skew, is_off ? " (evaluation uses the bounded time)" : "");
    json_t *b = json_pack("{s:s,s:I,s:I,s:I,s:I}", "state", is_off ? "off" : "ok", "hostTime", (json_int_t)host,
                          "trustedTime", (json_int_t)trusted, "offsetSeconds", (json_int_t)off, "skewSeconds",
                          (json_int_t)sk.skew);
    TKM_ENSURE(b, TKM_ERR_NOMEM);
    tkm_rc rc = tkm_engine_audit_event(vt->engine, TKM_AUDIT_HOST_CLOCK, b, host);
    json_decref(b);
    return rc;
}

static tkm_rc refresh(api_vtrust *vt, int first) {
    tkm_vcounter_state st;
    pthread_mutex_lock(&vt->refresh_mu);
    tkm_rc rc = tkm_vcounter_read(vt->vc, &st); /* anchors the clock */
    if (tkm_ok(rc)) rc = check_host_clock(vt, st.time, first);
    pthread_mutex_unlock(&vt->refresh_mu);
    return rc;
}

tkm_rc api_vtrust_refresh(api_vtrust *vt) {
    TKM_ARG_CHECK(vt->engine);
    return refresh(vt, 0);
}

tkm_rc api_vtrust_start(api_vtrust *vt, tkm_engine *e, uint64_t open_version, const uint8_t *recorded,
                        uint8_t learned[20], int *is_learned) {
    TKM_ARG_CHECK(e && learned && is_learned);
    *is_learned = 0;
    vt->engine = e;
    if (!recorded && vt->has_pin) recorded = vt->pin; /* learned at an earlier attempt of this process */
    if (recorded) {
        memcpy(learned, recorded, 20);
    } else {
        /* nothing recorded: trust on first use, over the TLS pinned to the verifier CA; the caller records it */
        TKM_TRY(tkm_vcounter_fetch_signer(vt->vc, learned));
        *is_learned = 1;
        char a[TKM_ETH_ADDR_STR_LEN];
        tkm_eth_address_checksum(a, learned);
        tkm_log(TKM_LOG_INFO, "teekmd", "pinned teekm-verifier's signer %s (recorded in instance.json)", a);
    }
    tkm_vcounter_pin(vt->vc, learned);
    memcpy(vt->pin, learned, 20);
    vt->has_pin = 1;
    tkm_vcounter_attach(vt->vc, sign_request, e, vt->clock);
    if (vt->remote) {
        uint64_t v, seq;
        tkm_engine_state_info(e, &v, &seq);
        TKM_TRY(tkm_vcounter_arm(vt->vc, open_version, v));
        tkm_log(TKM_LOG_INFO, "teekmd", "remote monotonic counter armed at state version %llu",
                (unsigned long long)v);
    }
    TKM_TRY(refresh(vt, 1));
    atomic_store(&vt->started, 1);
    return TKM_RC_OK;
}

/* ---- metrics and health ---- */

static double g_age(void *arg) {
    tkm_vclock_status st;
    tkm_vclock_status_get(((api_vtrust *)arg)->clock, &st);
    if (!st.anchored) return -1;
    uint64_t now = tkm_vclock_mono_ns();
    return now > st.anchor_mono_ns ? (double)(now - st.anchor_mono_ns) / 1e9 : 0;
}
static double g_offset(void *arg) { return (double)atomic_load(&((api_vtrust *)arg)->host_offset); }
static double g_off(void *arg) { return atomic_load(&((api_vtrust *)arg)->host_off); }
static double g_above(void *arg) {
    tkm_vclock_status st;
    tkm_vclock_status_get(((api_vtrust *)arg)->clock, &st);
    return (double)st.clamped_above;
}
static double g_below(void *arg) {
    tkm_vclock_status st;
    tkm_vclock_status_get(((api_vtrust *)arg)->clock, &st);
    return (double)st.clamped_below;
}
static double g_up(void *arg) {
    tkm_vcounter_status st;
    tkm_vcounter_status_get(((api_vtrust *)arg)->vc, &st);
    return st.up;
}
static double g_value(void *arg) {
    tkm_vcounter_status st;
    tkm_vcounter_status_get(((api_vtrust *)arg)->vc, &st);
    return (double)st.last_value;
}
static double g_failed(void *arg) {
    tkm_vcounter_status st;
    tkm_vcounter_status_get(((api_vtrust *)arg)->vc, &st);
    return (double)st.failed;
}
static double g_rtt(void *arg) {
    tkm_vcounter_status st;
    tkm_vcounter_status_get(((api_vtrust *)arg)->vc, &st);
    return st.last_seconds;
}

tkm_rc api_vtrust_metrics(api_vtrust *vt, tkm_metrics *m) {
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_trusted_time_age_seconds",
                                 "Seconds since the last trusted time from teekm-verifier (-1: none yet)", g_age, vt));
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_host_clock_offset_seconds",
                                 "Host clock minus teekm-verifier's clock at the last trusted time", g_offset, vt));
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_host_clock_off",
                                 "1 while the host clock is off by more than the policy's skew (an operator alarm)",
                                 g_off, vt));
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_host_clock_clamped_above",
                                 "Evaluations whose host time was above the trusted bound (cumulative)", g_above, vt));
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_host_clock_clamped_below",
                                 "Evaluations whose host time was below the last trusted time (cumulative)", g_below, vt));
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_verifier_up", "1 when the last counter/time request to teekm-verifier "
                                 "was answered and verified", g_up, vt));
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_verifier_failures",
                                 "Counter/time requests to teekm-verifier that failed (cumulative)", g_failed, vt));
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_verifier_round_trip_seconds",
                                 "Duration of the last counter/time request to teekm-verifier", g_rtt, vt));
    if (vt->remote)
        TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_remote_counter_value",
                                     "teekm-verifier's monotonic counter for this instance (last verified answer)",
                                     g_value, vt));
    return TKM_RC_OK;
}

tkm_rc api_vtrust_health(api_vtrust *vt) {
    tkm_vcounter_status st;
    tkm_vcounter_status_get(vt->vc, &st);
    /* without the remote counter a verifier outage only freezes the bound (fail-safe): still healthy */
    if (vt->remote && !st.up) {
        tkm_err_detail_set("the remote monotonic counter (teekm-verifier) did not answer the last request (%s): "
                           "signing requests fail until it does",
                           tkm_err_name(st.last_error) ? tkm_err_name(st.last_error) : "?");
        return TKM_RC(TKM_ERR_UNAVAILABLE);
    }
    return TKM_RC_OK;
}

/* ---- the schedule ---- */

static void *schedule_main(void *arg) {
    api_vtrust *vt = arg;
    pthread_setname_np(pthread_self(), "tkm-vtime");
    for (;;) {
        /* a relative wait on the kernel's clock: the host clock cannot stretch or shrink it */
        struct pollfd p = {.fd = vt->wake[0], .events = POLLIN};
        int n = poll(&p, 1, (int)(vt->seconds * 1000u));
        if (n > 0 || (n < 0 && errno != EINTR)) break;
        if (n < 0) continue;
        if (api_vtrust_needs_registration(vt) && vt->reregister) {
            tkm_rc rc = vt->reregister(vt->rereg_ctx);
            if (tkm_failed(rc))
                tkm_log(TKM_LOG_WARN, "teekmd", "registration with teekm-verifier failed: %s (%s)",
                        tkm_err_name(rc.code), tkm_err_detail());
        }
        if (!atomic_load(&vt->started)) {
            /* a seal-keyed instance that got no trusted time at start (never one with the remote counter) */
            uint8_t s[20];
            int learned = 0;
            tkm_rc rc = api_vtrust_start(vt, vt->engine, 0, NULL, s, &learned);
            if (tkm_failed(rc))
                tkm_log(TKM_LOG_WARN, "teekmd", "still no trusted time from teekm-verifier: %s (%s)",
                        tkm_err_name(rc.code), tkm_err_detail());
            else
                tkm_log(TKM_LOG_INFO, "teekmd", "trusted time from teekm-verifier%s", learned ? " (its signer is "
                        "recorded in instance.json at the next start)" : "");
            continue;
        }
        tkm_rc rc = tkm_engine_counter_catch_up(vt->engine);
        if (tkm_failed(rc))
            tkm_log(TKM_LOG_WARN, "teekmd", "monotonic counter still behind the state: %s (%s)", tkm_err_name(rc.code),
                    tkm_err_detail());
        rc = api_vtrust_refresh(vt);
        if (tkm_failed(rc))
            tkm_log(TKM_LOG_WARN, "teekmd", "trusted time from teekm-verifier: %s (%s); the bound stops growing %s",
                    tkm_err_name(rc.code), tkm_err_detail(), "once the last trusted time is older than the policy's max age");
    }
    return NULL;
}

tkm_rc api_vtrust_schedule(api_vtrust *vt, unsigned seconds, tkm_rc (*reregister)(void *ctx), void *ctx) {
    TKM_ARG_CHECK(seconds >= 1 && !vt->thread_started && vt->engine);
    if (pipe2(vt->wake, O_CLOEXEC) != 0) {
        tkm_err_detail_set("pipe: %s", strerror(errno));
        TKM_ENSURE(0, TKM_ERR_IO);
    }
    vt->seconds = seconds;
    vt->reregister = reregister;
    vt->rereg_ctx = ctx;
    if (pthread_create(&vt->thread, NULL, schedule_main, vt) != 0) TKM_ENSURE(0, TKM_ERR_NOMEM);
    vt->thread_started = 1;
    return TKM_RC_OK;
}
