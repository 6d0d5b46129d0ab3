/*
 * Protected state: round trip, sealing, and every kind of tampering the store
 * promises to detect at open (edit, delete, add, older row, older database,
 * missing counter, other seal key, concurrent open).
 */
#include "store_fixture.h"

#include <unistd.h>

static void mk_intent(tkm_intent *it, const char *id, uint64_t nonce, uint8_t tag) {
    memset(it, 0, sizeof *it);
    snprintf(it->request_id, sizeof it->request_id, "%s", id);
    snprintf(it->key_label, sizeof it->key_label, "hot");
    memset(it->key, 0x11, 20);
    it->payload = TKM_PAYLOAD_TX;
    it->tx_type = 2;
    it->has_chain_id = 1;
    it->chain_id = 1;
    it->action = TKM_ACTION_TRANSFER;
    it->has_nonce = 1;
    it->nonce = nonce;
    memset(it->payload_hash, tag, 32);
}

static void mk_decision(tkm_decision *d, int64_t now, uint64_t amount) {
    memset(d, 0, sizeof *d);
    d->allow = 1;
    d->rule = 0;
    snprintf(d->rule_id, sizeof d->rule_id, "r1");
    d->charge = 1;
    d->amount = tkm_u256_from_u64(amount);
    d->now = now;
}

/* Create a store with a key, a policy, two requests and two audit rows. */
static void populate(fx *f) {
    tkm_store *s;
    tkm_store_opts o = opts(f, NULL);
    uint8_t inst[32];
    memset(inst, 0x42, 32);
    TU_ASSERT_OK(tkm_store_create(&s, &o, inst));
    assert_int_equal(tkm_store_version(s), 0);
    TU_ASSERT_OK(tkm_store_commit(s));
    assert_int_equal(tkm_store_version(s), 1);
    TU_ASSERT_OK(tkm_store_begin(s));
    tkm_secret *sk;
    TU_ASSERT_OK(tkm_secp_keygen(&sk));
    tkm_store_key_info ki = {.label = "hot", .role = TKM_KEY_ROLE_SIGNER, .created = 1000};
    uint8_t pub[65];
    TU_ASSERT_OK(tkm_secp_pubkey(pub, sk));
    tkm_eth_address(ki.address, pub);
    TU_ASSERT_OK(tkm_store_key_put(s, &ki, sk));
    tkm_secret_free(sk);
    const char *pol = "{\"teekm_policy\":1,\"version\":1,\"default\":\"deny\",\"max_validity_seconds\":60,"
                      "\"admins\":{\"threshold\":1,\"members\":[\"0x1111111111111111111111111111111111111111\"]},"
                      "\"assets\":{},\"rules\":[]}";
    tkm_policy *p;
    TU_ASSERT_OK(tkm_policy_load(&p, (const uint8_t *)pol, strlen(pol)));
    TU_ASSERT_OK(tkm_store_policy_put(s, p, 1000));
    TU_ASSERT_RC(tkm_store_policy_put(s, p, 1000), TKM_ERR_POLICY_VERSION);
    tkm_policy_free(p);
    uint8_t h[32] = {1};
    TU_ASSERT_OK(tkm_store_audit_append(s, 1, 1, h, (const uint8_t *)"rec1\n", 5));
    TU_ASSERT_OK(tkm_store_commit(s));
    assert_int_equal(tkm_store_version(s), 2);

    TU_ASSERT_OK(tkm_store_begin(s));
    assert_int_equal(tkm_store_observe_time(s, 2000), 2000);
    tkm_intent it;
    tkm_decision d;
    mk_intent(&it, "req-1", 5, 0xa1);
    mk_decision(&d, 2000, 70);
    uint8_t sig[65] = {9, 9, 9};
    TU_ASSERT_OK(tkm_store_record_allowed(s, &it, &d, 1, "ETH", sig, sizeof sig));
    mk_intent(&it, "req-2", 6, 0xa2);
    mk_decision(&d, 2000, 30);
    TU_ASSERT_OK(tkm_store_record_allowed(s, &it, &d, 1, "ETH", sig, sizeof sig));
    h[0] = 2;
    TU_ASSERT_OK(tkm_store_audit_append(s, 2, 2, h, (const uint8_t *)"rec2\nrec3\n", 10));
    TU_ASSERT_OK(tkm_store_commit(s));
    tkm_store_close(s);
}

