/* see tkm_registrar.h */
#include "tkm_registrar.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEF_SETTLE_MS 300
#define DEF_MAX_DELAY_MS 2000
#define DEF_BACKOFF_MIN_MS 1000
#define DEF_BACKOFF_MAX_MS 60000
#define NEVER UINT64_MAX
#define MS 1000000ull

struct tkm_registrar {
    tkm_registrar_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    pthread_t thread;
    int started, stop, hooked;
    /* schedule (monotonic ns), under mu */
    int dirty;                   /* a change not yet taken by an attempt */
    uint64_t first_change, last_change;
    int failing;                 /* the last attempt failed: retry at retry_at */
    uint64_t retry_at, backoff_ms;
    uint64_t periodic_at;        /* NEVER without a schedule */
    tkm_registrar_status st;     /* under mu */
    tkm_metric *m_total;
    tkm_metric_child *m_by[TKM_REGISTRAR_RESULTS];
};

static const char *const RESULT_NAMES[TKM_REGISTRAR_RESULTS] = {"ok", "unreachable", "refused", "error"};

tkm_registrar_result tkm_registrar_classify(tkm_err code) {
    switch (code) {
    case TKM_OK:
        return TKM_REGISTRAR_OK;
    case TKM_ERR_NETWORK:
    case TKM_ERR_TIMEOUT:
    case TKM_ERR_HTTP_STATUS:
        return TKM_REGISTRAR_UNREACHABLE;
    case TKM_ERR_APPRAISAL:
        return TKM_REGISTRAR_REFUSED;
    default:
        return TKM_REGISTRAR_ERROR;
    }
}

const char *tkm_registrar_result_name(tkm_registrar_result r) {
    return (unsigned)r < TKM_REGISTRAR_RESULTS ? RESULT_NAMES[r] : "error";
}

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t add_ms(uint64_t t, uint64_t ms) { return ms > (NEVER - t) / MS ? NEVER : t + ms * MS; }
static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static uint64_t backoff_max(const tkm_registrar *r) {
    uint64_t m = r->cfg.backoff_max_ms;
    if (r->cfg.period_ms && r->cfg.period_ms < m) m = r->cfg.period_ms;
    return m < r->cfg.backoff_min_ms ? r->cfg.backoff_min_ms : m;
}

/* When the next attempt is due (caller holds mu). */
static uint64_t next_due(const tkm_registrar *r) {
    if (r->failing) return r->retry_at; /* a change does not shorten a backoff */
    uint64_t due = r->periodic_at;
    if (r->dirty)
        due = min_u64(due, min_u64(add_ms(r->last_change, r->cfg.settle_ms), add_ms(r->first_change, r->cfg.max_delay_ms)));
    return due;
}

/* Count one outcome (caller holds mu). Returns the pause before a retry in ms (0 after a success). */
static uint64_t record(tkm_registrar *r, tkm_err code, int64_t now_unix, uint64_t now_mono) {
    tkm_registrar_result c = tkm_registrar_classify(code);
    r->st.attempts++;
    r->st.by_result[c]++;
    r->st.last_attempt = now_unix;
    r->st.last_err = code;
    if (r->m_by[c]) tkm_metric_inc(r->m_by[c], 1);
    if (code == TKM_OK) {
        r->st.last_ok = now_unix;
        r->st.consecutive_failures = 0;
        r->failing = 0;
        r->backoff_ms = 0;
        r->periodic_at = r->cfg.period_ms ? add_ms(now_mono, r->cfg.period_ms) : NEVER;
        r->st.pending = r->dirty; /* changes made while it ran still wait */
        return 0;
    }
    r->st.consecutive_failures++;
    r->backoff_ms = r->backoff_ms ? min_u64(r->backoff_ms * 2, backoff_max(r)) : r->cfg.backoff_min_ms;
    r->failing = 1;
    r->retry_at = add_ms(now_mono, r->backoff_ms);
    r->st.pending = 1;
    return r->backoff_ms;
}

static tkm_rc default_attempt(void *arg) { return tkm_instance_reattest(arg); }

