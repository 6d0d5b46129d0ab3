/*
 * The policy loader: the canonical hash against an independent JCS +
 * keccak (ethers, in cases.json), exact unit conversion, and one rejection per
 * rule of the format, each with its error code and the JSON path named.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "policy/policy.h"

static json_t *base_doc(void) {
    json_t *v = tu_load_vector("policy/cases.json");
    json_t *p = json_deep_copy(json_object_get(json_object_get(v, "policies"), "main"));
    json_decref(v);
    return p;
}

static tkm_rc load(const json_t *doc, tkm_policy **p) {
    char *s = json_dumps(doc, JSON_COMPACT);
    tkm_rc rc = tkm_policy_load(p, (const uint8_t *)s, strlen(s));
    free(s);
    return rc;
}

static void test_hash_matches_independent_jcs(void **state) {
    (void)state;
    json_t *v = tu_load_vector("policy/cases.json");
    const char *names[] = {"main", "second"};
    for (int i = 0; i < 2; i++) {
        tkm_policy *p;
        TU_ASSERT_OK(load(json_object_get(json_object_get(v, "policies"), names[i]), &p));
        uint8_t want[32];
        tu_hex_exact(want, 32, json_string_value(json_object_get(json_object_get(v, "policyHashes"), names[i])));
        assert_memory_equal(p->hash, want, 32);
        tkm_policy_free(p);
    }
    /* key order and whitespace do not change the hash */
    const char *a = "{\"teekm_policy\":1,\"version\":1,\"default\":\"deny\",\"max_validity_seconds\":60,"
                    "\"admins\":{\"threshold\":1,\"members\":[\"0x1111111111111111111111111111111111111111\"]},"
                    "\"assets\":{},\"rules\":[]}";
    const char *b = "{ \"rules\" : [ ], \"assets\":{}, \"admins\":{\"members\":[\"0x1111111111111111111111111111111111111111\"],"
                    "\"threshold\":1},\"max_validity_seconds\":60,\"default\":\"deny\",\"version\":1,\"teekm_policy\":1}";
    tkm_policy *pa, *pb;
    TU_ASSERT_OK(tkm_policy_load(&pa, (const uint8_t *)a, strlen(a)));
    TU_ASSERT_OK(tkm_policy_load(&pb, (const uint8_t *)b, strlen(b)));
    assert_memory_equal(pa->hash, pb->hash, 32);
    /* the canonical bytes are sorted and compact */
    assert_int_equal(pa->canonical_len, strlen(a));
    assert_memory_equal(pa->canonical, "{\"admins\":{\"members\":[", 22);
    tkm_policy_free(pa);
    tkm_policy_free(pb);
    json_decref(v);
}

static void test_amounts_exact(void **state) {
    (void)state;
    json_t *d = base_doc();
    tkm_policy *p;
    TU_ASSERT_OK(load(d, &p));
    /* usdc-payouts max 50000.5 with 6 decimals = 50000500000 */
    const tkm_policy_rule *r = &p->rules[4];
    assert_string_equal(r->id, "usdc-payouts");
    assert_true(tkm_u256_cmp(&r->max_amount, &(tkm_u256){{50000500000ULL, 0, 0, 0}}) == 0);
    assert_int_equal(r->window_seconds, 3600);
    /* dex-swap max_value 0.5 ether in wei */
    assert_true(tkm_u256_cmp(&p->rules[7].max_value, &(tkm_u256){{500000000000000000ULL, 0, 0, 0}}) == 0);
    /* RFC 3339 dates: 2025-06-16T00:00:00Z */
    assert_int_equal(p->rules[12].valid_from, 1750032000);
    assert_int_equal(p->rules[12].valid_until, 1750118400);
    assert_int_equal(p->rules[11].tx_types, 1u << 3);
    assert_int_equal(p->tx_types_named, 0xf);
    tkm_policy_free(p);
    json_decref(d);
}

typedef struct {
    const char *name;
    const char *path;  /* JSON pointer-ish: dot path to set, e.g. "rules.2.max_amount" */
    const char *value; /* JSON text to put there; NULL = delete */
    tkm_err code;
    const char *detail; /* substring the error detail must contain */
} bad_case;

