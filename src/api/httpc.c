/* see tkm_httpc.h */
#include "tkm_httpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEF_MAX_RESPONSE ((size_t)16 << 20)

struct tkm_httpc {
    CURL *h;
    char *base, *ca, *pin, *cert, *key;
    long connect_ms, timeout_ms;
    size_t max_response;
    uint64_t id_seq;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;
static void curl_init_once(void) { curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }

static char *dup_opt(const char *s, int *bad) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *bad = 1;
    return d;
}

void tkm_httpc_free(tkm_httpc *c) {
    if (!c) return;
    if (c->h) curl_easy_cleanup(c->h);
    free(c->base);
    free(c->ca);
    free(c->pin);
    free(c->cert);
    free(c->key);
    free(c);
}

tkm_rc tkm_httpc_new(tkm_httpc **out, const tkm_httpc_config *cfg) {
    TKM_ARG_CHECK(out && cfg && cfg->base_url);
    *out = NULL;
    TKM_ARG_CHECK(!cfg->cert_file == !cfg->key_file);
    int https = strncmp(cfg->base_url, "https://", 8) == 0;
    if (!https && !(cfg->allow_plain_http && strncmp(cfg->base_url, "http://", 7) == 0)) {
        tkm_err_detail_set("the service URL must start with https://");
        TKM_ENSURE(0, TKM_ERR_FORMAT);
    }
    pthread_once(&curl_once, curl_init_once);
    TKM_ENSURE(curl_ok, TKM_ERR_NOMEM);
    tkm_httpc *c = calloc(1, sizeof *c);
    TKM_ENSURE(c, TKM_ERR_NOMEM);
    int bad = 0;
    c->base = dup_opt(cfg->base_url, &bad);
    c->ca = dup_opt(cfg->ca_file, &bad);
    c->pin = dup_opt(cfg->pinned_pubkey, &bad);
    c->cert = dup_opt(cfg->cert_file, &bad);
    c->key = dup_opt(cfg->key_file, &bad);
    c->h = curl_easy_init();
    if (bad || !c->h) {
        tkm_httpc_free(c);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    size_t bl = strlen(c->base);
    while (bl > 0 && c->base[bl - 1] == '/') c->base[--bl] = 0;
    c->connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 5000;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
    c->max_response = cfg->max_response ? cfg->max_response : DEF_MAX_RESPONSE;
    *out = c;
    return TKM_RC_OK;
}

typedef struct {
    tkm_wr *w;
    CURL *h;
    tkm_httpc_sink_fn sink; /* 2xx bodies go here instead of w */
    void *sink_ctx;
    int sink_failed;
} data_ctx;

static size_t on_data(char *p, size_t size, size_t n, void *arg) {
    data_ctx *d = arg;
    size_t len = size * n;
    if (d->sink) {
        long code = 0;
        curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200 && code < 300) {
            if (d->sink(d->sink_ctx, (const uint8_t *)p, len) != 0) {
                d->sink_failed = 1;
                return 0;
            }
            return len;
        }
    }
    return tkm_ok(tkm_wr_put(d->w, p, len)) ? len : 0; /* 0 aborts the transfer (cap reached) */
}

static tkm_err map_curl(CURLcode e) {
    switch (e) {
    case CURLE_OPERATION_TIMEDOUT: return TKM_ERR_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED: return TKM_ERR_TLS;
    case CURLE_WRITE_ERROR: return TKM_ERR_TOO_LARGE;
    case CURLE_OUT_OF_MEMORY: return TKM_ERR_NOMEM;
    case CURLE_URL_MALFORMAT: return TKM_ERR_FORMAT;
    default: return TKM_ERR_NETWORK;
    }
}

static tkm_rc perform(tkm_httpc *c, const char *method, const char *path, const char *content_type,
                      const uint8_t *body, size_t len, long *status, uint8_t **resp, size_t *resp_len,
                      tkm_httpc_sink_fn sink, void *sink_ctx);

