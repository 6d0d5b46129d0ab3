/* see tkm_vcounter.h */
#include "tkm_vcounter.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../crypto/crypto.h"
#include "../verifier/tkm_verifier.h"
#include "tkm_httpc.h"

#define JSON_INT_MAX 9007199254740991LL
#define URL_MAX 512

struct tkm_vcounter {
    pthread_mutex_t mu; /* the connection and the fields below it */
    tkm_httpc *h;
    char url[URL_MAX];
    uint8_t instance_id[32];
    char path[96];
    uint8_t signer[20];
    int pinned;
    tkm_vcounter_sign_fn sign;
    void *sign_ctx;
    tkm_vclock *clock;
    unsigned retries, backoff_ms, fail_fast_ms;
    uint64_t failed_at_ns; /* monotonic time of the last transient failure (0: none) */
    char failed_detail[1024];
    _Atomic int armed;
    _Atomic int needs_registration;
    tkm_vcounter_status st;
};

/* ---- answers ---- */

static tkm_rc verify_fail(tkm_err code, const char *why) {
    tkm_err_detail_set("%s", why);
    return TKM_RC(code);
}

tkm_rc tkm_vcounter_state_check(tkm_vcounter_state *out, const json_t *st, const uint8_t signer[static 20],
                                const uint8_t instance_id[static 32], const uint8_t challenge[static 32]) {
    memset(out, 0, sizeof *out);
    static const char *const fields[] = {"instanceId", "value", "time", "challenge", "signature", "verifier", NULL};
    uint8_t id[32], ch[32], sig[65], digest[32], pub[65], addr[20], vaddr[20];
    int64_t value, time;
    const char *vs;
    size_t vl;
    if (!json_is_object(st)) return verify_fail(TKM_ERR_JSON_TYPE, "counter state: not an object");
    TKM_TRY(tkm_json_check_fields(st, "counter", fields));
    TKM_TRY(tkm_json_hexfixed(st, "counter", "instanceId", 1, id, 32, NULL));
    TKM_TRY(tkm_json_int(st, "counter", "value", 1, 0, JSON_INT_MAX, &value, NULL));
    TKM_TRY(tkm_json_int(st, "counter", "time", 1, 0, JSON_INT_MAX, &time, NULL));
    TKM_TRY(tkm_json_hexfixed(st, "counter", "challenge", 1, ch, 32, NULL));
    TKM_TRY(tkm_json_hexfixed(st, "counter", "signature", 1, sig, 65, NULL));
    TKM_TRY(tkm_json_str(st, "counter", "verifier", 1, &vs, &vl));
    tkm_rc rc = tkm_eth_address_parse(vaddr, vs, vl);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("counter.verifier: not an address");
        return rc;
    }
    if (memcmp(id, instance_id, 32) != 0)
        return verify_fail(TKM_ERR_VERIFY, "the verifier's counter answer is for another instance");
    if (!tkm_ct_eq(ch, challenge, 32))
        return verify_fail(TKM_ERR_VERIFY,
                           "the verifier's counter answer does not echo our challenge (replayed, or for another request)");
    if (sig[64] != 27 && sig[64] != 28)
        return verify_fail(TKM_ERR_BAD_SIGNATURE, "counter.signature: v must be 27 or 28");
    sig[64] = (uint8_t)(sig[64] - 27);
    tkm_counter_state_digest(digest, id, (uint64_t)value, (uint64_t)time, ch);
    rc = tkm_secp_recover(pub, digest, sig, TKM_SECP_REQUIRE_LOW_S);
    if (tkm_ok(rc)) tkm_eth_address(addr, pub);
    if (tkm_failed(rc) || memcmp(addr, signer, 20) != 0) {
        char want[TKM_ETH_ADDR_STR_LEN];
        tkm_eth_address_checksum(want, signer);
        tkm_err_detail_set("the counter answer is not signed by the pinned verifier signer %s", want);
        return TKM_RC(TKM_ERR_BAD_SIGNATURE);
    }
    if (memcmp(vaddr, signer, 20) != 0)
        return verify_fail(TKM_ERR_VERIFY, "counter.verifier names another address than the signer");
    out->value = (uint64_t)value;
    out->time = time;
    return TKM_RC_OK;
}

/* ---- the client ---- */

