/* see tkm_attest.h — the verification context: built-in anchors, Intel chain checks, the outcome cache. */
#include "attest_int.h"

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/crypto.h"

/* ---- RSA-PSS (SHA-384, MGF1-SHA-384, salt 48) certificate signatures: AMD ARK/ASK/ASVK/VCEK ---- */

/* The first element (TBSCertificate / TBSCertList) of a signed DER SEQUENCE, verified with fixed PSS parameters. */
static int pss_verify_tbs(const uint8_t *der, size_t len, const ASN1_BIT_STRING *sig, EVP_PKEY *issuer, char *detail,
                          size_t cap) {
    int ok = 0;
    EVP_MD_CTX *mc = NULL;
    EVP_PKEY_CTX *pc = NULL;
    if (!issuer || (EVP_PKEY_get_base_id(issuer) != EVP_PKEY_RSA && EVP_PKEY_get_base_id(issuer) != EVP_PKEY_RSA_PSS)) {
        /* AMD keys are rsaEncryption keys used with PSS */
        snprintf(detail, cap, "issuer key is not RSA");
        goto out;
    }
    tkm_rd r, outer, tbs;
    tkm_rd_init(&r, der, len);
    if (tkm_failed(attest_der_expect(&r, 0x30, &outer))) {
        snprintf(detail, cap, "not a DER SEQUENCE");
        goto out;
    }
    size_t s0 = outer.off;
    if (tkm_failed(attest_der_expect(&outer, 0x30, &tbs))) {
        snprintf(detail, cap, "no signed TBS part");
        goto out;
    }
    const uint8_t *tbs_p = outer.p + s0;
    size_t tbs_len = outer.off - s0;
    mc = EVP_MD_CTX_new();
    if (!mc || EVP_DigestVerifyInit(mc, &pc, EVP_sha384(), NULL, issuer) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 48) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha384()) != 1) {
        snprintf(detail, cap, "RSA-PSS setup failed");
        goto out;
    }
    if (EVP_DigestVerify(mc, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), tbs_p, tbs_len) != 1) {
        snprintf(detail, cap, "RSA-PSS (SHA-384, salt 48) signature INVALID");
        goto out;
    }
    snprintf(detail, cap, "RSA-PSS (SHA-384, salt 48) signature valid");
    ok = 1;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(mc);
    return ok;
}

int attest_pss_verify_cert(X509 *cert, EVP_PKEY *issuer, char *detail, size_t cap) {
    if (X509_get_signature_nid(cert) != NID_rsassaPss) {
        snprintf(detail, cap, "signature algorithm is not RSASSA-PSS");
        return 0;
    }
    unsigned char *der = NULL;
    int l = i2d_X509(cert, &der);
    if (l <= 0) {
        ERR_clear_error();
        snprintf(detail, cap, "cannot encode certificate");
        return 0;
    }
    const ASN1_BIT_STRING *sig;
    const X509_ALGOR *alg;
    X509_get0_signature(&sig, &alg, cert);
    int ok = pss_verify_tbs(der, (size_t)l, sig, issuer, detail, cap);
    OPENSSL_free(der);
    return ok;
}

int attest_pss_verify_crl(X509_CRL *crl, EVP_PKEY *issuer, char *detail, size_t cap) {
    if (X509_CRL_get_signature_nid(crl) != NID_rsassaPss) {
        snprintf(detail, cap, "signature algorithm is not RSASSA-PSS");
        return 0;
    }
    unsigned char *der = NULL;
    int l = i2d_X509_CRL(crl, &der);
    if (l <= 0) {
        ERR_clear_error();
        snprintf(detail, cap, "cannot encode CRL");
        return 0;
    }
    const ASN1_BIT_STRING *sig;
    const X509_ALGOR *alg;
    X509_CRL_get0_signature(crl, &sig, &alg);
    int ok = pss_verify_tbs(der, (size_t)l, sig, issuer, detail, cap);
    OPENSSL_free(der);
    return ok;
}

/* ---- context ---- */

static tkm_rc load_anchor(X509 **out, const uint8_t *der, size_t len) { return attest_x509_from_der(out, der, len); }

static void amd_product_check(attest_amd_product *p) {
    char d[64];
    p->ark_ok = attest_pss_verify_cert(p->ark, X509_get0_pubkey(p->ark), d, sizeof d);
    snprintf(p->ark_detail, sizeof p->ark_detail, "ARK-%s (built in) self-signature: %s", p->product, d);
    p->ask_ok = attest_pss_verify_cert(p->ask, X509_get0_pubkey(p->ark), d, sizeof d);
    snprintf(p->ask_detail, sizeof p->ask_detail, "SEV-%s ASK (built in) by ARK-%s: %s", p->product, p->product, d);
    p->asvk_ok = attest_pss_verify_cert(p->asvk, X509_get0_pubkey(p->ark), d, sizeof d);
    snprintf(p->asvk_detail, sizeof p->asvk_detail, "SEV-VLEK-%s ASVK (built in) by ARK-%s: %s", p->product,
             p->product, d);
}

