/*
 * tkm_signer.h — the signing service teekmd serves (docs/teekmd.md): the
 * execution-layer JSON-RPC methods on "/", the admin REST API under
 * /admin/v1, health checks and metrics, on top of an opened instance
 * (tkm_instance.h) and its engine (tkm_engine.h: every decision, record,
 * audit record and signature happens there, in group commits).
 *
 * Request path: a loop thread parses the JSON-RPC call, resolves the key and
 * the caller's right to use it, and builds the intent against the current
 * policy snapshot; the job then waits in a queue that one committer thread
 * drains in batches of up to 256 (one durable commit each) and completes each
 * call with its signature or its rejection. Nothing is answered before its
 * commit.
 *
 * Identity: the operator certificate made at init has every role; other
 * clients get the roles of the policy's `clients` entry for their
 * certificate's CN (and fingerprint, when pinned), and sign only with the
 * keys listed there.
 *
 * Lifecycle: tkm_signer_new (before the server exists: its hooks go into the
 * server config) → tkm_api_server_new with tkm_signer_authorize /
 * tkm_signer_audit / tkm_signer_reload → tkm_signer_attach (routes, health
 * checks, metrics, threads) → tkm_api_server_start / _run → tkm_signer_stop
 * (drains the queue) → tkm_api_server_free → tkm_signer_free →
 * tkm_instance_close.
 *
 * Thread-safety: the hooks and handlers are called by the server from its
 * threads; the functions above from the main thread.
 * Secrets: none of its own (keys stay in the engine); never logged.
 */
#ifndef TKM_SIGNER_H
#define TKM_SIGNER_H

#include "../audit/audit.h"
#include "tkm_http.h"
#include "tkm_instance.h"
#include "tkm_jsonrpc.h"

typedef struct {
    tkm_instance *instance;     /* borrowed; outlives the signer */
    unsigned default_validity;  /* notAfter when a request gives none: now + this (0 = 300 s), capped by the policy */
    size_t max_queue;           /* jobs waiting for a commit before new ones are refused (0 = 65536) */
    size_t max_pending;         /* unexpired requests prepared for approvals (state + memory; 0 = 1024) */
    size_t batch;               /* jobs per commit (0 = 256) */
    unsigned insecure_roles;    /* the roles of plain-HTTP loopback callers (teekmd --insecure-http) */
    const char *log_level_file; /* SIGHUP: read the log level from here when set (first line) */
    const char *client_ca_out;  /* SIGHUP: rebuild this bundle from the sources below */
    const char *const *client_ca_sources; /* PEM files concatenated into client_ca_out */
    size_t n_client_ca_sources;
} tkm_signer_config;

typedef struct tkm_signer tkm_signer;

/* Out: *out. Loads the policy snapshot and key directory from the instance's engine. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_signer_new(tkm_signer **out, const tkm_signer_config *cfg);
/* Register routes ("/" JSON-RPC, /admin/v1/…), health checks and metrics on srv; start the threads. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_signer_attach(tkm_signer *s, tkm_api_server *srv);
/* Stop taking jobs, commit and answer what is queued, join the threads. Idempotent. */
TKM_API void tkm_signer_stop(tkm_signer *s);
/* NULL-safe. After tkm_signer_stop and tkm_api_server_free. */
TKM_API void tkm_signer_free(tkm_signer *s);

/* Server hooks (arg = the signer). */
TKM_API unsigned tkm_signer_authorize(void *arg, const tkm_api_identity *id);
TKM_API void tkm_signer_audit(void *arg, const tkm_api_audit_event *ev);
TKM_API void tkm_signer_reload(void *arg, tkm_api_reload *out);

/*
 * Write the combined client CA bundle: the instance's client CA followed by
 * each source file (PEM certificates). Used at start and by the SIGHUP hook.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_signer_write_ca_bundle(const char *out, const char *local_ca,
                                                          const char *const *sources, size_t n);

#endif
