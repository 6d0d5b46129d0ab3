/*
 * The verifier service as functions: nonces, appraisal of real sim evidence
 * (made by the tee module's sim backend) + claims, registration and history,
 * staleness, key release opened by the tee module's key-release client,
 * anti-rollback, counters signed both ways, EAS export, request errors.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "eth/tkm_eip712.h"
#include "tee/tee.h"
#include "verifier/tkm_eas.h"
#include "verifier/tkm_verifier.h"
#include "verifier/tkm_vkeys.h"

#define T0 1800000000
#define MAX_AGE 3600

static char dir[256];
static tkm_tee *tee;
static tkm_secret *audit_sk;
static uint8_t audit_addr[20];

static const char *path(const char *name) {
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static void write_file(const char *p, const char *s) {
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

static tkm_verifier *open_verifier(const char *policy_json, int with_eas) {
    write_file(path("policy.json"), policy_json);
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "{\"dataDir\":\"%s/data\",\"institution\":\"Example Bank AG\",\"appraisalPolicy\":\"policy.json\","
             "\"registration\":{\"maxAgeSeconds\":%d},\"nonce\":{\"ttlSeconds\":60}%s}",
             dir, MAX_AGE,
             with_eas ? ",\"eas\":{\"chainId\":11155111,\"contract\":\"0xC2679fBD37d54388Ce493F1DB75320D236e1815e\","
                        "\"version\":\"1.3.0\"}"
                      : "");
    tkm_vconfig *c = NULL;
    TU_ASSERT_OK(tkm_vconfig_parse(&c, (const uint8_t *)cfg, strlen(cfg), dir));
    tkm_verifier *v = NULL;
    TU_ASSERT_OK(tkm_verifier_open(&v, c));
    tkm_vconfig_free(c);
    return v;
}

static const char POLICY_SIM[] =
    "{\"version\":1,\"requireNonce\":true,\"maxEvidenceAgeSeconds\":120,\"sim\":{\"enabled\":true},"
    "\"keyRelease\":[\"sim\",\"tdx\"]}";
static const char POLICY_NO_SIM[] = "{\"version\":1,\"requireNonce\":true}";

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tkm_service_XXXXXX");
    assert_non_null(mkdtemp(dir));
    TU_ASSERT_OK(tkm_vkeys_init_dir(path("data"), NULL));
    tkm_tee_opts o;
    memset(&o, 0, sizeof o);
    o.sim_key_file = path("sim.key");
    o.sim_create_key = 1;
    TU_ASSERT_OK(tkm_tee_open(&tee, "sim", &o));
    uint8_t pub[65];
    TU_ASSERT_OK(tkm_secp_keygen(&audit_sk));
    TU_ASSERT_OK(tkm_secp_pubkey(pub, audit_sk));
    tkm_eth_address(audit_addr, pub);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tkm_tee_close(tee);
    tkm_secret_free(audit_sk);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static json_t *call(tkm_verifier *v, unsigned method, const char *p, const char *query, const char *body, int admin,
                    int64_t now, int *status) {
    tkm_vreq r = {method, p, query, (const uint8_t *)body, body ? strlen(body) : 0, admin, now};
    json_t *resp = NULL;
    tkm_verifier_handle(v, &r, status, &resp);
    assert_non_null(resp);
    return resp;
}

static void nonce_of(tkm_verifier *v, int64_t now, uint8_t n[32]) {
    int st;
    json_t *r = call(v, TKM_VREQ_POST, "/v1/nonce", NULL, "", 0, now, &st);
    assert_int_equal(st, 200);
    tu_hex_exact(n, 32, json_string_value(json_object_get(r, "nonce")));
    assert_int_equal(json_integer_value(json_object_get(r, "expiresAt")), now + 60);
    json_decref(r);
}

typedef struct {
    uint8_t id[32];
    uint8_t key_byte; /* which signer key */
    uint64_t state_version;
    const uint8_t *nonce;
    const uint8_t *hpke_pk;
} claim_spec;

