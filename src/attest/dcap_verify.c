/*
 * Intel SGX/TDX DCAP quote verification: every step is a named check (see
 * docs/verifier.md). The order follows Intel's QVL and dcap-qvl; every check
 * that can be evaluated is evaluated, so one result shows all failures.
 */
#include "attest_int.h"

#include <openssl/err.h>
#include <string.h>

#include "../crypto/crypto.h"

#define DET TKM_CHECK_DETAIL_LEN

static const char *hex8(const uint8_t *b, size_t n, char *buf) {
    /* first n (≤ 8) bytes as hex, for details */
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = d[b[i] >> 4];
        buf[2 * i + 1] = d[b[i] & 15];
    }
    buf[2 * n] = 0;
    return buf;
}

/* Intel QVL convergence of the platform status with the QE or TDX-module status. */
static tkm_tcb_status converge(tkm_tcb_status platform, tkm_tcb_status other) {
    if (other == TKM_TCB_REVOKED) return TKM_TCB_REVOKED;
    if (other == TKM_TCB_OUT_OF_DATE) {
        if (platform == TKM_TCB_UP_TO_DATE || platform == TKM_TCB_SW_HARDENING_NEEDED) return TKM_TCB_OUT_OF_DATE;
        if (platform == TKM_TCB_CONFIGURATION_NEEDED || platform == TKM_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
            return TKM_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    }
    return platform;
}

static void add_adv(tkm_appraisal *res, char **adv, size_t n) {
    attest_add_advisories(res, (const char *const *)adv, n);
}

/* ---- PCK chain (cached by chain bytes + CRLs) ---- */

typedef struct {
    int have_leaf;
    EVP_PKEY *leaf_pub;
    attest_pck_ext pck;
    int pck_ok;
} pck_state;

static void check_pck(tkm_attest_ctx *ctx, const tkm_dcap_quote *q, const attest_dcap_coll *dc, int64_t at,
                      tkm_appraisal *res, pck_state *st) {
    memset(st, 0, sizeof *st);
    uint8_t key[32];
    tkm_iov iov[3] = {{"pck", 3}, {q->pck_chain_pem, q->pck_chain_len}, {dc ? dc->crl_digest : (const uint8_t *)"", dc ? 32 : 0}};
    attest_cache_entry ce;
    int keyed = tkm_ok(tkm_sha256_v(key, iov, 3));
    if (dc && keyed && attest_cache_get(ctx, key, at, &ce)) {
        attest_check(res, "pck.chain", 1, "%s (cached outcome for these chain bytes)", ce.detail);
        attest_check(res, "pck.extension", 1, "FMSPC %s, PCESVN %u", hex8(ce.pck.fmspc, 6, (char[16]){0}), ce.pck.pce_svn);
        attest_check(res, "pck.crl", 1, "%s (cached)", ce.crl_detail);
        res->revocation = TKM_REVOCATION_CHECKED;
        st->have_leaf = 1;
        st->leaf_pub = ce.leaf_pub;
        ce.leaf_pub = NULL;
        st->pck = ce.pck;
        st->pck_ok = 1;
        attest_cache_entry_release(&ce);
        return;
    }
    STACK_OF(X509) *chain = NULL;
    memset(&ce, 0, sizeof ce);
    int chain_ok = 0, crl_ok = 0;
    int64_t lo1, hi1, lo2 = INT64_MIN, hi2 = INT64_MAX;
    tkm_rc rc = attest_pem_chain_parse(&chain, q->pck_chain_pem, q->pck_chain_len, 4);
    if (tkm_failed(rc)) {
        attest_check(res, "pck.chain", 0, "PCK certificate chain does not parse: %s", tkm_err_detail());
        attest_check(res, "pck.extension", 0, "not evaluated: no PCK certificate");
        attest_check(res, "pck.crl", 0, "not evaluated: no PCK certificate chain");
        res->revocation = TKM_REVOCATION_NOT_CHECKED;
        return;
    }
    X509 *leaf = sk_X509_value(chain, 0);
    st->have_leaf = 1;
    st->leaf_pub = X509_get0_pubkey(leaf);
    if (st->leaf_pub) EVP_PKEY_up_ref(st->leaf_pub);
    char leaf_cn[64], ca_cn[64];
    attest_name_cn(X509_get_subject_name(leaf), leaf_cn, sizeof leaf_cn);
    attest_name_cn(X509_get_issuer_name(leaf), ca_cn, sizeof ca_cn);
    char d[DET];
    chain_ok = attest_intel_chain_verify(ctx, chain, NULL, NULL, at, d, sizeof d, &lo1, &hi1);
    if (chain_ok && (strcmp(leaf_cn, "Intel SGX PCK Certificate") != 0 ||
                     (strcmp(ca_cn, "Intel SGX PCK Platform CA") != 0 && strcmp(ca_cn, "Intel SGX PCK Processor CA") != 0))) {
        chain_ok = 0;
        snprintf(d, sizeof d, "leaf \"%s\" issued by \"%s\" is not an Intel PCK certificate", leaf_cn, ca_cn);
    }
    attest_check(res, "pck.chain", chain_ok, "%s", d);
    snprintf(ce.detail, sizeof ce.detail, "%s", d);
    rc = attest_pck_ext_from_cert(&st->pck, leaf);
    st->pck_ok = tkm_ok(rc);
    if (st->pck_ok)
        attest_check(res, "pck.extension", 1, "FMSPC %s, PCESVN %u", hex8(st->pck.fmspc, 6, (char[16]){0}), st->pck.pce_svn);
    else
        attest_check(res, "pck.extension", 0, "PCK certificate SGX extension: %s", tkm_err_detail());
    if (!dc) {
        attest_check(res, "pck.crl", 0, "not evaluated: no collateral (root CA and PCK CRLs)");
        res->revocation = TKM_REVOCATION_NOT_CHECKED;
    } else {
        crl_ok = attest_intel_chain_verify(ctx, chain, dc->root_crl, dc->pck_crl, at, d, sizeof d, &lo2, &hi2);
        attest_check(res, "pck.crl", crl_ok, "%s", d);
        res->revocation = crl_ok ? TKM_REVOCATION_CHECKED
                                 : strstr(d, "revoked") ? TKM_REVOCATION_REVOKED : TKM_REVOCATION_FAILED;
        snprintf(ce.crl_detail, sizeof ce.crl_detail, "%s", d);
    }
    if (chain_ok && crl_ok && st->pck_ok && keyed && st->leaf_pub) {
        memcpy(ce.key, key, 32);
        ce.lo = lo1 > lo2 ? lo1 : lo2;
        ce.hi = hi1 < hi2 ? hi1 : hi2;
        ce.leaf_pub = st->leaf_pub; /* put() takes its own references */
        ce.pck = st->pck;
        snprintf(ce.ca_cn, sizeof ce.ca_cn, "%s", ca_cn);
        attest_cache_put(ctx, &ce);
    }
    sk_X509_pop_free(chain, X509_free);
}

/* ---- collateral documents ---- */

static void check_doc_chain(tkm_attest_ctx *ctx, const attest_dcap_coll *dc, const attest_signed_doc *doc,
                            const char *name, int64_t at, tkm_appraisal *res) {
    uint8_t key[32];
    tkm_iov iov[3] = {{name, strlen(name)}, {doc->chain_digest, 32}, {dc->crl_digest, 32}};
    attest_cache_entry ce;
    if (tkm_ok(tkm_sha256_v(key, iov, 3)) && attest_cache_get(ctx, key, at, &ce)) {
        attest_check(res, name, 1, "%s (cached)", ce.detail);
        attest_cache_entry_release(&ce);
        return;
    }
    char d[DET], cn[64];
    int64_t lo, hi;
    attest_name_cn(X509_get_subject_name(sk_X509_value(doc->chain, 0)), cn, sizeof cn);
    int ok = attest_intel_chain_verify(ctx, doc->chain, dc->root_crl, NULL, at, d, sizeof d, &lo, &hi);
    if (ok && strcmp(cn, "Intel SGX TCB Signing") != 0) {
        ok = 0;
        snprintf(d, sizeof d, "signer \"%s\" is not Intel SGX TCB Signing", cn);
    } else if (ok) {
        snprintf(d, sizeof d, "Intel SGX TCB Signing → Intel SGX Root CA, valid, not revoked (root CA CRL)");
    }
    attest_check(res, name, ok, "%s", d);
    if (ok) {
        memset(&ce, 0, sizeof ce);
        memcpy(ce.key, key, 32);
        ce.lo = lo;
        ce.hi = hi;
        snprintf(ce.detail, sizeof ce.detail, "%s", d);
        attest_cache_put(ctx, &ce);
    }
}

static char *fmt_time(int64_t t, char *buf, size_t cap) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm)) snprintf(buf, cap, "%lld", (long long)t);
    return buf;
}

