/* RA-TLS: certificate round trip on the sim platform, edited claims and foreign keys detected,
 * extension CBOR parsing (valid, corruptions, truncations), and `teekm evidence show` against an
 * in-process OpenSSL TLS 1.3 server. */
#include "tee_doubles.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "crypto/tkm_secp.h"

static char *root;
static char keyfile[4200];
static tkm_tee *g_tee;

static int setup(void **state) {
    (void)state;
    root = td_tmpdir();
    snprintf(keyfile, sizeof keyfile, "%s/sim-key.pem", root);
    tkm_tee_opts o;
    memset(&o, 0, sizeof o);
    o.sim_key_file = keyfile;
    o.sim_create_key = 1;
    TD_OK(tkm_tee_open(&g_tee, "sim", &o));
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tkm_tee_close(g_tee);
    td_rmrf(root);
    free(root);
    return 0;
}

static void example_claims(tkm_claims *c) {
    tkm_claims_init(c);
    uint8_t pub[65];
    tkm_secret *sk = NULL;
    TD_OK(tkm_secret_new(&sk, 32));
    tkm_secret_mut(sk)[31] = 1; /* secp256k1 private key 1 */
    TD_OK(tkm_secp_pubkey(pub, sk));
    tkm_secret_free(sk);
    TD_OK(tkm_claims_add_key(c, TKM_CLAIM_KEY_SECP256K1, pub, 65));
    tkm_eth_address(c->audit_addr, pub);
    memset(c->policy_hash, 0x11, 32);
    c->policy_version = 5;
    memset(c->instance_id, 0x22, 32);
    c->state_version = 9;
}

static void issue(uint8_t **der, size_t *len, tkm_ratls_key *k) {
    tkm_claims c;
    example_claims(&c);
    int64_t now = tkm_time_unix();
    TD_OK(tkm_ratls_issue(der, len, g_tee, k, &c, now - 60, now + 86400));
    tkm_claims_free(&c);
}

/* A certificate whose evidence binds `bound` but which carries `shown` claims. */
static void issue_split(uint8_t **der, size_t *len, tkm_ratls_key *k, tkm_claims *bound, tkm_claims *shown) {
    tkm_wr wb, ws;
    tkm_wr_init(&wb, 0);
    tkm_wr_init(&ws, 0);
    TD_OK(tkm_claims_encode(bound, &wb));
    TD_OK(tkm_claims_encode(shown, &ws));
    uint8_t rd[64];
    TD_OK(tkm_claims_report_data(rd, wb.p, wb.len));
    tkm_tee_evidence ev;
    TD_OK(tkm_tee_evidence_get(g_tee, &ev, rd));
    int64_t now = tkm_time_unix();
    TD_OK(tkm_ratls_cert_new(der, len, k, ev.format, ev.bytes, ev.len, ws.p, ws.len, now - 60, now + 86400));
    tkm_tee_evidence_free(&ev);
    tkm_wr_free(&wb);
    tkm_wr_free(&ws);
}

static void set_tls(tkm_claims *c, const tkm_ratls_key *k) {
    const uint8_t *spki;
    size_t n;
    tkm_ratls_key_spki(k, &spki, &n);
    memcpy(c->tls_spki, spki, n);
    c->tls_spki_len = n;
    snprintf(c->platform, sizeof c->platform, "sim");
}