/* canonical claims (tee module), evidence over them (sim backend); optionally the claims to send differ */
static char *make_request(const claim_spec *s, const claim_spec *sent, uint8_t rd_out[64]) {
    tkm_wr w[2];
    for (int k = 0; k < 2; k++) {
        const claim_spec *cs = k == 0 ? s : sent ? sent : s;
        tkm_claims c;
        tkm_claims_init(&c);
        snprintf(c.platform, sizeof c.platform, "sim");
        static const uint8_t spki[] = {0x30, 0x59, 0x30, 0x13};
        memcpy(c.tls_spki, spki, sizeof spki);
        c.tls_spki_len = sizeof spki;
        memcpy(c.audit_addr, audit_addr, 20);
        tkm_secret *sk = NULL;
        uint8_t skb[32] = {0}, pub[65];
        skb[31] = cs->key_byte;
        TU_ASSERT_OK(tkm_secret_from(&sk, skb, 32));
        TU_ASSERT_OK(tkm_secp_pubkey(pub, sk));
        tkm_secret_free(sk);
        TU_ASSERT_OK(tkm_claims_add_key(&c, TKM_CLAIM_KEY_SECP256K1, pub, 65));
        uint8_t bls[48] = {0x97, 0xf1, 0xd3, 0xa7, 0x31, 0x97, 0xd7, 0x94, 0x26, 0x95, 0x63, 0x8c, 0x4f, 0xa9, 0xac, 0x0f,
                           0xc3, 0x68, 0x8c, 0x4f, 0x97, 0x74, 0xb9, 0x05, 0xa1, 0x4e, 0x3a, 0x3f, 0x17, 0x1b, 0xac, 0x58,
                           0x6c, 0x55, 0xe8, 0x3f, 0xf9, 0x7a, 0x1a, 0xef, 0xfb, 0x3a, 0xf0, 0x0a, 0xdb, 0x22, 0xc6, 0xbb};
        TU_ASSERT_OK(tkm_claims_add_key(&c, TKM_CLAIM_KEY_BLS12381, bls, 48));
        memset(c.policy_hash, 0x50, 32);
        c.policy_version = 3;
        memcpy(c.instance_id, cs->id, 32);
        c.state_version = cs->state_version;
        if (cs->nonce) {
            memcpy(c.nonce, cs->nonce, 32);
            c.nonce_len = 32;
        }
        if (cs->hpke_pk) {
            memcpy(c.hpke_pk, cs->hpke_pk, 32);
            c.has_hpke_pk = 1;
        }
        tkm_wr_init(&w[k], 0);
        TU_ASSERT_OK(tkm_claims_encode(&c, &w[k]));
        tkm_claims_free(&c);
    }
    uint8_t rd[64];
    TU_ASSERT_OK(tkm_claims_report_data(rd, w[0].p, w[0].len));
    if (rd_out) memcpy(rd_out, rd, 64);
    tkm_tee_evidence ev;
    TU_ASSERT_OK(tkm_tee_evidence_get(tee, &ev, rd));
    json_t *req = json_object();
    char *hx = malloc(TKM_HEX_ENC_LEN(ev.len, 1));
    TU_ASSERT_OK(tkm_hex_encode(hx, TKM_HEX_ENC_LEN(ev.len, 1), ev.bytes, ev.len, 1));
    json_object_set_new(req, "evidence", json_string(hx));
    json_object_set_new(req, "claims", json_stringn((const char *)w[1].p, w[1].len));
    char *out = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    free(hx);
    tkm_tee_evidence_free(&ev);
    tkm_wr_free(&w[0]);
    tkm_wr_free(&w[1]);
    return out;
}

static json_t *attest(tkm_verifier *v, const claim_spec *s, const claim_spec *sent, int64_t now, int *status,
                      uint8_t rd[64]) {
    char *body = make_request(s, sent, rd);
    json_t *r = call(v, TKM_VREQ_POST, "/v1/attest", NULL, body, 0, now, status);
    free(body);
    return r;
}

static const char *failed_check(json_t *r) {
    return json_string_value(json_object_get(json_object_get(r, "error"), "check"));
}

