/*
 * The HTTPS server end to end: a forked child runs tkm_api_server on a random
 * loopback port with a throwaway CA made here with OpenSSL; the parent drives
 * it with libcurl (an independent HTTP/TLS client), raw OpenSSL and raw
 * sockets, and finally SIGTERMs it to check the drain.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/tkm_httpc.h"
#include "crypto/crypto.h"

static char dir[256];
static pid_t child;
static uint16_t port;
static char base[64];

static const char *path_of(const char *name) {
    static char bufs[8][512];
    static int i;
    char *b = bufs[i++ % 8];
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

/* ------------------------------------------------------------ certificates */

static EVP_PKEY *new_key(void) {
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k) fail_msg("EC keygen");
    return k;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ex || !X509_add_ext(cert, ex, -1)) fail_msg("extension %d", nid);
    X509_EXTENSION_free(ex);
}

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int kind) {
    static long serial = 1;
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"teekm test", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509 *iss = issuer ? issuer : x;
    if (kind == 0) { /* CA */
        add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else if (kind == 1) { /* server */
        add_ext(x, iss, NID_basic_constraints, "CA:FALSE");
        add_ext(x, iss, NID_ext_key_usage, "serverAuth");
        add_ext(x, iss, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    } else { /* client */
        add_ext(x, iss, NID_basic_constraints, "CA:FALSE");
        add_ext(x, iss, NID_ext_key_usage, "clientAuth");
    }
    if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256())) fail_msg("sign %s", cn);
    return x;
}

static void write_pem(const char *name, X509 *x, EVP_PKEY *k) {
    FILE *f = fopen(path_of(name), "w");
    if (!f) fail_msg("write %s", name);
    if (x) PEM_write_X509(f, x);
    if (k) PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
}

static void make_client(const char *cn, const char *file, X509 *ca, EVP_PKEY *cak) {
    EVP_PKEY *k = new_key();
    X509 *x = make_cert(cn, k, ca, cak, 2);
    char n[64];
    snprintf(n, sizeof n, "%s.crt", file);
    write_pem(n, x, NULL);
    snprintf(n, sizeof n, "%s.key", file);
    write_pem(n, NULL, k);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void make_pki(void) {
    EVP_PKEY *cak = new_key(), *fk = new_key(), *sk = new_key();
    X509 *ca = make_cert("teekm test CA", cak, NULL, NULL, 0);
    X509 *foreign = make_cert("someone else's CA", fk, NULL, NULL, 0);
    X509 *srv = make_cert("localhost", sk, ca, cak, 1);
    write_pem("ca.crt", ca, NULL);
    write_pem("foreign-ca.crt", foreign, NULL);
    write_pem("server.crt", srv, NULL);
    write_pem("server.key", NULL, sk);
    make_client("signer", "signer", ca, cak);
    make_client("admin", "admin", ca, cak);
    make_client("reader", "reader", ca, cak);
    make_client("nobody", "nobody", ca, cak);
    make_client("flooder", "flooder", ca, cak);
    make_client("admin", "foreign-admin", foreign, fk); /* same CN, wrong CA */
    /* a bundle with both CAs, for the reload test */
    FILE *f = fopen(path_of("both-ca.crt"), "w");
    PEM_write_X509(f, ca);
    PEM_write_X509(f, foreign);
    fclose(f);
    X509_free(ca);
    X509_free(foreign);
    X509_free(srv);
    EVP_PKEY_free(cak);
    EVP_PKEY_free(fk);
    EVP_PKEY_free(sk);
}

/* ------------------------------------------------------------ the server (child) */

static tkm_secret *sign_key;
static tkm_api_server *srv;

static unsigned authorize(void *arg, const tkm_api_identity *id) {
    (void)arg;
    if (strcmp(id->cn, "signer") == 0 || strcmp(id->cn, "flooder") == 0) return TKM_ROLE_SIGN;
    if (strcmp(id->cn, "admin") == 0) return TKM_ROLE_ALL;
    if (strcmp(id->cn, "reader") == 0) return TKM_ROLE_READ;
    return 0;
}

static void audit(void *arg, const tkm_api_audit_event *ev) {
    (void)arg;
    char roles[64];
    tkm_api_roles_str(ev->roles_required, roles, sizeof roles);
    fprintf(stderr, "AUDIT status=%d code=%s path=%s rpc=%s cn=%s need=%s rid=%s\n", ev->http_status,
            tkm_err_name(ev->code), ev->path, ev->rpc_method ? ev->rpc_method : "-",
            ev->identity->cn[0] ? ev->identity->cn : "-", roles, ev->request_id);
}

static void reload(void *arg, tkm_api_reload *out) {
    (void)arg;
    FILE *f = fopen(path_of("loglevel"), "r");
    char lvl[16] = "";
    if (f) {
        if (fscanf(f, "%15s", lvl) == 1 && tkm_ok(tkm_log_level_parse(lvl, &out->log_level))) out->set_log_level = 1;
        fclose(f);
    }
}

static tkm_rc health_state(void *arg) {
    (void)arg;
    struct stat st;
    if (stat(path_of("unhealthy"), &st) == 0) {
        tkm_err_detail_set("state closed");
        return TKM_RC(TKM_ERR_STORE);
    }
    return TKM_RC_OK;
}

/* information in /healthz: how many times it was asked (does not bear on the status) */
static json_t *health_asked(void *arg) {
    (void)arg;
    static _Atomic int n;
    return json_pack("{s:i}", "asked", atomic_fetch_add(&n, 1) + 1);
}

static void rpc_echo(tkm_rpc_call *c, void *arg) {
    (void)arg;
    json_t *p = tkm_rpc_call_params(c);
    tkm_rpc_call_result(c, p ? json_deep_copy(p) : NULL);
}

static void rpc_sign(tkm_rpc_call *c, void *arg) {
    (void)arg;
    json_t *p = tkm_rpc_call_params(c);
    const char *msg = json_string_value(json_array_get(p, 0));
    if (!msg) {
        tkm_err_detail_set("params[0]: must be a string");
        tkm_rpc_call_fail(c, TKM_RC(TKM_ERR_JSON_TYPE));
        return;
    }
    uint8_t d[32], sig[65];
    tkm_keccak256(d, (const uint8_t *)msg, strlen(msg));
    tkm_rc rc = tkm_secp_sign(sig, sign_key, d);
    if (tkm_failed(rc)) {
        tkm_rpc_call_fail(c, rc);
        return;
    }
    char hex[2 + 130 + 1];
    hex[0] = '0';
    hex[1] = 'x';
    for (int i = 0; i < 65; i++) snprintf(hex + 2 + 2 * i, 3, "%02x", sig[i]);
    tkm_api_req_set_decision(tkm_rpc_call_req(c), "allow");
    tkm_rpc_call_result(c, json_string(hex));
}

static void rpc_policy(tkm_rpc_call *c, void *arg) {
    (void)arg;
    tkm_rpc_error e = {.code = (int)TKM_ERR_POLICY_DENIED, .err = TKM_ERR_POLICY_DENIED};
    snprintf(e.reason, sizeof e.reason, "LIMIT_EXCEEDED");
    snprintf(e.rule, sizeof e.rule, "daily-usdc");
    snprintf(e.detail, sizeof e.detail, "1000000 over the 24h limit");
    tkm_api_req_set_decision(tkm_rpc_call_req(c), "deny:LIMIT_EXCEEDED");
    tkm_rpc_call_error(c, &e);
}

static void rpc_quantity(tkm_rpc_call *c, void *arg) {
    (void)arg;
    tkm_u256 v;
    tkm_rc rc = tkm_json_quantity(tkm_rpc_call_params(c), "params", "value", 1, &v, NULL);
    if (tkm_failed(rc)) {
        tkm_rpc_call_fail(c, rc);
        return;
    }
    tkm_rpc_call_result(c, json_true());
}

static void *later(void *arg) {
    usleep(200000);
    tkm_rpc_call_result(arg, json_string("late"));
    return NULL;
}

/* completes from another thread, 200 ms later (what a group-commit signer does) */
static void rpc_async(tkm_rpc_call *c, void *arg) {
    (void)arg;
    pthread_t t;
    if (pthread_create(&t, NULL, later, c) != 0) {
        tkm_rpc_call_fail(c, TKM_RC(TKM_ERR_NOMEM));
        return;
    }
    pthread_detach(t);
}

static void rest_echo(tkm_api_req *r, void *arg) {
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "route", (const char *)arg, "rest", tkm_api_req_path_rest(r),
                          "cn", tkm_api_req_identity(r)->cn, "fpr", tkm_api_req_identity(r)->fingerprint_hex);
    tkm_api_req_reply_json(r, 200, o);
}

