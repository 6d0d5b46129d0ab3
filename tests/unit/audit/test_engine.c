/*
 * The decision pipeline: init, admin quorum for key events and policy
 * changes, signing with idempotency, group commit under threads, reopen, and
 * an exported audit log that verifies and agrees with the decisions.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"

#define NOW 1750000000

typedef struct {
    char dir[256];
    tkm_secret *seal;
    tkm_secret *admin[3];
    uint8_t admin_addr[3][20];
    char policy[4096];
} fx;

static void addr_hex(char out[43], const uint8_t a[20]) { tkm_eth_address_checksum(out, a); }

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tkm-engine-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    uint8_t k[32];
    memset(k, 0x77, 32);
    if (tkm_failed(tkm_secret_from(&f->seal, k, 32))) return -1;
    char a[3][43];
    for (int i = 0; i < 3; i++) {
        memset(k, 0x10 + i, 32);
        if (tkm_failed(tkm_secret_from(&f->admin[i], k, 32))) return -1;
        uint8_t pub[65];
        if (tkm_failed(tkm_secp_pubkey(pub, f->admin[i]))) return -1;
        tkm_eth_address(f->admin_addr[i], pub);
        addr_hex(a[i], f->admin_addr[i]);
    }
    snprintf(f->policy, sizeof f->policy,
             "{\"teekm_policy\":1,\"version\":1,\"default\":\"deny\",\"max_validity_seconds\":3600,"
             "\"admins\":{\"threshold\":2,\"members\":[\"%s\",\"%s\",\"%s\"]},"
             "\"address_books\":{\"ex\":[\"0x00000000000000000000000000000000000000e1\"]},"
             "\"assets\":{\"ETH\":{\"chain_id\":1,\"native\":true,\"decimals\":18}},"
             "\"rules\":[{\"id\":\"small\",\"effect\":\"allow\",\"keys\":[\"hot\"],\"action\":\"transfer\","
             "\"asset\":\"ETH\",\"to\":[\"@ex\"],\"max_amount\":\"10\","
             "\"window_limit\":{\"amount\":\"100\",\"seconds\":3600}}]}",
             a[0], a[1], a[2]);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) return -1;
    tkm_secret_free(f->seal);
    for (int i = 0; i < 3; i++) tkm_secret_free(f->admin[i]);
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

static void approve(tkm_approval *a, const tkm_secret *sk, const uint8_t digest[32], uint64_t expires) {
    memset(a, 0, sizeof *a);
    TU_ASSERT_OK(tkm_secp_sign(a->sig, sk, digest));
    a->expires_at = expires;
}

static void key_event(fx *f, tkm_engine *e, tkm_key_event ev, const char *rid, const char *label,
                      const uint8_t *subject, int n_admins, tkm_err want, uint8_t out[20]) {
    uint8_t inst[32], d[32];
    uint64_t ver;
    uint8_t ph[32];
    tkm_engine_instance_id(e, inst);
    tkm_engine_policy_info(e, &ver, ph);
    tkm_key_event_digest(d, inst, rid, ev, label, subject, ver, NOW + 600);
    tkm_approval a[3];
    for (int i = 0; i < n_admins; i++) approve(&a[i], f->admin[i], d, NOW + 600);
    uint8_t addr[20];
    tkm_rc krc = tkm_engine_key_event(e, ev, rid, label, NULL, a, (size_t)n_admins, NOW, addr);
    if (krc.code != want) fail_msg("key event: want %s got %s (%s)", tkm_err_name(want), tkm_err_name(krc.code), tkm_err_detail());
    if (out) memcpy(out, addr, 20);
}

static void mk_req(tkm_sign_request *r, const char *id, uint64_t nonce, const char *eth, const uint8_t to_last) {
    memset(r, 0, sizeof *r);
    tkm_intent *it = &r->intent;
    snprintf(it->request_id, sizeof it->request_id, "%s", id);
    snprintf(it->key_label, sizeof it->key_label, "hot");
    it->payload = TKM_PAYLOAD_TX;
    it->tx_type = 2;
    it->has_chain_id = 1;
    it->chain_id = 1;
    it->action = TKM_ACTION_TRANSFER;
    it->asset_kind = TKM_ASSET_NATIVE;
    it->has_to = 1;
    it->to[19] = to_last;
    it->has_amount = 1;
    TU_ASSERT_OK(tkm_u256_from_units(&it->amount, eth, strlen(eth), 18));
    it->value = it->amount;
    it->has_nonce = 1;
    it->nonce = nonce;
    tkm_keccak256(it->payload_hash, id, strlen(id)); /* stands in for the signing hash */
    it->not_after = NOW + 600;
    r->host_now = NOW;
    r->sign = 1;
}