static const char *id_path(const char *prefix, const uint8_t id[32], const char *suffix) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s0x%s%s", prefix, tu_tohex(id, 32), suffix);
    return buf;
}

/* ---- tests ---- */

static void test_register_and_staleness(void **state) {
    (void)state;
    tkm_verifier *v = open_verifier(POLICY_SIM, 0);
    uint8_t n[32];
    nonce_of(v, T0, n);
    claim_spec s = {.key_byte = 1, .state_version = 5, .nonce = n};
    memset(s.id, 0x11, 32);
    int st;
    json_t *r = attest(v, &s, NULL, T0 + 2, &st, NULL);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(r, "verdict")), "valid");
    json_t *reg = json_object_get(r, "registration");
    assert_string_equal(json_string_value(json_object_get(reg, "platform")), "sim");
    assert_true(json_is_true(json_object_get(reg, "simulated")));
    assert_string_equal(json_string_value(json_object_get(reg, "institution")), "Example Bank AG");
    assert_int_equal(json_integer_value(json_object_get(reg, "stateVersion")), 5);
    assert_int_equal(json_integer_value(json_object_get(reg, "policyVersion")), 3);
    assert_int_equal(json_array_size(json_object_get(reg, "keys")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(reg, "changes"), 0)), "initial");
    assert_int_equal(json_integer_value(json_object_get(r, "staleAt")), T0 + 2 + MAX_AGE);
    assert_null(json_object_get(r, "keyRelease"));
    json_decref(r);
    /* the current registration, fresh, then stale */
    r = call(v, TKM_VREQ_GET, id_path("/v1/instances/", s.id, ""), NULL, NULL, 0, T0 + 10, &st);
    assert_int_equal(st, 200);
    assert_false(json_is_true(json_object_get(r, "stale")));
    json_decref(r);
    r = call(v, TKM_VREQ_GET, id_path("/v1/instances/", s.id, ""), NULL, NULL, 0, T0 + 2 + MAX_AGE, &st);
    assert_int_equal(st, 200);
    assert_true(json_is_true(json_object_get(r, "stale")));
    json_decref(r);
    /* re-attestation makes it fresh again and is a new row */
    nonce_of(v, T0 + MAX_AGE + 100, n);
    r = attest(v, &s, NULL, T0 + MAX_AGE + 101, &st, NULL);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(r, "registration"), "changes"), 0)),
                        "reattestation");
    json_decref(r);
    r = call(v, TKM_VREQ_GET, id_path("/v1/instances/", s.id, ""), NULL, NULL, 0, T0 + MAX_AGE + 102, &st);
    assert_false(json_is_true(json_object_get(r, "stale")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "registration"), "seq")), 2);
    json_decref(r);
    /* unknown instance */
    uint8_t other[32];
    memset(other, 0x99, 32);
    r = call(v, TKM_VREQ_GET, id_path("/v1/instances/", other, ""), NULL, NULL, 0, T0, &st);
    assert_int_equal(st, 404);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "code")), "NOT_REGISTERED");
    json_decref(r);
    tkm_verifier_close(v);
}

