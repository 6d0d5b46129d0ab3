/*
 * JSON-RPC 2.0 parsing and error mapping. Expected outcomes follow the
 * examples of the specification (https://www.jsonrpc.org/specification §7).
 */
#include "testutil.h"

#include <string.h>

#include "api/api.h"

static tkm_rc parse(const char *s, tkm_rpc_request **r) {
    return tkm_rpc_parse(r, (const uint8_t *)s, strlen(s), NULL);
}

static void test_spec_single_calls(void **state) {
    (void)state;
    tkm_rpc_request *r = NULL;
    TU_ASSERT_OK(parse("{\"jsonrpc\": \"2.0\", \"method\": \"subtract\", \"params\": [42, 23], \"id\": 1}", &r));
    assert_int_equal(r->n, 1);
    assert_int_equal(r->batch, 0);
    assert_int_equal(r->items[0].invalid, 0);
    assert_string_equal(r->items[0].method, "subtract");
    assert_true(json_is_array(r->items[0].params));
    assert_int_equal(json_integer_value(r->items[0].id), 1);
    tkm_rpc_request_free(r);

    /* named params, string id */
    TU_ASSERT_OK(parse("{\"jsonrpc\":\"2.0\",\"method\":\"subtract\",\"params\":{\"subtrahend\":23},\"id\":\"a\"}", &r));
    assert_true(json_is_object(r->items[0].params));
    assert_string_equal(json_string_value(r->items[0].id), "a");
    tkm_rpc_request_free(r);

    /* notification: no id at all; id null is a request answered with null */
    TU_ASSERT_OK(parse("{\"jsonrpc\": \"2.0\", \"method\": \"update\", \"params\": [1,2,3,4,5]}", &r));
    assert_int_equal(r->items[0].invalid, 0);
    assert_null(r->items[0].id);
    tkm_rpc_request_free(r);
    TU_ASSERT_OK(parse("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":null}", &r));
    assert_int_equal(r->items[0].invalid, 0);
    assert_true(json_is_null(r->items[0].id));
    assert_null(r->items[0].params);
    tkm_rpc_request_free(r);
}

static void test_spec_invalid_json_and_requests(void **state) {
    (void)state;
    tkm_rpc_request *r = NULL;
    tkm_rpc_error e;
    /* rpc call with invalid JSON → -32700 */
    tkm_rc rc = parse("{\"jsonrpc\": \"2.0\", \"method\": \"foobar, \"params\": \"bar\", \"baz]", &r);
    TU_ASSERT_RC(rc, TKM_ERR_JSON);
    assert_null(r);
    tkm_rpc_error_for_parse(&e, rc);
    assert_int_equal(e.code, TKM_RPC_PARSE_ERROR);
    /* duplicate keys and trailing data are parse errors too (strict JSON) */
    rc = parse("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"method\":\"b\",\"id\":1}", &r);
    TU_ASSERT_RC(rc, TKM_ERR_JSON_DUPLICATE);
    tkm_rpc_error_for_parse(&e, rc);
    assert_int_equal(e.code, TKM_RPC_PARSE_ERROR);
    TU_ASSERT_RC(parse("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1} {}", &r), TKM_ERR_JSON);

    /* invalid request object: method is a number */
    TU_ASSERT_OK(parse("{\"jsonrpc\": \"2.0\", \"method\": 1, \"params\": \"bar\"}", &r));
    assert_int_equal(r->items[0].invalid, 1);
    assert_true(json_is_null(r->items[0].id)); /* not a notification: answered with id null */
    tkm_rpc_request_free(r);

    /* empty batch → a single -32600 */
    rc = parse("[]", &r);
    TU_ASSERT_RC(rc, TKM_ERR_REQUEST);
    tkm_rpc_error_for_parse(&e, rc);
    assert_int_equal(e.code, TKM_RPC_INVALID_REQUEST);

    /* [1] and [1,2,3]: one invalid item each, id null */
    TU_ASSERT_OK(parse("[1,2,3]", &r));
    assert_int_equal(r->batch, 1);
    assert_int_equal(r->n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(r->items[i].invalid, 1);
        assert_true(json_is_null(r->items[i].id));
    }
    tkm_rpc_request_free(r);
}

static void test_strictness(void **state) {
    (void)state;
    static const struct {
        const char *body;
        int invalid;
        int id_kept; /* the error answer carries the request's own id */
    } cases[] = {
        {"{\"jsonrpc\":\"1.0\",\"method\":\"m\",\"id\":7}", 1, 1},
        {"{\"jsonrpc\":2.0,\"method\":\"m\",\"id\":7}", 1, 1},
        {"{\"jsonrpc\":\"2.0 \",\"method\":\"m\",\"id\":7}", 1, 1},
        {"{\"method\":\"m\",\"id\":7}", 1, 1},
        {"{\"jsonrpc\":\"2.0\",\"id\":7}", 1, 1},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"\",\"id\":7}", 1, 1},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":\"x\",\"id\":7}", 1, 1},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":5,\"id\":7}", 1, 1},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":null,\"id\":7}", 1, 1},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"extra\":1,\"id\":7}", 1, 1},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1.5}", 1, 0},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":[1]}", 1, 0},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":{}}", 1, 0},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":true}", 1, 0},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[],\"id\":-9}", 0, 1},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{},\"id\":\"\"}", 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tkm_rpc_request *r = NULL;
        tkm_rc rc = parse(cases[i].body, &r);
        if (tkm_failed(rc)) fail_msg("case %zu: parse failed: %s", i, tkm_err_detail());
        if (r->items[0].invalid != cases[i].invalid) fail_msg("case %zu: invalid=%d", i, r->items[0].invalid);
        if (cases[i].invalid) assert_non_null(r->items[0].why);
        if (cases[i].id_kept)
            assert_false(json_is_null(r->items[0].id));
        else
            assert_true(json_is_null(r->items[0].id));
        tkm_rpc_request_free(r);
    }
    /* a method name longer than TKM_RPC_METHOD_MAX is invalid */
    char body[400];
    char name[TKM_RPC_METHOD_MAX + 2];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = 0;
    snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"id\":1}", name);
    tkm_rpc_request *r = NULL;
    TU_ASSERT_OK(parse(body, &r));
    assert_int_equal(r->items[0].invalid, 1);
    tkm_rpc_request_free(r);
    /* a NUL inside the method name is refused by the strict JSON loader */
    TU_ASSERT_RC(parse("{\"jsonrpc\":\"2.0\",\"method\":\"m\\u0000x\",\"id\":7}", &r), TKM_ERR_JSON);
    /* a bare JSON value is not a request */
    TU_ASSERT_RC(parse("1", &r), TKM_ERR_JSON);
    TU_ASSERT_RC(parse("", &r), TKM_ERR_JSON);
}

