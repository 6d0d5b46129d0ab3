/*
 * see tkm_attest.h — the result object, the appraisal policy and tkm_appraise:
 * platform verification (dcap_verify.c, snp_verify.c, sim below), then the
 * appraisal rules (debug, TCB status, measurements, freshness hooks).
 */
#include "attest_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/crypto.h"

/* ---- result recording ---- */

void attest_check(tkm_appraisal *res, const char *name, int ok, const char *fmt, ...) {
    if (res->n_checks >= TKM_APPRAISAL_MAX_CHECKS) {
        /* never drop a failure silently: the last slot turns into a failure */
        tkm_check *c = &res->checks[TKM_APPRAISAL_MAX_CHECKS - 1];
        c->name = "internal.too_many_checks";
        c->ok = 0;
        snprintf(c->detail, sizeof c->detail, "more than %d checks", TKM_APPRAISAL_MAX_CHECKS);
        return;
    }
    tkm_check *c = &res->checks[res->n_checks++];
    c->name = name;
    c->ok = ok ? 1 : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof c->detail, fmt, ap);
    va_end(ap);
}

void attest_add_advisories(tkm_appraisal *res, const char *const *ids, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int dup = 0;
        for (size_t k = 0; k < res->n_advisories && !dup; k++)
            if (strcmp(res->advisory_ids[k], ids[i]) == 0) dup = 1;
        if (dup) continue;
        if (res->n_advisories >= TKM_APPRAISAL_MAX_ADVISORIES) {
            attest_check(res, "tcb.advisories", 0, "more than %d advisories", TKM_APPRAISAL_MAX_ADVISORIES);
            return;
        }
        snprintf(res->advisory_ids[res->n_advisories++], TKM_ADVISORY_ID_LEN, "%s", ids[i]);
    }
}

const tkm_check *tkm_appraisal_find(const tkm_appraisal *res, const char *name) {
    for (size_t i = 0; i < res->n_checks; i++)
        if (strcmp(res->checks[i].name, name) == 0) return &res->checks[i];
    return NULL;
}

const tkm_check *tkm_appraisal_first_failure(const tkm_appraisal *res) {
    for (size_t i = 0; i < res->n_checks; i++)
        if (!res->checks[i].ok) return &res->checks[i];
    return NULL;
}

void tkm_appraisal_parse_failure(tkm_appraisal *res, tkm_platform platform, tkm_rc rc, const char *detail) {
    memset(res, 0, sizeof *res);
    res->platform = platform;
    res->verdict = TKM_VERDICT_INVALID;
    attest_check(res, "evidence.parse", 0, "%s (%s)%s%s", tkm_err_str(rc.code), tkm_err_name(rc.code),
                 detail && detail[0] ? ": " : "", detail ? detail : "");
}

static tkm_rc put_hex(json_t *o, const char *key, const uint8_t *b, size_t n) {
    char buf[2 * 64 + 1];
    if (n > 64) return TKM_RC(TKM_ERR_INTERNAL);
    TKM_TRY(tkm_hex_encode(buf, sizeof buf, b, n, 0));
    return json_object_set_new(o, key, json_string(buf)) == 0 ? TKM_RC_OK : TKM_RC(TKM_ERR_NOMEM);
}

const char *tkm_revocation_name(tkm_revocation r) {
    switch (r) {
    case TKM_REVOCATION_NOT_CHECKED: return "not_checked";
    case TKM_REVOCATION_CHECKED: return "checked";
    case TKM_REVOCATION_REVOKED: return "revoked";
    case TKM_REVOCATION_FAILED: return "failed";
    default: return "not_applicable";
    }
}

