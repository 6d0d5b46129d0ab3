/* RLP: ethereum/tests RLPTests (encode and decode), every invalid case rejected, caps, cursor rules. */
#include "testutil.h"

#include "eth/eth.h"

#include <openssl/bn.h>
#include <string.h>

/* The RLP vectors hold "\u0000": load them with JSON_ALLOW_NUL. */
static json_t *load_rlp_vector(const char *rel) {
    json_error_t e;
    json_t *j = json_load_file(tu_vector_path(rel), JSON_ALLOW_NUL, &e);
    if (!j) fail_msg("cannot load vector %s: %s", rel, e.text);
    return j;
}

/* "#123..." big integers of the vectors as minimal big-endian bytes (OpenSSL as the independent parser). */
static uint8_t *bigint_bytes(const char *dec, size_t *n) {
    BIGNUM *bn = NULL;
    assert_true(BN_dec2bn(&bn, dec) > 0);
    *n = (size_t)BN_num_bytes(bn);
    uint8_t *b = malloc(*n + 1);
    assert_non_null(b);
    BN_bn2bin(bn, b);
    BN_free(bn);
    return b;
}

/* Encode a vector's "in" value with the tkm encoder. */
static void encode_value(tkm_wr *w, const json_t *v) {
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n > 0 && s[0] == '#') {
            size_t bn;
            uint8_t *b = bigint_bytes(s + 1, &bn);
            if (bn <= 32) {
                tkm_u256 u;
                TU_ASSERT_OK(tkm_u256_from_be(&u, b, bn));
                TU_ASSERT_OK(tkm_rlp_put_uint(w, &u));
                assert_int_equal(tkm_rlp_uint_len(&u), tkm_rlp_string_len(b, bn));
            } else {
                TU_ASSERT_OK(tkm_rlp_put_string(w, b, bn));
            }
            free(b);
        } else {
            TU_ASSERT_OK(tkm_rlp_put_string(w, (const uint8_t *)s, n));
        }
    } else if (json_is_integer(v)) {
        uint64_t x = (uint64_t)json_integer_value(v);
        size_t before = w->len;
        TU_ASSERT_OK(tkm_rlp_put_u64(w, x));
        assert_int_equal(w->len - before, tkm_rlp_u64_len(x));
    } else if (json_is_array(v)) {
        tkm_wr inner;
        tkm_wr_init(&inner, 0);
        for (size_t i = 0; i < json_array_size(v); i++) encode_value(&inner, json_array_get(v, i));
        size_t before = w->len;
        TU_ASSERT_OK(tkm_rlp_put_list_header(w, inner.len));
        assert_int_equal(w->len - before, tkm_rlp_header_len(inner.len));
        TU_ASSERT_OK(tkm_wr_put(w, inner.p, inner.len));
        tkm_wr_free(&inner);
    } else {
        fail_msg("unexpected vector value");
    }
}

/* Decode the next item of r and compare it with the vector's "in" value. */
static void check_value(tkm_rd *r, const json_t *v) {
    if (json_is_array(v)) {
        tkm_rd list;
        size_t count;
        TU_ASSERT_OK(tkm_rlp_list(r, &list));
        TU_ASSERT_OK(tkm_rlp_count(&list, 1000, &count));
        assert_int_equal(count, json_array_size(v));
        for (size_t i = 0; i < json_array_size(v); i++) check_value(&list, json_array_get(v, i));
        TU_ASSERT_OK(tkm_rd_done(&list));
        return;
    }
    if (json_is_integer(v)) {
        uint64_t x;
        TU_ASSERT_OK(tkm_rlp_u64(r, &x));
        assert_true(x == (uint64_t)json_integer_value(v));
        return;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > 0 && s[0] == '#') {
        size_t bn;
        uint8_t *b = bigint_bytes(s + 1, &bn);
        tkm_rd copy = *r;
        tkm_u256 u;
        if (bn <= 32) {
            TU_ASSERT_OK(tkm_rlp_uint(r, &u));
            uint8_t be[32], want[32] = {0};
            tkm_u256_to_be32(&u, be);
            memcpy(want + 32 - bn, b, bn);
            assert_memory_equal(be, want, 32);
        } else {
            /* wider than 256 bits: the integer reader refuses it, the string reader sees the bytes */
            TU_ASSERT_RC(tkm_rlp_uint(&copy, &u), TKM_ERR_OVERFLOW);
            const uint8_t *p;
            size_t pn;
            TU_ASSERT_OK(tkm_rlp_string(r, &p, &pn));
            assert_int_equal(pn, bn);
            assert_memory_equal(p, b, bn);
        }
        free(b);
        return;
    }
    const uint8_t *p;
    size_t pn;
    TU_ASSERT_OK(tkm_rlp_string(r, &p, &pn));
    assert_int_equal(pn, n);
    if (n) assert_memory_equal(p, s, n);
}

