/* The start-up known-answer tests pass, and each primitive is covered by name. */
#include "testutil.h"

#include "crypto/crypto.h"

#include <string.h>

typedef struct {
    char names[32][40];
    int n, failed;
} seen;

static void record(void *ctx, const char *name, tkm_rc rc) {
    seen *s = ctx;
    if (s->n < 32) snprintf(s->names[s->n++], sizeof s->names[0], "%s", name);
    if (tkm_failed(rc)) s->failed++;
}

static int has(const seen *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0) return 1;
    return 0;
}

static void test_all_kats_pass(void **state) {
    (void)state;
    seen s = {0};
    TU_ASSERT_OK(tkm_crypto_selftest(record, &s));
    assert_int_equal(s.failed, 0);
    assert_true(has(&s, "aes-256-gcm"));
    assert_true(has(&s, "hpke-rfc9180"));
    assert_true(has(&s, "pbkdf2-sha256"));
    assert_true(has(&s, "secp256k1"));
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_all_kats_pass)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