tkm_rc tkm_appraisal_to_json(const tkm_appraisal *res, json_t **out) {
    *out = NULL;
    tkm_rc rc = TKM_RC(TKM_ERR_NOMEM);
    json_t *o = json_object(), *adv = json_array(), *checks = json_array();
    if (!o || !adv || !checks) goto out;
    const char *st = tkm_tcb_status_name(res->tcb_status);
    int e = 0;
    e |= json_object_set_new(o, "verdict", json_string(res->verdict == TKM_VERDICT_VALID ? "valid" : "invalid"));
    e |= json_object_set_new(o, "platform", json_string(tkm_platform_name(res->platform)));
    e |= json_object_set_new(o, "simulated", json_boolean(res->simulated));
    e |= json_object_set_new(o, "tcbStatus", st ? json_string(st) : json_null());
    e |= json_object_set_new(o, "revocation", json_string(tkm_revocation_name(res->revocation)));
    for (size_t i = 0; i < res->n_advisories; i++) e |= json_array_append_new(adv, json_string(res->advisory_ids[i]));
    e |= json_object_set(o, "advisoryIds", adv);
    if (e) goto out;
    TKM_CHECK_GOTO(rc, put_hex(o, "measurement", res->measurement, res->measurement_len));
    TKM_CHECK_GOTO(rc, put_hex(o, "reportData", res->report_data, 64));
    rc = TKM_RC(TKM_ERR_NOMEM);
    e |= json_object_set_new(o, "debug", json_boolean(res->debug));
    for (size_t i = 0; i < res->n_checks; i++) {
        json_t *c = json_object();
        if (!c) goto out;
        e |= json_object_set_new(c, "name", json_string(res->checks[i].name));
        e |= json_object_set_new(c, "ok", json_boolean(res->checks[i].ok));
        e |= json_object_set_new(c, "detail", json_string(res->checks[i].detail));
        e |= json_array_append_new(checks, c);
    }
    e |= json_object_set(o, "checks", checks);
    if (e) goto out;
    *out = o;
    o = NULL;
    rc = TKM_RC_OK;
out:
    json_decref(adv);
    json_decref(checks);
    json_decref(o);
    return rc;
}

/* ---- sim ---- */

void attest_verify_sim(const tkm_evidence *ev, tkm_appraisal *res) {
    const tkm_sim_evidence *s = tkm_evidence_sim(ev);
    EVP_PKEY *pub = NULL;
    if (tkm_failed(attest_p256_from_sec1(&pub, s->pubkey))) {
        attest_check(res, "sim.signature", 0, "signer public key is not a valid P-256 point");
        return;
    }
    int v = attest_ecdsa_verify(pub, EVP_sha256(), s->signed_region, TKM_SIM_SIGNED_LEN, s->sig, s->sig + 32, 32, 0);
    EVP_PKEY_free(pub);
    attest_check(res, "sim.signature", v == 1,
                 v == 1 ? "bytes 0..235 signed by the embedded sim key (ECDSA P-256) — proves nothing about isolation"
                        : "sim evidence signature is INVALID");
}

/* ---- policy ---- */

typedef struct {
    int has_mrenclave, has_mrsigner, has_prod, has_min_svn;
    uint8_t mrenclave[32], mrsigner[32];
    uint16_t prod, min_svn;
} pol_sgx;

typedef struct {
    uint8_t mrtd[48];
    int has_rtmr[4];
    uint8_t rtmr[4][48];
    int has_mr_config_id;
    uint8_t mr_config_id[48];
} pol_tdx;

typedef struct {
    uint8_t measurement[48];
    int has_host_data, has_min_guest_svn;
    uint8_t host_data[32];
    uint32_t min_guest_svn;
} pol_snp;

struct tkm_appraisal_policy {
    unsigned accepted; /* bit per tkm_tcb_status */
    int has_tolerated;
    size_t n_tolerated;
    char tolerated[TKM_APPRAISAL_MAX_ADVISORIES][TKM_ADVISORY_ID_LEN];
    int64_t max_age; /* 0 = no limit */
    int require_nonce;
    int has_sgx, has_tdx, has_snp;
    size_t n_sgx, n_tdx, n_snp;
    pol_sgx *sgx;
    pol_tdx *tdx;
    pol_snp *snp;
    int tdx_require_sept_ve_disable;
    int snp_allow_smt, snp_allow_ma;
    int has_vmpl;
    uint32_t vmpl;
    int has_min_tcb;
    uint8_t min_bl, min_tee, min_snp, min_ucode;
    int sim_enabled;
    size_t n_sim_meas, n_sim_keys;
    uint8_t (*sim_meas)[48];
    uint8_t (*sim_keys)[65];
    unsigned key_release; /* bit per tkm_platform listed under "keyRelease" */
    uint8_t hash[32];     /* SHA-256 of the document's canonical (RFC 8785) form */
};

#define DEFAULT_ACCEPTED                                                                                   \
    ((1u << TKM_TCB_UP_TO_DATE) | (1u << TKM_TCB_SW_HARDENING_NEEDED) | (1u << TKM_TCB_CONFIGURATION_NEEDED) | \
     (1u << TKM_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED))

static tkm_rc pfail(const char *path, const char *why) {
    tkm_err_detail_set("%s: %s", path, why);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(TKM_ERR_POLICY_DOC);
}

