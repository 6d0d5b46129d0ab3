/*
 * AMD SEV-SNP report verification: ARK → ASK (or ASVK) → VCEK (or VLEK) with
 * RSA-PSS, the report signature (ECDSA P-384, SHA-384, r/s little-endian), the
 * reported TCB against the VCEK's TCB extensions, hwID against chip_id. The
 * guest policy bits (debug, migration agent, SMT) are appraised in
 * appraisal.c.
 */
#include "attest_int.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <time.h>

#include "../crypto/crypto.h"

static int valid_at(X509 *c, int64_t at, char *why, size_t cap) {
    int64_t nb, na;
    if (!attest_asn1_time_unix(X509_get0_notBefore(c), &nb) || !attest_asn1_time_unix(X509_get0_notAfter(c), &na)) {
        snprintf(why, cap, "unreadable validity dates");
        return 0;
    }
    if (at < nb) {
        snprintf(why, cap, "not yet valid at the verification time");
        return 0;
    }
    if (at > na) {
        snprintf(why, cap, "expired at the verification time");
        return 0;
    }
    snprintf(why, cap, "valid at the verification time");
    return 1;
}

/* ---- the AMD KDS CRL ---- */

static void fmt_day(char *out, size_t cap, int64_t t) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, cap, "%Y-%m-%d", &tm) == 0) snprintf(out, cap, "?");
}

static void fmt_serial(char *out, size_t cap, const ASN1_INTEGER *a) {
    BIGNUM *bn = ASN1_INTEGER_to_BN(a, NULL);
    char *h = bn ? BN_bn2hex(bn) : NULL;
    snprintf(out, cap, "%.40s", h ? h : "?");
    OPENSSL_free(h);
    BN_free(bn);
    ERR_clear_error();
}

/* Issuer name, signature and dates. Returns 1 good; detail says why not. */
static int crl_auth(X509_CRL *crl, X509 *ark, int64_t at, int64_t *this_up, int64_t *next_up, char *d, size_t cap) {
    char cn[64], why[100], a[16], b[16];
    *this_up = *next_up = 0;
    attest_name_cn(X509_CRL_get_issuer(crl), cn, sizeof cn);
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ark)) != 0) {
        char want[64];
        attest_name_cn(X509_get_subject_name(ark), want, sizeof want);
        snprintf(d, cap, "CRL issued by \"%s\", not by the built-in %s", cn, want);
        return 0;
    }
    if (!attest_pss_verify_crl(crl, X509_get0_pubkey(ark), why, sizeof why)) {
        snprintf(d, cap, "CRL of %s: %s", cn, why);
        return 0;
    }
    const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
    if (!attest_asn1_time_unix(X509_CRL_get0_lastUpdate(crl), this_up) || !nu ||
        !attest_asn1_time_unix(nu, next_up)) {
        snprintf(d, cap, "CRL of %s: unreadable or missing thisUpdate/nextUpdate", cn);
        return 0;
    }
    fmt_day(a, sizeof a, *this_up);
    fmt_day(b, sizeof b, *next_up);
    if (at < *this_up || at >= *next_up) {
        snprintf(d, cap, "CRL of %s (%s..%s) is %s at the verification time", cn, a, b,
                 at < *this_up ? "not yet valid" : "expired");
        return 0;
    }
    snprintf(d, cap, "CRL of %s (%s..%s), RSA-PSS signature valid", cn, a, b);
    return 1;
}

