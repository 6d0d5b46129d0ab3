/*
 * Audit log verification: a real log (engine-written) verifies; every single
 * flipped byte, dropped record, swapped record and truncation is reported
 * with the record (line) number where it happened.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"

#define NOW 1750000000

static char dir[256];
static uint8_t *logbuf;
static size_t loglen;
static uint8_t audit_addr[20];

static int sink_fn(void *ctx, const uint8_t *line, size_t len) { return tkm_failed(tkm_wr_put(ctx, line, len)); }

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tkm-audit-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    uint8_t k[32];
    memset(k, 0x42, 32);
    tkm_secret *seal;
    if (tkm_failed(tkm_secret_from(&seal, k, 32))) return -1;
    char cp[300];
    snprintf(cp, sizeof cp, "%s/counter", dir);
    tkm_engine_opts o = {.dir = dir, .seal_key = seal, .fast_unsafe = 1};
    if (tkm_failed(tkm_counter_file_open(&o.counter, cp, seal))) return -1;
    const char *pol = "{\"teekm_policy\":1,\"version\":1,\"default\":\"deny\",\"max_validity_seconds\":600,"
                      "\"admins\":{\"threshold\":1,\"members\":[\"0x1111111111111111111111111111111111111111\"]},"
                      "\"assets\":{\"ETH\":{\"chain_id\":1,\"native\":true,\"decimals\":18}},\"rules\":["
                      "{\"id\":\"any\",\"effect\":\"allow\",\"keys\":[\"*\"],\"action\":\"transfer\",\"asset\":\"ETH\"}]}";
    tkm_engine *e;
    if (tkm_failed(tkm_engine_init(&e, &o, NULL, (const uint8_t *)pol, strlen(pol), NOW))) return -1;
    /* two requests decided with sign = 0 (the key is only known to the caller), in one batch and alone */
    tkm_sign_request r[2];
    tkm_sign_result res[2];
    tkm_rc rcs[2];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 2; i++) {
        tkm_intent *it = &r[i].intent;
        snprintf(it->request_id, sizeof it->request_id, "q-%d", i);
        snprintf(it->key_label, sizeof it->key_label, "watch");
        it->payload = TKM_PAYLOAD_TX;
        it->tx_type = 2;
        it->has_chain_id = 1;
        it->chain_id = (uint64_t)(1 + i); /* the second one is on an unlisted chain: rejected */
        it->action = TKM_ACTION_TRANSFER;
        it->asset_kind = TKM_ASSET_NATIVE;
        it->has_to = 1;
        it->has_amount = 1;
        it->amount = tkm_u256_from_u64(5);
        it->payload_hash[0] = (uint8_t)i;
        it->not_after = NOW + 60;
        r[i].host_now = NOW + i;
    }
    if (tkm_failed(tkm_engine_sign_batch(e, r, res, rcs, 2)) || tkm_failed(rcs[1])) return -1;
    if (!res[0].decision.allow || res[1].decision.allow) return -1;
    tkm_sign_result one;
    if (tkm_failed(tkm_engine_sign(e, &r[0], &one))) return -1;
    tkm_wr w;
    tkm_wr_init(&w, 0);
    if (tkm_failed(tkm_engine_audit_export(e, sink_fn, &w))) return -1;
    if (tkm_failed(tkm_wr_take(&w, &logbuf, &loglen))) return -1;
    tkm_engine_audit_address(e, audit_addr);
    tkm_engine_close(e);
    tkm_secret_free(seal);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    free(logbuf);
    return system(cmd);
}

static uint64_t line_of(const uint8_t *p, size_t off) {
    uint64_t n = 1;
    for (size_t i = 0; i < off; i++)
        if (p[i] == '\n') n++;
    return n;
}

