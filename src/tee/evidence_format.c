/* see tkm_evidence_format.h — field-by-field parsers over tkm_rd. */
#include "tkm_evidence_format.h"

#include <string.h>

static const uint8_t INTEL_QE_VENDOR_ID[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
static const uint8_t SIM_LABEL[TKM_SIM_LABEL_LEN] = TKM_SIM_LABEL; /* the rest is zero */

static tkm_rc bad(tkm_err code, const char *what) {
    tkm_err_detail_set("%s", what);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(code);
}

/* Reader status → rc with a detail naming the structure that ran short. */
static tkm_rc rd_fail(const tkm_rd *r, const char *what) {
    tkm_rc rc = tkm_rd_status(r);
    if (tkm_failed(rc)) tkm_err_detail_set("%s: %s", what, tkm_err_str(rc.code));
    return rc;
}

/* Fixed-size formats: shorter is TRUNCATED, longer is TRAILING. */
static tkm_rc exact_len(size_t len, size_t want, const char *what) {
    if (len == want) return TKM_RC_OK;
    tkm_err_detail_set("%s is %zu bytes, must be exactly %zu", what, len, want);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(len < want ? TKM_ERR_TRUNCATED : TKM_ERR_TRAILING);
}

static int all_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

tkm_rc tkm_sgx_report_body_parse(tkm_sgx_report_body *b, tkm_rd *r) {
    memset(b, 0, sizeof *b);
    tkm_rd s;
    TKM_TRY(tkm_rd_sub(r, TKM_SGX_REPORT_BODY_LEN, &s));
    tkm_rc rc = TKM_RC_OK;
    rc = tkm_rd_bytes(&s, b->cpu_svn, 16);
    rc = tkm_rd_u32le(&s, &b->misc_select);
    rc = tkm_rd_skip(&s, 12); /* reserved1 */
    rc = tkm_rd_bytes(&s, b->isv_ext_prod_id, 16);
    rc = tkm_rd_bytes(&s, b->attributes, 16);
    rc = tkm_rd_bytes(&s, b->mr_enclave, 32);
    rc = tkm_rd_skip(&s, 32); /* reserved2 */
    rc = tkm_rd_bytes(&s, b->mr_signer, 32);
    rc = tkm_rd_skip(&s, 32); /* reserved3 */
    rc = tkm_rd_bytes(&s, b->config_id, 64);
    rc = tkm_rd_u16le(&s, &b->isv_prod_id);
    rc = tkm_rd_u16le(&s, &b->isv_svn);
    rc = tkm_rd_u16le(&s, &b->config_svn);
    rc = tkm_rd_skip(&s, 42); /* reserved4 */
    rc = tkm_rd_bytes(&s, b->isv_family_id, 16);
    rc = tkm_rd_bytes(&s, b->report_data, 64);
    (void)rc;
    rc = tkm_rd_done(&s); /* the layout adds up to exactly 384 bytes */
    if (tkm_failed(rc)) memset(b, 0, sizeof *b);
    return rc;
}

static tkm_rc td_body_parse(tkm_td_report_body *b, tkm_rd *r, int td15) {
    memset(b, 0, sizeof *b);
    tkm_rd s;
    TKM_TRY(tkm_rd_sub(r, td15 ? TKM_TD15_REPORT_BODY_LEN : TKM_TD10_REPORT_BODY_LEN, &s));
    tkm_rc rc;
    rc = tkm_rd_bytes(&s, b->tee_tcb_svn, 16);
    rc = tkm_rd_bytes(&s, b->mr_seam, 48);
    rc = tkm_rd_bytes(&s, b->mr_signer_seam, 48);
    rc = tkm_rd_bytes(&s, b->seam_attributes, 8);
    rc = tkm_rd_bytes(&s, b->td_attributes, 8);
    rc = tkm_rd_bytes(&s, b->xfam, 8);
    rc = tkm_rd_bytes(&s, b->mr_td, 48);
    rc = tkm_rd_bytes(&s, b->mr_config_id, 48);
    rc = tkm_rd_bytes(&s, b->mr_owner, 48);
    rc = tkm_rd_bytes(&s, b->mr_owner_config, 48);
    for (int i = 0; i < 4; i++) rc = tkm_rd_bytes(&s, b->rtmr[i], 48);
    rc = tkm_rd_bytes(&s, b->report_data, 64);
    if (td15) {
        b->is_td15 = 1;
        rc = tkm_rd_bytes(&s, b->tee_tcb_svn2, 16);
        rc = tkm_rd_bytes(&s, b->mr_servicetd, 48);
    }
    (void)rc;
    rc = tkm_rd_done(&s);
    if (tkm_failed(rc)) memset(b, 0, sizeof *b);
    return rc;
}

/*
 * QE report certification data (type 6 content), or the tail of a v3
 * signature data block (same layout): QE report, its signature, auth data,
 * then the nested certification data, which must be type 5 (PEM PCK chain)
 * and must fill the enclosure exactly.
 */
static tkm_rc qe_cert_data_parse(tkm_dcap_quote *q, tkm_rd *r) {
    tkm_rd qe;
    TKM_TRY(tkm_rd_sub(r, TKM_SGX_REPORT_BODY_LEN, &qe));
    q->qe_report_raw = qe.p;
    TKM_TRY(tkm_sgx_report_body_parse(&q->qe_report, &qe));
    TKM_TRY(tkm_rd_bytes(r, q->qe_report_sig, 64));
    TKM_TRY(tkm_rd_u16le(r, &q->qe_auth_len));
    if (q->qe_auth_len > tkm_rd_left(r)) return bad(TKM_ERR_TRUNCATED, "quote: QE auth data length exceeds its enclosure");
    TKM_TRY(tkm_rd_view(r, q->qe_auth_len, &q->qe_auth_data));
    uint16_t type;
    uint32_t size;
    TKM_TRY(tkm_rd_u16le(r, &type));
    TKM_TRY(tkm_rd_u32le(r, &size));
    if (type != TKM_DCAP_CERT_PCK_CHAIN) {
        tkm_err_detail_set("quote: certification data type %u is not supported (need 5: PEM PCK chain)", type);
        TKM_ENSURE(0, TKM_ERR_EVIDENCE);
    }
    if (size > tkm_rd_left(r)) return bad(TKM_ERR_TRUNCATED, "quote: PCK chain length exceeds its enclosure");
    if (size == 0) return bad(TKM_ERR_EVIDENCE, "quote: empty PCK certificate chain");
    TKM_TRY(tkm_rd_view(r, size, &q->pck_chain_pem));
    q->pck_chain_len = size;
    return tkm_rd_done(r);
}

static tkm_rc dcap_parse_inner(tkm_dcap_quote *q, const uint8_t *buf, size_t len) {
    tkm_rd r;
    tkm_rd_init(&r, buf, len);
    /* header */
    TKM_TRY(tkm_rd_u16le(&r, &q->version));
    TKM_TRY(tkm_rd_u16le(&r, &q->att_key_type));
    TKM_TRY(tkm_rd_u32le(&r, &q->tee_type));
    TKM_TRY(tkm_rd_u16le(&r, &q->qe_svn));
    TKM_TRY(tkm_rd_u16le(&r, &q->pce_svn));
    TKM_TRY(tkm_rd_bytes(&r, q->qe_vendor_id, 16));
    TKM_TRY(tkm_rd_bytes(&r, q->user_data, 20));
    if (q->version < 3 || q->version > 5) {
        tkm_err_detail_set("quote: version %u not supported (3, 4 or 5)", q->version);
        TKM_ENSURE(0, TKM_ERR_EVIDENCE);
    }
    if (q->att_key_type != TKM_DCAP_ATT_KEY_ECDSA_P256) {
        tkm_err_detail_set("quote: attestation key type %u not supported (2: ECDSA P-256)", q->att_key_type);
        TKM_ENSURE(0, TKM_ERR_EVIDENCE);
    }
    if (q->tee_type != TKM_DCAP_TEE_SGX && q->tee_type != TKM_DCAP_TEE_TDX) {
        tkm_err_detail_set("quote: TEE type 0x%x unknown", q->tee_type);
        TKM_ENSURE(0, TKM_ERR_EVIDENCE);
    }
    if (q->version == 3 && q->tee_type != TKM_DCAP_TEE_SGX)
        return bad(TKM_ERR_EVIDENCE, "quote: a v3 quote is SGX only (TEE type field must be 0)");
    /* body */
    if (q->version == 5) {
        uint32_t body_size;
        TKM_TRY(tkm_rd_u16le(&r, &q->body_type));
        TKM_TRY(tkm_rd_u32le(&r, &body_size));
        size_t want = q->body_type == TKM_DCAP_BODY_SGX    ? TKM_SGX_REPORT_BODY_LEN
                      : q->body_type == TKM_DCAP_BODY_TD10 ? TKM_TD10_REPORT_BODY_LEN
                      : q->body_type == TKM_DCAP_BODY_TD15 ? TKM_TD15_REPORT_BODY_LEN
                                                           : 0;
        if (!want) {
            tkm_err_detail_set("quote: v5 body type %u unknown", q->body_type);
            TKM_ENSURE(0, TKM_ERR_EVIDENCE);
        }
        if (body_size != want) {
            tkm_err_detail_set("quote: v5 body size %u does not match body type %u (%zu)", body_size,
                               q->body_type, want);
            TKM_ENSURE(0, TKM_ERR_EVIDENCE);
        }
        if ((q->body_type == TKM_DCAP_BODY_SGX) != (q->tee_type == TKM_DCAP_TEE_SGX))
            return bad(TKM_ERR_EVIDENCE, "quote: v5 body type does not match the TEE type");
    } else {
        q->body_type = q->tee_type == TKM_DCAP_TEE_SGX ? TKM_DCAP_BODY_SGX : TKM_DCAP_BODY_TD10;
    }
    if (q->body_type == TKM_DCAP_BODY_SGX)
        TKM_TRY(tkm_sgx_report_body_parse(&q->sgx, &r));
    else
        TKM_TRY(td_body_parse(&q->td, &r, q->body_type == TKM_DCAP_BODY_TD15));
    q->signed_region = buf;
    q->signed_len = r.off;
    /* signature data */
    TKM_TRY(tkm_rd_u32le(&r, &q->sig_data_len));
    if (q->sig_data_len > tkm_rd_left(&r)) {
        tkm_err_detail_set("quote: signature data length %u exceeds the %zu bytes left", q->sig_data_len,
                           tkm_rd_left(&r));
        TKM_ENSURE(0, TKM_ERR_TRUNCATED);
    }
    tkm_rd sig;
    TKM_TRY(tkm_rd_sub(&r, q->sig_data_len, &sig));
    TKM_TRY(tkm_rd_bytes(&sig, q->quote_sig, 64));
    TKM_TRY(tkm_rd_bytes(&sig, q->attest_key, 64));
    if (q->version == 3) {
        q->outer_cert_type = TKM_DCAP_CERT_PCK_CHAIN;
        TKM_TRY(qe_cert_data_parse(q, &sig));
    } else {
        uint32_t size;
        tkm_rd inner;
        TKM_TRY(tkm_rd_u16le(&sig, &q->outer_cert_type));
        TKM_TRY(tkm_rd_u32le(&sig, &size));
        if (q->outer_cert_type != TKM_DCAP_CERT_QE_REPORT) {
            tkm_err_detail_set("quote: v%u certification data type %u is not supported (need 6: QE report)",
                               q->version, q->outer_cert_type);
            TKM_ENSURE(0, TKM_ERR_EVIDENCE);
        }
        if (size > tkm_rd_left(&sig))
            return bad(TKM_ERR_TRUNCATED, "quote: QE report certification data length exceeds the signature data");
        TKM_TRY(tkm_rd_sub(&sig, size, &inner));
        TKM_TRY(qe_cert_data_parse(q, &inner));
        if (tkm_rd_left(&sig) != 0)
            return bad(TKM_ERR_TRAILING, "quote: bytes after the certification data inside the signature data");
    }
    q->quote_len = r.off;
    /* Deliberate: trailing zero padding is accepted and recorded; anything else is refused. */
    size_t left = tkm_rd_left(&r);
    const uint8_t *pad;
    TKM_TRY(tkm_rd_view(&r, left, &pad));
    if (!all_zero(pad, left)) {
        tkm_err_detail_set("quote: %zu bytes after the signature data are not zero padding", left);
        TKM_ENSURE(0, TKM_ERR_TRAILING);
    }
    q->padding_len = left;
    if (memcmp(q->qe_vendor_id, INTEL_QE_VENDOR_ID, 16) != 0)
        return bad(TKM_ERR_EVIDENCE, "quote: QE vendor id is not Intel's");
    return tkm_rd_done(&r);
}

tkm_rc tkm_dcap_quote_parse(tkm_dcap_quote *out, const uint8_t *buf, size_t len) {
    memset(out, 0, sizeof *out);
    TKM_ARG_CHECK(buf != NULL || len == 0);
    tkm_rc rc = dcap_parse_inner(out, buf, len);
    if (tkm_failed(rc)) {
        if (!tkm_err_detail()[0]) tkm_err_detail_set("quote: %s", tkm_err_str(rc.code));
        memset(out, 0, sizeof *out);
    }
    return rc;
}

tkm_rc tkm_snp_report_parse(tkm_snp_report *s, const uint8_t *buf, size_t len) {
    memset(s, 0, sizeof *s);
    TKM_ARG_CHECK(buf != NULL || len == 0);
    TKM_TRY(exact_len(len, TKM_SNP_REPORT_LEN, "snp: report"));
    tkm_rd r;
    tkm_rd_init(&r, buf, len);
    const uint8_t *rsv;
    tkm_rc rc;
    int mbz_bad = 0;
#define MBZ(n)                                                                   \
    do {                                                                         \
        rc = tkm_rd_view(&r, (n), &rsv);                                         \
        if (tkm_ok(rc) && !all_zero(rsv, (n))) mbz_bad = 1;                      \
    } while (0)
    rc = tkm_rd_u32le(&r, &s->version);
    rc = tkm_rd_u32le(&r, &s->guest_svn);
    rc = tkm_rd_u64le(&r, &s->policy);
    rc = tkm_rd_bytes(&r, s->family_id, 16);
    rc = tkm_rd_bytes(&r, s->image_id, 16);
    rc = tkm_rd_u32le(&r, &s->vmpl);
    rc = tkm_rd_u32le(&r, &s->signature_algo);
    rc = tkm_rd_u64le(&r, &s->current_tcb);
    rc = tkm_rd_u64le(&r, &s->platform_info);
    rc = tkm_rd_u32le(&r, &s->flags);
    MBZ(4); /* 0x04C */
    rc = tkm_rd_bytes(&r, s->report_data, 64);
    rc = tkm_rd_bytes(&r, s->measurement, 48);
    rc = tkm_rd_bytes(&r, s->host_data, 32);
    rc = tkm_rd_bytes(&r, s->id_key_digest, 48);
    rc = tkm_rd_bytes(&r, s->author_key_digest, 48);
    rc = tkm_rd_bytes(&r, s->report_id, 32);
    rc = tkm_rd_bytes(&r, s->report_id_ma, 32);
    rc = tkm_rd_u64le(&r, &s->reported_tcb);
    if (s->version >= 3) {
        rc = tkm_rd_u8(&r, &s->cpuid_fam_id);
        rc = tkm_rd_u8(&r, &s->cpuid_mod_id);
        rc = tkm_rd_u8(&r, &s->cpuid_step);
    } else {
        MBZ(3);
    }
    MBZ(21); /* 0x18B */
    rc = tkm_rd_bytes(&r, s->chip_id, 64);
    rc = tkm_rd_u64le(&r, &s->committed_tcb);
    rc = tkm_rd_u8(&r, &s->current_build);
    rc = tkm_rd_u8(&r, &s->current_minor);
    rc = tkm_rd_u8(&r, &s->current_major);
    MBZ(1);
    rc = tkm_rd_u8(&r, &s->committed_build);
    rc = tkm_rd_u8(&r, &s->committed_minor);
    rc = tkm_rd_u8(&r, &s->committed_major);
    MBZ(1);
    rc = tkm_rd_u64le(&r, &s->launch_tcb);
    if (s->version >= 5) {
        rc = tkm_rd_u64le(&r, &s->launch_mit_vector);
        rc = tkm_rd_u64le(&r, &s->current_mit_vector);
        MBZ(0x2A0 - 0x208);
    } else {
        MBZ(0x2A0 - 0x1F8);
    }
    s->signed_region = buf;
    rc = tkm_rd_bytes(&r, s->sig_r, 72);
    rc = tkm_rd_bytes(&r, s->sig_s, 72);
    MBZ(512 - 144); /* unused part of the signature field */
#undef MBZ
    rc = tkm_rd_done(&r);
    if (tkm_failed(rc)) {
        memset(s, 0, sizeof *s);
        return rd_fail(&r, "snp report");
    }
    if (s->version != 2 && s->version != 3 && s->version != 5) {
        tkm_err_detail_set("snp: report version %u not supported (2, 3 or 5)", s->version);
        memset(s, 0, sizeof *s);
        TKM_ENSURE(0, TKM_ERR_EVIDENCE);
    }
    if (mbz_bad) {
        memset(s, 0, sizeof *s);
        return bad(TKM_ERR_EVIDENCE, "snp: a reserved (must-be-zero) field is not zero");
    }
    return TKM_RC_OK;
}

tkm_rc tkm_sim_evidence_parse(tkm_sim_evidence *s, const uint8_t *buf, size_t len) {
    memset(s, 0, sizeof *s);
    TKM_ARG_CHECK(buf != NULL || len == 0);
    TKM_TRY(exact_len(len, TKM_SIM_EVIDENCE_LEN, "sim: evidence"));
    tkm_rd r;
    tkm_rd_init(&r, buf, len);
    uint8_t magic[8], label[TKM_SIM_LABEL_LEN], rsv[3];
    tkm_rc rc;
    rc = tkm_rd_bytes(&r, magic, 8);
    rc = tkm_rd_u32le(&r, &s->version);
    rc = tkm_rd_u32le(&r, &s->flags);
    rc = tkm_rd_bytes(&r, label, TKM_SIM_LABEL_LEN);
    rc = tkm_rd_bytes(&r, s->measurement, 48);
    rc = tkm_rd_bytes(&r, s->report_data, 64);
    rc = tkm_rd_u64le(&r, &s->timestamp);
    rc = tkm_rd_bytes(&r, s->pubkey, 65);
    rc = tkm_rd_bytes(&r, rsv, 3);
    rc = tkm_rd_bytes(&r, s->sig, 64);
    (void)rc;
    const char *why = NULL;
    rc = tkm_rd_done(&r);
    if (tkm_failed(rc))
        why = "sim: truncated";
    else if (memcmp(magic, TKM_SIM_MAGIC, 8) != 0)
        why = "sim: bad magic";
    else if (s->version != 1)
        why = "sim: format version is not 1";
    else if (s->flags != TKM_SIM_FLAG_SIMULATED_NOT_SECURE)
        why = "sim: flags must be exactly SIMULATED_NOT_SECURE (1)";
    else if (memcmp(label, SIM_LABEL, TKM_SIM_LABEL_LEN) != 0)
        why = "sim: label is not \"SIMULATED \xe2\x80\x94 NOT SECURE\"";
    else if (!all_zero(rsv, 3))
        why = "sim: reserved bytes are not zero";
    else if (s->pubkey[0] != 0x04)
        why = "sim: signer public key is not an uncompressed SEC1 point";
    if (why) {
        memset(s, 0, sizeof *s);
        return bad(tkm_failed(rc) ? rc.code : TKM_ERR_EVIDENCE, why);
    }
    s->signed_region = buf;
    return TKM_RC_OK;
}

/* ---- debug rules ---- */

int tkm_sgx_report_body_debug(const tkm_sgx_report_body *b) { return (b->attributes[0] & 0x02) != 0; }
int tkm_td_report_body_debug(const tkm_td_report_body *b) { return b->td_attributes[0] != 0; }
int tkm_snp_report_debug(const tkm_snp_report *s) { return (s->policy & TKM_SNP_POLICY_DEBUG) != 0; }