static json_t *walk(json_t *root, const char *path, char *last, size_t last_cap, json_t **parent) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    char *save = NULL, *tok = strtok_r(buf, ".", &save), *next;
    while (tok) {
        next = strtok_r(NULL, ".", &save);
        if (!next) {
            snprintf(last, last_cap, "%s", tok);
            *parent = cur;
            return cur;
        }
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(tok)) : json_object_get(cur, tok);
        assert_non_null(cur);
        tok = next;
    }
    return NULL;
}

static const bad_case bad_cases[] = {
    {"unknown top-level field", "extra", "1", TKM_ERR_JSON_UNKNOWN_FIELD, "extra"},
    {"unknown rule field", "rules.2.maxAmount", "\"1\"", TKM_ERR_JSON_UNKNOWN_FIELD, "rules[2].maxAmount"},
    {"unknown asset field", "assets.ETH.symbol", "\"ETH\"", TKM_ERR_JSON_UNKNOWN_FIELD, "assets.ETH.symbol"},
    {"format version", "teekm_policy", "2", TKM_ERR_RANGE, "teekm_policy"},
    {"default allow", "default", "\"allow\"", TKM_ERR_POLICY_DOC, "default"},
    {"missing version", "version", NULL, TKM_ERR_JSON_MISSING, "version"},
    {"version as string", "version", "\"3\"", TKM_ERR_JSON_TYPE, "version"},
    {"validity too long", "max_validity_seconds", "2592001", TKM_ERR_RANGE, "max_validity_seconds"},
    {"admin threshold over members", "admins.threshold", "4", TKM_ERR_RANGE, "admins.threshold"},
    {"duplicate admin", "admins.members.1", "=admins.members.0", TKM_ERR_POLICY_DOC, "admins.members[1]: duplicate"},
    {"duplicate in a book", "address_books.exchanges.1", "=address_books.exchanges.0", TKM_ERR_POLICY_DOC, "address_books.exchanges[1]"},
    {"bad checksum", "address_books.cold.0", "\"0x00000000000000000000000000000000000000aB\"", TKM_ERR_CHECKSUM, "address_books.cold[0]"},
    {"empty group", "groups.ops", "[]", TKM_ERR_POLICY_DOC, "groups.ops"},
    {"bad name", "groups.0x1", "[\"0x0000000000000000000000000000000000000001\"]", TKM_ERR_POLICY_DOC, "groups.0x1"},
    {"duplicate rule id", "rules.3.id", "\"hot-eth-small\"", TKM_ERR_POLICY_DOC, "duplicate rule id"},
    {"unknown asset", "rules.2.asset", "\"DAI\"", TKM_ERR_POLICY_REF, "rules[2].asset"},
    {"unknown book", "rules.2.to.0", "\"@friends\"", TKM_ERR_POLICY_REF, "rules[2].to[0]"},
    {"unknown group", "rules.3.approvals.0.group", "\"board\"", TKM_ERR_POLICY_REF, "rules[3].approvals[0].group"},
    {"threshold over group size", "rules.3.approvals.0.threshold", "4", TKM_ERR_RANGE, "rules[3].approvals[0].threshold"},
    {"too many fractional digits", "rules.4.max_amount", "\"1.0000001\"", TKM_ERR_DECIMAL, "rules[4].max_amount"},
    {"amount as number", "rules.4.max_amount", "5", TKM_ERR_JSON_TYPE, "rules[4].max_amount"},
    {"negative amount", "rules.4.max_amount", "\"-5\"", TKM_ERR_DECIMAL, "rules[4].max_amount"},
    {"allow without action", "rules.2.action", NULL, TKM_ERR_JSON_MISSING, "rules[2].action"},
    {"unknown action", "rules.2.action", "\"send\"", TKM_ERR_POLICY_DOC, "rules[2].action"},
    {"transfer without asset", "rules.2.asset", NULL, TKM_ERR_JSON_MISSING, "rules[2].asset"},
    {"limits on a deny rule", "rules.0.max_amount", "\"1\"", TKM_ERR_POLICY_DOC, "rules[0].max_amount"},
    {"approvals on a deny rule", "rules.0.approvals", "[{\"group\":\"risk\",\"threshold\":1}]", TKM_ERR_POLICY_DOC, "rules[0].approvals"},
    {"chain contradicts asset", "rules.2.chain_ids", "[5]", TKM_ERR_POLICY_DOC, "rules[2].chain_ids[0]"},
    {"duplicate chain", "rules.8.chain_ids", "[1,1]", TKM_ERR_POLICY_DOC, "rules[8].chain_ids[1]"},
    {"selectors on a transfer", "rules.2.selectors", "[\"0xa9059cbb\"]", TKM_ERR_POLICY_DOC, "rules[2].selectors"},
    {"bad selector", "rules.7.selectors.0", "\"0x38ed17\"", TKM_ERR_HEX_LENGTH, "rules[7].selectors[0]"},
    {"duplicate selector", "rules.7.selectors.1", "\"0x38ed1739\"", TKM_ERR_POLICY_DOC, "rules[7].selectors[1]"},
    {"typed_data on a call", "rules.7.typed_data", "{\"name\":\"x\"}", TKM_ERR_POLICY_DOC, "rules[7].typed_data"},
    {"empty typed_data matcher", "rules.8.typed_data", "{}", TKM_ERR_POLICY_DOC, "rules[8].typed_data"},
    {"window without seconds", "rules.2.window_limit.seconds", NULL, TKM_ERR_JSON_MISSING, "rules[2].window_limit.seconds"},
    {"window too long", "rules.2.window_limit.seconds", "31536001", TKM_ERR_RANGE, "rules[2].window_limit.seconds"},
    {"max_value on a transfer", "rules.2.max_value", "\"1\"", TKM_ERR_POLICY_DOC, "rules[2].max_value"},
    {"to on deploy", "rules.10.to", "[\"@cold\"]", TKM_ERR_POLICY_DOC, "rules[10].to"},
    {"asset on typed_data", "rules.8.asset", "\"ETH\"", TKM_ERR_POLICY_DOC, "rules[8].asset"},
    {"approve of a native asset", "rules.5.asset", "\"ETH\"", TKM_ERR_POLICY_DOC, "rules[5].asset"},
    {"valid_until before valid_from", "rules.12.valid_until", "\"2025-06-15T00:00:00Z\"", TKM_ERR_POLICY_DOC, "rules[12].valid_until"},
    {"bad date", "rules.12.valid_from", "\"2025-02-30T00:00:00Z\"", TKM_ERR_RANGE, "rules[12].valid_from"},
    {"date with offset", "rules.12.valid_from", "\"2025-06-16T00:00:00+02:00\"", TKM_ERR_FORMAT, "rules[12].valid_from"},
    {"tx type 5", "rules.11.tx_types", "[5]", TKM_ERR_RANGE, "rules[11].tx_types[0]"},
    {"star with other keys", "rules.0.keys", "[\"*\",\"hot\"]", TKM_ERR_POLICY_DOC, "rules[0].keys[0]"},
    {"duplicate key", "rules.2.keys", "[\"hot\",\"hot\"]", TKM_ERR_POLICY_DOC, "rules[2].keys[1]"},
    {"native false", "assets.ETH.native", "false", TKM_ERR_POLICY_DOC, "assets.ETH"},
    {"native with contract", "assets.ETH.contract", "\"0x0000000000000000000000000000000000000001\"", TKM_ERR_POLICY_DOC, "assets.ETH"},
    {"token without standard", "assets.USDC.standard", NULL, TKM_ERR_JSON_MISSING, "assets.USDC.standard"},
    {"unknown standard", "assets.USDC.standard", "\"erc777\"", TKM_ERR_POLICY_DOC, "assets.USDC.standard"},
    {"two natives on one chain", "assets.ETH2", "{\"chain_id\":1,\"native\":true,\"decimals\":18}", TKM_ERR_POLICY_DOC, "assets.ETH2"},
    {"same contract twice", "assets.USDC2", "{\"chain_id\":1,\"contract\":\"0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48\",\"standard\":\"erc20\",\"decimals\":6}", TKM_ERR_POLICY_DOC, "assets.USDC2"},
    {"decimals too large", "assets.USDC.decimals", "78", TKM_ERR_RANGE, "assets.USDC.decimals"},
    {"rules not an array", "rules", "{}", TKM_ERR_JSON_TYPE, "rules"},
    {"group required twice", "rules.6.approvals.1.group", "\"risk\"", TKM_ERR_POLICY_DOC, "rules[6].approvals[1].group"},
    {"clients not an object", "clients", "[]", TKM_ERR_JSON_TYPE, "clients"},
    {"client unknown field", "clients", "{\"app\":{\"roles\":[\"read\"],\"role\":\"x\"}}", TKM_ERR_JSON_UNKNOWN_FIELD, "clients.app.role"},
    {"client unknown role", "clients", "{\"app\":{\"roles\":[\"root\"]}}", TKM_ERR_POLICY_DOC, "clients.app.roles[0]"},
    {"client duplicate role", "clients", "{\"app\":{\"roles\":[\"read\",\"read\"]}}", TKM_ERR_POLICY_DOC, "clients.app.roles[1]"},
    {"client without roles", "clients", "{\"app\":{\"roles\":[]}}", TKM_ERR_POLICY_DOC, "clients.app.roles"},
    {"signer without keys", "clients", "{\"app\":{\"roles\":[\"sign\"]}}", TKM_ERR_POLICY_DOC, "clients.app"},
    {"keys without sign", "clients", "{\"app\":{\"roles\":[\"approve\"],\"keys\":[\"hot\"]}}", TKM_ERR_POLICY_DOC, "clients.app.keys"},
    {"client bad name", "clients", "{\"a b\":{\"roles\":[\"read\"]}}", TKM_ERR_POLICY_DOC, "clients.a b"},
    {"client short fingerprint", "clients", "{\"app\":{\"roles\":[\"read\"],\"fingerprints\":[\"0x00\"]}}", TKM_ERR_HEX_LENGTH, "clients.app.fingerprints[0]"},
    /* sign_message rules: rules[13] deny by prefix, [14] siwe-login, [15] ops-notes, [16] attest-bytes, [17] text-any */
    {"unknown message field", "rules.14.message.prefix", "[\"x\"]", TKM_ERR_JSON_UNKNOWN_FIELD, "rules[14].message.prefix"},
    {"message block on a transfer", "rules.2.message", "{\"max_length\":10}", TKM_ERR_POLICY_DOC, "rules[2].message"},
    {"message block not an object", "rules.14.message", "[]", TKM_ERR_JSON_TYPE, "rules[14].message"},
    {"empty message block", "rules.14.message", "{}", TKM_ERR_POLICY_DOC, "rules[14].message"},
    {"unknown encoding", "rules.14.message.encoding", "\"latin1\"", TKM_ERR_POLICY_DOC, "rules[14].message.encoding"},
    {"max_length 0", "rules.14.message.max_length", "0", TKM_ERR_RANGE, "rules[14].message.max_length"},
    {"max_length over 4096", "rules.14.message.max_length", "4097", TKM_ERR_RANGE, "rules[14].message.max_length"},
    {"max_length as string", "rules.14.message.max_length", "\"100\"", TKM_ERR_JSON_TYPE, "rules[14].message.max_length"},
    {"prefix with a tab", "rules.14.message.prefixes.0", "\"a\\tb\"", TKM_ERR_POLICY_DOC, "rules[14].message.prefixes[0]"},
    {"prefix with a bidi override", "rules.14.message.prefixes.0", "\"a\\u202eb\"", TKM_ERR_POLICY_DOC, "rules[14].message.prefixes[0]"},
    {"empty prefix", "rules.14.message.prefixes.0", "\"\"", TKM_ERR_POLICY_DOC, "rules[14].message.prefixes[0]"},
    {"prefix not a string", "rules.14.message.prefixes.0", "5", TKM_ERR_JSON_TYPE, "rules[14].message.prefixes[0]"},
    {"no prefixes", "rules.14.message.prefixes", "[]", TKM_ERR_POLICY_DOC, "rules[14].message.prefixes"},
    {"duplicate prefix", "rules.14.message.prefixes", "[\"a\",\"b\",\"a\"]", TKM_ERR_POLICY_DOC, "rules[14].message.prefixes[2]"},
    {"prefix longer than max_length", "rules.15.message.max_length", "5", TKM_ERR_POLICY_DOC, "rules[15].message.prefixes[0]"},
    {"message block on a deny rule without action", "rules.13.action", NULL, TKM_ERR_POLICY_DOC, "rules[13].message"},
    {"max_length on a deny rule", "rules.13.message.max_length", "10", TKM_ERR_POLICY_DOC, "rules[13].message.max_length"},
    {"encoding on a deny rule", "rules.13.message.encoding", "\"bytes\"", TKM_ERR_POLICY_DOC, "rules[13].message.encoding"},
    {"chain ids on a message rule", "rules.14.chain_ids", "[1]", TKM_ERR_POLICY_DOC, "rules[14].chain_ids"},
    {"destination on a message rule", "rules.14.to", "[\"@cold\"]", TKM_ERR_POLICY_DOC, "rules[14].to"},
    {"asset on a message rule", "rules.14.asset", "\"ETH\"", TKM_ERR_POLICY_DOC, "rules[14].asset"},
    {"tx_types on a message rule", "rules.14.tx_types", "[2]", TKM_ERR_POLICY_DOC, "rules[14].tx_types"},
    {"window on a message rule", "rules.17.window_limit", "{\"amount\":\"1\",\"seconds\":60}", TKM_ERR_POLICY_DOC, "rules[17].window_limit"},
    {"selectors on a message rule", "rules.17.selectors", "[\"0xa9059cbb\"]", TKM_ERR_POLICY_DOC, "rules[17].selectors"},
    {"trusted_time not an object", "trusted_time", "300", TKM_ERR_JSON_TYPE, "trusted_time"},
    {"trusted_time unknown field", "trusted_time", "{\"maxAge\":300}", TKM_ERR_JSON_UNKNOWN_FIELD, "trusted_time.maxAge"},
    {"trusted_time max age 0", "trusted_time", "{\"max_age_seconds\":0}", TKM_ERR_RANGE, "trusted_time.max_age_seconds"},
    {"trusted_time max age over a day", "trusted_time", "{\"max_age_seconds\":86401}", TKM_ERR_RANGE, "trusted_time.max_age_seconds"},
    {"trusted_time skew over an hour", "trusted_time", "{\"skew_seconds\":3601}", TKM_ERR_RANGE, "trusted_time.skew_seconds"},
    {"trusted_time skew negative", "trusted_time", "{\"skew_seconds\":-1}", TKM_ERR_RANGE, "trusted_time.skew_seconds"},
    {"client star and label", "clients", "{\"app\":{\"roles\":[\"sign\"],\"keys\":[\"*\",\"hot\"]}}", TKM_ERR_POLICY_DOC, "clients.app.keys[0]"},
};

