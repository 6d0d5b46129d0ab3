/* see tkm_registry.h */
#include "tkm_registry.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/crypto.h"

#define SCHEMA_VERSION 1
#define JSON_INT_MAX ((uint64_t)9007199254740991) /* 2^53 - 1 */

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS registrations("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " instance_id BLOB NOT NULL CHECK(length(instance_id) = 32),"
    " appraised_at INTEGER NOT NULL,"
    " platform TEXT NOT NULL,"
    " simulated INTEGER NOT NULL,"
    " measurement BLOB NOT NULL,"
    " tcb_status TEXT,"
    " advisory_ids TEXT NOT NULL,"
    " tls_spki BLOB NOT NULL,"
    " audit_address BLOB NOT NULL CHECK(length(audit_address) = 20),"
    " policy_hash BLOB NOT NULL CHECK(length(policy_hash) = 32),"
    " policy_version INTEGER NOT NULL,"
    " state_version INTEGER NOT NULL,"
    " appraisal_policy_hash BLOB NOT NULL CHECK(length(appraisal_policy_hash) = 32),"
    " institution TEXT NOT NULL,"
    " report_data BLOB NOT NULL CHECK(length(report_data) = 64),"
    " evidence_sha256 BLOB NOT NULL CHECK(length(evidence_sha256) = 32),"
    " change INTEGER NOT NULL,"
    " key_released INTEGER NOT NULL,"
    " claims BLOB NOT NULL,"
    " evidence BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS registrations_by_instance ON registrations(instance_id, seq);"
    "CREATE TABLE IF NOT EXISTS registration_keys("
    " seq INTEGER NOT NULL REFERENCES registrations(seq),"
    " idx INTEGER NOT NULL,"
    " type TEXT NOT NULL,"
    " public_key BLOB NOT NULL,"
    " address BLOB,"
    " PRIMARY KEY(seq, idx));"
    "CREATE TABLE IF NOT EXISTS state_keys("
    " instance_id BLOB PRIMARY KEY CHECK(length(instance_id) = 32),"
    " sealed BLOB NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS counters("
    " instance_id BLOB PRIMARY KEY CHECK(length(instance_id) = 32),"
    " value INTEGER NOT NULL CHECK(value >= 0),"
    " updated_at INTEGER NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS registrations_no_update BEFORE UPDATE ON registrations"
    " BEGIN SELECT RAISE(ABORT, 'registrations are append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS registrations_no_delete BEFORE DELETE ON registrations"
    " BEGIN SELECT RAISE(ABORT, 'registrations are append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS registration_keys_no_update BEFORE UPDATE ON registration_keys"
    " BEGIN SELECT RAISE(ABORT, 'registrations are append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS registration_keys_no_delete BEFORE DELETE ON registration_keys"
    " BEGIN SELECT RAISE(ABORT, 'registrations are append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS state_keys_no_update BEFORE UPDATE ON state_keys"
    " BEGIN SELECT RAISE(ABORT, 'state keys are written once'); END;"
    "CREATE TRIGGER IF NOT EXISTS state_keys_no_delete BEFORE DELETE ON state_keys"
    " BEGIN SELECT RAISE(ABORT, 'state keys are written once'); END;"
    "CREATE TRIGGER IF NOT EXISTS counters_monotonic BEFORE UPDATE ON counters WHEN NEW.value < OLD.value"
    " BEGIN SELECT RAISE(ABORT, 'counters never go down'); END;"
    "CREATE TRIGGER IF NOT EXISTS counters_no_delete BEFORE DELETE ON counters"
    " BEGIN SELECT RAISE(ABORT, 'counters are never removed'); END;";

static const char *const REG_COLS =
    "seq, instance_id, appraised_at, platform, simulated, measurement, tcb_status, advisory_ids, tls_spki,"
    " audit_address, policy_hash, policy_version, state_version, appraisal_policy_hash, institution,"
    " report_data, evidence_sha256, change, key_released, claims, evidence";

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_INSERT_REG,
    ST_INSERT_KEY,
    ST_GET,
    ST_LATEST_SEQ,
    ST_KEYS,
    ST_LIST_INSTANCE,
    ST_LIST_CURRENT,
    ST_SK_GET,
    ST_SK_PUT,
    ST_CTR_GET,
    ST_CTR_INSERT,
    ST_CTR_UPDATE,
    ST_COUNT
};

struct tkm_registry {
    pthread_mutex_t mu;
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
};

static tkm_rc sql_fail(tkm_registry *reg, int src, const char *what) {
    tkm_err_detail_set("registry: %s: %s", what, reg && reg->db ? sqlite3_errmsg(reg->db) : sqlite3_errstr(src));
    tkm_err_record_where_(__FILE__, __LINE__);
    int prim = src & 0xff;
    return TKM_RC(prim == SQLITE_BUSY || prim == SQLITE_LOCKED ? TKM_ERR_STORE_BUSY : TKM_ERR_STORE);
}

