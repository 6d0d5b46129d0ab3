/* tkm_u256: strict parsers and arithmetic, checked against OpenSSL BIGNUM as the oracle. */
#include "testutil.h"

#include <openssl/bn.h>
#include <string.h>

#define MAX_DEC "115792089237316195423570985008687907853269984665640564039457584007913129639935"

static void test_quantity_rules(void **state) {
    (void)state;
    tkm_u256 v;
    TU_ASSERT_OK(tkm_u256_from_quantity(&v, "0x0", 3));
    assert_true(tkm_u256_is_zero(&v));
    TU_ASSERT_OK(tkm_u256_from_quantity(&v, "0x1aF", 5));
    assert_true(v.w[0] == 0x1af);
    TU_ASSERT_RC(tkm_u256_from_quantity(&v, "0x", 2), TKM_ERR_QUANTITY);
    TU_ASSERT_RC(tkm_u256_from_quantity(&v, "0x01", 4), TKM_ERR_QUANTITY);
    TU_ASSERT_RC(tkm_u256_from_quantity(&v, "0x00", 4), TKM_ERR_QUANTITY);
    TU_ASSERT_RC(tkm_u256_from_quantity(&v, "12", 2), TKM_ERR_QUANTITY);
    TU_ASSERT_RC(tkm_u256_from_quantity(&v, "-0x1", 4), TKM_ERR_QUANTITY);
    TU_ASSERT_RC(tkm_u256_from_quantity(&v, "0x1g", 4), TKM_ERR_QUANTITY);
    const char *max = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    TU_ASSERT_OK(tkm_u256_from_quantity(&v, max, strlen(max)));
    char dec[TKM_U256_DEC_MAX + 1];
    tkm_u256_to_dec(&v, dec);
    assert_string_equal(dec, MAX_DEC);
    const char *over = "0x10000000000000000000000000000000000000000000000000000000000000000";
    TU_ASSERT_RC(tkm_u256_from_quantity(&v, over, strlen(over)), TKM_ERR_OVERFLOW);
}

static void test_decimal_and_units(void **state) {
    (void)state;
    tkm_u256 v;
    char out[82];
    TU_ASSERT_OK(tkm_u256_from_dec(&v, MAX_DEC, strlen(MAX_DEC)));
    TU_ASSERT_RC(tkm_u256_from_dec(&v, "115792089237316195423570985008687907853269984665640564039457584007913129639936", 78), TKM_ERR_OVERFLOW);
    TU_ASSERT_RC(tkm_u256_from_dec(&v, "01", 2), TKM_ERR_DECIMAL);
    TU_ASSERT_RC(tkm_u256_from_dec(&v, "-1", 2), TKM_ERR_DECIMAL);
    TU_ASSERT_RC(tkm_u256_from_dec(&v, "", 0), TKM_ERR_DECIMAL);
    TU_ASSERT_OK(tkm_u256_from_units(&v, "1.25", 4, 6));
    assert_true(v.w[0] == 1250000);
    tkm_u256_to_units(&v, 6, out);
    assert_string_equal(out, "1.25");
    TU_ASSERT_OK(tkm_u256_from_units(&v, "0.000001", 8, 6));
    assert_true(v.w[0] == 1);
    TU_ASSERT_RC(tkm_u256_from_units(&v, "0.0000001", 9, 6), TKM_ERR_DECIMAL);
    TU_ASSERT_RC(tkm_u256_from_units(&v, "1.", 2, 6), TKM_ERR_DECIMAL);
    TU_ASSERT_RC(tkm_u256_from_units(&v, ".5", 2, 6), TKM_ERR_DECIMAL);
    TU_ASSERT_RC(tkm_u256_from_units(&v, "1e3", 3, 6), TKM_ERR_DECIMAL);
    TU_ASSERT_RC(tkm_u256_from_units(&v, "1.2.3", 5, 6), TKM_ERR_DECIMAL);
    TU_ASSERT_OK(tkm_u256_from_units(&v, "1000000", 7, 18));
    tkm_u256_to_dec(&v, out);
    assert_string_equal(out, "1000000000000000000000000");
    tkm_u256_to_units(&v, 18, out);
    assert_string_equal(out, "1000000");
    v = tkm_u256_from_u64(5);
    tkm_u256_to_units(&v, 18, out);
    assert_string_equal(out, "0.000000000000000005");
}

static void bn_to_u256(tkm_u256 *v, const BIGNUM *bn) {
    uint8_t be[32];
    assert_int_equal(BN_bn2binpad(bn, be, 32), 32);
    tkm_u256_from_be32(v, be);
}

