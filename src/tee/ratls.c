/* see tkm_ratls.h */
#include "tkm_ratls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../crypto/tkm_entropy.h"
#include "tee_internal.h"

struct tkm_ratls_key {
    tkm_secret *sk;
    EVP_PKEY *pkey;
    uint8_t *spki;
    size_t spki_len;
};

tkm_rc tkm_ratls_key_new(tkm_ratls_key **out) {
    *out = NULL;
    tkm_ratls_key *k = calloc(1, sizeof *k);
    TKM_ENSURE(k != NULL, TKM_ERR_NOMEM);
    tkm_rc rc;
    TKM_CHECK_GOTO(rc, tee_p256_scalar_new(&k->sk));
    TKM_CHECK_GOTO(rc, tee_p256_pkey(&k->pkey, k->sk));
    TKM_CHECK_GOTO(rc, tee_spki(&k->spki, &k->spki_len, k->pkey));
    *out = k;
    k = NULL;
out:
    tkm_ratls_key_free(k);
    return rc;
}

void tkm_ratls_key_free(tkm_ratls_key *k) {
    if (!k) return;
    tkm_secret_free(k->sk);
    EVP_PKEY_free(k->pkey);
    free(k->spki);
    free(k);
}

EVP_PKEY *tkm_ratls_key_pkey(const tkm_ratls_key *k) { return k->pkey; }

void tkm_ratls_key_spki(const tkm_ratls_key *k, const uint8_t **spki, size_t *len) {
    *spki = k->spki;
    *len = k->spki_len;
}

/* ---- CBOR: tag(T) [ bstr, bstr ], deterministic encoding (RFC 8949 §4.2.1) ---- */

static tkm_rc cbor_put_head(tkm_wr *w, uint8_t major, uint64_t arg) {
    uint8_t mt = (uint8_t)(major << 5);
    if (arg < 24) return tkm_wr_u8(w, (uint8_t)(mt | arg));
    if (arg <= 0xff) {
        TKM_TRY(tkm_wr_u8(w, mt | 24));
        return tkm_wr_u8(w, (uint8_t)arg);
    }
    if (arg <= 0xffff) {
        TKM_TRY(tkm_wr_u8(w, mt | 25));
        return tkm_wr_u16be(w, (uint16_t)arg);
    }
    if (arg <= 0xffffffffu) {
        TKM_TRY(tkm_wr_u8(w, mt | 26));
        return tkm_wr_u32be(w, (uint32_t)arg);
    }
    TKM_TRY(tkm_wr_u8(w, mt | 27));
    return tkm_wr_u64be(w, arg);
}

static uint64_t fmt_tag(tkm_ev_format fmt) {
    switch (fmt) {
    case TKM_EV_SGX_QUOTE:
    case TKM_EV_TDX_QUOTE: return TKM_RATLS_TAG_INTEL_QUOTE;
    case TKM_EV_SIM_V1: return TKM_RATLS_TAG_SIM;
    case TKM_EV_SNP_REPORT: return TKM_RATLS_TAG_SNP;
    default: return 0;
    }
}

tkm_rc tkm_ratls_ext_encode(tkm_wr *w, tkm_ev_format fmt, const uint8_t *ev, size_t ev_len,
                            const uint8_t *claims, size_t claims_len) {
    TKM_ARG_CHECK(fmt_tag(fmt) != 0);
    TKM_ARG_CHECK((ev || !ev_len) && (claims || !claims_len));
    TKM_TRY(cbor_put_head(w, 6, fmt_tag(fmt)));
    TKM_TRY(cbor_put_head(w, 4, 2));
    TKM_TRY(cbor_put_head(w, 2, ev_len));
    TKM_TRY(tkm_wr_put(w, ev, ev_len));
    TKM_TRY(cbor_put_head(w, 2, claims_len));
    return tkm_wr_put(w, claims, claims_len);
}

static tkm_rc cbor_bad(const char *what) {
    tkm_err_detail_set("RA-TLS extension: %s", what);
    TKM_ENSURE(0, TKM_ERR_CBOR);
}

