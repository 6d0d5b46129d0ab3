/*
 * Requests prepared for approvals and policy proposals through the engine:
 * each approval is checked (recovered signer, membership, expiry), committed
 * and audited before the call returns; they survive a reopen; the decision
 * that consumes them deletes them in its own commit; what expired is dropped
 * at open; the audit log names who approved what, with a signature an
 * auditor can recover.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"

#define NOW 1750000000

typedef struct {
    char dir[256];
    tkm_secret *seal;
    tkm_secret *admin[3], *risk[3], *outsider;
    uint8_t admin_addr[3][20], risk_addr[3][20];
    char policy[4096];
} fx;

static tkm_secret *mk_key(uint8_t fill, uint8_t addr[20]) {
    uint8_t k[32], pub[65];
    memset(k, fill, 32);
    tkm_secret *s = NULL;
    TU_ASSERT_OK(tkm_secret_from(&s, k, 32));
    TU_ASSERT_OK(tkm_secp_pubkey(pub, s));
    if (addr) tkm_eth_address(addr, pub);
    return s;
}

static void policy_text(fx *f, char *out, size_t cap, unsigned version, unsigned validity) {
    char a[3][43], r[3][43];
    for (int i = 0; i < 3; i++) {
        tkm_eth_address_checksum(a[i], f->admin_addr[i]);
        tkm_eth_address_checksum(r[i], f->risk_addr[i]);
    }
    snprintf(out, cap,
             "{\"teekm_policy\":1,\"version\":%u,\"default\":\"deny\",\"max_validity_seconds\":%u,"
             "\"admins\":{\"threshold\":2,\"members\":[\"%s\",\"%s\",\"%s\"]},"
             "\"groups\":{\"risk\":[\"%s\",\"%s\",\"%s\"]},"
             "\"address_books\":{\"vaults\":[\"0x00000000000000000000000000000000000000e1\"]},"
             "\"assets\":{\"ETH\":{\"chain_id\":1,\"native\":true,\"decimals\":18}},"
             "\"rules\":[{\"id\":\"large\",\"effect\":\"allow\",\"keys\":[\"hot\"],\"action\":\"transfer\","
             "\"asset\":\"ETH\",\"to\":[\"@vaults\"],\"max_amount\":\"100\","
             "\"approvals\":[{\"group\":\"risk\",\"threshold\":2}]}]}",
             version, validity, a[0], a[1], a[2], r[0], r[1], r[2]);
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tkm-enginepend-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    uint8_t k[32];
    memset(k, 0x78, 32);
    if (tkm_failed(tkm_secret_from(&f->seal, k, 32))) return -1;
    for (int i = 0; i < 3; i++) {
        f->admin[i] = mk_key((uint8_t)(0x20 + i), f->admin_addr[i]);
        f->risk[i] = mk_key((uint8_t)(0x30 + i), f->risk_addr[i]);
    }
    f->outsider = mk_key(0x44, NULL);
    policy_text(f, f->policy, sizeof f->policy, 1, 3600);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) return -1;
    tkm_secret_free(f->seal);
    for (int i = 0; i < 3; i++) {
        tkm_secret_free(f->admin[i]);
        tkm_secret_free(f->risk[i]);
    }
    tkm_secret_free(f->outsider);
    free(f);
    return 0;
}

static tkm_engine_opts opts(fx *f) {
    char cp[300];
    snprintf(cp, sizeof cp, "%s/counter", f->dir);
    tkm_engine_opts o = {.dir = f->dir, .seal_key = f->seal, .fast_unsafe = 1};
    TU_ASSERT_OK(tkm_counter_file_open(&o.counter, cp, f->seal));
    return o;
}

static tkm_engine *reopen(fx *f, tkm_engine *e, int64_t now) {
    tkm_engine_close(e);
    tkm_engine_opts o = opts(f);
    TU_ASSERT_OK(tkm_engine_open(&e, &o, now));
    return e;
}

static void sign_approval(tkm_approval *a, const tkm_secret *sk, const uint8_t digest[32], uint64_t expires) {
    memset(a, 0, sizeof *a);
    TU_ASSERT_OK(tkm_secp_sign(a->sig, sk, digest));
    a->expires_at = expires;
}

/* A 50 ETH transfer from hot to the vault (the rule needs 2 of risk), prepared at NOW. */
static void mk_prepared(tkm_store_pending *p, const char *id, const uint8_t hot[20], int64_t not_after) {
    memset(p, 0, sizeof *p);
    tkm_intent *it = &p->intent;
    snprintf(it->request_id, sizeof it->request_id, "%s", id);
    snprintf(it->key_label, sizeof it->key_label, "hot");
    memcpy(it->key, hot, 20);
    it->payload = TKM_PAYLOAD_TX;
    it->tx_type = 2;
    it->has_chain_id = 1;
    it->chain_id = 1;
    it->action = TKM_ACTION_TRANSFER;
    it->asset_kind = TKM_ASSET_NATIVE;
    it->has_to = 1;
    it->to[19] = 0xe1;
    it->has_amount = 1;
    TU_ASSERT_OK(tkm_u256_from_units(&it->amount, "50", 2, 18));
    it->value = it->amount;
    it->has_nonce = 1;
    it->nonce = (uint64_t)strlen(id);
    tkm_keccak256(it->payload_hash, id, strlen(id)); /* stands in for the signing hash */
    it->not_after = not_after;
    p->created = NOW;
}