/* Random operands: add/sub/mul/quantity/decimal against BIGNUM. */
static void test_against_bignum(void **state) {
    (void)state;
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *a = BN_new(), *b = BN_new(), *r = BN_new(), *lim = BN_new(), *m = BN_new();
    BN_set_bit(lim, 256);
    for (int i = 0; i < 2000; i++) {
        int bits_a = 1 + (i * 37) % 256, bits_b = 1 + (i * 91) % 256;
        BN_rand(a, bits_a, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
        BN_rand(b, bits_b, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
        tkm_u256 ua, ub, ur, want;
        bn_to_u256(&ua, a);
        bn_to_u256(&ub, b);
        /* add */
        BN_add(r, a, b);
        tkm_rc rc = tkm_u256_add(&ur, &ua, &ub);
        if (BN_cmp(r, lim) >= 0)
            TU_ASSERT_RC(rc, TKM_ERR_OVERFLOW);
        else {
            TU_ASSERT_OK(rc);
            bn_to_u256(&want, r);
            assert_int_equal(tkm_u256_cmp(&ur, &want), 0);
        }
        /* sub */
        rc = tkm_u256_sub(&ur, &ua, &ub);
        if (BN_cmp(a, b) < 0)
            TU_ASSERT_RC(rc, TKM_ERR_OVERFLOW);
        else {
            TU_ASSERT_OK(rc);
            BN_sub(r, a, b);
            bn_to_u256(&want, r);
            assert_int_equal(tkm_u256_cmp(&ur, &want), 0);
        }
        assert_int_equal(tkm_u256_cmp(&ua, &ub), BN_cmp(a, b) < 0 ? -1 : BN_cmp(a, b) > 0 ? 1 : 0);
        /* mul by a 64-bit word */
        uint64_t k = 0x9e3779b97f4a7c15ULL >> (i % 64);
        BN_set_word(m, k);
        BN_mul(r, a, m, ctx);
        rc = tkm_u256_mul_u64(&ur, &ua, k);
        if (BN_cmp(r, lim) >= 0)
            TU_ASSERT_RC(rc, TKM_ERR_OVERFLOW);
        else {
            TU_ASSERT_OK(rc);
            bn_to_u256(&want, r);
            assert_int_equal(tkm_u256_cmp(&ur, &want), 0);
        }
        /* printers and parsers */
        char *dec = BN_bn2dec(a), *hex = BN_bn2hex(a);
        char mine[TKM_U256_DEC_MAX + 1], q[67];
        tkm_u256_to_dec(&ua, mine);
        assert_string_equal(mine, dec);
        tkm_u256_to_quantity(&ua, q);
        /* BN_bn2hex is upper case, may have a leading zero nibble, "0" for zero */
        const char *h = hex;
        while (h[0] == '0' && h[1]) h++;
        assert_int_equal(strlen(q + 2), strlen(h));
        for (size_t j = 0; h[j]; j++) assert_int_equal(q[2 + j], (h[j] >= 'A' && h[j] <= 'F') ? h[j] + 32 : h[j]);
        tkm_u256 back;
        TU_ASSERT_OK(tkm_u256_from_quantity(&back, q, strlen(q)));
        assert_int_equal(tkm_u256_cmp(&back, &ua), 0);
        TU_ASSERT_OK(tkm_u256_from_dec(&back, dec, strlen(dec)));
        assert_int_equal(tkm_u256_cmp(&back, &ua), 0);
        assert_int_equal(tkm_u256_bits(&ua), BN_num_bits(a));
        OPENSSL_free(dec);
        OPENSSL_free(hex);
    }
    BN_free(a); BN_free(b); BN_free(r); BN_free(lim); BN_free(m);
    BN_CTX_free(ctx);
}

static void test_be_min(void **state) {
    (void)state;
    tkm_u256 v = tkm_u256_from_u64(0x0102);
    uint8_t out[32];
    size_t n;
    tkm_u256_to_be_min(&v, out, &n);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 1);
    v = tkm_u256_zero();
    tkm_u256_to_be_min(&v, out, &n);
    assert_int_equal(n, 0);
    uint8_t big[33] = {0};
    TU_ASSERT_RC(tkm_u256_from_be(&v, big, 33), TKM_ERR_OVERFLOW);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantity_rules),
        cmocka_unit_test(test_decimal_and_units),
        cmocka_unit_test(test_against_bignum),
        cmocka_unit_test(test_be_min),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
