/*
 * teekmd — the signing service (docs/teekmd.md). Thin: the instance
 * (src/api/instance.c) and the service (src/api/signer*.c) do the work.
 *
 *   teekmd init --data-dir DIR --tee PLATFORM --policy FILE [--key LABEL]… [--keys-from FILE]
 *   teekmd --data-dir DIR [--listen HOST:PORT] [--tee PLATFORM] [--client-ca FILE]… [options]
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/tkm_instance.h"
#include "api/tkm_registrar.h"
#include "api/tkm_signer.h"
#include "crypto/crypto.h"

#define MAX_LIST 64

static void usage(FILE *f) {
    fprintf(f,
            "usage: teekmd --data-dir DIR [--listen HOST:PORT] [--tee sim|sgx|tdx|snp|auto] [--client-ca FILE]...\n"
            "              [--tls-name NAME]... [--insecure-http [--insecure-roles ROLES]] [--log-level LEVEL]\n"
            "              [--log-level-file FILE] [--rate N [--burst N]] [--max-body BYTES] [--max-conns N]\n"
            "              [--threads N] [--workers N] [--batch N] [--request-timeout-ms MS] [--io-timeout-ms MS]\n"
            "              [--drain-timeout-ms MS] [--metrics-public] [--tee-root DIR] [--allow-debug]\n"
            "              [--state-key seal|verifier] [--verifier URL] [--verifier-ca FILE] [--verifier-retries N]\n"
            "              [--reattest-seconds S] [--remote-counter] [--trusted-time-seconds S]\n"
            "       teekmd init --data-dir DIR --tee sim|sgx|tdx|snp|auto --policy POLICY.json [--key LABEL]...\n"
            "              [--keys-from FILE] [--tls-name NAME]... [--tee-root DIR] [--allow-debug]\n"
            "              [--state-key auto|seal|verifier] [--verifier URL --verifier-ca FILE] [--verifier-retries N]\n"
            "              [--remote-counter]\n"
            "       teekmd version\n"
            "The listen address defaults to 127.0.0.1:8545; the platform to the one recorded at init.\n"
            "Plain HTTP (--insecure-http) is refused except on a loopback address.\n"
            "The state key comes from the platform seal key or, on TDX (no seal key) and with --state-key verifier,\n"
            "from teekm-verifier key release at init and at every start (the source is fixed at init; the verifier\n"
            "URL is recorded, --verifier overrides it; --verifier-ca is needed at every start; retries default 4).\n"
            "A seal-keyed instance given --verifier URL --verifier-ca FILE registers with it (nothing recorded: give\n"
            "them at every start); a failed registration there is a warning, the service starts anyway.\n"
            "An instance with a verifier registers again right after each key event or policy activation and every\n"
            "--reattest-seconds (default 3600; 0: no schedule), retrying failures with backoff (1 s doubling, at\n"
            "most 60 s), so that the verifier's registry shows its current keys and policy and does not go stale.\n"
            "With a verifier the evaluation clock is bounded by its signed time, refreshed every\n"
            "--trusted-time-seconds (default 60); --remote-counter (recorded, never switched off) makes every commit\n"
            "advance the verifier's monotonic counter too, so that an older copy of the data directory is refused.\n");
}

static void fail(const char *what, tkm_rc rc) {
    const char *d = tkm_err_detail();
    json_t *f = json_pack("{s:s,s:s}", "error", tkm_err_name(rc.code) ? tkm_err_name(rc.code) : "UNKNOWN",
                          "code", tkm_err_str(rc.code));
    if (f && d[0]) json_object_set_new(f, "detail", json_string(d));
    tkm_log_fields(TKM_LOG_ERROR, "teekmd", f, "%s failed", what);
    json_decref(f);
    fprintf(stderr, "teekmd: %s: %s (%s)%s%s\n", what, tkm_err_str(rc.code), tkm_err_name(rc.code), d[0] ? ": " : "",
            d);
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *v) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end || !*s || x > max || s[0] == '-') return -1;
    *v = x;
    return 0;
}

#define VERIFIER_RETRIES_DEFAULT 4 /* 1+2+4+8 s of pauses: a verifier restarting, not one that is down */
#define VERIFIER_RETRIES_MAX 20

