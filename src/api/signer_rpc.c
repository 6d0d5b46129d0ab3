/* see tkm_signer.h — the JSON-RPC methods on "/" (docs/teekmd.md "JSON-RPC"). */
#include "signer_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/crypto.h"

/* ---- parameters ---- */

static tkm_rc bad_params(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static tkm_rc bad_params(const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tkm_err_detail_set("%s", buf);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(TKM_ERR_REQUEST);
}

/* params must be an array of min..max items (absent = empty). */
static tkm_rc params_array(tkm_rpc_call *c, size_t min, size_t max, json_t **arr, size_t *n) {
    json_t *p = tkm_rpc_call_params(c);
    *arr = p;
    *n = 0;
    if (!p) {
        if (min) return bad_params("params: expected %s", min == 1 ? "1 item" : "more items");
        return TKM_RC_OK;
    }
    if (!json_is_array(p)) return bad_params("params: must be an array%s", "");
    *n = json_array_size(p);
    if (*n < min || *n > max) {
        char m[48];
        snprintf(m, sizeof m, "%zu to %zu items", min, max);
        return bad_params("params: expected %s", m);
    }
    return TKM_RC_OK;
}

/* The teekm extension: {requestId, approvals, notAfter} (and `from` for teekm_prepare). */
typedef struct {
    char request_id[TKM_REQUEST_ID_MAX + 1];
    int64_t not_after; /* 0 = not given */
    json_t *approvals; /* borrowed */
    int has_from;
    uint8_t from[20];
    char from_label[TKM_POLICY_NAME_MAX + 1];
} ext_opts;

static tkm_rc parse_ext(ext_opts *x, const json_t *v, const char *path, int allow_from) {
    static const char *const f1[] = {"requestId", "approvals", "notAfter", NULL};
    static const char *const f2[] = {"requestId", "approvals", "notAfter", "from", NULL};
    memset(x, 0, sizeof *x);
    if (!v) return TKM_RC_OK;
    if (!json_is_object(v)) return bad_params("%s: the teekm options must be an object {requestId, approvals, notAfter}", path);
    TKM_TRY(tkm_json_check_fields(v, path, allow_from ? f2 : f1));
    const char *s;
    size_t n;
    int present = 0;
    TKM_TRY(tkm_json_str(v, path, "requestId", 0, &s, &n));
    if (s) {
        if (!tkm_request_id_ok(s, n)) return bad_params("%s.requestId: 1-128 characters of A-Z a-z 0-9 . _ : -", path);
        memcpy(x->request_id, s, n + 1);
    }
    TKM_TRY(tkm_json_int(v, path, "notAfter", 0, 1, 9007199254740991LL, &x->not_after, &present));
    TKM_TRY(tkm_json_get(v, path, "approvals", 0, &x->approvals));
    if (x->approvals && !json_is_array(x->approvals)) return bad_params("%s.approvals: must be an array", path);
    if (allow_from) {
        TKM_TRY(tkm_json_str(v, path, "from", 0, &s, &n));
        if (s && n >= 2 && s[0] == '0' && s[1] == 'x') {
            TKM_TRY(tkm_eth_address_parse(x->from, s, n));
            x->has_from = 1;
        } else if (s) {
            if (!tkm_key_label_ok(s, n)) return bad_params("%s.from: an address or a key label", path);
            memcpy(x->from_label, s, n + 1);
        }
    }
    return TKM_RC_OK;
}

static tkm_rc parse_addr_param(const json_t *v, const char *path, uint8_t addr[20]) {
    if (!json_is_string(v)) return bad_params("%s: must be an address string", path);
    tkm_rc rc = tkm_eth_address_parse(addr, json_string_value(v), json_string_length(v));
    if (tkm_failed(rc)) tkm_err_detail_set("%s: not an address (0x + 40 hex digits, EIP-55 when mixed case)", path);
    return rc;
}

/* typed data given as an object or as its JSON text (ethers sends the text). Out: *out (new reference). */
static tkm_rc typed_data_param(const json_t *v, const char *path, json_t **out) {
    *out = NULL;
    if (json_is_object(v)) {
        *out = json_incref((json_t *)v);
        return TKM_RC_OK;
    }
    if (!json_is_string(v)) return bad_params("%s: typed data must be an object or its JSON text", path);
    tkm_json_limits lim = {.max_bytes = TKM_REQUEST_MAX_BYTES, .max_depth = 40};
    tkm_rc rc = tkm_json_load(out, (const uint8_t *)json_string_value(v), json_string_length(v), &lim);
    if (tkm_ok(rc) && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return bad_params("%s: typed data must be a JSON object", path);
    }
    return rc;
}

/* ---- building a signing request ---- */

typedef struct {
    tkm_request req;
    dir_key key;
    int known_key;
    tkm_intent intent;
    int unsupported;
    char why[200];
} built;

/* Under pend_mu. */
static pending *pending_find(tkm_signer *s, const char *request_id) {
    for (pending *p = s->pend; p; p = p->next)
        if (strcmp(p->r.intent.request_id, request_id) == 0) return p;
    return NULL;
}

/*
 * Resolve the key, check the caller may use it, pick requestId and notAfter,
 * parse the payload with the request parser, build the intent against the
 * current policy. Returns: OK (b->unsupported may be set); a parse error
 * (-32602); TKM_ERR_UNKNOWN_KEY with b->known_key = 0; TKM_ERR_KEY_NOT_ALLOWED.
 */
static tkm_rc build(tkm_signer *s, tkm_rpc_call *c, built *b, const char *payload_field, json_t *payload,
                    const uint8_t *addr, const char *label, const ext_opts *x) {
    b->known_key = addr ? signer_key_by_addr(s, addr, &b->key) : signer_key_by_label(s, label, &b->key);
    if (!b->known_key || b->key.status != TKM_STORE_KEY_ACTIVE) {
        char a[TKM_ETH_ADDR_STR_LEN];
        if (addr) tkm_eth_address_checksum(a, addr);
        tkm_err_detail_set("no active key %s", addr ? a : label);
        b->known_key = 0;
        TKM_ENSURE(0, TKM_ERR_UNKNOWN_KEY);
    }
    if (!signer_may_use(s, tkm_rpc_call_identity(c), b->key.label, b->key.addr)) {
        tkm_api_req_audit(tkm_rpc_call_req(c), 403, TKM_ERR_KEY_NOT_ALLOWED, tkm_rpc_call_method(c), TKM_ROLE_SIGN);
        tkm_err_detail_set("this client certificate may not use key %s (policy clients section)", b->key.label);
        TKM_ENSURE(0, TKM_ERR_KEY_NOT_ALLOWED);
    }
    tkm_policy *pol = signer_policy(s);
    char rid[TKM_REQUEST_ID_MAX + 1];
    int64_t not_after = x->not_after;
    if (x->request_id[0]) {
        snprintf(rid, sizeof rid, "%s", x->request_id);
        if (!not_after) { /* prepared: the notAfter the approvers signed */
            pthread_mutex_lock(&s->pend_mu);
            pending *p = pending_find(s, rid);
            if (p) not_after = p->r.intent.not_after;
            pthread_mutex_unlock(&s->pend_mu);
        }
    } else {
        signer_new_request_id(s, rid);
    }
    if (!not_after) {
        uint64_t v = s->cfg.default_validity < pol->max_validity_seconds ? s->cfg.default_validity
                                                                          : pol->max_validity_seconds;
        not_after = tkm_instance_time(s->in, pol) + (int64_t)v; /* from the bounded clock, as it is evaluated */
    }
    json_t *o = json_object();
    TKM_ENSURE(o, TKM_ERR_NOMEM);
    int bad = json_object_set_new(o, "requestId", json_string(rid)) ||
              json_object_set_new(o, "key", json_string(b->key.label)) ||
              json_object_set_new(o, "notAfter", json_integer((json_int_t)not_after)) ||
              json_object_set(o, payload_field, payload) ||
              (x->approvals && json_object_set(o, "approvals", x->approvals));
    tkm_rc rc = bad ? TKM_RC(TKM_ERR_NOMEM) : tkm_request_from_json(&b->req, o);
    json_decref(o);
    if (tkm_ok(rc))
        rc = tkm_intent_build(&b->intent, &b->unsupported, b->why, sizeof b->why, &b->req, b->key.addr, pol);
    return rc;
}

/*
 * Approvals collected by teekm_submitApproval for this request and payload,
 * then the inline ones. A prepared record under this id is deleted in the
 * commit that allows the request (its approvals are spent, or it was for a
 * payload this id can no longer sign).
 */
static void merge_approvals(tkm_signer *s, const built *b, tkm_sign_request *sr) {
    size_t n = 0;
    pthread_mutex_lock(&s->pend_mu);
    pending *p = s->pend ? pending_find(s, b->intent.request_id) : NULL;
    if (p) sr->drop_pending = 1;
    if (p && memcmp(p->r.intent.payload_hash, b->intent.payload_hash, 32) == 0 &&
        memcmp(p->r.intent.key, b->intent.key, 20) == 0)
        for (size_t i = 0; i < p->r.n_approvals && n < TKM_APPROVALS_MAX; i++) sr->approvals[n++] = p->r.approvals[i];
    pthread_mutex_unlock(&s->pend_mu);
    for (size_t i = 0; i < b->req.n_approvals && n < TKM_APPROVALS_MAX; i++) sr->approvals[n++] = b->req.approvals[i];
    sr->n_approvals = n;
}

static void pending_remove(tkm_signer *s, const char *request_id) {
    pthread_mutex_lock(&s->pend_mu);
    for (pending **pp = &s->pend; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->r.intent.request_id, request_id) == 0) {
            pending *p = *pp;
            *pp = p->next;
            free(p);
            s->n_pend--;
            break;
        }
    pthread_mutex_unlock(&s->pend_mu);
}