/* One item head; only definite lengths in their shortest form. */
static tkm_rc cbor_head(tkm_rd *r, uint8_t *major, uint64_t *arg) {
    uint8_t ib = 0;
    TKM_TRY(tkm_rd_u8(r, &ib));
    *major = (uint8_t)(ib >> 5);
    uint8_t ai = ib & 31;
    if (ai < 24) {
        *arg = ai;
        return TKM_RC_OK;
    }
    if (ai == 24) {
        uint8_t v = 0;
        TKM_TRY(tkm_rd_u8(r, &v));
        if (v < 24) return cbor_bad("non-shortest length");
        *arg = v;
    } else if (ai == 25) {
        uint16_t v = 0;
        TKM_TRY(tkm_rd_u16be(r, &v));
        if (v <= 0xff) return cbor_bad("non-shortest length");
        *arg = v;
    } else if (ai == 26) {
        uint32_t v = 0;
        TKM_TRY(tkm_rd_u32be(r, &v));
        if (v <= 0xffff) return cbor_bad("non-shortest length");
        *arg = v;
    } else if (ai == 27) {
        uint64_t v = 0;
        TKM_TRY(tkm_rd_u64be(r, &v));
        if (v <= 0xffffffffu) return cbor_bad("non-shortest length");
        *arg = v;
    } else {
        return cbor_bad("indefinite length or reserved value");
    }
    return TKM_RC_OK;
}

static tkm_rc cbor_bstr(tkm_rd *r, const uint8_t **v, size_t *n) {
    uint8_t major = 0;
    uint64_t len = 0;
    TKM_TRY(cbor_head(r, &major, &len));
    if (major != 2) return cbor_bad("expected a byte string");
    if (len > tkm_rd_left(r)) TKM_ENSURE(0, TKM_ERR_TRUNCATED);
    TKM_TRY(tkm_rd_view(r, (size_t)len, v));
    *n = (size_t)len;
    return TKM_RC_OK;
}

tkm_rc tkm_ratls_ext_parse(tkm_ratls_ext *e, const uint8_t *buf, size_t len) {
    memset(e, 0, sizeof *e);
    TKM_ARG_CHECK(buf != NULL || len == 0);
    tkm_rd r;
    tkm_rd_init(&r, buf, len);
    uint8_t major = 0;
    uint64_t tag = 0, n = 0;
    tkm_ratls_ext x;
    memset(&x, 0, sizeof x);
    TKM_TRY(cbor_head(&r, &major, &tag));
    if (major != 6) return cbor_bad("expected a tag");
    TKM_TRY(cbor_head(&r, &major, &n));
    if (major != 4 || n != 2) return cbor_bad("expected an array of two items");
    TKM_TRY(cbor_bstr(&r, &x.evidence, &x.evidence_len));
    TKM_TRY(cbor_bstr(&r, &x.claims, &x.claims_len));
    TKM_TRY(tkm_rd_done(&r));
    if (tag == TKM_RATLS_TAG_SIM) {
        x.format = TKM_EV_SIM_V1;
    } else if (tag == TKM_RATLS_TAG_SNP) {
        x.format = TKM_EV_SNP_REPORT;
    } else if (tag == TKM_RATLS_TAG_INTEL_QUOTE) {
        /* quote header: version u16, key type u16, TEE type u32 (0 = SGX, 0x81 = TDX) */
        if (x.evidence_len < 8) TKM_ENSURE(0, TKM_ERR_RATLS_EXT);
        uint32_t tee = (uint32_t)x.evidence[4] | (uint32_t)x.evidence[5] << 8 | (uint32_t)x.evidence[6] << 16 |
                       (uint32_t)x.evidence[7] << 24;
        if (tee == 0)
            x.format = TKM_EV_SGX_QUOTE;
        else if (tee == 0x81)
            x.format = TKM_EV_TDX_QUOTE;
        else {
            tkm_err_detail_set("RA-TLS extension: Intel quote of unknown TEE type 0x%x", tee);
            TKM_ENSURE(0, TKM_ERR_RATLS_EXT);
        }
    } else {
        tkm_err_detail_set("RA-TLS extension: unknown evidence tag %llu", (unsigned long long)tag);
        TKM_ENSURE(0, TKM_ERR_RATLS_EXT);
    }
    *e = x;
    return TKM_RC_OK;
}

/* ---- certificate ---- */

static int add_ext_nid(X509 *x, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!e) return 0;
    int ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