static void test_round_trip(void **state) {
    (void)state;
    tkm_ratls_key *k = NULL;
    TD_OK(tkm_ratls_key_new(&k));
    uint8_t *der = NULL;
    size_t len = 0;
    issue(&der, &len, k);
    /* OpenSSL sees a self-signed certificate with the extension, non-critical */
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    assert_non_null(x);
    assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
    ASN1_OBJECT *obj = OBJ_txt2obj("2.23.133.5.4.9", 1);
    int idx = X509_get_ext_by_OBJ(x, obj, -1);
    assert_true(idx >= 0);
    assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(x, idx)), 0);
    const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(X509_get_ext(x, idx));
    const uint8_t *v = ASN1_STRING_get0_data(os);
    /* CBOR: tag 0x746B6D00 (sim), array(2), bstr(300) */
    assert_memory_equal(v, "\xda\x74\x6b\x6d\x00\x82\x59\x01\x2c", 9);
    assert_memory_equal(v + 9, "TKMSIM01", 8);
    assert_true(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0) == 1);
    ASN1_OBJECT_free(obj);
    X509_free(x);

    const uint8_t *spki;
    size_t spki_len;
    tkm_ratls_key_spki(k, &spki, &spki_len);
    tkm_ratls_peer peer;
    TD_OK(tkm_ratls_verify(&peer, der, len, spki, spki_len));
    assert_true(peer.report_data_matches);
    assert_true(peer.tls_key_matches);
    assert_int_equal(peer.format, TKM_EV_SIM_V1);
    assert_int_equal(peer.claims.state_version, 9);
    json_t *j = NULL;
    TD_OK(tkm_ratls_peer_json(&peer, &j));
    assert_string_equal(json_string_value(json_object_get(j, "platform")), "sim");
    assert_true(json_is_true(json_object_get(j, "reportDataMatches")));
    assert_true(json_is_false(json_object_get(j, "evidenceAppraised")));
    json_t *cl = json_object_get(j, "claims");
    assert_int_equal(json_integer_value(json_object_get(cl, "stateVersion")), 9);
    assert_non_null(json_object_get(cl, "instanceId"));
    assert_non_null(json_object_get(cl, "tlsPublicKey"));
    json_decref(j);
    tkm_ratls_peer_free(&peer);
    /* another session key */
    tkm_ratls_key *k2 = NULL;
    TD_OK(tkm_ratls_key_new(&k2));
    const uint8_t *spki2;
    size_t spki2_len;
    tkm_ratls_key_spki(k2, &spki2, &spki2_len);
    TU_ASSERT_RC(tkm_ratls_verify(&peer, der, len, spki2, spki2_len), TKM_ERR_TEE_KEY_MISMATCH);
    assert_true(peer.report_data_matches);
    assert_false(peer.tls_key_matches);
    tkm_ratls_peer_free(&peer);
    /* a flipped byte in the certificate breaks its self-signature or its parse */
    der[len / 2] ^= 1;
    tkm_rc rc = tkm_ratls_inspect(&peer, der, len, NULL, 0);
    assert_true(tkm_failed(rc));
    tkm_ratls_key_free(k2);
    tkm_ratls_key_free(k);
    free(der);
}

static void test_edited_claims_and_foreign_key(void **state) {
    (void)state;
    tkm_ratls_key *k = NULL, *k2 = NULL;
    TD_OK(tkm_ratls_key_new(&k));
    TD_OK(tkm_ratls_key_new(&k2));
    tkm_claims bound, shown;
    example_claims(&bound);
    example_claims(&shown);
    set_tls(&bound, k);
    set_tls(&shown, k);
    shown.policy_version = 6; /* edited after the evidence was made */
    uint8_t *der = NULL;
    size_t len = 0;
    issue_split(&der, &len, k, &bound, &shown);
    tkm_ratls_peer peer;
    TU_ASSERT_RC(tkm_ratls_verify(&peer, der, len, NULL, 0), TKM_ERR_TEE_BINDING);
    assert_false(peer.report_data_matches);
    assert_true(peer.tls_key_matches);
    tkm_ratls_peer_free(&peer);
    free(der);
    /* claims (bound correctly) name another TLS key than the certificate's */
    tkm_claims foreign;
    example_claims(&foreign);
    set_tls(&foreign, k2);
    issue_split(&der, &len, k, &foreign, &foreign);
    TU_ASSERT_RC(tkm_ratls_verify(&peer, der, len, NULL, 0), TKM_ERR_TEE_KEY_MISMATCH);
    assert_true(peer.report_data_matches);
    assert_false(peer.tls_key_matches);
    tkm_ratls_peer_free(&peer);
    free(der);
    /* claims of another platform bound correctly are still refused */
    snprintf(foreign.platform, sizeof foreign.platform, "sgx");
    set_tls(&foreign, k);
    snprintf(foreign.platform, sizeof foreign.platform, "sgx");
    issue_split(&der, &len, k, &foreign, &foreign);
    TU_ASSERT_RC(tkm_ratls_verify(&peer, der, len, NULL, 0), TKM_ERR_TEE_BINDING);
    tkm_ratls_peer_free(&peer);
    free(der);
    tkm_claims_free(&foreign);
    tkm_claims_free(&bound);
    tkm_claims_free(&shown);
    tkm_ratls_key_free(k);
    tkm_ratls_key_free(k2);
}