static void fail_call(tkm_signer *s, tkm_rpc_call *c, const char *method, tkm_rc rc) {
    const char *v[] = {method, "error"};
    tkm_metric_inc(tkm_metric_child_get(s->m_decisions, v), 1);
    tkm_rpc_call_fail(c, rc);
}

/* Turn a built request into a job: signing, or a rejection audited before evaluation. */
static void submit(tkm_signer *s, tkm_rpc_call *c, built *b, job_kind kind, const char *method, uint64_t t0) {
    job *j = signer_job_new(s);
    if (!j) {
        tkm_request_free(&b->req);
        fail_call(s, c, method, TKM_RC(TKM_ERR_NOMEM));
        return;
    }
    j->call = c;
    j->method = method;
    j->t0 = t0;
    j->kind = kind;
    j->sr.intent = b->intent;
    j->sr.host_now = tkm_time_unix();
    j->sr.sign = 1;
    memcpy(j->key_addr, b->key.addr, 20);
    if (b->unsupported || b->req.approvals_bad) {
        j->sr.kind = TKM_JOB_REJECT;
        j->sr.reject_reason = b->unsupported ? TKM_REASON_UNSUPPORTED_PAYLOAD : TKM_REASON_APPROVAL_INVALID;
        snprintf(j->sr.reject_detail, sizeof j->sr.reject_detail, "%s", b->unsupported ? b->why : b->req.approvals_why);
    } else {
        merge_approvals(s, b, &j->sr);
    }
    if (kind == JOB_SIGN_TX && b->req.has_tx) { /* the transaction moves into the job */
        j->tx = b->req.tx;
        j->has_tx = 1;
        b->req.has_tx = 0;
        memset(&b->req.tx, 0, sizeof b->req.tx);
    }
    tkm_request_free(&b->req);
    tkm_rc rc = signer_enqueue(s, j);
    if (tkm_failed(rc)) {
        if (j->has_tx) tkm_tx_free(&j->tx);
        signer_job_free(s, j);
        fail_call(s, c, method, rc);
    }
}