/* Subject alternative names: IP literals and DNS names. */
static tkm_rc add_names(X509 *x, const char *const *names, size_t n) {
    if (!n) return TKM_RC_OK;
    TKM_ENSURE(n <= TKM_RATLS_MAX_NAMES, TKM_ERR_FORMAT);
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    TKM_ENSURE(gens, TKM_ERR_NOMEM);
    tkm_rc rc = TKM_RC_OK;
    for (size_t i = 0; i < n && tkm_ok(rc); i++) {
        const char *s = names[i];
        unsigned char ip[16];
        int iplen = inet_pton(AF_INET, s, ip) == 1 ? 4 : inet_pton(AF_INET6, s, ip) == 1 ? 16 : 0;
        GENERAL_NAME *g = GENERAL_NAME_new();
        if (!g) {
            rc = TKM_RC(TKM_ERR_NOMEM);
            break;
        }
        if (iplen) {
            ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();
            if (!o || !ASN1_OCTET_STRING_set(o, ip, iplen)) {
                ASN1_OCTET_STRING_free(o);
                GENERAL_NAME_free(g);
                rc = TKM_RC(TKM_ERR_NOMEM);
                break;
            }
            GENERAL_NAME_set0_value(g, GEN_IPADD, o);
        } else {
            size_t len = strlen(s);
            int ok = len >= 1 && len <= 253;
            for (size_t j = 0; ok && j < len; j++) {
                char c = s[j];
                ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                     c == '-' || c == '*';
            }
            ASN1_IA5STRING *a = ok ? ASN1_IA5STRING_new() : NULL;
            if (!ok || !a || !ASN1_STRING_set(a, s, (int)len)) {
                ASN1_IA5STRING_free(a);
                GENERAL_NAME_free(g);
                if (!ok) tkm_err_detail_set("certificate name %.80s is neither an IP address nor a DNS name", s);
                rc = TKM_RC(ok ? TKM_ERR_NOMEM : TKM_ERR_FORMAT);
                break;
            }
            GENERAL_NAME_set0_value(g, GEN_DNS, a);
        }
        if (!sk_GENERAL_NAME_push(gens, g)) {
            GENERAL_NAME_free(g);
            rc = TKM_RC(TKM_ERR_NOMEM);
        }
    }
    if (tkm_ok(rc) && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "subjectAltName");
    GENERAL_NAMES_free(gens);
    return rc;
}

tkm_rc tkm_ratls_cert_new(uint8_t **der, size_t *der_len, const tkm_ratls_key *k, tkm_ev_format fmt,
                          const uint8_t *ev, size_t ev_len, const uint8_t *claims, size_t claims_len,
                          int64_t not_before, int64_t not_after) {
    return tkm_ratls_cert_new_names(der, der_len, k, fmt, ev, ev_len, claims, claims_len, not_before, not_after,
                                    NULL, 0);
}

tkm_rc tkm_ratls_cert_new_names(uint8_t **der, size_t *der_len, const tkm_ratls_key *k, tkm_ev_format fmt,
                                const uint8_t *ev, size_t ev_len, const uint8_t *claims, size_t claims_len,
                                int64_t not_before, int64_t not_after, const char *const *names, size_t n_names) {
    *der = NULL;
    *der_len = 0;
    TKM_ARG_CHECK(not_before <= not_after && (names || !n_names));
    tkm_rc rc = TKM_RC(TKM_ERR_CRYPTO);
    tkm_wr w;
    tkm_wr_init(&w, TKM_RATLS_CERT_MAX);
    X509 *x = NULL;
    BIGNUM *sn = NULL;
    ASN1_OBJECT *obj = NULL;
    ASN1_OCTET_STRING *os = NULL;
    X509_EXTENSION *ext = NULL;
    unsigned char *out = NULL;
    TKM_CHECK_GOTO(rc, tkm_ratls_ext_encode(&w, fmt, ev, ev_len, claims, claims_len));
    uint8_t serial[16];
    TKM_CHECK_GOTO(rc, tkm_entropy_bytes(serial, sizeof serial));
    serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40); /* positive, 16 bytes */
    rc = TKM_RC(TKM_ERR_CRYPTO);
    x = X509_new();
    sn = BN_bin2bn(serial, sizeof serial, NULL);
    if (!x || !sn || !X509_set_version(x, 2) || !BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(x))) goto fail;
    if (!ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after))
        goto fail;
    X509_NAME *name = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"teekm RA-TLS", -1, -1, 0) ||
        !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, k->pkey))
        goto fail;
    if (!add_ext_nid(x, NID_basic_constraints, "critical,CA:FALSE") ||
        !add_ext_nid(x, NID_key_usage, "critical,digitalSignature") ||
        !add_ext_nid(x, NID_ext_key_usage, "serverAuth,clientAuth") ||
        !add_ext_nid(x, NID_subject_key_identifier, "hash"))
        goto fail;
    TKM_CHECK_GOTO(rc, add_names(x, names, n_names));
    rc = TKM_RC(TKM_ERR_CRYPTO);
    obj = OBJ_txt2obj(TKM_RATLS_OID, 1);
    os = ASN1_OCTET_STRING_new();
    if (!obj || !os || w.len > INT32_MAX || !ASN1_OCTET_STRING_set(os, w.p, (int)w.len)) goto fail;
    ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
    if (!ext || !X509_add_ext(x, ext, -1)) goto fail;
    if (X509_sign(x, k->pkey, EVP_sha256()) <= 0) goto fail;
    int n = i2d_X509(x, &out);
    if (n <= 0) goto fail;
    uint8_t *copy = malloc((size_t)n);
    if (!copy) TKM_GOTO(rc, TKM_ERR_NOMEM);
    memcpy(copy, out, (size_t)n);
    *der = copy;
    *der_len = (size_t)n;
    rc = TKM_RC_OK;
    goto out;
