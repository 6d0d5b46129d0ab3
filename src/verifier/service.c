/* see tkm_verifier.h */
#include "tkm_verifier.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../attest/attest.h"
#include "../crypto/crypto.h"
#include "../eth/tkm_eip712.h"
#include "../tee/tkm_claims.h"
#include "../tee/tkm_keyrelease.h"
#include "tkm_eas.h"
#include "tkm_nonce.h"
#include "tkm_registry.h"
#include "tkm_vcoll.h"
#include "tkm_vkeys.h"
#include "verifier_int.h"

#define MAX_BODY ((size_t)2 << 20)
#define LIST_MAX 1000

struct tkm_verifier {
    tkm_vkeys *keys;
    tkm_registry *reg;
    tkm_appraisal_policy *policy;
    uint8_t policy_hash[32];
    tkm_vcoll *coll;
    tkm_nonce_table *nonces;
    tkm_attest_ctx *ctx;
    char institution[TKM_REG_INSTITUTION_MAX];
    int64_t max_age, nonce_ttl;
    int has_eas, eas_expire;
    tkm_eas_config eas;
};

/* ---- small helpers ---- */

static json_t *addrj(const uint8_t a[20]) {
    char s[TKM_ETH_ADDR_STR_LEN];
    tkm_eth_address_checksum(s, a);
    return json_string(s);
}

static int status_of(tkm_err e) {
    switch (e) {
    case TKM_ERR_NOT_REGISTERED:
    case TKM_ERR_NOT_FOUND: return 404;
    case TKM_ERR_REGISTRATION_STALE:
    case TKM_ERR_STORE_ROLLBACK:
    case TKM_ERR_EXISTS: return 409;
    case TKM_ERR_NOT_IMPLEMENTED: return 501;
    case TKM_ERR_COLLATERAL_UNAVAILABLE:
    case TKM_ERR_NETWORK:
    case TKM_ERR_TIMEOUT:
    case TKM_ERR_UNAVAILABLE:
    case TKM_ERR_STORE_BUSY:
    case TKM_ERR_LIMIT: return 503;
    case TKM_ERR_RATE_LIMIT: return 429;
    case TKM_ERR_UNAUTHENTICATED: return 401;
    default: break;
    }
    switch (tkm_err_category(e)) {
    case TKM_CAT_PARSE:
    case TKM_CAT_CRYPTO: return 400;
    case TKM_CAT_POLICY:
    case TKM_CAT_TEE:
    case TKM_CAT_AUTH: return 403;
    case TKM_CAT_LIMIT: return 429;
    default: return 500;
    }
}

/* Copy src into dst keeping well-formed UTF-8 and printable text; anything else becomes '?'
 * (details may quote untrusted input, and JSON strings must be valid UTF-8). */
static void utf8_clean(char *dst, size_t cap, const char *src) {
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;
    while (*s && o + 5 < cap) {
        unsigned char c = *s;
        size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        int ok = n > 0 && !(n == 1 && c < 0x20);
        uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1Fu : n == 3 ? c & 0x0Fu : c & 0x07u;
        for (size_t k = 1; ok && k < n; k++) {
            ok = (s[k] & 0xC0) == 0x80;
            cp = cp << 6 | (s[k] & 0x3Fu);
        }
        if (ok && ((n == 2 && cp < 0x80) || (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
                   (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))))
            ok = 0;
        if (ok) {
            memcpy(dst + o, s, n);
            o += n;
            s += n;
        } else {
            dst[o++] = '?';
            s++;
        }
    }
    dst[o] = 0;
}

static json_t *error_body(tkm_err code, const char *detail) {
    const char *name = tkm_err_name(code);
    char clean[600];
    utf8_clean(clean, sizeof clean, detail ? detail : "");
    return json_pack("{s:{s:s,s:s,s:s}}", "error", "code", name ? name : "INTERNAL", "message", tkm_err_str(code),
                     "detail", clean);
}

static void fail(int *status, json_t **resp, tkm_err code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fail(int *status, json_t **resp, tkm_err code, const char *fmt, ...) {
    char d[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d, sizeof d, fmt, ap);
        va_end(ap);
    }
    *status = status_of(code);
    *resp = error_body(code, d);
}

static void fail_rc(int *status, json_t **resp, tkm_rc rc) { fail(status, resp, rc.code, "%s", tkm_err_detail()); }

static tkm_rc parse_id(uint8_t id[32], const char *s, size_t len) {
    tkm_rc rc = tkm_hex_decode_exact(id, 32, s, len, TKM_HEX_0X_REQUIRED);
    if (tkm_failed(rc)) tkm_err_detail_set("instance id must be 0x and 64 hex digits");
    return rc;
}

/* "name=value" in a query string; *found = 0 when absent. Values: decimal integers. */
static tkm_rc query_int(const char *q, const char *name, int64_t min, int64_t max, int64_t *v, int *found) {
    *found = 0;
    size_t nl = strlen(name);
    for (const char *p = q; p && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *d = p + nl + 1;
            size_t dl = len - nl - 1;
            tkm_u256 u;
            uint64_t x;
            if (tkm_failed(tkm_u256_from_dec(&u, d, dl)) || !tkm_u256_to_u64(&u, &x) || (int64_t)x < min ||
                x > (uint64_t)max) {
                tkm_err_detail_set("query parameter %s must be an integer in [%lld, %lld]", name, (long long)min,
                                   (long long)max);
                TKM_ENSURE(0, TKM_ERR_REQUEST);
            }
            *v = (int64_t)x;
            *found = 1;
        }
        p = end ? end + 1 : NULL;
    }
    return TKM_RC_OK;
}

