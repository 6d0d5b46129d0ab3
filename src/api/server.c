/* see tkm_http.h */
#include "tkm_http.h"
#include "tkm_ratelimit.h"
#include "../crypto/tkm_ossl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEF_MAX_BODY ((size_t)1 << 20)
#define DEF_MAX_HEADERS ((size_t)16 << 10)
#define DEF_MAX_CONNS 1024u
#define DEF_MAX_CONNS_PER_IP 256u
#define DEF_IO_TIMEOUT_MS 10000u
#define DEF_REQUEST_TIMEOUT_MS 20000u
#define DEF_DRAIN_TIMEOUT_MS 10000u
#define DEF_RATE_CLIENTS 65536u
#define DEF_WORKERS 2u
#define DEF_QUEUE_MAX 4096u
#define MAX_KEY_PEM (64u << 10)
#define REQ_FREELIST_MAX 256u
#define IP_BUCKETS 1024u

typedef struct loop loop;
typedef struct conn conn;

typedef struct {
    tkm_api_route r;
    char *name;
    char *path;
    size_t path_len;
    tkm_metric_child *m_ok;  /* tkm_http_requests_total{route,code="200"} */
    tkm_metric_child *m_dur; /* tkm_http_request_duration_seconds{route} */
} route_ent;

typedef struct health {
    struct health *next;
    char *name;
    tkm_api_health_fn fn;
    tkm_api_health_info_fn info; /* an information entry (fn NULL) */
    void *arg;
} health;

typedef struct ipcount {
    struct ipcount *next;
    uint8_t key[17];
    unsigned n;
} ipcount;

struct conn {
    int refs; /* the SSL's reference + one per request in progress; loop thread only */
    int dead; /* the SSL (and bufferevent) are gone */
    loop *lp;
    struct bufferevent *bev;
    struct event *deadline;
    conn *prev, *next;
    unsigned busy;
    int admitted;
    int counted_ip;
    uint8_t ipkey[17];
    long verify_err; /* first error seen by the verify callback */
    int ident_ready;
    unsigned ctx_gen;
    unsigned roles_gen;
    unsigned roles;
    tkm_api_identity id;
};

typedef struct chunk {
    struct chunk *next;
    size_t len;
    uint8_t data[];
} chunk;

/* A streaming reply: shared between the producing (worker) thread and the loop. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chunk *head, *tail; /* written by the producer, not yet handed to evhttp */
    size_t queued;      /* bytes written and not yet flushed to the socket */
    size_t handed;      /* bytes handed to evhttp since the last flush callback */
    size_t total;
    int started, ended, gone, aborted;
    /* loop thread only: chunks held back until the answer is known to be long */
    chunk *held_head, *held_tail;
    size_t held_len;
    int inflight; /* loop thread only: a chunk handed to evhttp whose write has not completed */
} stream_state;

#define STREAM_WINDOW ((size_t)256 << 10)
/*
 * How streamed answers go out over evhttp and libevent 2.1's TLS bufferevent,
 * whose writes may happen synchronously inside evbuffer_add and whose write
 * callback then reaches whatever completion callback evhttp holds at that
 * moment (callbacks are deferred to the loop to keep them in order):
 *  - an answer that ends before STREAM_HOLD bytes is sent as one plain reply
 *    with a Content-Length;
 *  - a longer one goes out chunked with at most one chunk in flight: the next
 *    chunk (everything produced meanwhile) is handed when the previous write
 *    has completed, and the final chunk only after the last one has.
 * Handing chunks and the end while earlier writes were pending lost data:
 * 200s whose body or final chunk never came, and keep-alive connections that
 * never read their next request (test_streaming, test_streaming_short).
 */
#define STREAM_HOLD ((size_t)64 << 10)

struct tkm_api_req {
    tkm_api_req *next;      /* completion queue / free list */
    int queued;             /* in the loop's completion queue (loop qmu) */
    stream_state *stream;   /* streaming reply, NULL otherwise */
    tkm_api_req *lprev, *lnext; /* live list of the loop */
    loop *lp;
    struct evhttp_request *ev;
    conn *c;
    const route_ent *route;
    char id[17];
    unsigned method;
    char path[512];
    const char *query;
    const char *rest;
    const uint8_t *body;
    size_t body_len;
    tkm_api_identity ident;
    unsigned roles;
    uint64_t t0;
    char decision[64];
    char rpc[64];
    _Atomic int completed;
    int status;
    const char *ctype;
    uint8_t *resp;
    size_t resp_len;
    int close;
};

struct loop {
    tkm_api_server *srv;
    unsigned idx;
    pthread_t tid;
    int started;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct event *wake;
    struct event *ctl;
    pthread_mutex_t qmu;
    tkm_api_req *q_head, *q_tail;
    conn *conns;
    tkm_api_req *live;
    tkm_api_req *free_reqs;
    unsigned n_free;
    int inited;
};

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    tkm_api_req *head, *tail;
    size_t len, max;
    int stop;
    pthread_t *t;
    unsigned n;
} pool;

struct tkm_api_server {
    tkm_api_config cfg;
    char *host, *cert_file, *key_file, *client_ca_file;
    uint8_t *cert_pem;
    tkm_secret *key_pem;
    X509 *cert;
    STACK_OF(X509) *chain;
    EVP_PKEY *key;

    pthread_mutex_t ctx_mu;
    SSL_CTX *ctx;
    _Atomic unsigned ctx_gen;
    _Atomic unsigned roles_gen;

    route_ent *routes;
    size_t n_routes;
    health *checks;
    health *infos;

    loop *loops;
    unsigned n_loops;
    uint16_t port;
    int started;
    pool pool;
    int have_pool;

    tkm_ratelimit *rl;
    pthread_mutex_t ip_mu;
    ipcount *ips[IP_BUCKETS];

    _Atomic int draining;
    _Atomic long inflight;
    _Atomic long conns_open;
    _Atomic uint64_t req_seq;
    uint32_t id_prefix;
    int stop_pipe[2];

    tkm_metrics *metrics;
    int own_metrics;
    tkm_metric *m_requests, *m_duration, *m_conns_total, *m_conns_rejected, *m_denied,
        *m_rate_limited, *m_timeouts;
};

static int ssl_conn_idx = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ---------------------------------------------------------------- helpers */

static const char *reason_phrase(int status) {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

int tkm_api_http_status(tkm_err code) {
    switch (code) {
    case TKM_OK: return 200;
    case TKM_ERR_NOT_FOUND: return 404;
    case TKM_ERR_EXISTS: return 409;
    case TKM_ERR_TIMEOUT: return 504;
    case TKM_ERR_UNAVAILABLE:
    case TKM_ERR_SHUTTING_DOWN:
    case TKM_ERR_TOO_MANY_CONNECTIONS:
    case TKM_ERR_STORE_BUSY: return 503;
    case TKM_ERR_UNAUTHENTICATED:
    case TKM_ERR_NO_CLIENT_CERT:
    case TKM_ERR_CLIENT_CERT_UNTRUSTED: return 401;
    case TKM_ERR_FORBIDDEN:
    case TKM_ERR_ROLE_MISSING: return 403;
    case TKM_ERR_BODY_TOO_LARGE:
    case TKM_ERR_JSON_SIZE:
    case TKM_ERR_TOO_LARGE:
    case TKM_ERR_BATCH_TOO_LARGE: return 413;
    case TKM_ERR_RATE_LIMIT:
    case TKM_ERR_LIMIT: return 429;
    default: break;
    }
    switch (tkm_err_category(code)) {
    case TKM_CAT_PARSE: return 400;
    case TKM_CAT_POLICY: return 403;
    case TKM_CAT_AUTH: return 403;
    case TKM_CAT_LIMIT: return 429;
    case TKM_CAT_STORE: return 503;
    default: return 500;
    }
}

static const char *const role_names[] = {"sign", "approve", "admin", "read"};

void tkm_api_roles_str(unsigned roles, char *out, size_t out_len) {
    if (!out || out_len == 0) return;
    out[0] = 0;
    size_t used = 0;
    for (unsigned i = 0; i < 4; i++) {
        if (!(roles & (1u << i))) continue;
        int n = snprintf(out + used, out_len - used, "%s%s", used ? "," : "", role_names[i]);
        if (n < 0 || (size_t)n >= out_len - used) return;
        used += (size_t)n;
    }
    if (!used) snprintf(out, out_len, "none");
}

tkm_rc tkm_api_role_parse(const char *name, unsigned *role) {
    TKM_ARG_CHECK(name && role);
    *role = 0;
    for (unsigned i = 0; i < 4; i++)
        if (strcmp(name, role_names[i]) == 0) {
            *role = 1u << i;
            return TKM_RC_OK;
        }
    tkm_err_detail_set("unknown role (sign, approve, admin, read)");
    TKM_ENSURE(0, TKM_ERR_FORMAT);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* ------------------------------------------------------------- TLS setup */

static void conn_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp);

static void global_init(void) {
    evthread_use_pthreads();
    ssl_conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_ex_free);
}

/* A PEM file named by the operator (symlinks followed: certbot's live/ tree is made of them). */
static tkm_rc read_pem_file(const char *path, tkm_secret **out) {
    tkm_rc rc = tkm_file_read_secret(path, MAX_KEY_PEM, TKM_FILE_FOLLOW, out);
    tkm_err c = rc.code;
    if (c == TKM_ERR_TRUNCATED || c == TKM_ERR_TOO_LARGE || c == TKM_ERR_FORMAT) {
        tkm_err_detail_set("%s: empty, larger than %u bytes or not a file", path, MAX_KEY_PEM);
        TKM_ENSURE(0, TKM_ERR_TLS);
    }
    return rc;
}

/* Parse the leaf and chain from PEM bytes. */
static tkm_rc parse_cert_pem(const uint8_t *pem, size_t len, X509 **leaf, STACK_OF(X509) **chain) {
    *leaf = NULL;
    *chain = NULL;
    tkm_rc rc = TKM_RC(TKM_ERR_TLS);
    BIO *b = BIO_new_mem_buf(pem, len > INT32_MAX ? INT32_MAX : (int)len);
    STACK_OF(X509) *ch = sk_X509_new_null();
    X509 *l = NULL, *x = NULL;
    if (!b || !ch) TKM_GOTO(rc, TKM_ERR_NOMEM);
    l = PEM_read_bio_X509(b, NULL, NULL, NULL);
    if (!l) {
        TKM_CHECK_GOTO(rc, TKM_OSSL_FAIL(TKM_ERR_TLS, "server certificate PEM"));
    }
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(ch, x)) {
            X509_free(x);
            TKM_GOTO(rc, TKM_ERR_NOMEM);
        }
    }
    ERR_clear_error(); /* the expected end-of-input */
    *leaf = l;
    *chain = ch;
    l = NULL;
    ch = NULL;
    rc = TKM_RC_OK;
