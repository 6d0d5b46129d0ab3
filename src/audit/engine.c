/* see tkm_engine.h */
#include "tkm_engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/crypto.h"
#include "../verifier/tkm_verifier.h"

#define AUDIT_LABEL "audit"
#define DEFAULT_BATCH 256

typedef struct job {
    const tkm_sign_request *req;
    tkm_sign_result *res;
    tkm_rc rc;
    int done;
    struct job *next;
} job;

typedef struct {
    char label[TKM_POLICY_NAME_MAX + 1];
    tkm_secret *sk;
} key_slot;

struct tkm_engine {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *head, *tail;
    int busy;
    tkm_store *store;
    tkm_audit_writer *audit;
    tkm_secret *audit_key;
    uint8_t audit_pub[TKM_SECP_PUBKEY_LEN];
    uint8_t audit_addr[20];
    uint8_t instance[32];
    tkm_policy *policy;
    key_slot *keys;
    size_t n_keys;
    size_t max_batch;
    _Atomic int failed; /* the store closed itself for writing */
    _Atomic int counter_behind; /* the last commit's counter write has not succeeded yet */
    tkm_engine_clock_fn clock; /* NULL: the host time as given */
    void *clock_ctx;
};

/* The caller's host time through the clock hook (tkm_engine_opts.clock), before the store's floor. */
static int64_t host_time(tkm_engine *e, int64_t host_now) {
    return e->clock ? e->clock(e->clock_ctx, host_now, e->policy) : host_now;
}

/* The evaluation time of a transaction: the hook, then max(…, largest time seen). */
static int64_t observe(tkm_engine *e, int64_t host_now) {
    return tkm_store_observe_time(e->store, host_time(e, host_now));
}

/* After any commit attempt: remember whether the store closed itself (health checks read it lock-free). */
static void note_store(tkm_engine *e) {
    if (e->store && tkm_store_is_failed(e->store)) atomic_store(&e->failed, 1);
    if (e->store) atomic_store(&e->counter_behind, tkm_store_counter_behind(e->store));
}

/* ---- small JSON helpers ---- */

static json_t *jaddr(const uint8_t a[20]) {
    char s[TKM_ETH_ADDR_STR_LEN];
    tkm_eth_address_checksum(s, a);
    return json_string(s);
}
/* json_object_set_new that remembers a failure */
static void jset(json_t *o, const char *k, json_t *v, int *err) {
    if (!v || json_object_set_new(o, k, v) != 0) *err = 1;
}

/* ---- exclusive section (admin operations, open/close work) ---- */

static void enter(tkm_engine *e) {
    pthread_mutex_lock(&e->mu);
    while (e->busy) pthread_cond_wait(&e->cv, &e->mu);
    e->busy = 1;
    pthread_mutex_unlock(&e->mu);
}
static void leave(tkm_engine *e) {
    pthread_mutex_lock(&e->mu);
    e->busy = 0;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

/* ---- keys ---- */

static void key_cache_drop(tkm_engine *e, const char *label) {
    for (size_t i = 0; i < e->n_keys; i++)
        if (strcmp(e->keys[i].label, label) == 0) {
            tkm_secret_free(e->keys[i].sk);
            e->keys[i] = e->keys[--e->n_keys];
            return;
        }
}

/*
 * The unsealed key of a signer, loaded once and checked against the address
 * it was recorded with: the key that signs is the key the policy was
 * evaluated for.
 */
static tkm_rc key_slot_get(tkm_engine *e, const char *label, const uint8_t addr[20], const key_slot **out) {
    *out = NULL;
    for (size_t i = 0; i < e->n_keys; i++)
        if (strcmp(e->keys[i].label, label) == 0) {
            *out = &e->keys[i];
            return TKM_RC_OK;
        }
    key_slot *nk = realloc(e->keys, (e->n_keys + 1) * sizeof *nk);
    TKM_ENSURE(nk, TKM_ERR_NOMEM);
    e->keys = nk;
    key_slot *k = &e->keys[e->n_keys];
    memset(k, 0, sizeof *k);
    snprintf(k->label, sizeof k->label, "%s", label);
    TKM_TRY(tkm_store_key_unseal(e->store, label, &k->sk));
    uint8_t a[20], pub[TKM_SECP_PUBKEY_LEN];
    tkm_rc rc = tkm_secp_pubkey(pub, k->sk);
    if (tkm_ok(rc)) {
        tkm_eth_address(a, pub);
        if (memcmp(a, addr, 20) != 0) {
            tkm_err_detail_set("key %s does not match its recorded address", label);
            rc = TKM_RC(TKM_ERR_STORE_TAMPER);
        }
    }
    if (tkm_failed(rc)) {
        tkm_secret_free(k->sk);
        return rc;
    }
    e->n_keys++;
    *out = k;
    return TKM_RC_OK;
}

static tkm_rc lookup(tkm_engine *e, const char *label, int *found, uint8_t addr[20], tkm_key_status *st) {
    tkm_store_key_info ki;
    *found = 0;
    *st = TKM_KEY_UNKNOWN;
    memset(addr, 0, 20);
    if (strcmp(label, AUDIT_LABEL) == 0) return TKM_RC_OK; /* the audit key never signs requests */
    TKM_TRY(tkm_store_key_info_get(e->store, label, found, &ki));
    if (!*found || ki.role != TKM_KEY_ROLE_SIGNER) {
        *found = 0;
        return TKM_RC_OK;
    }
    memcpy(addr, ki.address, 20);
    *st = ki.status == TKM_STORE_KEY_ACTIVE ? TKM_KEY_ACTIVE : TKM_KEY_RETIRED;
    return TKM_RC_OK;
}

tkm_rc tkm_engine_key_lookup(tkm_engine *e, const char *label, int *found, uint8_t addr[20], tkm_key_status *status) {
    enter(e);
    tkm_rc rc = lookup(e, label, found, addr, status);
    leave(e);
    return rc;
}

/* ---- one decision inside the batch transaction ---- */

static json_t *approvers_json(const tkm_decision *d) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < d->n_used; i++)
        if (json_array_append_new(a, jaddr(d->used_signer[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* A JCS string: escapes per RFC 8785 (input is valid UTF-8: labels, ids, our own details). */
static tkm_rc jcs_str(tkm_wr *w, const char *s) {
    static const char hexd[] = "0123456789abcdef";
    TKM_TRY(tkm_wr_u8(w, '"'));
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            TKM_TRY(tkm_wr_u8(w, '\\'));
            TKM_TRY(tkm_wr_u8(w, (uint8_t)c));
        } else if (c < 0x20) {
            const char *esc = c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
            if (esc)
                TKM_TRY(tkm_wr_str(w, esc));
            else {
                char u[7] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15], 0};
                TKM_TRY(tkm_wr_str(w, u));
            }
        } else {
            TKM_TRY(tkm_wr_u8(w, (uint8_t)c));
        }
    }
    return tkm_wr_u8(w, '"');
}

static tkm_rc jcs_hex(tkm_wr *w, const uint8_t *b, size_t n) {
    TKM_TRY(tkm_wr_u8(w, '"'));
    TKM_TRY(tkm_hex_encode_wr(w, b, n, 1));
    return tkm_wr_u8(w, '"');
}

static tkm_rc jcs_dec(tkm_wr *w, const tkm_u256 *v) {
    uint64_t small;
    TKM_TRY(tkm_wr_u8(w, '"'));
    if (tkm_u256_to_u64(v, &small)) {
        TKM_TRY(tkm_wr_dec_u64(w, small));
    } else {
        char d[TKM_U256_DEC_MAX + 1];
        tkm_u256_to_dec(v, d);
        TKM_TRY(tkm_wr_str(w, d));
    }
    return tkm_wr_u8(w, '"');
}

/* ,"name":<integer> */
static tkm_rc jcs_int_field(tkm_wr *w, const char *name_quoted, uint64_t v) {
    TKM_TRY(tkm_wr_str(w, name_quoted));
    return tkm_wr_dec_u64(w, v);
}

/*
 * The body of a transaction decision, written directly in canonical (RFC
 * 8785) form: keys in sorted order, addresses as lower-case hex (no EIP-55
 * keccak per address on the hot path). Verification re-canonicalizes every
 * record, so a mistake here cannot go unnoticed.
 */
