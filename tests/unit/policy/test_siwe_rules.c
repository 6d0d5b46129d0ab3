/*
 * sign_message rules with a siwe condition (docs/policy.md "Sign-In with
 * Ethereum"): strict loading (one rejection per rule, with its path), then
 * evaluation of EIP-4361 messages: the address, scheme, domain, URI binding,
 * chain, statement and resources conditions, and the time conditions at
 * their edges (expiry, clock skew, validity bound, fractions of a second,
 * offsets), each refusal naming its field.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"

/* EIP-55 forms (the admins of docs/policy.md's example) */
#define HOT "0x19789475B95468F59f6890558eecd1C6C72EfE9C"
#define COLD "0x9285B4C37D47D9888731D396629531D93aFD31C9"
#define NOW 1750000000LL /* 2025-06-15T15:06:40Z */

static const char POLICY[] =
    "{\"teekm_policy\":1,\"version\":1,\"default\":\"deny\",\"max_validity_seconds\":3600,"
    "\"admins\":{\"threshold\":1,\"members\":[\"" HOT "\"]},"
    "\"assets\":{\"ETH\":{\"chain_id\":1,\"native\":true,\"decimals\":18},"
    "\"SepoliaETH\":{\"chain_id\":11155111,\"native\":true,\"decimals\":18},"
    "\"USDC\":{\"chain_id\":1,\"contract\":\"0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48\",\"standard\":\"erc20\",\"decimals\":6}},"
    "\"rules\":["
    "{\"id\":\"no-blanket\",\"effect\":\"deny\",\"keys\":[\"*\"],\"action\":\"sign_message\",\"message\":{\"prefixes\":[\"I approve all\"]}},"
    "{\"id\":\"login\",\"effect\":\"allow\",\"keys\":[\"hot\"],\"action\":\"sign_message\","
    " \"message\":{\"max_length\":2048,\"siwe\":{\"domains\":[\"app.example.com\",\"portal.example.com:8443\",\"[2001:db8::1]\"]}}},"
    "{\"id\":\"strict\",\"effect\":\"allow\",\"keys\":[\"cold\"],\"action\":\"sign_message\","
    " \"message\":{\"prefixes\":[\"app.example.com wants\",\"https://app.example.com wants\",\"http://app.example.com wants\"],"
    "  \"siwe\":{\"domains\":[\"app.example.com\"],\"schemes\":[\"https\",\"HTTP\"],\"uris\":[\"https://app.example.com/login\"],"
    "  \"chain_ids\":[10],\"max_validity_seconds\":300,\"max_clock_skew_seconds\":0,\"statement_prefixes\":[\"Sign in to\"],"
    "  \"resources\":[\"https://app.example.com/\"]}}}"
    "]}";

static tkm_rc load(const char *doc, tkm_policy **p) { return tkm_policy_load(p, (const uint8_t *)doc, strlen(doc)); }

/* ---- loading ---- */

static void test_load_defaults(void **state) {
    (void)state;
    tkm_policy *p;
    TU_ASSERT_OK(load(POLICY, &p));
    const tkm_policy_rule *r = &p->rules[1];
    assert_non_null(r->siwe);
    assert_int_equal(r->siwe->n_domains, 3);
    assert_int_equal(r->siwe->n_schemes, 1);
    assert_memory_equal(r->siwe->schemes[0].b, "https", 5);
    assert_int_equal(r->siwe->max_validity, 600);
    assert_int_equal(r->siwe->max_skew, 60);
    /* chain_ids default: the assets' chains, each once */
    assert_true(r->siwe->chain_ids_from_assets);
    assert_int_equal(r->siwe->n_chain_ids, 2);
    assert_int_equal(r->siwe->chain_ids[0], 1);
    assert_int_equal(r->siwe->chain_ids[1], 11155111);
    assert_false(r->siwe->resources_any);
    assert_int_equal(r->siwe->n_resource_prefixes, 0);
    const tkm_policy_siwe *s = p->rules[2].siwe;
    assert_int_equal(s->n_schemes, 2);
    assert_memory_equal(s->schemes[1].b, "http", 4); /* stored lower-case */
    assert_int_equal(s->max_validity, 300);
    assert_int_equal(s->max_skew, 0);
    assert_int_equal(s->n_chain_ids, 1);
    assert_false(s->chain_ids_from_assets);
    assert_int_equal(p->message_rules, 2);
    tkm_policy_free(p);
}

