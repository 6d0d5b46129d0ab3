/* Strict JSON: duplicates, depth, size, trailing data, typed getters, RFC 8785 canonical form. */
#include "testutil.h"

#include <string.h>

static tkm_rc load(const char *s, json_t **j) { return tkm_json_load(j, (const uint8_t *)s, strlen(s), NULL); }

static void test_rejects_duplicates_trailing_and_bad(void **state) {
    (void)state;
    json_t *j = NULL;
    TU_ASSERT_RC(load("{\"a\":1,\"a\":2}", &j), TKM_ERR_JSON_DUPLICATE);
    assert_null(j);
    TU_ASSERT_RC(load("{\"a\":{\"b\":1,\"b\":1}}", &j), TKM_ERR_JSON_DUPLICATE);
    TU_ASSERT_RC(load("{\"a\":1} x", &j), TKM_ERR_JSON);
    TU_ASSERT_RC(load("{\"a\":1}{}", &j), TKM_ERR_JSON);
    TU_ASSERT_RC(load("{'a':1}", &j), TKM_ERR_JSON);
    TU_ASSERT_RC(load("{\"a\":\"\\u0000\"}", &j), TKM_ERR_JSON);
    TU_ASSERT_RC(load("\"\xff\"", &j), TKM_ERR_JSON);
    TU_ASSERT_RC(load("", &j), TKM_ERR_JSON);
    TU_ASSERT_OK(load("{\"a\":[1,2,{\"b\":null}]}", &j));
    json_decref(j);
}

static void test_depth_and_size_limits(void **state) {
    (void)state;
    char deep[200];
    json_t *j = NULL;
    size_t n = 0;
    for (int i = 0; i < 33; i++) deep[n++] = '[';
    for (int i = 0; i < 33; i++) deep[n++] = ']';
    deep[n] = 0;
    TU_ASSERT_RC(load(deep, &j), TKM_ERR_JSON_DEPTH);
    /* brackets inside strings do not count */
    TU_ASSERT_OK(load("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[[[[[[[[[[[[\"}", &j));
    json_decref(j);
    tkm_json_limits lim = {.max_bytes = 10, .max_depth = 0};
    TU_ASSERT_RC(tkm_json_load(&j, (const uint8_t *)"{\"abcdefgh\":1}", 14, &lim), TKM_ERR_JSON_SIZE);
    lim.max_bytes = 0;
    lim.max_depth = 2;
    TU_ASSERT_RC(tkm_json_load(&j, (const uint8_t *)"[[[1]]]", 7, &lim), TKM_ERR_JSON_DEPTH);
    TU_ASSERT_OK(tkm_json_load(&j, (const uint8_t *)"[[1]]", 5, &lim));
    json_decref(j);
}

static void test_quantities_must_be_hex_strings(void **state) {
    (void)state;
    json_t *j;
    TU_ASSERT_OK(load("{\"n\":5,\"q\":\"0x5\",\"z\":\"0x05\",\"neg\":\"-0x5\",\"big\":\"0x10000000000000000\"}", &j));
    tkm_u256 v;
    uint64_t u;
    int present;
    TU_ASSERT_RC(tkm_json_quantity(j, "tx", "n", 1, &v, &present), TKM_ERR_QUANTITY);
    assert_non_null(strstr(tkm_err_detail(), "tx.n"));
    assert_non_null(strstr(tkm_err_detail(), "not a JSON number"));
    TU_ASSERT_OK(tkm_json_quantity(j, "tx", "q", 1, &v, &present));
    assert_int_equal(present, 1);
    assert_true(v.w[0] == 5);
    TU_ASSERT_RC(tkm_json_quantity(j, "tx", "z", 1, &v, &present), TKM_ERR_QUANTITY);
    TU_ASSERT_RC(tkm_json_quantity(j, "tx", "neg", 1, &v, &present), TKM_ERR_QUANTITY);
    TU_ASSERT_RC(tkm_json_quantity_u64(j, "tx", "big", 1, &u, &present), TKM_ERR_RANGE);
    TU_ASSERT_RC(tkm_json_quantity(j, "tx", "missing", 1, &v, &present), TKM_ERR_JSON_MISSING);
    TU_ASSERT_OK(tkm_json_quantity(j, "tx", "missing", 0, &v, &present));
    assert_int_equal(present, 0);
    json_decref(j);
}

