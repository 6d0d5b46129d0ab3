/* see tkm_signer.h — the admin REST API under /admin/v1 (docs/teekmd.md "Admin API"). Worker threads. */
#include "signer_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/crypto.h"

#define DEF_EXPIRY 3600
#define MAX_PROPOSALS 16
#define AUDIT_PAGE_RECORDS 2000
#define AUDIT_PAGE_BYTES ((size_t)256 << 10)

static void reply_rc(tkm_api_req *r, int status, tkm_rc rc) {
    tkm_api_req_reply_error(r, status, rc.code, tkm_err_detail());
}

/* A refusal for lack of admin approvals, with what to sign. Steals doc. */
static void reply_quorum(tkm_api_req *r, tkm_rc rc, json_t *extra) {
    const char *name = tkm_err_name(rc.code);
    json_t *e = json_pack("{s:s,s:s,s:s}", "code", name ? name : "UNKNOWN", "message", tkm_err_str(rc.code), "detail",
                          tkm_err_detail());
    json_t *o = extra ? extra : json_object();
    if (o && e) json_object_set_new(o, "error", e);
    tkm_api_req_reply_json(r, tkm_api_http_status(rc.code), o);
}

static int status_of(tkm_err e) {
    switch (e) {
    case TKM_ERR_UNKNOWN_KEY:
    case TKM_ERR_NOT_FOUND: return 404;
    case TKM_ERR_EXISTS: return 409;
    case TKM_ERR_POLICY_VERSION: return 409;
    default: return 0; /* from the code */
    }
}

static tkm_rc body_json(tkm_api_req *r, json_t **out, const char *const *fields) {
    *out = NULL;
    size_t len = 0;
    tkm_api_req_body(r, &len);
    if (!len) {
        *out = json_object();
        TKM_ENSURE(*out, TKM_ERR_NOMEM);
        return TKM_RC_OK;
    }
    TKM_TRY(tkm_api_req_json(r, out));
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        tkm_err_detail_set("the body must be a JSON object");
        TKM_ENSURE(0, TKM_ERR_REQUEST);
    }
    if (fields) {
        tkm_rc rc = tkm_json_check_fields(*out, "", fields);
        if (tkm_failed(rc)) {
            json_decref(*out);
            *out = NULL;
        }
        return rc;
    }
    return TKM_RC_OK;
}

/* approvals: an array of signatures or {signature, expiresAt, signer}; bare ones signed default_expiry. */
static tkm_rc parse_approvals(const json_t *o, uint64_t default_expiry, tkm_approval *a, size_t *n) {
    *n = 0;
    json_t *arr = json_object_get(o, "approvals");
    if (!arr) return TKM_RC_OK;
    if (!json_is_array(arr)) {
        tkm_err_detail_set("approvals: must be an array");
        TKM_ENSURE(0, TKM_ERR_REQUEST);
    }
    if (json_array_size(arr) > TKM_APPROVALS_MAX) {
        tkm_err_detail_set("approvals: more than %d", TKM_APPROVALS_MAX);
        TKM_ENSURE(0, TKM_ERR_REQUEST);
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char p[32];
        snprintf(p, sizeof p, "approvals[%zu]", i);
        TKM_TRY(tkm_approval_parse(&a[*n], json_array_get(arr, i), p, default_expiry));
        (*n)++;
    }
    return TKM_RC_OK;
}

static json_t *key_json(const tkm_store_key_info *k, const uint8_t *pub) {
    json_t *o = json_pack("{s:s,s:o,s:s,s:I}", "label", k->label, "address", signer_addr(k->address), "status",
                          k->status == TKM_STORE_KEY_ACTIVE ? "active" : "retired", "created", (json_int_t)k->created);
    if (o && pub) json_object_set_new(o, "publicKey", tkm_json_hex_new(pub, 65));
    return o;
}

/* ---- keys ---- */

static void keys_list(tkm_signer *s, tkm_api_req *r) {
    json_t *a = json_array();
    pthread_rwlock_rdlock(&s->dir_rw);
    for (size_t i = 0; a && i < s->dir.n; i++) {
        const dir_key *k = &s->dir.by_label[i];
        tkm_store_key_info ki;
        memset(&ki, 0, sizeof ki);
        snprintf(ki.label, sizeof ki.label, "%s", k->label);
        memcpy(ki.address, k->addr, 20);
        ki.status = k->status;
        ki.created = k->created;
        json_array_append_new(a, key_json(&ki, NULL));
    }
    size_t n = s->dir.n;
    pthread_rwlock_unlock(&s->dir_rw);
    json_t *o = a ? json_pack("{s:o,s:I}", "keys", a, "count", (json_int_t)n) : NULL;
    tkm_api_req_reply_json(r, 200, o);
}