static void test_load_rejections(void **state) {
    (void)state;
    static const char head[] =
        "{\"teekm_policy\":1,\"version\":1,\"default\":\"deny\",\"max_validity_seconds\":60,"
        "\"admins\":{\"threshold\":1,\"members\":[\"" HOT "\"]},\"assets\":%s,\"rules\":[{\"id\":\"r\",\"effect\":\"%s\","
        "\"keys\":[\"hot\"],\"action\":\"sign_message\"%s,\"message\":%s}]}";
    static const char ETH[] = "{\"ETH\":{\"chain_id\":1,\"native\":true,\"decimals\":18}}";
    static const struct {
        const char *assets, *effect, *extra, *message;
        tkm_err code;
        const char *detail; /* a substring of the error detail: the path and the problem */
    } v[] = {
#define S(x) "{\"siwe\":" x "}"
        {ETH, "deny", "", S("{\"domains\":[\"a.example\"]}"), TKM_ERR_POLICY_DOC, "rules[0].message.siwe: siwe conditions apply to allow rules"},
        {ETH, "allow", "", "{\"encoding\":\"bytes\",\"siwe\":{\"domains\":[\"a.example\"]}}", TKM_ERR_POLICY_DOC, "rules[0].message.siwe: a SIWE message is text"},
        {ETH, "allow", "", S("[\"a.example\"]"), TKM_ERR_JSON_TYPE, "rules[0].message.siwe: must be an object"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"domain\":\"a.example\"}"), TKM_ERR_JSON_UNKNOWN_FIELD, "domain"},
        {ETH, "allow", "", S("{}"), TKM_ERR_JSON_MISSING, "domains"},
        {ETH, "allow", "", S("{\"domains\":[]}"), TKM_ERR_POLICY_DOC, "rules[0].message.siwe.domains: must have at least 1 entry"},
        {ETH, "allow", "", S("{\"domains\":[\"\"]}"), TKM_ERR_POLICY_DOC, "domains[0]: must be 1 to 256 bytes"},
        {ETH, "allow", "", S("{\"domains\":[7]}"), TKM_ERR_JSON_TYPE, "domains[0]: must be a string"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\",\"u@a.example\"]}"), TKM_ERR_POLICY_DOC, "domains[1]: no userinfo"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example/login\"]}"), TKM_ERR_POLICY_DOC, "domains[0]: not an RFC 3986 authority"},
        {ETH, "allow", "", S("{\"domains\":[\"a_b.example\"]}"), TKM_ERR_POLICY_DOC, "domains[0]: a host is a DNS name"},
        {ETH, "allow", "", S("{\"domains\":[\":443\"]}"), TKM_ERR_POLICY_DOC, "domains[0]: the host is empty"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example:0\"]}"), TKM_ERR_POLICY_DOC, "domains[0]: a port is 1 to 65535"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example:65536\"]}"), TKM_ERR_POLICY_DOC, "domains[0]: a port is 1 to 65535"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example:0443\"]}"), TKM_ERR_POLICY_DOC, "domains[0]: a port is 1 to 65535"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example:\"]}"), TKM_ERR_POLICY_DOC, "domains[0]: a port is 1 to 65535"},
        {ETH, "allow", "", S("{\"domains\":[\"[::1\"]}"), TKM_ERR_POLICY_DOC, "domains[0]: not an RFC 3986 authority"},
        {ETH, "allow", "", S("{\"domains\":[\"A.example\",\"a.EXAMPLE\"]}"), TKM_ERR_POLICY_DOC, "domains[1]: duplicate entry"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"schemes\":[\"1http\"]}"), TKM_ERR_POLICY_DOC, "schemes[0]: a scheme is a letter"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"schemes\":[\"https\",\"HTTPS\"]}"), TKM_ERR_POLICY_DOC, "schemes[1]: duplicate entry"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"uris\":[\"https://b.example/\"]}"), TKM_ERR_POLICY_DOC, "uris[0]: its host is none of domains"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"uris\":[\"/login\"]}"), TKM_ERR_POLICY_DOC, "uris[0]: a URI prefix is an RFC 3986 URI"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"uris\":[\"urn:a.example\"]}"), TKM_ERR_POLICY_DOC, "uris[0]: a URI prefix is an RFC 3986 URI with an authority"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"uris\":[\"https://u@a.example/\"]}"), TKM_ERR_POLICY_DOC, "uris[0]: a URI prefix"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"chain_ids\":[]}"), TKM_ERR_POLICY_DOC, "siwe.chain_ids: must have at least 1 entry"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"chain_ids\":[0]}"), TKM_ERR_RANGE, "siwe.chain_ids[0]"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"chain_ids\":[\"1\"]}"), TKM_ERR_JSON_TYPE, "siwe.chain_ids[0]"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"chain_ids\":[1,1]}"), TKM_ERR_POLICY_DOC, "siwe.chain_ids[1]: duplicate chain id"},
        {"{}", "allow", "", S("{\"domains\":[\"a.example\"]}"), TKM_ERR_POLICY_DOC, "siwe.chain_ids: required when the policy lists no asset"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"max_validity_seconds\":0}"), TKM_ERR_RANGE, "max_validity_seconds"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"max_validity_seconds\":604801}"), TKM_ERR_RANGE, "max_validity_seconds"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"max_clock_skew_seconds\":-1}"), TKM_ERR_RANGE, "max_clock_skew_seconds"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"max_clock_skew_seconds\":3601}"), TKM_ERR_RANGE, "max_clock_skew_seconds"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"statement_prefixes\":[\"100% sure\"]}"), TKM_ERR_POLICY_DOC, "statement_prefixes[0]: a statement has only"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"statement_prefixes\":[]}"), TKM_ERR_POLICY_DOC, "statement_prefixes: must have at least 1 entry"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"resources\":[]}"), TKM_ERR_POLICY_DOC, "siwe.resources: an empty list is ambiguous"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"resources\":\"yes\"}"), TKM_ERR_JSON_TYPE, "siwe.resources: must be false"},
        {ETH, "allow", "", S("{\"domains\":[\"a.example\"],\"resources\":[\"not a uri\"]}"), TKM_ERR_POLICY_DOC, "siwe.resources[0]: a resource prefix"},
        {ETH, "allow", ",\"chain_ids\":[1]", S("{\"domains\":[\"a.example\"]}"), TKM_ERR_POLICY_DOC, "rules[0].chain_ids: an EIP-191 message has no chain (a message.siwe condition has its own chain_ids)"},
