/*
 * EIP-712 typed data: the EIP's Mail example (every intermediate), ethers-
 * computed edge cases, invalid documents with their error codes, accessors,
 * limits, truncations and misuse. Expected values come from the EIP text and
 * from ethers 6.17.0 (tests/vectors/eip712/gen_cases.js), never from teekm.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "eth/eth.h"

static char *dump(const json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(s);
    return s;
}

static tkm_rc parse_str(tkm_typed_data **td, const char *s, const tkm_eip712_limits *lim) {
    return tkm_typed_data_parse(td, (const uint8_t *)s, strlen(s), lim);
}

static tkm_typed_data *parse_json_ok(const json_t *doc) {
    char *s = dump(doc);
    tkm_typed_data *td = NULL;
    tkm_rc rc = parse_str(&td, s, NULL);
    if (tkm_failed(rc)) fail_msg("parse failed: %s: %s", tkm_err_name(rc.code), tkm_err_detail());
    free(s);
    return td;
}

static void assert_hex32(const uint8_t *got, const char *want_hex) {
    uint8_t want[32];
    tu_hex_exact(want, 32, want_hex);
    assert_memory_equal(got, want, 32);
}

static const char *vstr(const json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    assert_non_null(s);
    return s;
}

/* ---- the EIP-712 Mail example: every intermediate ---- */