/* A request refused before it could be built (unknown key): audited like the engine's other early rejections. */
static void submit_reject(tkm_signer *s, tkm_rpc_call *c, const char *method, const char *request_id,
                          tkm_reason reason, const char *detail, uint64_t t0) {
    built b;
    memset(&b, 0, sizeof b);
    snprintf(b.intent.request_id, sizeof b.intent.request_id, "%s", request_id);
    b.unsupported = 1;
    snprintf(b.why, sizeof b.why, "%s", detail);
    job *j = signer_job_new(s);
    if (!j) {
        fail_call(s, c, method, TKM_RC(TKM_ERR_NOMEM));
        return;
    }
    j->call = c;
    j->method = method;
    j->t0 = t0;
    j->kind = JOB_REJECT;
    j->sr.intent = b.intent;
    j->sr.host_now = tkm_time_unix();
    j->sr.kind = TKM_JOB_REJECT;
    j->sr.reject_reason = reason;
    snprintf(j->sr.reject_detail, sizeof j->sr.reject_detail, "%s", detail);
    tkm_rc rc = signer_enqueue(s, j);
    if (tkm_failed(rc)) {
        signer_job_free(s, j);
        fail_call(s, c, method, rc);
    }
}

/* The common tail of the signing methods after build(). */
static void sign_built(tkm_signer *s, tkm_rpc_call *c, built *b, tkm_rc rc, job_kind kind, const char *method,
                       const char *rid_hint, uint64_t t0) {
    if (rc.code == TKM_ERR_UNKNOWN_KEY && !b->known_key) {
        char d[256];
        snprintf(d, sizeof d, "%s", tkm_err_detail());
        tkm_request_free(&b->req);
        submit_reject(s, c, method, rid_hint, TKM_REASON_UNKNOWN_KEY, d, t0);
        return;
    }
    if (tkm_failed(rc)) {
        tkm_request_free(&b->req);
        fail_call(s, c, method, rc);
        return;
    }
    submit(s, c, b, kind, method, t0);
}

/* ---- answers (committer thread) ---- */

static json_t *sig_hex_v27(const uint8_t sig[65]) {
    uint8_t v[65];
    memcpy(v, sig, 65);
    v[64] = (uint8_t)(27 + sig[64]);
    return tkm_json_hex_new(v, 65);
}

void signer_job_finish(tkm_signer *s, job *j) {
    if (!j->call) { /* audit only */
        if (tkm_failed(j->rc))
            tkm_log(TKM_LOG_ERROR, "signer", "audit record not committed: %s (%s)", tkm_err_name(j->rc.code),
                    tkm_err_detail());
        json_decref(j->audit_body);
        signer_job_free(s, j);
        return;
    }
    tkm_api_req *hr = tkm_rpc_call_req(j->call);
    const char *mv[] = {j->method};
    tkm_metric_observe(tkm_metric_child_get(s->m_sign_seconds, mv), (double)(tkm_time_mono_ns() - j->t0) / 1e9);
    signer_outcome_put(s, j);
    const char *decision = "error";
    if (tkm_failed(j->rc)) {
        tkm_api_req_set_decision(hr, "error");
        tkm_rpc_call_fail(j->call, j->rc);
    } else if (j->res.decision.allow && j->res.has_sig) {
        decision = "allow";
        json_t *result = NULL;
        if (j->kind == JOB_SIGN_TX && j->has_tx) {
            tkm_tx *tx = &j->tx;
            memcpy(tx->r, j->res.sig, 32);
            memcpy(tx->s, j->res.sig + 32, 32);
            tx->y_parity = j->res.sig[64];
            tx->is_signed = 1;
            tx->has_from = 1;
            memcpy(tx->from, j->key_addr, 20);
            tkm_wr w;
            tkm_wr_init(&w, 0);
            tkm_rc rc = tkm_tx_encode_signed(tx, &w);
            if (tkm_ok(rc)) result = tkm_json_hex_new(w.p, w.len);
            tkm_wr_free(&w);
        } else {
            result = sig_hex_v27(j->res.sig);
        }
        tkm_api_req_set_decision(hr, "allow");
        if (result)
            tkm_rpc_call_result(j->call, result);
        else
            tkm_rpc_call_fail(j->call, TKM_RC(TKM_ERR_NOMEM));
        if (j->sr.drop_pending) pending_remove(s, j->sr.intent.request_id); /* deleted from the state in that commit */
    } else {
        decision = "deny";
        const tkm_decision *d = &j->res.decision;
        const char *rn = tkm_reason_name(d->reason) ? tkm_reason_name(d->reason) : "UNKNOWN";
        tkm_rpc_error e;
        memset(&e, 0, sizeof e);
        e.err = d->allow ? TKM_ERR_INTERNAL : tkm_reason_err(d->reason);
        e.code = (int)e.err;
        snprintf(e.reason, sizeof e.reason, "%s", rn);
        size_t rl = strnlen(d->rule_id, sizeof e.rule - 1);
        memcpy(e.rule, d->rule_id, rl); /* rule ids are <= 64 bytes; the error keeps 63 */
        e.rule[rl] = 0;
        snprintf(e.detail, sizeof e.detail, "%s", d->detail);
        char dec[64];
        snprintf(dec, sizeof dec, "deny:%s", rn);
        tkm_api_req_set_decision(hr, dec);
        const char *rv[] = {rn};
        tkm_metric_inc(tkm_metric_child_get(s->m_rejections, rv), 1);
        tkm_rpc_call_error(j->call, &e);
    }
    const char *dv[] = {j->method, decision};
    tkm_metric_inc(tkm_metric_child_get(s->m_decisions, dv), 1);
    if (j->has_tx) tkm_tx_free(&j->tx);
    signer_job_free(s, j);
}

