/* Token calldata: selectors from keccak, ethers-encoded calls, and every strictness rule. */
#include "testutil.h"

#include "eth/eth.h"

#include <string.h>

static void test_selectors_are_keccak_of_signatures(void **state) {
    (void)state;
    size_t n;
    const tkm_token_fn *t = tkm_token_fn_table(&n);
    assert_int_equal(n, TKM_TOKEN_FN_COUNT);
    for (size_t i = 0; i < n; i++) {
        uint8_t h[32];
        tkm_keccak256(h, t[i].signature, strlen(t[i].signature));
        if (memcmp(h, t[i].selector, 4) != 0) fail_msg("%s: selector mismatch", t[i].signature);
        assert_int_equal(t[i].id, i);
        assert_ptr_equal(tkm_token_fn_by_selector(t[i].selector), &t[i]);
        /* the signature's argument list has as many entries as n_args */
        const char *p = strchr(t[i].signature, '(');
        unsigned commas = 0, empty = p[1] == ')';
        for (; *p; p++) commas += *p == ',';
        assert_int_equal(t[i].n_args, empty ? 0 : commas + 1);
        for (size_t j = 0; j < i; j++) assert_memory_not_equal(t[i].selector, t[j].selector, 4);
    }
    /* the widely published ERC-20 selectors (EIP-20 era tooling, etherscan) */
    assert_memory_equal(t[TKM_TOKEN_TRANSFER].selector, "\xa9\x05\x9c\xbb", 4);
    assert_memory_equal(t[TKM_TOKEN_TRANSFER_FROM].selector, "\x23\xb8\x72\xdd", 4);
    assert_memory_equal(t[TKM_TOKEN_APPROVE].selector, "\x09\x5e\xa7\xb3", 4);
    uint8_t unknown[4] = {0xde, 0xad, 0xbe, 0xef};
    assert_null(tkm_token_fn_by_selector(unknown));
}


/* Compare teekm's JSON of a decoded call with the ethers vector. */
static void check_call(const json_t *c) {
    size_t n;
    uint8_t *data = tu_hex(json_string_value(json_object_get(c, "data")), &n);
    tkm_token_call call;
    tkm_rc rc = tkm_token_call_decode(&call, data, n);
    if (tkm_failed(rc)) fail_msg("%s: %s %s", json_string_value(json_object_get(c, "signature")), tkm_err_name(rc.code), tkm_err_detail());
    json_t *out;
    TU_ASSERT_OK(tkm_token_call_to_json(&call, &out));
    assert_string_equal(json_string_value(json_object_get(out, "signature")), json_string_value(json_object_get(c, "signature")));
    assert_string_equal(json_string_value(json_object_get(out, "selector")), json_string_value(json_object_get(c, "selector")));
    assert_string_equal(json_string_value(json_object_get(out, "function")), json_string_value(json_object_get(c, "function")));
    json_t *args = json_object_get(out, "args"), *want = json_object_get(c, "args");
    assert_int_equal(json_array_size(args), json_array_size(want));
    for (size_t i = 0; i < json_array_size(want); i++) {
        json_t *a = json_array_get(args, i);
        assert_string_equal(json_string_value(json_object_get(a, "name")), json_string_value(json_array_get(json_object_get(c, "names"), i)));
        assert_string_equal(json_string_value(json_object_get(a, "type")), json_string_value(json_array_get(json_object_get(c, "types"), i)));
        json_t *got = json_object_get(a, "value"), *w = json_array_get(want, i);
        if (json_is_object(got)) got = json_object_get(got, "text"); /* strings: the vectors hold text */
        if (!json_equal(got, w)) {
            char *g = json_dumps(got, JSON_ENCODE_ANY), *x = json_dumps(w, JSON_ENCODE_ANY);
            fail_msg("%s arg %zu: %s != %s", json_string_value(json_object_get(c, "signature")), i, g, x);
        }
    }
    /* accessors agree with the JSON */
    for (unsigned i = 0; i < call.fn->n_args; i++) {
        const tkm_abi_value *v = &call.args[i];
        if (v->type == TKM_ABI_ADDRESS_ARRAY && v->count) {
            uint8_t a[20];
            TU_ASSERT_OK(tkm_abi_array_address(v, v->count - 1, a));
            char s[43];
            tkm_eth_address_checksum(s, a);
            json_t *arr = json_object_get(json_array_get(args, i), "value");
            assert_string_equal(s, json_string_value(json_array_get(arr, v->count - 1)));
        }
    }
    json_decref(out);
    /* every truncation fails; one extra byte fails */
    for (size_t k = 0; k < n; k++) {
        tkm_rc r2 = tkm_token_call_decode(&call, data, k);
        if (tkm_ok(r2)) fail_msg("truncation to %zu accepted", k);
        assert_null(call.fn);
    }
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, data, n);
    longer[n] = 0;
    TU_ASSERT_RC(tkm_token_call_decode(&call, longer, n + 1), TKM_ERR_TRAILING);
    free(longer);
    free(data);
}