int attest_snp_crl_lists(X509_CRL *crl, X509 *mid, X509 *leaf, char *d, size_t cap) {
    STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
    int n = rev ? sk_X509_REVOKED_num(rev) : 0;
    X509_NAME *owned = NULL;
    const X509_NAME *cur = X509_CRL_get_issuer(crl);
    int res = 0;
    size_t used = strnlen(d, cap);
    for (int i = 0; i < n && res == 0; i++) {
        X509_REVOKED *e = sk_X509_REVOKED_value(rev, i);
        int crit = -1;
        GENERAL_NAMES *gn = X509_REVOKED_get_ext_d2i(e, NID_certificate_issuer, &crit, NULL);
        if (!gn && crit != -1) {
            snprintf(d + used, cap - used, "; entry %d has an unreadable certificateIssuer", i);
            res = -1;
            break;
        }
        if (gn) {
            X509_NAME_free(owned);
            owned = NULL;
            for (int k = 0; k < sk_GENERAL_NAME_num(gn) && !owned; k++) {
                GENERAL_NAME *g = sk_GENERAL_NAME_value(gn, k);
                if (g->type == GEN_DIRNAME) owned = X509_NAME_dup(g->d.directoryName);
            }
            GENERAL_NAMES_free(gn);
            cur = owned; /* NULL: not a directory name, matches none of ours */
        }
        const ASN1_INTEGER *sn = X509_REVOKED_get0_serialNumber(e);
        X509 *hit = NULL;
        if (cur && X509_NAME_cmp(cur, X509_get_issuer_name(mid)) == 0 && ASN1_INTEGER_cmp(sn, X509_get0_serialNumber(mid)) == 0)
            hit = mid;
        else if (cur && X509_NAME_cmp(cur, X509_get_issuer_name(leaf)) == 0 &&
                 ASN1_INTEGER_cmp(sn, X509_get0_serialNumber(leaf)) == 0)
            hit = leaf;
        if (hit) {
            char cn[64], ser[48];
            attest_name_cn(X509_get_subject_name(hit), cn, sizeof cn);
            fmt_serial(ser, sizeof ser, sn);
            snprintf(d + used, cap - used, "; REVOKED: %s certificate serial %s is listed", cn, ser);
            res = 1;
        }
    }
    if (res == 0) snprintf(d + used, cap - used, "; %d entries, none for this chain", n);
    X509_NAME_free(owned);
    ERR_clear_error();
    return res;
}

int attest_snp_crl_eval(X509_CRL *crl, X509 *ark, X509 *mid, X509 *leaf, int64_t at, int *revoked, char *detail,
                        size_t cap) {
    int64_t tu, nu;
    *revoked = 0;
    if (!crl_auth(crl, ark, at, &tu, &nu, detail, cap)) return 0;
    int l = attest_snp_crl_lists(crl, mid, leaf, detail, cap);
    *revoked = l == 1;
    return l == 0;
}

/* TCB_VERSION components: Milan/Genoa bl=0 tee=1 snp=6 ucode=7; Turin fmc=0 bl=1 tee=2 snp=3 ucode=7. */
typedef struct {
    uint8_t fmc, bl, tee, snp, ucode;
} snp_tcb;

static snp_tcb split_tcb(uint64_t t, int turin) {
    snp_tcb r;
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(t >> (8 * i));
    if (turin) {
        r.fmc = b[0];
        r.bl = b[1];
        r.tee = b[2];
        r.snp = b[3];
    } else {
        r.fmc = 0;
        r.bl = b[0];
        r.tee = b[1];
        r.snp = b[6];
    }
    r.ucode = b[7];
    return r;
}

