/* TKM_OSSL_FAIL: OpenSSL's error queue becomes one teekm code, a detail naming the operation and
 * OpenSSL's reason, the caller's file:line, and an empty queue. */
#include "testutil.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <string.h>

#include "crypto/crypto.h"

static void test_drains_the_queue(void **state) {
    (void)state;
    static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01};
    const unsigned char *p = junk;
    X509 *x = d2i_X509(NULL, &p, (long)sizeof junk); /* fails and queues OpenSSL errors */
    assert_null(x);
    assert_int_not_equal(ERR_peek_error(), 0);
    tkm_err_detail_clear();
    TU_ASSERT_RC(TKM_OSSL_FAIL(TKM_ERR_X509, "parse certificate"), TKM_ERR_X509);
    assert_int_equal(ERR_peek_error(), 0); /* nothing left for an unrelated later call */
    const char *d = tkm_err_detail();
    assert_int_equal(strncmp(d, "parse certificate: error:", 25), 0);
    assert_non_null(strstr(tkm_err_where(), "test_ossl.c"));
}

static void test_empty_queue(void **state) {
    (void)state;
    ERR_clear_error();
    TU_ASSERT_RC(TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "nothing queued"), TKM_ERR_CRYPTO);
    assert_string_equal(tkm_err_detail(), "nothing queued");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drains_the_queue),
        cmocka_unit_test(test_empty_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
