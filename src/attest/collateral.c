/*
 * see tkm_attest.h — collateral parsing: Intel (dcap-qvl QuoteCollateralV3
 * JSON, with the TCB info and QE identity documents inside it kept as their
 * exact signed bytes) and AMD (one VCEK/VLEK certificate).
 */
#include "attest_int.h"

#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/crypto.h"

#define COLLATERAL_MAX_BYTES ((size_t)1 << 20)
#define MAX_LEVELS 256
#define MAX_ADVISORIES 128

/* ---- time ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

tkm_rc tkm_attest_parse_time(int64_t *out, const char *s, size_t len) {
    *out = 0;
    /* YYYY-MM-DDTHH:MM:SSZ */
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (len != sizeof shape - 1) goto bad;
    for (size_t i = 0; i < len; i++) {
        if (shape[i] == 'd') {
            if (s[i] < '0' || s[i] > '9') goto bad;
        } else if (s[i] != shape[i])
            goto bad;
    }
#define NUM(a, n) ({ unsigned v_ = 0; for (size_t k_ = (a); k_ < (a) + (n); k_++) v_ = v_ * 10 + (unsigned)(s[k_] - '0'); v_; })
    unsigned y = NUM(0, 4), mo = NUM(5, 2), d = NUM(8, 2), h = NUM(11, 2), mi = NUM(14, 2), se = NUM(17, 2);
#undef NUM
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 59) goto bad;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap) goto bad;
    *out = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + (int64_t)se;
    return TKM_RC_OK;
bad:
    tkm_err_detail_set("time \"%.*s\" is not YYYY-MM-DDTHH:MM:SSZ", (int)(len > 40 ? 40 : len), s);
    TKM_ENSURE(0, TKM_ERR_FORMAT);
}

/* ---- status names ---- */

static const char *const STATUS_NAMES[] = {NULL,
                                           "UpToDate",
                                           "SWHardeningNeeded",
                                           "ConfigurationNeeded",
                                           "ConfigurationAndSWHardeningNeeded",
                                           "OutOfDate",
                                           "OutOfDateConfigurationNeeded",
                                           "Revoked"};

const char *tkm_tcb_status_name(tkm_tcb_status s) {
    return (unsigned)s < sizeof STATUS_NAMES / sizeof STATUS_NAMES[0] ? STATUS_NAMES[s] : NULL;
}

tkm_tcb_status tkm_tcb_status_from_name(const char *s, size_t len) {
    for (int i = 1; i <= TKM_TCB_REVOKED; i++)
        if (strlen(STATUS_NAMES[i]) == len && memcmp(STATUS_NAMES[i], s, len) == 0) return (tkm_tcb_status)i;
    return TKM_TCB_NONE;
}

/* ---- small strict getters over jansson ---- */

static tkm_rc jfail(tkm_err code, const char *path, const char *key, const char *why) {
    tkm_err_detail_set("%s%s%s: %s", path, key ? "." : "", key ? key : "", why);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(code);
}

/* Upper- or lower-case hex without prefix, exactly n bytes. */
static tkm_rc jhex(const json_t *o, const char *path, const char *key, uint8_t *out, size_t n) {
    const char *s;
    size_t l;
    TKM_TRY(tkm_json_str(o, path, key, 1, &s, &l));
    if (tkm_failed(tkm_hex_decode_exact(out, n, s, l, TKM_HEX_0X_FORBIDDEN)))
        return jfail(TKM_ERR_COLLATERAL, path, key, "must be hex of the right length");
    return TKM_RC_OK;
}

static tkm_rc jtime(const json_t *o, const char *path, const char *key, int64_t *t) {
    const char *s;
    size_t l;
    TKM_TRY(tkm_json_str(o, path, key, 1, &s, &l));
    if (tkm_failed(tkm_attest_parse_time(t, s, l)))
        return jfail(TKM_ERR_COLLATERAL, path, key, "must be a time YYYY-MM-DDTHH:MM:SSZ");
    return TKM_RC_OK;
}

