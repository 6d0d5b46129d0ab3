/* see tkm_evidence.h — field-by-field parsers over tkm_rd. */
#include "tkm_evidence.h"

#include <stdlib.h>
#include <string.h>

struct tkm_evidence {
    tkm_platform platform;
    uint8_t *buf;
    size_t len;
    union {
        tkm_dcap_quote dcap;
        tkm_snp_report snp;
        tkm_sim_evidence sim;
    } u;
};

static const uint8_t INTEL_QE_VENDOR_ID[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
static const uint8_t SIM_MAGIC[8] = {'T', 'K', 'M', 'S', 'I', 'M', '0', '1'};
/* "SIMULATED — NOT SECURE" (U+2014 is e2 80 94), then 8 zero bytes. */
static const uint8_t SIM_LABEL[32] = {'S', 'I', 'M', 'U', 'L', 'A', 'T', 'E', 'D', ' ', 0xe2,
                                      0x80, 0x94, ' ', 'N', 'O', 'T', ' ', 'S', 'E', 'C', 'U',
                                      'R', 'E', 0, 0, 0, 0, 0, 0, 0, 0};

const char *tkm_platform_name(tkm_platform p) {
    switch (p) {
    case TKM_PLATFORM_SGX: return "sgx";
    case TKM_PLATFORM_TDX: return "tdx";
    case TKM_PLATFORM_SNP: return "snp";
    case TKM_PLATFORM_SIM: return "sim";
    default: return "unknown";
    }
}

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
    if (len != TKM_SNP_REPORT_LEN) {
        tkm_err_detail_set("snp: report is %zu bytes, must be exactly %d", len, TKM_SNP_REPORT_LEN);
        TKM_ENSURE(0, len < TKM_SNP_REPORT_LEN ? TKM_ERR_TRUNCATED : TKM_ERR_TRAILING);
    }
    tkm_rd r;
    tkm_rd_init(&r, buf, len);
    const uint8_t *rsv;
    uint8_t b;
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
    (void)b;
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
    if (len != TKM_SIM_EVIDENCE_LEN) {
        tkm_err_detail_set("sim: evidence is %zu bytes, must be exactly %d", len, TKM_SIM_EVIDENCE_LEN);
        TKM_ENSURE(0, len < TKM_SIM_EVIDENCE_LEN ? TKM_ERR_TRUNCATED : TKM_ERR_TRAILING);
    }
    tkm_rd r;
    tkm_rd_init(&r, buf, len);
    uint8_t magic[8], label[32], rsv[3];
    tkm_rc rc;
    rc = tkm_rd_bytes(&r, magic, 8);
    rc = tkm_rd_u32le(&r, &s->version);
    rc = tkm_rd_u32le(&r, &s->flags);
    rc = tkm_rd_bytes(&r, label, 32);
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
    else if (memcmp(magic, SIM_MAGIC, 8) != 0)
        why = "sim: bad magic";
    else if (s->version != 1)
        why = "sim: format version is not 1";
    else if (s->flags != 1)
        why = "sim: flags must be exactly SIMULATED_NOT_SECURE (1)";
    else if (memcmp(label, SIM_LABEL, 32) != 0)
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

/* ---- the owning object ---- */

static tkm_platform detect(const uint8_t *buf, size_t len) {
    if (len >= 8 && memcmp(buf, SIM_MAGIC, 8) == 0) return TKM_PLATFORM_SIM;
    if (len >= 8) {
        uint16_t ver = (uint16_t)(buf[0] | buf[1] << 8), akt = (uint16_t)(buf[2] | buf[3] << 8);
        uint32_t tee = (uint32_t)buf[4] | (uint32_t)buf[5] << 8 | (uint32_t)buf[6] << 16 | (uint32_t)buf[7] << 24;
        if (ver >= 3 && ver <= 5 && akt == TKM_DCAP_ATT_KEY_ECDSA_P256)
            return tee == TKM_DCAP_TEE_TDX ? TKM_PLATFORM_TDX : TKM_PLATFORM_SGX;
        uint32_t snpver = (uint32_t)ver | (uint32_t)akt << 16;
        if (snpver == 2 || snpver == 3 || snpver == 5) return TKM_PLATFORM_SNP; /* length checked by the parser */
    }
    return TKM_PLATFORM_UNKNOWN;
}

static tkm_rc parse_impl(tkm_evidence **out, tkm_platform want, const uint8_t *buf, size_t len) {
    *out = NULL;
    TKM_ARG_CHECK(buf != NULL || len == 0);
    if (len > TKM_EVIDENCE_MAX_LEN) {
        tkm_err_detail_set("evidence of %zu bytes exceeds the %zu byte limit", len, TKM_EVIDENCE_MAX_LEN);
        TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    }
    tkm_platform p = detect(buf, len);
    if (p == TKM_PLATFORM_UNKNOWN)
        return bad(len < 8 ? TKM_ERR_TRUNCATED : TKM_ERR_EVIDENCE,
                   "evidence: not an SGX/TDX DCAP quote, SNP report or sim evidence");
    if (want != TKM_PLATFORM_UNKNOWN && want != p) {
        tkm_err_detail_set("evidence: expected %s evidence, got %s", tkm_platform_name(want), tkm_platform_name(p));
        TKM_ENSURE(0, TKM_ERR_EVIDENCE);
    }
    tkm_evidence *ev = calloc(1, sizeof *ev);
    if (!ev) return TKM_RC(TKM_ERR_NOMEM);
    ev->buf = malloc(len ? len : 1);
    if (!ev->buf) {
        free(ev);
        return TKM_RC(TKM_ERR_NOMEM);
    }
    if (len) memcpy(ev->buf, buf, len);
    ev->len = len;
    ev->platform = p;
    tkm_rc rc;
    switch (p) {
    case TKM_PLATFORM_SIM: rc = tkm_sim_evidence_parse(&ev->u.sim, ev->buf, len); break;
    case TKM_PLATFORM_SNP: rc = tkm_snp_report_parse(&ev->u.snp, ev->buf, len); break;
    default: rc = tkm_dcap_quote_parse(&ev->u.dcap, ev->buf, len); break;
    }
    if (tkm_failed(rc)) {
        tkm_evidence_free(ev);
        return rc;
    }
    *out = ev;
    return TKM_RC_OK;
}

tkm_rc tkm_evidence_parse(tkm_evidence **out, const uint8_t *buf, size_t len) {
    return parse_impl(out, TKM_PLATFORM_UNKNOWN, buf, len);
}

tkm_rc tkm_evidence_parse_as(tkm_evidence **out, tkm_platform want, const uint8_t *buf, size_t len) {
    return parse_impl(out, want, buf, len);
}

void tkm_evidence_free(tkm_evidence *ev) {
    if (!ev) return;
    free(ev->buf);
    free(ev);
}

tkm_platform tkm_evidence_platform(const tkm_evidence *ev) { return ev->platform; }
const tkm_dcap_quote *tkm_evidence_dcap(const tkm_evidence *ev) {
    return ev->platform == TKM_PLATFORM_SGX || ev->platform == TKM_PLATFORM_TDX ? &ev->u.dcap : NULL;
}
const tkm_snp_report *tkm_evidence_snp(const tkm_evidence *ev) {
    return ev->platform == TKM_PLATFORM_SNP ? &ev->u.snp : NULL;
}
const tkm_sim_evidence *tkm_evidence_sim(const tkm_evidence *ev) {
    return ev->platform == TKM_PLATFORM_SIM ? &ev->u.sim : NULL;
}
const uint8_t *tkm_evidence_bytes(const tkm_evidence *ev, size_t *len) {
    *len = ev->len;
    return ev->buf;
}

const uint8_t *tkm_evidence_report_data(const tkm_evidence *ev) {
    switch (ev->platform) {
    case TKM_PLATFORM_SGX: return ev->u.dcap.sgx.report_data;
    case TKM_PLATFORM_TDX: return ev->u.dcap.td.report_data;
    case TKM_PLATFORM_SNP: return ev->u.snp.report_data;
    default: return ev->u.sim.report_data;
    }
}

const uint8_t *tkm_evidence_measurement(const tkm_evidence *ev, size_t *len) {
    switch (ev->platform) {
    case TKM_PLATFORM_SGX: *len = 32; return ev->u.dcap.sgx.mr_enclave;
    case TKM_PLATFORM_TDX: *len = 48; return ev->u.dcap.td.mr_td;
    case TKM_PLATFORM_SNP: *len = 48; return ev->u.snp.measurement;
    default: *len = 48; return ev->u.sim.measurement;
    }
}

int tkm_evidence_debug(const tkm_evidence *ev) {
    switch (ev->platform) {
    case TKM_PLATFORM_SGX: return (ev->u.dcap.sgx.attributes[0] & 0x02) != 0;
    case TKM_PLATFORM_TDX: return ev->u.dcap.td.td_attributes[0] != 0; /* any TUD bit */
    case TKM_PLATFORM_SNP: return (ev->u.snp.policy & TKM_SNP_POLICY_DEBUG) != 0;
    default: return 0; /* sim has no debug mode: it is flagged as simulated instead */
    }
}

/* ---- evidence files: binary or hex text ---- */

static int is_space(uint8_t c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

tkm_rc tkm_evidence_decode_file_bytes(uint8_t **out, size_t *out_len, const uint8_t *buf, size_t len) {
    *out = NULL;
    *out_len = 0;
    TKM_ARG_CHECK(buf != NULL || len == 0);
    size_t a = 0, b = len;
    while (a < b && is_space(buf[a])) a++;
    while (b > a && is_space(buf[b - 1])) b--;
    int hex = b > a;
    for (size_t i = a; i < b && hex; i++) {
        uint8_t c = buf[i];
        int ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                 (i == a + 1 && c == 'x' && buf[a] == '0');
        if (!ok) hex = 0;
    }
    if (hex)
        return tkm_hex_decode_alloc(out, out_len, (const char *)buf + a, b - a, TKM_HEX_0X_OPTIONAL,
                                    TKM_EVIDENCE_MAX_LEN);
    if (len > TKM_EVIDENCE_MAX_LEN) return bad(TKM_ERR_TOO_LARGE, "evidence file too large");
    uint8_t *c = malloc(len ? len : 1);
    if (!c) return TKM_RC(TKM_ERR_NOMEM);
    if (len) memcpy(c, buf, len);
    *out = c;
    *out_len = len;
    return TKM_RC_OK;
}