static void test_rejections(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        json_t *d = base_doc(), *parent = NULL;
        char last[64];
        walk(d, c->path, last, sizeof last, &parent);
        if (c->value && c->value[0] == '=') {
            json_t *src_parent = NULL;
            char src_last[64];
            walk(d, c->value + 1, src_last, sizeof src_last, &src_parent);
            json_t *src = json_is_array(src_parent) ? json_array_get(src_parent, (size_t)atoi(src_last))
                                                    : json_object_get(src_parent, src_last);
            json_array_set(parent, (size_t)atoi(last), src);
        } else if (c->value) {
            json_error_t e;
            json_t *v = json_loads(c->value, JSON_DECODE_ANY, &e);
            assert_non_null(v);
            if (json_is_array(parent))
                json_array_set_new(parent, (size_t)atoi(last), v);
            else
                json_object_set_new(parent, last, v);
        } else {
            json_object_del(parent, last);
        }
        tkm_policy *p = (tkm_policy *)1;
        tkm_rc rc = load(d, &p);
        if (rc.code != c->code)
            fail_msg("%s: want %s got %s (%s)", c->name, tkm_err_name(c->code), tkm_err_name(rc.code), tkm_err_detail());
        assert_null(p);
        if (c->detail && !strstr(tkm_err_detail(), c->detail))
            fail_msg("%s: detail '%s' does not name '%s'", c->name, tkm_err_detail(), c->detail);
        json_decref(d);
    }
}

