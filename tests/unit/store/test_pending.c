/*
 * Prepared requests and policy proposals in the protected state: the record
 * codecs (round trip, every truncation, single-field corruptions, misuse),
 * rows that survive a reopen, deletions that keep the set hash, rollbacks,
 * and tampering detected like every other row (edited, deleted, an older
 * copy of the row put back, a forged row).
 */
#include "store_fixture.h"

static tkm_store *create_store(fx *f) {
    tkm_store *s;
    tkm_store_opts o = opts(f, NULL);
    uint8_t inst[32];
    memset(inst, 0x24, 32);
    TU_ASSERT_OK(tkm_store_create(&s, &o, inst));
    TU_ASSERT_OK(tkm_store_commit(s));
    return s;
}

/* A record with every intent field set (typed-data and message fields too, so each is covered). */
static void mk_pending(tkm_store_pending *p, const char *id, int n_approvals) {
    memset(p, 0, sizeof *p);
    tkm_intent *it = &p->intent;
    snprintf(it->request_id, sizeof it->request_id, "%s", id);
    snprintf(it->key_label, sizeof it->key_label, "hot.key-1");
    memset(it->key, 0x11, 20);
    it->payload = TKM_PAYLOAD_TX;
    it->tx_type = 2;
    it->has_chain_id = 1;
    it->chain_id = 0x0102030405060708ULL;
    it->action = TKM_ACTION_TRANSFER;
    it->asset_kind = TKM_ASSET_CONTRACT;
    memset(it->asset_contract, 0xa0, 20);
    it->has_to = 1;
    memset(it->to, 0xb0, 20);
    it->has_amount = 1;
    it->amount = (tkm_u256){{1, 2, 3, 4}};
    it->value = (tkm_u256){{5, 0, 0, 0}};
    it->has_selector = 1;
    memcpy(it->selector, "\xa9\x05\x9c\xbb", 4);
    it->has_calldata = 1;
    memset(it->calldata_hash, 0xc0, 32);
    it->has_nonce = 1;
    it->nonce = 42;
    memset(it->payload_hash, 0xd0, 32);
    it->has_td_name = 1;
    snprintf(it->td_name, sizeof it->td_name, "Exchange");
    it->has_td_version = 1;
    snprintf(it->td_version, sizeof it->td_version, "1");
    it->has_td_verifying_contract = 1;
    memset(it->td_verifying_contract, 0xe0, 20);
    snprintf(it->td_primary_type, sizeof it->td_primary_type, "Order");
    it->msg_len = 5;
    it->msg_text = 1;
    it->msg_head_len = 5;
    memcpy(it->msg_head, "hello", 5);
    it->not_after = 1750003600;
    p->created = 1750000000;
    for (int i = 0; i < n_approvals; i++) {
        tkm_approval *a = &p->approvals[i];
        memset(a->sig, 0x40 + i, 64);
        a->sig[64] = (uint8_t)(i & 1);
        a->expires_at = 1750003600 + (uint64_t)i;
        a->has_signer = 1;
        memset(a->signer, 0x70 + i, 20);
    }
    p->n_approvals = (size_t)n_approvals;
}

static uint8_t *enc_pending(const tkm_store_pending *p, size_t *n) {
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_store_pending_encode(&w, p));
    uint8_t *out;
    TU_ASSERT_OK(tkm_wr_take(&w, &out, n));
    return out;
}