typedef struct {
    tkm_wr w;
} sink;
static int sink_fn(void *ctx, const uint8_t *line, size_t len) {
    sink *s = ctx;
    return tkm_failed(tkm_wr_put(&s->w, line, len));
}

static void test_pipeline(void **state) {
    fx *f = *state;
    tkm_engine *e;
    tkm_engine_opts o = opts(f);
    TU_ASSERT_OK(tkm_engine_init(&e, &o, NULL, (const uint8_t *)f->policy, strlen(f->policy), NOW));
    uint8_t hot[20];
    /* one admin is not a quorum; two are */
    key_event(f, e, TKM_KEY_EVENT_GENERATE, "k-1", "hot", NULL, 1, TKM_ERR_QUORUM, NULL);
    key_event(f, e, TKM_KEY_EVENT_GENERATE, "k-1", "hot", NULL, 2, TKM_OK, hot);
    /* the same approvals cannot be used twice (and the label exists anyway) */
    key_event(f, e, TKM_KEY_EVENT_GENERATE, "k-1", "hot", NULL, 2, TKM_ERR_EXISTS, NULL);
    key_event(f, e, TKM_KEY_EVENT_GENERATE, "k-2", "audit", NULL, 2, TKM_ERR_FORBIDDEN, NULL);

    tkm_sign_request r;
    tkm_sign_result res, res2;
    mk_req(&r, "r-1", 1, "5", 0xe1);
    TU_ASSERT_OK(tkm_engine_sign(e, &r, &res));
    assert_true(res.decision.allow);
    assert_true(res.has_sig);
    uint8_t pub[65], a[20];
    TU_ASSERT_OK(tkm_secp_recover(pub, r.intent.payload_hash, res.sig, TKM_SECP_REQUIRE_LOW_S));
    tkm_eth_address(a, pub);
    assert_memory_equal(a, hot, 20);
    /* idempotent: same signature, not charged twice */
    TU_ASSERT_OK(tkm_engine_sign(e, &r, &res2));
    assert_true(res2.decision.allow && res2.decision.idempotent && res2.has_sig);
    assert_memory_equal(res.sig, res2.sig, 65);
    /* rejected: over max */
    mk_req(&r, "r-2", 2, "11", 0xe1);
    TU_ASSERT_OK(tkm_engine_sign(e, &r, &res));
    assert_false(res.decision.allow);
    assert_int_equal(res.decision.reason, TKM_REASON_AMOUNT_OVER_MAX);
    assert_false(res.has_sig);
    /* unknown key */
    mk_req(&r, "r-3", 3, "1", 0xe1);
    snprintf(r.intent.key_label, sizeof r.intent.key_label, "cold");
    TU_ASSERT_OK(tkm_engine_sign(e, &r, &res));
    assert_int_equal(res.decision.reason, TKM_REASON_UNKNOWN_KEY);
    /* a batch in one commit: the second sees the first's nonce */
    tkm_sign_request rs[3];
    tkm_sign_result rr[3];
    tkm_rc rcs[3];
    mk_req(&rs[0], "b-1", 10, "1", 0xe1);
    mk_req(&rs[1], "b-2", 10, "1", 0xe1);
    mk_req(&rs[2], "b-1", 10, "1", 0xe1);
    TU_ASSERT_OK(tkm_engine_sign_batch(e, rs, rr, rcs, 3));
    assert_true(rr[0].decision.allow);
    assert_int_equal(rr[1].decision.reason, TKM_REASON_NONCE_CONFLICT);
    assert_true(rr[2].decision.allow && rr[2].decision.idempotent);
    assert_memory_equal(rr[0].sig, rr[2].sig, 65);
    tkm_engine_close(e);

    /* reopen: idempotency survives; retire; rotate */
    o = opts(f);
    TU_ASSERT_OK(tkm_engine_open(&e, &o, NOW + 10));
    mk_req(&r, "r-1", 1, "5", 0xe1);
    TU_ASSERT_OK(tkm_engine_sign(e, &r, &res2));
    assert_true(res2.decision.idempotent);
    assert_memory_equal(res.sig == res.sig ? rr[0].sig : NULL, rr[0].sig, 65);
    uint8_t hot2[20];
    key_event(f, e, TKM_KEY_EVENT_ROTATE, "k-3", "hot", hot, 2, TKM_OK, hot2);
    assert_memory_not_equal(hot, hot2, 20);
    mk_req(&r, "r-4", 1, "1", 0xe1);
    TU_ASSERT_OK(tkm_engine_sign(e, &r, &res));
    assert_true(res.decision.allow);
    TU_ASSERT_OK(tkm_secp_recover(pub, r.intent.payload_hash, res.sig, TKM_SECP_REQUIRE_LOW_S));
    tkm_eth_address(a, pub);
    assert_memory_equal(a, hot2, 20);
    /* approvals over the wrong subject do not count */
    key_event(f, e, TKM_KEY_EVENT_RETIRE, "k-4", "hot", hot, 2, TKM_ERR_QUORUM, NULL);
    key_event(f, e, TKM_KEY_EVENT_RETIRE, "k-4", "hot", hot2, 2, TKM_OK, NULL);
    mk_req(&r, "r-5", 2, "1", 0xe1);
    TU_ASSERT_OK(tkm_engine_sign(e, &r, &res));
    assert_int_equal(res.decision.reason, TKM_REASON_UNKNOWN_KEY);

    /* policy change needs the quorum over PolicyUpdate and a higher version */
    char np[4200];
    snprintf(np, sizeof np, "%s", f->policy);
    char *v = strstr(np, "\"version\":1");
    v[10] = '2';
    tkm_policy *p2;
    TU_ASSERT_OK(tkm_policy_load(&p2, (const uint8_t *)np, strlen(np)));
    uint8_t inst[32], d[32], curh[32];
    uint64_t curv;
    tkm_engine_instance_id(e, inst);
    tkm_engine_policy_info(e, &curv, curh);
    tkm_policy_update_digest(d, inst, 2, p2->hash, curv, curh, NOW + 100);
    tkm_approval ap[2];
    approve(&ap[0], f->admin[0], d, NOW + 100);
    approve(&ap[1], f->admin[2], d, NOW + 100);
    TU_ASSERT_RC(tkm_engine_policy_activate(e, (const uint8_t *)np, strlen(np), ap, 1, NOW, 0), TKM_ERR_QUORUM);
    TU_ASSERT_OK(tkm_engine_policy_activate(e, (const uint8_t *)np, strlen(np), ap, 2, NOW, 0));
    TU_ASSERT_RC(tkm_engine_policy_activate(e, (const uint8_t *)np, strlen(np), ap, 2, NOW, 0), TKM_ERR_POLICY_VERSION);
    tkm_engine_policy_info(e, &curv, curh);
    assert_int_equal(curv, 2);
    assert_memory_equal(curh, p2->hash, 32);
    tkm_policy_free(p2);

    /* the exported log verifies and names every decision */
    sink s;
    tkm_wr_init(&s.w, 0);
    TU_ASSERT_OK(tkm_engine_audit_export(e, sink_fn, &s));
    uint8_t audit[20];
    tkm_engine_audit_address(e, audit);
    tkm_audit_summary sum;
    tkm_rc vrc = tkm_audit_verify(&sum, s.w.p, s.w.len, audit);
    if (tkm_failed(vrc)) fail_msg("verify: %s", tkm_err_detail());
    assert_int_equal(sum.by_type[TKM_AUDIT_INIT], 1);
    assert_int_equal(sum.by_type[TKM_AUDIT_STATE_OPENED], 2);
    assert_int_equal(sum.by_type[TKM_AUDIT_KEY_GENERATED], 1);
    assert_int_equal(sum.by_type[TKM_AUDIT_KEY_ROTATED], 1);
    assert_int_equal(sum.by_type[TKM_AUDIT_KEY_RETIRED], 1);
    assert_int_equal(sum.by_type[TKM_AUDIT_POLICY_ACTIVATED], 2);
    assert_int_equal(sum.by_type[TKM_AUDIT_SIGN_ALLOWED], 6);  /* r-1, r-1 again, b-1, b-1 again, r-1 after reopen, r-4 */
    assert_int_equal(sum.by_type[TKM_AUDIT_SIGN_REJECTED], 4); /* r-2, r-3, b-2, r-5 */
    /* another audit address does not verify */
    uint8_t other[20] = {1};
    TU_ASSERT_RC(tkm_audit_verify(&sum, s.w.p, s.w.len, other), TKM_ERR_AUDIT_CHAIN);
    assert_int_equal(sum.bad_record, 1);
    tkm_wr_free(&s.w);
    tkm_engine_close(e);
}