static void log_outcome(tkm_rc rc, const char *why, const char *detail, uint64_t retry_ms, uint64_t failures,
                        uint64_t failures_before) {
    json_t *f = json_pack("{s:s,s:s}", "reason", why, "result", tkm_registrar_result_name(tkm_registrar_classify(rc.code)));
    if (tkm_ok(rc)) {
        if (f && failures_before) json_object_set_new(f, "failuresBefore", json_integer((json_int_t)failures_before));
        tkm_log_fields(TKM_LOG_INFO, "teekmd", f, "re-attested to the verifier (%s)%s", why,
                       failures_before ? ": the registration caught up" : "");
    } else {
        if (f) {
            json_object_set_new(f, "error", json_string(tkm_err_name(rc.code)));
            json_object_set_new(f, "detail", json_string(detail));
            json_object_set_new(f, "failures", json_integer((json_int_t)failures));
            json_object_set_new(f, "retryMs", json_integer((json_int_t)retry_ms));
        }
        tkm_log_fields(TKM_LOG_WARN, "teekmd", f,
                       "re-attestation to the verifier failed (%s): %s; %llu in a row, next attempt in %llu ms "
                       "(the service goes on; the registry shows older claims until then)",
                       why, tkm_err_name(rc.code), (unsigned long long)failures, (unsigned long long)retry_ms);
    }
    json_decref(f);
}

static void *reg_main(void *arg) {
    tkm_registrar *r = arg;
    pthread_setname_np(pthread_self(), "tkm-registrar");
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        uint64_t due = next_due(r);
        if (mono_ns() < due) {
            if (due == NEVER) {
                pthread_cond_wait(&r->cv, &r->mu);
            } else {
                struct timespec ts = {.tv_sec = (time_t)(due / 1000000000ull), .tv_nsec = (long)(due % 1000000000ull)};
                pthread_cond_timedwait(&r->cv, &r->mu, &ts);
            }
            continue; /* woken, timed out or spurious: look again */
        }
        const char *why = r->failing ? "retry" : r->dirty ? "change" : "schedule";
        uint64_t failures_before = r->st.consecutive_failures;
        r->dirty = 0; /* this attempt covers every change made so far */
        pthread_mutex_unlock(&r->mu);
        tkm_err_detail_clear();
        tkm_rc rc = r->cfg.attempt(r->cfg.attempt_arg);
        char detail[512];
        snprintf(detail, sizeof detail, "%s", tkm_failed(rc) ? tkm_err_detail() : "");
        pthread_mutex_lock(&r->mu);
        uint64_t retry_ms = record(r, rc.code, tkm_time_unix(), mono_ns());
        uint64_t failures = r->st.consecutive_failures;
        pthread_mutex_unlock(&r->mu);
        log_outcome(rc, why, detail, retry_ms, failures, failures_before);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

void tkm_registrar_wake(tkm_registrar *r) {
    pthread_mutex_lock(&r->mu);
    uint64_t now = mono_ns();
    if (!r->dirty) r->first_change = now;
    r->dirty = 1;
    r->last_change = now;
    r->st.pending = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void hook(void *arg) { tkm_registrar_wake(arg); }

void tkm_registrar_status_get(tkm_registrar *r, tkm_registrar_status *out) {
    pthread_mutex_lock(&r->mu);
    *out = r->st;
    pthread_mutex_unlock(&r->mu);
}

json_t *tkm_registrar_status_json(tkm_registrar *r) {
    tkm_registrar_status st;
    tkm_registrar_status_get(r, &st);
    const char *res = NULL;
    if (st.last_attempt) res = st.last_err == TKM_OK ? "ok" : tkm_err_name(st.last_err);
    return json_pack("{s:o,s:o,s:o,s:I,s:b}", "lastRegistration",
                     st.last_ok ? json_integer((json_int_t)st.last_ok) : json_null(), "lastAttempt",
                     st.last_attempt ? json_integer((json_int_t)st.last_attempt) : json_null(), "lastResult",
                     res ? json_string(res) : json_null(), "consecutiveFailures", (json_int_t)st.consecutive_failures,
                     "pending", st.pending);
}

static json_t *health_info(void *arg) { return tkm_registrar_status_json(arg); }

static double g_last_ok(void *arg) {
    tkm_registrar_status st;
    tkm_registrar_status_get(arg, &st);
    return (double)st.last_ok;
}

static double g_pending(void *arg) {
    tkm_registrar_status st;
    tkm_registrar_status_get(arg, &st);
    return st.pending ? 1 : 0;
}

static tkm_rc register_metrics(tkm_registrar *r, tkm_metrics *m) {
    static const char *const by_result[] = {"result", NULL};
    TKM_TRY(tkm_metrics_counter(m, &r->m_total, "teekm_verifier_registrations_total",
                                "Registrations with teekm-verifier by result (ok, unreachable, refused, error)",
                                by_result));
    for (int i = 0; i < TKM_REGISTRAR_RESULTS; i++) {
        const char *v[] = {RESULT_NAMES[i]};
        r->m_by[i] = tkm_metric_child_get(r->m_total, v);
        tkm_metric_inc(r->m_by[i], r->st.by_result[i]); /* the start's own registration */
    }
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_verifier_last_registration_timestamp_seconds",
                                 "Unix time of the last successful registration with teekm-verifier (0: none)",
                                 g_last_ok, r));
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_verifier_registration_pending",
                                 "1 while the verifier's registry lags behind the instance (a change or a failure "
                                 "not yet made good)",
                                 g_pending, r));
    return TKM_RC_OK;
}