static tkm_rc tx_body(tkm_wr *w, const tkm_engine *e, const tkm_intent *it, const tkm_decision *d) {
    const tkm_policy *p = e->policy;
    TKM_TRY(tkm_wr_str(w, "{\"action\":\""));
    TKM_TRY(tkm_wr_str(w, tkm_action_name(it->action)));
    TKM_TRY(tkm_wr_u8(w, '"'));
    if (it->has_amount) {
        TKM_TRY(tkm_wr_str(w, ",\"amount\":"));
        TKM_TRY(jcs_dec(w, &it->amount));
    }
    if (d->allow) {
        TKM_TRY(tkm_wr_str(w, ",\"approvers\":["));
        for (size_t i = 0; i < d->n_used; i++) {
            if (i) TKM_TRY(tkm_wr_u8(w, ','));
            TKM_TRY(jcs_hex(w, d->used_signer[i], 20));
        }
        TKM_TRY(tkm_wr_u8(w, ']'));
    }
    if (it->asset_kind == TKM_ASSET_NATIVE)
        TKM_TRY(tkm_wr_str(w, ",\"asset\":\"native\""));
    else if (it->asset_kind == TKM_ASSET_CONTRACT) {
        TKM_TRY(tkm_wr_str(w, ",\"asset\":"));
        TKM_TRY(jcs_hex(w, it->asset_contract, 20));
    }
    if (d->asset >= 0) {
        TKM_TRY(tkm_wr_str(w, ",\"assetName\":"));
        TKM_TRY(jcs_str(w, p->assets[d->asset].name));
    }
    if (it->has_calldata) {
        TKM_TRY(tkm_wr_str(w, ",\"calldataHash\":"));
        TKM_TRY(jcs_hex(w, it->calldata_hash, 32));
    }
    if (it->has_chain_id) TKM_TRY(jcs_int_field(w, ",\"chainId\":", it->chain_id));
    if (!d->allow) {
        TKM_TRY(tkm_wr_str(w, ",\"detail\":"));
        TKM_TRY(jcs_str(w, d->detail));
    } else {
        TKM_TRY(tkm_wr_str(w, d->idempotent ? ",\"idempotent\":true" : ",\"idempotent\":false"));
    }
    TKM_TRY(tkm_wr_str(w, ",\"key\":"));
    TKM_TRY(jcs_str(w, it->key_label));
    TKM_TRY(tkm_wr_str(w, ",\"keyAddress\":"));
    TKM_TRY(jcs_hex(w, it->key, 20));
    if (it->has_nonce) TKM_TRY(jcs_int_field(w, ",\"nonce\":", it->nonce));
    TKM_TRY(tkm_wr_str(w, ",\"payloadHash\":"));
    TKM_TRY(jcs_hex(w, it->payload_hash, 32));
    TKM_TRY(jcs_int_field(w, ",\"policyVersion\":", p->version));
    if (!d->allow) {
        TKM_TRY(tkm_wr_str(w, ",\"reason\":"));
        TKM_TRY(jcs_str(w, tkm_reason_name(d->reason)));
    }
    TKM_TRY(tkm_wr_str(w, ",\"requestId\":"));
    TKM_TRY(jcs_str(w, it->request_id));
    TKM_TRY(tkm_wr_str(w, ",\"rule\":"));
    if (d->rule_id[0])
        TKM_TRY(jcs_str(w, d->rule_id));
    else
        TKM_TRY(tkm_wr_str(w, "null"));
    if (it->has_selector) {
        TKM_TRY(tkm_wr_str(w, ",\"selector\":"));
        TKM_TRY(jcs_hex(w, it->selector, 4));
    }
    if (it->has_to) {
        TKM_TRY(tkm_wr_str(w, ",\"to\":"));
        TKM_TRY(jcs_hex(w, it->to, 20));
    }
    TKM_TRY(jcs_int_field(w, ",\"txType\":", it->tx_type));
    TKM_TRY(tkm_wr_str(w, ",\"value\":"));
    TKM_TRY(jcs_dec(w, &it->value));
    return tkm_wr_u8(w, '}');
}

static tkm_rc audit_decision(tkm_engine *e, const tkm_intent *it, const tkm_decision *d, uint64_t *seq) {
    if (it->payload == TKM_PAYLOAD_TX) {
        tkm_wr w;
        tkm_wr_init(&w, TKM_AUDIT_LINE_MAX / 2);
        tkm_rc rc = tx_body(&w, e, it, d);
        if (tkm_ok(rc))
            rc = tkm_audit_add_canonical(e->audit, d->now, d->allow ? TKM_AUDIT_SIGN_ALLOWED : TKM_AUDIT_SIGN_REJECTED,
                                         w.p, w.len, seq);
        tkm_wr_free(&w);
        return rc;
    }
    json_t *b = json_object(), *ij = NULL;
    TKM_ENSURE(b, TKM_ERR_NOMEM);
    int err = 0;
    tkm_rc rc = tkm_intent_to_json(&ij, it, e->policy);
    if (tkm_failed(rc)) {
        json_decref(b);
        return rc;
    }
    jset(b, "requestId", json_string(it->request_id), &err);
    jset(b, "key", json_string(it->key_label), &err);
    jset(b, "keyAddress", jaddr(it->key), &err);
    jset(b, "policyVersion", json_integer((json_int_t)e->policy->version), &err);
    jset(b, "payloadHash", tkm_json_hex_new(it->payload_hash, 32), &err);
    jset(b, "rule", d->rule_id[0] ? json_string(d->rule_id) : json_null(), &err);
    if (d->allow) {
        jset(b, "idempotent", json_boolean(d->idempotent), &err);
        jset(b, "approvers", approvers_json(d), &err);
    } else {
        jset(b, "reason", json_string(tkm_reason_name(d->reason)), &err);
        jset(b, "detail", json_string(d->detail), &err);
    }
    jset(b, "intent", ij, &err);
    if (!err) rc = tkm_audit_add(e->audit, d->now, d->allow ? TKM_AUDIT_SIGN_ALLOWED : TKM_AUDIT_SIGN_REJECTED, b, seq);
    json_decref(b);
    TKM_ENSURE(!err, TKM_ERR_NOMEM);
    return rc;
}

/* The sign_rejected body of a request refused before evaluation (same shape as tkm_engine_reject). */
static json_t *reject_body(const tkm_engine *e, const char *request_id, const char *key_label, tkm_reason reason,
                           const char *detail) {
    json_t *b = json_object();
    int err = !b;
    if (!err) {
        jset(b, "requestId", request_id && request_id[0] ? json_string(request_id) : json_null(), &err);
        jset(b, "key", key_label && key_label[0] ? json_string(key_label) : json_null(), &err);
        jset(b, "reason", json_string(tkm_reason_name(reason)), &err);
        jset(b, "detail", json_string(detail ? detail : ""), &err);
        jset(b, "rule", json_null(), &err);
        jset(b, "policyVersion", json_integer((json_int_t)e->policy->version), &err);
    }
    if (err) {
        json_decref(b);
        return NULL;
    }
    return b;
}

static tkm_rc decide_other(tkm_engine *e, const tkm_sign_request *req, tkm_sign_result *res) {
    int64_t now = observe(e, req->host_now);
    res->policy_version = e->policy->version;
    res->decision.now = now;
    if (req->kind == TKM_JOB_AUDIT) {
        TKM_ARG_CHECK((req->audit_type == TKM_AUDIT_ACCESS_DENIED || req->audit_type == TKM_AUDIT_ATTESTATION_PRODUCED ||
                       req->audit_type == TKM_AUDIT_HOST_CLOCK) &&
                      req->audit_body);
        return tkm_audit_add(e->audit, now, req->audit_type, req->audit_body, &res->audit_seq);
    }
    TKM_ARG_CHECK(req->kind == TKM_JOB_REJECT);
    tkm_decision *d = &res->decision;
    d->allow = 0;
    d->reason = req->reject_reason;
    d->rule = -1;
    d->asset = -1;
    snprintf(d->detail, sizeof d->detail, "%s", req->reject_detail);
    json_t *b = reject_body(e, req->intent.request_id, req->intent.key_label, req->reject_reason, req->reject_detail);
    TKM_ENSURE(b, TKM_ERR_NOMEM);
    tkm_rc rc = tkm_audit_add(e->audit, now, TKM_AUDIT_SIGN_REJECTED, b, &res->audit_seq);
    json_decref(b);
    return rc;
}

static tkm_rc decide_one(tkm_engine *e, const tkm_sign_request *req, tkm_sign_result *res) {
    memset(res, 0, sizeof *res);
    if (req->kind != TKM_JOB_SIGN) return decide_other(e, req, res);
    tkm_intent it = req->intent;
    tkm_key_status st = req->key_status;
    int found = 0;
    if (req->sign) {
        uint8_t addr[20];
        TKM_TRY(lookup(e, it.key_label, &found, addr, &st));
        if (found) memcpy(it.key, addr, 20);
    }
    tkm_policy_state ps;
    tkm_store_policy_state(e->store, &ps);
    tkm_eval_input in = {
        .policy = e->policy,
        .intent = &it,
        .key_status = st,
        .approvals = req->approvals,
        .n_approvals = req->n_approvals,
        .instance_id = e->instance,
        .now = observe(e, req->host_now),
        .state = &ps,
    };
    tkm_decision *d = &res->decision;
    TKM_TRY(tkm_policy_evaluate(d, &in));
    res->policy_version = e->policy->version;
    if (d->allow && d->idempotent) {
        static _Thread_local tkm_store_request rq;
        TKM_TRY(tkm_store_request_get(e->store, it.request_id, &found, &rq));
        TKM_ENSURE(found, TKM_ERR_INTERNAL);
        snprintf(d->rule_id, sizeof d->rule_id, "%s", rq.rule_id);
        if (rq.result_len == TKM_SECP_SIG_LEN) {
            memcpy(res->sig, rq.result, TKM_SECP_SIG_LEN);
            res->has_sig = 1;
        }
    } else if (d->allow) {
        if (req->sign) {
            const key_slot *k;
            TKM_TRY(key_slot_get(e, it.key_label, it.key, &k));
            /* hedged nonce (tkm_secp.h): a fault cannot turn two signatures of one digest into the key */
            TKM_TRY(tkm_secp_sign_hedged(res->sig, k->sk, it.payload_hash));
            res->has_sig = 1;
        }
        const char *asset = d->charge ? e->policy->assets[e->policy->rules[d->rule].asset].name : "";
        TKM_TRY(tkm_store_record_allowed(e->store, &it, d, e->policy->version, asset, res->has_sig ? res->sig : NULL,
                                         res->has_sig ? TKM_SECP_SIG_LEN : 0));
    }
    /* the approvals collected for it are spent: the prepared record goes in this same commit */
    if (d->allow && req->drop_pending) TKM_TRY(tkm_store_pending_delete(e->store, it.request_id, NULL));
    return audit_decision(e, &it, d, &res->audit_seq);
}

