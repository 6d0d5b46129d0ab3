/* Claims: canonical encoding and report_data binding against the worked example
 * computed with jq + sha512sum (tests/vectors/tee/gen_binding_example.sh), and strict parsing. */
#include "testutil.h"

#include <string.h>

#include "tee/tee.h"

static void hexfield(const json_t *o, const char *k, uint8_t *out, size_t n) {
    tu_hex_exact(out, n, json_string_value(json_object_get(o, k)));
}

/* Build the example through the C API from the (pretty) input values, keys added in reverse order. */
static void build_example(tkm_claims *c) {
    json_t *j = tu_load_vector("tee/binding_example_claims.json");
    tkm_claims_init(c);
    snprintf(c->platform, sizeof c->platform, "%s", json_string_value(json_object_get(j, "platform")));
    size_t n = 0;
    uint8_t *spki = tu_hex(json_string_value(json_object_get(j, "tlsPublicKey")), &n);
    memcpy(c->tls_spki, spki, n);
    c->tls_spki_len = n;
    free(spki);
    hexfield(j, "auditAddress", c->audit_addr, 20);
    json_t *keys = json_object_get(j, "keys");
    for (size_t i = json_array_size(keys); i-- > 0;) {
        json_t *k = json_array_get(keys, i);
        size_t pl = 0;
        uint8_t *pub = tu_hex(json_string_value(json_object_get(k, "publicKey")), &pl);
        int bls = strcmp(json_string_value(json_object_get(k, "type")), "bls12-381") == 0;
        TU_ASSERT_OK(tkm_claims_add_key(c, bls ? TKM_CLAIM_KEY_BLS12381 : TKM_CLAIM_KEY_SECP256K1, pub, pl));
        if (!bls) {
            uint8_t addr[20];
            hexfield(k, "address", addr, 20);
            assert_memory_equal(c->keys[c->n_keys - 1].addr, addr, 20); /* keccak address vs published one */
        }
        free(pub);
    }
    hexfield(j, "policyHash", c->policy_hash, 32);
    c->policy_version = (uint64_t)json_integer_value(json_object_get(j, "policyVersion"));
    hexfield(j, "instanceId", c->instance_id, 32);
    c->state_version = (uint64_t)json_integer_value(json_object_get(j, "stateVersion"));
    uint8_t *nonce = tu_hex(json_string_value(json_object_get(j, "nonce")), &c->nonce_len);
    memcpy(c->nonce, nonce, c->nonce_len);
    free(nonce);
    json_decref(j);
}

static void test_worked_example(void **state) {
    (void)state;
    size_t jcs_len = 0, hex_len = 0;
    uint8_t *jcs = tu_read_file(tu_vector_path("tee/binding_example_claims.jcs"), &jcs_len);
    char *hex = (char *)tu_read_file(tu_vector_path("tee/binding_example_report_data.hex"), &hex_len);
    while (hex_len && (hex[hex_len - 1] == '\n')) hex[--hex_len] = 0;
    uint8_t want[64];
    tu_hex_exact(want, 64, hex);

    tkm_claims c;
    build_example(&c);
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_claims_encode(&c, &w));
    assert_int_equal(w.len, jcs_len);
    assert_memory_equal(w.p, jcs, jcs_len);
    uint8_t rd[64];
    TU_ASSERT_OK(tkm_claims_report_data(rd, w.p, w.len));
    assert_memory_equal(rd, want, 64);
    TU_ASSERT_OK(tkm_claims_verify_report_data(want, jcs, jcs_len));
    want[63] ^= 1;
    TU_ASSERT_RC(tkm_claims_verify_report_data(want, jcs, jcs_len), TKM_ERR_TEE_BINDING);

    /* parse → same struct → same bytes */
    tkm_claims p;
    TU_ASSERT_OK(tkm_claims_parse(&p, jcs, jcs_len));
    assert_int_equal(p.n_keys, 3);
    assert_int_equal(p.state_version, 42);
    assert_int_equal(p.policy_version, 3);
    assert_string_equal(p.platform, "sgx");
    assert_int_equal(p.keys[2].type, TKM_CLAIM_KEY_BLS12381);
    tkm_wr_reset(&w);
    TU_ASSERT_OK(tkm_claims_encode(&p, &w));
    assert_memory_equal(w.p, jcs, jcs_len);
    tkm_claims_free(&p);
    tkm_claims_free(&c);
    tkm_wr_free(&w);
    free(jcs);
    free(hex);
}