static tkm_rc jstatus(const json_t *o, const char *path, tkm_tcb_status *st) {
    const char *s;
    size_t l;
    TKM_TRY(tkm_json_str(o, path, "tcbStatus", 1, &s, &l));
    *st = tkm_tcb_status_from_name(s, l);
    if (*st == TKM_TCB_NONE) return jfail(TKM_ERR_COLLATERAL, path, "tcbStatus", "unknown TCB status");
    return TKM_RC_OK;
}

static void free_adv(char **adv, size_t n) {
    if (!adv) return;
    for (size_t i = 0; i < n; i++) free(adv[i]);
    free(adv);
}

/* advisoryIDs: optional array of "INTEL-SA-01234"-like strings. */
static tkm_rc jadvisories(const json_t *o, const char *path, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    json_t *a;
    TKM_TRY(tkm_json_get(o, path, "advisoryIDs", 0, &a));
    if (!a) return TKM_RC_OK;
    if (!json_is_array(a)) return jfail(TKM_ERR_JSON_TYPE, path, "advisoryIDs", "must be an array");
    size_t cnt = json_array_size(a);
    if (cnt > MAX_ADVISORIES) return jfail(TKM_ERR_COLLATERAL, path, "advisoryIDs", "too many entries");
    if (cnt == 0) return TKM_RC_OK;
    char **v = calloc(cnt, sizeof *v);
    if (!v) return TKM_RC(TKM_ERR_NOMEM);
    for (size_t i = 0; i < cnt; i++) {
        json_t *e = json_array_get(a, i);
        const char *s = json_string_value(e);
        size_t l = json_is_string(e) ? json_string_length(e) : 0;
        int ok = s && l > 0 && l < TKM_ADVISORY_ID_LEN;
        for (size_t k = 0; ok && k < l; k++)
            ok = (s[k] >= 'A' && s[k] <= 'Z') || (s[k] >= '0' && s[k] <= '9') || s[k] == '-';
        if (!ok) {
            free_adv(v, cnt);
            return jfail(TKM_ERR_COLLATERAL, path, "advisoryIDs", "entries must be IDs like INTEL-SA-00123");
        }
        v[i] = strdup(s);
        if (!v[i]) {
            free_adv(v, cnt);
            return TKM_RC(TKM_ERR_NOMEM);
        }
    }
    *out = v;
    *n = cnt;
    return TKM_RC_OK;
}

/* [{"tcb":{"isvsvn":N},"tcbDate":..,"tcbStatus":..,"advisoryIDs"?:[..]}] (QE and TDX module levels) */
static tkm_rc isvsvn_levels(const json_t *o, const char *path, attest_qe_level **out, size_t *n) {
    *out = NULL;
    *n = 0;
    json_t *a;
    TKM_TRY(tkm_json_get(o, path, "tcbLevels", 1, &a));
    if (!json_is_array(a)) return jfail(TKM_ERR_JSON_TYPE, path, "tcbLevels", "must be an array");
    size_t cnt = json_array_size(a);
    if (cnt == 0 || cnt > MAX_LEVELS) return jfail(TKM_ERR_COLLATERAL, path, "tcbLevels", "must have 1..256 entries");
    attest_qe_level *lv = calloc(cnt, sizeof *lv);
    if (!lv) return TKM_RC(TKM_ERR_NOMEM);
    tkm_rc rc = TKM_RC_OK;
    static const char *const fields[] = {"tcb", "tcbDate", "tcbStatus", "advisoryIDs", NULL};
    static const char *const tfields[] = {"isvsvn", NULL};
    char p[96], tp[112];
    size_t i;
    for (i = 0; i < cnt; i++) {
        json_t *e = json_array_get(a, i), *t;
        int64_t date;
        snprintf(p, sizeof p, "%s.tcbLevels[%zu]", path, i);
        snprintf(tp, sizeof tp, "%s.tcb", p);
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(e, p, fields));
        TKM_CHECK_GOTO(rc, tkm_json_get(e, p, "tcb", 1, &t));
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(t, tp, tfields));
        TKM_CHECK_GOTO(rc, tkm_json_int(t, tp, "isvsvn", 1, 0, 65535, &lv[i].isvsvn, NULL));
        TKM_CHECK_GOTO(rc, jtime(e, p, "tcbDate", &date));
        TKM_CHECK_GOTO(rc, jstatus(e, p, &lv[i].status));
        TKM_CHECK_GOTO(rc, jadvisories(e, p, &lv[i].adv, &lv[i].n_adv));
    }
    *out = lv;
    *n = cnt;
    return TKM_RC_OK;
