/* The error table: stable names and numbers, categories, unique codes. */
#include "testutil.h"

#include <string.h>

static void test_names_and_categories(void **state) {
    (void)state;
    assert_string_equal(tkm_err_name(TKM_ERR_TRUNCATED), "TRUNCATED");
    assert_string_equal(tkm_err_name(TKM_OK), "OK");
    assert_string_equal(tkm_err_str(TKM_ERR_TRAILING), "trailing bytes after input");
    assert_int_equal(TKM_ERR_TRUNCATED, 200);
    assert_int_equal(tkm_err_category(TKM_ERR_HEX), TKM_CAT_PARSE);
    assert_int_equal(tkm_err_category(TKM_ERR_POLICY_DENIED), TKM_CAT_POLICY);
    assert_int_equal(tkm_err_category(TKM_ERR_MISUSE), TKM_CAT_MISUSE);
    assert_null(tkm_err_name((tkm_err)12345));
    assert_string_equal(tkm_err_str((tkm_err)12345), "unknown error");
}

static void test_codes_are_unique(void **state) {
    (void)state;
    static const int codes[] = {
#define X(name, num, msg) num,
        TKM_ERR_LIST(X)
#undef X
    };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) assert_int_not_equal(codes[i], codes[j]);
}

static void test_detail_slot(void **state) {
    (void)state;
    tkm_err_detail_set("field %s", "x");
    assert_string_equal(tkm_err_detail(), "field x");
    tkm_err_detail_clear();
    assert_string_equal(tkm_err_detail(), "");
}

/* Wrapping the current detail ("context: <inner>") is a pattern callers use: it must not read the
 * buffer it is writing. */
static void test_detail_wraps_itself(void **state) {
    (void)state;
    tkm_err_detail_set("inner reason %d", 42);
    tkm_err_detail_set("outer context: %s", tkm_err_detail());
    assert_string_equal(tkm_err_detail(), "outer context: inner reason 42");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_categories),
        cmocka_unit_test(test_codes_are_unique),
        cmocka_unit_test(test_detail_slot),
        cmocka_unit_test(test_detail_wraps_itself),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
