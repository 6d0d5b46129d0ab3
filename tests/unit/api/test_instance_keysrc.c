/*
 * The instance's state-key source (tkm_instance.h): "stateKey" and "verifier"
 * in instance.json, the options that choose them and refuse a switch, the
 * MAC binding them, an instance.json from before the fields (opens as seal),
 * and TDX (configfs-tsm double): no seal key, so the verifier is required and
 * asked — a refused or unreachable verifier leaves nothing behind. The key
 * release itself runs against a real teekm-verifier in
 * tests/e2e/test_e2e_keyrelease.sh (sim with --state-key verifier; the
 * verifier cannot appraise the double's re-signed TDX quotes).
 */
#include <sys/stat.h>

#include "../tee/tee_doubles.h"
#include "api/tkm_instance.h"
#include "api/tkm_registrar.h"
#include "crypto/crypto.h"

static const char POLICY[] =
    "{\"teekm_policy\":1,\"version\":1,\"default\":\"deny\",\"max_validity_seconds\":3600,"
    "\"admins\":{\"threshold\":1,\"members\":[\"0xD2e5fcDb5a78CD6afD573c4680718F1833b88F0A\"]},"
    "\"address_books\":{\"ex\":[\"0x00000000000000000000000000000000000000e1\"]},"
    "\"assets\":{\"ETH\":{\"chain_id\":1,\"native\":true,\"decimals\":18}},"
    "\"rules\":[{\"id\":\"small\",\"effect\":\"allow\",\"keys\":[\"hot\"],\"action\":\"transfer\","
    "\"asset\":\"ETH\",\"to\":[\"@ex\"],\"max_amount\":\"10\"}]}";

static char *root;
static char dir[4200];

static int setup(void **state) {
    (void)state;
    root = td_tmpdir();
    snprintf(dir, sizeof dir, "%s/data", root);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    td_rmrf(root);
    free(root);
    return 0;
}

static tkm_instance_init_opts sim_init(void) {
    tkm_instance_init_opts o = {.dir = dir, .tee = "sim", .policy = (const uint8_t *)POLICY,
                                .policy_len = sizeof POLICY - 1, .fast_unsafe = 1};
    return o;
}

static tkm_instance_open_opts sim_open(void) {
    tkm_instance_open_opts o = {.dir = dir, .fast_unsafe = 1};
    return o;
}

