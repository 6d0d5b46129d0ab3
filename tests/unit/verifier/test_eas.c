/* EAS records against vectors made by the EAS SDK and ethers (tests/vectors/eas/MANIFEST.md). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "eth/tkm_eip712.h"
#include "verifier/tkm_eas.h"

static const char *js(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    assert_non_null(v);
    return json_string_value(v);
}

static void hex_eq(const uint8_t *b, size_t n, const char *want) {
    assert_string_equal(tu_tohex(b, n), want + 2);
}

static void load_case(json_t *c, tkm_eas_config *cfg, tkm_eas_fields *f, uint8_t **meas, size_t *meas_len,
                      uint8_t **pub, size_t *pub_len) {
    json_t *cc = json_object_get(c, "config"), *ff = json_object_get(c, "fields");
    memset(cfg, 0, sizeof *cfg);
    cfg->chain_id = (uint64_t)json_integer_value(json_object_get(cc, "chainId"));
    TU_ASSERT_OK(tkm_eth_address_parse(cfg->contract, js(cc, "contract"), strlen(js(cc, "contract"))));
    snprintf(cfg->version, sizeof cfg->version, "%s", js(cc, "version"));
    TU_ASSERT_OK(tkm_eth_address_parse(cfg->resolver, js(cc, "resolver"), strlen(js(cc, "resolver"))));
    cfg->revocable = json_is_true(json_object_get(cc, "revocable"));
    memset(f, 0, sizeof *f);
    tu_hex_exact(f->instance_id, 32, js(ff, "instanceId"));
    f->institution = js(ff, "institution");
    f->platform = js(ff, "platform");
    *meas = tu_hex(js(ff, "measurement"), meas_len);
    f->measurement = *meas;
    f->measurement_len = *meas_len;
    f->tcb_status = (uint8_t)json_integer_value(json_object_get(ff, "tcbStatus"));
    tu_hex_exact(f->policy_hash, 32, js(ff, "policyHash"));
    f->policy_version = (uint64_t)json_integer_value(json_object_get(ff, "policyVersion"));
    TU_ASSERT_OK(tkm_eth_address_parse(f->audit_address, js(ff, "auditAddress"), strlen(js(ff, "auditAddress"))));
    TU_ASSERT_OK(tkm_eth_address_parse(f->signer, js(ff, "signer"), strlen(js(ff, "signer"))));
    *pub = tu_hex(js(ff, "signerPublicKey"), pub_len);
    f->signer_pub = *pub;
    f->signer_pub_len = *pub_len;
}

static void test_sdk_vectors(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eas/eas_vectors.json");
    assert_string_equal(js(v, "schema"), TKM_EAS_SCHEMA);
    /* the attest selector */
    uint8_t h[32];
    tkm_keccak256(h, TKM_EAS_ATTEST_SIGNATURE, strlen(TKM_EAS_ATTEST_SIGNATURE));
    hex_eq(h, 4, js(v, "attestSelector"));
    tkm_secret *sk = NULL;
    uint8_t skb[32], signer[20], pub[65];
    tu_hex_exact(skb, 32, js(v, "privateKey"));
    TU_ASSERT_OK(tkm_secret_from(&sk, skb, 32));
    TU_ASSERT_OK(tkm_secp_pubkey(pub, sk));
    tkm_eth_address(signer, pub);
    json_t *cases = json_object_get(v, "cases");
    assert_int_equal(json_array_size(cases), 2);
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        tkm_eas_config cfg;
        tkm_eas_fields f;
        uint8_t *meas, *spub;
        size_t meas_len, spub_len;
        load_case(c, &cfg, &f, &meas, &meas_len, &spub, &spub_len);
        /* schema UID */
        tkm_eas_attestation a;
        memset(&a, 0, sizeof a);
        tkm_eas_schema_uid(a.schema, &cfg);
        hex_eq(a.schema, 32, js(c, "schemaUid"));
        /* data = SchemaEncoder output */
        tkm_wr w;
        tkm_wr_init(&w, 0);
        TU_ASSERT_OK(tkm_eas_encode_data(&w, &f));
        hex_eq(w.p, w.len, js(c, "data"));
        /* offchain uid, digest, signature */
        memcpy(a.recipient, f.signer, 20);
        a.time = (uint64_t)json_integer_value(json_object_get(c, "time"));
        a.expiration_time = (uint64_t)json_integer_value(json_object_get(c, "expirationTime"));
        a.revocable = cfg.revocable;
        a.data = w.p;
        a.data_len = w.len;
        tu_hex_exact(a.salt, 32, js(c, "salt"));
        tkm_eas_offchain_uid(h, &a);
        hex_eq(h, 32, js(c, "uid"));
        uint8_t digest[32], sig[65];
        tkm_eas_offchain_digest(digest, &cfg, &a);
        hex_eq(digest, 32, js(c, "digest"));
        TU_ASSERT_OK(tkm_secp_sign(sig, sk, digest));
        hex_eq(sig, 65, js(c, "signature")); /* both RFC 6979, low s: byte-identical */
        /* the JSON package parses as EIP-712 typed data with the same digest (teekm's own eip712 module) */
        json_t *pkg = NULL;
        TU_ASSERT_OK(tkm_eas_offchain_json(&pkg, &cfg, &a, sig, signer));
        json_t *s = json_object_get(pkg, "sig");
        assert_string_equal(js(s, "uid"), js(c, "uid"));
        json_t *td = json_pack("{s:o,s:s,s:O,s:O}", "types", json_deep_copy(json_object_get(s, "types")), "primaryType", "Attest",
                               "domain", json_object_get(s, "domain"), "message", json_object_get(s, "message"));
        json_object_set_new(json_object_get(td, "types"), "EIP712Domain",
                            json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "name", "name", "type", "string",
                                      "name", "version", "type", "string", "name", "chainId", "type", "uint256",
                                      "name", "verifyingContract", "type", "address"));
        tkm_typed_data *parsed = NULL;
        TU_ASSERT_OK(tkm_typed_data_from_json(&parsed, td, NULL));
        assert_memory_equal(tkm_typed_data_hashes(parsed)->digest, digest, 32);
        tkm_typed_data_free(parsed);
        json_decref(td);
        json_decref(pkg);
        /* calldata = ethers Interface.encodeFunctionData */
        tkm_wr cd;
        tkm_wr_init(&cd, 0);
        TU_ASSERT_OK(tkm_eas_attest_calldata(&cd, &a));
        hex_eq(cd.p, cd.len, js(c, "calldata"));
        tkm_wr_free(&cd);
        tkm_wr_free(&w);
        free(meas);
        free(spub);
    }
    tkm_secret_free(sk);
    json_decref(v);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sdk_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