static void test_ethers_encoded_calls(void **state) {
    (void)state;
    json_t *v = tu_load_vector("calldata/ethers_calls.json");
    json_t *calls = json_object_get(v, "calls");
    assert_true(json_array_size(calls) >= TKM_TOKEN_FN_COUNT);
    int seen[TKM_TOKEN_FN_COUNT] = {0};
    for (size_t i = 0; i < json_array_size(calls); i++) {
        json_t *c = json_array_get(calls, i);
        check_call(c);
        uint8_t sel[4];
        tu_hex_exact(sel, 4, json_string_value(json_object_get(c, "selector")));
        const tkm_token_fn *fn = tkm_token_fn_by_selector(sel);
        assert_non_null(fn);
        seen[fn->id] = 1;
    }
    for (int i = 0; i < TKM_TOKEN_FN_COUNT; i++)
        if (!seen[i]) fail_msg("function %d has no ethers vector", i);
    json_decref(v);
}

/* Decode hex calldata; return the code. */
static tkm_err decode_hex(const char *hex) {
    size_t n;
    uint8_t *b = tu_hex(hex, &n);
    tkm_token_call call;
    tkm_rc rc = tkm_token_call_decode(&call, b, n);
    free(b);
    return rc.code;
}

#define W0 "0000000000000000000000000000000000000000000000000000000000000000"
#define ADDR "0000000000000000000000003535353535353535353535353535353535353535"
#define ONE "0000000000000000000000000000000000000000000000000000000000000001"
#define TWO "0000000000000000000000000000000000000000000000000000000000000002"

static void test_strictness(void **state) {
    (void)state;
    /* transfer(address,uint256) */
    assert_int_equal(decode_hex("a9059cbb" ADDR ONE), TKM_OK);
    assert_int_equal(decode_hex(""), TKM_ERR_ABI);
    assert_int_equal(decode_hex("a9059c"), TKM_ERR_ABI);
    assert_int_equal(decode_hex("a9059cbb" ADDR), TKM_ERR_TRUNCATED);
    assert_int_equal(decode_hex("a9059cbb" ADDR ONE "00"), TKM_ERR_TRAILING);
    assert_int_equal(decode_hex("deadbeef" ADDR ONE), TKM_ERR_ABI_UNKNOWN_SELECTOR);
    /* address with a non-zero high byte */
    assert_int_equal(decode_hex("a9059cbb" "0100000000000000000000003535353535353535353535353535353535353535" ONE),
                     TKM_ERR_ABI_PADDING);
    assert_int_equal(decode_hex("a9059cbb" "0000000000000000000000013535353535353535353535353535353535353535" ONE),
                     TKM_ERR_ABI_PADDING);
    /* setAddressFrozen(address,bool): bool 2, bool with high bytes */
    assert_int_equal(decode_hex("c69c09cf" ADDR ONE), TKM_OK);
    assert_int_equal(decode_hex("c69c09cf" ADDR TWO), TKM_ERR_ABI);
    assert_int_equal(decode_hex("c69c09cf" ADDR "0100000000000000000000000000000000000000000000000000000000000001"),
                     TKM_ERR_ABI_PADDING);
    /* pause() takes nothing */
    assert_int_equal(decode_hex("8456cb59"), TKM_OK);
    assert_int_equal(decode_hex("8456cb59" W0), TKM_ERR_TRAILING);
    /* batchTransfer(address[],uint256[]): canonical = offsets 0x40, 0x80 for one element each */
#define OFF40 "0000000000000000000000000000000000000000000000000000000000000040"
#define OFF80 "0000000000000000000000000000000000000000000000000000000000000080"
#define OFFA0 "00000000000000000000000000000000000000000000000000000000000000a0"
#define OFF60 "0000000000000000000000000000000000000000000000000000000000000060"
    assert_int_equal(decode_hex("88d695b2" OFF40 OFF80 ONE ADDR ONE ONE), TKM_OK);
    /* second offset pointing into the first tail (overlap), or with a gap */
    assert_int_equal(decode_hex("88d695b2" OFF40 OFF60 ONE ADDR ONE ONE), TKM_ERR_ABI_OFFSET);
    assert_int_equal(decode_hex("88d695b2" OFF40 OFFA0 ONE ADDR W0 ONE ONE), TKM_ERR_ABI_OFFSET);
    /* first offset not right after the head */
    assert_int_equal(decode_hex("88d695b2" OFF60 OFFA0 W0 ONE ADDR ONE ONE), TKM_ERR_ABI_OFFSET);
    /* offset word with high bytes (aliasing mod 2^256 is refused) */
    assert_int_equal(decode_hex("88d695b2" "1000000000000000000000000000000000000000000000000000000000000040" OFF80 ONE ADDR ONE ONE),
                     TKM_ERR_ABI_OFFSET);
    /* a length far beyond the data */
    assert_int_equal(decode_hex("88d695b2" OFF40 OFF80 "00000000000000000000000000000000000000000000000000000000ffffffff" ADDR ONE ONE),
                     TKM_ERR_ABI_OFFSET);
    assert_int_equal(decode_hex("88d695b2" OFF40 OFF80 "ff00000000000000000000000000000000000000000000000000000000000001" ADDR ONE ONE),
                     TKM_ERR_ABI_OFFSET);
    /* arrays of different lengths: 1 address, 2 amounts */
    assert_int_equal(decode_hex("88d695b2" OFF40 OFF80 ONE ADDR TWO ONE ONE), TKM_ERR_ABI);
    /* an address element with high bytes */
    assert_int_equal(decode_hex("88d695b2" OFF40 OFF80 ONE "ff0000000000000000000000" "3535353535353535353535353535353535353535" ONE ONE),
                     TKM_ERR_ABI_PADDING);
    /* batchSetAddressFrozen(address[],bool[]) with a bool element of 2 */
    assert_int_equal(decode_hex("1a7af379" OFF40 OFF80 ONE ADDR ONE ONE), TKM_OK);
    assert_int_equal(decode_hex("1a7af379" OFF40 OFF80 ONE ADDR ONE TWO), TKM_ERR_ABI);
    /* setName(string): "abc" with zero padding, then with a non-zero padding byte */
    assert_int_equal(decode_hex("c47f0027" "0000000000000000000000000000000000000000000000000000000000000020"
                                "0000000000000000000000000000000000000000000000000000000000000003"
                                "6162630000000000000000000000000000000000000000000000000000000000"),
                     TKM_OK);
    assert_int_equal(decode_hex("c47f0027" "0000000000000000000000000000000000000000000000000000000000000020"
                                "0000000000000000000000000000000000000000000000000000000000000003"
                                "6162630000000000000000000000000000000000000000000000000000000001"),
                     TKM_ERR_ABI_PADDING);
    /* string padding missing */
    assert_int_equal(decode_hex("c47f0027" "0000000000000000000000000000000000000000000000000000000000000020"
                                "0000000000000000000000000000000000000000000000000000000000000003"
                                "616263"),
                     TKM_ERR_ABI_OFFSET);
}