tkm_rc tkm_httpc_request(tkm_httpc *c, const char *method, const char *path, const char *content_type,
                         const uint8_t *body, size_t len, long *status, uint8_t **resp, size_t *resp_len) {
    return perform(c, method, path, content_type, body, len, status, resp, resp_len, NULL, NULL);
}

tkm_rc tkm_httpc_get_stream(tkm_httpc *c, const char *path, tkm_httpc_sink_fn sink, void *ctx, long *status,
                            uint8_t **resp, size_t *resp_len) {
    TKM_ARG_CHECK(sink);
    return perform(c, "GET", path, NULL, NULL, 0, status, resp, resp_len, sink, ctx);
}

static tkm_rc perform(tkm_httpc *c, const char *method, const char *path, const char *content_type,
                      const uint8_t *body, size_t len, long *status, uint8_t **resp, size_t *resp_len,
                      tkm_httpc_sink_fn sink, void *sink_ctx) {
    TKM_ARG_CHECK(c && method && path && status && resp && resp_len && (body || len == 0));
    *status = 0;
    *resp = NULL;
    *resp_len = 0;
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    struct curl_slist *hdr = NULL;
    char *url = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    tkm_wr w;
    tkm_wr_init(&w, c->max_response + 1);
    size_t ul = strlen(c->base) + strlen(path) + 2;
    url = malloc(ul);
    if (!url) TKM_GOTO(rc, TKM_ERR_NOMEM);
    snprintf(url, ul, "%s%s%s", c->base, path[0] == '/' ? "" : "/", path);
    CURL *h = c->h;
    curl_easy_reset(h); /* keeps the connection cache: keep-alive between requests */
    int ok = 1;
    ok &= curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http") == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    if (c->ca) ok &= curl_easy_setopt(h, CURLOPT_CAINFO, c->ca) == CURLE_OK;
    if (c->pin) ok &= curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, c->pin) == CURLE_OK;
    if (c->cert) {
        ok &= curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_SSLKEY, c->key) == CURLE_OK;
    }
    ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms) == CURLE_OK;
    if (sink) { /* a long download: no total deadline, but it must keep moving */
        ok &= curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (c->timeout_ms + 999) / 1000) == CURLE_OK;
    } else {
        ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms) == CURLE_OK;
    }
    ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK;
    data_ctx dc = {&w, h, sink, sink_ctx, 0};
    ok &= curl_easy_setopt(h, CURLOPT_WRITEDATA, &dc) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
    if (strcmp(method, "GET") == 0) ok &= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    if (body) {
        ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) == CURLE_OK;
        char ct[160];
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type ? content_type : "application/json");
        hdr = curl_slist_append(hdr, ct);
        hdr = hdr ? curl_slist_append(hdr, "Expect:") : NULL; /* no 100-continue round trip */
        if (!hdr) TKM_GOTO(rc, TKM_ERR_NOMEM);
        ok &= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) == CURLE_OK;
    }
    if (!ok) TKM_GOTO(rc, TKM_ERR_INTERNAL);
    CURLcode e = curl_easy_perform(h);
    if (e != CURLE_OK) {
        tkm_err_detail_set("%s: %s", curl_easy_strerror(e), errbuf);
        TKM_GOTO(rc, dc.sink_failed ? TKM_ERR_IO : map_curl(e));
    }
    if (w.len > c->max_response) TKM_GOTO(rc, TKM_ERR_TOO_LARGE);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    TKM_CHECK_GOTO(rc, tkm_wr_nul(&w));
    {
        size_t n = w.len;
        if (n == 0) { /* hand back an empty, NUL-terminated buffer */
            *resp = calloc(1, 1);
            if (!*resp) TKM_GOTO(rc, TKM_ERR_NOMEM);
        } else {
            TKM_CHECK_GOTO(rc, tkm_wr_take(&w, resp, resp_len));
        }
    }
    rc = TKM_RC_OK;
out:
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdr);
    free(url);
    tkm_wr_free(&w);
    return rc;
}