fail:
    rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "build RA-TLS certificate");
out:
    OPENSSL_free(out);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    BN_free(sn);
    X509_free(x);
    tkm_wr_free(&w);
    return rc;
}

tkm_rc tkm_ratls_issue(uint8_t **der, size_t *der_len, tkm_tee *t, const tkm_ratls_key *k, tkm_claims *c,
                       int64_t not_before, int64_t not_after) {
    *der = NULL;
    *der_len = 0;
    TKM_ARG_CHECK(k->spki_len <= TKM_CLAIMS_SPKI_MAX);
    snprintf(c->platform, sizeof c->platform, "%s", tkm_tee_name(t));
    memcpy(c->tls_spki, k->spki, k->spki_len);
    c->tls_spki_len = k->spki_len;
    tkm_wr w;
    tkm_wr_init(&w, TKM_CLAIMS_MAX_BYTES);
    tkm_tee_evidence ev;
    memset(&ev, 0, sizeof ev);
    uint8_t rd[TKM_REPORT_DATA_LEN];
    tkm_rc rc;
    TKM_CHECK_GOTO(rc, tkm_claims_encode(c, &w));
    TKM_CHECK_GOTO(rc, tkm_claims_report_data(rd, w.p, w.len));
    TKM_CHECK_GOTO(rc, tkm_tee_evidence_get(t, &ev, rd));
    TKM_CHECK_GOTO(rc, tkm_ratls_cert_new(der, der_len, k, ev.format, ev.bytes, ev.len, w.p, w.len, not_before,
                                          not_after));
out:
    tkm_tee_evidence_free(&ev);
    tkm_wr_free(&w);
    return rc;
}

tkm_rc tkm_ratls_ssl_ctx_use(SSL_CTX *ctx, const tkm_ratls_key *k, const uint8_t *der, size_t der_len) {
    TKM_ARG_CHECK(der_len > 0 && der_len <= TKM_RATLS_CERT_MAX);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)der_len);
    tkm_rc rc = TKM_RC_OK;
    if (!x || p != der + der_len || SSL_CTX_use_certificate(ctx, x) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, k->pkey) != 1 || SSL_CTX_check_private_key(ctx) != 1 ||
        SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1)
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "install RA-TLS key and certificate");
    X509_free(x);
    return rc;
}

/* ---- peer inspection ---- */

void tkm_ratls_peer_free(tkm_ratls_peer *p) {
    if (!p) return;
    free(p->evidence);
    free(p->claims_jcs);
    free(p->cert_spki);
    tkm_claims_free(&p->claims);
    memset(p, 0, sizeof *p);
}

static uint8_t *dup_bytes(const uint8_t *b, size_t n) {
    uint8_t *c = malloc(n ? n : 1);
    if (c && n) memcpy(c, b, n);
    return c;
}