/* Run jobs in one transaction. Every job gets rc; results only count when OK. */
static void run_batch(tkm_engine *e, job **jobs, size_t n) {
    tkm_rc rc = tkm_store_begin(e->store);
    for (size_t i = 0; tkm_ok(rc) && i < n; i++) rc = decide_one(e, jobs[i]->req, jobs[i]->res);
    if (tkm_ok(rc)) rc = tkm_audit_flush(e->audit);
    if (tkm_ok(rc)) rc = tkm_store_commit(e->store);
    else if (tkm_store_in_txn(e->store)) {
        tkm_audit_discard(e->audit);
        tkm_store_rollback(e->store);
    }
    note_store(e);
    for (size_t i = 0; i < n; i++) {
        jobs[i]->rc = rc;
        if (tkm_failed(rc)) memset(jobs[i]->res, 0, sizeof *jobs[i]->res); /* nothing is released */
    }
}

tkm_rc tkm_engine_sign(tkm_engine *e, const tkm_sign_request *req, tkm_sign_result *res) {
    job me = {req, res, TKM_RC_OK, 0, NULL};
    job *batch[1024];
    pthread_mutex_lock(&e->mu);
    if (e->tail)
        e->tail->next = &me;
    else
        e->head = &me;
    e->tail = &me;
    while (!me.done) {
        if (!e->busy) {
            e->busy = 1;
            size_t n = 0;
            size_t cap = e->max_batch < 1024 ? e->max_batch : 1024;
            while (e->head && n < cap) {
                batch[n++] = e->head;
                e->head = e->head->next;
            }
            if (!e->head) e->tail = NULL;
            pthread_mutex_unlock(&e->mu);
            run_batch(e, batch, n);
            pthread_mutex_lock(&e->mu);
            for (size_t i = 0; i < n; i++) batch[i]->done = 1;
            e->busy = 0;
            pthread_cond_broadcast(&e->cv);
        } else {
            pthread_cond_wait(&e->cv, &e->mu);
        }
    }
    pthread_mutex_unlock(&e->mu);
    return me.rc;
}

tkm_rc tkm_engine_sign_batch(tkm_engine *e, const tkm_sign_request *reqs, tkm_sign_result *res, tkm_rc *rcs, size_t n) {
    TKM_ARG_CHECK(n >= 1 && n <= 1024);
    job js[1024], *jp[1024];
    for (size_t i = 0; i < n; i++) {
        js[i] = (job){&reqs[i], &res[i], TKM_RC_OK, 0, NULL};
        jp[i] = &js[i];
    }
    enter(e);
    run_batch(e, jp, n);
    leave(e);
    for (size_t i = 0; i < n; i++) rcs[i] = js[i].rc;
    return js[0].rc;
}

/* Commit the open transaction with its queued audit records when rc is OK; roll both back otherwise. */
static tkm_rc finish_txn(tkm_engine *e, tkm_rc rc) {
    if (tkm_ok(rc)) rc = tkm_audit_flush(e->audit);
    if (tkm_ok(rc)) {
        rc = tkm_store_commit(e->store);
        note_store(e);
        return rc;
    }
    tkm_audit_discard(e->audit);
    tkm_store_rollback(e->store);
    return rc;
}

/* One audited event in its own commit (inside the exclusive section). */
static tkm_rc audit_alone(tkm_engine *e, tkm_audit_event type, const json_t *body, int64_t host_now, uint64_t *seq) {
    TKM_TRY(tkm_store_begin(e->store));
    int64_t now = observe(e, host_now);
    tkm_rc rc = tkm_audit_add(e->audit, now, type, body, seq);
    if (tkm_ok(rc)) rc = tkm_audit_flush(e->audit);
    if (tkm_ok(rc)) {
        rc = tkm_store_commit(e->store);
        note_store(e);
        return rc;
    }
    tkm_audit_discard(e->audit);
    tkm_store_rollback(e->store);
    return rc;
}

tkm_rc tkm_engine_reject(tkm_engine *e, const char *request_id, const char *key_label, tkm_reason reason,
                         const char *detail, int64_t host_now, uint64_t *audit_seq) {
    enter(e);
    json_t *b = reject_body(e, request_id, key_label, reason, detail);
    tkm_rc rc = b ? audit_alone(e, TKM_AUDIT_SIGN_REJECTED, b, host_now, audit_seq) : TKM_RC(TKM_ERR_NOMEM);
    leave(e);
    json_decref(b);
    return rc;
}

tkm_rc tkm_engine_audit_event(tkm_engine *e, tkm_audit_event type, const json_t *body, int64_t host_now) {
    TKM_ARG_CHECK(type == TKM_AUDIT_ATTESTATION_PRODUCED || type == TKM_AUDIT_ACCESS_DENIED ||
                  type == TKM_AUDIT_HOST_CLOCK);
    enter(e);
    tkm_rc rc = audit_alone(e, type, body, host_now, NULL);
    leave(e);
    return rc;
}

/* ---- open / init ---- */

static tkm_engine *engine_alloc(const tkm_engine_opts *o) {
    tkm_engine *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    e->max_batch = o->max_batch ? o->max_batch : DEFAULT_BATCH;
    e->clock = o->clock;
    e->clock_ctx = o->clock_ctx;
    return e;
}

void tkm_engine_close(tkm_engine *e) {
    if (!e) return;
    for (size_t i = 0; i < e->n_keys; i++) tkm_secret_free(e->keys[i].sk);
    free(e->keys);
    tkm_audit_writer_free(e->audit);
    tkm_store_close(e->store);
    tkm_secret_free(e->audit_key);
    tkm_policy_free(e->policy);
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

static tkm_rc load_active_policy(tkm_engine *e) {
    uint8_t *pj = NULL;
    size_t pn = 0;
    int found = 0;
    TKM_TRY(tkm_store_policy_active(e->store, &pj, &pn, &found));
    if (!found) {
        tkm_err_detail_set("the state has no active policy");
        TKM_ENSURE(0, TKM_ERR_STORE_TAMPER);
    }
    tkm_rc rc = tkm_policy_load(&e->policy, pj, pn);
    free(pj);
    return rc;
}

static tkm_rc prune_expired(tkm_engine *e, int64_t now);

/* state_opened, in the commit that also drops what expired while the service was down. */
static tkm_rc state_opened(tkm_engine *e, int64_t host_now) {
    json_t *b = json_object();
    TKM_ENSURE(b, TKM_ERR_NOMEM);
    int err = 0;
    jset(b, "instanceId", tkm_json_hex_new(e->instance, 32), &err);
    jset(b, "stateVersion", json_integer((json_int_t)tkm_store_version(e->store)), &err);
    jset(b, "policyVersion", json_integer((json_int_t)e->policy->version), &err);
    jset(b, "teekm", json_string(TKM_VERSION), &err);
    tkm_rc rc = err ? TKM_RC(TKM_ERR_NOMEM) : tkm_store_begin(e->store);
    if (tkm_ok(rc)) {
        int64_t now = observe(e, host_now);
        rc = prune_expired(e, now);
        if (tkm_ok(rc)) rc = tkm_audit_add(e->audit, now, TKM_AUDIT_STATE_OPENED, b, NULL);
        rc = finish_txn(e, rc);
    }
    json_decref(b);
    return rc;
}

static json_t *policy_body(const tkm_policy *p, const tkm_policy *prev, const tkm_approval_check *c, size_t n,
                           int unapproved) {
    json_t *b = json_object(), *ap = json_array();
    int err = !b || !ap;
    if (!err) {
        jset(b, "version", json_integer((json_int_t)p->version), &err);
        jset(b, "hash", tkm_json_hex_new(p->hash, 32), &err);
        jset(b, "previousVersion", prev ? json_integer((json_int_t)prev->version) : json_null(), &err);
        jset(b, "previousHash", prev ? tkm_json_hex_new(prev->hash, 32) : json_null(), &err);
        for (size_t i = 0; i < n; i++)
            if (c[i].ok && json_array_append_new(ap, jaddr(c[i].signer)) != 0) err = 1;
        jset(b, "approvers", ap, &err);
        ap = NULL;
        if (unapproved) jset(b, "unapproved", json_true(), &err);
    }
    json_decref(ap);
    if (err) {
        json_decref(b);
        return NULL;
    }
    return b;
}

tkm_rc tkm_engine_init(tkm_engine **out, const tkm_engine_opts *o, const uint8_t *instance_id, const uint8_t *policy_json,
                       size_t policy_len, int64_t now) {
    *out = NULL;
    tkm_rc rc;
    json_t *b = NULL;
    tkm_engine *e = engine_alloc(o);
    if (!e) {
        if (o->counter.close) o->counter.close(o->counter.ctx);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    tkm_policy *p = NULL;
    rc = tkm_policy_load(&p, policy_json, policy_len);
    if (tkm_failed(rc)) {
        if (o->counter.close) o->counter.close(o->counter.ctx);
        goto out;
    }
    tkm_store_opts so = {.dir = o->dir, .seal_key = o->seal_key, .counter = o->counter, .fast_unsafe = o->fast_unsafe};
    TKM_CHECK_GOTO(rc, tkm_store_create(&e->store, &so, instance_id));
    memcpy(e->instance, tkm_store_instance_id(e->store), 32);
    TKM_CHECK_GOTO(rc, tkm_secp_keygen(&e->audit_key));
    TKM_CHECK_GOTO(rc, tkm_secp_pubkey(e->audit_pub, e->audit_key));
    tkm_eth_address(e->audit_addr, e->audit_pub);
    TKM_CHECK_GOTO(rc, tkm_audit_writer_new(&e->audit, e->store, e->audit_key, o->sign_every_record));
    /* the store's first transaction is open: everything below commits as version 1, or not at all */
    int64_t t = tkm_store_observe_time(e->store, now);
    tkm_store_key_info ki = {.label = AUDIT_LABEL, .role = TKM_KEY_ROLE_AUDIT, .created = t};
    memcpy(ki.address, e->audit_addr, 20);
    TKM_CHECK_GOTO(rc, tkm_store_key_put(e->store, &ki, e->audit_key));
    TKM_CHECK_GOTO(rc, tkm_store_policy_put(e->store, p, t));
    b = json_object();
    int err = !b;
    if (!err) {
        jset(b, "instanceId", tkm_json_hex_new(e->instance, 32), &err);
        jset(b, "auditAddress", jaddr(e->audit_addr), &err);
        jset(b, "storeFormat", json_integer(TKM_STORE_FORMAT), &err);
        jset(b, "teekm", json_string(TKM_VERSION), &err);
    }
    if (err) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, tkm_audit_add(e->audit, t, TKM_AUDIT_INIT, b, NULL));
    json_decref(b);
    b = policy_body(p, NULL, NULL, 0, 0);
    if (!b) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, tkm_audit_add(e->audit, t, TKM_AUDIT_POLICY_ACTIVATED, b, NULL));
    TKM_CHECK_GOTO(rc, tkm_audit_flush(e->audit));
    TKM_CHECK_GOTO(rc, tkm_store_commit(e->store));
    e->policy = p;
    p = NULL;
    TKM_CHECK_GOTO(rc, state_opened(e, now));
    *out = e;
    e = NULL;
    rc = TKM_RC_OK;
out:
    if (e && e->store && tkm_store_in_txn(e->store)) {
        if (e->audit) tkm_audit_discard(e->audit);
        tkm_store_rollback(e->store);
    }
    json_decref(b);
    tkm_policy_free(p);
    tkm_engine_close(e);
    return rc;
}