/* Replace the first occurrence of `from` by `to` in the canonical example and expect err. */
static void expect_edit(const char *from, const char *to, tkm_err err) {
    size_t n = 0;
    char *jcs = (char *)tu_read_file(tu_vector_path("tee/binding_example_claims.jcs"), &n);
    char *at = strstr(jcs, from);
    if (!at) fail_msg("pattern %s not in example", from);
    size_t fl = strlen(from), tl = strlen(to);
    char *out = malloc(n + tl + 1);
    size_t pre = (size_t)(at - jcs);
    memcpy(out, jcs, pre);
    memcpy(out + pre, to, tl);
    memcpy(out + pre + tl, at + fl, n - pre - fl);
    size_t on = n - fl + tl;
    tkm_claims c;
    tkm_rc rc = tkm_claims_parse(&c, (uint8_t *)out, on);
    if (rc.code != err)
        fail_msg("edit %s -> %s: got %s (%s), want %s", from, to, tkm_err_name(rc.code), tkm_err_detail(),
                 tkm_err_name(err));
    assert_int_equal(c.n_keys, 0);
    assert_null(c.keys);
    free(out);
    free(jcs);
}

static void test_parse_rejects(void **state) {
    (void)state;
    /* not canonical */
    expect_edit("{\"auditAddress\"", "{ \"auditAddress\"", TKM_ERR_CLAIMS_NONCANONICAL);
    expect_edit("0x2b5ad5c4795c026514f8317c7a215e218dccd6cf\",\"instanceId",
                "0x2B5AD5C4795C026514F8317C7A215E218DCCD6CF\",\"instanceId", TKM_ERR_CLAIMS_NONCANONICAL);
    expect_edit("\"stateVersion\":42,\"tlsPublicKey\"", "\"tlsPublicKey\"", TKM_ERR_JSON_MISSING);
    expect_edit("\"policyVersion\":3,", "\"policyVersion\":3,\"extra\":1,", TKM_ERR_JSON_UNKNOWN_FIELD);
    expect_edit("\"policyVersion\":3", "\"policyVersion\":3.0", TKM_ERR_JSON_TYPE);
    expect_edit("\"policyVersion\":3", "\"policyVersion\":9007199254740992", TKM_ERR_RANGE);
    expect_edit("\"policyVersion\":3", "\"policyVersion\":-1", TKM_ERR_RANGE);
    expect_edit("\"version\":1}", "\"version\":2}", TKM_ERR_CLAIMS);
    expect_edit("\"platform\":\"sgx\"", "\"platform\":\"sev\"", TKM_ERR_CLAIMS);
    /* address that is not the key's */
    expect_edit("{\"address\":\"0x7e5f", "{\"address\":\"0x7e5e", TKM_ERR_CLAIMS);
    /* unsorted keys: swap the two secp256k1 public keys (addresses follow their keys) */
    expect_edit("\"nonce\":\"0x0102030405060708\",", "\"nonce\":\"0x\",", TKM_ERR_CLAIMS);
    expect_edit("\"type\":\"bls12-381\"", "\"type\":\"ed25519\"", TKM_ERR_CLAIMS);
    expect_edit("\"instanceId\":\"0x00", "\"instanceId\":\"0x", TKM_ERR_HEX_LENGTH);
    expect_edit("{\"auditAddress\"", "[{\"auditAddress\"", TKM_ERR_JSON);
    expect_edit("\"nonce\":\"0x0102030405060708\",", "\"nonce\":null,", TKM_ERR_CLAIMS_NONCANONICAL);
}

static void test_unsorted_and_duplicate_keys(void **state) {
    (void)state;
    tkm_claims c;
    build_example(&c);
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_claims_encode(&c, &w)); /* sorts */
    assert_true(memcmp(c.keys[0].pub, c.keys[1].pub, 65) < 0);
    /* duplicate */
    uint8_t dup[65];
    memcpy(dup, c.keys[0].pub, 65); /* add_key may move the array */
    TU_ASSERT_OK(tkm_claims_add_key(&c, TKM_CLAIM_KEY_SECP256K1, dup, 65));
    tkm_wr_reset(&w);
    TU_ASSERT_RC(tkm_claims_encode(&c, &w), TKM_ERR_CLAIMS);
    tkm_claims_free(&c);
    build_example(&c);
    tkm_wr_reset(&w);
    TU_ASSERT_OK(tkm_claims_encode(&c, &w));
    /* hand-made unsorted canonical-looking document */
    json_t *j = NULL;
    TU_ASSERT_OK(tkm_claims_to_json(&c, &j));
    json_t *keys = json_object_get(j, "keys");
    json_t *k0 = json_incref(json_array_get(keys, 0));
    json_array_remove(keys, 0);
    json_array_append_new(keys, k0);
    tkm_wr_reset(&w);
    TU_ASSERT_OK(tkm_json_canonical(j, &w));
    tkm_claims p;
    TU_ASSERT_RC(tkm_claims_parse(&p, w.p, w.len), TKM_ERR_CLAIMS);
    json_decref(j);
    /* bad keys are refused when added */
    uint8_t bad[65] = {0x04};
    TU_ASSERT_RC(tkm_claims_add_key(&c, TKM_CLAIM_KEY_SECP256K1, bad, 65), TKM_ERR_BAD_KEY);
    TU_ASSERT_RC(tkm_claims_add_key(&c, TKM_CLAIM_KEY_SECP256K1, bad, 33), TKM_ERR_BAD_KEY);
    uint8_t bls_inf[48] = {0xc0};
    TU_ASSERT_RC(tkm_claims_add_key(&c, TKM_CLAIM_KEY_BLS12381, bls_inf, 48), TKM_ERR_BAD_KEY);
    tkm_claims_free(&c);
    tkm_wr_free(&w);
}

