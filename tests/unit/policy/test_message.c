/*
 * EIP-191 personal messages: the digest against values from ethers 6.17.0
 * (hashMessage; "hello world" is also the example in ethers' documentation),
 * and the text check at its boundaries (RFC 3629 Table 3-7, the control and
 * bidi characters docs/policy.md "Messages" lists).
 */
#include "testutil.h"

#include <string.h>

#include "policy/policy.h"

static void test_digest(void **state) {
    (void)state;
    static const struct {
        const char *msg; /* NULL: 32 zero bytes; "a1000": 1000 × 'a' (the decimal length has 4 digits) */
        const char *digest;
    } v[] = {
        {"", "0x5f35dce98ba4fba25530a026ed80b2cecdaa31091ba4958b99b52ea1d068adad"},
        {"hello world", "0xd9eba16ed0ecae432b71fe008c98cc872bb4cc214d3220a36f365326cf807d68"},
        {"Hello World", "0xa1de988600a42c4b4ab089b619297c17d53cffae5d5120d82d8a92d0bb3b78f2"},
        {NULL, "0x5e4106618209740b9f773a94c5667b9659a7a4e2691c7c8a78336e9889a6be07"},
        {"a1000", "0x646dfe80977f3cb244f566d96cd3aabb891d47b9ba5159076d78e9999835e0d6"},
    };
    static uint8_t buf[1000];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        const uint8_t *m;
        size_t n;
        if (!v[i].msg) {
            memset(buf, 0, 32);
            m = buf;
            n = 32;
        } else if (strcmp(v[i].msg, "a1000") == 0) {
            memset(buf, 'a', sizeof buf);
            m = buf;
            n = sizeof buf;
        } else {
            m = (const uint8_t *)v[i].msg;
            n = strlen(v[i].msg);
        }
        uint8_t got[32], want[32];
        tkm_eip191_digest(got, n ? m : NULL, n);
        tu_hex_exact(want, 32, v[i].digest);
        assert_memory_equal(got, want, 32);
    }
}

static void test_text(void **state) {
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        int text;
    } v[] = {
#define T(s, ok) {s, sizeof s - 1, ok}
        T("", 1),
        T("plain ASCII with spaces ~ and punctuation!", 1),
        T("line one\nline two\n", 1),
        T("tab\there", 0),
        T("cr\r\n", 0),
        T("nul\0x", 0),
        T("esc\x1b[31m", 0),
        T("del\x7f", 0),
        T("\x1f", 0),
        T(" ", 1),
        T("\xc2\x80", 0),             /* U+0080 C1 */
        T("\xc2\x9f", 0),             /* U+009F C1 */
        T("\xc2\xa0", 1),             /* U+00A0 no-break space */
        T("Gr\xc3\xbc\xc3\x9f" "e", 1),
        T("\xc0\xaf", 0),             /* overlong '/' */
        T("\xc1\xbf", 0),             /* overlong */
        T("\xe0\x80\xaf", 0),         /* overlong 3-byte */
        T("\xe0\xa0\x80", 1),         /* U+0800 */
        T("\xed\x9f\xbf", 1),         /* U+D7FF */
        T("\xed\xa0\x80", 0),         /* U+D800 surrogate */
        T("\xed\xbf\xbf", 0),         /* U+DFFF surrogate */
        T("\xef\xbf\xbd", 1),         /* U+FFFD */
        T("\xf0\x8f\xbf\xbf", 0),     /* overlong 4-byte */
        T("\xf0\x9f\x91\x8b", 1),     /* U+1F44B */
        T("\xf4\x8f\xbf\xbf", 1),     /* U+10FFFF */
        T("\xf4\x90\x80\x80", 0),     /* above U+10FFFF */
        T("\xf5\x80\x80\x80", 0),
        T("\xff", 0),
        T("\x80", 0),                 /* lone continuation */
        T("\xe2\x82", 0),             /* truncated */
        T("\xf0\x9f\x91", 0),         /* truncated */
        T("\xd8\x9c", 0),             /* U+061C arabic letter mark */
        T("\xe2\x80\x8e", 0),         /* U+200E LRM */
        T("\xe2\x80\x8f", 0),         /* U+200F RLM */
        T("\xe2\x80\xaa", 0),         /* U+202A */
        T("\xe2\x80\xae", 0),         /* U+202E RLO */
        T("\xe2\x80\xaf", 1),         /* U+202F narrow no-break space */
        T("\xe2\x81\xa6", 0),         /* U+2066 */
        T("\xe2\x81\xa9", 0),         /* U+2069 */
        T("\xe2\x81\xaa", 1),         /* U+206A */
        T("\xe2\x80\xa8", 0),         /* U+2028 line separator */
        T("\xe2\x80\xa9", 0),         /* U+2029 paragraph separator */
#undef T
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (tkm_policy_message_is_text((const uint8_t *)v[i].bytes, v[i].len) != v[i].text)
            fail_msg("case %zu: want %s", i, v[i].text ? "text" : "not text");
    assert_int_equal(tkm_policy_message_is_text(NULL, 0), 1);
}

