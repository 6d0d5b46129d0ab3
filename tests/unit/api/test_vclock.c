/*
 * The evaluation clock bounded by a trusted time (tkm_vclock.h): the clamp
 * arithmetic at its edges (host inside, above, below; a stale trusted time;
 * a host clock that goes back; a monotonic clock that jumps forward or goes
 * back; saturation) and the anchor holder (no anchor, newest anchor wins,
 * counts). Expected values are worked out by hand from the formula in the
 * header: lower = T, upper = T + min(elapsed, max_age) + skew.
 */
#include "api/tkm_vclock.h"
#include "testutil.h"

#define T 1750000000LL
#define S 1000000000ull /* one second in ns */

static void test_inside(void **state) {
    (void)state;
    tkm_vclock_eval ev;
    /* 10 s after the anchor, host exactly on the trusted estimate */
    tkm_vclock_clamp(&ev, T + 10, T, 10 * S, 300, 60);
    assert_int_equal(ev.time, T + 10);
    assert_int_equal(ev.lower, T);
    assert_int_equal(ev.upper, T + 70);
    assert_int_equal(ev.offset, 0);
    assert_int_equal(ev.age, 10);
    assert_int_equal(ev.clamped, 0);
    assert_false(ev.off);
    assert_false(ev.stale);
    /* a host 60 s ahead is within the skew: used, not off */
    tkm_vclock_clamp(&ev, T + 70, T, 10 * S, 300, 60);
    assert_int_equal(ev.time, T + 70);
    assert_int_equal(ev.clamped, 0);
    assert_false(ev.off);
    /* fractions of a second do not count (elapsed is floored) */
    tkm_vclock_clamp(&ev, T + 100, T, 10 * S + S - 1, 300, 60);
    assert_int_equal(ev.upper, T + 70);
}

static void test_forward_jump(void **state) {
    (void)state;
    tkm_vclock_eval ev;
    /* the host clock a day ahead, 5 s after a fresh anchor */
    tkm_vclock_clamp(&ev, T + 86400 + 5, T, 5 * S, 300, 60);
    assert_int_equal(ev.time, T + 65);
    assert_int_equal(ev.clamped, 1);
    assert_int_equal(ev.offset, 86400);
    assert_true(ev.off);
    /* one second beyond the skew: clamped and off */
    tkm_vclock_clamp(&ev, T + 5 + 61, T, 5 * S, 300, 60);
    assert_int_equal(ev.time, T + 65);
    assert_int_equal(ev.clamped, 1);
    assert_true(ev.off);
    /* skew 0: nothing above the estimate */
    tkm_vclock_clamp(&ev, T + 6, T, 5 * S, 300, 0);
    assert_int_equal(ev.time, T + 5);
    assert_int_equal(ev.clamped, 1);
}

static void test_host_behind(void **state) {
    (void)state;
    tkm_vclock_eval ev;
    /* a host clock behind the last trusted time is raised to it */
    tkm_vclock_clamp(&ev, T - 3600, T, 20 * S, 300, 60);
    assert_int_equal(ev.time, T);
    assert_int_equal(ev.clamped, -1);
    assert_int_equal(ev.offset, -3620);
    assert_true(ev.off);
    /* 1 s behind the verifier (rounding, latency): raised, but no alarm */
    tkm_vclock_clamp(&ev, T - 1, T, 0, 300, 60);
    assert_int_equal(ev.time, T);
    assert_int_equal(ev.clamped, -1);
    assert_false(ev.off);
    /* behind the estimate but after T: the host clock is used (the store keeps it monotonic) */
    tkm_vclock_clamp(&ev, T + 100, T, 200 * S, 300, 60);
    assert_int_equal(ev.time, T + 100);
    assert_int_equal(ev.clamped, 0);
    assert_true(ev.off); /* 100 s behind the estimate, beyond the skew */
}