static tkm_rc phex(const json_t *o, const char *path, const char *key, int required, uint8_t *out, size_t n, int *has) {
    const char *s;
    size_t l;
    if (has) *has = 0;
    TKM_TRY(tkm_json_str(o, path, key, required, &s, &l));
    if (!s) return TKM_RC_OK;
    if (tkm_failed(tkm_hex_decode_exact(out, n, s, l, TKM_HEX_0X_OPTIONAL))) {
        char p[128];
        snprintf(p, sizeof p, "%s.%s", path, key);
        tkm_err_detail_set("%s: must be hex of exactly %zu bytes", p, n);
        TKM_ENSURE(0, TKM_ERR_POLICY_DOC);
    }
    if (has) *has = 1;
    return TKM_RC_OK;
}

static tkm_rc parr(const json_t *o, const char *key, json_t **a, size_t max) {
    TKM_TRY(tkm_json_get(o, "", key, 0, a));
    if (*a && (!json_is_array(*a) || json_array_size(*a) > max)) return pfail(key, "must be an array (bounded size)");
    return TKM_RC_OK;
}

void tkm_appraisal_policy_free(tkm_appraisal_policy *p) {
    if (!p) return;
    free(p->sgx);
    free(p->tdx);
    free(p->snp);
    free(p->sim_meas);
    free(p->sim_keys);
    free(p);
}

static void *arr_alloc(size_t n, size_t sz) { return calloc(n ? n : 1, sz); }