static void check_window(tkm_appraisal *res, const char *name, const char *what, int64_t at, int64_t lo, int64_t hi) {
    char a[32], b[32], c[32];
    fmt_time(lo, a, sizeof a);
    fmt_time(hi, b, sizeof b);
    fmt_time(at, c, sizeof c);
    if (at < lo)
        attest_check(res, name, 0, "%s issued %s, after the verification time %s", what, a, c);
    else if (at > hi)
        attest_check(res, name, 0, "%s expired: nextUpdate %s is before the verification time %s", what, b, c);
    else
        attest_check(res, name, 1, "%s current: %s ≤ %s ≤ %s", what, a, c, b);
}

/* ---- QE identity ---- */

static tkm_tcb_status check_qe_identity(const tkm_dcap_quote *q, const attest_qe_identity *qi, int is_tdx,
                                        tkm_appraisal *res, char ***adv, size_t *nadv) {
    const tkm_sgx_report_body *qe = &q->qe_report;
    *adv = NULL;
    *nadv = 0;
    const char *want = is_tdx ? "TD_QE" : "QE";
    if (strcmp(qi->id, want) != 0) {
        attest_check(res, "qeidentity.match", 0, "QE identity is \"%s\", a %s quote needs \"%s\"", qi->id,
                     is_tdx ? "TDX" : "SGX", want);
    } else if (memcmp(qe->mr_signer, qi->mrsigner, 32) != 0) {
        attest_check(res, "qeidentity.match", 0, "QE MRSIGNER does not match the QE identity");
    } else if (qe->isv_prod_id != qi->isvprodid) {
        attest_check(res, "qeidentity.match", 0, "QE ISVPRODID %u, QE identity says %u", qe->isv_prod_id, qi->isvprodid);
    } else if ((qe->misc_select & qi->miscselect_mask) != (qi->miscselect & qi->miscselect_mask)) {
        attest_check(res, "qeidentity.match", 0, "QE MISCSELECT does not match under the mask");
    } else {
        int attr_ok = 1;
        for (int i = 0; i < 16; i++)
            if ((qe->attributes[i] & qi->attributes_mask[i]) != (qi->attributes[i] & qi->attributes_mask[i])) attr_ok = 0;
        attest_check(res, "qeidentity.match", attr_ok,
                     attr_ok ? "QE MRSIGNER, ISVPRODID %u, MISCSELECT and ATTRIBUTES match the %s identity"
                             : "QE ATTRIBUTES do not match under the mask (ISVPRODID %u, %s)",
                     qe->isv_prod_id, qi->id);
    }
    for (size_t i = 0; i < qi->n_levels; i++) {
        if (qe->isv_svn >= qi->levels[i].isvsvn) {
            attest_check(res, "qeidentity.tcb", 1, "QE ISVSVN %u matches level isvsvn %lld: %s", qe->isv_svn,
                         (long long)qi->levels[i].isvsvn, tkm_tcb_status_name(qi->levels[i].status));
            *adv = qi->levels[i].adv;
            *nadv = qi->levels[i].n_adv;
            return qi->levels[i].status;
        }
    }
    attest_check(res, "qeidentity.tcb", 0, "QE ISVSVN %u is below every TCB level of the QE identity", qe->isv_svn);
    return TKM_TCB_NONE;
}