static void test_rejections(void **state) {
    (void)state;
    tkm_verifier *v = open_verifier(POLICY_SIM, 0);
    uint8_t n[32];
    int st;
    claim_spec s = {.key_byte = 1, .state_version = 1};
    memset(s.id, 0x22, 32);
    /* replayed nonce */
    nonce_of(v, T0, n);
    s.nonce = n;
    json_t *r = attest(v, &s, NULL, T0 + 1, &st, NULL);
    assert_int_equal(st, 200);
    json_decref(r);
    r = attest(v, &s, NULL, T0 + 2, &st, NULL);
    assert_int_equal(st, 403);
    assert_string_equal(failed_check(r), "nonce");
    assert_string_equal(json_string_value(json_object_get(r, "verdict")), "invalid");
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r, "error"), "detail")), "REPLAY"));
    json_decref(r);
    /* expired nonce */
    nonce_of(v, T0, n);
    r = attest(v, &s, NULL, T0 + 61, &st, NULL);
    assert_int_equal(st, 403);
    assert_string_equal(failed_check(r), "nonce");
    json_decref(r);
    /* claims that are not the ones the evidence binds: the binding check is named */
    nonce_of(v, T0, n);
    claim_spec other = s;
    other.key_byte = 2; /* a signer key the instance never attested */
    r = attest(v, &s, &other, T0 + 1, &st, NULL);
    assert_int_equal(st, 403);
    assert_string_equal(failed_check(r), "report_data");
    json_decref(r);
    /* no nonce while the policy requires one */
    claim_spec nn = s;
    nn.nonce = NULL;
    r = attest(v, &nn, NULL, T0 + 1, &st, NULL);
    assert_int_equal(st, 403);
    assert_string_equal(failed_check(r), "policy.nonce");
    json_decref(r);
    /* anti-rollback: stateVersion below the last attested one */
    nonce_of(v, T0 + 5, n);
    s.state_version = 9;
    r = attest(v, &s, NULL, T0 + 6, &st, NULL);
    assert_int_equal(st, 200);
    json_decref(r);
    nonce_of(v, T0 + 7, n);
    s.state_version = 8;
    r = attest(v, &s, NULL, T0 + 8, &st, NULL);
    assert_int_equal(st, 403);
    assert_string_equal(failed_check(r), "state.version");
    json_decref(r);
    /* evidence that does not parse */
    r = call(v, TKM_VREQ_POST, "/v1/attest", NULL, "{\"evidence\":\"0x00112233\",\"claims\":\"{}\"}", 0, T0, &st);
    assert_int_equal(st, 403);
    assert_string_equal(failed_check(r), "evidence.parse");
    json_decref(r);
    /* malformed requests */
    r = call(v, TKM_VREQ_POST, "/v1/attest", NULL, "{\"evidence\":\"0x00\",\"claims\":\"{}\",\"x\":1}", 0, T0, &st);
    assert_int_equal(st, 400);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "code")), "JSON_UNKNOWN_FIELD");
    json_decref(r);
    r = call(v, TKM_VREQ_POST, "/v1/attest", NULL, "{\"evidence\":12,\"claims\":\"{}\"}", 0, T0, &st);
    assert_int_equal(st, 400);
    json_decref(r);
    r = call(v, TKM_VREQ_POST, "/v1/attest", NULL, "not json", 0, T0, &st);
    assert_int_equal(st, 400);
    json_decref(r);
    r = call(v, TKM_VREQ_GET, "/v1/attest", NULL, NULL, 0, T0, &st);
    assert_int_equal(st, 405);
    json_decref(r);
    r = call(v, TKM_VREQ_GET, "/v1/nowhere", NULL, NULL, 0, T0, &st);
    assert_int_equal(st, 404);
    json_decref(r);
    r = call(v, TKM_VREQ_GET, "/v1/instances/0x1234", NULL, NULL, 0, T0, &st);
    assert_int_equal(st, 400);
    json_decref(r);
    tkm_verifier_close(v);

    /* sim evidence is rejected when the policy does not enable it */
    v = open_verifier(POLICY_NO_SIM, 0);
    nonce_of(v, T0, n);
    s.nonce = n;
    s.state_version = 1;
    r = attest(v, &s, NULL, T0 + 1, &st, NULL);
    assert_int_equal(st, 403);
    assert_string_equal(failed_check(r), "policy.sim");
    json_decref(r);
    tkm_verifier_close(v);
}