tkm_rc tkm_vcounter_new(tkm_vcounter **out, const tkm_vcounter_config *cfg) {
    *out = NULL;
    TKM_ARG_CHECK(cfg->url && cfg->ca_file && cfg->instance_id);
    if (strlen(cfg->url) >= URL_MAX) {
        tkm_err_detail_set("verifier URL longer than %d bytes", URL_MAX - 1);
        TKM_ENSURE(0, TKM_ERR_FORMAT);
    }
    tkm_vcounter *vc = calloc(1, sizeof *vc);
    TKM_ENSURE(vc, TKM_ERR_NOMEM);
    pthread_mutex_init(&vc->mu, NULL);
    snprintf(vc->url, sizeof vc->url, "%s", cfg->url);
    memcpy(vc->instance_id, cfg->instance_id, 32);
    char hex[67];
    tkm_rc rc = tkm_hex_encode(hex, sizeof hex, vc->instance_id, 32, 1);
    if (tkm_ok(rc)) snprintf(vc->path, sizeof vc->path, "/v1/instances/%s/counter", hex);
    vc->retries = cfg->retries;
    vc->backoff_ms = cfg->backoff_ms ? cfg->backoff_ms : 100;
    vc->fail_fast_ms = cfg->fail_fast_ms ? cfg->fail_fast_ms : 1000;
    tkm_httpc_config hc = {.base_url = cfg->url, .ca_file = cfg->ca_file,
                           .connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 2000,
                           .timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 5000, .max_response = 64u << 10};
    if (tkm_ok(rc)) rc = tkm_httpc_new(&vc->h, &hc);
    if (tkm_failed(rc)) {
        tkm_vcounter_free(vc);
        return rc;
    }
    *out = vc;
    return TKM_RC_OK;
}

void tkm_vcounter_free(tkm_vcounter *vc) {
    if (!vc) return;
    tkm_httpc_free(vc->h);
    pthread_mutex_destroy(&vc->mu);
    free(vc);
}

