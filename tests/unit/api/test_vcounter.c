/*
 * The instance's checks of teekm-verifier's counter answers (tkm_vcounter.h),
 * against CounterState answers signed by ethers v6 (tests/vectors/api/
 * counter_states.json, the independent side; its EIP-712 digests check the
 * verifier's own tkm_counter_state_digest): a valid answer; signed by another
 * key; for another instance; not echoing our challenge; a value edited after
 * signing; high s; v out of range; a missing, extra or mistyped field; an
 * advance answered with a lower value; a 409 rollback carrying a signed
 * counter above ours (and one that is not above: a lying refusal); the error
 * codes that ask for a new registration. Also the composite counter hook:
 * local first, remote only once armed.
 */
#include <string.h>

#include "api/tkm_vcounter.h"
#include "crypto/crypto.h"
#include "testutil.h"
#include "verifier/tkm_verifier.h"

static json_t *vec;
static uint8_t signer[20], other[20], inst[32], chal[32];

static int setup(void **state) {
    (void)state;
    vec = tu_load_vector("api/counter_states.json");
    const char *s = json_string_value(json_object_get(vec, "signer"));
    TU_ASSERT_OK(tkm_eth_address_parse(signer, s, strlen(s)));
    s = json_string_value(json_object_get(vec, "otherSigner"));
    TU_ASSERT_OK(tkm_eth_address_parse(other, s, strlen(s)));
    tu_hex_exact(inst, 32, json_string_value(json_object_get(vec, "instanceId")));
    tu_hex_exact(chal, 32, json_string_value(json_object_get(vec, "challenge")));
    return 0;
}

static int teardown(void **state) {
    (void)state;
    json_decref(vec);
    return 0;
}

/* A copy of a case's state (caller decrefs). */
static json_t *case_state(const char *name) {
    json_t *c = json_object_get(json_object_get(vec, "cases"), name);
    assert_non_null(c);
    return json_deep_copy(json_object_get(c, "state"));
}

static void test_digest_matches_ethers(void **state) {
    (void)state;
    const char *k;
    json_t *c;
    json_object_foreach(json_object_get(vec, "cases"), k, c) {
        json_t *st = json_object_get(c, "state");
        uint8_t id[32], ch[32], want[32], got[32];
        tu_hex_exact(id, 32, json_string_value(json_object_get(st, "instanceId")));
        tu_hex_exact(ch, 32, json_string_value(json_object_get(st, "challenge")));
        tu_hex_exact(want, 32, json_string_value(json_object_get(c, "digest")));
        tkm_counter_state_digest(got, id, (uint64_t)json_integer_value(json_object_get(st, "value")),
                                 (uint64_t)json_integer_value(json_object_get(st, "time")), ch);
        assert_memory_equal(got, want, 32);
    }
}

static void test_valid(void **state) {
    (void)state;
    tkm_vcounter_state out;
    json_t *st = case_state("valid");
    TU_ASSERT_OK(tkm_vcounter_state_check(&out, st, signer, inst, chal));
    assert_int_equal(out.value, 41);
    assert_int_equal(out.time, 1750000000);
    json_decref(st);
    st = case_state("big");
    TU_ASSERT_OK(tkm_vcounter_state_check(&out, st, signer, inst, chal));
    assert_int_equal(out.value, 9007199254740991ull);
    assert_int_equal(out.time, 4102444800);
    json_decref(st);
}

static void expect_fail(json_t *st, tkm_err want, const uint8_t *sgn, const uint8_t *id, const uint8_t *ch) {
    tkm_vcounter_state out;
    out.value = 7;
    TU_ASSERT_RC(tkm_vcounter_state_check(&out, st, sgn, id, ch), want);
    assert_int_equal(out.value, 0); /* nothing taken from a failed answer */
    assert_int_equal(out.time, 0);
    json_decref(st);
}

static void test_wrong_signer_instance_challenge(void **state) {
    (void)state;
    /* signed by another key (the "verifier" field still names the pinned one) */
    expect_fail(case_state("otherSigner"), TKM_ERR_BAD_SIGNATURE, signer, inst, chal);
    /* the valid answer checked against another pinned signer */
    expect_fail(case_state("valid"), TKM_ERR_BAD_SIGNATURE, other, inst, chal);
    /* an authentic answer for another instance */
    expect_fail(case_state("otherInstance"), TKM_ERR_VERIFY, signer, inst, chal);
    /* an authentic answer to another challenge (a replay) */
    expect_fail(case_state("otherChallenge"), TKM_ERR_VERIFY, signer, inst, chal);
    uint8_t ch2[32];
    memcpy(ch2, chal, 32);
    ch2[31] ^= 1;
    expect_fail(case_state("valid"), TKM_ERR_VERIFY, signer, inst, ch2);
}