static void test_clients(void **state) {
    (void)state;
    json_t *d = base_doc();
    json_error_t e;
    char fp[70];
    snprintf(fp, sizeof fp, "0x%064x", 0);
    fp[65] = '7';
    char cl[600];
    snprintf(cl, sizeof cl,
             "{\"treasury-app\":{\"roles\":[\"sign\",\"read\"],\"keys\":[\"hot\",\"0x98b995617Fee50EC3B7255bBdAF16c1Df70a363b\"]},"
             "\"risk-desk\":{\"roles\":[\"approve\"],\"fingerprints\":[\"%s\"]},"
             "\"ops\":{\"roles\":[\"admin\",\"sign\"],\"keys\":[\"*\"]}}", fp);
    json_object_set_new(d, "clients", json_loads(cl, 0, &e));
    tkm_policy *p;
    TU_ASSERT_OK(load(d, &p));
    assert_int_equal(p->n_clients, 3);
    uint8_t f7[32] = {0}, other[32] = {0};
    f7[31] = 0x07;
    other[31] = 0x71;
    const tkm_policy_client *c = tkm_policy_client_find(p, "treasury-app", other);
    assert_non_null(c);
    assert_int_equal(c->roles, TKM_POLICY_ROLE_SIGN | TKM_POLICY_ROLE_READ);
    uint8_t a[20] = {0}, hot_addr[20];
    tu_hex_exact(hot_addr, 20, "98b995617Fee50EC3B7255bBdAF16c1Df70a363b");
    assert_true(tkm_policy_client_may_use(c, "hot", a));
    assert_true(tkm_policy_client_may_use(c, "cold", hot_addr)); /* by address */
    assert_false(tkm_policy_client_may_use(c, "cold", a));
    /* a pinned client: only its certificate */
    assert_null(tkm_policy_client_find(p, "risk-desk", other));
    c = tkm_policy_client_find(p, "risk-desk", f7);
    assert_non_null(c);
    assert_false(tkm_policy_client_may_use(c, "hot", a)); /* no sign role */
    c = tkm_policy_client_find(p, "ops", other);
    assert_true(tkm_policy_client_may_use(c, "anything", a));
    assert_null(tkm_policy_client_find(p, "nobody", other));
    /* clients are part of what the hash covers */
    tkm_policy *q;
    json_object_del(d, "clients");
    TU_ASSERT_OK(load(d, &q));
    assert_true(memcmp(p->hash, q->hash, 32) != 0);
    assert_int_equal(q->n_clients, 0);
    tkm_policy_free(p);
    tkm_policy_free(q);
    json_decref(d);
}