/* "0x0102…1f20" for logs and details (thread-local buffer). */
static const char *short_id(const uint8_t id[32]) {
    static __thread char buf[24];
    snprintf(buf, sizeof buf, "0x%02x%02x%02x%02x…%02x%02x", id[0], id[1], id[2], id[3], id[30], id[31]);
    return buf;
}

static int is_stale(const tkm_verifier *v, const tkm_registration *r, int64_t now) {
    return now >= r->appraised_at + v->max_age;
}

/* ---- open / close ---- */

void tkm_verifier_close(tkm_verifier *v) {
    if (!v) return;
    tkm_vkeys_free(v->keys);
    tkm_registry_close(v->reg);
    tkm_appraisal_policy_free(v->policy);
    tkm_vcoll_free(v->coll);
    tkm_nonce_table_free(v->nonces);
    tkm_attest_ctx_free(v->ctx);
    free(v);
}

tkm_rc tkm_verifier_open(tkm_verifier **out, const tkm_vconfig *cfg) {
    *out = NULL;
    tkm_rc rc;
    uint8_t *buf = NULL;
    size_t len = 0;
    char path[4096];
    tkm_verifier *v = calloc(1, sizeof *v);
    if (!v) return TKM_RC(TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, tkm_vkeys_load(&v->keys, cfg->data_dir));
    TKM_CHECK_GOTO(rc, vpath_join(path, sizeof path, cfg->data_dir, TKM_VKEYS_REGISTRY_FILE));
    TKM_CHECK_GOTO(rc, tkm_registry_open(&v->reg, path));
    TKM_CHECK_GOTO(rc, tkm_file_read(cfg->appraisal_policy, 256 * 1024, 0, &buf, &len));
    rc = tkm_appraisal_policy_parse(&v->policy, buf, len);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("appraisal policy %s: %s", cfg->appraisal_policy, tkm_err_detail());
        goto out;
    }
    tkm_appraisal_policy_hash(v->policy, v->policy_hash);
    tkm_vcoll_config cc = {
        .files = (const char *const *)cfg->coll_files,
        .n_files = cfg->n_coll_files,
        .pccs_url = cfg->pccs_url,
        .root_ca_crl_url = cfg->root_ca_crl_url,
        .kds_url = cfg->kds_url,
        .ca_file = cfg->coll_ca_file,
        .cache_dir = cfg->coll_cache_dir,
        .timeout_s = cfg->coll_timeout_s,
        .snp_products = (const char *const *)cfg->snp_products,
        .n_snp_products = cfg->n_snp_products,
        .tcb_update_early = cfg->tcb_update_early,
    };
    TKM_CHECK_GOTO(rc, tkm_vcoll_new(&v->coll, &cc));
    TKM_CHECK_GOTO(rc, tkm_nonce_table_new(&v->nonces, cfg->nonce_ttl, cfg->nonce_max_used));
    TKM_CHECK_GOTO(rc, tkm_attest_ctx_new(&v->ctx));
    snprintf(v->institution, sizeof v->institution, "%s", cfg->institution);
    v->max_age = cfg->max_age;
    v->nonce_ttl = cfg->nonce_ttl;
    v->has_eas = cfg->has_eas;
    v->eas = cfg->eas;
    v->eas_expire = cfg->eas_expire_with_registration;
    *out = v;
    v = NULL;
    rc = TKM_RC_OK;
out:
    free(buf);
    tkm_verifier_close(v);
    return rc;
}

/* ---- GET /v1/verifier ---- */

static void h_info(tkm_verifier *v, int *status, json_t **resp) {
    json_t *eas = json_null();
    if (v->has_eas) {
        uint8_t uid[32];
        tkm_eas_schema_uid(uid, &v->eas);
        eas = json_pack("{s:s,s:o,s:I,s:o,s:s,s:o,s:b}", "schema", TKM_EAS_SCHEMA, "schemaUid", tkm_json_hex_new(uid, 32),
                        "chainId", (json_int_t)v->eas.chain_id, "contract", addrj(v->eas.contract), "version",
                        v->eas.version, "resolver", addrj(v->eas.resolver), "revocable", v->eas.revocable);
    }
    *resp = json_pack("{s:s,s:o,s:s,s:o,s:I,s:I,s:o,s:{s:s,s:s,s:s,s:s}}", "version", TKM_VERSION, "signer",
                      addrj(tkm_vkeys_eas_address(v->keys)), "institution", v->institution, "appraisalPolicyHash",
                      tkm_json_hex_new(v->policy_hash, 32), "registrationMaxAgeSeconds", (json_int_t)v->max_age,
                      "nonceTtlSeconds", (json_int_t)v->nonce_ttl, "eas", eas ? eas : json_null(), "counter",
                      "domainName", TKM_COUNTER_DOMAIN_NAME, "domainVersion", TKM_COUNTER_DOMAIN_VERSION, "request",
                      TKM_COUNTER_REQUEST_TYPE, "state", TKM_COUNTER_STATE_TYPE);
    *status = *resp ? 200 : 500;
}

/* ---- POST /v1/nonce ---- */

static void h_nonce(tkm_verifier *v, const tkm_vreq *req, int *status, json_t **resp) {
    uint8_t n[TKM_NONCE_LEN];
    int64_t exp;
    tkm_rc rc = tkm_nonce_issue(v->nonces, req->now, n, &exp);
    if (tkm_failed(rc)) return fail_rc(status, resp, rc);
    *resp = json_pack("{s:o,s:I,s:I}", "nonce", tkm_json_hex_new(n, sizeof n), "issuedAt", (json_int_t)req->now, "expiresAt",
                      (json_int_t)exp);
    *status = *resp ? 200 : 500;
}

/* ---- POST /v1/attest ---- */

