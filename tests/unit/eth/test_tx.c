/*
 * Transactions: the EIP-155 example, ethers-signed vectors of every type,
 * the JSON request rules (each refusal with its code and field), signing
 * refusals, decoding edge cases, truncations and corruptions.
 */
#include "testutil.h"

#include "eth/eth.h"

#include <openssl/bn.h>
#include <string.h>

static tkm_secret *key_from_hex(const char *hex) {
    uint8_t b[32];
    tu_hex_exact(b, 32, hex);
    tkm_secret *sk;
    TU_ASSERT_OK(tkm_secret_from(&sk, b, 32));
    tkm_wipe(b, 32);
    return sk;
}

static void key_address(const tkm_secret *sk, uint8_t addr[20]) {
    uint8_t pub[65];
    TU_ASSERT_OK(tkm_secp_pubkey(pub, sk));
    tkm_eth_address(addr, pub);
}

/*
 * Parse through the text entry point, and check that jansson + the value entry
 * point give the same verdict and the same transaction (the text entry point
 * has its own tokenizer for plain requests).
 */
static tkm_rc parse(tkm_tx *tx, const char *json) {
    tkm_rc rc = tkm_tx_from_json(tx, (const uint8_t *)json, strlen(json));
    char detail[256];
    snprintf(detail, sizeof detail, "%s", tkm_err_detail());
    json_t *obj = NULL;
    tkm_json_limits lim = {.max_bytes = TKM_TX_MAX_JSON, .max_depth = TKM_TX_JSON_MAX_DEPTH};
    tkm_tx other;
    tkm_tx_init(&other);
    tkm_rc rc2 = tkm_json_load(&obj, (const uint8_t *)json, strlen(json), &lim);
    if (tkm_ok(rc2)) rc2 = tkm_tx_from_json_value(&other, obj);
    if (rc.code != rc2.code)
        fail_msg("%s: text path %s, jansson path %s", json, tkm_err_name(rc.code), tkm_err_name(rc2.code));
    if (tkm_ok(rc)) {
        uint8_t h1[32], h2[32];
        TU_ASSERT_OK(tkm_tx_signing_hash(tx, h1));
        TU_ASSERT_OK(tkm_tx_signing_hash(&other, h2));
        assert_memory_equal(h1, h2, 32);
        assert_int_equal(tx->has_from, other.has_from);
        assert_memory_equal(tx->from, other.from, 20);
    }
    tkm_tx_free(&other);
    json_decref(obj);
    tkm_err_detail_set("%s", detail);
    return rc;
}

static char *dec_to_quantity(const char *dec) {
    BIGNUM *bn = NULL;
    assert_true(BN_dec2bn(&bn, dec) > 0);
    char *h = BN_bn2hex(bn);
    const char *p = h;
    while (*p == '0' && p[1]) p++;
    char *q = malloc(strlen(p) + 3);
    sprintf(q, "0x%s", p);
    for (char *c = q; *c; c++) *c = (char)(*c >= 'A' && *c <= 'F' ? *c + 32 : *c);
    OPENSSL_free(h);
    BN_free(bn);
    return q;
}

/* EIP-155 example: request -> signing hash -> signature -> raw, and back. */
static void test_eip155_example(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip-155/eip155_example.json");
    json_t *t = json_object_get(v, "tx");
    char *gp = dec_to_quantity(json_string_value(json_object_get(t, "gasPrice")));
    char *val = dec_to_quantity(json_string_value(json_object_get(t, "value")));
    char req[1024];
    snprintf(req, sizeof req,
             "{\"type\":\"0x0\",\"nonce\":\"0x%llx\",\"gasPrice\":\"%s\",\"gas\":\"0x%llx\",\"to\":\"%s\","
             "\"value\":\"%s\",\"data\":\"%s\",\"chainId\":\"0x%llx\"}",
             (unsigned long long)json_integer_value(json_object_get(t, "nonce")), gp,
             (unsigned long long)json_integer_value(json_object_get(t, "gasLimit")),
             json_string_value(json_object_get(t, "to")), val, json_string_value(json_object_get(t, "data")),
             (unsigned long long)json_integer_value(json_object_get(t, "chainId")));
    free(gp);
    free(val);
    tkm_tx tx;
    TU_ASSERT_OK(parse(&tx, req));
    uint8_t h[32], want[32], addr[20];
    tu_hex_exact(want, 32, json_string_value(json_object_get(v, "signingHash")));
    TU_ASSERT_OK(tkm_tx_signing_hash(&tx, h));
    assert_memory_equal(h, want, 32);
    tkm_secret *sk = key_from_hex(json_string_value(json_object_get(v, "privateKey")));
    key_address(sk, addr);
    TU_ASSERT_OK(tkm_tx_sign(&tx, sk, addr));
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_tx_encode_signed(&tx, &w));
    size_t n;
    uint8_t *raw = tu_hex(json_string_value(json_object_get(v, "signedTx")), &n);
    assert_int_equal(w.len, n);
    assert_memory_equal(w.p, raw, n);
    tkm_tx_free(&tx);
    /* decode: v = 37, sender = the key's address */
    TU_ASSERT_OK(tkm_tx_decode_signed(&tx, raw, n));
    assert_true(tx.eip155);
    assert_true(tx.chain_id.w[0] == 1);
    assert_memory_equal(tx.from, addr, 20);
    json_t *j;
    TU_ASSERT_OK(tkm_tx_to_json(&tx, &j));
    assert_string_equal(json_string_value(json_object_get(j, "v")), "0x25");
    json_decref(j);
    tkm_tx_free(&tx);
    tkm_wr_free(&w);
    free(raw);
    tkm_secret_free(sk);
    json_decref(v);
}

