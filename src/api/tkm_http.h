/*
 * tkm_http.h — the HTTPS server every teekm service is built on.
 *
 * Transport: libevent evhttp over bufferevent_openssl, TLS 1.3 only, mutual
 * TLS. N event-loop threads each run their own evhttp on the same port
 * (SO_REUSEPORT): the kernel spreads connections over them; keep-alive
 * connections stay on their thread. Plain HTTP exists only for loopback and
 * only with insecure_http (a warning is logged at start and every minute).
 *
 * Identity: a client certificate is requested, never required at the TLS
 * layer. A certificate that chains to the client CA bundle (purpose
 * sslclient) makes the connection authenticated; its subject CN, full subject
 * and SHA-256 fingerprint are exposed to handlers. No certificate, or an
 * untrusted one, gives an unauthenticated connection: only routes flagged
 * TKM_API_ROUTE_PUBLIC answer it, the others say 401. The authorize hook maps
 * an identity to roles; a route (or JSON-RPC method) declares the roles it
 * needs and answers 403 when they are missing. Every 401 and 403 is passed to
 * the audit hook.
 *
 * Requests: the route table is matched on method and path (exact or prefix).
 * A handler receives a tkm_api_req and must complete it exactly once with one
 * of the tkm_api_req_reply* functions, from any thread, now or later (a signer
 * can hold requests to group-commit them). Routes flagged
 * TKM_API_ROUTE_WORKER run on the server's worker pool instead of the loop.
 *
 * Limits (none of them may crash or wedge the server): body size (413),
 * header size, concurrent connections and connections per IP (refused at the
 * TLS handshake), per-client token bucket (429 with Retry-After), per-activity
 * I/O timeout, and a whole-request deadline (slow clients are disconnected),
 * JSON depth/size for JSON bodies, JSON-RPC batch size.
 *
 * Lifecycle: tkm_api_server_new (config copied), add routes and health checks,
 * tkm_api_server_start (binds, starts threads), tkm_api_server_run (blocks:
 * signals, drain), tkm_api_server_free. SIGTERM/SIGINT (or
 * tkm_api_server_stop) drain: stop accepting, answer new requests on open
 * connections with 503, let in-flight requests finish until drain_timeout_ms,
 * then run returns so the caller can close its store. SIGHUP re-reads the
 * client CA bundle and calls the reload hook (log level and what else the
 * caller re-reads). The process ignores SIGPIPE once a server starts.
 *
 * Ownership: the server copies the config's strings and up-refs the OpenSSL
 * objects it is given. Route and health-check args are borrowed and must
 * outlive the server. A tkm_api_req belongs to the server; handlers borrow it
 * until they complete it, and must not touch it afterwards.
 * Thread-safety: configuration functions (routes, health checks) before
 * start, from one thread. tkm_api_server_stop, tkm_api_server_roles_changed and
 * the tkm_api_req_* functions from any thread.
 * Secrets: the TLS private key (kept by OpenSSL). Request bodies may hold
 * secrets: they are never logged; the server logs ids, routes, statuses,
 * decisions and latencies only.
 */
#ifndef TKM_HTTP_H
#define TKM_HTTP_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "tkm_metrics.h"

/* ---- roles ---- */
enum {
    TKM_ROLE_SIGN = 1u << 0,
    TKM_ROLE_APPROVE = 1u << 1,
    TKM_ROLE_ADMIN = 1u << 2,
    TKM_ROLE_READ = 1u << 3,
};
#define TKM_ROLE_ALL (TKM_ROLE_SIGN | TKM_ROLE_APPROVE | TKM_ROLE_ADMIN | TKM_ROLE_READ)

/* Write "sign,admin" (comma-separated, "none" for 0) into out. */
TKM_API void tkm_api_roles_str(unsigned roles, char *out, size_t out_len);
/* Parse one role name. Returns: OK or TKM_ERR_FORMAT. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_api_role_parse(const char *name, unsigned *role);

/* ---- identity ---- */
#define TKM_API_CN_MAX 65
#define TKM_API_SUBJECT_MAX 512
#define TKM_API_FPR_LEN 32