/* Add a service check to the appraisal; *svc_failed latches a failure even if the list is full. */
static void add_check(tkm_appraisal *res, int *svc_failed, const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void add_check(tkm_appraisal *res, int *svc_failed, const char *name, int ok, const char *fmt, ...) {
    if (!ok) *svc_failed = 1;
    if (res->n_checks >= TKM_APPRAISAL_MAX_CHECKS) return;
    tkm_check *c = &res->checks[res->n_checks++];
    c->name = name;
    c->ok = ok;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof c->detail, fmt, ap);
    va_end(ap);
}

static tkm_rc state_key_for(tkm_verifier *v, const uint8_t id[32], int64_t now, tkm_secret **key) {
    *key = NULL;
    uint8_t sealed[TKM_SEALED_STATE_KEY_LEN];
    int found;
    TKM_TRY(tkm_registry_state_key_get(v->reg, id, sealed, &found));
    if (!found) {
        tkm_secret *fresh = NULL;
        TKM_TRY(tkm_vkeys_state_key_new(&fresh));
        tkm_rc rc = tkm_vkeys_state_key_seal(v->keys, sealed, id, fresh);
        tkm_secret_free(fresh); /* the stored, sealed copy is the one that counts */
        TKM_TRY(rc);
        rc = tkm_registry_state_key_put(v->reg, id, sealed, now);
        if (rc.code == TKM_ERR_EXISTS) rc = tkm_registry_state_key_get(v->reg, id, sealed, &found); /* a race: theirs */
        TKM_TRY(rc);
    }
    return tkm_vkeys_state_key_open(v->keys, key, id, sealed, sizeof sealed);
}

static void fill_registration(tkm_verifier *v, tkm_registration *r, const tkm_claims *c, const tkm_appraisal *res,
                              const uint8_t *evb, size_t evn, const uint8_t *jcs, size_t jn, int64_t now, tkm_rc *rc) {
    tkm_registration_init(r);
    memcpy(r->instance_id, c->instance_id, 32);
    r->appraised_at = now;
    r->platform = res->platform;
    r->simulated = res->simulated;
    memcpy(r->measurement, res->measurement, res->measurement_len);
    r->measurement_len = res->measurement_len;
    r->tcb_status = res->tcb_status;
    r->n_advisories = res->n_advisories;
    memcpy(r->advisory_ids, res->advisory_ids, sizeof r->advisory_ids);
    memcpy(r->tls_spki, c->tls_spki, c->tls_spki_len);
    r->tls_spki_len = c->tls_spki_len;
    memcpy(r->audit_address, c->audit_addr, 20);
    memcpy(r->policy_hash, c->policy_hash, 32);
    r->policy_version = c->policy_version;
    r->state_version = c->state_version;
    memcpy(r->appraisal_policy_hash, v->policy_hash, 32);
    snprintf(r->institution, sizeof r->institution, "%s", v->institution);
    memcpy(r->report_data, res->report_data, 64);
    *rc = tkm_sha256(r->evidence_sha256, evb, evn);
    for (size_t i = 0; tkm_ok(*rc) && i < c->n_keys; i++) {
        const tkm_claim_key *k = &c->keys[i];
        *rc = tkm_registration_add_key(r, k->type == TKM_CLAIM_KEY_SECP256K1 ? TKM_REG_KEY_SECP256K1 : TKM_REG_KEY_BLS12381,
                                       k->pub, k->pub_len, k->addr);
    }
    if (tkm_ok(*rc)) *rc = tkm_registration_set_blobs(r, jcs, jn, evb, evn);
}

