/* see tkm_loadgen.h */
#include "tkm_loadgen.h"
#include "../crypto/tkm_ossl.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define MAX_SAMPLES ((size_t)20 << 20)
#define MAX_HEADER 16384

typedef struct lg lg;

typedef struct {
    lg *g;
    unsigned idx;
    struct bufferevent *bev;
    struct event *timer;
    uint64_t sent_at;   /* when the current request was (or was scheduled to be) sent */
    uint64_t next_slot; /* open loop: the next scheduled send time */
    int busy;
    int connected;
    int in_body;        /* 0: reading the status line and headers */
    size_t body_len;    /* Content-Length of the answer being read */
    int status;
    int close_after;
    unsigned reconnects;
} lconn;

struct lg {
    const tkm_loadgen_config *cfg;
    struct event_base *base;
    SSL_CTX *ctx;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char *req;
    size_t req_len;
    lconn *conns;
    uint64_t t_start, t_measure, t_end;
    uint64_t interval_ns; /* open loop, per connection */
    uint64_t *lat;
    size_t n_lat, cap_lat;
    uint64_t failures, conn_errors;
    struct event *stop_ev;
    int stopping;
};

static void conn_start(lconn *c);
static void send_request(lconn *c);

static void record(lg *g, uint64_t sent_at, uint64_t now, int ok) {
    if (sent_at < g->t_measure || now > g->t_end) return;
    if (!ok) {
        g->failures++;
        return;
    }
    if (g->n_lat == g->cap_lat) {
        if (g->cap_lat >= MAX_SAMPLES) return;
        size_t nc = g->cap_lat ? g->cap_lat * 2 : 65536;
        uint64_t *n = realloc(g->lat, nc * sizeof *n);
        if (!n) return;
        g->lat = n;
        g->cap_lat = nc;
    }
    g->lat[g->n_lat++] = now - sent_at;
}

static void conn_drop(lconn *c) {
    if (c->bev) bufferevent_free(c->bev);
    c->bev = NULL;
    c->connected = 0;
    c->busy = 0;
}

static void schedule_next(lconn *c) {
    lg *g = c->g;
    if (g->stopping) return;
    uint64_t now = tkm_time_mono_ns();
    if (!g->interval_ns) {
        send_request(c);
        return;
    }
    c->next_slot += g->interval_ns;
    if (c->next_slot <= now) {
        send_request(c); /* behind schedule: send at once; latency counts from the slot */
        return;
    }
    uint64_t d = c->next_slot - now;
    struct timeval tv = {.tv_sec = (time_t)(d / 1000000000u), .tv_usec = (suseconds_t)((d % 1000000000u) / 1000)};
    evtimer_add(c->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    lconn *c = arg;
    if (c->connected && !c->busy)
        send_request(c);
    else if (!c->bev && !c->g->stopping)
        conn_start(c);
}

static void send_request(lconn *c) {
    lg *g = c->g;
    if (!c->connected || c->busy || g->stopping) return;
    c->busy = 1;
    c->in_body = 0;
    c->status = 0;
    c->close_after = 0;
    uint64_t now = tkm_time_mono_ns();
    /* open loop: latency counts from the scheduled slot when we are late (timers may also fire early) */
    c->sent_at = g->interval_ns && c->next_slot < now ? c->next_slot : now;
    if (bufferevent_write(c->bev, g->req, g->req_len) != 0) {
        g->conn_errors++;
        conn_drop(c);
    }
}

static int header_value(const char *hdrs, size_t len, const char *name, char *out, size_t out_len) {
    size_t nl = strlen(name);
    const char *p = hdrs, *end = hdrs + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        if ((size_t)(eol - p) > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            size_t vl = (size_t)(eol - v);
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' ')) vl--;
            if (vl >= out_len) vl = out_len - 1;
            memcpy(out, v, vl);
            out[vl] = 0;
            return 1;
        }
        p = eol + 1;
    }
    return 0;
}

static void on_read(struct bufferevent *bev, void *arg) {
    lconn *c = arg;
    lg *g = c->g;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        if (!c->busy) { /* unsolicited bytes: protocol error */
            g->conn_errors++;
            conn_drop(c);
            conn_start(c);
            return;
        }
        if (!c->in_body) {
            struct evbuffer_ptr e = evbuffer_search(in, "\r\n\r\n", 4, NULL);
            if (e.pos < 0) {
                if (evbuffer_get_length(in) > MAX_HEADER) goto broken;
                return;
            }
            size_t hl = (size_t)e.pos + 4;
            const char *h = (const char *)evbuffer_pullup(in, (ev_ssize_t)hl);
            if (!h || hl < 12 || strncmp(h, "HTTP/1.1 ", 9) != 0) goto broken;
            c->status = atoi(h + 9);
            char v[32];
            c->body_len = header_value(h, hl, "Content-Length", v, sizeof v) ? (size_t)strtoull(v, NULL, 10) : 0;
            c->close_after = header_value(h, hl, "Connection", v, sizeof v) && strcasecmp(v, "close") == 0;
            evbuffer_drain(in, hl);
            if (c->body_len > ((size_t)64 << 20)) goto broken;
            c->in_body = 1;
        }
        size_t need = c->body_len;
        if (evbuffer_get_length(in) < need) return;
        int ok = c->status == (g->cfg->expect_status ? g->cfg->expect_status : 200);
        if (ok && (g->cfg->expect_substr || g->cfg->reject_substr)) {
            const char *b = need ? (const char *)evbuffer_pullup(in, (ev_ssize_t)need) : "";
            char *copy = strndup(b ? b : "", need);
            if (!copy) goto broken;
            if (g->cfg->expect_substr && !strstr(copy, g->cfg->expect_substr)) ok = 0;
            if (g->cfg->reject_substr && strstr(copy, g->cfg->reject_substr)) ok = 0;
            free(copy);
        }
        evbuffer_drain(in, need);
        uint64_t now = tkm_time_mono_ns();
        record(g, c->sent_at, now, ok);
        c->busy = 0;
        c->in_body = 0;
        if (c->close_after) {
            conn_drop(c);
            conn_start(c);
            return;
        }
        schedule_next(c);
        if (!c->busy) return;
    }