/* ---- threads: group commit keeps the window exact ---- */

typedef struct {
    tkm_engine *e;
    int tid;
    int allowed;
    int errors;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    for (int i = 0; i < 40; i++) {
        tkm_sign_request r;
        tkm_sign_result res;
        char id[32];
        snprintf(id, sizeof id, "t%d-%d", w->tid, i);
        mk_req(&r, id, (uint64_t)(w->tid * 1000 + i), "1", 0xe1);
        if (tkm_failed(tkm_engine_sign(w->e, &r, &res)))
            w->errors++;
        else if (res.decision.allow)
            w->allowed++;
    }
    return NULL;
}

/* A decision whose counter write failed is not released by the status path either, until the counter catches up. */
static void test_unconfirmed_result_not_read(void **state) {
    fx *f = *state;
    tkm_engine *e;
    tu_flaky_counter k = {.fail_with = TKM_OK};
    tkm_engine_opts o = opts(f);
    o.counter = tu_flaky_counter_wrap(&k, o.counter);
    TU_ASSERT_OK(tkm_engine_init(&e, &o, NULL, (const uint8_t *)f->policy, strlen(f->policy), NOW));
    key_event(f, e, TKM_KEY_EVENT_GENERATE, "k-1", "hot", NULL, 2, TKM_OK, NULL);
    tkm_sign_request rq;
    tkm_sign_result res;
    mk_req(&rq, "u-1", 1, "1", 0xe1);
    k.fail_with = TKM_ERR_UNAVAILABLE;
    TU_ASSERT_RC(tkm_engine_sign(e, &rq, &res), TKM_ERR_UNAVAILABLE); /* committed, not confirmed */
    int found = 1;
    tkm_store_request sr;
    TU_ASSERT_RC(tkm_engine_request_get(e, "u-1", &found, &sr), TKM_ERR_UNAVAILABLE);
    assert_int_equal(found, 0);
    k.fail_with = TKM_OK; /* back: the read catches the counter up first, then the recorded signature may leave */
    TU_ASSERT_OK(tkm_engine_request_get(e, "u-1", &found, &sr));
    assert_int_equal(found, 1);
    assert_int_equal(sr.result_len, 65);
    TU_ASSERT_OK(tkm_engine_health(e));
    tkm_engine_close(e);
}

