/*
 * keyrel.c — teekmd's side of teekm-verifier (docs/teekmd.md "State key from
 * teekm-verifier"): the state key released after appraisal, and the
 * registration of the full claims once the state is open. See api_int.h.
 */
#include <string.h>
#include <time.h>

#include "../crypto/crypto.h"
#include "../tee/tee.h"
#include "api_int.h"
#include "tkm_httpc.h"
#include "tkm_instance.h"

#define VERIFIER_CONNECT_MS 3000
#define VERIFIER_TIMEOUT_MS 20000
#define BACKOFF_MAX_MS 30000

/* A verifier that is briefly away: worth another attempt (a new nonce each time). */
static int transient(tkm_rc rc, long status) {
    return rc.code == TKM_ERR_NETWORK || rc.code == TKM_ERR_TIMEOUT ||
           (rc.code == TKM_ERR_HTTP_STATUS && (status == 502 || status == 503 || status == 504));
}

static tkm_rc client_new(tkm_httpc **h, const api_verifier *v) {
    *h = NULL;
    TKM_ARG_CHECK(v && v->url && v->ca_file);
    tkm_httpc_config hc = {.base_url = v->url, .ca_file = v->ca_file, .connect_timeout_ms = VERIFIER_CONNECT_MS,
                           .timeout_ms = VERIFIER_TIMEOUT_MS, .max_response = 4u << 20};
    tkm_rc rc = tkm_httpc_new(h, &hc);
    if (tkm_failed(rc)) tkm_err_detail_set("verifier URL %s: %s", v->url, tkm_err_detail());
    return rc;
}

/* Step 1: POST /v1/nonce → 32 bytes. */
static tkm_rc get_nonce(tkm_httpc *h, uint8_t nonce[32], long *status) {
    json_t *ans = NULL;
    tkm_rc rc = tkm_httpc_json(h, "POST", "/v1/nonce", NULL, status, &ans);
    if (tkm_ok(rc)) rc = tkm_json_hexfixed(ans, "nonce", "nonce", 1, nonce, 32, NULL);
    json_decref(ans);
    if (tkm_failed(rc)) tkm_err_detail_set("verifier nonce: %s", tkm_err_detail());
    return rc;
}

/*
 * Step 3: POST /v1/attest. Out: *ans (the 200 answer, verdict valid). A 403
 * is TKM_ERR_APPRAISAL naming the verifier's first failed check, except its
 * anti-rollback check state.version: TKM_ERR_STORE_ROLLBACK.
 */
static tkm_rc post_attest(tkm_httpc *h, json_t *req, long *status, json_t **ans) {
    *ans = NULL;
    json_t *a = NULL;
    tkm_rc rc = tkm_httpc_json(h, "POST", "/v1/attest", req, status, &a);
    if (rc.code == TKM_ERR_HTTP_STATUS && *status == 403 && a) {
        json_t *e = json_object_get(a, "error");
        const char *check = json_string_value(json_object_get(e, "check"));
        const char *det = json_string_value(json_object_get(e, "detail"));
        if (check && strcmp(check, "state.version") == 0) {
            /* the verifier's anti-rollback check: the state claimed is older than one it recorded */
            tkm_err_detail_set("verifier attest: check state.version failed (%s): this data directory is older than "
                               "the state teekm-verifier recorded for the instance (its registrations and its remote "
                               "counter): an older copy was restored; refusing to open",
                               det ? det : "no detail");
            rc = TKM_RC(TKM_ERR_STORE_ROLLBACK);
        } else {
            tkm_err_detail_set("verifier attest: verdict invalid, check %s%s%s", check ? check : "(none named)",
                               det ? ": " : "", det ? det : "");
            rc = TKM_RC(TKM_ERR_APPRAISAL);
        }
    } else if (tkm_failed(rc)) {
        tkm_err_detail_set("verifier attest: %s", tkm_err_detail());
    } else {
        const char *verdict = json_string_value(json_object_get(a, "verdict"));
        if (!verdict || strcmp(verdict, "valid") != 0) {
            tkm_err_detail_set("verifier attest: HTTP 200 without verdict \"valid\"");
            rc = TKM_RC(TKM_ERR_APPRAISAL);
        }
    }
    if (tkm_ok(rc)) {
        *ans = a;
        a = NULL;
    }
    json_decref(a);
    return rc;
}