/* ---- platform TCB level ---- */

static tkm_tcb_status check_tcb_level(const tkm_dcap_quote *q, const attest_tcb_info *ti, const attest_pck_ext *pck,
                                      int is_tdx, tkm_appraisal *res, char ***adv, size_t *nadv) {
    *adv = NULL;
    *nadv = 0;
    for (size_t i = 0; i < ti->n_levels; i++) {
        const attest_tcb_level *L = &ti->levels[i];
        if (pck->pce_svn < L->pcesvn) continue;
        int ok = 1;
        for (int k = 0; k < 16 && ok; k++)
            if (pck->tcb_comp[k] < L->sgx_comp[k]) ok = 0;
        if (ok && is_tdx) {
            if (L->n_tdx != 16) continue;
            for (int k = 0; k < 16 && ok; k++)
                if (q->td.tee_tcb_svn[k] < L->tdx_comp[k]) ok = 0;
        }
        if (!ok) continue;
        attest_check(res, "tcb.level", 1, "TCB level %zu of %zu (tcbEvaluationDataNumber %lld): %s", i + 1, ti->n_levels,
                     (long long)ti->eval_num, tkm_tcb_status_name(L->status));
        *adv = L->adv;
        *nadv = L->n_adv;
        return L->status;
    }
    attest_check(res, "tcb.level", 0, "no matching TCB level: the platform's %s are below every level of the TCB info",
                 is_tdx ? "SGX/TDX component SVNs or PCESVN" : "SGX component SVNs or PCESVN");
    return TKM_TCB_NONE;
}