typedef struct {
    int authenticated;  /* 1: a client certificate chained to the client CA bundle */
    int cert_presented; /* 1: the client sent a certificate (trusted or not) */
    long verify_error;  /* X509_V_* of an untrusted certificate, 0 otherwise */
    int insecure;       /* 1: plain-HTTP loopback connection (no TLS at all) */
    char cn[TKM_API_CN_MAX];            /* subject CN ("" when none) */
    char subject[TKM_API_SUBJECT_MAX];  /* RFC 2253 subject, truncated */
    uint8_t fingerprint[TKM_API_FPR_LEN]; /* SHA-256 of the DER certificate */
    char fingerprint_hex[2 * TKM_API_FPR_LEN + 1];
    char peer[64]; /* "ip" of the peer */
} tkm_api_identity;

/*
 * Authorization hook: the roles an authenticated identity holds. Called on a
 * loop thread once per connection, and again after tkm_api_server_roles_changed.
 * Must be fast and thread-safe. Without a hook nobody has any role.
 */
typedef unsigned (*tkm_api_authorize_fn)(void *arg, const tkm_api_identity *id);

/* ---- audit of refused callers ---- */
typedef struct {
    int http_status;   /* 401 or 403 (403 also for a refused JSON-RPC method, answered in-band) */
    tkm_err code;      /* NO_CLIENT_CERT, CLIENT_CERT_UNTRUSTED or ROLE_MISSING */
    const char *request_id;
    const char *method;     /* HTTP method */
    const char *path;       /* request path without query */
    const char *rpc_method; /* JSON-RPC method or NULL */
    const tkm_api_identity *identity;
    unsigned roles_required;
    unsigned roles_held;
} tkm_api_audit_event;

/* Called on the thread that refused the request; all pointers valid for the call only. */
typedef void (*tkm_api_audit_fn)(void *arg, const tkm_api_audit_event *ev);

/* ---- SIGHUP reload ---- */
typedef struct {
    int set_log_level; /* the hook sets it to 1 to change the level */
    tkm_log_level log_level;
} tkm_api_reload;
/*
 * Called on the control thread (the one in tkm_api_server_run) at SIGHUP,
 * before the client CA bundle is re-read (so the hook may rewrite it).
 */
typedef void (*tkm_api_reload_fn)(void *arg, tkm_api_reload *out);

/* ---- configuration ---- */
typedef struct {
    const char *host; /* listen address, numeric IPv4/IPv6 (default "127.0.0.1") */
    uint16_t port;    /* 0 = pick a free port (see tkm_api_server_port) */
    unsigned threads; /* event-loop threads, 0 = number of CPUs */
    unsigned workers; /* worker threads for TKM_API_ROUTE_WORKER routes, 0 = 2 */
    unsigned worker_queue_max; /* queued requests before 503, 0 = 4096 */

    /* TLS server identity: either PEM files, PEM in memory, or OpenSSL objects. */
    const char *cert_file;  /* PEM: leaf first, then the chain */
    const char *key_file;   /* PEM private key (read through a wiped buffer) */
    const uint8_t *cert_pem;
    size_t cert_pem_len;
    const tkm_secret *key_pem;
    X509 *cert;             /* borrowed, up-ref'd */
    STACK_OF(X509) *chain;  /* may be NULL; borrowed, copied */
    EVP_PKEY *key;          /* borrowed, up-ref'd */
    const char *client_ca_file; /* PEM bundle; re-read on SIGHUP. NULL: nobody authenticates */

    int insecure_http;       /* plain HTTP; refused unless host is a loopback address */
    unsigned insecure_roles; /* roles every insecure-HTTP caller gets (default none) */

    /* limits (0 = default) */
    size_t max_body;            /* bytes, default 1 MiB */
    size_t max_headers;         /* bytes of request line + headers, default 16 KiB */
    unsigned max_conns;         /* default 1024 */
    unsigned max_conns_per_ip;  /* default 256 */
    unsigned io_timeout_ms;     /* no progress reading/writing, default 10 s */
    unsigned request_timeout_ms; /* a connection must complete a request this often, default 20 s */
    unsigned drain_timeout_ms;  /* default 10 s */
    double rate;                /* tokens per second per client, 0 = no rate limit */
    double burst;               /* bucket size, default = max(rate, 1) */
    size_t rate_clients;        /* buckets kept, default 65536 */
    tkm_json_limits json;       /* for JSON bodies (defaults of tkm_json_load) */
    size_t max_batch;           /* JSON-RPC batch items, default 100 */

    int metrics_public; /* 1: /metrics needs no certificate; default: role read */
    int handle_signals; /* 1: tkm_api_server_run handles SIGTERM, SIGINT, SIGHUP */
    int log_requests;   /* 1: one JSON line per request on stderr (at info level) */

    tkm_metrics *metrics; /* borrowed; NULL = the server makes its own */
    tkm_api_authorize_fn authorize;
    void *authorize_arg;
    tkm_api_audit_fn audit;
    void *audit_arg;
    tkm_api_reload_fn reload;
    void *reload_arg;
} tkm_api_config;