broken:
    g->conn_errors++;
    conn_drop(c);
    conn_start(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    lconn *c = arg;
    lg *g = c->g;
    if (what & BEV_EVENT_CONNECTED) {
        c->connected = 1;
        c->reconnects = 0;
        if (g->interval_ns) {
            uint64_t now = tkm_time_mono_ns();
            if (c->next_slot < now) c->next_slot = now;
            c->next_slot -= g->interval_ns;
            schedule_next(c);
        } else {
            send_request(c);
        }
        return;
    }
    if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF | BEV_EVENT_TIMEOUT)) {
        if (!g->stopping) g->conn_errors++;
        if (c->busy) record(g, c->sent_at, tkm_time_mono_ns(), 0);
        conn_drop(c);
        if (!g->stopping && ++c->reconnects < 1000) {
            struct timeval tv = {0, 10000};
            evtimer_add(c->timer, &tv); /* reconnect shortly */
        }
    }
}

static void conn_start(lconn *c) {
    lg *g = c->g;
    if (g->stopping) return;
    struct bufferevent *bev;
    if (g->cfg->plain) {
        bev = bufferevent_socket_new(g->base, -1, BEV_OPT_CLOSE_ON_FREE);
    } else {
        SSL *ssl = SSL_new(g->ctx);
        if (!ssl) {
            g->conn_errors++;
            return;
        }
        const char *host = g->cfg->host;
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1) X509_VERIFY_PARAM_set1_host(vp, host, 0);
        bev = bufferevent_openssl_socket_new(g->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
        if (!bev) SSL_free(ssl);
    }
    if (!bev) {
        g->conn_errors++;
        return;
    }
    c->bev = bev;
    bufferevent_setcb(bev, on_read, NULL, on_event, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&g->addr, (int)g->addr_len) != 0) {
        g->conn_errors++;
        conn_drop(c);
        return;
    }
    evutil_socket_t fd = bufferevent_getfd(bev);
    int one = 1;
    if (fd >= 0) (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void on_stop(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    lg *g = arg;
    g->stopping = 1;
    event_base_loopbreak(g->base);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const uint64_t *v, size_t n, double p) {
    if (!n) return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    if (i >= n) i = n - 1;
    return (double)v[i] / 1e6;
}

static double thread_cpu(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static double process_cpu(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static tkm_rc make_ctx(const tkm_loadgen_config *cfg, SSL_CTX **out) {
    *out = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    TKM_ENSURE(ctx, TKM_ERR_NOMEM);
    int ok = SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    ok = ok && cfg->ca_file && SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) == 1;
    if (ok && cfg->cert_file)
        ok = SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) == 1 &&
             SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) == 1;
    if (!ok) {
        tkm_rc rc = TKM_OSSL_FAIL(TKM_ERR_TLS, cfg->ca_file ? "load generator TLS context" : "load generator TLS context: no CA file");
        SSL_CTX_free(ctx);
        return rc;
    }
    *out = ctx;
    return TKM_RC_OK;
}

