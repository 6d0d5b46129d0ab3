/*
 * Collateral provider: building blocks, offline files, and fetching over real
 * TLS from tests/verifier/pcs_server.py playing a PCCS and a KDS with real
 * collateral (captured PCS responses, dcap-qvl's collateral, a real VCEK);
 * memory/disk caching, refetch rules, failures.
 */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attest/attest.h"
#include "crypto/crypto.h"
#include "verifier/tkm_vcoll.h"
#include "verifier/tkm_vkeys.h"

#define SGX_T 1751624924  /* inside sgx_quote_collateral.json's window */
#define SGX_NEXT 1752919278
#define TDX_T 1688173200  /* inside the go-tdx-guest collateral window */
#define SNP_T 1785000000      /* inside the real Milan CRL's window (amd-kds/milan.crl.der) */
#define MILAN_CRL_NEXT 1786147200 /* its nextUpdate, 2026-08-08T00:00:00Z */

static char dir[256], cert[300], key[300], logpath[300], cache[300];
static pid_t srv_pid;
static int srv_port;

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tkm_vcoll_XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cert, sizeof cert, "%s/srv.crt", dir);
    snprintf(key, sizeof key, "%s/srv.key", dir);
    snprintf(logpath, sizeof logpath, "%s/requests.log", dir);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    TU_ASSERT_OK(tkm_vtls_make_self_signed(cert, key, NULL));
    srv_pid = 0;
    return 0;
}

static void stop_server(void) {
    if (srv_pid > 0) {
        kill(srv_pid, SIGTERM);
        waitpid(srv_pid, NULL, 0);
        srv_pid = 0;
    }
}