/* ---- methods ---- */

static void m_sign_transaction(tkm_rpc_call *c, void *arg) {
    tkm_signer *s = arg;
    uint64_t t0 = tkm_time_mono_ns();
    json_t *p;
    size_t n;
    ext_opts x;
    built b;
    memset(&b, 0, sizeof b);
    tkm_rc rc = params_array(c, 1, 2, &p, &n);
    json_t *tx = tkm_ok(rc) ? json_array_get(p, 0) : NULL;
    if (tkm_ok(rc) && !json_is_object(tx)) rc = bad_params("params[0]: must be a transaction object%s", "");
    if (tkm_ok(rc)) rc = parse_ext(&x, n > 1 ? json_array_get(p, 1) : NULL, "params[1]", 0);
    uint8_t from[20];
    json_t *fv = tkm_ok(rc) ? json_object_get(tx, "from") : NULL;
    if (tkm_ok(rc) && !fv) rc = bad_params("params[0].from: the signing key's address is required%s", "");
    if (tkm_ok(rc)) rc = parse_addr_param(fv, "params[0].from", from);
    if (tkm_failed(rc)) {
        fail_call(s, c, "eth_signTransaction", rc);
        return;
    }
    rc = build(s, c, &b, "tx", tx, from, NULL, &x);
    sign_built(s, c, &b, rc, JOB_SIGN_TX, "eth_signTransaction", x.request_id, t0);
}

static void sign_typed(tkm_rpc_call *c, tkm_signer *s, const char *method) {
    uint64_t t0 = tkm_time_mono_ns();
    json_t *p, *td = NULL;
    size_t n;
    ext_opts x;
    built b;
    memset(&b, 0, sizeof b);
    uint8_t addr[20];
    tkm_rc rc = params_array(c, 2, 3, &p, &n);
    if (tkm_ok(rc)) rc = parse_addr_param(json_array_get(p, 0), "params[0]", addr);
    if (tkm_ok(rc)) rc = typed_data_param(json_array_get(p, 1), "params[1]", &td);
    if (tkm_ok(rc)) rc = parse_ext(&x, n > 2 ? json_array_get(p, 2) : NULL, "params[2]", 0);
    if (tkm_failed(rc)) {
        json_decref(td);
        fail_call(s, c, method, rc);
        return;
    }
    rc = build(s, c, &b, "typedData", td, addr, NULL, &x);
    json_decref(td);
    sign_built(s, c, &b, rc, JOB_SIGN_TYPED, method, x.request_id, t0);
}

static void m_sign_typed_v4(tkm_rpc_call *c, void *arg) { sign_typed(c, arg, "eth_signTypedData_v4"); }
static void m_sign_typed(tkm_rpc_call *c, void *arg) { sign_typed(c, arg, "eth_signTypedData"); }

/* An EIP-191 message parameter: 0x hex of its bytes (the JSON-RPC convention; ethers sends hex). */
static tkm_rc message_param(const json_t *v, const char *path) {
    const char *h = json_is_string(v) ? json_string_value(v) : NULL;
    size_t n = h ? json_string_length(v) : 0;
    int ok = h && n >= 2 && h[0] == '0' && h[1] == 'x' && n % 2 == 0;
    for (size_t i = 2; ok && i < n; i++) {
        char ch = h[i];
        ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
    }
    if (!ok) return bad_params("%s: the message as 0x hex of its bytes (\"0x48656c6c6f\" for \"Hello\")", path);
    if ((n - 2) / 2 > TKM_REQUEST_MESSAGE_MAX)
        return bad_params("%s: a message is at most %zu bytes", path, TKM_REQUEST_MESSAGE_MAX);
    return TKM_RC_OK;
}

/*
 * personal_sign(data, address[, options]) and eth_sign(address, data[, options]):
 * an EIP-191 personal message, signed only under a sign_message rule of the
 * policy (without one: UNSUPPORTED_PAYLOAD, audited like every refusal).
 */
static void sign_message(tkm_rpc_call *c, tkm_signer *s, const char *method, int address_first) {
    uint64_t t0 = tkm_time_mono_ns();
    json_t *p;
    size_t n;
    ext_opts x;
    built b;
    memset(&b, 0, sizeof b);
    memset(&x, 0, sizeof x);
    uint8_t addr[20];
    const size_t ai = address_first ? 0 : 1, di = address_first ? 1 : 0;
    char apath[16], dpath[16];
    snprintf(apath, sizeof apath, "params[%zu]", ai);
    snprintf(dpath, sizeof dpath, "params[%zu]", di);
    tkm_rc rc = params_array(c, 2, 3, &p, &n);
    json_t *data = tkm_ok(rc) ? json_array_get(p, di) : NULL;
    if (tkm_ok(rc)) rc = message_param(data, dpath);
    if (tkm_ok(rc)) rc = parse_addr_param(json_array_get(p, ai), apath, addr);
    if (tkm_ok(rc)) rc = parse_ext(&x, n > 2 ? json_array_get(p, 2) : NULL, "params[2]", 0);
    if (tkm_failed(rc)) {
        fail_call(s, c, method, rc);
        return;
    }
    rc = build(s, c, &b, "message", data, addr, NULL, &x);
    sign_built(s, c, &b, rc, JOB_SIGN_MESSAGE, method, x.request_id, t0);
}

static void m_personal_sign(tkm_rpc_call *c, void *arg) { sign_message(c, arg, "personal_sign", 0); }
static void m_eth_sign(tkm_rpc_call *c, void *arg) { sign_message(c, arg, "eth_sign", 1); }

