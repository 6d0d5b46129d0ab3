/* Registry: append-only history with change detection, latest/current, state keys, counters. */
#include "testutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "verifier/tkm_registry.h"

static char dir[256], dbpath[300];

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tkm_registry_XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(dbpath, sizeof dbpath, "%s/registry.db", dir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void make_reg(tkm_registration *r, uint8_t id_byte, uint8_t key_byte) {
    tkm_registration_init(r);
    memset(r->instance_id, id_byte, 32);
    r->appraised_at = 1000;
    r->platform = TKM_PLATFORM_TDX;
    r->measurement_len = 48;
    memset(r->measurement, 0xAB, 48);
    r->tcb_status = TKM_TCB_UP_TO_DATE;
    r->n_advisories = 1;
    snprintf(r->advisory_ids[0], TKM_ADVISORY_ID_LEN, "INTEL-SA-00615");
    r->tls_spki_len = 91;
    memset(r->tls_spki, 0x30, 91);
    memset(r->audit_address, 0xAD, 20);
    memset(r->policy_hash, 0x50, 32);
    r->policy_version = 3;
    r->state_version = 7;
    memset(r->appraisal_policy_hash, 0x77, 32);
    snprintf(r->institution, sizeof r->institution, "Example Bank");
    memset(r->report_data, 0x64, 64);
    memset(r->evidence_sha256, 0xEE, 32);
    uint8_t pub[65], addr[20];
    memset(pub, key_byte, 65);
    pub[0] = 4;
    memset(addr, key_byte, 20);
    TU_ASSERT_OK(tkm_registration_add_key(r, TKM_REG_KEY_SECP256K1, pub, 65, addr));
    uint8_t bls[48];
    memset(bls, 0x99, 48);
    TU_ASSERT_OK(tkm_registration_add_key(r, TKM_REG_KEY_BLS12381, bls, 48, NULL));
    TU_ASSERT_OK(tkm_registration_set_blobs(r, (const uint8_t *)"{\"version\":1}", 13, (const uint8_t *)"EVIDENCE", 8));
}

static void test_history_and_changes(void **state) {
    (void)state;
    tkm_registry *reg = NULL;
    TU_ASSERT_OK(tkm_registry_open(&reg, dbpath));
    tkm_registration a, b, c, d, got;
    int found;
    uint8_t id[32];
    memset(id, 1, 32);
    TU_ASSERT_OK(tkm_registry_latest(reg, id, &got, &found));
    assert_int_equal(found, 0);

    make_reg(&a, 1, 0x11);
    TU_ASSERT_OK(tkm_registry_append(reg, &a));
    assert_int_equal(a.seq, 1);
    assert_int_equal(a.change, TKM_REG_CHANGE_INITIAL);
    /* the same again: a re-attestation, nothing changed */
    make_reg(&b, 1, 0x11);
    b.appraised_at = 2000;
    b.state_version = 8; /* state moves on every attestation: not a "change" */
    TU_ASSERT_OK(tkm_registry_append(reg, &b));
    assert_int_equal(b.seq, 2);
    assert_int_equal(b.change, 0);
    /* key rotation + policy change */
    make_reg(&c, 1, 0x22);
    c.appraised_at = 3000;
    c.policy_version = 4;
    memset(c.policy_hash, 0x51, 32);
    TU_ASSERT_OK(tkm_registry_append(reg, &c));
    assert_int_equal(c.change, TKM_REG_CHANGE_SIGNER_KEYS | TKM_REG_CHANGE_POLICY);
    /* another instance is independent */
    make_reg(&d, 2, 0x22);
    TU_ASSERT_OK(tkm_registry_append(reg, &d));
    assert_int_equal(d.change, TKM_REG_CHANGE_INITIAL);

    /* latest of instance 1 is c, read back field by field */
    TU_ASSERT_OK(tkm_registry_latest(reg, id, &got, &found));
    assert_int_equal(found, 1);
    assert_int_equal(got.seq, 3);
    assert_int_equal(got.appraised_at, 3000);
    assert_int_equal(got.platform, TKM_PLATFORM_TDX);
    assert_int_equal(got.tcb_status, TKM_TCB_UP_TO_DATE);
    assert_int_equal(got.n_advisories, 1);
    assert_string_equal(got.advisory_ids[0], "INTEL-SA-00615");
    assert_int_equal(got.n_keys, 2);
    assert_int_equal(got.keys[0].type, TKM_REG_KEY_SECP256K1);
    assert_int_equal(got.keys[0].pub[1], 0x22);
    assert_int_equal(got.keys[0].addr[0], 0x22);
    assert_int_equal(got.keys[1].type, TKM_REG_KEY_BLS12381);
    assert_int_equal(got.keys[1].pub_len, 48);
    assert_int_equal(got.policy_version, 4);
    assert_int_equal(got.state_version, 7);
    assert_int_equal(got.claims_len, 13);
    assert_memory_equal(got.claims, "{\"version\":1}", 13);
    assert_int_equal(got.evidence_len, 8);
    assert_string_equal(got.institution, "Example Bank");
    assert_int_equal(got.change, TKM_REG_CHANGE_SIGNER_KEYS | TKM_REG_CHANGE_POLICY);
    json_t *j = NULL;
    TU_ASSERT_OK(tkm_registration_to_json(&got, 0, &j));
    json_t *ch = json_object_get(j, "changes");
    assert_int_equal(json_array_size(ch), 2);
    assert_string_equal(json_string_value(json_array_get(ch, 0)), "signerKeys");
    assert_string_equal(json_string_value(json_array_get(ch, 1)), "policy");
    assert_null(json_object_get(j, "evidence"));
    json_decref(j);
    tkm_registration_free(&got);
    TU_ASSERT_OK(tkm_registry_get(reg, 2, &got, &found));
    assert_int_equal(found, 1);
    TU_ASSERT_OK(tkm_registration_to_json(&got, TKM_REG_JSON_BLOBS, &j));
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "changes"), 0)), "reattestation");
    assert_string_equal(json_string_value(json_object_get(j, "evidence")), "0x45564944454e4345");
    json_decref(j);
    tkm_registration_free(&got);

    /* history of instance 1: 1, 2, 3; current registrations: 3 (instance 1), 4 (instance 2) */
    int64_t *seqs = NULL;
    size_t n = 0;
    TU_ASSERT_OK(tkm_registry_list(reg, id, 0, 100, &seqs, &n));
    assert_int_equal(n, 3);
    assert_int_equal(seqs[0], 1);
    assert_int_equal(seqs[2], 3);
    free(seqs);
    TU_ASSERT_OK(tkm_registry_list(reg, id, 1, 1, &seqs, &n));
    assert_int_equal(n, 1);
    assert_int_equal(seqs[0], 2);
    free(seqs);
    TU_ASSERT_OK(tkm_registry_list(reg, NULL, 0, 100, &seqs, &n));
    assert_int_equal(n, 2);
    assert_int_equal(seqs[0], 3);
    assert_int_equal(seqs[1], 4);
    free(seqs);
    tkm_registration_free(&a);
    tkm_registration_free(&b);
    tkm_registration_free(&c);
    tkm_registration_free(&d);
    tkm_registry_close(reg);

    /* reopen: persisted */
    TU_ASSERT_OK(tkm_registry_open(&reg, dbpath));
    TU_ASSERT_OK(tkm_registry_latest(reg, id, &got, &found));
    assert_int_equal(got.seq, 3);
    tkm_registration_free(&got);
    tkm_registry_close(reg);
}

