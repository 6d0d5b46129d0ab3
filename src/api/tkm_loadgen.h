/*
 * tkm_loadgen.h — an HTTP(S) load generator for `teekm bench serve`.
 *
 * N keep-alive connections (mutual TLS 1.3, or plain HTTP) driven by one
 * libevent thread; each sends the same request and waits for the answer
 * before sending the next (closed loop), or — with rate > 0 — sends on a
 * fixed schedule (open loop) and measures latency from the scheduled time,
 * so a stalled server cannot hide its queueing (no coordinated omission).
 * A warm-up period (connections, TLS handshakes, caches) is not measured.
 * Every answer is checked: status, optional substrings that must / must not
 * appear in the body.
 *
 * Ownership: the config is borrowed for the call. Thread-safety: each call
 * is independent; it runs on the calling thread. Secrets: the client key
 * file is read by OpenSSL.
 */
#ifndef TKM_LOADGEN_H
#define TKM_LOADGEN_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

typedef struct {
    const char *host;  /* numeric IP */
    uint16_t port;
    const char *method; /* default "POST" */
    const char *path;   /* default "/" */
    const char *content_type; /* default application/json when a body is given */
    const uint8_t *body;
    size_t body_len;
    int plain;               /* 1: plain HTTP (no TLS) */
    const char *ca_file;     /* server CA (required with TLS) */
    const char *cert_file;   /* client certificate (optional) */
    const char *key_file;
    unsigned connections;    /* default 16 */
    double seconds;          /* measured time, default 5 */
    double warmup_seconds;   /* default 0.5 */
    double rate;             /* 0 = closed loop; else requests/s over all connections */
    int expect_status;       /* default 200 */
    const char *expect_substr; /* body must contain it (optional) */
    const char *reject_substr; /* body must not contain it (optional) */
} tkm_loadgen_config;

typedef struct {
    uint64_t requests;   /* completed in the measured window with the expected answer */
    uint64_t failures;   /* wrong status or body in the window */
    uint64_t conn_errors; /* connects/handshakes that failed, connections lost */
    double seconds;      /* length of the measured window */
    double throughput;   /* requests / seconds */
    double mean_ms, p50_ms, p90_ms, p99_ms, p999_ms, max_ms;
    double cpu_seconds;  /* CPU time the load generator's thread used in the window */
    double process_cpu_seconds; /* CPU time of the whole process in the window (server in-process too) */
} tkm_loadgen_result;

/*
 * Run the load. Out: *res. Returns: OK (look at failures); TKM_ERR_TLS
 * (client context: bad CA/cert/key), TKM_ERR_NETWORK (no connection could be
 * made), TKM_ERR_NOMEM.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_loadgen_run(const tkm_loadgen_config *cfg, tkm_loadgen_result *res);

#endif