/* TDX module identity (Intel QVL TdxModuleCheck): module version = tee_tcb_svn[1], its SVN = tee_tcb_svn[0]. */
static tkm_tcb_status check_tdx_module(const tkm_dcap_quote *q, const attest_tcb_info *ti, tkm_appraisal *res,
                                       char ***adv, size_t *nadv) {
    const tkm_td_report_body *td = &q->td;
    *adv = NULL;
    *nadv = 0;
    uint8_t svn = td->tee_tcb_svn[0], ver = td->tee_tcb_svn[1];
    if (!ti->has_tdx_module) {
        attest_check(res, "tdx.module", 0, "TCB info has no tdxModule");
        return TKM_TCB_NONE;
    }
    const uint8_t *mrsigner = ti->tdx_module_mrsigner, *attrs = ti->tdx_module_attributes,
                  *mask = ti->tdx_module_attributes_mask;
    tkm_tcb_status st = TKM_TCB_UP_TO_DATE;
    char id[16];
    snprintf(id, sizeof id, "TDX_%02x", ver);
    if (ver > 0) {
        const attest_tdx_module_identity *mi = NULL;
        for (size_t i = 0; i < ti->n_module_ids; i++)
            if (strcmp(ti->module_ids[i].id, id) == 0) mi = &ti->module_ids[i];
        if (!mi) {
            attest_check(res, "tdx.module", 0, "TDX module version %u: no identity %s in the TCB info", ver, id);
            return TKM_TCB_NONE;
        }
        const attest_qe_level *lv = NULL;
        for (size_t i = 0; i < mi->n_levels && !lv; i++)
            if (svn >= mi->levels[i].isvsvn) lv = &mi->levels[i];
        if (!lv) {
            attest_check(res, "tdx.module", 0, "TDX module %s SVN %u is below every level of its identity", id, svn);
            return TKM_TCB_NONE;
        }
        mrsigner = mi->mrsigner;
        attrs = mi->attributes;
        mask = mi->attributes_mask;
        st = lv->status;
        *adv = lv->adv;
        *nadv = lv->n_adv;
    }
    if (memcmp(td->mr_signer_seam, mrsigner, 48) != 0) {
        attest_check(res, "tdx.module", 0, "MRSIGNER_SEAM does not match the TDX module identity %s", ver ? id : "tdxModule");
        return TKM_TCB_NONE;
    }
    for (int i = 0; i < 8; i++)
        if ((td->seam_attributes[i] & mask[i]) != (attrs[i] & mask[i])) {
            attest_check(res, "tdx.module", 0, "SEAM attributes do not match the TDX module identity");
            return TKM_TCB_NONE;
        }
    if (ver > 0)
        attest_check(res, "tdx.module", 1, "TDX module %s SVN %u, MRSIGNER_SEAM and attributes match: %s", id, svn,
                     tkm_tcb_status_name(st));
    else
        attest_check(res, "tdx.module", 1, "TDX 1.0 module: MRSIGNER_SEAM and attributes match tdxModule");
    return st;
}