static int transient(tkm_rc rc, long status) {
    return rc.code == TKM_ERR_NETWORK || rc.code == TKM_ERR_TIMEOUT || rc.code == TKM_ERR_TLS ||
           (rc.code == TKM_ERR_HTTP_STATUS && (status == 502 || status == 503 || status == 504));
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

tkm_rc tkm_vcounter_fetch_signer(tkm_vcounter *vc, uint8_t signer[static 20]) {
    memset(signer, 0, 20);
    json_t *ans = NULL;
    long status = 0;
    const char *s;
    size_t sl;
    pthread_mutex_lock(&vc->mu);
    tkm_rc rc = tkm_httpc_json(vc->h, "GET", "/v1/verifier", NULL, &status, &ans);
    pthread_mutex_unlock(&vc->mu);
    if (tkm_ok(rc)) rc = tkm_json_str(ans, "verifier", "signer", 1, &s, &sl);
    if (tkm_ok(rc)) rc = tkm_eth_address_parse(signer, s, sl);
    if (tkm_failed(rc)) tkm_err_detail_set("verifier %s /v1/verifier: %s", vc->url, tkm_err_detail());
    json_decref(ans);
    return rc;
}

void tkm_vcounter_pin(tkm_vcounter *vc, const uint8_t signer[static 20]) {
    pthread_mutex_lock(&vc->mu);
    memcpy(vc->signer, signer, 20);
    vc->pinned = 1;
    pthread_mutex_unlock(&vc->mu);
}

void tkm_vcounter_attach(tkm_vcounter *vc, tkm_vcounter_sign_fn sign, void *sign_ctx, tkm_vclock *clock) {
    pthread_mutex_lock(&vc->mu);
    vc->sign = sign;
    vc->sign_ctx = sign_ctx;
    vc->clock = clock;
    pthread_mutex_unlock(&vc->mu);
}

tkm_rc tkm_vcounter_answer_check(tkm_vcounter_state *out, int *needs_registration, long status, const json_t *ans,
                                 const char *op, uint64_t value, const uint8_t signer[static 20],
                                 const uint8_t instance_id[static 32], const uint8_t challenge[static 32]) {
    memset(out, 0, sizeof *out);
    *needs_registration = 0;
    int adv = strcmp(op, "advance") == 0;
    const json_t *state = ans;
    int rollback = 0;
    if (status != 200) {
        static const tkm_err known[] = {TKM_ERR_STORE_ROLLBACK, TKM_ERR_REGISTRATION_STALE, TKM_ERR_NOT_REGISTERED,
                                        TKM_ERR_FORBIDDEN};
        const json_t *e = json_object_get(ans, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *det = json_string_value(json_object_get(e, "detail"));
        tkm_err named = TKM_OK;
        for (size_t i = 0; code && i < sizeof known / sizeof known[0]; i++)
            if (strcmp(code, tkm_err_name(known[i])) == 0) named = known[i];
        if (status == 409 && adv && named == TKM_ERR_STORE_ROLLBACK && json_object_get(ans, "counter")) {
            state = json_object_get(ans, "counter"); /* checked like any answer below */
            rollback = 1;
        } else {
            if (named == TKM_ERR_REGISTRATION_STALE || named == TKM_ERR_NOT_REGISTERED || named == TKM_ERR_FORBIDDEN)
                *needs_registration = 1;
            tkm_err_detail_set("counter %s: HTTP %ld %s%s%s", op, status, code ? code : "(no code)", det ? ": " : "",
                               det ? det : "");
            return TKM_RC(named != TKM_OK ? named : TKM_ERR_HTTP_STATUS);
        }
    }
    TKM_TRY(tkm_vcounter_state_check(out, state, signer, instance_id, challenge));
    if (rollback) {
        if (out->value > value) {
            tkm_err_detail_set("the verifier's counter for this instance is %llu, above the state version %llu this "
                               "instance advanced to: a newer copy of its state exists (an older copy of the data "
                               "directory was restored, or a clone runs)",
                               (unsigned long long)out->value, (unsigned long long)value);
            return TKM_RC(TKM_ERR_STORE_ROLLBACK);
        }
        tkm_err_detail_set("the verifier refused an advance to %llu as a rollback while its signed counter is %llu",
                           (unsigned long long)value, (unsigned long long)out->value);
        memset(out, 0, sizeof *out);
        return TKM_RC(TKM_ERR_VERIFY);
    }
    if (adv && out->value < value) {
        tkm_err_detail_set("the verifier answered counter %llu to an advance to %llu", (unsigned long long)out->value,
                           (unsigned long long)value);
        memset(out, 0, sizeof *out);
        return TKM_RC(TKM_ERR_VERIFY);
    }
    return TKM_RC_OK;
}

/* One request and its checks (caller holds vc->mu). *status = the HTTP status (0: none). */
static tkm_rc once(tkm_vcounter *vc, const char *op, uint64_t value, tkm_vcounter_state *st, long *status) {
    uint8_t ch[32], sig[65];
    json_t *req = NULL, *ans = NULL;
    *status = 0;
    memset(st, 0, sizeof *st);
    TKM_TRY(tkm_entropy_bytes(ch, sizeof ch));
    TKM_TRY(vc->sign(vc->sign_ctx, op, value, ch, sig));
    int adv = strcmp(op, "advance") == 0;
    req = adv ? json_pack("{s:s,s:I,s:o,s:o}", "op", op, "value", (json_int_t)value, "challenge", tkm_json_hex_new(ch, 32),
                          "signature", tkm_json_hex_new(sig, 65))
              : json_pack("{s:s,s:o,s:o}", "op", op, "challenge", tkm_json_hex_new(ch, 32), "signature",
                          tkm_json_hex_new(sig, 65));
    TKM_ENSURE(req, TKM_ERR_NOMEM);
    tkm_rc rc = tkm_httpc_json(vc->h, "POST", vc->path, req, status, &ans);
    uint64_t arrived = tkm_vclock_mono_ns();
    json_decref(req);
    if (tkm_ok(rc) || (rc.code == TKM_ERR_HTTP_STATUS && ans && *status != 502 && *status != 503 && *status != 504)) {
        int rereg = 0;
        rc = tkm_vcounter_answer_check(st, &rereg, *status, ans, op, value, vc->signer, vc->instance_id, ch);
        atomic_store(&vc->needs_registration, rereg);
        if (tkm_failed(rc)) tkm_err_detail_set("%s (verifier %s)", tkm_err_detail(), vc->url);
        /* a verified answer, the 409 rollback's included, carries the verifier's time */
        if (vc->clock && (tkm_ok(rc) || rc.code == TKM_ERR_STORE_ROLLBACK) && st->time)
            tkm_vclock_anchor(vc->clock, st->time, arrived);
    }
    json_decref(ans);
    return rc;
}

/* The request with bounded retries and fail-fast; records the status. */
static tkm_rc call(tkm_vcounter *vc, const char *op, uint64_t value, tkm_vcounter_state *st) {
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&vc->mu);
    tkm_rc rc;
    if (!vc->pinned || !vc->sign) {
        tkm_err_detail_set("the verifier counter client is not ready (no pinned signer or no audit key)");
        rc = TKM_RC(TKM_ERR_STATE);
        goto out;
    }
    uint64_t t0 = tkm_vclock_mono_ns();
    if (vc->failed_at_ns && t0 - vc->failed_at_ns < (uint64_t)vc->fail_fast_ms * 1000000u) {
        tkm_err_detail_set("%s", vc->failed_detail);
        rc = TKM_RC(TKM_ERR_UNAVAILABLE);
        goto out;
    }
    unsigned pause = vc->backoff_ms;
    long status = 0;
    for (unsigned attempt = 0;; attempt++) {
        rc = once(vc, op, value, st, &status);
        if (tkm_ok(rc) || !transient(rc, status) || attempt >= vc->retries) break;
        tkm_log(TKM_LOG_WARN, "vcounter", "counter %s: verifier %s unreachable (%s: %s); attempt %u of %u", op,
                vc->url, tkm_err_name(rc.code), tkm_err_detail(), attempt + 2, vc->retries + 1);
        sleep_ms(pause);
        pause *= 2;
    }
    if (tkm_failed(rc) && transient(rc, status)) {
        snprintf(vc->failed_detail, sizeof vc->failed_detail,
                 "teekm-verifier %s unreachable (%s: %s)", vc->url,
                 tkm_err_name(rc.code), tkm_err_detail());
        vc->failed_at_ns = tkm_vclock_mono_ns();
        tkm_err_detail_set("%s", vc->failed_detail);
        rc = TKM_RC(TKM_ERR_UNAVAILABLE);
    } else {
        vc->failed_at_ns = 0;
    }
    if (tkm_ok(rc)) {
        vc->st.ok++;
        vc->st.up = 1;
        vc->st.last_value = st->value;
        vc->st.last_seconds = (double)(tkm_vclock_mono_ns() - t0) / 1e9;
        vc->st.last_error = TKM_OK;
    } else {
        vc->st.failed++;
        vc->st.up = rc.code == TKM_ERR_STORE_ROLLBACK; /* it answered: a refusal, not an outage */
        vc->st.last_error = rc.code;
    }
out:
    pthread_mutex_unlock(&vc->mu);
    return rc;
}

tkm_rc tkm_vcounter_read(tkm_vcounter *vc, tkm_vcounter_state *st) { return call(vc, "read", 0, st); }

tkm_rc tkm_vcounter_advance(tkm_vcounter *vc, uint64_t value, tkm_vcounter_state *st) {
    return call(vc, "advance", value, st);
}

tkm_rc tkm_vcounter_arm(tkm_vcounter *vc, uint64_t open_version, uint64_t current_version) {
    TKM_ARG_CHECK(current_version >= open_version);
    tkm_vcounter_state st;
    TKM_TRY(tkm_vcounter_read(vc, &st));
    if (open_version < st.value) {
        tkm_err_detail_set("state version %llu is older than teekm-verifier's monotonic counter %llu for this instance "
                           "(the remote counter): an older copy of the data directory (state, counter file and "
                           "high-water mark) was restored; refusing to open",
                           (unsigned long long)open_version, (unsigned long long)st.value);
        TKM_ENSURE(0, TKM_ERR_STORE_ROLLBACK);
    }
    TKM_TRY(tkm_vcounter_advance(vc, current_version, &st));
    atomic_store(&vc->armed, 1);
    return TKM_RC_OK;
}

int tkm_vcounter_armed(tkm_vcounter *vc) { return atomic_load(&vc->armed); }
int tkm_vcounter_needs_registration(tkm_vcounter *vc) { return atomic_load(&vc->needs_registration); }

void tkm_vcounter_status_get(tkm_vcounter *vc, tkm_vcounter_status *st) {
    pthread_mutex_lock(&vc->mu);
    *st = vc->st;
    pthread_mutex_unlock(&vc->mu);
}

/* ---- the counter hook: the local file first, then the verifier ---- */

typedef struct {
    tkm_counter local;
    tkm_vcounter *vc;
} hook;

static tkm_rc hook_read(void *ctx, const uint8_t id[32], uint64_t *value, int *exists) {
    hook *k = ctx;
    return k->local.read(k->local.ctx, id, value, exists);
}

static tkm_rc hook_advance(void *ctx, const uint8_t id[32], uint64_t value) {
    hook *k = ctx;
    /* the local file first: it is then never behind the remote counter (key release claims it) */
    TKM_TRY(k->local.advance(k->local.ctx, id, value));
    if (!atomic_load(&k->vc->armed)) return TKM_RC_OK;
    TKM_ARG_CHECK(memcmp(id, k->vc->instance_id, 32) == 0);
    tkm_vcounter_state st;
    tkm_rc rc = tkm_vcounter_advance(k->vc, value, &st);
    if (tkm_failed(rc) && rc.code != TKM_ERR_STORE_ROLLBACK)
        tkm_err_detail_set("nothing of this request was released (retry once the verifier answers): remote "
                           "counter: %s", tkm_err_detail());
    return rc;
}

static void hook_close(void *ctx) {
    hook *k = ctx;
    if (!k) return;
    if (k->local.close) k->local.close(k->local.ctx);
    free(k);
}

tkm_rc tkm_vcounter_hook(tkm_counter *out, tkm_counter local, tkm_vcounter *vc) {
    memset(out, 0, sizeof *out);
    hook *k = calloc(1, sizeof *k);
    if (!k) {
        if (local.close) local.close(local.ctx);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    k->local = local;
    k->vc = vc;
    out->ctx = k;
    out->read = hook_read;
    out->advance = hook_advance;
    out->close = hook_close;
    return TKM_RC_OK;
}
