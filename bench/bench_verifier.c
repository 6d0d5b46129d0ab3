/*
 * teekm bench verifier — the verifier service's request paths next to raw
 * baselines measured in the same run:
 *   POST /v1/attest (sim evidence: parse, claims, appraisal, registry append
 *   with synchronous=FULL)  vs  tkm_appraise of the same evidence alone;
 *   GET /v1/instances/{id}  vs  the raw SQLite SELECT of the same row;
 *   POST /v1/nonce          vs  one raw HMAC-SHA256.
 */
#include "bench.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attest.h"
#include "crypto/crypto.h"
#include "tee/tee.h"
#include "verifier/tkm_verifier.h"
#include "verifier/tkm_vkeys.h"

typedef struct {
    tkm_verifier *v;
    char *attest_body;
    char path[128];
    /* baselines */
    tkm_attest_ctx *ctx;
    tkm_evidence *ev;
    tkm_appraisal_policy *pol;
    uint8_t rd[64];
    sqlite3 *db;
    sqlite3_stmt *sel;
    uint8_t id[32];
    int64_t now;
} vbench;

static int call(vbench *b, unsigned method, const char *path, const char *body, int want) {
    tkm_vreq r = {method, path, NULL, (const uint8_t *)body, body ? strlen(body) : 0, 0, b->now};
    int st;
    json_t *resp = NULL;
    tkm_verifier_handle(b->v, &r, &st, &resp);
    json_decref(resp);
    return st == want ? 0 : -1;
}

static int svc_attest(void *ctx) { return call(ctx, TKM_VREQ_POST, "/v1/attest", ((vbench *)ctx)->attest_body, 200); }
static int svc_instance(void *ctx) { return call(ctx, TKM_VREQ_GET, ((vbench *)ctx)->path, NULL, 200); }
static int svc_nonce(void *ctx) { return call(ctx, TKM_VREQ_POST, "/v1/nonce", "", 200); }

static int raw_appraise(void *ctx) {
    vbench *b = ctx;
    tkm_appraisal *res = malloc(sizeof *res);
    tkm_appraise_opts o = {.at = b->now, .expected_report_data = b->rd};
    int r = res && tkm_ok(tkm_appraise(b->ctx, b->ev, NULL, b->pol, &o, res)) && res->verdict == TKM_VERDICT_VALID ? 0 : -1;
    free(res);
    return r;
}

static int raw_select(void *ctx) {
    vbench *b = ctx;
    sqlite3_bind_blob(b->sel, 1, b->id, 32, SQLITE_STATIC);
    int ok = sqlite3_step(b->sel) == SQLITE_ROW && sqlite3_column_bytes(b->sel, 1) > 0;
    sqlite3_reset(b->sel);
    return ok ? 0 : -1;
}

static int raw_hmac(void *ctx) {
    vbench *b = ctx;
    uint8_t out[32];
    return tkm_ok(tkm_hmac_sha256(out, b->rd, 32, b->rd, 40)) ? 0 : -1;
}