static void rest_slow(tkm_api_req *r, void *arg) {
    (void)arg;
    tkm_log(TKM_LOG_INFO, "test", "slow request started"); /* the drain test waits for this line */
    usleep(1000000); /* on a worker thread */
    tkm_api_req_reply_json(r, 200, json_pack("{s:b}", "slow", 1));
}

/* A streamed answer: n lines "line <i> <padding>\n" of 100 bytes each (query "n=<count>"). */
static void rest_stream(tkm_api_req *r, void *arg) {
    (void)arg;
    const char *q = tkm_api_req_query(r);
    long n = q && strncmp(q, "n=", 2) == 0 ? atol(q + 2) : 10;
    tkm_api_req_stream_begin(r, 200, "application/jsonl");
    char line[101];
    char buf[64 * 101];
    size_t used = 0;
    for (long i = 0; i < n; i++) {
        memset(line, '.', sizeof line);
        int k = snprintf(line, 20, "line %09ld ", i);
        line[k] = '.';
        line[99] = '\n';
        memcpy(buf + used, line, 100);
        used += 100;
        if (used + 100 > sizeof buf || i == n - 1) {
            if (!tkm_api_req_stream_write(r, buf, used)) break;
            used = 0;
        }
    }
    tkm_api_req_stream_end(r);
}

/* A short streamed answer whose producer starts a little after the loop: the header block is ready before any chunk. */
static void rest_stream_late(tkm_api_req *r, void *arg) {
    (void)arg;
    static _Atomic unsigned k;
    tkm_api_req_stream_begin(r, 200, "application/jsonl");
    usleep(atomic_fetch_add(&k, 1) * 37 % 400); /* 0-400 us: around the time the loop takes to write the headers */
    static const char line[] = "{\"late\":true}\n";
    (void)tkm_api_req_stream_write(r, line, sizeof line - 1);
    tkm_api_req_stream_end(r);
}

static const tkm_rpc_method methods[] = {
    {"echo", TKM_ROLE_SIGN, rpc_echo, NULL},       {"sign", TKM_ROLE_SIGN, rpc_sign, NULL},
    {"policy", TKM_ROLE_SIGN, rpc_policy, NULL},   {"quantity", TKM_ROLE_SIGN, rpc_quantity, NULL},
    {"async", TKM_ROLE_SIGN, rpc_async, NULL},     {"admin_only", TKM_ROLE_ADMIN, rpc_echo, NULL},
};