/* One attestation with an ephemeral HPKE key; open the answer with rd (or a corrupted rd). */
static tkm_secret *release(tkm_verifier *v, const uint8_t id[32], int64_t now, int corrupt_rd) {
    tkm_keyrelease *kr = NULL;
    uint8_t pk[32], n[32], rd[64], enc[32], ct[48];
    int st;
    TU_ASSERT_OK(tkm_keyrelease_begin(&kr, pk));
    nonce_of(v, now, n);
    claim_spec s = {.key_byte = 1, .state_version = 1, .nonce = n, .hpke_pk = pk};
    memcpy(s.id, id, 32);
    json_t *r = attest(v, &s, NULL, now + 1, &st, rd);
    assert_int_equal(st, 200);
    json_t *k = json_object_get(r, "keyRelease");
    assert_true(json_is_true(json_object_get(k, "released")));
    assert_string_equal(json_string_value(json_object_get(k, "info")), "teekm/key-release/v1");
    assert_true(json_is_true(json_object_get(json_object_get(r, "registration"), "keyReleased")));
    tu_hex_exact(enc, 32, json_string_value(json_object_get(k, "enc")));
    tu_hex_exact(ct, 48, json_string_value(json_object_get(k, "ciphertext")));
    json_decref(r);
    tkm_secret *key = NULL;
    if (corrupt_rd) {
        rd[0] ^= 1; /* an answer made for other evidence does not open */
        TU_ASSERT_RC(tkm_keyrelease_open(kr, &key, rd, enc, ct, sizeof ct), TKM_ERR_AUTH_TAG);
    } else {
        TU_ASSERT_OK(tkm_keyrelease_open(kr, &key, rd, enc, ct, sizeof ct));
        assert_int_equal(tkm_secret_len(key), 32);
    }
    tkm_keyrelease_free(kr);
    return key;
}

static void test_key_release(void **state) {
    (void)state;
    tkm_verifier *v = open_verifier(POLICY_SIM, 0);
    uint8_t a[32], b[32], pk[32], n[32], rd[64];
    int st;
    memset(a, 0x33, 32);
    memset(b, 0x34, 32);
    assert_null(release(v, a, T0, 1));
    tkm_secret *k1 = release(v, a, T0 + 10, 0);
    tkm_secret *k2 = release(v, a, T0 + 20, 0);
    tkm_secret *k3 = release(v, b, T0 + 30, 0);
    /* the same instance gets the same state key every time; another instance another one */
    assert_true(tkm_secret_eq(k1, k2));
    assert_false(tkm_secret_eq(k1, k3));
    tkm_secret_free(k1);
    tkm_secret_free(k2);
    tkm_secret_free(k3);
    tkm_verifier_close(v);
    claim_spec s = {.key_byte = 1, .state_version = 1};
    memcpy(s.id, a, 32);

    /* a policy without keyRelease for sim: the appraisal succeeds, no key is released */
    tkm_keyrelease *kr = NULL;
    v = open_verifier("{\"version\":1,\"requireNonce\":true,\"sim\":{\"enabled\":true},\"keyRelease\":[\"tdx\"]}", 0);
    TU_ASSERT_OK(tkm_keyrelease_begin(&kr, pk));
    nonce_of(v, T0, n);
    s.nonce = n;
    s.hpke_pk = pk;
    json_t *r = attest(v, &s, NULL, T0 + 1, &st, rd);
    assert_int_equal(st, 200);
    assert_false(json_is_true(json_object_get(json_object_get(r, "keyRelease"), "released")));
    assert_false(json_is_true(json_object_get(json_object_get(r, "registration"), "keyReleased")));
    json_decref(r);
    tkm_keyrelease_free(kr);
    tkm_verifier_close(v);

    /* without a nonce (a policy that does not require one) the key is not released either */
    v = open_verifier("{\"version\":1,\"sim\":{\"enabled\":true},\"keyRelease\":[\"sim\"]}", 0);
    TU_ASSERT_OK(tkm_keyrelease_begin(&kr, pk));
    s.nonce = NULL;
    s.hpke_pk = pk;
    s.state_version = 100;
    r = attest(v, &s, NULL, T0 + 1, &st, rd);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "keyRelease"), "reason")),
                        "key release needs evidence bound to a fresh verifier nonce");
    json_decref(r);
    tkm_keyrelease_free(kr);
    tkm_verifier_close(v);
}

