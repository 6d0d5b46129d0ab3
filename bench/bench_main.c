/* teekm bench SUITE [--seconds S] — see bench.h */
#include "bench.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

static uint64_t now_ns(void) { return tkm_time_mono_ns(); }

static int run_slice(bench_op op, void *ctx, double seconds, uint64_t *ops, uint64_t *ns) {
    uint64_t start = now_ns(), deadline = start + (uint64_t)(seconds * 1e9), t = start;
    uint64_t n = 0;
    while (t < deadline) {
        for (int i = 0; i < 16; i++)
            if (op(ctx) != 0) return -1;
        n += 16;
        t = now_ns();
    }
    *ops += n;
    *ns += t - start;
    return 0;
}

static void finish(bench_result *r, uint64_t ops, uint64_t ns) {
    r->ops = ops;
    r->seconds = (double)ns / 1e9;
    r->ops_per_sec = r->seconds > 0 ? (double)ops / r->seconds : 0;
}

int bench_one(const bench_opts *o, bench_op op, void *ctx, bench_result *r) {
    uint64_t ops = 0, ns = 0;
    if (op(ctx) != 0) return -1; /* warm-up, and fail early */
    if (run_slice(op, ctx, o->seconds, &ops, &ns) != 0) return -1;
    finish(r, ops, ns);
    return 0;
}

int bench_pair(const bench_opts *o, bench_op a, void *actx, bench_op b, void *bctx,
               bench_result *ra, bench_result *rb) {
    const int rounds = 6;
    uint64_t aops = 0, ans = 0, bops = 0, bns = 0;
    if (a(actx) != 0 || b(bctx) != 0) return -1;
    for (int i = 0; i < rounds; i++) {
        /* alternate which side goes first */
        if (i % 2 == 0) {
            if (run_slice(a, actx, o->seconds / rounds, &aops, &ans) != 0) return -1;
            if (run_slice(b, bctx, o->seconds / rounds, &bops, &bns) != 0) return -1;
        } else {
            if (run_slice(b, bctx, o->seconds / rounds, &bops, &bns) != 0) return -1;
            if (run_slice(a, actx, o->seconds / rounds, &aops, &ans) != 0) return -1;
        }
    }
    finish(ra, aops, ans);
    finish(rb, bops, bns);
    return 0;
}

void bench_print_row(const char *name, const bench_result *r) {
    printf("  %-40s %12.0f ops/s\n", name, r->ops_per_sec);
}

void bench_print_ratio(const char *name, const bench_result *r, const char *base_name,
                       const bench_result *base, double target) {
    double ratio = base->ops_per_sec > 0 ? r->ops_per_sec / base->ops_per_sec : 0;
    printf("  %-40s %12.0f ops/s  = %.3f x %s", name, r->ops_per_sec, ratio, base_name);
    if (target > 0) printf("  (target >= %.2f: %s)", target, ratio >= target ? "met" : "NOT MET");
    printf("\n");
}

typedef struct {
    const char *name;
    int (*fn)(const bench_opts *o);
} suite;

static const suite suites[] = {
    {"crypto", bench_crypto},
    {"eip712", bench_eip712},
    {"attest", bench_attest},
    {"tee", bench_tee},
    {"eth", bench_eth},
    {"serve", bench_serve},
    {"verifier", bench_verifier},
    {"policy", bench_policy},
    {"start", bench_start},
};

int cmd_bench(int argc, char **argv) {
    bench_opts o = {.seconds = 2.0, .json = 0, .keys = 10000};
    const char *which = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            o.seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc)
            o.keys = atol(argv[++i]);
        else if (strcmp(argv[i], "--remote-counter") == 0)
            o.remote_counter = 1;
        else if (argv[i][0] != '-' && !which)
            which = argv[i];
        else {
            fprintf(stderr, "teekm bench: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (o.seconds <= 0) o.seconds = 2.0;
    if (!which) {
        fprintf(stderr, "usage: teekm bench SUITE [--seconds S] [--keys N (start)] [--remote-counter (serve)]\nsuites: all");
        for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) fprintf(stderr, " %s", suites[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    int status = 0, found = 0;
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        if (strcmp(which, "all") == 0 || strcmp(which, suites[i].name) == 0) {
            found = 1;
            if (suites[i].fn(&o) != 0) status = 1;
        }
    }
    if (!found) {
        fprintf(stderr, "teekm bench: unknown suite %s\n", which);
        return 2;
    }
    return status;
}