static void run_child(int wfd) {
    tkm_json_init();
    uint8_t skb[32];
    memset(skb, 0x11, sizeof skb);
    if (tkm_failed(tkm_secret_from(&sign_key, skb, 32))) _exit(3);
    tkm_rpc_endpoint *ep = NULL;
    tkm_api_config cfg = {
        .host = "127.0.0.1",
        .threads = 2,
        .cert_file = path_of("server.crt"),
        .key_file = path_of("server.key"),
        .client_ca_file = path_of("ca.crt"),
        .max_body = 64 * 1024,
        .io_timeout_ms = 2500, /* short for the slow-client cases, with room for a loaded machine */
        .request_timeout_ms = 3000,
        .drain_timeout_ms = 5000,
        .rate = 50,
        .burst = 100,
        .max_conns_per_ip = 16,
        .handle_signals = 1,
        .log_requests = 1,
        .authorize = authorize,
        .audit = audit,
        .reload = reload,
    };
    if (tkm_failed(tkm_api_server_new(&srv, &cfg))) {
        fprintf(stderr, "server_new: %s\n", tkm_err_detail());
        _exit(4);
    }
    if (tkm_failed(tkm_rpc_endpoint_new(&ep, methods, sizeof methods / sizeof methods[0],
                                        tkm_api_server_metrics(srv), NULL)))
        _exit(5);
    tkm_api_route routes[] = {
        {.name = "jsonrpc", .methods = TKM_HTTP_POST, .path = "/", .flags = TKM_API_ROUTE_JSON,
         .fn = tkm_rpc_handle, .arg = ep},
        {.name = "admin", .methods = TKM_HTTP_GET | TKM_HTTP_POST, .path = "/admin/v1/",
         .flags = TKM_API_ROUTE_PREFIX | TKM_API_ROUTE_JSON, .roles = TKM_ROLE_ADMIN, .fn = rest_echo,
         .arg = "admin"},
        {.name = "eth2_sign", .methods = TKM_HTTP_POST, .path = "/api/v1/eth2/sign/",
         .flags = TKM_API_ROUTE_PREFIX | TKM_API_ROUTE_JSON, .roles = TKM_ROLE_SIGN, .fn = rest_echo,
         .arg = "eth2"},
        {.name = "slow", .methods = TKM_HTTP_GET, .path = "/slow", .flags = TKM_API_ROUTE_WORKER,
         .roles = TKM_ROLE_SIGN, .fn = rest_slow},
        {.name = "stream", .methods = TKM_HTTP_GET, .path = "/stream", .flags = TKM_API_ROUTE_WORKER,
         .roles = TKM_ROLE_SIGN, .fn = rest_stream},
        {.name = "stream-late", .methods = TKM_HTTP_GET, .path = "/stream-late", .flags = TKM_API_ROUTE_WORKER,
         .roles = TKM_ROLE_SIGN, .fn = rest_stream_late},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (tkm_failed(tkm_api_server_route(srv, &routes[i]))) _exit(6);
    if (tkm_failed(tkm_api_server_health_check(srv, "state", health_state, NULL))) _exit(7);
    if (tkm_failed(tkm_api_server_health_info(srv, "info", health_asked, NULL))) _exit(7);
    if (tkm_api_server_health_info(srv, "info", health_asked, NULL).code != TKM_ERR_EXISTS) _exit(7);
    if (tkm_failed(tkm_api_server_start(srv))) {
        fprintf(stderr, "start: %s\n", tkm_err_detail());
        _exit(8);
    }
    uint16_t p = tkm_api_server_port(srv);
    if (write(wfd, &p, sizeof p) != sizeof p) _exit(9);
    close(wfd);
    tkm_rc rc = tkm_api_server_run(srv);
    fprintf(stderr, "CHILD run returned %s, store closed\n", tkm_err_name(rc.code));
    tkm_api_server_free(srv);
    tkm_rpc_endpoint_free(ep);
    tkm_secret_free(sign_key);
    exit(tkm_ok(rc) ? 0 : 10); /* exit, not _exit: the sanitizers check for leaks */
}

/* ------------------------------------------------------------ client helpers */

typedef struct {
    long status;
    char *body;
    size_t len, cap; /* cap grows geometrically: a 5 MB answer must not cost the client seconds of copying
                      * (an idle keep-alive connection is closed after io_timeout_ms) */
    char retry_after[16];
    CURLcode err;
    long connects;
} resp;

static size_t on_body(char *p, size_t sz, size_t n, void *arg) {
    resp *r = arg;
    size_t add = sz * n;
    if (r->len + add + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + add + 1) cap *= 2;
        char *nb = realloc(r->body, cap);
        if (!nb) return 0;
        r->body = nb;
        r->cap = cap;
    }
    memcpy(r->body + r->len, p, add);
    r->len += add;
    r->body[r->len] = 0;
    return add;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg) {
    resp *r = arg;
    size_t len = sz * n;
    if (len > 13 && strncasecmp(p, "Retry-After: ", 13) == 0)
        snprintf(r->retry_after, sizeof r->retry_after, "%.*s", (int)(len - 15 > 15 ? 15 : len - 15), p + 13);
    return len;
}

/* who: client file prefix or NULL for no certificate. */
static void setup(CURL *h, const char *who) {
    curl_easy_setopt(h, CURLOPT_CAINFO, path_of("ca.crt"));
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (who) {
        char c[64], k[64];
        snprintf(c, sizeof c, "%s.crt", who);
        snprintf(k, sizeof k, "%s.key", who);
        curl_easy_setopt(h, CURLOPT_SSLCERT, path_of(c));
        curl_easy_setopt(h, CURLOPT_SSLKEY, path_of(k));
    }
}

static resp do_req(CURL *h, const char *who, const char *method, const char *path, const char *ctype,
                   const char *body, size_t blen) {
    resp r = {0};
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    int own = h == NULL;
    if (own) h = curl_easy_init();
    curl_easy_reset(h);
    setup(h, who);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
    struct curl_slist *hd = NULL;
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
        hd = curl_slist_append(hd, ct);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    }
    r.err = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r.connects);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hd);
    if (own) curl_easy_cleanup(h);
    return r;
}

static resp rpc(const char *who, const char *body) {
    return do_req(NULL, who, "POST", "/", NULL, body, strlen(body));
}

static json_t *body_json(const resp *r) {
    json_error_t e;
    json_t *j = r->body ? json_loads(r->body, 0, &e) : NULL;
    if (!j) fail_msg("response is not JSON (status %ld): %s", r->status, r->body ? r->body : "(none)");
    return j;
}