out:
    for (size_t k = 0; k < cnt; k++) free_adv(lv[k].adv, lv[k].n_adv);
    free(lv);
    return rc;
}

static void free_qe_levels(attest_qe_level *lv, size_t n) {
    if (!lv) return;
    for (size_t i = 0; i < n; i++) free_adv(lv[i].adv, lv[i].n_adv);
    free(lv);
}

/* 16 components [{"svn":N, "category"?:s, "type"?:s}] */
static tkm_rc components(const json_t *t, const char *path, const char *key, uint8_t out[16]) {
    json_t *a;
    char p[160];
    static const char *const fields[] = {"svn", "category", "type", NULL};
    TKM_TRY(tkm_json_get(t, path, key, 1, &a));
    if (!json_is_array(a) || json_array_size(a) != 16)
        return jfail(TKM_ERR_COLLATERAL, path, key, "must be an array of 16 components");
    for (size_t i = 0; i < 16; i++) {
        json_t *c = json_array_get(a, i);
        int64_t v;
        const char *s;
        snprintf(p, sizeof p, "%s.%s[%zu]", path, key, i);
        TKM_TRY(tkm_json_check_fields(c, p, fields));
        TKM_TRY(tkm_json_int(c, p, "svn", 1, 0, 255, &v, NULL));
        TKM_TRY(tkm_json_str(c, p, "category", 0, &s, NULL));
        TKM_TRY(tkm_json_str(c, p, "type", 0, &s, NULL));
        out[i] = (uint8_t)v;
    }
    return TKM_RC_OK;
}

static void tcb_info_free(attest_tcb_info *t) {
    if (t->levels) {
        for (size_t i = 0; i < t->n_levels; i++) free_adv(t->levels[i].adv, t->levels[i].n_adv);
        free(t->levels);
    }
    if (t->module_ids) {
        for (size_t i = 0; i < t->n_module_ids; i++) free_qe_levels(t->module_ids[i].levels, t->module_ids[i].n_levels);
        free(t->module_ids);
    }
    memset(t, 0, sizeof *t);
}

