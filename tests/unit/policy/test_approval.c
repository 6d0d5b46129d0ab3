/*
 * EIP-712 structs hashed directly by teekm (Approval, PolicyUpdate, KeyEvent)
 * against ethers' TypedDataEncoder (digests in cases.json), the EIP-712 Mail
 * example's domain rules, approval parsing and the admin quorum.
 */
#include "testutil.h"

#include <string.h>

#include "policy/policy.h"

static json_t *vec;
static uint8_t instance[32];

static int setup(void **state) {
    (void)state;
    vec = tu_load_vector("policy/cases.json");
    tu_hex_exact(instance, 32, json_string_value(json_object_get(vec, "instanceId")));
    return 0;
}
static int teardown(void **state) {
    (void)state;
    json_decref(vec);
    return 0;
}

static const char *sget(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static uint64_t iget(const json_t *o, const char *k) { return (uint64_t)json_integer_value(json_object_get(o, k)); }

static void test_domain(void **state) {
    (void)state;
    uint8_t d[32], want[32];
    tkm_approval_domain(d, instance);
    tu_hex_exact(want, 32, sget(json_object_get(vec, "adminDigests"), "domainSeparator"));
    assert_memory_equal(d, want, 32);
}

static void test_policy_update_digest(void **state) {
    (void)state;
    const json_t *pu = json_object_get(json_object_get(vec, "adminDigests"), "policyUpdate");
    const json_t *v = json_object_get(pu, "value");
    uint8_t h[32], ph[32], d[32], want[32];
    tu_hex_exact(h, 32, sget(v, "policyHash"));
    tu_hex_exact(ph, 32, sget(v, "previousPolicyHash"));
    tkm_policy_update_digest(d, instance, iget(v, "version"), h, iget(v, "previousVersion"), ph, iget(v, "expiresAt"));
    tu_hex_exact(want, 32, sget(pu, "digest"));
    assert_memory_equal(d, want, 32);
}

static void test_key_event_digest(void **state) {
    (void)state;
    const json_t *arr = json_object_get(json_object_get(vec, "adminDigests"), "keyEvents");
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        const json_t *v = json_object_get(e, "value");
        tkm_key_event ev = TKM_KEY_EVENT_GENERATE;
        for (int k = 0; k < 4; k++)
            if (strcmp(tkm_key_event_name((tkm_key_event)k), sget(v, "action")) == 0) ev = (tkm_key_event)k;
        uint8_t key[20], d[32], want[32];
        TU_ASSERT_OK(tkm_eth_address_parse(key, sget(v, "key"), strlen(sget(v, "key"))));
        int zero = 1;
        for (int k = 0; k < 20; k++) zero &= key[k] == 0;
        tkm_key_event_digest(d, instance, sget(v, "requestId"), ev, sget(v, "label"), zero ? NULL : key,
                             iget(v, "policyVersion"), iget(v, "expiresAt"));
        tu_hex_exact(want, 32, sget(e, "digest"));
        assert_memory_equal(d, want, 32);
    }
}

static void test_approval_digest(void **state) {
    (void)state;
    const json_t *ap = json_object_get(json_object_get(vec, "adminDigests"), "approval");
    const json_t *v = json_object_get(ap, "value");
    tkm_intent it;
    memset(&it, 0, sizeof it);
    snprintf(it.request_id, sizeof it.request_id, "%s", sget(v, "requestId"));
    TU_ASSERT_OK(tkm_eth_address_parse(it.key, sget(v, "key"), 42));
    it.has_chain_id = 1;
    it.chain_id = iget(v, "chainId");
    it.action = TKM_ACTION_TRANSFER;
    it.asset_kind = TKM_ASSET_NATIVE; /* native: zero address */
    it.has_to = 1;
    TU_ASSERT_OK(tkm_eth_address_parse(it.to, sget(v, "to"), 42));
    it.has_amount = 1;
    TU_ASSERT_OK(tkm_u256_from_dec(&it.amount, sget(v, "amount"), strlen(sget(v, "amount"))));
    tu_hex_exact(it.payload_hash, 32, sget(v, "payloadHash"));
    uint8_t d[32], want[32];
    tkm_approval_digest(d, instance, &it, iget(v, "expiresAt"));
    tu_hex_exact(want, 32, sget(ap, "digest"));
    assert_memory_equal(d, want, 32);
}

/* The rendered eth_signTypedData_v4 documents hash (through the strict EIP-712 parser) to ethers' digests. */
static void doc_digest(json_t *doc, uint8_t out[32]) {
    char *txt = json_dumps(doc, JSON_COMPACT);
    tkm_typed_data *td = NULL;
    TU_ASSERT_OK(tkm_typed_data_parse(&td, (const uint8_t *)txt, strlen(txt), NULL));
    memcpy(out, tkm_typed_data_hashes(td)->digest, 32);
    tkm_typed_data_free(td);
    free(txt);
    json_decref(doc);
}