static void test_stale(void **state) {
    (void)state;
    tkm_vclock_eval ev;
    /* exactly max_age after the anchor: still growing */
    tkm_vclock_clamp(&ev, T + 300, T, 300 * S, 300, 60);
    assert_int_equal(ev.upper, T + 360);
    assert_int_equal(ev.time, T + 300);
    assert_false(ev.stale);
    /* an hour without a fresh trusted time: the bound stopped at max_age + skew; an honest clock is clamped */
    tkm_vclock_clamp(&ev, T + 3600, T, 3600 * S, 300, 60);
    assert_true(ev.stale);
    assert_int_equal(ev.upper, T + 360);
    assert_int_equal(ev.time, T + 360);
    assert_int_equal(ev.clamped, 1);
    assert_int_equal(ev.offset, 0); /* the host clock is right: no alarm, the anchor is old */
    assert_false(ev.off);
    /* a monotonic clock that jumps a year ahead gains no more than max_age */
    tkm_vclock_clamp(&ev, T + 31536000, T, 31536000ull * S, 300, 60);
    assert_int_equal(ev.time, T + 360);
}

static void test_saturation(void **state) {
    (void)state;
    tkm_vclock_eval ev;
    tkm_vclock_clamp(&ev, INT64_MAX, INT64_MAX - 10, UINT64_MAX, UINT64_MAX, UINT64_MAX);
    assert_int_equal(ev.upper, INT64_MAX);
    assert_int_equal(ev.time, INT64_MAX);
    tkm_vclock_clamp(&ev, INT64_MIN, T, 0, 300, 60);
    assert_int_equal(ev.time, T);
    assert_int_equal(ev.offset, INT64_MIN); /* saturated, not wrapped */
    assert_int_equal(ev.clamped, -1);
}

static void test_holder(void **state) {
    (void)state;
    tkm_vclock *c = NULL;
    tkm_vclock_eval ev;
    tkm_vclock_status st;
    TU_ASSERT_OK(tkm_vclock_new(&c));
    /* no anchor: the host clock, untouched */
    assert_int_equal(tkm_vclock_now(c, &ev, T + 86400, 5 * S, 300, 60), 0);
    assert_int_equal(ev.time, T + 86400);
    tkm_vclock_anchor(c, T, 100 * S);
    assert_int_equal(tkm_vclock_now(c, &ev, T + 86400, 110 * S, 300, 60), 1);
    assert_int_equal(ev.time, T + 70);
    /* an older answer arriving late (earlier monotonic reading) does not replace the newer anchor */
    tkm_vclock_anchor(c, T - 500, 90 * S);
    assert_int_equal(tkm_vclock_now(c, &ev, T + 86400, 110 * S, 300, 60), 1);
    assert_int_equal(ev.lower, T);
    /* a newer one does, even with a smaller time (the verifier's clock stepped back): the bound follows it */
    tkm_vclock_anchor(c, T - 2, 120 * S);
    assert_int_equal(tkm_vclock_now(c, &ev, T + 86400, 120 * S, 300, 60), 1);
    assert_int_equal(ev.upper, T - 2 + 60);
    /* the monotonic clock going back gives no elapsed time */
    assert_int_equal(tkm_vclock_now(c, &ev, T + 86400, 1 * S, 300, 60), 1);
    assert_int_equal(ev.age, 0);
    assert_int_equal(ev.time, T - 2 + 60);
    /* below */
    assert_int_equal(tkm_vclock_now(c, &ev, T - 100, 121 * S, 300, 60), 1);
    assert_int_equal(ev.clamped, -1);
    tkm_vclock_status_get(c, &st);
    assert_true(st.anchored);
    assert_int_equal(st.trusted, T - 2);
    assert_int_equal(st.anchors, 3);
    assert_int_equal(st.clamped_above, 4);
    assert_int_equal(st.clamped_below, 1);
    assert_int_equal(st.last_offset, (T - 100) - (T - 2 + 1));
    tkm_vclock_free(c);
    tkm_vclock_free(NULL);
    assert_true(tkm_vclock_mono_ns() > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inside),     cmocka_unit_test(test_forward_jump), cmocka_unit_test(test_host_behind),
        cmocka_unit_test(test_stale),      cmocka_unit_test(test_saturation),   cmocka_unit_test(test_holder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