out:
    BIO_free(b);
    X509_free(l);
    sk_X509_pop_free(ch, X509_free);
    return rc;
}

static tkm_rc parse_key_pem(const tkm_secret *pem, EVP_PKEY **key) {
    *key = NULL;
    size_t len = tkm_secret_len(pem);
    BIO *b = BIO_new_mem_buf(tkm_secret_ptr(pem), len > INT32_MAX ? INT32_MAX : (int)len);
    TKM_ENSURE(b, TKM_ERR_NOMEM);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!k) {
        return TKM_OSSL_FAIL(TKM_ERR_TLS, "server private key PEM");
    }
    *key = k;
    return TKM_RC_OK;
}

static int verify_cb(int ok, X509_STORE_CTX *x) {
    if (!ok) {
        SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
        conn *c = ssl ? SSL_get_ex_data(ssl, ssl_conn_idx) : NULL;
        if (c && c->verify_err == 0) {
            int e = X509_STORE_CTX_get_error(x);
            c->verify_err = e ? e : X509_V_ERR_UNSPECIFIED;
        }
    }
    /* Keep the handshake going: an untrusted certificate makes the connection
     * unauthenticated (401 on protected routes, audited), not a TLS failure. */
    return 1;
}

static int client_hello_cb(SSL *ssl, int *al, void *arg);

/* Build a fresh server context: certificate, key, client CA bundle. */
static tkm_rc build_ctx(tkm_api_server *s, SSL_CTX **out) {
    *out = NULL;
    tkm_rc rc = TKM_RC(TKM_ERR_TLS);
    STACK_OF(X509_NAME) *names = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) TKM_GOTO(rc, TKM_ERR_NOMEM);
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)) {
        TKM_CHECK_GOTO(rc, TKM_OSSL_FAIL(TKM_ERR_TLS, "TLS 1.3"));
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* No resumption: every connection is verified against the current CA bundle. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (!SSL_CTX_use_certificate(ctx, s->cert) || !SSL_CTX_use_PrivateKey(ctx, s->key) ||
        !SSL_CTX_check_private_key(ctx)) {
        TKM_CHECK_GOTO(rc, TKM_OSSL_FAIL(TKM_ERR_TLS, "server certificate and key do not match or are unusable"));
    }
    for (int i = 0; s->chain && i < sk_X509_num(s->chain); i++)
        if (!SSL_CTX_add1_chain_cert(ctx, sk_X509_value(s->chain, i))) {
            TKM_CHECK_GOTO(rc, TKM_OSSL_FAIL(TKM_ERR_TLS, "certificate chain"));
        }
    if (s->client_ca_file) {
        if (!SSL_CTX_load_verify_locations(ctx, s->client_ca_file, NULL)) {
            TKM_CHECK_GOTO(rc, TKM_OSSL_FAIL(TKM_ERR_TLS, "client CA bundle"));
        }
        names = SSL_load_client_CA_file(s->client_ca_file);
        if (!names || sk_X509_NAME_num(names) == 0) {
            tkm_err_detail_set("client CA bundle %s holds no certificate", s->client_ca_file);
            TKM_GOTO(rc, TKM_ERR_TLS);
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        names = NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, verify_cb);
    SSL_CTX_set_verify_depth(ctx, 5);
    if (!SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT)) {
        TKM_CHECK_GOTO(rc, TKM_OSSL_FAIL(TKM_ERR_TLS, "client certificate purpose"));
    }
    SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, s);
    ERR_clear_error();
    *out = ctx;
    ctx = NULL;
    rc = TKM_RC_OK;
out:
    sk_X509_NAME_pop_free(names, X509_NAME_free);
    SSL_CTX_free(ctx);
    return rc;
}

tkm_rc tkm_api_server_reload_tls(tkm_api_server *s) {
    TKM_ARG_CHECK(s != NULL);
    if (s->cfg.insecure_http) return TKM_RC_OK;
    SSL_CTX *ctx = NULL;
    TKM_TRY(build_ctx(s, &ctx));
    pthread_mutex_lock(&s->ctx_mu);
    SSL_CTX *old = s->ctx;
    s->ctx = ctx;
    atomic_fetch_add(&s->ctx_gen, 1);
    pthread_mutex_unlock(&s->ctx_mu);
    SSL_CTX_free(old); /* live connections hold their own reference */
    atomic_fetch_add(&s->roles_gen, 1);
    return TKM_RC_OK;
}

/* ------------------------------------------------------------ connections */

static void ip_key(const struct sockaddr_storage *ss, uint8_t key[17], char *txt, size_t txt_len) {
    memset(key, 0, 17);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        key[0] = 4;
        memcpy(key + 1, &a->sin_addr, 4);
        inet_ntop(AF_INET, &a->sin_addr, txt, (socklen_t)txt_len);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        key[0] = 6;
        memcpy(key + 1, &a->sin6_addr, 16);
        inet_ntop(AF_INET6, &a->sin6_addr, txt, (socklen_t)txt_len);
    } else {
        snprintf(txt, txt_len, "unknown");
    }
}

static size_t ip_hash(const uint8_t key[17]) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 17; i++) h = (h ^ key[i]) * 1099511628211ull;
    return (size_t)(h % IP_BUCKETS);
}

/* Returns 1 when the IP may open one more connection (and counts it). */
static int ip_acquire(tkm_api_server *s, const uint8_t key[17]) {
    size_t b = ip_hash(key);
    int ok = 0;
    pthread_mutex_lock(&s->ip_mu);
    ipcount *e = s->ips[b];
    while (e && memcmp(e->key, key, 17) != 0) e = e->next;
    if (!e) {
        e = calloc(1, sizeof *e);
        if (e) {
            memcpy(e->key, key, 17);
            e->next = s->ips[b];
            s->ips[b] = e;
        }
    }
    if (e && e->n < s->cfg.max_conns_per_ip) {
        e->n++;
        ok = 1;
    }
    pthread_mutex_unlock(&s->ip_mu);
    return ok;
}

static void ip_release(tkm_api_server *s, const uint8_t key[17]) {
    size_t b = ip_hash(key);
    pthread_mutex_lock(&s->ip_mu);
    ipcount **pp = &s->ips[b];
    while (*pp && memcmp((*pp)->key, key, 17) != 0) pp = &(*pp)->next;
    if (*pp && --(*pp)->n == 0) {
        ipcount *dead = *pp;
        *pp = dead->next;
        free(dead);
    }
    pthread_mutex_unlock(&s->ip_mu);
}

static void conn_unref(conn *c) {
    if (--c->refs == 0) free(c);
}

static void reject_count(tkm_api_server *s, const char *why) {
    const char *v[] = {why};
    tkm_metric_inc(tkm_metric_child_get(s->m_conns_rejected, v), 1);
}

/* Admission at the first ClientHello: global and per-IP connection caps. */
static int client_hello_cb(SSL *ssl, int *al, void *arg) {
    tkm_api_server *s = arg;
    conn *c = SSL_get_ex_data(ssl, ssl_conn_idx);
    if (!c || c->admitted) return SSL_CLIENT_HELLO_SUCCESS;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    memset(&ss, 0, sizeof ss);
    int fd = SSL_get_fd(ssl);
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0) {
        *al = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    ip_key(&ss, c->ipkey, c->id.peer, sizeof c->id.peer);
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (atomic_load(&s->conns_open) > (long)s->cfg.max_conns) {
        reject_count(s, "max_conns");
        *al = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    if (!ip_acquire(s, c->ipkey)) {
        reject_count(s, "max_conns_per_ip");
        *al = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    c->counted_ip = 1;
    c->admitted = 1;
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* The SSL is being freed (its bufferevent and evhttp connection with it). */
static void conn_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    conn *c = ptr;
    if (!c) return;
    loop *lp = c->lp;
    if (c->deadline) event_free(c->deadline);
    c->deadline = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else if (lp->conns == c)
        lp->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    if (c->counted_ip) ip_release(lp->srv, c->ipkey);
    atomic_fetch_sub(&lp->srv->conns_open, 1);
    c->dead = 1;
    c->bev = NULL;
    conn_unref(c);
}

static void conn_close_now(conn *c) {
    if (c->dead || !c->bev) return;
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    /* shutdown, not close: libevent sees EOF and tears the connection down itself */
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    conn *c = arg;
    if (c->busy == 0) {
        tkm_metric_inc(tkm_metric_child_get(c->lp->srv->m_timeouts, NULL), 1);
        conn_close_now(c);
    }
}

static void arm_deadline(conn *c) {
    if (c->dead || !c->deadline) return;
    unsigned ms = c->lp->srv->cfg.request_timeout_ms;
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(c->deadline, &tv);
}

static struct bufferevent *on_bev(struct event_base *base, void *arg) {
    loop *lp = arg;
    tkm_api_server *s = lp->srv;
    pthread_mutex_lock(&s->ctx_mu);
    SSL *ssl = SSL_new(s->ctx);
    unsigned gen = atomic_load(&s->ctx_gen);
    pthread_mutex_unlock(&s->ctx_mu);
    conn *c = calloc(1, sizeof *c);
    if (!ssl || !c) goto fail;
    c->lp = lp;
    c->refs = 1;
    c->ctx_gen = gen;
    c->deadline = evtimer_new(base, on_deadline, c);
    if (!c->deadline || !SSL_set_ex_data(ssl, ssl_conn_idx, c)) goto fail;
    atomic_fetch_add(&s->conns_open, 1);
    /* from here the SSL owns c: conn_ex_free releases it */
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) {
        SSL_free(ssl); /* runs conn_ex_free */
        goto fail_nossl;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    c->bev = bev;
    c->next = lp->conns;
    if (lp->conns) lp->conns->prev = c;
    lp->conns = c;
    arm_deadline(c);
    tkm_metric_inc(tkm_metric_child_get(s->m_conns_total, NULL), 1);
    return bev;
fail:
    if (c && c->deadline) event_free(c->deadline);
    free(c);
    SSL_free(ssl);
fail_nossl:
    /* evhttp would fall back to a plain socket: on_request refuses such connections */
    reject_count(s, "alloc");
    return NULL;
}

/* Fill the identity of a TLS connection once (or again after a CA reload). */
static void conn_identity(tkm_api_server *s, conn *c, SSL *ssl) {
    unsigned gen = atomic_load(&s->ctx_gen);
    if (c->ident_ready && c->ctx_gen == gen) return;
    tkm_api_identity *id = &c->id;
    char peer[sizeof id->peer];
    memcpy(peer, id->peer, sizeof peer);
    memset(id, 0, sizeof *id);
    memcpy(id->peer, peer, sizeof peer);
    X509 *x = SSL_get1_peer_certificate(ssl);
    if (x) {
        id->cert_presented = 1;
        long vr = SSL_get_verify_result(ssl);
        if (c->ident_ready || c->ctx_gen != gen) {
            /* the CA bundle changed since the handshake: verify again against the new one */
            pthread_mutex_lock(&s->ctx_mu);
            SSL_CTX *ctx = s->ctx;
            SSL_CTX_up_ref(ctx);
            pthread_mutex_unlock(&s->ctx_mu);
            X509_STORE_CTX *sc = X509_STORE_CTX_new();
            vr = X509_V_ERR_UNSPECIFIED;
            if (sc && X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(ctx), x, SSL_get_peer_cert_chain(ssl))) {
                X509_STORE_CTX_set_purpose(sc, X509_PURPOSE_SSL_CLIENT);
                vr = X509_verify_cert(sc) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(sc);
                if (vr == X509_V_OK) c->verify_err = 0;
            }
            X509_STORE_CTX_free(sc);
            SSL_CTX_free(ctx);
            c->ctx_gen = gen;
        }
        if (vr == X509_V_OK && c->verify_err != 0) vr = c->verify_err;
        id->verify_error = vr;
        id->authenticated = vr == X509_V_OK;
        X509_NAME *name = X509_get_subject_name(x);
        int pos = -1, last = -1;
        while ((pos = X509_NAME_get_index_by_NID(name, NID_commonName, pos)) >= 0) last = pos;
        if (last >= 0) {
            unsigned char *utf8 = NULL;
            int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)));
            if (n >= 0 && (size_t)n < sizeof id->cn && strlen((char *)utf8) == (size_t)n)
                memcpy(id->cn, utf8, (size_t)n + 1);
            else
                id->authenticated = 0; /* embedded NUL or oversize CN: refuse the certificate */
            OPENSSL_free(utf8);
        }
        BIO *b = BIO_new(BIO_s_mem());
        if (b && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
            int n = BIO_read(b, id->subject, (int)sizeof id->subject - 1);
            id->subject[n > 0 ? n : 0] = 0;
        }
        BIO_free(b);
        unsigned int mdlen = 0;
        if (!X509_digest(x, EVP_sha256(), id->fingerprint, &mdlen) || mdlen != TKM_API_FPR_LEN) {
            id->authenticated = 0;
        } else {
            static const char hx[] = "0123456789abcdef";
            for (size_t i = 0; i < TKM_API_FPR_LEN; i++) {
                id->fingerprint_hex[2 * i] = hx[id->fingerprint[i] >> 4];
                id->fingerprint_hex[2 * i + 1] = hx[id->fingerprint[i] & 15];
            }
        }
        X509_free(x);
    }
    ERR_clear_error();
    c->ident_ready = 1;
    c->roles_gen = atomic_load(&s->roles_gen) - 1; /* force the authorize hook */
}