tkm_rc tkm_appraisal_policy_parse(tkm_appraisal_policy **out, const uint8_t *buf, size_t len) {
    *out = NULL;
    TKM_ARG_CHECK(buf != NULL || len == 0);
    tkm_json_limits lim = {.max_bytes = 256 * 1024, .max_depth = 6};
    json_t *j = NULL, *a, *o;
    tkm_rc rc;
    int64_t v;
    int b, present;
    char p[64];
    tkm_appraisal_policy *pol = calloc(1, sizeof *pol);
    if (!pol) return TKM_RC(TKM_ERR_NOMEM);
    static const char *const fields[] = {"version", "acceptedTcbStatuses", "toleratedAdvisoryIds",
                                         "maxEvidenceAgeSeconds", "requireNonce", "sgx", "tdx", "tdxOptions",
                                         "snp", "snpOptions", "sim", "keyRelease", NULL};
    TKM_CHECK_GOTO(rc, tkm_json_load(&j, buf, len, &lim));
    TKM_CHECK_GOTO(rc, tkm_json_check_fields(j, "", fields));
    TKM_CHECK_GOTO(rc, tkm_json_int(j, "", "version", 1, 1, 1, &v, NULL));
    {
        tkm_wr cw;
        tkm_wr_init(&cw, 0);
        rc = tkm_json_canonical(j, &cw);
        if (tkm_ok(rc)) rc = tkm_sha256(pol->hash, cw.p, cw.len);
        tkm_wr_free(&cw);
        if (tkm_failed(rc)) goto out;
    }
    /* platforms whose instances may receive their state key from the verifier */
    TKM_CHECK_GOTO(rc, parr(j, "keyRelease", &a, 4));
    for (size_t i = 0; a && i < json_array_size(a); i++) {
        json_t *e = json_array_get(a, i);
        const char *name = json_is_string(e) ? json_string_value(e) : "";
        tkm_platform kp = TKM_PLATFORM_UNKNOWN;
        for (int k = TKM_PLATFORM_SGX; k <= TKM_PLATFORM_SIM; k++)
            if (strcmp(name, tkm_platform_name((tkm_platform)k)) == 0) kp = (tkm_platform)k;
        if (kp == TKM_PLATFORM_UNKNOWN || (pol->key_release >> kp) & 1) {
            rc = pfail("keyRelease", "entries must be distinct platform names (sgx, tdx, snp, sim)");
            goto out;
        }
        pol->key_release |= 1u << kp;
    }
    /* TCB statuses */
    pol->accepted = DEFAULT_ACCEPTED;
    TKM_CHECK_GOTO(rc, parr(j, "acceptedTcbStatuses", &a, 7));
    if (a) {
        pol->accepted = 0;
        for (size_t i = 0; i < json_array_size(a); i++) {
            json_t *e = json_array_get(a, i);
            tkm_tcb_status st = json_is_string(e) ? tkm_tcb_status_from_name(json_string_value(e), json_string_length(e))
                                                  : TKM_TCB_NONE;
            if (st == TKM_TCB_NONE) {
                rc = pfail("acceptedTcbStatuses", "entries must be TCB status names (UpToDate, …)");
                goto out;
            }
            if (st == TKM_TCB_REVOKED) {
                rc = pfail("acceptedTcbStatuses", "Revoked can never be accepted");
                goto out;
            }
            pol->accepted |= 1u << st;
        }
        if (!pol->accepted) {
            rc = pfail("acceptedTcbStatuses", "must accept at least one status");
            goto out;
        }
    }
    TKM_CHECK_GOTO(rc, parr(j, "toleratedAdvisoryIds", &a, TKM_APPRAISAL_MAX_ADVISORIES));
    if (a) {
        pol->has_tolerated = 1;
        for (size_t i = 0; i < json_array_size(a); i++) {
            json_t *e = json_array_get(a, i);
            if (!json_is_string(e) || json_string_length(e) == 0 || json_string_length(e) >= TKM_ADVISORY_ID_LEN) {
                rc = pfail("toleratedAdvisoryIds", "entries must be advisory IDs");
                goto out;
            }
            snprintf(pol->tolerated[pol->n_tolerated++], TKM_ADVISORY_ID_LEN, "%s", json_string_value(e));
        }
    }
    TKM_CHECK_GOTO(rc, tkm_json_int(j, "", "maxEvidenceAgeSeconds", 0, 1, 366 * 86400, &pol->max_age, NULL));
    TKM_CHECK_GOTO(rc, tkm_json_bool(j, "", "requireNonce", 0, &pol->require_nonce, NULL));
    /* SGX */
    TKM_CHECK_GOTO(rc, parr(j, "sgx", &a, 256));
    if (a) {
        static const char *const f[] = {"mrenclave", "mrsigner", "isvProdId", "minIsvSvn", NULL};
        pol->has_sgx = 1;
        pol->n_sgx = json_array_size(a);
        if (!(pol->sgx = arr_alloc(pol->n_sgx, sizeof *pol->sgx))) TKM_GOTO(rc, TKM_ERR_NOMEM);
        for (size_t i = 0; i < pol->n_sgx; i++) {
            pol_sgx *e = &pol->sgx[i];
            o = json_array_get(a, i);
            snprintf(p, sizeof p, "sgx[%zu]", i);
            TKM_CHECK_GOTO(rc, tkm_json_check_fields(o, p, f));
            TKM_CHECK_GOTO(rc, phex(o, p, "mrenclave", 0, e->mrenclave, 32, &e->has_mrenclave));
            TKM_CHECK_GOTO(rc, phex(o, p, "mrsigner", 0, e->mrsigner, 32, &e->has_mrsigner));
            TKM_CHECK_GOTO(rc, tkm_json_int(o, p, "isvProdId", 0, 0, 65535, &v, &e->has_prod));
            e->prod = (uint16_t)v;
            TKM_CHECK_GOTO(rc, tkm_json_int(o, p, "minIsvSvn", 0, 0, 65535, &v, &e->has_min_svn));
            e->min_svn = (uint16_t)v;
            if (!e->has_mrenclave && !e->has_mrsigner) {
                rc = pfail(p, "needs mrenclave or mrsigner");
                goto out;
            }
            if (e->has_mrsigner && !e->has_mrenclave && !e->has_prod) {
                rc = pfail(p, "an mrsigner-only entry needs isvProdId");
                goto out;
            }
        }
    }
    /* TDX */
    TKM_CHECK_GOTO(rc, parr(j, "tdx", &a, 256));
    if (a) {
        static const char *const f[] = {"mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrConfigId", NULL};
        pol->has_tdx = 1;
        pol->n_tdx = json_array_size(a);
        if (!(pol->tdx = arr_alloc(pol->n_tdx, sizeof *pol->tdx))) TKM_GOTO(rc, TKM_ERR_NOMEM);
        for (size_t i = 0; i < pol->n_tdx; i++) {
            pol_tdx *e = &pol->tdx[i];
            o = json_array_get(a, i);
            snprintf(p, sizeof p, "tdx[%zu]", i);
            TKM_CHECK_GOTO(rc, tkm_json_check_fields(o, p, f));
            TKM_CHECK_GOTO(rc, phex(o, p, "mrtd", 1, e->mrtd, 48, NULL));
            static const char *const rtmr_keys[4] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};
            for (int k = 0; k < 4; k++)
                TKM_CHECK_GOTO(rc, phex(o, p, rtmr_keys[k], 0, e->rtmr[k], 48, &e->has_rtmr[k]));
            TKM_CHECK_GOTO(rc, phex(o, p, "mrConfigId", 0, e->mr_config_id, 48, &e->has_mr_config_id));
        }
    }
    pol->tdx_require_sept_ve_disable = 1;
    TKM_CHECK_GOTO(rc, tkm_json_get(j, "", "tdxOptions", 0, &o));
    if (o) {
        static const char *const f[] = {"requireSeptVeDisable", NULL};
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(o, "tdxOptions", f));
        TKM_CHECK_GOTO(rc, tkm_json_bool(o, "tdxOptions", "requireSeptVeDisable", 0, &b, &present));
        if (present) pol->tdx_require_sept_ve_disable = b;
    }
    /* SNP */
    TKM_CHECK_GOTO(rc, parr(j, "snp", &a, 256));
    if (a) {
        static const char *const f[] = {"measurement", "hostData", "minGuestSvn", NULL};
        pol->has_snp = 1;
        pol->n_snp = json_array_size(a);
        if (!(pol->snp = arr_alloc(pol->n_snp, sizeof *pol->snp))) TKM_GOTO(rc, TKM_ERR_NOMEM);
        for (size_t i = 0; i < pol->n_snp; i++) {
            pol_snp *e = &pol->snp[i];
            o = json_array_get(a, i);
            snprintf(p, sizeof p, "snp[%zu]", i);
            TKM_CHECK_GOTO(rc, tkm_json_check_fields(o, p, f));
            TKM_CHECK_GOTO(rc, phex(o, p, "measurement", 1, e->measurement, 48, NULL));
            TKM_CHECK_GOTO(rc, phex(o, p, "hostData", 0, e->host_data, 32, &e->has_host_data));
            TKM_CHECK_GOTO(rc, tkm_json_int(o, p, "minGuestSvn", 0, 0, UINT32_MAX, &v, &e->has_min_guest_svn));
            e->min_guest_svn = (uint32_t)v;
        }
    }
    pol->snp_allow_smt = 1;
    TKM_CHECK_GOTO(rc, tkm_json_get(j, "", "snpOptions", 0, &o));
    if (o) {
        static const char *const f[] = {"allowSmt", "allowMigrationAgent", "vmpl", "minTcb", NULL};
        static const char *const tf[] = {"bootloader", "tee", "snp", "microcode", NULL};
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(o, "snpOptions", f));
        TKM_CHECK_GOTO(rc, tkm_json_bool(o, "snpOptions", "allowSmt", 0, &b, &present));
        if (present) pol->snp_allow_smt = b;
        TKM_CHECK_GOTO(rc, tkm_json_bool(o, "snpOptions", "allowMigrationAgent", 0, &pol->snp_allow_ma, NULL));
        TKM_CHECK_GOTO(rc, tkm_json_int(o, "snpOptions", "vmpl", 0, 0, 3, &v, &pol->has_vmpl));
        pol->vmpl = (uint32_t)v;
        json_t *t;
        TKM_CHECK_GOTO(rc, tkm_json_get(o, "snpOptions", "minTcb", 0, &t));
        if (t) {
            int64_t x[4];
            TKM_CHECK_GOTO(rc, tkm_json_check_fields(t, "snpOptions.minTcb", tf));
            for (int k = 0; k < 4; k++) TKM_CHECK_GOTO(rc, tkm_json_int(t, "snpOptions.minTcb", tf[k], 1, 0, 255, &x[k], NULL));
            pol->has_min_tcb = 1;
            pol->min_bl = (uint8_t)x[0];
            pol->min_tee = (uint8_t)x[1];
            pol->min_snp = (uint8_t)x[2];
            pol->min_ucode = (uint8_t)x[3];
        }
    }
    /* sim */
    TKM_CHECK_GOTO(rc, tkm_json_get(j, "", "sim", 0, &o));
    if (o) {
        static const char *const f[] = {"enabled", "measurements", "signerPublicKeys", NULL};
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(o, "sim", f));
        TKM_CHECK_GOTO(rc, tkm_json_bool(o, "sim", "enabled", 1, &pol->sim_enabled, NULL));
        json_t *m;
        TKM_CHECK_GOTO(rc, tkm_json_get(o, "sim", "measurements", 0, &m));
        if (m) {
            if (!json_is_array(m) || json_array_size(m) > 256) {
                rc = pfail("sim.measurements", "must be an array");
                goto out;
            }
            pol->n_sim_meas = json_array_size(m);
            if (!(pol->sim_meas = arr_alloc(pol->n_sim_meas, sizeof *pol->sim_meas))) TKM_GOTO(rc, TKM_ERR_NOMEM);
            for (size_t i = 0; i < pol->n_sim_meas; i++) {
                snprintf(p, sizeof p, "sim.measurements[%zu]", i);
                TKM_CHECK_GOTO(rc, tkm_json_value_hexfixed(json_array_get(m, i), p, pol->sim_meas[i], 48));
            }
        }
        TKM_CHECK_GOTO(rc, tkm_json_get(o, "sim", "signerPublicKeys", 0, &m));
        if (m) {
            if (!json_is_array(m) || json_array_size(m) > 256) {
                rc = pfail("sim.signerPublicKeys", "must be an array");
                goto out;
            }
            pol->n_sim_keys = json_array_size(m);
            if (!(pol->sim_keys = arr_alloc(pol->n_sim_keys, sizeof *pol->sim_keys))) TKM_GOTO(rc, TKM_ERR_NOMEM);
            for (size_t i = 0; i < pol->n_sim_keys; i++) {
                snprintf(p, sizeof p, "sim.signerPublicKeys[%zu]", i);
                TKM_CHECK_GOTO(rc, tkm_json_value_hexfixed(json_array_get(m, i), p, pol->sim_keys[i], 65));
            }
        }
    }
    *out = pol;
    pol = NULL;
    rc = TKM_RC_OK;