static void test_append_only(void **state) {
    (void)state;
    tkm_registry *reg = NULL;
    TU_ASSERT_OK(tkm_registry_open(&reg, dbpath));
    tkm_registration a;
    make_reg(&a, 1, 0x11);
    TU_ASSERT_OK(tkm_registry_append(reg, &a));
    tkm_registration_free(&a);
    uint8_t id[32], sealed[TKM_SEALED_STATE_KEY_LEN];
    memset(id, 1, 32);
    memset(sealed, 0x5e, sizeof sealed);
    TU_ASSERT_OK(tkm_registry_state_key_put(reg, id, sealed, 5));
    tkm_registry_close(reg);
    /* a second connection (an operator with sqlite3) cannot rewrite history through SQL */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE registrations SET institution = 'x'", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM registrations", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM registration_keys", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE state_keys SET sealed = x'00'", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM state_keys", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM registrations", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 1);
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static void test_state_keys(void **state) {
    (void)state;
    tkm_registry *reg = NULL;
    TU_ASSERT_OK(tkm_registry_open(&reg, dbpath));
    uint8_t id[32], s1[TKM_SEALED_STATE_KEY_LEN], s2[TKM_SEALED_STATE_KEY_LEN], got[TKM_SEALED_STATE_KEY_LEN];
    memset(id, 9, 32);
    memset(s1, 1, sizeof s1);
    memset(s2, 2, sizeof s2);
    int found;
    TU_ASSERT_OK(tkm_registry_state_key_get(reg, id, got, &found));
    assert_int_equal(found, 0);
    TU_ASSERT_OK(tkm_registry_state_key_put(reg, id, s1, 10));
    TU_ASSERT_RC(tkm_registry_state_key_put(reg, id, s2, 11), TKM_ERR_EXISTS);
    TU_ASSERT_OK(tkm_registry_state_key_get(reg, id, got, &found));
    assert_int_equal(found, 1);
    assert_memory_equal(got, s1, sizeof s1);
    tkm_registry_close(reg);
}

