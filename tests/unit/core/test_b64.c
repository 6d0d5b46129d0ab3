/* Strict base64: the RFC 4648 §10 vectors, every kind of malformed text, caps, and agreement with OpenSSL's encoder. */
#include "testutil.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

static tkm_rc dec(const char *s, uint8_t *out, size_t cap, size_t *n, unsigned flags) {
    return tkm_b64_decode(out, cap, n, s, strlen(s), flags);
}

static void test_rfc4648_vectors(void **state) {
    (void)state;
    static const char *const v[][2] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                       {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                       {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t out[16];
        size_t n = 99;
        TU_ASSERT_OK(dec(v[i][1], out, sizeof out, &n, TKM_B64_STRICT));
        assert_int_equal(n, strlen(v[i][0]));
        assert_memory_equal(out, v[i][0], n);
    }
}

static void test_malformed(void **state) {
    (void)state;
    static const char *const bad[] = {
        "Zg",       /* padding missing */
        "Zg=",      /* padding short */
        "Zg===",    /* too much padding */
        "Z===",     /* one digit in the last group */
        "Zm9v=",    /* padding after a full group */
        "Zg==Zg==", /* data after padding */
        "Zh==",     /* non-zero bits after the last byte (canonical is Zg==) */
        "Zm9=",     /* the same for two bytes (canonical is Zm8=) */
        "Zm9v\n",   /* white space only with TKM_B64_SKIP_WS */
        "Zm-v",     /* base64url alphabet is not base64 */
        "Zm_v",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[16];
        size_t n = 99;
        TU_ASSERT_RC(dec(bad[i], out, sizeof out, &n, TKM_B64_STRICT), TKM_ERR_BASE64);
        assert_int_equal(n, 0);
    }
    /* an embedded NUL is a character outside the alphabet, not the end of the text */
    uint8_t out[8];
    size_t n;
    TU_ASSERT_RC(tkm_b64_decode(out, sizeof out, &n, "Zg\0=", 4, TKM_B64_STRICT), TKM_ERR_BASE64);
}

static void test_white_space_and_caps(void **state) {
    (void)state;
    uint8_t out[8];
    size_t n;
    TU_ASSERT_OK(dec(" Zm9v\r\nYm\tFy \n", out, sizeof out, &n, TKM_B64_SKIP_WS));
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);
    TU_ASSERT_OK(dec("Zm9vYg=\n=", out, sizeof out, &n, TKM_B64_SKIP_WS)); /* PEM may break anywhere */
    assert_int_equal(n, 4);
    TU_ASSERT_RC(dec("Zm9v\fYmFy", out, sizeof out, &n, TKM_B64_SKIP_WS), TKM_ERR_BASE64); /* not PEM's white space */
    TU_ASSERT_RC(dec("Zm9vYmFy", out, 5, &n, TKM_B64_STRICT), TKM_ERR_TOO_LARGE);
    TU_ASSERT_RC(dec("Zm9vYmE=", out, 4, &n, TKM_B64_STRICT), TKM_ERR_TOO_LARGE);
    TU_ASSERT_OK(dec("Zm9vYmE=", out, 5, &n, TKM_B64_STRICT));
    uint8_t *a = NULL;
    TU_ASSERT_RC(tkm_b64_decode_alloc(&a, &n, "", 0, TKM_B64_STRICT), TKM_ERR_BASE64);
    assert_null(a);
}

/* Random byte strings encoded by OpenSSL decode back to themselves, with and without PEM line breaks. */
static void test_matches_openssl(void **state) {
    (void)state;
    for (int len = 0; len < 200; len++) {
        uint8_t in[200], out[200];
        unsigned char enc[4 * 70 + 8], wrapped[sizeof enc * 2];
        assert_int_equal(RAND_bytes(in, len > 0 ? len : 1), 1);
        int el = EVP_EncodeBlock(enc, in, len);
        size_t n = 99, w = 0;
        TU_ASSERT_OK(tkm_b64_decode(out, sizeof out, &n, (const char *)enc, (size_t)el, TKM_B64_STRICT));
        assert_int_equal(n, len);
        if (len) assert_memory_equal(out, in, (size_t)len);
        for (int i = 0; i < el; i++) { /* 64-character lines, as PEM writes them */
            wrapped[w++] = enc[i];
            if (i % 64 == 63) wrapped[w++] = '\n';
        }
        TU_ASSERT_OK(tkm_b64_decode(out, sizeof out, &n, (const char *)wrapped, w, TKM_B64_SKIP_WS));
        assert_int_equal(n, len);
        if (len) assert_memory_equal(out, in, (size_t)len);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_white_space_and_caps),
        cmocka_unit_test(test_matches_openssl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