out:
    json_decref(j);
    tkm_appraisal_policy_free(pol);
    return rc;
}

void tkm_appraisal_policy_hash(const tkm_appraisal_policy *p, uint8_t out[static 32]) {
    memcpy(out, p->hash, 32);
}

int tkm_appraisal_policy_key_release(const tkm_appraisal_policy *p, tkm_platform platform) {
    return (unsigned)platform < 32 && ((p->key_release >> platform) & 1);
}

/* ---- appraisal rules ---- */

static void appraise_tdx_attributes(const tkm_dcap_quote *q, const tkm_appraisal_policy *pol, tkm_appraisal *res) {
    const uint8_t *a = q->td.td_attributes;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | a[i];
    int require_sept = pol ? pol->tdx_require_sept_ve_disable : 1;
    uint64_t reserved = (v & 0x0FFFFF00ull) | (v & (1ull << 29)) | (v & 0x7FFFFFFF00000000ull);
    if (reserved)
        attest_check(res, "tdx.attributes", 0, "TD attributes 0x%016llx have reserved bits set", (unsigned long long)v);
    else if (require_sept && !(v & (1ull << 28)))
        attest_check(res, "tdx.attributes", 0, "SEPT_VE_DISABLE is not set (TD attributes 0x%016llx)", (unsigned long long)v);
    else
        attest_check(res, "tdx.attributes", 1, "TD attributes 0x%016llx%s", (unsigned long long)v,
                     (v & (1ull << 28)) ? ", SEPT_VE_DISABLE" : "");
}