static void test_ext_cbor(void **state) {
    (void)state;
    uint8_t ev[300], cl[3] = {'{', '}', 0};
    memset(ev, 0x61, sizeof ev);
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TD_OK(tkm_ratls_ext_encode(&w, TKM_EV_SIM_V1, ev, sizeof ev, cl, 2));
    tkm_ratls_ext e;
    TD_OK(tkm_ratls_ext_parse(&e, w.p, w.len));
    assert_int_equal(e.format, TKM_EV_SIM_V1);
    assert_int_equal(e.evidence_len, 300);
    assert_int_equal(e.claims_len, 2);
    for (size_t i = 0; i < w.len; i++) {
        tkm_rc rc = tkm_ratls_ext_parse(&e, w.p, i);
        if (tkm_ok(rc)) fail_msg("truncated extension of %zu bytes accepted", i);
        assert_null(e.evidence);
    }
    uint8_t *b = malloc(w.len + 1);
    memcpy(b, w.p, w.len);
    b[w.len] = 0;
    TU_ASSERT_RC(tkm_ratls_ext_parse(&e, b, w.len + 1), TKM_ERR_TRAILING);
    /* Intel tag: SGX vs TDX by the quote's TEE type, anything else refused */
    static const uint8_t sgxq[] = {0xd9, 0xea, 0x60, 0x82, 0x48, 3, 0, 2, 0, 0, 0, 0, 0, 0x40};
    TD_OK(tkm_ratls_ext_parse(&e, sgxq, sizeof sgxq));
    assert_int_equal(e.format, TKM_EV_SGX_QUOTE);
    static const uint8_t tdxq[] = {0xd9, 0xea, 0x60, 0x82, 0x48, 4, 0, 2, 0, 0x81, 0, 0, 0, 0x40};
    TD_OK(tkm_ratls_ext_parse(&e, tdxq, sizeof tdxq));
    assert_int_equal(e.format, TKM_EV_TDX_QUOTE);
    static const uint8_t other[] = {0xd9, 0xea, 0x60, 0x82, 0x48, 4, 0, 2, 0, 0x82, 0, 0, 0, 0x40};
    TU_ASSERT_RC(tkm_ratls_ext_parse(&e, other, sizeof other), TKM_ERR_RATLS_EXT);
    static const uint8_t shortq[] = {0xd9, 0xea, 0x60, 0x82, 0x41, 3, 0x40};
    TU_ASSERT_RC(tkm_ratls_ext_parse(&e, shortq, sizeof shortq), TKM_ERR_RATLS_EXT);
    static const uint8_t unknown_tag[] = {0xd9, 0xea, 0x61, 0x82, 0x40, 0x40};
    TU_ASSERT_RC(tkm_ratls_ext_parse(&e, unknown_tag, sizeof unknown_tag), TKM_ERR_RATLS_EXT);
    static const uint8_t nonshortest_tag[] = {0xda, 0x00, 0x00, 0xea, 0x60, 0x82, 0x40, 0x40};
    TU_ASSERT_RC(tkm_ratls_ext_parse(&e, nonshortest_tag, sizeof nonshortest_tag), TKM_ERR_CBOR);
    static const uint8_t nonshortest_len[] = {0xda, 0x74, 0x6b, 0x6d, 0x00, 0x82, 0x58, 0x01, 0x00, 0x40};
    TU_ASSERT_RC(tkm_ratls_ext_parse(&e, nonshortest_len, sizeof nonshortest_len), TKM_ERR_CBOR);
    static const uint8_t indefinite[] = {0xda, 0x74, 0x6b, 0x6d, 0x00, 0x9f, 0x40, 0x40, 0xff};
    TU_ASSERT_RC(tkm_ratls_ext_parse(&e, indefinite, sizeof indefinite), TKM_ERR_CBOR);
    static const uint8_t three[] = {0xda, 0x74, 0x6b, 0x6d, 0x00, 0x83, 0x40, 0x40, 0x40};
    TU_ASSERT_RC(tkm_ratls_ext_parse(&e, three, sizeof three), TKM_ERR_CBOR);
    static const uint8_t text[] = {0xda, 0x74, 0x6b, 0x6d, 0x00, 0x82, 0x60, 0x40};
    TU_ASSERT_RC(tkm_ratls_ext_parse(&e, text, sizeof text), TKM_ERR_CBOR);
    static const uint8_t huge[] = {0xda, 0x74, 0x6b, 0x6d, 0x00, 0x82, 0x5b, 1, 0, 0, 0, 0, 0, 0, 0};
    TU_ASSERT_RC(tkm_ratls_ext_parse(&e, huge, sizeof huge), TKM_ERR_TRUNCATED);
    static const uint8_t untagged[] = {0x82, 0x40, 0x40};
    TU_ASSERT_RC(tkm_ratls_ext_parse(&e, untagged, sizeof untagged), TKM_ERR_CBOR);
    free(b);
    tkm_wr_free(&w);
}