/* ---- the whole procedure ---- */

void attest_verify_dcap(tkm_attest_ctx *ctx, const tkm_evidence *ev, const tkm_collateral *coll, int64_t at,
                        tkm_appraisal *res) {
    const tkm_dcap_quote *q = tkm_evidence_dcap(ev);
    int is_tdx = tkm_evidence_platform(ev) == TKM_PLATFORM_TDX;
    const attest_dcap_coll *dc = coll && coll->vendor == TKM_PLATFORM_SGX ? &coll->dcap : NULL;

    /* 1. header */
    int hdr_ok = is_tdx ? (q->version == 4 || q->version == 5) : (q->version == 3 || q->version == 4);
    attest_check(res, "quote.header", hdr_ok, hdr_ok ? "%s quote v%u, ECDSA P-256 attestation key, Intel QE%s"
                                                     : "%s quote version %u is not accepted%s",
                 is_tdx ? "TDX" : "SGX", q->version,
                 q->body_type == TKM_DCAP_BODY_TD15 ? ", TD 1.5 body" : "");

    /* 2. collateral presence */
    if (!coll)
        attest_check(res, "collateral", 0, "no collateral given: CRLs, TCB info and QE identity cannot be checked");
    else if (!dc)
        attest_check(res, "collateral", 0, "the collateral given is AMD's, not Intel's");
    else
        attest_check(res, "collateral", 1, "Intel collateral: TCB info %s v%d (eval %lld), QE identity %s",
                     dc->tcb.id, dc->tcb.version, (long long)dc->tcb.eval_num, dc->qe.id);

    /* 3. PCK chain, extension, CRLs */
    pck_state pk;
    check_pck(ctx, q, dc, at, res, &pk);

    /* 4. QE report signature by the PCK key */
    if (!pk.leaf_pub) {
        attest_check(res, "qe.report.signature", 0, "not evaluated: no PCK public key");
    } else {
        int v = attest_ecdsa_verify(pk.leaf_pub, EVP_sha256(), q->qe_report_raw, TKM_SGX_REPORT_BODY_LEN,
                                    q->qe_report_sig, q->qe_report_sig + 32, 32, 0);
        attest_check(res, "qe.report.signature", v == 1,
                     v == 1 ? "QE report signed by the PCK key (ECDSA P-256)" : "QE report signature by the PCK key is INVALID");
    }

    /* 5. QE report data binds SHA-256(attestation key ‖ QE auth data) */
    uint8_t h[32];
    tkm_iov iov[2] = {{q->attest_key, 64}, {q->qe_auth_data, q->qe_auth_len}};
    if (tkm_failed(tkm_sha256_v(h, iov, 2))) {
        attest_check(res, "qe.report.binding", 0, "internal error hashing");
    } else {
        static const uint8_t zero[32] = {0};
        int ok = tkm_ct_eq(h, q->qe_report.report_data, 32) && memcmp(q->qe_report.report_data + 32, zero, 32) == 0;
        attest_check(res, "qe.report.binding", ok,
                     ok ? "QE report_data = SHA-256(attestation key ‖ %u-byte auth data) ‖ zeros"
                        : "QE report_data does not bind the attestation key and auth data (%u-byte auth data)",
                     q->qe_auth_len);
    }

    /* 6. quote signature by the attestation key */
    EVP_PKEY *ak = NULL;
    if (tkm_failed(attest_p256_from_xy(&ak, q->attest_key))) {
        attest_check(res, "quote.signature", 0, "attestation key is not a valid P-256 point");
    } else {
        int v = attest_ecdsa_verify(ak, EVP_sha256(), q->signed_region, q->signed_len, q->quote_sig, q->quote_sig + 32, 32, 0);
        attest_check(res, "quote.signature", v == 1,
                     v == 1 ? "header and %zu-byte report body signed by the attestation key"
                            : "quote signature over header and %zu-byte body is INVALID",
                     q->signed_len - TKM_DCAP_HEADER_LEN);
    }
    EVP_PKEY_free(ak);

    if (!dc) {
        EVP_PKEY_free(pk.leaf_pub);
        return;
    }

    /* 7. TCB info: issuer chain, signature, window, identity */
    check_doc_chain(ctx, dc, &dc->tcb_doc, "tcbinfo.chain", at, res);
    attest_check(res, "tcbinfo.signature", dc->tcb_doc.sig_ok, "%s", dc->tcb_doc.sig_detail);
    check_window(res, "tcbinfo.validity", "TCB info", at, dc->tcb.issue_date, dc->tcb.next_update);
    {
        const char *want = is_tdx ? "TDX" : "SGX";
        char a[16], b[16];
        if (strcmp(dc->tcb.id, want) != 0)
            attest_check(res, "tcbinfo.match", 0, "TCB info is for %s, the quote is %s", dc->tcb.id, want);
        else if (!pk.pck_ok)
            attest_check(res, "tcbinfo.match", 0, "not evaluated: no FMSPC from the PCK certificate");
        else if (memcmp(dc->tcb.fmspc, pk.pck.fmspc, 6) != 0)
            attest_check(res, "tcbinfo.match", 0, "FMSPC mismatch: PCK %s, TCB info %s", hex8(pk.pck.fmspc, 6, a),
                         hex8(dc->tcb.fmspc, 6, b));
        else if (memcmp(dc->tcb.pce_id, pk.pck.pce_id, 2) != 0)
            attest_check(res, "tcbinfo.match", 0, "PCE-ID mismatch: PCK %s, TCB info %s", hex8(pk.pck.pce_id, 2, a),
                         hex8(dc->tcb.pce_id, 2, b));
        else
            attest_check(res, "tcbinfo.match", 1, "%s TCB info for FMSPC %s, PCE-ID %s", want, hex8(pk.pck.fmspc, 6, a),
                         hex8(pk.pck.pce_id, 2, b));
    }

    /* 8. QE identity */
    check_doc_chain(ctx, dc, &dc->qe_doc, "qeidentity.chain", at, res);
    attest_check(res, "qeidentity.signature", dc->qe_doc.sig_ok, "%s", dc->qe_doc.sig_detail);
    check_window(res, "qeidentity.validity", "QE identity", at, dc->qe.issue_date, dc->qe.next_update);
    char **qadv, **padv = NULL, **madv = NULL;
    size_t nq, np = 0, nm = 0;
    tkm_tcb_status qst = check_qe_identity(q, &dc->qe, is_tdx, res, &qadv, &nq);

    /* 9. platform TCB level (needs the PCK TCB) and, for TDX, the module */
    tkm_tcb_status pst = TKM_TCB_NONE, mst = TKM_TCB_UP_TO_DATE;
    if (!pk.pck_ok)
        attest_check(res, "tcb.level", 0, "not evaluated: no TCB from the PCK certificate");
    else if (strcmp(dc->tcb.id, is_tdx ? "TDX" : "SGX") != 0)
        attest_check(res, "tcb.level", 0, "not evaluated: TCB info is for the other TEE");
    else
        pst = check_tcb_level(q, &dc->tcb, &pk.pck, is_tdx, res, &padv, &np);
    if (is_tdx) mst = dc->tcb.id[0] == 'T' ? check_tdx_module(q, &dc->tcb, res, &madv, &nm) : TKM_TCB_NONE;
    if (is_tdx && dc->tcb.id[0] != 'T') attest_check(res, "tdx.module", 0, "not evaluated: TCB info is not for TDX");

    /* 10. the converged status: platform, then QE, then module (Intel QVL order) */
    if (pst != TKM_TCB_NONE && qst != TKM_TCB_NONE && mst != TKM_TCB_NONE) {
        tkm_tcb_status st = converge(converge(pst, qst), mst);
        res->tcb_status = st;
        add_adv(res, padv, np);
        add_adv(res, qadv, nq);
        add_adv(res, madv, nm);
    }
    EVP_PKEY_free(pk.leaf_pub);
}