static void test_mail_vector(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip712/eip712_mail_example.json");
    json_t *exp = json_object_get(v, "expected");
    tkm_typed_data *td = parse_json_ok(json_object_get(v, "typedData"));

    const char *enc;
    size_t enc_len;
    TU_ASSERT_OK(tkm_typed_data_encode_type(td, "Mail", &enc, &enc_len));
    assert_string_equal(enc, vstr(exp, "encodeType_Mail"));
    assert_int_equal(enc_len, strlen(vstr(exp, "encodeType_Mail")));
    uint8_t th[32];
    TU_ASSERT_OK(tkm_typed_data_type_hash(td, "Mail", th));
    assert_hex32(th, vstr(exp, "typeHash_Mail"));

    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_typed_data_encode_data(td, &w));
    size_t n;
    uint8_t *want = tu_hex(vstr(exp, "encodeData_Mail"), &n);
    assert_int_equal(w.len, n);
    assert_memory_equal(w.p, want, n);
    free(want);

    const tkm_eip712_hashes *h = tkm_typed_data_hashes(td);
    assert_hex32(h->struct_hash, vstr(exp, "structHash_Mail"));
    assert_hex32(h->domain_separator, vstr(exp, "domainSeparator"));
    assert_hex32(h->digest, vstr(exp, "digest"));
    /* structHash is keccak(encodeData) */
    uint8_t k[32];
    tkm_keccak256(k, w.p, w.len);
    assert_memory_equal(k, h->struct_hash, 32);
    /* the C building blocks agree with the JSON path */
    uint8_t sh[32], ds[32], dg[32];
    tkm_eip712_hash_struct(sh, enc, enc_len, w.p + 32, (w.len - 32) / 32);
    assert_memory_equal(sh, h->struct_hash, 32);
    tkm_eip712_domain_separator(ds, tkm_typed_data_domain(td));
    assert_memory_equal(ds, h->domain_separator, 32);
    tkm_eip712_digest(dg, ds, sh);
    assert_memory_equal(dg, h->digest, 32);
    tkm_wr_free(&w);

    /* sign with keccak256("cow") and recover: the EIP's v, r, s and signer */
    uint8_t skb[32], sig[65], r[32], s[32], addr[20], want_addr[20];
    tkm_keccak256(skb, "cow", 3);
    tkm_secret *sk;
    TU_ASSERT_OK(tkm_secret_from(&sk, skb, 32));
    tkm_wipe(skb, 32);
    TU_ASSERT_OK(tkm_secp_sign(sig, sk, h->digest));
    tu_hex_exact(r, 32, vstr(exp, "r"));
    tu_hex_exact(s, 32, vstr(exp, "s"));
    assert_memory_equal(sig, r, 32);
    assert_memory_equal(sig + 32, s, 32);
    assert_int_equal(27 + sig[64], json_integer_value(json_object_get(exp, "v")));
    sig[64] = (uint8_t)(sig[64] + 27);
    TU_ASSERT_OK(tkm_typed_data_recover(td, addr, sig, 65));
    tu_hex_exact(want_addr, 20, vstr(exp, "signerAddress"));
    assert_memory_equal(addr, want_addr, 20);
    sig[64] = (uint8_t)(sig[64] - 27); /* 0/1 accepted too */
    TU_ASSERT_OK(tkm_typed_data_recover(td, addr, sig, 65));
    assert_memory_equal(addr, want_addr, 20);
    tkm_secret_free(sk);

    /* domain values and accessors */
    const tkm_eip712_domain *d = tkm_typed_data_domain(td);
    assert_int_equal(d->fields, TKM_EIP712_DOMAIN_NAME | TKM_EIP712_DOMAIN_VERSION | TKM_EIP712_DOMAIN_CHAIN_ID |
                                    TKM_EIP712_DOMAIN_VERIFYING_CONTRACT);
    assert_string_equal(d->name, "Ether Mail");
    assert_int_equal(d->name_len, 10);
    assert_string_equal(d->version, "1");
    uint64_t cid;
    assert_true(tkm_u256_to_u64(&d->chain_id, &cid));
    assert_int_equal(cid, 1);
    uint8_t vc[20];
    tu_hex_exact(vc, 20, "cccccccccccccccccccccccccccccccccccccccc");
    assert_memory_equal(d->verifying_contract, vc, 20);
    assert_string_equal(tkm_typed_data_primary_type(td), "Mail");

    const char *str, *type;
    size_t len;
    TU_ASSERT_OK(tkm_typed_data_get_string(td, "contents", &str, &len));
    assert_int_equal(len, 11);
    assert_memory_equal(str, "Hello, Bob!", 11);
    TU_ASSERT_OK(tkm_typed_data_get_string(td, "to.name", &str, &len));
    assert_memory_equal(str, "Bob", 3);
    TU_ASSERT_OK(tkm_typed_data_get_address(td, "from.wallet", addr));
    assert_memory_equal(addr, want_addr, 20);
    TU_ASSERT_OK(tkm_typed_data_type_of(td, "from", &type, &len));
    assert_int_equal(len, 6);
    assert_memory_equal(type, "Person", 6);
    TU_ASSERT_OK(tkm_typed_data_type_of(td, "", &type, &len));
    assert_memory_equal(type, "Mail", 4);
    /* wrong type, missing field, bad paths */
    tkm_u256 u;
    TU_ASSERT_RC(tkm_typed_data_get_uint(td, "contents", &u), TKM_ERR_TYPED_DATA_FIELD);
    TU_ASSERT_RC(tkm_typed_data_get_address(td, "from", addr), TKM_ERR_TYPED_DATA_FIELD);
    TU_ASSERT_RC(tkm_typed_data_get_string(td, "bcc", &str, &len), TKM_ERR_TYPED_DATA_FIELD);
    assert_null(str);
    TU_ASSERT_RC(tkm_typed_data_get_string(td, "from.name.x", &str, &len), TKM_ERR_TYPED_DATA_FIELD);
    TU_ASSERT_RC(tkm_typed_data_get_string(td, "from..name", &str, &len), TKM_ERR_TYPED_DATA_FIELD);
    TU_ASSERT_RC(tkm_typed_data_get_string(td, "from.", &str, &len), TKM_ERR_TYPED_DATA_FIELD);
    TU_ASSERT_RC(tkm_typed_data_get_string(td, "contents[0]", &str, &len), TKM_ERR_TYPED_DATA_FIELD);
    TU_ASSERT_RC(tkm_typed_data_encode_type(td, "Letter", &str, NULL), TKM_ERR_TYPED_DATA_UNKNOWN_TYPE);
    tkm_typed_data_free(td);
    json_decref(v);
}

/* ---- ethers-computed edge cases ---- */

