/* see tkm_metrics.h */
#include "tkm_metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct tkm_metric_child {
    tkm_metric_child *next;
    const tkm_metric *fam;
    char *values[TKM_METRIC_MAX_LABELS];
    _Atomic uint64_t u;   /* counter total, histogram count */
    _Atomic uint64_t bits; /* gauge value / histogram sum, as double bits */
    _Atomic uint64_t *buckets; /* histogram: n_bounds + 1 (last is +Inf) */
};

struct tkm_metric {
    tkm_metric *next;
    tkm_metrics *reg;
    tkm_metric_type type;
    char *name;
    char *help;
    size_t n_labels;
    char *labels[TKM_METRIC_MAX_LABELS];
    double bounds[TKM_METRIC_MAX_BUCKETS];
    size_t n_bounds;
    tkm_metric_gauge_fn fn;
    void *fn_arg;
    pthread_mutex_t mu;
    tkm_metric_child *children, *tail;
    size_t n_children;
    tkm_metric_child overflow;
    _Atomic uint64_t overflow_buckets[TKM_METRIC_MAX_BUCKETS + 1];
    int overflow_used;
};

struct tkm_metrics {
    pthread_mutex_t mu;
    tkm_metric *first, *last;
};

static char overflow_value[] = "_overflow";

