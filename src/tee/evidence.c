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

/* ---- sim (docs/sim-evidence.md) ---- */

static const uint8_t SIM_MAGIC[8] = {'T', 'K', 'M', 'S', 'I', 'M', '0', '1'};
/* "SIMULATED — NOT SECURE" with U+2014, then 8 zero bytes */
static const uint8_t SIM_LABEL[32] = {'S', 'I', 'M', 'U', 'L', 'A', 'T', 'E', 'D', ' ', 0xe2,
                                      0x80, 0x94, ' ', 'N', 'O', 'T', ' ', 'S', 'E', 'C', 'U',
                                      'R', 'E', 0,   0,   0,   0,   0,   0,   0,   0};

static tkm_rc inspect_sim(tkm_ev_view *v, tkm_rd *r) {
    uint8_t magic[8], label[32], reserved[3], sig[64];
    uint32_t version = 0, flags = 0;
    TKM_TRY(tkm_rd_bytes(r, magic, 8));
    TKM_TRY(tkm_rd_u32le(r, &version));
    TKM_TRY(tkm_rd_u32le(r, &flags));
    TKM_TRY(tkm_rd_bytes(r, label, 32));
    TKM_TRY(tkm_rd_bytes(r, v->measurement, 48));
    TKM_TRY(tkm_rd_bytes(r, v->report_data, 64));
    TKM_TRY(tkm_rd_u64le(r, &v->sim_timestamp));
    TKM_TRY(tkm_rd_bytes(r, v->sim_signer, 65));
    TKM_TRY(tkm_rd_bytes(r, reserved, 3));
    TKM_TRY(tkm_rd_bytes(r, sig, 64));
    TKM_TRY(tkm_rd_done(r));
    if (memcmp(magic, SIM_MAGIC, 8) != 0) return bad("sim: bad magic");
    if (version != 1) return bad("sim: unsupported version");
    if (flags != 1) return bad("sim: flags must be exactly SIMULATED_NOT_SECURE");
    if (memcmp(label, SIM_LABEL, 32) != 0) return bad("sim: label is not \"SIMULATED \xe2\x80\x94 NOT SECURE\"");
    if (reserved[0] | reserved[1] | reserved[2]) return bad("sim: reserved bytes not zero");
    if (v->sim_signer[0] != 0x04) return bad("sim: signer key is not an uncompressed point");
    v->measurement_len = 48;
    v->platform = TKM_TEE_KIND_SIM;
    return TKM_RC_OK;
}

/* ---- SGX report body (384 bytes) ---- */

#define SGX_FLAGS_DEBUG ((uint64_t)0x2)

static tkm_rc read_sgx_body(tkm_ev_view *v, tkm_rd *r) {
    TKM_TRY(tkm_rd_skip(r, 48)); /* cpu_svn, misc_select, reserved, isv_ext_prod_id */
    uint64_t xfrm = 0;
    TKM_TRY(tkm_rd_u64le(r, &v->sgx_attributes_flags));
    TKM_TRY(tkm_rd_u64le(r, &xfrm));
    TKM_TRY(tkm_rd_bytes(r, v->measurement, 32)); /* MRENCLAVE @64 */
    TKM_TRY(tkm_rd_skip(r, 32));
    TKM_TRY(tkm_rd_bytes(r, v->sgx_mrsigner, 32)); /* MRSIGNER @128 */
    TKM_TRY(tkm_rd_skip(r, 32 + 64));              /* reserved, config_id */
    TKM_TRY(tkm_rd_u16le(r, &v->sgx_isv_prod_id));  /* @256 */
    TKM_TRY(tkm_rd_u16le(r, &v->sgx_isv_svn));      /* @258 */
    TKM_TRY(tkm_rd_skip(r, 2 + 42 + 16));          /* config_svn, reserved, isv_family_id */
    TKM_TRY(tkm_rd_bytes(r, v->report_data, 64));  /* @320 */
    v->measurement_len = 32;
    v->debug = (v->sgx_attributes_flags & SGX_FLAGS_DEBUG) != 0;
    v->platform = TKM_TEE_KIND_SGX;
    return TKM_RC_OK;
}

/* After the signature data: nothing, or zero padding only. */
static tkm_rc zero_tail(tkm_rd *r) {
    while (tkm_rd_left(r) > 0) {
        uint8_t b = 0;
        TKM_TRY(tkm_rd_u8(r, &b));
        if (b != 0) TKM_ENSURE(0, TKM_ERR_TRAILING);
    }
    return tkm_rd_done(r);
}