/* A request with a message: the intent carries the digest, the length and the first bytes, and renders no content. */
static void test_intent(void **state) {
    (void)state;
    const char *doc = "{\"requestId\":\"m-1\",\"key\":\"hot\",\"notAfter\":1750000600,\"message\":\"0x68656c6c6f20776f726c64\"}";
    tkm_request r;
    TU_ASSERT_OK(tkm_request_parse(&r, (const uint8_t *)doc, strlen(doc)));
    uint8_t key[20] = {1};
    tkm_intent it;
    int unsupported = 1;
    char why[64];
    TU_ASSERT_OK(tkm_intent_build(&it, &unsupported, why, sizeof why, &r, key, NULL));
    tkm_request_free(&r);
    assert_int_equal(unsupported, 0);
    assert_int_equal(it.payload, TKM_PAYLOAD_MESSAGE);
    assert_int_equal(it.action, TKM_ACTION_SIGN_MESSAGE);
    assert_int_equal(it.msg_len, 11);
    assert_int_equal(it.msg_text, 1);
    assert_false(it.has_chain_id || it.has_to || it.has_amount || it.asset_kind != TKM_ASSET_NONE);
    uint8_t want[32];
    tu_hex_exact(want, 32, "0xd9eba16ed0ecae432b71fe008c98cc872bb4cc214d3220a36f365326cf807d68");
    assert_memory_equal(it.payload_hash, want, 32);
    json_t *j = NULL;
    TU_ASSERT_OK(tkm_intent_to_json(&j, &it, NULL));
    char *s = json_dumps(j, JSON_COMPACT);
    assert_non_null(strstr(s, "\"message\":{\"length\":11,\"text\":true}"));
    assert_null(strstr(s, "hello"));
    assert_null(strstr(s, "68656c6c6f"));
    free(s);
    json_decref(j);
    /* exactly one payload; the message must be hex */
    const char *bad[] = {
        "{\"requestId\":\"m\",\"key\":\"hot\",\"notAfter\":1,\"message\":\"hello\"}",
        "{\"requestId\":\"m\",\"key\":\"hot\",\"notAfter\":1,\"message\":\"0x123\"}",
        "{\"requestId\":\"m\",\"key\":\"hot\",\"notAfter\":1,\"message\":\"0x00\",\"tx\":{}}",
        "{\"requestId\":\"m\",\"key\":\"hot\",\"notAfter\":1,\"message\":5}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tkm_rc rc = tkm_request_parse(&r, (const uint8_t *)bad[i], strlen(bad[i]));
        tkm_request_free(&r);
        if (tkm_ok(rc)) fail_msg("bad request %zu accepted", i);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_intent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