tkm_rc tkm_ratls_inspect(tkm_ratls_peer *p, const uint8_t *cert, size_t cert_len, const uint8_t *session_spki,
                         size_t session_spki_len) {
    memset(p, 0, sizeof *p);
    TKM_ARG_CHECK(session_spki != NULL || session_spki_len == 0);
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    X509 *x = NULL;
    ASN1_OBJECT *obj = NULL;
    unsigned char *spki = NULL;
    tkm_ratls_peer r;
    memset(&r, 0, sizeof r);
    if (cert_len == 0 || cert_len > TKM_RATLS_CERT_MAX) TKM_GOTO(rc, TKM_ERR_X509);
    const unsigned char *q = cert;
    x = d2i_X509(NULL, &q, (long)cert_len);
    if (!x || q != cert + cert_len) {
        rc = TKM_OSSL_FAIL(TKM_ERR_X509, "not a DER certificate");
        goto out;
    }
    EVP_PKEY *pub = X509_get0_pubkey(x);
    if (!pub || X509_verify(x, pub) != 1) {
        rc = TKM_OSSL_FAIL(TKM_ERR_X509, "certificate is not self-signed by its key");
        goto out;
    }
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    if (n <= 0 || !(r.cert_spki = dup_bytes(spki, (size_t)n))) TKM_GOTO(rc, TKM_ERR_X509);
    r.cert_spki_len = (size_t)n;
    obj = OBJ_txt2obj(TKM_RATLS_OID, 1);
    if (!obj) TKM_GOTO(rc, TKM_ERR_NOMEM);
    int idx = X509_get_ext_by_OBJ(x, obj, -1);
    if (idx < 0) {
        tkm_err_detail_set("certificate has no %s evidence extension", TKM_RATLS_OID);
        TKM_GOTO(rc, TKM_ERR_RATLS_EXT);
    }
    if (X509_get_ext_by_OBJ(x, obj, idx) >= 0) {
        tkm_err_detail_set("certificate has several %s extensions", TKM_RATLS_OID);
        TKM_GOTO(rc, TKM_ERR_RATLS_EXT);
    }
    const ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(X509_get_ext(x, idx));
    tkm_ratls_ext e;
    TKM_CHECK_GOTO(rc, tkm_ratls_ext_parse(&e, ASN1_STRING_get0_data(d), (size_t)ASN1_STRING_length(d)));
    r.format = e.format;
    r.evidence = dup_bytes(e.evidence, e.evidence_len);
    r.claims_jcs = dup_bytes(e.claims, e.claims_len);
    if (!r.evidence || !r.claims_jcs) TKM_GOTO(rc, TKM_ERR_NOMEM);
    r.evidence_len = e.evidence_len;
    r.claims_len = e.claims_len;
    TKM_CHECK_GOTO(rc, tkm_ev_inspect(&r.view, r.format, r.evidence, r.evidence_len));
    TKM_CHECK_GOTO(rc, tkm_claims_parse(&r.claims, r.claims_jcs, r.claims_len));
    uint8_t rd[TKM_REPORT_DATA_LEN];
    TKM_CHECK_GOTO(rc, tkm_claims_report_data(rd, r.claims_jcs, r.claims_len));
    r.report_data_matches = tkm_ct_eq(rd, r.view.report_data, sizeof rd) &&
                            strcmp(r.claims.platform, tkm_tee_kind_name(r.view.platform)) == 0;
    r.tls_key_matches = r.claims.tls_spki_len == r.cert_spki_len &&
                        memcmp(r.claims.tls_spki, r.cert_spki, r.cert_spki_len) == 0;
    if (session_spki) {
        r.session_key_given = 1;
        r.tls_key_matches = r.tls_key_matches && session_spki_len == r.cert_spki_len &&
                            memcmp(session_spki, r.cert_spki, r.cert_spki_len) == 0;
    }
    *p = r;
    memset(&r, 0, sizeof r);
    rc = TKM_RC_OK;
out:
    tkm_ratls_peer_free(&r);
    OPENSSL_free(spki);
    ASN1_OBJECT_free(obj);
    X509_free(x);
    return rc;
}

tkm_rc tkm_ratls_verify(tkm_ratls_peer *p, const uint8_t *cert, size_t cert_len, const uint8_t *session_spki,
                        size_t session_spki_len) {
    TKM_TRY(tkm_ratls_inspect(p, cert, cert_len, session_spki, session_spki_len));
    if (!p->report_data_matches) {
        tkm_err_detail_set("the evidence's report_data is not the binding of the certificate's claims");
        TKM_ENSURE(0, TKM_ERR_TEE_BINDING);
    }
    if (!p->tls_key_matches) {
        tkm_err_detail_set("claims.tlsPublicKey is not the certificate / session key");
        TKM_ENSURE(0, TKM_ERR_TEE_KEY_MISMATCH);
    }
    return TKM_RC_OK;
}