static void test_documents(void **state) {
    (void)state;
    const json_t *ad = json_object_get(vec, "adminDigests");
    uint8_t d[32], want[32];
    json_t *doc = NULL;
    /* Approval */
    const json_t *ap = json_object_get(ad, "approval"), *v = json_object_get(ap, "value");
    tkm_intent it;
    memset(&it, 0, sizeof it);
    snprintf(it.request_id, sizeof it.request_id, "%s", sget(v, "requestId"));
    TU_ASSERT_OK(tkm_eth_address_parse(it.key, sget(v, "key"), 42));
    it.has_chain_id = 1;
    it.chain_id = iget(v, "chainId");
    it.action = TKM_ACTION_TRANSFER;
    it.asset_kind = TKM_ASSET_NATIVE;
    it.has_to = 1;
    TU_ASSERT_OK(tkm_eth_address_parse(it.to, sget(v, "to"), 42));
    it.has_amount = 1;
    TU_ASSERT_OK(tkm_u256_from_dec(&it.amount, sget(v, "amount"), strlen(sget(v, "amount"))));
    tu_hex_exact(it.payload_hash, 32, sget(v, "payloadHash"));
    TU_ASSERT_OK(tkm_approval_typed_data(&doc, instance, &it, iget(v, "expiresAt")));
    assert_string_equal(json_string_value(json_object_get(doc, "primaryType")), "Approval");
    doc_digest(doc, d);
    tu_hex_exact(want, 32, sget(ap, "digest"));
    assert_memory_equal(d, want, 32);
    /* PolicyUpdate */
    const json_t *pu = json_object_get(ad, "policyUpdate");
    v = json_object_get(pu, "value");
    uint8_t h[32], ph[32];
    tu_hex_exact(h, 32, sget(v, "policyHash"));
    tu_hex_exact(ph, 32, sget(v, "previousPolicyHash"));
    TU_ASSERT_OK(tkm_policy_update_typed_data(&doc, instance, iget(v, "version"), h, iget(v, "previousVersion"), ph,
                                              iget(v, "expiresAt")));
    doc_digest(doc, d);
    tu_hex_exact(want, 32, sget(pu, "digest"));
    assert_memory_equal(d, want, 32);
    /* KeyEvent (each of the vectors) */
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(ad, "keyEvents"), i, e) {
        v = json_object_get(e, "value");
        tkm_key_event ev = TKM_KEY_EVENT_GENERATE;
        for (int k = 0; k < 4; k++)
            if (strcmp(tkm_key_event_name((tkm_key_event)k), sget(v, "action")) == 0) ev = (tkm_key_event)k;
        uint8_t key[20];
        TU_ASSERT_OK(tkm_eth_address_parse(key, sget(v, "key"), strlen(sget(v, "key"))));
        TU_ASSERT_OK(tkm_key_event_typed_data(&doc, instance, sget(v, "requestId"), ev, sget(v, "label"), key,
                                              iget(v, "policyVersion"), iget(v, "expiresAt")));
        doc_digest(doc, d);
        tu_hex_exact(want, 32, sget(e, "digest"));
        assert_memory_equal(d, want, 32);
    }
}

static void test_approval_parse(void **state) {
    (void)state;
    tkm_approval a;
    json_t *v;
    const char *sig = "0x" "11111111111111111111111111111111111111111111111111111111111111112222222222222222222222222222222222222222222222222222222222222222" "1c";
    v = json_string(sig);
    TU_ASSERT_OK(tkm_approval_parse(&a, v, "a", 77));
    assert_int_equal(a.sig[64], 1);
    assert_int_equal(a.expires_at, 77);
    assert_false(a.has_signer);
    json_decref(v);
    /* v = 29 is not a recovery id */
    char bad[200];
    snprintf(bad, sizeof bad, "%.*s1d", 130, sig);
    v = json_string(bad);
    TU_ASSERT_RC(tkm_approval_parse(&a, v, "a", 77), TKM_ERR_APPROVAL_FORMAT);
    json_decref(v);
    /* short */
    v = json_string("0x1234");
    TU_ASSERT_RC(tkm_approval_parse(&a, v, "a", 77), TKM_ERR_APPROVAL_FORMAT);
    json_decref(v);
    /* object form, strict */
    json_error_t e;
    char doc[400];
    snprintf(doc, sizeof doc, "{\"signature\":\"%s\",\"expiresAt\":5,\"signer\":\"0x00000000000000000000000000000000000000aa\"}", sig);
    v = json_loads(doc, 0, &e);
    TU_ASSERT_OK(tkm_approval_parse(&a, v, "a", 77));
    assert_int_equal(a.expires_at, 5);
    assert_true(a.has_signer);
    json_decref(v);
    snprintf(doc, sizeof doc, "{\"signature\":\"%s\",\"expiresAt\":5,\"who\":1}", sig);
    v = json_loads(doc, 0, &e);
    TU_ASSERT_RC(tkm_approval_parse(&a, v, "a", 77), TKM_ERR_JSON_UNKNOWN_FIELD);
    json_decref(v);
    snprintf(doc, sizeof doc, "{\"signature\":\"%s\"}", sig);
    v = json_loads(doc, 0, &e);
    TU_ASSERT_RC(tkm_approval_parse(&a, v, "a", 77), TKM_ERR_JSON_MISSING);
    json_decref(v);
    v = json_integer(5);
    TU_ASSERT_RC(tkm_approval_parse(&a, v, "a", 77), TKM_ERR_APPROVAL_FORMAT);
    json_decref(v);
}