static void test_edge_cases(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip712/edge_cases.json");
    json_t *cases = json_object_get(v, "cases");
    assert_true(json_array_size(cases) >= 15);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        tkm_typed_data *td = parse_json_ok(json_object_get(c, "typedData"));
        json_t *exp = json_object_get(c, "expected");
        const tkm_eip712_hashes *h = tkm_typed_data_hashes(td);
        assert_hex32(h->domain_separator, vstr(exp, "domainSeparator"));
        assert_hex32(h->struct_hash, vstr(exp, "structHash"));
        assert_hex32(h->digest, vstr(exp, "digest"));
        /* the domain values rebuild the same separator */
        uint8_t ds[32];
        tkm_eip712_domain_separator(ds, tkm_typed_data_domain(td));
        assert_memory_equal(ds, h->domain_separator, 32);
        /* from_json gives the same result as parsing the bytes */
        tkm_typed_data *td2 = NULL;
        TU_ASSERT_OK(tkm_typed_data_from_json(&td2, json_object_get(c, "typedData"), NULL));
        assert_memory_equal(tkm_typed_data_hashes(td2), h, sizeof *h);
        tkm_typed_data_free(td2);
        tkm_typed_data_free(td);
    }
    json_decref(v);
}

static json_t *edge_case(json_t *v, const char *name) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(v, "cases"), i, c) {
        if (strcmp(vstr(c, "name"), name) == 0) return json_object_get(c, "typedData");
    }
    fail_msg("no edge case %s", name);
    return NULL;
}

/* A policy matcher's view of EIP-2612 Permit and Permit2. */
static void test_accessors_permit(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip712/edge_cases.json");
    tkm_typed_data *td = parse_json_ok(edge_case(v, "permit-eip2612"));
    static const char permit[] =
        "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)";
    uint8_t want[32], th[32], addr[20], a[20];
    tkm_keccak256(want, permit, strlen(permit));
    /* EIP-2612's PERMIT_TYPEHASH */
    assert_hex32(want, "6e71edae12b1b97f4d1f60370fef10105fa2faae0126114a169c64845d6126c9");
    assert_string_equal(tkm_typed_data_primary_type(td), "Permit");
    TU_ASSERT_OK(tkm_typed_data_type_hash(td, "Permit", th));
    assert_memory_equal(th, want, 32);
    tkm_u256 u, max;
    memset(&max, 0xff, sizeof max);
    TU_ASSERT_OK(tkm_typed_data_get_uint(td, "value", &u));
    assert_int_equal(tkm_u256_cmp(&u, &max), 0);
    TU_ASSERT_OK(tkm_typed_data_get_uint(td, "nonce", &u));
    assert_true(tkm_u256_is_zero(&u));
    TU_ASSERT_OK(tkm_typed_data_get_uint(td, "deadline", &u));
    uint64_t x;
    assert_true(tkm_u256_to_u64(&u, &x));
    assert_int_equal(x, 1767225600);
    TU_ASSERT_OK(tkm_typed_data_get_address(td, "owner", addr));
    TU_ASSERT_OK(tkm_eth_address_parse(a, "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4", 42));
    assert_memory_equal(addr, a, 20);
    const tkm_eip712_domain *d = tkm_typed_data_domain(td);
    assert_string_equal(d->name, "USD Coin");
    assert_string_equal(d->version, "2");
    tkm_typed_data_free(td);

    td = parse_json_ok(edge_case(v, "permit2-batch"));
    size_t n, len;
    const char *type;
    TU_ASSERT_OK(tkm_typed_data_array_len(td, "details", &n));
    assert_int_equal(n, 2);
    TU_ASSERT_OK(tkm_typed_data_type_of(td, "details", &type, &len));
    assert_int_equal(len, strlen("PermitDetails[]"));
    assert_memory_equal(type, "PermitDetails[]", len);
    TU_ASSERT_OK(tkm_typed_data_type_of(td, "details[1]", &type, &len));
    assert_int_equal(len, strlen("PermitDetails"));
    TU_ASSERT_OK(tkm_typed_data_get_uint(td, "details[1].amount", &u));
    assert_true(tkm_u256_to_u64(&u, &x));
    assert_int_equal(x, 1000000);
    TU_ASSERT_OK(tkm_typed_data_get_uint(td, "details[0].expiration", &u));
    assert_true(tkm_u256_to_u64(&u, &x));
    assert_int_equal(x, 281474976710655ULL);
    TU_ASSERT_OK(tkm_typed_data_get_address(td, "details[0].token", addr));
    assert_memory_equal(addr, a, 20);
    TU_ASSERT_RC(tkm_typed_data_get_uint(td, "details[2].amount", &u), TKM_ERR_TYPED_DATA_FIELD);
    TU_ASSERT_RC(tkm_typed_data_get_uint(td, "details[x].amount", &u), TKM_ERR_TYPED_DATA_FIELD);
    TU_ASSERT_RC(tkm_typed_data_get_uint(td, "details[].amount", &u), TKM_ERR_TYPED_DATA_FIELD);
    TU_ASSERT_RC(tkm_typed_data_get_uint(td, "details.amount", &u), TKM_ERR_TYPED_DATA_FIELD);
    TU_ASSERT_RC(tkm_typed_data_array_len(td, "spender", &n), TKM_ERR_TYPED_DATA_FIELD);
    d = tkm_typed_data_domain(td);
    assert_int_equal(d->fields, TKM_EIP712_DOMAIN_NAME | TKM_EIP712_DOMAIN_CHAIN_ID | TKM_EIP712_DOMAIN_VERIFYING_CONTRACT);
    assert_null(d->version);
    tkm_typed_data_free(td);
    json_decref(v);
}