/* A clock hook that never lets time pass NOW + 60 (what a trusted-time bound does to a host clock run ahead). */
static int64_t capped_clock(void *ctx, int64_t host_now, const tkm_policy *policy) {
    (void)ctx;
    (void)policy;
    return host_now < NOW + 60 ? host_now : NOW + 60;
}

/* The time of the last audit record (every engine operation audits what it did, with its evaluation time). */
static int64_t last_audit_time(tkm_engine *e) {
    sink s;
    tkm_wr_init(&s.w, 0);
    TU_ASSERT_OK(tkm_engine_audit_export(e, sink_fn, &s));
    size_t end = s.w.len - 1, start = end; /* lines end with '\n' */
    while (start > 0 && s.w.p[start - 1] != '\n') start--;
    json_t *rec = json_loadb((const char *)s.w.p + start, end - start, 0, NULL);
    assert_non_null(rec);
    int64_t t = (int64_t)json_integer_value(json_object_get(rec, "time"));
    json_decref(rec);
    tkm_wr_free(&s.w);
    return t;
}

/* Admin operations take their time through the clock hook too: a host clock run ahead cannot move the state's time. */
static void test_admin_time_through_clock(void **state) {
    fx *f = *state;
    tkm_engine *e;
    tkm_engine_opts o = opts(f);
    TU_ASSERT_OK(tkm_engine_init(&e, &o, NULL, (const uint8_t *)f->policy, strlen(f->policy), NOW));
    tkm_engine_close(e);
    o = opts(f);
    o.clock = capped_clock;
    TU_ASSERT_OK(tkm_engine_open(&e, &o, NOW));
    const int64_t ahead = NOW + 10 * 86400;
    uint8_t inst[32], d[32], ph[32], addr[20];
    uint64_t ver;
    tkm_engine_instance_id(e, inst);
    tkm_engine_policy_info(e, &ver, ph);
    tkm_key_event_digest(d, inst, "k-1", TKM_KEY_EVENT_GENERATE, "hot", NULL, ver, NOW + 600);
    tkm_approval a[2];
    approve(&a[0], f->admin[0], d, NOW + 600);
    approve(&a[1], f->admin[1], d, NOW + 600);
    TU_ASSERT_OK(tkm_engine_key_event(e, TKM_KEY_EVENT_GENERATE, "k-1", "hot", NULL, a, 2, ahead, addr));
    assert_int_equal(last_audit_time(e), NOW + 60);
    /* and the next decision is not evaluated at the host's future time either */
    tkm_sign_request rq;
    tkm_sign_result res;
    mk_req(&rq, "t-1", 1, "1", 0xe1);
    rq.host_now = ahead;
    TU_ASSERT_OK(tkm_engine_sign(e, &rq, &res));
    assert_true(res.decision.allow);
    assert_int_equal(last_audit_time(e), NOW + 60);
    tkm_engine_close(e);
}