static void assert_pending_equal(const tkm_store_pending *a, const tkm_store_pending *b) {
    const tkm_intent *x = &a->intent, *y = &b->intent;
    assert_string_equal(x->request_id, y->request_id);
    assert_string_equal(x->key_label, y->key_label);
    assert_memory_equal(x->key, y->key, 20);
    assert_int_equal(x->payload, y->payload);
    assert_int_equal(x->tx_type, y->tx_type);
    assert_int_equal(x->has_chain_id, y->has_chain_id);
    assert_true(x->chain_id == y->chain_id);
    assert_int_equal(x->action, y->action);
    assert_int_equal(x->asset_kind, y->asset_kind);
    assert_memory_equal(x->asset_contract, y->asset_contract, 20);
    assert_int_equal(x->has_to, y->has_to);
    assert_memory_equal(x->to, y->to, 20);
    assert_int_equal(x->has_amount, y->has_amount);
    assert_true(tkm_u256_cmp(&x->amount, &y->amount) == 0 && tkm_u256_cmp(&x->value, &y->value) == 0);
    assert_int_equal(x->has_selector, y->has_selector);
    assert_memory_equal(x->selector, y->selector, 4);
    assert_int_equal(x->has_calldata, y->has_calldata);
    assert_memory_equal(x->calldata_hash, y->calldata_hash, 32);
    assert_int_equal(x->has_nonce, y->has_nonce);
    assert_true(x->nonce == y->nonce);
    assert_memory_equal(x->payload_hash, y->payload_hash, 32);
    assert_int_equal(x->has_td_name, y->has_td_name);
    assert_int_equal(x->has_td_version, y->has_td_version);
    assert_int_equal(x->has_td_verifying_contract, y->has_td_verifying_contract);
    assert_string_equal(x->td_name, y->td_name);
    assert_string_equal(x->td_version, y->td_version);
    assert_memory_equal(x->td_verifying_contract, y->td_verifying_contract, 20);
    assert_string_equal(x->td_primary_type, y->td_primary_type);
    assert_int_equal(x->msg_len, y->msg_len);
    assert_int_equal(x->msg_text, y->msg_text);
    assert_int_equal(x->msg_head_len, y->msg_head_len);
    assert_memory_equal(x->msg_head, y->msg_head, x->msg_head_len);
    assert_true(x->not_after == y->not_after);
    assert_true(a->created == b->created);
    assert_int_equal(a->n_approvals, b->n_approvals);
    for (size_t i = 0; i < a->n_approvals; i++) {
        assert_memory_equal(a->approvals[i].sig, b->approvals[i].sig, 65);
        assert_true(a->approvals[i].expires_at == b->approvals[i].expires_at);
        assert_int_equal(a->approvals[i].has_signer, b->approvals[i].has_signer);
        assert_memory_equal(a->approvals[i].signer, b->approvals[i].signer, 20);
    }
}

static void test_pending_codec(void **state) {
    (void)state;
    static tkm_store_pending p, q;
    mk_pending(&p, "pay-2025:06.15_0042", 3);
    size_t n;
    uint8_t *b = enc_pending(&p, &n);
    TU_ASSERT_OK(tkm_store_pending_decode(&q, b, n));
    assert_pending_equal(&p, &q);
    /* canonical: what decodes re-encodes to the same bytes */
    size_t n2;
    uint8_t *b2 = enc_pending(&q, &n2);
    assert_int_equal(n, n2);
    assert_memory_equal(b, b2, n);
    free(b2);
    /* every truncation and a trailing byte are refused, and leave the output zeroed */
    for (size_t i = 0; i < n; i++) {
        memset(&q, 0x5a, sizeof q);
        TU_ASSERT_RC(tkm_store_pending_decode(&q, b, i), TKM_ERR_STORE_RECORD);
        assert_int_equal(q.n_approvals, 0);
        assert_int_equal(q.intent.request_id[0], 0);
    }
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, b, n);
    longer[n] = 0;
    TU_ASSERT_RC(tkm_store_pending_decode(&q, longer, n + 1), TKM_ERR_STORE_RECORD);
    free(longer);
    /* single-field corruptions: offsets follow the layout in docs/store.md */
    size_t id_len = strlen(p.intent.request_id), label_len = strlen(p.intent.key_label);
    size_t o_id = 1 + 2, o_label = o_id + id_len + 2, o_key = o_label + label_len;
    size_t o_payload = o_key + 20, o_txtype = o_payload + 1, o_flags = o_txtype + 1, o_action = o_flags + 2 + 8;
    size_t o_count = n - 3 * (65 + 8 + 20) - 1;
    struct {
        size_t off;
        uint8_t val;
        const char *what;
    } bad[] = {
        {0, 2, "record version"},
        {o_id, '/', "request id character"},
        {o_id, 0, "NUL in the request id"},
        {o_label, ' ', "key label character"},
        {o_payload, 0, "payload kind 0"},
        {o_payload, 4, "payload kind 4"},
        {o_txtype, 5, "transaction type 5"},
        {o_flags, 0x04, "unknown flag"},
        {o_action, 7, "action 7"},
        {o_action + 1, 3, "asset kind 3"},
        {o_count, 33, "33 approvals"},
        {o_count, 2, "count below the approvals present (trailing bytes)"},
        {o_count + 1 + 64, 2, "v = 2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *c = malloc(n);
        memcpy(c, b, n);
        c[bad[i].off] = bad[i].val;
        tkm_rc rc = tkm_store_pending_decode(&q, c, n);
        if (rc.code != TKM_ERR_STORE_RECORD) fail_msg("%s: accepted", bad[i].what);
        free(c);
    }
    /* the same signer twice */
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    memcpy(c + o_count + 1 + 73 + 93, c + o_count + 1 + 73, 20);
    TU_ASSERT_RC(tkm_store_pending_decode(&q, c, n), TKM_ERR_STORE_RECORD);
    free(c);
    free(b);
    /* no approvals, typed data and message fields empty */
    mk_pending(&p, "a", 0);
    p.intent.has_td_name = p.intent.has_td_version = p.intent.has_td_verifying_contract = 0;
    p.intent.td_name[0] = p.intent.td_version[0] = p.intent.td_primary_type[0] = 0;
    memset(p.intent.td_verifying_contract, 0, 20);
    p.intent.msg_len = p.intent.msg_head_len = 0;
    p.intent.msg_text = 0;
    b = enc_pending(&p, &n);
    TU_ASSERT_OK(tkm_store_pending_decode(&q, b, n));
    assert_pending_equal(&p, &q);
    free(b);
    /* caller bugs: an approval without its signer, two by one signer, a bad request id */
    tkm_wr w;
    tkm_wr_init(&w, 0);
    mk_pending(&p, "x", 1);
    p.approvals[0].has_signer = 0;
    TU_CHECK_ILLEGAL(tkm_store_pending_encode(&w, &p));
    mk_pending(&p, "x", 2);
    memcpy(p.approvals[1].signer, p.approvals[0].signer, 20);
    tkm_wr_reset(&w);
    TU_CHECK_ILLEGAL(tkm_store_pending_encode(&w, &p));
    mk_pending(&p, "no spaces", 0);
    tkm_wr_reset(&w);
    TU_CHECK_ILLEGAL(tkm_store_pending_encode(&w, &p));
    tkm_wr_free(&w);
    tkm_misuse_set_handler(NULL);
}