static void appraise_snp_policy(const tkm_snp_report *s, const tkm_appraisal_policy *pol, tkm_appraisal *res) {
    int allow_smt = pol ? pol->snp_allow_smt : 1, allow_ma = pol ? pol->snp_allow_ma : 0;
    if ((s->policy & TKM_SNP_POLICY_MIGRATE_MA) && !allow_ma)
        attest_check(res, "snp.policy", 0, "guest policy allows a migration agent (MIGRATE_MA)");
    else if ((s->policy & TKM_SNP_POLICY_SMT) && !allow_smt)
        attest_check(res, "snp.policy", 0, "guest policy allows SMT and the appraisal policy forbids it");
    else if (pol && pol->has_vmpl && s->vmpl != pol->vmpl)
        attest_check(res, "snp.policy", 0, "VMPL %u, policy requires %u", s->vmpl, pol->vmpl);
    else if (pol && pol->has_min_tcb &&
             ((uint8_t)s->reported_tcb < pol->min_bl || (uint8_t)(s->reported_tcb >> 8) < pol->min_tee ||
              (uint8_t)(s->reported_tcb >> 48) < pol->min_snp || (uint8_t)(s->reported_tcb >> 56) < pol->min_ucode))
        attest_check(res, "snp.policy", 0, "reported TCB below the policy minimum");
    else
        attest_check(res, "snp.policy", 1, "guest policy 0x%llx: SMT %s, migration agent %s", (unsigned long long)s->policy,
                     (s->policy & TKM_SNP_POLICY_SMT) ? "allowed" : "off",
                     (s->policy & TKM_SNP_POLICY_MIGRATE_MA) ? "allowed" : "off");
}

