/*
 * The registrar (tkm_registrar.h) with a scripted registration attempt in
 * place of the verifier: a burst of changes gives one registration, a steady
 * stream does not starve it, changes during an attempt give one more, failures
 * back off (doubling, capped; a change does not shorten the pause) and recover,
 * the schedule runs after successes, stop is prompt, and the metrics, status
 * and /healthz object say what happened. The real protocol against a real
 * teekm-verifier runs in tests/e2e/test_e2e_registration.sh.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/tkm_registrar.h"

#define MAX_CALLS 64

typedef struct {
    pthread_mutex_t mu;
    int calls;
    uint64_t at_ms[MAX_CALLS]; /* monotonic start of each attempt */
    tkm_err script[MAX_CALLS]; /* outcome of call i (TKM_OK past the script) */
    int n_script;
    unsigned sleep_ms;         /* each attempt takes this long */
} script;

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static tkm_rc attempt(void *arg) {
    script *s = arg;
    pthread_mutex_lock(&s->mu);
    int i = s->calls++;
    if (i < MAX_CALLS) s->at_ms[i] = now_ms();
    tkm_err e = i < s->n_script ? s->script[i] : TKM_OK;
    unsigned pause = s->sleep_ms;
    pthread_mutex_unlock(&s->mu);
    if (pause) sleep_ms(pause);
    if (e != TKM_OK) tkm_err_detail_set("scripted failure %d", i);
    return TKM_RC(e);
}