static const char DOC[] = "{\"teekm_policy\":1,\"version\":2}";

static void mk_proposal(tkm_store_proposal *p, uint8_t tag, int n_approvals) {
    memset(p, 0, sizeof *p);
    p->version = 2;
    memset(p->hash, tag, 32);
    p->prev_version = 1;
    memset(p->prev_hash, 0x99, 32);
    p->expires_at = 1750600000;
    p->created = 1750000000;
    for (int i = 0; i < n_approvals; i++) {
        memset(p->approvals[i].sig, 0x20 + i, 64);
        p->approvals[i].expires_at = p->expires_at;
        p->approvals[i].has_signer = 1;
        memset(p->approvals[i].signer, 0x50 + i, 20);
    }
    p->n_approvals = (size_t)n_approvals;
    p->doc = (uint8_t *)(uintptr_t)DOC;
    p->doc_len = sizeof DOC - 1;
}

static void test_proposal_codec(void **state) {
    (void)state;
    tkm_store_proposal p, q;
    mk_proposal(&p, 0xab, 2);
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_store_proposal_encode(&w, &p));
    TU_ASSERT_OK(tkm_store_proposal_decode(&q, w.p, w.len));
    assert_true(q.version == 2 && q.prev_version == 1 && q.expires_at == p.expires_at && q.created == p.created);
    assert_memory_equal(q.hash, p.hash, 32);
    assert_memory_equal(q.prev_hash, p.prev_hash, 32);
    assert_int_equal(q.n_approvals, 2);
    assert_memory_equal(q.approvals[1].signer, p.approvals[1].signer, 20);
    assert_int_equal(q.doc_len, p.doc_len);
    assert_memory_equal(q.doc, DOC, p.doc_len);
    assert_true(q.doc >= w.p && q.doc < w.p + w.len); /* borrowed from the input */
    for (size_t i = 0; i < w.len; i++) TU_ASSERT_RC(tkm_store_proposal_decode(&q, w.p, i), TKM_ERR_STORE_RECORD);
    /* a version that does not follow the previous one */
    uint8_t *c = malloc(w.len);
    memcpy(c, w.p, w.len);
    c[8] = 1; /* version = 1 = previous version */
    TU_ASSERT_RC(tkm_store_proposal_decode(&q, c, w.len), TKM_ERR_STORE_RECORD);
    free(c);
    tkm_wr_reset(&w);
    p.doc_len = 0;
    TU_CHECK_ILLEGAL(tkm_store_proposal_encode(&w, &p));
    tkm_misuse_set_handler(NULL);
    tkm_wr_free(&w);
}

typedef struct {
    int n;
    char ids[8][TKM_REQUEST_ID_MAX + 1];
    size_t approvals[8];
} seen;
static int see_pending(void *ctx, const tkm_store_pending *p) {
    seen *s = ctx;
    snprintf(s->ids[s->n], sizeof s->ids[0], "%s", p->intent.request_id);
    s->approvals[s->n++] = p->n_approvals;
    return 0;
}
static int see_proposal(void *ctx, const tkm_store_proposal *p) {
    seen *s = ctx;
    snprintf(s->ids[s->n], sizeof s->ids[0], "%02x:%.*s", p->hash[0], (int)(p->doc_len < 100 ? p->doc_len : 100),
             (const char *)p->doc);
    s->approvals[s->n++] = p->n_approvals;
    return 0;
}