static int collect(void *ctx, uint64_t seq, const uint8_t *rec, size_t len) {
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 64 - n, "%llu:%.*s", (unsigned long long)seq, (int)len, (const char *)rec);
    return 0;
}

static void test_round_trip(void **state) {
    fx *f = *state;
    populate(f);
    tkm_store *s;
    TU_ASSERT_OK(open_store(f, &s));
    assert_int_equal(tkm_store_version(s), 3);
    assert_int_equal(tkm_store_max_time(s), 2000);
    /* the clock going back does not move time back */
    assert_int_equal(tkm_store_observe_time(s, 1500), 2000);
    tkm_store_request rq;
    int found;
    TU_ASSERT_OK(tkm_store_request_get(s, "req-1", &found, &rq));
    assert_true(found);
    assert_int_equal(rq.result_len, 65);
    assert_int_equal(rq.result[0], 9);
    assert_int_equal(rq.payload_hash[0], 0xa1);
    assert_string_equal(rq.rule_id, "r1");
    TU_ASSERT_OK(tkm_store_request_get(s, "req-3", &found, &rq));
    assert_false(found);
    tkm_u256 spent;
    TU_ASSERT_OK(tkm_store_window_spent(s, "r1", "ETH", 1999, &spent));
    assert_true(tkm_u256_cmp(&spent, &(tkm_u256){{100, 0, 0, 0}}) == 0);
    TU_ASSERT_OK(tkm_store_window_spent(s, "r1", "ETH", 2000, &spent));
    assert_true(tkm_u256_is_zero(&spent));
    TU_ASSERT_OK(tkm_store_window_spent(s, "r1", "USDC", 0, &spent));
    assert_true(tkm_u256_is_zero(&spent));
    /* nonce records through the policy-state adapter */
    tkm_policy_state st;
    tkm_store_policy_state(s, &st);
    uint8_t key[20], ph[32];
    memset(key, 0x11, 20);
    TU_ASSERT_OK(st.nonce_get(st.ctx, key, 1, 5, &found, ph));
    assert_true(found);
    assert_int_equal(ph[0], 0xa1);
    TU_ASSERT_OK(st.nonce_get(st.ctx, key, 1, 7, &found, ph));
    assert_false(found);
    /* keys unseal to the same address */
    tkm_secret *sk;
    TU_ASSERT_OK(tkm_store_key_unseal(s, "hot", &sk));
    uint8_t pub[65], addr[20];
    TU_ASSERT_OK(tkm_secp_pubkey(pub, sk));
    tkm_eth_address(addr, pub);
    tkm_store_key_info ki;
    TU_ASSERT_OK(tkm_store_key_info_get(s, "hot", &found, &ki));
    assert_true(found);
    assert_memory_equal(addr, ki.address, 20);
    tkm_secret_free(sk);
    /* policy and audit */
    uint8_t *pj;
    size_t pn;
    TU_ASSERT_OK(tkm_store_policy_active(s, &pj, &pn, &found));
    assert_true(found);
    assert_non_null(memmem(pj, pn, "\"version\":1", 11));
    free(pj);
    uint64_t seq;
    uint8_t h[32];
    tkm_store_audit_tail(s, &seq, h);
    assert_int_equal(seq, 3);
    assert_int_equal(h[0], 2);
    /* the scan splits commit rows into records and can start in the middle of one */
    char got[64] = "";
    TU_ASSERT_OK(tkm_store_audit_scan(s, 2, collect, got));
    assert_string_equal(got, "2:rec2\n3:rec3\n");
    got[0] = 0;
    TU_ASSERT_OK(tkm_store_audit_scan(s, 1, collect, got));
    assert_string_equal(got, "1:rec1\n2:rec2\n3:rec3\n");
    /* a rolled-back transaction leaves nothing behind, in memory either */
    TU_ASSERT_OK(tkm_store_begin(s));
    assert_int_equal(tkm_store_observe_time(s, 5000), 5000);
    tkm_intent it;
    tkm_decision d;
    mk_intent(&it, "req-9", 9, 0xa9);
    mk_decision(&d, 5000, 1);
    TU_ASSERT_OK(tkm_store_record_allowed(s, &it, &d, 1, "ETH", NULL, 0));
    mk_intent(&it, "req-1", 9, 0xa9);
    TU_ASSERT_RC(tkm_store_record_allowed(s, &it, &d, 1, "ETH", NULL, 0), TKM_ERR_EXISTS);
    tkm_store_rollback(s);
    assert_int_equal(tkm_store_max_time(s), 2000);
    TU_ASSERT_OK(tkm_store_request_get(s, "req-9", &found, &rq));
    assert_false(found);
    TU_ASSERT_OK(tkm_store_window_spent(s, "r1", "ETH", 0, &spent));
    assert_true(tkm_u256_cmp(&spent, &(tkm_u256){{100, 0, 0, 0}}) == 0);
    /* a second payload at a recorded nonce is refused by the store too */
    TU_ASSERT_OK(tkm_store_begin(s));
    mk_intent(&it, "req-10", 5, 0xbb);
    mk_decision(&d, 2000, 1);
    TU_ASSERT_RC(tkm_store_record_allowed(s, &it, &d, 1, "ETH", NULL, 0), TKM_ERR_NONCE_CONFLICT);
    tkm_store_rollback(s);
    tkm_store_close(s);
    /* still opens after the rollbacks */
    TU_ASSERT_OK(open_store(f, &s));
    assert_int_equal(tkm_store_version(s), 3);
    tkm_store_close(s);
}