static int match_sgx(const pol_sgx *e, const tkm_sgx_report_body *b) {
    if (e->has_mrenclave && memcmp(e->mrenclave, b->mr_enclave, 32) != 0) return 0;
    if (e->has_mrsigner && memcmp(e->mrsigner, b->mr_signer, 32) != 0) return 0;
    if (e->has_prod && e->prod != b->isv_prod_id) return 0;
    if (e->has_min_svn && b->isv_svn < e->min_svn) return 0;
    return 1;
}

static int match_tdx(const pol_tdx *e, const tkm_td_report_body *b) {
    if (memcmp(e->mrtd, b->mr_td, 48) != 0) return 0;
    for (int k = 0; k < 4; k++)
        if (e->has_rtmr[k] && memcmp(e->rtmr[k], b->rtmr[k], 48) != 0) return 0;
    if (e->has_mr_config_id && memcmp(e->mr_config_id, b->mr_config_id, 48) != 0) return 0;
    return 1;
}

static int match_snp(const pol_snp *e, const tkm_snp_report *s) {
    if (memcmp(e->measurement, s->measurement, 48) != 0) return 0;
    if (e->has_host_data && memcmp(e->host_data, s->host_data, 32) != 0) return 0;
    if (e->has_min_guest_svn && s->guest_svn < e->min_guest_svn) return 0;
    return 1;
}

static void appraise_measurement(const tkm_evidence *ev, const tkm_appraisal_policy *pol, tkm_appraisal *res) {
    tkm_platform p = tkm_evidence_platform(ev);
    size_t n = 0, hit = SIZE_MAX;
    int has = 0;
    if (p == TKM_PLATFORM_SGX) {
        has = pol->has_sgx;
        n = pol->n_sgx;
        for (size_t i = 0; i < n && hit == SIZE_MAX; i++)
            if (match_sgx(&pol->sgx[i], &tkm_evidence_dcap(ev)->sgx)) hit = i;
    } else if (p == TKM_PLATFORM_TDX) {
        has = pol->has_tdx;
        n = pol->n_tdx;
        for (size_t i = 0; i < n && hit == SIZE_MAX; i++)
            if (match_tdx(&pol->tdx[i], &tkm_evidence_dcap(ev)->td)) hit = i;
    } else if (p == TKM_PLATFORM_SNP) {
        has = pol->has_snp;
        n = pol->n_snp;
        for (size_t i = 0; i < n && hit == SIZE_MAX; i++)
            if (match_snp(&pol->snp[i], tkm_evidence_snp(ev))) hit = i;
    } else {
        const tkm_sim_evidence *s = tkm_evidence_sim(ev);
        has = pol->sim_enabled;
        if (pol->n_sim_meas == 0) {
            if (has) attest_check(res, "policy.measurement", 1, "sim: policy pins no measurement");
            if (has) return;
        }
        n = pol->n_sim_meas;
        for (size_t i = 0; i < n && hit == SIZE_MAX; i++)
            if (memcmp(pol->sim_meas[i], s->measurement, 48) == 0) hit = i;
    }
    if (!has)
        attest_check(res, "policy.measurement", 0, "the policy accepts no %s evidence", tkm_platform_name(p));
    else if (hit == SIZE_MAX)
        attest_check(res, "policy.measurement", 0, "no %s entry of the policy matches (%zu entries)", tkm_platform_name(p), n);
    else
        attest_check(res, "policy.measurement", 1, "matches %s entry %zu of the policy", tkm_platform_name(p), hit);
}