/* Two prepared requests (one with 2 approvals) and a proposal, each in its own commit; returns the version. */
static uint64_t populate(fx *f) {
    tkm_store *s = create_store(f);
    static tkm_store_pending p;
    tkm_store_proposal q;
    TU_ASSERT_OK(tkm_store_begin(s));
    mk_pending(&p, "req-a", 0);
    TU_ASSERT_OK(tkm_store_pending_put(s, &p));
    mk_pending(&p, "req-b", 1);
    TU_ASSERT_OK(tkm_store_pending_put(s, &p));
    TU_ASSERT_OK(tkm_store_commit(s));
    TU_ASSERT_OK(tkm_store_begin(s));
    mk_pending(&p, "req-b", 2); /* one more approval: the row is replaced */
    TU_ASSERT_OK(tkm_store_pending_put(s, &p));
    mk_proposal(&q, 0xab, 1);
    TU_ASSERT_OK(tkm_store_proposal_put(s, &q));
    TU_ASSERT_OK(tkm_store_commit(s));
    uint64_t v = tkm_store_version(s);
    tkm_store_close(s);
    return v;
}

static void test_rows_round_trip(void **state) {
    fx *f = *state;
    uint64_t v = populate(f);
    tkm_store *s;
    TU_ASSERT_OK(open_store(f, &s));
    assert_true(tkm_store_version(s) == v);
    seen sn;
    memset(&sn, 0, sizeof sn);
    TU_ASSERT_OK(tkm_store_pending_scan(s, see_pending, &sn));
    assert_int_equal(sn.n, 2);
    assert_string_equal(sn.ids[0], "req-a");
    assert_string_equal(sn.ids[1], "req-b");
    assert_int_equal(sn.approvals[1], 2);
    static tkm_store_pending p, want;
    int found = 0;
    TU_ASSERT_OK(tkm_store_pending_get(s, "req-b", &found, &p));
    assert_true(found);
    mk_pending(&want, "req-b", 2);
    assert_pending_equal(&want, &p);
    TU_ASSERT_OK(tkm_store_pending_get(s, "req-c", &found, &p));
    assert_false(found);
    tkm_store_proposal q;
    uint8_t h[32];
    memset(h, 0xab, 32);
    TU_ASSERT_OK(tkm_store_proposal_get(s, h, &found, &q));
    assert_true(found && q.n_approvals == 1 && q.doc_len == sizeof DOC - 1);
    assert_memory_equal(q.doc, DOC, q.doc_len);
    free(q.doc);
    memset(&sn, 0, sizeof sn);
    TU_ASSERT_OK(tkm_store_proposal_scan(s, see_proposal, &sn));
    assert_int_equal(sn.n, 1);
    assert_string_equal(sn.ids[0], "ab:{\"teekm_policy\":1,\"version\":2}");
    /* writes and deletions only inside a transaction */
    int deleted = 0;
    TU_ASSERT_RC(tkm_store_pending_delete(s, "req-a", &deleted), TKM_ERR_STATE);
    /* a rolled-back deletion leaves the row (and the head) as they were */
    TU_ASSERT_OK(tkm_store_begin(s));
    TU_ASSERT_OK(tkm_store_pending_delete(s, "req-a", &deleted));
    assert_true(deleted);
    tkm_store_rollback(s);
    TU_ASSERT_OK(tkm_store_pending_get(s, "req-a", &found, &p));
    assert_true(found);
    /* deletions commit; deleting what is not there is not an error */
    TU_ASSERT_OK(tkm_store_begin(s));
    TU_ASSERT_OK(tkm_store_pending_delete(s, "req-a", &deleted));
    assert_true(deleted);
    TU_ASSERT_OK(tkm_store_pending_delete(s, "req-a", &deleted));
    assert_false(deleted);
    TU_ASSERT_OK(tkm_store_proposal_delete(s, h, &deleted));
    assert_true(deleted);
    TU_ASSERT_OK(tkm_store_commit(s));
    tkm_store_close(s);
    /* the reopen verifies the set hash and count after the deletions */
    TU_ASSERT_OK(open_store(f, &s));
    assert_true(tkm_store_version(s) == v + 1);
    memset(&sn, 0, sizeof sn);
    TU_ASSERT_OK(tkm_store_pending_scan(s, see_pending, &sn));
    assert_int_equal(sn.n, 1);
    assert_string_equal(sn.ids[0], "req-b");
    memset(&sn, 0, sizeof sn);
    TU_ASSERT_OK(tkm_store_proposal_scan(s, see_proposal, &sn));
    assert_int_equal(sn.n, 0);
    tkm_store_close(s);
}