static void h_attest(tkm_verifier *v, const tkm_vreq *req, int *status, json_t **resp) {
    json_t *body = NULL, *aj = NULL, *out = NULL, *kr = NULL;
    uint8_t *evb = NULL, *vcekb = NULL;
    size_t evn = 0, vcekn = 0;
    tkm_evidence *ev = NULL;
    tkm_claims c;
    tkm_claims_init(&c);
    tkm_collateral *own_coll = NULL;
    tkm_vcoll_ref *ref = NULL;
    tkm_secret *skey = NULL;
    tkm_registration reg;
    tkm_registration_init(&reg);
    tkm_appraisal *res = calloc(1, sizeof *res);
    tkm_rc rc;
    int svc_failed = 0;
    tkm_platform plat = TKM_PLATFORM_UNKNOWN;
    uint8_t expected[TKM_REPORT_DATA_LEN];
    int claims_ok = 0, nonce_bound = 0;
    int64_t evidence_time = 0;
    char claims_err[160] = "";
    if (!res) return fail(status, resp, TKM_ERR_NOMEM, NULL);

    /* the request */
    static const char *const fields[] = {"evidence", "claims", "vcek", NULL};
    const char *claims_s = NULL;
    size_t claims_n = 0;
    tkm_json_limits lim = {.max_bytes = MAX_BODY, .max_depth = 4};
    rc = tkm_json_load(&body, req->body, req->body_len, &lim);
    if (tkm_ok(rc)) rc = tkm_json_check_fields(body, "", fields);
    if (tkm_ok(rc)) rc = tkm_json_hexbytes(body, "", "evidence", 1, TKM_EVIDENCE_MAX_LEN, &evb, &evn, NULL);
    if (tkm_ok(rc)) rc = tkm_json_str(body, "", "claims", 1, &claims_s, &claims_n);
    if (tkm_ok(rc)) rc = tkm_json_hexbytes(body, "", "vcek", 0, 16384, &vcekb, &vcekn, NULL);
    if (tkm_failed(rc)) {
        fail_rc(status, resp, rc);
        goto out;
    }

    /* evidence */
    rc = tkm_evidence_parse(&ev, evb, evn);
    if (tkm_failed(rc)) {
        tkm_appraisal_parse_failure(res, TKM_PLATFORM_UNKNOWN, rc, tkm_err_detail());
        svc_failed = 1;
        goto verdict;
    }
    plat = tkm_evidence_platform(ev);

    /* claims: parsed strictly (canonical bytes only), then bound through report_data */
    rc = tkm_claims_parse(&c, (const uint8_t *)claims_s, claims_n);
    if (tkm_ok(rc)) rc = tkm_claims_report_data(expected, (const uint8_t *)claims_s, claims_n);
    if (tkm_ok(rc))
        claims_ok = 1;
    else
        snprintf(claims_err, sizeof claims_err, "%s: %s", tkm_err_name(rc.code), tkm_err_detail());
    if (claims_ok && c.nonce_len) {
        int64_t issued;
        rc = tkm_nonce_consume(v->nonces, req->now, c.nonce, c.nonce_len, &issued);
        if (tkm_ok(rc)) {
            nonce_bound = 1;
            evidence_time = issued;
        } else {
            snprintf(claims_err, sizeof claims_err, "%s: %s", tkm_err_name(rc.code), tkm_err_detail());
        }
    }

    /* collateral */
    char coll_note[200] = "";
    int coll_ok = 1;
    if (vcekn) {
        char crl_note[140];
        rc = tkm_vcoll_snp_collateral(v->coll, vcekb, vcekn, req->now, &own_coll, crl_note, sizeof crl_note);
        if (tkm_failed(rc)) {
            coll_ok = 0;
            snprintf(coll_note, sizeof coll_note, "the VCEK/VLEK sent with the request does not parse: %s", tkm_err_detail());
        } else {
            snprintf(coll_note, sizeof coll_note, "VCEK/VLEK sent with the request%s%s", crl_note[0] ? "; " : "", crl_note);
        }
    } else if (plat != TKM_PLATFORM_SIM) {
        const char *src;
        rc = tkm_vcoll_get(v->coll, ev, req->now, &ref, &src);
        if (tkm_failed(rc)) {
            coll_ok = 0;
            snprintf(coll_note, sizeof coll_note, "%s", tkm_err_detail());
        } else {
            snprintf(coll_note, sizeof coll_note, "collateral from %s", src);
        }
    }
    const tkm_collateral *coll = own_coll ? own_coll : ref ? tkm_vcoll_ref_collateral(ref) : NULL;

    /* the appraisal itself */
    tkm_appraise_opts opts = {.at = req->now,
                              .expected_report_data = claims_ok ? expected : NULL,
                              .nonce_bound = nonce_bound,
                              .evidence_time = evidence_time};
    rc = tkm_appraise(v->ctx, ev, coll, v->policy, &opts, res);
    if (tkm_failed(rc)) {
        fail_rc(status, resp, rc);
        goto out;
    }
    /* the service's own checks go first, so that the first failure names the cause (a replayed
     * nonce also fails policy.nonce, a claims mismatch also fails report_data) */
    {
        tkm_appraisal *pre = calloc(1, sizeof *pre);
        if (!pre) {
            fail(status, resp, TKM_ERR_NOMEM, NULL);
            goto out;
        }
        add_check(pre, &svc_failed, "claims", claims_ok, "%s",
                  claims_ok ? "canonical claims, parsed strictly" : claims_err);
        if (claims_ok) {
            int same = strcmp(c.platform, tkm_platform_name(plat)) == 0;
            add_check(pre, &svc_failed, "claims.platform", same, "claims say %s, evidence is %s", c.platform,
                      tkm_platform_name(plat));
            if (c.nonce_len && nonce_bound)
                add_check(pre, &svc_failed, "nonce", 1, "fresh nonce issued %llds before the appraisal, now used",
                          (long long)(req->now - evidence_time));
            else if (c.nonce_len)
                add_check(pre, &svc_failed, "nonce", 0, "%s", claims_err);
        }
        if (plat != TKM_PLATFORM_SIM) add_check(pre, &svc_failed, "collateral.source", coll_ok, "%s", coll_note);
        if (res->n_checks + pre->n_checks <= TKM_APPRAISAL_MAX_CHECKS) {
            memmove(res->checks + pre->n_checks, res->checks, res->n_checks * sizeof res->checks[0]);
            memcpy(res->checks, pre->checks, pre->n_checks * sizeof res->checks[0]);
            res->n_checks += pre->n_checks;
        }
        free(pre);
    }
    if (claims_ok) {
        /*
         * anti-rollback: never below what this instance attested before; and,
         * for key release (claims with an hpkePublicKey: a sealed state asking
         * for its key), never below its counter. A running instance with a
         * remote counter advances the counter at every commit, so the claims
         * of its registrations are always a few commits behind it by the time
         * they are checked; such an instance checks the counter itself when
         * it opens its state (docs/teekmd.md "Remote counter and trusted time").
         */
        tkm_registration prev;
        int found = 0, cfound = 0;
        uint64_t ctr = 0;
        int64_t cupd;
        rc = tkm_registry_latest(v->reg, c.instance_id, &prev, &found);
        if (tkm_ok(rc)) rc = tkm_registry_counter_get(v->reg, c.instance_id, &ctr, &cupd, &cfound);
        if (tkm_failed(rc)) {
            tkm_registration_free(&prev);
            fail_rc(status, resp, rc);
            goto out;
        }
        uint64_t floor = found ? prev.state_version : 0;
        if (c.has_hpke_pk && cfound && ctr > floor) floor = ctr;
        add_check(res, &svc_failed, "state.version", c.state_version >= floor,
                  "stateVersion %llu; previously attested %llu, counter %llu", (unsigned long long)c.state_version,
                  found ? (unsigned long long)prev.state_version : 0ull, (unsigned long long)ctr);
        tkm_registration_free(&prev);
    }

verdict:
    res->verdict = !svc_failed && tkm_appraisal_first_failure(res) == NULL && res->n_checks > 0 ? TKM_VERDICT_VALID
                                                                                               : TKM_VERDICT_INVALID;
    rc = tkm_appraisal_to_json(res, &aj);
    if (tkm_failed(rc)) {
        fail_rc(status, resp, rc);
        goto out;
    }
    if (res->verdict != TKM_VERDICT_VALID) {
        const tkm_check *f = tkm_appraisal_first_failure(res);
        tkm_log(TKM_LOG_INFO, "attest", "appraisal invalid: %s", f ? f->name : "?");
        char clean[TKM_CHECK_DETAIL_LEN + 8];
        utf8_clean(clean, sizeof clean, f ? f->detail : "");
        out = json_pack("{s:s,s:{s:s,s:s,s:s,s:s},s:O}", "verdict", "invalid", "error", "code", "APPRAISAL", "message",
                        tkm_err_str(TKM_ERR_APPRAISAL), "check", f ? f->name : "", "detail", clean, "appraisal", aj);
        *status = 403;
        *resp = out;
        out = NULL;
        goto out;
    }

    /* key release (policy decides; only with a fresh nonce) */
    if (c.has_hpke_pk) {
        const char *why = NULL;
        if (!tkm_appraisal_policy_key_release(v->policy, plat))
            why = "the appraisal policy does not release keys for this platform";
        else if (!nonce_bound)
            why = "key release needs evidence bound to a fresh verifier nonce";
        if (why) {
            kr = json_pack("{s:b,s:s}", "released", 0, "reason", why);
        } else {
            uint8_t enc[TKM_HPKE_ENC_LEN], ct[TKM_STATE_KEY_LEN + TKM_HPKE_TAG_LEN];
            rc = state_key_for(v, c.instance_id, req->now, &skey);
            if (tkm_ok(rc))
                rc = tkm_hpke_seal(enc, ct, sizeof ct, c.hpke_pk, (const uint8_t *)TKM_KEYRELEASE_INFO,
                                   strlen(TKM_KEYRELEASE_INFO), res->report_data, 64, tkm_secret_ptr(skey),
                                   TKM_STATE_KEY_LEN);
            tkm_secret_free(skey);
            skey = NULL;
            if (tkm_failed(rc)) {
                fail_rc(status, resp, rc);
                goto out;
            }
            kr = json_pack("{s:b,s:o,s:o,s:s}", "released", 1, "enc", tkm_json_hex_new(enc, sizeof enc), "ciphertext",
                           tkm_json_hex_new(ct, sizeof ct), "info", TKM_KEYRELEASE_INFO);
        }
    }

    /* registration */
    fill_registration(v, &reg, &c, res, evb, evn, (const uint8_t *)claims_s, claims_n, req->now, &rc);
    reg.key_released = kr && json_is_true(json_object_get(kr, "released"));
    if (tkm_ok(rc)) rc = tkm_registry_append(v->reg, &reg);
    json_t *rj = NULL;
    if (tkm_ok(rc)) rc = tkm_registration_to_json(&reg, 0, &rj);
    if (tkm_failed(rc)) {
        fail_rc(status, resp, rc);
        goto out;
    }
    tkm_log(TKM_LOG_INFO, "attest", "registered %s seq %lld (%s)", short_id(reg.instance_id), (long long)reg.seq,
            tkm_platform_name(plat));
    out = json_pack("{s:s,s:o,s:o,s:I,s:O}", "verdict", "valid", "instanceId", tkm_json_hex_new(c.instance_id, 32),
                    "registration", rj, "staleAt", (json_int_t)(reg.appraised_at + v->max_age), "appraisal", aj);
    if (out && kr) json_object_set(out, "keyRelease", kr);
    *status = out ? 200 : 500;
    *resp = out;
    out = NULL;
out:
    json_decref(body);
    json_decref(aj);
    json_decref(kr);
    json_decref(out);
    free(evb);
    free(vcekb);
    tkm_evidence_free(ev);
    tkm_claims_free(&c);
    tkm_collateral_free(own_coll);
    tkm_vcoll_release(ref);
    tkm_secret_free(skey);
    tkm_registration_free(&reg);
    free(res);
}

