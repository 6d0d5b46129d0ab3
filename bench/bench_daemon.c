/*
 * A real teekmd for the benchmarks (bench.h: bench_daemon_*): `teekmd init`
 * in a temporary directory, `teekmd --listen 127.0.0.1:0` as a child process,
 * its "listening" line read from its stdout, /healthz polled.
 */
#include "bench.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/tkm_httpc.h"

static int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Run argv to completion; stdout to out_path (NULL: /dev/null), stderr to /dev/null. Returns the exit status. */
static int run_wait(char *const argv[], const char *out_path) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        int out = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) : devnull;
        if (devnull < 0 || out < 0) _exit(127);
        dup2(out, 1);
        dup2(devnull, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int bench_daemon_init(bench_daemon *d, const char *policy_json, const char *const *labels, size_t n_labels) {
    return bench_daemon_init_args(d, policy_json, labels, n_labels, NULL, 0);
}

int bench_daemon_init_args(bench_daemon *d, const char *policy_json, const char *const *labels, size_t n_labels,
                           const char *const *extra, size_t n_extra) {
    memset(d, 0, sizeof *d);
    d->pid = -1;
    snprintf(d->dir, sizeof d->dir, "/tmp/teekm-bench-XXXXXX");
    if (!mkdtemp(d->dir)) return -1;
    snprintf(d->data, sizeof d->data, "%s/data", d->dir);
    char policy[600], keys[600], out[600];
    snprintf(policy, sizeof policy, "%s/policy.json", d->dir);
    snprintf(keys, sizeof keys, "%s/labels.txt", d->dir);
    snprintf(out, sizeof out, "%s/init.json", d->dir);
    if (write_text(policy, policy_json) != 0) return -1;
    FILE *f = fopen(keys, "w");
    if (!f) return -1;
    for (size_t i = 0; i < n_labels; i++) fprintf(f, "%s\n", labels[i]);
    if (fclose(f) != 0) return -1;
    char *argv[32] = {(char *)cli_teekmd_path(), "init", "--data-dir", d->data, "--tee", "sim", "--policy", policy,
                      "--keys-from", keys, NULL};
    for (size_t i = 0; i < n_extra && i < 16; i++) argv[10 + i] = (char *)extra[i];
    uint64_t t0 = tkm_time_mono_ns();
    int st = run_wait(argv, out);
    d->init_seconds = (double)(tkm_time_mono_ns() - t0) / 1e9;
    if (st != 0) {
        fprintf(stderr, "bench: teekmd init failed (status %d)\n", st);
        return -1;
    }
    return 0;
}

double bench_daemon_bare_start(void) {
    char *argv[] = {(char *)cli_teekmd_path(), "version", NULL};
    const int n = 20;
    uint64_t t0 = tkm_time_mono_ns();
    for (int i = 0; i < n; i++)
        if (run_wait(argv, NULL) != 0) return -1;
    return (double)(tkm_time_mono_ns() - t0) / 1e9 / n;
}

/* Read one line from fd within timeout_ms. */
static int read_line(int fd, char *buf, size_t cap, int timeout_ms) {
    size_t n = 0;
    uint64_t deadline = tkm_time_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    while (n + 1 < cap) {
        uint64_t now = tkm_time_mono_ns();
        if (now >= deadline) return -1;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
        if (r <= 0) continue;
        ssize_t k = read(fd, buf + n, 1);
        if (k <= 0) return -1;
        if (buf[n] == '\n') break;
        n++;
    }
    buf[n] = 0;
    return 0;
}

int bench_daemon_start(bench_daemon *d, const char *const *extra, size_t n_extra) {
    int out[2];
    if (pipe(out) != 0) return -1;
    char *argv[32];
    size_t a = 0;
    argv[a++] = (char *)cli_teekmd_path();
    argv[a++] = "--data-dir";
    argv[a++] = d->data;
    argv[a++] = "--listen";
    argv[a++] = "127.0.0.1:0";
    for (size_t i = 0; i < n_extra && a < 30; i++) argv[a++] = (char *)extra[i];
    argv[a] = NULL;
    char log[600];
    snprintf(log, sizeof log, "%s/teekmd.log", d->dir);
    uint64_t t0 = tkm_time_mono_ns();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (lf < 0) _exit(127);
        dup2(out[1], 1);
        dup2(lf, 2);
        close(out[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    d->pid = pid;
    char line[1024];
    int rc = read_line(out[0], line, sizeof line, 30000);
    close(out[0]);
    if (rc != 0) {
        fprintf(stderr, "bench: teekmd did not start (see %s)\n", log);
        bench_daemon_stop(d);
        return -1;
    }
    json_error_t e;
    json_t *j = json_loads(line, 0, &e);
    const char *url = j ? json_string_value(json_object_get(j, "url")) : NULL;
    if (!url) {
        json_decref(j);
        bench_daemon_stop(d);
        return -1;
    }
    snprintf(d->url, sizeof d->url, "%s", url);
    const char *colon = strrchr(url, ':');
    d->port = colon ? (uint16_t)atoi(colon + 1) : 0;
    d->reported_start = json_real_value(json_object_get(j, "startSeconds"));
    json_decref(j);
    /* time to healthy: from fork to the first 200 on /healthz */
    snprintf(d->ca, sizeof d->ca, "%s/tls.crt", d->data);
    snprintf(d->cert, sizeof d->cert, "%s/client/operator.crt", d->data);
    snprintf(d->key, sizeof d->key, "%s/client/operator.key", d->data);
    tkm_httpc *h = NULL;
    tkm_httpc_config hc = {.base_url = d->url, .ca_file = d->ca, .timeout_ms = 5000};
    if (tkm_failed(tkm_httpc_new(&h, &hc))) {
        bench_daemon_stop(d);
        return -1;
    }
    int healthy = 0;
    for (int i = 0; i < 3000 && !healthy; i++) {
        long status = 0;
        uint8_t *resp = NULL;
        size_t rl = 0;
        if (tkm_ok(tkm_httpc_request(h, "GET", "/healthz", NULL, NULL, 0, &status, &resp, &rl)) && status == 200)
            healthy = 1;
        free(resp);
        if (!healthy) usleep(1000);
    }
    d->healthy_seconds = (double)(tkm_time_mono_ns() - t0) / 1e9;
    tkm_httpc_free(h);
    if (!healthy) {
        bench_daemon_stop(d);
        return -1;
    }
    return 0;
}

long bench_daemon_status_kb(const bench_daemon *d, const char *field) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)d->pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, fl) == 0 && line[fl] == ':') v = strtol(line + fl + 1, NULL, 10);
    fclose(f);
    return v;
}