static void test_edit_detected(void **state) {
    fx *f = *state;
    populate(f);
    /* change one byte of a request row (its payload hash) */
    sql(f, "UPDATE rows SET v = CAST(substr(v,1,30) || x'ff' || substr(v,32) AS BLOB) WHERE t = 3 AND k = CAST('req-1' AS BLOB)");
    expect_open(f, TKM_ERR_STORE_TAMPER, "fails its MAC");
}

static void test_delete_detected(void **state) {
    fx *f = *state;
    populate(f);
    sql(f, "DELETE FROM rows WHERE t = 3 AND k = CAST('req-2' AS BLOB)");
    expect_open(f, TKM_ERR_STORE_TAMPER, "deleted");
}

static void test_audit_truncation_detected(void **state) {
    fx *f = *state;
    populate(f);
    sql(f, "DELETE FROM rows WHERE t = 6 AND k = x'0000000000000002'");
    expect_open(f, TKM_ERR_STORE_TAMPER, NULL);
}

static void test_forged_row_detected(void **state) {
    fx *f = *state;
    populate(f);
    sql(f, "INSERT INTO rows VALUES(3, CAST('req-x' AS BLOB), x'00', zeroblob(32))");
    expect_open(f, TKM_ERR_STORE_TAMPER, "fails its MAC");
}

static void test_head_edit_detected(void **state) {
    fx *f = *state;
    populate(f);
    sql(f, "UPDATE meta SET v = CAST(substr(v,1,11) || x'07' || substr(v,13) AS BLOB) WHERE k = 'head'");
    expect_open(f, TKM_ERR_STORE_TAMPER, "head");
}