static int teardown(void **state) {
    (void)state;
    stop_server();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void start_server(const char *p1, const char *p2) {
    char script[512];
    const char *src = getenv("TKM_SOURCE_DIR");
    assert_non_null(src);
    snprintf(script, sizeof script, "%s/tests/verifier/pcs_server.py", src);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    srv_pid = fork();
    assert_true(srv_pid >= 0);
    if (srv_pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execlp("python3", "python3", script, cert, key, logpath, p1, p2 /* may be NULL */, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[64] = "";
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_int_equal(sscanf(line, "PORT %d", &srv_port), 1);
}

static int log_lines(void) {
    FILE *f = fopen(logpath, "r");
    if (!f) return 0;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

static int log_has(const char *line) {
    FILE *f = fopen(logpath, "r");
    if (!f) return 0;
    char buf[1024];
    int hit = 0;
    while (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = 0;
        if (strcmp(buf, line) == 0) hit = 1;
    }
    fclose(f);
    return hit;
}

static tkm_evidence *load_ev(const char *rel, size_t max_len) {
    size_t len;
    uint8_t *b = tu_read_file(tu_vector_path(rel), &len);
    if (max_len && len > max_len) len = max_len;
    tkm_evidence *ev = NULL;
    TU_ASSERT_OK(tkm_evidence_parse(&ev, b, len));
    free(b);
    return ev;
}

static const tkm_check *check(const tkm_appraisal *a, const char *name) {
    const tkm_check *c = tkm_appraisal_find(a, name);
    assert_non_null(c);
    return c;
}

static void url(char *out, size_t cap) { snprintf(out, cap, "https://127.0.0.1:%d", srv_port); }

/* ---- building blocks ---- */

static void test_member_span(void **state) {
    (void)state;
    size_t off, n;
    const char *doc = " {\"a\" : [1, {\"x\":\"}]\\\"\"}] ,\n \"tcbInfo\":{\"k\":\"v}\",\"n\":[1,2]} , \"signature\":\"ab\"}";
    TU_ASSERT_OK(tkm_vcoll_json_member_span((const uint8_t *)doc, strlen(doc), "tcbInfo", &off, &n));
    assert_int_equal(n, strlen("{\"k\":\"v}\",\"n\":[1,2]}"));
    assert_memory_equal(doc + off, "{\"k\":\"v}\",\"n\":[1,2]}", n);
    TU_ASSERT_OK(tkm_vcoll_json_member_span((const uint8_t *)doc, strlen(doc), "signature", &off, &n));
    assert_memory_equal(doc + off, "\"ab\"", 4);
    TU_ASSERT_OK(tkm_vcoll_json_member_span((const uint8_t *)doc, strlen(doc), "a", &off, &n));
    assert_memory_equal(doc + off, "[1, {\"x\":\"}]\\\"\"}]", n);
    TU_ASSERT_RC(tkm_vcoll_json_member_span((const uint8_t *)doc, strlen(doc), "x", &off, &n), TKM_ERR_JSON_MISSING);
    const char *dup = "{\"tcbInfo\":1,\"tcbInfo\":2}";
    TU_ASSERT_RC(tkm_vcoll_json_member_span((const uint8_t *)dup, strlen(dup), "tcbInfo", &off, &n), TKM_ERR_JSON_DUPLICATE);
    const char *arr = "[1]";
    TU_ASSERT_RC(tkm_vcoll_json_member_span((const uint8_t *)arr, 3, "tcbInfo", &off, &n), TKM_ERR_JSON_TYPE);
    const char *trailing = "{\"tcbInfo\":1} x";
    assert_true(tkm_failed(tkm_vcoll_json_member_span((const uint8_t *)trailing, strlen(trailing), "tcbInfo", &off, &n)));
    /* the real captured PCS response: the span is the exact signed text that the DERIVED collateral carries */
    size_t len;
    uint8_t *resp = tu_read_file(tu_vector_path("attestation/go-tdx-guest/sample_tcbInfo_response"), &len);
    json_t *coll = tu_load_vector("attestation/go-tdx-guest/DERIVED_collateral_spr_e4.json");
    const char *want = json_string_value(json_object_get(coll, "tcb_info"));
    TU_ASSERT_OK(tkm_vcoll_json_member_span(resp, len, "tcbInfo", &off, &n));
    assert_int_equal(n, strlen(want));
    assert_memory_equal(resp + off, want, n);
    json_decref(coll);
    free(resp);
}

static void test_crl_and_urldecode(void **state) {
    (void)state;
    size_t len, n;
    uint8_t *der = tu_read_file(tu_vector_path("attestation/go-tdx-guest/rootcrl.der"), &len), *got = NULL;
    TU_ASSERT_OK(tkm_vcoll_crl_to_der(&got, &n, der, len));
    assert_int_equal(n, len);
    assert_memory_equal(got, der, len);
    free(got);
    /* hex text (PCCS style), with a newline */
    char *hx = malloc(2 * len + 2);
    for (size_t i = 0; i < len; i++) sprintf(hx + 2 * i, "%02x", der[i]);
    strcat(hx, "\n");
    TU_ASSERT_OK(tkm_vcoll_crl_to_der(&got, &n, (const uint8_t *)hx, strlen(hx)));
    assert_int_equal(n, len);
    assert_memory_equal(got, der, len);
    free(got);
    free(hx);
    /* PEM (made by openssl) */
    char cmd[900];
    snprintf(cmd, sizeof cmd, "openssl crl -inform DER -in '%s' -outform PEM -out '%s/crl.pem'",
             tu_vector_path("attestation/go-tdx-guest/rootcrl.der"), dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/crl.pem", dir);
    size_t pl;
    uint8_t *pem = tu_read_file(cmd, &pl);
    TU_ASSERT_OK(tkm_vcoll_crl_to_der(&got, &n, pem, pl));
    assert_int_equal(n, len);
    assert_memory_equal(got, der, len);
    free(got);
    pem[40] = '!';
    TU_ASSERT_RC(tkm_vcoll_crl_to_der(&got, &n, pem, pl), TKM_ERR_COLLATERAL);
    free(pem);
    TU_ASSERT_RC(tkm_vcoll_crl_to_der(&got, &n, (const uint8_t *)"<html>", 6), TKM_ERR_COLLATERAL);
    TU_ASSERT_RC(tkm_vcoll_crl_to_der(&got, &n, (const uint8_t *)"", 0), TKM_ERR_COLLATERAL);
    free(der);
    char *s;
    TU_ASSERT_OK(tkm_vcoll_url_decode(&s, &n, "-----BEGIN%20CERT%0A%2B%2f", 26));
    assert_string_equal(s, "-----BEGIN CERT\n+/");
    free(s);
    TU_ASSERT_RC(tkm_vcoll_url_decode(&s, &n, "%4", 2), TKM_ERR_COLLATERAL);
    TU_ASSERT_RC(tkm_vcoll_url_decode(&s, &n, "%zz", 3), TKM_ERR_COLLATERAL);
}

/* ---- offline files ---- */

static void test_files(void **state) {
    (void)state;
    char f1[512], f2[512];
    snprintf(f1, sizeof f1, "%s", tu_vector_path("attestation/dcap-qvl/sgx_quote_collateral.json"));
    /* the VCEK followed by the AMD CRL, as `cat vcek.der milan.crl.der` makes it */
    snprintf(f2, sizeof f2, "%s/vcek+crl.der", dir);
    char cmd[1200], v1[512];
    snprintf(v1, sizeof v1, "%s", tu_vector_path("attestation/virtee-sev/vcek_milan.der"));
    snprintf(cmd, sizeof cmd, "cat '%s' '%s' > '%s'", v1, tu_vector_path("attestation/amd-kds/milan.crl.der"), f2);
    assert_int_equal(system(cmd), 0);
    const char *files[] = {f1, f2};
    tkm_vcoll_config cfg = {.files = files, .n_files = 2};
    tkm_vcoll *p = NULL;
    TU_ASSERT_OK(tkm_vcoll_new(&p, &cfg));
    tkm_attest_ctx *ctx = NULL;
    TU_ASSERT_OK(tkm_attest_ctx_new(&ctx));
    tkm_evidence *sgx = load_ev("attestation/dcap-qvl/sgx_quote", 0);
    tkm_evidence *snp = load_ev("attestation/virtee-sev/DERIVED_report_milan.bin", 0);
    tkm_evidence *tdx = load_ev("attestation/dcap-qvl/tdx_quote", 0);
    tkm_vcoll_ref *r = NULL;
    const char *src;
    TU_ASSERT_OK(tkm_vcoll_get(p, sgx, SGX_T, &r, &src));
    assert_string_equal(src, "file");
    tkm_appraisal a;
    tkm_appraise_opts o = {.at = SGX_T};
    TU_ASSERT_OK(tkm_appraise(ctx, sgx, tkm_vcoll_ref_collateral(r), NULL, &o, &a));
    assert_int_equal(a.verdict, TKM_VERDICT_VALID);
    assert_int_equal(a.tcb_status, TKM_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    tkm_vcoll_release(r);
    TU_ASSERT_OK(tkm_vcoll_get(p, snp, SNP_T, &r, &src));
    assert_string_equal(src, "file");
    o.at = SNP_T;
    TU_ASSERT_OK(tkm_appraise(ctx, snp, tkm_vcoll_ref_collateral(r), NULL, &o, &a));
    assert_int_equal(a.verdict, TKM_VERDICT_VALID);
    assert_int_equal(a.revocation, TKM_REVOCATION_CHECKED);
    tkm_vcoll_release(r);
    /* nothing for the TDX quote, and nowhere to fetch it from */
    TU_ASSERT_RC(tkm_vcoll_get(p, tdx, SGX_T, &r, &src), TKM_ERR_COLLATERAL_UNAVAILABLE);
    assert_null(r);
    assert_non_null(strstr(tkm_err_detail(), "intel/tdx/b0c06f000000/platform"));
    /* sim needs none */
    tkm_evidence_free(sgx);
    tkm_evidence_free(snp);
    tkm_evidence_free(tdx);
    tkm_attest_ctx_free(ctx);
    tkm_vcoll_free(p);
    /* a bad file is refused at start, naming it */
    const char *bad[] = {tu_vector_path("attestation/dcap-qvl/sgx_quote")};
    tkm_vcoll_config bc = {.files = bad, .n_files = 1};
    assert_true(tkm_failed(tkm_vcoll_new(&p, &bc)));
    assert_non_null(strstr(tkm_err_detail(), "sgx_quote"));
}

/* ---- fetching ---- */

static void test_fetch_sgx(void **state) {
    (void)state;
    start_server("sgx-dcap-qvl", "snp-milan");
    char u[64];
    url(u, sizeof u);
    tkm_vcoll_config cfg = {.pccs_url = u, .ca_file = cert, .cache_dir = cache};
    tkm_vcoll *p = NULL;
    TU_ASSERT_OK(tkm_vcoll_new(&p, &cfg));
    tkm_attest_ctx *ctx = NULL;
    TU_ASSERT_OK(tkm_attest_ctx_new(&ctx));
    tkm_evidence *ev = load_ev("attestation/dcap-qvl/sgx_quote", 0);
    tkm_vcoll_ref *r = NULL;
    const char *src;
    TU_ASSERT_OK(tkm_vcoll_get(p, ev, SGX_T, &r, &src));
    assert_string_equal(src, "fetched");
    assert_int_equal(log_lines(), 4);
    assert_true(log_has("GET /sgx/certification/v4/tcb?fmspc=00A067110000"));
    assert_true(log_has("GET /sgx/certification/v4/qe/identity"));
    assert_true(log_has("GET /sgx/certification/v4/pckcrl?ca=processor&encoding=der"));
    assert_true(log_has("GET /sgx/certification/v4/rootcacrl"));
    tkm_appraisal a;
    tkm_appraise_opts o = {.at = SGX_T};
    TU_ASSERT_OK(tkm_appraise(ctx, ev, tkm_vcoll_ref_collateral(r), NULL, &o, &a));
    assert_int_equal(a.verdict, TKM_VERDICT_VALID);
    assert_int_equal(a.tcb_status, TKM_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    assert_int_equal(a.n_advisories, 2);
    {
        tkm_collateral_info in;
        tkm_collateral_info_get(tkm_vcoll_ref_collateral(r), &in);
        assert_int_equal(in.next_update, SGX_NEXT); /* QE identity nextUpdate is the earliest */
    }
    tkm_vcoll_release(r);
    /* second time: memory, no request */
    TU_ASSERT_OK(tkm_vcoll_get(p, ev, SGX_T + 10, &r, &src));
    assert_string_equal(src, "memory");
    tkm_vcoll_release(r);
    assert_int_equal(log_lines(), 4);
    uint64_t fetches, mem, disk;
    tkm_vcoll_stats(p, &fetches, &mem, &disk);
    assert_int_equal(fetches, 4);
    assert_int_equal(mem, 1);
    tkm_vcoll_free(p);
    /* a new provider on the same cache directory: disk, no request */
    TU_ASSERT_OK(tkm_vcoll_new(&p, &cfg));
    TU_ASSERT_OK(tkm_vcoll_get(p, ev, SGX_T, &r, &src));
    assert_string_equal(src, "disk");
    tkm_vcoll_release(r);
    assert_int_equal(log_lines(), 4);
    /* past nextUpdate: refetched once (the server still has the same, now stale, data) */
    TU_ASSERT_OK(tkm_vcoll_get(p, ev, SGX_NEXT + 5, &r, &src));
    assert_string_equal(src, "fetched");
    tkm_vcoll_release(r);
    assert_int_equal(log_lines(), 8);
    /* …and not again within the retry interval: the stale copy is served and appraisal says why */
    TU_ASSERT_OK(tkm_vcoll_get(p, ev, SGX_NEXT + 30, &r, &src));
    assert_string_equal(src, "stale");
    assert_int_equal(log_lines(), 8);
    o.at = SGX_NEXT + 30;
    TU_ASSERT_OK(tkm_appraise(ctx, ev, tkm_vcoll_ref_collateral(r), NULL, &o, &a));
    assert_int_equal(a.verdict, TKM_VERDICT_INVALID);
    assert_false(check(&a, "qeidentity.validity")->ok);
    tkm_vcoll_release(r);
    /* the server goes away: the stale copy keeps being served, nothing crashes */
    stop_server();
    TU_ASSERT_OK(tkm_vcoll_get(p, ev, SGX_NEXT + 100, &r, &src));
    assert_string_equal(src, "stale");
    tkm_vcoll_release(r);
    tkm_vcoll_free(p);
    tkm_evidence_free(ev);
    tkm_attest_ctx_free(ctx);
}

static void test_fetch_tdx_captured_pcs(void **state) {
    (void)state;
    start_server("tdx-spr-e4", NULL);
    char u[64];
    url(u, sizeof u);
    tkm_vcoll_config cfg = {.pccs_url = u, .ca_file = cert};
    tkm_vcoll *p = NULL;
    TU_ASSERT_OK(tkm_vcoll_new(&p, &cfg));
    tkm_attest_ctx *ctx = NULL;
    TU_ASSERT_OK(tkm_attest_ctx_new(&ctx));
    /* the quote without the 39 bytes of text go-tdx-guest appended (see the attestation MANIFEST) */
    tkm_evidence *ev = load_ev("attestation/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", 4935);
    tkm_vcoll_ref *r = NULL;
    const char *src;
    TU_ASSERT_OK(tkm_vcoll_get(p, ev, TDX_T, &r, &src));
    assert_string_equal(src, "fetched");
    assert_true(log_has("GET /tdx/certification/v4/tcb?fmspc=50806F000000"));
    assert_true(log_has("GET /tdx/certification/v4/qe/identity"));
    assert_true(log_has("GET /sgx/certification/v4/pckcrl?ca=platform&encoding=der"));
    tkm_appraisal a, b;
    tkm_appraise_opts o = {.at = TDX_T};
    TU_ASSERT_OK(tkm_appraise(ctx, ev, tkm_vcoll_ref_collateral(r), NULL, &o, &a));
    /* the collateral from the captured responses verifies; the quote's TCB matches no level (expected) */
    assert_true(check(&a, "tcbinfo.signature")->ok);
    assert_true(check(&a, "tcbinfo.chain")->ok);
    assert_true(check(&a, "qeidentity.signature")->ok);
    assert_true(check(&a, "pck.crl")->ok);
    assert_false(check(&a, "tcb.level")->ok);
    assert_int_equal(a.verdict, TKM_VERDICT_INVALID);
    /* same outcome, check by check, as with the offline DERIVED collateral */
    size_t len;
    uint8_t *cj = tu_read_file(tu_vector_path("attestation/go-tdx-guest/DERIVED_collateral_spr_e4.json"), &len);
    tkm_collateral *off = NULL;
    TU_ASSERT_OK(tkm_dcap_collateral_parse(&off, cj, len));
    TU_ASSERT_OK(tkm_appraise(ctx, ev, off, NULL, &o, &b));
    assert_int_equal(a.n_checks, b.n_checks);
    for (size_t i = 0; i < a.n_checks; i++) {
        assert_string_equal(a.checks[i].name, b.checks[i].name);
        assert_int_equal(a.checks[i].ok, b.checks[i].ok);
    }
    tkm_collateral_free(off);
    free(cj);
    tkm_vcoll_release(r);
    tkm_vcoll_free(p);
    tkm_evidence_free(ev);
    tkm_attest_ctx_free(ctx);
}

static void test_fetch_snp(void **state) {
    (void)state;
    start_server("snp-milan", NULL);
    char u[64];
    url(u, sizeof u);
    /* a v2 report does not say its product: Genoa is tried first here, then Milan */
    const char *prods[] = {"Genoa", "Milan"};
    tkm_vcoll_config cfg = {.kds_url = u, .ca_file = cert, .snp_products = prods, .n_snp_products = 2};
    tkm_vcoll *p = NULL;
    TU_ASSERT_OK(tkm_vcoll_new(&p, &cfg));
    tkm_attest_ctx *ctx = NULL;
    TU_ASSERT_OK(tkm_attest_ctx_new(&ctx));
    tkm_evidence *ev = load_ev("attestation/virtee-sev/DERIVED_report_milan.bin", 0);
    tkm_vcoll_ref *r = NULL;
    const char *src;
    TU_ASSERT_OK(tkm_vcoll_get(p, ev, SNP_T, &r, &src));
    assert_string_equal(src, "fetched");
    assert_int_equal(log_lines(), 3); /* Genoa VCEK (404), Milan VCEK, Milan CRL */
    const tkm_snp_report *s = tkm_evidence_snp(ev);
    char want[400], hw[129];
    for (int i = 0; i < 64; i++) sprintf(hw + 2 * i, "%02x", s->chip_id[i]);
    snprintf(want, sizeof want, "GET /vcek/v1/Genoa/%s?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115", hw);
    assert_true(log_has(want));
    snprintf(want, sizeof want, "GET /vcek/v1/Milan/%s?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115", hw);
    assert_true(log_has(want));
    assert_true(log_has("GET /vcek/v1/Milan/crl"));
    assert_false(log_has("GET /vcek/v1/Genoa/crl")); /* no VCEK there: no CRL asked for */
    tkm_collateral_info in;
    tkm_collateral_info_get(tkm_vcoll_ref_collateral(r), &in);
    assert_true(in.has_crl);
    assert_int_equal(in.crl_next_update, MILAN_CRL_NEXT);
    tkm_appraisal a;
    tkm_appraise_opts o = {.at = SNP_T};
    TU_ASSERT_OK(tkm_appraise(ctx, ev, tkm_vcoll_ref_collateral(r), NULL, &o, &a));
    assert_int_equal(a.verdict, TKM_VERDICT_VALID);
    assert_int_equal(a.revocation, TKM_REVOCATION_CHECKED);
    tkm_vcoll_release(r);
    /* fresh until the CRL's nextUpdate (before the VCEK's notAfter): memory */
    TU_ASSERT_OK(tkm_vcoll_get(p, ev, MILAN_CRL_NEXT - 1, &r, &src));
    assert_string_equal(src, "memory");
    tkm_vcoll_release(r);
    assert_int_equal(log_lines(), 3);
    /* another Milan chip: its VCEK is fetched, the product's CRL is reused (no fourth request for it) */
    tkm_evidence *ev2 = load_ev("attestation/go-sev-guest/attestation.bin", 0);
    TU_ASSERT_OK(tkm_vcoll_get(p, ev2, SNP_T, &r, &src));
    assert_string_equal(src, "fetched");
    tkm_collateral_info_get(tkm_vcoll_ref_collateral(r), &in);
    assert_true(in.has_crl);
    tkm_vcoll_release(r);
    assert_int_equal(log_lines(), 5); /* + Genoa VCEK (404), Milan VCEK, and no CRL request */
    FILE *lf = fopen(logpath, "r");
    assert_non_null(lf);
    char line[600];
    int crl_gets = 0;
    while (fgets(line, sizeof line, lf))
        if (strcmp(line, "GET /vcek/v1/Milan/crl\n") == 0) crl_gets++;
    fclose(lf);
    assert_int_equal(crl_gets, 1);
    /* a VCEK sent with a request gets the memoised product CRL attached (no request made) */
    size_t vn;
    uint8_t *vb = tu_read_file(tu_vector_path("attestation/virtee-sev/vcek_milan.der"), &vn);
    tkm_collateral *own = NULL;
    char note[140];
    TU_ASSERT_OK(tkm_vcoll_snp_collateral(p, vb, vn, SNP_T, &own, note, sizeof note));
    assert_string_equal(note, "AMD Milan CRL attached");
    tkm_collateral_info_get(own, &in);
    assert_true(in.has_crl);
    TU_ASSERT_OK(tkm_appraise(ctx, ev, own, NULL, &o, &a));
    assert_int_equal(a.verdict, TKM_VERDICT_VALID);
    assert_int_equal(a.revocation, TKM_REVOCATION_CHECKED);
    tkm_collateral_free(own);
    assert_int_equal(log_lines(), 5);
    /* at the CRL's nextUpdate the entry is stale: the VCEK and the CRL are fetched again */
    TU_ASSERT_OK(tkm_vcoll_get(p, ev, MILAN_CRL_NEXT, &r, &src));
    assert_string_equal(src, "fetched");
    tkm_vcoll_release(r);
    assert_true(log_lines() >= 8);
    tkm_vcoll_free(p);
    /* without a KDS the request's VCEK stays alone and the appraisal says revocation was not checked */
    tkm_vcoll_config none = {0};
    TU_ASSERT_OK(tkm_vcoll_new(&p, &none));
    TU_ASSERT_OK(tkm_vcoll_snp_collateral(p, vb, vn, SNP_T, &own, note, sizeof note));
    assert_string_equal(note, "no kdsUrl configured for the AMD CRL");
    TU_ASSERT_OK(tkm_appraise(ctx, ev, own, NULL, &o, &a));
    assert_int_equal(a.verdict, TKM_VERDICT_INVALID);
    assert_int_equal(a.revocation, TKM_REVOCATION_NOT_CHECKED);
    assert_string_equal(tkm_appraisal_first_failure(&a)->name, "snp.crl");
    tkm_collateral_free(own);
    tkm_vcoll_free(p);
    free(vb);
    tkm_evidence_free(ev2);
    tkm_evidence_free(ev);
    tkm_attest_ctx_free(ctx);
}

/* A disk cache entry holding only the VCEK (written before CRLs were fetched) is not served as fresh. */
static void test_snp_old_disk_entry(void **state) {
    (void)state;
    start_server("snp-milan", NULL);
    char u[64];
    url(u, sizeof u);
    const char *prods[] = {"Milan"};
    tkm_vcoll_config cfg = {.kds_url = u, .ca_file = cert, .cache_dir = cache, .snp_products = prods, .n_snp_products = 1};
    tkm_vcoll *p = NULL;
    TU_ASSERT_OK(tkm_vcoll_new(&p, &cfg));
    tkm_evidence *ev = load_ev("attestation/virtee-sev/DERIVED_report_milan.bin", 0);
    const tkm_snp_report *s = tkm_evidence_snp(ev);
    char k[300], hw[129], hx[65], path[600], cmd[1400];
    for (int i = 0; i < 64; i++) sprintf(hw + 2 * i, "%02x", s->chip_id[i]);
    snprintf(k, sizeof k, "amd/Milan/%s/3.0.8.115.0", hw); /* the lookup key (see tkm_vcoll.c amd_key) */
    uint8_t h[32];
    TU_ASSERT_OK(tkm_sha256(h, k, strlen(k)));
    for (int i = 0; i < 32; i++) sprintf(hx + 2 * i, "%02x", h[i]);
    snprintf(path, sizeof path, "%s/%s.bin", cache, hx);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", tu_vector_path("attestation/virtee-sev/vcek_milan.der"), path);
    assert_int_equal(system(cmd), 0);
    tkm_vcoll_ref *r = NULL;
    const char *src;
    TU_ASSERT_OK(tkm_vcoll_get(p, ev, SNP_T, &r, &src));
    assert_string_equal(src, "fetched");
    assert_true(log_has("GET /vcek/v1/Milan/crl"));
    tkm_collateral_info in;
    tkm_collateral_info_get(tkm_vcoll_ref_collateral(r), &in);
    assert_true(in.has_crl);
    tkm_vcoll_release(r);
    tkm_vcoll_free(p);
    /* the rewritten disk entry (VCEK + CRL) is now served from disk by a new provider */
    TU_ASSERT_OK(tkm_vcoll_new(&p, &cfg));
    TU_ASSERT_OK(tkm_vcoll_get(p, ev, SNP_T, &r, &src));
    assert_string_equal(src, "disk");
    tkm_vcoll_release(r);
    tkm_vcoll_free(p);
    tkm_evidence_free(ev);
}

static void test_fetch_failures(void **state) {
    (void)state;
    start_server("broken-tcb", "snp-milan");
    char u[64];
    url(u, sizeof u);
    tkm_evidence *ev = load_ev("attestation/dcap-qvl/sgx_quote", 0);
    tkm_vcoll_ref *r = NULL;
    const char *src;
    /* a response that is not the PCS format */
    tkm_vcoll_config cfg = {.pccs_url = u, .ca_file = cert};
    tkm_vcoll *p = NULL;
    TU_ASSERT_OK(tkm_vcoll_new(&p, &cfg));
    TU_ASSERT_RC(tkm_vcoll_get(p, ev, SGX_T, &r, &src), TKM_ERR_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(tkm_err_detail(), "PCCS response unusable"));
    int n = log_lines();
    /* not retried within the retry interval */
    TU_ASSERT_RC(tkm_vcoll_get(p, ev, SGX_T + 5, &r, &src), TKM_ERR_COLLATERAL_UNAVAILABLE);
    assert_non_null(strstr(tkm_err_detail(), "recent fetch failed"));
    assert_int_equal(log_lines(), n);
    /* retried after it */
    TU_ASSERT_RC(tkm_vcoll_get(p, ev, SGX_T + 61, &r, &src), TKM_ERR_COLLATERAL_UNAVAILABLE);
    assert_int_equal(log_lines(), n + 1);
    tkm_vcoll_free(p);
    /* a server whose certificate we do not trust: refused at the TLS layer, nothing requested */
    char other_cert[400], other_key[400];
    snprintf(other_cert, sizeof other_cert, "%s/other.crt", dir);
    snprintf(other_key, sizeof other_key, "%s/other.key", dir);
    TU_ASSERT_OK(tkm_vtls_make_self_signed(other_cert, other_key, NULL));
    tkm_vcoll_config c2 = {.pccs_url = u, .ca_file = other_cert};
    TU_ASSERT_OK(tkm_vcoll_new(&p, &c2));
    n = log_lines();
    TU_ASSERT_RC(tkm_vcoll_get(p, ev, SGX_T, &r, &src), TKM_ERR_COLLATERAL_UNAVAILABLE);
    assert_int_equal(log_lines(), n);
    tkm_vcoll_free(p);
    /* the server is gone: a clear error, no stale copy to fall back on */
    stop_server();
    tkm_vcoll_config c3 = {.pccs_url = u, .ca_file = cert};
    TU_ASSERT_OK(tkm_vcoll_new(&p, &c3));
    TU_ASSERT_RC(tkm_vcoll_get(p, ev, SGX_T, &r, &src), TKM_ERR_COLLATERAL_UNAVAILABLE);
    tkm_vcoll_free(p);
    tkm_evidence_free(ev);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_member_span, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crl_and_urldecode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_sgx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_tdx_captured_pcs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_snp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_old_disk_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