static void test_tampered(void **state) {
    (void)state;
    /* value or time edited after signing */
    json_t *st = case_state("valid");
    json_object_set_new(st, "value", json_integer(42));
    expect_fail(st, TKM_ERR_BAD_SIGNATURE, signer, inst, chal);
    st = case_state("valid");
    json_object_set_new(st, "time", json_integer(1750086400));
    expect_fail(st, TKM_ERR_BAD_SIGNATURE, signer, inst, chal);
    /* high s (n − s, v flipped): the same signer, refused */
    st = case_state("valid");
    uint8_t sig[65];
    tu_hex_exact(sig, 65, json_string_value(json_object_get(st, "signature")));
    static const uint8_t n[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = n[i] - sig[32 + i] - borrow;
        borrow = d < 0;
        sig[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    sig[64] = sig[64] == 27 ? 28 : 27;
    json_object_set_new(st, "signature", tkm_json_hex_new(sig, 65));
    expect_fail(st, TKM_ERR_BAD_SIGNATURE, signer, inst, chal);
    /* v out of range */
    st = case_state("valid");
    tu_hex_exact(sig, 65, json_string_value(json_object_get(st, "signature")));
    sig[64] = (uint8_t)(sig[64] - 27);
    json_object_set_new(st, "signature", tkm_json_hex_new(sig, 65));
    expect_fail(st, TKM_ERR_BAD_SIGNATURE, signer, inst, chal);
    /* the "verifier" field naming another address than the one that signed */
    st = case_state("valid");
    char a[TKM_ETH_ADDR_STR_LEN];
    tkm_eth_address_checksum(a, other);
    json_object_set_new(st, "verifier", json_string(a));
    expect_fail(st, TKM_ERR_VERIFY, signer, inst, chal);
}

static void test_malformed(void **state) {
    (void)state;
    json_t *st = case_state("valid");
    json_object_del(st, "time");
    expect_fail(st, TKM_ERR_JSON_MISSING, signer, inst, chal);
    st = case_state("valid");
    json_object_set_new(st, "extra", json_true());
    expect_fail(st, TKM_ERR_JSON_UNKNOWN_FIELD, signer, inst, chal);
    st = case_state("valid");
    json_object_set_new(st, "value", json_string("41"));
    expect_fail(st, TKM_ERR_JSON_TYPE, signer, inst, chal);
    st = case_state("valid");
    json_object_set_new(st, "value", json_integer(-1));
    expect_fail(st, TKM_ERR_RANGE, signer, inst, chal);
    st = case_state("valid");
    json_object_set_new(st, "challenge", json_string("0xc3"));
    expect_fail(st, TKM_ERR_HEX_LENGTH, signer, inst, chal);
    expect_fail(json_array(), TKM_ERR_JSON_TYPE, signer, inst, chal);
}

static void test_answers(void **state) {
    (void)state;
    tkm_vcounter_state out;
    int rereg = 7;
    json_t *st = case_state("valid");
    /* a read, and advances to the value it holds or below */
    TU_ASSERT_OK(tkm_vcounter_answer_check(&out, &rereg, 200, st, "read", 0, signer, inst, chal));
    assert_int_equal(out.value, 41);
    assert_int_equal(rereg, 0);
    TU_ASSERT_OK(tkm_vcounter_answer_check(&out, &rereg, 200, st, "advance", 41, signer, inst, chal));
    TU_ASSERT_OK(tkm_vcounter_answer_check(&out, &rereg, 200, st, "advance", 40, signer, inst, chal));
    /* an authentic answer with a lower value than we advanced to: the verifier did not advance */
    TU_ASSERT_RC(tkm_vcounter_answer_check(&out, &rereg, 200, st, "advance", 42, signer, inst, chal), TKM_ERR_VERIFY);
    assert_int_equal(out.value, 0);
    /* a 409 rollback: the signed counter above ours is a newer state elsewhere */
    json_t *r409 = json_pack("{s:{s:s,s:s,s:s},s:o}", "error", "code", "STORE_ROLLBACK", "message", "m", "detail", "d",
                             "counter", case_state("above"));
    TU_ASSERT_RC(tkm_vcounter_answer_check(&out, &rereg, 409, r409, "advance", 42, signer, inst, chal),
                 TKM_ERR_STORE_ROLLBACK);
    assert_int_equal(out.value, 50);
    assert_int_equal(out.time, 1750000003);
    assert_int_equal(rereg, 0);
    /* … but not when its signed counter is not above what we asked for (a refusal that lies) */
    TU_ASSERT_RC(tkm_vcounter_answer_check(&out, &rereg, 409, r409, "advance", 50, signer, inst, chal), TKM_ERR_VERIFY);
    /* … nor unsigned (by another key) */
    json_object_set_new(r409, "counter", case_state("otherSigner"));
    TU_ASSERT_RC(tkm_vcounter_answer_check(&out, &rereg, 409, r409, "advance", 30, signer, inst, chal),
                 TKM_ERR_BAD_SIGNATURE);
    json_decref(r409);
    /* errors that call for a new registration, and others */
    static const struct {
        long status;
        const char *code;
        tkm_err want;
        int rereg;
    } errs[] = {{409, "REGISTRATION_STALE", TKM_ERR_REGISTRATION_STALE, 1},
                {404, "NOT_REGISTERED", TKM_ERR_NOT_REGISTERED, 1},
                {403, "FORBIDDEN", TKM_ERR_FORBIDDEN, 1},
                {409, "STORE_ROLLBACK", TKM_ERR_STORE_ROLLBACK, 0}, /* without a counter state: as the verifier said */
                {400, "REQUEST", TKM_ERR_HTTP_STATUS, 0},
                {500, "INTERNAL", TKM_ERR_HTTP_STATUS, 0}};
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        json_t *e = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", errs[i].code, "message", "m", "detail", "why");
        TU_ASSERT_RC(tkm_vcounter_answer_check(&out, &rereg, errs[i].status, e, "advance", 3, signer, inst, chal),
                     errs[i].want);
        assert_int_equal(rereg, errs[i].rereg);
        assert_non_null(strstr(tkm_err_detail(), errs[i].code));
        json_decref(e);
    }
    json_decref(st);
}

/* ---- the hook: local first, the remote side only once armed ---- */

static int local_advances;
static uint64_t local_value;
static tkm_rc fake_read(void *ctx, const uint8_t id[32], uint64_t *v, int *exists) {
    (void)ctx;
    (void)id;
    *v = local_value;
    *exists = 1;
    return TKM_RC_OK;
}
static tkm_rc fake_advance(void *ctx, const uint8_t id[32], uint64_t v) {
    (void)ctx;
    (void)id;
    local_advances++;
    local_value = v;
    return TKM_RC_OK;
}
static int closed;
static void fake_close(void *ctx) {
    (void)ctx;
    closed++;
}

static void test_hook_unarmed(void **state) {
    (void)state;
    tkm_vcounter *vc = NULL;
    /* a verifier URL nobody listens on: an armed hook would fail; an unarmed one never calls it */
    tkm_vcounter_config cfg = {.url = "https://127.0.0.1:1", .ca_file = "/nonexistent.pem", .instance_id = inst};
    TU_ASSERT_OK(tkm_vcounter_new(&vc, &cfg));
    tkm_counter local = {.ctx = NULL, .read = fake_read, .advance = fake_advance, .close = fake_close}, h;
    TU_ASSERT_OK(tkm_vcounter_hook(&h, local, vc));
    uint64_t v;
    int ex;
    local_value = 5;
    TU_ASSERT_OK(h.read(h.ctx, inst, &v, &ex));
    assert_int_equal(v, 5);
    TU_ASSERT_OK(h.advance(h.ctx, inst, 6));
    assert_int_equal(local_advances, 1);
    assert_int_equal(local_value, 6);
    assert_false(tkm_vcounter_armed(vc));
    /* arming without a pinned signer and an audit key is refused before any request */
    TU_ASSERT_RC(tkm_vcounter_arm(vc, 6, 6), TKM_ERR_STATE);
    assert_false(tkm_vcounter_armed(vc));
    h.close(h.ctx);
    assert_int_equal(closed, 1);
    tkm_vcounter_free(vc);
    /* a URL that is not https:// */
    cfg.url = "http://127.0.0.1:1";
    TU_ASSERT_RC(tkm_vcounter_new(&vc, &cfg), TKM_ERR_FORMAT);
    assert_null(vc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_matches_ethers),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_wrong_signer_instance_challenge),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_hook_unarmed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