static void keys_show(tkm_signer *s, tkm_api_req *r, const char *label) {
    int found = 0;
    tkm_store_key_info ki;
    uint8_t pub[65];
    tkm_rc rc = tkm_engine_key_public(s->e, label, &found, &ki, pub);
    if (tkm_ok(rc) && !found) {
        tkm_err_detail_set("no key labelled %s", label);
        rc = TKM_RC(TKM_ERR_NOT_FOUND);
    }
    if (tkm_failed(rc)) {
        reply_rc(r, status_of(rc.code), rc);
        return;
    }
    tkm_api_req_reply_json(r, 200, key_json(&ki, pub));
}

/* generate (label from the body), retire, rotate — each approved by the admins' quorum (KeyEvent). */
static void key_event(tkm_signer *s, tkm_api_req *r, tkm_key_event ev, const char *label_in) {
    static const char *const fields_gen[] = {"label", "requestId", "expiresAt", "approvals", NULL};
    static const char *const fields[] = {"requestId", "expiresAt", "approvals", NULL};
    json_t *b = NULL;
    tkm_approval a[TKM_APPROVALS_MAX];
    size_t n = 0;
    char label[TKM_POLICY_NAME_MAX + 1], rid[TKM_REQUEST_ID_MAX + 1];
    int64_t expires = 0;
    int present = 0;
    const char *sv;
    size_t sl;
    tkm_rc rc = body_json(r, &b, ev == TKM_KEY_EVENT_GENERATE ? fields_gen : fields);
    if (tkm_ok(rc) && ev == TKM_KEY_EVENT_GENERATE) {
        rc = tkm_json_str(b, "", "label", 1, &sv, &sl);
        if (tkm_ok(rc) && !tkm_key_label_ok(sv, sl)) {
            tkm_err_detail_set("label: 1-64 characters of A-Z a-z 0-9 _ . -");
            rc = TKM_RC(TKM_ERR_REQUEST);
        }
        if (tkm_ok(rc)) snprintf(label, sizeof label, "%s", sv);
    } else if (tkm_ok(rc)) {
        snprintf(label, sizeof label, "%s", label_in);
    }
    if (tkm_ok(rc)) rc = tkm_json_str(b, "", "requestId", 0, &sv, &sl);
    if (tkm_ok(rc) && sv && !tkm_request_id_ok(sv, sl)) {
        tkm_err_detail_set("requestId: 1-128 characters of A-Z a-z 0-9 . _ : -");
        rc = TKM_RC(TKM_ERR_REQUEST);
    }
    if (tkm_ok(rc)) {
        if (sv)
            snprintf(rid, sizeof rid, "%s", sv);
        else
            signer_new_request_id(s, rid);
    }
    if (tkm_ok(rc)) rc = tkm_json_int(b, "", "expiresAt", 0, 1, 9007199254740991LL, &expires, &present);
    if (tkm_ok(rc) && !present) expires = tkm_time_unix() + DEF_EXPIRY;
    if (tkm_ok(rc)) rc = parse_approvals(b, (uint64_t)expires, a, &n);
    json_decref(b);
    if (tkm_failed(rc)) {
        reply_rc(r, 400, rc);
        return;
    }
    pthread_mutex_lock(&s->admin_mu);
    dir_key old;
    int had = signer_key_by_label(s, label, &old);
    uint8_t addr[20];
    rc = tkm_engine_key_event(s->e, ev, rid, label, NULL, a, n, tkm_time_unix(), addr);
    if (rc.code == TKM_ERR_QUORUM) {
        /* what the admins sign: the KeyEvent of this request */
        uint64_t pv;
        uint8_t ph[32], d[32];
        char detail[256];
        snprintf(detail, sizeof detail, "%s", tkm_err_detail());
        tkm_engine_policy_info(s->e, &pv, ph);
        const uint8_t *subject = ev == TKM_KEY_EVENT_GENERATE ? NULL : (had ? old.addr : NULL);
        json_t *doc = NULL;
        tkm_key_event_digest(d, s->instance_id, rid, ev, label, subject, pv, (uint64_t)expires);
        if (tkm_ok(tkm_key_event_typed_data(&doc, s->instance_id, rid, ev, label, subject, pv, (uint64_t)expires))) {
            json_t *extra = json_pack("{s:s,s:s,s:s,s:I,s:{s:o,s:o}}", "requestId", rid, "action",
                                      tkm_key_event_name(ev), "label", label, "expiresAt", (json_int_t)expires,
                                      "approval", "typedData", doc, "digest", tkm_json_hex_new(d, 32));
            tkm_err_detail_set("%s", detail);
            pthread_mutex_unlock(&s->admin_mu);
            reply_quorum(r, rc, extra);
            return;
        }
        tkm_err_detail_set("%s", detail);
    }
    if (tkm_ok(rc)) {
        /* the service's views follow: key directory and attested key set */
        tkm_rc r2 = signer_dir_reload(s);
        if (had && ev != TKM_KEY_EVENT_GENERATE) tkm_instance_key_removed(s->in, old.addr);
        if (ev != TKM_KEY_EVENT_RETIRE) {
            int found;
            tkm_store_key_info ki;
            uint8_t pub[65];
            if (tkm_ok(r2)) r2 = tkm_engine_key_public(s->e, label, &found, &ki, pub);
            if (tkm_ok(r2)) r2 = tkm_instance_key_added(s->in, pub);
        }
        if (tkm_failed(r2))
            tkm_log(TKM_LOG_ERROR, "signer", "key %s committed, but the service view was not refreshed: %s", label,
                    tkm_err_name(r2.code));
        signer_refresh_state(s);
    }
    pthread_mutex_unlock(&s->admin_mu);
    if (tkm_failed(rc)) {
        reply_rc(r, status_of(rc.code), rc);
        return;
    }
    tkm_log(TKM_LOG_INFO, "signer", "key %s %s (request %s)", label, tkm_key_event_name(ev), rid);
    int found;
    tkm_store_key_info ki;
    uint8_t pub[65];
    json_t *o = NULL;
    if (tkm_ok(tkm_engine_key_public(s->e, label, &found, &ki, pub)) && found) {
        o = key_json(&ki, ki.status == TKM_STORE_KEY_ACTIVE ? pub : NULL);
        if (o) json_object_set_new(o, "requestId", json_string(rid));
    }
    tkm_api_req_reply_json(r, ev == TKM_KEY_EVENT_GENERATE ? 201 : 200, o);
}