/* A certificate made by OpenSSL alone: without the extension, or with it twice. */
static void plain_cert(uint8_t **der, size_t *len, int n_ext) {
    EVP_PKEY *k = td_keygen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"x", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    ASN1_OBJECT *obj = OBJ_txt2obj("2.23.133.5.4.9", 1);
    static const uint8_t cbor[] = {0xda, 0x74, 0x6b, 0x6d, 0x00, 0x82, 0x40, 0x40};
    for (int i = 0; i < n_ext; i++) {
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(os, cbor, sizeof cbor);
        X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(os);
    }
    ASN1_OBJECT_free(obj);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    unsigned char *out = NULL;
    int n = i2d_X509(x, &out);
    *der = malloc((size_t)n);
    memcpy(*der, out, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(out);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void test_not_ratls(void **state) {
    (void)state;
    uint8_t *der = NULL;
    size_t len = 0;
    tkm_ratls_peer peer;
    plain_cert(&der, &len, 0);
    TU_ASSERT_RC(tkm_ratls_inspect(&peer, der, len, NULL, 0), TKM_ERR_RATLS_EXT);
    free(der);
    plain_cert(&der, &len, 2);
    TU_ASSERT_RC(tkm_ratls_inspect(&peer, der, len, NULL, 0), TKM_ERR_RATLS_EXT);
    free(der);
    plain_cert(&der, &len, 1); /* the extension is there but its evidence is empty */
    TU_ASSERT_RC(tkm_ratls_inspect(&peer, der, len, NULL, 0), TKM_ERR_TRUNCATED);
    free(der);
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    TU_ASSERT_RC(tkm_ratls_inspect(&peer, junk, sizeof junk, NULL, 0), TKM_ERR_X509);
    assert_null(peer.evidence);
}

/* ---- TLS 1.3 server in a thread; the client is the real `teekm` program ---- */

typedef struct {
    SSL_CTX *ctx;
    int lfd;
    int port;
    int conns;
    pthread_t th;
} server;

static void *serve(void *arg) {
    server *s = arg;
    for (int i = 0; i < s->conns; i++) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) break;
        SSL *ssl = SSL_new(s->ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1) {
            char buf[16];
            (void)SSL_read(ssl, buf, sizeof buf); /* until the client's close_notify */
            (void)SSL_shutdown(ssl);
        }
        SSL_free(ssl);
        close(fd);
    }
    return NULL;
}