static void test_mixed_batch_and_limits(void **state) {
    (void)state;
    tkm_rpc_request *r = NULL;
    /* spec §7 "rpc call Batch" */
    TU_ASSERT_OK(parse("["
                       "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[1,2,4],\"id\":\"1\"},"
                       "{\"jsonrpc\":\"2.0\",\"method\":\"notify_hello\",\"params\":[7]},"
                       "{\"jsonrpc\":\"2.0\",\"method\":\"subtract\",\"params\":[42,23],\"id\":\"2\"},"
                       "{\"foo\":\"boo\"},"
                       "{\"jsonrpc\":\"2.0\",\"method\":\"foo.get\",\"params\":{\"name\":\"myself\"},\"id\":\"5\"},"
                       "{\"jsonrpc\":\"2.0\",\"method\":\"get_data\",\"id\":\"9\"}"
                       "]",
                       &r));
    assert_int_equal(r->n, 6);
    int invalid[6] = {0, 0, 0, 1, 0, 0};
    for (size_t i = 0; i < 6; i++) assert_int_equal(r->items[i].invalid, invalid[i]);
    assert_null(r->items[1].id);               /* notification */
    assert_true(json_is_null(r->items[3].id)); /* invalid: answered with null */
    tkm_rpc_request_free(r);

    tkm_rpc_limits lim = {.max_batch = 2};
    const char *three = "[{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1},{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":2},"
                        "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":3}]";
    tkm_rc rc = tkm_rpc_parse(&r, (const uint8_t *)three, strlen(three), &lim);
    TU_ASSERT_RC(rc, TKM_ERR_BATCH_TOO_LARGE);
    tkm_rpc_error e;
    tkm_rpc_error_for_parse(&e, rc);
    assert_int_equal(e.code, TKM_RPC_INVALID_REQUEST);
    assert_string_equal(e.reason, "BATCH_TOO_LARGE");
    lim.max_batch = 0;
    lim.json.max_bytes = 16;
    TU_ASSERT_RC(tkm_rpc_parse(&r, (const uint8_t *)three, strlen(three), &lim), TKM_ERR_JSON_SIZE);
    lim.json.max_bytes = 0;
    lim.json.max_depth = 3;
    const char *deep = "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[[[1]]],\"id\":1}";
    TU_ASSERT_RC(tkm_rpc_parse(&r, (const uint8_t *)deep, strlen(deep), &lim), TKM_ERR_JSON_DEPTH);
}

