/* see tkm_jsonrpc.h */
#include "tkm_jsonrpc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_BATCH 100

/* ---- errors ---- */

static const char *std_message(int code) {
    switch (code) {
    case TKM_RPC_PARSE_ERROR: return "Parse error";
    case TKM_RPC_INVALID_REQUEST: return "Invalid Request";
    case TKM_RPC_METHOD_NOT_FOUND: return "Method not found";
    case TKM_RPC_INVALID_PARAMS: return "Invalid params";
    case TKM_RPC_INTERNAL_ERROR: return "Internal error";
    default: return NULL;
    }
}

static void copy_str(char *dst, size_t cap, const char *src) {
    snprintf(dst, cap, "%s", src ? src : "");
}

void tkm_rpc_error_std(tkm_rpc_error *e, int code, const char *detail) {
    memset(e, 0, sizeof *e);
    e->code = code;
    copy_str(e->detail, sizeof e->detail, detail);
}

void tkm_rpc_error_from_rc(tkm_rpc_error *e, tkm_rc rc) {
    memset(e, 0, sizeof *e);
    tkm_err err = rc.code == TKM_OK ? TKM_ERR_INTERNAL : rc.code;
    tkm_err_cat cat = tkm_err_category(err);
    e->err = err;
    const char *name = tkm_err_name(err);
    copy_str(e->reason, sizeof e->reason, name ? name : "UNKNOWN");
    if (cat == TKM_CAT_MISUSE || !name) {
        e->code = TKM_RPC_INTERNAL_ERROR;
        return; /* no detail: internal state is nobody's business */
    }
    e->code = cat == TKM_CAT_PARSE ? TKM_RPC_INVALID_PARAMS : (int)err;
    copy_str(e->detail, sizeof e->detail, tkm_err_detail());
}

void tkm_rpc_error_for_parse(tkm_rpc_error *e, tkm_rc rc) {
    if (rc.code == TKM_ERR_REQUEST || rc.code == TKM_ERR_BATCH_TOO_LARGE) {
        tkm_rpc_error_std(e, TKM_RPC_INVALID_REQUEST, tkm_err_detail());
        e->err = rc.code;
        copy_str(e->reason, sizeof e->reason, tkm_err_name(rc.code));
    } else if (rc.code == TKM_ERR_NOMEM) {
        tkm_rpc_error_std(e, TKM_RPC_INTERNAL_ERROR, NULL);
    } else {
        tkm_rpc_error_std(e, TKM_RPC_PARSE_ERROR, tkm_err_detail());
        e->err = rc.code;
        copy_str(e->reason, sizeof e->reason, tkm_err_name(rc.code));
    }
}