/* ethers-signed transactions of every type. */
static void test_ethers_vectors(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eth-tx/ethers_signed.json");
    tkm_secret *sk = key_from_hex(json_string_value(json_object_get(v, "privateKey")));
    uint8_t addr[20], want_from[20];
    key_address(sk, addr);
    tu_hex_exact(want_from, 20, json_string_value(json_object_get(v, "from")));
    assert_memory_equal(addr, want_from, 20);
    json_t *cases = json_object_get(v, "cases");
    assert_int_equal(json_array_size(cases), 6);
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        const char *name = json_string_value(json_object_get(c, "name"));
        tkm_tx tx;
        tkm_rc rc = tkm_tx_from_json_value(&tx, json_object_get(c, "request"));
        if (tkm_failed(rc)) fail_msg("%s: %s %s", name, tkm_err_name(rc.code), tkm_err_detail());
        uint8_t h[32], want[32];
        tu_hex_exact(want, 32, json_string_value(json_object_get(c, "signingHash")));
        TU_ASSERT_OK(tkm_tx_signing_hash(&tx, h));
        if (memcmp(h, want, 32) != 0) fail_msg("%s: signing hash", name);
        TU_ASSERT_OK(tkm_tx_sign(&tx, sk, addr));
        tkm_wr w;
        tkm_wr_init(&w, 0);
        TU_ASSERT_OK(tkm_tx_encode_signed(&tx, &w));
        size_t n;
        uint8_t *raw = tu_hex(json_string_value(json_object_get(c, "raw")), &n);
        if (w.len != n || memcmp(w.p, raw, n) != 0) fail_msg("%s: signed bytes differ", name);
        tu_hex_exact(want, 32, json_string_value(json_object_get(c, "hash")));
        TU_ASSERT_OK(tkm_tx_hash(&tx, h));
        assert_memory_equal(h, want, 32);
        tkm_tx_free(&tx);
        tkm_wr_free(&w);
        /* and back */
        TU_ASSERT_OK(tkm_tx_decode_signed(&tx, raw, n));
        assert_memory_equal(tx.from, addr, 20);
        json_t *auths = json_object_get(c, "authorities");
        assert_int_equal(tx.n_auths, json_array_size(auths));
        for (size_t k = 0; k < tx.n_auths; k++) {
            json_t *a = json_array_get(auths, k);
            if (json_is_null(a)) {
                assert_int_not_equal(tx.auths[k].authority_err, TKM_OK);
            } else {
                uint8_t wa[20];
                tu_hex_exact(wa, 20, json_string_value(a));
                assert_int_equal(tx.auths[k].authority_err, TKM_OK);
                assert_memory_equal(tx.auths[k].authority, wa, 20);
            }
        }
        tkm_tx_free(&tx);
        free(raw);
    }
    tkm_secret_free(sk);
    json_decref(v);
}

#define TO "\"to\":\"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\""
#define BASE2 "\"chainId\":\"0x1\",\"nonce\":\"0x0\",\"gas\":\"0x5208\",\"maxFeePerGas\":\"0x2\",\"maxPriorityFeePerGas\":\"0x1\""
#define BASE0 "\"chainId\":\"0x1\",\"nonce\":\"0x0\",\"gas\":\"0x5208\",\"gasPrice\":\"0x2\""
#define H32 "\"0x0100000000000000000000000000000000000000000000000000000000000000\""
#define AUTH "{\"chainId\":\"0x1\",\"address\":\"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\",\"nonce\":\"0x0\",\"yParity\":\"0x0\",\"r\":\"0x1\",\"s\":\"0x1\"}"