static tkm_rc tcb_info_parse(attest_tcb_info *t, const uint8_t *text, size_t len) {
    memset(t, 0, sizeof *t);
    json_t *j = NULL;
    tkm_rc rc;
    static const char *const fields[] = {"id", "version", "issueDate", "nextUpdate", "fmspc", "pceId", "tcbType",
                                         "tcbEvaluationDataNumber", "tdxModule", "tdxModuleIdentities",
                                         "tcbLevels", NULL};
    const char *P = "tcb_info";
    const char *id;
    size_t idl;
    int64_t v;
    TKM_CHECK_GOTO(rc, tkm_json_load(&j, text, len, NULL));
    TKM_CHECK_GOTO(rc, tkm_json_check_fields(j, P, fields));
    TKM_CHECK_GOTO(rc, tkm_json_str(j, P, "id", 1, &id, &idl));
    if (!((idl == 3 && memcmp(id, "SGX", 3) == 0) || (idl == 3 && memcmp(id, "TDX", 3) == 0))) {
        rc = jfail(TKM_ERR_COLLATERAL, P, "id", "must be \"SGX\" or \"TDX\"");
        goto out;
    }
    memcpy(t->id, id, idl);
    TKM_CHECK_GOTO(rc, tkm_json_int(j, P, "version", 1, 0, 100, &v, NULL));
    t->version = (int)v;
    if (t->version != 3) {
        rc = jfail(TKM_ERR_COLLATERAL, P, "version", "only TCB info version 3 is supported");
        goto out;
    }
    TKM_CHECK_GOTO(rc, jtime(j, P, "issueDate", &t->issue_date));
    TKM_CHECK_GOTO(rc, jtime(j, P, "nextUpdate", &t->next_update));
    TKM_CHECK_GOTO(rc, jhex(j, P, "fmspc", t->fmspc, 6));
    TKM_CHECK_GOTO(rc, jhex(j, P, "pceId", t->pce_id, 2));
    TKM_CHECK_GOTO(rc, tkm_json_int(j, P, "tcbType", 1, 0, 0, &v, NULL));
    TKM_CHECK_GOTO(rc, tkm_json_int(j, P, "tcbEvaluationDataNumber", 1, 0, INT32_MAX, &t->eval_num, NULL));
    int is_tdx = t->id[0] == 'T';
    json_t *m;
    TKM_CHECK_GOTO(rc, tkm_json_get(j, P, "tdxModule", 0, &m));
    if (m) {
        static const char *const mf[] = {"mrsigner", "attributes", "attributesMask", NULL};
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(m, "tcb_info.tdxModule", mf));
        TKM_CHECK_GOTO(rc, jhex(m, "tcb_info.tdxModule", "mrsigner", t->tdx_module_mrsigner, 48));
        TKM_CHECK_GOTO(rc, jhex(m, "tcb_info.tdxModule", "attributes", t->tdx_module_attributes, 8));
        TKM_CHECK_GOTO(rc, jhex(m, "tcb_info.tdxModule", "attributesMask", t->tdx_module_attributes_mask, 8));
        t->has_tdx_module = 1;
    }
    json_t *mids;
    TKM_CHECK_GOTO(rc, tkm_json_get(j, P, "tdxModuleIdentities", 0, &mids));
    if (mids) {
        if (!json_is_array(mids) || json_array_size(mids) > 64) {
            rc = jfail(TKM_ERR_COLLATERAL, P, "tdxModuleIdentities", "must be an array of at most 64");
            goto out;
        }
        size_t cnt = json_array_size(mids);
        t->module_ids = calloc(cnt ? cnt : 1, sizeof *t->module_ids);
        if (!t->module_ids) TKM_GOTO(rc, TKM_ERR_NOMEM);
        static const char *const mf[] = {"id", "mrsigner", "attributes", "attributesMask", "tcbLevels", NULL};
        for (size_t i = 0; i < cnt; i++) {
            char p[64];
            json_t *e = json_array_get(mids, i);
            attest_tdx_module_identity *mi = &t->module_ids[i];
            const char *s;
            size_t sl;
            snprintf(p, sizeof p, "tcb_info.tdxModuleIdentities[%zu]", i);
            TKM_CHECK_GOTO(rc, tkm_json_check_fields(e, p, mf));
            TKM_CHECK_GOTO(rc, tkm_json_str(e, p, "id", 1, &s, &sl));
            if (sl == 0 || sl >= sizeof mi->id) {
                rc = jfail(TKM_ERR_COLLATERAL, p, "id", "bad module identity id");
                goto out;
            }
            memcpy(mi->id, s, sl);
            TKM_CHECK_GOTO(rc, jhex(e, p, "mrsigner", mi->mrsigner, 48));
            TKM_CHECK_GOTO(rc, jhex(e, p, "attributes", mi->attributes, 8));
            TKM_CHECK_GOTO(rc, jhex(e, p, "attributesMask", mi->attributes_mask, 8));
            TKM_CHECK_GOTO(rc, isvsvn_levels(e, p, &mi->levels, &mi->n_levels));
            t->n_module_ids = i + 1;
        }
    }
    if (!is_tdx && (m || mids)) {
        rc = jfail(TKM_ERR_COLLATERAL, P, "tdxModule", "present in an SGX TCB info");
        goto out;
    }
    json_t *a;
    TKM_CHECK_GOTO(rc, tkm_json_get(j, P, "tcbLevels", 1, &a));
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > MAX_LEVELS) {
        rc = jfail(TKM_ERR_COLLATERAL, P, "tcbLevels", "must be an array of 1..256 levels");
        goto out;
    }
    size_t cnt = json_array_size(a);
    t->levels = calloc(cnt, sizeof *t->levels);
    if (!t->levels) TKM_GOTO(rc, TKM_ERR_NOMEM);
    static const char *const lf[] = {"tcb", "tcbDate", "tcbStatus", "advisoryIDs", NULL};
    static const char *const tf[] = {"sgxtcbcomponents", "pcesvn", "tdxtcbcomponents", NULL};
    for (size_t i = 0; i < cnt; i++) {
        char p[64], tp[80];
        json_t *e = json_array_get(a, i), *tcb;
        attest_tcb_level *L = &t->levels[i];
        int64_t date;
        snprintf(p, sizeof p, "tcb_info.tcbLevels[%zu]", i);
        snprintf(tp, sizeof tp, "%s.tcb", p);
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(e, p, lf));
        TKM_CHECK_GOTO(rc, tkm_json_get(e, p, "tcb", 1, &tcb));
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(tcb, tp, tf));
        TKM_CHECK_GOTO(rc, components(tcb, tp, "sgxtcbcomponents", L->sgx_comp));
        L->n_sgx = 16;
        TKM_CHECK_GOTO(rc, tkm_json_int(tcb, tp, "pcesvn", 1, 0, 65535, &v, NULL));
        L->pcesvn = (uint16_t)v;
        json_t *tc;
        TKM_CHECK_GOTO(rc, tkm_json_get(tcb, tp, "tdxtcbcomponents", 0, &tc));
        if (is_tdx != (tc != NULL)) {
            rc = jfail(TKM_ERR_COLLATERAL, tp, "tdxtcbcomponents", is_tdx ? "missing in a TDX TCB info" : "present in an SGX TCB info");
            goto out;
        }
        if (tc) {
            TKM_CHECK_GOTO(rc, components(tcb, tp, "tdxtcbcomponents", L->tdx_comp));
            L->n_tdx = 16;
        }
        TKM_CHECK_GOTO(rc, jtime(e, p, "tcbDate", &date));
        TKM_CHECK_GOTO(rc, jstatus(e, p, &L->status));
        TKM_CHECK_GOTO(rc, jadvisories(e, p, &L->adv, &L->n_adv));
        t->n_levels = i + 1;
    }
    rc = TKM_RC_OK;
