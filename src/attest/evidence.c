/* see tkm_evidence.h — the owning evidence object over the format parsers of src/tee/. */
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

/* ---- the owning object ---- */

static tkm_platform detect(const uint8_t *buf, size_t len) {
    if (len >= 8 && memcmp(buf, TKM_SIM_MAGIC, 8) == 0) return TKM_PLATFORM_SIM;
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
    case TKM_PLATFORM_SGX: return tkm_sgx_report_body_debug(&ev->u.dcap.sgx);
    case TKM_PLATFORM_TDX: return tkm_td_report_body_debug(&ev->u.dcap.td);
    case TKM_PLATFORM_SNP: return tkm_snp_report_debug(&ev->u.snp);
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