tkm_rc tkm_appraise(tkm_attest_ctx *ctx, const tkm_evidence *ev, const tkm_collateral *coll,
                    const tkm_appraisal_policy *pol, const tkm_appraise_opts *opts, tkm_appraisal *res) {
    memset(res, 0, sizeof *res);
    res->verdict = TKM_VERDICT_INVALID;
    tkm_platform p = tkm_evidence_platform(ev);
    res->platform = p;
    res->simulated = p == TKM_PLATFORM_SIM;
    const uint8_t *m = tkm_evidence_measurement(ev, &res->measurement_len);
    memcpy(res->measurement, m, res->measurement_len);
    memcpy(res->report_data, tkm_evidence_report_data(ev), 64);
    res->debug = tkm_evidence_debug(ev);
    int64_t at = opts->at;

    /* 1. authenticity */
    switch (p) {
    case TKM_PLATFORM_SGX:
    case TKM_PLATFORM_TDX: attest_verify_dcap(ctx, ev, coll, at, res); break;
    case TKM_PLATFORM_SNP: attest_verify_snp(ctx, ev, coll, at, res); break;
    case TKM_PLATFORM_SIM: attest_verify_sim(ev, res); break;
    default: attest_check(res, "evidence.parse", 0, "unknown platform"); break;
    }

    /* 2. debug is never acceptable */
    if (p != TKM_PLATFORM_SIM)
        attest_check(res, "debug", !res->debug, res->debug ? "the %s is in DEBUG mode: its memory is not confidential"
                                                           : "the %s is not in debug mode",
                     p == TKM_PLATFORM_SGX ? "enclave" : "guest");
    if (p == TKM_PLATFORM_TDX) appraise_tdx_attributes(tkm_evidence_dcap(ev), pol, res);
    if (p == TKM_PLATFORM_SNP) appraise_snp_policy(tkm_evidence_snp(ev), pol, res);

    /* 3. TCB status (Intel) */
    if (p == TKM_PLATFORM_SGX || p == TKM_PLATFORM_TDX) {
        unsigned accepted = pol ? pol->accepted : DEFAULT_ACCEPTED;
        if (res->tcb_status == TKM_TCB_NONE)
            attest_check(res, "tcb.status", 0, "no TCB status could be determined");
        else
            attest_check(res, "tcb.status", (accepted >> res->tcb_status) & 1, "%s is %s by %s",
                         tkm_tcb_status_name(res->tcb_status), ((accepted >> res->tcb_status) & 1) ? "accepted" : "NOT accepted",
                         pol ? "the appraisal policy" : "the default rules");
        if (pol && pol->has_tolerated) {
            const char *bad = NULL;
            for (size_t i = 0; i < res->n_advisories && !bad; i++) {
                int ok = 0;
                for (size_t k = 0; k < pol->n_tolerated && !ok; k++)
                    if (strcmp(pol->tolerated[k], res->advisory_ids[i]) == 0) ok = 1;
                if (!ok) bad = res->advisory_ids[i];
            }
            if (bad)
                attest_check(res, "tcb.advisories", 0, "advisory %s is not tolerated by the policy", bad);
            else
                attest_check(res, "tcb.advisories", 1, "all %zu advisories are tolerated by the policy", res->n_advisories);
        }
    }

    /* 4. sim: only when the policy explicitly enables it */
    if (p == TKM_PLATFORM_SIM) {
        const tkm_sim_evidence *s = tkm_evidence_sim(ev);
        if (!pol || !pol->sim_enabled) {
            attest_check(res, "policy.sim", 0, "simulated evidence (no TEE): accepted only when the appraisal policy enables sim");
        } else {
            int key_ok = pol->n_sim_keys == 0;
            for (size_t i = 0; i < pol->n_sim_keys && !key_ok; i++)
                if (memcmp(pol->sim_keys[i], s->pubkey, 65) == 0) key_ok = 1;
            attest_check(res, "policy.sim", key_ok, key_ok ? "sim enabled by the policy%s — SIMULATED, NOT SECURE"
                                                           : "sim signer key is not one the policy pins%s",
                         pol->n_sim_keys ? " (signer key pinned)" : "");
        }
    }

    /* 5. the policy's measurement allowlist and service hooks */
    if (pol) {
        appraise_measurement(ev, pol, res);
        if (pol->require_nonce)
            attest_check(res, "policy.nonce", opts->nonce_bound && opts->expected_report_data != NULL,
                         opts->nonce_bound && opts->expected_report_data ? "report_data binds a fresh verifier nonce"
                                                                         : "the policy requires a verifier nonce and none was bound");
        if (pol->max_age) {
            if (!opts->evidence_time)
                attest_check(res, "policy.freshness", 0, "the policy limits evidence age to %llds but the evidence time is unknown",
                             (long long)pol->max_age);
            else
                attest_check(res, "policy.freshness", at >= opts->evidence_time && at - opts->evidence_time <= pol->max_age,
                             "evidence age %llds, limit %llds", (long long)(at - opts->evidence_time), (long long)pol->max_age);
        }
    }
    if (opts->expected_report_data) {
        int ok = tkm_ct_eq(opts->expected_report_data, res->report_data, 64);
        attest_check(res, "report_data", ok, ok ? "report_data equals the value recomputed from the claims"
                                                : "report_data differs from the value recomputed from the claims");
    }

    res->verdict = tkm_appraisal_first_failure(res) == NULL && res->n_checks > 0 ? TKM_VERDICT_VALID : TKM_VERDICT_INVALID;
    return TKM_RC_OK;
}