double bench_daemon_cpu_seconds(const bench_daemon *d) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)d->pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* after the command name: fields 3.. */
    if (!p) return -1;
    unsigned long long ut = 0, st = 0;
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

void bench_daemon_stop(bench_daemon *d) {
    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        int st;
        while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR) {
        }
        d->pid = -1;
    }
}

void bench_daemon_remove(bench_daemon *d) {
    bench_daemon_stop(d);
    if (getenv("TKM_BENCH_KEEP")) {
        fprintf(stderr, "bench: kept %s\n", d->dir);
        return;
    }
    if (d->dir[0]) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->dir);
        if (system(cmd) != 0) fprintf(stderr, "bench: could not remove %s\n", d->dir);
        d->dir[0] = 0;
    }
}

/* teekm-verifier next to teekmd (else on PATH). */
static const char *verifier_path(void) {
    static char path[4200];
    const char *t = cli_teekmd_path();
    const char *slash = strrchr(t, '/');
    if (!slash) return "teekm-verifier";
    snprintf(path, sizeof path, "%.*s/teekm-verifier", (int)(slash - t), t);
    return path;
}

int bench_verifier_start(bench_vproc *v) {
    memset(v, 0, sizeof *v);
    v->pid = -1;
    snprintf(v->dir, sizeof v->dir, "/tmp/teekm-bench-verifier-XXXXXX");
    if (!mkdtemp(v->dir)) return -1;
    char data[300], conf[320], appr[320], portf[320];
    snprintf(data, sizeof data, "%s/v", v->dir);
    snprintf(conf, sizeof conf, "%s/verifier.json", data);
    snprintf(appr, sizeof appr, "%s/appraisal.json", data);
    snprintf(portf, sizeof portf, "%s/port", data);
    char *init[] = {(char *)verifier_path(), "init", "--data-dir", data, NULL};
    if (run_wait(init, NULL) != 0) {
        fprintf(stderr, "bench: teekm-verifier init failed\n");
        return -1;
    }
    if (write_text(appr, "{\"version\": 1, \"requireNonce\": true, \"maxEvidenceAgeSeconds\": 60, "
                         "\"sim\": {\"enabled\": true}, \"keyRelease\": [\"sim\"]}\n") != 0 ||
        write_text(conf, "{\"dataDir\": \".\", \"institution\": \"bench\", \"appraisalPolicy\": \"appraisal.json\", "
                         "\"listen\": {\"host\": \"127.0.0.1\", \"port\": 0, \"threads\": 2}, "
                         "\"registration\": {\"maxAgeSeconds\": 3600}, \"logLevel\": \"warn\"}\n") != 0)
        return -1;
    char log[320];
    snprintf(log, sizeof log, "%s/verifier.log", v->dir);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int devnull = open("/dev/null", O_RDWR);
        if (lf < 0 || devnull < 0) _exit(127);
        dup2(devnull, 1);
        dup2(lf, 2);
        char *argv[] = {(char *)verifier_path(), "serve", "--config", conf, "--port-file", portf, NULL};
        execv(argv[0], argv);
        _exit(127);
    }
    v->pid = pid;
    for (int i = 0; i < 300; i++) {
        FILE *f = fopen(portf, "r");
        unsigned port = 0;
        if (f) {
            if (fscanf(f, "%u", &port) != 1) port = 0;
            fclose(f);
        }
        if (port) {
            snprintf(v->url, sizeof v->url, "https://127.0.0.1:%u", port);
            snprintf(v->ca, sizeof v->ca, "%s/tls.crt", data);
            return 0;
        }
        usleep(10000);
    }
    fprintf(stderr, "bench: teekm-verifier did not start (see %s)\n", log);
    return -1;
}

void bench_verifier_remove(bench_vproc *v) {
    if (v->pid > 0) {
        kill(v->pid, SIGTERM);
        int st;
        while (waitpid(v->pid, &st, 0) < 0 && errno == EINTR) {
        }
        v->pid = -1;
    }
    if (v->dir[0] && !getenv("TKM_BENCH_KEEP")) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", v->dir);
        if (system(cmd) != 0) fprintf(stderr, "bench: could not remove %s\n", v->dir);
        v->dir[0] = 0;
    }
}

void bench_print_load(const char *when) {
    FILE *f = fopen("/proc/loadavg", "r");
    char buf[128] = "?";
    if (f) {
        if (!fgets(buf, sizeof buf, f)) snprintf(buf, sizeof buf, "?");
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = 0;
    printf("  load average %s: %s (2 cores, shared with other users)\n", when, buf);
}
