/* teekm-verifier serve --config FILE [--port-file FILE]: the verifier API on the api module's HTTPS server. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "verifier/tkm_vconfig.h"
#include "verifier/tkm_verifier.h"
#include "vcli.h"

typedef struct {
    tkm_verifier *v;
    const tkm_vconfig *cfg;
} serve_ctx;

/* An authenticated client certificate is an administrator (optionally only for listed CNs). */
static unsigned authorize(void *arg, const tkm_api_identity *id) {
    const serve_ctx *c = arg;
    if (!id->authenticated) return 0;
    if (c->cfg->n_admin_cns) {
        int listed = 0;
        for (size_t i = 0; i < c->cfg->n_admin_cns && !listed; i++) listed = strcmp(c->cfg->admin_cns[i], id->cn) == 0;
        if (!listed) return 0;
    }
    return TKM_ROLE_ADMIN | TKM_ROLE_READ;
}

static void handle(tkm_api_req *r, void *arg) {
    serve_ctx *c = arg;
    size_t len = 0;
    const uint8_t *body = tkm_api_req_body(r, &len);
    tkm_vreq q = {.method = tkm_api_req_method(r) == TKM_HTTP_GET ? TKM_VREQ_GET : TKM_VREQ_POST,
                  .path = tkm_api_req_path(r),
                  .query = tkm_api_req_query(r),
                  .body = body,
                  .body_len = len,
                  .admin = (tkm_api_req_roles(r) & TKM_ROLE_ADMIN) != 0,
                  .now = tkm_time_unix()};
    if (tkm_api_req_method(r) != TKM_HTTP_GET && tkm_api_req_method(r) != TKM_HTTP_POST) q.method = 0;
    int status = 500;
    json_t *resp = NULL;
    tkm_verifier_handle(c->v, &q, &status, &resp);
    char decision[64];
    const char *code = resp ? json_string_value(json_object_get(json_object_get(resp, "error"), "code")) : "NOMEM";
    if (status < 400)
        snprintf(decision, sizeof decision, "ok");
    else
        snprintf(decision, sizeof decision, "deny:%s", code ? code : "?");
    tkm_api_req_set_decision(r, decision);
    if (!resp) {
        tkm_api_req_reply_error(r, 500, TKM_ERR_NOMEM, NULL);
        return;
    }
    tkm_api_req_reply_json(r, status, resp);
}

static tkm_rc health(void *arg) {
    (void)arg;
    return TKM_RC_OK; /* the process answers; registry and keys were opened at start */
}

static int usage(void) {
    fprintf(stderr, "usage: teekm-verifier serve --config FILE [--port-file FILE]\n"
                    "  Serves the verifier API (docs/verifier.md) over HTTPS (TLS 1.3). Public: /v1/...\n"
                    "  (nonce, attest, instances, counters); administrators (client certificate from\n"
                    "  tls.clientCaFile): /admin/v1/... SIGTERM/SIGINT drain and stop. --port-file\n"
                    "  writes the bound port (useful with listen.port 0).\n");
    return 2;
}

int vcmd_serve(int argc, char **argv) {
    const char *cfg_path = NULL, *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            cfg_path = argv[++i];
        else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
            port_file = argv[++i];
        else
            return usage();
    }
    if (!cfg_path) return usage();
    int ret = 1;
    tkm_vconfig *cfg = NULL;
    tkm_verifier *v = NULL;
    tkm_api_server *srv = NULL;
    tkm_rc rc = tkm_vconfig_load(&cfg, cfg_path);
    if (tkm_failed(rc)) {
        vcli_error(cfg_path, rc);
        return 1;
    }
    tkm_log_set_level(cfg->log_level);
    if (tkm_failed(rc = tkm_harden_process()) || tkm_failed(rc = tkm_secure_init(0, 0))) {
        vcli_error("start-up hardening", rc);
        goto out;
    }
    if (tkm_failed(rc = tkm_verifier_open(&v, cfg))) {
        vcli_error("open", rc);
        goto out;
    }
    serve_ctx ctx = {v, cfg};
    tkm_api_config ac = {.host = cfg->listen_host,
                         .port = cfg->listen_port,
                         .threads = cfg->threads,
                         .cert_file = cfg->tls_cert_file,
                         .key_file = cfg->tls_key_file,
                         .client_ca_file = cfg->client_ca_file,
                         .max_body = cfg->max_body,
                         .rate = cfg->rate,
                         .burst = cfg->burst,
                         .handle_signals = 1,
                         .log_requests = 1,
                         .authorize = authorize,
                         .authorize_arg = &ctx};
    if (tkm_failed(rc = tkm_api_server_new(&srv, &ac))) {
        vcli_error("server", rc);
        goto out;
    }
    const unsigned W = TKM_API_ROUTE_WORKER, P = TKM_API_ROUTE_PUBLIC;
    const tkm_api_route routes[] = {
        {"verifier", TKM_HTTP_GET, "/v1/verifier", P, 0, handle, &ctx},
        {"nonce", TKM_HTTP_POST, "/v1/nonce", P, 0, handle, &ctx},
        {"attest", TKM_HTTP_POST, "/v1/attest", P | W | TKM_API_ROUTE_JSON, 0, handle, &ctx},
        {"instances", TKM_HTTP_GET | TKM_HTTP_POST, "/v1/instances/", P | W | TKM_API_ROUTE_PREFIX | TKM_API_ROUTE_JSON, 0,
         handle, &ctx},
        {"admin", TKM_HTTP_GET, "/admin/v1/", W | TKM_API_ROUTE_PREFIX, TKM_ROLE_ADMIN, handle, &ctx},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0] && tkm_ok(rc); i++) rc = tkm_api_server_route(srv, &routes[i]);
    if (tkm_ok(rc)) rc = tkm_api_server_health_check(srv, "verifier", health, &ctx);
    if (tkm_ok(rc)) rc = tkm_api_server_start(srv);
    if (tkm_failed(rc)) {
        vcli_error("server", rc);
        goto out;
    }
    uint16_t port = tkm_api_server_port(srv);
    if (!cfg->client_ca_file)
        tkm_log(TKM_LOG_WARN, "verifier", "no tls.clientCaFile: the /admin/v1 endpoints cannot be reached");
    tkm_log(TKM_LOG_INFO, "verifier", "listening on %s:%u (institution %s)", cfg->listen_host, (unsigned)port,
            cfg->institution);
    if (port_file) {
        /* whole or absent: a reader polling for it never sees an empty file */
        char pb[16];
        int pn = snprintf(pb, sizeof pb, "%u\n", (unsigned)port);
        rc = tkm_file_replace(port_file, 0644, pb, (size_t)pn);
        if (tkm_failed(rc)) {
            vcli_error("port file", rc);
            goto out;
        }
    }
    rc = tkm_api_server_run(srv);
    ret = tkm_ok(rc) ? 0 : 1;
    if (tkm_failed(rc)) vcli_error("server", rc);
out:
    tkm_api_server_free(srv);
    tkm_verifier_close(v);
    tkm_vconfig_free(cfg);
    return ret;
}
