/* Keccak-256 against the Keccak team's KATs, Ethereum constants, and lengths around the rate. */
#include "testutil.h"

#include "crypto/crypto.h"

#include <string.h>

static void check_list(json_t *list, int split_updates) {
    size_t i;
    json_t *e;
    assert_true(json_array_size(list) > 0);
    json_array_foreach(list, i, e) {
        size_t n, mdn;
        uint8_t *msg = tu_hex(json_string_value(json_object_get(e, "msgHex")), &n);
        uint8_t *md = tu_hex(json_string_value(json_object_get(e, "md")), &mdn);
        assert_int_equal(mdn, 32);
        uint8_t got[32];
        if (!split_updates) {
            tkm_keccak256(got, msg, n);
        } else {
            /* feed in uneven pieces to exercise partial-block handling */
            tkm_keccak_ctx c;
            tkm_keccak256_init(&c);
            size_t off = 0, step = 1;
            while (off < n) {
                size_t k = n - off < step ? n - off : step;
                tkm_keccak256_update(&c, msg + off, k);
                off += k;
                step = step * 3 + 1;
            }
            tkm_keccak256_final(&c, got);
        }
        if (memcmp(got, md, 32) != 0) fail_msg("keccak mismatch for %s", json_string_value(json_object_get(e, "src")));
        free(msg);
        free(md);
    }
}

static void test_official_vectors(void **state) {
    (void)state;
    json_t *v = tu_load_vector("keccak256/keccak256_kat.json");
    check_list(json_object_get(v, "official"), 0);
    check_list(json_object_get(v, "official"), 1);
    json_decref(v);
}

/* Lengths 135/136/137/272… around the 136-byte rate (values cross-checked with @noble/hashes). */
static void test_rate_boundaries(void **state) {
    (void)state;
    json_t *v = tu_load_vector("keccak256/keccak256_kat.json");
    check_list(json_object_get(v, "computed_cross_check"), 0);
    check_list(json_object_get(v, "computed_cross_check"), 1);
    json_decref(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_official_vectors),
        cmocka_unit_test(test_rate_boundaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
