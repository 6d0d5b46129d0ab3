/* see tkm_tee_evidence.h */
#include "tkm_tee_evidence.h"

#include <string.h>

const char *tkm_tee_kind_name(tkm_tee_kind k) {
    switch (k) {
    case TKM_TEE_KIND_SIM: return "sim";
    case TKM_TEE_KIND_SGX: return "sgx";
    case TKM_TEE_KIND_TDX: return "tdx";
    case TKM_TEE_KIND_SNP: return "snp";
    default: return "none";
    }
}

const char *tkm_ev_format_name(tkm_ev_format f) {
    switch (f) {
    case TKM_EV_SIM_V1: return "sim-v1";
    case TKM_EV_SGX_QUOTE: return "sgx-dcap-quote";
    case TKM_EV_TDX_QUOTE: return "tdx-quote";
    case TKM_EV_SNP_REPORT: return "snp-report";
    default: return "none";
    }
}

tkm_tee_kind tkm_ev_format_kind(tkm_ev_format f) {
    switch (f) {
    case TKM_EV_SIM_V1: return TKM_TEE_KIND_SIM;
    case TKM_EV_SGX_QUOTE: return TKM_TEE_KIND_SGX;
    case TKM_EV_TDX_QUOTE: return TKM_TEE_KIND_TDX;
    case TKM_EV_SNP_REPORT: return TKM_TEE_KIND_SNP;
    default: return TKM_TEE_KIND_NONE;
    }
}

static tkm_rc bad(const char *what) {
    tkm_err_detail_set("evidence: %s", what);
    TKM_ENSURE(0, TKM_ERR_EVIDENCE);
}

/*
 * Each format is parsed by its one byte-exact parser (tkm_evidence_format.h);
 * the view keeps what the tee and `teekm evidence show` need. The few extra
 * rules here are about what a teekm backend produces (an SGX quote is v3,
 * an SNP report is signed with ECDSA P-384): the verifier reports those as
 * named appraisal checks instead.
 */

static void view_sgx_body(tkm_ev_view *v, const tkm_sgx_report_body *b) {
    memcpy(v->measurement, b->mr_enclave, 32);
    v->measurement_len = 32;
    memcpy(v->report_data, b->report_data, TKM_REPORT_DATA_LEN);
    memcpy(v->sgx_mrsigner, b->mr_signer, 32);
    v->sgx_isv_prod_id = b->isv_prod_id;
    v->sgx_isv_svn = b->isv_svn;
    uint64_t flags = 0;
    for (size_t i = 8; i-- > 0;) flags = flags << 8 | b->attributes[i]; /* flags: the low LE u64 */
    v->sgx_attributes_flags = flags;
    v->debug = tkm_sgx_report_body_debug(b);
    v->platform = TKM_TEE_KIND_SGX;
}

static tkm_rc inspect_sim(tkm_ev_view *v, const uint8_t *ev, size_t len) {
    tkm_sim_evidence s;
    TKM_TRY(tkm_sim_evidence_parse(&s, ev, len));
    memcpy(v->measurement, s.measurement, 48);
    v->measurement_len = 48;
    memcpy(v->report_data, s.report_data, TKM_REPORT_DATA_LEN);
    v->sim_timestamp = s.timestamp;
    memcpy(v->sim_signer, s.pubkey, 65);
    v->platform = TKM_TEE_KIND_SIM;
    return TKM_RC_OK;
}

static tkm_rc inspect_sgx_quote(tkm_ev_view *v, const uint8_t *ev, size_t len) {
    tkm_dcap_quote q;
    TKM_TRY(tkm_dcap_quote_parse(&q, ev, len));
    if (q.tee_type != TKM_DCAP_TEE_SGX) return bad("sgx: quote is not an SGX quote");
    if (q.version != 3) return bad("sgx: quote version is not 3");
    v->quote_version = q.version;
    view_sgx_body(v, &q.sgx);
    return TKM_RC_OK;
}

static tkm_rc inspect_tdx_quote(tkm_ev_view *v, const uint8_t *ev, size_t len) {
    tkm_dcap_quote q;
    TKM_TRY(tkm_dcap_quote_parse(&q, ev, len));
    if (q.tee_type != TKM_DCAP_TEE_TDX) return bad("tdx: quote is not a TDX quote");
    /* the parser allows TDX in v4 and v5 only, with a TD 1.0 or TD 1.5 body */
    const tkm_td_report_body *b = &q.td;
    v->quote_version = q.version;
    memcpy(v->measurement, b->mr_td, 48);
    v->measurement_len = 48;
    memcpy(v->report_data, b->report_data, TKM_REPORT_DATA_LEN);
    memcpy(v->tdx_td_attributes, b->td_attributes, 8);
    memcpy(v->tdx_rtmr, b->rtmr, sizeof v->tdx_rtmr);
    v->debug = tkm_td_report_body_debug(b);
    v->platform = TKM_TEE_KIND_TDX;
    return TKM_RC_OK;
}