out:
    json_decref(j);
    if (tkm_failed(rc)) tcb_info_free(t);
    return rc;
}

static void qe_identity_free(attest_qe_identity *q) {
    free_qe_levels(q->levels, q->n_levels);
    memset(q, 0, sizeof *q);
}

static tkm_rc qe_identity_parse(attest_qe_identity *q, const uint8_t *text, size_t len) {
    memset(q, 0, sizeof *q);
    json_t *j = NULL;
    tkm_rc rc;
    static const char *const fields[] = {"id", "version", "issueDate", "nextUpdate", "tcbEvaluationDataNumber",
                                         "miscselect", "miscselectMask", "attributes", "attributesMask",
                                         "mrsigner", "isvprodid", "tcbLevels", NULL};
    const char *P = "qe_identity";
    const char *id;
    size_t idl;
    int64_t v;
    uint8_t b4[4];
    TKM_CHECK_GOTO(rc, tkm_json_load(&j, text, len, NULL));
    TKM_CHECK_GOTO(rc, tkm_json_check_fields(j, P, fields));
    TKM_CHECK_GOTO(rc, tkm_json_str(j, P, "id", 1, &id, &idl));
    if (!((idl == 2 && memcmp(id, "QE", 2) == 0) || (idl == 5 && memcmp(id, "TD_QE", 5) == 0))) {
        rc = jfail(TKM_ERR_COLLATERAL, P, "id", "must be \"QE\" or \"TD_QE\"");
        goto out;
    }
    memcpy(q->id, id, idl);
    TKM_CHECK_GOTO(rc, tkm_json_int(j, P, "version", 1, 0, 100, &v, NULL));
    q->version = (int)v;
    if (q->version != 2) {
        rc = jfail(TKM_ERR_COLLATERAL, P, "version", "only QE identity version 2 is supported");
        goto out;
    }
    TKM_CHECK_GOTO(rc, jtime(j, P, "issueDate", &q->issue_date));
    TKM_CHECK_GOTO(rc, jtime(j, P, "nextUpdate", &q->next_update));
    TKM_CHECK_GOTO(rc, tkm_json_int(j, P, "tcbEvaluationDataNumber", 1, 0, INT32_MAX, &q->eval_num, NULL));
    /* miscselect hex = the 4 bytes as they appear in the report (read little-endian, as dcap-qvl does) */
    TKM_CHECK_GOTO(rc, jhex(j, P, "miscselect", b4, 4));
    q->miscselect = (uint32_t)b4[3] << 24 | (uint32_t)b4[2] << 16 | (uint32_t)b4[1] << 8 | b4[0];
    TKM_CHECK_GOTO(rc, jhex(j, P, "miscselectMask", b4, 4));
    q->miscselect_mask = (uint32_t)b4[3] << 24 | (uint32_t)b4[2] << 16 | (uint32_t)b4[1] << 8 | b4[0];
    TKM_CHECK_GOTO(rc, jhex(j, P, "attributes", q->attributes, 16));
    TKM_CHECK_GOTO(rc, jhex(j, P, "attributesMask", q->attributes_mask, 16));
    TKM_CHECK_GOTO(rc, jhex(j, P, "mrsigner", q->mrsigner, 32));
    TKM_CHECK_GOTO(rc, tkm_json_int(j, P, "isvprodid", 1, 0, 65535, &v, NULL));
    q->isvprodid = (uint16_t)v;
    TKM_CHECK_GOTO(rc, isvsvn_levels(j, P, &q->levels, &q->n_levels));
    rc = TKM_RC_OK;
out:
    json_decref(j);
    if (tkm_failed(rc)) qe_identity_free(q);
    return rc;
}

