/*
 * Metrics registry: values under concurrency and the exact Prometheus text
 * exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 * The full /metrics output is also parsed by the Prometheus Python client in
 * tests/api/test_server.sh.
 */
#include "testutil.h"

#include <pthread.h>
#include <string.h>

#include "api/api.h"

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

static double fixed(void *arg) { return *(double *)arg; }

static void test_exposition_format(void **state) {
    (void)state;
    tkm_metrics *m = NULL;
    TU_ASSERT_OK(tkm_metrics_new(&m));
    tkm_metric *req, *lat, *up, *empty;
    static const char *const l2[] = {"route", "code", NULL};
    TU_ASSERT_OK(tkm_metrics_counter(m, &req, "tkm_test_requests_total", "Requests \\ by \"route\"\nand code", l2));
    static const double b[] = {0.005, 0.1, 1};
    TU_ASSERT_OK(tkm_metrics_histogram(m, &lat, "tkm_test_seconds", "Latency", NULL, b, 3));
    TU_ASSERT_OK(tkm_metrics_gauge(m, &up, "tkm_test_up", "Up", NULL));
    TU_ASSERT_OK(tkm_metrics_counter(m, &empty, "tkm_test_empty_total", "Never used", l2));
    double v = 2.5;
    TU_ASSERT_OK(tkm_metrics_gauge_fn(m, "tkm_test_fn", "From a callback", fixed, &v));
    tkm_metric *dup = NULL;
    TU_ASSERT_RC(tkm_metrics_counter(m, &dup, "tkm_test_up", "dup", NULL), TKM_ERR_EXISTS);
    assert_null(dup);

    const char *a[] = {"jsonrpc", "200"}, *c[] = {"we\"ird\\\nroute", "404"};
    tkm_metric_inc(tkm_metric_child_get(req, a), 3);
    tkm_metric_inc(tkm_metric_child_get(req, a), 2);
    tkm_metric_inc(tkm_metric_child_get(req, c), 1);
    tkm_metric_child *h = tkm_metric_child_get(lat, NULL);
    tkm_metric_observe(h, 0.001);
    tkm_metric_observe(h, 0.005); /* upper bounds are inclusive */
    tkm_metric_observe(h, 0.5);
    tkm_metric_observe(h, 7);
    tkm_metric_set(tkm_metric_child_get(up, NULL), 1);
    tkm_metric_add(tkm_metric_child_get(up, NULL), 0.25);

    char *txt = render(m);
    const char *want =
        "# HELP tkm_test_requests_total Requests \\\\ by \"route\"\\nand code\n"
        "# TYPE tkm_test_requests_total counter\n"
        "tkm_test_requests_total{route=\"jsonrpc\",code=\"200\"} 5\n"
        "tkm_test_requests_total{route=\"we\\\"ird\\\\\\nroute\",code=\"404\"} 1\n"
        "# HELP tkm_test_seconds Latency\n"
        "# TYPE tkm_test_seconds histogram\n"
        "tkm_test_seconds_bucket{le=\"0.005\"} 2\n"
        "tkm_test_seconds_bucket{le=\"0.1\"} 2\n"
        "tkm_test_seconds_bucket{le=\"1\"} 3\n"
        "tkm_test_seconds_bucket{le=\"+Inf\"} 4\n"
        "tkm_test_seconds_sum 7.506\n"
        "tkm_test_seconds_count 4\n"
        "# HELP tkm_test_up Up\n"
        "# TYPE tkm_test_up gauge\n"
        "tkm_test_up 1.25\n"
        "# HELP tkm_test_empty_total Never used\n"
        "# TYPE tkm_test_empty_total counter\n"
        "# HELP tkm_test_fn From a callback\n"
        "# TYPE tkm_test_fn gauge\n"
        "tkm_test_fn 2.5\n";
    assert_string_equal(txt, want);
    free(txt);
    assert_true(tkm_metric_value(tkm_metric_child_get(req, a)) == 5.0);
    assert_true(tkm_metric_value(h) == 4.0);
    tkm_metrics_free(m);
}

static void test_cardinality_cap(void **state) {
    (void)state;
    tkm_metrics *m = NULL;
    tkm_metric *f;
    static const char *const l[] = {"k", NULL};
    TU_ASSERT_OK(tkm_metrics_new(&m));
    TU_ASSERT_OK(tkm_metrics_counter(m, &f, "tkm_test_total", "x", l));
    char v[32];
    const char *vals[] = {v};
    for (int i = 0; i < TKM_METRIC_MAX_CHILDREN + 50; i++) {
        snprintf(v, sizeof v, "v%d", i);
        tkm_metric_inc(tkm_metric_child_get(f, vals), 1);
    }
    char *txt = render(m);
    assert_non_null(strstr(txt, "tkm_test_total{k=\"_overflow\"} 50\n"));
    assert_null(strstr(txt, "k=\"v512\""));
    free(txt);
    tkm_metrics_free(m);
    /* invalid names are caller bugs */
    TU_ASSERT_OK(tkm_metrics_new(&m));
    TU_CHECK_ILLEGAL(tkm_metrics_counter(m, &f, "1bad", "x", NULL));
    static const char *const bad[] = {"__reserved", NULL};
    TU_CHECK_ILLEGAL(tkm_metrics_counter(m, &f, "ok_total", "x", bad));
    static const double unsorted[] = {1, 0.5};
    TU_CHECK_ILLEGAL(tkm_metrics_histogram(m, &f, "h", "x", NULL, unsorted, 2));
    tkm_metrics_free(m);
}

typedef struct {
    tkm_metric *c, *h;
} par;

static void *hammer(void *arg) {
    par *p = arg;
    const char *v[] = {"x"};
    for (int i = 0; i < 100000; i++) {
        tkm_metric_inc(tkm_metric_child_get(p->c, v), 1);
        tkm_metric_observe(tkm_metric_child_get(p->h, NULL), 0.5);
    }
    return NULL;
}

static void test_concurrent_updates(void **state) {
    (void)state;
    tkm_metrics *m = NULL;
    par p;
    static const char *const l[] = {"k", NULL};
    static const double b[] = {1};
    TU_ASSERT_OK(tkm_metrics_new(&m));
    TU_ASSERT_OK(tkm_metrics_counter(m, &p.c, "tkm_test_total", "x", l));
    TU_ASSERT_OK(tkm_metrics_histogram(m, &p.h, "tkm_test_h", "x", NULL, b, 1));
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, hammer, &p);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    const char *v[] = {"x"};
    assert_true(tkm_metric_value(tkm_metric_child_get(p.c, v)) == 400000.0);
    char *txt = render(m);
    assert_non_null(strstr(txt, "tkm_test_h_sum 200000\n"));
    assert_non_null(strstr(txt, "tkm_test_h_count 400000\n"));
    free(txt);
    tkm_metrics_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exposition_format),
        cmocka_unit_test(test_cardinality_cap),
        cmocka_unit_test(test_concurrent_updates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