void attest_verify_snp(tkm_attest_ctx *ctx, const tkm_evidence *ev, const tkm_collateral *coll, int64_t at,
                       tkm_appraisal *res) {
    const tkm_snp_report *s = tkm_evidence_snp(ev);
    char d[96], why[64];
    res->revocation = TKM_REVOCATION_NOT_CHECKED;

    /* 1. report format rules that are not layout */
    unsigned key_sel = TKM_SNP_SIGNING_KEY(s->flags);
    if (s->signature_algo != 1)
        attest_check(res, "snp.report.format", 0, "signature algorithm %u is not ECDSA P-384 with SHA-384", s->signature_algo);
    else if (!(s->policy & TKM_SNP_POLICY_RESERVED1))
        attest_check(res, "snp.report.format", 0, "guest policy bit 17 (reserved, must be 1) is 0");
    else if (s->policy >> 26)
        attest_check(res, "snp.report.format", 0, "guest policy has must-be-zero bits set");
    else if (s->flags >> 5)
        attest_check(res, "snp.report.format", 0, "report flags have must-be-zero bits set");
    else if (key_sel > 1)
        attest_check(res, "snp.report.format", 0, "report signing key %u is neither VCEK (0) nor VLEK (1)", key_sel);
    else if (s->vmpl > 3)
        attest_check(res, "snp.report.format", 0, "VMPL %u out of range", s->vmpl);
    else
        attest_check(res, "snp.report.format", 1, "report v%u, ECDSA P-384, signed by the %s, VMPL %u", s->version,
                     key_sel ? "VLEK" : "VCEK", s->vmpl);

    /* 2. collateral: the VCEK or VLEK */
    const attest_snp_coll *sc = coll && coll->vendor == TKM_PLATFORM_SNP ? &coll->snp : NULL;
    if (!coll) {
        attest_check(res, "collateral", 0, "no VCEK/VLEK certificate given");
        return;
    }
    if (!sc) {
        attest_check(res, "collateral", 0, "the collateral given is Intel's, not an AMD VCEK/VLEK");
        return;
    }
    char icn[64];
    attest_name_cn(X509_get_issuer_name(sc->cert), icn, sizeof icn);
    attest_check(res, "collateral", 1, "%s certificate issued by %s, productName %s", sc->is_vlek ? "VLEK" : "VCEK", icn,
                 sc->ext.product);

    /* 3. which product: the built-in ASK/ASVK whose name issued the certificate */
    const attest_amd_product *p = NULL;
    for (int i = 0; i < 3 && !p; i++) {
        char want[32];
        snprintf(want, sizeof want, sc->is_vlek ? "SEV-VLEK-%s" : "SEV-%s", ctx->amd[i].product);
        if (strcmp(icn, want) == 0) p = &ctx->amd[i];
    }
    if (!p) {
        attest_check(res, "snp.ark", 0, "issuer \"%s\" is none of the built-in AMD ASK/ASVK (Milan, Genoa, Turin)", icn);
        attest_check(res, "snp.ask", 0, "not evaluated: unknown product");
        attest_check(res, "snp.vcek.chain", 0, "not evaluated: unknown product");
    } else {
        int ok = p->ark_ok && valid_at(p->ark, at, why, sizeof why);
        attest_check(res, "snp.ark", ok, "%s; %s", p->ark_detail, p->ark_ok ? why : "");
        X509 *mid = sc->is_vlek ? p->asvk : p->ask;
        int mid_sig = sc->is_vlek ? p->asvk_ok : p->ask_ok;
        ok = mid_sig && valid_at(mid, at, why, sizeof why);
        attest_check(res, "snp.ask", ok, "%s; %s", sc->is_vlek ? p->asvk_detail : p->ask_detail, mid_sig ? why : "");
        /* VCEK ← ASK: cached by the certificate's bytes */
        uint8_t key[32];
        tkm_iov iov[2] = {{"snp-vcek", 8}, {sc->digest, 32}};
        attest_cache_entry ce;
        if (tkm_ok(tkm_sha256_v(key, iov, 2)) && attest_cache_get(ctx, key, at, &ce)) {
            attest_check(res, "snp.vcek.chain", 1, "%s (cached)", ce.detail);
            attest_cache_entry_release(&ce);
        } else {
            int sig = attest_pss_verify_cert(sc->cert, X509_get0_pubkey(mid), d, sizeof d);
            ok = sig && valid_at(sc->cert, at, why, sizeof why);
            attest_check(res, "snp.vcek.chain", ok, "%s by %s: %s; %s", sc->is_vlek ? "VLEK" : "VCEK", icn, d, sig ? why : "");
            if (ok) {
                memset(&ce, 0, sizeof ce);
                memcpy(ce.key, key, 32);
                int64_t nb = 0, na = 0;
                attest_asn1_time_unix(X509_get0_notBefore(sc->cert), &nb);
                attest_asn1_time_unix(X509_get0_notAfter(sc->cert), &na);
                ce.lo = nb;
                ce.hi = na;
                snprintf(ce.detail, sizeof ce.detail, "%s by %s: %s", sc->is_vlek ? "VLEK" : "VCEK", icn, d);
                attest_cache_put(ctx, &ce);
            }
        }
    }

    /* 3b. revocation: the product's AMD KDS CRL (signed by the ARK) lists neither the ASK/ASVK nor the VCEK/VLEK */
    if (!sc->crl) {
        attest_check(res, "snp.crl", 0, "not evaluated: no AMD CRL in the collateral (KDS /%s/v1/%s/crl)",
                     sc->is_vlek ? "vlek" : "vcek", p ? p->product : "{product}");
    } else if (!p) {
        res->revocation = TKM_REVOCATION_FAILED;
        attest_check(res, "snp.crl", 0, "not evaluated: unknown product");
    } else {
        X509 *mid = sc->is_vlek ? p->asvk : p->ask;
        char cd[TKM_CHECK_DETAIL_LEN];
        uint8_t key[32];
        tkm_iov iov[3] = {{"snp-crl", 7}, {sc->crl_digest, 32}, {p->product, strlen(p->product)}};
        attest_cache_entry ce;
        int auth;
        if (tkm_ok(tkm_sha256_v(key, iov, 3)) && attest_cache_get(ctx, key, at, &ce)) {
            snprintf(cd, sizeof cd, "%.150s (cached)", ce.detail);
            attest_cache_entry_release(&ce);
            auth = 1;
        } else {
            int64_t tu, nu;
            auth = crl_auth(sc->crl, p->ark, at, &tu, &nu, cd, sizeof cd);
            if (auth) {
                memset(&ce, 0, sizeof ce);
                memcpy(ce.key, key, 32);
                ce.lo = tu; /* boundary times are recomputed */
                ce.hi = nu;
                snprintf(ce.detail, sizeof ce.detail, "%s", cd);
                attest_cache_put(ctx, &ce);
            }
        }
        int l = auth ? attest_snp_crl_lists(sc->crl, mid, sc->cert, cd, sizeof cd) : -1;
        res->revocation = l == 0 ? TKM_REVOCATION_CHECKED : l == 1 ? TKM_REVOCATION_REVOKED : TKM_REVOCATION_FAILED;
        attest_check(res, "snp.crl", l == 0, "%s", cd);
    }

    /* 4. the certificate kind matches the report's signing key, the product matches the CPU */
    int turin = p && strcmp(p->product, "Turin") == 0;
    if ((key_sel == 1) != sc->is_vlek) {
        attest_check(res, "snp.key.type", 0, "report says signed by the %s but the certificate is a %s",
                     key_sel ? "VLEK" : "VCEK", sc->is_vlek ? "VLEK" : "VCEK");
    } else if (p && strncmp(sc->ext.product, p->product, strlen(p->product)) != 0) {
        attest_check(res, "snp.key.type", 0, "productName \"%s\" does not match the %s chain", sc->ext.product, p->product);
    } else if (p && s->version >= 3 &&
               !((s->cpuid_fam_id == 0x19 && !turin) || (s->cpuid_fam_id == 0x1A && turin))) {
        attest_check(res, "snp.key.type", 0, "CPUID family 0x%02x does not match the %s certificate", s->cpuid_fam_id, p->product);
    } else {
        attest_check(res, "snp.key.type", p != NULL, "%s for %s%s", sc->is_vlek ? "VLEK" : "VCEK",
                     sc->ext.product[0] ? sc->ext.product : "?", s->version >= 3 ? ", CPUID family consistent" : "");
    }

    /* 5. report signature */
    EVP_PKEY *pub = X509_get0_pubkey(sc->cert);
    if (!pub || EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC || EVP_PKEY_get_bits(pub) != 384) {
        attest_check(res, "snp.report.signature", 0, "certificate key is not ECDSA P-384");
    } else {
        int v = attest_ecdsa_verify(pub, EVP_sha384(), s->signed_region, TKM_SNP_SIGNED_LEN, s->sig_r, s->sig_s, 72, 1);
        attest_check(res, "snp.report.signature", v == 1,
                     v == 1 ? "bytes 0x000-0x29F signed by the %s (ECDSA P-384, SHA-384)"
                            : "report signature by the %s is INVALID",
                     sc->is_vlek ? "VLEK" : "VCEK");
    }

    /* 6. reported TCB == the certificate's TCB */
    snp_tcb t = split_tcb(s->reported_tcb, turin);
    const attest_vcek_ext *e = &sc->ext;
    int tcb_ok = t.bl == e->bl && t.tee == e->tee && t.snp == e->snp && t.ucode == e->ucode &&
                 (!turin || (e->has_fmc && t.fmc == e->fmc));
    attest_check(res, "snp.tcb", tcb_ok,
                 "reported TCB bl %u tee %u snp %u ucode %u%s; certificate blSPL %u teeSPL %u snpSPL %u ucodeSPL %u",
                 t.bl, t.tee, t.snp, t.ucode, turin ? " (Turin layout)" : "", e->bl, e->tee, e->snp, e->ucode);

    /* 7. VCEK: hwID == chip_id (Turin VCEKs carry the first 8 bytes) */
    if (!sc->is_vlek) {
        size_t n = e->hwid_len;
        int ok = n > 0 && (n == 64 || (n == 8 && turin)) && memcmp(e->hwid, s->chip_id, n) == 0;
        if (s->flags & 2)
            attest_check(res, "snp.chip_id", 0, "MASK_CHIP_KEY is set: chip_id is masked, the VCEK cannot be bound");
        else
            attest_check(res, "snp.chip_id", ok, ok ? "VCEK hwID matches the report's chip_id (%zu bytes)"
                                                    : "VCEK hwID does not match the report's chip_id (%zu bytes)",
                         n);
    }
}
