/*
 * teekm keys list | show LABEL | generate LABEL | retire LABEL | rotate LABEL — the admin API of a running
 * teekmd (docs/teekmd.md "Admin API"). Key events need the admins' quorum: without enough approvals the
 * service answers with the KeyEvent typed data to sign; --approver-key signs it here with development key
 * files (demos, tests), --approval adds signatures made elsewhere (wallets).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_APPROVERS 32

static int usage(void) {
    fprintf(stderr,
            "usage: teekm keys list | show LABEL\n"
            "       teekm keys generate LABEL | retire LABEL | rotate LABEL\n"
            "                  [--approver-key DEVKEYFILE]... [--approval 0xSIG]... [--request-id ID] [--expires-at UNIX]\n"
            "%s",
            cli_conn_usage);
    return 2;
}

/*
 * POST body to path; on a QUORUM refusal that carries typed data, sign it with the approver keys and post
 * again with the request id and expiry the service chose. Out: *out (the answer). Returns the process status.
 */
int cli_admin_quorum(tkm_httpc *h, const char *path, json_t *body, const char *const *approver_keys, size_t n_keys,
                     json_t **out) {
    long status = 0;
    json_t *resp = NULL;
    *out = NULL;
    tkm_rc rc = tkm_httpc_json(h, "POST", path, body, &status, &resp);
    json_t *err = resp ? json_object_get(resp, "error") : NULL;
    json_t *doc = resp ? json_object_get(json_object_get(resp, "approval"), "typedData") : NULL;
    int quorum = err && json_string_value(json_object_get(err, "code")) &&
                 strcmp(json_string_value(json_object_get(err, "code")), "QUORUM") == 0;
    if (rc.code == TKM_ERR_HTTP_STATUS && quorum && doc && n_keys) {
        json_t *apps = json_object_get(body, "approvals");
        if (!apps) {
            apps = json_array();
            json_object_set_new(body, "approvals", apps);
        }
        for (size_t i = 0; i < n_keys; i++) {
            json_t *sig = NULL;
            rc = cli_sign_typed(doc, approver_keys[i], &sig);
            if (tkm_failed(rc)) {
                json_decref(resp);
                cli_error("sign the approval", rc);
                return 1;
            }
            json_array_append_new(apps, sig);
        }
        json_t *rid = json_object_get(resp, "requestId"), *exp = json_object_get(resp, "expiresAt");
        if (rid) json_object_set(body, "requestId", rid);
        if (exp) json_object_set(body, "expiresAt", exp);
        json_decref(resp);
        resp = NULL;
        rc = tkm_httpc_json(h, "POST", path, body, &status, &resp);
    }
    if (tkm_failed(rc)) {
        if (resp && quorum && doc && !n_keys) {
            cli_print_json(resp); /* what to sign */
            fprintf(stderr, "teekm: the admins' approvals are needed: sign approval.typedData (eth_signTypedData_v4)\n"
                            "       and pass the signatures with --approval, or --approver-key DEVKEYFILE\n");
        }
        cli_error(path, rc);
        json_decref(resp);
        return 1;
    }
    *out = resp;
    return 0;
}

int cmd_keys(int argc, char **argv) {
    if (argc < 2) return usage();
    const char *sub = argv[1], *label = NULL, *rid = NULL, *exp = NULL;
    const char *keys[MAX_APPROVERS], *sigs[MAX_APPROVERS];
    size_t n_keys = 0, n_sigs = 0;
    cli_conn conn = {0};
    for (int i = 2; i < argc; i++) {
        if (cli_conn_option(&conn, argc, argv, &i)) continue;
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' && !label) {
            label = a;
            continue;
        }
        if (!v) return usage();
        i++;
        if (strcmp(a, "--approver-key") == 0 && n_keys < MAX_APPROVERS)
            keys[n_keys++] = v;
        else if (strcmp(a, "--approval") == 0 && n_sigs < MAX_APPROVERS)
            sigs[n_sigs++] = v;
        else if (strcmp(a, "--request-id") == 0)
            rid = v;
        else if (strcmp(a, "--expires-at") == 0)
            exp = v;
        else
            return usage();
    }
    int list = strcmp(sub, "list") == 0, show = strcmp(sub, "show") == 0;
    int gen = strcmp(sub, "generate") == 0, retire = strcmp(sub, "retire") == 0, rotate = strcmp(sub, "rotate") == 0;
    if (!(list || show || gen || retire || rotate) || (list == !!label)) return usage();
    tkm_httpc *h = NULL;
    tkm_rc rc = cli_conn_open(&conn, &h);
    if (tkm_failed(rc)) {
        cli_error("keys", rc);
        return 1;
    }
    int status = 1;
    json_t *out = NULL;
    char path[256];
    if (list || show) {
        long st;
        if (show)
            snprintf(path, sizeof path, "/admin/v1/keys/%s", label);
        else
            snprintf(path, sizeof path, "/admin/v1/keys");
        rc = tkm_httpc_json(h, "GET", path, NULL, &st, &out);
        if (tkm_failed(rc))
            cli_error(path, rc);
        else
            status = 0;
    } else {
        json_t *body = json_object();
        json_t *apps = n_sigs ? json_array() : NULL;
        for (size_t i = 0; apps && i < n_sigs; i++) json_array_append_new(apps, json_string(sigs[i]));
        if (apps) json_object_set_new(body, "approvals", apps);
        if (gen) json_object_set_new(body, "label", json_string(label));
        if (rid) json_object_set_new(body, "requestId", json_string(rid));
        if (exp) json_object_set_new(body, "expiresAt", json_integer(strtoll(exp, NULL, 10)));
        if (gen)
            snprintf(path, sizeof path, "/admin/v1/keys");
        else
            snprintf(path, sizeof path, "/admin/v1/keys/%s/%s", label, retire ? "retire" : "rotate");
        status = cli_admin_quorum(h, path, body, keys, n_keys, &out);
        json_decref(body);
    }
    if (!status) cli_print_json(out);
    json_decref(out);
    tkm_httpc_free(h);
    return status;
}
