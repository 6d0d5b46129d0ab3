/*
 * tkm_httpc.h — a small HTTPS JSON client over libcurl, for the operator CLI
 * (admin commands) and tests.
 *
 * TLS 1.3 only, peer and host name verified against ca_file (the instance's
 * CA: pinning by CA), optionally also pinned to one server public key
 * (pinned_pubkey, "sha256//<base64>" as curl's CURLOPT_PINNEDPUBLICKEY).
 * Client certificate and key for mutual TLS. Timeouts always apply (defaults:
 * connect 5 s, whole request 30 s). Responses are capped (default 16 MiB) and
 * JSON answers go through tkm_json_load. One connection is kept alive between
 * requests of the same client.
 *
 * Ownership: the client copies the config strings; responses are the caller's.
 * Thread-safety: one client per thread (libcurl easy handle); different
 * clients may be used concurrently.
 * Secrets: the client key stays in the file (libcurl/OpenSSL read it); request
 * bodies are never logged.
 */
#ifndef TKM_HTTPC_H
#define TKM_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "tkm_jsonrpc.h"

typedef struct {
    const char *base_url;      /* "https://127.0.0.1:8545" (no trailing slash) */
    const char *ca_file;       /* PEM CA bundle that must sign the server certificate */
    const char *pinned_pubkey; /* optional "sha256//base64" */
    const char *cert_file;     /* optional client certificate (PEM) */
    const char *key_file;      /* its key (PEM) */
    long connect_timeout_ms;   /* 0 = 5000 */
    long timeout_ms;           /* 0 = 30000 */
    size_t max_response;       /* 0 = 16 MiB */
    int allow_plain_http;      /* 1: accept an http:// base_url (loopback tools only) */
} tkm_httpc_config;

typedef struct tkm_httpc tkm_httpc;

/* Out: *out. Returns: OK, TKM_ERR_FORMAT (URL not https://), TKM_ERR_NOMEM. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_httpc_new(tkm_httpc **out, const tkm_httpc_config *cfg);
TKM_API void tkm_httpc_free(tkm_httpc *c); /* NULL-safe */

/*
 * One request. method "GET"/"POST"/"PUT"/"DELETE"; path appended to base_url;
 * body may be NULL (len 0); content_type NULL = application/json when a body
 * is given.
 * Out: *status (HTTP status), *resp (malloc'd, NUL-terminated, caller frees;
 * may be empty), *resp_len.
 * Returns: OK whatever the status; TKM_ERR_TLS (handshake, verification,
 * pinning), TKM_ERR_TIMEOUT, TKM_ERR_NETWORK (connect, reset), TKM_ERR_TOO_LARGE.
 * The detail names the libcurl error.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_httpc_request(tkm_httpc *c, const char *method, const char *path,
                                                 const char *content_type, const uint8_t *body,
                                                 size_t len, long *status, uint8_t **resp,
                                                 size_t *resp_len);

/*
 * A GET whose 2xx body is handed to sink as it arrives (an audit export), with
 * no total deadline but a stall limit (timeout_ms without a byte). sink
 * returns non-zero to stop (then TKM_ERR_IO). Out: *status; a non-2xx body in
 * *resp (as tkm_httpc_request; caller frees). A body cut short by the server
 * (chunked answer without its last chunk) is TKM_ERR_NETWORK.
 */
typedef int (*tkm_httpc_sink_fn)(void *ctx, const uint8_t *data, size_t len);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_httpc_get_stream(tkm_httpc *c, const char *path, tkm_httpc_sink_fn sink,
                                                    void *ctx, long *status, uint8_t **resp, size_t *resp_len);

/*
 * JSON in, JSON out. body may be NULL. Out: *status, *out (NULL when the
 * answer is empty; caller decrefs). A 4xx/5xx answer returns
 * TKM_ERR_HTTP_STATUS with the server's error code and detail in the detail
 * string; *out still holds the parsed error body when it was JSON.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_httpc_json(tkm_httpc *c, const char *method, const char *path,
                                              const json_t *body, long *status, json_t **out);

/*
 * A JSON-RPC 2.0 call. params (array or object, reference stolen; NULL = none).
 * Out: *result (caller decrefs) on success. A JSON-RPC error answer returns
 * TKM_ERR_REQUEST with *err filled (code, reason, rule, detail).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_httpc_rpc(tkm_httpc *c, const char *path, const char *method,
                                             json_t *params, json_t **result, tkm_rpc_error *err);

#endif