static void test_truncations_fail(void **state) {
    (void)state;
    size_t n = 0;
    uint8_t *jcs = tu_read_file(tu_vector_path("tee/binding_example_claims.jcs"), &n);
    for (size_t i = 0; i < n; i++) {
        tkm_claims c;
        tkm_rc rc = tkm_claims_parse(&c, jcs, i);
        if (tkm_ok(rc)) fail_msg("prefix of %zu bytes accepted", i);
    }
    free(jcs);
}

static void test_optional_fields(void **state) {
    (void)state;
    tkm_claims c;
    build_example(&c);
    c.nonce_len = 0;
    c.has_hpke_pk = 1;
    memset(c.hpke_pk, 0x42, 32);
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_claims_encode(&c, &w));
    TU_ASSERT_OK(tkm_wr_nul(&w));
    assert_null(strstr((const char *)w.p, "nonce"));
    assert_non_null(strstr((const char *)w.p, "\"hpkePublicKey\":\"0x4242"));
    tkm_claims p;
    TU_ASSERT_OK(tkm_claims_parse(&p, w.p, w.len));
    assert_int_equal(p.has_hpke_pk, 1);
    assert_int_equal(p.nonce_len, 0);
    assert_memory_equal(p.hpke_pk, c.hpke_pk, 32);
    tkm_claims_free(&p);
    c.state_version = TKM_CLAIMS_INT_MAX + 1;
    tkm_wr_reset(&w);
    TU_ASSERT_RC(tkm_claims_encode(&c, &w), TKM_ERR_CLAIMS);
    tkm_claims_free(&c);
    tkm_wr_free(&w);
}

/* keysDigest against tests/vectors/tee/gen_keys_digest_example.sh (jq + sha256sum). */
static void test_keys_digest(void **state) {
    (void)state;
    size_t hex_len = 0;
    char *hex = (char *)tu_read_file(tu_vector_path("tee/keys_digest_example.hex"), &hex_len);
    while (hex_len && hex[hex_len - 1] == '\n') hex[--hex_len] = 0;
    uint8_t want[32], got[32];
    tu_hex_exact(want, 32, hex);
    free(hex);
    tkm_claims c;
    build_example(&c); /* keys added in reverse order: the digest sorts them */
    tkm_claim_key *keys = calloc(c.n_keys, sizeof *keys);
    for (size_t i = 0; i < c.n_keys; i++)
        TU_ASSERT_OK(tkm_claim_key_set(&keys[i], c.keys[i].type, c.keys[i].pub, c.keys[i].pub_len));
    size_t n = c.n_keys;
    TU_ASSERT_OK(tkm_claims_keys_digest(got, keys, n));
    assert_memory_equal(got, want, 32);
    /* a duplicate is refused */
    keys[1] = keys[0];
    TU_ASSERT_RC(tkm_claims_keys_digest(got, keys, n), TKM_ERR_CLAIMS);
    free(keys);
    /* the digest form: keys [] with keyCount and keysDigest; round trip */
    free(c.keys);
    c.keys = NULL;
    c.n_keys = 0;
    c.has_keys_digest = 1;
    c.key_count = n;
    memcpy(c.keys_digest, want, 32);
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_claims_encode(&c, &w));
    TU_ASSERT_OK(tkm_wr_nul(&w));
    assert_non_null(strstr((const char *)w.p, "\"keyCount\":3,\"keys\":[],\"keysDigest\":\"0x"));
    tkm_claims p;
    TU_ASSERT_OK(tkm_claims_parse(&p, w.p, w.len));
    assert_int_equal(p.has_keys_digest, 1);
    assert_int_equal(p.key_count, 3);
    assert_memory_equal(p.keys_digest, want, 32);
    tkm_claims_free(&p);
    /* keyCount without keysDigest, or a digest next to listed keys, is refused */
    char *t = strdup((const char *)w.p);
    char *kd = strstr(t, ",\"keysDigest\"");
    size_t cut = strlen(",\"keysDigest\":\"0x") + 64 + 1;
    memmove(kd, kd + cut, strlen(kd + cut) + 1);
    TU_ASSERT_RC(tkm_claims_parse(&p, (const uint8_t *)t, strlen(t)), TKM_ERR_CLAIMS);
    free(t);
    build_example(&p);
    p.has_keys_digest = 1;
    p.key_count = 3;
    tkm_wr_reset(&w);
    TU_ASSERT_RC(tkm_claims_encode(&p, &w), TKM_ERR_CLAIMS);
    tkm_claims_free(&p);
    tkm_claims_free(&c);
    tkm_wr_free(&w);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_unsorted_and_duplicate_keys),
        cmocka_unit_test(test_truncations_fail),
        cmocka_unit_test(test_optional_fields),
        cmocka_unit_test(test_keys_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