static void test_accessors_values(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip712/edge_cases.json");
    tkm_typed_data *td = parse_json_ok(edge_case(v, "int-extremes"));
    tkm_u256 m, want;
    int neg;
    TU_ASSERT_OK(tkm_typed_data_get_int(td, "i8min", &m, &neg));
    assert_true(neg);
    want = tkm_u256_from_u64(128);
    assert_int_equal(tkm_u256_cmp(&m, &want), 0);
    TU_ASSERT_OK(tkm_typed_data_get_int(td, "i256min", &m, &neg));
    assert_true(neg);
    assert_int_equal(tkm_u256_bits(&m), 256);
    TU_ASSERT_OK(tkm_typed_data_get_int(td, "i16neg1", &m, &neg));
    assert_true(neg);
    want = tkm_u256_from_u64(1);
    assert_int_equal(tkm_u256_cmp(&m, &want), 0);
    TU_ASSERT_OK(tkm_typed_data_get_uint(td, "u8max", &m));
    want = tkm_u256_from_u64(255);
    assert_int_equal(tkm_u256_cmp(&m, &want), 0);
    TU_ASSERT_RC(tkm_typed_data_get_uint(td, "i8max", &m), TKM_ERR_TYPED_DATA_FIELD); /* int8, not uint */
    TU_ASSERT_RC(tkm_typed_data_get_int(td, "u8max", &m, &neg), TKM_ERR_TYPED_DATA_FIELD);
    tkm_typed_data_free(td);

    td = parse_json_ok(edge_case(v, "bytes-edges"));
    uint8_t *b;
    size_t n;
    TU_ASSERT_OK(tkm_typed_data_get_bytes(td, "empty", &b, &n));
    assert_null(b);
    assert_int_equal(n, 0);
    TU_ASSERT_OK(tkm_typed_data_get_bytes(td, "b1", &b, &n));
    assert_int_equal(n, 1);
    assert_int_equal(b[0], 0);
    free(b);
    TU_ASSERT_OK(tkm_typed_data_get_bytes(td, "long", &b, &n));
    assert_int_equal(n, 1000);
    assert_int_equal(b[1], 37 + 7);
    free(b);
    TU_ASSERT_OK(tkm_typed_data_get_bytes(td, "list[2]", &b, &n));
    assert_int_equal(n, 33);
    free(b);
    tkm_typed_data_free(td);

    td = parse_json_ok(edge_case(v, "multi-dim"));
    const char *type;
    size_t len;
    TU_ASSERT_OK(tkm_typed_data_array_len(td, "grid", &n));
    assert_int_equal(n, 3);
    TU_ASSERT_OK(tkm_typed_data_type_of(td, "grid[1]", &type, &len));
    assert_int_equal(len, strlen("uint8[2]"));
    assert_memory_equal(type, "uint8[2]", len);
    TU_ASSERT_OK(tkm_typed_data_get_uint(td, "grid[1][1]", &m));
    want = tkm_u256_from_u64(4);
    assert_int_equal(tkm_u256_cmp(&m, &want), 0);
    int bv = 7;
    TU_ASSERT_OK(tkm_typed_data_get_bool(td, "people[1][1].ok", &bv));
    assert_int_equal(bv, 0);
    TU_ASSERT_OK(tkm_typed_data_get_bool(td, "people[1][0].ok", &bv));
    assert_int_equal(bv, 1);
    TU_ASSERT_OK(tkm_typed_data_get_int(td, "deep[0][0][0][0][0][0][0][0]", &m, &neg));
    assert_true(neg);
    TU_ASSERT_RC(tkm_typed_data_get_uint(td, "grid[1]", &m), TKM_ERR_TYPED_DATA_FIELD); /* still an array */
    tkm_typed_data_free(td);
    json_decref(v);
}