static void test_counters(void **state) {
    (void)state;
    tkm_registry *reg = NULL;
    TU_ASSERT_OK(tkm_registry_open(&reg, dbpath));
    uint8_t id[32], other[32];
    memset(id, 3, 32);
    memset(other, 4, 32);
    uint64_t v, cur;
    int64_t upd;
    int found;
    TU_ASSERT_OK(tkm_registry_counter_get(reg, id, &v, &upd, &found));
    assert_int_equal(found, 0);
    assert_int_equal(v, 0);
    TU_ASSERT_OK(tkm_registry_counter_advance(reg, id, 5, 100, &cur));
    assert_int_equal(cur, 5);
    TU_ASSERT_OK(tkm_registry_counter_advance(reg, id, 5, 101, &cur)); /* retried: idempotent */
    assert_int_equal(cur, 5);
    TU_ASSERT_RC(tkm_registry_counter_advance(reg, id, 4, 102, &cur), TKM_ERR_STORE_ROLLBACK);
    assert_int_equal(cur, 5);
    TU_ASSERT_OK(tkm_registry_counter_advance(reg, id, 9, 103, &cur));
    TU_ASSERT_OK(tkm_registry_counter_get(reg, id, &v, &upd, &found));
    assert_int_equal(v, 9);
    assert_int_equal(upd, 103);
    TU_ASSERT_OK(tkm_registry_counter_get(reg, other, &v, &upd, &found));
    assert_int_equal(found, 0);
    TU_ASSERT_RC(tkm_registry_counter_advance(reg, id, (uint64_t)1 << 53, 104, &cur), TKM_ERR_RANGE);
    tkm_registry_close(reg);
    /* the monotonic rule holds against direct SQL too */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE counters SET value = 1", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM counters", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_bad_database(void **state) {
    (void)state;
    FILE *f = fopen(dbpath, "wb");
    fputs("this is not a database, just text of some length to fill a header page.......", f);
    fclose(f);
    tkm_registry *reg = NULL;
    TU_ASSERT_RC(tkm_registry_open(&reg, dbpath), TKM_ERR_STORE);
    assert_null(reg);
    unlink(dbpath);
    /* a database from a future schema version is refused */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 9", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    TU_ASSERT_RC(tkm_registry_open(&reg, dbpath), TKM_ERR_STORE);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_history_and_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_database, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
