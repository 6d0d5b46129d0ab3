/*
 * The AMD CRL check (attest_snp_crl_eval) on a synthetic ARK → ASK → VCEK
 * chain and CRLs built here with OpenSSL (RSA-PSS SHA-384 salt 48 as AMD
 * signs): revoked ASK, revoked VCEK (certificateIssuer entries), serials that
 * match only without their issuer, expired / not yet valid, another signer,
 * another issuer name, PKCS#1 v1.5 and salt-32 PSS signatures. The expected
 * outcomes follow from how each fixture was built; OpenSSL's X509_CRL_verify
 * is the oracle that the fixtures' signatures are what they claim.
 */
#include "testutil.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "attest/attest.h"
#include "attest/attest_int.h"

#define T0 1780000000 /* thisUpdate of the CRLs built here */
#define T1 1783000000 /* nextUpdate */

static EVP_PKEY *ark_key, *ask_key, *vcek_key, *other_key;
static X509 *ark, *ask, *vcek;

static X509_NAME *name(const char *cn) {
    X509_NAME *n = X509_NAME_new();
    assert_non_null(n);
    assert_int_equal(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Advanced Micro Devices", -1, -1, 0), 1);
    assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
    return n;
}

/* An EVP_MD_CTX set up for signing with key: RSA-PSS SHA-384 with the given salt, or PKCS#1 v1.5 when salt < 0. */
static EVP_MD_CTX *signer(EVP_PKEY *key, int salt) {
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    assert_non_null(mc);
    assert_int_equal(EVP_DigestSignInit(mc, &pc, EVP_sha384(), NULL, key), 1);
    if (salt >= 0) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, salt), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha384()), 1);
    }
    return mc;
}

static X509 *make_cert(const char *subject, const char *issuer, long serial, EVP_PKEY *pub, EVP_PKEY *signing) {
    X509 *c = X509_new();
    assert_non_null(c);
    assert_int_equal(X509_set_version(c, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(c), serial), 1);
    X509_NAME *s = name(subject), *i = name(issuer);
    assert_int_equal(X509_set_subject_name(c, s), 1);
    assert_int_equal(X509_set_issuer_name(c, i), 1);
    X509_NAME_free(s);
    X509_NAME_free(i);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(c), 1700000000));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(c), 1900000000));
    assert_int_equal(X509_set_pubkey(c, pub), 1);
    EVP_MD_CTX *mc = signer(signing, 48);
    assert_true(X509_sign_ctx(c, mc) > 0);
    EVP_MD_CTX_free(mc);
    return c;
}

typedef struct {
    long serial;
    const char *cert_issuer; /* certificateIssuer entry extension (directoryName), or NULL */
} entry;

static X509_CRL *make_crl(const char *issuer, EVP_PKEY *signing, int salt, int64_t this_up, int64_t next_up,
                          const entry *e, size_t n) {
    X509_CRL *crl = X509_CRL_new();
    assert_non_null(crl);
    assert_int_equal(X509_CRL_set_version(crl, 1), 1);
    X509_NAME *in = name(issuer);
    assert_int_equal(X509_CRL_set_issuer_name(crl, in), 1);
    X509_NAME_free(in);
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)this_up);
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
    ASN1_TIME_set(t, (time_t)next_up);
    assert_int_equal(X509_CRL_set1_nextUpdate(crl, t), 1);
    for (size_t i = 0; i < n; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *sn = ASN1_INTEGER_new();
        assert_non_null(r);
        assert_non_null(sn);
        assert_int_equal(ASN1_INTEGER_set(sn, e[i].serial), 1);
        assert_int_equal(X509_REVOKED_set_serialNumber(r, sn), 1);
        ASN1_INTEGER_free(sn);
        ASN1_TIME_set(t, (time_t)this_up);
        assert_int_equal(X509_REVOKED_set_revocationDate(r, t), 1);
        if (e[i].cert_issuer) {
            GENERAL_NAMES *gns = GENERAL_NAMES_new();
            GENERAL_NAME *g = GENERAL_NAME_new();
            assert_non_null(gns);
            assert_non_null(g);
            GENERAL_NAME_set0_value(g, GEN_DIRNAME, name(e[i].cert_issuer));
            assert_true(sk_GENERAL_NAME_push(gns, g) > 0);
            assert_int_equal(X509_REVOKED_add1_ext_i2d(r, NID_certificate_issuer, gns, 1, 0), 1);
            GENERAL_NAMES_free(gns);
        }
        assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
    }
    ASN1_TIME_free(t);
    assert_int_equal(X509_CRL_sort(crl), 1);
    EVP_MD_CTX *mc = signer(signing, salt);
    assert_true(X509_CRL_sign_ctx(crl, mc) > 0);
    EVP_MD_CTX_free(mc);
    /* round trip through DER, as the CRL would arrive */
    unsigned char *der = NULL;
    int dl = i2d_X509_CRL(crl, &der);
    assert_true(dl > 0);
    X509_CRL_free(crl);
    X509_CRL *back = NULL;
    TU_ASSERT_OK(attest_crl_from_der(&back, der, (size_t)dl));
    OPENSSL_free(der);
    return back;
}

static int setup(void **state) {
    (void)state;
    ark_key = EVP_RSA_gen(2048);
    ask_key = EVP_RSA_gen(2048);
    other_key = EVP_RSA_gen(2048);
    vcek_key = EVP_EC_gen("P-384");
    if (!ark_key || !ask_key || !other_key || !vcek_key) return -1;
    ark = make_cert("ARK-Test", "ARK-Test", 0x1001, ark_key, ark_key);
    ask = make_cert("SEV-Test", "ARK-Test", 0x1234, ask_key, ark_key);
    vcek = make_cert("SEV-VCEK", "SEV-Test", 0, vcek_key, ask_key); /* AMD VCEKs often have serial 0 */
    return 0;
}