static void m_accounts(tkm_rpc_call *c, void *arg) {
    tkm_signer *s = arg;
    const tkm_api_identity *id = tkm_rpc_call_identity(c);
    int may_sign = (tkm_api_req_roles(tkm_rpc_call_req(c)) & TKM_ROLE_SIGN) != 0;
    json_t *a = json_array();
    if (!a) {
        tkm_rpc_call_fail(c, TKM_RC(TKM_ERR_NOMEM));
        return;
    }
    pthread_rwlock_rdlock(&s->dir_rw);
    for (size_t i = 0; may_sign && i < s->dir.n; i++) {
        const dir_key *k = &s->dir.by_label[i];
        if (k->status == TKM_STORE_KEY_ACTIVE && signer_may_use(s, id, k->label, k->addr))
            json_array_append_new(a, signer_addr(k->addr));
    }
    pthread_rwlock_unlock(&s->dir_rw);
    tkm_rpc_call_result(c, a);
}

static void m_chain_id(tkm_rpc_call *c, void *arg) {
    tkm_signer *s = arg;
    pthread_mutex_lock(&s->policy_mu);
    int single = s->chain_single;
    uint64_t chain = s->chain_id;
    pthread_mutex_unlock(&s->policy_mu);
    if (!single) {
        tkm_err_detail_set("the active policy names %s chain: eth_chainId has no single answer",
                           s->chain_id ? "more than one" : "no");
        tkm_rpc_call_fail(c, TKM_RC(TKM_ERR_UNSUPPORTED));
        return;
    }
    char h[24];
    snprintf(h, sizeof h, "0x%llx", (unsigned long long)chain);
    tkm_rpc_call_result(c, json_string(h));
}

/* Unlink and free the entry of request_id when it is still expired at now (under pend_mu). */
static void pending_evict(tkm_signer *s, const char *request_id, int64_t now) {
    for (pending **pp = &s->pend; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->r.intent.request_id, request_id) == 0) {
            pending *d = *pp;
            if (d->r.intent.not_after >= now) return;
            *pp = d->next;
            free(d);
            s->n_pend--;
            return;
        }
}

/*
 * Make it a request waiting for approvals: the one prepared already for this
 * id, key and payload (its notAfter and approvals stand), or a new record,
 * committed (and audited) by the engine before the answer. Expired ones make
 * room (deleted in that commit); max_pending counts every live one, those
 * loaded at start included. Out: *rec, the record as prepared.
 */
static tkm_rc prepare_record(tkm_signer *s, const tkm_intent *it, tkm_store_pending *rec) {
    tkm_rc rc = TKM_RC_OK;
    char (*drop)[TKM_REQUEST_ID_MAX + 1] = NULL;
    const char **dropp = NULL;
    size_t n_drop = 0, live = 0;
    int created = 0;
    int64_t now = tkm_time_unix();
    pending *pe = NULL;
    tkm_store_pending *stored = NULL;
    pthread_mutex_lock(&s->pend_wr_mu);
    pthread_mutex_lock(&s->pend_mu);
    pending *old = pending_find(s, it->request_id);
    if (old && old->r.intent.not_after >= now) {
        if (memcmp(old->r.intent.payload_hash, it->payload_hash, 32) != 0 || memcmp(old->r.intent.key, it->key, 20) != 0) {
            tkm_err_detail_set("requestId %s is already prepared for another payload", it->request_id);
            rc = TKM_RC(TKM_ERR_REPLAY);
        } else {
            *rec = old->r;
        }
        pthread_mutex_unlock(&s->pend_mu);
        goto out;
    }
    for (pending *p = s->pend; p; p = p->next) {
        if (p->r.intent.not_after < now)
            n_drop++;
        else
            live++;
    }
    if (live >= s->cfg.max_pending) {
        tkm_err_detail_set("%zu requests are waiting for approvals", live);
        rc = TKM_RC(TKM_ERR_PENDING_FULL);
    } else if ((n_drop && (!(drop = calloc(n_drop, sizeof *drop)) || !(dropp = calloc(n_drop, sizeof *dropp)))) ||
               !(pe = calloc(1, sizeof *pe)) || !(stored = malloc(sizeof *stored))) {
        rc = TKM_RC(TKM_ERR_NOMEM);
    } else {
        size_t k = 0;
        for (pending *p = s->pend; p && k < n_drop; p = p->next)
            if (p->r.intent.not_after < now) {
                memcpy(drop[k], p->r.intent.request_id, sizeof drop[k]);
                dropp[k] = drop[k];
                k++;
            }
    }
    pthread_mutex_unlock(&s->pend_mu);
    if (tkm_failed(rc)) goto out;
    pe->r.intent = *it;
    pe->r.created = now;
    /* the state first: the answer (and the typed data approvers sign) follows a durable record */
    TKM_CHECK_GOTO(rc, tkm_engine_pending_create(s->e, &pe->r, dropp, n_drop, now, stored, &created));
    if (!created) tkm_log(TKM_LOG_WARN, "signer", "request %s was prepared in the state already", it->request_id);
    pe->r = *stored;
    pthread_mutex_lock(&s->pend_mu);
    for (size_t i = 0; i < n_drop; i++) pending_evict(s, drop[i], now);
    if (!pending_find(s, it->request_id)) {
        pe->next = s->pend;
        s->pend = pe;
        s->n_pend++;
        pe = NULL;
    }
    *rec = *stored;
    pthread_mutex_unlock(&s->pend_mu);
out:
    pthread_mutex_unlock(&s->pend_wr_mu);
    free(pe);
    free(stored);
    free(drop);
    free(dropp);
    return rc;
}

typedef struct {
    aux_task t; /* first: freed as one block */
    tkm_intent intent;
} prepare_task;

