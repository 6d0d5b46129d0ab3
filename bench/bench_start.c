/*
 * teekm bench start [--keys N] — readiness and size of a real teekmd.
 *
 * Creates a sim instance with N secp256k1 keys (teekmd init), starts teekmd
 * as a child process and measures the time from fork to the first 200 on
 * /healthz (the state verified row by row, every key's public key derived
 * for the attested key set, the RA-TLS certificate issued over fresh
 * evidence, the server listening) and its resident memory then (VmRSS, and
 * the peak VmHWM). Baselines measured in the same run: a bare process start
 * (`teekmd version`: fork, exec, dynamic linking, exit) and the same daemon
 * with one key. Targets (issue 5): under 1 s and under 64 MiB with 10,000 keys.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char POLICY[] =
    "{\"teekm_policy\":1,\"version\":1,\"default\":\"deny\",\"max_validity_seconds\":3600,"
    "\"admins\":{\"threshold\":1,\"members\":[\"0x19789475B95468F59f6890558eecd1C6C72EfE9C\"]},"
    "\"assets\":{\"ETH\":{\"chain_id\":1,\"native\":true,\"decimals\":18}},"
    "\"rules\":[{\"id\":\"any-key-small\",\"effect\":\"allow\",\"keys\":[\"*\"],\"action\":\"transfer\","
    "\"asset\":\"ETH\",\"to\":[\"0x16c4DAd40eEB2d1BF42335cFAfE7b8bEB81f98c2\"],\"max_amount\":\"1\"}]}";

typedef struct {
    double init_s, healthy_s, reported_s;
    long rss_kb, hwm_kb;
} start_figures;

static int measure(long n_keys, start_figures *f) {
    memset(f, 0, sizeof *f);
    char **labels = calloc((size_t)n_keys, sizeof *labels);
    if (!labels) return -1;
    for (long i = 0; i < n_keys; i++) {
        labels[i] = malloc(24);
        if (!labels[i]) return -1;
        snprintf(labels[i], 24, "k%06ld", i);
    }
    bench_daemon d;
    int rc = bench_daemon_init(&d, POLICY, (const char *const *)labels, (size_t)n_keys);
    for (long i = 0; i < n_keys; i++) free(labels[i]);
    free(labels);
    if (rc == 0) {
        /* the first start after init reads a fresh file cache; start once, stop, then measure a warm start */
        rc = bench_daemon_start(&d, NULL, 0);
        bench_daemon_stop(&d);
    }
    if (rc == 0) rc = bench_daemon_start(&d, NULL, 0);
    if (rc == 0) {
        f->init_s = d.init_seconds;
        f->healthy_s = d.healthy_seconds;
        f->reported_s = d.reported_start;
        f->rss_kb = bench_daemon_status_kb(&d, "VmRSS");
        f->hwm_kb = bench_daemon_status_kb(&d, "VmHWM");
    }
    bench_daemon_remove(&d);
    return rc;
}

int bench_start(const bench_opts *o) {
    long n = o->keys > 0 && o->keys <= 60000 ? o->keys : 10000;
    printf("teekm bench start (sim TEE, durable state; time = fork to the first 200 on /healthz)\n");
    bench_print_load("before");
    double bare = bench_daemon_bare_start();
    if (bare < 0) {
        fprintf(stderr, "bench start: cannot run teekmd\n");
        return 1;
    }
    start_figures one, many;
    if (measure(1, &one) != 0 || measure(n, &many) != 0) {
        fprintf(stderr, "bench start: teekmd did not become healthy\n");
        return 1;
    }
    printf("  %-44s %8.1f ms\n", "bare process start (teekmd version)", bare * 1e3);
    printf("  %-44s %8.1f ms  (%.1f ms inside teekmd)  RSS %6.1f MiB  peak %6.1f MiB\n", "teekmd, 1 key: ready",
           one.healthy_s * 1e3, one.reported_s * 1e3, (double)one.rss_kb / 1024, (double)one.hwm_kb / 1024);
    char label[64];
    snprintf(label, sizeof label, "teekmd, %ld keys: ready", n);
    printf("  %-44s %8.1f ms  (%.1f ms inside teekmd)  RSS %6.1f MiB  peak %6.1f MiB\n", label,
           many.healthy_s * 1e3, many.reported_s * 1e3, (double)many.rss_kb / 1024, (double)many.hwm_kb / 1024);
    printf("  %-44s %8.1f ms\n", "  (teekmd init of that instance)", many.init_s * 1e3);
    printf("  ratios: %ld keys ready = %.1f x bare start, %.2f x the 1-key start; memory %.2f x the 1-key RSS\n", n,
           many.healthy_s / bare, many.healthy_s / one.healthy_s, (double)many.rss_kb / (double)one.rss_kb);
    int met_time = many.healthy_s < 1.0, met_mem = many.hwm_kb >= 0 && many.hwm_kb < 64 * 1024;
    printf("  targets (%ld keys): ready < 1 s: %s; resident < 64 MiB (peak): %s\n", n, met_time ? "met" : "NOT MET",
           met_mem ? "met" : "NOT MET");
    bench_print_load("after");
    return 0;
}