tkm_rc tkm_attest_ctx_new(tkm_attest_ctx **out) {
    *out = NULL;
    tkm_rc rc;
    tkm_attest_ctx *c = calloc(1, sizeof *c);
    if (!c) return TKM_RC(TKM_ERR_NOMEM);
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return TKM_RC(TKM_ERR_INTERNAL);
    }
    TKM_CHECK_GOTO(rc, load_anchor(&c->intel_root, tkm_root_intel_sgx_root, tkm_root_intel_sgx_root_len));
    TKM_CHECK_GOTO(rc, tkm_sha256(c->intel_root_digest, tkm_root_intel_sgx_root, tkm_root_intel_sgx_root_len));
    struct {
        const char *name;
        const uint8_t *ark, *ask, *asvk;
        const size_t *arkl, *askl, *asvkl;
    } amd[3] = {
        {"Milan", tkm_root_amd_ark_milan, tkm_root_amd_ask_milan, tkm_root_amd_asvk_milan, &tkm_root_amd_ark_milan_len,
         &tkm_root_amd_ask_milan_len, &tkm_root_amd_asvk_milan_len},
        {"Genoa", tkm_root_amd_ark_genoa, tkm_root_amd_ask_genoa, tkm_root_amd_asvk_genoa, &tkm_root_amd_ark_genoa_len,
         &tkm_root_amd_ask_genoa_len, &tkm_root_amd_asvk_genoa_len},
        {"Turin", tkm_root_amd_ark_turin, tkm_root_amd_ask_turin, tkm_root_amd_asvk_turin, &tkm_root_amd_ark_turin_len,
         &tkm_root_amd_ask_turin_len, &tkm_root_amd_asvk_turin_len},
    };
    for (int i = 0; i < 3; i++) {
        attest_amd_product *p = &c->amd[i];
        p->product = amd[i].name;
        TKM_CHECK_GOTO(rc, load_anchor(&p->ark, amd[i].ark, *amd[i].arkl));
        TKM_CHECK_GOTO(rc, load_anchor(&p->ask, amd[i].ask, *amd[i].askl));
        TKM_CHECK_GOTO(rc, load_anchor(&p->asvk, amd[i].asvk, *amd[i].asvkl));
        amd_product_check(p);
    }
    *out = c;
    c = NULL;
    rc = TKM_RC_OK;
out:
    tkm_attest_ctx_free(c);
    return rc;
}

void attest_cache_entry_release(attest_cache_entry *e) {
    EVP_PKEY_free(e->leaf_pub);
    X509_free(e->leaf);
    e->leaf_pub = NULL;
    e->leaf = NULL;
    e->used = 0;
}

void tkm_attest_ctx_free(tkm_attest_ctx *c) {
    if (!c) return;
    X509_free(c->intel_root);
    for (int i = 0; i < 3; i++) {
        X509_free(c->amd[i].ark);
        X509_free(c->amd[i].ask);
        X509_free(c->amd[i].asvk);
    }
    for (int i = 0; i < ATTEST_CACHE_SLOTS; i++) attest_cache_entry_release(&c->cache[i]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void tkm_attest_ctx_cache_stats(tkm_attest_ctx *c, uint64_t *hits, uint64_t *misses) {
    pthread_mutex_lock(&c->mu);
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->mu);
}

void tkm_attest_ctx_cache_clear(tkm_attest_ctx *c) {
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < ATTEST_CACHE_SLOTS; i++) attest_cache_entry_release(&c->cache[i]);
    c->hits = c->misses = 0;
    pthread_mutex_unlock(&c->mu);
}

int attest_cache_get(tkm_attest_ctx *c, const uint8_t key[32], int64_t at, attest_cache_entry *out) {
    int found = 0;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < ATTEST_CACHE_SLOTS; i++) {
        attest_cache_entry *e = &c->cache[i];
        /* strictly inside the interval: boundary times are always recomputed */
        if (e->used && memcmp(e->key, key, 32) == 0 && at > e->lo && at < e->hi) {
            *out = *e;
            if (out->leaf_pub) EVP_PKEY_up_ref(out->leaf_pub);
            if (out->leaf) X509_up_ref(out->leaf);
            e->stamp = ++c->clock;
            found = 1;
            break;
        }
    }
    if (found)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->mu);
    return found;
}