tkm_rc tkm_engine_open(tkm_engine **out, const tkm_engine_opts *o, int64_t now) {
    *out = NULL;
    tkm_rc rc;
    tkm_engine *e = engine_alloc(o);
    if (!e) {
        if (o->counter.close) o->counter.close(o->counter.ctx);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    tkm_store_opts so = {.dir = o->dir, .seal_key = o->seal_key, .counter = o->counter, .fast_unsafe = o->fast_unsafe};
    TKM_CHECK_GOTO(rc, tkm_store_open(&e->store, &so));
    memcpy(e->instance, tkm_store_instance_id(e->store), 32);
    if (o->open_check) TKM_CHECK_GOTO(rc, o->open_check(o->open_check_ctx, e->instance, tkm_store_version(e->store)));
    TKM_CHECK_GOTO(rc, tkm_store_key_unseal(e->store, AUDIT_LABEL, &e->audit_key));
    TKM_CHECK_GOTO(rc, tkm_secp_pubkey(e->audit_pub, e->audit_key));
    tkm_eth_address(e->audit_addr, e->audit_pub);
    TKM_CHECK_GOTO(rc, tkm_audit_writer_new(&e->audit, e->store, e->audit_key, o->sign_every_record));
    TKM_CHECK_GOTO(rc, load_active_policy(e));
    TKM_CHECK_GOTO(rc, state_opened(e, now));
    *out = e;
    e = NULL;
    rc = TKM_RC_OK;
out:
    tkm_engine_close(e);
    return rc;
}

/* ---- admin ---- */

typedef struct {
    const tkm_engine *e;
    const tkm_policy *np;
} pu_ctx;
static void pu_digest(uint8_t out[static 32], void *ctx, uint64_t expires_at) {
    pu_ctx *c = ctx;
    tkm_policy_update_digest(out, c->e->instance, c->np->version, c->np->hash, c->e->policy->version,
                             c->e->policy->hash, expires_at);
}
static tkm_rc used_cb(void *ctx, const uint8_t digest[static 32], const uint8_t signer[static 20], int *used) {
    return tkm_store_approval_used(ctx, digest, signer, used);
}

static tkm_rc mark_used(tkm_engine *e, const tkm_approval_check *c, size_t n, const char *context) {
    for (size_t i = 0; i < n; i++)
        if (c[i].ok) TKM_TRY(tkm_store_approval_use(e->store, c[i].digest, c[i].signer, context));
    return TKM_RC_OK;
}

static tkm_rc proposals_drop_upto(tkm_engine *e, uint64_t version);

tkm_rc tkm_engine_policy_activate(tkm_engine *e, const uint8_t *json, size_t len, const tkm_approval *a, size_t n,
                                  int64_t host_now, int allow_unapproved) {
    TKM_ARG_CHECK(n <= TKM_APPROVALS_MAX && (a || !n));
    tkm_policy *np = NULL;
    TKM_TRY(tkm_policy_load(&np, json, len));
    tkm_approval_check checks[TKM_APPROVALS_MAX];
    memset(checks, 0, sizeof checks);
    json_t *b = NULL;
    tkm_rc rc;
    enter(e);
    host_now = host_time(e, host_now);
    if (np->version <= e->policy->version) {
        tkm_err_detail_set("policy version %llu does not exceed the active version %llu",
                           (unsigned long long)np->version, (unsigned long long)e->policy->version);
        TKM_GOTO(rc, TKM_ERR_POLICY_VERSION);
    }
    int64_t now = tkm_store_max_time(e->store) > host_now ? tkm_store_max_time(e->store) : host_now;
    if (!allow_unapproved) {
        unsigned count;
        pu_ctx pc = {e, np};
        TKM_CHECK_GOTO(rc, tkm_admin_quorum_check(e->policy, a, n, now, pu_digest, &pc, used_cb, e->store, checks, &count));
    }
    b = policy_body(np, e->policy, checks, n, allow_unapproved);
    if (!b) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, tkm_store_begin(e->store));
    now = tkm_store_observe_time(e->store, host_now);
    char ctx[64];
    snprintf(ctx, sizeof ctx, "policy v%llu", (unsigned long long)np->version);
    rc = tkm_store_policy_put(e->store, np, now);
    if (tkm_ok(rc)) rc = proposals_drop_upto(e, np->version);
    if (tkm_ok(rc)) rc = mark_used(e, checks, n, ctx);
    if (tkm_ok(rc)) rc = tkm_audit_add(e->audit, now, TKM_AUDIT_POLICY_ACTIVATED, b, NULL);
    if (tkm_ok(rc)) rc = tkm_audit_flush(e->audit);
    if (tkm_ok(rc)) {
        rc = tkm_store_commit(e->store);
        note_store(e);
    } else {
        tkm_audit_discard(e->audit);
        tkm_store_rollback(e->store);
    }
    if (tkm_ok(rc)) {
        tkm_policy_free(e->policy);
        e->policy = np;
        np = NULL;
    }
out:
    leave(e);
    json_decref(b);
    tkm_policy_free(np);
    return rc;
}

typedef struct {
    const tkm_engine *e;
    const char *request_id, *label;
    tkm_key_event ev;
    const uint8_t *key;
} ke_ctx;
static void ke_digest(uint8_t out[static 32], void *ctx, uint64_t expires_at) {
    ke_ctx *c = ctx;
    tkm_key_event_digest(out, c->e->instance, c->request_id, c->ev, c->label, c->key, c->e->policy->version,
                         expires_at);
}