static const char *err_code(json_t *j) { return json_string_value(json_object_get(json_object_get(j, "error"), "code")); }

static char *read_log(void) {
    size_t n;
    return (char *)tu_read_file(path_of("server.log"), &n);
}

/* Wait (up to 10 s) until the server log holds needle: sequencing by what the server did, not by sleeps. */
static int wait_log(const char *needle) {
    for (int i = 0; i < 1000; i++) {
        char *log = read_log();
        int found = log && strstr(log, needle) != NULL;
        free(log);
        if (found) return 1;
        usleep(10000);
    }
    return 0;
}

static int count_substr(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* ------------------------------------------------------------ tests */

static void test_healthz(void **state) {
    (void)state;
    resp r = do_req(NULL, NULL, "GET", "/healthz", NULL, NULL, 0); /* public: no certificate needed */
    assert_int_equal(r.err, CURLE_OK);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    /* information entries ride along, computed per request */
    json_int_t asked = json_integer_value(json_object_get(json_object_get(j, "info"), "asked"));
    assert_true(asked >= 1);
    json_decref(j);
    free(r.body);
    FILE *f = fopen(path_of("unhealthy"), "w");
    fclose(f);
    r = do_req(NULL, NULL, "GET", "/healthz", NULL, NULL, 0);
    assert_int_equal(r.status, 503);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "failing"), 0)), "state");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "checks"), "state")), "STORE");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "info"), "asked")), asked + 1);
    json_decref(j);
    free(r.body);
    unlink(path_of("unhealthy"));
}

static void test_tls12_refused(void **state) {
    (void)state;
    CURL *h = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "%s/healthz", base);
    setup(h, "signer");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
    CURLcode e = curl_easy_perform(h);
    assert_int_equal(e, CURLE_SSL_CONNECT_ERROR);
    curl_easy_cleanup(h);
    /* and with raw OpenSSL: a TLS 1.2-only ClientHello gets no handshake */
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    assert_true(SSL_connect(ssl) <= 0);
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
}

static void test_unauthenticated_and_foreign_ca(void **state) {
    (void)state;
    const char *body = "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[1],\"id\":1}";
    resp r = rpc(NULL, body);
    assert_int_equal(r.err, CURLE_OK);
    assert_int_equal(r.status, 401);
    json_t *j = body_json(&r);
    assert_string_equal(err_code(j), "NO_CLIENT_CERT");
    json_decref(j);
    free(r.body);
    /* a certificate with the admin CN from another CA is not trusted */
    r = do_req(NULL, "foreign-admin", "GET", "/admin/v1/keys", NULL, NULL, 0);
    assert_int_equal(r.err, CURLE_OK);
    assert_int_equal(r.status, 401);
    j = body_json(&r);
    assert_string_equal(err_code(j), "CLIENT_CERT_UNTRUSTED");
    json_decref(j);
    free(r.body);
    usleep(100000);
    char *log = read_log();
    assert_non_null(strstr(log, "AUDIT status=401 code=NO_CLIENT_CERT path=/ rpc=- cn=-"));
    assert_non_null(strstr(log, "AUDIT status=401 code=CLIENT_CERT_UNTRUSTED path=/admin/v1/keys rpc=- cn=admin"));
    free(log);
}

static void test_roles(void **state) {
    (void)state;
    resp r = do_req(NULL, "reader", "GET", "/admin/v1/keys", NULL, NULL, 0);
    assert_int_equal(r.status, 403);
    json_t *j = body_json(&r);
    assert_string_equal(err_code(j), "ROLE_MISSING");
    json_decref(j);
    free(r.body);
    r = do_req(NULL, "admin", "GET", "/admin/v1/keys/abc", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "rest")), "keys/abc");
    assert_string_equal(json_string_value(json_object_get(j, "cn")), "admin");
    assert_int_equal(strlen(json_string_value(json_object_get(j, "fpr"))), 64);
    json_decref(j);
    free(r.body);
    /* prefix route with a path parameter */
    r = do_req(NULL, "signer", "POST", "/api/v1/eth2/sign/0xabcd", NULL, "{}", 2);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "rest")), "0xabcd");
    json_decref(j);
    free(r.body);
    /* JSON-RPC method roles are answered in-band (HTTP 200) and audited as 403 */
    r = rpc("signer", "{\"jsonrpc\":\"2.0\",\"method\":\"admin_only\",\"id\":9}");
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    json_t *e = json_object_get(j, "error");
    assert_int_equal(json_integer_value(json_object_get(e, "code")), 701);
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "data"), "reason")), "ROLE_MISSING");
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 9);
    json_decref(j);
    free(r.body);
    /* unknown route, wrong method */
    r = do_req(NULL, "admin", "GET", "/nope", NULL, NULL, 0);
    assert_int_equal(r.status, 404);
    free(r.body);
    r = do_req(NULL, "admin", "GET", "/", NULL, NULL, 0);
    assert_int_equal(r.status, 405);
    free(r.body);
    usleep(100000);
    char *log = read_log();
    assert_non_null(strstr(log, "AUDIT status=403 code=ROLE_MISSING path=/admin/v1/keys rpc=- cn=reader need=admin"));
    assert_non_null(strstr(log, "AUDIT status=403 code=ROLE_MISSING path=/ rpc=admin_only cn=signer need=admin"));
    free(log);
}