tkm_rc tkm_loadgen_run(const tkm_loadgen_config *cfg, tkm_loadgen_result *res) {
    TKM_ARG_CHECK(cfg && res && cfg->host && (cfg->body || cfg->body_len == 0));
    memset(res, 0, sizeof *res);
    tkm_rc rc = TKM_RC(TKM_ERR_NOMEM);
    lg g;
    memset(&g, 0, sizeof g);
    g.cfg = cfg;
    unsigned n = cfg->connections ? cfg->connections : 16;
    double secs = cfg->seconds > 0 ? cfg->seconds : 5.0;
    double warm = cfg->warmup_seconds > 0 ? cfg->warmup_seconds : 0.5;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&g.addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&g.addr;
    if (inet_pton(AF_INET, cfg->host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(cfg->port);
        g.addr_len = sizeof *a4;
    } else if (inet_pton(AF_INET6, cfg->host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(cfg->port);
        g.addr_len = sizeof *a6;
    } else {
        tkm_err_detail_set("load generator target %s is not a numeric IP address", cfg->host);
        TKM_ENSURE(0, TKM_ERR_FORMAT);
    }
    if (!cfg->plain) TKM_TRY(make_ctx(cfg, &g.ctx));
    /* the request, formatted once */
    const char *method = cfg->method ? cfg->method : "POST";
    const char *path = cfg->path ? cfg->path : "/";
    const char *ct = cfg->content_type ? cfg->content_type : "application/json";
    size_t cap = 512 + strlen(path) + strlen(cfg->host) + cfg->body_len;
    g.req = malloc(cap);
    if (!g.req) goto out;
    int hl = cfg->body_len || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0
                 ? snprintf(g.req, cap, "%s %s HTTP/1.1\r\nHost: %s:%u\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                            method, path, cfg->host, (unsigned)cfg->port, ct, cfg->body_len)
                 : snprintf(g.req, cap, "%s %s HTTP/1.1\r\nHost: %s:%u\r\n\r\n", method, path, cfg->host,
                            (unsigned)cfg->port);
    if (hl < 0 || (size_t)hl + cfg->body_len >= cap) goto out;
    if (cfg->body_len) memcpy(g.req + hl, cfg->body, cfg->body_len);
    g.req_len = (size_t)hl + cfg->body_len;

    g.base = event_base_new();
    g.conns = calloc(n, sizeof *g.conns);
    g.stop_ev = g.base ? evtimer_new(g.base, on_stop, &g) : NULL;
    if (!g.base || !g.conns || !g.stop_ev) goto out;
    g.t_start = tkm_time_mono_ns();
    g.t_measure = g.t_start + (uint64_t)(warm * 1e9);
    g.t_end = g.t_measure + (uint64_t)(secs * 1e9);
    if (cfg->rate > 0) g.interval_ns = (uint64_t)((double)n / cfg->rate * 1e9);
    for (unsigned i = 0; i < n; i++) {
        lconn *c = &g.conns[i];
        c->g = &g;
        c->idx = i;
        c->timer = evtimer_new(g.base, on_timer, c);
        if (!c->timer) goto out;
        /* spread the schedules of the connections over one interval */
        c->next_slot = g.t_start + (g.interval_ns ? g.interval_ns * i / n : 0);
        conn_start(c);
    }
    uint64_t total = g.t_end - g.t_start;
    struct timeval tv = {.tv_sec = (time_t)(total / 1000000000u), .tv_usec = (suseconds_t)((total % 1000000000u) / 1000)};
    evtimer_add(g.stop_ev, &tv);
    /* CPU of the window only: sample at the start of the measured window */
    double cpu0 = 0, pcpu0 = 0;
    {
        uint64_t w = g.t_measure - g.t_start;
        struct timeval wt = {.tv_sec = (time_t)(w / 1000000000u), .tv_usec = (suseconds_t)((w % 1000000000u) / 1000)};
        event_base_loopexit(g.base, &wt);
        event_base_dispatch(g.base);
        cpu0 = thread_cpu();
        pcpu0 = process_cpu();
    }
    if (!g.stopping) event_base_dispatch(g.base);
    res->cpu_seconds = thread_cpu() - cpu0;
    res->process_cpu_seconds = process_cpu() - pcpu0;
    uint64_t connected = 0;
    for (unsigned i = 0; i < n; i++) connected += g.conns[i].bev != NULL;
    res->requests = g.n_lat;
    res->failures = g.failures;
    res->conn_errors = g.conn_errors;
    res->seconds = secs;
    res->throughput = (double)g.n_lat / secs;
    if (g.n_lat) {
        qsort(g.lat, g.n_lat, sizeof *g.lat, cmp_u64);
        double sum = 0;
        for (size_t i = 0; i < g.n_lat; i++) sum += (double)g.lat[i];
        res->mean_ms = sum / (double)g.n_lat / 1e6;
        res->p50_ms = pct_ms(g.lat, g.n_lat, 0.50);
        res->p90_ms = pct_ms(g.lat, g.n_lat, 0.90);
        res->p99_ms = pct_ms(g.lat, g.n_lat, 0.99);
        res->p999_ms = pct_ms(g.lat, g.n_lat, 0.999);
        res->max_ms = (double)g.lat[g.n_lat - 1] / 1e6;
    }
    if (g.n_lat == 0 && g.failures == 0 && connected == 0) {
        tkm_err_detail_set("no connection to %s:%u could be used", cfg->host, (unsigned)cfg->port);
        rc = TKM_RC(TKM_ERR_NETWORK);
        goto out;
    }
    rc = TKM_RC_OK;
out:
    if (g.conns)
        for (unsigned i = 0; i < n; i++) {
            if (g.conns[i].bev) bufferevent_free(g.conns[i].bev);
            if (g.conns[i].timer) event_free(g.conns[i].timer);
        }
    free(g.conns);
    if (g.stop_ev) event_free(g.stop_ev);
    if (g.base) event_base_free(g.base);
    SSL_CTX_free(g.ctx);
    free(g.req);
    free(g.lat);
    return rc;
}
