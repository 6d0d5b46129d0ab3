/* Nonces: issue, single use, expiry, forgery, bound on remembered nonces. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "verifier/tkm_nonce.h"

static void test_issue_consume_once(void **state) {
    (void)state;
    tkm_nonce_table *t = NULL;
    TU_ASSERT_OK(tkm_nonce_table_new(&t, 300, 16));
    uint8_t n1[TKM_NONCE_LEN], n2[TKM_NONCE_LEN];
    int64_t exp1, exp2, at;
    TU_ASSERT_OK(tkm_nonce_issue(t, 1000, n1, &exp1));
    TU_ASSERT_OK(tkm_nonce_issue(t, 1000, n2, &exp2));
    assert_int_equal(exp1, 1300);
    assert_memory_not_equal(n1, n2, TKM_NONCE_LEN); /* random part differs */
    TU_ASSERT_OK(tkm_nonce_consume(t, 1299, n1, sizeof n1, &at));
    assert_int_equal(at, 1000);
    /* replay */
    TU_ASSERT_RC(tkm_nonce_consume(t, 1299, n1, sizeof n1, &at), TKM_ERR_REPLAY);
    assert_int_equal(at, 0);
    /* expiry is exclusive: at issued + ttl the nonce is dead */
    TU_ASSERT_RC(tkm_nonce_consume(t, 1300, n2, sizeof n2, &at), TKM_ERR_EXPIRED);
    assert_int_equal(tkm_nonce_table_used(t), 1);
    tkm_nonce_table_free(t);
}

static void test_forged_and_foreign(void **state) {
    (void)state;
    tkm_nonce_table *t = NULL, *other = NULL;
    TU_ASSERT_OK(tkm_nonce_table_new(&t, 60, 16));
    TU_ASSERT_OK(tkm_nonce_table_new(&other, 60, 16));
    uint8_t n[TKM_NONCE_LEN];
    int64_t exp, at;
    TU_ASSERT_OK(tkm_nonce_issue(t, 500, n, &exp));
    /* another table (another process, or this one after a restart) never accepts it */
    TU_ASSERT_RC(tkm_nonce_consume(other, 500, n, sizeof n, &at), TKM_ERR_NONCE_UNKNOWN);
    /* every single-bit change is refused: the issue time is authenticated too */
    for (size_t i = 0; i < TKM_NONCE_LEN; i++) {
        uint8_t m[TKM_NONCE_LEN];
        memcpy(m, n, sizeof m);
        m[i] ^= 0x01;
        tkm_rc rc = tkm_nonce_consume(t, 500, m, sizeof m, &at);
        assert_true(rc.code == TKM_ERR_NONCE_UNKNOWN);
    }
    /* wrong lengths */
    TU_ASSERT_RC(tkm_nonce_consume(t, 500, n, 31, &at), TKM_ERR_NONCE_UNKNOWN);
    TU_ASSERT_RC(tkm_nonce_consume(t, 500, NULL, 0, &at), TKM_ERR_NONCE_UNKNOWN);
    /* issued "in the future" relative to the consumer's clock */
    TU_ASSERT_RC(tkm_nonce_consume(t, 499, n, sizeof n, &at), TKM_ERR_NONCE_UNKNOWN);
    /* the genuine one still works once */
    TU_ASSERT_OK(tkm_nonce_consume(t, 501, n, sizeof n, &at));
    tkm_nonce_table_free(t);
    tkm_nonce_table_free(other);
}

static void test_bound_and_purge(void **state) {
    (void)state;
    tkm_nonce_table *t = NULL;
    TU_ASSERT_OK(tkm_nonce_table_new(&t, 10, 4));
    uint8_t n[6][TKM_NONCE_LEN];
    int64_t exp, at;
    for (int i = 0; i < 6; i++) TU_ASSERT_OK(tkm_nonce_issue(t, 100 + i, n[i], &exp));
    for (int i = 0; i < 4; i++) TU_ASSERT_OK(tkm_nonce_consume(t, 106, n[i], TKM_NONCE_LEN, &at));
    /* full of unexpired nonces: refuse rather than forget one */
    TU_ASSERT_RC(tkm_nonce_consume(t, 106, n[4], TKM_NONCE_LEN, &at), TKM_ERR_LIMIT);
    assert_int_equal(tkm_nonce_table_used(t), 4);
    /* at 111 n[0] (issued 100) and n[1] (101) have expired and are forgotten */
    TU_ASSERT_OK(tkm_nonce_consume(t, 111, n[5], TKM_NONCE_LEN, &at));
    assert_int_equal(tkm_nonce_table_used(t), 3);
    /* the ones still remembered are still replays */
    TU_ASSERT_RC(tkm_nonce_consume(t, 111, n[3], TKM_NONCE_LEN, &at), TKM_ERR_REPLAY);
    /* n[4] (issued 104) is still valid and fits now */
    TU_ASSERT_OK(tkm_nonce_consume(t, 111, n[4], TKM_NONCE_LEN, &at));
    tkm_nonce_table_free(t);
}

static void test_many(void **state) {
    (void)state;
    tkm_nonce_table *t = NULL;
    TU_ASSERT_OK(tkm_nonce_table_new(&t, 300, 5000));
    uint8_t (*n)[TKM_NONCE_LEN] = malloc(5000 * TKM_NONCE_LEN);
    int64_t exp, at;
    for (int i = 0; i < 5000; i++) TU_ASSERT_OK(tkm_nonce_issue(t, 7, n[i], &exp));
    for (int i = 0; i < 5000; i++) TU_ASSERT_OK(tkm_nonce_consume(t, 8, n[i], TKM_NONCE_LEN, &at));
    for (int i = 0; i < 5000; i += 97) TU_ASSERT_RC(tkm_nonce_consume(t, 8, n[i], TKM_NONCE_LEN, &at), TKM_ERR_REPLAY);
    free(n);
    tkm_nonce_table_free(t);
}

static void test_misuse(void **state) {
    (void)state;
    tkm_nonce_table *t = NULL;
    TU_CHECK_ILLEGAL(tkm_nonce_table_new(&t, 0, 4));
    TU_CHECK_ILLEGAL(tkm_nonce_table_new(&t, 10, 0));
    assert_null(t);
    tkm_misuse_set_handler(NULL);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_consume_once),
        cmocka_unit_test(test_forged_and_foreign),
        cmocka_unit_test(test_bound_and_purge),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