static void test_error_mapping(void **state) {
    (void)state;
    tkm_rpc_error e;
    /* a parse failure inside params → -32602 with reason and detail */
    tkm_err_detail_set("params[0].to: invalid address");
    tkm_rpc_error_from_rc(&e, TKM_RC(TKM_ERR_ADDRESS));
    assert_int_equal(e.code, TKM_RPC_INVALID_PARAMS);
    assert_string_equal(e.reason, "ADDRESS");
    assert_string_equal(e.detail, "params[0].to: invalid address");
    /* application errors keep the teekm number */
    tkm_err_detail_set("daily limit");
    tkm_rpc_error_from_rc(&e, TKM_RC(TKM_ERR_POLICY_DENIED));
    assert_int_equal(e.code, 400);
    assert_string_equal(e.reason, "POLICY_DENIED");
    /* internal failures say nothing */
    tkm_err_detail_set("pointer 0x1234 in state 7");
    tkm_rpc_error_from_rc(&e, TKM_RC(TKM_ERR_INTERNAL));
    assert_int_equal(e.code, TKM_RPC_INTERNAL_ERROR);
    assert_string_equal(e.detail, "");

    /* JSON form: data carries reason, rule, detail */
    tkm_rpc_error p = {.code = 400, .err = TKM_ERR_POLICY_DENIED};
    snprintf(p.reason, sizeof p.reason, "LIMIT_EXCEEDED");
    snprintf(p.rule, sizeof p.rule, "treasury-daily");
    json_t *j = tkm_rpc_error_json(&p);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "code")), 400);
    assert_string_equal(json_string_value(json_object_get(j, "message")), "request denied by policy");
    json_t *d = json_object_get(j, "data");
    assert_string_equal(json_string_value(json_object_get(d, "reason")), "LIMIT_EXCEEDED");
    assert_string_equal(json_string_value(json_object_get(d, "rule")), "treasury-daily");
    assert_null(json_object_get(d, "detail"));
    json_decref(j);
    tkm_rpc_error_std(&e, TKM_RPC_METHOD_NOT_FOUND, NULL);
    j = tkm_rpc_error_json(&e);
    assert_string_equal(json_string_value(json_object_get(j, "message")), "Method not found");
    assert_null(json_object_get(j, "data"));
    json_decref(j);
}

int main(void) {
    tkm_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_single_calls),
        cmocka_unit_test(test_spec_invalid_json_and_requests),
        cmocka_unit_test(test_strictness),
        cmocka_unit_test(test_mixed_batch_and_limits),
        cmocka_unit_test(test_error_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