#undef S
    };
    char doc[2048];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        snprintf(doc, sizeof doc, head, v[i].assets, v[i].effect, v[i].extra, v[i].message);
        tkm_policy *p = NULL;
        tkm_rc rc = load(doc, &p);
        if (tkm_ok(rc)) fail_msg("case %zu loaded: %s", i, v[i].message);
        if (rc.code != v[i].code || !strstr(tkm_err_detail(), v[i].detail))
            fail_msg("case %zu: %s \"%s\", want %s \"%s\"", i, tkm_err_name(rc.code), tkm_err_detail(),
                     tkm_err_name(v[i].code), v[i].detail);
        assert_null(p);
    }
}

/* ---- evaluation ---- */

static tkm_rc nr(void *c, const char *id, int *f, uint8_t k[20], uint8_t ph[32]) {
    (void)c, (void)id, (void)k, (void)ph;
    *f = 0;
    return TKM_RC_OK;
}
static tkm_rc nn(void *c, const uint8_t k[20], uint64_t ch, uint64_t n, int *f, uint8_t ph[32]) {
    (void)c, (void)k, (void)ch, (void)n, (void)ph;
    *f = 0;
    return TKM_RC_OK;
}
static tkm_rc nw(void *c, const char *r, const char *a, int64_t s, tkm_u256 *sp) {
    (void)c, (void)r, (void)a, (void)s;
    *sp = tkm_u256_zero();
    return TKM_RC_OK;
}
static tkm_rc nu(void *c, const uint8_t d[32], const uint8_t s[20], int *u) {
    (void)c, (void)d, (void)s;
    *u = 0;
    return TKM_RC_OK;
}