static tkm_rc sig_data(tkm_rd *r) {
    uint32_t sig_len = 0;
    TKM_TRY(tkm_rd_u32le(r, &sig_len));
    if (sig_len == 0) return bad("quote: empty signature data");
    TKM_TRY(tkm_rd_skip(r, sig_len));
    return zero_tail(r);
}

static tkm_rc inspect_sgx_quote(tkm_ev_view *v, tkm_rd *r) {
    uint16_t version = 0, att_key = 0;
    uint32_t tee_type = 0;
    TKM_TRY(tkm_rd_u16le(r, &version));
    TKM_TRY(tkm_rd_u16le(r, &att_key));
    TKM_TRY(tkm_rd_u32le(r, &tee_type));
    TKM_TRY(tkm_rd_skip(r, 40));
    if (version != 3) return bad("sgx: quote version is not 3");
    if (att_key != 2 && att_key != 3) return bad("sgx: attestation key type is not ECDSA");
    if (tee_type != 0) return bad("sgx: quote is not an SGX quote");
    v->quote_version = version;
    TKM_TRY(read_sgx_body(v, r));
    return sig_data(r);
}

/* ---- TDX ---- */

static tkm_rc read_td_body(tkm_ev_view *v, tkm_rd *r, size_t body_len) {
    tkm_rd b;
    TKM_TRY(tkm_rd_sub(r, body_len, &b));
    TKM_TRY(tkm_rd_skip(&b, 16 + 48 + 48 + 8)); /* tee_tcb_svn, mrseam, mrsignerseam, seam_attributes */
    TKM_TRY(tkm_rd_bytes(&b, v->tdx_td_attributes, 8)); /* @120 */
    TKM_TRY(tkm_rd_skip(&b, 8));                        /* xfam */
    TKM_TRY(tkm_rd_bytes(&b, v->measurement, 48));      /* MRTD @136 */
    TKM_TRY(tkm_rd_skip(&b, 48 * 3));                   /* mrconfigid, mrowner, mrownerconfig */
    for (int i = 0; i < 4; i++) TKM_TRY(tkm_rd_bytes(&b, v->tdx_rtmr[i], 48));
    TKM_TRY(tkm_rd_bytes(&b, v->report_data, 64)); /* @520 */
    if (body_len == 648) TKM_TRY(tkm_rd_skip(&b, 16 + 48)); /* tee_tcb_svn2, mrservicetd */
    TKM_TRY(tkm_rd_done(&b));
    v->measurement_len = 48;
    v->debug = (v->tdx_td_attributes[0] & 0x01) != 0;
    v->platform = TKM_TEE_KIND_TDX;
    return TKM_RC_OK;
}

static tkm_rc inspect_tdx_quote(tkm_ev_view *v, tkm_rd *r) {
    uint16_t version = 0, att_key = 0;
    uint32_t tee_type = 0;
    TKM_TRY(tkm_rd_u16le(r, &version));
    TKM_TRY(tkm_rd_u16le(r, &att_key));
    TKM_TRY(tkm_rd_u32le(r, &tee_type));
    TKM_TRY(tkm_rd_skip(r, 40));
    if (tee_type != 0x81) return bad("tdx: quote is not a TDX quote");
    if (att_key != 2) return bad("tdx: attestation key type is not ECDSA-256");
    v->quote_version = version;
    if (version == 4) {
        TKM_TRY(read_td_body(v, r, 584));
    } else if (version == 5) {
        uint16_t body_type = 0;
        uint32_t body_size = 0;
        TKM_TRY(tkm_rd_u16le(r, &body_type));
        TKM_TRY(tkm_rd_u32le(r, &body_size));
        if (!((body_type == 2 && body_size == 584) || (body_type == 3 && body_size == 648)))
            return bad("tdx: unsupported v5 body type/size");
        TKM_TRY(read_td_body(v, r, body_size));
    } else {
        return bad("tdx: quote version is not 4 or 5");
    }
    return sig_data(r);
}

/* ---- SEV-SNP ---- */

#define SNP_POLICY_DEBUG ((uint64_t)1 << 19)