static int calls(script *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->calls;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Wait until at least n attempts were made (deadline: ms). */
static void wait_calls(script *s, int n, unsigned ms) {
    uint64_t end = now_ms() + ms;
    while (calls(s) < n && now_ms() < end) sleep_ms(5);
    if (calls(s) < n) fail_msg("%d attempts after %u ms, wanted %d", calls(s), ms, n);
}

/* Wait until the registrar has recorded n attempts (an attempt is recorded after it returns). */
static void wait_recorded(tkm_registrar *r, uint64_t n, unsigned ms) {
    uint64_t end = now_ms() + ms;
    tkm_registrar_status st;
    for (;;) {
        tkm_registrar_status_get(r, &st);
        if (st.attempts >= n || now_ms() >= end) break;
        sleep_ms(5);
    }
    if (st.attempts < n) fail_msg("%llu attempts recorded after %u ms, wanted %llu", (unsigned long long)st.attempts,
                                  ms, (unsigned long long)n);
}

static script *script_new(void) {
    script *s = calloc(1, sizeof *s);
    assert_non_null(s);
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

static void script_free(script *s) {
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static tkm_registrar *start(script *s, tkm_registrar_config cfg) {
    cfg.attempt = attempt;
    cfg.attempt_arg = s;
    tkm_registrar *r = NULL;
    TU_ASSERT_OK(tkm_registrar_start(&r, &cfg));
    return r;
}

static void test_classify(void **state) {
    (void)state;
    assert_int_equal(tkm_registrar_classify(TKM_OK), TKM_REGISTRAR_OK);
    assert_int_equal(tkm_registrar_classify(TKM_ERR_NETWORK), TKM_REGISTRAR_UNREACHABLE);
    assert_int_equal(tkm_registrar_classify(TKM_ERR_TIMEOUT), TKM_REGISTRAR_UNREACHABLE);
    assert_int_equal(tkm_registrar_classify(TKM_ERR_HTTP_STATUS), TKM_REGISTRAR_UNREACHABLE);
    assert_int_equal(tkm_registrar_classify(TKM_ERR_APPRAISAL), TKM_REGISTRAR_REFUSED);
    assert_int_equal(tkm_registrar_classify(TKM_ERR_TLS), TKM_REGISTRAR_ERROR);
    assert_int_equal(tkm_registrar_classify(TKM_ERR_FORMAT), TKM_REGISTRAR_ERROR);
    assert_string_equal(tkm_registrar_result_name(TKM_REGISTRAR_OK), "ok");
    assert_string_equal(tkm_registrar_result_name(TKM_REGISTRAR_UNREACHABLE), "unreachable");
    assert_string_equal(tkm_registrar_result_name(TKM_REGISTRAR_REFUSED), "refused");
    assert_string_equal(tkm_registrar_result_name(TKM_REGISTRAR_ERROR), "error");
}

/* Nothing happens without a change or a schedule; a burst of 200 changes gives one registration. */
static void test_burst_coalesced(void **state) {
    (void)state;
    script *s = script_new();
    tkm_registrar *r = start(s, (tkm_registrar_config){.settle_ms = 300, .max_delay_ms = 3000});
    sleep_ms(100);
    assert_int_equal(calls(s), 0);
    tkm_registrar_status st;
    tkm_registrar_status_get(r, &st);
    assert_int_equal(st.pending, 0);
    uint64_t t0 = now_ms();
    for (int i = 0; i < 200; i++) tkm_registrar_wake(r);
    tkm_registrar_status_get(r, &st);
    assert_int_equal(st.pending, 1);
    wait_calls(s, 1, 5000);
    assert_true(s->at_ms[0] - t0 >= 300); /* after the changes settled */
    wait_recorded(r, 1, 2000);
    sleep_ms(400);
    assert_int_equal(calls(s), 1);
    tkm_registrar_status_get(r, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.by_result[TKM_REGISTRAR_OK], 1);
    assert_true(st.last_ok > 0);
    tkm_registrar_free(r);
    script_free(s);
}

/* A steady stream of changes (each within the settle time of the last) still registers every max_delay_ms. */
static void test_stream_not_starved(void **state) {
    (void)state;
    script *s = script_new();
    tkm_registrar *r = start(s, (tkm_registrar_config){.settle_ms = 200, .max_delay_ms = 350});
    int wakes = 0;
    for (uint64_t end = now_ms() + 1100; now_ms() < end; wakes++) {
        tkm_registrar_wake(r);
        sleep_ms(50);
    }
    int n = calls(s);
    assert_true(n >= 2);     /* not held back until the stream stops */
    assert_true(n < wakes);  /* and coalesced */
    tkm_registrar_free(r);
    script_free(s);
}

/* A change while an attempt runs gives exactly one more attempt. */
static void test_change_during_attempt(void **state) {
    (void)state;
    script *s = script_new();
    s->sleep_ms = 300;
    tkm_registrar *r = start(s, (tkm_registrar_config){.settle_ms = 50, .max_delay_ms = 100});
    tkm_registrar_wake(r);
    wait_calls(s, 1, 3000);
    tkm_registrar_wake(r); /* during the first attempt */
    tkm_registrar_wake(r);
    wait_calls(s, 2, 3000);
    wait_recorded(r, 2, 3000);
    sleep_ms(200);
    assert_int_equal(calls(s), 2);
    tkm_registrar_status st;
    tkm_registrar_status_get(r, &st);
    assert_int_equal(st.pending, 0);
    tkm_registrar_free(r);
    script_free(s);
}

/* Failures back off 60, 120, 240, 300 ms (cap); a change does not shorten a pause; the first success resets. */
static void test_backoff(void **state) {
    (void)state;
    script *s = script_new();
    s->n_script = 4;
    s->script[0] = TKM_ERR_NETWORK;
    s->script[1] = TKM_ERR_TIMEOUT;
    s->script[2] = TKM_ERR_APPRAISAL;
    s->script[3] = TKM_ERR_TLS;
    tkm_registrar *r =
        start(s, (tkm_registrar_config){.settle_ms = 10, .max_delay_ms = 10, .backoff_min_ms = 60, .backoff_max_ms = 300});
    tkm_registrar_wake(r);
    wait_calls(s, 1, 3000);
    wait_recorded(r, 1, 3000);
    for (int i = 0; i < 5; i++) tkm_registrar_wake(r); /* during the first pause: no earlier attempt */
    wait_calls(s, 5, 8000);
    wait_recorded(r, 5, 3000);
    static const uint64_t pause[] = {60, 120, 240, 300};
    for (int i = 0; i < 4; i++)
        if (s->at_ms[i + 1] - s->at_ms[i] < pause[i])
            fail_msg("attempt %d came %llu ms after the previous, before the %llu ms pause", i + 1,
                     (unsigned long long)(s->at_ms[i + 1] - s->at_ms[i]), (unsigned long long)pause[i]);
    tkm_registrar_status st;
    tkm_registrar_status_get(r, &st);
    assert_int_equal(st.attempts, 5);
    assert_int_equal(st.by_result[TKM_REGISTRAR_UNREACHABLE], 2);
    assert_int_equal(st.by_result[TKM_REGISTRAR_REFUSED], 1);
    assert_int_equal(st.by_result[TKM_REGISTRAR_ERROR], 1);
    assert_int_equal(st.by_result[TKM_REGISTRAR_OK], 1);
    assert_int_equal(st.consecutive_failures, 0);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.last_err, TKM_OK);
    /* after the success nothing more is due (no schedule, no change) */
    sleep_ms(300);
    assert_int_equal(calls(s), 5);
    /* a new failure starts again at the smallest pause */
    pthread_mutex_lock(&s->mu);
    s->n_script = 7;
    s->script[5] = TKM_ERR_NETWORK;
    s->script[6] = TKM_OK;
    pthread_mutex_unlock(&s->mu);
    tkm_registrar_wake(r);
    wait_calls(s, 7, 3000);
    uint64_t gap = s->at_ms[6] - s->at_ms[5];
    assert_true(gap >= 60);
    assert_true(gap < 300); /* not the cap it had reached */
    tkm_registrar_free(r);
    script_free(s);
}

/* The schedule: period_ms after each success; the backoff never exceeds the period. */
static void test_schedule(void **state) {
    (void)state;
    script *s = script_new();
    tkm_registrar *r = start(s, (tkm_registrar_config){.period_ms = 150});
    sleep_ms(700);
    int n = calls(s);
    assert_true(n >= 2);
    assert_true(n <= 4);
    tkm_registrar_free(r);
    script_free(s);
}

/* Stop does not wait for a pause or the schedule. */
static void test_stop_prompt(void **state) {
    (void)state;
    script *s = script_new();
    s->n_script = 1;
    s->script[0] = TKM_ERR_NETWORK;
    tkm_registrar *r = start(s, (tkm_registrar_config){.period_ms = 3600000, .settle_ms = 10, .backoff_min_ms = 60000});
    tkm_registrar_wake(r);
    wait_recorded(r, 1, 3000); /* now in a 60 s pause */
    uint64_t t0 = now_ms();
    tkm_registrar_free(r);
    assert_true(now_ms() - t0 < 1000);
    assert_int_equal(calls(s), 1);
    script_free(s);
}

static char *render(tkm_metrics *m) {
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_metrics_render(m, &w));
    TU_ASSERT_OK(tkm_wr_nul(&w));
    uint8_t *p;
    size_t n;
    TU_ASSERT_OK(tkm_wr_take(&w, &p, &n));
    return (char *)p;
}

static void assert_has(const char *txt, const char *line) {
    if (!strstr(txt, line)) fail_msg("metrics lack \"%s\":\n%s", line, txt);
}

/* Metrics (Prometheus text) and the /healthz object follow the outcomes. */
static void test_metrics_and_status(void **state) {
    (void)state;
    tkm_metrics *m = NULL;
    TU_ASSERT_OK(tkm_metrics_new(&m));
    script *s = script_new();
    s->n_script = 2;
    s->script[0] = TKM_ERR_APPRAISAL;
    s->script[1] = TKM_ERR_NETWORK;
    tkm_registrar *r =
        start(s, (tkm_registrar_config){.settle_ms = 10, .max_delay_ms = 10, .backoff_min_ms = 50, .metrics = m});
    char *txt = render(m);
    assert_has(txt, "# TYPE teekm_verifier_registrations_total counter\n");
    assert_has(txt, "teekm_verifier_registrations_total{result=\"ok\"} 0\n");
    assert_has(txt, "teekm_verifier_registrations_total{result=\"unreachable\"} 0\n");
    assert_has(txt, "teekm_verifier_registrations_total{result=\"refused\"} 0\n");
    assert_has(txt, "teekm_verifier_registrations_total{result=\"error\"} 0\n");
    assert_has(txt, "teekm_verifier_last_registration_timestamp_seconds 0\n");
    assert_has(txt, "teekm_verifier_registration_pending 0\n");
    free(txt);
    json_t *j = tkm_registrar_status_json(r);
    assert_true(json_is_null(json_object_get(j, "lastRegistration")));
    assert_true(json_is_null(json_object_get(j, "lastAttempt")));
    assert_true(json_is_null(json_object_get(j, "lastResult")));
    assert_true(json_is_false(json_object_get(j, "pending")));
    json_decref(j);

    tkm_registrar_wake(r);
    wait_recorded(r, 1, 3000);
    j = tkm_registrar_status_json(r);
    assert_string_equal(json_string_value(json_object_get(j, "lastResult")), "APPRAISAL");
    assert_true(json_is_true(json_object_get(j, "pending")));
    assert_int_equal(json_integer_value(json_object_get(j, "consecutiveFailures")), 1);
    assert_true(json_is_null(json_object_get(j, "lastRegistration")));
    json_decref(j);
    wait_recorded(r, 3, 3000);
    tkm_registrar_status st;
    tkm_registrar_status_get(r, &st);
    txt = render(m);
    assert_has(txt, "teekm_verifier_registrations_total{result=\"ok\"} 1\n");
    assert_has(txt, "teekm_verifier_registrations_total{result=\"unreachable\"} 1\n");
    assert_has(txt, "teekm_verifier_registrations_total{result=\"refused\"} 1\n");
    assert_has(txt, "teekm_verifier_registrations_total{result=\"error\"} 0\n");
    char want[128];
    snprintf(want, sizeof want, "teekm_verifier_last_registration_timestamp_seconds %lld\n", (long long)st.last_ok);
    assert_has(txt, want);
    assert_has(txt, "teekm_verifier_registration_pending 0\n");
    free(txt);
    j = tkm_registrar_status_json(r);
    assert_string_equal(json_string_value(json_object_get(j, "lastResult")), "ok");
    assert_int_equal(json_integer_value(json_object_get(j, "lastRegistration")), st.last_ok);
    assert_int_equal(json_integer_value(json_object_get(j, "consecutiveFailures")), 0);
    json_decref(j);
    /* a second registrar on the same registry: the names are taken */
    tkm_registrar *r2 = NULL;
    tkm_registrar_config c2 = {.attempt = attempt, .attempt_arg = s, .metrics = m};
    TU_ASSERT_RC(tkm_registrar_start(&r2, &c2), TKM_ERR_EXISTS);
    assert_null(r2);
    tkm_registrar_free(r);
    tkm_metrics_free(m);
    script_free(s);
}

int main(void) {
    tkm_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_burst_coalesced),
        cmocka_unit_test(test_stream_not_starved),
        cmocka_unit_test(test_change_during_attempt),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_stop_prompt),
        cmocka_unit_test(test_metrics_and_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