static double bits_to_d(uint64_t b) {
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t d_to_bits(double d) {
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static void atomic_add_double(_Atomic uint64_t *p, double v) {
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(p, &old, d_to_bits(bits_to_d(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

static int name_ok(const char *s, int allow_colon) {
    if (!s || !s[0]) return 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
        int digit = c >= '0' && c <= '9';
        if (!(alpha || (i > 0 && digit))) return 0;
    }
    return 1;
}

tkm_rc tkm_metrics_new(tkm_metrics **out) {
    TKM_ARG_CHECK(out != NULL);
    *out = NULL;
    tkm_metrics *m = calloc(1, sizeof *m);
    TKM_ENSURE(m, TKM_ERR_NOMEM);
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return TKM_RC_OK;
}

static void child_free(tkm_metric_child *c) {
    for (size_t i = 0; i < TKM_METRIC_MAX_LABELS; i++)
        if (c->values[i] != overflow_value) free(c->values[i]);
    free(c->buckets);
    free(c);
}

static void family_free(tkm_metric *f) {
    tkm_metric_child *c = f->children;
    while (c) {
        tkm_metric_child *n = c->next;
        child_free(c);
        c = n;
    }
    for (size_t i = 0; i < f->n_labels; i++) free(f->labels[i]);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void tkm_metrics_free(tkm_metrics *m) {
    if (!m) return;
    tkm_metric *f = m->first;
    while (f) {
        tkm_metric *n = f->next;
        family_free(f);
        f = n;
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static tkm_rc family_new(tkm_metrics *m, tkm_metric **out, tkm_metric_type type, const char *name,
                         const char *help, const char *const *labels, const double *bounds,
                         size_t n_bounds) {
    size_t nl = 0;
    if (labels)
        while (labels[nl]) {
            TKM_ARG_CHECK(nl < TKM_METRIC_MAX_LABELS);
            TKM_ARG_CHECK(name_ok(labels[nl], 0) && strncmp(labels[nl], "__", 2) != 0);
            TKM_ARG_CHECK(type != TKM_METRIC_HISTOGRAM || strcmp(labels[nl], "le") != 0);
            nl++;
        }
    if (type == TKM_METRIC_HISTOGRAM) {
        TKM_ARG_CHECK(n_bounds >= 1 && n_bounds <= TKM_METRIC_MAX_BUCKETS && bounds);
        for (size_t i = 0; i < n_bounds; i++) {
            TKM_ARG_CHECK(isfinite(bounds[i]));
            TKM_ARG_CHECK(i == 0 || bounds[i] > bounds[i - 1]);
        }
    }
    tkm_rc rc = TKM_RC(TKM_ERR_NOMEM);
    tkm_metric *f = calloc(1, sizeof *f);
    if (!f) TKM_GOTO(rc, TKM_ERR_NOMEM);
    pthread_mutex_init(&f->mu, NULL);
    f->reg = m;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    if (!f->name || !f->help) TKM_GOTO(rc, TKM_ERR_NOMEM);
    for (size_t i = 0; i < nl; i++) {
        f->labels[i] = strdup(labels[i]);
        if (!f->labels[i]) TKM_GOTO(rc, TKM_ERR_NOMEM);
        f->n_labels = i + 1;
    }
    if (type == TKM_METRIC_HISTOGRAM) {
        memcpy(f->bounds, bounds, n_bounds * sizeof *bounds);
        f->n_bounds = n_bounds;
    }
    for (size_t i = 0; i < TKM_METRIC_MAX_LABELS; i++) f->overflow.values[i] = overflow_value;
    f->overflow.buckets = f->overflow_buckets;
    f->overflow.fam = f;

    pthread_mutex_lock(&m->mu);
    for (tkm_metric *g = m->first; g; g = g->next)
        if (strcmp(g->name, name) == 0) {
            pthread_mutex_unlock(&m->mu);
            tkm_err_detail_set("metric %s already registered", name);
            TKM_GOTO(rc, TKM_ERR_EXISTS);
        }
    if (m->last)
        m->last->next = f;
    else
        m->first = f;
    m->last = f;
    pthread_mutex_unlock(&m->mu);
    *out = f;
    f = NULL;
    rc = TKM_RC_OK;
out:
    if (f) {
        f->overflow.buckets = NULL;
        family_free(f);
    }
    return rc;
}

tkm_rc tkm_metrics_counter(tkm_metrics *m, tkm_metric **out, const char *name, const char *help,
                           const char *const *labels) {
    TKM_ARG_CHECK(m && out && name_ok(name, 1));
    *out = NULL;
    return family_new(m, out, TKM_METRIC_COUNTER, name, help, labels, NULL, 0);
}

tkm_rc tkm_metrics_gauge(tkm_metrics *m, tkm_metric **out, const char *name, const char *help,
                         const char *const *labels) {
    TKM_ARG_CHECK(m && out && name_ok(name, 1));
    *out = NULL;
    return family_new(m, out, TKM_METRIC_GAUGE, name, help, labels, NULL, 0);
}

tkm_rc tkm_metrics_histogram(tkm_metrics *m, tkm_metric **out, const char *name, const char *help,
                             const char *const *labels, const double *bounds, size_t n_bounds) {
    TKM_ARG_CHECK(m && out && name_ok(name, 1));
    *out = NULL;
    return family_new(m, out, TKM_METRIC_HISTOGRAM, name, help, labels, bounds, n_bounds);
}

tkm_rc tkm_metrics_gauge_fn(tkm_metrics *m, const char *name, const char *help, tkm_metric_gauge_fn fn,
                            void *arg) {
    TKM_ARG_CHECK(m && fn && name_ok(name, 1));
    tkm_metric *f = NULL;
    TKM_TRY(family_new(m, &f, TKM_METRIC_GAUGE, name, help, NULL, NULL, 0));
    f->fn = fn;
    f->fn_arg = arg;
    return TKM_RC_OK;
}

static int child_matches(const tkm_metric *f, const tkm_metric_child *c, const char *const *values) {
    for (size_t i = 0; i < f->n_labels; i++) {
        const char *v = values[i] ? values[i] : "";
        if (strncmp(c->values[i], v, TKM_METRIC_MAX_LABEL_LEN) != 0) return 0;
    }
    return 1;
}

tkm_metric_child *tkm_metric_child_get(tkm_metric *f, const char *const *values) {
    tkm_metric_child *found = NULL, *c = NULL;
    if (f->n_labels && !values) return &f->overflow;
    pthread_mutex_lock(&f->mu);
    for (tkm_metric_child *x = f->children; x; x = x->next)
        if (child_matches(f, x, values)) {
            found = x;
            break;
        }
    if (found) goto out;
    if (f->n_children >= TKM_METRIC_MAX_CHILDREN) goto overflow;
    c = calloc(1, sizeof *c);
    if (!c) goto overflow;
    c->fam = f;
    if (f->type == TKM_METRIC_HISTOGRAM) {
        c->buckets = calloc(f->n_bounds + 1, sizeof *c->buckets);
        if (!c->buckets) goto overflow;
    }
    for (size_t i = 0; i < f->n_labels; i++) {
        const char *v = values[i] ? values[i] : "";
        c->values[i] = strndup(v, TKM_METRIC_MAX_LABEL_LEN);
        if (!c->values[i]) goto overflow;
    }
    if (f->tail)
        f->tail->next = c;
    else
        f->children = c;
    f->tail = c;
    f->n_children++;
    found = c;
    c = NULL;
    goto out;
overflow:
    f->overflow_used = 1;
    found = &f->overflow;
out:
    pthread_mutex_unlock(&f->mu);
    if (c) child_free(c);
    return found;
}

void tkm_metric_inc(tkm_metric_child *c, uint64_t n) {
    atomic_fetch_add_explicit(&c->u, n, memory_order_relaxed);
}

void tkm_metric_set(tkm_metric_child *c, double v) {
    atomic_store_explicit(&c->bits, d_to_bits(v), memory_order_relaxed);
}

void tkm_metric_add(tkm_metric_child *c, double v) { atomic_add_double(&c->bits, v); }

void tkm_metric_observe(tkm_metric_child *c, double v) {
    const tkm_metric *f = c->fam;
    if (f->type != TKM_METRIC_HISTOGRAM || isnan(v)) return;
    size_t i = 0;
    while (i < f->n_bounds && v > f->bounds[i]) i++;
    /* buckets[i] counts observations in (bound[i-1], bound[i]]; made cumulative at render */
    atomic_fetch_add_explicit(&c->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&c->bits, v);
    atomic_fetch_add_explicit(&c->u, 1, memory_order_relaxed);
}

double tkm_metric_value(const tkm_metric_child *c) {
    if (c->fam->type == TKM_METRIC_GAUGE) return bits_to_d(atomic_load_explicit(&c->bits, memory_order_relaxed));
    return (double)atomic_load_explicit(&c->u, memory_order_relaxed);
}

/* ---- rendering ---- */

static tkm_rc put_escaped(tkm_wr *w, const char *s, int label_value) {
    for (; *s; s++) {
        if (*s == '\\')
            TKM_TRY(tkm_wr_str(w, "\\\\"));
        else if (*s == '\n')
            TKM_TRY(tkm_wr_str(w, "\\n"));
        else if (*s == '"' && label_value)
            TKM_TRY(tkm_wr_str(w, "\\\""));
        else
            TKM_TRY(tkm_wr_u8(w, (uint8_t)*s));
    }
    return TKM_RC_OK;
}

static tkm_rc put_double(tkm_wr *w, double v) {
    if (isnan(v)) return tkm_wr_str(w, "NaN");
    if (isinf(v)) return tkm_wr_str(w, v > 0 ? "+Inf" : "-Inf");
    if (v == floor(v) && fabs(v) < 9007199254740992.0) return tkm_wr_fmt(w, "%.0f", v);
    /* shortest of %.15g / %.17g that reads back exactly */
    char b[40];
    snprintf(b, sizeof b, "%.15g", v);
    if (strtod(b, NULL) != v) snprintf(b, sizeof b, "%.17g", v);
    return tkm_wr_str(w, b);
}

/* {a="x",b="y"[,le="..."]} — nothing when there are no labels and no le. */
static tkm_rc put_labels(tkm_wr *w, const tkm_metric *f, const tkm_metric_child *c, const char *le) {
    if (f->n_labels == 0 && !le) return TKM_RC_OK;
    TKM_TRY(tkm_wr_u8(w, '{'));
    for (size_t i = 0; i < f->n_labels; i++) {
        if (i) TKM_TRY(tkm_wr_u8(w, ','));
        TKM_TRY(tkm_wr_fmt(w, "%s=\"", f->labels[i]));
        TKM_TRY(put_escaped(w, c->values[i], 1));
        TKM_TRY(tkm_wr_u8(w, '"'));
    }
    if (le) {
        if (f->n_labels) TKM_TRY(tkm_wr_u8(w, ','));
        TKM_TRY(tkm_wr_fmt(w, "le=\"%s\"", le));
    }
    return tkm_wr_u8(w, '}');
}

static tkm_rc render_child(tkm_wr *w, const tkm_metric *f, const tkm_metric_child *c) {
    switch (f->type) {
    case TKM_METRIC_COUNTER:
        TKM_TRY(tkm_wr_str(w, f->name));
        TKM_TRY(put_labels(w, f, c, NULL));
        return tkm_wr_fmt(w, " %llu\n", (unsigned long long)atomic_load(&c->u));
    case TKM_METRIC_GAUGE:
        TKM_TRY(tkm_wr_str(w, f->name));
        TKM_TRY(put_labels(w, f, c, NULL));
        TKM_TRY(tkm_wr_u8(w, ' '));
        TKM_TRY(put_double(w, f->fn ? f->fn(f->fn_arg) : bits_to_d(atomic_load(&c->bits))));
        return tkm_wr_u8(w, '\n');
    case TKM_METRIC_HISTOGRAM: {
        /* Read the buckets first and derive the count from them, so that the
         * rendered series is self-consistent even while observations race. */
        uint64_t cum = 0;
        for (size_t i = 0; i <= f->n_bounds; i++) {
            char le[40];
            cum += atomic_load(&c->buckets[i]);
            tkm_wr tmp;
            tkm_wr_init(&tmp, sizeof le);
            tkm_rc rc = i < f->n_bounds ? put_double(&tmp, f->bounds[i]) : tkm_wr_str(&tmp, "+Inf");
            if (tkm_ok(rc)) rc = tkm_wr_nul(&tmp);
            if (tkm_ok(rc)) snprintf(le, sizeof le, "%s", (const char *)tmp.p);
            tkm_wr_free(&tmp);
            TKM_TRY(rc);
            TKM_TRY(tkm_wr_fmt(w, "%s_bucket", f->name));
            TKM_TRY(put_labels(w, f, c, le));
            TKM_TRY(tkm_wr_fmt(w, " %llu\n", (unsigned long long)cum));
        }
        TKM_TRY(tkm_wr_fmt(w, "%s_sum", f->name));
        TKM_TRY(put_labels(w, f, c, NULL));
        TKM_TRY(tkm_wr_u8(w, ' '));
        TKM_TRY(put_double(w, bits_to_d(atomic_load(&c->bits))));
        TKM_TRY(tkm_wr_fmt(w, "\n%s_count", f->name));
        TKM_TRY(put_labels(w, f, c, NULL));
        return tkm_wr_fmt(w, " %llu\n", (unsigned long long)cum);
    }
    }
    TKM_ENSURE(0, TKM_ERR_INTERNAL);
}

static const char *type_name(tkm_metric_type t) {
    return t == TKM_METRIC_COUNTER ? "counter" : t == TKM_METRIC_GAUGE ? "gauge" : "histogram";
}

tkm_rc tkm_metrics_render(tkm_metrics *m, tkm_wr *w) {
    TKM_ARG_CHECK(m && w);
    tkm_rc rc = TKM_RC_OK;
    pthread_mutex_lock(&m->mu); /* registration is rare: hold the registry while rendering */
    for (tkm_metric *f = m->first; f && tkm_ok(rc); f = f->next) {
        rc = tkm_wr_fmt(w, "# HELP %s ", f->name);
        if (tkm_ok(rc)) rc = put_escaped(w, f->help, 0);
        if (tkm_ok(rc)) rc = tkm_wr_fmt(w, "\n# TYPE %s %s\n", f->name, type_name(f->type));
        if (tkm_failed(rc)) break;
        pthread_mutex_lock(&f->mu);
        if (f->n_labels == 0 && !f->children) {
            /* label-less families always show one sample (the overflow slot is their only child) */
            rc = render_child(w, f, &f->overflow);
        } else {
            for (tkm_metric_child *c = f->children; c && tkm_ok(rc); c = c->next) rc = render_child(w, f, c);
            if (tkm_ok(rc) && f->overflow_used) rc = render_child(w, f, &f->overflow);
        }
        pthread_mutex_unlock(&f->mu);
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}