static json_t *counter_call(tkm_verifier *v, const uint8_t id[32], const tkm_secret *signer, const char *op,
                            int64_t value, const uint8_t ch[32], int64_t now, int *st) {
    uint8_t d[32], sig[65];
    tkm_counter_request_digest(d, id, op, value < 0 ? 0 : (uint64_t)value, ch);
    TU_ASSERT_OK(tkm_secp_sign(sig, signer, d));
    sig[64] += 27;
    char body[600], chx[65], sx[131];
    snprintf(chx, sizeof chx, "%s", tu_tohex(ch, 32));
    snprintf(sx, sizeof sx, "%s", tu_tohex(sig, 65));
    if (value >= 0)
        snprintf(body, sizeof body, "{\"op\":\"%s\",\"value\":%lld,\"challenge\":\"0x%s\",\"signature\":\"0x%s\"}", op,
                 (long long)value, chx, sx);
    else
        snprintf(body, sizeof body, "{\"op\":\"%s\",\"challenge\":\"0x%s\",\"signature\":\"0x%s\"}", op, chx, sx);
    return call(v, TKM_VREQ_POST, id_path("/v1/instances/", id, "/counter"), NULL, body, 0, now, st);
}

/* the answer is signed by the verifier over (id, value, time, challenge) */
static void check_state(json_t *r, const uint8_t id[32], uint64_t value, const uint8_t ch[32], const uint8_t ver[20]) {
    assert_int_equal(json_integer_value(json_object_get(r, "value")), (json_int_t)value);
    uint8_t sig[65], d[32], pub[65], addr[20];
    tu_hex_exact(sig, 65, json_string_value(json_object_get(r, "signature")));
    sig[64] -= 27;
    tkm_counter_state_digest(d, id, value, (uint64_t)json_integer_value(json_object_get(r, "time")), ch);
    TU_ASSERT_OK(tkm_secp_recover(pub, d, sig, TKM_SECP_REQUIRE_LOW_S));
    tkm_eth_address(addr, pub);
    assert_memory_equal(addr, ver, 20);
}