/* The state-key options shared by init and serve. Returns 1 if argv[*i] was one (consumed), 0 if not, -1 on error. */
typedef struct {
    const char *state_key, *url, *ca;
    unsigned long long retries;
} keysrc_opts;

static int keysrc_option(keysrc_opts *k, const char *a, const char *v) {
    if (strcmp(a, "--state-key") == 0) {
        if (strcmp(v, "auto") != 0 && strcmp(v, "seal") != 0 && strcmp(v, "verifier") != 0) {
            fprintf(stderr, "teekmd: --state-key: auto, seal or verifier\n");
            return -1;
        }
        k->state_key = v;
    } else if (strcmp(a, "--verifier") == 0) {
        if (strncmp(v, "https://", 8) != 0) {
            fprintf(stderr, "teekmd: --verifier: an https:// URL\n");
            return -1;
        }
        k->url = v;
    } else if (strcmp(a, "--verifier-ca") == 0) {
        k->ca = v;
    } else if (strcmp(a, "--verifier-retries") == 0) {
        if (parse_uint(v, VERIFIER_RETRIES_MAX, &k->retries) != 0) {
            fprintf(stderr, "teekmd: --verifier-retries: a number up to %d\n", VERIFIER_RETRIES_MAX);
            return -1;
        }
    } else {
        return 0;
    }
    return 1;
}

/* Secrets in locked memory, no core dumps; TKM_DONT_MLOCK=1 lets tests run where mlock is not allowed. */
static int start_process(void) {
    tkm_json_init();
    tkm_rc rc = tkm_secure_init(0, 0);
    if (tkm_ok(rc)) rc = tkm_harden_process();
    if (tkm_ok(rc)) rc = tkm_secp_init();
    if (tkm_failed(rc)) {
        fail("process start", rc);
        return -1;
    }
    return 0;
}

static int cmd_init(int argc, char **argv) {
    const char *dir = NULL, *tee = NULL, *policy = NULL, *keys_from = NULL, *tee_root = NULL;
    const char *labels[MAX_LIST], *names[MAX_LIST];
    size_t n_labels = 0, n_names = 0;
    int allow_debug = 0, remote_counter = 0, k;
    keysrc_opts ko = {.retries = VERIFIER_RETRIES_DEFAULT};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--allow-debug") == 0) {
            allow_debug = 1;
            continue;
        }
        if (strcmp(a, "--remote-counter") == 0) {
            remote_counter = 1;
            continue;
        }
        if (!v) goto usage;
        i++;
        if ((k = keysrc_option(&ko, a, v)) != 0) {
            if (k < 0) return 2;
        } else if (strcmp(a, "--data-dir") == 0)
            dir = v;
        else if (strcmp(a, "--tee") == 0)
            tee = v;
        else if (strcmp(a, "--policy") == 0)
            policy = v;
        else if (strcmp(a, "--keys-from") == 0)
            keys_from = v;
        else if (strcmp(a, "--tee-root") == 0)
            tee_root = v;
        else if (strcmp(a, "--key") == 0 && n_labels < MAX_LIST)
            labels[n_labels++] = v;
        else if (strcmp(a, "--tls-name") == 0 && n_names < MAX_LIST)
            names[n_names++] = v;
        else
            goto usage;
    }
    if (!dir || !tee || !policy) goto usage;
    if (start_process() != 0) return 1;
    uint8_t *pdoc = NULL, *kdoc = NULL;
    size_t plen = 0, klen = 0;
    const char **all = NULL;
    size_t n_all = n_labels;
    int status = 1;
    json_t *out = NULL;
    /* operator-named files: symlinks followed, pipes (<(...)) read to their end */
    tkm_rc rc = tkm_file_read(policy, TKM_POLICY_MAX_BYTES + 1, TKM_FILE_FOLLOW | TKM_FILE_STREAM, &pdoc, &plen);
    if (tkm_ok(rc) && keys_from) /* one label per line (bulk creation) */
        rc = tkm_file_read(keys_from, 16u << 20, TKM_FILE_FOLLOW | TKM_FILE_STREAM, &kdoc, &klen);
    if (tkm_ok(rc)) {
        size_t lines = 0;
        for (size_t i = 0; i < klen; i++) lines += kdoc[i] == '\n';
        all = calloc(n_labels + lines + 1, sizeof *all);
        if (!all) rc = TKM_RC(TKM_ERR_NOMEM);
        for (size_t i = 0; tkm_ok(rc) && i < n_labels; i++) all[i] = labels[i];
        char *save = NULL;
        for (char *t = kdoc ? strtok_r((char *)kdoc, "\r\n", &save) : NULL; tkm_ok(rc) && t;
             t = strtok_r(NULL, "\r\n", &save))
            if (*t) all[n_all++] = t;
    }
    if (tkm_ok(rc)) {
        tkm_instance_init_opts o = {.dir = dir, .tee = tee, .tee_root = tee_root, .allow_debug = allow_debug,
                                    .policy = pdoc, .policy_len = plen, .labels = all, .n_labels = n_all,
                                    .tls_names = n_names ? names : NULL, .n_tls_names = n_names,
                                    .fast_unsafe = getenv("TKM_FAST_UNSAFE") != NULL, .state_key = ko.state_key,
                                    .verifier_url = ko.url, .verifier_ca = ko.ca,
                                    .verifier_retries = (unsigned)ko.retries, .remote_counter = remote_counter};
        rc = tkm_instance_init(&out, &o);
    }
    if (tkm_failed(rc)) {
        fail("init", rc);
    } else {
        char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s) {
            puts(s);
            free(s);
            status = 0;
        }
    }
    json_decref(out);
    free(all);
    free(kdoc);
    free(pdoc);
    return status;