static void test_rlptest_encode_and_decode(void **state) {
    (void)state;
    json_t *all = load_rlp_vector("rlp/rlptest.json");
    const char *name;
    json_t *c;
    int count = 0;
    json_object_foreach(all, name, c) {
        size_t n;
        uint8_t *want = tu_hex(json_string_value(json_object_get(c, "out")), &n);
        tkm_wr w;
        tkm_wr_init(&w, 0);
        encode_value(&w, json_object_get(c, "in"));
        if (w.len != n || memcmp(w.p, want, n) != 0) fail_msg("%s: encoding differs", name);
        TU_ASSERT_OK(tkm_rlp_check(want, n, 0, 0));
        tkm_rd r;
        tkm_rd_init(&r, want, n);
        check_value(&r, json_object_get(c, "in"));
        TU_ASSERT_OK(tkm_rd_done(&r));
        tkm_wr_free(&w);
        free(want);
        count++;
    }
    assert_int_equal(count, 28);
    json_decref(all);
}

static tkm_err expected_invalid_code(const char *name) {
    if (strncmp(name, "bytesShouldBeSingleByte", 23) == 0) return TKM_ERR_RLP_SINGLE_BYTE;
    if (strncmp(name, "leadingZerosInLongLength", 24) == 0) return TKM_ERR_RLP_LENGTH_ZEROS;
    if (strncmp(name, "nonOptimalLongLength", 20) == 0) return TKM_ERR_RLP_LONG_FORM;
    if (strncmp(name, "lessThan", 8) == 0 || strcmp(name, "emptyEncoding") == 0 ||
        strncmp(name, "int32Overflow", 13) == 0)
        return TKM_ERR_TRUNCATED;
    if (strncmp(name, "wrongSizeList", 13) == 0) return TKM_ERR_RLP_LONG_FORM;
    if (strcmp(name, "incorrectLengthInArray") == 0) return TKM_ERR_RLP_LENGTH_ZEROS;
    return TKM_OK; /* any failure */
}

static void test_invalid_rlp_rejected(void **state) {
    (void)state;
    json_t *all = load_rlp_vector("rlp/invalidRLPTest.json");
    const char *name;
    json_t *c;
    int count = 0;
    json_object_foreach(all, name, c) {
        size_t n;
        uint8_t *in = tu_hex(json_string_value(json_object_get(c, "out")), &n);
        tkm_rc rc = tkm_rlp_check(in, n, 0, 0);
        if (tkm_ok(rc)) fail_msg("%s: accepted", name);
        tkm_err want = expected_invalid_code(name);
        if (want != TKM_OK && rc.code != want)
            fail_msg("%s: got %s, want %s", name, tkm_err_name(rc.code), tkm_err_name(want));
        free(in);
        count++;
    }
    assert_int_equal(count, 26);
    json_decref(all);
}