static tkm_rc inspect_snp(tkm_ev_view *v, const uint8_t *ev, size_t len) {
    tkm_snp_report s;
    TKM_TRY(tkm_snp_report_parse(&s, ev, len));
    if (s.signature_algo != 1) return bad("snp: signature algorithm is not ECDSA P-384 with SHA-384");
    v->snp_version = s.version;
    v->snp_guest_svn = s.guest_svn;
    v->snp_policy = s.policy;
    v->snp_vmpl = s.vmpl;
    memcpy(v->report_data, s.report_data, TKM_REPORT_DATA_LEN);
    memcpy(v->measurement, s.measurement, 48);
    v->measurement_len = 48;
    v->debug = tkm_snp_report_debug(&s);
    v->platform = TKM_TEE_KIND_SNP;
    return TKM_RC_OK;
}

tkm_rc tkm_ev_inspect(tkm_ev_view *v, tkm_ev_format fmt, const uint8_t *ev, size_t len) {
    memset(v, 0, sizeof *v);
    TKM_ARG_CHECK(ev != NULL || len == 0);
    TKM_ENSURE(len <= TKM_EV_MAX_BYTES, TKM_ERR_TOO_LARGE);
    tkm_rc rc;
    switch (fmt) {
    case TKM_EV_SIM_V1: rc = inspect_sim(v, ev, len); break;
    case TKM_EV_SGX_QUOTE: rc = inspect_sgx_quote(v, ev, len); break;
    case TKM_EV_TDX_QUOTE: rc = inspect_tdx_quote(v, ev, len); break;
    case TKM_EV_SNP_REPORT: rc = inspect_snp(v, ev, len); break;
    default: rc = bad("unknown format"); break;
    }
    if (tkm_failed(rc)) {
        memset(v, 0, sizeof *v);
        return rc;
    }
    v->format = fmt;
    return TKM_RC_OK;
}

tkm_rc tkm_ev_inspect_sgx_report(tkm_ev_view *v, const uint8_t *rep, size_t len) {
    memset(v, 0, sizeof *v);
    TKM_ARG_CHECK(rep != NULL || len == 0);
    tkm_rd r;
    tkm_rd_init(&r, rep, len);
    tkm_sgx_report_body b;
    tkm_rc rc = tkm_sgx_report_body_parse(&b, &r);
    if (tkm_ok(rc)) rc = tkm_rd_skip(&r, 32 + 16); /* key_id, mac */
    if (tkm_ok(rc)) rc = tkm_rd_done(&r);
    if (tkm_ok(rc)) view_sgx_body(v, &b);
    return rc;
}

static int put(json_t *o, const char *k, json_t *v) { return v ? json_object_set_new(o, k, v) : -1; }

tkm_rc tkm_ev_view_json(const tkm_ev_view *v, int with_report_data, json_t **out) {
    *out = NULL;
    json_t *o = json_object();
    TKM_ENSURE(o != NULL, TKM_ERR_NOMEM);
    int e = 0;
    e |= put(o, "platform", json_string(tkm_tee_kind_name(v->platform)));
    if (v->format != TKM_EV_NONE) e |= put(o, "format", json_string(tkm_ev_format_name(v->format)));
    e |= put(o, "measurement", tkm_json_hex_new(v->measurement, v->measurement_len));
    e |= put(o, "debug", json_boolean(v->debug));
    switch (v->platform) {
    case TKM_TEE_KIND_SIM:
        e |= put(o, "simulated", json_true());
        e |= put(o, "timestamp", json_integer((json_int_t)(v->sim_timestamp & INT64_MAX)));
        e |= put(o, "signerPublicKey", tkm_json_hex_new(v->sim_signer, 65));
        break;
    case TKM_TEE_KIND_SGX:
        e |= put(o, "mrsigner", tkm_json_hex_new(v->sgx_mrsigner, 32));
        e |= put(o, "isvProdId", json_integer(v->sgx_isv_prod_id));
        e |= put(o, "isvSvn", json_integer(v->sgx_isv_svn));
        e |= put(o, "attributesFlags", json_integer((json_int_t)(v->sgx_attributes_flags & INT64_MAX)));
        break;
    case TKM_TEE_KIND_TDX: {
        e |= put(o, "tdAttributes", tkm_json_hex_new(v->tdx_td_attributes, 8));
        json_t *rt = json_array();
        for (int i = 0; rt && i < 4; i++) e |= json_array_append_new(rt, tkm_json_hex_new(v->tdx_rtmr[i], 48));
        e |= put(o, "rtmr", rt);
        break;
    }
    case TKM_TEE_KIND_SNP:
        e |= put(o, "policy", json_integer((json_int_t)(v->snp_policy & INT64_MAX)));
        e |= put(o, "vmpl", json_integer(v->snp_vmpl));
        e |= put(o, "guestSvn", json_integer(v->snp_guest_svn));
        e |= put(o, "reportVersion", json_integer(v->snp_version));
        break;
    default: break;
    }
    if (with_report_data) e |= put(o, "reportData", tkm_json_hex_new(v->report_data, TKM_REPORT_DATA_LEN));
    if (e) {
        json_decref(o);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    *out = o;
    return TKM_RC_OK;
}