/* ---- invalid documents ---- */

static void test_invalid_cases(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip712/invalid_cases.json");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(v, "cases"), i, c) {
        const char *raw = json_string_value(json_object_get(c, "raw"));
        char *s = raw ? strdup(raw) : dump(json_object_get(c, "typedData"));
        tkm_typed_data *td = (tkm_typed_data *)1;
        tkm_err_detail_clear();
        tkm_rc rc = parse_str(&td, s, NULL);
        const char *got = tkm_err_name(rc.code);
        if (tkm_ok(rc) || strcmp(got, vstr(c, "error")) != 0)
            fail_msg("case %s: got %s (%s), want %s", vstr(c, "name"), got, tkm_err_detail(), vstr(c, "error"));
        assert_null(td);
        assert_true(tkm_err_detail()[0] != 0); /* every error says where */
        free(s);
    }
    json_decref(v);
}

/* Error details name the path. */
static void test_error_paths(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip712/eip712_mail_example.json");
    json_t *doc = json_deep_copy(json_object_get(v, "typedData"));
    json_t *to = json_object_get(json_object_get(doc, "message"), "to");
    json_object_set_new(to, "wallet", json_string("0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbb"));
    char *s = dump(doc);
    tkm_typed_data *td;
    TU_ASSERT_RC(parse_str(&td, s, NULL), TKM_ERR_CHECKSUM);
    assert_non_null(strstr(tkm_err_detail(), "message.to.wallet"));
    free(s);
    json_t *mail = json_array_get(json_object_get(json_object_get(doc, "types"), "Mail"), 1);
    json_object_set_new(mail, "type", json_string("Persn"));
    s = dump(doc);
    TU_ASSERT_RC(parse_str(&td, s, NULL), TKM_ERR_TYPED_DATA_UNKNOWN_TYPE);
    assert_non_null(strstr(tkm_err_detail(), "types.Mail[1].type"));
    assert_non_null(strstr(tkm_err_detail(), "Persn"));
    free(s);
    json_decref(doc);
    json_decref(v);
}

/* Every truncation of a valid document fails cleanly. */
static void test_truncations(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip712/eip712_mail_example.json");
    char *s = dump(json_object_get(v, "typedData"));
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        tkm_typed_data *td = (tkm_typed_data *)1;
        tkm_rc rc = tkm_typed_data_parse(&td, (const uint8_t *)s, i, NULL);
        assert_true(tkm_failed(rc));
        assert_null(td);
    }
    tkm_typed_data *td;
    TU_ASSERT_OK(tkm_typed_data_parse(&td, (const uint8_t *)s, n, NULL));
    tkm_typed_data_free(td);
    free(s);
    json_decref(v);
}

/* ---- limits ---- */