/* ---- the collateral document ---- */

static void doc_free(attest_signed_doc *d) {
    free(d->text);
    free(d->chain_pem);
    if (d->chain) sk_X509_pop_free(d->chain, X509_free);
    memset(d, 0, sizeof *d);
}

static tkm_rc dup_bytes(uint8_t **out, const char *s, size_t n) {
    *out = malloc(n ? n : 1);
    if (!*out) return TKM_RC(TKM_ERR_NOMEM);
    if (n) memcpy(*out, s, n);
    return TKM_RC_OK;
}

/*
 * One signed document: text (exact bytes), its issuer chain, its 64-byte
 * r‖s signature. The signature is checked here, once, against chain[0]; the
 * chain is checked against the pinned root at appraisal time.
 */
static tkm_rc doc_load(attest_signed_doc *d, const json_t *j, const char *text_key, const char *chain_key,
                       const char *sig_key) {
    const char *s;
    size_t l;
    uint8_t sig[64];
    TKM_TRY(tkm_json_str(j, "", text_key, 1, &s, &l));
    TKM_TRY(dup_bytes(&d->text, s, l));
    d->text_len = l;
    TKM_TRY(tkm_json_str(j, "", chain_key, 1, &s, &l));
    TKM_TRY(dup_bytes(&d->chain_pem, s, l));
    d->chain_len = l;
    TKM_TRY(tkm_sha256(d->chain_digest, s, l));
    tkm_rc rc = attest_pem_chain_parse(&d->chain, (const uint8_t *)s, l, 4);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("%s: %s", chain_key, tkm_err_detail());
        return rc;
    }
    if (sk_X509_num(d->chain) < 2) return jfail(TKM_ERR_COLLATERAL, "", chain_key, "must hold the signing certificate and the root");
    TKM_TRY(tkm_json_str(j, "", sig_key, 1, &s, &l));
    if (tkm_failed(tkm_hex_decode_exact(sig, 64, s, l, TKM_HEX_0X_FORBIDDEN)))
        return jfail(TKM_ERR_COLLATERAL, "", sig_key, "must be 128 hex digits (r ‖ s)");
    EVP_PKEY *pub = X509_get0_pubkey(sk_X509_value(d->chain, 0));
    int v = pub ? attest_ecdsa_verify(pub, EVP_sha256(), d->text, d->text_len, sig, sig + 32, 32, 0) : -1;
    if (v < 0) return TKM_OSSL_FAIL(TKM_ERR_INTERNAL, "collateral signature check");
    d->sig_ok = v == 1;
    snprintf(d->sig_detail, sizeof d->sig_detail, "%s by %s over the %zu exact signed bytes", v ? "ECDSA P-256 signature valid" : "ECDSA P-256 signature INVALID", chain_key, d->text_len);
    return TKM_RC_OK;
}

