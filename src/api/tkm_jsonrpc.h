/*
 * tkm_jsonrpc.h — JSON-RPC 2.0 (https://www.jsonrpc.org/specification) on an
 * HTTP route.
 *
 * Parsing (tkm_rpc_parse) is strict and independent of the transport:
 *  - the body goes through tkm_json_load (size, depth, duplicate keys,
 *    trailing bytes): failure → -32700 Parse error;
 *  - an empty array → -32600; a batch longer than max_batch → -32600
 *    (TKM_ERR_BATCH_TOO_LARGE in data.reason);
 *  - each item must be an object with exactly the members jsonrpc ("2.0", a
 *    string), method (a string), optional params (array or object) and
 *    optional id (string, integer or null); anything else → -32600 for that
 *    item. An item without id is a notification: it runs, nothing is
 *    answered for it. An invalid item is answered with its id when the id
 *    itself was valid, with null otherwise.
 *
 * Errors: the five standard codes, plus application errors whose code is the
 * teekm error number (tkm_err, e.g. 400 POLICY_DENIED, 701 FORBIDDEN, 801
 * RATE_LIMIT) with message tkm_err_str and data {reason, rule, detail}.
 * A PARSE-category failure of the params is -32602 with the same data; an
 * internal failure is -32603 without detail. The policy engine fills
 * tkm_rpc_error itself (its reason codes go in reason, the rule that decided
 * in rule).
 *
 * Dispatch (tkm_rpc_endpoint): a table of methods, each with the roles it
 * needs. A call whose caller lacks them gets error 701 (reason ROLE_MISSING)
 * and is reported to the audit hook with status 403; an unknown method is
 * -32601. A method handler completes its call exactly once, from any thread,
 * now or later; the HTTP reply goes out when every item of the request is
 * complete (items of a batch run in order on the thread that received them
 * and may complete in any order; answers keep the request order). Requests
 * made only of notifications are answered 204 with no body. JSON-RPC answers
 * are always HTTP 200 (clients such as ethers expect that); transport
 * failures before JSON-RPC (401, 413, 415, 429) keep their HTTP status.
 *
 * Ownership: a parsed request owns its JSON document; items borrow from it.
 * Thread-safety: parse/free from one thread; call completion from any thread.
 * Secrets: params may hold secrets (they are never logged).
 */
#ifndef TKM_JSONRPC_H
#define TKM_JSONRPC_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "tkm_http.h"

#define TKM_RPC_PARSE_ERROR (-32700)
#define TKM_RPC_INVALID_REQUEST (-32600)
#define TKM_RPC_METHOD_NOT_FOUND (-32601)
#define TKM_RPC_INVALID_PARAMS (-32602)
#define TKM_RPC_INTERNAL_ERROR (-32603)

#define TKM_RPC_METHOD_MAX 128 /* longer method names are invalid requests */

/* ---- errors ---- */
typedef struct {
    int code;        /* JSON-RPC code */
    tkm_err err;     /* teekm code behind it (TKM_OK for the pure protocol errors) */
    char reason[64]; /* stable reason name: tkm_err_name, or a policy reason code */
    char rule[64];   /* policy rule that decided, "" if none */
    char detail[256]; /* non-secret explanation, "" if none */
} tkm_rpc_error;

/* A protocol error (code is one of the standard ones). detail may be NULL. */
TKM_API void tkm_rpc_error_std(tkm_rpc_error *e, int code, const char *detail);
/*
 * Map a failure to an error: PARSE category → -32602; MISUSE/INTERNAL →
 * -32603 (no detail); anything else → code = rc.code. reason = tkm_err_name;
 * detail = the thread's tkm_err_detail().
 */
TKM_API void tkm_rpc_error_from_rc(tkm_rpc_error *e, tkm_rc rc);
/* Out: a new {"code","message"[,"data"]} object, NULL on allocation failure. */
TKM_API json_t *tkm_rpc_error_json(const tkm_rpc_error *e);