static void test_invalid_utf8_string_gives_hex_only(void **state) {
    (void)state;
    size_t n;
    uint8_t *b = tu_hex("c47f0027" "0000000000000000000000000000000000000000000000000000000000000020"
                        "0000000000000000000000000000000000000000000000000000000000000002"
                        "ff41000000000000000000000000000000000000000000000000000000000000",
                        &n);
    tkm_token_call call;
    TU_ASSERT_OK(tkm_token_call_decode(&call, b, n));
    assert_int_equal(call.args[0].len, 2);
    json_t *out;
    TU_ASSERT_OK(tkm_token_call_to_json(&call, &out));
    json_t *v = json_object_get(json_array_get(json_object_get(out, "args"), 0), "value");
    assert_string_equal(json_string_value(json_object_get(v, "hex")), "0xff41");
    assert_null(json_object_get(v, "text"));
    json_decref(out);
    free(b);
}

static void test_accessor_misuse(void **state) {
    (void)state;
    size_t n;
    uint8_t *b = tu_hex("88d695b2" OFF40 OFF80 ONE ADDR ONE ONE, &n);
    tkm_token_call call;
    TU_ASSERT_OK(tkm_token_call_decode(&call, b, n));
    uint8_t a[20];
    tkm_u256 u;
    TU_ASSERT_OK(tkm_abi_array_address(&call.args[0], 0, a));
    assert_memory_equal(a, "\x35\x35\x35\x35\x35\x35\x35\x35\x35\x35\x35\x35\x35\x35\x35\x35\x35\x35\x35\x35", 20);
    TU_ASSERT_OK(tkm_abi_array_uint(&call.args[1], 0, &u));
    assert_true(u.w[0] == 1);
    TU_CHECK_ILLEGAL(tkm_abi_array_address(&call.args[0], 1, a));
    TU_CHECK_ILLEGAL(tkm_abi_array_uint(&call.args[0], 0, &u));
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selectors_are_keccak_of_signatures),
        cmocka_unit_test(test_ethers_encoded_calls),
        cmocka_unit_test(test_strictness),
        cmocka_unit_test(test_invalid_utf8_string_gives_hex_only),
        cmocka_unit_test(test_accessor_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