static int setup(vbench *b, char *dir) {
    char p[512], cfg[1024];
    snprintf(p, sizeof p, "%s/data", dir);
    if (tkm_failed(tkm_vkeys_init_dir(p, NULL))) return -1;
    snprintf(p, sizeof p, "%s/policy.json", dir);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    static const char pol[] = "{\"version\":1,\"sim\":{\"enabled\":true}}";
    fputs(pol, f);
    fclose(f);
    snprintf(cfg, sizeof cfg, "{\"dataDir\":\"data\",\"institution\":\"bench\",\"appraisalPolicy\":\"policy.json\"}");
    tkm_vconfig *c = NULL;
    if (tkm_failed(tkm_vconfig_parse(&c, (const uint8_t *)cfg, strlen(cfg), dir))) return -1;
    tkm_rc rc = tkm_verifier_open(&b->v, c);
    tkm_vconfig_free(c);
    if (tkm_failed(rc) || tkm_failed(tkm_appraisal_policy_parse(&b->pol, (const uint8_t *)pol, strlen(pol))) ||
        tkm_failed(tkm_attest_ctx_new(&b->ctx)))
        return -1;
    /* a sim instance's claims and evidence (no nonce: the bench policy does not require one) */
    tkm_tee_opts to;
    memset(&to, 0, sizeof to);
    snprintf(p, sizeof p, "%s/sim.key", dir);
    to.sim_key_file = p;
    to.sim_create_key = 1;
    tkm_tee *tee = NULL;
    if (tkm_failed(tkm_tee_open(&tee, "sim", &to))) return -1;
    tkm_claims cl;
    tkm_claims_init(&cl);
    snprintf(cl.platform, sizeof cl.platform, "sim");
    cl.tls_spki[0] = 0x30;
    cl.tls_spki_len = 1;
    memset(cl.instance_id, 0x42, 32);
    memcpy(b->id, cl.instance_id, 32);
    uint8_t pub[65];
    tkm_secret *sk = NULL;
    int ok = tkm_ok(tkm_secp_keygen(&sk)) && tkm_ok(tkm_secp_pubkey(pub, sk)) &&
             tkm_ok(tkm_claims_add_key(&cl, TKM_CLAIM_KEY_SECP256K1, pub, 65));
    tkm_secret_free(sk);
    tkm_wr w;
    tkm_wr_init(&w, 0);
    tkm_tee_evidence ev;
    memset(&ev, 0, sizeof ev);
    ok = ok && tkm_ok(tkm_claims_encode(&cl, &w)) && tkm_ok(tkm_claims_report_data(b->rd, w.p, w.len)) &&
         tkm_ok(tkm_tee_evidence_get(tee, &ev, b->rd)) && tkm_ok(tkm_evidence_parse(&b->ev, ev.bytes, ev.len));
    if (ok) {
        char *hx = malloc(TKM_HEX_ENC_LEN(ev.len, 1));
        json_t *j = NULL;
        if (hx && tkm_ok(tkm_hex_encode(hx, TKM_HEX_ENC_LEN(ev.len, 1), ev.bytes, ev.len, 1)))
            j = json_pack("{s:s,s:s%}", "evidence", hx, "claims", (const char *)w.p, w.len);
        b->attest_body = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        free(hx);
        ok = b->attest_body != NULL;
    }
    tkm_tee_evidence_free(&ev);
    tkm_wr_free(&w);
    tkm_claims_free(&cl);
    tkm_tee_close(tee);
    char idh[67];
    if (!ok || tkm_failed(tkm_hex_encode(idh, sizeof idh, b->id, 32, 1))) return -1;
    snprintf(b->path, sizeof b->path, "/v1/instances/%s", idh);
    snprintf(p, sizeof p, "%s/data/registry.db", dir);
    if (sqlite3_open_v2(p, &b->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(b->db,
                           "SELECT seq, claims FROM registrations WHERE seq = (SELECT MAX(seq) FROM registrations "
                           "WHERE instance_id = ?1)",
                           -1, &b->sel, NULL) != SQLITE_OK)
        return -1;
    return 0;
}

int bench_verifier(const bench_opts *o) {
    char dir[] = "/tmp/teekm-bench-verifier-XXXXXX";
    vbench b;
    memset(&b, 0, sizeof b);
    b.now = tkm_time_unix();
    int status = 1;
    tkm_log_level saved = tkm_log_get_level();
    tkm_log_set_level(TKM_LOG_WARN); /* one info line per registration otherwise */
    if (!mkdtemp(dir) || setup(&b, dir) != 0) {
        fprintf(stderr, "bench verifier: setup failed: %s\n", tkm_err_detail());
        goto out;
    }
    printf("teekm bench verifier (sim evidence; registry in %s, synchronous=FULL, WAL)\n", dir);
    bench_result a, r;
    if (bench_pair(o, svc_attest, &b, raw_appraise, &b, &a, &r) != 0) goto out;
    bench_print_row("tkm_appraise alone (baseline)", &r);
    bench_print_ratio("POST /v1/attest (register)", &a, "appraisal", &r, 0);
    if (bench_pair(o, svc_instance, &b, raw_select, &b, &a, &r) != 0) goto out;
    bench_print_row("raw SQLite SELECT (baseline)", &r);
    bench_print_ratio("GET /v1/instances/{id}", &a, "SELECT", &r, 0);
    if (bench_pair(o, svc_nonce, &b, raw_hmac, &b, &a, &r) != 0) goto out;
    bench_print_row("HMAC-SHA256 (baseline)", &r);
    bench_print_ratio("POST /v1/nonce", &a, "HMAC", &r, 0);
    status = 0;
out:
    tkm_log_set_level(saved);
    if (b.sel) sqlite3_finalize(b.sel);
    if (b.db) sqlite3_close(b.db);
    tkm_verifier_close(b.v);
    tkm_attest_ctx_free(b.ctx);
    tkm_evidence_free(b.ev);
    tkm_appraisal_policy_free(b.pol);
    free(b.attest_body);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench verifier: cannot remove %s\n", dir);
    return status;
}