/* Aux thread: record the prepared request, then answer with what approvers sign. */
static void prepare_task_run(aux_task *at) {
    prepare_task *t = (prepare_task *)at;
    tkm_signer *s = at->s;
    json_t *doc = NULL, *ij = NULL, *o = NULL;
    tkm_store_pending *rec = malloc(sizeof *rec);
    tkm_rc rc = rec ? prepare_record(s, &t->intent, rec) : TKM_RC(TKM_ERR_NOMEM);
    if (tkm_ok(rc)) {
        const tkm_intent *it = &rec->intent; /* as prepared (an earlier call's notAfter stands) */
        uint64_t na = (uint64_t)it->not_after;
        rc = tkm_approval_typed_data(&doc, s->instance_id, it, na);
        if (tkm_ok(rc)) rc = tkm_intent_to_json(&ij, it, signer_policy(s));
        if (tkm_ok(rc)) {
            uint8_t d[32];
            tkm_approval_digest(d, s->instance_id, it, na);
            o = json_pack("{s:s,s:I,s:{s:s,s:o},s:o,s:o,s:{s:o,s:o,s:I},s:I}", "requestId", it->request_id,
                          "notAfter", (json_int_t)na, "key", "label", it->key_label, "address", signer_addr(it->key),
                          "intent", ij, "payloadHash", tkm_json_hex_new(it->payload_hash, 32), "approval", "typedData",
                          doc, "digest", tkm_json_hex_new(d, 32), "expiresAt", (json_int_t)na, "approvals",
                          (json_int_t)rec->n_approvals);
            ij = doc = NULL;
            if (!o) rc = TKM_RC(TKM_ERR_NOMEM);
        }
    }
    json_decref(doc);
    json_decref(ij);
    free(rec);
    if (tkm_failed(rc))
        tkm_rpc_call_fail(at->call, rc);
    else
        tkm_rpc_call_result(at->call, o);
    free(t);
}

/* teekm_prepare(tx | typedData | message hex, {requestId, notAfter, from}) */
static void m_prepare(tkm_rpc_call *c, void *arg) {
    tkm_signer *s = arg;
    json_t *p, *payload = NULL;
    size_t n;
    ext_opts x;
    built b;
    memset(&b, 0, sizeof b);
    tkm_rc rc = params_array(c, 1, 2, &p, &n);
    if (tkm_ok(rc)) rc = parse_ext(&x, n > 1 ? json_array_get(p, 1) : NULL, "params[1]", 1);
    json_t *v = tkm_ok(rc) ? json_array_get(p, 0) : NULL;
    const char *vs = json_is_string(v) ? json_string_value(v) : NULL;
    int is_msg = vs && json_string_length(v) >= 2 && vs[0] == '0' && vs[1] == 'x'; /* JSON text never starts with 0x */
    int is_td = !is_msg && (vs || (json_is_object(v) && json_object_get(v, "primaryType")));
    uint8_t from[20];
    const uint8_t *addr = NULL;
    const char *label = NULL;
    if (tkm_ok(rc) && (is_td || is_msg)) {
        if (is_msg) {
            rc = message_param(v, "params[0]");
            if (tkm_ok(rc)) payload = json_incref(v);
        } else {
            rc = typed_data_param(v, "params[0]", &payload);
        }
        if (tkm_ok(rc) && x.has_from)
            addr = x.from;
        else if (tkm_ok(rc) && x.from_label[0])
            label = x.from_label;
        else if (tkm_ok(rc))
            rc = bad_params("params[1].from: %s needs the signing key (address or label)", is_msg ? "a message" : "typed data");
    } else if (tkm_ok(rc)) {
        if (!json_is_object(v)) rc = bad_params("params[0]: a transaction object or typed data%s", "");
        json_t *fv = tkm_ok(rc) ? json_object_get(v, "from") : NULL;
        if (tkm_ok(rc) && !fv) rc = bad_params("params[0].from: the signing key's address is required%s", "");
        if (tkm_ok(rc)) rc = parse_addr_param(fv, "params[0].from", from);
        addr = from;
        payload = tkm_ok(rc) ? json_incref(v) : NULL;
    }
    if (tkm_ok(rc) && x.approvals) rc = bad_params("params[1].approvals: approvals are submitted later%s", "");
    if (tkm_ok(rc)) rc = build(s, c, &b, is_msg ? "message" : is_td ? "typedData" : "tx", payload, addr, label, &x);
    json_decref(payload);
    if (tkm_ok(rc) && b.unsupported) {
        tkm_err_detail_set("%s", b.why);
        rc = TKM_RC(TKM_ERR_UNSUPPORTED);
    }
    if (tkm_ok(rc) && is_msg && !signer_policy(s)->message_rules) { /* nothing to approve: the evaluation would refuse */
        tkm_err_detail_set("EIP-191 messages are off: the active policy has no allow rule with action sign_message");
        rc = TKM_RC(TKM_ERR_UNSUPPORTED);
    }
    if (tkm_ok(rc)) { /* a record kept in the state must be signable within the policy's validity window */
        int64_t now = tkm_time_unix();
        uint64_t maxv = signer_policy(s)->max_validity_seconds;
        if (b.intent.not_after < now || (uint64_t)(b.intent.not_after - now) > maxv) {
            tkm_err_detail_set("notAfter %lld is not within now .. now + max_validity_seconds (%llu)",
                               (long long)b.intent.not_after, (unsigned long long)maxv);
            rc = TKM_RC(TKM_ERR_EXPIRED);
        }
    }
    prepare_task *t = NULL;
    if (tkm_ok(rc) && !(t = calloc(1, sizeof *t))) rc = TKM_RC(TKM_ERR_NOMEM);
    if (tkm_ok(rc)) { /* the durable part runs on the aux thread: a commit must not hold up this loop */
        t->t.fn = prepare_task_run;
        t->t.call = c;
        t->intent = b.intent;
        rc = signer_aux(s, &t->t);
        if (tkm_ok(rc)) t = NULL;
    }
    free(t);
    tkm_request_free(&b.req);
    if (tkm_failed(rc)) tkm_rpc_call_fail(c, rc);
}