static void test_jsonrpc_errors(void **state) {
    (void)state;
    resp r = rpc("signer", "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[1,2");
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")), -32700);
    assert_true(json_is_null(json_object_get(j, "id")));
    json_decref(j);
    free(r.body);
    r = rpc("signer", "{\"jsonrpc\":\"1.0\",\"method\":\"echo\",\"id\":\"x\"}");
    j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")), -32600);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "x");
    json_decref(j);
    free(r.body);
    r = rpc("signer", "[]");
    j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")), -32600);
    json_decref(j);
    free(r.body);
    /* Content-Type must be JSON */
    const char *ok = "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}";
    r = do_req(NULL, "signer", "POST", "/", "text/plain", ok, strlen(ok));
    assert_int_equal(r.status, 415);
    free(r.body);
    r = do_req(NULL, "signer", "POST", "/", "application/json; charset=utf-8", ok, strlen(ok));
    assert_int_equal(r.status, 200);
    free(r.body);
}

static void test_jsonrpc_batch(void **state) {
    (void)state;
    const char *b = "["
                    "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[\"a\"],\"id\":1},"
                    "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[\"notified\"]},"
                    "{\"foo\":\"boo\"},"
                    "{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":3},"
                    "{\"jsonrpc\":\"2.0\",\"method\":\"policy\",\"params\":[],\"id\":4},"
                    "{\"jsonrpc\":\"2.0\",\"method\":\"quantity\",\"params\":{\"value\":5},\"id\":5},"
                    "{\"jsonrpc\":\"2.0\",\"method\":\"async\",\"id\":6},"
                    "{\"jsonrpc\":\"2.0\",\"method\":\"sign\",\"params\":[\"hello\"],\"id\":\"s\"}"
                    "]";
    resp r = rpc("signer", b);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 7); /* the notification is not answered */
    json_t *a0 = json_array_get(j, 0);
    assert_int_equal(json_integer_value(json_object_get(a0, "id")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(a0, "result"), 0)), "a");
    assert_string_equal(json_string_value(json_object_get(a0, "jsonrpc")), "2.0");
    json_t *a1 = json_array_get(j, 1);
    assert_true(json_is_null(json_object_get(a1, "id")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a1, "error"), "code")), -32600);
    json_t *a2 = json_array_get(j, 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a2, "error"), "code")), -32601);
    json_t *a3 = json_array_get(j, 3);
    json_t *e3 = json_object_get(a3, "error");
    assert_int_equal(json_integer_value(json_object_get(e3, "code")), 400);
    json_t *d3 = json_object_get(e3, "data");
    assert_string_equal(json_string_value(json_object_get(d3, "reason")), "LIMIT_EXCEEDED");
    assert_string_equal(json_string_value(json_object_get(d3, "rule")), "daily-usdc");
    json_t *a4 = json_array_get(j, 4);
    json_t *e4 = json_object_get(a4, "error");
    assert_int_equal(json_integer_value(json_object_get(e4, "code")), -32602);
    assert_string_equal(json_string_value(json_object_get(json_object_get(e4, "data"), "reason")), "QUANTITY");
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(e4, "data"), "detail")), "params.value"));
    json_t *a5 = json_array_get(j, 5);
    assert_string_equal(json_string_value(json_object_get(a5, "result")), "late");
    /* the signature recovers to the child's key */
    json_t *a6 = json_array_get(j, 6);
    const char *sig = json_string_value(json_object_get(a6, "result"));
    assert_non_null(sig);
    uint8_t sigb[65], d[32], pub[65], want[65];
    tu_hex_exact(sigb, 65, sig);
    tkm_keccak256(d, (const uint8_t *)"hello", 5);
    TU_ASSERT_OK(tkm_secp_recover(pub, d, sigb, TKM_SECP_REQUIRE_LOW_S));
    uint8_t skb[32];
    memset(skb, 0x11, 32);
    tkm_secret *sk;
    TU_ASSERT_OK(tkm_secret_from(&sk, skb, 32));
    TU_ASSERT_OK(tkm_secp_pubkey(want, sk));
    tkm_secret_free(sk);
    assert_memory_equal(pub, want, 65);
    json_decref(j);
    free(r.body);
    /* only notifications: 204, no body */
    r = rpc("signer", "[{\"jsonrpc\":\"2.0\",\"method\":\"echo\"},{\"jsonrpc\":\"2.0\",\"method\":\"async\"}]");
    assert_int_equal(r.status, 204);
    assert_int_equal(r.len, 0);
    free(r.body);
}

static void test_body_limits_and_no_body_in_logs(void **state) {
    (void)state;
    size_t n = 200 * 1024;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    memcpy(big, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[\"SECRET-MARKER-7f3a\"],\"id\":1}", 69);
    big[n] = 0;
    resp r = rpc("signer", big);
    assert_int_equal(r.status, 413);
    free(r.body);
    free(big);
    /* a normal request carrying a marker: the marker never reaches the log */
    r = rpc("signer", "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[\"SECRET-MARKER-7f3a\"],\"id\":1}");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "SECRET-MARKER-7f3a"));
    free(r.body);
    usleep(100000);
    char *log = read_log();
    assert_null(strstr(log, "SECRET-MARKER"));
    /* request lines are JSON with the documented fields */
    const char *line = strstr(log, "\"msg\":\"request\"");
    assert_non_null(line);
    while (line > log && line[-1] != '\n') line--;
    const char *eol = strchr(line, '\n');
    char *one = strndup(line, (size_t)(eol - line));
    json_error_t e;
    json_t *j = json_loads(one, 0, &e);
    assert_non_null(j);
    static const char *fields[] = {"rid", "method", "route", "status", "latency_us", "client"};
    for (size_t i = 0; i < 6; i++) assert_non_null(json_object_get(j, fields[i]));
    json_decref(j);
    free(one);
    free(log);
}

static void test_keepalive(void **state) {
    (void)state;
    CURL *h = curl_easy_init();
    long total = 0;
    for (int i = 0; i < 30; i++) {
        resp r = do_req(h, "admin", "POST", "/", NULL, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}", 40);
        assert_int_equal(r.status, 200);
        total += r.connects;
        free(r.body);
    }
    assert_int_equal(total, 1); /* one TLS connection for all 30 requests */
    curl_easy_cleanup(h);
}