static void reset(sqlite3_stmt *s) {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* ---- registration values ---- */

void tkm_registration_init(tkm_registration *r) { memset(r, 0, sizeof *r); }

void tkm_registration_free(tkm_registration *r) {
    if (!r) return;
    free(r->keys);
    free(r->claims);
    free(r->evidence);
    memset(r, 0, sizeof *r);
}

tkm_rc tkm_registration_add_key(tkm_registration *r, tkm_reg_key_type type, const uint8_t *pub, size_t pub_len,
                                const uint8_t addr[20]) {
    TKM_ARG_CHECK((type == TKM_REG_KEY_SECP256K1 && pub_len == 65 && addr) ||
                  (type == TKM_REG_KEY_BLS12381 && pub_len == 48));
    TKM_ENSURE(r->n_keys < TKM_REG_MAX_KEYS, TKM_ERR_LIMIT);
    tkm_reg_key *k = realloc(r->keys, (r->n_keys + 1) * sizeof *k);
    if (!k) return TKM_RC(TKM_ERR_NOMEM);
    r->keys = k;
    k = &r->keys[r->n_keys++];
    memset(k, 0, sizeof *k);
    k->type = type;
    memcpy(k->pub, pub, pub_len);
    k->pub_len = pub_len;
    if (type == TKM_REG_KEY_SECP256K1) memcpy(k->addr, addr, 20);
    return TKM_RC_OK;
}

static tkm_rc dup_blob(uint8_t **dst, size_t *dst_len, const uint8_t *src, size_t len) {
    free(*dst);
    *dst = NULL;
    *dst_len = 0;
    if (len == 0) return TKM_RC_OK;
    if (!(*dst = malloc(len))) return TKM_RC(TKM_ERR_NOMEM);
    memcpy(*dst, src, len);
    *dst_len = len;
    return TKM_RC_OK;
}

tkm_rc tkm_registration_set_blobs(tkm_registration *r, const uint8_t *claims, size_t claims_len,
                                  const uint8_t *evidence, size_t evidence_len) {
    TKM_ARG_CHECK((claims || !claims_len) && (evidence || !evidence_len));
    TKM_TRY(dup_blob(&r->claims, &r->claims_len, claims, claims_len));
    return dup_blob(&r->evidence, &r->evidence_len, evidence, evidence_len);
}

static const char *const CHANGE_NAMES[] = {"initial",     "platform",   "measurement", "tcb",
                                           "tlsKey",      "auditKey",   "signerKeys",  "policy",
                                           "appraisalPolicy", "institution"};

const char *tkm_reg_change_name(unsigned bit) {
    for (unsigned i = 0; i < sizeof CHANGE_NAMES / sizeof CHANGE_NAMES[0]; i++)
        if (bit == 1u << i) return CHANGE_NAMES[i];
    return NULL;
}

static int put_hex(json_t *o, const char *key, const uint8_t *b, size_t n) {
    return json_object_set_new(o, key, tkm_json_hex_new(b, n));
}

static int put_addr(json_t *o, const char *key, const uint8_t a[20]) {
    char s[TKM_ETH_ADDR_STR_LEN];
    tkm_eth_address_checksum(s, a);
    return json_object_set_new(o, key, json_string(s));
}

tkm_rc tkm_registration_to_json(const tkm_registration *r, unsigned flags, json_t **out) {
    *out = NULL;
    json_t *o = json_object(), *keys = json_array(), *adv = json_array(), *ch = json_array();
    int e = !o || !keys || !adv || !ch;
    e |= put_hex(o, "instanceId", r->instance_id, 32);
    e |= json_object_set_new(o, "seq", json_integer(r->seq));
    e |= json_object_set_new(o, "appraisedAt", json_integer(r->appraised_at));
    e |= json_object_set_new(o, "platform", json_string(tkm_platform_name(r->platform)));
    e |= json_object_set_new(o, "simulated", json_boolean(r->simulated));
    e |= put_hex(o, "measurement", r->measurement, r->measurement_len);
    const char *st = tkm_tcb_status_name(r->tcb_status);
    e |= json_object_set_new(o, "tcbStatus", st ? json_string(st) : json_null());
    for (size_t i = 0; i < r->n_advisories; i++) e |= json_array_append_new(adv, json_string(r->advisory_ids[i]));
    e |= json_object_set(o, "advisoryIds", adv);
    e |= put_hex(o, "tlsPublicKey", r->tls_spki, r->tls_spki_len);
    e |= put_addr(o, "auditAddress", r->audit_address);
    for (size_t i = 0; i < r->n_keys; i++) {
        const tkm_reg_key *k = &r->keys[i];
        json_t *ko = json_object();
        e |= !ko;
        e |= json_object_set_new(ko, "type", json_string(k->type == TKM_REG_KEY_SECP256K1 ? "secp256k1" : "bls12-381"));
        e |= put_hex(ko, "publicKey", k->pub, k->pub_len);
        if (k->type == TKM_REG_KEY_SECP256K1) e |= put_addr(ko, "address", k->addr);
        e |= json_array_append_new(keys, ko);
    }
    e |= json_object_set(o, "keys", keys);
    e |= put_hex(o, "policyHash", r->policy_hash, 32);
    e |= json_object_set_new(o, "policyVersion", json_integer((json_int_t)r->policy_version));
    e |= json_object_set_new(o, "stateVersion", json_integer((json_int_t)r->state_version));
    e |= put_hex(o, "appraisalPolicyHash", r->appraisal_policy_hash, 32);
    e |= json_object_set_new(o, "institution", json_string(r->institution));
    e |= put_hex(o, "reportData", r->report_data, 64);
    e |= put_hex(o, "evidenceSha256", r->evidence_sha256, 32);
    if (r->change == 0) e |= json_array_append_new(ch, json_string("reattestation"));
    for (unsigned b = 1; b && b <= TKM_REG_CHANGE_INSTITUTION; b <<= 1)
        if (r->change & b) e |= json_array_append_new(ch, json_string(tkm_reg_change_name(b)));
    e |= json_object_set(o, "changes", ch);
    e |= json_object_set_new(o, "keyReleased", json_boolean(r->key_released));
    if (flags & TKM_REG_JSON_BLOBS) {
        e |= json_object_set_new(o, "claims", json_stringn((const char *)r->claims, r->claims_len));
        e |= put_hex(o, "evidence", r->evidence, r->evidence_len);
    }
    json_decref(keys);
    json_decref(adv);
    json_decref(ch);
    if (e) {
        json_decref(o);
        return TKM_RC(TKM_ERR_NOMEM);
    }
    *out = o;
    return TKM_RC_OK;
}

/* ---- open / close ---- */

void tkm_registry_close(tkm_registry *reg) {
    if (!reg) return;
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(reg->st[i]);
    sqlite3_close_v2(reg->db);
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

static tkm_rc prep(tkm_registry *reg, int i, const char *sql) {
    int rc = sqlite3_prepare_v3(reg->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &reg->st[i], NULL);
    if (rc != SQLITE_OK) return sql_fail(reg, rc, "prepare");
    return TKM_RC_OK;
}

tkm_rc tkm_registry_open(tkm_registry **out, const char *path) {
    *out = NULL;
    tkm_rc rc;
    char sql[1024];
    tkm_registry *reg = calloc(1, sizeof *reg);
    if (!reg) return TKM_RC(TKM_ERR_NOMEM);
    pthread_mutex_init(&reg->mu, NULL);
    int s = sqlite3_open_v2(path, &reg->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (s != SQLITE_OK) {
        rc = sql_fail(reg, s, "open");
        goto out;
    }
    sqlite3_extended_result_codes(reg->db, 1);
    sqlite3_db_config(reg->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(reg->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_busy_timeout(reg->db, 5000);
    static const char *const pragmas =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;";
    if ((s = sqlite3_exec(reg->db, pragmas, NULL, NULL, NULL)) != SQLITE_OK) {
        rc = sql_fail(reg, s, "pragmas");
        goto out;
    }
    /* schema version: 0 = new database */
    sqlite3_stmt *v = NULL;
    if ((s = sqlite3_prepare_v2(reg->db, "PRAGMA user_version", -1, &v, NULL)) != SQLITE_OK) {
        rc = sql_fail(reg, s, "user_version");
        goto out;
    }
    int version = sqlite3_step(v) == SQLITE_ROW ? sqlite3_column_int(v, 0) : -1;
    sqlite3_finalize(v);
    if (version != 0 && version != SCHEMA_VERSION) {
        tkm_err_detail_set("registry %s has schema version %d; this build knows %d", path, version, SCHEMA_VERSION);
        TKM_GOTO(rc, TKM_ERR_STORE);
    }
    if ((s = sqlite3_exec(reg->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK ||
        (s = sqlite3_exec(reg->db, SCHEMA, NULL, NULL, NULL)) != SQLITE_OK ||
        (s = sqlite3_exec(reg->db, "PRAGMA user_version = 1", NULL, NULL, NULL)) != SQLITE_OK ||
        (s = sqlite3_exec(reg->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
        rc = sql_fail(reg, s, "schema");
        sqlite3_exec(reg->db, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    TKM_CHECK_GOTO(rc, prep(reg, ST_BEGIN, "BEGIN IMMEDIATE"));
    TKM_CHECK_GOTO(rc, prep(reg, ST_COMMIT, "COMMIT"));
    TKM_CHECK_GOTO(rc, prep(reg, ST_ROLLBACK, "ROLLBACK"));
    TKM_CHECK_GOTO(rc, prep(reg, ST_INSERT_REG,
                            "INSERT INTO registrations(instance_id, appraised_at, platform, simulated, measurement,"
                            " tcb_status, advisory_ids, tls_spki, audit_address, policy_hash, policy_version,"
                            " state_version, appraisal_policy_hash, institution, report_data, evidence_sha256, change,"
                            " key_released, claims, evidence) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,"
                            "?15,?16,?17,?18,?19,?20)"));
    TKM_CHECK_GOTO(rc, prep(reg, ST_INSERT_KEY,
                            "INSERT INTO registration_keys(seq, idx, type, public_key, address) VALUES(?1,?2,?3,?4,?5)"));
    snprintf(sql, sizeof sql, "SELECT %s FROM registrations WHERE seq = ?1", REG_COLS);
    TKM_CHECK_GOTO(rc, prep(reg, ST_GET, sql));
    TKM_CHECK_GOTO(rc, prep(reg, ST_LATEST_SEQ, "SELECT MAX(seq) FROM registrations WHERE instance_id = ?1"));
    TKM_CHECK_GOTO(rc, prep(reg, ST_KEYS,
                            "SELECT type, public_key, address FROM registration_keys WHERE seq = ?1 ORDER BY idx"));
    TKM_CHECK_GOTO(rc, prep(reg, ST_LIST_INSTANCE,
                            "SELECT seq FROM registrations WHERE instance_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"));
    TKM_CHECK_GOTO(rc, prep(reg, ST_LIST_CURRENT,
                            "SELECT MAX(seq) AS s FROM registrations GROUP BY instance_id HAVING s > ?1 ORDER BY s LIMIT ?2"));
    TKM_CHECK_GOTO(rc, prep(reg, ST_SK_GET, "SELECT sealed FROM state_keys WHERE instance_id = ?1"));
    TKM_CHECK_GOTO(rc, prep(reg, ST_SK_PUT, "INSERT INTO state_keys(instance_id, sealed, created_at) VALUES(?1,?2,?3)"));
    TKM_CHECK_GOTO(rc, prep(reg, ST_CTR_GET, "SELECT value, updated_at FROM counters WHERE instance_id = ?1"));
    TKM_CHECK_GOTO(rc, prep(reg, ST_CTR_INSERT, "INSERT INTO counters(instance_id, value, updated_at) VALUES(?1,?2,?3)"));
    TKM_CHECK_GOTO(rc, prep(reg, ST_CTR_UPDATE, "UPDATE counters SET value = ?2, updated_at = ?3 WHERE instance_id = ?1"));
    *out = reg;
    reg = NULL;
    rc = TKM_RC_OK;
out:
    tkm_registry_close(reg);
    return rc;
}

/* ---- reading one registration (mu held) ---- */

static tkm_rc blob_exact(sqlite3_stmt *s, int col, uint8_t *dst, size_t n) {
    const void *b = sqlite3_column_blob(s, col);
    if ((size_t)sqlite3_column_bytes(s, col) != n || (n && !b)) {
        tkm_err_detail_set("registry: column %d has the wrong size", col);
        TKM_ENSURE(0, TKM_ERR_STORE_TAMPER);
    }
    memcpy(dst, b, n);
    return TKM_RC_OK;
}

static tkm_rc advisories_from_text(tkm_registration *r, const char *txt, size_t len) {
    json_t *a = NULL;
    TKM_TRY(tkm_json_load(&a, (const uint8_t *)txt, len, NULL));
    tkm_rc rc = TKM_RC_OK;
    if (!json_is_array(a) || json_array_size(a) > TKM_APPRAISAL_MAX_ADVISORIES) {
        rc = TKM_RC(TKM_ERR_STORE_TAMPER);
    } else {
        for (size_t i = 0; i < json_array_size(a); i++) {
            json_t *e = json_array_get(a, i);
            if (!json_is_string(e) || json_string_length(e) >= TKM_ADVISORY_ID_LEN) {
                rc = TKM_RC(TKM_ERR_STORE_TAMPER);
                break;
            }
            snprintf(r->advisory_ids[r->n_advisories++], TKM_ADVISORY_ID_LEN, "%s", json_string_value(e));
        }
    }
    json_decref(a);
    return rc;
}

static tkm_rc read_row(tkm_registry *reg, int64_t seq, tkm_registration *r, int *found) {
    tkm_registration_init(r);
    *found = 0;
    sqlite3_stmt *s = reg->st[ST_GET], *k = reg->st[ST_KEYS];
    tkm_rc rc = TKM_RC_OK;
    sqlite3_bind_int64(s, 1, seq);
    int step = sqlite3_step(s);
    if (step == SQLITE_DONE) goto out;
    if (step != SQLITE_ROW) {
        rc = sql_fail(reg, step, "read registration");
        goto out;
    }
    r->seq = sqlite3_column_int64(s, 0);
    TKM_CHECK_GOTO(rc, blob_exact(s, 1, r->instance_id, 32));
    r->appraised_at = sqlite3_column_int64(s, 2);
    const char *pname = (const char *)sqlite3_column_text(s, 3);
    r->platform = TKM_PLATFORM_UNKNOWN;
    for (int p = TKM_PLATFORM_SGX; p <= TKM_PLATFORM_SIM && pname; p++)
        if (strcmp(pname, tkm_platform_name((tkm_platform)p)) == 0) r->platform = (tkm_platform)p;
    r->simulated = sqlite3_column_int(s, 4) != 0;
    r->measurement_len = (size_t)sqlite3_column_bytes(s, 5);
    if (r->measurement_len > sizeof r->measurement) TKM_GOTO(rc, TKM_ERR_STORE_TAMPER);
    TKM_CHECK_GOTO(rc, blob_exact(s, 5, r->measurement, r->measurement_len));
    const char *tcb = (const char *)sqlite3_column_text(s, 6);
    r->tcb_status = tcb ? tkm_tcb_status_from_name(tcb, strlen(tcb)) : TKM_TCB_NONE;
    TKM_CHECK_GOTO(rc, advisories_from_text(r, (const char *)sqlite3_column_text(s, 7), (size_t)sqlite3_column_bytes(s, 7)));
    r->tls_spki_len = (size_t)sqlite3_column_bytes(s, 8);
    if (r->tls_spki_len > sizeof r->tls_spki) TKM_GOTO(rc, TKM_ERR_STORE_TAMPER);
    TKM_CHECK_GOTO(rc, blob_exact(s, 8, r->tls_spki, r->tls_spki_len));
    TKM_CHECK_GOTO(rc, blob_exact(s, 9, r->audit_address, 20));
    TKM_CHECK_GOTO(rc, blob_exact(s, 10, r->policy_hash, 32));
    r->policy_version = (uint64_t)sqlite3_column_int64(s, 11);
    r->state_version = (uint64_t)sqlite3_column_int64(s, 12);
    TKM_CHECK_GOTO(rc, blob_exact(s, 13, r->appraisal_policy_hash, 32));
    const char *inst = (const char *)sqlite3_column_text(s, 14);
    snprintf(r->institution, sizeof r->institution, "%s", inst ? inst : "");
    TKM_CHECK_GOTO(rc, blob_exact(s, 15, r->report_data, 64));
    TKM_CHECK_GOTO(rc, blob_exact(s, 16, r->evidence_sha256, 32));
    r->change = (unsigned)sqlite3_column_int64(s, 17);
    r->key_released = sqlite3_column_int(s, 18) != 0;
    TKM_CHECK_GOTO(rc, tkm_registration_set_blobs(r, sqlite3_column_blob(s, 19), (size_t)sqlite3_column_bytes(s, 19),
                                                  sqlite3_column_blob(s, 20), (size_t)sqlite3_column_bytes(s, 20)));
    sqlite3_bind_int64(k, 1, seq);
    while ((step = sqlite3_step(k)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(k, 0);
        const uint8_t *pub = sqlite3_column_blob(k, 1);
        size_t pub_len = (size_t)sqlite3_column_bytes(k, 1);
        int secp = type && strcmp(type, "secp256k1") == 0;
        if (!pub || (secp ? pub_len != 65 || sqlite3_column_bytes(k, 2) != 20 : pub_len != 48))
            TKM_GOTO(rc, TKM_ERR_STORE_TAMPER);
        TKM_CHECK_GOTO(rc, tkm_registration_add_key(r, secp ? TKM_REG_KEY_SECP256K1 : TKM_REG_KEY_BLS12381, pub,
                                                    pub_len, secp ? sqlite3_column_blob(k, 2) : NULL));
    }
    if (step != SQLITE_DONE) {
        rc = sql_fail(reg, step, "read keys");
        goto out;
    }
    *found = 1;
out:
    reset(s);
    reset(k);
    if (tkm_failed(rc) || !*found) tkm_registration_free(r);
    return rc;
}

static tkm_rc latest_seq(tkm_registry *reg, const uint8_t id[32], int64_t *seq) {
    *seq = 0;
    sqlite3_stmt *s = reg->st[ST_LATEST_SEQ];
    sqlite3_bind_blob(s, 1, id, 32, SQLITE_STATIC);
    int step = sqlite3_step(s);
    tkm_rc rc = TKM_RC_OK;
    if (step == SQLITE_ROW)
        *seq = sqlite3_column_type(s, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 0);
    else
        rc = sql_fail(reg, step, "latest");
    reset(s);
    return rc;
}

/* ---- append ---- */

static int keys_equal(const tkm_registration *a, const tkm_registration *b) {
    if (a->n_keys != b->n_keys) return 0;
    for (size_t i = 0; i < a->n_keys; i++)
        if (a->keys[i].type != b->keys[i].type || a->keys[i].pub_len != b->keys[i].pub_len ||
            memcmp(a->keys[i].pub, b->keys[i].pub, a->keys[i].pub_len) != 0)
            return 0;
    return 1;
}

static unsigned changes(const tkm_registration *prev, const tkm_registration *r) {
    unsigned c = 0;
    if (prev->platform != r->platform || prev->simulated != r->simulated) c |= TKM_REG_CHANGE_PLATFORM;
    if (prev->measurement_len != r->measurement_len || memcmp(prev->measurement, r->measurement, r->measurement_len))
        c |= TKM_REG_CHANGE_MEASUREMENT;
    int adv_same = prev->n_advisories == r->n_advisories;
    for (size_t i = 0; adv_same && i < r->n_advisories; i++)
        adv_same = strcmp(prev->advisory_ids[i], r->advisory_ids[i]) == 0;
    if (prev->tcb_status != r->tcb_status || !adv_same) c |= TKM_REG_CHANGE_TCB;
    if (prev->tls_spki_len != r->tls_spki_len || memcmp(prev->tls_spki, r->tls_spki, r->tls_spki_len))
        c |= TKM_REG_CHANGE_TLS_KEY;
    if (memcmp(prev->audit_address, r->audit_address, 20)) c |= TKM_REG_CHANGE_AUDIT_KEY;
    if (!keys_equal(prev, r)) c |= TKM_REG_CHANGE_SIGNER_KEYS;
    if (memcmp(prev->policy_hash, r->policy_hash, 32) || prev->policy_version != r->policy_version)
        c |= TKM_REG_CHANGE_POLICY;
    if (memcmp(prev->appraisal_policy_hash, r->appraisal_policy_hash, 32)) c |= TKM_REG_CHANGE_APPRAISAL_POLICY;
    if (strcmp(prev->institution, r->institution)) c |= TKM_REG_CHANGE_INSTITUTION;
    return c;
}

static tkm_rc step_done(tkm_registry *reg, sqlite3_stmt *s, const char *what) {
    int step = sqlite3_step(s);
    tkm_rc rc = step == SQLITE_DONE ? TKM_RC_OK : sql_fail(reg, step, what);
    reset(s);
    return rc;
}

tkm_rc tkm_registry_append(tkm_registry *reg, tkm_registration *r) {
    TKM_ARG_CHECK(r->measurement_len <= 48 && r->tls_spki_len <= TKM_REG_SPKI_MAX && r->claims && r->evidence);
    TKM_ARG_CHECK(r->policy_version <= JSON_INT_MAX && r->state_version <= JSON_INT_MAX);
    tkm_rc rc;
    int in_tx = 0;
    tkm_registration prev;
    tkm_registration_init(&prev);
    json_t *adv = json_array();
    char *adv_txt = NULL;
    if (!adv) return TKM_RC(TKM_ERR_NOMEM);
    int je = 0;
    for (size_t i = 0; i < r->n_advisories; i++) je |= json_array_append_new(adv, json_string(r->advisory_ids[i]));
    if (je || !(adv_txt = json_dumps(adv, JSON_COMPACT))) {
        json_decref(adv);
        return TKM_RC(TKM_ERR_NOMEM);
    }
    json_decref(adv);
    pthread_mutex_lock(&reg->mu);
    TKM_CHECK_GOTO(rc, step_done(reg, reg->st[ST_BEGIN], "begin"));
    in_tx = 1;
    int64_t last;
    int found = 0;
    TKM_CHECK_GOTO(rc, latest_seq(reg, r->instance_id, &last));
    if (last) TKM_CHECK_GOTO(rc, read_row(reg, last, &prev, &found));
    unsigned change = found ? changes(&prev, r) : TKM_REG_CHANGE_INITIAL;
    sqlite3_stmt *s = reg->st[ST_INSERT_REG];
    const char *tcb = tkm_tcb_status_name(r->tcb_status);
    sqlite3_bind_blob(s, 1, r->instance_id, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, r->appraised_at);
    sqlite3_bind_text(s, 3, tkm_platform_name(r->platform), -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, r->simulated);
    sqlite3_bind_blob(s, 5, r->measurement, (int)r->measurement_len, SQLITE_STATIC);
    if (tcb) sqlite3_bind_text(s, 6, tcb, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, adv_txt, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 8, r->tls_spki, (int)r->tls_spki_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 9, r->audit_address, 20, SQLITE_STATIC);
    sqlite3_bind_blob(s, 10, r->policy_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 11, (sqlite3_int64)r->policy_version);
    sqlite3_bind_int64(s, 12, (sqlite3_int64)r->state_version);
    sqlite3_bind_blob(s, 13, r->appraisal_policy_hash, 32, SQLITE_STATIC);
    sqlite3_bind_text(s, 14, r->institution, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 15, r->report_data, 64, SQLITE_STATIC);
    sqlite3_bind_blob(s, 16, r->evidence_sha256, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 17, change);
    sqlite3_bind_int(s, 18, r->key_released);
    sqlite3_bind_blob64(s, 19, r->claims, r->claims_len, SQLITE_STATIC);
    sqlite3_bind_blob64(s, 20, r->evidence, r->evidence_len, SQLITE_STATIC);
    TKM_CHECK_GOTO(rc, step_done(reg, s, "insert registration"));
    int64_t seq = sqlite3_last_insert_rowid(reg->db);
    for (size_t i = 0; i < r->n_keys; i++) {
        const tkm_reg_key *k = &r->keys[i];
        sqlite3_stmt *ks = reg->st[ST_INSERT_KEY];
        sqlite3_bind_int64(ks, 1, seq);
        sqlite3_bind_int64(ks, 2, (sqlite3_int64)i);
        sqlite3_bind_text(ks, 3, k->type == TKM_REG_KEY_SECP256K1 ? "secp256k1" : "bls12-381", -1, SQLITE_STATIC);
        sqlite3_bind_blob(ks, 4, k->pub, (int)k->pub_len, SQLITE_STATIC);
        if (k->type == TKM_REG_KEY_SECP256K1) sqlite3_bind_blob(ks, 5, k->addr, 20, SQLITE_STATIC);
        TKM_CHECK_GOTO(rc, step_done(reg, ks, "insert key"));
    }
    TKM_CHECK_GOTO(rc, step_done(reg, reg->st[ST_COMMIT], "commit"));
    in_tx = 0;
    r->seq = seq;
    r->change = change;
    rc = TKM_RC_OK;
out:
    if (in_tx) (void)step_done(reg, reg->st[ST_ROLLBACK], "rollback");
    pthread_mutex_unlock(&reg->mu);
    tkm_registration_free(&prev);
    free(adv_txt);
    return rc;
}

tkm_rc tkm_registry_get(tkm_registry *reg, int64_t seq, tkm_registration *out, int *found) {
    pthread_mutex_lock(&reg->mu);
    tkm_rc rc = read_row(reg, seq, out, found);
    pthread_mutex_unlock(&reg->mu);
    return rc;
}

tkm_rc tkm_registry_latest(tkm_registry *reg, const uint8_t instance_id[static 32], tkm_registration *out, int *found) {
    tkm_registration_init(out);
    *found = 0;
    pthread_mutex_lock(&reg->mu);
    int64_t seq;
    tkm_rc rc = latest_seq(reg, instance_id, &seq);
    if (tkm_ok(rc) && seq) rc = read_row(reg, seq, out, found);
    pthread_mutex_unlock(&reg->mu);
    return rc;
}

tkm_rc tkm_registry_list(tkm_registry *reg, const uint8_t *instance_id, int64_t after, size_t limit, int64_t **seqs,
                         size_t *n) {
    *seqs = NULL;
    *n = 0;
    TKM_ARG_CHECK(limit > 0 && limit <= 100000);
    int64_t *v = malloc(limit * sizeof *v);
    if (!v) return TKM_RC(TKM_ERR_NOMEM);
    size_t count = 0;
    tkm_rc rc = TKM_RC_OK;
    pthread_mutex_lock(&reg->mu);
    sqlite3_stmt *s = reg->st[instance_id ? ST_LIST_INSTANCE : ST_LIST_CURRENT];
    int col = 1;
    if (instance_id) sqlite3_bind_blob(s, col++, instance_id, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, col++, after);
    sqlite3_bind_int64(s, col, (sqlite3_int64)limit);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW && count < limit) v[count++] = sqlite3_column_int64(s, 0);
    if (step != SQLITE_ROW && step != SQLITE_DONE) rc = sql_fail(reg, step, "list");
    reset(s);
    pthread_mutex_unlock(&reg->mu);
    if (tkm_failed(rc) || count == 0) {
        free(v);
        return rc;
    }
    *seqs = v;
    *n = count;
    return TKM_RC_OK;
}

/* ---- state keys ---- */

tkm_rc tkm_registry_state_key_get(tkm_registry *reg, const uint8_t instance_id[static 32],
                                  uint8_t sealed[static TKM_SEALED_STATE_KEY_LEN], int *found) {
    memset(sealed, 0, TKM_SEALED_STATE_KEY_LEN);
    *found = 0;
    tkm_rc rc = TKM_RC_OK;
    pthread_mutex_lock(&reg->mu);
    sqlite3_stmt *s = reg->st[ST_SK_GET];
    sqlite3_bind_blob(s, 1, instance_id, 32, SQLITE_STATIC);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        rc = blob_exact(s, 0, sealed, TKM_SEALED_STATE_KEY_LEN);
        *found = tkm_ok(rc);
    } else if (step != SQLITE_DONE) {
        rc = sql_fail(reg, step, "read state key");
    }
    reset(s);
    pthread_mutex_unlock(&reg->mu);
    return rc;
}

tkm_rc tkm_registry_state_key_put(tkm_registry *reg, const uint8_t instance_id[static 32],
                                  const uint8_t sealed[static TKM_SEALED_STATE_KEY_LEN], int64_t now) {
    pthread_mutex_lock(&reg->mu);
    sqlite3_stmt *s = reg->st[ST_SK_PUT];
    sqlite3_bind_blob(s, 1, instance_id, 32, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, sealed, TKM_SEALED_STATE_KEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now);
    int step = sqlite3_step(s);
    tkm_rc rc = TKM_RC_OK;
    if (step == SQLITE_CONSTRAINT_PRIMARYKEY) {
        tkm_err_detail_set("instance already has a state key");
        tkm_err_record_where_(__FILE__, __LINE__);
        rc = TKM_RC(TKM_ERR_EXISTS);
    } else if (step != SQLITE_DONE) {
        rc = sql_fail(reg, step, "insert state key");
    }
    reset(s);
    pthread_mutex_unlock(&reg->mu);
    return rc;
}

/* ---- counters ---- */

static tkm_rc ctr_read(tkm_registry *reg, const uint8_t id[32], uint64_t *value, int64_t *updated, int *found) {
    *value = 0;
    *updated = 0;
    *found = 0;
    sqlite3_stmt *s = reg->st[ST_CTR_GET];
    sqlite3_bind_blob(s, 1, id, 32, SQLITE_STATIC);
    int step = sqlite3_step(s);
    tkm_rc rc = TKM_RC_OK;
    if (step == SQLITE_ROW) {
        *value = (uint64_t)sqlite3_column_int64(s, 0);
        *updated = sqlite3_column_int64(s, 1);
        *found = 1;
    } else if (step != SQLITE_DONE) {
        rc = sql_fail(reg, step, "read counter");
    }
    reset(s);
    return rc;
}

tkm_rc tkm_registry_counter_get(tkm_registry *reg, const uint8_t instance_id[static 32], uint64_t *value,
                                int64_t *updated_at, int *found) {
    pthread_mutex_lock(&reg->mu);
    tkm_rc rc = ctr_read(reg, instance_id, value, updated_at, found);
    pthread_mutex_unlock(&reg->mu);
    return rc;
}

tkm_rc tkm_registry_counter_advance(tkm_registry *reg, const uint8_t instance_id[static 32], uint64_t value,
                                    int64_t now, uint64_t *current) {
    *current = 0;
    if (value > JSON_INT_MAX) {
        tkm_err_detail_set("counter value above 2^53-1");
        TKM_ENSURE(0, TKM_ERR_RANGE);
    }
    tkm_rc rc;
    int in_tx = 0, found;
    uint64_t cur;
    int64_t upd;
    pthread_mutex_lock(&reg->mu);
    TKM_CHECK_GOTO(rc, step_done(reg, reg->st[ST_BEGIN], "begin"));
    in_tx = 1;
    TKM_CHECK_GOTO(rc, ctr_read(reg, instance_id, &cur, &upd, &found));
    if (found && value < cur) {
        *current = cur;
        tkm_err_detail_set("counter is at %llu; %llu would move it back", (unsigned long long)cur,
                           (unsigned long long)value);
        TKM_GOTO(rc, TKM_ERR_STORE_ROLLBACK);
    }
    if (!found || value > cur) {
        sqlite3_stmt *s = reg->st[found ? ST_CTR_UPDATE : ST_CTR_INSERT];
        sqlite3_bind_blob(s, 1, instance_id, 32, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)value);
        sqlite3_bind_int64(s, 3, now);
        TKM_CHECK_GOTO(rc, step_done(reg, s, "write counter"));
    }
    TKM_CHECK_GOTO(rc, step_done(reg, reg->st[ST_COMMIT], "commit"));
    in_tx = 0;
    *current = value;
    rc = TKM_RC_OK;
out:
    if (in_tx) (void)step_done(reg, reg->st[ST_ROLLBACK], "rollback");
    pthread_mutex_unlock(&reg->mu);
    return rc;
}