/* The groups of the active policy a signer belongs to. */
static json_t *groups_of(tkm_signer *s, const uint8_t addr[20]) {
    const tkm_policy *p = signer_policy(s);
    json_t *a = json_array();
    for (size_t i = 0; a && i < p->n_groups; i++)
        if (tkm_policy_set_has(&p->groups[i], addr)) json_array_append_new(a, json_string(p->groups[i].name));
    return a;
}

typedef struct {
    aux_task t; /* first: freed as one block; t.arg = the request id */
    json_t *approval; /* params[1] (a reference) */
} approve_task;

/* Aux thread: the engine checks the approval against the prepared request, commits and audits it; then memory. */
static void approve_task_run(aux_task *at) {
    approve_task *t = (approve_task *)at;
    tkm_signer *s = at->s;
    const char *rid = at->arg;
    tkm_approval a, stored;
    size_t count = 0;
    tkm_rc rc = TKM_RC_OK;
    pthread_mutex_lock(&s->pend_wr_mu); /* one writer at a time: the state first, then memory */
    pthread_mutex_lock(&s->pend_mu);
    pending *pe = pending_find(s, rid);
    int64_t not_after = pe ? pe->r.intent.not_after : 0;
    pthread_mutex_unlock(&s->pend_mu);
    if (!pe) {
        tkm_err_detail_set("no request %s is waiting for approvals (teekm_prepare it first)", rid);
        rc = TKM_RC(TKM_ERR_NOT_FOUND);
    }
    if (tkm_ok(rc)) rc = tkm_approval_parse(&a, t->approval, "params[1]", (uint64_t)not_after);
    if (tkm_ok(rc)) rc = tkm_engine_pending_approve(s->e, rid, &a, tkm_time_unix(), &stored, &count);
    if (tkm_ok(rc)) { /* durable now: the memory view follows (a newer approval by the same signer replaces) */
        pthread_mutex_lock(&s->pend_mu);
        pe = pending_find(s, rid);
        if (pe) {
            size_t i = 0;
            while (i < pe->r.n_approvals && memcmp(pe->r.approvals[i].signer, stored.signer, 20) != 0) i++;
            if (i < TKM_APPROVALS_MAX) {
                pe->r.approvals[i] = stored;
                if (i == pe->r.n_approvals) pe->r.n_approvals++;
            }
        }
        pthread_mutex_unlock(&s->pend_mu);
    }
    pthread_mutex_unlock(&s->pend_wr_mu);
    json_t *o = NULL;
    if (tkm_ok(rc)) {
        o = json_pack("{s:s,s:o,s:o,s:I,s:I}", "requestId", rid, "signer", signer_addr(stored.signer), "groups",
                      groups_of(s, stored.signer), "expiresAt", (json_int_t)stored.expires_at, "approvals",
                      (json_int_t)count);
        if (!o) rc = TKM_RC(TKM_ERR_NOMEM);
    }
    if (tkm_failed(rc))
        tkm_rpc_call_fail(at->call, rc);
    else
        tkm_rpc_call_result(at->call, o);
    json_decref(t->approval);
    free(t);
}

/* teekm_submitApproval(requestId, signature | {signature, expiresAt, signer}): answered once durable */
static void m_submit_approval(tkm_rpc_call *c, void *arg) {
    tkm_signer *s = arg;
    json_t *p;
    size_t n;
    tkm_rc rc = params_array(c, 2, 2, &p, &n);
    json_t *rv = tkm_ok(rc) ? json_array_get(p, 0) : NULL;
    if (tkm_ok(rc) && (!json_is_string(rv) || !tkm_request_id_ok(json_string_value(rv), json_string_length(rv))))
        rc = bad_params("params[0]: a requestId%s", "");
    approve_task *t = tkm_ok(rc) ? calloc(1, sizeof *t) : NULL;
    if (tkm_ok(rc) && !t) rc = TKM_RC(TKM_ERR_NOMEM);
    if (tkm_ok(rc)) {
        t->t.fn = approve_task_run;
        t->t.call = c;
        snprintf(t->t.arg, sizeof t->t.arg, "%s", json_string_value(rv));
        t->approval = json_incref(json_array_get(p, 1));
        rc = signer_aux(s, &t->t);
        if (tkm_failed(rc)) json_decref(t->approval);
        else t = NULL;
    }
    free(t);
    if (tkm_failed(rc)) tkm_rpc_call_fail(c, rc);
}