static void test_json_request_rules(void **state) {
    (void)state;
    static const struct {
        const char *json;
        tkm_err want;
        const char *detail; /* substring the detail must name */
        int type;           /* expected type when accepted */
    } cases[] = {
        /* accepted forms */
        {"{" BASE2 "," TO "}", TKM_OK, NULL, 2},
        {"{\"type\":\"0x2\"," BASE2 "," TO ",\"value\":\"0x0\",\"data\":\"0x\"}", TKM_OK, NULL, 2},
        {"{\"type\":\"0x0\"," BASE0 "," TO "}", TKM_OK, NULL, 0},
        {"{" BASE0 ",\"accessList\":[]," TO "}", TKM_OK, NULL, 1},
        {"{\"type\":\"0x1\"," BASE0 "," TO "}", TKM_OK, NULL, 1},
        {"{" BASE2 "," TO ",\"data\":\"0xab\",\"input\":\"0xAB\"}", TKM_OK, NULL, 2},
        {"{\"chainId\":\"0x1\",\"nonce\":\"0x0\",\"gas\":\"0x5208\",\"gasLimit\":\"0x5208\",\"gasPrice\":\"0x1\",\"type\":\"0x0\"}", TKM_OK, NULL, 0},
        {"{" BASE2 "," TO ",\"authorizationList\":[" AUTH "]}", TKM_OK, NULL, 4},
        {"{\"type\":\"0x3\"," BASE2 "," TO ",\"maxFeePerBlobGas\":\"0x1\",\"blobVersionedHashes\":[" H32 "]}", TKM_OK, NULL, 3},
        {"{" BASE2 ",\"to\":null}", TKM_OK, NULL, 2}, /* contract creation */
        {"{" BASE2 "," TO ",\"from\":\"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\"}", TKM_OK, NULL, 2},
        /* missing / contradictory / unknown */
        {"{\"nonce\":\"0x0\",\"gas\":\"0x5208\",\"maxFeePerGas\":\"0x2\",\"maxPriorityFeePerGas\":\"0x1\"}", TKM_ERR_TX_CHAIN_ID, "chainId", 0},
        {"{" BASE2 "," TO ",\"gasprice\":\"0x1\"}", TKM_ERR_JSON_UNKNOWN_FIELD, "gasprice", 0},
        {"{" BASE2 "," TO ",\"blobs\":[]}", TKM_ERR_JSON_UNKNOWN_FIELD, "blobs", 0},
        {"{" BASE2 "," TO ",\"data\":\"0xab\",\"input\":\"0xac\"}", TKM_ERR_TX_AMBIGUOUS, "input", 0},
        {"{" BASE2 "," TO ",\"data\":\"0x\",\"input\":\"0x00\"}", TKM_ERR_TX_AMBIGUOUS, "input", 0},
        {"{" BASE2 "," TO ",\"gasLimit\":\"0x5209\"}", TKM_ERR_TX_AMBIGUOUS, "gasLimit", 0},
        {"{" BASE2 "," TO ",\"gasPrice\":\"0x1\"}", TKM_ERR_TX_AMBIGUOUS, "gasPrice", 0},
        {"{\"type\":\"0x2\"," BASE2 "," TO ",\"gasPrice\":\"0x1\"}", TKM_ERR_TX_FIELD, "gasPrice", 0},
        {"{\"type\":\"0x0\"," BASE0 "," TO ",\"accessList\":[]}", TKM_ERR_TX_FIELD, "accessList", 0},
        {"{\"type\":\"0x1\"," BASE0 "," TO ",\"maxFeePerGas\":\"0x1\"}", TKM_ERR_TX_FIELD, "maxFeePerGas", 0},
        {"{\"type\":\"0x2\"," BASE2 "," TO ",\"authorizationList\":[]}", TKM_ERR_TX_FIELD, "authorizationList", 0},
        {"{\"type\":\"0x2\"," BASE2 "," TO ",\"maxFeePerBlobGas\":\"0x1\"}", TKM_ERR_TX_FIELD, "maxFeePerBlobGas", 0},
        {"{" BASE0 "," TO "}", TKM_ERR_TX_AMBIGUOUS, "type", 0},                 /* 0x0 or 0x1? */
        {"{\"chainId\":\"0x1\",\"nonce\":\"0x0\",\"gas\":\"0x1\"}", TKM_ERR_JSON_MISSING, "type", 0},
        {"{" BASE2 "," TO ",\"maxFeePerBlobGas\":\"0x1\",\"blobVersionedHashes\":[" H32 "]}", TKM_ERR_TX_AMBIGUOUS, "type", 0},
        {"{\"type\":\"0x5\"," BASE2 "," TO "}", TKM_ERR_TX_TYPE, "type", 0},
        {"{\"type\":\"0x2\",\"chainId\":\"0x1\",\"nonce\":\"0x0\",\"gas\":\"0x5208\",\"maxFeePerGas\":\"0x2\"," TO "}", TKM_ERR_JSON_MISSING, "maxPriorityFeePerGas", 0},
        {"{\"chainId\":\"0x1\",\"gas\":\"0x5208\",\"maxFeePerGas\":\"0x2\",\"maxPriorityFeePerGas\":\"0x1\"}", TKM_ERR_JSON_MISSING, "nonce", 0},
        {"{\"chainId\":\"0x1\",\"nonce\":\"0x0\",\"maxFeePerGas\":\"0x2\",\"maxPriorityFeePerGas\":\"0x1\"}", TKM_ERR_JSON_MISSING, "gas", 0},
        {"{" BASE2 "," TO ",\"chainId\":\"0x2\"}", TKM_ERR_JSON_DUPLICATE, NULL, 0},
        {"[]", TKM_ERR_JSON_TYPE, NULL, 0},
        /* quantities */
        {"{" BASE2 "," TO ",\"value\":1}", TKM_ERR_QUANTITY, "value", 0},
        {"{" BASE2 "," TO ",\"value\":\"-0x1\"}", TKM_ERR_QUANTITY, "value", 0},
        {"{" BASE2 "," TO ",\"value\":\"0x01\"}", TKM_ERR_QUANTITY, "value", 0},
        {"{" BASE2 "," TO ",\"value\":\"0x\"}", TKM_ERR_QUANTITY, "value", 0},
        {"{" BASE2 "," TO ",\"value\":\"0x10000000000000000000000000000000000000000000000000000000000000000\"}", TKM_ERR_OVERFLOW, "value", 0},
        {"{" BASE2 "," TO ",\"value\":\"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"}", TKM_OK, NULL, 2},
        {"{\"chainId\":\"0x1\",\"nonce\":\"0x10000000000000000\",\"gas\":\"0x1\",\"gasPrice\":\"0x1\",\"type\":\"0x0\"}", TKM_ERR_RANGE, "nonce", 0},
        {"{\"chainId\":\"0x1\",\"nonce\":\"0xffffffffffffffff\",\"gas\":\"0x1\",\"gasPrice\":\"0x1\",\"type\":\"0x0\"}", TKM_ERR_TX, "nonce", 0},
        {"{\"chainId\":\"0x1\",\"nonce\":\"0xfffffffffffffffe\",\"gas\":\"0x1\",\"gasPrice\":\"0x1\",\"type\":\"0x0\"}", TKM_OK, NULL, 0},
        {"{\"chainId\":\"0x1\",\"nonce\":\"0x0\",\"gas\":\"0x10000000000000000\",\"gasPrice\":\"0x1\",\"type\":\"0x0\"}", TKM_ERR_RANGE, "gas", 0},
        /* validity rules */
        {"{\"chainId\":\"0x1\",\"nonce\":\"0x0\",\"gas\":\"0x2\",\"maxFeePerGas\":\"0x8000000000000000000000000000000000000000000000000000000000000000\",\"maxPriorityFeePerGas\":\"0x0\"}", TKM_ERR_TX, "gas", 0},
        {"{\"chainId\":\"0x1\",\"nonce\":\"0x0\",\"gas\":\"0x1\",\"maxFeePerGas\":\"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\",\"maxPriorityFeePerGas\":\"0x0\"}", TKM_OK, NULL, 2},
        {"{\"chainId\":\"0x1\",\"nonce\":\"0x0\",\"gas\":\"0x1\",\"maxFeePerGas\":\"0x1\",\"maxPriorityFeePerGas\":\"0x2\"}", TKM_ERR_TX, "maxPriorityFeePerGas", 0},
        {"{\"type\":\"0x3\"," BASE2 ",\"maxFeePerBlobGas\":\"0x1\",\"blobVersionedHashes\":[" H32 "]}", TKM_ERR_TX, "to", 0},
        {"{\"type\":\"0x3\"," BASE2 "," TO ",\"maxFeePerBlobGas\":\"0x1\",\"blobVersionedHashes\":[]}", TKM_ERR_TX, "blobVersionedHashes", 0},
        {"{\"type\":\"0x3\"," BASE2 "," TO ",\"maxFeePerBlobGas\":\"0x1\"}", TKM_ERR_JSON_MISSING, "blobVersionedHashes", 0},
        {"{\"type\":\"0x3\"," BASE2 "," TO ",\"blobVersionedHashes\":[" H32 "]}", TKM_ERR_JSON_MISSING, "maxFeePerBlobGas", 0},
        {"{\"type\":\"0x3\"," BASE2 "," TO ",\"maxFeePerBlobGas\":\"0x1\",\"blobVersionedHashes\":[\"0x0200000000000000000000000000000000000000000000000000000000000000\"]}", TKM_ERR_TX, "blobVersionedHashes[0]", 0},
        {"{\"type\":\"0x3\"," BASE2 "," TO ",\"maxFeePerBlobGas\":\"0x1\",\"blobVersionedHashes\":[\"0x01\"]}", TKM_ERR_HEX_LENGTH, "blobVersionedHashes[0]", 0},
        {"{\"type\":\"0x4\"," BASE2 "," TO ",\"authorizationList\":[]}", TKM_ERR_TX, "authorizationList", 0},
        {"{\"type\":\"0x4\"," BASE2 ",\"authorizationList\":[" AUTH "]}", TKM_ERR_TX, "to", 0},
        {"{" BASE2 "," TO ",\"authorizationList\":[{\"chainId\":\"0x1\"}]}", TKM_ERR_JSON_MISSING, "authorizationList[0].address", 0},
        {"{" BASE2 "," TO ",\"authorizationList\":[{\"chainId\":\"0x1\",\"address\":\"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\",\"nonce\":\"0x0\",\"yParity\":\"0x0\",\"r\":\"0x1\",\"s\":\"0x1\",\"v\":\"0x1b\"}]}", TKM_ERR_JSON_UNKNOWN_FIELD, "authorizationList[0].v", 0},
        {"{" BASE2 "," TO ",\"authorizationList\":[{\"chainId\":\"0x1\",\"address\":\"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\",\"nonce\":\"0xffffffffffffffff\",\"yParity\":\"0x0\",\"r\":\"0x1\",\"s\":\"0x1\"}]}", TKM_ERR_TX, "nonce", 0},
        {"{" BASE2 "," TO ",\"accessList\":[{\"address\":\"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\"}]}", TKM_ERR_JSON_MISSING, "accessList[0].storageKeys", 0},
        {"{" BASE2 "," TO ",\"accessList\":[{\"address\":\"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\",\"storageKeys\":[\"0x01\"]}]}", TKM_ERR_HEX_LENGTH, "accessList[0].storageKeys[0]", 0},
        {"{" BASE2 "," TO ",\"accessList\":{}}", TKM_ERR_JSON_TYPE, "accessList", 0},
        /* addresses and bytes */
        {"{" BASE2 ",\"to\":\"0x5AAeb6053f3e94c9b9a09f33669435e7ef1beaed\"}", TKM_ERR_CHECKSUM, "to", 0},
        {"{" BASE2 ",\"to\":\"0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea\"}", TKM_ERR_ADDRESS, "to", 0},
        {"{" BASE2 ",\"to\":\"\"}", TKM_ERR_ADDRESS, "to", 0},
        {"{" BASE2 "," TO ",\"from\":\"0x00\"}", TKM_ERR_ADDRESS, "from", 0},
        {"{" BASE2 "," TO ",\"data\":\"0xabc\"}", TKM_ERR_HEX_ODD, "data", 0},
        {"{" BASE2 "," TO ",\"data\":\"abcd\"}", TKM_ERR_HEX_PREFIX, "data", 0},
        {"{" BASE2 "," TO ",\"data\":\"0xzz\"}", TKM_ERR_HEX, "data", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tkm_tx tx;
        tkm_err_detail_clear();
        tkm_rc rc = parse(&tx, cases[i].json);
        if (rc.code != cases[i].want)
            fail_msg("case %zu %s: got %s (%s), want %s", i, cases[i].json, tkm_err_name(rc.code), tkm_err_detail(),
                     tkm_err_name(cases[i].want));
        if (cases[i].detail && !strstr(tkm_err_detail(), cases[i].detail))
            fail_msg("case %zu: detail '%s' does not name '%s'", i, tkm_err_detail(), cases[i].detail);
        if (tkm_ok(rc)) assert_int_equal((int)tx.type, cases[i].type);
        else assert_null(tx.data); /* cleared on failure */
        tkm_tx_free(&tx);
    }
}

/* The text tokenizer's subset and its edges: all agree with jansson (checked inside parse()). */
static void test_text_and_jansson_paths_agree(void **state) {
    (void)state;
    static const struct {
        const char *json;
        tkm_err want;
    } cases[] = {
        {"{" BASE2 "}", TKM_OK},
        {" \t\r\n{ \"type\" : \"0x2\" ,\n \"chainId\":\"0x1\",\"nonce\":\"0x0\",\"gas\":\"0x5208\",\"maxFeePerGas\":\"0x2\",\"maxPriorityFeePerGas\":\"0x1\",\"to\":null,\"accessList\":[ ] } \n", TKM_OK},
        /* escapes are left to jansson, which decodes them */
        {"{" BASE2 ",\"value\":\"\\u0030x1\"}", TKM_OK},
        {"{" BASE2 ",\"\\u0076alue\":\"0x1\"}", TKM_OK},
        {"{" BASE2 ",\"value\":\"0x1\\u0000\"}", TKM_ERR_JSON},
        {"{" BASE2 ",\"to\":null,\"to\":null}", TKM_ERR_JSON_DUPLICATE},
        {"{" BASE2 ",\"nonce\":\"0x0\"}", TKM_ERR_JSON_DUPLICATE},
        {"{" BASE2 ",\"Nonce\":\"0x0\"}", TKM_ERR_JSON_UNKNOWN_FIELD},
        {"{" BASE2 "} x", TKM_ERR_JSON},
        {"{" BASE2 ",}", TKM_ERR_JSON},
        {"{" BASE2 ",\"to\":nul}", TKM_ERR_JSON},
        {"{" BASE2 ",\"to\":true}", TKM_ERR_JSON_TYPE},
        {"{" BASE2 ",\"value\":false}", TKM_ERR_QUANTITY},
        {"{" BASE2 ",\"value\":[]}", TKM_ERR_QUANTITY},
        {"{" BASE2 ",\"data\":[]}", TKM_ERR_JSON_TYPE},
        {"{" BASE2 ",\"accessList\":\"0x\"}", TKM_ERR_JSON_TYPE},
        {"{" BASE2 ",\"accessList\":[[]]}", TKM_ERR_JSON_TYPE},
        {"{" BASE2 ",\"data\":\"0x\u00e9\"}", TKM_ERR_HEX},
        {"{" BASE2 ",\"data\":\"0x\te\"}", TKM_ERR_JSON},
        {"{}", TKM_ERR_JSON_MISSING},
        {"", TKM_ERR_JSON},
        {"{", TKM_ERR_JSON},
        {"[{" BASE2 "}]", TKM_ERR_JSON_TYPE},
        {"\xef\xbb\xbf{" BASE2 "}", TKM_ERR_JSON},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tkm_tx tx;
        tkm_rc rc = parse(&tx, cases[i].json);
        if (rc.code != cases[i].want)
            fail_msg("case %zu %s: got %s (%s), want %s", i, cases[i].json, tkm_err_name(rc.code), tkm_err_detail(),
                     tkm_err_name(cases[i].want));
        tkm_tx_free(&tx);
    }
}

static void test_data_input_and_gas_aliases(void **state) {
    (void)state;
    tkm_tx tx;
    TU_ASSERT_OK(parse(&tx, "{" BASE2 "," TO ",\"input\":\"0xa9059cbb\",\"gasLimit\":\"0x5208\"}"));
    assert_int_equal(tx.data_len, 4);
    assert_true(tx.gas == 21000);
    assert_true(tx.has_to);
    assert_false(tx.has_from);
    tkm_tx_free(&tx);
    TU_ASSERT_OK(parse(&tx, "{" BASE2 ",\"to\":null}"));
    assert_false(tx.has_to);
    tkm_tx_free(&tx);
}

static void test_signing_refusals(void **state) {
    (void)state;
    tkm_secret *sk = key_from_hex("4646464646464646464646464646464646464646464646464646464646464646");
    uint8_t addr[20], other[20] = {2};
    key_address(sk, addr);
    tkm_tx tx;
    /* chain id 0 */
    TU_ASSERT_OK(parse(&tx, "{\"chainId\":\"0x0\",\"nonce\":\"0x0\",\"gas\":\"0x1\",\"gasPrice\":\"0x1\",\"type\":\"0x0\"}"));
    TU_ASSERT_RC(tkm_tx_sign(&tx, sk, addr), TKM_ERR_TX_CHAIN_ID);
    assert_false(tx.is_signed);
    tkm_tx_free(&tx);
    /* legacy: v = 2 * chainId + 36 must fit; 2^255 - 19 is the largest chain id */
    TU_ASSERT_OK(parse(&tx, "{\"chainId\":\"0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed\",\"nonce\":\"0x0\",\"gas\":\"0x1\",\"gasPrice\":\"0x1\",\"type\":\"0x0\"}"));
    TU_ASSERT_OK(tkm_tx_sign(&tx, sk, addr));
    tkm_tx_free(&tx);
    TU_ASSERT_OK(parse(&tx, "{\"chainId\":\"0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffee\",\"nonce\":\"0x0\",\"gas\":\"0x1\",\"gasPrice\":\"0x1\",\"type\":\"0x0\"}"));
    TU_ASSERT_RC(tkm_tx_sign(&tx, sk, addr), TKM_ERR_RANGE);
    tkm_tx_free(&tx);
    /* from that is not the key's */
    TU_ASSERT_OK(parse(&tx, "{" BASE2 "," TO ",\"from\":\"0x0100000000000000000000000000000000000000\"}"));
    TU_ASSERT_RC(tkm_tx_sign(&tx, sk, addr), TKM_ERR_TX_AMBIGUOUS);
    TU_ASSERT_RC(tkm_tx_sign(&tx, sk, other), TKM_ERR_TX_AMBIGUOUS);
    tkm_tx_free(&tx);
    /* a pre-EIP-155 signed transaction decodes (eip155 = 0) but is never signed again */
    size_t n;
    uint8_t *raw = tu_hex("f85f800182520894095e7baea6a6c7c4c2dfeb977efac326af552d870a801ba048b55bfa915ac795c431978d8a6a992b628d557da5ff759b307d495a36649353a01fffd310ac743f371de3b9f7f9cb56c0b28ad43601b4ab949f53faa07bd2c804", &n);
    TU_ASSERT_OK(tkm_tx_decode_signed(&tx, raw, n));
    assert_false(tx.eip155);
    tkm_u256 one = tkm_u256_from_u64(1);
    TU_ASSERT_RC(tkm_tx_check_chain_id(&tx, &one), TKM_ERR_TX_CHAIN_ID);
    json_t *j;
    TU_ASSERT_OK(tkm_tx_to_json(&tx, &j));
    assert_true(json_is_null(json_object_get(j, "chainId")));
    assert_true(json_is_false(json_object_get(j, "eip155")));
    assert_string_equal(json_string_value(json_object_get(j, "v")), "0x1b");
    json_decref(j);
    TU_ASSERT_RC(tkm_tx_sign(&tx, sk, addr), TKM_ERR_TX_CHAIN_ID);
    assert_false(tx.is_signed);
    tkm_tx_free(&tx);
    free(raw);
    tkm_secret_free(sk);
}

/* Sign one request of each type, then check every truncation and single-byte corruption. */
static void test_decode_truncations_and_corruptions(void **state) {
    (void)state;
    static const char *reqs[] = {
        "{\"type\":\"0x0\"," BASE0 "," TO ",\"data\":\"0xa9059cbb\"}",
        "{\"type\":\"0x1\"," BASE0 "," TO ",\"accessList\":[{\"address\":\"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\",\"storageKeys\":[" H32 "]}]}",
        "{" BASE2 "," TO ",\"value\":\"0x1\"}",
        "{\"type\":\"0x3\"," BASE2 "," TO ",\"maxFeePerBlobGas\":\"0x1\",\"blobVersionedHashes\":[" H32 "]}",
        "{" BASE2 "," TO ",\"authorizationList\":[" AUTH "]}",
    };
    tkm_secret *sk = key_from_hex("4646464646464646464646464646464646464646464646464646464646464646");
    uint8_t addr[20];
    key_address(sk, addr);
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        tkm_tx tx, dec;
        TU_ASSERT_OK(parse(&tx, reqs[i]));
        TU_ASSERT_OK(tkm_tx_sign(&tx, sk, addr));
        tkm_wr w;
        tkm_wr_init(&w, 0);
        TU_ASSERT_OK(tkm_tx_encode_signed(&tx, &w));
        TU_ASSERT_OK(tkm_tx_decode_signed(&dec, w.p, w.len));
        assert_int_equal(dec.type, tx.type);
        assert_memory_equal(dec.from, addr, 20);
        tkm_tx_free(&dec);
        for (size_t k = 0; k < w.len; k++) {
            tkm_rc rc = tkm_tx_decode_signed(&dec, w.p, k);
            if (tkm_ok(rc)) fail_msg("type %zu: truncation to %zu accepted", i, k);
            assert_null(dec.data);
            assert_false(dec.is_signed);
        }
        /* flipping any byte either fails or yields another sender / other contents */
        uint8_t *copy = malloc(w.len);
        for (size_t k = 0; k < w.len; k++) {
            memcpy(copy, w.p, w.len);
            copy[k] ^= 0x01;
            tkm_rc rc = tkm_tx_decode_signed(&dec, copy, w.len);
            if (tkm_ok(rc)) {
                tkm_wr w2;
                tkm_wr_init(&w2, 0);
                TU_ASSERT_OK(tkm_tx_encode_signed(&dec, &w2));
                /* canonical: what decodes re-encodes to exactly the input */
                assert_int_equal(w2.len, w.len);
                assert_memory_equal(w2.p, copy, w.len);
                assert_memory_not_equal(dec.from, addr, 20);
                tkm_wr_free(&w2);
            }
            tkm_tx_free(&dec);
        }
        free(copy);
        tkm_wr_free(&w);
        tkm_tx_free(&tx);
    }
    tkm_secret_free(sk);
}