typedef struct {
    int n;
    tkm_store_pending last;
} pend_seen;
static int see_pending(void *ctx, const tkm_store_pending *p) {
    pend_seen *s = ctx;
    s->n++;
    s->last = *p;
    return 0;
}

typedef struct {
    tkm_wr w;
} sink;
static int sink_fn(void *ctx, const uint8_t *line, size_t len) {
    sink *s = ctx;
    return tkm_failed(tkm_wr_put(&s->w, line, len));
}

/* The exported log verified; its records of one type parsed (caller json_decref's). */
static json_t *audit_records(tkm_engine *e, tkm_audit_summary *sum, const char *type) {
    sink s;
    tkm_wr_init(&s.w, 0);
    TU_ASSERT_OK(tkm_engine_audit_export(e, sink_fn, &s));
    uint8_t audit[20];
    tkm_engine_audit_address(e, audit);
    tkm_rc vrc = tkm_audit_verify(sum, s.w.p, s.w.len, audit);
    if (tkm_failed(vrc)) fail_msg("verify: %s", tkm_err_detail());
    json_t *out = json_array();
    const char *p = (const char *)s.w.p, *end = p + s.w.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        json_t *r = json_loadb(p, (size_t)(nl - p), 0, NULL);
        assert_non_null(r);
        if (strcmp(json_string_value(json_object_get(r, "type")), type) == 0)
            json_array_append(out, json_object_get(r, "body"));
        json_decref(r);
        p = nl + 1;
    }
    tkm_wr_free(&s.w);
    return out;
}