/* ---- requests ---- */
typedef struct tkm_api_req tkm_api_req;
typedef void (*tkm_api_handler)(tkm_api_req *req, void *arg);

enum {
    TKM_HTTP_GET = 1u << 0,
    TKM_HTTP_POST = 1u << 1,
    TKM_HTTP_PUT = 1u << 2,
    TKM_HTTP_DELETE = 1u << 3,
};

enum {
    TKM_API_ROUTE_PUBLIC = 1u << 0, /* answers unauthenticated callers (roles must be 0) */
    TKM_API_ROUTE_PREFIX = 1u << 1, /* path is a prefix; the rest is tkm_api_req_path_rest */
    TKM_API_ROUTE_WORKER = 1u << 2, /* run the handler on the worker pool */
    TKM_API_ROUTE_JSON = 1u << 3,   /* POST/PUT bodies must be Content-Type application/json (415) */
};

typedef struct {
    const char *name;   /* label in logs and metrics (default: path); copied */
    unsigned methods;   /* TKM_HTTP_* mask */
    const char *path;   /* "/admin/v1/keys" or, with PREFIX, "/api/v1/eth2/sign/"; copied */
    unsigned flags;     /* TKM_API_ROUTE_* */
    unsigned roles;     /* roles required (all of them); 0 = any authenticated caller */
    tkm_api_handler fn;
    void *arg;
} tkm_api_route;

/* A health check: OK when healthy. Runs on a loop thread: must be quick. */
typedef tkm_rc (*tkm_api_health_fn)(void *arg);
/*
 * Health information: a JSON value shown in the /healthz body under its name,
 * without bearing on the status (e.g. when something last succeeded). Returns
 * a new reference, or NULL (then the name shows null). Runs on a loop thread:
 * must be quick. The body is public: never put a secret in it.
 */
typedef json_t *(*tkm_api_health_info_fn)(void *arg);

typedef struct tkm_api_server tkm_api_server;

/* Out: *out. Returns: OK; TKM_ERR_TLS (bad certificate/key/CA, detail says which);
 * TKM_ERR_FORMAT (insecure_http on a non-loopback host, no server certificate). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_api_server_new(tkm_api_server **out, const tkm_api_config *cfg);
/* Add a route (before start). Returns: OK, TKM_ERR_EXISTS (same path and overlapping methods). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_api_server_route(tkm_api_server *s, const tkm_api_route *r);
/* Register a /healthz check (before start); name is copied. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_api_server_health_check(tkm_api_server *s, const char *name,
                                                           tkm_api_health_fn fn, void *arg);
/*
 * Add health information to the /healthz body as the top-level field name
 * (before start; name copied; not "status", "checks" or "failing": a caller
 * bug). Returns: OK, TKM_ERR_EXISTS (name taken), TKM_ERR_NOMEM.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_api_server_health_info(tkm_api_server *s, const char *name,
                                                          tkm_api_health_info_fn fn, void *arg);
/* Bind and start the loop threads. Returns: OK, TKM_ERR_LISTEN, TKM_ERR_NOMEM. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_api_server_start(tkm_api_server *s);
/* The bound port (after start). */
TKM_API uint16_t tkm_api_server_port(const tkm_api_server *s);
/* Block until stopped (signal or tkm_api_server_stop), drain, stop the loops. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_api_server_run(tkm_api_server *s);
/* Ask run to drain and return. Async-signal-safe and thread-safe. */
TKM_API void tkm_api_server_stop(tkm_api_server *s);
/* Re-read the client CA bundle now (what SIGHUP does). Returns: OK or TKM_ERR_TLS (old kept). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_api_server_reload_tls(tkm_api_server *s);
/* Roles may have changed (new policy): re-ask the authorize hook on the next request. */
TKM_API void tkm_api_server_roles_changed(tkm_api_server *s);
/* The registry (the config's or the server's own). */
TKM_API tkm_metrics *tkm_api_server_metrics(tkm_api_server *s);
/* Stop everything and free. After run returned (or start failed); NULL-safe. */
TKM_API void tkm_api_server_free(tkm_api_server *s);

