/* tkm_rd / tkm_wr: bounds, sticky errors, cursor invariants, every truncation length. */
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a};

static void test_reads_in_both_byte_orders(void **state) {
    (void)state;
    tkm_rd r;
    uint16_t a;
    uint32_t b;
    tkm_rd_init(&r, data, sizeof data);
    TU_ASSERT_OK(tkm_rd_u16le(&r, &a));
    assert_int_equal(a, 0x0201);
    TU_ASSERT_OK(tkm_rd_u32be(&r, &b));
    assert_int_equal(b, 0x03040506);
    uint32_t c;
    TU_ASSERT_OK(tkm_rd_u32le(&r, &c));
    assert_int_equal(c, 0x0a090807);
    TU_ASSERT_OK(tkm_rd_done(&r));
    uint64_t d;
    tkm_rd_init(&r, data, 8);
    TU_ASSERT_OK(tkm_rd_u64be(&r, &d));
    assert_true(d == 0x0102030405060708ULL);
    tkm_rd_init(&r, data, 8);
    TU_ASSERT_OK(tkm_rd_u64le(&r, &d));
    assert_true(d == 0x0807060504030201ULL);
}

static void test_failed_read_does_not_move_cursor_and_zeroes_output(void **state) {
    (void)state;
    tkm_rd r;
    uint8_t out[16];
    tkm_rd_init(&r, data, 3);
    memset(out, 0xaa, sizeof out);
    TU_ASSERT_RC(tkm_rd_bytes(&r, out, 4), TKM_ERR_TRUNCATED);
    assert_int_equal(r.off, 0);
    for (int i = 0; i < 4; i++) assert_int_equal(out[i], 0);
    /* sticky: even a read that would fit now fails */
    uint8_t v = 0x55;
    TU_ASSERT_RC(tkm_rd_u8(&r, &v), TKM_ERR_TRUNCATED);
    assert_int_equal(v, 0);
    assert_int_equal(r.off, 0);
    TU_ASSERT_RC(tkm_rd_done(&r), TKM_ERR_TRUNCATED);
    assert_int_equal(tkm_rd_left(&r), 0);
}

static void test_every_truncation_length(void **state) {
    (void)state;
    /* A 10-byte record read as u16 + u32 + 4 bytes: every shorter input must fail cleanly. */
    for (size_t n = 0; n < sizeof data; n++) {
        tkm_rd r;
        uint16_t a;
        uint32_t b;
        uint8_t rest[4];
        tkm_rd_init(&r, data, n);
        tu_ignore(tkm_rd_u16le(&r, &a));
        tu_ignore(tkm_rd_u32le(&r, &b));
        tu_ignore(tkm_rd_bytes(&r, rest, sizeof rest));
        TU_ASSERT_RC(tkm_rd_done(&r), TKM_ERR_TRUNCATED);
        assert_true(r.off <= n);
    }
}

static void test_trailing_bytes_rejected(void **state) {
    (void)state;
    tkm_rd r;
    uint8_t v;
    tkm_rd_init(&r, data, 2);
    TU_ASSERT_OK(tkm_rd_u8(&r, &v));
    TU_ASSERT_RC(tkm_rd_done(&r), TKM_ERR_TRAILING);
}

static void test_sub_reader_is_bounded(void **state) {
    (void)state;
    tkm_rd r, c;
    uint8_t buf[8];
    tkm_rd_init(&r, data, sizeof data);
    TU_ASSERT_OK(tkm_rd_skip(&r, 1));
    TU_ASSERT_OK(tkm_rd_sub(&r, 3, &c));
    assert_int_equal(r.off, 4);
    TU_ASSERT_RC(tkm_rd_bytes(&c, buf, 4), TKM_ERR_TRUNCATED);
    /* the child error does not leak into the parent */
    TU_ASSERT_OK(tkm_rd_status(&r));
    TU_ASSERT_RC(tkm_rd_sub(&r, 7, &c), TKM_ERR_TRUNCATED);
    assert_int_equal(r.off, 4);
    TU_ASSERT_RC(tkm_rd_status(&c), TKM_ERR_TRUNCATED);
}

