/*
 * bench.h — private to `teekm bench`. Every figure is measured next to a raw
 * baseline in the same run and printed as a ratio, never as an absolute
 * pass/fail in a unit test.
 */
#ifndef TKM_BENCH_H
#define TKM_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/tkm_secret.h"

/* One measured operation: fn(ctx) does one op; returns 0 on success. */
typedef int (*bench_op)(void *ctx);

typedef struct {
    double ops_per_sec;
    uint64_t ops;
    double seconds;
} bench_result;

/* Options shared by all suites. */
typedef struct {
    double seconds; /* time budget per measured item (default 2.0) */
    int json;       /* print one JSON object instead of a table */
} bench_opts;

/*
 * Measure a and b interleaved in `rounds` alternating slices of the time
 * budget, so that frequency scaling and noise hit both alike.
 */
int bench_pair(const bench_opts *o, bench_op a, void *actx, bench_op b, void *bctx,
               bench_result *ra, bench_result *rb);
int bench_one(const bench_opts *o, bench_op op, void *ctx, bench_result *r);
void bench_print_row(const char *name, const bench_result *r);
void bench_print_ratio(const char *name, const bench_result *r, const char *base_name,
                       const bench_result *base, double target);

/*
 * The raw baseline of the signing suites (bench_raw.c): libsecp256k1
 * recoverable signing + compact serialisation, as teekm's signer does it,
 * with a private copy of the (throwaway) benchmark key and a digest that
 * changes every op. new returns 0 or -1; free wipes the copy (NULL-safe).
 * bench_raw_secp_sign is a bench_op whose ctx is the bench_raw_secp.
 */
typedef struct bench_raw_secp bench_raw_secp;
int bench_raw_secp_new(bench_raw_secp **out, const tkm_secret *sk);
void bench_raw_secp_free(bench_raw_secp *r);
int bench_raw_secp_sign(void *ctx);

int bench_crypto(const bench_opts *o);
int bench_eip712(const bench_opts *o);
int bench_attest(const bench_opts *o);
int bench_tee(const bench_opts *o);
int bench_eth(const bench_opts *o);
int bench_serve(const bench_opts *o);
int bench_verifier(const bench_opts *o);
int bench_policy(const bench_opts *o);

#endif