json_t *tkm_rpc_error_json(const tkm_rpc_error *e) {
    const char *msg = std_message(e->code);
    if (!msg) msg = tkm_err_str(e->err);
    json_t *o = json_object();
    if (!o) return NULL;
    int bad = json_object_set_new(o, "code", json_integer(e->code));
    bad |= json_object_set_new(o, "message", json_string(msg));
    if (e->reason[0] || e->rule[0] || e->detail[0]) {
        json_t *d = json_object();
        if (e->reason[0]) bad |= json_object_set_new(d, "reason", json_string(e->reason));
        if (e->rule[0]) bad |= json_object_set_new(d, "rule", json_string(e->rule));
        if (e->detail[0]) bad |= json_object_set_new(d, "detail", json_string(e->detail));
        bad |= json_object_set_new(o, "data", d);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- parsing ---- */

static void parse_item(tkm_rpc_item *it, json_t *v) {
    memset(it, 0, sizeof *it);
    it->invalid = 1;
    if (!json_is_object(v)) {
        it->id = json_null();
        it->why = "request must be an object";
        return;
    }
    /* Pick up the id first so that an invalid request is answered with it. */
    json_t *id = json_object_get(v, "id");
    int id_ok = !id || json_is_string(id) || json_is_integer(id) || json_is_null(id);
    it->id = id_ok && id ? id : json_null();
    if (!id_ok) {
        it->why = "id must be a string, an integer or null";
        return;
    }
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
        if (strcmp(key, "jsonrpc") != 0 && strcmp(key, "method") != 0 && strcmp(key, "params") != 0 &&
            strcmp(key, "id") != 0) {
            it->why = "unknown member in request";
            return;
        }
    }
    json_t *ver = json_object_get(v, "jsonrpc");
    if (!json_is_string(ver) || json_string_length(ver) != 3 || strcmp(json_string_value(ver), "2.0") != 0) {
        it->why = "jsonrpc must be \"2.0\"";
        return;
    }
    json_t *m = json_object_get(v, "method");
    if (!json_is_string(m)) {
        it->why = "method must be a string";
        return;
    }
    size_t mlen = json_string_length(m);
    if (mlen == 0 || mlen > TKM_RPC_METHOD_MAX || strlen(json_string_value(m)) != mlen) {
        it->why = "method name is empty, too long or holds NUL";
        return;
    }
    json_t *p = json_object_get(v, "params");
    if (p && !json_is_array(p) && !json_is_object(p)) {
        it->why = "params must be an array or an object";
        return;
    }
    it->id = id; /* NULL: notification */
    it->method = json_string_value(m);
    it->params = p;
    it->invalid = 0;
    it->why = NULL;
}

tkm_rc tkm_rpc_parse(tkm_rpc_request **out, const uint8_t *body, size_t len, const tkm_rpc_limits *lim) {
    TKM_ARG_CHECK(out != NULL && (body != NULL || len == 0));
    *out = NULL;
    size_t max_batch = lim && lim->max_batch ? lim->max_batch : DEFAULT_MAX_BATCH;
    json_t *doc = NULL;
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    tkm_rpc_request *r = NULL;
    /* tkm_json_load accepts only objects and arrays at the top: a bare value is a parse error. */
    TKM_CHECK_GOTO(rc, tkm_json_load(&doc, body, len, lim ? &lim->json : NULL));
    r = calloc(1, sizeof *r);
    if (!r) TKM_GOTO(rc, TKM_ERR_NOMEM);
    if (json_is_array(doc)) {
        size_t n = json_array_size(doc);
        if (n == 0) {
            tkm_err_detail_set("empty batch");
            TKM_GOTO(rc, TKM_ERR_REQUEST);
        }
        if (n > max_batch) {
            tkm_err_detail_set("batch of %zu requests exceeds the limit of %zu", n, max_batch);
            TKM_GOTO(rc, TKM_ERR_BATCH_TOO_LARGE);
        }
        r->batch = 1;
        r->n = n;
    } else if (json_is_object(doc)) {
        r->n = 1;
    } else {
        tkm_err_detail_set("request must be an object or an array");
        TKM_GOTO(rc, TKM_ERR_REQUEST);
    }
    r->items = calloc(r->n, sizeof *r->items);
    if (!r->items) TKM_GOTO(rc, TKM_ERR_NOMEM);
    for (size_t i = 0; i < r->n; i++) parse_item(&r->items[i], r->batch ? json_array_get(doc, i) : doc);
    r->doc = doc;
    doc = NULL;
    *out = r;
    r = NULL;
    rc = TKM_RC_OK;
out:
    json_decref(doc);
    tkm_rpc_request_free(r);
    return rc;
}

void tkm_rpc_request_free(tkm_rpc_request *r) {
    if (!r) return;
    free(r->items);
    json_decref(r->doc);
    free(r);
}

/* ---- dispatch ---- */

struct tkm_rpc_endpoint {
    tkm_rpc_method *methods;
    tkm_metric_child **ok_child; /* per method: outcome="ok", looked up once */
    size_t n;
    tkm_rpc_limits lim;
    tkm_metric *calls_total;
    tkm_metric *batch_size;
};

typedef struct rpc_job rpc_job;

struct tkm_rpc_call {
    rpc_job *job;
    size_t idx;
    const tkm_rpc_method *m;
    _Atomic int done;
};

struct rpc_job {
    tkm_api_req *req;
    tkm_rpc_endpoint *ep;
    tkm_rpc_request *parsed;
    tkm_rpc_call *calls;
    json_t **answers;
    _Atomic size_t pending;
};

tkm_rc tkm_rpc_endpoint_new(tkm_rpc_endpoint **out, const tkm_rpc_method *methods, size_t n,
                            tkm_metrics *metrics, const tkm_rpc_limits *lim) {
    TKM_ARG_CHECK(out != NULL && (methods != NULL || n == 0));
    *out = NULL;
    for (size_t i = 0; i < n; i++) TKM_ARG_CHECK(methods[i].name && methods[i].fn);
    tkm_rpc_endpoint *ep = calloc(1, sizeof *ep);
    TKM_ENSURE(ep, TKM_ERR_NOMEM);
    ep->methods = n ? calloc(n, sizeof *ep->methods) : NULL;
    if (n && !ep->methods) {
        free(ep);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    if (n) memcpy(ep->methods, methods, n * sizeof *methods);
    ep->n = n;
    if (lim) ep->lim = *lim;
    if (metrics) {
        static const char *const labels[] = {"method", "outcome", NULL};
        static const double sizes[] = {1, 2, 5, 10, 20, 50, 100};
        tkm_rc rc = tkm_metrics_counter(metrics, &ep->calls_total, "tkm_jsonrpc_calls_total",
                                        "JSON-RPC calls by method and outcome (ok or the error code)",
                                        labels);
        if (tkm_ok(rc))
            rc = tkm_metrics_histogram(metrics, &ep->batch_size, "tkm_jsonrpc_batch_size",
                                       "Items per JSON-RPC request", NULL, sizes,
                                       sizeof sizes / sizeof sizes[0]);
        if (tkm_ok(rc) && n) {
            ep->ok_child = calloc(n, sizeof *ep->ok_child);
            if (!ep->ok_child) rc = TKM_RC(TKM_ERR_NOMEM);
            for (size_t i = 0; tkm_ok(rc) && i < n; i++) {
                const char *v[] = {methods[i].name, "ok"};
                ep->ok_child[i] = tkm_metric_child_get(ep->calls_total, v);
            }
        }
        if (tkm_failed(rc)) {
            tkm_rpc_endpoint_free(ep);
            return rc;
        }
    }
    *out = ep;
    return TKM_RC_OK;
}

void tkm_rpc_endpoint_free(tkm_rpc_endpoint *ep) {
    if (!ep) return;
    free(ep->methods);
    free(ep->ok_child);
    free(ep);
}

static const tkm_rpc_method *find_method(const tkm_rpc_endpoint *ep, const char *name) {
    for (size_t i = 0; i < ep->n; i++)
        if (strcmp(ep->methods[i].name, name) == 0) return &ep->methods[i];
    return NULL;
}

static void job_free(rpc_job *job) {
    if (!job) return;
    if (job->answers)
        for (size_t i = 0; job->parsed && i < job->parsed->n; i++) json_decref(job->answers[i]);
    free(job->answers);
    free(job->calls);
    tkm_rpc_request_free(job->parsed);
    free(job);
}

static void reply_single_error(tkm_api_req *req, const tkm_rpc_error *e) {
    json_t *o = json_object();
    json_t *err = tkm_rpc_error_json(e);
    if (!o || !err || json_object_set_new(o, "jsonrpc", json_string("2.0")) ||
        json_object_set_new(o, "id", json_null()) || json_object_set_new(o, "error", err)) {
        json_decref(o);
        tkm_api_req_reply_error(req, 500, TKM_ERR_NOMEM, NULL);
        return;
    }
    tkm_api_req_reply_json(req, 200, o);
}

/* Runs once, on the thread that completed the last item. */
static void job_finish(rpc_job *job) {
    tkm_api_req *req = job->req;
    json_t *body = NULL;
    size_t n = job->parsed->n, answered = 0;
    for (size_t i = 0; i < n; i++) answered += job->answers[i] != NULL;
    if (answered == 0) {
        job_free(job);
        tkm_api_req_reply(req, 204, NULL, NULL, 0);
        return;
    }
    if (job->parsed->batch) {
        body = json_array();
        for (size_t i = 0; body && i < n; i++)
            if (job->answers[i] && json_array_append(body, job->answers[i])) {
                json_decref(body);
                body = NULL;
            }
    } else {
        body = json_incref(job->answers[0]);
    }
    job_free(job);
    if (!body) {
        tkm_api_req_reply_error(req, 500, TKM_ERR_NOMEM, NULL);
        return;
    }
    tkm_api_req_reply_json(req, 200, body);
}

static void job_release(rpc_job *job) {
    if (atomic_fetch_sub_explicit(&job->pending, 1, memory_order_acq_rel) == 1) job_finish(job);
}

static void count_outcome(rpc_job *job, const tkm_rpc_method *m, const char *method, int code) {
    if (!job->ep->calls_total) return;
    if (code == 0 && m && job->ep->ok_child) {
        tkm_metric_inc(job->ep->ok_child[m - job->ep->methods], 1);
        return;
    }
    char outcome[16];
    if (code == 0)
        snprintf(outcome, sizeof outcome, "ok");
    else
        snprintf(outcome, sizeof outcome, "%d", code);
    const char *name = m ? m->name : (method ? "unknown" : "invalid");
    const char *values[] = {name, outcome};
    tkm_metric_inc(tkm_metric_child_get(job->ep->calls_total, values), 1);
}

/* Store the answer for item idx (result stolen, or err) and release one pending count. */
static void complete(rpc_job *job, size_t idx, const tkm_rpc_method *m, json_t *result,
                     const tkm_rpc_error *err) {
    const tkm_rpc_item *it = &job->parsed->items[idx];
    count_outcome(job, m, it->method, err ? err->code : 0);
    if (it->id) { /* notifications are not answered */
        json_t *o = json_object();
        int bad = !o || json_object_set_new(o, "jsonrpc", json_string("2.0")) ||
                  json_object_set(o, "id", it->id);
        if (!bad && err) {
            json_t *e = tkm_rpc_error_json(err);
            bad = !e || json_object_set_new(o, "error", e);
        } else if (!bad) {
            bad = json_object_set_new(o, "result", result ? result : json_null());
            result = NULL;
        }
        if (bad) {
            /* Out of memory: answer the item with a preallocated-free minimal error. */
            json_decref(o);
            o = json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", it->id, "error", "code",
                          TKM_RPC_INTERNAL_ERROR, "message", "Internal error");
        }
        job->answers[idx] = o;
    }
    json_decref(result);
    job_release(job);
}

static void call_done_check(tkm_rpc_call *c) {
    int was = atomic_exchange(&c->done, 1);
    if (was) tkm_misuse_("JSON-RPC call completed twice", __FILE__, __LINE__);
}

void tkm_rpc_call_result(tkm_rpc_call *c, json_t *result) {
    call_done_check(c);
    complete(c->job, c->idx, c->m, result, NULL);
}

void tkm_rpc_call_error(tkm_rpc_call *c, const tkm_rpc_error *e) {
    call_done_check(c);
    complete(c->job, c->idx, c->m, NULL, e);
}

void tkm_rpc_call_fail(tkm_rpc_call *c, tkm_rc rc) {
    tkm_rpc_error e;
    tkm_rpc_error_from_rc(&e, rc);
    tkm_rpc_call_error(c, &e);
}

const char *tkm_rpc_call_method(const tkm_rpc_call *c) { return c->job->parsed->items[c->idx].method; }
json_t *tkm_rpc_call_params(const tkm_rpc_call *c) { return c->job->parsed->items[c->idx].params; }
int tkm_rpc_call_is_notification(const tkm_rpc_call *c) { return c->job->parsed->items[c->idx].id == NULL; }
tkm_api_req *tkm_rpc_call_req(const tkm_rpc_call *c) { return c->job->req; }
const tkm_api_identity *tkm_rpc_call_identity(const tkm_rpc_call *c) {
    return tkm_api_req_identity(c->job->req);
}

void tkm_rpc_handle(tkm_api_req *req, void *arg) {
    tkm_rpc_endpoint *ep = arg;
    size_t len;
    const uint8_t *body = tkm_api_req_body(req, &len);
    tkm_rpc_request *parsed = NULL;
    tkm_rpc_limits lim = ep->lim;
    tkm_rc rc = tkm_rpc_parse(&parsed, body, len, &lim);
    if (tkm_failed(rc)) {
        tkm_rpc_error e;
        tkm_rpc_error_for_parse(&e, rc);
        tkm_api_req_set_rpc(req, "-");
        tkm_api_req_set_decision(req, e.code == TKM_RPC_PARSE_ERROR ? "parse-error" : "invalid-request");
        reply_single_error(req, &e);
        return;
    }
    if (parsed->n > 1 && !tkm_api_req_charge(req, (double)(parsed->n - 1))) {
        tkm_rpc_request_free(parsed);
        tkm_api_req_reply_error(req, 429, TKM_ERR_RATE_LIMIT, "batch exceeds the client's rate limit");
        return;
    }
    if (ep->batch_size) tkm_metric_observe(tkm_metric_child_get(ep->batch_size, NULL), (double)parsed->n);
    if (parsed->batch) {
        char b[32];
        snprintf(b, sizeof b, "batch:%zu", parsed->n);
        tkm_api_req_set_rpc(req, b);
    } else {
        tkm_api_req_set_rpc(req, parsed->items[0].method ? parsed->items[0].method : "-");
    }
    rpc_job *job = calloc(1, sizeof *job);
    if (job) {
        job->calls = calloc(parsed->n, sizeof *job->calls);
        job->answers = calloc(parsed->n, sizeof *job->answers);
    }
    if (!job || !job->calls || !job->answers) {
        if (job) {
            free(job->calls);
            free(job->answers);
            free(job);
        }
        tkm_rpc_request_free(parsed);
        tkm_api_req_reply_error(req, 500, TKM_ERR_NOMEM, NULL);
        return;
    }
    job->req = req;
    job->ep = ep;
    job->parsed = parsed;
    size_t n = parsed->n;
    atomic_store(&job->pending, n + 1); /* +1: our own guard until every item is dispatched */
    unsigned held = tkm_api_req_roles(req);
    for (size_t i = 0; i < n; i++) {
        const tkm_rpc_item *it = &parsed->items[i];
        tkm_rpc_call *c = &job->calls[i];
        c->job = job;
        c->idx = i;
        tkm_rpc_error e;
        if (it->invalid) {
            tkm_rpc_error_std(&e, TKM_RPC_INVALID_REQUEST, it->why);
            complete(job, i, NULL, NULL, &e);
            continue;
        }
        const tkm_rpc_method *m = find_method(ep, it->method);
        if (!m) {
            tkm_rpc_error_std(&e, TKM_RPC_METHOD_NOT_FOUND, NULL);
            complete(job, i, NULL, NULL, &e);
            continue;
        }
        c->m = m;
        if ((held & m->roles) != m->roles) {
            char need[64];
            tkm_api_roles_str(m->roles, need, sizeof need);
            tkm_api_req_audit(req, 403, TKM_ERR_ROLE_MISSING, m->name, m->roles);
            memset(&e, 0, sizeof e);
            e.code = (int)TKM_ERR_FORBIDDEN;
            e.err = TKM_ERR_FORBIDDEN;
            copy_str(e.reason, sizeof e.reason, tkm_err_name(TKM_ERR_ROLE_MISSING));
            snprintf(e.detail, sizeof e.detail, "method %s needs role %s", m->name, need);
            tkm_api_req_set_decision(req, "deny:ROLE_MISSING");
            complete(job, i, m, NULL, &e);
            continue;
        }
        m->fn(c, m->arg);
    }
    job_release(job);
}