static tkm_rc crl_hex(X509_CRL **out, const json_t *j, const char *key, uint8_t digest[32]) {
    const char *s;
    size_t l;
    uint8_t *der = NULL;
    size_t dl = 0;
    TKM_TRY(tkm_json_str(j, "", key, 1, &s, &l));
    if (tkm_failed(tkm_hex_decode_alloc(&der, &dl, s, l, TKM_HEX_0X_OPTIONAL, COLLATERAL_MAX_BYTES)))
        return jfail(TKM_ERR_COLLATERAL, "", key, "must be the hex of a DER CRL");
    tkm_rc rc = tkm_sha256(digest, der, dl);
    if (tkm_ok(rc)) {
        rc = attest_crl_from_der(out, der, dl);
        if (tkm_failed(rc)) tkm_err_detail_set("%s: %s", key, tkm_err_detail());
    }
    free(der);
    return rc;
}

static void dcap_coll_free(attest_dcap_coll *c) {
    X509_CRL_free(c->root_crl);
    X509_CRL_free(c->pck_crl);
    if (c->pck_crl_chain) sk_X509_pop_free(c->pck_crl_chain, X509_free);
    doc_free(&c->tcb_doc);
    doc_free(&c->qe_doc);
    tcb_info_free(&c->tcb);
    qe_identity_free(&c->qe);
}

tkm_rc tkm_dcap_collateral_parse(tkm_collateral **out, const uint8_t *buf, size_t len) {
    *out = NULL;
    TKM_ARG_CHECK(buf != NULL || len == 0);
    tkm_json_limits lim = {.max_bytes = COLLATERAL_MAX_BYTES, .max_depth = 4};
    json_t *j = NULL;
    tkm_rc rc;
    tkm_collateral *c = calloc(1, sizeof *c);
    if (!c) return TKM_RC(TKM_ERR_NOMEM);
    c->vendor = TKM_PLATFORM_SGX;
    attest_dcap_coll *d = &c->dcap;
    static const char *const fields[] = {"pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain",
                                         "tcb_info", "tcb_info_signature", "qe_identity_issuer_chain",
                                         "qe_identity", "qe_identity_signature", NULL};
    TKM_CHECK_GOTO(rc, tkm_json_load(&j, buf, len, &lim));
    TKM_CHECK_GOTO(rc, tkm_json_check_fields(j, "", fields));
    uint8_t dg[64];
    TKM_CHECK_GOTO(rc, crl_hex(&d->root_crl, j, "root_ca_crl", dg));
    TKM_CHECK_GOTO(rc, crl_hex(&d->pck_crl, j, "pck_crl", dg + 32));
    TKM_CHECK_GOTO(rc, tkm_sha256(d->crl_digest, dg, 64));
    const char *s;
    size_t l;
    TKM_CHECK_GOTO(rc, tkm_json_str(j, "", "pck_crl_issuer_chain", 1, &s, &l));
    rc = attest_pem_chain_parse(&d->pck_crl_chain, (const uint8_t *)s, l, 4);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("pck_crl_issuer_chain: %s", tkm_err_detail());
        goto out;
    }
    TKM_CHECK_GOTO(rc, doc_load(&d->tcb_doc, j, "tcb_info", "tcb_info_issuer_chain", "tcb_info_signature"));
    TKM_CHECK_GOTO(rc, doc_load(&d->qe_doc, j, "qe_identity", "qe_identity_issuer_chain", "qe_identity_signature"));
    /* The documents themselves must parse strictly; a document that does not parse is a bad collateral. */
    TKM_CHECK_GOTO(rc, tcb_info_parse(&d->tcb, d->tcb_doc.text, d->tcb_doc.text_len));
    TKM_CHECK_GOTO(rc, qe_identity_parse(&d->qe, d->qe_doc.text, d->qe_doc.text_len));
    *out = c;
    c = NULL;
    rc = TKM_RC_OK;
out:
    json_decref(j);
    if (c) {
        dcap_coll_free(&c->dcap);
        free(c);
    }
    return rc;
}

