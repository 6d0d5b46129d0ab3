/*
 * teekm bench serve — a real teekmd under load.
 *
 * A sim instance whose policy allows ERC-20 (USDC) transfers of key "bench"
 * to a payee with a per-request maximum and a daily window, served by the
 * teekmd program (a child process: default loop threads, durable commits —
 * WAL synchronous=FULL and the counter's fdatasync — request logs on, to a
 * file). The load generator (this process, one thread) keeps N mutual-TLS 1.3
 * keep-alive connections busy with eth_signTransaction for that transfer:
 * every answer is a raw signed transaction whose decision, request record,
 * window charge and audit record were committed before it was sent.
 *
 * Figures, each next to a baseline measured in the same run:
 *  1. raw secp256k1 signing on one thread (libsecp256k1 through tkm_secp_sign);
 *  2. eth_chainId (TLS + HTTP + JSON-RPC, no commit): the transport ceiling;
 *  3. eth_signTransaction closed loop: throughput, as a ratio of the raw rate;
 *  4. eth_signTransaction at a fixed rate (default 5,000/s): p50/p99 latency
 *     measured from each request's scheduled send time;
 * then the audit records and allowed decisions the service counted against
 * the answers received, teekmd's CPU per request, and the load average (the
 * machine is shared: read the figures with it).
 * Knobs (environment): TKM_BENCH_CONNS (32), TKM_BENCH_RATE (5000).
 * --remote-counter: the same against an instance whose state key and remote
 * monotonic counter come from a real teekm-verifier (started here, on the same
 * cores): every group commit also advances the verifier's counter over HTTPS
 * (docs/teekmd.md "Remote counter and trusted time"); run both to compare.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/tkm_httpc.h"
#include "api/tkm_loadgen.h"
#include "crypto/crypto.h"

static const char POLICY[] =
    "{\"teekm_policy\":1,\"version\":1,\"default\":\"deny\",\"max_validity_seconds\":3600,"
    "\"admins\":{\"threshold\":1,\"members\":[\"0x19789475B95468F59f6890558eecd1C6C72EfE9C\"]},"
    "\"address_books\":{\"payees\":[\"0x16c4DAd40eEB2d1BF42335cFAfE7b8bEB81f98c2\"]},"
    "\"assets\":{\"USDC\":{\"chain_id\":1,\"contract\":\"0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48\","
    "\"standard\":\"erc20\",\"decimals\":6}},"
    "\"rules\":[{\"id\":\"usdc-payouts\",\"effect\":\"allow\",\"keys\":[\"bench\"],\"action\":\"transfer\","
    "\"asset\":\"USDC\",\"to\":[\"@payees\"],\"max_amount\":\"50000\","
    "\"window_limit\":{\"amount\":\"1000000000000\",\"seconds\":86400}}]}";

typedef struct {
    uint8_t digest[32];
    uint8_t sig[65];
    uint32_t n;
    tkm_secret *key;
} raw_ctx;

static int raw_sign(void *arg) {
    raw_ctx *r = arg;
    r->n++;
    memcpy(r->digest, &r->n, sizeof r->n);
    return tkm_ok(tkm_secp_sign(r->sig, r->key, r->digest)) ? 0 : -1;
}

static int run(const bench_daemon *d, const char *name, const char *body, unsigned conns, double rate, double secs,
               tkm_loadgen_result *res, double *server_cpu) {
    tkm_loadgen_config lc = {
        .host = "127.0.0.1",
        .port = d->port,
        .body = (const uint8_t *)body,
        .body_len = strlen(body),
        .ca_file = d->ca,
        .cert_file = d->cert,
        .key_file = d->key,
        .connections = conns,
        .seconds = secs,
        .warmup_seconds = 0.5,
        .rate = rate,
        .expect_substr = "\"result\"",
        .reject_substr = "\"error\"",
    };
    double c0 = bench_daemon_cpu_seconds(d);
    tkm_rc rc = tkm_loadgen_run(&lc, res);
    double c1 = bench_daemon_cpu_seconds(d);
    if (tkm_failed(rc)) {
        printf("  %s: load generator failed: %s (%s)\n", name, tkm_err_str(rc.code), tkm_err_detail());
        return -1;
    }
    /* teekmd's CPU over the whole run (warm-up included): per request of the whole run */
    double total = res->throughput * res->seconds * (secs + 0.5) / secs;
    *server_cpu = total > 0 && c0 >= 0 && c1 >= c0 ? (c1 - c0) / total * 1e6 : 0;
    return 0;
}

static void print_run(const char *name, const tkm_loadgen_result *r, double server_us) {
    double client_us = r->requests ? r->cpu_seconds / (double)r->requests * 1e6 : 0;
    printf("  %-38s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  p99.9 %6.2f ms  teekmd CPU %5.1f us/req"
           "  client CPU %5.1f us/req%s\n",
           name, r->throughput, r->p50_ms, r->p99_ms, r->p999_ms, server_us, client_us,
           r->failures || r->conn_errors ? "  (FAILURES)" : "");
    if (r->failures || r->conn_errors)
        printf("    failures %llu, connection errors %llu\n", (unsigned long long)r->failures,
               (unsigned long long)r->conn_errors);
}