/* ---- GET /v1/instances/{id} ---- */

static void h_instance(tkm_verifier *v, const tkm_vreq *req, const uint8_t id[32], int *status, json_t **resp) {
    tkm_registration r;
    int found;
    tkm_rc rc = tkm_registry_latest(v->reg, id, &r, &found);
    if (tkm_failed(rc)) return fail_rc(status, resp, rc);
    if (!found) return fail(status, resp, TKM_ERR_NOT_REGISTERED, "no registration for %s", short_id(id));
    json_t *rj = NULL;
    rc = tkm_registration_to_json(&r, 0, &rj);
    if (tkm_ok(rc)) {
        *resp = json_pack("{s:o,s:b,s:I,s:I,s:o}", "instanceId", tkm_json_hex_new(id, 32), "stale", is_stale(v, &r, req->now),
                          "staleAt", (json_int_t)(r.appraised_at + v->max_age), "now", (json_int_t)req->now,
                          "registration", rj);
        *status = *resp ? 200 : 500;
    } else {
        fail_rc(status, resp, rc);
    }
    tkm_registration_free(&r);
}

/* ---- POST /v1/instances/{id}/counter ---- */

static void domain_sep(uint8_t out[32]) {
    tkm_eip712_domain d;
    memset(&d, 0, sizeof d);
    d.fields = TKM_EIP712_DOMAIN_NAME | TKM_EIP712_DOMAIN_VERSION;
    d.name = TKM_COUNTER_DOMAIN_NAME;
    d.name_len = strlen(TKM_COUNTER_DOMAIN_NAME);
    d.version = TKM_COUNTER_DOMAIN_VERSION;
    d.version_len = strlen(TKM_COUNTER_DOMAIN_VERSION);
    tkm_eip712_domain_separator(out, &d);
}