tkm_rc tkm_registrar_start(tkm_registrar **out, const tkm_registrar_config *cfg) {
    *out = NULL;
    TKM_ARG_CHECK(cfg && (cfg->instance || cfg->attempt));
    TKM_ARG_CHECK(cfg->attempt || tkm_instance_has_verifier(cfg->instance));
    tkm_registrar *r = calloc(1, sizeof *r);
    TKM_ENSURE(r, TKM_ERR_NOMEM);
    r->cfg = *cfg;
    if (!r->cfg.settle_ms) r->cfg.settle_ms = DEF_SETTLE_MS;
    if (!r->cfg.max_delay_ms) r->cfg.max_delay_ms = DEF_MAX_DELAY_MS;
    if (r->cfg.max_delay_ms < r->cfg.settle_ms) r->cfg.max_delay_ms = r->cfg.settle_ms;
    if (!r->cfg.backoff_min_ms) r->cfg.backoff_min_ms = DEF_BACKOFF_MIN_MS;
    if (!r->cfg.backoff_max_ms) r->cfg.backoff_max_ms = DEF_BACKOFF_MAX_MS;
    if (!r->cfg.attempt) {
        r->cfg.attempt = default_attempt;
        r->cfg.attempt_arg = cfg->instance;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    uint64_t now = mono_ns();
    r->periodic_at = r->cfg.period_ms ? add_ms(now, r->cfg.period_ms) : NEVER;
    if (cfg->instance) { /* seed with the start's registration */
        tkm_instance_reg_info ri;
        tkm_instance_registration_info(cfg->instance, &ri);
        if (ri.last_attempt) {
            tkm_registrar_result c = tkm_registrar_classify(ri.last_err);
            r->st.attempts = 1;
            r->st.by_result[c] = 1;
            r->st.last_attempt = ri.last_attempt;
            r->st.last_err = ri.last_err;
            r->st.last_ok = ri.last_ok;
            if (ri.last_err != TKM_OK) {
                r->st.consecutive_failures = 1;
                r->failing = 1;
                r->backoff_ms = r->cfg.backoff_min_ms;
                r->retry_at = add_ms(now, r->backoff_ms);
                r->st.pending = 1;
            }
        }
    }
    tkm_rc rc = TKM_RC_OK;
    if (cfg->metrics) rc = register_metrics(r, cfg->metrics);
    if (tkm_ok(rc) && cfg->server) rc = tkm_api_server_health_info(cfg->server, "verifier", health_info, r);
    if (tkm_ok(rc) && pthread_create(&r->thread, NULL, reg_main, r) != 0) {
        tkm_err_detail_set("cannot start the registration thread");
        rc = TKM_RC(TKM_ERR_INTERNAL);
    }
    if (tkm_failed(rc)) { /* the caller gives up (tkm_registrar.h): callbacks already registered are not run */
        tkm_registrar_free(r);
        return rc;
    }
    r->started = 1;
    if (cfg->instance) {
        tkm_instance_on_change(cfg->instance, hook, r);
        r->hooked = 1;
    }
    *out = r;
    return TKM_RC_OK;
}

void tkm_registrar_stop(tkm_registrar *r) {
    if (!r) return;
    if (r->hooked) { /* no wake after this returns */
        tkm_instance_on_change(r->cfg.instance, NULL, NULL);
        r->hooked = 0;
    }
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (r->started) {
        pthread_join(r->thread, NULL);
        r->started = 0;
    }
}

void tkm_registrar_free(tkm_registrar *r) {
    if (!r) return;
    tkm_registrar_stop(r);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
