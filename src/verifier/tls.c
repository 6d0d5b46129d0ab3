/* see tkm_vkeys.h — the verifier's self-signed TLS certificate. */
#include "tkm_vkeys.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/tkm_ossl.h"
#include "verifier_int.h"

static int add_ext(X509 *cert, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ex) return 0;
    int ok = X509_add_ext(cert, ex, -1);
    X509_EXTENSION_free(ex);
    return ok;
}

static tkm_rc bio_bytes(BIO *b, uint8_t **out, size_t *len) {
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    if (n <= 0) return TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "PEM encoding");
    if (!(*out = malloc((size_t)n))) return TKM_RC(TKM_ERR_NOMEM);
    memcpy(*out, p, (size_t)n);
    *len = (size_t)n;
    return TKM_RC_OK;
}

tkm_rc tkm_vtls_make_self_signed(const char *cert_path, const char *key_path, const tkm_vtls_names *names) {
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    EVP_PKEY *pkey = NULL;
    X509 *cert = NULL;
    BIO *kb = NULL, *cb = NULL;
    uint8_t *kpem = NULL, *cpem = NULL, serial[16];
    size_t kpem_len = 0, cpem_len = 0;
    char san[2048];
    size_t off = 0;
    static const char *const default_dns[] = {"localhost"};
    static const char *const default_ips[] = {"127.0.0.1", "::1"};
    tkm_vtls_names def = {default_dns, 1, default_ips, 2, 0};
    if (!names || (names->n_dns == 0 && names->n_ips == 0)) {
        unsigned days = names ? names->days : 0;
        def.days = days;
        names = &def;
    }
    unsigned days = names->days ? names->days : 825;
    for (size_t i = 0; i < names->n_dns + names->n_ips; i++) {
        int dns = i < names->n_dns;
        const char *v = dns ? names->dns[i] : names->ips[i - names->n_dns];
        if (!v[0] || strpbrk(v, ",\n\r")) {
            tkm_err_detail_set("invalid certificate name \"%s\"", v);
            TKM_GOTO(rc, TKM_ERR_FORMAT);
        }
        int n = snprintf(san + off, sizeof san - off, "%s%s:%s", off ? "," : "", dns ? "DNS" : "IP", v);
        if (n < 0 || (size_t)n >= sizeof san - off) TKM_GOTO(rc, TKM_ERR_TOO_LARGE);
        off += (size_t)n;
    }
    TKM_CHECK_GOTO(rc, tkm_entropy_bytes(serial, sizeof serial));
    serial[0] &= 0x7f; /* positive */
    serial[0] |= 0x01; /* and 16 bytes long */
    if (!(pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"))) {
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "P-256 key generation");
        goto out;
    }
    if (!(cert = X509_new())) TKM_GOTO(rc, TKM_ERR_NOMEM);
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    int ok = bn && X509_set_version(cert, X509_VERSION_3) && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) &&
             X509_gmtime_adj(X509_getm_notBefore(cert), -300) &&
             X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400) && X509_set_pubkey(cert, pkey);
    BN_free(bn);
    X509_NAME *name = X509_get_subject_name(cert);
    ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"teekm-verifier", -1, -1, 0) &&
         X509_set_issuer_name(cert, name) && add_ext(cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
         add_ext(cert, NID_key_usage, "critical,digitalSignature,keyCertSign") &&
         add_ext(cert, NID_ext_key_usage, "serverAuth") && add_ext(cert, NID_subject_key_identifier, "hash") &&
         add_ext(cert, NID_subject_alt_name, san) && X509_sign(cert, pkey, EVP_sha256()) > 0;
    if (!ok) {
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "self-signed certificate");
        goto out;
    }
    if (!(kb = BIO_new(BIO_s_secmem())) || !(cb = BIO_new(BIO_s_mem()))) TKM_GOTO(rc, TKM_ERR_NOMEM);
    if (!PEM_write_bio_PrivateKey(kb, pkey, NULL, NULL, 0, NULL, NULL) || !PEM_write_bio_X509(cb, cert)) {
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "PEM encoding");
        goto out;
    }
    TKM_CHECK_GOTO(rc, bio_bytes(kb, &kpem, &kpem_len));
    TKM_CHECK_GOTO(rc, bio_bytes(cb, &cpem, &cpem_len));
    TKM_CHECK_GOTO(rc, tkm_file_create(key_path, 0600, kpem, kpem_len));
    rc = tkm_file_create(cert_path, 0644, cpem, cpem_len);
    if (tkm_failed(rc)) {
        remove(key_path);
        goto out;
    }
    rc = TKM_RC_OK;
out:
    if (kpem) {
        tkm_wipe(kpem, kpem_len);
        free(kpem);
    }
    free(cpem);
    BIO_free(kb);
    if (cb) BIO_free(cb);
    X509_free(cert);
    EVP_PKEY_free(pkey);
    return rc;
}
