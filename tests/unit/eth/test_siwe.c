/*
 * EIP-4361 parser: the vectors of tests/vectors/siwe (fields read by SpruceID's
 * reference parser, times by Date.parse; defects the reference refuses too),
 * every truncation of a message, the resource iterator, authorities and URIs
 * on their own (RFC 3986 3.2.2 IPv6 forms), and misuse.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "eth/eth.h"

static void test_vectors_valid(void **state) {
    (void)state;
    json_t *v = tu_load_vector("siwe/cases.json"), *c;
    size_t i;
    assert_true(json_array_size(json_object_get(v, "valid")) >= 30);
    json_array_foreach(json_object_get(v, "valid"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *msgj = json_object_get(c, "message");
        const uint8_t *msg = (const uint8_t *)json_string_value(msgj);
        size_t len = json_string_length(msgj);
        tkm_siwe_msg m;
        tkm_rc rc = tkm_siwe_parse(&m, msg, len);
        if (tkm_failed(rc)) fail_msg("%s: refused: %s", name, tkm_err_detail());
        json_t *got = NULL;
        TU_ASSERT_OK(tkm_siwe_to_json(&got, &m, msg));
        const char *k;
        json_t *want;
        json_object_foreach(json_object_get(c, "fields"), k, want) {
            json_t *g = json_object_get(got, k);
            if (!g || !json_equal(g, want)) {
                char *gs = g ? json_dumps(g, JSON_ENCODE_ANY) : NULL, *ws = json_dumps(want, JSON_ENCODE_ANY);
                fail_msg("%s: field %s: got %s, want %s", name, k, gs ? gs : "(absent)", ws);
            }
        }
        /* and nothing the reference does not have */
        json_object_foreach(got, k, want) {
            if (!json_object_get(json_object_get(c, "fields"), k)) fail_msg("%s: extra field %s", name, k);
        }
        json_decref(got);
    }
    json_decref(v);
}