static char *wide_array_doc(size_t n, const char *type, const char *elem) {
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_wr_fmt(&w, "{\"types\":{\"EIP712Domain\":[],\"T\":[{\"name\":\"a\",\"type\":\"%s\"}]},"
                                "\"primaryType\":\"T\",\"domain\":{},\"message\":{\"a\":[",
                            type));
    for (size_t i = 0; i < n; i++) TU_ASSERT_OK(tkm_wr_fmt(&w, "%s%s", i ? "," : "", elem));
    TU_ASSERT_OK(tkm_wr_str(&w, "]}}"));
    uint8_t *p;
    size_t len;
    TU_ASSERT_OK(tkm_wr_take(&w, &p, &len));
    return (char *)p;
}

static void test_limits(void **state) {
    (void)state;
    tkm_typed_data *td;
    char *s = wide_array_doc(100, "uint8[]", "1");
    TU_ASSERT_OK(parse_str(&td, s, NULL));
    tkm_typed_data_free(td);
    tkm_eip712_limits lim = {.max_array_len = 99};
    TU_ASSERT_RC(parse_str(&td, s, &lim), TKM_ERR_TOO_LARGE);
    lim = (tkm_eip712_limits){.max_values = 50};
    TU_ASSERT_RC(parse_str(&td, s, &lim), TKM_ERR_TOO_LARGE);
    lim = (tkm_eip712_limits){.max_bytes = 100};
    TU_ASSERT_RC(parse_str(&td, s, &lim), TKM_ERR_JSON_SIZE);
    free(s);
    s = wide_array_doc(1, "uint8[1000000000]", "1");
    TU_ASSERT_RC(parse_str(&td, s, NULL), TKM_ERR_TOO_LARGE); /* declared size above max_array_len */
    free(s);

    /* nesting: 20 dimensions are fine by default, not with max_depth 10 */
    char type[128] = "bool";
    for (int i = 0; i < 20; i++) strcat(type, "[1]");
    s = wide_array_doc(1, type, "[[[[[[[[[[[[[[[[[[[true]]]]]]]]]]]]]]]]]]]");
    TU_ASSERT_OK(parse_str(&td, s, NULL));
    tkm_typed_data_free(td);
    lim = (tkm_eip712_limits){.max_depth = 10};
    tkm_rc rc = parse_str(&td, s, &lim);
    assert_int_equal(rc.code, TKM_ERR_JSON_DEPTH);
    free(s);

    /* types and fields */
    lim = (tkm_eip712_limits){.max_types = 1};
    json_t *v = tu_load_vector("eip712/eip712_mail_example.json");
    s = dump(json_object_get(v, "typedData"));
    TU_ASSERT_RC(parse_str(&td, s, &lim), TKM_ERR_TOO_LARGE);
    lim = (tkm_eip712_limits){.max_fields = 2};
    TU_ASSERT_RC(parse_str(&td, s, &lim), TKM_ERR_TOO_LARGE);
    lim = (tkm_eip712_limits){.max_encode_bytes = 100};
    TU_ASSERT_RC(parse_str(&td, s, &lim), TKM_ERR_TOO_LARGE);
    lim = (tkm_eip712_limits){.max_encode_bytes = 400};
    TU_ASSERT_OK(parse_str(&td, s, &lim));
    tkm_typed_data_free(td);
    free(s);
    json_decref(v);
}

/* Types T00..T{n-1}; Ti uses T(i+1) .. T(i+span). The message is {} (first field missing). */
static char *dag_doc(int n, int span) {
    json_t *types = json_object();
    json_object_set_new(types, "EIP712Domain", json_array());
    for (int i = 0; i < n; i++) {
        json_t *fields = json_array();
        char name[16], fname[16], tname[16];
        for (int j = i + 1; j < n && j <= i + span; j++) {
            snprintf(fname, sizeof fname, "f%d", j);
            snprintf(tname, sizeof tname, "T%02d", j);
            json_array_append_new(fields, json_pack("{s:s, s:s}", "name", fname, "type", tname));
        }
        snprintf(name, sizeof name, "T%02d", i);
        json_object_set_new(types, name, fields);
    }
    json_t *doc = json_pack("{s:o, s:s, s:{}, s:{}}", "types", types, "primaryType", "T00", "domain", "message");
    char *s = dump(doc);
    json_decref(doc);
    return s;
}