static int teardown(void **state) {
    (void)state;
    X509_free(ark);
    X509_free(ask);
    X509_free(vcek);
    EVP_PKEY_free(ark_key);
    EVP_PKEY_free(ask_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(vcek_key);
    return 0;
}

/* Evaluate crl at `at` and compare with the expected outcome; frees crl. */
static void expect(X509_CRL *crl, int64_t at, int want_ok, int want_revoked, const char *word) {
    char d[TKM_CHECK_DETAIL_LEN];
    int revoked = -1;
    int ok = attest_snp_crl_eval(crl, ark, ask, vcek, at, &revoked, d, sizeof d);
    if (ok != want_ok || revoked != want_revoked || !strstr(d, word))
        fail_msg("ok=%d revoked=%d (want %d %d, \"%s\"): %s", ok, revoked, want_ok, want_revoked, word, d);
    X509_CRL_free(crl);
}

static void test_clean(void **state) {
    (void)state;
    X509_CRL *crl = make_crl("ARK-Test", ark_key, 48, T0, T1, NULL, 0);
    assert_int_equal(X509_CRL_verify(crl, ark_key), 1); /* oracle: OpenSSL agrees the ARK signed it */
    expect(crl, T0 + 100, 1, 0, "0 entries, none for this chain");
    /* entries for other certificates of the ARK */
    entry e[] = {{0x1235, NULL}, {0x7, NULL}};
    expect(make_crl("ARK-Test", ark_key, 48, T0, T1, e, 2), T0 + 100, 1, 0, "2 entries, none for this chain");
}

static void test_revoked(void **state) {
    (void)state;
    /* the ASK, issued by the ARK: listed by serial */
    entry ask_e[] = {{0x7, NULL}, {0x1234, NULL}};
    expect(make_crl("ARK-Test", ark_key, 48, T0, T1, ask_e, 2), T0 + 100, 0, 1, "REVOKED: SEV-Test certificate serial 1234");
    /* the VCEK, issued by the ASK: listed with a certificateIssuer naming the ASK */
    entry vcek_e[] = {{0x0, "SEV-Test"}};
    expect(make_crl("ARK-Test", ark_key, 48, T0, T1, vcek_e, 1), T0 + 100, 0, 1, "REVOKED: SEV-VCEK certificate serial 0");
    /* serial 0 without certificateIssuer is the ARK's certificate 0, not the VCEK */
    entry zero[] = {{0x0, NULL}};
    expect(make_crl("ARK-Test", ark_key, 48, T0, T1, zero, 1), T0 + 100, 1, 0, "none for this chain");
    /* certificateIssuer holds for the following entries: 0x1234 then names the ASK's certificate 0x1234, not the ASK */
    entry inherit[] = {{0x5, "SEV-Test"}, {0x1234, NULL}};
    X509_CRL *crl = make_crl("ARK-Test", ark_key, 48, T0, T1, inherit, 2);
    /* X509_CRL_sort orders by serial, keeping 0x5 (with the extension) first */
    assert_int_equal(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), 0))), 5);
    expect(crl, T0 + 100, 1, 0, "none for this chain");
}

static void test_dates(void **state) {
    (void)state;
    expect(make_crl("ARK-Test", ark_key, 48, T0, T1, NULL, 0), T0, 1, 0, "none for this chain");
    expect(make_crl("ARK-Test", ark_key, 48, T0, T1, NULL, 0), T0 - 1, 0, 0, "not yet valid");
    expect(make_crl("ARK-Test", ark_key, 48, T0, T1, NULL, 0), T1 - 1, 1, 0, "none for this chain");
    expect(make_crl("ARK-Test", ark_key, 48, T0, T1, NULL, 0), T1, 0, 0, "expired");
}

static void test_signer(void **state) {
    (void)state;
    /* right issuer name, another key */
    X509_CRL *crl = make_crl("ARK-Test", other_key, 48, T0, T1, NULL, 0);
    assert_int_equal(X509_CRL_verify(crl, ark_key), 0); /* oracle */
    expect(crl, T0 + 100, 0, 0, "signature INVALID");
    /* the ASK signing a CRL in the ARK's name */
    expect(make_crl("ARK-Test", ask_key, 48, T0, T1, NULL, 0), T0 + 100, 0, 0, "signature INVALID");
    /* signed by the ARK key but naming another issuer */
    expect(make_crl("ARK-Other", ark_key, 48, T0, T1, NULL, 0), T0 + 100, 0, 0, "not by the built-in ARK-Test");
    /* the ARK's key, but PKCS#1 v1.5, or PSS with a 32-byte salt: OpenSSL accepts both, AMD uses neither */
    crl = make_crl("ARK-Test", ark_key, -1, T0, T1, NULL, 0);
    assert_int_equal(X509_CRL_verify(crl, ark_key), 1);
    expect(crl, T0 + 100, 0, 0, "not RSASSA-PSS");
    crl = make_crl("ARK-Test", ark_key, 32, T0, T1, NULL, 0);
    assert_int_equal(X509_CRL_verify(crl, ark_key), 1);
    expect(crl, T0 + 100, 0, 0, "salt 48) signature INVALID");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_revoked),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_signer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