/* An RFC 3339 time: t (+ ".5" when half) in UTC, or at an offset of off minutes. */
static const char *iso(char out[40], long long t, int half, int off) {
    time_t tt = (time_t)(t + off * 60);
    struct tm tm;
    gmtime_r(&tt, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    if (half) n += (size_t)snprintf(out + n, 40 - n, ".5");
    if (!off)
        snprintf(out + n, 40 - n, "Z");
    else
        snprintf(out + n, 40 - n, "%c%02d:%02d", off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
    return out;
}

typedef struct {
    const char *prefix, *addr, *statement, *uri, *chain, *nonce, *iat, *exp, *nbf, *tail;
} sw;

static char iat_buf[40], exp_buf[40];
static sw def(void) {
    sw s = {"app.example.com", HOT, "Sign in to the treasury console.", "https://app.example.com/login", "1", "n0nce1234",
            iso(iat_buf, NOW - 10, 0, 0), iso(exp_buf, NOW + 290, 0, 0), NULL, ""};
    return s;
}

static size_t build(char *out, size_t cap, const sw *s) {
    int n = snprintf(out, cap,
                     "%s wants you to sign in with your Ethereum account:\n%s\n\n%s%s\nURI: %s\nVersion: 1\nChain ID: %s\n"
                     "Nonce: %s\nIssued At: %s%s%s%s%s%s",
                     s->prefix, s->addr, s->statement ? s->statement : "", s->statement ? "\n" : "", s->uri, s->chain,
                     s->nonce, s->iat, s->exp ? "\nExpiration Time: " : "", s->exp ? s->exp : "",
                     s->nbf ? "\nNot Before: " : "", s->nbf ? s->nbf : "", s->tail);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* Decide the message for key label/address at now. Out: *d; *it (when given) the intent. */
static void decide_raw(const tkm_policy *p, const char *label, const char *addr, const uint8_t *msg, size_t len,
                       int64_t now, tkm_decision *d, tkm_intent *it_out) {
    static tkm_intent it;
    tkm_request r;
    memset(&r, 0, sizeof r);
    snprintf(r.request_id, sizeof r.request_id, "siwe-test");
    snprintf(r.key_label, sizeof r.key_label, "%s", label);
    r.not_after = now + 100;
    r.has_msg = 1;
    r.msg = (uint8_t *)msg;
    r.msg_len = len;
    uint8_t key[20];
    TU_ASSERT_OK(tkm_eth_address_parse(key, addr, strlen(addr)));
    int unsupported = 1;
    char why[64];
    TU_ASSERT_OK(tkm_intent_build(&it, &unsupported, why, sizeof why, &r, key, p));
    assert_int_equal(unsupported, 0);
    static const uint8_t inst[32];
    tkm_policy_state st = {NULL, nr, nn, nw, nu};
    tkm_eval_input in = {.policy = p, .intent = &it, .instance_id = inst, .now = now, .state = &st};
    TU_ASSERT_OK(tkm_policy_evaluate(d, &in));
    if (it_out) *it_out = it;
}

static void decide(const tkm_policy *p, const char *label, const char *addr, const sw *s, int64_t now, tkm_decision *d) {
    static char msg[4096];
    size_t n = build(msg, sizeof msg, s);
    decide_raw(p, label, addr, (const uint8_t *)msg, n, now, d, NULL);
}

#define ALLOW(p, label, addr, s, now, rule)                                                            \
    do {                                                                                             \
        tkm_decision d_;                                                                             \
        decide(p, label, addr, s, now, &d_);                                                         \
        if (!d_.allow) fail_msg("line %d: refused: %s %s", __LINE__, tkm_reason_name(d_.reason), d_.detail); \
        assert_string_equal(d_.rule_id, rule);                                                       \
    } while (0)
#define REFUSE(p, label, addr, s, now, rule, why)                                                      \
    do {                                                                                             \
        tkm_decision d_;                                                                             \
        decide(p, label, addr, s, now, &d_);                                                         \
        if (d_.allow) fail_msg("line %d: allowed", __LINE__);                                        \
        if (d_.reason != TKM_REASON_MESSAGE_NOT_ALLOWED || strcmp(d_.rule_id, rule) != 0 || !strstr(d_.detail, why)) \
            fail_msg("line %d: %s (%s) \"%s\", want MESSAGE_NOT_ALLOWED (%s) \"%s\"", __LINE__, tkm_reason_name(d_.reason), \
                     d_.rule_id, d_.detail, rule, why);                                              \
    } while (0)

static void test_fields(void **state) {
    (void)state;
    tkm_policy *p;
    TU_ASSERT_OK(load(POLICY, &p));
    sw s = def();
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    /* address */
    REFUSE(p, "hot", COLD, &s, NOW, "login", "SIWE address " HOT " is not the signing key " COLD);
    s.addr = "0x19789475b95468f59f6890558eecd1c6c72efe9c";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "not a Sign-In with Ethereum (EIP-4361) message: line 2 (address): not in its EIP-55");
    /* scheme: https by default; another needs the rule's schemes */
    s = def();
    s.prefix = "https://app.example.com";
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    s.prefix = "HTTPS://app.example.com";
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    s.prefix = "http://app.example.com";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE scheme http is not one of rule login's schemes");
    /* domain: host case-insensitive, the port as listed, no userinfo */
    s = def();
    s.prefix = "APP.Example.COM";
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    s.prefix = "evil.example.net";
    s.uri = "https://evil.example.net/login";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE domain evil.example.net is not one of rule login's domains");
    s.prefix = "app.example.com.evil.example.net";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE domain app.example.com.evil.example.net is not one");
    s.prefix = "app.example.com:443";
    s.uri = "https://app.example.com/login";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE domain app.example.com:443 is not one");
    s.prefix = "user@app.example.com";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE domain has a userinfo part");
    s.prefix = "portal.example.com:8443";
    s.uri = "https://portal.example.com:8443/";
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    s.prefix = "[2001:DB8::1]";
    s.uri = "https://[2001:db8::1]/x";
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    /* the URI is bound to the domain: host, port (defaults per scheme), no userinfo, an authority */
    s = def();
    s.uri = "https://evil.example.net/login";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE URI's host is not the domain's host");
    s.uri = "https://app.example.com@evil.example.net/login"; /* the host is evil.example.net */
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE URI has a userinfo part");
    s.uri = "https://app.example.com.evil.example.net/login";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE URI's host is not the domain's host");
    s.uri = "https://u@app.example.com/login";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE URI has a userinfo part");
    s.uri = "https://APP.example.com:443/login";
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    s.uri = "wss://app.example.com/";
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    s.uri = "http://app.example.com/login";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE URI's port is not the domain's port");
    s.uri = "https://app.example.com:8443/login";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE URI's port is not the domain's port");
    s.uri = "https://app.example.com:99999/login";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE URI's port is not the domain's port");
    s.uri = "urn:app.example.com:login";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE URI has no authority");
    s.prefix = "portal.example.com:8443";
    s.uri = "https://portal.example.com/";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE URI's port is not the domain's port");
    /* chain: the assets' chains by default */
    s = def();
    s.chain = "11155111";
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    s.chain = "10";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE Chain ID 10 is not allowed by rule login (the chains of the policy's assets)");
    s.chain = "18446744073709551615";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE Chain ID 18446744073709551615 is not allowed");
    s.chain = "0001";
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    /* statement: any or none under login */
    s = def();
    s.statement = NULL;
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    s.statement = "";
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    /* resources: none allowed by default ("Resources:" with no entry is fine) */
    s = def();
    s.tail = "\nResources:";
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    s.tail = "\nRequest ID: abc\nResources:\n- https://app.example.com/terms";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE message lists 1 resource(s): rule login allows none");
    /* not SIWE at all, or a trailing newline */
    tkm_decision d;
    decide_raw(p, "hot", HOT, (const uint8_t *)"hello world", 11, NOW, &d, NULL);
    assert_int_equal(d.reason, TKM_REASON_MESSAGE_NOT_ALLOWED);
    assert_non_null(strstr(d.detail, "not a Sign-In with Ethereum (EIP-4361) message: line 1 (header)"));
    s = def();
    s.tail = "\n";
    REFUSE(p, "hot", HOT, &s, NOW, "login", "line 12 (end): a newline after the last field");
    /* a deny rule's prefix still denies first */
    decide_raw(p, "hot", HOT, (const uint8_t *)"I approve all", 13, NOW, &d, NULL);
    assert_int_equal(d.reason, TKM_REASON_DENIED_BY_RULE);
    tkm_policy_free(p);
}

static void test_times(void **state) {
    (void)state;
    tkm_policy *p;
    TU_ASSERT_OK(load(POLICY, &p));
    char a[40], b[40], c[40];
    sw s = def();
    /* an Expiration Time is required */
    s.exp = NULL;
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE message has no Expiration Time: rule login requires one (at most 600 s");
    /* expiry: valid while now < Expiration Time */
    s = def();
    s.exp = iso(b, NOW + 1, 0, 0);
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    s.exp = iso(b, NOW, 0, 0);
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE message expired at 1750000000 (now 1750000000)");
    s.exp = iso(b, NOW, 1, 0); /* NOW + 0.5 */
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    REFUSE(p, "hot", HOT, &s, NOW + 1, "login", "SIWE message expired");
    s.exp = iso(b, NOW - 1, 1, 0);
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE message expired");
    /* the same instants written with offsets */
    s.iat = iso(a, NOW - 10, 0, 120);
    s.exp = iso(b, NOW + 290, 0, -300);
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    /* Issued At may be ahead of now by max_clock_skew_seconds (60), not more; a fraction counts as the next second */
    s = def();
    s.iat = iso(a, NOW + 60, 0, 0);
    s.exp = iso(b, NOW + 60 + 540, 0, 0);
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    s.iat = iso(a, NOW + 61, 0, 0);
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE Issued At 1750000061 is ahead of now 1750000000 by more than rule login's max_clock_skew_seconds 60");
    s.iat = iso(a, NOW + 60, 1, 0);
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE Issued At 1750000060 is ahead");
    /* validity: Expiration Time - Issued At <= max_validity_seconds (600), and Expiration Time - now too */
    s = def();
    s.iat = iso(a, NOW - 100, 0, 0);
    s.exp = iso(b, NOW + 500, 0, 0);
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    s.exp = iso(b, NOW + 501, 0, 0);
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE validity (Expiration Time - Issued At) is 601 s, over rule login's max_validity_seconds 600");
    s.exp = iso(b, NOW + 500, 1, 0);
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE validity (Expiration Time - Issued At) is 601 s");
    s.iat = iso(a, NOW + 30, 0, 0);
    s.exp = iso(b, NOW + 630, 0, 0);
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE Expiration Time 1750000630 is more than rule login's max_validity_seconds 600 after now");
    /* Expiration Time after Issued At */
    s.iat = iso(a, NOW + 50, 0, 0);
    s.exp = iso(b, NOW + 20, 0, 0);
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE Expiration Time is not after Issued At");
    s.iat = iso(a, NOW + 20, 1, 0);
    s.exp = iso(b, NOW + 20, 1, 0);
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE Expiration Time is not after Issued At");
    /* Not Before: at most the skew ahead, and before the expiry */
    s = def();
    s.nbf = iso(c, NOW + 60, 0, 0);
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    s.nbf = iso(c, NOW + 61, 0, 0);
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE Not Before 1750000061 is ahead of now");
    s.nbf = iso(c, NOW - 3600, 0, 0);
    ALLOW(p, "hot", HOT, &s, NOW, "login");
    s.exp = iso(b, NOW + 30, 0, 0);
    s.nbf = iso(c, NOW + 30, 0, 0);
    REFUSE(p, "hot", HOT, &s, NOW, "login", "SIWE Not Before is not before its Expiration Time");
    /* a skew of 0 under rule strict */
    s = def();
    s.chain = "10";
    s.iat = iso(a, NOW, 0, 0);
    s.exp = iso(b, NOW + 300, 0, 0);
    s.addr = COLD;
    ALLOW(p, "cold", COLD, &s, NOW, "strict");
    s.iat = iso(a, NOW, 1, 0);
    REFUSE(p, "cold", COLD, &s, NOW, "strict", "SIWE Issued At 1750000000 is ahead of now 1750000000 by more than rule strict's max_clock_skew_seconds 0");
    s.iat = iso(a, NOW, 0, 0);
    s.exp = iso(b, NOW + 301, 0, 0);
    REFUSE(p, "cold", COLD, &s, NOW, "strict", "over rule strict's max_validity_seconds 300");
    tkm_policy_free(p);
}

/* rule strict: schemes, uris, chain_ids, statement_prefixes, resource prefixes, with message prefixes too */
static void test_strict(void **state) {
    (void)state;
    tkm_policy *p;
    TU_ASSERT_OK(load(POLICY, &p));
    char a[40], b[40];
    sw s = def();
    s.addr = COLD;
    s.chain = "10";
    s.iat = iso(a, NOW - 10, 0, 0);
    s.exp = iso(b, NOW + 200, 0, 0);
    ALLOW(p, "cold", COLD, &s, NOW, "strict");
    s.prefix = "http://app.example.com";
    REFUSE(p, "cold", COLD, &s, NOW, "strict", "SIWE URI's port is not the domain's port");
    s.uri = "http://app.example.com/login";
    REFUSE(p, "cold", COLD, &s, NOW, "strict", "SIWE URI does not start with one of rule strict's 1 uris");
    s.prefix = "wss://app.example.com";
    REFUSE(p, "cold", COLD, &s, NOW, "strict", "message does not start with one of rule strict's 3 prefixes");
    s = def();
    s.addr = COLD;
    s.chain = "10";
    s.exp = iso(b, NOW + 200, 0, 0);
    s.uri = "https://app.example.com/login?next=/home";
    ALLOW(p, "cold", COLD, &s, NOW, "strict");
    s.uri = "https://app.example.com/logout";
    REFUSE(p, "cold", COLD, &s, NOW, "strict", "SIWE URI does not start with one of rule strict's 1 uris");
    s.uri = "https://app.example.com/login";
    s.chain = "1";
    REFUSE(p, "cold", COLD, &s, NOW, "strict", "SIWE Chain ID 1 is not allowed by rule strict");
    s.chain = "10";
    s.statement = NULL;
    REFUSE(p, "cold", COLD, &s, NOW, "strict", "SIWE statement is absent: it must start with one of rule strict's 1 statement_prefixes");
    s.statement = "";
    REFUSE(p, "cold", COLD, &s, NOW, "strict", "SIWE statement does not start with");
    s.statement = "sign in to the console";
    REFUSE(p, "cold", COLD, &s, NOW, "strict", "SIWE statement does not start with one of rule strict's 1 statement_prefixes");
    s.statement = "Sign in to the console";
    s.tail = "\nResources:\n- https://app.example.com/terms\n- https://app.example.com/privacy";
    ALLOW(p, "cold", COLD, &s, NOW, "strict");
    s.tail = "\nResources:\n- https://app.example.com/terms\n- urn:recap:eyJhdHQiOnt9fQ";
    REFUSE(p, "cold", COLD, &s, NOW, "strict", "SIWE resource 2 does not start with one of rule strict's 1 resources");
    tkm_policy_free(p);
}

/* resources: true; and the intent renders the sign-in's site, chain, nonce and times, not its statement or URI */
static void test_resources_any_and_rendering(void **state) {
    (void)state;
    static const char doc[] =
        "{\"teekm_policy\":1,\"version\":1,\"default\":\"deny\",\"max_validity_seconds\":3600,"
        "\"admins\":{\"threshold\":1,\"members\":[\"" HOT "\"]},\"assets\":{},\"rules\":[{\"id\":\"any\",\"effect\":\"allow\","
        "\"keys\":[\"hot\"],\"action\":\"sign_message\",\"message\":{\"siwe\":{\"domains\":[\"app.example.com\"],"
        "\"chain_ids\":[1],\"resources\":true}}}]}";
    tkm_policy *p;
    TU_ASSERT_OK(load(doc, &p));
    sw s = def();
    s.tail = "\nRequest ID: r-77\nResources:\n- urn:recap:eyJhdHQiOnt9fQ\n- ipfs://secretcid";
    static char msg[2048];
    size_t n = build(msg, sizeof msg, &s);
    tkm_decision d;
    static tkm_intent it;
    decide_raw(p, "hot", HOT, (const uint8_t *)msg, n, NOW, &d, &it);
    if (!d.allow) fail_msg("refused: %s", d.detail);
    json_t *j = NULL;
    TU_ASSERT_OK(tkm_intent_to_json(&j, &it, p));
    json_t *w = json_object_get(json_object_get(j, "message"), "siwe");
    assert_non_null(w);
    assert_string_equal(json_string_value(json_object_get(w, "domain")), "app.example.com");
    assert_int_equal(json_integer_value(json_object_get(w, "chainId")), 1);
    assert_string_equal(json_string_value(json_object_get(w, "nonce")), "n0nce1234");
    assert_string_equal(json_string_value(json_object_get(w, "issuedAt")), iat_buf);
    assert_string_equal(json_string_value(json_object_get(w, "expirationTime")), exp_buf);
    assert_int_equal(json_integer_value(json_object_get(w, "resources")), 2);
    assert_null(json_object_get(w, "scheme"));
    char *str = json_dumps(j, JSON_COMPACT);
    assert_null(strstr(str, "treasury console"));
    assert_null(strstr(str, "/login"));
    assert_null(strstr(str, "recap"));
    assert_null(strstr(str, "secretcid"));
    assert_null(strstr(str, "r-77"));
    free(str);
    json_decref(j);
    /* a message that is not SIWE renders no siwe object */
    decide_raw(p, "hot", HOT, (const uint8_t *)"hello", 5, NOW, &d, &it);
    TU_ASSERT_OK(tkm_intent_to_json(&j, &it, p));
    assert_null(json_object_get(json_object_get(j, "message"), "siwe"));
    json_decref(j);
    /* a message longer than max_length is refused for its length first */
    s = def();
    char big[1200];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    s.statement = big;
    n = build(msg, sizeof msg, &s);
    decide_raw(p, "hot", HOT, (const uint8_t *)msg, n, NOW, &d, NULL);
    assert_int_equal(d.reason, TKM_REASON_MESSAGE_NOT_ALLOWED);
    assert_non_null(strstr(d.detail, "over rule any's max_length 1024"));
    tkm_policy_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_defaults), cmocka_unit_test(test_load_rejections), cmocka_unit_test(test_fields),
        cmocka_unit_test(test_times),         cmocka_unit_test(test_strict),
        cmocka_unit_test(test_resources_any_and_rendering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