usage:
    usage(stderr);
    return 2;
}

/* "HOST:PORT", "[v6]:PORT" or ":PORT". */
static int parse_listen(const char *s, char *host, size_t cap, uint16_t *port) {
    const char *colon;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= cap) return -1;
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = 0;
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= cap) return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
        if (!host[0]) snprintf(host, cap, "127.0.0.1");
    }
    unsigned long long p;
    if (parse_uint(colon + 1, 65535, &p) != 0) return -1;
    *port = (uint16_t)p;
    return 0;
}

static int cmd_serve(int argc, char **argv) {
    const char *dir = NULL, *listen = "127.0.0.1:8545", *tee = NULL, *tee_root = NULL, *log_level = NULL,
               *log_level_file = NULL, *insecure_roles_s = "read";
    const char *cas[MAX_LIST], *names[MAX_LIST + 4];
    size_t n_cas = 0, n_names = 0;
    int insecure = 0, allow_debug = 0, metrics_public = 0, remote_counter = 0, k;
    keysrc_opts ko = {.retries = VERIFIER_RETRIES_DEFAULT};
    unsigned long long rate = 0, burst = 0, max_body = 0, max_conns = 0, threads = 0, workers = 0, batch = 0;
    unsigned long long req_timeout = 0, io_timeout = 0, drain_timeout = 0, reattest_s = 3600, trusted_s = 60;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--insecure-http") == 0) {
            insecure = 1;
            continue;
        }
        if (strcmp(a, "--allow-debug") == 0) {
            allow_debug = 1;
            continue;
        }
        if (strcmp(a, "--metrics-public") == 0) {
            metrics_public = 1;
            continue;
        }
        if (strcmp(a, "--remote-counter") == 0) {
            remote_counter = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v) goto usage;
        i++;
        unsigned long long *num = NULL, lim = 0;
        if ((k = keysrc_option(&ko, a, v)) != 0) {
            if (k < 0) return 2;
        } else if (strcmp(a, "--data-dir") == 0)
            dir = v;
        else if (strcmp(a, "--listen") == 0)
            listen = v;
        else if (strcmp(a, "--tee") == 0)
            tee = v;
        else if (strcmp(a, "--tee-root") == 0)
            tee_root = v;
        else if (strcmp(a, "--client-ca") == 0 && n_cas < MAX_LIST)
            cas[n_cas++] = v;
        else if (strcmp(a, "--tls-name") == 0 && n_names < MAX_LIST)
            names[n_names++] = v;
        else if (strcmp(a, "--log-level") == 0)
            log_level = v;
        else if (strcmp(a, "--log-level-file") == 0)
            log_level_file = v;
        else if (strcmp(a, "--insecure-roles") == 0)
            insecure_roles_s = v;
        else if (strcmp(a, "--rate") == 0)
            num = &rate, lim = 10000000;
        else if (strcmp(a, "--burst") == 0)
            num = &burst, lim = 10000000;
        else if (strcmp(a, "--max-body") == 0)
            num = &max_body, lim = 64ull << 20;
        else if (strcmp(a, "--max-conns") == 0)
            num = &max_conns, lim = 1000000;
        else if (strcmp(a, "--threads") == 0)
            num = &threads, lim = 64;
        else if (strcmp(a, "--workers") == 0)
            num = &workers, lim = 64;
        else if (strcmp(a, "--batch") == 0)
            num = &batch, lim = 1024;
        else if (strcmp(a, "--request-timeout-ms") == 0)
            num = &req_timeout, lim = 3600000;
        else if (strcmp(a, "--io-timeout-ms") == 0)
            num = &io_timeout, lim = 3600000;
        else if (strcmp(a, "--drain-timeout-ms") == 0)
            num = &drain_timeout, lim = 3600000;
        else if (strcmp(a, "--reattest-seconds") == 0)
            num = &reattest_s, lim = 7 * 86400;
        else if (strcmp(a, "--trusted-time-seconds") == 0)
            num = &trusted_s, lim = 3600;
        else
            goto usage;
        if (num && (parse_uint(v, lim, num) != 0 || (num == &trusted_s && !trusted_s))) {
            fprintf(stderr, "teekmd: %s: a number up to %llu\n", a, lim);
            return 2;
        }
    }
    if (!dir) goto usage;
    char host[128];
    uint16_t port;
    if (parse_listen(listen, host, sizeof host, &port) != 0) {
        fprintf(stderr, "teekmd: --listen wants HOST:PORT (got %s)\n", listen);
        return 2;
    }
    tkm_log_level lvl = TKM_LOG_INFO;
    if (log_level && tkm_failed(tkm_log_level_parse(log_level, &lvl))) {
        fprintf(stderr, "teekmd: --log-level: debug, info, warn or error\n");
        return 2;
    }
    tkm_log_set_level(lvl);
    unsigned insecure_roles = 0;
    if (insecure) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", insecure_roles_s);
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            unsigned r;
            if (tkm_failed(tkm_api_role_parse(t, &r))) {
                fprintf(stderr, "teekmd: --insecure-roles: sign, approve, admin, read (comma-separated)\n");
                return 2;
            }
            insecure_roles |= r;
        }
    }
    if (start_process() != 0) return 1;
    /* names in the certificate: loopback, plus the listen address when it is a specific one */
    if (!n_names) {
        names[n_names++] = "127.0.0.1";
        names[n_names++] = "::1";
        names[n_names++] = "localhost";
        if (strcmp(host, "0.0.0.0") != 0 && strcmp(host, "::") != 0 && strcmp(host, "127.0.0.1") != 0 &&
            strcmp(host, "::1") != 0)
            names[n_names++] = host;
    }
    int status = 1;
    tkm_instance *in = NULL;
    tkm_signer *sig = NULL;
    tkm_api_server *srv = NULL;
    tkm_registrar *reg = NULL;
    char bundle[PATH_MAX + 32];
    tkm_instance_open_opts oo = {.dir = dir, .tee = tee, .tee_root = tee_root, .allow_debug = allow_debug,
                                 .tls_names = names, .n_tls_names = n_names, .max_batch = (size_t)batch,
                                 .fast_unsafe = getenv("TKM_FAST_UNSAFE") != NULL, .state_key = ko.state_key,
                                 .verifier_url = ko.url, .verifier_ca = ko.ca, .verifier_retries = (unsigned)ko.retries,
                                 .remote_counter = remote_counter};
    uint64_t t0 = tkm_time_mono_ns();
    tkm_rc rc = tkm_instance_open(&in, &oo);
    if (tkm_failed(rc)) {
        fail("open the instance", rc);
        goto out;
    }
    snprintf(bundle, sizeof bundle, "%s/client-ca-bundle.pem", tkm_instance_dir(in));
    rc = tkm_signer_write_ca_bundle(bundle, tkm_instance_client_ca_path(in), cas, n_cas);
    if (tkm_failed(rc)) {
        fail("client CA list", rc);
        goto out;
    }
    tkm_signer_config sc = {.instance = in, .insecure_roles = insecure_roles, .log_level_file = log_level_file,
                            .client_ca_out = bundle, .client_ca_sources = cas, .n_client_ca_sources = n_cas,
                            .batch = (size_t)batch};
    rc = tkm_signer_new(&sig, &sc);
    if (tkm_failed(rc)) {
        fail("start the signer", rc);
        goto out;
    }
    tkm_api_config cfg = {
        .host = host,
        .port = port,
        .threads = (unsigned)threads,
        .workers = (unsigned)workers,
        .cert = tkm_instance_cert(in),
        .key = tkm_instance_tls_key(in),
        .client_ca_file = bundle,
        .insecure_http = insecure,
        .insecure_roles = insecure_roles,
        .max_body = (size_t)max_body,
        .max_conns = (unsigned)max_conns,
        .request_timeout_ms = (unsigned)req_timeout,
        .io_timeout_ms = (unsigned)io_timeout,
        .drain_timeout_ms = (unsigned)drain_timeout,
        .rate = (double)rate,
        .burst = (double)burst,
        .metrics_public = metrics_public,
        .handle_signals = 1,
        .log_requests = 1,
        .authorize = tkm_signer_authorize,
        .authorize_arg = sig,
        .audit = tkm_signer_audit,
        .audit_arg = sig,
        .reload = tkm_signer_reload,
        .reload_arg = sig,
    };
    if (insecure)
        tkm_log(TKM_LOG_WARN, "teekmd",
                "PLAIN HTTP WITHOUT TLS on %s:%u (--insecure-http): no server authentication, no client "
                "certificates, callers get the roles %s; for local tools only",
                host, (unsigned)port, insecure_roles_s);
    rc = tkm_api_server_new(&srv, &cfg);
    if (tkm_ok(rc)) rc = tkm_signer_attach(sig, srv);
    if (tkm_ok(rc) && tkm_instance_has_verifier(in)) {
        /* re-registration after changes, on the schedule and after failures (with backoff) */
        tkm_registrar_config rcfg = {.instance = in, .period_ms = (unsigned)(reattest_s * 1000),
                                     .metrics = tkm_api_server_metrics(srv), .server = srv};
        rc = tkm_registrar_start(&reg, &rcfg);
    }
    if (tkm_ok(rc)) rc = tkm_instance_verifier_attach(in, srv, (unsigned)trusted_s); /* no-op without a verifier */
    if (tkm_ok(rc)) rc = tkm_api_server_start(srv);
    if (tkm_failed(rc)) {
        fail("start the server", rc);
        goto out;
    }
    uint8_t iid[32];
    tkm_engine_instance_id(tkm_instance_engine(in), iid);
    char iidh[67], url[200];
    if (tkm_failed(tkm_hex_encode(iidh, sizeof iidh, iid, 32, 1))) iidh[0] = 0;
    snprintf(url, sizeof url, "%s://%s%s%s:%u", insecure ? "http" : "https", strchr(host, ':') ? "[" : "", host,
             strchr(host, ':') ? "]" : "", (unsigned)tkm_api_server_port(srv));
    json_t *ready = json_pack("{s:s,s:s,s:s,s:s,s:I,s:f}", "event", "listening", "url", url, "instanceId", iidh,
                              "platform", tkm_instance_platform(in), "keys", (json_int_t)tkm_instance_key_count(in),
                              "startSeconds", (double)(tkm_time_mono_ns() - t0) / 1e9);
    tkm_log_fields(TKM_LOG_INFO, "teekmd", ready, "listening on %s", url);
    char *line = ready ? json_dumps(ready, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (line) { /* one line on stdout for whoever started us (scripts, tests, teekm bench start) */
        printf("%s\n", line);
        fflush(stdout);
        free(line);
    }
    json_decref(ready);
    rc = tkm_api_server_run(srv);
    tkm_registrar_stop(reg); /* no registration while the state closes */
    tkm_signer_stop(sig);    /* the queue is answered and committed before the state closes */
    status = tkm_ok(rc) ? 0 : 1;
    tkm_log(TKM_LOG_INFO, "teekmd", "stopped; state closed");
out:
    tkm_registrar_stop(reg);
    tkm_signer_stop(sig);
    tkm_api_server_free(srv);
    tkm_registrar_free(reg); /* after the server: its metrics and /healthz callbacks point to it */
    tkm_signer_free(sig);
    tkm_instance_close(in);
    return status;
usage:
    usage(stderr);
    return 2;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "init") == 0) return cmd_init(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf("teekmd %s\n", TKM_VERSION);
        return 0;
    }
    return cmd_serve(argc, argv);
}