void attest_cache_put(tkm_attest_ctx *c, const attest_cache_entry *src) {
    pthread_mutex_lock(&c->mu);
    int slot = 0;
    for (int i = 0; i < ATTEST_CACHE_SLOTS; i++) {
        attest_cache_entry *e = &c->cache[i];
        if (e->used && memcmp(e->key, src->key, 32) == 0) {
            slot = i;
            break;
        }
        if (!e->used) {
            slot = i;
            break;
        }
        if (e->stamp < c->cache[slot].stamp) slot = i; /* least recently used */
    }
    attest_cache_entry *e = &c->cache[slot];
    attest_cache_entry_release(e);
    *e = *src;
    if (e->leaf_pub) EVP_PKEY_up_ref(e->leaf_pub);
    if (e->leaf) X509_up_ref(e->leaf);
    e->used = 1;
    e->stamp = ++c->clock;
    pthread_mutex_unlock(&c->mu);
}

/* ---- Intel chains ---- */

static void widen(int64_t *lo, int64_t *hi, const ASN1_TIME *a, const ASN1_TIME *b) {
    int64_t x;
    if (a && attest_asn1_time_unix(a, &x) && x > *lo) *lo = x;
    if (b && attest_asn1_time_unix(b, &x) && x < *hi) *hi = x;
}

int attest_intel_chain_verify(tkm_attest_ctx *ctx, STACK_OF(X509) *chain, X509_CRL *root_crl, X509_CRL *pck_crl,
                              int64_t at, char *detail, size_t cap, int64_t *lo, int64_t *hi) {
    int ok = 0;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *sc = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    *lo = INT64_MIN;
    *hi = INT64_MAX;
    if (!store || !sc || !untrusted || sk_X509_num(chain) < 1) {
        snprintf(detail, cap, "internal error setting up the chain check");
        goto out;
    }
    for (int i = 1; i < sk_X509_num(chain); i++)
        if (!sk_X509_push(untrusted, sk_X509_value(chain, i))) goto out;
    if (X509_STORE_add_cert(store, ctx->intel_root) != 1) goto out;
    unsigned long flags = 0;
    if (root_crl || pck_crl) {
        if ((root_crl && X509_STORE_add_crl(store, root_crl) != 1) || (pck_crl && X509_STORE_add_crl(store, pck_crl) != 1))
            goto out;
        flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
    }
    if (X509_STORE_CTX_init(sc, store, sk_X509_value(chain, 0), untrusted) != 1) goto out;
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(sc);
    X509_VERIFY_PARAM_set_flags(vp, flags);
    X509_VERIFY_PARAM_set_time(vp, (time_t)at);
    X509_VERIFY_PARAM_set_depth(vp, 3);
    int v = X509_verify_cert(sc);
    if (v != 1) {
        int err = X509_STORE_CTX_get_error(sc);
        int depth = X509_STORE_CTX_get_error_depth(sc);
        X509 *bad = X509_STORE_CTX_get_current_cert(sc);
        char cn[64] = "";
        if (bad) attest_name_cn(X509_get_subject_name(bad), cn, sizeof cn);
        snprintf(detail, cap, "%s (depth %d%s%s)", X509_verify_cert_error_string(err), depth, cn[0] ? ", " : "", cn);
        goto out;
    }
    STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(sc);
    int n = sk_X509_num(built);
    if (n < 2 || X509_cmp(sk_X509_value(built, n - 1), ctx->intel_root) != 0) {
        snprintf(detail, cap, "chain does not end in the pinned Intel SGX Root CA");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        X509 *c = sk_X509_value(built, i);
        widen(lo, hi, X509_get0_notBefore(c), X509_get0_notAfter(c));
    }
    if (root_crl) widen(lo, hi, X509_CRL_get0_lastUpdate(root_crl), X509_CRL_get0_nextUpdate(root_crl));
    if (pck_crl) widen(lo, hi, X509_CRL_get0_lastUpdate(pck_crl), X509_CRL_get0_nextUpdate(pck_crl));
    char cn[64];
    attest_name_cn(X509_get_subject_name(sk_X509_value(built, 0)), cn, sizeof cn);
    if (root_crl || pck_crl)
        snprintf(detail, cap, "no certificate of the chain is revoked; CRLs signed by their issuers and current");
    else
        snprintf(detail, cap, "%s → … → Intel SGX Root CA (%d certificates), valid at the verification time", cn, n);
    ok = 1;
out:
    ERR_clear_error();
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(sc);
    X509_STORE_free(store);
    return ok;
}