static size_t stop_after(char *p, size_t sz, size_t n, void *arg) {
    (void)p;
    size_t *got = arg;
    *got += sz * n;
    return *got > 200000 ? 0 : sz * n; /* abort the transfer after ~200 KB */
}

/* Streamed answers: 5 MB in chunks with flow control, keep-alive afterwards; a client that leaves mid-way. */
static void test_streaming(void **state) {
    (void)state;
    CURL *h = curl_easy_init();
    resp r = do_req(h, "admin", "GET", "/stream?n=50000", NULL, NULL, 0);
    assert_int_equal(r.err, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 50000 * 100);
    assert_memory_equal(r.body + 49999 * 100, "line 000049999 ", 15);
    assert_memory_equal(r.body, "line 000000000 ", 15);
    free(r.body);
    r = do_req(h, "admin", "POST", "/", NULL, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}", 40);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.connects, 0); /* same connection after the chunked answer */
    free(r.body);
    /* a client that stops reading and leaves: the producer stops, the server keeps serving */
    CURL *g = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "%s/stream?n=2000000", base);
    setup(g, "admin");
    size_t got = 0;
    curl_easy_setopt(g, CURLOPT_URL, url);
    curl_easy_setopt(g, CURLOPT_WRITEFUNCTION, stop_after);
    curl_easy_setopt(g, CURLOPT_WRITEDATA, &got);
    assert_int_equal(curl_easy_perform(g), CURLE_WRITE_ERROR);
    curl_easy_cleanup(g);
    /* new connections: h has been idle meanwhile and the server may close an idle one (io_timeout_ms) */
    for (int i = 0; i < 3; i++) {
        r = do_req(NULL, "admin", "GET", "/stream?n=10", NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.len, 1000);
        free(r.body);
    }
    curl_easy_cleanup(h);
}

/* Short streamed answers whose header block is ready before the first chunk: every one arrives whole. */
static void test_streaming_short(void **state) {
    (void)state;
    for (int i = 0; i < 80; i++) { /* two clients, each within its burst (rate limits are per client) */
        resp r = do_req(NULL, i % 2 ? "signer" : "admin", "GET", "/stream-late", NULL, NULL, 0);
        if (r.err != CURLE_OK || r.status != 200 || r.len != 14)
            fail_msg("answer %d: curl error %d, status %ld, %zu bytes", i, (int)r.err, r.status, r.len);
        assert_memory_equal(r.body, "{\"late\":true}\n", 14);
        free(r.body);
    }
    sleep(1); /* give the bucket back to the tests that follow */
}

static void test_rate_limit(void **state) {
    (void)state;
    CURL *h = curl_easy_init();
    int ok = 0, limited = 0;
    char retry[16] = "";
    for (int i = 0; i < 3000 && !limited; i++) {
        resp r = do_req(h, "flooder", "POST", "/", NULL, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}", 40);
        if (r.status == 200) ok++;
        if (r.status == 429) {
            limited++;
            snprintf(retry, sizeof retry, "%s", r.retry_after);
            json_t *j = body_json(&r);
            assert_string_equal(err_code(j), "RATE_LIMIT");
            json_decref(j);
        }
        free(r.body);
    }
    curl_easy_cleanup(h);
    assert_int_equal(limited, 1);
    assert_true(ok >= 99); /* the burst */
    assert_true(atoi(retry) >= 1);
    /* other clients are not affected */
    resp r = rpc("signer", "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}");
    assert_int_equal(r.status, 200);
    free(r.body);
    /* a batch spends one token per item */
    sleep(2);
    char batch[16384];
    size_t o = 0;
    batch[o++] = '[';
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(batch + o, sizeof batch - o, "%s{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":%d}",
                              i ? "," : "", i);
    batch[o++] = ']';
    batch[o] = 0;
    r = rpc("flooder", batch); /* the bucket (100) refills in 2 s: a 100-item batch fits at most once */
    resp r2 = rpc("flooder", batch);
    assert_true(r.status == 429 || r2.status == 429);
    free(r.body);
    free(r2.body);
}

static int tcp_connect(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) fail_msg("connect: %s", strerror(errno));
    struct timeval tv = {.tv_sec = 8}; /* never hang the test */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

static double now_s(void) { return (double)tkm_time_mono_ns() / 1e9; }

typedef struct {
    _Atomic int stop;
    _Atomic int served, failed;
} bystander;

static void *serve_others(void *arg) {
    bystander *b = arg;
    while (!atomic_load(&b->stop)) {
        resp r = rpc("admin", "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}");
        if (r.status == 200)
            atomic_fetch_add(&b->served, 1);
        else
            atomic_fetch_add(&b->failed, 1);
        free(r.body);
        usleep(50000);
    }
    return NULL;
}

static void test_slow_clients(void **state) {
    (void)state;
    bystander b = {0};
    pthread_t t;
    pthread_create(&t, NULL, serve_others, &b);

    /* 1. a TCP connection that never says hello: closed by the request deadline */
    int fd0 = tcp_connect();
    /* 2. TLS established, headers dribbled one byte every 100 ms forever */
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_use_certificate_file(ctx, path_of("signer.crt"), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx, path_of("signer.key"), SSL_FILETYPE_PEM);
    int fd1 = tcp_connect();
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd1);
    assert_int_equal(SSL_connect(ssl), 1);
    const char *hdr = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    double t0 = now_s(), closed_at = 0;
    for (size_t i = 0; i < 200; i++) {
        char ch = hdr[i % strlen(hdr)];
        if (SSL_write(ssl, &ch, 1) != 1) {
            closed_at = now_s();
            break;
        }
        usleep(100000);
    }
    assert_true(closed_at > 0);
    assert_true(closed_at - t0 < 4.5); /* request_timeout_ms = 3000 (+ slack) */
    SSL_free(ssl);
    close(fd1);
    /* 3. the silent TCP connection is gone too: read returns EOF or reset */
    struct pollfd pfd = {.fd = fd0, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 3000), 1);
    char c;
    assert_true(read(fd0, &c, 1) <= 0);
    close(fd0);
    /* 4. headers sent, then a stall: closed by the I/O timeout */
    int fd2 = tcp_connect();
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd2);
    assert_int_equal(SSL_connect(ssl), 1);
    const char *partial = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
    assert_true(SSL_write(ssl, partial, (int)strlen(partial)) > 0);
    t0 = now_s();
    char buf[256];
    int n = SSL_read(ssl, buf, sizeof buf); /* blocks until the server gives up */
    double waited = now_s() - t0;
    assert_true(n <= 0 || waited < 4.5);
    assert_true(waited < 4.5);
    SSL_free(ssl);
    close(fd2);
    SSL_CTX_free(ctx);

    atomic_store(&b.stop, 1);
    pthread_join(t, NULL);
    assert_true(atomic_load(&b.served) >= 20); /* others were served all along */
    assert_int_equal(atomic_load(&b.failed), 0);
}