/*
 * Hostile type graphs. A chain where each type uses the next two expands
 * exponentially if dependencies are collected naively; encodeType uses a
 * visited set, so the types are processed and the error is about the message.
 * A complete DAG (each type uses every later one) makes every encodeType
 * long: their total is capped by max_encode_bytes.
 */
static void test_hostile_type_graphs(void **state) {
    (void)state;
    tkm_typed_data *td;
    char *s = dag_doc(60, 2);
    TU_ASSERT_RC(parse_str(&td, s, NULL), TKM_ERR_JSON_MISSING);
    assert_non_null(strstr(tkm_err_detail(), "message.f1"));
    free(s);
    s = dag_doc(60, 60);
    TU_ASSERT_RC(parse_str(&td, s, NULL), TKM_ERR_TOO_LARGE);
    assert_non_null(strstr(tkm_err_detail(), "encodeType"));
    free(s);
}

/* from_json deep-copies: changing the caller's object afterwards changes nothing. */
static void test_from_json_copies(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip712/eip712_mail_example.json");
    json_t *doc = json_object_get(v, "typedData");
    tkm_typed_data *td;
    TU_ASSERT_OK(tkm_typed_data_from_json(&td, doc, NULL));
    json_object_set_new(json_object_get(doc, "message"), "contents", json_string("Goodbye"));
    const char *s;
    size_t n;
    TU_ASSERT_OK(tkm_typed_data_get_string(td, "contents", &s, &n));
    assert_string_equal(s, "Hello, Bob!");
    assert_hex32(tkm_typed_data_hashes(td)->digest, "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");
    tkm_typed_data_free(td);
    json_decref(v);
}

static void test_recover_errors(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip712/eip712_mail_example.json");
    tkm_typed_data *td = parse_json_ok(json_object_get(v, "typedData"));
    json_t *exp = json_object_get(v, "expected");
    uint8_t sig[65], addr[20];
    tu_hex_exact(sig, 32, vstr(exp, "r"));
    tu_hex_exact(sig + 32, 32, vstr(exp, "s"));
    sig[64] = 28;
    TU_ASSERT_OK(tkm_typed_data_recover(td, addr, sig, 65));
    TU_ASSERT_RC(tkm_typed_data_recover(td, addr, sig, 64), TKM_ERR_BAD_SIGNATURE);
    sig[64] = 29;
    TU_ASSERT_RC(tkm_typed_data_recover(td, addr, sig, 65), TKM_ERR_BAD_SIGNATURE);
    /* s -> n - s: the same signature in its high-s form is refused */
    static const uint8_t order[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                      0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = order[i] - sig[32 + i] - borrow;
        borrow = d < 0;
        sig[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    sig[64] = 27;
    TU_ASSERT_RC(tkm_typed_data_recover(td, addr, sig, 65), TKM_ERR_HIGH_S);
    tkm_typed_data_free(td);
    json_decref(v);
}

static void test_misuse(void **state) {
    (void)state;
    tkm_typed_data *td;
    TU_CHECK_ILLEGAL(tkm_typed_data_parse(NULL, (const uint8_t *)"{}", 2, NULL));
    TU_CHECK_ILLEGAL(tkm_typed_data_parse(&td, NULL, 2, NULL));
    TU_CHECK_ILLEGAL(tkm_typed_data_from_json(&td, NULL, NULL));
    tkm_typed_data_free(NULL);
    tkm_misuse_set_handler(NULL);
}

int main(void) {
    tkm_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mail_vector),     cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_accessors_permit), cmocka_unit_test(test_accessors_values),
        cmocka_unit_test(test_invalid_cases),   cmocka_unit_test(test_error_paths),
        cmocka_unit_test(test_truncations),     cmocka_unit_test(test_limits),
        cmocka_unit_test(test_hostile_type_graphs),       cmocka_unit_test(test_from_json_copies),
        cmocka_unit_test(test_recover_errors),  cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