static void test_view_borrows_input(void **state) {
    (void)state;
    tkm_rd r;
    const uint8_t *v;
    tkm_rd_init(&r, data, sizeof data);
    TU_ASSERT_OK(tkm_rd_view(&r, 4, &v));
    assert_ptr_equal(v, data);
    TU_ASSERT_RC(tkm_rd_view(&r, 7, &v), TKM_ERR_TRUNCATED);
    assert_null(v);
    uint8_t p;
    TU_ASSERT_RC(tkm_rd_peek_u8(&r, &p), TKM_ERR_TRUNCATED);
}

static void test_huge_length_cannot_overflow(void **state) {
    (void)state;
    tkm_rd r;
    tkm_rd_init(&r, data, sizeof data);
    TU_ASSERT_OK(tkm_rd_skip(&r, 5));
    TU_ASSERT_RC(tkm_rd_skip(&r, SIZE_MAX), TKM_ERR_TRUNCATED);
    assert_int_equal(r.off, 5);
}

static void test_writer_grows_and_caps(void **state) {
    (void)state;
    tkm_wr w;
    tkm_wr_init(&w, 100);
    for (int i = 0; i < 25; i++) TU_ASSERT_OK(tkm_wr_u32be(&w, (uint32_t)i));
    assert_int_equal(w.len, 100);
    assert_int_equal(w.p[99], 24);
    TU_ASSERT_RC(tkm_wr_u8(&w, 1), TKM_ERR_TOO_LARGE);
    /* sticky */
    TU_ASSERT_RC(tkm_wr_status(&w), TKM_ERR_TOO_LARGE);
    tkm_wr_free(&w);
    assert_null(w.p);
    tkm_wr_init(&w, 0);
    TU_ASSERT_OK(tkm_wr_fmt(&w, "%s-%d", "abc", 42));
    TU_ASSERT_OK(tkm_wr_u16le(&w, 0x4241));
    TU_ASSERT_OK(tkm_wr_nul(&w));
    assert_string_equal((char *)w.p, "abc-42AB");
    uint8_t *out;
    size_t n;
    TU_ASSERT_OK(tkm_wr_take(&w, &out, &n));
    assert_int_equal(n, 8);
    assert_null(w.p);
    free(out);
    tkm_wr_free(&w);
}

static void test_writer_rejects_size_overflow(void **state) {
    (void)state;
    tkm_wr w;
    tkm_wr_init(&w, SIZE_MAX);
    TU_ASSERT_OK(tkm_wr_u8(&w, 1));
    TU_ASSERT_RC(tkm_wr_reserve(&w, SIZE_MAX), TKM_ERR_TOO_LARGE);
    tkm_wr_free(&w);
}

/* Decimal writer against snprintf("%" PRIu64) as the oracle, at the edges and on a spread of values. */
static void test_writer_decimal(void **state) {
    (void)state;
    static const uint64_t v[] = {0, 1, 9, 10, 99, 100, 4294967295u, 4294967296u, 9007199254740991u,
                                 10000000000000000000u, UINT64_MAX};
    for (size_t i = 0; i < sizeof v / sizeof v[0] + 1000; i++) {
        uint64_t x = i < sizeof v / sizeof v[0] ? v[i] : (uint64_t)i * 0x9E3779B97F4A7C15u;
        char want[32];
        snprintf(want, sizeof want, "%" PRIu64, x);
        tkm_wr w;
        tkm_wr_init(&w, 0);
        assert_true(tkm_ok(tkm_wr_dec_u64(&w, x)));
        assert_int_equal(w.len, strlen(want));
        assert_memory_equal(w.p, want, w.len);
        tkm_wr_free(&w);
    }
    tkm_wr w;
    tkm_wr_init(&w, 3); /* the cap holds: "1000" does not fit */
    tkm_rc rc = tkm_wr_dec_u64(&w, 1000);
    assert_int_equal(rc.code, TKM_ERR_TOO_LARGE);
    assert_int_equal(w.err, TKM_ERR_TOO_LARGE);
    tkm_wr_free(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_in_both_byte_orders),
        cmocka_unit_test(test_failed_read_does_not_move_cursor_and_zeroes_output),
        cmocka_unit_test(test_every_truncation_length),
        cmocka_unit_test(test_trailing_bytes_rejected),
        cmocka_unit_test(test_sub_reader_is_bounded),
        cmocka_unit_test(test_view_borrows_input),
        cmocka_unit_test(test_huge_length_cannot_overflow),
        cmocka_unit_test(test_writer_grows_and_caps),
        cmocka_unit_test(test_writer_rejects_size_overflow),
        cmocka_unit_test(test_writer_decimal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