static void test_counters(void **state) {
    (void)state;
    tkm_verifier *v = open_verifier(POLICY_SIM, 0);
    int st;
    json_t *info = call(v, TKM_VREQ_GET, "/v1/verifier", NULL, NULL, 0, T0, &st);
    assert_int_equal(st, 200);
    uint8_t ver[20];
    const char *vs = json_string_value(json_object_get(info, "signer"));
    TU_ASSERT_OK(tkm_eth_address_parse(ver, vs, strlen(vs)));
    json_decref(info);
    uint8_t n[32], ch[32];
    memset(ch, 0xcc, 32);
    claim_spec s = {.key_byte = 1, .state_version = 3};
    memset(s.id, 0x44, 32);
    /* not registered yet */
    json_t *r = counter_call(v, s.id, audit_sk, "read", -1, ch, T0, &st);
    assert_int_equal(st, 404);
    json_decref(r);
    nonce_of(v, T0, n);
    s.nonce = n;
    r = attest(v, &s, NULL, T0 + 1, &st, NULL);
    assert_int_equal(st, 200);
    json_decref(r);
    r = counter_call(v, s.id, audit_sk, "read", -1, ch, T0 + 2, &st);
    assert_int_equal(st, 200);
    check_state(r, s.id, 0, ch, ver);
    json_decref(r);
    r = counter_call(v, s.id, audit_sk, "advance", 7, ch, T0 + 3, &st);
    assert_int_equal(st, 200);
    check_state(r, s.id, 7, ch, ver);
    assert_int_equal(json_integer_value(json_object_get(r, "time")), T0 + 3);
    json_decref(r);
    r = counter_call(v, s.id, audit_sk, "advance", 7, ch, T0 + 4, &st); /* retried: fine */
    assert_int_equal(st, 200);
    json_decref(r);
    r = counter_call(v, s.id, audit_sk, "advance", 6, ch, T0 + 5, &st);
    assert_int_equal(st, 409);
    check_state(json_object_get(r, "counter"), s.id, 7, ch, ver); /* the true value, signed */
    json_decref(r);
    /* another key (not the registered audit key) */
    tkm_secret *other = NULL;
    TU_ASSERT_OK(tkm_secp_keygen(&other));
    r = counter_call(v, s.id, other, "advance", 8, ch, T0 + 6, &st);
    assert_int_equal(st, 403);
    json_decref(r);
    tkm_secret_free(other);
    /* a signature over other values does not carry over (signed read, sent as advance) */
    {
        uint8_t d[32], sig[65];
        tkm_counter_request_digest(d, s.id, "read", 0, ch);
        TU_ASSERT_OK(tkm_secp_sign(sig, audit_sk, d));
        char body[600];
        snprintf(body, sizeof body, "{\"op\":\"advance\",\"value\":0,\"challenge\":\"0x%s\",\"signature\":\"0x",
                 tu_tohex(ch, 32));
        strcat(body, tu_tohex(sig, 65));
        strcat(body, "\"}");
        r = call(v, TKM_VREQ_POST, id_path("/v1/instances/", s.id, "/counter"), NULL, body, 0, T0 + 6, &st);
        assert_int_equal(st, 403);
        json_decref(r);
    }
    /* the counter is a floor for the stateVersion of key-release claims (a sealed state asking for its key) */
    {
        tkm_keyrelease *kr = NULL;
        uint8_t pk[32];
        TU_ASSERT_OK(tkm_keyrelease_begin(&kr, pk));
        claim_spec k = s;
        nonce_of(v, T0 + 10, n);
        k.nonce = n;
        k.hpke_pk = pk;
        k.state_version = 6;
        r = attest(v, &k, NULL, T0 + 11, &st, NULL);
        assert_int_equal(st, 403);
        assert_string_equal(failed_check(r), "state.version");
        json_decref(r);
        tkm_keyrelease_free(kr);
    }
    /* stale registration: re-attest first */
    r = counter_call(v, s.id, audit_sk, "read", -1, ch, T0 + 1 + MAX_AGE, &st);
    assert_int_equal(st, 409);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "code")), "REGISTRATION_STALE");
    json_decref(r);
    /* but not for a running instance's registration, whose counter moves on with every commit; the
     * registrations themselves stay a floor */
    nonce_of(v, T0 + 2 + MAX_AGE, n);
    s.state_version = 6;
    r = attest(v, &s, NULL, T0 + 2 + MAX_AGE, &st, NULL);
    assert_int_equal(st, 200);
    json_decref(r);
    nonce_of(v, T0 + 3 + MAX_AGE, n);
    s.state_version = 5;
    r = attest(v, &s, NULL, T0 + 3 + MAX_AGE, &st, NULL);
    assert_int_equal(st, 403);
    assert_string_equal(failed_check(r), "state.version");
    json_decref(r);
    /* bad requests */
    r = call(v, TKM_VREQ_POST, id_path("/v1/instances/", s.id, "/counter"), NULL, "{\"op\":\"reset\"}", 0, T0, &st);
    assert_int_equal(st, 400);
    json_decref(r);
    tkm_verifier_close(v);
}

