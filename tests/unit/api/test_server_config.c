/*
 * Server configuration checks and the plain-HTTP loopback mode, in process
 * (the TLS behaviour is covered end to end by test_server.c).
 */
#include "testutil.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"

static size_t sink(char *p, size_t s, size_t n, void *arg) {
    tkm_wr *w = arg;
    return tkm_ok(tkm_wr_put(w, p, s * n)) ? s * n : 0;
}

static long get(uint16_t port, const char *path, const char *body, char *out, size_t out_len) {
    CURL *h = curl_easy_init();
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port, path);
    tkm_wr w;
    tkm_wr_init(&w, 0);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
    struct curl_slist *hd = NULL;
    if (body) {
        hd = curl_slist_append(hd, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hd);
    snprintf(out, out_len, "%.*s", (int)w.len, w.p ? (const char *)w.p : "");
    tkm_wr_free(&w);
    return status;
}

static void test_config_refusals(void **state) {
    (void)state;
    tkm_api_server *s = NULL;
    tkm_api_config cfg = {.host = "0.0.0.0", .insecure_http = 1};
    TU_ASSERT_RC(tkm_api_server_new(&s, &cfg), TKM_ERR_FORMAT); /* plain HTTP off loopback */
    assert_null(s);
    cfg.host = "::";
    TU_ASSERT_RC(tkm_api_server_new(&s, &cfg), TKM_ERR_FORMAT);
    tkm_api_config tls = {.host = "127.0.0.1"};
    TU_ASSERT_RC(tkm_api_server_new(&s, &tls), TKM_ERR_FORMAT); /* no certificate */
    tls.cert_file = "/nonexistent/cert.pem";
    tls.key_file = "/nonexistent/key.pem";
    TU_ASSERT_RC(tkm_api_server_new(&s, &tls), TKM_ERR_NOT_FOUND);
    static const uint8_t junk[] = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
    tkm_secret *k = NULL;
    TU_ASSERT_OK(tkm_secret_from(&k, junk, sizeof junk - 1));
    tkm_api_config mem = {.host = "127.0.0.1", .cert_pem = junk, .cert_pem_len = sizeof junk - 1, .key_pem = k};
    TU_ASSERT_RC(tkm_api_server_new(&s, &mem), TKM_ERR_TLS);
    tkm_secret_free(k);
}

static unsigned calls;
static void hello(tkm_api_req *r, void *arg) {
    (void)arg;
    calls++;
    tkm_api_req_reply_json(r, 200, json_pack("{s:s,s:b}", "cn", tkm_api_req_identity(r)->cn, "insecure",
                                             tkm_api_req_identity(r)->insecure));
}

static void *runner(void *arg) {
    tu_ignore(tkm_api_server_run(arg));
    return NULL;
}

static void test_plain_http_loopback(void **state) {
    (void)state;
    char body[512];
    /* without insecure_roles only public routes answer */
    tkm_api_server *s = NULL;
    tkm_api_config cfg = {.host = "127.0.0.1", .insecure_http = 1, .threads = 1, .metrics_public = 1};
    TU_ASSERT_OK(tkm_api_server_new(&s, &cfg));
    tkm_api_route r = {.methods = TKM_HTTP_GET | TKM_HTTP_POST, .path = "/hello", .roles = TKM_ROLE_READ, .fn = hello};
    TU_ASSERT_OK(tkm_api_server_route(s, &r));
    TU_ASSERT_RC(tkm_api_server_route(s, &r), TKM_ERR_EXISTS);
    TU_ASSERT_OK(tkm_api_server_start(s));
    uint16_t port = tkm_api_server_port(s);
    assert_true(port > 0);
    pthread_t t;
    pthread_create(&t, NULL, runner, s);
    assert_int_equal(get(port, "/healthz", NULL, body, sizeof body), 200);
    assert_int_equal(get(port, "/metrics", NULL, body, sizeof body), 200); /* metrics_public */
    assert_int_equal(get(port, "/hello", NULL, body, sizeof body), 401);
    assert_non_null(strstr(body, "NO_CLIENT_CERT"));
    char longpath[700] = "/hello/";
    memset(longpath + 7, 'a', 600);
    longpath[607] = 0;
    long st = get(port, longpath, NULL, body, sizeof body);
    if (st != 414) fail_msg("status %ld: %s", st, body);
    tkm_api_server_stop(s);
    pthread_join(t, NULL);
    tkm_api_server_free(s);

    /* with insecure_roles the loopback caller gets them */
    cfg.insecure_roles = TKM_ROLE_READ;
    cfg.metrics_public = 0;
    TU_ASSERT_OK(tkm_api_server_new(&s, &cfg));
    TU_ASSERT_OK(tkm_api_server_route(s, &r));
    TU_ASSERT_OK(tkm_api_server_start(s));
    port = tkm_api_server_port(s);
    pthread_create(&t, NULL, runner, s);
    calls = 0;
    assert_int_equal(get(port, "/hello", NULL, body, sizeof body), 200);
    assert_non_null(strstr(body, "\"insecure\":true"));
    assert_int_equal(get(port, "/metrics", NULL, body, sizeof body), 200); /* role read */
    assert_int_equal(get(port, "/hello", "{\"a\":1}", body, sizeof body), 200);
    assert_int_equal(calls, 2);
    tkm_api_server_stop(s);
    pthread_join(t, NULL);
    tkm_api_server_free(s);
}

int main(void) {
    tkm_json_init();
    setenv("TKM_DONT_MLOCK", "1", 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_refusals),
        cmocka_unit_test(test_plain_http_loopback),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
