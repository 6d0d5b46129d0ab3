/*
 * see tkm_attest.h — what a collateral fetcher or cache needs to know: which
 * collateral a piece of evidence calls for (FMSPC and PCK CA for Intel; the
 * product, chip id and reported TCB for AMD), and what a parsed collateral
 * covers and until when.
 */
#include "attest_int.h"

#include <string.h>

static const char *snp_product_from_cpuid(uint8_t fam, uint8_t model) {
    if (fam == 0x19 && model <= 0x0F) return "Milan";
    if (fam == 0x19 && ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF))) return "Genoa";
    if (fam == 0x1A) return "Turin";
    return NULL;
}

void tkm_snp_tcb_split(uint64_t tcb, int turin, tkm_snp_tcb *out) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(tcb >> (8 * i));
    memset(out, 0, sizeof *out);
    if (turin) {
        out->fmc = b[0];
        out->bl = b[1];
        out->tee = b[2];
        out->snp = b[3];
    } else {
        out->bl = b[0];
        out->tee = b[1];
        out->snp = b[6];
    }
    out->ucode = b[7];
}

tkm_rc tkm_evidence_collateral_id(const tkm_evidence *ev, tkm_collateral_id *out) {
    memset(out, 0, sizeof *out);
    tkm_platform p = tkm_evidence_platform(ev);
    tkm_collateral_id id;
    memset(&id, 0, sizeof id);
    id.platform = p;
    if (p == TKM_PLATFORM_SGX || p == TKM_PLATFORM_TDX) {
        const tkm_dcap_quote *q = tkm_evidence_dcap(ev);
        STACK_OF(X509) *chain = NULL;
        TKM_TRY(attest_pem_chain_parse(&chain, q->pck_chain_pem, q->pck_chain_len, 4));
        X509 *leaf = sk_X509_value(chain, 0);
        char ca_cn[64];
        attest_name_cn(X509_get_issuer_name(leaf), ca_cn, sizeof ca_cn);
        attest_pck_ext ext;
        tkm_rc rc = attest_pck_ext_from_cert(&ext, leaf);
        sk_X509_pop_free(chain, X509_free);
        TKM_TRY(rc);
        if (strcmp(ca_cn, "Intel SGX PCK Platform CA") == 0) {
            id.pck_ca_platform = 1;
        } else if (strcmp(ca_cn, "Intel SGX PCK Processor CA") != 0) {
            tkm_err_detail_set("PCK certificate issuer \"%s\" is neither the PCK Platform nor the Processor CA", ca_cn);
            TKM_ENSURE(0, TKM_ERR_X509);
        }
        memcpy(id.fmspc, ext.fmspc, 6);
    } else if (p == TKM_PLATFORM_SNP) {
        const tkm_snp_report *s = tkm_evidence_snp(ev);
        id.snp_product = s->version >= 3 ? snp_product_from_cpuid(s->cpuid_fam_id, s->cpuid_mod_id) : NULL;
        memcpy(id.chip_id, s->chip_id, 64);
        id.reported_tcb = s->reported_tcb;
        id.snp_vlek = TKM_SNP_SIGNING_KEY(s->flags) == 1;
        id.snp_chip_masked = (s->flags & 2) != 0;
    }
    *out = id;
    return TKM_RC_OK;
}

static void crl_next(const X509_CRL *crl, int64_t *next) {
    int64_t t;
    const ASN1_TIME *n = crl ? X509_CRL_get0_nextUpdate(crl) : NULL;
    if (n && attest_asn1_time_unix(n, &t) && t < *next) *next = t;
}

void tkm_collateral_info_get(const tkm_collateral *c, tkm_collateral_info *out) {
    memset(out, 0, sizeof *out);
    out->vendor = c->vendor;
    if (c->vendor == TKM_PLATFORM_SNP) {
        const attest_snp_coll *s = &c->snp;
        snprintf(out->product, sizeof out->product, "%s", s->ext.product);
        out->hwid_len = s->ext.hwid_len;
        memcpy(out->hwid, s->ext.hwid, sizeof out->hwid);
        out->tcb.bl = s->ext.bl;
        out->tcb.tee = s->ext.tee;
        out->tcb.snp = s->ext.snp;
        out->tcb.ucode = s->ext.ucode;
        out->tcb.fmc = s->ext.fmc;
        out->is_vlek = s->is_vlek;
        int64_t na = 0;
        out->next_update = attest_asn1_time_unix(X509_get0_notAfter(s->cert), &na) ? na : 0;
        crl_next(s->crl, &out->next_update);
        out->has_crl = s->crl != NULL;
        if (s->crl) {
            out->crl_next_update = INT64_MAX;
            crl_next(s->crl, &out->crl_next_update);
            if (out->crl_next_update == INT64_MAX) out->crl_next_update = 0;
        }
        return;
    }
    const attest_dcap_coll *d = &c->dcap;
    snprintf(out->tcb_id, sizeof out->tcb_id, "%s", d->tcb.id);
    memcpy(out->fmspc, d->tcb.fmspc, 6);
    int64_t next = d->tcb.next_update < d->qe.next_update ? d->tcb.next_update : d->qe.next_update;
    crl_next(d->root_crl, &next);
    crl_next(d->pck_crl, &next);
    out->next_update = next;
    /* which CA issued the PCK CRL: its issuer chain's first certificate */
    X509 *crl_ca = d->pck_crl_chain && sk_X509_num(d->pck_crl_chain) > 0 ? sk_X509_value(d->pck_crl_chain, 0) : NULL;
    char cn[64] = "";
    if (crl_ca) attest_name_cn(X509_get_subject_name(crl_ca), cn, sizeof cn);
    out->pck_ca_platform = strcmp(cn, "Intel SGX PCK Platform CA") == 0;
}