/* Quorum: distinct admins, unexpired, unused. */
typedef struct {
    uint8_t d[32];
} dctx;
static void fixed_digest(uint8_t out[static 32], void *ctx, uint64_t expires) {
    (void)expires;
    memcpy(out, ((dctx *)ctx)->d, 32);
}
static int used_calls;
static tkm_rc used_second(void *ctx, const uint8_t d[static 32], const uint8_t s[static 20], int *used) {
    (void)ctx, (void)d, (void)s;
    *used = ++used_calls == 2;
    return TKM_RC_OK;
}

static void test_quorum(void **state) {
    (void)state;
    tkm_secret *sk[3];
    char members[3][43];
    for (int i = 0; i < 3; i++) {
        uint8_t k[32], pub[65], addr[20];
        memset(k, 0x21 + i, 32);
        TU_ASSERT_OK(tkm_secret_from(&sk[i], k, 32));
        TU_ASSERT_OK(tkm_secp_pubkey(pub, sk[i]));
        tkm_eth_address(addr, pub);
        tkm_eth_address_checksum(members[i], addr);
    }
    char doc[1024];
    snprintf(doc, sizeof doc,
             "{\"teekm_policy\":1,\"version\":1,\"default\":\"deny\",\"max_validity_seconds\":60,"
             "\"admins\":{\"threshold\":2,\"members\":[\"%s\",\"%s\"]},\"assets\":{},\"rules\":[]}",
             members[0], members[1]);
    tkm_policy *p;
    TU_ASSERT_OK(tkm_policy_load(&p, (const uint8_t *)doc, strlen(doc)));
    dctx dc;
    memset(dc.d, 0x5e, 32);
    tkm_approval a[4];
    memset(a, 0, sizeof a);
    for (int i = 0; i < 3; i++) {
        TU_ASSERT_OK(tkm_secp_sign(a[i].sig, sk[i], dc.d));
        a[i].expires_at = 100;
    }
    a[3] = a[0]; /* the same admin twice */
    tkm_approval_check ch[4];
    unsigned count;
    TU_ASSERT_OK(tkm_admin_quorum_check(p, a, 2, 100, fixed_digest, &dc, NULL, NULL, ch, &count));
    assert_int_equal(count, 2);
    /* duplicate and non-admin do not count */
    tkm_approval b[3] = {a[0], a[3], a[2]};
    TU_ASSERT_RC(tkm_admin_quorum_check(p, b, 3, 100, fixed_digest, &dc, NULL, NULL, ch, &count), TKM_ERR_QUORUM);
    assert_int_equal(count, 1);
    assert_string_equal(ch[1].why, "duplicate signer");
    assert_non_null(strstr(ch[2].why, "not an admin"));
    /* expired */
    TU_ASSERT_RC(tkm_admin_quorum_check(p, a, 2, 101, fixed_digest, &dc, NULL, NULL, ch, &count), TKM_ERR_QUORUM);
    assert_string_equal(ch[0].why, "expired");
    /* used */
    used_calls = 0;
    TU_ASSERT_RC(tkm_admin_quorum_check(p, a, 2, 100, fixed_digest, &dc, used_second, NULL, ch, &count), TKM_ERR_QUORUM);
    assert_string_equal(ch[1].why, "already used");
    tkm_policy_free(p);
    for (int i = 0; i < 3; i++) tkm_secret_free(sk[i]);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain),
        cmocka_unit_test(test_documents),
        cmocka_unit_test(test_policy_update_digest),
        cmocka_unit_test(test_key_event_digest),
        cmocka_unit_test(test_approval_digest),
        cmocka_unit_test(test_approval_parse),
        cmocka_unit_test(test_quorum),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
