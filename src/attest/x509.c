/* see attest_int.h — OpenSSL glue, DER reading, Intel PCK and AMD VCEK extensions. */
#include "attest_int.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <string.h>
#include <time.h>

#include "../crypto/crypto.h"

tkm_rc attest_x509_from_der(X509 **out, const uint8_t *der, size_t len) {
    *out = NULL;
    if (len == 0 || len > (1u << 20)) {
        tkm_err_detail_set("certificate of %zu bytes", len);
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    const unsigned char *p = der;
    X509 *c = d2i_X509(NULL, &p, (long)len);
    if (!c) return TKM_OSSL_FAIL(TKM_ERR_X509, "certificate DER");
    if ((size_t)(p - der) != len) {
        X509_free(c);
        tkm_err_detail_set("%zu bytes after the certificate DER", len - (size_t)(p - der));
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    *out = c;
    return TKM_RC_OK;
}

tkm_rc attest_crl_from_der(X509_CRL **out, const uint8_t *der, size_t len) {
    *out = NULL;
    if (len == 0 || len > (8u << 20)) {
        tkm_err_detail_set("CRL of %zu bytes", len);
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    const unsigned char *p = der;
    X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)len);
    if (!c) return TKM_OSSL_FAIL(TKM_ERR_X509, "CRL DER");
    if ((size_t)(p - der) != len) {
        X509_CRL_free(c);
        tkm_err_detail_set("%zu bytes after the CRL DER", len - (size_t)(p - der));
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    *out = c;
    return TKM_RC_OK;
}

/* ---- strict PEM ---- */

static int pem_ws(uint8_t c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/*
 * One PEM block at *pos (leading whitespace skipped): "-----BEGIN CERTIFICATE-----"
 * or "-----BEGIN X509 CRL-----" with its matching END line.
 */
tkm_rc attest_pem_next(const uint8_t *pem, size_t len, size_t *pos, int *kind, uint8_t **der, size_t *der_len) {
    static const struct {
        const char *begin, *end;
        int kind;
    } labels[2] = {{"-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----", ATTEST_PEM_CERT},
                   {"-----BEGIN X509 CRL-----", "-----END X509 CRL-----", ATTEST_PEM_CRL}};
    *kind = ATTEST_PEM_NONE;
    *der = NULL;
    *der_len = 0;
    size_t i = *pos;
    while (i < len && pem_ws(pem[i])) i++;
    if (i == len) {
        *pos = i;
        return TKM_RC_OK;
    }
    int l = -1;
    for (int k = 0; k < 2 && l < 0; k++) {
        size_t bl = strlen(labels[k].begin);
        if (len - i >= bl && memcmp(pem + i, labels[k].begin, bl) == 0) l = k;
    }
    if (l < 0) {
        tkm_err_detail_set("PEM: unexpected text at offset %zu (only CERTIFICATE and X509 CRL blocks)", i);
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    i += strlen(labels[l].begin);
    size_t el = strlen(labels[l].end), start = i, end = 0;
    for (size_t j = i; j + el <= len; j++)
        if (pem[j] == '-') {
            if (memcmp(pem + j, labels[l].end, el) != 0) break; /* any other dash line: malformed */
            end = j;
            break;
        }
    if (!end) {
        tkm_err_detail_set("PEM: block at offset %zu without its END line", start);
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    uint8_t *d = NULL;
    size_t dl = 0;
    if (tkm_failed(tkm_b64_decode_alloc(&d, &dl, (const char *)pem + start, end - start, TKM_B64_SKIP_WS))) {
        tkm_err_detail_set("PEM: bad base64 in the block at offset %zu", start);
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    *kind = labels[l].kind;
    *der = d;
    *der_len = dl;
    *pos = end + el;
    return TKM_RC_OK;
}

tkm_rc attest_pem_chain_parse(STACK_OF(X509) **out, const uint8_t *pem, size_t len, int max) {
    *out = NULL;
    tkm_rc rc = TKM_RC(TKM_ERR_X509);
    STACK_OF(X509) *sk = sk_X509_new_null();
    uint8_t *der = NULL;
    size_t der_len = 0, pos = 0;
    if (!sk) return TKM_RC(TKM_ERR_NOMEM);
    /* one optional trailing NUL (Intel QEs append it) */
    if (len > 0 && pem[len - 1] == 0) len--;
    for (;;) {
        int kind;
        TKM_CHECK_GOTO(rc, attest_pem_next(pem, len, &pos, &kind, &der, &der_len));
        if (kind == ATTEST_PEM_NONE) break;
        if (kind != ATTEST_PEM_CERT) {
            tkm_err_detail_set("PEM chain: a block that is not a certificate");
            TKM_GOTO(rc, TKM_ERR_X509);
        }
        if (sk_X509_num(sk) >= max) {
            tkm_err_detail_set("PEM chain: more than %d certificates", max);
            TKM_GOTO(rc, TKM_ERR_X509);
        }
        X509 *c;
        TKM_CHECK_GOTO(rc, attest_x509_from_der(&c, der, der_len));
        free(der);
        der = NULL;
        if (!sk_X509_push(sk, c)) {
            X509_free(c);
            TKM_GOTO(rc, TKM_ERR_NOMEM);
        }
    }
    if (sk_X509_num(sk) == 0) {
        tkm_err_detail_set("PEM chain: no certificate");
        TKM_GOTO(rc, TKM_ERR_X509);
    }
    *out = sk;
    sk = NULL;
    rc = TKM_RC_OK;
out:
    free(der);
    if (sk) sk_X509_pop_free(sk, X509_free);
    return rc;
}

/* ---- keys and signatures ---- */

tkm_rc attest_p256_from_sec1(EVP_PKEY **out, const uint8_t pub[65]) {
    *out = NULL;
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, 65);
    params[2] = OSSL_PARAM_construct_end();
    int ok = pc && EVP_PKEY_fromdata_init(pc) == 1 &&
             EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(pc);
    if (!ok) {
        EVP_PKEY_free(pk);
        return TKM_OSSL_FAIL(TKM_ERR_BAD_KEY, "P-256 public key");
    }
    /* the point must be on the curve (P-256 has cofactor 1: on-curve is the whole check) */
    EVP_PKEY_CTX *vc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    ok = vc && EVP_PKEY_public_check_quick(vc) == 1;
    EVP_PKEY_CTX_free(vc);
    if (!ok) {
        EVP_PKEY_free(pk);
        return TKM_OSSL_FAIL(TKM_ERR_BAD_KEY, "P-256 public key is not a valid point");
    }
    *out = pk;
    return TKM_RC_OK;
}

tkm_rc attest_p256_from_xy(EVP_PKEY **out, const uint8_t xy[64]) {
    uint8_t sec1[65];
    sec1[0] = 0x04;
    memcpy(sec1 + 1, xy, 64);
    return attest_p256_from_sec1(out, sec1);
}

int attest_ecdsa_verify(EVP_PKEY *pub, const EVP_MD *md, const uint8_t *msg, size_t msg_len,
                        const uint8_t *r, const uint8_t *s, size_t n, int le) {
    int ret = -1;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *br = le ? BN_lebin2bn(r, (int)n, NULL) : BN_bin2bn(r, (int)n, NULL);
    BIGNUM *bs = le ? BN_lebin2bn(s, (int)n, NULL) : BN_bin2bn(s, (int)n, NULL);
    unsigned char *der = NULL;
    EVP_MD_CTX *mc = NULL;
    if (!sig || !br || !bs) goto out;
    if (BN_is_zero(br) || BN_is_zero(bs)) {
        ret = 0;
        goto out;
    }
    if (!ECDSA_SIG_set0(sig, br, bs)) goto out;
    br = bs = NULL;
    int dl = i2d_ECDSA_SIG(sig, &der);
    if (dl <= 0) goto out;
    mc = EVP_MD_CTX_new();
    if (!mc || EVP_DigestVerifyInit(mc, NULL, md, NULL, pub) != 1) goto out;
    int v = EVP_DigestVerify(mc, der, (size_t)dl, msg, msg_len);
    ret = v == 1 ? 1 : 0;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(mc);
    OPENSSL_free(der);
    BN_free(br);
    BN_free(bs);
    ECDSA_SIG_free(sig);
    return ret;
}

int attest_asn1_time_unix(const ASN1_TIME *t, int64_t *out) {
    struct tm tm;
    *out = 0;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    *out = (int64_t)timegm(&tm);
    return 1;
}

void attest_name_cn(const X509_NAME *n, char *buf, size_t cap) {
    buf[0] = 0;
    int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
    if (i < 0) return;
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
    int l = ASN1_STRING_length(s);
    if (l < 0 || (size_t)l >= cap) return;
    memcpy(buf, ASN1_STRING_get0_data(s), (size_t)l);
    buf[l] = 0;
    for (int k = 0; k < l; k++)
        if (buf[k] < 0x20 || buf[k] > 0x7e) buf[k] = '?';
}

tkm_rc attest_x509_sha256(uint8_t out[32], X509 *c) {
    unsigned char *der = NULL;
    int l = i2d_X509(c, &der);
    if (l <= 0) return TKM_OSSL_FAIL(TKM_ERR_X509, "certificate encoding");
    tkm_rc rc = tkm_sha256(out, der, (size_t)l);
    OPENSSL_free(der);
    return rc;
}

/* ---- DER ---- */

tkm_rc attest_der_tlv(tkm_rd *r, uint8_t *tag, tkm_rd *content) {
    uint8_t t, l0;
    *tag = 0;
    tkm_rd_init(content, NULL, 0);
    TKM_TRY(tkm_rd_u8(r, &t));
    TKM_TRY(tkm_rd_u8(r, &l0));
    size_t len = l0;
    if ((t & 0x1f) == 0x1f) {
        tkm_err_detail_set("DER: multi-byte tags are not used here");
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    if (l0 & 0x80) {
        size_t nb = l0 & 0x7f;
        if (nb == 0 || nb > 4) {
            tkm_err_detail_set("DER: indefinite or oversized length");
            TKM_ENSURE(0, TKM_ERR_X509);
        }
        len = 0;
        for (size_t i = 0; i < nb; i++) {
            uint8_t b;
            TKM_TRY(tkm_rd_u8(r, &b));
            if (i == 0 && b == 0) {
                tkm_err_detail_set("DER: non-minimal length");
                TKM_ENSURE(0, TKM_ERR_X509);
            }
            len = (len << 8) | b;
        }
        if (len < 0x80) {
            tkm_err_detail_set("DER: non-minimal length");
            TKM_ENSURE(0, TKM_ERR_X509);
        }
    }
    if (len > tkm_rd_left(r)) {
        tkm_err_detail_set("DER: length %zu exceeds the enclosing %zu bytes", len, tkm_rd_left(r));
        TKM_ENSURE(0, TKM_ERR_TRUNCATED);
    }
    TKM_TRY(tkm_rd_sub(r, len, content));
    *tag = t;
    return TKM_RC_OK;
}

tkm_rc attest_der_expect(tkm_rd *r, uint8_t tag, tkm_rd *content) {
    uint8_t t;
    TKM_TRY(attest_der_tlv(r, &t, content));
    if (t != tag) {
        tkm_err_detail_set("DER: tag 0x%02x where 0x%02x was expected", t, tag);
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    return TKM_RC_OK;
}

tkm_rc attest_der_uint(tkm_rd *c, uint64_t max, uint64_t *v) {
    *v = 0;
    size_t n = tkm_rd_left(c);
    const uint8_t *p;
    TKM_TRY(tkm_rd_view(c, n, &p));
    if (n == 0 || (p[0] & 0x80) || (n > 1 && p[0] == 0 && !(p[1] & 0x80)) || n > 9) {
        tkm_err_detail_set("DER: INTEGER is empty, negative or not minimal");
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (x >> 56) TKM_ENSURE(0, TKM_ERR_X509);
        x = (x << 8) | p[i];
    }
    if (x > max) {
        tkm_err_detail_set("DER: INTEGER %llu above %llu", (unsigned long long)x, (unsigned long long)max);
        TKM_ENSURE(0, TKM_ERR_RANGE);
    }
    *v = x;
    return TKM_RC_OK;
}

/* ---- Intel PCK SGX extension ---- */

/* 1.2.840.113741.1.13.1 */
static const uint8_t OID_SGX_EXT[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

/* OID content == SGX_EXT ‖ suffix? */
static int oid_is(const tkm_rd *oid, const uint8_t *suffix, size_t n) {
    size_t L = sizeof OID_SGX_EXT;
    return oid->len == L + n && memcmp(oid->p, OID_SGX_EXT, L) == 0 && memcmp(oid->p + L, suffix, n) == 0;
}

static tkm_rc octets_exact(tkm_rd *seq, uint8_t *out, size_t n, const char *what) {
    tkm_rd v;
    TKM_TRY(attest_der_expect(seq, 0x04, &v));
    if (v.len != n) {
        tkm_err_detail_set("PCK extension: %s is %zu bytes, expected %zu", what, v.len, n);
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    return tkm_rd_bytes(&v, out, n);
}

static tkm_rc pck_ext_inner(attest_pck_ext *e, const uint8_t *der, size_t len) {
    tkm_rd r, top;
    tkm_rd_init(&r, der, len);
    TKM_TRY(attest_der_expect(&r, 0x30, &top));
    TKM_TRY(tkm_rd_done(&r));
    unsigned seen = 0, tcb_seen = 0;
    while (tkm_rd_left(&top)) {
        tkm_rd item, oid;
        TKM_TRY(attest_der_expect(&top, 0x30, &item));
        TKM_TRY(attest_der_expect(&item, 0x06, &oid));
        uint8_t s1[1];
        int k = -1;
        for (uint8_t j = 1; j <= 7; j++) {
            s1[0] = j;
            if (oid_is(&oid, s1, 1)) k = j;
        }
        if (k < 0) {
            tkm_err_detail_set("PCK extension: unknown entry");
            TKM_ENSURE(0, TKM_ERR_X509);
        }
        if (seen & (1u << k)) {
            tkm_err_detail_set("PCK extension: duplicate entry .%d", k);
            TKM_ENSURE(0, TKM_ERR_X509);
        }
        seen |= 1u << k;
        if (k == 1) {
            TKM_TRY(octets_exact(&item, e->ppid, 16, "PPID"));
        } else if (k == 2) {
            tkm_rd tcb;
            TKM_TRY(attest_der_expect(&item, 0x30, &tcb));
            while (tkm_rd_left(&tcb)) {
                tkm_rd comp, coid;
                TKM_TRY(attest_der_expect(&tcb, 0x30, &comp));
                TKM_TRY(attest_der_expect(&comp, 0x06, &coid));
                int idx = -1;
                for (uint8_t j = 1; j <= 18; j++) {
                    uint8_t s2[2] = {2, j};
                    if (oid_is(&coid, s2, 2)) idx = j;
                }
                if (idx < 0 || (tcb_seen & (1u << idx))) {
                    tkm_err_detail_set("PCK extension: unknown or duplicate TCB entry");
                    TKM_ENSURE(0, TKM_ERR_X509);
                }
                tcb_seen |= 1u << idx;
                if (idx <= 17) {
                    tkm_rd iv;
                    uint64_t v;
                    TKM_TRY(attest_der_expect(&comp, 0x02, &iv));
                    TKM_TRY(attest_der_uint(&iv, idx == 17 ? 0xffff : 0xff, &v));
                    if (idx == 17)
                        e->pce_svn = (uint16_t)v;
                    else
                        e->tcb_comp[idx - 1] = (uint8_t)v;
                } else {
                    TKM_TRY(octets_exact(&comp, e->cpu_svn, 16, "CPUSVN"));
                }
                TKM_TRY(tkm_rd_done(&comp));
            }
            if (tcb_seen != 0x7fffeu) {
                tkm_err_detail_set("PCK extension: TCB lacks some of its 18 entries");
                TKM_ENSURE(0, TKM_ERR_X509);
            }
        } else if (k == 3) {
            TKM_TRY(octets_exact(&item, e->pce_id, 2, "PCE-ID"));
        } else if (k == 4) {
            TKM_TRY(octets_exact(&item, e->fmspc, 6, "FMSPC"));
        } else if (k == 5) {
            tkm_rd ev;
            uint64_t v;
            TKM_TRY(attest_der_expect(&item, 0x0a, &ev));
            TKM_TRY(attest_der_uint(&ev, 2, &v));
            e->sgx_type = (int)v;
        } else {
            /* .6 PlatformInstanceID, .7 Configuration: present on multi-package platforms; not used */
            size_t left = tkm_rd_left(&item);
            TKM_TRY(tkm_rd_skip(&item, left));
        }
        TKM_TRY(tkm_rd_done(&item));
    }
    const unsigned required = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5);
    if ((seen & required) != required) {
        tkm_err_detail_set("PCK extension: PPID, TCB, PCE-ID, FMSPC or SGX type missing");
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    return TKM_RC_OK;
}

tkm_rc attest_pck_ext_parse(attest_pck_ext *e, const uint8_t *der, size_t len) {
    memset(e, 0, sizeof *e);
    tkm_rc rc = pck_ext_inner(e, der, len);
    if (tkm_failed(rc)) memset(e, 0, sizeof *e);
    return rc;
}

static tkm_rc ext_value(X509 *cert, const char *oid_txt, const uint8_t **p, size_t *n, int *found) {
    *p = NULL;
    *n = 0;
    *found = 0;
    ASN1_OBJECT *obj = OBJ_txt2obj(oid_txt, 1);
    if (!obj) return TKM_OSSL_FAIL(TKM_ERR_INTERNAL, "OID");
    int idx = X509_get_ext_by_OBJ(cert, obj, -1);
    int dup = idx >= 0 ? X509_get_ext_by_OBJ(cert, obj, idx) : -1;
    ASN1_OBJECT_free(obj);
    if (idx < 0) return TKM_RC_OK;
    if (dup >= 0) {
        tkm_err_detail_set("certificate has extension %s twice", oid_txt);
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    X509_EXTENSION *ext = X509_get_ext(cert, idx);
    const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(ext);
    *p = ASN1_STRING_get0_data(os);
    *n = (size_t)ASN1_STRING_length(os);
    *found = 1;
    return TKM_RC_OK;
}

tkm_rc attest_pck_ext_from_cert(attest_pck_ext *out, X509 *cert) {
    const uint8_t *p;
    size_t n;
    int found;
    memset(out, 0, sizeof *out);
    TKM_TRY(ext_value(cert, "1.2.840.113741.1.13.1", &p, &n, &found));
    if (!found) {
        tkm_err_detail_set("PCK certificate has no SGX extension");
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    return attest_pck_ext_parse(out, p, n);
}

/* ---- AMD VCEK/VLEK extensions ---- */

static tkm_rc vcek_int(X509 *cert, const char *oid, int *has, uint8_t *v) {
    const uint8_t *p;
    size_t n;
    int found;
    *has = 0;
    *v = 0;
    TKM_TRY(ext_value(cert, oid, &p, &n, &found));
    if (!found) return TKM_RC_OK;
    tkm_rd r, iv;
    uint64_t x;
    tkm_rd_init(&r, p, n);
    TKM_TRY(attest_der_expect(&r, 0x02, &iv));
    TKM_TRY(tkm_rd_done(&r));
    TKM_TRY(attest_der_uint(&iv, 0xff, &x));
    *has = 1;
    *v = (uint8_t)x;
    return TKM_RC_OK;
}

static tkm_rc vcek_str(X509 *cert, const char *oid, char *buf, size_t cap, int *has) {
    const uint8_t *p;
    size_t n;
    int found;
    buf[0] = 0;
    if (has) *has = 0;
    TKM_TRY(ext_value(cert, oid, &p, &n, &found));
    if (!found) return TKM_RC_OK;
    tkm_rd r, s;
    tkm_rd_init(&r, p, n);
    TKM_TRY(attest_der_expect(&r, 0x16, &s)); /* IA5String */
    TKM_TRY(tkm_rd_done(&r));
    if (s.len >= cap) {
        tkm_err_detail_set("VCEK: string extension %s too long", oid);
        TKM_ENSURE(0, TKM_ERR_X509);
    }
    for (size_t i = 0; i < s.len; i++)
        if (s.p[i] < 0x20 || s.p[i] > 0x7e) {
            tkm_err_detail_set("VCEK: string extension %s is not printable", oid);
            TKM_ENSURE(0, TKM_ERR_X509);
        }
    memcpy(buf, s.p, s.len);
    buf[s.len] = 0;
    if (has) *has = 1;
    return TKM_RC_OK;
}

tkm_rc attest_vcek_ext_from_cert(attest_vcek_ext *e, X509 *cert) {
    memset(e, 0, sizeof *e);
    tkm_rc rc;
    int has_product = 0;
    TKM_CHECK_GOTO(rc, vcek_str(cert, "1.3.6.1.4.1.3704.1.2", e->product, sizeof e->product, &has_product));
    TKM_CHECK_GOTO(rc, vcek_int(cert, "1.3.6.1.4.1.3704.1.3.1", &e->has_bl, &e->bl));
    TKM_CHECK_GOTO(rc, vcek_int(cert, "1.3.6.1.4.1.3704.1.3.2", &e->has_tee, &e->tee));
    TKM_CHECK_GOTO(rc, vcek_int(cert, "1.3.6.1.4.1.3704.1.3.3", &e->has_snp, &e->snp));
    TKM_CHECK_GOTO(rc, vcek_int(cert, "1.3.6.1.4.1.3704.1.3.8", &e->has_ucode, &e->ucode));
    TKM_CHECK_GOTO(rc, vcek_int(cert, "1.3.6.1.4.1.3704.1.3.9", &e->has_fmc, &e->fmc));
    TKM_CHECK_GOTO(rc, vcek_str(cert, "1.3.6.1.4.1.3704.1.5", e->csp_id, sizeof e->csp_id, &e->has_csp));
    const uint8_t *p;
    size_t n;
    int found;
    TKM_CHECK_GOTO(rc, ext_value(cert, "1.3.6.1.4.1.3704.1.4", &p, &n, &found));
    if (found) {
        /* AMD KDS puts the raw hwID bytes in extnValue (64, or 8 on Turin); some
           issuers wrap them in a DER OCTET STRING: accept both, nothing else. */
        if (n == 64 || n == 8) {
            memcpy(e->hwid, p, n);
            e->hwid_len = n;
        } else {
            tkm_rd r, s;
            tkm_rd_init(&r, p, n);
            TKM_CHECK_GOTO(rc, attest_der_expect(&r, 0x04, &s));
            TKM_CHECK_GOTO(rc, tkm_rd_done(&r));
            if (s.len != 64 && s.len != 8) {
                tkm_err_detail_set("VCEK: hwID of %zu bytes", s.len);
                TKM_GOTO(rc, TKM_ERR_X509);
            }
            memcpy(e->hwid, s.p, s.len);
            e->hwid_len = s.len;
        }
    }
    if (!has_product || !e->has_bl || !e->has_tee || !e->has_snp || !e->has_ucode) {
        tkm_err_detail_set("VCEK: productName or a TCB SPL extension is missing");
        TKM_GOTO(rc, TKM_ERR_X509);
    }
    rc = TKM_RC_OK;
out:
    if (tkm_failed(rc)) memset(e, 0, sizeof *e);
    return rc;
}
