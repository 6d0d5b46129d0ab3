/* Secret buffers: locked arena, zeroed on creation, constant-time comparison, misuse. */
#include "testutil.h"

#include <string.h>

static void test_new_is_zeroed_and_locked(void **state) {
    (void)state;
    tkm_secret *s = NULL;
    TU_ASSERT_OK(tkm_secret_new(&s, 64));
    assert_non_null(s);
    assert_int_equal(tkm_secret_len(s), 64);
    for (size_t i = 0; i < 64; i++) assert_int_equal(tkm_secret_ptr(s)[i], 0);
#if !defined(__SANITIZE_ADDRESS__)
    /* as root (CI) the arena must really be locked */
    assert_true(tkm_secure_locked());
#endif
    tkm_secret_free(s);
    tkm_secret_free(NULL);
}

static void test_from_and_eq(void **state) {
    (void)state;
    uint8_t a[32], b[32];
    memset(a, 7, sizeof a);
    memcpy(b, a, sizeof b);
    b[31] ^= 1;
    tkm_secret *sa, *sa2, *sb, *short_one;
    TU_ASSERT_OK(tkm_secret_from(&sa, a, 32));
    TU_ASSERT_OK(tkm_secret_from(&sa2, a, 32));
    TU_ASSERT_OK(tkm_secret_from(&sb, b, 32));
    TU_ASSERT_OK(tkm_secret_from(&short_one, a, 31));
    assert_true(tkm_secret_eq(sa, sa2));
    assert_false(tkm_secret_eq(sa, sb));
    assert_false(tkm_secret_eq(sa, short_one));
    assert_memory_equal(tkm_secret_ptr(sa), a, 32);
    tkm_secret_free(sa);
    tkm_secret_free(sa2);
    tkm_secret_free(sb);
    tkm_secret_free(short_one);
}

static void test_many_secrets_fit_the_arena(void **state) {
    (void)state;
    /* 10,000 signer keys must fit in the default arena */
    enum { N = 10000 };
    tkm_secret **all = calloc(N, sizeof *all);
    for (int i = 0; i < N; i++) TU_ASSERT_OK(tkm_secret_new(&all[i], 32));
    for (int i = 0; i < N; i++) tkm_secret_free(all[i]);
    free(all);
}

static void test_wipe_and_ct_eq(void **state) {
    (void)state;
    uint8_t buf[16];
    memset(buf, 0xff, sizeof buf);
    tkm_wipe(buf, sizeof buf);
    for (size_t i = 0; i < sizeof buf; i++) assert_int_equal(buf[i], 0);
    assert_true(tkm_ct_eq("abc", "abc", 3));
    assert_false(tkm_ct_eq("abc", "abd", 3));
    assert_true(tkm_ct_eq("x", "y", 0));
}

static void test_zero_length_is_misuse(void **state) {
    (void)state;
    tkm_secret *s;
    TU_CHECK_ILLEGAL(tkm_secret_new(&s, 0));
    assert_null(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_is_zeroed_and_locked),
        cmocka_unit_test(test_from_and_eq),
        cmocka_unit_test(test_many_secrets_fit_the_arena),
        cmocka_unit_test(test_wipe_and_ct_eq),
        cmocka_unit_test(test_zero_length_is_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