/* teekm_status(requestId): pending (with the approvals collected), decided (recent), recorded, or unknown. */
static void status_task(aux_task *t) {
    tkm_signer *s = t->s;
    json_t *o = NULL;
    tkm_rc rc = TKM_RC_OK;
    outcome oc;
    tkm_store_request rq;
    int found = 0;
    pthread_mutex_lock(&s->pend_mu);
    pending *pe = pending_find(s, t->arg);
    if (pe) {
        json_t *apps = json_array();
        for (size_t i = 0; apps && i < pe->r.n_approvals; i++)
            json_array_append_new(apps, json_pack("{s:o,s:o,s:I}", "signer", signer_addr(pe->r.approvals[i].signer),
                                                  "groups", groups_of(s, pe->r.approvals[i].signer), "expiresAt",
                                                  (json_int_t)pe->r.approvals[i].expires_at));
        json_t *ij = NULL;
        if (tkm_failed(tkm_intent_to_json(&ij, &pe->r.intent, signer_policy(s)))) ij = json_null();
        o = json_pack("{s:s,s:s,s:I,s:o,s:o}", "requestId", t->arg, "status", "pending", "notAfter",
                      (json_int_t)pe->r.intent.not_after, "intent", ij, "approvals", apps);
    }
    pthread_mutex_unlock(&s->pend_mu);
    if (!o && signer_outcome_get(s, t->arg, &oc)) {
        o = json_pack("{s:s,s:s,s:I,s:I}", "requestId", t->arg, "status", oc.allowed ? "signed" : "rejected",
                      "auditSeq", (json_int_t)oc.audit_seq, "time", (json_int_t)oc.time);
        if (o && oc.allowed && oc.has_sig && (t->roles & TKM_ROLE_SIGN))
            json_object_set_new(o, "signature", sig_hex_v27(oc.sig));
        if (o && !oc.allowed) {
            json_object_set_new(o, "reason", json_string(oc.reason));
            json_object_set_new(o, "rule", oc.rule[0] ? json_string(oc.rule) : json_null());
            json_object_set_new(o, "detail", json_string(oc.detail));
        }
    }
    if (!o) {
        rc = tkm_engine_request_get(s->e, t->arg, &found, &rq);
        if (tkm_ok(rc) && found) {
            o = json_pack("{s:s,s:s,s:I,s:o,s:I,s:s}", "requestId", t->arg, "status", "signed", "time",
                          (json_int_t)rq.time, "key", signer_addr(rq.key), "policyVersion",
                          (json_int_t)rq.policy_version, "rule", rq.rule_id);
            if (o && rq.result_len == 65 && (t->roles & TKM_ROLE_SIGN))
                json_object_set_new(o, "signature", sig_hex_v27(rq.result));
        } else if (tkm_ok(rc)) {
            o = json_pack("{s:s,s:s}", "requestId", t->arg, "status", "unknown");
        }
    }
    if (tkm_ok(rc) && !o) rc = TKM_RC(TKM_ERR_NOMEM);
    if (tkm_failed(rc))
        tkm_rpc_call_fail(t->call, rc);
    else
        tkm_rpc_call_result(t->call, o);
    free(t);
}

static void m_status(tkm_rpc_call *c, void *arg) {
    tkm_signer *s = arg;
    json_t *p;
    size_t n;
    tkm_rc rc = params_array(c, 1, 1, &p, &n);
    json_t *rv = tkm_ok(rc) ? json_array_get(p, 0) : NULL;
    if (tkm_ok(rc) && (!json_is_string(rv) || !tkm_request_id_ok(json_string_value(rv), json_string_length(rv))))
        rc = bad_params("params[0]: a requestId%s", "");
    aux_task *t = tkm_ok(rc) ? calloc(1, sizeof *t) : NULL;
    if (tkm_ok(rc) && !t) rc = TKM_RC(TKM_ERR_NOMEM);
    if (tkm_ok(rc)) {
        t->fn = status_task;
        t->call = c;
        t->roles = tkm_api_req_roles(tkm_rpc_call_req(c)); /* signatures only for signing clients */
        snprintf(t->arg, sizeof t->arg, "%s", json_string_value(rv));
        rc = signer_aux(s, t);
        if (tkm_failed(rc)) free(t);
    }
    if (tkm_failed(rc)) tkm_rpc_call_fail(c, rc);
}

/* teekm_evidence(nonce?): fresh evidence over the current claims. */
static void evidence_task(aux_task *t) {
    json_t *o = NULL;
    tkm_rc rc = tkm_instance_attest(t->s->in, t->nonce_len ? t->nonce : NULL, t->nonce_len, &o);
    signer_refresh_state(t->s);
    if (tkm_failed(rc))
        tkm_rpc_call_fail(t->call, rc);
    else
        tkm_rpc_call_result(t->call, o);
    free(t);
}

static void m_evidence(tkm_rpc_call *c, void *arg) {
    tkm_signer *s = arg;
    json_t *p;
    size_t n;
    tkm_rc rc = params_array(c, 0, 1, &p, &n);
    aux_task *t = tkm_ok(rc) ? calloc(1, sizeof *t) : NULL;
    if (tkm_ok(rc) && !t) rc = TKM_RC(TKM_ERR_NOMEM);
    if (tkm_ok(rc) && n == 1) {
        json_t *v = json_array_get(p, 0);
        if (!json_is_string(v) ||
            tkm_failed(tkm_hex_decode(t->nonce, sizeof t->nonce, &t->nonce_len, json_string_value(v),
                                      json_string_length(v), TKM_HEX_0X_REQUIRED)) ||
            t->nonce_len == 0)
            rc = bad_params("params[0]: a nonce of 1 to 64 bytes as 0x hex%s", "");
    }
    if (tkm_ok(rc)) {
        t->fn = evidence_task;
        t->call = c;
        rc = signer_aux(s, t);
    }
    if (tkm_failed(rc)) {
        free(t);
        tkm_rpc_call_fail(c, rc);
    }
}

/* A JSON-RPC method table entry's arg is set to the signer by tkm_signer_attach (methods copy the table). */
const tkm_rpc_method signer_rpc_methods[] = {
    {"eth_accounts", 0, m_accounts, NULL},
    {"eth_chainId", 0, m_chain_id, NULL},
    {"eth_signTransaction", TKM_ROLE_SIGN, m_sign_transaction, NULL},
    {"eth_signTypedData_v4", TKM_ROLE_SIGN, m_sign_typed_v4, NULL},
    {"eth_signTypedData", TKM_ROLE_SIGN, m_sign_typed, NULL},
    {"eth_sign", TKM_ROLE_SIGN, m_eth_sign, NULL},
    {"personal_sign", TKM_ROLE_SIGN, m_personal_sign, NULL},
    {"teekm_prepare", TKM_ROLE_SIGN, m_prepare, NULL},
    {"teekm_submitApproval", TKM_ROLE_APPROVE, m_submit_approval, NULL},
    {"teekm_status", 0, m_status, NULL},
    {"teekm_evidence", 0, m_evidence, NULL},
};
const size_t signer_rpc_n_methods = sizeof signer_rpc_methods / sizeof signer_rpc_methods[0];