/* A sample of the service's own metrics (operator certificate). */
static double metric(const bench_daemon *d, const char *line_prefix) {
    tkm_httpc *h = NULL;
    tkm_httpc_config hc = {.base_url = d->url, .ca_file = d->ca, .cert_file = d->cert, .key_file = d->key};
    double v = -1;
    if (tkm_failed(tkm_httpc_new(&h, &hc))) return -1;
    long status = 0;
    uint8_t *resp = NULL;
    size_t rl = 0;
    if (tkm_ok(tkm_httpc_request(h, "GET", "/metrics", NULL, NULL, 0, &status, &resp, &rl)) && status == 200) {
        size_t pl = strlen(line_prefix);
        for (char *l = (char *)resp; l && *l;) {
            char *nl = strchr(l, '\n');
            if (strncmp(l, line_prefix, pl) == 0 && l[pl] == ' ') v = atof(l + pl + 1);
            l = nl ? nl + 1 : NULL;
        }
    }
    free(resp);
    tkm_httpc_free(h);
    return v;
}

int bench_serve(const bench_opts *o) {
    int status = 1;
    unsigned conns = getenv("TKM_BENCH_CONNS") ? (unsigned)atoi(getenv("TKM_BENCH_CONNS")) : 32;
    double rate = getenv("TKM_BENCH_RATE") ? atof(getenv("TKM_BENCH_RATE")) : 5000;
    if (!conns) conns = 32;
    raw_ctx raw = {0};
    uint8_t skb[32];
    memset(skb, 0x42, sizeof skb);
    bench_daemon d;
    memset(&d, 0, sizeof d);
    d.pid = -1;
    bench_vproc v;
    memset(&v, 0, sizeof v);
    v.pid = -1;
    const char *labels[] = {"bench"};
    if (tkm_failed(tkm_secp_init()) || tkm_failed(tkm_secret_from(&raw.key, skb, sizeof skb))) return 1;
    if (o->remote_counter) {
        if (bench_verifier_start(&v) != 0) {
            fprintf(stderr, "bench serve: cannot start teekm-verifier\n");
            goto out;
        }
        const char *iargs[] = {"--state-key", "verifier", "--verifier", v.url, "--verifier-ca", v.ca, "--remote-counter"};
        const char *sargs[] = {"--verifier-ca", v.ca};
        if (bench_daemon_init_args(&d, POLICY, labels, 1, iargs, 7) != 0 || bench_daemon_start(&d, sargs, 2) != 0) {
            fprintf(stderr, "bench serve: cannot start teekmd with the remote counter\n");
            goto out;
        }
    } else if (bench_daemon_init(&d, POLICY, labels, 1) != 0 || bench_daemon_start(&d, NULL, 0) != 0) {
        fprintf(stderr, "bench serve: cannot start teekmd\n");
        goto out;
    }
    char initp[400], from[64] = "";
    snprintf(initp, sizeof initp, "%s/init.json", d.dir);
    json_error_t e;
    json_t *init = json_load_file(initp, 0, &e);
    const char *a = init ? json_string_value(json_object_get(json_object_get(init, "keys"), "bench")) : NULL;
    if (a) snprintf(from, sizeof from, "%s", a);
    json_decref(init);
    if (!from[0]) goto out;
    /* transfer(0x16c4…98c2, 100 USDC) to the USDC contract */
    char body[1200];
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_signTransaction\",\"params\":[{\"from\":\"%s\","
             "\"to\":\"0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48\",\"value\":\"0x0\",\"data\":\"0xa9059cbb"
             "00000000000000000000000016c4dad40eeb2d1bf42335cfafe7b8beb81f98c2"
             "0000000000000000000000000000000000000000000000000000000005f5e100\",\"gas\":\"0x186a0\","
             "\"maxFeePerGas\":\"0x2540be400\",\"maxPriorityFeePerGas\":\"0x3b9aca00\",\"nonce\":\"0x7\","
             "\"chainId\":\"0x1\"}]}",
             from);
    const char *chain = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\"}";
    printf("teekm bench serve%s (a real teekmd: sim TEE, durable group commits, request logs on; %u mTLS 1.3 keep-alive\n"
           "  connections from a load generator in this process, on the same 2 cores; %.1f s per run)\n",
           o->remote_counter ? " --remote-counter" : "", conns, o->seconds);
    if (o->remote_counter)
        printf("  every group commit also advances teekm-verifier's monotonic counter (a real verifier on these cores:\n"
               "  HTTPS keep-alive, audit-key signature, the verifier's SQLite write with synchronous=FULL, its signature)\n");
    bench_print_load("before");
    bench_result rawr;
    if (bench_one(o, raw_sign, &raw, &rawr) != 0) goto out;
    bench_print_row("secp256k1 sign, 1 thread (baseline)", &rawr);
    double allowed0 = metric(&d, "teekm_sign_requests_total{method=\"eth_signTransaction\",decision=\"allow\"}");
    double seq0 = metric(&d, "teekm_audit_sequence");
    tkm_loadgen_result t, c, f;
    double cpu_t = 0, cpu_c = 0, cpu_f = 0;
    if (run(&d, "eth_chainId", chain, conns, 0, o->seconds, &t, &cpu_t) != 0) goto out;
    print_run("eth_chainId (transport ceiling)", &t, cpu_t);
    if (run(&d, "sign", body, conns, 0, o->seconds, &c, &cpu_c) != 0) goto out;
    print_run("eth_signTransaction ERC-20, closed loop", &c, cpu_c);
    bench_result served = {.ops_per_sec = c.throughput, .ops = c.requests, .seconds = c.seconds};
    bench_print_ratio("signed + durably recorded", &served, "raw 1-thread sign", &rawr, 0);
    static const char *const les[] = {"0.001", "0.002", "0.003", "0.005", "0.01", "+Inf"};
    double b0[6], b1[6];
    char mname[160];
    for (int i = 0; i < 6; i++) {
        snprintf(mname, sizeof mname, "teekm_sign_duration_seconds_bucket{method=\"eth_signTransaction\",le=\"%s\"}",
                 les[i]);
        b0[i] = metric(&d, mname);
    }
    if (run(&d, "sign@rate", body, conns, rate, o->seconds, &f, &cpu_f) != 0) goto out;
    for (int i = 0; i < 6; i++) {
        snprintf(mname, sizeof mname, "teekm_sign_duration_seconds_bucket{method=\"eth_signTransaction\",le=\"%s\"}",
                 les[i]);
        b1[i] = metric(&d, mname);
    }
    char label[64];
    snprintf(label, sizeof label, "eth_signTransaction at %.0f/s", rate);
    print_run(label, &f, cpu_f);
    double tot = b1[5] - b0[5];
    if (tot > 0)
        printf("    inside teekmd (arrival to answer, from its histogram): <=1 ms %.1f%%, <=2 ms %.1f%%, <=3 ms %.1f%%, "
               "<=5 ms %.1f%%, <=10 ms %.2f%%\n",
               100 * (b1[0] - b0[0]) / tot, 100 * (b1[1] - b0[1]) / tot, 100 * (b1[2] - b0[2]) / tot,
               100 * (b1[3] - b0[3]) / tot, 100 * (b1[4] - b0[4]) / tot);
    double allowed1 = metric(&d, "teekm_sign_requests_total{method=\"eth_signTransaction\",decision=\"allow\"}");
    double seq1 = metric(&d, "teekm_audit_sequence");
    double batch_sum = metric(&d, "teekm_commit_batch_size_sum"), batch_n = metric(&d, "teekm_commit_batch_size_count");
    if (allowed1 < 0) allowed1 = allowed0 = 0;
    if (allowed0 < 0) allowed0 = 0;
    printf("  the service allowed %.0f eth_signTransaction requests and appended %.0f audit records in these runs\n"
           "  (the load generator counted %llu answers inside its measured windows; warm-ups are extra); "
           "%.1f jobs per commit on average\n",
           allowed1 - allowed0, seq1 - seq0, (unsigned long long)(c.requests + f.requests),
           batch_n > 0 ? batch_sum / batch_n : 0);
    if (o->remote_counter)
        printf("  remote counter at %.0f (state version %.0f); last counter round trip %.2f ms\n",
               metric(&d, "teekm_remote_counter_value"), metric(&d, "teekm_state_version"),
               metric(&d, "teekm_verifier_round_trip_seconds") * 1e3);
    printf("  teekmd memory: RSS %.1f MiB, peak %.1f MiB after these runs\n",
           (double)bench_daemon_status_kb(&d, "VmRSS") / 1024, (double)bench_daemon_status_kb(&d, "VmHWM") / 1024);
    int met = f.p99_ms < 10.0 && f.throughput >= rate * 0.98 && !f.failures && c.throughput >= 5000;
    printf("  issue 5 target: >= 5000 signed tx/s (closed loop: %.0f/s) and p99 < 10 ms at %.0f/s (%.2f ms): %s\n",
           c.throughput, rate, f.p99_ms, met ? "met" : "NOT MET");
    bench_print_load("after");
    status = t.failures || c.failures || f.failures || allowed1 - allowed0 < (double)(c.requests + f.requests) ? 1 : 0;
out:
    bench_daemon_remove(&d);
    bench_verifier_remove(&v);
    tkm_secret_free(raw.key);
    return status;
}