static void test_valid_log(void **state) {
    (void)state;
    tkm_audit_summary sum;
    TU_ASSERT_OK(tkm_audit_verify(&sum, logbuf, loglen, audit_addr));
    /* init, policy_activated (one commit), state_opened, batch of 2 decisions, 1 decision */
    assert_int_equal(sum.records, 6);
    assert_int_equal(sum.by_type[TKM_AUDIT_SIGN_ALLOWED], 2);
    assert_int_equal(sum.by_type[TKM_AUDIT_SIGN_REJECTED], 1);
    /* one signature per commit: init+policy, state_opened, the batch, the single decision */
    assert_int_equal(sum.signed_records, 4);
    assert_int_equal(sum.first_time, NOW);
    assert_int_equal(sum.last_time, NOW + 1);
    assert_true(sum.has_instance_id);
}

static void test_every_flipped_byte(void **state) {
    (void)state;
    uint8_t *copy = malloc(loglen);
    size_t checked = 0;
    for (size_t off = 0; off < loglen; off++) {
        memcpy(copy, logbuf, loglen);
        copy[off] ^= 0x01;
        tkm_audit_summary sum;
        tkm_rc rc = tkm_audit_verify(&sum, copy, loglen, audit_addr);
        uint64_t want = line_of(logbuf, off);
        if (rc.code != TKM_ERR_AUDIT_CHAIN || sum.bad_record != want)
            fail_msg("flip at byte %zu (record %llu): got %s, record %llu (%s)", off, (unsigned long long)want,
                     tkm_err_name(rc.code), (unsigned long long)sum.bad_record, tkm_err_detail());
        checked++;
    }
    assert_int_equal(checked, loglen);
    free(copy);
}

static size_t line_start(uint64_t n) {
    size_t off = 0;
    for (uint64_t i = 1; i < n; i++) off = (size_t)((uint8_t *)memchr(logbuf + off, '\n', loglen - off) - logbuf) + 1;
    return off;
}

static void expect_bad(const uint8_t *p, size_t n, uint64_t record) {
    tkm_audit_summary sum;
    tkm_rc rc = tkm_audit_verify(&sum, p, n, audit_addr);
    if (rc.code != TKM_ERR_AUDIT_CHAIN || sum.bad_record != record)
        fail_msg("want failure at record %llu, got %s at %llu (%s)", (unsigned long long)record, tkm_err_name(rc.code),
                 (unsigned long long)sum.bad_record, tkm_err_detail());
}

static void test_structural_changes(void **state) {
    (void)state;
    size_t l3 = line_start(3), l4 = line_start(4), l5 = line_start(5);
    uint8_t *buf = malloc(loglen);
    /* drop record 3 */
    memcpy(buf, logbuf, l3);
    memcpy(buf + l3, logbuf + l4, loglen - l4);
    expect_bad(buf, loglen - (l4 - l3), 3);
    /* swap records 3 and 4 */
    memcpy(buf, logbuf, l3);
    memcpy(buf + l3, logbuf + l4, l5 - l4);
    memcpy(buf + l3 + (l5 - l4), logbuf + l3, l4 - l3);
    memcpy(buf + l5, logbuf + l5, loglen - l5);
    expect_bad(buf, loglen, 3);
    /* truncated inside record 5 */
    expect_bad(logbuf, l5 + 10, 5);
    /* cut after record 4 (unsigned: the batch's signature is on record 5) */
    expect_bad(logbuf, l5, 4);
    /* a log that starts later (no init) */
    expect_bad(logbuf + l3, loglen - l3, 1);
    /* empty */
    expect_bad(logbuf, 0, 1);
    /* cut at a signed boundary is a shorter valid log: what the verifier prints is what to compare */
    tkm_audit_summary sum;
    TU_ASSERT_OK(tkm_audit_verify(&sum, logbuf, l4, audit_addr));
    assert_int_equal(sum.records, 3);
    free(buf);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 0);
    tkm_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_log),
        cmocka_unit_test(test_every_flipped_byte),
        cmocka_unit_test(test_structural_changes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