typedef struct {
    tkm_tee *tee;
    const char *platform;
    const uint8_t *instance_id;
    uint64_t state_version;
    const uint8_t *spki;
    size_t spki_len;
    tkm_secret *key; /* out */
} release_ctx;

/* One run of the protocol with key release (docs/verifier.md "The attestation protocol"). */
static tkm_rc release_once(tkm_httpc *h, void *ctx, long *status) {
    release_ctx *x = ctx;
    tkm_claims c;
    tkm_claims_init(&c);
    tkm_wr jcs;
    tkm_wr_init(&jcs, TKM_CLAIMS_MAX_BYTES);
    tkm_tee_evidence ev;
    memset(&ev, 0, sizeof ev);
    tkm_keyrelease *kr = NULL;
    json_t *req = NULL, *ans = NULL;
    uint8_t rd[TKM_REPORT_DATA_LEN], enc[TKM_HPKE_ENC_LEN], ct[TKM_KEYRELEASE_KEY_LEN + 16];
    tkm_rc rc;
    *status = 0;
    /* the claims of a sealed state: who asks (instance, platform, TLS key), nothing read from the state yet */
    size_t pl = strlen(x->platform);
    if (pl >= sizeof c.platform || x->spki_len > sizeof c.tls_spki) TKM_GOTO(rc, TKM_ERR_INTERNAL);
    memcpy(c.platform, x->platform, pl + 1);
    memcpy(c.tls_spki, x->spki, x->spki_len);
    c.tls_spki_len = x->spki_len;
    memcpy(c.instance_id, x->instance_id, 32);
    c.state_version = x->state_version;
    TKM_CHECK_GOTO(rc, get_nonce(h, c.nonce, status));
    c.nonce_len = 32;
    TKM_CHECK_GOTO(rc, tkm_keyrelease_begin(&kr, c.hpke_pk));
    c.has_hpke_pk = 1;
    TKM_CHECK_GOTO(rc, tkm_claims_encode(&c, &jcs));
    TKM_CHECK_GOTO(rc, tkm_claims_report_data(rd, jcs.p, jcs.len));
    rc = tkm_tee_evidence_get(x->tee, &ev, rd);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("evidence for key release: %s", tkm_err_detail());
        goto out;
    }
    req = json_pack("{s:o,s:s%}", "evidence", tkm_json_hex_new(ev.bytes, ev.len), "claims", (const char *)jcs.p,
                    jcs.len);
    if (!req) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, post_attest(h, req, status, &ans));
    json_t *k = json_object_get(ans, "keyRelease");
    if (!json_is_true(json_object_get(k, "released"))) {
        const char *reason = json_string_value(json_object_get(k, "reason"));
        tkm_err_detail_set("verifier attest: valid, but the state key was not released: %s (the appraisal policy's "
                           "keyRelease must list %s)",
                           reason ? reason : "no keyRelease in the answer", x->platform);
        TKM_GOTO(rc, TKM_ERR_TEE_NO_SEAL_KEY);
    }
    static const char *const fields[] = {"released", "enc", "ciphertext", "info", NULL};
    const char *info;
    size_t info_len;
    TKM_CHECK_GOTO(rc, tkm_json_check_fields(k, "keyRelease", fields));
    TKM_CHECK_GOTO(rc, tkm_json_str(k, "keyRelease", "info", 1, &info, &info_len));
    if (info_len != strlen(TKM_KEYRELEASE_INFO) || memcmp(info, TKM_KEYRELEASE_INFO, info_len) != 0) {
        tkm_err_detail_set("keyRelease.info: not %s", TKM_KEYRELEASE_INFO);
        TKM_GOTO(rc, TKM_ERR_FORMAT);
    }
    TKM_CHECK_GOTO(rc, tkm_json_hexfixed(k, "keyRelease", "enc", 1, enc, sizeof enc, NULL));
    TKM_CHECK_GOTO(rc, tkm_json_hexfixed(k, "keyRelease", "ciphertext", 1, ct, sizeof ct, NULL));
    rc = tkm_keyrelease_open(kr, &x->key, rd, enc, ct, sizeof ct);
    if (tkm_failed(rc))
        tkm_err_detail_set("the released state key does not open (HPKE, aad = this evidence's report_data): %s",
                           tkm_err_detail());