tkm_rc tkm_engine_key_event(tkm_engine *e, tkm_key_event ev, const char *request_id, const char *label,
                            const tkm_secret *import_key, const tkm_approval *a, size_t n, int64_t host_now,
                            uint8_t addr[20]) {
    memset(addr, 0, 20);
    TKM_ARG_CHECK(n <= TKM_APPROVALS_MAX && (a || !n) && request_id && label);
    TKM_ARG_CHECK((ev == TKM_KEY_EVENT_IMPORT) == (import_key != NULL));
    TKM_ENSURE(tkm_request_id_ok(request_id, strlen(request_id)), TKM_ERR_REQUEST);
    tkm_approval_check checks[TKM_APPROVALS_MAX];
    memset(checks, 0, sizeof checks);
    tkm_secret *newkey = NULL;
    json_t *b = NULL;
    tkm_rc rc;
    enter(e);
    host_now = host_time(e, host_now);
    tkm_store_key_info ki;
    int found = 0;
    TKM_CHECK_GOTO(rc, tkm_store_key_info_get(e->store, label, &found, &ki));
    int creating = ev == TKM_KEY_EVENT_GENERATE || ev == TKM_KEY_EVENT_IMPORT;
    if (strcmp(label, AUDIT_LABEL) == 0 || (found && ki.role != TKM_KEY_ROLE_SIGNER)) {
        tkm_err_detail_set("label %s is reserved", label);
        TKM_GOTO(rc, TKM_ERR_FORBIDDEN);
    }
    if (creating && found) {
        tkm_err_detail_set("a key labelled %s already exists", label);
        TKM_GOTO(rc, TKM_ERR_EXISTS);
    }
    if (!creating && (!found || ki.status != TKM_STORE_KEY_ACTIVE)) {
        tkm_err_detail_set("no active key labelled %s", label);
        TKM_GOTO(rc, TKM_ERR_UNKNOWN_KEY);
    }
    uint8_t pub[65], subject[20] = {0}, old_addr[20] = {0};
    if (!creating) memcpy(old_addr, ki.address, 20);
    if (ev == TKM_KEY_EVENT_IMPORT) {
        TKM_CHECK_GOTO(rc, tkm_secp_seckey_check(import_key));
        TKM_CHECK_GOTO(rc, tkm_secp_pubkey(pub, import_key));
        tkm_eth_address(subject, pub);
    } else if (!creating) {
        memcpy(subject, old_addr, 20);
    }
    int64_t now = tkm_store_max_time(e->store) > host_now ? tkm_store_max_time(e->store) : host_now;
    unsigned count;
    ke_ctx kc = {e, request_id, label, ev, ev == TKM_KEY_EVENT_GENERATE ? NULL : subject};
    TKM_CHECK_GOTO(rc, tkm_admin_quorum_check(e->policy, a, n, now, ke_digest, &kc, used_cb, e->store, checks, &count));
    if (ev == TKM_KEY_EVENT_GENERATE || ev == TKM_KEY_EVENT_ROTATE) TKM_CHECK_GOTO(rc, tkm_secp_keygen(&newkey));
    const tkm_secret *sk = ev == TKM_KEY_EVENT_IMPORT ? import_key : newkey;
    TKM_CHECK_GOTO(rc, tkm_store_begin(e->store));
    now = tkm_store_observe_time(e->store, host_now);
    tkm_store_key_info nk = {.role = TKM_KEY_ROLE_SIGNER, .status = TKM_STORE_KEY_ACTIVE, .created = now};
    snprintf(nk.label, sizeof nk.label, "%s", label);
    if (sk) {
        rc = tkm_secp_pubkey(pub, sk);
        if (tkm_ok(rc)) {
            tkm_eth_address(nk.address, pub);
            rc = tkm_store_key_put(e->store, &nk, sk);
        }
    } else {
        rc = tkm_store_key_set_status(e->store, label, TKM_STORE_KEY_RETIRED);
        memcpy(nk.address, old_addr, 20);
    }
    char ctx[128];
    snprintf(ctx, sizeof ctx, "key %s %s", tkm_key_event_name(ev), request_id);
    if (tkm_ok(rc)) rc = mark_used(e, checks, n, ctx);
    b = json_object();
    json_t *ap = json_array();
    int err = !b || !ap;
    for (size_t i = 0; !err && i < n; i++)
        if (checks[i].ok && json_array_append_new(ap, jaddr(checks[i].signer)) != 0) err = 1;
    if (!err) {
        jset(b, "requestId", json_string(request_id), &err);
        jset(b, "label", json_string(label), &err);
        jset(b, "address", jaddr(nk.address), &err);
        if (ev == TKM_KEY_EVENT_ROTATE) jset(b, "oldAddress", jaddr(old_addr), &err);
        jset(b, "policyVersion", json_integer((json_int_t)e->policy->version), &err);
        jset(b, "approvers", ap, &err);
        ap = NULL;
    }
    json_decref(ap);
    if (tkm_ok(rc) && err) rc = TKM_RC(TKM_ERR_NOMEM);
    static const tkm_audit_event evmap[] = {TKM_AUDIT_KEY_GENERATED, TKM_AUDIT_KEY_IMPORTED, TKM_AUDIT_KEY_ROTATED,
                                            TKM_AUDIT_KEY_RETIRED};
    if (tkm_ok(rc)) rc = tkm_audit_add(e->audit, now, evmap[ev], b, NULL);
    if (tkm_ok(rc)) rc = tkm_audit_flush(e->audit);
    if (tkm_ok(rc)) {
        rc = tkm_store_commit(e->store);
        note_store(e);
    } else {
        tkm_audit_discard(e->audit);
        tkm_store_rollback(e->store);
    }
    if (tkm_ok(rc)) {
        key_cache_drop(e, label);
        memcpy(addr, nk.address, 20);
    }
out:
    leave(e);
    json_decref(b);
    tkm_secret_free(newkey);
    return rc;
}

/* ---- requests prepared for approvals, policy proposals ---- */

/* 0x r ‖ s ‖ v with v = 27/28 (what wallets and ethers.recoverAddress take) */
static json_t *sig_json(const uint8_t sig[65]) {
    uint8_t v[65];
    memcpy(v, sig, 65);
    v[64] = (uint8_t)(27 + (sig[64] & 1));
    return tkm_json_hex_new(v, 65);
}

/* A uint64 as a JSON integer, or as a decimal string above 2^53 - 1 (where many readers lose precision). */
static json_t *ju64(uint64_t v) {
    if (v <= 9007199254740991ULL) return json_integer((json_int_t)v);
    char d[24];
    snprintf(d, sizeof d, "%llu", (unsigned long long)v);
    return json_string(d);
}

/* The names of the active policy's approver groups holding a. */
static json_t *groups_json(const tkm_policy *p, const uint8_t a[20], size_t *n) {
    json_t *g = json_array();
    *n = 0;
    for (size_t i = 0; g && i < p->n_groups; i++)
        if (tkm_policy_set_has(&p->groups[i], a)) {
            if (json_array_append_new(g, json_string(p->groups[i].name)) != 0) {
                json_decref(g);
                return NULL;
            }
            (*n)++;
        }
    return g;
}

static tkm_rc not_expired(const tkm_approval *a, int64_t now) {
    if (now >= 0 && a->expires_at < (uint64_t)now) {
        tkm_err_detail_set("the approval expired at %llu (now %lld)", (unsigned long long)a->expires_at, (long long)now);
        TKM_ENSURE(0, TKM_ERR_EXPIRED);
    }
    return TKM_RC_OK;
}

/* Add a (signer set) to a[0..*n), replacing an earlier one by the same signer. Out: *at. */
static tkm_rc approval_merge(tkm_approval *list, size_t *n, const tkm_approval *a, size_t *at) {
    size_t i = 0;
    while (i < *n && memcmp(list[i].signer, a->signer, 20) != 0) i++;
    if (i == *n && *n >= TKM_APPROVALS_MAX) {
        tkm_err_detail_set("%d approvals collected already", TKM_APPROVALS_MAX);
        TKM_ENSURE(0, TKM_ERR_LIMIT);
    }
    list[i] = *a;
    if (i == *n) (*n)++;
    *at = i;
    return TKM_RC_OK;
}

/* Keep the approvals that have not expired. Returns: 1 when some were dropped. */
static int approvals_keep_unexpired(tkm_approval *a, size_t *n, int64_t now) {
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (now < 0 || a[i].expires_at >= (uint64_t)now) a[k++] = a[i];
    int dropped = k != *n;
    *n = k;
    return dropped;
}

/* A growing list of keys (request ids or policy hashes) collected during a scan. */
typedef struct {
    char (*ids)[TKM_REQUEST_ID_MAX + 1];
    size_t n, cap;
    int nomem;
} id_list;

static void id_push(id_list *l, const void *k, size_t kn) {
    if (l->nomem) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void *ni = realloc(l->ids, cap * sizeof *l->ids);
        if (!ni) {
            l->nomem = 1;
            return;
        }
        l->ids = ni;
        l->cap = cap;
    }
    memset(l->ids[l->n], 0, sizeof l->ids[0]);
    memcpy(l->ids[l->n++], k, kn);
}

typedef struct {
    int64_t now;
    uint64_t active;
    id_list del, trim;
} prune_ctx;

static int prune_pending_fn(void *ctx, const tkm_store_pending *p) {
    prune_ctx *c = ctx;
    if (p->intent.not_after < c->now) {
        id_push(&c->del, p->intent.request_id, strlen(p->intent.request_id));
        return 0;
    }
    for (size_t i = 0; i < p->n_approvals; i++)
        if (p->approvals[i].expires_at < (uint64_t)c->now) {
            id_push(&c->trim, p->intent.request_id, strlen(p->intent.request_id));
            break;
        }
    return 0;
}

static int prune_proposal_fn(void *ctx, const tkm_store_proposal *p) {
    prune_ctx *c = ctx;
    if (p->expires_at < (uint64_t)c->now || p->version <= c->active) {
        id_push(&c->del, p->hash, 32);
        return 0;
    }
    for (size_t i = 0; i < p->n_approvals; i++)
        if (p->approvals[i].expires_at < (uint64_t)c->now) {
            id_push(&c->trim, p->hash, 32);
            break;
        }
    return 0;
}