static SSL *tls_open(SSL_CTX *ctx, int *fd_out) {
    int fd = tcp_connect();
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    *fd_out = fd;
    if (SSL_connect(ssl) != 1) {
        SSL_free(ssl);
        close(fd);
        *fd_out = -1;
        return NULL;
    }
    /* TLS 1.3: the client may finish before the server; a request proves the connection was admitted */
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[64];
    if (SSL_write(ssl, req, (int)strlen(req)) <= 0 || SSL_read(ssl, buf, sizeof buf) <= 0) {
        SSL_free(ssl);
        close(fd);
        *fd_out = -1;
        return NULL;
    }
    return ssl;
}

static void test_connection_caps(void **state) {
    (void)state;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *s[17];
    int fd[17];
    for (int i = 0; i < 16; i++) {
        s[i] = tls_open(ctx, &fd[i]);
        assert_non_null(s[i]);
    }
    s[16] = tls_open(ctx, &fd[16]); /* max_conns_per_ip = 16 */
    assert_null(s[16]);
    for (int i = 0; i < 16; i++) {
        SSL_free(s[i]);
        close(fd[i]);
    }
    usleep(300000);
    s[0] = tls_open(ctx, &fd[0]); /* room again */
    assert_non_null(s[0]);
    SSL_free(s[0]);
    close(fd[0]);
    SSL_CTX_free(ctx);
    usleep(200000);
}

static void test_metrics(void **state) {
    (void)state;
    resp r = do_req(NULL, NULL, "GET", "/metrics", NULL, NULL, 0);
    assert_int_equal(r.status, 401); /* not public by default */
    free(r.body);
    r = do_req(NULL, "reader", "GET", "/metrics", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    FILE *f = fopen(path_of("metrics.txt"), "w");
    fwrite(r.body, 1, r.len, f);
    fclose(f);
    assert_non_null(strstr(r.body, "tkm_http_requests_total{route=\"jsonrpc\",code=\"200\"}"));
    assert_non_null(strstr(r.body, "tkm_http_auth_denied_total{status=\"401\",reason=\"NO_CLIENT_CERT\"}"));
    assert_non_null(strstr(r.body, "tkm_jsonrpc_calls_total{method=\"policy\",outcome=\"400\"} "));
    assert_non_null(strstr(r.body, "tkm_http_connections_rejected_total{reason=\"max_conns_per_ip\"} 1"));
    assert_non_null(strstr(r.body, "tkm_jsonrpc_calls_total{method=\"echo\",outcome=\"ok\"} "));
    free(r.body);
    /* an independent parser: the Prometheus project's Python client */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import sys\n"
             "from prometheus_client.parser import text_string_to_metric_families as p\n"
             "fams = list(p(open(sys.argv[1]).read()))\n"
             "names = {f.name: f for f in fams}\n"
             "assert names[\"tkm_http_requests\"].type == \"counter\", names.keys()\n"
             "h = names[\"tkm_http_request_duration_seconds\"]\n"
             "assert h.type == \"histogram\"\n"
             "assert any(s.name.endswith(\"_bucket\") and s.labels.get(\"le\") == \"+Inf\" for s in h.samples)\n"
             "print(\"parsed\", len(fams), \"families\")\n' %s",
             path_of("metrics.txt"));
    assert_int_equal(system(cmd), 0);
}

static void test_sighup_reload(void **state) {
    (void)state;
    /* trust the foreign CA too, and lower the log level to warn */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp %s %s.orig && cp %s %s", path_of("ca.crt"), path_of("ca.crt"), path_of("both-ca.crt"),
             path_of("ca.crt"));
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(path_of("loglevel"), "w");
    fputs("warn\n", f);
    fclose(f);
    assert_int_equal(kill(child, SIGHUP), 0);
    usleep(300000);
    char *before = read_log();
    int lines_before = count_substr(before, "\"msg\":\"request\"");
    free(before);
    resp r = do_req(NULL, "foreign-admin", "GET", "/admin/v1/x", NULL, NULL, 0);
    assert_int_equal(r.status, 200); /* now trusted: roles by CN */
    free(r.body);
    usleep(100000);
    char *after = read_log();
    assert_int_equal(count_substr(after, "\"msg\":\"request\""), lines_before); /* info lines off */
    free(after);
    /* back to the original CA and level */
    snprintf(cmd, sizeof cmd, "mv %s.orig %s", path_of("ca.crt"), path_of("ca.crt"));
    assert_int_equal(system(cmd), 0);
    f = fopen(path_of("loglevel"), "w");
    fputs("info\n", f);
    fclose(f);
    assert_int_equal(kill(child, SIGHUP), 0);
    usleep(300000);
    r = do_req(NULL, "foreign-admin", "GET", "/admin/v1/x", NULL, NULL, 0);
    assert_int_equal(r.status, 401);
    free(r.body);
}

typedef struct {
    resp r;
} slow_arg;

