/*
 * bench.h — private to `teekm bench`. Every figure is measured next to a raw
 * baseline in the same run and printed as a ratio, never as an absolute
 * pass/fail in a unit test.
 */
#ifndef TKM_BENCH_H
#define TKM_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
    long keys;      /* bench start: keys in the instance (default 10000) */
    int remote_counter; /* bench serve: the instance advances teekm-verifier's counter at every commit */
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

/* A real teekmd for a benchmark (bench_daemon.c): a temporary instance and its process. */
typedef struct {
    char dir[256], data[320];
    char url[128], ca[400], cert[400], key[400];
    uint16_t port;
    pid_t pid;
    double init_seconds;    /* teekmd init */
    double healthy_seconds; /* from fork to the first 200 on /healthz */
    double reported_start;  /* the daemon's own start time (its "listening" line) */
} bench_daemon;
/* teekmd init (sim) in a new temporary directory with the policy text and keys. Returns 0 or -1. */
int bench_daemon_init(bench_daemon *d, const char *policy_json, const char *const *labels, size_t n_labels);
/* The same with more `teekmd init` arguments (at most 16). */
int bench_daemon_init_args(bench_daemon *d, const char *policy_json, const char *const *labels, size_t n_labels,
                           const char *const *extra, size_t n_extra);

/* A real teekm-verifier (sim evidence appraised and key release for sim) in a new temporary directory. */
typedef struct {
    char dir[256];
    char url[128], ca[400];
    pid_t pid;
} bench_vproc;
/* init + serve on a free loopback port. Returns 0 or -1. */
int bench_verifier_start(bench_vproc *v);
/* Stop it and delete its directory. */
void bench_verifier_remove(bench_vproc *v);
/* Start teekmd on a free loopback port and wait until /healthz says 200. Returns 0 or -1. */
int bench_daemon_start(bench_daemon *d, const char *const *extra_args, size_t n_extra);
/* A value from /proc/PID/status in kB ("VmRSS", "VmHWM"), -1 when unknown. */
long bench_daemon_status_kb(const bench_daemon *d, const char *field);
/* User + system CPU seconds the daemon has used. */
double bench_daemon_cpu_seconds(const bench_daemon *d);
/* SIGTERM and wait. */
void bench_daemon_stop(bench_daemon *d);
/* Stop and delete the directory. */
void bench_daemon_remove(bench_daemon *d);
/* Average wall time of `teekmd version` (fork + exec + exit): the bare process start baseline. */
double bench_daemon_bare_start(void);
/* Print /proc/loadavg with a label. */
void bench_print_load(const char *when);
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
int bench_start(const bench_opts *o);

#endif