static void test_vectors_invalid(void **state) {
    (void)state;
    json_t *v = tu_load_vector("siwe/cases.json"), *c;
    size_t i;
    assert_true(json_array_size(json_object_get(v, "invalid")) >= 60);
    json_array_foreach(json_object_get(v, "invalid"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *msgj = json_object_get(c, "message");
        tkm_siwe_msg m;
        memset(&m, 0xa5, sizeof m);
        tkm_rc rc = tkm_siwe_parse(&m, (const uint8_t *)json_string_value(msgj), json_string_length(msgj));
        if (tkm_ok(rc)) fail_msg("%s: accepted", name);
        const char *code = tkm_err_name(rc.code);
        if (strcmp(code, json_string_value(json_object_get(c, "code"))) != 0)
            fail_msg("%s: code %s, want %s (%s)", name, code, json_string_value(json_object_get(c, "code")), tkm_err_detail());
        char want[64];
        snprintf(want, sizeof want, "(%s):", json_string_value(json_object_get(c, "field")));
        if (!strstr(tkm_err_detail(), want)) fail_msg("%s: detail \"%s\" does not name %s", name, tkm_err_detail(), want);
        /* the output is cleared on failure */
        static const tkm_siwe_msg zero;
        assert_memory_equal(&m, &zero, sizeof m);
    }
    json_decref(v);
}

#define ADDR "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
static const char BASE[] = "example.com wants you to sign in with your Ethereum account:\n" ADDR "\n\n\n"
                           "URI: https://example.com/login\nVersion: 1\nChain ID: 1\nNonce: 32891756\n"
                           "Issued At: 2021-09-30T16:25:24Z";

/* A message ending with Issued At: no strict prefix of it is a message (each cut is named, nothing crashes). */
static void test_truncations(void **state) {
    (void)state;
    tkm_siwe_msg m;
    const size_t n = sizeof BASE - 1;
    TU_ASSERT_OK(tkm_siwe_parse(&m, (const uint8_t *)BASE, n));
    assert_false(m.has_statement);
    assert_int_equal(m.chain_id, 1);
    assert_int_equal(m.issued_at.secs, 1633019124); /* Date.parse, as in cases.json */
    for (size_t k = 0; k < n; k++) {
        tkm_rc rc = tkm_siwe_parse(&m, k ? (const uint8_t *)BASE : NULL, k);
        if (tkm_ok(rc)) fail_msg("prefix of %zu bytes accepted", k);
        assert_true(strncmp(tkm_err_detail(), "line ", 5) == 0);
    }
    /* and every single byte flipped to a byte no field allows at that place */
    static uint8_t buf[sizeof BASE];
    for (size_t k = 0; k < n; k++) {
        memcpy(buf, BASE, n);
        buf[k] = 0x7f;
        if (tkm_ok(tkm_siwe_parse(&m, buf, n))) fail_msg("DEL at %zu accepted", k);
    }
}

static void test_spans_and_resources(void **state) {
    (void)state;
    static const char msg[] = "https://example.com wants you to sign in with your Ethereum account:\n" ADDR
                              "\n\nHi\n\nURI: https://example.com/login\nVersion: 1\nChain ID: 10\nNonce: abcdefgh\n"
                              "Issued At: 2021-09-30T16:25:24.5+02:00\nExpiration Time: 2021-09-30T16:35:24Z\n"
                              "Resources:\n- ipfs://x/\n- urn:recap:abc\n- https://example.com/a?b#c";
    tkm_siwe_msg m;
    TU_ASSERT_OK(tkm_siwe_parse(&m, (const uint8_t *)msg, sizeof msg - 1));
    assert_true(m.has_scheme);
    assert_int_equal(m.scheme.off, 0);
    assert_int_equal(m.scheme.len, 5);
    assert_memory_equal(msg + m.domain.host.off, "example.com", m.domain.host.len);
    assert_memory_equal(msg + m.statement.off, "Hi", 2);
    assert_int_equal(m.statement.len, 2);
    assert_memory_equal(msg + m.uri.authority.host.off, "example.com", 11);
    assert_memory_equal(msg + m.uri.path.off, "/login", 6);
    assert_memory_equal(msg + m.nonce.off, "abcdefgh", 8);
    /* 16:25:24.5+02:00 = 14:25:24.5Z: Date.parse gives 1633011924500 */
    assert_int_equal(m.issued_at.secs, 1633011924);
    assert_int_equal(m.issued_at.frac, 1);
    assert_int_equal(m.expiration_time.secs, 1633019724);
    assert_int_equal(m.expiration_time.frac, 0);
    uint8_t want[20];
    tu_hex_exact(want, 20, ADDR);
    assert_memory_equal(m.address, want, 20);
    assert_int_equal(m.n_resources, 3);
    const char *res[] = {"ipfs://x/", "urn:recap:abc", "https://example.com/a?b#c"};
    size_t p = 0, k = 0;
    tkm_siwe_span s;
    while (tkm_siwe_resource_next(&m, (const uint8_t *)msg, &p, &s)) {
        assert_true(k < 3);
        assert_int_equal(s.len, strlen(res[k]));
        assert_memory_equal(msg + s.off, res[k], s.len);
        k++;
    }
    assert_int_equal(k, 3);
    /* "Resources:" alone: present, none listed */
    static const char none[] = "example.com wants you to sign in with your Ethereum account:\n" ADDR "\n\n\n"
                               "URI: https://example.com/login\nVersion: 1\nChain ID: 1\nNonce: 32891756\n"
                               "Issued At: 2021-09-30T16:25:24Z\nResources:";
    TU_ASSERT_OK(tkm_siwe_parse(&m, (const uint8_t *)none, sizeof none - 1));
    assert_true(m.has_resources);
    assert_int_equal(m.n_resources, 0);
    p = 0;
    assert_int_equal(tkm_siwe_resource_next(&m, (const uint8_t *)none, &p, &s), 0);
}

/* RFC 3986 3.2.2: the IPv6address alternatives, IPvFuture, reg-names, ports. */
static void test_authorities(void **state) {
    (void)state;
    static const struct {
        const char *s;
        int ok;
    } v[] = {
        {"example.com", 1}, {"example.com:443", 1}, {"example.com:", 1}, {"u:p@example.com", 1}, {"", 1},
        {"[::]", 1}, {"[::1]", 1}, {"[1::]", 1}, {"[1:2:3:4:5:6:7:8]", 1}, {"[1:2:3:4:5:6:7::]", 1},
        {"[::2:3:4:5:6:7:8]", 1}, {"[1::8]", 1}, {"[1:2:3:4:5:6::8]", 1}, {"[::ffff:192.0.2.1]", 1},
        {"[1:2:3:4:5:6:192.0.2.1]", 1}, {"[1:2:3:4:5::192.0.2.1]", 1}, {"[::192.0.2.1]", 1}, {"[ABCD:ef::1]", 1},
        {"[v1.x]", 1}, {"[V1F.a:b]", 1}, {"[::1]:8080", 1}, {"%41b", 1}, {"1.2.3.256", 1} /* a reg-name */,
        {"[1:2:3:4:5:6:7:8:9]", 0}, {"[1:2:3:4:5:6:7]", 0}, {"[::1:2:3:4:5:6:7:8]", 0}, {"[1::2::3]", 0},
        {"[:::]", 0}, {"[:1::]", 0}, {"[1::2:]", 0}, {"[12345::]", 0}, {"[1:2:3:4:5:6:7:192.0.2.1]", 0},
        {"[1:2:3:4:5:6::192.0.2.1]", 0}, {"[::192.0.2]", 0}, {"[::1.2.3.4.5]", 0}, {"[::01.2.3.4]", 0},
        {"[::1..3.4]", 0}, {"[::1.2.3.256]", 0}, {"[::1.2.3.4:5]", 0}, {"[v.x]", 0}, {"[v1.]", 0}, {"[v1x]", 0},
        {"[::1", 0}, {"[::1]x", 0}, {"[::1]:a", 0}, {"a b", 0}, {"a/b", 0}, {"%4", 0}, {"%zz", 0}, {"a@b@c", 0},
        {"example.com:44a", 0}, {"a\"b", 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        tkm_siwe_authority a;
        tkm_rc rc = tkm_siwe_authority_parse(&a, (const uint8_t *)v[i].s, strlen(v[i].s));
        if (tkm_ok(rc) != v[i].ok) fail_msg("authority \"%s\": %s", v[i].s, v[i].ok ? "refused" : "accepted");
    }
    tkm_siwe_authority a;
    TU_ASSERT_OK(tkm_siwe_authority_parse(&a, (const uint8_t *)"u@[::1]:80", 10));
    assert_true(a.has_userinfo && a.host_ip_literal && a.has_port);
    assert_int_equal(a.host.off, 2);
    assert_int_equal(a.host.len, 5);
    assert_int_equal(a.port.off, 8);
}

static void test_uris(void **state) {
    (void)state;
    static const struct {
        const char *s;
        int ok, authority;
    } v[] = {
        {"https://example.com", 1, 1}, {"https://example.com/", 1, 1}, {"https://e.com/a/b?c=d&e#f", 1, 1},
        {"a:", 1, 0}, {"urn:isbn:0451450523", 1, 0}, {"a:/b//c", 1, 0}, {"a:b/c", 1, 0}, {"a+b-c.d:x", 1, 0},
        {"a:////", 1, 1}, {"a://", 1, 1}, {"h://h?#", 1, 1}, {"h://h#a?b/c", 1, 1}, {"mailto:a@b.c", 1, 0},
        {"", 0, 0}, {"/login", 0, 0}, {"1a:b", 0, 0}, {":b", 0, 0}, {"a b:c", 0, 0}, {"h://h/a b", 0, 0},
        {"h://h/%g0", 0, 0}, {"h://h#a#b", 0, 0}, {"h://h?a\"", 0, 0}, {"h://[::1/", 0, 0}, {"h://h:x/", 0, 0},
        {"h://h/\xc3\xa9", 0, 0}, {"h://h\n", 0, 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        tkm_siwe_uri u;
        tkm_rc rc = tkm_siwe_uri_parse(&u, (const uint8_t *)v[i].s, strlen(v[i].s));
        if (tkm_ok(rc) != v[i].ok) fail_msg("URI \"%s\": %s", v[i].s, v[i].ok ? "refused" : "accepted");
        if (v[i].ok && u.has_authority != v[i].authority) fail_msg("URI \"%s\": authority %d", v[i].s, u.has_authority);
    }
}

static void test_statement_chars(void **state) {
    (void)state;
    assert_true(tkm_siwe_statement_chars_ok((const uint8_t *)"Sign in: [ok] ~_-. @#/?", 23));
    assert_true(tkm_siwe_statement_chars_ok(NULL, 0));
    assert_false(tkm_siwe_statement_chars_ok((const uint8_t *)"100%", 4));
    assert_false(tkm_siwe_statement_chars_ok((const uint8_t *)"a\nb", 3));
    assert_false(tkm_siwe_statement_chars_ok((const uint8_t *)"caf\xc3\xa9", 5));
}

static void test_misuse(void **state) {
    (void)state;
    tkm_siwe_msg m;
    TU_CHECK_ILLEGAL(tkm_siwe_parse(&m, NULL, 3));
    tkm_siwe_uri u;
    TU_CHECK_ILLEGAL(tkm_siwe_uri_parse(&u, NULL, 3));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_valid),   cmocka_unit_test(test_vectors_invalid),
        cmocka_unit_test(test_truncations),     cmocka_unit_test(test_spans_and_resources),
        cmocka_unit_test(test_authorities),     cmocka_unit_test(test_uris),
        cmocka_unit_test(test_statement_chars), cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