/* PEM text: exactly one CERTIFICATE block and at most one X509 CRL block, in either order. */
static tkm_rc snp_pem_parse(X509 **cert, X509_CRL **crl, const uint8_t *buf, size_t len) {
    tkm_rc rc = TKM_RC_OK;
    size_t pos = 0;
    if (len > 0 && buf[len - 1] == 0) len--; /* one optional trailing NUL */
    for (;;) {
        int kind;
        uint8_t *der = NULL;
        size_t dl;
        TKM_TRY(attest_pem_next(buf, len, &pos, &kind, &der, &dl));
        if (kind == ATTEST_PEM_NONE) break;
        if (kind == ATTEST_PEM_CERT && *cert) {
            tkm_err_detail_set("SNP collateral: more than one certificate (give only the VCEK/VLEK)");
            rc = TKM_RC(TKM_ERR_X509);
        } else if (kind == ATTEST_PEM_CRL && *crl) {
            tkm_err_detail_set("SNP collateral: more than one CRL");
            rc = TKM_RC(TKM_ERR_X509);
        } else if (kind == ATTEST_PEM_CERT) {
            rc = attest_x509_from_der(cert, der, dl);
        } else {
            rc = attest_crl_from_der(crl, der, dl);
        }
        free(der);
        TKM_TRY(rc);
    }
    if (!*cert) {
        tkm_err_detail_set("SNP collateral: no certificate");
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    return TKM_RC_OK;
}

/* DER: the certificate, optionally followed directly by the CRL. */
static tkm_rc snp_der_parse(X509 **cert, X509_CRL **crl, const uint8_t *buf, size_t len) {
    tkm_rd r, body;
    uint8_t tag;
    tkm_rd_init(&r, buf, len);
    TKM_TRY(attest_der_tlv(&r, &tag, &body)); /* the certificate's extent */
    size_t cl = r.off;
    if (tag != 0x30) {
        tkm_err_detail_set("SNP collateral: not a DER certificate");
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    TKM_TRY(attest_x509_from_der(cert, buf, cl));
    if (cl < len) TKM_TRY(attest_crl_from_der(crl, buf + cl, len - cl));
    return TKM_RC_OK;
}

tkm_rc tkm_snp_collateral_parse(tkm_collateral **out, const uint8_t *buf, size_t len) {
    *out = NULL;
    TKM_ARG_CHECK(buf != NULL || len == 0);
    tkm_rc rc;
    X509 *cert = NULL;
    X509_CRL *crl = NULL;
    tkm_collateral *c = calloc(1, sizeof *c);
    if (!c) return TKM_RC(TKM_ERR_NOMEM);
    c->vendor = TKM_PLATFORM_SNP;
    static const char begin[] = "-----BEGIN";
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t')) i++;
    if (len - i >= sizeof begin - 1 && memcmp(buf + i, begin, sizeof begin - 1) == 0)
        rc = snp_pem_parse(&cert, &crl, buf, len);
    else
        rc = snp_der_parse(&cert, &crl, buf, len);
    if (tkm_failed(rc)) goto out;
    TKM_CHECK_GOTO(rc, attest_x509_sha256(c->snp.digest, cert));
    TKM_CHECK_GOTO(rc, attest_vcek_ext_from_cert(&c->snp.ext, cert));
    if (crl) {
        unsigned char *der = NULL;
        int dl = i2d_X509_CRL(crl, &der);
        if (dl <= 0) TKM_GOTO(rc, TKM_ERR_NOMEM);
        rc = tkm_sha256(c->snp.crl_digest, der, (size_t)dl);
        OPENSSL_free(der);
        if (tkm_failed(rc)) goto out;
    }
    char icn[64];
    attest_name_cn(X509_get_issuer_name(cert), icn, sizeof icn);
    c->snp.is_vlek = strncmp(icn, "SEV-VLEK-", 9) == 0;
    c->snp.cert = cert;
    c->snp.crl = crl;
    cert = NULL;
    crl = NULL;
    *out = c;
    c = NULL;
    rc = TKM_RC_OK;
out:
    X509_free(cert);
    X509_CRL_free(crl);
    free(c);
    return rc;
}

tkm_platform tkm_collateral_vendor(const tkm_collateral *c) { return c->vendor; }

void tkm_collateral_free(tkm_collateral *c) {
    if (!c) return;
    dcap_coll_free(&c->dcap);
    X509_free(c->snp.cert);
    X509_CRL_free(c->snp.crl);
    free(c);
}