/* ---- parsing ---- */
typedef struct {
    json_t *id;         /* NULL: notification; else string, integer or null (borrowed) */
    const char *method; /* NULL when the item is invalid (borrowed) */
    json_t *params;     /* array, object or NULL (borrowed) */
    int invalid;        /* 1: answer with error (code -32600) */
    const char *why;    /* static explanation when invalid */
} tkm_rpc_item;

typedef struct {
    json_t *doc;
    int batch; /* 1: the body was an array */
    size_t n;
    tkm_rpc_item *items;
} tkm_rpc_request;

typedef struct {
    tkm_json_limits json; /* 0 = tkm_json_load defaults */
    size_t max_batch;     /* 0 = 100 */
} tkm_rpc_limits;

/*
 * Parse a body. Out: *out (free with tkm_rpc_request_free) when OK — items may
 * still be individually invalid. Whole-request failures: TKM_ERR_JSON,
 * TKM_ERR_JSON_* (→ -32700), TKM_ERR_REQUEST (empty batch, not an array or
 * object → -32600), TKM_ERR_BATCH_TOO_LARGE (→ -32600), TKM_ERR_NOMEM.
 * lim may be NULL.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rpc_parse(tkm_rpc_request **out, const uint8_t *body, size_t len,
                                             const tkm_rpc_limits *lim);
TKM_API void tkm_rpc_request_free(tkm_rpc_request *r); /* NULL-safe */
/* The error a whole-request failure gets (id null): -32700 or -32600. */
TKM_API void tkm_rpc_error_for_parse(tkm_rpc_error *e, tkm_rc rc);

/* ---- dispatch ---- */
typedef struct tkm_rpc_call tkm_rpc_call;
typedef void (*tkm_rpc_fn)(tkm_rpc_call *call, void *arg);

typedef struct {
    const char *name; /* exact method name */
    unsigned roles;   /* required roles (all of them); 0 = any authenticated caller */
    tkm_rpc_fn fn;
    void *arg;
} tkm_rpc_method;

typedef struct tkm_rpc_endpoint tkm_rpc_endpoint;

/*
 * Out: *out, an endpoint for methods[0..n) (copied; names borrowed and must
 * outlive it). metrics may be NULL. Free after the server is freed.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rpc_endpoint_new(tkm_rpc_endpoint **out, const tkm_rpc_method *methods,
                                                    size_t n, tkm_metrics *metrics,
                                                    const tkm_rpc_limits *lim);
TKM_API void tkm_rpc_endpoint_free(tkm_rpc_endpoint *ep); /* NULL-safe */
/* The route handler to register: tkm_api_route{.fn = tkm_rpc_handle, .arg = ep, .flags = JSON}. */
TKM_API void tkm_rpc_handle(tkm_api_req *req, void *ep);

/* Call accessors (valid until the call is completed). */
TKM_API const char *tkm_rpc_call_method(const tkm_rpc_call *c);
TKM_API json_t *tkm_rpc_call_params(const tkm_rpc_call *c); /* borrowed; NULL when absent */
TKM_API int tkm_rpc_call_is_notification(const tkm_rpc_call *c);
TKM_API tkm_api_req *tkm_rpc_call_req(const tkm_rpc_call *c);
TKM_API const tkm_api_identity *tkm_rpc_call_identity(const tkm_rpc_call *c);
/* Complete with a result (reference stolen; NULL means JSON null). */
TKM_API void tkm_rpc_call_result(tkm_rpc_call *c, json_t *result);
/* Complete with an error (copied). */
TKM_API void tkm_rpc_call_error(tkm_rpc_call *c, const tkm_rpc_error *e);
/* Shorthand: tkm_rpc_error_from_rc then tkm_rpc_call_error. */
TKM_API void tkm_rpc_call_fail(tkm_rpc_call *c, tkm_rc rc);

#endif