static void test_history_admin_eas(void **state) {
    (void)state;
    tkm_verifier *v = open_verifier(POLICY_SIM, 1);
    uint8_t n[32];
    int st;
    claim_spec s = {.key_byte = 1, .state_version = 1};
    memset(s.id, 0x55, 32);
    nonce_of(v, T0, n);
    s.nonce = n;
    json_t *r = attest(v, &s, NULL, T0 + 1, &st, NULL);
    assert_int_equal(st, 200);
    json_decref(r);
    /* key rotation: a new row that says so */
    s.key_byte = 2;
    s.state_version = 2;
    nonce_of(v, T0 + 100, n);
    r = attest(v, &s, NULL, T0 + 101, &st, NULL);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(r, "registration"), "changes"), 0)),
                        "signerKeys");
    json_decref(r);
    /* admin endpoints need the admin flag */
    r = call(v, TKM_VREQ_GET, "/admin/v1/instances", NULL, NULL, 0, T0 + 200, &st);
    assert_int_equal(st, 403);
    json_decref(r);
    r = call(v, TKM_VREQ_GET, "/admin/v1/instances", NULL, NULL, 1, T0 + 200, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(r, "instances")), 1);
    json_decref(r);
    r = call(v, TKM_VREQ_GET, id_path("/admin/v1/instances/", s.id, "/history"), NULL, NULL, 1, T0 + 200, &st);
    assert_int_equal(st, 200);
    json_t *h = json_object_get(r, "registrations");
    assert_int_equal(json_array_size(h), 2);
    assert_non_null(json_object_get(json_array_get(h, 0), "evidence")); /* history carries the evidence */
    json_decref(r);
    r = call(v, TKM_VREQ_GET, id_path("/admin/v1/instances/", s.id, "/history"), "limit=1", NULL, 1, T0 + 200, &st);
    assert_int_equal(json_array_size(json_object_get(r, "registrations")), 1);
    assert_int_equal(json_integer_value(json_object_get(r, "next")), 1);
    json_decref(r);
    /* EAS: one attestation per signer key, each verifiable with the verifier's address */
    json_t *inf = call(v, TKM_VREQ_GET, "/v1/verifier", NULL, NULL, 0, T0, &st);
    const char *signer = json_string_value(json_object_get(inf, "signer"));
    r = call(v, TKM_VREQ_GET, id_path("/admin/v1/instances/", s.id, "/eas"), "seq=1", NULL, 1, T0 + 200, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(r, "schema")), TKM_EAS_SCHEMA);
    assert_string_equal(json_string_value(json_object_get(r, "attester")), signer);
    json_t *atts = json_object_get(r, "attestations");
    assert_int_equal(json_array_size(atts), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *pkg = json_object_get(json_object_get(json_array_get(atts, i), "offchain"), "sig");
        json_t *td = json_pack("{s:o,s:s,s:O,s:O}", "types", json_deep_copy(json_object_get(pkg, "types")), "primaryType", "Attest",
                               "domain", json_object_get(pkg, "domain"), "message", json_object_get(pkg, "message"));
        json_object_set_new(json_object_get(td, "types"), "EIP712Domain",
                            json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "name", "name", "type", "string",
                                      "name", "version", "type", "string", "name", "chainId", "type", "uint256",
                                      "name", "verifyingContract", "type", "address"));
        tkm_typed_data *t = NULL;
        TU_ASSERT_OK(tkm_typed_data_from_json(&t, td, NULL));
        json_t *sj = json_object_get(pkg, "signature");
        uint8_t sig[65], addr[20];
        tu_hex_exact(sig, 32, json_string_value(json_object_get(sj, "r")));
        tu_hex_exact(sig + 32, 32, json_string_value(json_object_get(sj, "s")));
        sig[64] = (uint8_t)json_integer_value(json_object_get(sj, "v"));
        TU_ASSERT_OK(tkm_typed_data_recover(t, addr, sig, 65));
        char a[TKM_ETH_ADDR_STR_LEN];
        tkm_eth_address_checksum(a, addr);
        assert_string_equal(a, signer);
        /* time = appraisal time, expires with the registration */
        json_t *m = json_object_get(pkg, "message");
        assert_int_equal(json_integer_value(json_object_get(m, "time")), T0 + 1);
        assert_int_equal(json_integer_value(json_object_get(m, "expirationTime")), T0 + 1 + MAX_AGE);
        tkm_typed_data_free(t);
        json_decref(td);
    }
    /* exporting again gives the same records (stable salt, deterministic signatures) */
    json_t *again = call(v, TKM_VREQ_GET, id_path("/admin/v1/instances/", s.id, "/eas"), "seq=1", NULL, 1, T0 + 300, &st);
    assert_true(json_equal(r, again));
    json_decref(again);
    json_decref(r);
    json_decref(inf);
    /* a registration of another instance cannot be exported under this id */
    uint8_t other[32];
    memset(other, 0x56, 32);
    r = call(v, TKM_VREQ_GET, id_path("/admin/v1/instances/", other, "/eas"), "seq=1", NULL, 1, T0 + 200, &st);
    assert_int_equal(st, 404);
    json_decref(r);
    tkm_verifier_close(v);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 1);
    tkm_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_and_staleness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_admin_eas, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
