/*
 * tkm_metrics.h — a small, thread-safe metrics registry rendered in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * Model: a registry holds families (counter, gauge, histogram, or a gauge
 * read from a callback at scrape time). A family has 0..TKM_METRIC_MAX_LABELS
 * label names; each distinct tuple of label values is a child, created on
 * first use and kept until the registry is freed. Values are updated with
 * atomics: looking a child up takes the family's mutex, updating it takes
 * none, so hot paths look a child up once and keep the pointer.
 *
 * Cardinality: a family holds at most TKM_METRIC_MAX_CHILDREN children. Past
 * that every new label tuple maps to one overflow child whose label values are
 * all "_overflow" (so hostile input cannot grow memory); label values longer
 * than TKM_METRIC_MAX_LABEL_LEN bytes are truncated. Callers must still never
 * pass unbounded client-chosen strings as label values (use a fixed table and
 * "unknown").
 *
 * Ownership: the registry owns its families and children; pointers returned
 * by the lookup functions stay valid until tkm_metrics_free. Names and help
 * strings are copied.
 * NULL rules: every pointer argument is required unless stated.
 * Thread-safety: every function may be called from any thread, except
 * tkm_metrics_free (no concurrent use).
 * Secrets: none; never put a secret in a label value.
 */
#ifndef TKM_METRICS_H
#define TKM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#define TKM_METRIC_MAX_LABELS 4
#define TKM_METRIC_MAX_CHILDREN 512
#define TKM_METRIC_MAX_LABEL_LEN 96
#define TKM_METRIC_MAX_BUCKETS 32

typedef struct tkm_metrics tkm_metrics;
typedef struct tkm_metric tkm_metric;     /* a family */
typedef struct tkm_metric_child tkm_metric_child; /* one label tuple */

typedef enum {
    TKM_METRIC_COUNTER = 0,
    TKM_METRIC_GAUGE = 1,
    TKM_METRIC_HISTOGRAM = 2,
} tkm_metric_type;

/* A scrape-time gauge: returns the current value. Called from the thread that renders. */
typedef double (*tkm_metric_gauge_fn)(void *arg);

/* Out: *out, an empty registry. Caller frees with tkm_metrics_free. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_metrics_new(tkm_metrics **out);
/* Free the registry and every family; NULL-safe. No other thread may use it. */
TKM_API void tkm_metrics_free(tkm_metrics *m);

/*
 * Register a family. name: [a-zA-Z_:][a-zA-Z0-9_:]*; labels: NULL or a
 * NULL-terminated list of at most TKM_METRIC_MAX_LABELS names matching
 * [a-zA-Z_][a-zA-Z0-9_]* (not "le" for histograms). An invalid name is a
 * caller bug (TKM_ARG_CHECK). Histogram bounds: 1..TKM_METRIC_MAX_BUCKETS
 * finite, strictly increasing upper bounds (+Inf is implicit).
 * Out: *out, owned by the registry.
 * Returns: OK; TKM_ERR_EXISTS when the name is taken; TKM_ERR_NOMEM.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_metrics_counter(tkm_metrics *m, tkm_metric **out, const char *name,
                                                   const char *help, const char *const *labels);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_metrics_gauge(tkm_metrics *m, tkm_metric **out, const char *name,
                                                 const char *help, const char *const *labels);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_metrics_histogram(tkm_metrics *m, tkm_metric **out,
                                                     const char *name, const char *help,
                                                     const char *const *labels, const double *bounds,
                                                     size_t n_bounds);
/* A label-less gauge whose value is fn(arg) at each render. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_metrics_gauge_fn(tkm_metrics *m, const char *name, const char *help,
                                                    tkm_metric_gauge_fn fn, void *arg);

/*
 * The child for a label tuple (values: as many strings as the family has
 * labels; NULL for a label-less family). Never NULL: on overflow or
 * allocation failure the family's overflow child is returned.
 */
TKM_API tkm_metric_child *tkm_metric_child_get(tkm_metric *f, const char *const *values);

/* Counter: add n (counters only go up). */
TKM_API void tkm_metric_inc(tkm_metric_child *c, uint64_t n);
/* Gauge: set / add (may be negative). */
TKM_API void tkm_metric_set(tkm_metric_child *c, double v);
TKM_API void tkm_metric_add(tkm_metric_child *c, double v);
/* Histogram: record one observation. */
TKM_API void tkm_metric_observe(tkm_metric_child *c, double v);

/* Read back (tests, health checks): counter total, gauge value, histogram count. */
TKM_API double tkm_metric_value(const tkm_metric_child *c);

/* Append the whole registry in Prometheus text format to w (families in registration order). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_metrics_render(tkm_metrics *m, tkm_wr *w);

/* Content-Type of the rendered text. */
#define TKM_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