static void *slow_req(void *arg) {
    slow_arg *a = arg;
    a->r = do_req(NULL, "signer", "GET", "/slow", NULL, NULL, 0);
    return NULL;
}

static void test_sigterm_drain(void **state) {
    (void)state;
    slow_arg a = {0};
    pthread_t t;
    pthread_create(&t, NULL, slow_req, &a);
    assert_true(wait_log("slow request started")); /* the slow request is in flight on a worker */
    assert_int_equal(kill(child, SIGTERM), 0);
    assert_true(wait_log("draining: "));
    /* no new connection is accepted while draining */
    resp r = do_req(NULL, "signer", "POST", "/", NULL, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}", 40);
    assert_int_not_equal(r.status, 200);
    free(r.body);
    pthread_join(t, NULL);
    assert_int_equal(a.r.err, CURLE_OK);
    assert_int_equal(a.r.status, 200); /* the in-flight request finished */
    free(a.r.body);
    int st = 0;
    double t0 = now_s();
    assert_int_equal(waitpid(child, &st, 0), child);
    child = 0;
    char *log = read_log();
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) /* the sanitizers' report, if any, is in the child's log */
        fprintf(stderr, "child %s %d; the end of its log:\n%s\n", WIFEXITED(st) ? "exited" : "killed by signal",
                WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
                log ? log + (strlen(log) > 6000 ? strlen(log) - 6000 : 0) : "(none)");
    assert_true(now_s() - t0 < 5.0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_non_null(strstr(log, "CHILD run returned OK, store closed"));
    assert_non_null(strstr(log, "draining"));
    free(log);
}

static void test_httpc_helper(void **state) {
    (void)state;
    tkm_httpc *c = NULL;
    tkm_httpc_config cfg = {.base_url = base, .ca_file = path_of("ca.crt"), .cert_file = path_of("admin.crt"),
                            .key_file = path_of("admin.key"), .timeout_ms = 5000};
    TU_ASSERT_OK(tkm_httpc_new(&c, &cfg));
    json_t *res = NULL;
    tkm_rpc_error e;
    TU_ASSERT_OK(tkm_httpc_rpc(c, "/", "echo", json_pack("[i,s]", 7, "x"), &res, &e));
    assert_int_equal(json_integer_value(json_array_get(res, 0)), 7);
    json_decref(res);
    TU_ASSERT_RC(tkm_httpc_rpc(c, "/", "policy", json_array(), &res, &e), TKM_ERR_REQUEST);
    assert_int_equal(e.code, 400);
    assert_string_equal(e.reason, "LIMIT_EXCEEDED");
    assert_string_equal(e.rule, "daily-usdc");
    long status;
    json_t *out = NULL;
    TU_ASSERT_OK(tkm_httpc_json(c, "GET", "/admin/v1/keys", NULL, &status, &out));
    assert_int_equal(status, 200);
    json_decref(out);
    tkm_httpc_free(c);
    /* wrong CA pin: the server is not trusted */
    cfg.ca_file = path_of("foreign-ca.crt");
    TU_ASSERT_OK(tkm_httpc_new(&c, &cfg));
    TU_ASSERT_RC(tkm_httpc_json(c, "GET", "/healthz", NULL, &status, &out), TKM_ERR_TLS);
    tkm_httpc_free(c);
    /* an error status comes back as HTTP_STATUS with the server's code in the detail */
    cfg.ca_file = path_of("ca.crt");
    cfg.cert_file = path_of("reader.crt");
    cfg.key_file = path_of("reader.key");
    TU_ASSERT_OK(tkm_httpc_new(&c, &cfg));
    TU_ASSERT_RC(tkm_httpc_json(c, "GET", "/admin/v1/keys", NULL, &status, &out), TKM_ERR_HTTP_STATUS);
    assert_int_equal(status, 403);
    assert_non_null(strstr(tkm_err_detail(), "ROLE_MISSING"));
    json_decref(out);
    tkm_httpc_free(c);
    /* plain http URLs are refused unless asked for */
    cfg.base_url = "http://127.0.0.1:1";
    TU_ASSERT_RC(tkm_httpc_new(&c, &cfg), TKM_ERR_FORMAT);
}

static int group_setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tkm-api-test-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    make_pki();
    int p[2];
    if (pipe(p) != 0) return -1;
    fflush(NULL);
    child = fork();
    if (child < 0) return -1;
    if (child == 0) {
        close(p[0]);
        FILE *lf = freopen(path_of("server.log"), "w", stderr);
        if (!lf) _exit(2);
        setvbuf(stderr, NULL, _IONBF, 0);
        run_child(p[1]);
    }
    close(p[1]);
    if (read(p[0], &port, sizeof port) != sizeof port) {
        fprintf(stderr, "server did not start; log:\n");
        char cmd[600];
        snprintf(cmd, sizeof cmd, "cat %s >&2", path_of("server.log"));
        if (system(cmd) != 0) return -1;
        return -1;
    }
    close(p[0]);
    snprintf(base, sizeof base, "https://127.0.0.1:%u", (unsigned)port);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    curl_global_cleanup();
    if (!getenv("TKM_KEEP_TEST_DIR")) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0) return -1;
    }
    return 0;
}

int main(void) {
    tkm_json_init();
    signal(SIGPIPE, SIG_IGN); /* writes to connections the server closed must fail, not kill us */
    setenv("TKM_DONT_MLOCK", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_tls12_refused),
        cmocka_unit_test(test_unauthenticated_and_foreign_ca),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_jsonrpc_errors),
        cmocka_unit_test(test_jsonrpc_batch),
        cmocka_unit_test(test_body_limits_and_no_body_in_logs),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_streaming_short),
        cmocka_unit_test(test_httpc_helper),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_slow_clients),
        cmocka_unit_test(test_connection_caps),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_sighup_reload),
        cmocka_unit_test(test_sigterm_drain),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