/* ----------------------------------------------------------------- requests */

static tkm_api_req *req_alloc(loop *lp) {
    tkm_api_req *r = lp->free_reqs;
    if (r) {
        lp->free_reqs = r->next;
        lp->n_free--;
    } else {
        r = malloc(sizeof *r);
        if (!r) return NULL;
    }
    memset(r, 0, sizeof *r);
    atomic_init(&r->completed, 0);
    r->lp = lp;
    r->lnext = lp->live;
    if (lp->live) lp->live->lprev = r;
    lp->live = r;
    return r;
}

static void req_release(tkm_api_req *r) {
    loop *lp = r->lp;
    if (r->lprev)
        r->lprev->lnext = r->lnext;
    else if (lp->live == r)
        lp->live = r->lnext;
    if (r->lnext) r->lnext->lprev = r->lprev;
    free(r->resp);
    r->resp = NULL;
    if (lp->n_free < REQ_FREELIST_MAX) {
        r->next = lp->free_reqs;
        lp->free_reqs = r;
        lp->n_free++;
    } else {
        free(r);
    }
}

static void json_escape_into(char *out, size_t cap, const char *s) {
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (; s && *s && o + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20 || ch >= 0x7f) {
            /* non-ASCII is escaped byte-wise: logs stay ASCII and valid JSON */
            out[o++] = '\\';
            out[o++] = 'u';
            out[o++] = '0';
            out[o++] = '0';
            out[o++] = hx[ch >> 4];
            out[o++] = hx[ch & 15];
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o] = 0;
}

static const char *method_name(unsigned m) {
    switch (m) {
    case TKM_HTTP_GET: return "GET";
    case TKM_HTTP_POST: return "POST";
    case TKM_HTTP_PUT: return "PUT";
    case TKM_HTTP_DELETE: return "DELETE";
    default: return "OTHER";
    }
}

static void log_request(tkm_api_req *r, uint64_t latency_ns) {
    tkm_api_server *s = r->lp->srv;
    if (!s->cfg.log_requests || tkm_log_get_level() > TKM_LOG_INFO) return;
    char path[256], client[160], rpc[160], decision[160];
    json_escape_into(path, sizeof path, r->path);
    json_escape_into(client, sizeof client, r->ident.cn[0] ? r->ident.cn : r->ident.peer);
    json_escape_into(rpc, sizeof rpc, r->rpc);
    json_escape_into(decision, sizeof decision, r->decision);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char line[1280];
    int n = snprintf(line, sizeof line,
                     "{\"ts\":%lld.%03ld,\"level\":\"info\",\"component\":\"http\",\"msg\":\"request\","
                     "\"rid\":\"%s\",\"method\":\"%s\",\"route\":\"%s\",\"path\":\"%s\",\"status\":%d,"
                     "\"latency_us\":%llu,\"client\":\"%s\",\"auth\":%s%s%s%s%s%s%s,\"bytes_in\":%zu,"
                     "\"bytes_out\":%zu}\n",
                     (long long)ts.tv_sec, ts.tv_nsec / 1000000, r->id, method_name(r->method),
                     r->route ? r->route->name : "-", path, r->status,
                     (unsigned long long)(latency_ns / 1000), client,
                     r->ident.authenticated ? "true" : "false", r->rpc[0] ? ",\"rpc\":\"" : "",
                     r->rpc[0] ? rpc : "", r->rpc[0] ? "\"" : "", r->decision[0] ? ",\"decision\":\"" : "",
                     r->decision[0] ? decision : "", r->decision[0] ? "\"" : "", r->body_len, r->resp_len);
    if (n <= 0) return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (len == sizeof line - 1) line[len - 1] = '\n'; /* truncated: still one line */
    ssize_t w = write(STDERR_FILENO, line, len); /* one write per line: no interleaving */
    (void)w;
}

/* On the loop thread: put the answer on the wire, account, recycle. */
static void req_send(tkm_api_req *r) {
    loop *lp = r->lp;
    tkm_api_server *s = lp->srv;
    uint64_t lat = tkm_time_mono_ns() - r->t0;
    if (r->ev) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
        evhttp_add_header(h, "Content-Type", r->ctype ? r->ctype : "application/json");
        evhttp_add_header(h, "X-Request-Id", r->id);
        evhttp_add_header(h, "Cache-Control", "no-store");
        if (r->close || atomic_load(&s->draining)) evhttp_add_header(h, "Connection", "close");
        if (r->resp_len) {
            struct evbuffer *out = evhttp_request_get_output_buffer(r->ev);
            if (evbuffer_add(out, r->resp, r->resp_len) != 0) r->status = 500;
        }
        evhttp_send_reply(r->ev, r->status, reason_phrase(r->status), NULL);
        r->ev = NULL;
    }
    const route_ent *re = r->route;
    if (re && r->status == 200) {
        tkm_metric_inc(re->m_ok, 1); /* the hot path: children looked up once at start */
    } else {
        char code[8];
        snprintf(code, sizeof code, "%d", r->status);
        const char *rv[] = {re ? re->name : "unmatched", code};
        tkm_metric_inc(tkm_metric_child_get(s->m_requests, rv), 1);
    }
    if (re) {
        tkm_metric_observe(re->m_dur, (double)lat / 1e9);
    } else {
        const char *dv[] = {"unmatched"};
        tkm_metric_observe(tkm_metric_child_get(s->m_duration, dv), (double)lat / 1e9);
    }
    log_request(r, lat);
    conn *c = r->c;
    if (c) {
        if (c->busy) c->busy--;
        if (c->busy == 0) arm_deadline(c);
        conn_unref(c);
        r->c = NULL;
    }
    atomic_fetch_sub(&s->inflight, 1);
    req_release(r);
}

static void stream_pump(tkm_api_req *r);

static void on_wake(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    loop *lp = arg;
    /* one at a time: a streaming request may be queued again while it is being pumped */
    for (;;) {
        pthread_mutex_lock(&lp->qmu);
        tkm_api_req *r = lp->q_head;
        if (r) {
            lp->q_head = r->next;
            if (!lp->q_head) lp->q_tail = NULL;
            r->next = NULL;
            r->queued = 0;
        }
        pthread_mutex_unlock(&lp->qmu);
        if (!r) break;
        if (r->stream)
            stream_pump(r);
        else
            req_send(r);
    }
}

/* Take r out of its loop's queue (before it is released). */
static void loop_unqueue(tkm_api_req *r) {
    loop *lp = r->lp;
    pthread_mutex_lock(&lp->qmu);
    if (r->queued) {
        tkm_api_req *prev = NULL;
        for (tkm_api_req *q = lp->q_head; q; prev = q, q = q->next)
            if (q == r) {
                if (prev)
                    prev->next = r->next;
                else
                    lp->q_head = r->next;
                if (lp->q_tail == r) lp->q_tail = prev;
                break;
            }
        r->queued = 0;
        r->next = NULL;
    }
    pthread_mutex_unlock(&lp->qmu);
}

/* Hand r to its loop (once: a request already queued is pumped when the loop gets to it). */
static void loop_post(tkm_api_req *r) {
    loop *lp = r->lp;
    pthread_mutex_lock(&lp->qmu);
    if (!r->queued) {
        r->queued = 1;
        r->next = NULL;
        if (lp->q_tail)
            lp->q_tail->next = r;
        else
            lp->q_head = r;
        lp->q_tail = r;
    }
    pthread_mutex_unlock(&lp->qmu);
    event_active(lp->wake, EV_READ, 0);
}

/* ---- streaming replies ---- */

