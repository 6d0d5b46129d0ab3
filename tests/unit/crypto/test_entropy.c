/* Entropy health tests: a healthy source passes; stuck and biased sources are latched off,
 * and key generation then refuses to run. */
#include "testutil.h"

#include "crypto/crypto.h"

#include <string.h>

static int stuck_source(uint8_t *out, size_t n) {
    memset(out, 0x42, n);
    return 0;
}

/* Mostly fine, but one value far too frequent: trips the adaptive proportion test only. */
static int biased_source(uint8_t *out, size_t n) {
    static uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        uint8_t b = (uint8_t)(x >> 16);
        /* every 16th byte forced to the window's likely first value, never 5 in a row */
        out[i] = (i % 16 == 0) ? 0x00 : (b == 0 ? 1 : b);
    }
    return 0;
}

static int failing_source(uint8_t *out, size_t n) {
    (void)out;
    (void)n;
    return -1;
}

static void test_real_source_passes(void **state) {
    (void)state;
    tkm_entropy_set_source_for_testing(NULL);
    TU_ASSERT_OK(tkm_entropy_init());
    uint8_t a[32], b[32];
    TU_ASSERT_OK(tkm_entropy_bytes(a, sizeof a));
    TU_ASSERT_OK(tkm_entropy_bytes(b, sizeof b));
    assert_memory_not_equal(a, b, 32);
}

static void test_repetition_count_test(void **state) {
    (void)state;
    uint8_t s[TKM_ENTROPY_APT_WINDOW];
    for (size_t i = 0; i < sizeof s; i++) s[i] = (uint8_t)(i * 7 + 1);
    TU_ASSERT_OK(tkm_entropy_health_check(s, sizeof s));
    memset(s + 100, 0xaa, TKM_ENTROPY_RCT_CUTOFF - 1);
    s[99] = 0x11;
    s[100 + TKM_ENTROPY_RCT_CUTOFF - 1] = 0x12;
    TU_ASSERT_OK(tkm_entropy_health_check(s, sizeof s)); /* a run of C-1 is fine */
    memset(s + 100, 0xaa, TKM_ENTROPY_RCT_CUTOFF);
    TU_ASSERT_RC(tkm_entropy_health_check(s, sizeof s), TKM_ERR_ENTROPY);
}

static void test_adaptive_proportion_test(void **state) {
    (void)state;
    uint8_t s[TKM_ENTROPY_APT_WINDOW];
    biased_source(s, sizeof s);
    TU_ASSERT_RC(tkm_entropy_health_check(s, sizeof s), TKM_ERR_ENTROPY);
    assert_non_null(strstr(tkm_err_detail(), "adaptive proportion"));
}

static void test_failed_source_latches_and_blocks_keygen(void **state) {
    (void)state;
    tkm_entropy_source_fn bad[] = {stuck_source, biased_source, failing_source};
    for (size_t i = 0; i < 3; i++) {
        tkm_entropy_set_source_for_testing(bad[i]);
        uint8_t out[16];
        TU_ASSERT_RC(tkm_entropy_bytes(out, sizeof out), TKM_ERR_ENTROPY);
        tkm_secret *sk = NULL;
        TU_ASSERT_RC(tkm_secp_keygen(&sk), TKM_ERR_ENTROPY);
        assert_null(sk);
        /* latched: still refused on the next call */
        TU_ASSERT_RC(tkm_entropy_init(), TKM_ERR_ENTROPY);
    }
    tkm_entropy_set_source_for_testing(NULL);
    TU_ASSERT_OK(tkm_entropy_init());
}

int main(void) {
    /* create the secp context while the real source is in place */
    if (tkm_failed(tkm_secp_init())) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_source_passes),
        cmocka_unit_test(test_repetition_count_test),
        cmocka_unit_test(test_adaptive_proportion_test),
        cmocka_unit_test(test_failed_source_latches_and_blocks_keygen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