static void test_threads(void **state) {
    fx *f = *state;
    tkm_engine *e;
    tkm_engine_opts o = opts(f);
    o.max_batch = 16;
    TU_ASSERT_OK(tkm_engine_init(&e, &o, NULL, (const uint8_t *)f->policy, strlen(f->policy), NOW));
    key_event(f, e, TKM_KEY_EVENT_GENERATE, "k-1", "hot", NULL, 2, TKM_OK, NULL);
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){e, i, 0, 0};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    int allowed = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].errors, 0);
        allowed += w[i].allowed;
    }
    /* 160 requests of 1 ETH against a 100 ETH window: exactly 100 pass */
    assert_int_equal(allowed, 100);
    sink s;
    tkm_wr_init(&s.w, 0);
    TU_ASSERT_OK(tkm_engine_audit_export(e, sink_fn, &s));
    uint8_t audit[20];
    tkm_engine_audit_address(e, audit);
    tkm_audit_summary sum;
    TU_ASSERT_OK(tkm_audit_verify(&sum, s.w.p, s.w.len, audit));
    assert_int_equal(sum.by_type[TKM_AUDIT_SIGN_ALLOWED], 100);
    assert_int_equal(sum.by_type[TKM_AUDIT_SIGN_REJECTED], 60);
    /* group commit signs fewer records than it writes */
    assert_true(sum.signed_records < sum.records);
    tkm_wr_free(&s.w);
    tkm_engine_close(e);
}