/* ---- policy ---- */

static void policy_get(tkm_signer *s, tkm_api_req *r) {
    const tkm_policy *p = signer_policy(s);
    json_t *doc = NULL;
    tkm_rc rc = tkm_json_load(&doc, p->canonical, p->canonical_len, NULL);
    if (tkm_failed(rc)) {
        reply_rc(r, 500, rc);
        return;
    }
    tkm_api_req_reply_json(r, 200, json_pack("{s:I,s:o,s:o}", "version", (json_int_t)p->version, "hash",
                                             tkm_json_hex_new(p->hash, 32), "policy", doc));
}

/* Under prop_mu. */
static proposal *proposal_find(tkm_signer *s, const uint8_t hash[32]) {
    for (proposal *p = s->props; p; p = p->next)
        if (memcmp(p->r.hash, hash, 32) == 0) return p;
    return NULL;
}

static json_t *proposal_json(tkm_signer *s, const proposal *pe) {
    const tkm_store_proposal *p = &pe->r;
    uint8_t d[32];
    json_t *doc = NULL;
    tkm_policy_update_digest(d, s->instance_id, p->version, p->hash, p->prev_version, p->prev_hash, p->expires_at);
    if (tkm_failed(tkm_policy_update_typed_data(&doc, s->instance_id, p->version, p->hash, p->prev_version,
                                                p->prev_hash, p->expires_at)))
        return NULL;
    json_t *signers = json_array();
    for (size_t i = 0; signers && i < p->n_approvals; i++)
        json_array_append_new(signers, signer_addr(p->approvals[i].signer));
    return json_pack("{s:o,s:I,s:I,s:o,s:I,s:{s:o,s:o},s:o}", "hash", tkm_json_hex_new(p->hash, 32), "version",
                     (json_int_t)p->version, "previousVersion", (json_int_t)p->prev_version, "previousHash",
                     tkm_json_hex_new(p->prev_hash, 32), "expiresAt", (json_int_t)p->expires_at, "approval", "typedData",
                     doc, "digest", tkm_json_hex_new(d, 32), "approvals", signers);
}