static void copy_file(const char *from, const char *to) {
    char cmd[800];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

/* An older copy of one row (a key before its retirement) is valid alone but changes the set hash. */
static void test_older_row_detected(void **state) {
    fx *f = *state;
    populate(f);
    char db[300], old[300];
    snprintf(db, sizeof db, "%s/state.db", f->dir);
    snprintf(old, sizeof old, "%s/old.db", f->dir);
    copy_file(db, old);
    tkm_store *s;
    TU_ASSERT_OK(open_store(f, &s));
    TU_ASSERT_OK(tkm_store_begin(s));
    TU_ASSERT_OK(tkm_store_key_set_status(s, "hot", TKM_STORE_KEY_RETIRED));
    TU_ASSERT_OK(tkm_store_commit(s));
    tkm_store_close(s);
    char q[600];
    snprintf(q, sizeof q,
             "ATTACH '%s' AS old; UPDATE rows SET v = (SELECT v FROM old.rows WHERE t=1 AND k=CAST('hot' AS BLOB)),"
             " mac = (SELECT mac FROM old.rows WHERE t=1 AND k=CAST('hot' AS BLOB)) WHERE t=1 AND k=CAST('hot' AS BLOB);",
             old);
    sql(f, q);
    expect_open(f, TKM_ERR_STORE_TAMPER, "older copy");
}

static void test_restored_database_detected(void **state) {
    fx *f = *state;
    populate(f);
    char db[300], old[300];
    snprintf(db, sizeof db, "%s/state.db", f->dir);
    snprintf(old, sizeof old, "%s/old.db", f->dir);
    copy_file(db, old);
    tkm_store *s;
    TU_ASSERT_OK(open_store(f, &s));
    TU_ASSERT_OK(tkm_store_begin(s));
    tkm_intent it;
    tkm_decision d;
    mk_intent(&it, "req-3", 7, 0xa3);
    mk_decision(&d, 2100, 5);
    TU_ASSERT_OK(tkm_store_record_allowed(s, &it, &d, 1, "ETH", NULL, 0));
    TU_ASSERT_OK(tkm_store_commit(s));
    tkm_store_close(s);
    copy_file(old, db);
    expect_open(f, TKM_ERR_STORE_ROLLBACK, "older copy");
    /* restoring the counter file too is NOT detected by the local counter (documented limit) */
}

static void test_counter_missing_or_foreign(void **state) {
    fx *f = *state;
    populate(f);
    char cp[320];
    snprintf(cp, sizeof cp, "%s.bak", f->counter);
    copy_file(f->counter, cp);
    assert_int_equal(unlink(f->counter), 0);
    expect_open(f, TKM_ERR_STORE_COUNTER, "missing");
    /* a counter file written for another seal key / instance does not count */
    FILE *fp = fopen(f->counter, "wb");
    uint8_t junk[104];
    memset(junk, 0x33, sizeof junk);
    fwrite(junk, 1, sizeof junk, fp);
    fclose(fp);
    expect_open(f, TKM_ERR_STORE_COUNTER, "does not belong");
    copy_file(cp, f->counter);
    tkm_store *s;
    TU_ASSERT_OK(open_store(f, &s));
    tkm_store_close(s);
}

static void test_other_seal_key(void **state) {
    fx *f = *state;
    populate(f);
    uint8_t k[32];
    memset(k, 0x5b, 32);
    tkm_secret *other;
    TU_ASSERT_OK(tkm_secret_from(&other, k, 32));
    tkm_store_opts o = opts(f, other);
    tkm_store *s = NULL;
    tkm_rc rc = tkm_store_open(&s, &o);
    /* the counter MAC key also derives from the seal key: either refusal is right */
    assert_true(rc.code == TKM_ERR_STORE_CLONE || rc.code == TKM_ERR_STORE_COUNTER);
    assert_null(s);
    tkm_secret_free(other);
}

static void test_second_open_busy(void **state) {
    fx *f = *state;
    populate(f);
    tkm_store *s, *s2 = NULL;
    TU_ASSERT_OK(open_store(f, &s));
    TU_ASSERT_RC(open_store(f, &s2), TKM_ERR_STORE_BUSY);
    assert_null(s2);
    tkm_store_close(s);
}

static void test_create_twice(void **state) {
    fx *f = *state;
    populate(f);
    tkm_store *s = NULL;
    tkm_store_opts o = opts(f, NULL);
    TU_ASSERT_RC(tkm_store_create(&s, &o, NULL), TKM_ERR_EXISTS);
    assert_null(s);
    tkm_store *s2;
    TU_ASSERT_OK(open_store(f, &s2));
    tkm_store_close(s2);
}

static void test_not_a_store(void **state) {
    fx *f = *state;
    char db[300];
    snprintf(db, sizeof db, "%s/state.db", f->dir);
    FILE *fp = fopen(db, "wb");
    fputs("this is not a database, just text that is long enough to look like a header.....", fp);
    fclose(fp);
    tkm_store *s = NULL;
    tkm_rc rc = open_store(f, &s);
    assert_true(rc.code == TKM_ERR_STORE_TAMPER || rc.code == TKM_ERR_STORE_FORMAT);
    assert_null(s);
    expect_open(f, rc.code, NULL);
}

/* Killed before the schema committed: an empty file, or an SQLite file with no tables, is "never initialised". */
static void test_interrupted_before_schema(void **state) {
    fx *f = *state;
    char db[300];
    snprintf(db, sizeof db, "%s/state.db", f->dir);
    for (int round = 0; round < 2; round++) {
        if (round == 0) {
            FILE *fp = fopen(db, "wb");
            assert_non_null(fp);
            fclose(fp);
        } else {
            sqlite3 *h = NULL;
            assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
            assert_int_equal(sqlite3_exec(h, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
            sqlite3_close(h);
        }
        expect_open(f, TKM_ERR_NOT_FOUND, "never initialised");
        tkm_store *s;
        tkm_store_opts o = opts(f, NULL);
        TU_ASSERT_OK(tkm_store_create(&s, &o, NULL));
        TU_ASSERT_OK(tkm_store_commit(s));
        tkm_store_close(s);
        TU_ASSERT_OK(open_store(f, &s));
        tkm_store_close(s);
        /* start the next round from nothing again */
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -f '%s'/state.db* '%s'", f->dir, f->counter);
        assert_int_equal(system(cmd), 0);
    }
    /* an SQLite file with tables that are not teekm's is still a foreign format */
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "CREATE TABLE other(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    expect_open(f, TKM_ERR_STORE_FORMAT, NULL);
}

/* The window ledger with many entries, with large amounts, across prune. */
static void test_window_many(void **state) {
    fx *f = *state;
    tkm_store *s;
    tkm_store_opts o = opts(f, NULL);
    TU_ASSERT_OK(tkm_store_create(&s, &o, NULL));
    tkm_intent it;
    tkm_decision d;
    char id[32];
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "w-%d", i);
        mk_intent(&it, id, (uint64_t)i, (uint8_t)i);
        mk_decision(&d, 1000 + i, 1);
        if (i == 150) memset(d.amount.w, 0xff, sizeof d.amount.w); /* 2^256-1 */
        TU_ASSERT_OK(tkm_store_record_allowed(s, &it, &d, 1, "X", NULL, 0));
    }
    TU_ASSERT_OK(tkm_store_commit(s));
    tkm_u256 spent;
    TU_ASSERT_OK(tkm_store_window_spent(s, "r1", "X", 1150, &spent)); /* t > 1150: 149 entries */
    assert_true(tkm_u256_cmp(&spent, &(tkm_u256){{149, 0, 0, 0}}) == 0);
    TU_ASSERT_OK(tkm_store_window_spent(s, "r1", "X", 1149, &spent)); /* includes 2^256-1: saturates */
    assert_int_equal(tkm_u256_bits(&spent), 256);
    assert_true(spent.w[0] == UINT64_MAX && spent.w[3] == UINT64_MAX);
    tkm_store_close(s);
    TU_ASSERT_OK(open_store(f, &s));
    TU_ASSERT_OK(tkm_store_window_spent(s, "r1", "X", 1150, &spent));
    assert_true(tkm_u256_cmp(&spent, &(tkm_u256){{149, 0, 0, 0}}) == 0);
    tkm_store_close(s);
}

/* An initialisation that never committed leaves nothing usable: open says so, create starts over. */
static void test_interrupted_init(void **state) {
    fx *f = *state;
    tkm_store *s;
    tkm_store_opts o = opts(f, NULL);
    TU_ASSERT_OK(tkm_store_create(&s, &o, NULL));
    tkm_store_close(s); /* no commit: as if killed */
    expect_open(f, TKM_ERR_NOT_FOUND, "never initialised");
    o = opts(f, NULL);
    TU_ASSERT_OK(tkm_store_create(&s, &o, NULL));
    TU_ASSERT_OK(tkm_store_commit(s));
    tkm_store_close(s);
    /* killed between the first commit and the first counter write: version 1 opens */
    assert_int_equal(unlink(f->counter), 0);
    TU_ASSERT_OK(open_store(f, &s));
    TU_ASSERT_OK(tkm_store_begin(s));
    TU_ASSERT_OK(tkm_store_commit(s));
    tkm_store_close(s);
    /* later, a missing counter is refused */
    assert_int_equal(unlink(f->counter), 0);
    expect_open(f, TKM_ERR_STORE_COUNTER, "missing");
}

static void test_counter_write_fails(void **state) {
    fx *f = *state;
    populate(f);
    tu_flaky_counter k = {.fail_with = TKM_OK};
    tkm_store_opts o = opts(f, NULL);
    o.counter = tu_flaky_counter_wrap(&k, o.counter);
    tkm_store *s;
    TU_ASSERT_OK(tkm_store_open(&s, &o));
    uint64_t v0 = tkm_store_version(s);
    tkm_intent it;
    tkm_decision d;
    /* the commit lands, its counter write does not: an error (nothing may be released), not closed */
    TU_ASSERT_OK(tkm_store_begin(s));
    mk_intent(&it, "req-3", 7, 0xa3);
    mk_decision(&d, 2100, 5);
    TU_ASSERT_OK(tkm_store_record_allowed(s, &it, &d, 1, "ETH", NULL, 0));
    k.fail_with = TKM_ERR_UNAVAILABLE;
    TU_ASSERT_RC(tkm_store_commit(s), TKM_ERR_UNAVAILABLE);
    assert_int_equal(tkm_store_version(s), v0 + 1);
    assert_true(tkm_store_counter_behind(s));
    assert_false(tkm_store_is_failed(s));
    /* while the counter is away nothing new starts: begin retries it and fails, writing nothing */
    int before = k.advances;
    TU_ASSERT_RC(tkm_store_begin(s), TKM_ERR_UNAVAILABLE);
    assert_int_equal(k.advances, before + 1);
    assert_false(tkm_store_in_txn(s));
    assert_int_equal(tkm_store_version(s), v0 + 1);
    /* back: the next begin catches the counter up, then works */
    k.fail_with = TKM_OK;
    TU_ASSERT_OK(tkm_store_begin(s));
    assert_false(tkm_store_counter_behind(s));
    uint64_t cv;
    int present;
    TU_ASSERT_OK(tkm_counter_file_peek(f->counter, &cv, &present));
    assert_true(present);
    assert_int_equal(cv, v0 + 1);
    mk_intent(&it, "req-4", 8, 0xa4);
    TU_ASSERT_OK(tkm_store_record_allowed(s, &it, &d, 1, "ETH", NULL, 0));
    TU_ASSERT_OK(tkm_store_commit(s));
    TU_ASSERT_OK(tkm_counter_file_peek(f->counter, &cv, &present));
    assert_int_equal(cv, v0 + 2);
    /* a counter that refuses for good (it has seen a newer state) closes the store */
    TU_ASSERT_OK(tkm_store_begin(s));
    mk_intent(&it, "req-5", 9, 0xa5);
    TU_ASSERT_OK(tkm_store_record_allowed(s, &it, &d, 1, "ETH", NULL, 0));
    k.fail_with = TKM_ERR_STORE_ROLLBACK;
    TU_ASSERT_RC(tkm_store_commit(s), TKM_ERR_STORE_ROLLBACK);
    assert_true(tkm_store_is_failed(s));
    k.fail_with = TKM_OK;
    TU_ASSERT_RC(tkm_store_begin(s), TKM_ERR_STORE_CLOSED);
    tkm_store_close(s);
    /* the state opens again (one step ahead of the file counter: nothing of that step was released) */
    TU_ASSERT_OK(open_store(f, &s));
    assert_int_equal(tkm_store_version(s), v0 + 3);
    tkm_store_close(s);
    /* no file: nothing to peek */
    TU_ASSERT_OK(tkm_counter_file_peek("/nonexistent/counter", &cv, &present));
    assert_false(present);
    assert_int_equal(cv, 0);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_truncation_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_row_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_edit_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_older_row_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restored_database_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_missing_or_foreign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_seal_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_open_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_before_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_write_fails, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