static void test_decode_envelope_errors(void **state) {
    (void)state;
    static const struct {
        const char *hex;
        tkm_err want;
    } cases[] = {
        {"", TKM_ERR_TRUNCATED},
        {"05c0", TKM_ERR_TX_TYPE},
        {"00c0", TKM_ERR_TX_TYPE},
        {"7fc0", TKM_ERR_TX_TYPE},
        {"02", TKM_ERR_TRUNCATED},
        {"0280", TKM_ERR_RLP_KIND},
        {"83616263", TKM_ERR_RLP_KIND},
        {"02c0", TKM_ERR_TX},
        {"c0", TKM_ERR_TX},
        {"02c0c0", TKM_ERR_TRAILING},
        /* a type-3 network wrapper [tx, blobs, commitments, proofs] */
        {"03c4c0c0c0c0", TKM_ERR_TX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        uint8_t *b = tu_hex(cases[i].hex, &n);
        tkm_tx tx;
        tkm_rc rc = tkm_tx_decode_signed(&tx, b, n);
        if (rc.code != cases[i].want)
            fail_msg("%s: got %s want %s", cases[i].hex, tkm_err_name(rc.code), tkm_err_name(cases[i].want));
        free(b);
    }
    size_t n;
    uint8_t *b = tu_hex("03c4c0c0c0c0", &n);
    tkm_tx tx;
    tkm_err_detail_clear();
    TU_ASSERT_RC(tkm_tx_decode_signed(&tx, b, n), TKM_ERR_TX);
    assert_non_null(strstr(tkm_err_detail(), "network form"));
    free(b);
}

/* EIP-7702 authority: the digest is keccak(0x05 || rlp([chainId, address, nonce])). */
static void test_authorization_authority(void **state) {
    (void)state;
    tkm_secret *sk = key_from_hex("4646464646464646464646464646464646464646464646464646464646464646");
    tkm_secret *ak = key_from_hex("1111111111111111111111111111111111111111111111111111111111111111");
    uint8_t addr[20], aaddr[20];
    key_address(sk, addr);
    key_address(ak, aaddr);
    /* 0x05 || rlp([1, 0x22..22, 7]) = 05 d7 01 94 <20 bytes> 07, assembled by hand */
    uint8_t msg[1 + 1 + 1 + 1 + 20 + 1];
    size_t o = 0;
    msg[o++] = 0x05;
    msg[o++] = 0xd7;
    msg[o++] = 0x01;
    msg[o++] = 0x94;
    memset(msg + o, 0x22, 20);
    o += 20;
    msg[o++] = 0x07;
    uint8_t digest[32], sig[65];
    tkm_keccak256(digest, msg, o);
    TU_ASSERT_OK(tkm_secp_sign(sig, ak, digest));
    char req[2048], r[67], s[67];
    tkm_u256 ru, su;
    tkm_u256_from_be32(&ru, sig);
    tkm_u256_from_be32(&su, sig + 32);
    tkm_u256_to_quantity(&ru, r);
    tkm_u256_to_quantity(&su, s);
    snprintf(req, sizeof req,
             "{" BASE2 "," TO ",\"authorizationList\":[{\"chainId\":\"0x1\",\"address\":\"0x2222222222222222222222222222222222222222\","
             "\"nonce\":\"0x7\",\"yParity\":\"0x%x\",\"r\":\"%s\",\"s\":\"%s\"},"
             "{\"chainId\":\"0x1\",\"address\":\"0x2222222222222222222222222222222222222222\","
             "\"nonce\":\"0x7\",\"yParity\":\"0x2\",\"r\":\"%s\",\"s\":\"%s\"}]}",
             sig[64], r, s, r, s);
    tkm_tx tx, dec;
    TU_ASSERT_OK(parse(&tx, req));
    assert_int_equal(tx.n_auths, 2);
    assert_int_equal(tx.auths[0].authority_err, TKM_OK);
    assert_memory_equal(tx.auths[0].authority, aaddr, 20);
    assert_int_equal(tx.auths[1].authority_err, TKM_ERR_BAD_SIGNATURE); /* yParity 2 */
    /* high s: n - s with the other parity recovers the same key, but EIP-7702 refuses it */
    TU_ASSERT_OK(tkm_tx_sign(&tx, sk, addr));
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_tx_encode_signed(&tx, &w));
    TU_ASSERT_OK(tkm_tx_decode_signed(&dec, w.p, w.len));
    assert_memory_equal(dec.auths[0].authority, aaddr, 20);
    assert_int_equal(dec.auths[1].y_parity, 2);
    assert_int_equal(dec.auths[1].authority_err, TKM_ERR_BAD_SIGNATURE);
    json_t *j;
    TU_ASSERT_OK(tkm_tx_to_json(&dec, &j));
    json_t *a1 = json_array_get(json_object_get(j, "authorizationList"), 1);
    assert_true(json_is_null(json_object_get(a1, "authority")));
    assert_string_equal(json_string_value(json_object_get(a1, "authorityError")), "BAD_SIGNATURE");
    json_decref(j);
    tkm_tx_free(&dec);
    tkm_tx_free(&tx);
    tkm_wr_free(&w);
    BIGNUM *bn_n = NULL, *bn_s = BN_bin2bn(sig + 32, 32, NULL);
    BN_hex2bn(&bn_n, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
    BN_sub(bn_s, bn_n, bn_s);
    uint8_t hs[32];
    BN_bn2binpad(bn_s, hs, 32);
    tkm_u256_from_be32(&su, hs);
    tkm_u256_to_quantity(&su, s);
    snprintf(req, sizeof req,
             "{" BASE2 "," TO ",\"authorizationList\":[{\"chainId\":\"0x1\",\"address\":\"0x2222222222222222222222222222222222222222\","
             "\"nonce\":\"0x7\",\"yParity\":\"0x%x\",\"r\":\"%s\",\"s\":\"%s\"}]}",
             sig[64] ^ 1, r, s);
    TU_ASSERT_OK(parse(&tx, req));
    assert_int_equal(tx.auths[0].authority_err, TKM_ERR_HIGH_S);
    tkm_tx_free(&tx);
    BN_free(bn_n);
    BN_free(bn_s);
    tkm_secret_free(sk);
    tkm_secret_free(ak);
}

static void test_decode_signature_rules(void **state) {
    (void)state;
    tkm_secret *sk = key_from_hex("4646464646464646464646464646464646464646464646464646464646464646");
    uint8_t addr[20];
    key_address(sk, addr);
    tkm_tx tx, dec;
    TU_ASSERT_OK(parse(&tx, "{" BASE2 "," TO "}"));
    TU_ASSERT_OK(tkm_tx_sign(&tx, sk, addr));
    /* yParity 2 */
    tx.y_parity = 2;
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_tx_encode_signed(&tx, &w));
    TU_ASSERT_RC(tkm_tx_decode_signed(&dec, w.p, w.len), TKM_ERR_BAD_SIGNATURE);
    /* high s with the flipped parity: same key, refused */
    BIGNUM *bn_n = NULL, *bn_s = BN_bin2bn(tx.s, 32, NULL);
    BN_hex2bn(&bn_n, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
    BN_sub(bn_s, bn_n, bn_s);
    BN_bn2binpad(bn_s, tx.s, 32);
    tx.y_parity = 1;
    tkm_wr_reset(&w);
    TU_ASSERT_OK(tkm_tx_encode_signed(&tx, &w));
    tkm_rc rc1 = tkm_tx_decode_signed(&dec, w.p, w.len);
    tx.y_parity = 0;
    tkm_wr_reset(&w);
    TU_ASSERT_OK(tkm_tx_encode_signed(&tx, &w));
    tkm_rc rc0 = tkm_tx_decode_signed(&dec, w.p, w.len);
    assert_true(rc0.code == TKM_ERR_HIGH_S && rc1.code == TKM_ERR_HIGH_S);
    /* s = n: out of range */
    BN_bn2binpad(bn_n, tx.s, 32);
    tkm_wr_reset(&w);
    TU_ASSERT_OK(tkm_tx_encode_signed(&tx, &w));
    TU_ASSERT_RC(tkm_tx_decode_signed(&dec, w.p, w.len), TKM_ERR_BAD_SIGNATURE);
    /* chain check */
    tkm_u256 one = tkm_u256_from_u64(1), two = tkm_u256_from_u64(2);
    TU_ASSERT_OK(tkm_tx_check_chain_id(&tx, &one));
    TU_ASSERT_RC(tkm_tx_check_chain_id(&tx, &two), TKM_ERR_TX_CHAIN_MISMATCH);
    BN_free(bn_n);
    BN_free(bn_s);
    tkm_wr_free(&w);
    tkm_tx_free(&tx);
    tkm_secret_free(sk);
}

static void test_misuse(void **state) {
    (void)state;
    tkm_tx tx;
    tkm_tx_init(&tx);
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_CHECK_ILLEGAL(tkm_tx_encode_signed(&tx, &w)); /* not signed */
    uint8_t h[32];
    TU_CHECK_ILLEGAL(tkm_tx_hash(&tx, h));
    TU_CHECK_ILLEGAL(tkm_tx_decode_signed(&tx, NULL, 3));
    tkm_tx_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eip155_example),
        cmocka_unit_test(test_ethers_vectors),
        cmocka_unit_test(test_json_request_rules),
        cmocka_unit_test(test_text_and_jansson_paths_agree),
        cmocka_unit_test(test_data_input_and_gas_aliases),
        cmocka_unit_test(test_signing_refusals),
        cmocka_unit_test(test_decode_truncations_and_corruptions),
        cmocka_unit_test(test_decode_envelope_errors),
        cmocka_unit_test(test_authorization_authority),
        cmocka_unit_test(test_decode_signature_rules),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