static void word_u64(uint8_t w[32], uint64_t x) {
    memset(w, 0, 32);
    for (int i = 0; i < 8; i++) w[31 - i] = (uint8_t)(x >> (8 * i));
}

void tkm_counter_request_digest(uint8_t out[static 32], const uint8_t instance_id[static 32], const char *op,
                                uint64_t value, const uint8_t challenge[static 32]) {
    uint8_t words[4 * 32], ds[32], sh[32];
    memcpy(words, instance_id, 32);
    tkm_keccak256(words + 32, op, strlen(op));
    word_u64(words + 64, value);
    memcpy(words + 96, challenge, 32);
    domain_sep(ds);
    tkm_eip712_hash_struct(sh, TKM_COUNTER_REQUEST_TYPE, strlen(TKM_COUNTER_REQUEST_TYPE), words, 4);
    tkm_eip712_digest(out, ds, sh);
}

void tkm_counter_state_digest(uint8_t out[static 32], const uint8_t instance_id[static 32], uint64_t value,
                              uint64_t time, const uint8_t challenge[static 32]) {
    uint8_t words[4 * 32], ds[32], sh[32];
    memcpy(words, instance_id, 32);
    word_u64(words + 32, value);
    word_u64(words + 64, time);
    memcpy(words + 96, challenge, 32);
    domain_sep(ds);
    tkm_eip712_hash_struct(sh, TKM_COUNTER_STATE_TYPE, strlen(TKM_COUNTER_STATE_TYPE), words, 4);
    tkm_eip712_digest(out, ds, sh);
}

static json_t *signed_state(tkm_verifier *v, const uint8_t id[32], uint64_t value, int64_t now,
                            const uint8_t challenge[32]) {
    uint8_t d[32], sig[65];
    tkm_counter_state_digest(d, id, value, (uint64_t)now, challenge);
    if (tkm_failed(tkm_vkeys_sign(v->keys, sig, d))) return NULL;
    sig[64] = (uint8_t)(sig[64] + 27);
    return json_pack("{s:o,s:I,s:I,s:o,s:o,s:o}", "instanceId", tkm_json_hex_new(id, 32), "value", (json_int_t)value, "time",
                     (json_int_t)now, "challenge", tkm_json_hex_new(challenge, 32), "signature", tkm_json_hex_new(sig, 65), "verifier",
                     addrj(tkm_vkeys_eas_address(v->keys)));
}

static void h_counter(tkm_verifier *v, const tkm_vreq *req, const uint8_t id[32], int *status, json_t **resp) {
    json_t *body = NULL;
    tkm_registration r;
    tkm_registration_init(&r);
    static const char *const fields[] = {"op", "value", "challenge", "signature", NULL};
    const char *op;
    size_t op_len;
    int64_t value = 0;
    int has_value = 0, found;
    uint8_t challenge[32], sig[65], digest[32], pub[65], addr[20];
    tkm_json_limits lim = {.max_bytes = 4096, .max_depth = 2};
    tkm_rc rc = tkm_json_load(&body, req->body, req->body_len, &lim);
    if (tkm_ok(rc)) rc = tkm_json_check_fields(body, "", fields);
    if (tkm_ok(rc)) rc = tkm_json_str(body, "", "op", 1, &op, &op_len);
    if (tkm_ok(rc)) rc = tkm_json_int(body, "", "value", 0, 0, 9007199254740991, &value, &has_value);
    if (tkm_ok(rc)) rc = tkm_json_hexfixed(body, "", "challenge", 1, challenge, 32, NULL);
    if (tkm_ok(rc)) rc = tkm_json_hexfixed(body, "", "signature", 1, sig, 65, NULL);
    int advance = tkm_ok(rc) && strcmp(op, "advance") == 0;
    if (tkm_ok(rc) && !advance && strcmp(op, "read") != 0) {
        tkm_err_detail_set("op must be \"read\" or \"advance\"");
        rc = TKM_RC(TKM_ERR_REQUEST);
    }
    if (tkm_ok(rc) && advance != has_value) {
        tkm_err_detail_set(advance ? "advance needs a value" : "read takes no value");
        rc = TKM_RC(TKM_ERR_REQUEST);
    }
    if (tkm_failed(rc)) {
        fail_rc(status, resp, rc);
        goto out;
    }
    /* the instance must be registered and fresh; the request signed by its audit key */
    rc = tkm_registry_latest(v->reg, id, &r, &found);
    if (tkm_failed(rc)) {
        fail_rc(status, resp, rc);
        goto out;
    }
    if (!found) {
        fail(status, resp, TKM_ERR_NOT_REGISTERED, "no registration for %s", short_id(id));
        goto out;
    }
    if (is_stale(v, &r, req->now)) {
        fail(status, resp, TKM_ERR_REGISTRATION_STALE, "registration %lld is older than %llds", (long long)r.seq,
             (long long)v->max_age);
        goto out;
    }
    tkm_counter_request_digest(digest, id, op, (uint64_t)value, challenge);
    if (sig[64] >= 27) sig[64] = (uint8_t)(sig[64] - 27);
    rc = tkm_secp_recover(pub, digest, sig, TKM_SECP_REQUIRE_LOW_S);
    if (tkm_ok(rc)) tkm_eth_address(addr, pub);
    if (tkm_failed(rc) || memcmp(addr, r.audit_address, 20) != 0) {
        fail(status, resp, TKM_ERR_FORBIDDEN, "the request is not signed by the instance's registered audit key");
        goto out;
    }
    uint64_t cur = 0;
    int64_t upd;
    if (advance) {
        rc = tkm_registry_counter_advance(v->reg, id, (uint64_t)value, req->now, &cur);
        if (rc.code == TKM_ERR_STORE_ROLLBACK) {
            json_t *st = signed_state(v, id, cur, req->now, challenge);
            *status = 409;
            *resp = json_pack("{s:{s:s,s:s,s:s},s:o*}", "error", "code", "STORE_ROLLBACK", "message",
                              tkm_err_str(TKM_ERR_STORE_ROLLBACK), "detail", tkm_err_detail(), "counter", st);
            goto out;
        }
    } else {
        rc = tkm_registry_counter_get(v->reg, id, &cur, &upd, &found);
    }
    if (tkm_failed(rc)) {
        fail_rc(status, resp, rc);
        goto out;
    }
    *resp = signed_state(v, id, cur, req->now, challenge);
    *status = *resp ? 200 : 500;
out:
    json_decref(body);
    tkm_registration_free(&r);
}

