/* SHA-2 / HMAC / HKDF wrappers: a NULL buffer with a non-zero length is a caller bug (misuse handler),
 * never an OpenSSL crash. The known answers (RFC 4231, RFC 5869) are in tkm_selftest (test_selftest.c). */
#include "testutil.h"

#include "crypto/crypto.h"

static void test_null_with_length_is_misuse(void **state) {
    (void)state;
    uint8_t out[64], prk[32] = {0};
    static const uint8_t key[4] = {1, 2, 3, 4};
    TU_CHECK_ILLEGAL(tkm_hmac_sha256(out, NULL, 4, "x", 1));
    TU_CHECK_ILLEGAL(tkm_hmac_sha512(out, key, sizeof key, NULL, 1));
    TU_CHECK_ILLEGAL(tkm_sha256(out, NULL, 1));
    tkm_iov v[2] = {{"a", 1}, {NULL, 3}};
    TU_CHECK_ILLEGAL(tkm_sha512_v(out, v, 2));
    TU_CHECK_ILLEGAL(tkm_hkdf_sha256(out, 32, NULL, 1, key, sizeof key, NULL, 0));
    TU_CHECK_ILLEGAL(tkm_hkdf_sha256(out, 32, NULL, 0, NULL, 2, NULL, 0));
    TU_CHECK_ILLEGAL(tkm_hkdf_sha256_expand(out, 32, prk, NULL, 5));
    /* empty inputs given as NULL are fine */
    TU_ASSERT_OK(tkm_hmac_sha256(out, NULL, 0, NULL, 0));
    TU_ASSERT_OK(tkm_hkdf_sha256(out, 32, NULL, 0, NULL, 0, NULL, 0));
    TU_ASSERT_OK(tkm_sha256_v(out, NULL, 0));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_with_length_is_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