out:
    if (tkm_failed(rc) && rc.code != TKM_ERR_APPRAISAL && rc.code != TKM_ERR_TEE_NO_SEAL_KEY &&
        rc.code != TKM_ERR_STORE_ROLLBACK && ans)
        tkm_err_detail_set("key release: %s", tkm_err_detail());
    json_decref(req);
    json_decref(ans);
    tkm_keyrelease_free(kr);
    tkm_tee_evidence_free(&ev);
    tkm_wr_free(&jcs);
    tkm_claims_free(&c);
    return rc;
}

/* One registration of the instance's full claims. */
static tkm_rc register_once(tkm_httpc *h, void *ctx, long *status) {
    tkm_instance *in = ctx;
    uint8_t nonce[32];
    json_t *o = NULL, *req = NULL, *ans = NULL;
    tkm_rc rc;
    *status = 0;
    TKM_CHECK_GOTO(rc, get_nonce(h, nonce, status));
    TKM_CHECK_GOTO(rc, tkm_instance_attest(in, nonce, sizeof nonce, &o));
    req = json_pack("{s:O,s:O}", "evidence", json_object_get(o, "evidence"), "claims", json_object_get(o, "claims"));
    if (!req) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, post_attest(h, req, status, &ans));
out:
    json_decref(o);
    json_decref(req);
    json_decref(ans);
    return rc;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Run once() up to 1 + v->retries times while it fails transiently, doubling the pause. */
static tkm_rc with_retries(const api_verifier *v, const char *what, tkm_rc (*once)(tkm_httpc *, void *, long *),
                           void *ctx) {
    tkm_httpc *h = NULL;
    TKM_TRY(client_new(&h, v));
    unsigned pause = v->backoff_ms ? v->backoff_ms : 1000;
    tkm_rc rc;
    for (unsigned attempt = 0;; attempt++) {
        long status = 0;
        rc = once(h, ctx, &status);
        if (tkm_ok(rc) || !transient(rc, status) || attempt >= v->retries) break;
        tkm_log(TKM_LOG_WARN, "teekmd", "%s: verifier %s unreachable (%s: %s); attempt %u of %u in %u ms", what,
                v->url, tkm_err_name(rc.code), tkm_err_detail(), attempt + 2, v->retries + 1, pause);
        sleep_ms(pause);
        pause = pause * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pause * 2;
    }
    tkm_httpc_free(h);
    return rc;
}

tkm_rc api_keyrel_fetch(tkm_secret **key, const api_verifier *v, tkm_tee *tee, const uint8_t instance_id[32],
                        uint64_t state_version, const uint8_t *spki, size_t spki_len) {
    *key = NULL;
    TKM_ARG_CHECK(v && tee && instance_id && spki);
    release_ctx x = {.tee = tee, .platform = tkm_tee_name(tee), .instance_id = instance_id,
                     .state_version = state_version, .spki = spki, .spki_len = spki_len};
    tkm_rc rc = with_retries(v, "key release", release_once, &x);
    if (tkm_failed(rc)) {
        tkm_secret_free(x.key);
        return rc;
    }
    *key = x.key;
    tkm_log(TKM_LOG_INFO, "teekmd", "state key released by the verifier %s after appraisal", v->url);
    return TKM_RC_OK;
}

tkm_rc api_verifier_register(const api_verifier *v, tkm_instance *in) {
    TKM_ARG_CHECK(v && in);
    tkm_rc rc = with_retries(v, "registration", register_once, in);
    if (tkm_ok(rc)) tkm_log(TKM_LOG_INFO, "teekmd", "registered with the verifier %s (full claims)", v->url);
    return rc;
}