static void test_fields_and_types(void **state) {
    (void)state;
    json_t *j;
    TU_ASSERT_OK(load("{\"s\":\"x\",\"b\":true,\"i\":7,\"h\":\"0x0102\",\"e\":\"0x\",\"bad\":\"0x0g\"}", &j));
    static const char *const allowed[] = {"s", "b", "i", "h", "e", NULL};
    TU_ASSERT_RC(tkm_json_check_fields(j, "doc", allowed), TKM_ERR_JSON_UNKNOWN_FIELD);
    assert_non_null(strstr(tkm_err_detail(), "doc.bad"));
    const char *s;
    size_t sl;
    int b, present;
    int64_t i;
    TU_ASSERT_OK(tkm_json_str(j, "", "s", 1, &s, &sl));
    assert_string_equal(s, "x");
    TU_ASSERT_RC(tkm_json_str(j, "", "b", 1, &s, &sl), TKM_ERR_JSON_TYPE);
    TU_ASSERT_OK(tkm_json_bool(j, "", "b", 1, &b, &present));
    assert_true(b);
    TU_ASSERT_OK(tkm_json_int(j, "", "i", 1, 0, 10, &i, &present));
    assert_int_equal(i, 7);
    TU_ASSERT_RC(tkm_json_int(j, "", "i", 1, 0, 5, &i, &present), TKM_ERR_RANGE);
    uint8_t *bytes;
    size_t bl;
    TU_ASSERT_OK(tkm_json_hexbytes(j, "", "h", 1, 16, &bytes, &bl, &present));
    assert_int_equal(bl, 2);
    free(bytes);
    TU_ASSERT_OK(tkm_json_hexbytes(j, "", "e", 1, 16, &bytes, &bl, &present));
    assert_int_equal(bl, 0);
    assert_int_equal(present, 1);
    TU_ASSERT_RC(tkm_json_hexbytes(j, "", "bad", 1, 16, &bytes, &bl, &present), TKM_ERR_HEX);
    TU_ASSERT_RC(tkm_json_hexbytes(j, "", "h", 1, 1, &bytes, &bl, &present), TKM_ERR_TOO_LARGE);
    uint8_t fixed[3];
    TU_ASSERT_OK(tkm_json_hexfixed(j, "", "h", 1, fixed, 2, &present));
    TU_ASSERT_RC(tkm_json_hexfixed(j, "", "h", 1, fixed, 3, NULL), TKM_ERR_HEX_LENGTH);
    json_decref(j);
}

static void canon_eq(const char *in, const char *want) {
    json_t *j;
    TU_ASSERT_OK(load(in, &j));
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_json_canonical(j, &w));
    TU_ASSERT_OK(tkm_wr_nul(&w));
    assert_string_equal((char *)w.p, want);
    tkm_wr_free(&w);
    json_decref(j);
}

static void test_canonical_rfc8785(void **state) {
    (void)state;
    /* RFC 8785 §3.2.3 sorting example (keys compared as UTF-16 code units). */
    canon_eq("{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\","
             "\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\",\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}",
             "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\",\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
             "\"\xe2\x82\xac\":\"Euro Sign\",\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\",\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
    /* RFC 8785 §3.2.2.2 string escaping: only the mandatory escapes, the rest literal. */
    canon_eq("[\"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\"]",
             "[\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"]");
    /* empty containers (fuzz_json found qsort(NULL, 0) here) */
    canon_eq("{ }", "{}");
    canon_eq("[{},[],{\"a\":{}}]", "[{},[],{\"a\":{}}]");
    canon_eq("{ \"b\" : [ true , false , null ] , \"a\" : { \"d\" : 1 , \"c\" : -2 } }",
             "{\"a\":{\"c\":-2,\"d\":1},\"b\":[true,false,null]}");
    json_t *j;
    TU_ASSERT_OK(load("{\"x\":1.5}", &j));
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_RC(tkm_json_canonical(j, &w), TKM_ERR_JSON_TYPE);
    tkm_wr_free(&w);
    json_decref(j);
}

static void test_hex_string(void **state) {
    (void)state;
    static const uint8_t b[] = {0x00, 0xab, 0xcd, 0xef, 0x10};
    json_t *j = tkm_json_hex_new(b, sizeof b);
    assert_true(json_is_string(j));
    assert_string_equal(json_string_value(j), "0x00abcdef10");
    json_decref(j);
    j = tkm_json_hex_new(NULL, 0);
    assert_string_equal(json_string_value(j), "0x");
    json_decref(j);
}

int main(void) {
    tkm_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects_duplicates_trailing_and_bad),
        cmocka_unit_test(test_depth_and_size_limits),
        cmocka_unit_test(test_quantities_must_be_hex_strings),
        cmocka_unit_test(test_fields_and_types),
        cmocka_unit_test(test_canonical_rfc8785),
        cmocka_unit_test(test_hex_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