/*
 * Inside a transaction, at open: delete prepared requests past notAfter and
 * proposals past expiresAt or at/below the active version; drop the expired
 * approvals of the others.
 */
static tkm_rc prune_expired(tkm_engine *e, int64_t now) {
    prune_ctx c;
    tkm_store_pending *p = NULL;
    tkm_store_proposal q;
    memset(&c, 0, sizeof c);
    memset(&q, 0, sizeof q);
    c.now = now < 0 ? 0 : now;
    c.active = e->policy->version;
    tkm_rc rc = tkm_store_pending_scan(e->store, prune_pending_fn, &c);
    if (tkm_ok(rc) && (c.del.nomem || c.trim.nomem)) rc = TKM_RC(TKM_ERR_NOMEM);
    for (size_t i = 0; tkm_ok(rc) && i < c.del.n; i++) rc = tkm_store_pending_delete(e->store, c.del.ids[i], NULL);
    if (tkm_ok(rc) && c.trim.n && !(p = malloc(sizeof *p))) rc = TKM_RC(TKM_ERR_NOMEM);
    for (size_t i = 0; tkm_ok(rc) && i < c.trim.n; i++) {
        int found = 0;
        rc = tkm_store_pending_get(e->store, c.trim.ids[i], &found, p);
        if (tkm_ok(rc) && found && approvals_keep_unexpired(p->approvals, &p->n_approvals, c.now))
            rc = tkm_store_pending_put(e->store, p);
    }
    size_t n_req = c.del.n;
    c.del.n = c.trim.n = 0;
    if (tkm_ok(rc)) rc = tkm_store_proposal_scan(e->store, prune_proposal_fn, &c);
    if (tkm_ok(rc) && (c.del.nomem || c.trim.nomem)) rc = TKM_RC(TKM_ERR_NOMEM);
    for (size_t i = 0; tkm_ok(rc) && i < c.del.n; i++)
        rc = tkm_store_proposal_delete(e->store, (const uint8_t *)c.del.ids[i], NULL);
    for (size_t i = 0; tkm_ok(rc) && i < c.trim.n; i++) {
        int found = 0;
        rc = tkm_store_proposal_get(e->store, (const uint8_t *)c.trim.ids[i], &found, &q);
        if (tkm_ok(rc) && found && approvals_keep_unexpired(q.approvals, &q.n_approvals, c.now))
            rc = tkm_store_proposal_put(e->store, &q);
        free(q.doc);
        q.doc = NULL;
    }
    if (tkm_ok(rc) && (n_req || c.del.n))
        tkm_log(TKM_LOG_INFO, "engine", "dropped %zu expired prepared request(s) and %zu stale proposal(s)", n_req,
                c.del.n);
    free(p);
    free(c.del.ids);
    free(c.trim.ids);
    return rc;
}

static int drop_upto_fn(void *ctx, const tkm_store_proposal *p) {
    prune_ctx *c = ctx;
    if (p->version <= c->active) id_push(&c->del, p->hash, 32);
    return 0;
}

/* Inside the activation's transaction: proposals at or below the new version can never activate. */
static tkm_rc proposals_drop_upto(tkm_engine *e, uint64_t version) {
    prune_ctx c;
    memset(&c, 0, sizeof c);
    c.active = version;
    tkm_rc rc = tkm_store_proposal_scan(e->store, drop_upto_fn, &c);
    if (tkm_ok(rc) && c.del.nomem) rc = TKM_RC(TKM_ERR_NOMEM);
    for (size_t i = 0; tkm_ok(rc) && i < c.del.n; i++)
        rc = tkm_store_proposal_delete(e->store, (const uint8_t *)c.del.ids[i], NULL);
    free(c.del.ids);
    return rc;
}

tkm_rc tkm_engine_pending_create(tkm_engine *e, const tkm_store_pending *p, const char *const *drop, size_t n_drop,
                                 int64_t host_now, tkm_store_pending *out, int *created) {
    *created = 0;
    memset(out, 0, sizeof *out);
    TKM_ARG_CHECK(p && p != out && p->n_approvals == 0 && (drop || !n_drop));
    tkm_store_pending *old = malloc(sizeof *old);
    TKM_ENSURE(old, TKM_ERR_NOMEM);
    json_t *b = NULL, *ij = NULL;
    int found = 0, err = 0;
    tkm_rc rc;
    enter(e);
    TKM_CHECK_GOTO(rc, tkm_intent_to_json(&ij, &p->intent, e->policy));
    b = json_object();
    if (!b) TKM_GOTO(rc, TKM_ERR_NOMEM);
    jset(b, "requestId", json_string(p->intent.request_id), &err);
    jset(b, "key", json_string(p->intent.key_label), &err);
    jset(b, "keyAddress", jaddr(p->intent.key), &err);
    jset(b, "payloadHash", tkm_json_hex_new(p->intent.payload_hash, 32), &err);
    jset(b, "notAfter", json_integer((json_int_t)p->intent.not_after), &err);
    jset(b, "policyVersion", json_integer((json_int_t)e->policy->version), &err);
    jset(b, "intent", ij, &err);
    ij = NULL;
    if (err) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, tkm_store_begin(e->store));
    int64_t now = observe(e, host_now);
    rc = TKM_RC_OK;
    for (size_t i = 0; tkm_ok(rc) && i < n_drop; i++) rc = tkm_store_pending_delete(e->store, drop[i], NULL);
    if (tkm_ok(rc)) rc = tkm_store_pending_get(e->store, p->intent.request_id, &found, old);
    if (tkm_ok(rc) && found) {
        /* prepared already (the caller's view was behind): nothing to write */
        if (memcmp(old->intent.key, p->intent.key, 20) != 0 ||
            memcmp(old->intent.payload_hash, p->intent.payload_hash, 32) != 0) {
            tkm_err_detail_set("requestId %s is already prepared for another payload", p->intent.request_id);
            rc = TKM_RC(TKM_ERR_REPLAY);
        } else {
            *out = *old;
        }
        tkm_audit_discard(e->audit);
        tkm_store_rollback(e->store);
        goto out;
    }
    if (tkm_ok(rc)) rc = tkm_store_pending_put(e->store, p);
    if (tkm_ok(rc)) rc = tkm_audit_add(e->audit, now, TKM_AUDIT_REQUEST_PREPARED, b, NULL);
    rc = finish_txn(e, rc);
    if (tkm_ok(rc)) {
        *out = *p;
        *created = 1;
    }
out:
    leave(e);
    json_decref(b);
    json_decref(ij);
    free(old);
    return rc;
}

/*
 * The approval_received body. subject: "request" (fields of the prepared
 * request in req) or "policy" (fields of the proposal in prop).
 */
static json_t *approval_body(const tkm_engine *e, const tkm_store_pending *req, const tkm_store_proposal *prop,
                             const tkm_approval *a, const uint8_t digest[32], json_t *groups, size_t count) {
    json_t *b = json_object();
    int err = !b;
    if (!err && req) {
        jset(b, "subject", json_string("request"), &err);
        jset(b, "requestId", json_string(req->intent.request_id), &err);
        jset(b, "key", json_string(req->intent.key_label), &err);
        jset(b, "keyAddress", jaddr(req->intent.key), &err);
        jset(b, "payloadHash", tkm_json_hex_new(req->intent.payload_hash, 32), &err);
        jset(b, "notAfter", json_integer((json_int_t)req->intent.not_after), &err);
    } else if (!err) {
        jset(b, "subject", json_string("policy"), &err);
        jset(b, "version", json_integer((json_int_t)prop->version), &err);
        jset(b, "hash", tkm_json_hex_new(prop->hash, 32), &err);
        jset(b, "previousVersion", json_integer((json_int_t)prop->prev_version), &err);
        jset(b, "previousHash", tkm_json_hex_new(prop->prev_hash, 32), &err);
    }
    if (!err) {
        jset(b, "signer", jaddr(a->signer), &err);
        jset(b, "groups", groups, &err);
        groups = NULL;
        jset(b, "expiresAt", ju64(a->expires_at), &err);
        jset(b, "digest", tkm_json_hex_new(digest, 32), &err);
        jset(b, "signature", sig_json(a->sig), &err);
        jset(b, "approvals", json_integer((json_int_t)count), &err);
        jset(b, "policyVersion", json_integer((json_int_t)e->policy->version), &err);
    }
    json_decref(groups);
    if (err) {
        json_decref(b);
        return NULL;
    }
    return b;
}