static const char *jstr(const json_t *o, const char *k) {
    const json_t *v = json_object_get(o, k);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void test_prepared_requests(void **state) {
    fx *f = *state;
    tkm_engine *e;
    tkm_engine_opts o = opts(f);
    TU_ASSERT_OK(tkm_engine_init(&e, &o, NULL, (const uint8_t *)f->policy, strlen(f->policy), NOW));
    const char *labels[] = {"hot"};
    uint8_t hot[1][20], inst[32];
    TU_ASSERT_OK(tkm_engine_keys_initial(e, labels, 1, NOW, hot));
    tkm_engine_instance_id(e, inst);

    static tkm_store_pending p, got, other;
    int created = 0;
    mk_prepared(&p, "pay-1", hot[0], NOW + 600);
    TU_ASSERT_OK(tkm_engine_pending_create(e, &p, NULL, 0, NOW, &got, &created));
    assert_true(created);
    uint64_t v0, seq0, v1, seq1;
    tkm_engine_state_info(e, &v0, &seq0);
    /* the same again: nothing written; another payload under the id: refused */
    TU_ASSERT_OK(tkm_engine_pending_create(e, &p, NULL, 0, NOW, &got, &created));
    assert_false(created);
    assert_string_equal(got.intent.request_id, "pay-1");
    other = p;
    other.intent.payload_hash[0] ^= 1;
    TU_ASSERT_RC(tkm_engine_pending_create(e, &other, NULL, 0, NOW, &got, &created), TKM_ERR_REPLAY);
    tkm_engine_state_info(e, &v1, &seq1);
    assert_true(v1 == v0 && seq1 == seq0);

    /* approvals: recovered over the request's Approval, members only, one per signer, unexpired */
    uint8_t d600[32], d500[32];
    tkm_approval_digest(d600, inst, &p.intent, NOW + 600);
    tkm_approval_digest(d500, inst, &p.intent, NOW + 500);
    tkm_approval a, kept;
    size_t count = 0;
    sign_approval(&a, f->risk[0], d600, NOW + 600);
    TU_ASSERT_OK(tkm_engine_pending_approve(e, "pay-1", &a, NOW, &kept, &count));
    assert_int_equal(count, 1);
    assert_true(kept.has_signer);
    assert_memory_equal(kept.signer, f->risk_addr[0], 20);
    sign_approval(&a, f->risk[0], d500, NOW + 500); /* a newer one by the same signer replaces it */
    TU_ASSERT_OK(tkm_engine_pending_approve(e, "pay-1", &a, NOW, &kept, &count));
    assert_int_equal(count, 1);
    sign_approval(&a, f->outsider, d600, NOW + 600);
    TU_ASSERT_RC(tkm_engine_pending_approve(e, "pay-1", &a, NOW, &kept, &count), TKM_ERR_NOT_APPROVER);
    sign_approval(&a, f->risk[1], d600, NOW + 500); /* signed one expiry, claims another */
    a.has_signer = 1;
    memcpy(a.signer, f->risk_addr[1], 20);
    TU_ASSERT_RC(tkm_engine_pending_approve(e, "pay-1", &a, NOW, &kept, &count), TKM_ERR_VERIFY);
    sign_approval(&a, f->risk[1], d600, NOW + 600);
    TU_ASSERT_RC(tkm_engine_pending_approve(e, "pay-1", &a, NOW + 601, &kept, &count), TKM_ERR_EXPIRED);
    TU_ASSERT_RC(tkm_engine_pending_approve(e, "pay-9", &a, NOW, &kept, &count), TKM_ERR_NOT_FOUND);
    tkm_engine_state_info(e, &v1, &seq1);
    assert_true(v1 == v0 + 2 && seq1 == seq0 + 2); /* two accepted approvals, two commits, two records */

    /* a restart keeps the request and its approval */
    e = reopen(f, e, NOW + 5);
    pend_seen ps;
    memset(&ps, 0, sizeof ps);
    TU_ASSERT_OK(tkm_engine_pending_visit(e, see_pending, &ps));
    assert_int_equal(ps.n, 1);
    assert_string_equal(ps.last.intent.request_id, "pay-1");
    assert_memory_equal(ps.last.intent.payload_hash, p.intent.payload_hash, 32);
    assert_true(ps.last.intent.not_after == NOW + 600);
    assert_int_equal(ps.last.n_approvals, 1);
    assert_true(ps.last.approvals[0].expires_at == NOW + 500);
    assert_memory_equal(ps.last.approvals[0].signer, f->risk_addr[0], 20);

    /* one approval is not enough: denied, the record stays */
    tkm_sign_request r;
    tkm_sign_result res;
    memset(&r, 0, sizeof r);
    r.intent = p.intent;
    r.host_now = NOW + 6;
    r.sign = 1;
    r.drop_pending = 1;
    r.approvals[0] = ps.last.approvals[0];
    r.n_approvals = 1;
    TU_ASSERT_OK(tkm_engine_sign(e, &r, &res));
    assert_false(res.decision.allow);
    assert_int_equal(res.decision.reason, TKM_REASON_APPROVALS_MISSING);
    memset(&ps, 0, sizeof ps);
    TU_ASSERT_OK(tkm_engine_pending_visit(e, see_pending, &ps));
    assert_int_equal(ps.n, 1);
    /* the collected one plus a second: signed, and the record goes in the same commit */
    sign_approval(&r.approvals[1], f->risk[1], d600, NOW + 600);
    r.n_approvals = 2;
    tkm_engine_state_info(e, &v0, &seq0);
    TU_ASSERT_OK(tkm_engine_sign(e, &r, &res));
    assert_true(res.decision.allow && res.has_sig);
    tkm_engine_state_info(e, &v1, &seq1);
    assert_true(v1 == v0 + 1);
    memset(&ps, 0, sizeof ps);
    TU_ASSERT_OK(tkm_engine_pending_visit(e, see_pending, &ps));
    assert_int_equal(ps.n, 0);
    sign_approval(&a, f->risk[2], d600, NOW + 600);
    TU_ASSERT_RC(tkm_engine_pending_approve(e, "pay-1", &a, NOW, &kept, &count), TKM_ERR_NOT_FOUND);

    /* expiry: pay-2 ends at NOW+600; pay-3 lives on with one of its two approvals */
    mk_prepared(&p, "pay-2", hot[0], NOW + 600);
    TU_ASSERT_OK(tkm_engine_pending_create(e, &p, NULL, 0, NOW + 10, &got, &created));
    mk_prepared(&p, "pay-3", hot[0], NOW + 3000);
    TU_ASSERT_OK(tkm_engine_pending_create(e, &p, NULL, 0, NOW + 10, &got, &created));
    tkm_approval_digest(d600, inst, &p.intent, NOW + 700);
    sign_approval(&a, f->risk[0], d600, NOW + 700);
    TU_ASSERT_OK(tkm_engine_pending_approve(e, "pay-3", &a, NOW + 10, &kept, &count));
    tkm_approval_digest(d600, inst, &p.intent, NOW + 2000);
    sign_approval(&a, f->risk[1], d600, NOW + 2000);
    TU_ASSERT_OK(tkm_engine_pending_approve(e, "pay-3", &a, NOW + 10, &kept, &count));
    assert_int_equal(count, 2);
    e = reopen(f, e, NOW + 1000);
    memset(&ps, 0, sizeof ps);
    TU_ASSERT_OK(tkm_engine_pending_visit(e, see_pending, &ps));
    assert_int_equal(ps.n, 1);
    assert_string_equal(ps.last.intent.request_id, "pay-3");
    assert_int_equal(ps.last.n_approvals, 1);
    assert_memory_equal(ps.last.approvals[0].signer, f->risk_addr[1], 20);
    /* the caller's evictions go in the commit of a new record */
    mk_prepared(&p, "pay-4", hot[0], NOW + 3000);
    const char *drop[] = {"pay-3"};
    TU_ASSERT_OK(tkm_engine_pending_create(e, &p, drop, 1, NOW + 1000, &got, &created));
    memset(&ps, 0, sizeof ps);
    TU_ASSERT_OK(tkm_engine_pending_visit(e, see_pending, &ps));
    assert_int_equal(ps.n, 1);
    assert_string_equal(ps.last.intent.request_id, "pay-4");
    e = reopen(f, e, NOW + 1001); /* the state still verifies after every deletion */

    /* the audit log: who approved what, when, with a signature that recovers to the approver */
    tkm_audit_summary sum;
    json_t *recs = audit_records(e, &sum, "approval_received");
    assert_int_equal(sum.by_type[TKM_AUDIT_REQUEST_PREPARED], 4);
    assert_int_equal(sum.by_type[TKM_AUDIT_APPROVAL_RECEIVED], 4);
    assert_int_equal(json_array_size(recs), 4);
    json_t *b0 = json_array_get(recs, 0);
    char want[43];
    tkm_eth_address_checksum(want, f->risk_addr[0]);
    assert_string_equal(jstr(b0, "subject"), "request");
    assert_string_equal(jstr(b0, "requestId"), "pay-1");
    assert_string_equal(jstr(b0, "signer"), want);
    json_t *groups = json_object_get(b0, "groups");
    assert_int_equal(json_array_size(groups), 1);
    assert_string_equal(json_string_value(json_array_get(groups, 0)), "risk");
    assert_int_equal(json_integer_value(json_object_get(b0, "expiresAt")), NOW + 600);
    assert_int_equal(json_integer_value(json_object_get(b0, "approvals")), 1);
    uint8_t dg[32], sig[65], pub[65], who[20];
    tu_hex_exact(dg, 32, jstr(b0, "digest"));
    tu_hex_exact(sig, 65, jstr(b0, "signature"));
    mk_prepared(&p, "pay-1", hot[0], NOW + 600);
    tkm_approval_digest(d600, inst, &p.intent, NOW + 600);
    assert_memory_equal(dg, d600, 32);
    assert_true(sig[64] == 27 || sig[64] == 28);
    sig[64] = (uint8_t)(sig[64] - 27);
    TU_ASSERT_OK(tkm_secp_recover(pub, dg, sig, TKM_SECP_REQUIRE_LOW_S));
    tkm_eth_address(who, pub);
    assert_memory_equal(who, f->risk_addr[0], 20);
    json_decref(recs);
    recs = audit_records(e, &sum, "request_prepared");
    assert_string_equal(jstr(json_array_get(recs, 0), "requestId"), "pay-1");
    assert_non_null(json_object_get(json_array_get(recs, 0), "intent"));
    json_decref(recs);
    tkm_engine_close(e);
}

typedef struct {
    int n;
    tkm_store_proposal rec[4]; /* without their documents */
} prop_seen;
static int see_proposal(void *ctx, const tkm_store_proposal *p) {
    prop_seen *s = ctx;
    if (s->n < 4) {
        s->rec[s->n] = *p;
        s->rec[s->n].doc = NULL;
    }
    s->n++;
    return 0;
}
static const tkm_store_proposal *seen_find(const prop_seen *s, const uint8_t hash[32]) {
    for (int i = 0; i < s->n && i < 4; i++)
        if (memcmp(s->rec[i].hash, hash, 32) == 0) return &s->rec[i];
    return NULL;
}

static void mk_proposal(tkm_store_proposal *q, tkm_policy **np, const char *doc, tkm_engine *e, uint64_t expires) {
    TU_ASSERT_OK(tkm_policy_load(np, (const uint8_t *)doc, strlen(doc)));
    memset(q, 0, sizeof *q);
    q->version = (*np)->version;
    memcpy(q->hash, (*np)->hash, 32);
    tkm_engine_policy_info(e, &q->prev_version, q->prev_hash);
    q->expires_at = expires;
    q->created = NOW;
    q->doc = (uint8_t *)(uintptr_t)(*np)->canonical;
    q->doc_len = (*np)->canonical_len;
}

static void test_proposals(void **state) {
    fx *f = *state;
    tkm_engine *e;
    tkm_engine_opts o = opts(f);
    TU_ASSERT_OK(tkm_engine_init(&e, &o, NULL, (const uint8_t *)f->policy, strlen(f->policy), NOW));
    uint8_t inst[32];
    tkm_engine_instance_id(e, inst);
    char d2[4096], d2b[4096], d3[4096];
    policy_text(f, d2, sizeof d2, 2, 1800);
    policy_text(f, d2b, sizeof d2b, 2, 900); /* a competing version 2 */
    policy_text(f, d3, sizeof d3, 3, 1800);
    tkm_policy *p2, *p2b, *p3;
    tkm_store_proposal q2, q2b, q3, got;
    mk_proposal(&q2, &p2, d2, e, NOW + 7200);
    mk_proposal(&q2b, &p2b, d2b, e, NOW + 7200);
    mk_proposal(&q3, &p3, d3, e, NOW + 100);
    int created = 0;
    TU_ASSERT_OK(tkm_engine_proposal_create(e, &q2, NULL, 0, NOW, &got, &created));
    assert_true(created && got.doc == NULL && got.version == 2);
    TU_ASSERT_OK(tkm_engine_proposal_create(e, &q2, NULL, 0, NOW, &got, &created));
    assert_false(created);
    TU_ASSERT_OK(tkm_engine_proposal_create(e, &q2b, NULL, 0, NOW, &got, &created));
    TU_ASSERT_OK(tkm_engine_proposal_create(e, &q3, NULL, 0, NOW, &got, &created));
    /* a proposal must follow the active policy and carry its own document's hash */
    tkm_store_proposal bad = q3;
    bad.prev_version = 0;
    TU_ASSERT_RC(tkm_engine_proposal_create(e, &bad, NULL, 0, NOW, &got, &created), TKM_ERR_POLICY_VERSION);
    bad = q3;
    bad.hash[0] ^= 1;
    TU_ASSERT_RC(tkm_engine_proposal_create(e, &bad, NULL, 0, NOW, &got, &created), TKM_ERR_POLICY_VERSION);

    /* one admin approves q2; a risk officer is no admin */
    uint8_t d[32];
    tkm_policy_update_digest(d, inst, 2, q2.hash, q2.prev_version, q2.prev_hash, NOW + 7200);
    tkm_approval a, kept, col[2];
    size_t count = 0;
    sign_approval(&a, f->admin[0], d, NOW + 7200);
    TU_ASSERT_OK(tkm_engine_proposal_approve(e, q2.hash, &a, NOW, &kept, &count));
    assert_int_equal(count, 1);
    assert_memory_equal(kept.signer, f->admin_addr[0], 20);
    sign_approval(&a, f->risk[0], d, NOW + 7200);
    TU_ASSERT_RC(tkm_engine_proposal_approve(e, q2.hash, &a, NOW, &kept, &count), TKM_ERR_NOT_APPROVER);

    /* restart: all three proposals, q2 with its approval */
    e = reopen(f, e, NOW + 10);
    static prop_seen ps;
    memset(&ps, 0, sizeof ps);
    TU_ASSERT_OK(tkm_engine_proposal_visit(e, see_proposal, &ps));
    assert_int_equal(ps.n, 3);
    const tkm_store_proposal *r2 = seen_find(&ps, q2.hash);
    assert_non_null(r2);
    assert_non_null(seen_find(&ps, q2b.hash));
    assert_non_null(seen_find(&ps, q3.hash));
    assert_int_equal(r2->n_approvals, 1);
    assert_memory_equal(r2->approvals[0].signer, f->admin_addr[0], 20);
    assert_true(r2->expires_at == NOW + 7200 && r2->prev_version == 1);
    /* the collected approval alone is no quorum; with a second one the policy activates, and q2 and the
       competing q2b are deleted in that commit */
    col[0] = r2->approvals[0];
    sign_approval(&col[1], f->admin[1], d, NOW + 7200);
    TU_ASSERT_RC(tkm_engine_policy_activate(e, (const uint8_t *)d2, strlen(d2), col, 1, NOW + 10, 0), TKM_ERR_QUORUM);
    TU_ASSERT_OK(tkm_engine_policy_activate(e, (const uint8_t *)d2, strlen(d2), col, 2, NOW + 10, 0));
    memset(&ps, 0, sizeof ps);
    TU_ASSERT_OK(tkm_engine_proposal_visit(e, see_proposal, &ps));
    assert_int_equal(ps.n, 1); /* q3 only (version 3 is still above the active 2) */
    assert_non_null(seen_find(&ps, q3.hash));
    /* q3 expires: dropped at the next open */
    e = reopen(f, e, NOW + 200);
    memset(&ps, 0, sizeof ps);
    TU_ASSERT_OK(tkm_engine_proposal_visit(e, see_proposal, &ps));
    assert_int_equal(ps.n, 0);

    tkm_audit_summary sum;
    json_t *recs = audit_records(e, &sum, "approval_received");
    assert_int_equal(sum.by_type[TKM_AUDIT_POLICY_PROPOSED], 3);
    assert_int_equal(json_array_size(recs), 1);
    json_t *b0 = json_array_get(recs, 0);
    char want[43];
    tkm_eth_address_checksum(want, f->admin_addr[0]);
    assert_string_equal(jstr(b0, "subject"), "policy");
    assert_string_equal(jstr(b0, "signer"), want);
    assert_int_equal(json_integer_value(json_object_get(b0, "version")), 2);
    const char *hh = jstr(b0, "hash");
    assert_true(hh[0] == '0' && hh[1] == 'x');
    assert_string_equal(hh + 2, tu_tohex(q2.hash, 32));
    json_decref(recs);
    tkm_policy_free(p2);
    tkm_policy_free(p2b);
    tkm_policy_free(p3);
    tkm_engine_close(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prepared_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proposals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