static void test_canonical_rules_have_distinct_codes(void **state) {
    (void)state;
    static const struct {
        const char *hex;
        tkm_err want;
    } cases[] = {
        {"8100", TKM_ERR_RLP_SINGLE_BYTE},   {"817f", TKM_ERR_RLP_SINGLE_BYTE},
        {"8180", TKM_OK},                    {"b800", TKM_ERR_RLP_LENGTH_ZEROS},
        {"b837" "00", TKM_ERR_RLP_LONG_FORM}, {"f800", TKM_ERR_RLP_LENGTH_ZEROS},
        {"c0c0", TKM_ERR_TRAILING},          {"83616263ff", TKM_ERR_TRAILING},
        {"", TKM_ERR_TRUNCATED},             {"c180", TKM_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        uint8_t *b = tu_hex(cases[i].hex, &n);
        tkm_rc rc = tkm_rlp_check(b, n, 0, 0);
        if (rc.code != cases[i].want)
            fail_msg("%s: got %s want %s", cases[i].hex, tkm_err_name(rc.code), tkm_err_name(cases[i].want));
        free(b);
    }
    /* integers: leading zero, too wide, list instead of string */
    static const struct {
        const char *hex;
        tkm_err want;
    } ints[] = {
        {"00", TKM_ERR_RLP_INT_ZEROS},  {"820001", TKM_ERR_RLP_INT_ZEROS}, {"80", TKM_OK}, {"7f", TKM_OK},
        {"89010000000000000000", TKM_ERR_OVERFLOW}, {"88ffffffffffffffff", TKM_OK}, {"c0", TKM_ERR_RLP_KIND},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        size_t n;
        uint8_t *b = tu_hex(ints[i].hex, &n);
        tkm_rd r;
        uint64_t v = 99;
        tkm_rd_init(&r, b, n);
        tkm_rc rc = tkm_rlp_u64(&r, &v);
        if (rc.code != ints[i].want)
            fail_msg("%s: got %s want %s", ints[i].hex, tkm_err_name(rc.code), tkm_err_name(ints[i].want));
        if (tkm_failed(rc)) {
            assert_int_equal(v, 0);
            assert_int_equal(r.off, 0); /* cursor unmoved */
            assert_int_equal(r.err, rc.code); /* sticky */
        }
        free(b);
    }
    /* a string where a list is expected, and the reverse */
    uint8_t s[] = {0x83, 'a', 'b', 'c'}, l[] = {0xc0};
    tkm_rd r, sub;
    const uint8_t *p;
    size_t pn;
    tkm_rd_init(&r, s, sizeof s);
    TU_ASSERT_RC(tkm_rlp_list(&r, &sub), TKM_ERR_RLP_KIND);
    assert_int_equal(r.off, 0);
    tkm_rd_init(&r, l, sizeof l);
    TU_ASSERT_RC(tkm_rlp_string(&r, &p, &pn), TKM_ERR_RLP_KIND);
    assert_null(p);
}

static void test_depth_and_item_caps(void **state) {
    (void)state;
    /* 20 nested empty lists: c0 wrapped 19 times in c1.., each level one byte longer */
    uint8_t buf[64];
    size_t n = 0;
    for (int i = 0; i < 20; i++) buf[n++] = (uint8_t)(0xc0 + 19 - i);
    TU_ASSERT_OK(tkm_rlp_check(buf, n, 20, 0));
    TU_ASSERT_RC(tkm_rlp_check(buf, n, 19, 0), TKM_ERR_RLP_DEPTH);
    TU_ASSERT_RC(tkm_rlp_check(buf, n, 0, 0), TKM_ERR_RLP_DEPTH); /* default 16 */
    uint8_t items[] = {0xc3, 0x01, 0x02, 0x03};
    TU_ASSERT_OK(tkm_rlp_check(items, sizeof items, 0, 4));
    TU_ASSERT_RC(tkm_rlp_check(items, sizeof items, 0, 3), TKM_ERR_RLP_ITEMS);
    tkm_rd r, list;
    size_t c;
    tkm_rd_init(&r, items, sizeof items);
    TU_ASSERT_OK(tkm_rlp_list(&r, &list));
    TU_ASSERT_OK(tkm_rlp_count(&list, 3, &c));
    assert_int_equal(c, 3);
    TU_ASSERT_RC(tkm_rlp_count(&list, 2, &c), TKM_ERR_RLP_ITEMS);
}

static void test_every_truncation_of_a_nested_document(void **state) {
    (void)state;
    size_t n;
    uint8_t *b = tu_hex("f90200cf84617364668471776572847a786376", &n); /* prefix of longList2 */
    json_t *all = load_rlp_vector("rlp/rlptest.json");
    free(b);
    uint8_t *doc = tu_hex(json_string_value(json_object_get(json_object_get(all, "longList2"), "out")), &n);
    TU_ASSERT_OK(tkm_rlp_check(doc, n, 0, 0));
    for (size_t k = 0; k < n; k++) {
        tkm_rc rc = tkm_rlp_check(doc, k, 0, 0);
        if (tkm_ok(rc)) fail_msg("prefix of %zu bytes accepted", k);
    }
    free(doc);
    json_decref(all);
}

static void test_encoder_lengths_at_the_55_byte_boundary(void **state) {
    (void)state;
    uint8_t data[300];
    memset(data, 0xab, sizeof data);
    size_t sizes[] = {0, 1, 55, 56, 255, 256};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tkm_wr w;
        tkm_wr_init(&w, 0);
        TU_ASSERT_OK(tkm_rlp_put_string(&w, data, sizes[i]));
        assert_int_equal(w.len, tkm_rlp_string_len(data, sizes[i]));
        TU_ASSERT_OK(tkm_rlp_check(w.p, w.len, 0, 0));
        tkm_rd r;
        const uint8_t *p;
        size_t pn;
        tkm_rd_init(&r, w.p, w.len);
        TU_ASSERT_OK(tkm_rlp_string(&r, &p, &pn));
        assert_int_equal(pn, sizes[i]);
        TU_ASSERT_OK(tkm_rd_done(&r));
        tkm_wr_free(&w);
    }
    /* 56 bytes: b8 38; 55 bytes: b7 */
    tkm_wr w;
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_rlp_put_string(&w, data, 56));
    assert_int_equal(w.p[0], 0xb8);
    assert_int_equal(w.p[1], 56);
    tkm_wr_reset(&w);
    TU_ASSERT_OK(tkm_rlp_put_list_header(&w, 55));
    assert_int_equal(w.p[0], 0xf7);
    tkm_wr_free(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rlptest_encode_and_decode),
        cmocka_unit_test(test_invalid_rlp_rejected),
        cmocka_unit_test(test_canonical_rules_have_distinct_codes),
        cmocka_unit_test(test_depth_and_item_caps),
        cmocka_unit_test(test_every_truncation_of_a_nested_document),
        cmocka_unit_test(test_encoder_lengths_at_the_55_byte_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