static void test_trusted_time(void **state) {
    (void)state;
    json_t *d = base_doc();
    tkm_policy *p = NULL;
    /* absent: the documented defaults */
    TU_ASSERT_OK(load(d, &p));
    assert_int_equal(p->time_max_age_seconds, 300);
    assert_int_equal(p->time_skew_seconds, 60);
    uint8_t h0[32];
    memcpy(h0, p->hash, 32);
    tkm_policy_free(p);
    /* given: taken, and part of the hash (a quorum-approved, attested setting) */
    json_object_set_new(d, "trusted_time", json_pack("{s:i,s:i}", "max_age_seconds", 86400, "skew_seconds", 0));
    TU_ASSERT_OK(load(d, &p));
    assert_int_equal(p->time_max_age_seconds, 86400);
    assert_int_equal(p->time_skew_seconds, 0);
    assert_memory_not_equal(p->hash, h0, 32);
    tkm_policy_free(p);
    /* one of the two */
    json_object_set_new(d, "trusted_time", json_pack("{s:i}", "skew_seconds", 5));
    TU_ASSERT_OK(load(d, &p));
    assert_int_equal(p->time_max_age_seconds, 300);
    assert_int_equal(p->time_skew_seconds, 5);
    tkm_policy_free(p);
    json_decref(d);
}

static void test_not_json(void **state) {
    (void)state;
    tkm_policy *p;
    const char *docs[] = {"", "[]", "{", "{\"a\":1,\"a\":2}", "null", "{\"version\":1} x"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        tkm_rc rc = tkm_policy_load(&p, (const uint8_t *)docs[i], strlen(docs[i]));
        assert_true(tkm_failed(rc));
        assert_null(p);
    }
}

int main(void) {
    tkm_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_matches_independent_jcs),
        cmocka_unit_test(test_amounts_exact),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_clients),
        cmocka_unit_test(test_trusted_time),
        cmocka_unit_test(test_not_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
