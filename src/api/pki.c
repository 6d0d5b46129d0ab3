/* see api_int.h — the local client CA and the operator certificate. */
#include "api_int.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/tkm_entropy.h"
#include "../crypto/tkm_ossl.h"

/* ---- X.509 ---- */

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = e && X509_add_ext(cert, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

/* A certificate for key, signed by ikey (self-signed when issuer is NULL). */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, int is_ca, long days) {
    uint8_t serial[16];
    if (tkm_failed(tkm_entropy_bytes(serial, sizeof serial))) return NULL;
    serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40);
    X509 *x = X509_new();
    BIGNUM *sn = BN_bin2bn(serial, sizeof serial, NULL);
    int ok = x && sn && X509_set_version(x, 2) && BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(x)) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
             X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L) && X509_set_pubkey(x, key) &&
             X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                        -1, 0) &&
             X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    if (ok && is_ca)
        ok = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
             add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             add_ext(x, x, NID_subject_key_identifier, "hash");
    else if (ok)
        ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") &&
             add_ext(x, issuer, NID_ext_key_usage, "clientAuth") &&
             add_ext(x, issuer, NID_subject_key_identifier, "hash") &&
             add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
    if (ok) ok = X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0;
    BN_free(sn);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static tkm_rc pem_of(char **out, size_t *len, X509 *x, EVP_PKEY *k) {
    *out = NULL;
    *len = 0;
    BIO *b = BIO_new(BIO_s_secmem());
    if (!b) return TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "BIO");
    int ok = x ? PEM_write_bio_X509(b, x) : PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    char *p = NULL;
    long n = ok ? BIO_get_mem_data(b, &p) : 0;
    tkm_rc rc = TKM_RC_OK;
    if (!ok || n <= 0) {
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "PEM");
    } else {
        *out = malloc((size_t)n + 1);
        if (!*out) {
            rc = TKM_RC(TKM_ERR_NOMEM);
        } else {
            memcpy(*out, p, (size_t)n);
            (*out)[n] = 0;
            *len = (size_t)n;
        }
    }
    BIO_free(b); /* secure-memory BIO: wiped when freed */
    return rc;
}

tkm_rc api_pki_create(const char *ca_path, const char *cert_path, const char *key_path, const char *ca_cn,
                      const char *client_cn, uint8_t fpr[32], char *subject, size_t subject_cap) {
    memset(fpr, 0, 32);
    if (subject_cap) subject[0] = 0;
    tkm_rc rc = TKM_RC_OK;
    EVP_PKEY *cak = EVP_EC_gen("P-256"), *ck = EVP_EC_gen("P-256");
    X509 *ca = cak ? make_cert(ca_cn, cak, NULL, NULL, 1, 3650) : NULL;
    X509 *c = ca && ck ? make_cert(client_cn, ck, ca, cak, 0, 825) : NULL;
    char *pem = NULL;
    size_t n = 0;
    if (!c) TKM_CHECK_GOTO(rc, TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "client CA and operator certificate"));
    TKM_CHECK_GOTO(rc, pem_of(&pem, &n, ca, NULL));
    TKM_CHECK_GOTO(rc, tkm_file_create(ca_path, 0644, pem, n));
    free(pem);
    pem = NULL;
    TKM_CHECK_GOTO(rc, pem_of(&pem, &n, c, NULL));
    TKM_CHECK_GOTO(rc, tkm_file_create(cert_path, 0644, pem, n));
    free(pem);
    pem = NULL;
    TKM_CHECK_GOTO(rc, pem_of(&pem, &n, NULL, ck));
    rc = tkm_file_create(key_path, 0600, pem, n);
    tkm_wipe(pem, n);
    if (tkm_failed(rc)) goto out;
    unsigned int mdlen = 0;
    if (!X509_digest(c, EVP_sha256(), fpr, &mdlen) || mdlen != 32) TKM_CHECK_GOTO(rc, TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "fingerprint"));
    BIO *b = BIO_new(BIO_s_mem());
    if (b && X509_NAME_print_ex(b, X509_get_subject_name(c), 0, XN_FLAG_RFC2253) >= 0 && subject_cap) {
        int r = BIO_read(b, subject, (int)subject_cap - 1);
        subject[r > 0 ? r : 0] = 0;
    }
    BIO_free(b);
out:
    free(pem);
    X509_free(ca);
    X509_free(c);
    EVP_PKEY_free(cak); /* the CA key is not kept */
    EVP_PKEY_free(ck);
    return rc;
}

tkm_rc api_der_to_pem(const uint8_t *der, size_t der_len, char **pem, size_t *len) {
    *pem = NULL;
    *len = 0;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)der_len);
    if (!x || p != der + der_len) {
        X509_free(x);
        return TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "certificate DER");
    }
    tkm_rc rc = pem_of(pem, len, x, NULL);
    X509_free(x);
    return rc;
}