/* Unlink and free a proposal entry (under prop_mu). */
static void proposal_unlink(tkm_signer *s, proposal *x) {
    for (proposal **pp = &s->props; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            free(x->r.doc);
            free(x);
            s->n_props--;
            return;
        }
}

/*
 * Open a proposal (under prop_mu): expired proposals and those at or below
 * the active version make room (deleted in the same commit); MAX_PROPOSALS
 * counts the others, those loaded at start included. The engine records and
 * audits it before the answer. Out: *out, the entry.
 */
static tkm_rc proposal_open(tkm_signer *s, const tkm_policy *np, const tkm_policy *cur, uint64_t expires, int64_t now,
                            proposal **out) {
    *out = NULL;
    uint8_t(*drop)[32] = NULL;
    size_t n_drop = 0, live = 0;
    for (proposal *p = s->props; p; p = p->next) {
        if (p->r.expires_at < (uint64_t)now || p->r.version <= cur->version)
            n_drop++;
        else
            live++;
    }
    if (live >= MAX_PROPOSALS) {
        tkm_err_detail_set("%d proposals are open: activate or let them expire", MAX_PROPOSALS);
        TKM_ENSURE(0, TKM_ERR_LIMIT);
    }
    tkm_rc rc = TKM_RC_OK;
    proposal *pe = calloc(1, sizeof *pe);
    if (n_drop) drop = calloc(n_drop, sizeof *drop);
    if (!pe || (n_drop && !drop) || !(pe->r.doc = malloc(np->canonical_len))) {
        if (pe) free(pe->r.doc);
        free(pe);
        free(drop);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    size_t k = 0;
    for (proposal *p = s->props; p && k < n_drop; p = p->next)
        if (p->r.expires_at < (uint64_t)now || p->r.version <= cur->version) memcpy(drop[k++], p->r.hash, 32);
    memcpy(pe->r.doc, np->canonical, np->canonical_len);
    pe->r.doc_len = np->canonical_len;
    pe->r.version = np->version;
    memcpy(pe->r.hash, np->hash, 32);
    pe->r.prev_version = cur->version;
    memcpy(pe->r.prev_hash, cur->hash, 32);
    pe->r.expires_at = expires;
    pe->r.created = now;
    tkm_store_proposal stored;
    int created = 0;
    rc = tkm_engine_proposal_create(s->e, &pe->r, (const uint8_t(*)[32])drop, n_drop, now, &stored, &created);
    if (tkm_ok(rc)) {
        for (size_t i = 0; i < n_drop; i++) {
            proposal *x = proposal_find(s, drop[i]);
            if (x) proposal_unlink(s, x);
        }
        proposal *x = proposal_find(s, pe->r.hash);
        if (x) proposal_unlink(s, x);
        stored.doc = pe->r.doc; /* the same document (same hash): the entry's copy */
        stored.doc_len = pe->r.doc_len;
        pe->r = stored;
        pe->next = s->props;
        s->props = pe;
        s->n_props++;
        *out = pe;
        pe = NULL;
    }
    if (pe) free(pe->r.doc);
    free(pe);
    free(drop);
    return rc;
}

static void policy_propose(tkm_signer *s, tkm_api_req *r) {
    static const char *const fields[] = {"policy", "expiresAt", NULL};
    json_t *b = NULL;
    tkm_policy *np = NULL;
    tkm_wr w;
    tkm_wr_init(&w, TKM_POLICY_MAX_BYTES * 2);
    int64_t expires = 0;
    int present = 0, status = 201;
    json_t *pj;
    tkm_rc rc = body_json(r, &b, fields);
    if (tkm_ok(rc)) rc = tkm_json_get(b, "", "policy", 1, &pj);
    if (tkm_ok(rc)) rc = tkm_json_int(b, "", "expiresAt", 0, 1, 9007199254740991LL, &expires, &present);
    if (tkm_ok(rc) && !present) expires = tkm_time_unix() + 7 * 86400;
    if (tkm_ok(rc)) rc = tkm_json_canonical(pj, &w);
    if (tkm_ok(rc)) rc = tkm_policy_load(&np, w.p, w.len);
    json_decref(b);
    tkm_wr_free(&w);
    if (tkm_failed(rc)) {
        reply_rc(r, 400, rc);
        return;
    }
    const tkm_policy *cur = signer_policy(s);
    if (np->version <= cur->version) {
        tkm_err_detail_set("version %llu does not exceed the active version %llu", (unsigned long long)np->version,
                           (unsigned long long)cur->version);
        tkm_policy_free(np);
        reply_rc(r, 409, TKM_RC(TKM_ERR_POLICY_VERSION));
        return;
    }
    pthread_mutex_lock(&s->prop_mu); /* held across the commit: admin operations only */
    int64_t now = tkm_time_unix();
    proposal *p = proposal_find(s, np->hash);
    if (p && p->r.expires_at >= (uint64_t)now) {
        status = 200;
    } else {
        rc = proposal_open(s, np, cur, (uint64_t)expires, now, &p);
    }
    json_t *o = p ? proposal_json(s, p) : NULL;
    pthread_mutex_unlock(&s->prop_mu);
    tkm_policy_free(np);
    if (tkm_failed(rc)) {
        reply_rc(r, 0, rc);
        return;
    }
    tkm_api_req_reply_json(r, status, o);
}

static int parse_hash(const char *s, size_t n, uint8_t h[32]) {
    return tkm_ok(tkm_hex_decode_exact(h, 32, s, n, TKM_HEX_0X_REQUIRED));
}

static void proposal_show(tkm_signer *s, tkm_api_req *r, const uint8_t h[32]) {
    pthread_mutex_lock(&s->prop_mu);
    proposal *p = proposal_find(s, h);
    json_t *o = p ? proposal_json(s, p) : NULL;
    pthread_mutex_unlock(&s->prop_mu);
    if (!p) {
        tkm_api_req_reply_error(r, 404, TKM_ERR_NOT_FOUND, "no open proposal with this hash");
        return;
    }
    tkm_api_req_reply_json(r, 200, o);
}

static void proposal_approve(tkm_signer *s, tkm_api_req *r, const uint8_t h[32]) {
    json_t *b = NULL;
    tkm_rc rc = body_json(r, &b, NULL);
    if (tkm_failed(rc)) {
        reply_rc(r, 400, rc);
        return;
    }
    pthread_mutex_lock(&s->prop_mu); /* held across the commit: admin operations only */
    proposal *p = proposal_find(s, h);
    tkm_approval a, stored;
    size_t count = 0;
    if (!p) {
        tkm_err_detail_set("no open proposal with this hash");
        rc = TKM_RC(TKM_ERR_NOT_FOUND);
    }
    /* {"signature": "0x…"} signed the proposal's expiresAt; {"signature", "expiresAt", "signer"} says its own */
    const json_t *av = json_object_size(b) == 1 && json_is_string(json_object_get(b, "signature"))
                           ? json_object_get(b, "signature")
                           : b;
    if (tkm_ok(rc)) rc = tkm_approval_parse(&a, av, "(body)", p->r.expires_at);
    /* the engine recovers the signer over the PolicyUpdate, checks it is an admin, commits and audits */
    if (tkm_ok(rc)) rc = tkm_engine_proposal_approve(s->e, h, &a, tkm_time_unix(), &stored, &count);
    if (tkm_ok(rc)) {
        size_t i = 0;
        while (i < p->r.n_approvals && memcmp(p->r.approvals[i].signer, stored.signer, 20) != 0) i++;
        if (i < TKM_APPROVALS_MAX) {
            p->r.approvals[i] = stored;
            if (i == p->r.n_approvals) p->r.n_approvals++;
        }
    }
    json_t *o = tkm_ok(rc) ? proposal_json(s, p) : NULL;
    pthread_mutex_unlock(&s->prop_mu);
    json_decref(b);
    if (tkm_failed(rc)) {
        reply_rc(r, status_of(rc.code), rc);
        return;
    }
    tkm_api_req_reply_json(r, 200, o);
}

static void proposal_activate(tkm_signer *s, tkm_api_req *r, const uint8_t h[32]) {
    static const char *const fields[] = {"approvals", NULL};
    json_t *b = NULL;
    tkm_approval a[TKM_APPROVALS_MAX];
    size_t n = 0;
    tkm_rc rc = body_json(r, &b, fields);
    if (tkm_failed(rc)) {
        reply_rc(r, 400, rc);
        return;
    }
    pthread_mutex_lock(&s->admin_mu);
    pthread_mutex_lock(&s->prop_mu);
    proposal *p = proposal_find(s, h);
    uint8_t *doc = NULL;
    size_t doc_len = 0;
    if (!p) {
        tkm_err_detail_set("no open proposal with this hash");
        rc = TKM_RC(TKM_ERR_NOT_FOUND);
    } else {
        for (size_t i = 0; i < p->r.n_approvals; i++) a[n++] = p->r.approvals[i];
        size_t m = 0;
        tkm_approval more[TKM_APPROVALS_MAX];
        rc = parse_approvals(b, p->r.expires_at, more, &m);
        for (size_t i = 0; tkm_ok(rc) && i < m && n < TKM_APPROVALS_MAX; i++) a[n++] = more[i];
        doc = malloc(p->r.doc_len);
        if (doc) {
            memcpy(doc, p->r.doc, p->r.doc_len);
            doc_len = p->r.doc_len;
        } else if (tkm_ok(rc)) {
            rc = TKM_RC(TKM_ERR_NOMEM);
        }
    }
    json_t *pj = p && tkm_ok(rc) ? proposal_json(s, p) : NULL;
    pthread_mutex_unlock(&s->prop_mu);
    json_decref(b);
    if (tkm_ok(rc)) rc = tkm_engine_policy_activate(s->e, doc, doc_len, a, n, tkm_time_unix(), 0);
    free(doc);
    if (tkm_ok(rc)) {
        tkm_rc r2 = signer_policy_reload(s);
        if (tkm_failed(r2))
            tkm_log(TKM_LOG_ERROR, "signer", "policy activated but not reloaded: %s", tkm_err_name(r2.code));
        signer_refresh_state(s);
        tkm_instance_claims_changed(s->in); /* the attested policy hash and version moved: register again */
        /* the proposal is done; older ones cannot activate any more (the engine deleted them in that commit) */
        pthread_mutex_lock(&s->prop_mu);
        for (proposal **pp = &s->props; *pp;) {
            if ((*pp)->r.version <= signer_policy(s)->version) {
                proposal *d = *pp;
                *pp = d->next;
                free(d->r.doc);
                free(d);
                s->n_props--;
            } else {
                pp = &(*pp)->next;
            }
        }
        pthread_mutex_unlock(&s->prop_mu);
    }
    pthread_mutex_unlock(&s->admin_mu);
    if (rc.code == TKM_ERR_QUORUM && pj) {
        reply_quorum(r, rc, pj);
        return;
    }
    json_decref(pj);
    if (tkm_failed(rc)) {
        reply_rc(r, status_of(rc.code), rc);
        return;
    }
    const tkm_policy *cur = signer_policy(s);
    tkm_log(TKM_LOG_INFO, "signer", "policy version %llu activated", (unsigned long long)cur->version);
    tkm_api_req_reply_json(r, 200, json_pack("{s:I,s:o}", "version", (json_int_t)cur->version, "hash",
                                             tkm_json_hex_new(cur->hash, 32)));
}

/* ---- audit export: JSON Lines, streamed in pages ---- */

typedef struct {
    tkm_wr w;
    uint64_t next, n;
} page_ctx;

static int page_line(void *ctx, uint64_t seq, const uint8_t *rec, size_t len) {
    page_ctx *p = ctx;
    if (tkm_failed(tkm_wr_put(&p->w, rec, len))) return 1;
    p->next = seq + 1;
    p->n++;
    return p->n >= AUDIT_PAGE_RECORDS || p->w.len >= AUDIT_PAGE_BYTES;
}

static void audit_export(tkm_signer *s, tkm_api_req *r) {
    uint64_t from = 1;
    const char *q = tkm_api_req_query(r);
    if (q && *q) {
        char *end = NULL;
        unsigned long long v = strncmp(q, "from=", 5) == 0 ? strtoull(q + 5, &end, 10) : 0;
        if (!end || *end || v < 1) {
            tkm_api_req_reply_error(r, 400, TKM_ERR_REQUEST, "query: from=<sequence number, 1 or more>");
            return;
        }
        from = v;
    }
    tkm_api_req_stream_begin(r, 200, "application/jsonl");
    for (;;) {
        page_ctx p;
        tkm_wr_init(&p.w, AUDIT_PAGE_BYTES + TKM_AUDIT_LINE_MAX);
        p.next = from;
        p.n = 0;
        tkm_rc rc = tkm_engine_audit_scan(s->e, from, page_line, &p);
        if (tkm_ok(rc)) rc = tkm_wr_status(&p.w);
        int ok = tkm_ok(rc) && (!p.w.len || tkm_api_req_stream_write(r, p.w.p, p.w.len));
        if (tkm_failed(rc))
            tkm_log(TKM_LOG_ERROR, "signer", "audit export stopped at record %llu: %s (%s)", (unsigned long long)from,
                    tkm_err_name(rc.code), tkm_err_detail());
        int more = ok && p.n >= AUDIT_PAGE_RECORDS ? 1 : ok && p.w.len >= AUDIT_PAGE_BYTES;
        from = p.next;
        tkm_wr_free(&p.w);
        if (!ok) {
            /* an error after the status line, or the client left: cut the answer short */
            tkm_api_req_stream_abort(r);
            return;
        }
        if (!more) break;
    }
    tkm_api_req_stream_end(r);
}

/* ---- routing ---- */

static void admin(tkm_api_req *r, void *arg) {
    tkm_signer *s = arg;
    const char *rest = tkm_api_req_path_rest(r);
    unsigned m = tkm_api_req_method(r);
    char seg[4][160];
    int n = 0;
    const char *p = rest;
    while (*p && n < 4) {
        const char *sl = strchr(p, '/');
        size_t len = sl ? (size_t)(sl - p) : strlen(p);
        if (!len || len >= sizeof seg[0]) {
            n = -1;
            break;
        }
        memcpy(seg[n], p, len);
        seg[n][len] = 0;
        n++;
        p = sl ? sl + 1 : p + len;
        if (sl && !*p) { /* trailing slash */
            n = -1;
            break;
        }
    }
    if (*p) n = -1;
    uint8_t h[32];
    if (n == 1 && strcmp(seg[0], "keys") == 0) {
        if (m == TKM_HTTP_GET) return keys_list(s, r);
        if (m == TKM_HTTP_POST) return key_event(s, r, TKM_KEY_EVENT_GENERATE, NULL);
    } else if (n == 2 && strcmp(seg[0], "keys") == 0 && m == TKM_HTTP_GET && tkm_key_label_ok(seg[1], strlen(seg[1]))) {
        return keys_show(s, r, seg[1]);
    } else if (n == 3 && strcmp(seg[0], "keys") == 0 && m == TKM_HTTP_POST && tkm_key_label_ok(seg[1], strlen(seg[1]))) {
        if (strcmp(seg[2], "retire") == 0) return key_event(s, r, TKM_KEY_EVENT_RETIRE, seg[1]);
        if (strcmp(seg[2], "rotate") == 0) return key_event(s, r, TKM_KEY_EVENT_ROTATE, seg[1]);
    } else if (n == 1 && strcmp(seg[0], "policy") == 0 && m == TKM_HTTP_GET) {
        return policy_get(s, r);
    } else if (n == 2 && strcmp(seg[0], "policy") == 0 && strcmp(seg[1], "proposals") == 0 && m == TKM_HTTP_POST) {
        return policy_propose(s, r);
    } else if (n >= 3 && strcmp(seg[0], "policy") == 0 && strcmp(seg[1], "proposals") == 0 &&
               parse_hash(seg[2], strlen(seg[2]), h)) {
        if (n == 3 && m == TKM_HTTP_GET) return proposal_show(s, r, h);
        if (n == 4 && m == TKM_HTTP_POST && strcmp(seg[3], "approvals") == 0) return proposal_approve(s, r, h);
        if (n == 4 && m == TKM_HTTP_POST && strcmp(seg[3], "activate") == 0) return proposal_activate(s, r, h);
    } else if (n == 1 && strcmp(seg[0], "audit") == 0 && m == TKM_HTTP_GET) {
        return audit_export(s, r);
    }
    tkm_api_req_reply_error(r, 404, TKM_ERR_NOT_FOUND, "no such admin resource (docs/teekmd.md \"Admin API\")");
}

tkm_rc signer_admin_routes(tkm_signer *s) {
    tkm_api_route rt = {.name = "admin", .methods = TKM_HTTP_GET | TKM_HTTP_POST, .path = "/admin/v1/",
                        .flags = TKM_API_ROUTE_PREFIX | TKM_API_ROUTE_WORKER | TKM_API_ROUTE_JSON,
                        .roles = TKM_ROLE_ADMIN, .fn = admin, .arg = s};
    return tkm_api_server_route(s->srv, &rt);
}