static void test_edited_pending_row(void **state) {
    fx *f = *state;
    populate(f);
    /* one byte of the collected approvals (an approval's expiry) */
    sql(f, "UPDATE rows SET v = CAST(substr(v,1,length(v)-30) || x'ff' || substr(v,length(v)-28) AS BLOB) "
           "WHERE t = 7 AND k = CAST('req-b' AS BLOB)");
    expect_open(f, TKM_ERR_STORE_TAMPER, "pending row fails its MAC");
}

static void test_deleted_pending_row(void **state) {
    fx *f = *state;
    populate(f);
    sql(f, "DELETE FROM rows WHERE t = 7 AND k = CAST('req-a' AS BLOB)");
    expect_open(f, TKM_ERR_STORE_TAMPER, "deleted");
}

static void test_edited_proposal_row(void **state) {
    fx *f = *state;
    populate(f);
    sql(f, "UPDATE rows SET v = CAST(substr(v,1,length(v)-2) || x'33' || substr(v,length(v)) AS BLOB) WHERE t = 8");
    expect_open(f, TKM_ERR_STORE_TAMPER, "proposal row fails its MAC");
}

/* Put back the row of req-b as it was with one approval: valid alone, but it changes the set hash. */
static void test_older_pending_row(void **state) {
    fx *f = *state;
    tkm_store *s = create_store(f);
    static tkm_store_pending p;
    TU_ASSERT_OK(tkm_store_begin(s));
    mk_pending(&p, "req-b", 1);
    TU_ASSERT_OK(tkm_store_pending_put(s, &p));
    TU_ASSERT_OK(tkm_store_commit(s));
    tkm_store_close(s);
    char db[300], old[300], cmd[700];
    snprintf(db, sizeof db, "%s/state.db", f->dir);
    snprintf(old, sizeof old, "%s/old.db", f->dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", db, old);
    assert_int_equal(system(cmd), 0);
    TU_ASSERT_OK(open_store(f, &s));
    TU_ASSERT_OK(tkm_store_begin(s));
    mk_pending(&p, "req-b", 2);
    TU_ASSERT_OK(tkm_store_pending_put(s, &p));
    TU_ASSERT_OK(tkm_store_commit(s));
    tkm_store_close(s);
    char q[800];
    snprintf(q, sizeof q,
             "ATTACH '%s' AS old; UPDATE rows SET v = (SELECT v FROM old.rows WHERE t=7), "
             "mac = (SELECT mac FROM old.rows WHERE t=7) WHERE t=7;",
             old);
    sql(f, q);
    expect_open(f, TKM_ERR_STORE_TAMPER, "older copy");
}

/* A deleted row put back (an approval the service had consumed) is caught the same way. */
static void test_deleted_row_restored(void **state) {
    fx *f = *state;
    populate(f);
    char db[300], old[300], cmd[700];
    snprintf(db, sizeof db, "%s/state.db", f->dir);
    snprintf(old, sizeof old, "%s/old.db", f->dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", db, old);
    assert_int_equal(system(cmd), 0);
    tkm_store *s;
    TU_ASSERT_OK(open_store(f, &s));
    TU_ASSERT_OK(tkm_store_begin(s));
    TU_ASSERT_OK(tkm_store_pending_delete(s, "req-b", NULL));
    TU_ASSERT_OK(tkm_store_commit(s));
    tkm_store_close(s);
    char q[800];
    snprintf(q, sizeof q, "ATTACH '%s' AS old; INSERT INTO rows SELECT * FROM old.rows WHERE t=7 AND k=CAST('req-b' AS BLOB);",
             old);
    sql(f, q);
    expect_open(f, TKM_ERR_STORE_TAMPER, "older copy");
}

static void test_forged_pending_row(void **state) {
    fx *f = *state;
    populate(f);
    sql(f, "INSERT INTO rows VALUES(7, CAST('req-x' AS BLOB), x'01', zeroblob(32))");
    expect_open(f, TKM_ERR_STORE_TAMPER, "fails its MAC");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pending_codec),
        cmocka_unit_test(test_proposal_codec),
        cmocka_unit_test_setup_teardown(test_rows_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edited_pending_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_pending_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edited_proposal_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_older_pending_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_row_restored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_pending_row, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