/* Import a known key, audit an attestation, and a host clock that goes back. */
static void test_import_clock_attestation(void **state) {
    fx *f = *state;
    tkm_engine *e;
    tkm_engine_opts o = opts(f);
    TU_ASSERT_OK(tkm_engine_init(&e, &o, NULL, (const uint8_t *)f->policy, strlen(f->policy), NOW));
    /* import: the admins approve the address of the key being imported */
    uint8_t k[32], pub[65], addr[20], got[20], inst[32], d[32], ph[32];
    memset(k, 0x3c, 32);
    tkm_secret *sk;
    TU_ASSERT_OK(tkm_secret_from(&sk, k, 32));
    TU_ASSERT_OK(tkm_secp_pubkey(pub, sk));
    tkm_eth_address(addr, pub);
    uint64_t ver;
    tkm_engine_instance_id(e, inst);
    tkm_engine_policy_info(e, &ver, ph);
    tkm_key_event_digest(d, inst, "imp-1", TKM_KEY_EVENT_IMPORT, "hot", addr, ver, NOW + 60);
    tkm_approval a[2];
    approve(&a[0], f->admin[0], d, NOW + 60);
    approve(&a[1], f->admin[1], d, NOW + 60);
    TU_ASSERT_OK(tkm_engine_key_event(e, TKM_KEY_EVENT_IMPORT, "imp-1", "hot", sk, a, 2, NOW, got));
    assert_memory_equal(got, addr, 20);
    tkm_secret_free(sk);
    /* signs with the imported key */
    tkm_sign_request r;
    tkm_sign_result res;
    mk_req(&r, "c-1", 1, "10", 0xe1);
    TU_ASSERT_OK(tkm_engine_sign(e, &r, &res));
    assert_true(res.decision.allow);
    uint8_t rec[65];
    TU_ASSERT_OK(tkm_secp_recover(rec, r.intent.payload_hash, res.sig, TKM_SECP_REQUIRE_LOW_S));
    tkm_eth_address(got, rec);
    assert_memory_equal(got, addr, 20);
    /* 100 ETH per hour: fill the window at NOW, then the host clock jumps back a day */
    for (int i = 2; i <= 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "c-%d", i);
        mk_req(&r, id, (uint64_t)i, "10", 0xe1);
        TU_ASSERT_OK(tkm_engine_sign(e, &r, &res));
        assert_true(res.decision.allow);
    }
    mk_req(&r, "c-11", 11, "1", 0xe1);
    r.host_now = NOW - 86400;
    r.intent.not_after = NOW - 86400 + 60;
    TU_ASSERT_OK(tkm_engine_sign(e, &r, &res));
    /* effective time stayed at NOW: the request is expired relative to it, and the window is still full */
    assert_int_equal(res.decision.reason, TKM_REASON_OUTSIDE_VALIDITY);
    mk_req(&r, "c-12", 12, "1", 0xe1);
    r.host_now = NOW - 86400;
    TU_ASSERT_OK(tkm_engine_sign(e, &r, &res));
    assert_int_equal(res.decision.reason, TKM_REASON_WINDOW_LIMIT_EXCEEDED);
    assert_int_equal(res.decision.now, NOW);
    /* one hour later the window reopens */
    mk_req(&r, "c-13", 13, "1", 0xe1);
    r.host_now = NOW + 3600;
    r.intent.not_after = NOW + 3600 + 60;
    TU_ASSERT_OK(tkm_engine_sign(e, &r, &res));
    assert_true(res.decision.allow);
    /* attestation_produced is the only event others may add */
    json_t *b = json_pack("{s:s}", "reportData", "0x00");
    TU_ASSERT_OK(tkm_engine_audit_event(e, TKM_AUDIT_ATTESTATION_PRODUCED, b, NOW + 3600));
    TU_CHECK_ILLEGAL(tkm_engine_audit_event(e, TKM_AUDIT_SIGN_ALLOWED, b, NOW + 3600));
    tkm_misuse_set_handler(NULL);
    json_decref(b);
    sink s;
    tkm_wr_init(&s.w, 0);
    TU_ASSERT_OK(tkm_engine_audit_export(e, sink_fn, &s));
    uint8_t audit[20];
    tkm_engine_audit_address(e, audit);
    tkm_audit_summary sum;
    TU_ASSERT_OK(tkm_audit_verify(&sum, s.w.p, s.w.len, audit));
    assert_int_equal(sum.by_type[TKM_AUDIT_KEY_IMPORTED], 1);
    assert_int_equal(sum.by_type[TKM_AUDIT_ATTESTATION_PRODUCED], 1);
    assert_int_equal(sum.last_time, NOW + 3600);
    tkm_wr_free(&s.w);
    tkm_engine_close(e);
}

