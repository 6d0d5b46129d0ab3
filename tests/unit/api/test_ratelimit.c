/* Token buckets driven by a fake clock. */
#include "testutil.h"

#include <string.h>

#include "api/api.h"

#define MS 1000000ull

static void test_burst_then_refill(void **state) {
    (void)state;
    tkm_ratelimit *rl = NULL;
    TU_ASSERT_OK(tkm_ratelimit_new(&rl, 10.0, 5.0, 64));
    const uint8_t a[] = "client-a", b[] = "client-b";
    uint64_t t = 1000 * MS, retry = 0;
    for (int i = 0; i < 5; i++) assert_int_equal(tkm_ratelimit_take(rl, a, sizeof a, 1, t, &retry), 1);
    assert_int_equal(tkm_ratelimit_take(rl, a, sizeof a, 1, t, &retry), 0);
    assert_true(retry >= 100 && retry <= 101); /* one token at 10/s */
    /* another client is independent */
    assert_int_equal(tkm_ratelimit_take(rl, b, sizeof b, 1, t, &retry), 1);
    /* 100 ms later exactly one token is back */
    t += 100 * MS;
    assert_int_equal(tkm_ratelimit_take(rl, a, sizeof a, 1, t, &retry), 1);
    assert_int_equal(tkm_ratelimit_take(rl, a, sizeof a, 1, t, &retry), 0);
    /* never more than burst after a long pause */
    t += 60000 * MS;
    for (int i = 0; i < 5; i++) assert_int_equal(tkm_ratelimit_take(rl, a, sizeof a, 1, t, NULL), 1);
    assert_int_equal(tkm_ratelimit_take(rl, a, sizeof a, 1, t, NULL), 0);
    /* a cost above the burst never fits */
    t += 60000 * MS;
    assert_int_equal(tkm_ratelimit_take(rl, b, sizeof b, 6, t, &retry), 0);
    assert_int_equal(tkm_ratelimit_take(rl, b, sizeof b, 5, t, &retry), 1);
    /* time going backwards does not add tokens */
    assert_int_equal(tkm_ratelimit_take(rl, b, sizeof b, 1, t - 5000 * MS, &retry), 0);
    tkm_ratelimit_free(rl);
}

static void test_bounded_memory_under_key_flood(void **state) {
    (void)state;
    tkm_ratelimit *rl = NULL;
    TU_ASSERT_OK(tkm_ratelimit_new(&rl, 1.0, 1.0, 16));
    uint64_t t = 1;
    /* 100000 distinct keys into 16+ slots: no growth, every new key gets a full bucket */
    for (uint32_t i = 0; i < 100000; i++) {
        uint8_t k[4];
        memcpy(k, &i, 4);
        assert_int_equal(tkm_ratelimit_take(rl, k, sizeof k, 1, t, NULL), 1);
        t += 1000;
    }
    tkm_ratelimit_free(rl);
    TU_CHECK_ILLEGAL(tkm_ratelimit_new(&rl, 0.0, 1.0, 16));
    TU_CHECK_ILLEGAL(tkm_ratelimit_new(&rl, 1.0, 0.5, 16));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_bounded_memory_under_key_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