tkm_rc tkm_ratls_peer_json(const tkm_ratls_peer *p, json_t **out) {
    *out = NULL;
    json_t *o = NULL, *claims = NULL, *checks = NULL;
    tkm_rc rc;
    TKM_CHECK_GOTO(rc, tkm_ev_view_json(&p->view, 1, &o));
    TKM_CHECK_GOTO(rc, tkm_claims_to_json(&p->claims, &claims));
    checks = json_object();
    int e = !checks;
    e |= json_object_set_new(o, "claims", claims);
    claims = NULL;
    e |= json_object_set_new(o, "evidence", tkm_json_hex_new(p->evidence, p->evidence_len));
    e |= json_object_set_new(o, "reportDataMatches", json_boolean(p->report_data_matches && p->tls_key_matches));
    if (checks) {
        e |= json_object_set_new(checks, "reportData", json_boolean(p->report_data_matches));
        e |= json_object_set_new(checks, "tlsKey", json_boolean(p->tls_key_matches));
        e |= json_object_set_new(checks, "sessionKeyCompared", json_boolean(p->session_key_given));
        e |= json_object_set(o, "checks", checks);
    }
    e |= json_object_set_new(o, "evidenceAppraised", json_false());
    if (e) TKM_GOTO(rc, TKM_ERR_NOMEM);
    *out = o;
    o = NULL;
    rc = TKM_RC_OK;
out:
    json_decref(checks);
    json_decref(claims);
    json_decref(o);
    return rc;
}

/* ---- client fetch ---- */

static tkm_rc connect_tcp(int *fdp, const char *host, const char *port, int timeout_ms) {
    *fdp = -1;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        tkm_err_detail_set("%s:%s: %s", host, port, gai_strerror(g));
        TKM_ENSURE(0, TKM_ERR_NETWORK);
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    int fd = -1, err = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        tkm_err_detail_set("connect %s:%s: %s", host, port, strerror(err));
        TKM_ENSURE(0, err == EINPROGRESS || err == EAGAIN || err == ETIMEDOUT ? TKM_ERR_TIMEOUT : TKM_ERR_NETWORK);
    }
    *fdp = fd;
    return TKM_RC_OK;
}

tkm_rc tkm_ratls_fetch(uint8_t **cert, size_t *cert_len, uint8_t **session_spki, size_t *session_spki_len,
                       const char *host, const char *port, int timeout_ms) {
    *cert = NULL;
    *cert_len = 0;
    *session_spki = NULL;
    *session_spki_len = 0;
    TKM_ARG_CHECK(timeout_ms > 0);
    int fd = -1;
    TKM_TRY(connect_tcp(&fd, host, port, timeout_ms));
    tkm_rc rc = TKM_RC(TKM_ERR_NETWORK);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    X509 *peer = NULL;
    unsigned char *der = NULL, *spki = NULL;
    uint8_t *c = NULL, *s = NULL;
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
        rc = TKM_OSSL_FAIL(TKM_ERR_NETWORK, "TLS client setup");
        goto out;
    }
    /* Inspection tool: no CA verification. The handshake still proves that
     * the peer holds the private key of the certificate it presents. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_max_cert_list(ctx, (long)TKM_RATLS_CERT_MAX + 65536);
    ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1) {
        rc = TKM_OSSL_FAIL(TKM_ERR_NETWORK, "TLS client setup");
        goto out;
    }
    unsigned char addr[16];
    if (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)
        (void)SSL_set_tlsext_host_name(ssl, host); /* SNI carries names only (RFC 6066) */
    if (SSL_connect(ssl) != 1) {
        rc = TKM_OSSL_FAIL(TKM_ERR_NETWORK, "TLS 1.3 handshake");
        goto out;
    }
    peer = SSL_get1_peer_certificate(ssl);
    if (!peer) {
        tkm_err_detail_set("peer sent no certificate");
        TKM_GOTO(rc, TKM_ERR_X509);
    }
    int n = i2d_X509(peer, &der);
    int m = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(peer), &spki);
    if (n <= 0 || m <= 0) TKM_GOTO(rc, TKM_ERR_X509);
    c = dup_bytes(der, (size_t)n);
    s = dup_bytes(spki, (size_t)m);
    if (!c || !s) TKM_GOTO(rc, TKM_ERR_NOMEM);
    (void)SSL_shutdown(ssl);
    *cert = c;
    *cert_len = (size_t)n;
    *session_spki = s;
    *session_spki_len = (size_t)m;
    c = s = NULL;
    rc = TKM_RC_OK;
out:
    free(c);
    free(s);
    OPENSSL_free(der);
    OPENSSL_free(spki);
    X509_free(peer);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    ERR_clear_error();
    return rc;
}
