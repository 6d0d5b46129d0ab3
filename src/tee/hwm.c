/* see tkm_hwm.h */
#include "tkm_hwm.h"

#include <string.h>

#include "../crypto/tkm_hash.h"

static const uint8_t MAGIC[8] = {'T', 'K', 'M', 'H', 'W', 'M', '0', '1'};

static tkm_rc mac(uint8_t out[32], const tkm_secret *key, const uint8_t *msg, size_t n) {
    return tkm_hmac_sha256(out, tkm_secret_ptr(key), tkm_secret_len(key), msg, n);
}

tkm_rc tkm_hwm_parse(tkm_hwm *m, uint8_t tag[static 32], const uint8_t *buf, size_t n) {
    memset(m, 0, sizeof *m);
    tkm_rd rd;
    tkm_rd_init(&rd, buf, n);
    uint8_t magic[8];
    tkm_hwm x;
    /* sticky errors: one check at the end */
    tkm_rc r1 = tkm_rd_bytes(&rd, magic, 8), r2 = tkm_rd_bytes(&rd, x.instance_id, 32),
           r3 = tkm_rd_u64be(&rd, &x.version), r4 = tkm_rd_bytes(&rd, tag, 32);
    (void)r1, (void)r2, (void)r3, (void)r4;
    if (tkm_failed(tkm_rd_done(&rd)) || memcmp(magic, MAGIC, 8) != 0) {
        tkm_err_detail_set("not a high-water mark file");
        TKM_ENSURE(0, TKM_ERR_STORE_TAMPER);
    }
    *m = x;
    return TKM_RC_OK;
}

/* Read the whole file. *present = 0 when it does not exist; a file too long to be a mark is STORE_TAMPER. */
static tkm_rc read_mark(const char *path, uint8_t buf[TKM_HWM_FILE_LEN], size_t *n, int *present) {
    *present = 0;
    tkm_rc rc = tkm_file_read_into(path, buf, TKM_HWM_FILE_LEN, 0, n);
    if (rc.code == TKM_ERR_NOT_FOUND) return TKM_RC_OK;
    if (rc.code == TKM_ERR_TOO_LARGE) {
        tkm_err_detail_set("%s: not a high-water mark file", path);
        TKM_ENSURE(0, TKM_ERR_STORE_TAMPER);
    }
    TKM_TRY(rc);
    *present = 1;
    return TKM_RC_OK;
}

tkm_rc tkm_hwm_peek(tkm_hwm *m, int *present, const char *path) {
    memset(m, 0, sizeof *m);
    uint8_t buf[TKM_HWM_FILE_LEN], tag[32];
    size_t n;
    TKM_TRY(read_mark(path, buf, &n, present));
    if (!*present) return TKM_RC_OK;
    tkm_rc rc = tkm_hwm_parse(m, tag, buf, n);
    if (tkm_failed(rc)) {
        *present = 0;
        tkm_err_detail_set("%s: %s", path, tkm_err_detail());
    }
    return rc;
}

tkm_rc tkm_hwm_load(tkm_hwm *m, int *present, const char *path, const tkm_secret *mac_key) {
    memset(m, 0, sizeof *m);
    *present = 0;
    uint8_t buf[TKM_HWM_FILE_LEN], tag[32], want[32];
    size_t n;
    int here;
    TKM_TRY(read_mark(path, buf, &n, &here));
    if (!here) return TKM_RC_OK;
    tkm_hwm x;
    tkm_rc rc = tkm_hwm_parse(&x, tag, buf, n);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("%s: %s", path, tkm_err_detail());
        return rc;
    }
    TKM_TRY(mac(want, mac_key, buf, 48));
    if (!tkm_ct_eq(want, tag, 32)) {
        tkm_err_detail_set("%s: high-water mark MAC does not verify", path);
        TKM_ENSURE(0, TKM_ERR_STORE_TAMPER);
    }
    *m = x;
    *present = 1;
    return TKM_RC_OK;
}

static tkm_rc store(const char *path, const tkm_secret *mac_key, const tkm_hwm *m) {
    uint8_t buf[TKM_HWM_FILE_LEN];
    memcpy(buf, MAGIC, 8);
    memcpy(buf + 8, m->instance_id, 32);
    for (int i = 0; i < 8; i++) buf[40 + i] = (uint8_t)(m->version >> (56 - 8 * i));
    TKM_TRY(mac(buf + 48, mac_key, buf, 48));
    /* atomic: a crash leaves the previous mark or this one, never a short file */
    return tkm_file_replace(path, 0600, buf, sizeof buf);
}

tkm_rc tkm_hwm_advance(const char *path, const tkm_secret *mac_key, const uint8_t instance_id[static 32],
                       uint64_t version) {
    tkm_hwm cur;
    int present = 0;
    TKM_TRY(tkm_hwm_load(&cur, &present, path, mac_key));
    if (present) {
        if (memcmp(cur.instance_id, instance_id, 32) != 0) {
            tkm_err_detail_set("high-water mark belongs to another instance");
            TKM_ENSURE(0, TKM_ERR_STORE_CLONE);
        }
        if (version < cur.version) {
            tkm_err_detail_set("refusing to attest state version %llu after version %llu",
                               (unsigned long long)version, (unsigned long long)cur.version);
            TKM_ENSURE(0, TKM_ERR_STORE_ROLLBACK);
        }
        if (version == cur.version) return TKM_RC_OK;
    }
    tkm_hwm m;
    memcpy(m.instance_id, instance_id, 32);
    m.version = version;
    return store(path, mac_key, &m);
}

tkm_rc tkm_hwm_check(const char *path, const tkm_secret *mac_key, const uint8_t instance_id[static 32],
                     uint64_t state_version, const uint64_t *verifier_version) {
    if (verifier_version && state_version < *verifier_version) {
        tkm_err_detail_set("state version %llu is older than the verifier's counter %llu",
                           (unsigned long long)state_version, (unsigned long long)*verifier_version);
        TKM_ENSURE(0, TKM_ERR_STORE_ROLLBACK);
    }
    tkm_hwm cur;
    int present = 0;
    TKM_TRY(tkm_hwm_load(&cur, &present, path, mac_key));
    if (!present) {
        if (state_version == 0 || verifier_version) return TKM_RC_OK;
        tkm_err_detail_set("no high-water mark for a state at version %llu (mark removed?); "
                           "the verifier's counter is needed to start",
                           (unsigned long long)state_version);
        TKM_ENSURE(0, TKM_ERR_STORE_ROLLBACK);
    }
    if (memcmp(cur.instance_id, instance_id, 32) != 0) {
        tkm_err_detail_set("sealed state belongs to another instance than the attested one");
        TKM_ENSURE(0, TKM_ERR_STORE_CLONE);
    }
    if (state_version < cur.version) {
        tkm_err_detail_set("sealed state version %llu is older than attested version %llu",
                           (unsigned long long)state_version, (unsigned long long)cur.version);
        TKM_ENSURE(0, TKM_ERR_STORE_ROLLBACK);
    }
    return TKM_RC_OK;
}