/* What teekmd adds: initial keys, rejections and access denials in a batch, queries, the open check. */
typedef struct {
    size_t n;
    int pub_ok;
} visit_ctx;
static int visit_fn(void *ctx, const tkm_store_key_info *info, const uint8_t *pub) {
    visit_ctx *v = ctx;
    uint8_t a[20];
    tkm_eth_address(a, pub);
    if (memcmp(a, info->address, 20) != 0) v->pub_ok = 0;
    v->n++;
    return 0;
}
typedef struct {
    uint64_t first, n;
} scan_ctx;
static int scan_fn(void *ctx, uint64_t seq, const uint8_t *rec, size_t len) {
    scan_ctx *c = ctx;
    (void)rec;
    (void)len;
    if (!c->n) c->first = seq;
    c->n++;
    return c->n >= 3;
}
static tkm_rc refuse_check(void *ctx, const uint8_t inst[32], uint64_t version) {
    uint64_t *seen = ctx;
    (void)inst;
    *seen = version;
    tkm_err_detail_set("test refuses");
    return TKM_RC(TKM_ERR_STORE_ROLLBACK);
}

static void test_service_entry_points(void **state) {
    fx *f = *state;
    tkm_engine *e;
    tkm_engine_opts o = opts(f);
    TU_ASSERT_OK(tkm_engine_init(&e, &o, NULL, (const uint8_t *)f->policy, strlen(f->policy), NOW));
    const char *labels[] = {"hot", "cold", "k3"};
    uint8_t addrs[3][20];
    TU_ASSERT_OK(tkm_engine_keys_initial(e, labels, 3, NOW, addrs));
    const char *dup[] = {"cold"};
    TU_ASSERT_RC(tkm_engine_keys_initial(e, dup, 1, NOW, addrs), TKM_ERR_EXISTS);
    const char *reserved[] = {"audit"};
    TU_ASSERT_RC(tkm_engine_keys_initial(e, reserved, 1, NOW, addrs), TKM_ERR_FORMAT);
    visit_ctx v = {0, 1};
    TU_ASSERT_OK(tkm_engine_keys_visit(e, 1, visit_fn, &v));
    assert_int_equal(v.n, 3); /* the audit key is not listed */
    assert_true(v.pub_ok);
    int found;
    tkm_store_key_info ki;
    uint8_t pub[65], a[20];
    TU_ASSERT_OK(tkm_engine_key_public(e, "cold", &found, &ki, pub));
    assert_true(found);
    tkm_eth_address(a, pub);
    assert_memory_equal(a, addrs[1], 20);
    TU_ASSERT_OK(tkm_engine_key_public(e, "audit", &found, &ki, pub));
    assert_false(found);
    /* a batch: a signing request, a rejection before evaluation, an access denial */
    tkm_sign_request r[3];
    tkm_sign_result res[3];
    tkm_rc rcs[3];
    mk_req(&r[0], "s-1", 1, "1", 0xe1);
    memset(&r[1], 0, sizeof r[1]);
    r[1].kind = TKM_JOB_REJECT;
    snprintf(r[1].intent.request_id, sizeof r[1].intent.request_id, "bad-1");
    r[1].reject_reason = TKM_REASON_UNSUPPORTED_PAYLOAD;
    snprintf(r[1].reject_detail, sizeof r[1].reject_detail, "no intent");
    r[1].host_now = NOW;
    json_t *denied = json_pack("{s:i,s:s}", "status", 401, "code", "NO_CLIENT_CERT");
    memset(&r[2], 0, sizeof r[2]);
    r[2].kind = TKM_JOB_AUDIT;
    r[2].audit_type = TKM_AUDIT_ACCESS_DENIED;
    r[2].audit_body = denied;
    r[2].host_now = NOW;
    TU_ASSERT_OK(tkm_engine_sign_batch(e, r, res, rcs, 3));
    for (int i = 0; i < 3; i++) TU_ASSERT_OK(rcs[i]);
    assert_true(res[0].decision.allow && res[0].has_sig);
    assert_false(res[1].decision.allow);
    assert_int_equal(res[1].decision.reason, TKM_REASON_UNSUPPORTED_PAYLOAD);
    assert_int_equal(res[1].audit_seq, res[0].audit_seq + 1);
    assert_int_equal(res[2].audit_seq, res[0].audit_seq + 2);
    json_decref(denied);
    tkm_store_request rq;
    TU_ASSERT_OK(tkm_engine_request_get(e, "s-1", &found, &rq));
    assert_true(found);
    assert_memory_equal(rq.result, res[0].sig, 65);
    TU_ASSERT_OK(tkm_engine_request_get(e, "bad-1", &found, &rq));
    assert_false(found);
    uint64_t ver, seq, state_ver;
    tkm_engine_state_info(e, &state_ver, &seq);
    assert_int_equal(seq, res[2].audit_seq);
    /* paging from the middle of the log */
    scan_ctx sc = {0, 0};
    TU_ASSERT_OK(tkm_engine_audit_scan(e, seq - 2, scan_fn, &sc));
    assert_int_equal(sc.first, seq - 2);
    assert_int_equal(sc.n, 3);
    TU_ASSERT_OK(tkm_engine_health(e));
    uint8_t *pj;
    size_t pl;
    TU_ASSERT_OK(tkm_engine_policy_canonical(e, &pj, &pl));
    tkm_policy *p;
    TU_ASSERT_OK(tkm_policy_load(&p, pj, pl));
    uint8_t ph[32];
    tkm_engine_policy_info(e, &ver, ph);
    assert_memory_equal(p->hash, ph, 32);
    tkm_policy_free(p);
    free(pj);
    sink s;
    tkm_wr_init(&s.w, 0);
    TU_ASSERT_OK(tkm_engine_audit_export(e, sink_fn, &s));
    uint8_t audit[20];
    tkm_engine_audit_address(e, audit);
    tkm_audit_summary sum;
    TU_ASSERT_OK(tkm_audit_verify(&sum, s.w.p, s.w.len, audit));
    assert_int_equal(sum.by_type[TKM_AUDIT_KEY_GENERATED], 3);
    assert_int_equal(sum.by_type[TKM_AUDIT_ACCESS_DENIED], 1);
    assert_int_equal(sum.by_type[TKM_AUDIT_SIGN_REJECTED], 1);
    assert_non_null(strstr((const char *)s.w.p, "\"initial\":true"));
    tkm_wr_free(&s.w);
    tkm_engine_close(e);
    /* the open check sees the stored version before anything is written, and can refuse */
    uint64_t seen = 0;
    o = opts(f);
    o.open_check = refuse_check;
    o.open_check_ctx = &seen;
    TU_ASSERT_RC(tkm_engine_open(&e, &o, NOW), TKM_ERR_STORE_ROLLBACK);
    assert_int_equal(seen, state_ver);
    o = opts(f);
    TU_ASSERT_OK(tkm_engine_open(&e, &o, NOW));
    tkm_engine_state_info(e, &ver, &seq);
    assert_int_equal(ver, state_ver + 1); /* state_opened */
    tkm_engine_close(e);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 0);
    tkm_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pipeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unconfirmed_result_not_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_time_through_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_clock_attestation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_entry_points, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