/* evhttp: the chunk in flight has been written. Lets the producer go on and the loop hand the next one. */
static void stream_flushed(struct evhttp_connection *evcon, void *arg) {
    (void)evcon;
    tkm_api_req *r = arg;
    stream_state *st = r->stream;
    if (!st) return;
    pthread_mutex_lock(&st->mu);
    st->queued -= st->handed < st->queued ? st->handed : st->queued;
    st->handed = 0;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    st->inflight = 0;
    loop_post(r);
}

static void stream_conn_closed(struct evhttp_connection *evcon, void *arg) {
    (void)evcon;
    stream_state *st = ((tkm_api_req *)arg)->stream;
    pthread_mutex_lock(&st->mu);
    st->gone = 1;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* Free a chunk list. */
static void chunks_free(chunk *c) {
    while (c) {
        chunk *n = c->next;
        free(c);
        c = n;
    }
}

/* {"error": {"code", "message", "detail"?}}: every error answer's body. NULL when out of memory. */
static json_t *error_body(tkm_err code, const char *detail) {
    const char *name = tkm_err_name(code);
    json_t *e = json_pack("{s:s,s:s}", "code", name ? name : "UNKNOWN", "message", tkm_err_str(code));
    if (e && detail && detail[0]) json_object_set_new(e, "detail", json_string(detail));
    return e ? json_pack("{s:o}", "error", e) : NULL;
}

/* Drop what is held back (loop thread). */
static void held_clear(stream_state *st) {
    chunks_free(st->held_head);
    st->held_head = st->held_tail = NULL;
    st->held_len = 0;
}

/* The response headers every streamed answer carries. */
static void stream_headers(tkm_api_req *r) {
    tkm_api_server *s = r->lp->srv;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
    evhttp_add_header(h, "Content-Type", r->ctype ? r->ctype : "application/json");
    evhttp_add_header(h, "X-Request-Id", r->id);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (atomic_load(&s->draining)) evhttp_add_header(h, "Connection", "close");
}

/* Hand everything held to evhttp as one chunk of a started answer (the one in flight). */
static void stream_hand_held(tkm_api_req *r, stream_state *st) {
    struct evbuffer *b = evbuffer_new();
    int ok = b != NULL;
    for (chunk *c = st->held_head; ok && c; c = c->next) ok = evbuffer_add(b, c->data, c->len) == 0;
    size_t n = st->held_len;
    held_clear(st);
    if (ok) {
        pthread_mutex_lock(&st->mu);
        st->handed += n;
        pthread_mutex_unlock(&st->mu);
        st->inflight = 1;
        evhttp_send_reply_chunk_with_cb(r->ev, b, stream_flushed, r);
    } else {
        st->aborted = 1; /* out of memory: the answer is cut short, visibly */
    }
    evbuffer_free(b);
}

/* A short answer, complete: one plain reply with everything held (a cut-short one is a 500, never a short 200). */
static void stream_reply_whole(tkm_api_req *r, stream_state *st) {
    struct evbuffer *b = evbuffer_new();
    int ok = b != NULL && !st->aborted;
    for (chunk *c = st->held_head; ok && c; c = c->next) ok = evbuffer_add(b, c->data, c->len) == 0;
    held_clear(st);
    stream_headers(r);
    if (!ok) {
        json_t *e = error_body(TKM_ERR_INTERNAL, "the answer could not be completed");
        char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
        if (b) evbuffer_drain(b, evbuffer_get_length(b));
        if (b && text) (void)evbuffer_add(b, text, strlen(text));
        free(text);
        json_decref(e);
        struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
        evhttp_remove_header(h, "Content-Type");
        evhttp_add_header(h, "Content-Type", "application/json");
        evhttp_add_header(h, "Connection", "close");
        r->status = 500;
    }
    evhttp_send_reply(r->ev, r->status, reason_phrase(r->status), b);
    evbuffer_free(b);
}

/* On the loop thread: hold short answers, start long ones, move chunks to evhttp, finish. */
static void stream_pump(tkm_api_req *r) {
    stream_state *st = r->stream;
    struct evhttp_connection *evcon = r->ev ? evhttp_request_get_connection(r->ev) : NULL;
    pthread_mutex_lock(&st->mu);
    chunk *c = st->head;
    st->head = st->tail = NULL;
    int ended = st->ended;
    if (!evcon) st->gone = 1;
    int gone = st->gone;
    pthread_mutex_unlock(&st->mu);
    if (c) { /* append the new chunks to the held list */
        if (st->held_tail)
            st->held_tail->next = c;
        else
            st->held_head = c;
        for (; c; c = c->next) {
            st->held_len += c->len;
            st->held_tail = c;
        }
    }
    if (gone) {
        held_clear(st);
        st->inflight = 0; /* its completion will not come */
    }
    if (r->ev && evcon && !gone && !st->started && !ended && st->held_len >= STREAM_HOLD) {
        st->started = 1;
        stream_headers(r);
        evhttp_connection_set_closecb(evcon, stream_conn_closed, r);
        evhttp_send_reply_start(r->ev, r->status, reason_phrase(r->status));
    }
    if (st->started && !gone && !st->inflight && st->held_head) stream_hand_held(r, st);
    if (!ended) return;
    /* a complete chunked answer ends after its last chunk has been written */
    if (st->started && !gone && !st->aborted && (st->inflight || st->held_head)) return;
    /* finish: the loop owns the request from here */
    if (r->ev) {
        evcon = evhttp_request_get_connection(r->ev);
        if (evcon) evhttp_connection_set_closecb(evcon, NULL, NULL);
        if (st->started) {
            /* an answer cut short must not end like a complete one: close before the last chunk */
            if (st->aborted && evcon && r->c) conn_close_now(r->c);
            evhttp_send_reply_end(r->ev); /* frees a request whose connection is gone */
        } else if (evcon && !gone) {
            stream_reply_whole(r, st);
        } else {
            evhttp_request_free(r->ev);
        }
        r->ev = NULL;
    }
    held_clear(st);
    r->resp_len = st->total;
    loop_unqueue(r); /* the producer's last post may still be queued */
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    free(st);
    r->stream = NULL;
    req_send(r); /* accounting, log line, release (r->ev is NULL: nothing more is sent) */
}

void tkm_api_req_stream_begin(tkm_api_req *r, int status, const char *content_type) {
    if (atomic_exchange(&r->completed, 1)) {
        tkm_misuse_("request completed twice", __FILE__, __LINE__);
        return;
    }
    stream_state *st = calloc(1, sizeof *st);
    r->status = status;
    r->ctype = content_type;
    if (!st) { /* cannot stream: answer 500 at end */
        r->status = 500;
        return;
    }
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    r->stream = st;
    loop_post(r);
}

int tkm_api_req_stream_write(tkm_api_req *r, const void *data, size_t len) {
    stream_state *st = r->stream;
    tkm_api_server *s = r->lp->srv;
    if (!st) return 0;
    if (!len) return 1;
    chunk *c = malloc(sizeof *c + len);
    if (!c) return 0;
    c->next = NULL;
    c->len = len;
    memcpy(c->data, data, len);
    pthread_mutex_lock(&st->mu);
    while (!st->gone && st->queued > STREAM_WINDOW && !atomic_load(&s->draining)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&st->cv, &st->mu, &ts);
    }
    int ok = !st->gone && !atomic_load(&s->draining);
    if (!ok) st->aborted = 1;
    if (ok) {
        if (st->tail)
            st->tail->next = c;
        else
            st->head = c;
        st->tail = c;
        st->queued += len;
        st->total += len;
        c = NULL;
    }
    pthread_mutex_unlock(&st->mu);
    free(c);
    if (ok) loop_post(r);
    return ok;
}

void tkm_api_req_stream_abort(tkm_api_req *r) {
    stream_state *st = r->stream;
    if (st) {
        pthread_mutex_lock(&st->mu);
        st->aborted = 1;
        pthread_mutex_unlock(&st->mu);
    }
    tkm_api_req_stream_end(r);
}

void tkm_api_req_stream_end(tkm_api_req *r) {
    stream_state *st = r->stream;
    if (!st) { /* begin failed to allocate: a plain answer */
        r->completed = 0;
        tkm_api_req_reply_error(r, 500, TKM_ERR_NOMEM, NULL);
        return;
    }
    pthread_mutex_lock(&st->mu);
    st->ended = 1;
    /*
     * Post while holding st->mu (lock order: st->mu, then the loop's qmu; the
     * loop never holds qmu while taking st->mu). The loop reads `ended` under
     * st->mu, so it cannot finish the answer and recycle r before this post is
     * in its queue, where finishing takes it out again. Posting after the
     * unlock let a fast loop finish and release r first; the late post then
     * queued a released request, which was answered and released a second
     * time (small streamed answers cut short, other requests disturbed).
     */
    loop_post(r);
    pthread_mutex_unlock(&st->mu);
}

void tkm_api_req_reply_owned(tkm_api_req *r, int status, const char *content_type, uint8_t *body,
                             size_t len) {
    if (atomic_exchange(&r->completed, 1)) {
        free(body);
        tkm_misuse_("request completed twice", __FILE__, __LINE__);
        return;
    }
    r->status = status;
    r->ctype = content_type;
    r->resp = body;
    r->resp_len = body ? len : 0;
    loop *lp = r->lp;
    if (pthread_equal(pthread_self(), lp->tid) && lp->started) {
        req_send(r);
        return;
    }
    loop_post(r);
}

void tkm_api_req_reply(tkm_api_req *r, int status, const char *content_type, const void *body, size_t len) {
    uint8_t *copy = NULL;
    if (body && len) {
        copy = malloc(len);
        if (!copy) {
            static const char oom[] = "{\"error\":{\"code\":\"NOMEM\",\"message\":\"out of memory\"}}";
            copy = malloc(sizeof oom);
            status = 500;
            content_type = NULL;
            len = copy ? sizeof oom - 1 : 0;
            if (copy) memcpy(copy, oom, len);
        } else {
            memcpy(copy, body, len);
        }
    }
    tkm_api_req_reply_owned(r, status, content_type, copy, copy ? len : 0);
}

void tkm_api_req_reply_json(tkm_api_req *r, int status, json_t *json) {
    tkm_wr w;
    uint8_t *p = NULL;
    size_t n = 0;
    tkm_wr_init(&w, 0);
    tkm_rc rc = json ? tkm_json_dump(json, &w) : TKM_RC(TKM_ERR_NOMEM);
    if (tkm_ok(rc)) rc = tkm_wr_take(&w, &p, &n);
    tkm_wr_free(&w);
    json_decref(json);
    if (tkm_failed(rc)) {
        static const char oom[] = "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"internal error\"}}";
        tkm_api_req_reply(r, 500, NULL, oom, sizeof oom - 1);
        return;
    }
    tkm_api_req_reply_owned(r, status, NULL, p, n);
}