/* ---- admin ---- */

static void h_list(tkm_verifier *v, const tkm_vreq *req, const uint8_t *id, int *status, json_t **resp) {
    int64_t after = 0, limit = 100;
    int found;
    tkm_rc rc = query_int(req->query, "after", 0, INT64_MAX, &after, &found);
    if (tkm_ok(rc)) rc = query_int(req->query, "limit", 1, LIST_MAX, &limit, &found);
    int64_t *seqs = NULL;
    size_t n = 0;
    if (tkm_ok(rc)) rc = tkm_registry_list(v->reg, id, after, (size_t)limit, &seqs, &n);
    if (tkm_failed(rc)) return fail_rc(status, resp, rc);
    if (id && n == 0 && after == 0) {
        free(seqs);
        return fail(status, resp, TKM_ERR_NOT_REGISTERED, "no registration for %s", short_id(id));
    }
    json_t *arr = json_array();
    int e = !arr;
    for (size_t i = 0; i < n && !e; i++) {
        tkm_registration r;
        json_t *rj = NULL;
        rc = tkm_registry_get(v->reg, seqs[i], &r, &found);
        if (tkm_ok(rc) && found) rc = tkm_registration_to_json(&r, id ? TKM_REG_JSON_BLOBS : 0, &rj);
        if (tkm_failed(rc) || !found) e = 1;
        if (rj && !id) json_object_set_new(rj, "stale", json_boolean(is_stale(v, &r, req->now)));
        if (rj) e |= json_array_append_new(arr, rj);
        tkm_registration_free(&r);
    }
    int64_t next = n == (size_t)limit ? seqs[n - 1] : 0;
    free(seqs);
    if (e) {
        json_decref(arr);
        return fail(status, resp, tkm_failed(rc) ? rc.code : TKM_ERR_NOMEM, "%s", tkm_err_detail());
    }
    *resp = json_pack(id ? "{s:o,s:o,s:I}" : "{s:o,s:o,s:I}", id ? "instanceId" : "institution",
                      id ? tkm_json_hex_new(id, 32) : json_string(v->institution), id ? "registrations" : "instances", arr,
                      "next", (json_int_t)next);
    *status = *resp ? 200 : 500;
}