static tkm_rc inspect_snp(tkm_ev_view *v, tkm_rd *r) {
    uint32_t sig_algo = 0;
    TKM_TRY(tkm_rd_u32le(r, &v->snp_version));    /* 0x00 */
    TKM_TRY(tkm_rd_u32le(r, &v->snp_guest_svn));  /* 0x04 */
    TKM_TRY(tkm_rd_u64le(r, &v->snp_policy));     /* 0x08 */
    TKM_TRY(tkm_rd_skip(r, 32));                  /* family_id, image_id */
    TKM_TRY(tkm_rd_u32le(r, &v->snp_vmpl));       /* 0x30 */
    TKM_TRY(tkm_rd_u32le(r, &sig_algo));          /* 0x34 */
    TKM_TRY(tkm_rd_skip(r, 0x50 - 0x38));         /* current_tcb, platform_info, flags, reserved */
    TKM_TRY(tkm_rd_bytes(r, v->report_data, 64)); /* 0x50 */
    TKM_TRY(tkm_rd_bytes(r, v->measurement, 48)); /* 0x90 */
    TKM_TRY(tkm_rd_skip(r, TKM_TEE_SNP_REPORT_LEN - 0xC0));
    TKM_TRY(tkm_rd_done(r));
    if (v->snp_version < 2) return bad("snp: report version < 2");
    if (sig_algo != 1) return bad("snp: signature algorithm is not ECDSA P-384 with SHA-384");
    v->measurement_len = 48;
    v->debug = (v->snp_policy & SNP_POLICY_DEBUG) != 0;
    v->platform = TKM_TEE_KIND_SNP;
    return TKM_RC_OK;
}

tkm_rc tkm_ev_inspect(tkm_ev_view *v, tkm_ev_format fmt, const uint8_t *ev, size_t len) {
    memset(v, 0, sizeof *v);
    TKM_ARG_CHECK(ev != NULL || len == 0);
    TKM_ENSURE(len <= TKM_EV_MAX_BYTES, TKM_ERR_TOO_LARGE);
    tkm_rd r;
    tkm_rd_init(&r, ev, len);
    tkm_rc rc;
    switch (fmt) {
    case TKM_EV_SIM_V1: rc = inspect_sim(v, &r); break;
    case TKM_EV_SGX_QUOTE: rc = inspect_sgx_quote(v, &r); break;
    case TKM_EV_TDX_QUOTE: rc = inspect_tdx_quote(v, &r); break;
    case TKM_EV_SNP_REPORT: rc = inspect_snp(v, &r); break;
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
    tkm_rc rc = read_sgx_body(v, &r);
    if (tkm_ok(rc)) rc = tkm_rd_skip(&r, 32 + 16); /* key_id, mac */
    if (tkm_ok(rc)) rc = tkm_rd_done(&r);
    if (tkm_failed(rc)) memset(v, 0, sizeof *v);
    return rc;
}

static json_t *hexj(const uint8_t *b, size_t n) {
    tkm_wr w;
    tkm_wr_init(&w, 0);
    json_t *s = NULL;
    if (tkm_ok(tkm_hex_encode_wr(&w, b, n, 1))) s = json_stringn((const char *)w.p, w.len);
    tkm_wr_free(&w);
    return s;
}

static int put(json_t *o, const char *k, json_t *v) { return v ? json_object_set_new(o, k, v) : -1; }

tkm_rc tkm_ev_view_json(const tkm_ev_view *v, int with_report_data, json_t **out) {
    *out = NULL;
    json_t *o = json_object();
    TKM_ENSURE(o != NULL, TKM_ERR_NOMEM);
    int e = 0;
    e |= put(o, "platform", json_string(tkm_tee_kind_name(v->platform)));
    if (v->format != TKM_EV_NONE) e |= put(o, "format", json_string(tkm_ev_format_name(v->format)));
    e |= put(o, "measurement", hexj(v->measurement, v->measurement_len));
    e |= put(o, "debug", json_boolean(v->debug));
    switch (v->platform) {
    case TKM_TEE_KIND_SIM:
        e |= put(o, "simulated", json_true());
        e |= put(o, "timestamp", json_integer((json_int_t)(v->sim_timestamp & INT64_MAX)));
        e |= put(o, "signerPublicKey", hexj(v->sim_signer, 65));
        break;
    case TKM_TEE_KIND_SGX:
        e |= put(o, "mrsigner", hexj(v->sgx_mrsigner, 32));
        e |= put(o, "isvProdId", json_integer(v->sgx_isv_prod_id));
        e |= put(o, "isvSvn", json_integer(v->sgx_isv_svn));
        e |= put(o, "attributesFlags", json_integer((json_int_t)(v->sgx_attributes_flags & INT64_MAX)));
        break;
    case TKM_TEE_KIND_TDX: {
        e |= put(o, "tdAttributes", hexj(v->tdx_td_attributes, 8));
        json_t *rt = json_array();
        for (int i = 0; rt && i < 4; i++) e |= json_array_append_new(rt, hexj(v->tdx_rtmr[i], 48));
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
    if (with_report_data) e |= put(o, "reportData", hexj(v->report_data, TKM_REPORT_DATA_LEN));
    if (e) {
        json_decref(o);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    *out = o;
    return TKM_RC_OK;
}
