/*
 * Evidence parsers on real evidence: every field against values stated by the
 * vectors' MANIFEST and by dcap-qvl's own decoding (expected_fields_*.json),
 * every truncation length, padding rules, and the sim format.
 */
#include "testutil.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <string.h>

#include "attest/attest.h"

static uint8_t *load(const char *rel, size_t *len) { return tu_read_file(tu_vector_path(rel), len); }

static void assert_hex(const uint8_t *b, size_t n, const char *want) { assert_string_equal(tu_tohex(b, n), want); }

/* Compare one field of dcap-qvl's decoding (hex or integer) with ours. */
static void snap_hex(json_t *snap, const char *key, const uint8_t *b, size_t n) {
    json_t *v = json_object_get(snap, key);
    if (!json_is_string(v)) fail_msg("snapshot has no %s", key);
    assert_string_equal(tu_tohex(b, n), json_string_value(v));
}
static void snap_int(json_t *snap, const char *key, long long x) {
    json_t *v = json_object_get(snap, key);
    if (!json_is_integer(v)) fail_msg("snapshot has no %s", key);
    assert_int_equal(json_integer_value(v), x);
}

static void test_sgx_quote_fields(void **state) {
    (void)state;
    size_t len;
    uint8_t *buf = load("attestation/dcap-qvl/sgx_quote", &len);
    tkm_evidence *ev;
    TU_ASSERT_OK(tkm_evidence_parse(&ev, buf, len));
    assert_int_equal(tkm_evidence_platform(ev), TKM_PLATFORM_SGX);
    const tkm_dcap_quote *q = tkm_evidence_dcap(ev);
    /* MANIFEST */
    assert_int_equal(q->version, 3);
    assert_int_equal(q->att_key_type, 2);
    assert_int_equal(q->tee_type, 0);
    assert_int_equal(q->qe_svn, 10);
    assert_int_equal(q->pce_svn, 15);
    assert_hex(q->qe_vendor_id, 16, "939a7233f79c4ca9940a0db3957f0607");
    assert_hex(q->sgx.mr_enclave, 32, "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
    assert_hex(q->sgx.mr_signer, 32, "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6");
    assert_hex(q->sgx.attributes, 16, "0500000000000000e700000000000000");
    assert_int_equal(q->sgx.isv_prod_id, 0);
    assert_int_equal(q->sgx.isv_svn, 0);
    assert_memory_equal(q->sgx.report_data, "Hello, world!", 13);
    for (int i = 13; i < 64; i++) assert_int_equal(q->sgx.report_data[i], 0);
    assert_hex(q->sgx.cpu_svn, 16, "0b0b1a18ffff04000000000000000000");
    assert_int_equal(q->sig_data_len, 4164);
    assert_int_equal(q->qe_auth_len, 32);
    for (int i = 0; i < 32; i++) assert_int_equal(q->qe_auth_data[i], i);
    assert_int_equal(q->outer_cert_type, 5);
    assert_int_equal(q->pck_chain_len, 3548);
    assert_hex(q->qe_report.mr_signer, 32, "8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff");
    assert_int_equal(q->qe_report.isv_prod_id, 1);
    assert_int_equal(q->qe_report.isv_svn, 10);
    assert_int_equal(q->signed_len, 432);
    assert_int_equal(q->quote_len, 4600);
    assert_int_equal(q->padding_len, 0);
    assert_int_equal(tkm_evidence_debug(ev), 0);
    /* dcap-qvl's decoding of the same bytes */
    json_t *s = tu_load_vector("attestation/dcap-qvl/expected_fields_sgx_quote.json");
    snap_int(s, "header.version", q->version);
    snap_int(s, "header.qe_svn", q->qe_svn);
    snap_int(s, "header.pce_svn", q->pce_svn);
    snap_int(s, "header.tee_type", q->tee_type);
    snap_hex(s, "header.user_data", q->user_data, 20);
    snap_hex(s, "report.cpu_svn", q->sgx.cpu_svn, 16);
    snap_int(s, "report.misc_select", q->sgx.misc_select);
    snap_hex(s, "report.attributes", q->sgx.attributes, 16);
    snap_hex(s, "report.mr_enclave", q->sgx.mr_enclave, 32);
    snap_hex(s, "report.mr_signer", q->sgx.mr_signer, 32);
    snap_int(s, "report.isv_prod_id", q->sgx.isv_prod_id);
    snap_int(s, "report.isv_svn", q->sgx.isv_svn);
    snap_hex(s, "report.report_data", q->sgx.report_data, 64);
    snap_hex(s, "auth_data.ecdsa_signature", q->quote_sig, 64);
    snap_hex(s, "auth_data.ecdsa_attestation_key", q->attest_key, 64);
    snap_hex(s, "auth_data.qe_report", q->qe_report_raw, 384);
    snap_hex(s, "auth_data.qe_report_signature", q->qe_report_sig, 64);
    snap_hex(s, "auth_data.qe_auth_data.data", q->qe_auth_data, q->qe_auth_len);
    snap_int(s, "auth_data.certification_data.cert_type", q->outer_cert_type);
    json_decref(s);
    tkm_evidence_free(ev);
    free(buf);
}

static void test_tdx_quote_fields(void **state) {
    (void)state;
    size_t len;
    uint8_t *buf = load("attestation/dcap-qvl/tdx_quote", &len);
    tkm_evidence *ev;
    TU_ASSERT_OK(tkm_evidence_parse(&ev, buf, len));
    assert_int_equal(tkm_evidence_platform(ev), TKM_PLATFORM_TDX);
    const tkm_dcap_quote *q = tkm_evidence_dcap(ev);
    const tkm_td_report_body *t = &q->td;
    assert_int_equal(q->version, 4);
    assert_int_equal(q->body_type, TKM_DCAP_BODY_TD10);
    assert_hex(t->tee_tcb_svn, 16, "06010300000000000000000000000000");
    assert_hex(t->mr_seam, 48, "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1");
    assert_hex(t->td_attributes, 8, "0000001000000000");
    assert_hex(t->xfam, 8, "e702060000000000");
    assert_hex(t->mr_td, 48, "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7");
    assert_hex(t->rtmr[0], 48, "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0");
    assert_hex(t->rtmr[1], 48, "0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378");
    assert_hex(t->rtmr[2], 48, "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132");
    for (int i = 0; i < 48; i++) assert_int_equal(t->rtmr[3][i], 0);
    assert_hex(t->report_data, 64,
               "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20");
    assert_int_equal(q->sig_data_len, 4300);
    assert_int_equal(q->outer_cert_type, 6);
    assert_int_equal(q->pck_chain_len, 3678);
    assert_int_equal(q->qe_report.isv_prod_id, 2);
    assert_int_equal(q->qe_report.isv_svn, 6);
    assert_int_equal(q->signed_len, 632);
    assert_int_equal(q->quote_len, 4936);
    assert_int_equal(q->padding_len, 70);
    json_t *s = tu_load_vector("attestation/dcap-qvl/expected_fields_tdx_quote.json");
    snap_int(s, "header.version", q->version);
    snap_int(s, "header.tee_type", q->tee_type);
    snap_hex(s, "header.user_data", q->user_data, 20);
    snap_hex(s, "report.tee_tcb_svn", t->tee_tcb_svn, 16);
    snap_hex(s, "report.mr_seam", t->mr_seam, 48);
    snap_hex(s, "report.mr_signer_seam", t->mr_signer_seam, 48);
    snap_hex(s, "report.seam_attributes", t->seam_attributes, 8);
    snap_hex(s, "report.td_attributes", t->td_attributes, 8);
    snap_hex(s, "report.xfam", t->xfam, 8);
    snap_hex(s, "report.mr_td", t->mr_td, 48);
    snap_hex(s, "report.mr_config_id", t->mr_config_id, 48);
    snap_hex(s, "report.mr_owner", t->mr_owner, 48);
    snap_hex(s, "report.mr_owner_config", t->mr_owner_config, 48);
    snap_hex(s, "report.rt_mr0", t->rtmr[0], 48);
    snap_hex(s, "report.rt_mr1", t->rtmr[1], 48);
    snap_hex(s, "report.rt_mr2", t->rtmr[2], 48);
    snap_hex(s, "report.rt_mr3", t->rtmr[3], 48);
    snap_hex(s, "report.report_data", t->report_data, 64);
    snap_hex(s, "auth_data.ecdsa_signature", q->quote_sig, 64);
    snap_hex(s, "auth_data.ecdsa_attestation_key", q->attest_key, 64);
    snap_int(s, "auth_data.certification_data.cert_type", q->outer_cert_type);
    snap_hex(s, "auth_data.qe_report_data.qe_report", q->qe_report_raw, 384);
    snap_hex(s, "auth_data.qe_report_data.qe_report_signature", q->qe_report_sig, 64);
    snap_hex(s, "auth_data.qe_report_data.qe_auth_data.data", q->qe_auth_data, q->qe_auth_len);
    snap_int(s, "auth_data.qe_report_data.certification_data.cert_type", 5);
    json_decref(s);
    tkm_evidence_free(ev);
    free(buf);
}

static void test_tdx_v5_fields(void **state) {
    (void)state;
    size_t len;
    uint8_t *buf = load("attestation/dcap-qvl/tdx_quote_outdated", &len);
    tkm_evidence *ev;
    TU_ASSERT_OK(tkm_evidence_parse(&ev, buf, len));
    const tkm_dcap_quote *q = tkm_evidence_dcap(ev);
    assert_int_equal(q->version, 5);
    assert_int_equal(q->body_type, TKM_DCAP_BODY_TD15);
    assert_true(q->td.is_td15);
    assert_int_equal(q->signed_len, 702);
    assert_hex(q->td.mr_td, 48, "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd");
    /* report_data d2142b64...dce47728 + 32 zero bytes; mr_td at Q+190 and report_data at Q+574 */
    assert_memory_equal(q->td.mr_td, buf + 190, 48);
    assert_memory_equal(q->td.report_data, buf + 574, 64);
    assert_hex(q->td.report_data, 4, "d2142b64");
    assert_hex(q->td.report_data + 28, 4, "dce47728");
    for (int i = 32; i < 64; i++) assert_int_equal(q->td.report_data[i], 0);
    assert_int_equal(q->padding_len, 0);
    tkm_evidence_free(ev);
    free(buf);
}

static void test_other_tdx_quotes_parse(void **state) {
    (void)state;
    static const struct {
        const char *file;
        int hex, version;
        size_t quote_len, padding;
    } cases[] = {
        {"attestation/dcap-qvl/tdx-quote.hex", 1, 4, 4936, 70},
        {"attestation/dcap-qvl/quote-from-tappd.hex", 1, 4, 4936, 70},
        {"attestation/go-tdx-guest/quote_v5_sample.dat", 0, 5, 5006, 0},
        {"attestation/go-tdx-guest/ccel_cos-113-tdx-quote.dat", 0, 4, 4935, 3065},
        {"attestation/trustee/tdx_quote_5.dat", 0, 5, 5006, 0},
        {"attestation/trustee/tdx_quote_6.dat", 0, 4, 4936, 70},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len, blen;
        uint8_t *raw = load(cases[i].file, &len), *b;
        TU_ASSERT_OK(tkm_evidence_decode_file_bytes(&b, &blen, raw, len));
        assert_int_equal(blen, cases[i].hex ? 5006 : len);
        tkm_evidence *ev;
        TU_ASSERT_OK(tkm_evidence_parse(&ev, b, blen));
        const tkm_dcap_quote *q = tkm_evidence_dcap(ev);
        assert_int_equal(tkm_evidence_platform(ev), TKM_PLATFORM_TDX);
        assert_int_equal(q->version, cases[i].version);
        assert_int_equal(q->quote_len, cases[i].quote_len);
        assert_int_equal(q->padding_len, cases[i].padding);
        tkm_evidence_free(ev);
        free(b);
        free(raw);
    }
}

/* The SPR E4 sample carries 39 bytes of ASCII after the quote: refused deliberately. */
static void test_nonzero_trailing_refused(void **state) {
    (void)state;
    size_t len;
    uint8_t *buf = load("attestation/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", &len);
    tkm_evidence *ev;
    assert_int_equal(len, 4974);
    TU_ASSERT_RC(tkm_evidence_parse(&ev, buf, len), TKM_ERR_TRAILING);
    assert_null(ev);
    TU_ASSERT_OK(tkm_evidence_parse(&ev, buf, 4935));
    const tkm_dcap_quote *q = tkm_evidence_dcap(ev);
    assert_hex(q->td.td_attributes, 8, "0000004000000000");
    assert_hex(q->td.tee_tcb_svn, 3, "030004");
    tkm_evidence_free(ev);
    /* zero padding of any length is fine, one non-zero byte in it is not */
    uint8_t *pad = calloc(1, 4935 + 100);
    memcpy(pad, buf, 4935);
    TU_ASSERT_OK(tkm_evidence_parse(&ev, pad, 4935 + 100));
    assert_int_equal(tkm_evidence_dcap(ev)->padding_len, 100);
    tkm_evidence_free(ev);
    pad[4935 + 99] = 1;
    TU_ASSERT_RC(tkm_evidence_parse(&ev, pad, 4935 + 100), TKM_ERR_TRAILING);
    free(pad);
    free(buf);
}

/* Every truncation length fails cleanly below the meaningful length and parses from there on. */
static void truncations(const char *rel, size_t meaningful) {
    size_t len;
    uint8_t *buf = load(rel, &len);
    for (size_t n = 0; n < len; n++) {
        uint8_t *c = malloc(n ? n : 1); /* exact-size copy so ASan sees any overread */
        memcpy(c, buf, n);
        tkm_evidence *ev = (tkm_evidence *)1;
        tkm_rc rc = tkm_evidence_parse(&ev, c, n);
        if (n < meaningful) {
            if (tkm_ok(rc)) fail_msg("%s truncated to %zu bytes parsed", rel, n);
            assert_null(ev);
        } else {
            TU_ASSERT_OK(rc);
            tkm_evidence_free(ev);
        }
        free(c);
    }
    free(buf);
}

static void test_truncations(void **state) {
    (void)state;
    truncations("attestation/dcap-qvl/sgx_quote", 4600);
    truncations("attestation/dcap-qvl/tdx_quote", 4936);
    truncations("attestation/dcap-qvl/tdx_quote_outdated", 5006);
    truncations("attestation/go-sev-guest/attestation.bin", 1184);
}

/* Declared lengths larger than their enclosure are caught at every level. */
static void test_declared_lengths(void **state) {
    (void)state;
    size_t len;
    uint8_t *buf = load("attestation/dcap-qvl/tdx_quote", &len);
    tkm_evidence *ev;
    uint8_t *c = malloc(len);
    /* sig_data_len at Q+632 */
    memcpy(c, buf, len);
    c[632] = 0xff, c[633] = 0xff;
    TU_ASSERT_RC(tkm_evidence_parse(&ev, c, len), TKM_ERR_TRUNCATED);
    /* outer cert data size at Q+636+128+2 */
    memcpy(c, buf, len);
    c[636 + 130 + 1] = 0x20;
    TU_ASSERT_RC(tkm_evidence_parse(&ev, c, len), TKM_ERR_TRUNCATED);
    /* outer certification type 5 instead of 6 */
    memcpy(c, buf, len);
    c[636 + 128] = 5;
    TU_ASSERT_RC(tkm_evidence_parse(&ev, c, len), TKM_ERR_EVIDENCE);
    /* QE auth data size (after 384 + 64 of the QE report block) */
    memcpy(c, buf, len);
    size_t auth = 636 + 128 + 6 + 384 + 64;
    c[auth + 1] = 0x40;
    TU_ASSERT_RC(tkm_evidence_parse(&ev, c, len), TKM_ERR_TRUNCATED);
    /* a shorter PCK chain size leaves bytes inside the QE certification data */
    memcpy(c, buf, len);
    size_t pck = auth + 2 + 32 + 2;
    c[pck] = (uint8_t)(c[pck] - 1);
    TU_ASSERT_RC(tkm_evidence_parse(&ev, c, len), TKM_ERR_TRAILING);
    free(c);
    free(buf);
}

static void test_snp_fields(void **state) {
    (void)state;
    size_t len;
    uint8_t *buf = load("attestation/go-sev-guest/attestation.bin", &len);
    tkm_evidence *ev;
    TU_ASSERT_OK(tkm_evidence_parse(&ev, buf, len));
    assert_int_equal(tkm_evidence_platform(ev), TKM_PLATFORM_SNP);
    const tkm_snp_report *s = tkm_evidence_snp(ev);
    assert_int_equal(s->version, 2);
    assert_int_equal(s->policy, 0xb0000);
    assert_true(tkm_evidence_debug(ev));
    assert_hex(s->report_data, 5, "0102030405");
    for (int i = 5; i < 64; i++) assert_int_equal(s->report_data[i], 0);
    assert_hex(s->measurement, 48, "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01");
    assert_int_equal(s->reported_tcb, 0x4405000000000002ull);
    assert_hex(s->chip_id, 64, "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d");
    assert_int_equal(s->current_major, 1);
    assert_int_equal(s->current_minor, 49);
    assert_int_equal(s->current_build, 3);
    tkm_evidence_free(ev);
    free(buf);

    uint8_t *raw = load("attestation/virtee-sev/report_milan.hex", &len), *b;
    size_t blen;
    TU_ASSERT_OK(tkm_evidence_decode_file_bytes(&b, &blen, raw, len));
    size_t dlen;
    uint8_t *derived = load("attestation/virtee-sev/DERIVED_report_milan.bin", &dlen);
    assert_int_equal(blen, dlen);
    assert_memory_equal(b, derived, dlen);
    TU_ASSERT_OK(tkm_evidence_parse(&ev, b, blen));
    s = tkm_evidence_snp(ev);
    assert_int_equal(s->policy, 0x30000);
    assert_false(tkm_evidence_debug(ev));
    assert_int_equal(s->reported_tcb, 0x7308000000000003ull);
    assert_hex(s->report_data, 4, "d447b55d");
    assert_hex(s->report_data + 60, 4, "6a93ebfd");
    assert_hex(s->measurement, 48, "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f");
    assert_hex(s->chip_id, 4, "d49554ec");
    assert_hex(s->chip_id + 60, 4, "4d541eb6");
    assert_int_equal(s->current_major, 1);
    assert_int_equal(s->current_minor, 52);
    assert_int_equal(s->current_build, 4);
    tkm_evidence_free(ev);
    /* a must-be-zero byte set is refused; so is a wrong length */
    TU_ASSERT_RC(tkm_evidence_parse(&ev, b, blen - 1), TKM_ERR_TRUNCATED);
    b[0x04C] = 1;
    TU_ASSERT_RC(tkm_evidence_parse(&ev, b, blen), TKM_ERR_EVIDENCE);
    b[0x04C] = 0;
    b[0x400] = 1; /* unused part of the signature field */
    TU_ASSERT_RC(tkm_evidence_parse(&ev, b, blen), TKM_ERR_EVIDENCE);
    assert_null(ev);
    free(derived);
    free(b);
    free(raw);
}

/* ---- sim: built here with OpenSSL exactly as docs/sim-evidence.md lays it out ---- */

static size_t make_sim(uint8_t out[300], EVP_PKEY **keyp) {
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    memset(out, 0, 300);
    memcpy(out, "TKMSIM01", 8);
    out[8] = 1;  /* version */
    out[12] = 1; /* flags */
    static const char label[] = "SIMULATED \xe2\x80\x94 NOT SECURE";
    assert_int_equal(sizeof label - 1, 24);
    memcpy(out + 16, label, 24);
    for (int i = 0; i < 48; i++) out[48 + i] = (uint8_t)(0xa0 + i);
    for (int i = 0; i < 64; i++) out[96 + i] = (uint8_t)i;
    out[160] = 0x10, out[161] = 0x27; /* timestamp 10000 */
    size_t pl = 65;
    assert_int_equal(EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", out + 168, 65, &pl), 1);
    assert_int_equal(pl, 65);
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    unsigned char der[80];
    size_t dl = sizeof der;
    assert_int_equal(EVP_DigestSignInit(mc, NULL, EVP_sha256(), NULL, k), 1);
    assert_int_equal(EVP_DigestSign(mc, der, &dl, out, 236), 1);
    EVP_MD_CTX_free(mc);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    BN_bn2binpad(r, out + 236, 32);
    BN_bn2binpad(s, out + 268, 32);
    ECDSA_SIG_free(sig);
    *keyp = k;
    return 300;
}

static void test_sim(void **state) {
    (void)state;
    uint8_t b[300];
    EVP_PKEY *k;
    make_sim(b, &k);
    tkm_evidence *ev;
    TU_ASSERT_OK(tkm_evidence_parse(&ev, b, 300));
    assert_int_equal(tkm_evidence_platform(ev), TKM_PLATFORM_SIM);
    const tkm_sim_evidence *s = tkm_evidence_sim(ev);
    assert_int_equal(s->timestamp, 10000);
    assert_int_equal(s->measurement[0], 0xa0);
    assert_int_equal(s->report_data[63], 63);
    assert_int_equal(s->pubkey[0], 4);
    tkm_evidence_free(ev);
    /* each rule of the format */
    static const struct {
        size_t off;
        uint8_t val;
    } bad[] = {{0, 'X'}, {8, 2}, {12, 3}, {13, 1}, {16, 's'}, {26, 0}, {40, 1}, {233, 1}, {235, 1}, {168, 2}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t c[301];
        memcpy(c, b, 300);
        c[bad[i].off] = bad[i].val;
        tkm_rc rc = tkm_evidence_parse(&ev, c, 300);
        if (tkm_ok(rc)) fail_msg("sim byte %zu = %u accepted", bad[i].off, bad[i].val);
    }
    uint8_t c[301];
    memcpy(c, b, 300);
    c[300] = 0;
    TU_ASSERT_RC(tkm_evidence_parse(&ev, c, 301), TKM_ERR_TRAILING);
    EVP_PKEY_free(k);
}

static void test_hex_files_and_garbage(void **state) {
    (void)state;
    uint8_t *o;
    size_t n;
    TU_ASSERT_OK(tkm_evidence_decode_file_bytes(&o, &n, (const uint8_t *)"  0x0a0B\n", 9));
    assert_int_equal(n, 2);
    assert_int_equal(o[1], 0x0b);
    free(o);
    TU_ASSERT_RC(tkm_evidence_decode_file_bytes(&o, &n, (const uint8_t *)"0a0", 3), TKM_ERR_HEX_ODD);
    tkm_evidence *ev;
    static const uint8_t junk[16] = {1, 2, 3, 4};
    TU_ASSERT_RC(tkm_evidence_parse(&ev, junk, sizeof junk), TKM_ERR_EVIDENCE);
    TU_ASSERT_RC(tkm_evidence_parse(&ev, junk, 3), TKM_ERR_TRUNCATED);
    TU_ASSERT_RC(tkm_evidence_parse(&ev, NULL, 0), TKM_ERR_TRUNCATED);
    TU_CHECK_ILLEGAL(tkm_evidence_parse(&ev, NULL, 5));
}

int main(void) {
    tkm_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_quote_fields),       cmocka_unit_test(test_tdx_quote_fields),
        cmocka_unit_test(test_tdx_v5_fields),          cmocka_unit_test(test_other_tdx_quotes_parse),
        cmocka_unit_test(test_nonzero_trailing_refused), cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_declared_lengths),       cmocka_unit_test(test_snp_fields),
        cmocka_unit_test(test_sim),                    cmocka_unit_test(test_hex_files_and_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