static void h_eas(tkm_verifier *v, const tkm_vreq *req, const uint8_t id[32], int *status, json_t **resp) {
    if (!v->has_eas) return fail(status, resp, TKM_ERR_NOT_IMPLEMENTED, "no \"eas\" section in the configuration");
    int64_t seq = 0;
    int has_seq, found;
    tkm_registration r;
    tkm_rc rc = query_int(req->query, "seq", 1, INT64_MAX, &seq, &has_seq);
    if (tkm_failed(rc)) return fail_rc(status, resp, rc);
    rc = has_seq ? tkm_registry_get(v->reg, seq, &r, &found) : tkm_registry_latest(v->reg, id, &r, &found);
    if (tkm_failed(rc)) return fail_rc(status, resp, rc);
    if (!found || memcmp(r.instance_id, id, 32) != 0) {
        tkm_registration_free(&r);
        return fail(status, resp, TKM_ERR_NOT_REGISTERED, "no such registration for %s", short_id(id));
    }
    uint8_t schema[32];
    tkm_eas_schema_uid(schema, &v->eas);
    json_t *arr = json_array();
    int e = !arr;
    for (size_t i = 0; i < r.n_keys && !e; i++) {
        const tkm_reg_key *k = &r.keys[i];
        tkm_eas_fields f;
        memset(&f, 0, sizeof f);
        memcpy(f.instance_id, r.instance_id, 32);
        f.institution = r.institution;
        f.platform = tkm_platform_name(r.platform);
        f.measurement = r.measurement;
        f.measurement_len = r.measurement_len;
        f.tcb_status = (uint8_t)r.tcb_status;
        memcpy(f.policy_hash, r.policy_hash, 32);
        f.policy_version = r.policy_version;
        memcpy(f.audit_address, r.audit_address, 20);
        if (k->type == TKM_REG_KEY_SECP256K1) memcpy(f.signer, k->addr, 20);
        f.signer_pub = k->pub;
        f.signer_pub_len = k->pub_len;
        tkm_wr data, cd;
        tkm_wr_init(&data, 0);
        tkm_wr_init(&cd, 0);
        tkm_eas_attestation a;
        memset(&a, 0, sizeof a);
        memcpy(a.schema, schema, 32);
        memcpy(a.recipient, f.signer, 20);
        a.time = (uint64_t)r.appraised_at;
        a.expiration_time = v->eas_expire ? (uint64_t)(r.appraised_at + v->max_age) : 0;
        a.revocable = v->eas.revocable;
        /* salt: unpredictable, stable for (registration, key) */
        uint8_t sd[8 + 4 + 32];
        for (int b = 0; b < 8; b++) sd[b] = (uint8_t)((uint64_t)r.seq >> (56 - 8 * b));
        for (int b = 0; b < 4; b++) sd[8 + b] = (uint8_t)(i >> (24 - 8 * b));
        memcpy(sd + 12, r.instance_id, 32);
        uint8_t digest[32], sig[65], uid[32];
        json_t *pkg = NULL;
        rc = tkm_eas_encode_data(&data, &f);
        if (tkm_ok(rc)) {
            a.data = data.p;
            a.data_len = data.len;
            rc = tkm_vkeys_salt(v->keys, a.salt, sd, sizeof sd);
        }
        if (tkm_ok(rc)) {
            tkm_eas_offchain_digest(digest, &v->eas, &a);
            rc = tkm_vkeys_sign(v->keys, sig, digest);
        }
        if (tkm_ok(rc)) rc = tkm_eas_offchain_json(&pkg, &v->eas, &a, sig, tkm_vkeys_eas_address(v->keys));
        if (tkm_ok(rc)) rc = tkm_eas_attest_calldata(&cd, &a);
        if (tkm_ok(rc)) {
            tkm_eas_offchain_uid(uid, &a);
            json_t *one = json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:{s:o,s:o,s:s}}", "keyIndex", (json_int_t)i,
                                    "keyType", k->type == TKM_REG_KEY_SECP256K1 ? "secp256k1" : "bls12-381",
                                    "signerPublicKey", tkm_json_hex_new(k->pub, k->pub_len), "uid", tkm_json_hex_new(uid, 32), "data",
                                    tkm_json_hex_new(data.p, data.len), "offchain", pkg, "onchain", "to", addrj(v->eas.contract),
                                    "data", tkm_json_hex_new(cd.p, cd.len), "value", "0x0");
            e |= !one || json_array_append_new(arr, one);
        } else {
            json_decref(pkg);
            e = 1;
        }
        tkm_wr_free(&data);
        tkm_wr_free(&cd);
    }
    if (e) {
        json_decref(arr);
        tkm_registration_free(&r);
        return fail(status, resp, tkm_failed(rc) ? rc.code : TKM_ERR_NOMEM, "%s", tkm_err_detail());
    }
    *resp = json_pack("{s:o,s:I,s:s,s:o,s:o,s:o}", "instanceId", tkm_json_hex_new(id, 32), "seq", (json_int_t)r.seq, "schema",
                      TKM_EAS_SCHEMA, "schemaUid", tkm_json_hex_new(schema, 32), "attester", addrj(tkm_vkeys_eas_address(v->keys)),
                      "attestations", arr);
    *status = *resp ? 200 : 500;
    tkm_registration_free(&r);
}

/* ---- dispatch ---- */

static int path_is(const char *path, const char *want) { return strcmp(path, want) == 0; }

/* "/v1/instances/0x…" + optional suffix; returns the suffix ("" / "/counter" / …) or NULL. */
static const char *instance_path(const char *path, const char *prefix, uint8_t id[32], tkm_rc *rc) {
    size_t pl = strlen(prefix);
    *rc = TKM_RC_OK;
    if (strncmp(path, prefix, pl) != 0) return NULL;
    const char *s = path + pl, *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    *rc = parse_id(id, s, n);
    return s + n;
}

void tkm_verifier_handle(tkm_verifier *v, const tkm_vreq *req, int *status, json_t **resp) {
    *resp = NULL;
    *status = 500;
    tkm_err_detail_clear();
    const char *p = req->path ? req->path : "";
    int get = req->method == TKM_VREQ_GET, post = req->method == TKM_VREQ_POST;
    uint8_t id[32];
    tkm_rc rc;
    const char *rest;
    if (strncmp(p, "/admin/", 7) == 0 && !req->admin)
        return fail(status, resp, TKM_ERR_FORBIDDEN, "administrator endpoints need an admin client certificate");
    if (path_is(p, "/v1/verifier")) {
        if (!get) goto method;
        return h_info(v, status, resp);
    }
    if (path_is(p, "/v1/nonce")) {
        if (!post) goto method;
        return h_nonce(v, req, status, resp);
    }
    if (path_is(p, "/v1/attest")) {
        if (!post) goto method;
        return h_attest(v, req, status, resp);
    }
    if ((rest = instance_path(p, "/v1/instances/", id, &rc))) {
        if (tkm_failed(rc)) return fail_rc(status, resp, rc);
        if (!*rest) {
            if (!get) goto method;
            return h_instance(v, req, id, status, resp);
        }
        if (path_is(rest, "/counter")) {
            if (!post) goto method;
            return h_counter(v, req, id, status, resp);
        }
        goto notfound;
    }
    if (path_is(p, "/admin/v1/instances")) {
        if (!get) goto method;
        return h_list(v, req, NULL, status, resp);
    }
    if ((rest = instance_path(p, "/admin/v1/instances/", id, &rc))) {
        if (tkm_failed(rc)) return fail_rc(status, resp, rc);
        if (!get) goto method;
        if (path_is(rest, "/history")) return h_list(v, req, id, status, resp);
        if (path_is(rest, "/eas")) return h_eas(v, req, id, status, resp);
        goto notfound;
    }
notfound:
    *status = 404;
    *resp = error_body(TKM_ERR_NOT_FOUND, "no such endpoint");
    return;
method:
    *status = 405;
    *resp = error_body(TKM_ERR_REQUEST, "method not allowed on this endpoint");
}