void tkm_api_req_reply_error(tkm_api_req *r, int status, tkm_err code, const char *detail) {
    if (status == 0) status = tkm_api_http_status(code);
    tkm_api_req_reply_json(r, status, error_body(code, detail));
}

/* accessors */
const char *tkm_api_req_id(const tkm_api_req *r) { return r->id; }
unsigned tkm_api_req_method(const tkm_api_req *r) { return r->method; }
const char *tkm_api_req_path(const tkm_api_req *r) { return r->path; }
const char *tkm_api_req_path_rest(const tkm_api_req *r) { return r->rest ? r->rest : ""; }
const char *tkm_api_req_query(const tkm_api_req *r) { return r->query; }
const tkm_api_identity *tkm_api_req_identity(const tkm_api_req *r) { return &r->ident; }
unsigned tkm_api_req_roles(const tkm_api_req *r) { return r->roles; }
tkm_api_server *tkm_api_req_server(const tkm_api_req *r) { return r->lp->srv; }

const char *tkm_api_req_header(const tkm_api_req *r, const char *name) {
    if (!r->ev) return NULL;
    return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const uint8_t *tkm_api_req_body(const tkm_api_req *r, size_t *len) {
    *len = r->body_len;
    return r->body ? r->body : (const uint8_t *)"";
}

tkm_rc tkm_api_req_json(const tkm_api_req *r, json_t **out) {
    return tkm_json_load(out, r->body ? r->body : (const uint8_t *)"", r->body_len, &r->lp->srv->cfg.json);
}

static int rate_take(tkm_api_server *s, const tkm_api_identity *id, const uint8_t ipkey[17], double cost,
                     uint64_t *retry_ms) {
    if (!s->rl) return 1;
    uint8_t key[TKM_RATELIMIT_KEY_MAX];
    size_t klen;
    if (id->authenticated && !id->insecure) {
        key[0] = 'C';
        memcpy(key + 1, id->fingerprint, TKM_API_FPR_LEN);
        klen = 1 + TKM_API_FPR_LEN;
    } else {
        key[0] = 'I';
        memcpy(key + 1, ipkey, 17);
        klen = 18;
    }
    return tkm_ratelimit_take(s->rl, key, klen, cost, tkm_time_mono_ns(), retry_ms);
}

int tkm_api_req_charge(tkm_api_req *r, double extra) {
    uint8_t ipkey[17] = {0};
    if (r->c) memcpy(ipkey, r->c->ipkey, 17);
    int ok = rate_take(r->lp->srv, &r->ident, ipkey, extra, NULL);
    if (!ok) tkm_metric_inc(tkm_metric_child_get(r->lp->srv->m_rate_limited, NULL), 1);
    return ok;
}

void tkm_api_req_set_decision(tkm_api_req *r, const char *d) {
    snprintf(r->decision, sizeof r->decision, "%s", d ? d : "");
}

void tkm_api_req_set_rpc(tkm_api_req *r, const char *rpc) {
    snprintf(r->rpc, sizeof r->rpc, "%s", rpc ? rpc : "");
}

void tkm_api_req_audit(tkm_api_req *r, int http_status, tkm_err code, const char *rpc_method,
                       unsigned roles_required) {
    tkm_api_server *s = r->lp->srv;
    char st[8];
    snprintf(st, sizeof st, "%d", http_status);
    const char *v[] = {st, tkm_err_name(code)};
    tkm_metric_inc(tkm_metric_child_get(s->m_denied, v), 1);
    if (!s->cfg.audit) return;
    tkm_api_audit_event ev = {
        .http_status = http_status,
        .code = code,
        .request_id = r->id,
        .method = method_name(r->method),
        .path = r->path,
        .rpc_method = rpc_method,
        .identity = &r->ident,
        .roles_required = roles_required,
        .roles_held = r->roles,
    };
    s->cfg.audit(s->cfg.audit_arg, &ev);
}

/* ------------------------------------------------------------ dispatching */

static const route_ent *match_route(const tkm_api_server *s, const char *path, unsigned method,
                                    int *method_mismatch, const char **rest) {
    *method_mismatch = 0;
    *rest = NULL;
    const route_ent *best = NULL;
    for (size_t i = 0; i < s->n_routes; i++) {
        const route_ent *e = &s->routes[i];
        int hit;
        if (e->r.flags & TKM_API_ROUTE_PREFIX)
            hit = strncmp(path, e->path, e->path_len) == 0;
        else
            hit = strcmp(path, e->path) == 0;
        if (!hit) continue;
        if (!(e->r.methods & method)) {
            *method_mismatch = 1;
            continue;
        }
        /* exact beats prefix; a longer prefix beats a shorter one */
        if (!best || (!(e->r.flags & TKM_API_ROUTE_PREFIX) && (best->r.flags & TKM_API_ROUTE_PREFIX)) ||
            ((e->r.flags & TKM_API_ROUTE_PREFIX) && (best->r.flags & TKM_API_ROUTE_PREFIX) &&
             e->path_len > best->path_len))
            best = e;
    }
    if (best) {
        *method_mismatch = 0;
        if (best->r.flags & TKM_API_ROUTE_PREFIX) *rest = path + best->path_len;
    }
    return best;
}

static int content_type_json(const char *ct) {
    if (!ct) return 0;
    while (*ct == ' ') ct++;
    if (strncasecmp(ct, "application/json", 16) != 0) return 0;
    ct += 16;
    while (*ct == ' ') ct++;
    return *ct == 0 || *ct == ';';
}

static void pool_push(tkm_api_server *s, tkm_api_req *r);

static void fail(tkm_api_req *r, int status, tkm_err code, const char *detail) {
    tkm_api_req_reply_error(r, status, code, detail);
}

static void on_request(struct evhttp_request *ev, void *arg) {
    loop *lp = arg;
    tkm_api_server *s = lp->srv;
    struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    SSL *ssl = NULL;
    if (!s->cfg.insecure_http) {
        ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
        if (!ssl) {
            /* allocation failed in on_bev and evhttp fell back to plain: never serve that */
            evhttp_add_header(evhttp_request_get_output_headers(ev), "Connection", "close");
            evhttp_send_error(ev, 500, "TLS required");
            return;
        }
    }
    tkm_api_req *r = req_alloc(lp);
    if (!r) {
        evhttp_add_header(evhttp_request_get_output_headers(ev), "Connection", "close");
        evhttp_send_error(ev, 503, "Service Unavailable");
        return;
    }
    atomic_fetch_add(&s->inflight, 1);
    r->ev = ev;
    r->t0 = tkm_time_mono_ns();
    uint64_t seq = atomic_fetch_add(&s->req_seq, 1);
    snprintf(r->id, sizeof r->id, "%08x%08x", s->id_prefix, (unsigned)(seq & 0xffffffffu));
    switch (evhttp_request_get_command(ev)) {
    case EVHTTP_REQ_GET: r->method = TKM_HTTP_GET; break;
    case EVHTTP_REQ_POST: r->method = TKM_HTTP_POST; break;
    case EVHTTP_REQ_PUT: r->method = TKM_HTTP_PUT; break;
    case EVHTTP_REQ_DELETE: r->method = TKM_HTTP_DELETE; break;
    default: r->method = 0; break;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    int path_too_long = path && strlen(path) >= sizeof r->path;
    snprintf(r->path, sizeof r->path, "%s", path && path[0] ? path : "/");
    r->query = uri ? evhttp_uri_get_query(uri) : NULL;

    /* connection state and identity */
    conn *c = ssl ? SSL_get_ex_data(ssl, ssl_conn_idx) : NULL;
    uint8_t ipkey[17] = {0};
    if (c) {
        c->busy++;
        c->refs++;
        r->c = c;
        evtimer_del(c->deadline);
        conn_identity(s, c, ssl);
        unsigned rg = atomic_load(&s->roles_gen);
        if (c->roles_gen != rg) {
            c->roles = c->id.authenticated && s->cfg.authorize ? s->cfg.authorize(s->cfg.authorize_arg, &c->id) : 0;
            c->roles_gen = rg;
        }
        r->ident = c->id;
        r->roles = c->roles;
        memcpy(ipkey, c->ipkey, 17);
    } else {
        char *host = NULL;
        ev_uint16_t port = 0;
        if (evcon) evhttp_connection_get_peer(evcon, &host, &port);
        snprintf(r->ident.peer, sizeof r->ident.peer, "%s", host ? host : "unknown");
        struct in6_addr a6;
        struct in_addr a4;
        if (host && inet_pton(AF_INET, host, &a4) == 1) {
            ipkey[0] = 4;
            memcpy(ipkey + 1, &a4, 4);
        } else if (host && inet_pton(AF_INET6, host, &a6) == 1) {
            ipkey[0] = 6;
            memcpy(ipkey + 1, &a6, 16);
        }
        r->ident.insecure = 1;
        if (s->cfg.insecure_roles) {
            r->ident.authenticated = 1;
            snprintf(r->ident.cn, sizeof r->ident.cn, "insecure-loopback");
            r->roles = s->cfg.insecure_roles;
        }
    }

    if (atomic_load(&s->draining)) {
        r->close = 1;
        fail(r, 503, TKM_ERR_SHUTTING_DOWN, NULL);
        return;
    }
    if (path_too_long) { /* never route on a truncated path */
        fail(r, 414, TKM_ERR_TOO_LARGE, "path longer than 511 bytes");
        return;
    }
    int mismatch;
    const char *rest;
    const route_ent *e = match_route(s, r->path, r->method, &mismatch, &rest);
    if (!e) {
        if (mismatch) {
            fail(r, 405, TKM_ERR_REQUEST, "method not allowed on this path");
        } else {
            fail(r, 404, TKM_ERR_NOT_FOUND, "no such route");
        }
        return;
    }
    r->route = e;
    r->rest = rest;

    uint64_t retry_ms = 0;
    if (!rate_take(s, &r->ident, ipkey, 1.0, &retry_ms)) {
        char ra[24];
        snprintf(ra, sizeof ra, "%llu", (unsigned long long)((retry_ms + 999) / 1000));
        evhttp_add_header(evhttp_request_get_output_headers(ev), "Retry-After", ra);
        tkm_metric_inc(tkm_metric_child_get(s->m_rate_limited, NULL), 1);
        fail(r, 429, TKM_ERR_RATE_LIMIT, NULL);
        return;
    }
    if (!(e->r.flags & TKM_API_ROUTE_PUBLIC)) {
        if (!r->ident.authenticated) {
            tkm_err why = r->ident.cert_presented ? TKM_ERR_CLIENT_CERT_UNTRUSTED : TKM_ERR_NO_CLIENT_CERT;
            tkm_api_req_audit(r, 401, why, NULL, e->r.roles);
            tkm_api_req_set_decision(r, why == TKM_ERR_NO_CLIENT_CERT ? "deny:NO_CLIENT_CERT"
                                                                      : "deny:CLIENT_CERT_UNTRUSTED");
            char d[96] = "";
            if (why == TKM_ERR_CLIENT_CERT_UNTRUSTED)
                snprintf(d, sizeof d, "%s", X509_verify_cert_error_string(r->ident.verify_error));
            fail(r, 401, why, d[0] ? d : NULL);
            return;
        }
        if ((r->roles & e->r.roles) != e->r.roles) {
            char need[64], d[96];
            tkm_api_roles_str(e->r.roles, need, sizeof need);
            snprintf(d, sizeof d, "route needs role %s", need);
            tkm_api_req_audit(r, 403, TKM_ERR_ROLE_MISSING, NULL, e->r.roles);
            tkm_api_req_set_decision(r, "deny:ROLE_MISSING");
            fail(r, 403, TKM_ERR_ROLE_MISSING, d);
            return;
        }
    }
    if ((e->r.flags & TKM_API_ROUTE_JSON) && (r->method == TKM_HTTP_POST || r->method == TKM_HTTP_PUT) &&
        !content_type_json(evhttp_find_header(evhttp_request_get_input_headers(ev), "Content-Type"))) {
        fail(r, 415, TKM_ERR_REQUEST, "Content-Type must be application/json");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(ev);
    size_t blen = evbuffer_get_length(in);
    if (blen > s->cfg.max_body) { /* evhttp enforces it already; defence in depth */
        fail(r, 413, TKM_ERR_BODY_TOO_LARGE, NULL);
        return;
    }
    r->body_len = blen;
    r->body = blen ? evbuffer_pullup(in, (ev_ssize_t)blen) : NULL;
    if (blen && !r->body) {
        fail(r, 500, TKM_ERR_NOMEM, NULL);
        return;
    }
    if (e->r.flags & TKM_API_ROUTE_WORKER) {
        pool_push(s, r);
        return;
    }
    e->r.fn(r, e->r.arg);
}

/* ------------------------------------------------------------ worker pool */

static void *pool_main(void *arg) {
    tkm_api_server *s = arg;
    pool *p = &s->pool;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->head && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
        if (!p->head) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        tkm_api_req *r = p->head;
        p->head = r->next;
        if (!p->head) p->tail = NULL;
        p->len--;
        pthread_mutex_unlock(&p->mu);
        r->next = NULL;
        r->route->r.fn(r, r->route->r.arg);
    }
}

static void pool_push(tkm_api_server *s, tkm_api_req *r) {
    pool *p = &s->pool;
    pthread_mutex_lock(&p->mu);
    if (p->len >= p->max || p->stop) {
        pthread_mutex_unlock(&p->mu);
        fail(r, 503, TKM_ERR_UNAVAILABLE, "worker queue full");
        return;
    }
    r->next = NULL;
    if (p->tail)
        p->tail->next = r;
    else
        p->head = r;
    p->tail = r;
    p->len++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* ----------------------------------------------------- built-in routes */

static void route_healthz(tkm_api_req *r, void *arg) {
    tkm_api_server *s = arg;
    json_t *checks = json_object(), *failing = json_array();
    int ok = !atomic_load(&s->draining);
    if (!ok) json_array_append_new(failing, json_string("draining"));
    for (health *h = s->checks; h; h = h->next) {
        tkm_err_detail_clear();
        tkm_rc rc = h->fn(h->arg);
        const char *n = tkm_err_name(rc.code);
        json_object_set_new(checks, h->name, json_string(tkm_ok(rc) ? "ok" : (n ? n : "FAILED")));
        if (tkm_failed(rc)) {
            ok = 0;
            json_array_append_new(failing, json_string(h->name));
        }
    }
    json_t *o = json_pack("{s:s,s:o,s:o}", "status", ok ? "ok" : "fail", "checks", checks, "failing", failing);
    for (health *h = s->infos; o && h; h = h->next) {
        json_t *v = h->info(h->arg);
        json_object_set_new(o, h->name, v ? v : json_null());
    }
    tkm_api_req_set_decision(r, ok ? "healthy" : "unhealthy");
    tkm_api_req_reply_json(r, ok ? 200 : 503, o);
}

static void route_metrics(tkm_api_req *r, void *arg) {
    tkm_api_server *s = arg;
    tkm_wr w;
    uint8_t *p = NULL;
    size_t n = 0;
    tkm_wr_init(&w, 0);
    tkm_rc rc = tkm_metrics_render(s->metrics, &w);
    if (tkm_ok(rc)) rc = tkm_wr_take(&w, &p, &n);
    tkm_wr_free(&w);
    if (tkm_failed(rc)) {
        fail(r, 500, rc.code, NULL);
        return;
    }
    tkm_api_req_reply_owned(r, 200, TKM_METRICS_CONTENT_TYPE, p, n);
}

static double g_inflight(void *arg) { return (double)atomic_load(&((tkm_api_server *)arg)->inflight); }
static double g_conns(void *arg) { return (double)atomic_load(&((tkm_api_server *)arg)->conns_open); }

/* ---------------------------------------------------------------- server */

static int host_is_loopback(const char *host) {
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

static tkm_rc register_metrics(tkm_api_server *s) {
    static const char *const l_req[] = {"route", "code", NULL};
    static const char *const l_route[] = {"route", NULL};
    static const char *const l_reason[] = {"reason", NULL};
    static const char *const l_denied[] = {"status", "reason", NULL};
    static const double lat[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
    TKM_TRY(tkm_metrics_counter(s->metrics, &s->m_requests, "tkm_http_requests_total",
                                "HTTP requests answered, by route and status code", l_req));
    TKM_TRY(tkm_metrics_histogram(s->metrics, &s->m_duration, "tkm_http_request_duration_seconds",
                                  "Time from request received to answer sent", l_route, lat,
                                  sizeof lat / sizeof lat[0]));
    TKM_TRY(tkm_metrics_counter(s->metrics, &s->m_conns_total, "tkm_http_connections_total",
                                "TLS connections accepted", NULL));
    TKM_TRY(tkm_metrics_counter(s->metrics, &s->m_conns_rejected, "tkm_http_connections_rejected_total",
                                "Connections refused at admission, by reason", l_reason));
    TKM_TRY(tkm_metrics_counter(s->metrics, &s->m_denied, "tkm_http_auth_denied_total",
                                "Requests refused for authentication (401) or authorization (403)",
                                l_denied));
    TKM_TRY(tkm_metrics_counter(s->metrics, &s->m_rate_limited, "tkm_http_rate_limited_total",
                                "Requests refused by the per-client rate limit", NULL));
    TKM_TRY(tkm_metrics_counter(s->metrics, &s->m_timeouts, "tkm_http_request_timeouts_total",
                                "Connections closed for not completing a request in time", NULL));
    TKM_TRY(tkm_metrics_gauge_fn(s->metrics, "tkm_http_inflight_requests", "Requests being handled",
                                 g_inflight, s));
    TKM_TRY(tkm_metrics_gauge_fn(s->metrics, "tkm_http_connections_open", "Open TLS connections", g_conns,
                                 s));
    return TKM_RC_OK;
}

tkm_rc tkm_api_server_new(tkm_api_server **out, const tkm_api_config *cfg) {
    TKM_ARG_CHECK(out && cfg);
    *out = NULL;
    pthread_once(&once, global_init);
    TKM_ENSURE(ssl_conn_idx >= 0, TKM_ERR_NOMEM);
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    tkm_api_server *s = calloc(1, sizeof *s);
    TKM_ENSURE(s, TKM_ERR_NOMEM);
    s->cfg = *cfg;
    s->stop_pipe[0] = s->stop_pipe[1] = -1;
    pthread_mutex_init(&s->ctx_mu, NULL);
    pthread_mutex_init(&s->ip_mu, NULL);
    tkm_api_config *c = &s->cfg;
    if (!c->host) c->host = "127.0.0.1";
    if (!c->threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->threads = n > 0 && n < 64 ? (unsigned)n : 2;
    }
    if (!c->workers) c->workers = DEF_WORKERS;
    if (!c->worker_queue_max) c->worker_queue_max = DEF_QUEUE_MAX;
    if (!c->max_body) c->max_body = DEF_MAX_BODY;
    if (!c->max_headers) c->max_headers = DEF_MAX_HEADERS;
    if (!c->max_conns) c->max_conns = DEF_MAX_CONNS;
    if (!c->max_conns_per_ip) c->max_conns_per_ip = DEF_MAX_CONNS_PER_IP;
    if (!c->io_timeout_ms) c->io_timeout_ms = DEF_IO_TIMEOUT_MS;
    if (!c->request_timeout_ms) c->request_timeout_ms = DEF_REQUEST_TIMEOUT_MS;
    if (!c->drain_timeout_ms) c->drain_timeout_ms = DEF_DRAIN_TIMEOUT_MS;
    if (!c->rate_clients) c->rate_clients = DEF_RATE_CLIENTS;
    if (c->rate > 0 && c->burst < 1) c->burst = c->rate < 1 ? 1 : c->rate;
    if (c->json.max_bytes == 0 || c->json.max_bytes > c->max_body) c->json.max_bytes = c->max_body;
    s->host = strdup(c->host);
    s->cert_file = dup_or_null(c->cert_file);
    s->key_file = dup_or_null(c->key_file);
    s->client_ca_file = dup_or_null(c->client_ca_file);
    if (!s->host || (c->cert_file && !s->cert_file) || (c->key_file && !s->key_file) ||
        (c->client_ca_file && !s->client_ca_file))
        TKM_GOTO(rc, TKM_ERR_NOMEM);
    c->host = s->host;
    c->cert_file = s->cert_file;
    c->key_file = s->key_file;
    c->client_ca_file = s->client_ca_file;
    c->cert_pem = NULL;
    c->key_pem = NULL;
    c->cert = NULL;
    c->chain = NULL;
    c->key = NULL;

    if (cfg->insecure_http) {
        if (!host_is_loopback(c->host)) {
            tkm_err_detail_set("plain HTTP is only served on a loopback address, not %s", c->host);
            TKM_GOTO(rc, TKM_ERR_FORMAT);
        }
    } else {
        /* server certificate and key */
        if (cfg->cert) {
            TKM_ARG_CHECK(cfg->key != NULL);
            X509_up_ref(cfg->cert);
            s->cert = cfg->cert;
            if (cfg->chain) {
                s->chain = X509_chain_up_ref(cfg->chain);
                if (!s->chain) TKM_GOTO(rc, TKM_ERR_NOMEM);
            }
            EVP_PKEY_up_ref(cfg->key);
            s->key = cfg->key;
        } else if (cfg->cert_pem) {
            TKM_ARG_CHECK(cfg->key_pem != NULL);
            TKM_CHECK_GOTO(rc, parse_cert_pem(cfg->cert_pem, cfg->cert_pem_len, &s->cert, &s->chain));
            TKM_CHECK_GOTO(rc, parse_key_pem(cfg->key_pem, &s->key));
        } else if (cfg->cert_file && cfg->key_file) {
            tkm_secret *pem = NULL;
            TKM_CHECK_GOTO(rc, read_pem_file(cfg->cert_file, &pem)); /* not secret, same reader */
            rc = parse_cert_pem(tkm_secret_ptr(pem), tkm_secret_len(pem), &s->cert, &s->chain);
            tkm_secret_free(pem);
            pem = NULL;
            if (tkm_failed(rc)) goto out;
            TKM_CHECK_GOTO(rc, read_pem_file(cfg->key_file, &pem));
            rc = parse_key_pem(pem, &s->key);
            tkm_secret_free(pem);
            if (tkm_failed(rc)) goto out;
        } else {
            tkm_err_detail_set("no server certificate and key given");
            TKM_GOTO(rc, TKM_ERR_FORMAT);
        }
        TKM_CHECK_GOTO(rc, build_ctx(s, &s->ctx));
    }
    if (cfg->metrics) {
        s->metrics = cfg->metrics;
    } else {
        TKM_CHECK_GOTO(rc, tkm_metrics_new(&s->metrics));
        s->own_metrics = 1;
    }
    c->metrics = s->metrics;
    TKM_CHECK_GOTO(rc, register_metrics(s));
    if (c->rate > 0) TKM_CHECK_GOTO(rc, tkm_ratelimit_new(&s->rl, c->rate, c->burst, c->rate_clients));
    if (RAND_bytes((unsigned char *)&s->id_prefix, sizeof s->id_prefix) != 1) TKM_GOTO(rc, TKM_ERR_ENTROPY);
    if (pipe2(s->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) TKM_GOTO(rc, TKM_ERR_IO);
    {
        tkm_api_route hz = {.name = "healthz", .methods = TKM_HTTP_GET, .path = "/healthz",
                            .flags = TKM_API_ROUTE_PUBLIC, .fn = route_healthz, .arg = s};
        tkm_api_route mt = {.name = "metrics", .methods = TKM_HTTP_GET, .path = "/metrics",
                            .flags = c->metrics_public ? TKM_API_ROUTE_PUBLIC : 0,
                            .roles = c->metrics_public ? 0 : TKM_ROLE_READ, .fn = route_metrics, .arg = s};
        TKM_CHECK_GOTO(rc, tkm_api_server_route(s, &hz));
        TKM_CHECK_GOTO(rc, tkm_api_server_route(s, &mt));
    }
    *out = s;
    s = NULL;
    rc = TKM_RC_OK;
out:
    tkm_api_server_free(s);
    return rc;
}

tkm_rc tkm_api_server_route(tkm_api_server *s, const tkm_api_route *r) {
    TKM_ARG_CHECK(s && r && r->path && r->path[0] == '/' && r->fn && r->methods && !s->started);
    TKM_ARG_CHECK(!(r->flags & TKM_API_ROUTE_PUBLIC) || r->roles == 0);
    for (size_t i = 0; i < s->n_routes; i++) {
        const route_ent *e = &s->routes[i];
        if (strcmp(e->path, r->path) == 0 && (e->r.methods & r->methods) &&
            (e->r.flags & TKM_API_ROUTE_PREFIX) == (r->flags & TKM_API_ROUTE_PREFIX)) {
            tkm_err_detail_set("route %s registered twice", r->path);
            TKM_ENSURE(0, TKM_ERR_EXISTS);
        }
    }
    route_ent *n = realloc(s->routes, (s->n_routes + 1) * sizeof *n);
    TKM_ENSURE(n, TKM_ERR_NOMEM);
    s->routes = n;
    route_ent *e = &n[s->n_routes];
    memset(e, 0, sizeof *e);
    e->r = *r;
    e->path = strdup(r->path);
    e->name = strdup(r->name ? r->name : r->path);
    if (!e->path || !e->name) {
        free(e->path);
        free(e->name);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    e->path_len = strlen(e->path);
    e->r.path = e->path;
    e->r.name = e->name;
    s->n_routes++;
    return TKM_RC_OK;
}

tkm_rc tkm_api_server_health_check(tkm_api_server *s, const char *name, tkm_api_health_fn fn, void *arg) {
    TKM_ARG_CHECK(s && name && fn && !s->started);
    health *h = calloc(1, sizeof *h);
    TKM_ENSURE(h, TKM_ERR_NOMEM);
    h->name = strdup(name);
    if (!h->name) {
        free(h);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    h->fn = fn;
    h->arg = arg;
    health **pp = &s->checks;
    while (*pp) pp = &(*pp)->next;
    *pp = h;
    return TKM_RC_OK;
}

tkm_rc tkm_api_server_health_info(tkm_api_server *s, const char *name, tkm_api_health_info_fn fn, void *arg) {
    TKM_ARG_CHECK(s && name && fn && !s->started && strcmp(name, "status") != 0 && strcmp(name, "checks") != 0 &&
                  strcmp(name, "failing") != 0);
    health **pp = &s->infos;
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->name, name) == 0) {
            tkm_err_detail_set("health information %s registered twice", name);
            TKM_ENSURE(0, TKM_ERR_EXISTS);
        }
    health *h = calloc(1, sizeof *h);
    TKM_ENSURE(h, TKM_ERR_NOMEM);
    h->name = strdup(name);
    if (!h->name) {
        free(h);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    h->info = fn;
    h->arg = arg;
    *pp = h;
    return TKM_RC_OK;
}

tkm_metrics *tkm_api_server_metrics(tkm_api_server *s) { return s->metrics; }
uint16_t tkm_api_server_port(const tkm_api_server *s) { return s->port; }
void tkm_api_server_roles_changed(tkm_api_server *s) { atomic_fetch_add(&s->roles_gen, 1); }

static int make_listener(tkm_api_server *s, uint16_t port, uint16_t *bound_port) {
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    int family;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, s->host, &a4->sin_addr) == 1) {
        family = AF_INET;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        sl = sizeof *a4;
    } else if (inet_pton(AF_INET6, s->host, &a6->sin6_addr) == 1) {
        family = AF_INET6;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        sl = sizeof *a6;
    } else {
        tkm_err_detail_set("listen address %s is not a numeric IP address", s->host);
        return -1;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    /* No SO_REUSEPORT: with it a second process of the same user could bind the
     * same port and silently take a share of the connections (and port 0 could
     * be handed a port another reuseport server already holds). One socket,
     * shared by every loop through dup(), makes a busy port a hard error. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        /* inherited by accepted sockets: small TLS records must not wait for delayed ACKs */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0) {
        tkm_err_detail_set("cannot listen on %s:%u: %s", s->host, (unsigned)port, strerror(errno));
        close(fd);
        return -1;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &gl) != 0) {
        close(fd);
        return -1;
    }
    *bound_port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                          : ((struct sockaddr_in6 *)&got)->sin6_port);
    return fd;
}

static void on_ctl(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    loop *lp = arg;
    /* drain: close the listening socket (new clients are refused at once rather than
     * left in a backlog nobody accepts), close idle keep-alive connections */
    if (lp->bound) evhttp_del_accept_socket(lp->http, lp->bound);
    lp->bound = NULL;
    for (conn *c = lp->conns; c; c = c->next)
        if (c->busy == 0) conn_close_now(c);
}

static void *loop_main(void *arg) {
    loop *lp = arg;
    event_base_loop(lp->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static tkm_rc loop_init(tkm_api_server *s, loop *lp, int fd) {
    lp->srv = s;
    lp->base = event_base_new();
    if (!lp->base) close(fd);
    TKM_ENSURE(lp->base, TKM_ERR_NOMEM);
    pthread_mutex_init(&lp->qmu, NULL);
    lp->inited = 1;
    lp->http = evhttp_new(lp->base);
    lp->wake = event_new(lp->base, -1, 0, on_wake, lp);
    lp->ctl = event_new(lp->base, -1, 0, on_ctl, lp);
    TKM_ENSURE(lp->http && lp->wake && lp->ctl, TKM_ERR_NOMEM);
    evhttp_set_max_headers_size(lp->http, (ev_ssize_t)s->cfg.max_headers);
    evhttp_set_max_body_size(lp->http, (ev_ssize_t)s->cfg.max_body);
    struct timeval tv = {.tv_sec = (time_t)(s->cfg.io_timeout_ms / 1000),
                         .tv_usec = (suseconds_t)((s->cfg.io_timeout_ms % 1000) * 1000)};
    evhttp_set_timeout_tv(lp->http, &tv);
    evhttp_set_allowed_methods(lp->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_default_content_type(lp->http, "application/json");
    evhttp_set_flags(lp->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_gencb(lp->http, on_request, lp);
    if (!s->cfg.insecure_http) evhttp_set_bevcb(lp->http, on_bev, lp);
    lp->bound = evhttp_accept_socket_with_handle(lp->http, fd);
    if (!lp->bound) {
        close(fd);
        TKM_ENSURE(0, TKM_ERR_LISTEN);
    }
    return TKM_RC_OK;
}

tkm_rc tkm_api_server_start(tkm_api_server *s) {
    TKM_ARG_CHECK(s && !s->started);
    signal(SIGPIPE, SIG_IGN);
    s->loops = calloc(s->cfg.threads, sizeof *s->loops);
    TKM_ENSURE(s->loops, TKM_ERR_NOMEM);
    s->n_loops = s->cfg.threads;
    uint16_t got = 0;
    int lfd = make_listener(s, s->cfg.port, &got);
    TKM_ENSURE(lfd >= 0, TKM_ERR_LISTEN);
    s->port = got;
    for (unsigned i = 0; i < s->n_loops; i++) {
        /* every loop accepts on its own descriptor of the one listening socket,
         * so that a drain can close each loop's copy independently */
        int fd = i + 1 < s->n_loops ? fcntl(lfd, F_DUPFD_CLOEXEC, 0) : lfd;
        if (fd < 0) close(lfd);
        TKM_ENSURE(fd >= 0, TKM_ERR_LISTEN);
        s->loops[i].idx = i;
        tkm_rc rc = loop_init(s, &s->loops[i], fd);
        if (tkm_failed(rc) && fd != lfd) close(lfd);
        TKM_TRY(rc);
    }
    int need_pool = 0;
    for (size_t i = 0; i < s->n_routes; i++) {
        route_ent *e = &s->routes[i];
        need_pool |= (e->r.flags & TKM_API_ROUTE_WORKER) != 0;
        const char *ok[] = {e->name, "200"}, *dv[] = {e->name};
        e->m_ok = tkm_metric_child_get(s->m_requests, ok);
        e->m_dur = tkm_metric_child_get(s->m_duration, dv);
    }
    if (need_pool) {
        pool *p = &s->pool;
        pthread_mutex_init(&p->mu, NULL);
        pthread_cond_init(&p->cv, NULL);
        p->max = s->cfg.worker_queue_max;
        p->t = calloc(s->cfg.workers, sizeof *p->t);
        TKM_ENSURE(p->t, TKM_ERR_NOMEM);
        s->have_pool = 1;
        for (unsigned i = 0; i < s->cfg.workers; i++) {
            TKM_ENSURE(pthread_create(&p->t[i], NULL, pool_main, s) == 0, TKM_ERR_NOMEM);
            p->n++;
        }
    }
    /* loop threads must not take the process's signals: run() handles them */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    tkm_rc rc = TKM_RC_OK;
    for (unsigned i = 0; i < s->n_loops; i++) {
        loop *lp = &s->loops[i];
        lp->started = 1;
        if (pthread_create(&lp->tid, NULL, loop_main, lp) != 0) {
            lp->started = 0;
            rc = TKM_RC(TKM_ERR_NOMEM);
            break;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    s->started = 1;
    TKM_TRY(rc);
    if (s->cfg.insecure_http)
        tkm_log(TKM_LOG_WARN, "http",
                "SERVING PLAIN HTTP WITHOUT TLS on %s:%u (loopback only, --insecure-http): "
                "no client authentication, traffic readable by any local process",
                s->host, (unsigned)s->port);
    tkm_log(TKM_LOG_INFO, "http", "listening on %s:%u (%s, %u loop threads)", s->host, (unsigned)s->port,
            s->cfg.insecure_http ? "plain HTTP" : "TLS 1.3, mutual TLS", s->n_loops);
    return TKM_RC_OK;
}

void tkm_api_server_stop(tkm_api_server *s) {
    if (!s || s->stop_pipe[1] < 0) return;
    char b = 1;
    ssize_t w = write(s->stop_pipe[1], &b, 1);
    (void)w;
}

typedef struct {
    tkm_api_server *s;
    struct event_base *base;
    int phase; /* 0 running, 1 draining */
    uint64_t deadline;
    struct event *tick;
} ctl_state;

static void start_drain(ctl_state *st) {
    tkm_api_server *s = st->s;
    if (st->phase) return;
    st->phase = 1;
    atomic_store(&s->draining, 1);
    st->deadline = tkm_time_mono_ns() + (uint64_t)s->cfg.drain_timeout_ms * 1000000u;
    tkm_log(TKM_LOG_INFO, "http", "draining: %ld requests in flight", atomic_load(&s->inflight));
    for (unsigned i = 0; i < s->n_loops; i++) event_active(s->loops[i].ctl, EV_READ, 0);
    struct timeval tv = {0, 10000};
    evtimer_add(st->tick, &tv);
}

static void on_tick(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    ctl_state *st = arg;
    tkm_api_server *s = st->s;
    if (st->phase == 1) {
        long n = atomic_load(&s->inflight);
        if (n == 0 || tkm_time_mono_ns() >= st->deadline) {
            if (n) tkm_log(TKM_LOG_WARN, "http", "drain timeout: %ld requests abandoned", n);
            event_base_loopbreak(st->base);
            return;
        }
        struct timeval tv = {0, 10000};
        evtimer_add(st->tick, &tv);
        return;
    }
    /* running: repeat the insecure warning every minute */
    if (s->cfg.insecure_http)
        tkm_log(TKM_LOG_WARN, "http", "still serving PLAIN HTTP without TLS on %s:%u", s->host,
                (unsigned)s->port);
    struct timeval tv = {60, 0};
    evtimer_add(st->tick, &tv);
}

static void on_stop_pipe(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    char buf[16];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    start_drain(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    ctl_state *st = arg;
    tkm_api_server *s = st->s;
    if (sig == SIGHUP) {
        tkm_log(TKM_LOG_INFO, "http", "SIGHUP: reloading");
        /* the hook first: it may rewrite the client CA bundle that is re-read next */
        if (s->cfg.reload) {
            tkm_api_reload r = {0};
            s->cfg.reload(s->cfg.reload_arg, &r);
            if (r.set_log_level) tkm_log_set_level(r.log_level);
        }
        tkm_rc rc = tkm_api_server_reload_tls(s);
        if (tkm_failed(rc))
            tkm_log(TKM_LOG_ERROR, "http", "client CA reload failed, keeping the previous one: %s (%s)",
                    tkm_err_str(rc.code), tkm_err_detail());
        tkm_api_server_roles_changed(s);
        return;
    }
    tkm_log(TKM_LOG_INFO, "http", "signal %d: shutting down", (int)sig);
    start_drain(st);
}

tkm_rc tkm_api_server_run(tkm_api_server *s) {
    TKM_ARG_CHECK(s && s->started);
    tkm_rc rc = TKM_RC(TKM_ERR_NOMEM);
    ctl_state st = {.s = s};
    struct event *sigs[3] = {NULL, NULL, NULL}, *pipe_ev = NULL;
    st.base = event_base_new();
    if (!st.base) goto out;
    st.tick = evtimer_new(st.base, on_tick, &st);
    pipe_ev = event_new(st.base, s->stop_pipe[0], EV_READ | EV_PERSIST, on_stop_pipe, &st);
    if (!st.tick || !pipe_ev || event_add(pipe_ev, NULL) != 0) goto out;
    if (s->cfg.handle_signals) {
        const int sn[3] = {SIGTERM, SIGINT, SIGHUP};
        for (int i = 0; i < 3; i++) {
            sigs[i] = evsignal_new(st.base, sn[i], on_signal, &st);
            if (!sigs[i] || event_add(sigs[i], NULL) != 0) goto out;
        }
    }
    struct timeval tv = {60, 0};
    evtimer_add(st.tick, &tv);
    event_base_dispatch(st.base);
    /* stop the loops */
    for (unsigned i = 0; i < s->n_loops; i++)
        if (s->loops[i].started) event_base_loopbreak(s->loops[i].base);
    for (unsigned i = 0; i < s->n_loops; i++)
        if (s->loops[i].started) {
            pthread_join(s->loops[i].tid, NULL);
            s->loops[i].started = 0;
        }
    tkm_log(TKM_LOG_INFO, "http", "stopped");
    rc = TKM_RC_OK;
out:
    for (int i = 0; i < 3; i++)
        if (sigs[i]) event_free(sigs[i]);
    if (pipe_ev) event_free(pipe_ev);
    if (st.tick) event_free(st.tick);
    if (st.base) event_base_free(st.base);
    return rc;
}

static void loop_free(loop *lp) {
    if (!lp->inited) return;
    if (lp->started) {
        event_base_loopbreak(lp->base);
        pthread_join(lp->tid, NULL);
        lp->started = 0;
    }
    /* answers completed after the loop stopped: drop them (their connections go below) */
    pthread_mutex_lock(&lp->qmu);
    lp->q_head = lp->q_tail = NULL;
    pthread_mutex_unlock(&lp->qmu);
    /* requests still outstanding: forget their evhttp side before evhttp_free frees it */
    for (tkm_api_req *r = lp->live; r; r = r->lnext) {
        r->ev = NULL;
        if (r->stream) {
            for (chunk *c = r->stream->head; c;) {
                chunk *n = c->next;
                free(c);
                c = n;
            }
            pthread_mutex_destroy(&r->stream->mu);
            pthread_cond_destroy(&r->stream->cv);
            free(r->stream);
            r->stream = NULL;
        }
        if (r->c) {
            conn_unref(r->c);
            r->c = NULL;
        }
    }
    if (lp->http) evhttp_free(lp->http);
    while (lp->live) {
        tkm_api_req *r = lp->live;
        lp->live = r->lnext;
        free(r->resp);
        free(r);
    }
    while (lp->free_reqs) {
        tkm_api_req *r = lp->free_reqs;
        lp->free_reqs = r->next;
        free(r);
    }
    if (lp->wake) event_free(lp->wake);
    if (lp->ctl) event_free(lp->ctl);
    if (lp->base) event_base_free(lp->base);
    pthread_mutex_destroy(&lp->qmu);
}

void tkm_api_server_free(tkm_api_server *s) {
    if (!s) return;
    if (s->have_pool) {
        pool *p = &s->pool;
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (unsigned i = 0; i < p->n; i++) pthread_join(p->t[i], NULL);
        free(p->t);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
    }
    for (unsigned i = 0; i < s->n_loops; i++) loop_free(&s->loops[i]);
    free(s->loops);
    for (size_t i = 0; i < s->n_routes; i++) {
        free(s->routes[i].path);
        free(s->routes[i].name);
    }
    free(s->routes);
    while (s->checks) {
        health *h = s->checks;
        s->checks = h->next;
        free(h->name);
        free(h);
    }
    while (s->infos) {
        health *h = s->infos;
        s->infos = h->next;
        free(h->name);
        free(h);
    }
    for (size_t i = 0; i < IP_BUCKETS; i++)
        while (s->ips[i]) {
            ipcount *e = s->ips[i];
            s->ips[i] = e->next;
            free(e);
        }
    tkm_ratelimit_free(s->rl);
    SSL_CTX_free(s->ctx);
    X509_free(s->cert);
    sk_X509_pop_free(s->chain, X509_free);
    EVP_PKEY_free(s->key);
    if (s->own_metrics) tkm_metrics_free(s->metrics);
    if (s->stop_pipe[0] >= 0) close(s->stop_pipe[0]);
    if (s->stop_pipe[1] >= 0) close(s->stop_pipe[1]);
    free(s->host);
    free(s->cert_file);
    free(s->key_file);
    free(s->client_ca_file);
    pthread_mutex_destroy(&s->ctx_mu);
    pthread_mutex_destroy(&s->ip_mu);
    free(s);
}