static void server_start(server *s, const tkm_ratls_key *k, const uint8_t *der, size_t len, int conns) {
    memset(s, 0, sizeof *s);
    s->ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(s->ctx);
    TD_OK(tkm_ratls_ssl_ctx_use(s->ctx, k, der, len));
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    socklen_t al = sizeof a;
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    s->conns = conns;
    assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void server_stop(server *s) {
    pthread_join(s->th, NULL);
    close(s->lfd);
    SSL_CTX_free(s->ctx);
}

/* Run `teekm evidence show --tls 127.0.0.1:port`; returns its exit status, *out its JSON. */
static int run_cli(int port, json_t **out) {
    const char *bd = getenv("TKM_BUILD_DIR");
    assert_non_null(bd);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "'%s/teekm' evidence show --tls 127.0.0.1:%d --timeout 20", bd, port);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    int st = pclose(f);
    json_error_t e;
    *out = json_loads(buf, 0, &e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli_against_tls_server(void **state) {
    (void)state;
    tkm_ratls_key *k = NULL, *k2 = NULL;
    TD_OK(tkm_ratls_key_new(&k));
    TD_OK(tkm_ratls_key_new(&k2));
    uint8_t *good = NULL, *edited = NULL, *foreign = NULL;
    size_t good_len = 0, edited_len = 0, foreign_len = 0;
    issue(&good, &good_len, k);
    tkm_claims bound, shown, other;
    example_claims(&bound);
    example_claims(&shown);
    example_claims(&other);
    set_tls(&bound, k);
    set_tls(&shown, k);
    memset(shown.instance_id, 0x33, 32); /* edited */
    issue_split(&edited, &edited_len, k, &bound, &shown);
    set_tls(&other, k2); /* bound, but names another TLS key */
    issue_split(&foreign, &foreign_len, k, &other, &other);

    /* the library client first */
    server s;
    server_start(&s, k, good, good_len, 1);
    char port[16];
    snprintf(port, sizeof port, "%d", s.port);
    uint8_t *cert = NULL, *spki = NULL;
    size_t cl = 0, sl = 0;
    TD_OK(tkm_ratls_fetch(&cert, &cl, &spki, &sl, "127.0.0.1", port, 10000));
    server_stop(&s);
    assert_int_equal(cl, good_len);
    assert_memory_equal(cert, good, cl);
    const uint8_t *kspki;
    size_t kl;
    tkm_ratls_key_spki(k, &kspki, &kl);
    assert_int_equal(sl, kl);
    assert_memory_equal(spki, kspki, kl);
    free(cert);
    free(spki);

    struct {
        const uint8_t *der;
        size_t len;
        int want_match, want_rd, want_key;
    } cases[] = {{good, good_len, 1, 1, 1}, {edited, edited_len, 0, 0, 1}, {foreign, foreign_len, 0, 1, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        server_start(&s, k, cases[i].der, cases[i].len, 1);
        json_t *j = NULL;
        int st = run_cli(s.port, &j);
        server_stop(&s);
        if (!j) fail_msg("case %zu: teekm printed no JSON (exit %d)", i, st);
        assert_int_equal(st, cases[i].want_match ? 0 : 1);
        assert_int_equal(json_is_true(json_object_get(j, "reportDataMatches")), cases[i].want_match);
        json_t *checks = json_object_get(j, "checks");
        assert_int_equal(json_is_true(json_object_get(checks, "reportData")), cases[i].want_rd);
        assert_int_equal(json_is_true(json_object_get(checks, "tlsKey")), cases[i].want_key);
        assert_true(json_is_true(json_object_get(checks, "sessionKeyCompared")));
        assert_string_equal(json_string_value(json_object_get(j, "platform")), "sim");
        json_t *claims = json_object_get(j, "claims");
        assert_non_null(json_object_get(claims, "instanceId"));
        assert_non_null(json_object_get(claims, "auditAddress"));
        assert_non_null(json_object_get(claims, "policyHash"));
        assert_true(json_is_array(json_object_get(claims, "keys")));
        const char *evhex = json_string_value(json_object_get(j, "evidence"));
        assert_non_null(evhex);
        assert_int_equal(strlen(evhex), 2 + 600);
        const uint8_t *m;
        size_t ml;
        tkm_tee_measurement(g_tee, &m, &ml);
        char mhex[100];
        TD_OK(tkm_hex_encode(mhex, sizeof mhex, m, ml, 1));
        assert_string_equal(json_string_value(json_object_get(j, "measurement")), mhex);
        json_decref(j);
    }
    tkm_claims_free(&bound);
    tkm_claims_free(&shown);
    tkm_claims_free(&other);
    free(good);
    free(edited);
    free(foreign);
    tkm_ratls_key_free(k);
    tkm_ratls_key_free(k2);
}

/* Subject alternative names, checked by OpenSSL's own host/IP matching. */
static void test_names(void **state) {
    (void)state;
    tkm_ratls_key *k = NULL;
    TD_OK(tkm_ratls_key_new(&k));
    tkm_claims c;
    example_claims(&c);
    set_tls(&c, k);
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TD_OK(tkm_claims_encode(&c, &w));
    uint8_t rd[64];
    TD_OK(tkm_claims_report_data(rd, w.p, w.len));
    tkm_tee_evidence ev;
    TD_OK(tkm_tee_evidence_get(g_tee, &ev, rd));
    int64_t now = tkm_time_unix();
    const char *names[] = {"127.0.0.1", "::1", "localhost", "signer.example.com"};
    uint8_t *der = NULL;
    size_t len = 0;
    TD_OK(tkm_ratls_cert_new_names(&der, &len, k, ev.format, ev.bytes, ev.len, w.p, w.len, now - 60, now + 3600,
                                   names, 4));
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    assert_non_null(x);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "10.0.0.1", 0), 0);
    assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "signer.example.com", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "other.example.com", 0, 0, NULL), 0);
    X509_free(x);
    /* still a valid RA-TLS certificate */
    const uint8_t *spki;
    size_t spki_len;
    tkm_ratls_key_spki(k, &spki, &spki_len);
    tkm_ratls_peer peer;
    TD_OK(tkm_ratls_verify(&peer, der, len, spki, spki_len));
    tkm_ratls_peer_free(&peer);
    free(der);
    const char *bad[] = {"bad name!"};
    uint8_t *der2 = NULL;
    assert_int_equal(tkm_ratls_cert_new_names(&der2, &len, k, ev.format, ev.bytes, ev.len, w.p, w.len, now - 60,
                                              now + 3600, bad, 1).code, TKM_ERR_FORMAT);
    assert_null(der2);
    assert_ptr_equal(tkm_ratls_key_pkey(k), tkm_ratls_key_pkey(k));
    assert_int_equal(EVP_PKEY_get_id(tkm_ratls_key_pkey(k)), EVP_PKEY_EC);
    tkm_tee_evidence_free(&ev);
    tkm_wr_free(&w);
    tkm_claims_free(&c);
    tkm_ratls_key_free(k);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 0);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edited_claims_and_foreign_key, setup, teardown),
        cmocka_unit_test(test_ext_cbor),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test(test_not_ratls),
        cmocka_unit_test_setup_teardown(test_cli_against_tls_server, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
