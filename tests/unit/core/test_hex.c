/* Strict hex codec: prefix rules, odd length, non-hex, caps, and agreement with OpenSSL's codec. */
#include "testutil.h"

#include <openssl/crypto.h>
#include <string.h>

static tkm_rc dec(const char *s, uint8_t *out, size_t cap, size_t *n, unsigned flags) {
    return tkm_hex_decode(out, cap, n, s, strlen(s), flags);
}

static void test_prefix_rules(void **state) {
    (void)state;
    uint8_t out[8];
    size_t n;
    TU_ASSERT_OK(dec("0xdeadBEEF", out, sizeof out, &n, TKM_HEX_0X_REQUIRED));
    assert_int_equal(n, 4);
    assert_int_equal(out[0], 0xde);
    assert_int_equal(out[3], 0xef);
    TU_ASSERT_RC(dec("deadbeef", out, sizeof out, &n, TKM_HEX_0X_REQUIRED), TKM_ERR_HEX_PREFIX);
    TU_ASSERT_RC(dec("0xdeadbeef", out, sizeof out, &n, TKM_HEX_0X_FORBIDDEN), TKM_ERR_HEX_PREFIX);
    TU_ASSERT_OK(dec("deadbeef", out, sizeof out, &n, TKM_HEX_0X_OPTIONAL));
    TU_ASSERT_OK(dec("0xdeadbeef", out, sizeof out, &n, TKM_HEX_0X_OPTIONAL));
    /* "0X" is not a prefix: it is two characters, one of them not hex */
    TU_ASSERT_RC(dec("0Xdeadbeef", out, sizeof out, &n, TKM_HEX_0X_OPTIONAL), TKM_ERR_HEX);
    TU_ASSERT_RC(dec("0Xdeadbeef", out, sizeof out, &n, TKM_HEX_0X_REQUIRED), TKM_ERR_HEX_PREFIX);
}

static void test_odd_nonhex_empty(void **state) {
    (void)state;
    uint8_t out[8];
    size_t n = 99;
    TU_ASSERT_RC(dec("0xabc", out, sizeof out, &n, TKM_HEX_0X_REQUIRED), TKM_ERR_HEX_ODD);
    assert_int_equal(n, 0);
    TU_ASSERT_RC(dec("0xabcg", out, sizeof out, &n, TKM_HEX_0X_REQUIRED), TKM_ERR_HEX);
    TU_ASSERT_RC(dec("0x ab", out, sizeof out, &n, TKM_HEX_0X_REQUIRED), TKM_ERR_HEX_ODD);
    TU_ASSERT_RC(dec("0x0 ", out, sizeof out, &n, TKM_HEX_0X_REQUIRED), TKM_ERR_HEX);
    TU_ASSERT_RC(dec("0x", out, sizeof out, &n, TKM_HEX_0X_REQUIRED), TKM_ERR_HEX);
    TU_ASSERT_OK(dec("0x", out, sizeof out, &n, TKM_HEX_0X_REQUIRED | TKM_HEX_EMPTY_OK));
    assert_int_equal(n, 0);
    TU_ASSERT_RC(dec("0x0102030405060708090a", out, sizeof out, &n, TKM_HEX_0X_REQUIRED), TKM_ERR_TOO_LARGE);
    /* every byte value that is not a hex digit is rejected, in either nibble */
    for (int c = 0; c < 256; c++) {
        int is_hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        char s[3] = {'1', (char)c, 0};
        tkm_rc rc = tkm_hex_decode(out, sizeof out, &n, s, 2, TKM_HEX_0X_FORBIDDEN);
        assert_int_equal(rc.code, is_hex ? TKM_OK : TKM_ERR_HEX);
        char t[3] = {(char)c, '0', 0};
        rc = tkm_hex_decode(out, sizeof out, &n, t, 2, TKM_HEX_0X_FORBIDDEN);
        assert_int_equal(rc.code, is_hex ? TKM_OK : TKM_ERR_HEX);
    }
}

static void test_exact(void **state) {
    (void)state;
    uint8_t out[4];
    TU_ASSERT_OK(tkm_hex_decode_exact(out, 4, "0x01020304", 10, TKM_HEX_0X_REQUIRED));
    TU_ASSERT_RC(tkm_hex_decode_exact(out, 4, "0x010203", 8, TKM_HEX_0X_REQUIRED), TKM_ERR_HEX_LENGTH);
    TU_ASSERT_RC(tkm_hex_decode_exact(out, 4, "0x0102030405", 12, TKM_HEX_0X_REQUIRED), TKM_ERR_HEX_LENGTH);
    TU_ASSERT_RC(tkm_hex_decode_exact(out, 4, "0x0102030", 9, TKM_HEX_0X_REQUIRED), TKM_ERR_HEX_ODD);
    /* every failure leaves the output zeroed, a prefix error included */
    TU_ASSERT_OK(tkm_hex_decode_exact(out, 4, "0x01020304", 10, TKM_HEX_0X_REQUIRED));
    TU_ASSERT_RC(tkm_hex_decode_exact(out, 4, "01020304", 8, TKM_HEX_0X_REQUIRED), TKM_ERR_HEX_PREFIX);
    for (int i = 0; i < 4; i++) assert_int_equal(out[i], 0);
}

/* Round trip of random bytes against OpenSSL's independent codec. */
static void test_matches_openssl(void **state) {
    (void)state;
    uint8_t in[64], back[64];
    char enc[TKM_HEX_ENC_LEN(64, 1)];
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof in; i++) in[i] = (uint8_t)(i * 31 + (size_t)round * 7 + 3);
        size_t len = (size_t)round % sizeof in;
        TU_ASSERT_OK(tkm_hex_encode(enc, sizeof enc, in, len, 1));
        char *ref = OPENSSL_buf2hexstr(in, (long)len); /* "AB:CD:..." upper case */
        size_t j = 0;
        for (size_t i = 0; ref[i]; i++) {
            if (ref[i] == ':') continue;
            char c = ref[i];
            if (c >= 'A' && c <= 'F') c = (char)(c - 'A' + 'a');
            assert_int_equal(enc[2 + j], c);
            j++;
        }
        assert_int_equal(j, 2 * len);
        OPENSSL_free(ref);
        size_t n;
        TU_ASSERT_OK(tkm_hex_decode(back, sizeof back, &n, enc, strlen(enc), TKM_HEX_0X_REQUIRED | TKM_HEX_EMPTY_OK));
        assert_int_equal(n, len);
        assert_memory_equal(back, in, len);
    }
}

static void test_encode_buffer_too_small_is_misuse(void **state) {
    (void)state;
    char out[4];
    uint8_t in[2] = {1, 2};
    TU_CHECK_ILLEGAL(tkm_hex_encode(out, sizeof out, in, 2, 1));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_rules),
        cmocka_unit_test(test_odd_nonhex_empty),
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_matches_openssl),
        cmocka_unit_test(test_encode_buffer_too_small_is_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