tkm_rc tkm_engine_pending_approve(tkm_engine *e, const char *request_id, const tkm_approval *a, int64_t host_now,
                                  tkm_approval *stored, size_t *count) {
    memset(stored, 0, sizeof *stored);
    *count = 0;
    TKM_ARG_CHECK(request_id && a);
    tkm_store_pending *p = malloc(sizeof *p);
    TKM_ENSURE(p, TKM_ERR_NOMEM);
    json_t *b = NULL, *g = NULL;
    uint8_t digest[32];
    tkm_approval x = *a;
    size_t at = 0, ng = 0;
    int found = 0;
    tkm_rc rc;
    enter(e);
    host_now = host_time(e, host_now); /* the clock hook once: the checks and the record agree */
    TKM_CHECK_GOTO(rc, tkm_store_pending_get(e->store, request_id, &found, p));
    if (!found) {
        tkm_err_detail_set("no request %s is waiting for approvals (teekm_prepare it first)", request_id);
        TKM_GOTO(rc, TKM_ERR_NOT_FOUND);
    }
    int64_t now = tkm_store_max_time(e->store) > host_now ? tkm_store_max_time(e->store) : host_now;
    TKM_CHECK_GOTO(rc, not_expired(a, now));
    tkm_approval_digest(digest, e->instance, &p->intent, a->expires_at);
    rc = tkm_approval_recover(x.signer, a, digest);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("the signature does not recover over this request's Approval");
        goto out;
    }
    x.has_signer = 1;
    g = groups_json(e->policy, x.signer, &ng);
    if (!g) TKM_GOTO(rc, TKM_ERR_NOMEM);
    if (!ng) {
        char sa[TKM_ETH_ADDR_STR_LEN];
        tkm_eth_address_checksum(sa, x.signer);
        tkm_err_detail_set("%s is not a member of any approver group", sa);
        TKM_GOTO(rc, TKM_ERR_NOT_APPROVER);
    }
    TKM_CHECK_GOTO(rc, approval_merge(p->approvals, &p->n_approvals, &x, &at));
    b = approval_body(e, p, NULL, &x, digest, g, p->n_approvals);
    g = NULL;
    if (!b) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, tkm_store_begin(e->store));
    now = tkm_store_observe_time(e->store, host_now);
    rc = tkm_store_pending_put(e->store, p);
    if (tkm_ok(rc)) rc = tkm_audit_add(e->audit, now, TKM_AUDIT_APPROVAL_RECEIVED, b, NULL);
    rc = finish_txn(e, rc);
    if (tkm_ok(rc)) {
        *stored = x;
        *count = p->n_approvals;
    }
out:
    leave(e);
    json_decref(b);
    json_decref(g);
    free(p);
    return rc;
}

tkm_rc tkm_engine_pending_visit(tkm_engine *e, tkm_store_pending_fn fn, void *ctx) {
    TKM_ARG_CHECK(fn);
    enter(e);
    tkm_rc rc = tkm_store_pending_scan(e->store, fn, ctx);
    leave(e);
    return rc;
}

tkm_rc tkm_engine_proposal_create(tkm_engine *e, const tkm_store_proposal *p, const uint8_t (*drop)[32], size_t n_drop,
                                  int64_t host_now, tkm_store_proposal *out, int *created) {
    *created = 0;
    memset(out, 0, sizeof *out);
    TKM_ARG_CHECK(p && p != out && p->n_approvals == 0 && p->doc && (drop || !n_drop));
    tkm_policy *np = NULL;
    json_t *b = NULL;
    tkm_store_proposal old;
    memset(&old, 0, sizeof old);
    int found = 0, err = 0;
    TKM_TRY(tkm_policy_load(&np, p->doc, p->doc_len));
    tkm_rc rc;
    enter(e);
    if (memcmp(np->hash, p->hash, 32) != 0 || np->version != p->version) {
        tkm_err_detail_set("the proposal's hash or version is not its document's");
        TKM_GOTO(rc, TKM_ERR_POLICY_VERSION);
    }
    if (p->version <= e->policy->version || p->prev_version != e->policy->version ||
        memcmp(p->prev_hash, e->policy->hash, 32) != 0) {
        tkm_err_detail_set("a proposal must follow the active policy (version %llu) with a higher version",
                           (unsigned long long)e->policy->version);
        TKM_GOTO(rc, TKM_ERR_POLICY_VERSION);
    }
    b = json_object();
    if (!b) TKM_GOTO(rc, TKM_ERR_NOMEM);
    jset(b, "version", json_integer((json_int_t)p->version), &err);
    jset(b, "hash", tkm_json_hex_new(p->hash, 32), &err);
    jset(b, "previousVersion", json_integer((json_int_t)p->prev_version), &err);
    jset(b, "previousHash", tkm_json_hex_new(p->prev_hash, 32), &err);
    jset(b, "expiresAt", ju64(p->expires_at), &err);
    if (err) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, tkm_store_begin(e->store));
    int64_t now = observe(e, host_now);
    rc = TKM_RC_OK;
    for (size_t i = 0; tkm_ok(rc) && i < n_drop; i++) rc = tkm_store_proposal_delete(e->store, drop[i], NULL);
    if (tkm_ok(rc)) rc = tkm_store_proposal_get(e->store, p->hash, &found, &old);
    if (tkm_ok(rc) && found) {
        tkm_audit_discard(e->audit);
        tkm_store_rollback(e->store);
        *out = old;
        out->doc = NULL;
        out->doc_len = 0;
        goto out;
    }
    if (tkm_ok(rc)) rc = tkm_store_proposal_put(e->store, p);
    if (tkm_ok(rc)) rc = tkm_audit_add(e->audit, now, TKM_AUDIT_POLICY_PROPOSED, b, NULL);
    rc = finish_txn(e, rc);
    if (tkm_ok(rc)) {
        *out = *p;
        out->doc = NULL;
        out->doc_len = 0;
        *created = 1;
    }
out:
    leave(e);
    free(old.doc);
    json_decref(b);
    tkm_policy_free(np);
    return rc;
}

tkm_rc tkm_engine_proposal_approve(tkm_engine *e, const uint8_t hash[32], const tkm_approval *a, int64_t host_now,
                                   tkm_approval *stored, size_t *count) {
    memset(stored, 0, sizeof *stored);
    *count = 0;
    TKM_ARG_CHECK(hash && a);
    tkm_store_proposal p;
    memset(&p, 0, sizeof p);
    json_t *b = NULL, *g = NULL;
    uint8_t digest[32];
    tkm_approval x = *a;
    size_t at = 0;
    int found = 0;
    tkm_rc rc;
    enter(e);
    host_now = host_time(e, host_now); /* the clock hook once: the checks and the record agree */
    TKM_CHECK_GOTO(rc, tkm_store_proposal_get(e->store, hash, &found, &p));
    if (!found) {
        tkm_err_detail_set("no open proposal with this hash");
        TKM_GOTO(rc, TKM_ERR_NOT_FOUND);
    }
    int64_t now = tkm_store_max_time(e->store) > host_now ? tkm_store_max_time(e->store) : host_now;
    TKM_CHECK_GOTO(rc, not_expired(a, now));
    tkm_policy_update_digest(digest, e->instance, p.version, p.hash, p.prev_version, p.prev_hash, a->expires_at);
    rc = tkm_approval_recover(x.signer, a, digest);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("the signature does not recover over this proposal's PolicyUpdate");
        goto out;
    }
    x.has_signer = 1;
    if (!tkm_policy_is_admin(e->policy, x.signer)) {
        char sa[TKM_ETH_ADDR_STR_LEN];
        tkm_eth_address_checksum(sa, x.signer);
        tkm_err_detail_set("%s is not an admin of the active policy", sa);
        TKM_GOTO(rc, TKM_ERR_NOT_APPROVER);
    }
    TKM_CHECK_GOTO(rc, approval_merge(p.approvals, &p.n_approvals, &x, &at));
    g = json_array();
    if (!g || json_array_append_new(g, json_string("admins")) != 0) TKM_GOTO(rc, TKM_ERR_NOMEM);
    b = approval_body(e, NULL, &p, &x, digest, g, p.n_approvals);
    g = NULL;
    if (!b) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, tkm_store_begin(e->store));
    now = tkm_store_observe_time(e->store, host_now);
    rc = tkm_store_proposal_put(e->store, &p);
    if (tkm_ok(rc)) rc = tkm_audit_add(e->audit, now, TKM_AUDIT_APPROVAL_RECEIVED, b, NULL);
    rc = finish_txn(e, rc);
    if (tkm_ok(rc)) {
        *stored = x;
        *count = p.n_approvals;
    }
out:
    leave(e);
    json_decref(b);
    json_decref(g);
    free(p.doc);
    return rc;
}

tkm_rc tkm_engine_proposal_visit(tkm_engine *e, tkm_store_proposal_fn fn, void *ctx) {
    TKM_ARG_CHECK(fn);
    enter(e);
    tkm_rc rc = tkm_store_proposal_scan(e->store, fn, ctx);
    leave(e);
    return rc;
}

/* ---- accessors ---- */

void tkm_engine_instance_id(const tkm_engine *e, uint8_t out[32]) { memcpy(out, e->instance, 32); }
void tkm_engine_audit_address(const tkm_engine *e, uint8_t out[20]) { memcpy(out, e->audit_addr, 20); }

void tkm_engine_policy_info(tkm_engine *e, uint64_t *version, uint8_t hash[32]) {
    enter(e);
    *version = e->policy->version;
    memcpy(hash, e->policy->hash, 32);
    leave(e);
}

tkm_rc tkm_engine_with_policy(tkm_engine *e, tkm_rc (*fn)(void *ctx, const tkm_policy *p), void *ctx) {
    enter(e);
    tkm_rc rc = fn(ctx, e->policy);
    leave(e);
    return rc;
}

tkm_rc tkm_engine_audit_export(tkm_engine *e, tkm_audit_out_fn fn, void *ctx) {
    enter(e);
    tkm_rc rc = tkm_audit_export(e->store, fn, ctx);
    leave(e);
    return rc;
}