tkm_rc tkm_httpc_json(tkm_httpc *c, const char *method, const char *path, const json_t *body, long *status,
                      json_t **out) {
    TKM_ARG_CHECK(out && status);
    *out = NULL;
    *status = 0;
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    tkm_wr w;
    tkm_wr_init(&w, 0);
    uint8_t *resp = NULL;
    size_t rl = 0;
    json_t *j = NULL;
    if (body) TKM_CHECK_GOTO(rc, tkm_json_dump(body, &w));
    TKM_CHECK_GOTO(rc, tkm_httpc_request(c, method, path, NULL, body ? w.p : NULL, body ? w.len : 0, status,
                                         &resp, &rl));
    if (rl) {
        tkm_json_limits lim = {.max_bytes = c->max_response, .max_depth = 64};
        TKM_CHECK_GOTO(rc, tkm_json_load(&j, resp, rl, &lim));
    }
    if (*status >= 400) {
        json_t *e = j ? json_object_get(j, "error") : NULL;
        const char *code = e ? json_string_value(json_object_get(e, "code")) : NULL;
        const char *detail = e ? json_string_value(json_object_get(e, "detail")) : NULL;
        const char *msg = e ? json_string_value(json_object_get(e, "message")) : NULL;
        tkm_err_detail_set("HTTP %ld%s%s%s%s", *status, code ? " " : "", code ? code : "",
                           detail || msg ? ": " : "", detail ? detail : msg ? msg : "");
        *out = j;
        j = NULL;
        TKM_GOTO(rc, TKM_ERR_HTTP_STATUS);
    }
    *out = j;
    j = NULL;
    rc = TKM_RC_OK;
out:
    json_decref(j);
    free(resp);
    tkm_wr_free(&w);
    return rc;
}

static void copy_field(char *dst, size_t cap, const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(dst, cap, "%s", s ? s : "");
}

tkm_rc tkm_httpc_rpc(tkm_httpc *c, const char *path, const char *method, json_t *params, json_t **result,
                     tkm_rpc_error *err) {
    TKM_ARG_CHECK(c && method && result && err);
    *result = NULL;
    memset(err, 0, sizeof *err);
    tkm_rc rc = TKM_RC(TKM_ERR_NOMEM);
    long status = 0;
    json_t *resp = NULL;
    json_int_t id = (json_int_t)(++c->id_seq);
    json_t *req = json_pack("{s:s,s:s,s:I}", "jsonrpc", "2.0", "method", method, "id", id);
    if (!req) goto out;
    if (params && json_object_set(req, "params", params) != 0) goto out;
    TKM_CHECK_GOTO(rc, tkm_httpc_json(c, "POST", path ? path : "/", req, &status, &resp));
    if (!json_is_object(resp) || !json_equal(json_object_get(resp, "id"), json_object_get(req, "id"))) {
        tkm_err_detail_set("JSON-RPC answer is not an object with our id");
        TKM_GOTO(rc, TKM_ERR_FORMAT);
    }
    json_t *e = json_object_get(resp, "error");
    if (e) {
        json_t *d = json_object_get(e, "data");
        err->code = (int)json_integer_value(json_object_get(e, "code"));
        copy_field(err->reason, sizeof err->reason, d, "reason");
        copy_field(err->rule, sizeof err->rule, d, "rule");
        copy_field(err->detail, sizeof err->detail, d, "detail");
        tkm_err_detail_set("JSON-RPC error %d %s%s%s", err->code,
                           json_string_value(json_object_get(e, "message")) ?: "", err->detail[0] ? ": " : "",
                           err->detail);
        TKM_GOTO(rc, TKM_ERR_REQUEST);
    }
    json_t *r = json_object_get(resp, "result");
    if (!r) {
        tkm_err_detail_set("JSON-RPC answer has neither result nor error");
        TKM_GOTO(rc, TKM_ERR_FORMAT);
    }
    *result = json_incref(r);
    rc = TKM_RC_OK;
out:
    json_decref(params);
    json_decref(req);
    json_decref(resp);
    return rc;
}