/* ---- request accessors: valid until the request is completed ---- */
TKM_API const char *tkm_api_req_id(const tkm_api_req *r);    /* 16 hex digits */
TKM_API unsigned tkm_api_req_method(const tkm_api_req *r);   /* one TKM_HTTP_* */
/* The path as sent (percent-encoding kept, no query; routes match it raw, so an
 * encoded slash never reaches a prefix route by accident). At most 511 bytes: longer is 414. */
TKM_API const char *tkm_api_req_path(const tkm_api_req *r);
TKM_API const char *tkm_api_req_path_rest(const tkm_api_req *r); /* after a PREFIX route's path */
TKM_API const char *tkm_api_req_query(const tkm_api_req *r); /* raw query or NULL */
TKM_API const char *tkm_api_req_header(const tkm_api_req *r, const char *name); /* or NULL */
/* Body bytes (not NUL-terminated); borrowed. Secret?: may be. */
TKM_API const uint8_t *tkm_api_req_body(const tkm_api_req *r, size_t *len);
TKM_API const tkm_api_identity *tkm_api_req_identity(const tkm_api_req *r);
TKM_API unsigned tkm_api_req_roles(const tkm_api_req *r);
TKM_API tkm_api_server *tkm_api_req_server(const tkm_api_req *r);
/* Load the body as JSON under the server's limits. Out: *out (caller decrefs). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_api_req_json(const tkm_api_req *r, json_t **out);
/* Spend `extra` more rate-limit tokens (a batch). Returns 1 when allowed. */
TKM_API int tkm_api_req_charge(tkm_api_req *r, double extra);
/* Record the decision for the request log (copied, <= 63 chars, e.g. "allow", "deny:LIMIT"). */
TKM_API void tkm_api_req_set_decision(tkm_api_req *r, const char *decision);
/* Record the JSON-RPC method(s) for the request log (copied, <= 63 chars). */
TKM_API void tkm_api_req_set_rpc(tkm_api_req *r, const char *rpc);
/* Report a refused caller to the audit hook (JSON-RPC methods use this). */
TKM_API void tkm_api_req_audit(tkm_api_req *r, int http_status, tkm_err code, const char *rpc_method,
                               unsigned roles_required);

/* ---- completion: exactly once per request, from any thread ---- */
/* body (may be NULL when len is 0) is copied; content_type NULL = application/json. */
TKM_API void tkm_api_req_reply(tkm_api_req *r, int status, const char *content_type,
                               const void *body, size_t len);
/* Take ownership of a malloc'd body (freed by the server). */
TKM_API void tkm_api_req_reply_owned(tkm_api_req *r, int status, const char *content_type,
                                     uint8_t *body, size_t len);
/* Serialize json (reference stolen) compactly. */
TKM_API void tkm_api_req_reply_json(tkm_api_req *r, int status, json_t *json);
/* {"error":{"code":"NAME","message":"...","detail":"..."}} with status (0 = from the code). */
TKM_API void tkm_api_req_reply_error(tkm_api_req *r, int status, tkm_err code, const char *detail);

/*
 * Streaming replies (HTTP/1.1 chunked): for answers too large to build in
 * memory (an audit export). begin completes the request (the misuse handler
 * fires if it was completed before) and sends the status and headers; write
 * queues a chunk; end finishes the answer, after which r must not be used.
 * Call them from a worker thread (a TKM_API_ROUTE_WORKER route), never from a
 * loop thread: write blocks while more than 256 KiB are queued for the
 * client (flow control). write returns 1 when queued, 0 when the client went
 * away or the server is draining — then stop producing and call end.
 * The request log line is written at end (bytes_out = the bytes streamed).
 */
TKM_API void tkm_api_req_stream_begin(tkm_api_req *r, int status, const char *content_type);
TKM_API int tkm_api_req_stream_write(tkm_api_req *r, const void *data, size_t len);
TKM_API void tkm_api_req_stream_end(tkm_api_req *r);
/* End an answer that failed half-way: the connection is closed without the final chunk. */
TKM_API void tkm_api_req_stream_abort(tkm_api_req *r);

/* HTTP status for a teekm error (400 parse, 401/403 auth, 413/429 limits, 503 unavailable...). */
TKM_API int tkm_api_http_status(tkm_err code);

#endif