/* ---- initial keys, queries ---- */

#define INITIAL_KEYS_PER_COMMIT 256

tkm_rc tkm_engine_keys_initial(tkm_engine *e, const char *const *labels, size_t n, int64_t host_now,
                               uint8_t (*addrs)[20]) {
    TKM_ARG_CHECK(labels && (addrs || !n));
    tkm_rc rc = TKM_RC_OK;
    json_t *b = NULL;
    tkm_secret *sk = NULL;
    enter(e);
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        tkm_store_key_info ki;
        if (!tkm_key_label_ok(labels[i], strlen(labels[i])) || strcmp(labels[i], AUDIT_LABEL) == 0) {
            tkm_err_detail_set("label %s is reserved or not 1-64 of A-Z a-z 0-9 _ . -", labels[i]);
            TKM_GOTO(rc, TKM_ERR_FORMAT);
        }
        TKM_CHECK_GOTO(rc, tkm_store_key_info_get(e->store, labels[i], &found, &ki));
        for (size_t j = 0; !found && j < i; j++) found = strcmp(labels[i], labels[j]) == 0;
        if (found) {
            tkm_err_detail_set("a key labelled %s already exists", labels[i]);
            TKM_GOTO(rc, TKM_ERR_EXISTS);
        }
    }
    for (size_t i = 0; i < n; i += INITIAL_KEYS_PER_COMMIT) {
        size_t m = n - i < INITIAL_KEYS_PER_COMMIT ? n - i : INITIAL_KEYS_PER_COMMIT;
        TKM_CHECK_GOTO(rc, tkm_store_begin(e->store));
        int64_t now = observe(e, host_now);
        for (size_t j = i; tkm_ok(rc) && j < i + m; j++) {
            uint8_t pub[65];
            tkm_store_key_info ki = {.role = TKM_KEY_ROLE_SIGNER, .status = TKM_STORE_KEY_ACTIVE, .created = now};
            snprintf(ki.label, sizeof ki.label, "%s", labels[j]);
            rc = tkm_secp_keygen(&sk);
            if (tkm_ok(rc)) rc = tkm_secp_pubkey(pub, sk);
            if (tkm_ok(rc)) {
                tkm_eth_address(ki.address, pub);
                rc = tkm_store_key_put(e->store, &ki, sk);
            }
            tkm_secret_free(sk);
            sk = NULL;
            b = tkm_ok(rc) ? json_object() : NULL;
            int err = !b;
            if (!err) {
                jset(b, "requestId", json_string("init"), &err);
                jset(b, "label", json_string(ki.label), &err);
                jset(b, "address", jaddr(ki.address), &err);
                jset(b, "policyVersion", json_integer((json_int_t)e->policy->version), &err);
                jset(b, "approvers", json_array(), &err);
                jset(b, "initial", json_true(), &err);
            }
            if (tkm_ok(rc) && err) rc = TKM_RC(TKM_ERR_NOMEM);
            if (tkm_ok(rc)) rc = tkm_audit_add(e->audit, now, TKM_AUDIT_KEY_GENERATED, b, NULL);
            json_decref(b);
            b = NULL;
            if (tkm_ok(rc)) memcpy(addrs[j], ki.address, 20);
        }
        if (tkm_ok(rc)) rc = tkm_audit_flush(e->audit);
        if (tkm_ok(rc)) {
            rc = tkm_store_commit(e->store);
            note_store(e);
        } else {
            tkm_audit_discard(e->audit);
            tkm_store_rollback(e->store);
        }
        if (tkm_failed(rc)) goto out;
    }
out:
    leave(e);
    return rc;
}

tkm_rc tkm_engine_keys_visit(tkm_engine *e, int with_public, tkm_engine_key_fn fn, void *ctx) {
    TKM_ARG_CHECK(fn);
    tkm_rc rc = TKM_RC_OK;
    tkm_store_key_info *all = NULL;
    size_t n = 0;
    enter(e);
    size_t cap = tkm_store_key_count(e->store);
    all = malloc((cap ? cap : 1) * sizeof *all);
    if (!all) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, tkm_store_key_list(e->store, all, cap, &n));
    for (size_t i = 0; i < n; i++) {
        if (all[i].role != TKM_KEY_ROLE_SIGNER) continue;
        uint8_t pub[65];
        if (with_public) {
            tkm_secret *sk = NULL;
            TKM_CHECK_GOTO(rc, tkm_store_key_unseal(e->store, all[i].label, &sk));
            rc = tkm_secp_pubkey(pub, sk);
            tkm_secret_free(sk);
            if (tkm_failed(rc)) goto out;
        }
        if (fn(ctx, &all[i], with_public ? pub : NULL)) break;
    }
out:
    leave(e);
    free(all);
    return rc;
}

tkm_rc tkm_engine_key_public(tkm_engine *e, const char *label, int *found, tkm_store_key_info *info, uint8_t pub[65]) {
    *found = 0;
    memset(pub, 0, 65);
    tkm_rc rc = TKM_RC_OK;
    enter(e);
    TKM_CHECK_GOTO(rc, tkm_store_key_info_get(e->store, label, found, info));
    if (*found && info->role != TKM_KEY_ROLE_SIGNER) {
        *found = 0;
        memset(info, 0, sizeof *info);
    }
    if (*found) {
        tkm_secret *sk = NULL;
        TKM_CHECK_GOTO(rc, tkm_store_key_unseal(e->store, label, &sk));
        rc = tkm_secp_pubkey(pub, sk);
        tkm_secret_free(sk);
    }
out:
    leave(e);
    return rc;
}

tkm_rc tkm_engine_request_get(tkm_engine *e, const char *request_id, int *found, tkm_store_request *out) {
    *found = 0;
    enter(e);
    tkm_rc rc = TKM_RC_OK;
    if (tkm_store_counter_behind(e->store)) {
        /*
         * The last commit is not yet confirmed by the monotonic counter: its
         * results must not leave by this path either (a host could read a
         * signature here, then restore the state from before it). Catch up
         * first, as the next commit would; fail closed if that fails.
         */
        rc = tkm_store_begin(e->store);
        if (tkm_ok(rc)) tkm_store_rollback(e->store);
        note_store(e);
    }
    if (tkm_ok(rc)) rc = tkm_store_request_get(e->store, request_id, found, out);
    leave(e);
    return rc;
}

tkm_rc tkm_engine_audit_scan(tkm_engine *e, uint64_t from_seq, tkm_store_audit_fn fn, void *ctx) {
    enter(e);
    tkm_rc rc = tkm_store_audit_scan(e->store, from_seq, fn, ctx);
    leave(e);
    return rc;
}

tkm_rc tkm_engine_policy_canonical(tkm_engine *e, uint8_t **json, size_t *len) {
    *json = NULL;
    *len = 0;
    enter(e);
    size_t n = e->policy->canonical_len;
    uint8_t *c = malloc(n ? n : 1);
    if (c) {
        memcpy(c, e->policy->canonical, n);
        *json = c;
        *len = n;
    }
    leave(e);
    TKM_ENSURE(c, TKM_ERR_NOMEM);
    return TKM_RC_OK;
}

void tkm_engine_state_info(tkm_engine *e, uint64_t *state_version, uint64_t *audit_seq) {
    uint8_t h[32];
    enter(e);
    *state_version = tkm_store_version(e->store);
    tkm_store_audit_tail(e->store, audit_seq, h);
    leave(e);
}

tkm_rc tkm_engine_counter_request_sign(const tkm_engine *e, const char *op, uint64_t value,
                                       const uint8_t challenge[static 32], uint8_t sig[static 65]) {
    memset(sig, 0, 65);
    TKM_ARG_CHECK(e && op && (strcmp(op, "read") == 0 || strcmp(op, "advance") == 0));
    TKM_ARG_CHECK(strcmp(op, "advance") == 0 || value == 0);
    uint8_t digest[32];
    tkm_counter_request_digest(digest, e->instance, op, value, challenge);
    /* the audit key is fixed for the engine's life: no lock needed (libsecp256k1 signing is reentrant) */
    TKM_TRY(tkm_secp_sign_checked(sig, e->audit_key, e->audit_pub, digest));
    sig[64] = (uint8_t)(sig[64] + 27);
    return TKM_RC_OK;
}

tkm_rc tkm_engine_health(const tkm_engine *e) {
    if (atomic_load(&((tkm_engine *)e)->failed)) {
        tkm_err_detail_set("a commit or counter write failed: the state is closed until teekmd restarts");
        return TKM_RC(TKM_ERR_STORE_CLOSED);
    }
    if (atomic_load(&((tkm_engine *)e)->counter_behind)) {
        tkm_err_detail_set("the last commit's monotonic counter write failed: nothing is decided until it succeeds "
                           "(retried with the next request)");
        return TKM_RC(TKM_ERR_UNAVAILABLE);
    }
    return TKM_RC_OK;
}

tkm_rc tkm_engine_counter_catch_up(tkm_engine *e) {
    enter(e);
    tkm_rc rc = TKM_RC_OK;
    if (tkm_store_counter_behind(e->store)) {
        rc = tkm_store_begin(e->store); /* retries the counter first; writes nothing */
        if (tkm_ok(rc)) tkm_store_rollback(e->store);
    }
    note_store(e);
    leave(e);
    return rc;
}