static int file_exists(const char *name) {
    char p[4300];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static json_t *load_instance_json(void) {
    char p[4300];
    snprintf(p, sizeof p, "%s/instance.json", dir);
    json_error_t e;
    json_t *d = json_load_file(p, 0, &e);
    assert_non_null(d);
    return d;
}

static void save_instance_json(const json_t *d) {
    char p[4300];
    snprintf(p, sizeof p, "%s/instance.json", dir);
    assert_int_equal(json_dump_file(d, p, JSON_INDENT(2)), 0);
}

static tkm_rc open_rc(const tkm_instance_open_opts *o) {
    tkm_instance *in = NULL;
    tkm_rc rc = tkm_instance_open(&in, o);
    tkm_instance_close(in);
    return rc;
}

#define ASSERT_DETAIL(s)                                                                          \
    do {                                                                                          \
        if (!strstr(tkm_err_detail(), (s))) fail_msg("detail \"%s\" lacks \"%s\"", tkm_err_detail(), (s)); \
    } while (0)

static void test_sim_seal_recorded(void **state) {
    (void)state;
    tkm_instance_init_opts io = sim_init();
    json_t *out = NULL;
    TD_OK(tkm_instance_init(&out, &io));
    assert_string_equal(json_string_value(json_object_get(out, "stateKey")), "seal");
    assert_null(json_object_get(out, "verifier"));
    json_decref(out);
    json_t *d = load_instance_json();
    assert_string_equal(json_string_value(json_object_get(d, "stateKey")), "seal");
    assert_null(json_object_get(d, "verifier"));
    json_decref(d);

    tkm_instance_open_opts oo = sim_open();
    TD_OK(open_rc(&oo));
    oo.state_key = "seal";
    TD_OK(open_rc(&oo));
    oo.state_key = "auto";
    TD_OK(open_rc(&oo));
    /* never a switch of source */
    oo.state_key = "verifier";
    TU_ASSERT_RC(open_rc(&oo), TKM_ERR_CONFIG);
    ASSERT_DETAIL("would switch its source");
    oo.state_key = "bogus";
    TU_ASSERT_RC(open_rc(&oo), TKM_ERR_CONFIG);
}

/* A verifier for a sealed instance is for registration only: a failed registration does not stop the open. */
static void test_sim_seal_with_verifier(void **state) {
    (void)state;
    tkm_instance_init_opts io = sim_init();
    json_t *out = NULL;
    TD_OK(tkm_instance_init(&out, &io));
    json_decref(out);
    tkm_instance_open_opts oo = sim_open();
    tkm_instance *in = NULL;
    tkm_instance_reg_info ri;
    /* without a verifier: none to re-attest to, no registration made */
    TD_OK(tkm_instance_open(&in, &oo));
    assert_false(tkm_instance_has_verifier(in));
    tkm_instance_registration_info(in, &ri);
    assert_int_equal(ri.last_attempt, 0);
    assert_int_equal(ri.last_err, TKM_OK);
    TU_ASSERT_RC(tkm_instance_reattest(in), TKM_ERR_CONFIG);
    tkm_instance_close(in);
    in = NULL;
    /* half a verifier configuration is refused */
    oo.verifier_url = "https://127.0.0.1:1";
    TU_ASSERT_RC(open_rc(&oo), TKM_ERR_CONFIG);
    ASSERT_DETAIL("registration with teekm-verifier");
    ASSERT_DETAIL("--verifier-ca");
    oo.verifier_url = NULL;
    oo.verifier_ca = "/nonexistent";
    TU_ASSERT_RC(open_rc(&oo), TKM_ERR_CONFIG);
    ASSERT_DETAIL("--verifier URL is required");
    /* an unreachable verifier (port 1 refuses): the open succeeds, the failure is kept */
    oo.verifier_url = "https://127.0.0.1:1";
    int64_t t0 = tkm_time_unix();
    TD_OK(tkm_instance_open(&in, &oo));
    assert_true(tkm_instance_has_verifier(in));
    tkm_instance_registration_info(in, &ri);
    assert_int_equal(ri.last_err, TKM_ERR_NETWORK);
    assert_true(ri.last_attempt >= t0);
    assert_int_equal(ri.last_ok, 0);
    /* one attempt each, no retries (the registrar retries) */
    TU_ASSERT_RC(tkm_instance_reattest(in), TKM_ERR_NETWORK);
    ASSERT_DETAIL("verifier nonce");
    tkm_instance_close(in);
    /* nothing about the verifier was recorded */
    json_t *d = load_instance_json();
    assert_null(json_object_get(d, "verifier"));
    assert_string_equal(json_string_value(json_object_get(d, "stateKey")), "seal");
    json_decref(d);
}

/* The registrar on a real instance: seeded with the start's failed registration, it retries (one attempt each,
 * through tkm_instance_reattest), and detaches from the instance when freed. */
static void test_registrar_seeded(void **state) {
    (void)state;
    tkm_instance_init_opts io = sim_init();
    json_t *out = NULL;
    TD_OK(tkm_instance_init(&out, &io));
    json_decref(out);
    tkm_instance_open_opts oo = sim_open();
    oo.verifier_url = "https://127.0.0.1:1";
    oo.verifier_ca = "/nonexistent";
    tkm_instance *in = NULL;
    TD_OK(tkm_instance_open(&in, &oo));
    tkm_metrics *m = NULL;
    TD_OK(tkm_metrics_new(&m));
    tkm_registrar *r = NULL;
    tkm_registrar_config rc = {.instance = in, .period_ms = 3600000, .backoff_min_ms = 50, .backoff_max_ms = 100,
                               .metrics = m};
    TD_OK(tkm_registrar_start(&r, &rc));
    tkm_registrar_status st;
    tkm_registrar_status_get(r, &st);
    assert_true(st.attempts >= 1); /* the open's attempt */
    assert_int_equal(st.by_result[TKM_REGISTRAR_UNREACHABLE], st.attempts);
    assert_int_equal(st.pending, 1);
    assert_int_equal(st.last_ok, 0);
    for (int i = 0; i < 300 && st.attempts < 3; i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
        tkm_registrar_status_get(r, &st);
    }
    assert_true(st.attempts >= 3); /* retried by the registrar */
    assert_int_equal(st.by_result[TKM_REGISTRAR_UNREACHABLE], st.attempts);
    assert_int_equal(st.last_err, TKM_ERR_NETWORK);
    tkm_instance_claims_changed(in); /* reaches the registrar: still pending */
    tkm_registrar_status_get(r, &st);
    assert_int_equal(st.pending, 1);
    tkm_registrar_free(r);
    tkm_instance_claims_changed(in); /* detached: nothing is called (ASan would see a use after free) */
    tkm_metrics_free(m);
    tkm_instance_close(in);
}

static int changes;
static void count_change(void *arg) {
    assert_ptr_equal(arg, &changes);
    changes++;
}

/* The change hook: key set changes and reported claim changes, not removals of keys outside the set. */
static void test_change_hook(void **state) {
    (void)state;
    tkm_instance_init_opts io = sim_init();
    json_t *out = NULL;
    TD_OK(tkm_instance_init(&out, &io));
    json_decref(out);
    tkm_instance_open_opts oo = sim_open();
    tkm_instance *in = NULL;
    TD_OK(tkm_instance_open(&in, &oo));
    /* the secp256k1 generator G (SEC 2), uncompressed: the public key of private key 1, whose Ethereum
     * address is the well-known 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf */
    uint8_t pub[65], addr[20], other[20] = {0};
    static const char G[] = "0479BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798"
                            "483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8";
    static const char A[] = "7E5F4552091A69125d5DfCb7b8C2659029395Bdf";
    TD_OK(tkm_hex_decode_exact(pub, sizeof pub, G, sizeof G - 1, 0));
    TD_OK(tkm_hex_decode_exact(addr, sizeof addr, A, sizeof A - 1, 0));
    changes = 0;
    tkm_instance_on_change(in, count_change, &changes);
    size_t k0 = tkm_instance_key_count(in);
    TD_OK(tkm_instance_key_added(in, pub));
    assert_int_equal(changes, 1);
    assert_int_equal(tkm_instance_key_count(in), k0 + 1);
    tkm_instance_key_removed(in, other); /* not in the set: no change */
    assert_int_equal(changes, 1);
    tkm_instance_key_removed(in, addr);
    assert_int_equal(changes, 2);
    assert_int_equal(tkm_instance_key_count(in), k0);
    tkm_instance_claims_changed(in);
    assert_int_equal(changes, 3);
    tkm_instance_on_change(in, NULL, NULL);
    tkm_instance_claims_changed(in);
    TD_OK(tkm_instance_key_added(in, pub));
    assert_int_equal(changes, 3);
    tkm_instance_close(in);
}

static void test_sim_init_options_refused(void **state) {
    (void)state;
    json_t *out = NULL;
    tkm_instance_init_opts io = sim_init();
    io.state_key = "verifier";
    TU_ASSERT_RC(tkm_instance_init(&out, &io), TKM_ERR_CONFIG);
    ASSERT_DETAIL("--verifier URL is required");
    io.verifier_url = "https://127.0.0.1:1";
    TU_ASSERT_RC(tkm_instance_init(&out, &io), TKM_ERR_CONFIG);
    ASSERT_DETAIL("--verifier-ca");
    io.state_key = "seal"; /* registration only: the CA is needed all the same */
    TU_ASSERT_RC(tkm_instance_init(&out, &io), TKM_ERR_CONFIG);
    ASSERT_DETAIL("registration with teekm-verifier");
    ASSERT_DETAIL("--verifier-ca");
    io.state_key = NULL; /* auto on sim: the seal key, and the URL for registration */
    TU_ASSERT_RC(tkm_instance_init(&out, &io), TKM_ERR_CONFIG);
    ASSERT_DETAIL("--verifier-ca");
    io.state_key = "sealed";
    TU_ASSERT_RC(tkm_instance_init(&out, &io), TKM_ERR_CONFIG);
    assert_null(out);
    assert_false(file_exists("instance.json"));
    assert_false(file_exists("state.db"));
    /* an unreachable verifier: nothing is left behind (no retries: 0) */
    io.state_key = "verifier";
    io.verifier_ca = "/nonexistent";
    TU_ASSERT_RC(tkm_instance_init(&out, &io), TKM_ERR_NETWORK);
    ASSERT_DETAIL("verifier nonce");
    assert_false(file_exists("instance.json"));
    assert_false(file_exists("state.db"));
    assert_false(file_exists("hwm"));
}

/* Recompute instance.json's MAC as the seal-sourced instance keys it: HMAC-SHA256 under
 * seal_key("teekm/instance/v1") over the JCS form without "mac" (docs/teekmd.md). */
static void remac(json_t *d) {
    char p[4300];
    snprintf(p, sizeof p, "%s/sim.key", dir);
    tkm_tee_opts to = {.sim_key_file = p};
    tkm_tee *t = NULL;
    TD_OK(tkm_tee_open(&t, "sim", &to));
    tkm_secret *k = NULL;
    TD_OK(tkm_tee_seal_key(t, &k, "teekm/instance/v1"));
    json_object_del(d, "mac");
    tkm_wr w;
    tkm_wr_init(&w, 8192);
    TD_OK(tkm_json_canonical(d, &w));
    uint8_t mac[32];
    TD_OK(tkm_hmac_sha256(mac, tkm_secret_ptr(k), tkm_secret_len(k), w.p, w.len));
    tkm_wr_free(&w);
    assert_int_equal(json_object_set_new(d, "mac", tkm_json_hex_new(mac, 32)), 0);
    tkm_secret_free(k);
    tkm_tee_close(t);
}

static void test_instance_json_fields(void **state) {
    (void)state;
    tkm_instance_init_opts io = sim_init();
    json_t *out = NULL;
    TD_OK(tkm_instance_init(&out, &io));
    json_decref(out);
    json_t *orig = load_instance_json();
    tkm_instance_open_opts oo = sim_open();

    /* the recomputed MAC matches what init wrote (the oracle of remac below is right) */
    json_t *d = json_deep_copy(orig);
    remac(d);
    assert_true(json_equal(d, orig));
    json_decref(d);

    /* removing "stateKey" changes the MAC'd document */
    d = json_deep_copy(orig);
    json_object_del(d, "stateKey");
    save_instance_json(d);
    TU_ASSERT_RC(open_rc(&oo), TKM_ERR_STORE_TAMPER);
    /* an instance.json from before the field, correctly MAC'd: opens as seal */
    remac(d);
    save_instance_json(d);
    TD_OK(open_rc(&oo));
    oo.state_key = "verifier";
    TU_ASSERT_RC(open_rc(&oo), TKM_ERR_CONFIG);
    oo.state_key = NULL;
    json_decref(d);

    /* malformed values */
    d = json_deep_copy(orig);
    json_object_set_new(d, "stateKey", json_string("tpm"));
    save_instance_json(d);
    TU_ASSERT_RC(open_rc(&oo), TKM_ERR_FORMAT);
    json_object_set_new(d, "stateKey", json_string("verifier"));
    save_instance_json(d);
    TU_ASSERT_RC(open_rc(&oo), TKM_ERR_FORMAT);
    ASSERT_DETAIL("instance.verifier");
    json_object_set_new(d, "verifier", json_pack("{s:s,s:i}", "url", "https://127.0.0.1:1", "retries", 3));
    save_instance_json(d);
    assert_true(tkm_failed(open_rc(&oo)));
    json_object_set_new(d, "verifier", json_pack("{s:s}", "url", ""));
    save_instance_json(d);
    TU_ASSERT_RC(open_rc(&oo), TKM_ERR_FORMAT);
    /* a host that switches the source to a verifier makes teekmd ask that verifier: without a CA
     * it does not even connect; a key it gets would fail the MAC (tests/e2e/test_e2e_keyrelease.sh) */
    json_object_set_new(d, "verifier", json_pack("{s:s}", "url", "https://127.0.0.1:1"));
    save_instance_json(d);
    TU_ASSERT_RC(open_rc(&oo), TKM_ERR_CONFIG);
    ASSERT_DETAIL("--verifier-ca");
    oo.verifier_ca = "/nonexistent";
    TU_ASSERT_RC(open_rc(&oo), TKM_ERR_NETWORK);
    ASSERT_DETAIL("verifier nonce");
    oo.verifier_ca = NULL;
    json_decref(d);

    save_instance_json(orig);
    TD_OK(open_rc(&oo));
    json_decref(orig);
}

/* init of a sealed instance with a verifier that cannot be reached: created, the failure reported, not recorded */
static void test_sim_init_registration_soft(void **state) {
    (void)state;
    json_t *out = NULL;
    tkm_instance_init_opts io = sim_init();
    io.verifier_url = "https://127.0.0.1:1";
    io.verifier_ca = "/nonexistent";
    TD_OK(tkm_instance_init(&out, &io));
    assert_string_equal(json_string_value(json_object_get(out, "stateKey")), "seal");
    assert_string_equal(json_string_value(json_object_get(out, "verifier")), "https://127.0.0.1:1");
    assert_true(json_is_false(json_object_get(out, "registered")));
    assert_string_equal(json_string_value(json_object_get(out, "registrationError")), "NETWORK");
    json_decref(out);
    json_t *d = load_instance_json();
    assert_null(json_object_get(d, "verifier"));
    json_decref(d);
    tkm_instance_open_opts oo = sim_open();
    TD_OK(open_rc(&oo));
}

static void test_tdx_needs_verifier(void **state) {
    (void)state;
    tsm_double d;
    tsm_double_init(&d, root, 0, "tee/tdx_quote_v4.bin");
    tkm_tee_sys sys = {&d, tsm_mkdir, tsm_rmdir, tsm_ioctl};
    json_t *out = NULL;
    tkm_instance_init_opts io = sim_init();
    io.tee = "tdx";
    io.tee_root = root;
    io.tee_sys = &sys;
    /* auto: TDX has no seal key, so the state key must come from a verifier */
    TU_ASSERT_RC(tkm_instance_init(&out, &io), TKM_ERR_CONFIG);
    ASSERT_DETAIL("--verifier URL is required");
    io.state_key = "seal";
    TU_ASSERT_RC(tkm_instance_init(&out, &io), TKM_ERR_TEE_NO_SEAL_KEY);
    ASSERT_DETAIL("--state-key verifier");
    io.state_key = NULL;
    io.verifier_url = "https://127.0.0.1:1";
    io.verifier_ca = "/nonexistent";
    TU_ASSERT_RC(tkm_instance_init(&out, &io), TKM_ERR_NETWORK);
    ASSERT_DETAIL("verifier nonce");
    assert_null(out);
    assert_false(file_exists("instance.json"));
    assert_false(file_exists("state.db"));
    tsm_double_free(&d);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 0);
    tkm_json_init();
    if (tkm_failed(tkm_secure_init(0, 1)) || tkm_failed(tkm_secp_init())) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sim_seal_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_init_options_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_seal_with_verifier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registrar_seeded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_init_registration_soft, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instance_json_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tdx_needs_verifier, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
