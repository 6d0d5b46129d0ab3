/*
 * teekm-verifier sim-instance — DEVELOPMENT AND TESTS ONLY: plays a teekmd
 * instance on the sim platform against a running verifier, exactly as the
 * protocol in docs/verifier.md says: nonce → claims (with the nonce and, with
 * --key-release, an ephemeral HPKE key) → sim evidence over them → POST
 * /v1/attest → open the released key; optionally a signed counter request.
 * Keys are derived from seeds (keccak256(role ‖ seed)): never use this for
 * anything real. Sim evidence proves nothing about isolation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/tkm_httpc.h"
#include "crypto/crypto.h"
#include "tee/tee.h"
#include "verifier/tkm_verifier.h"
#include "vcli.h"

#define MAX_SIGNERS 8

/* Placeholder TLS key for the claims (the P-256 generator's SPKI): this tool serves no TLS. */
static const char TLS_SPKI[] = "3059301306072a8648ce3d020106082a8648ce3d030107034200046b17d1f2e12c4247f8bce6e563a440f2"
                               "77037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6"
                               "406837bf51f5";

static int usage(void) {
    fprintf(stderr,
            "usage: teekm-verifier sim-instance --url URL --ca FILE --sim-key FILE --instance 0xID\n"
            "         [--state-version N] [--policy-version N] [--audit-seed S] [--signer-seed S]...\n"
            "         [--key-release] [--no-nonce] [--request-out FILE] [--no-send]\n"
            "         [--counter read|advance:N] [--counter-only]\n"
            "  DEVELOPMENT ONLY. Acts as a sim teekmd instance: gets a nonce, builds claims, makes sim\n"
            "  evidence (key FILE, created 0600 when missing), POSTs /v1/attest and prints the answer\n"
            "  (with --key-release also the SHA-256 of the opened state key). Exit 0 when valid.\n");
    return 2;
}

static tkm_rc seed_key(tkm_secret **sk, const char *role, const char *seed) {
    uint8_t d[32];
    tkm_keccak_ctx c;
    tkm_keccak256_init(&c);
    tkm_keccak256_update(&c, role, strlen(role));
    tkm_keccak256_update(&c, seed, strlen(seed));
    tkm_keccak256_final(&c, d);
    tkm_rc rc = tkm_secret_from(sk, d, 32);
    tkm_wipe(d, sizeof d);
    if (tkm_ok(rc)) rc = tkm_secp_seckey_check(*sk);
    return rc;
}

static int write_out(const char *path, const json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT);
    int ok = s && tkm_ok(tkm_file_replace(path, 0644, s, strlen(s)));
    free(s);
    return ok;
}

/* POST /v1/instances/{id}/counter signed by the audit key; verify the answer's signature. */
static int counter(tkm_httpc *h, const uint8_t id[32], const tkm_secret *audit, const char *spec, json_t *report) {
    const char *op = strncmp(spec, "advance:", 8) == 0 ? "advance" : "read";
    uint64_t value = 0;
    if (op[0] == 'a') value = strtoull(spec + 8, NULL, 10);
    else if (strcmp(spec, "read") != 0) return -1;
    uint8_t ch[32], d[32], sig[65];
    if (tkm_failed(tkm_entropy_bytes(ch, 32))) return -1;
    tkm_counter_request_digest(d, id, op, value, ch);
    if (tkm_failed(tkm_secp_sign(sig, audit, d))) return -1;
    sig[64] = (uint8_t)(sig[64] + 27);
    json_t *body = json_pack("{s:s,s:o,s:o}", "op", op, "challenge", tkm_json_hex_new(ch, 32), "signature", tkm_json_hex_new(sig, 65));
    if (op[0] == 'a') json_object_set_new(body, "value", json_integer((json_int_t)value));
    char path[128], idh[67];
    if (tkm_failed(tkm_hex_encode(idh, sizeof idh, id, 32, 1))) return -1;
    snprintf(path, sizeof path, "/v1/instances/%s/counter", idh);
    long status = 0;
    json_t *ans = NULL, *info = NULL;
    tkm_rc rc = tkm_httpc_json(h, "POST", path, body, &status, &ans);
    json_decref(body);
    tkm_rc rc2 = tkm_httpc_json(h, "GET", "/v1/verifier", NULL, &status, &info);
    json_t *st = ans && status == 409 ? json_object_get(ans, "counter") : ans;
    int verified = 0;
    if (tkm_ok(rc2) && st && json_object_get(st, "signature")) {
        /* the answer must be signed by the verifier over our challenge */
        uint8_t s2[65], pub[65], addr[20], want[20];
        const char *sv = json_string_value(json_object_get(st, "signature"));
        const char *vs = json_string_value(json_object_get(info, "signer"));
        if (sv && vs && tkm_ok(tkm_hex_decode_exact(s2, 65, sv, strlen(sv), TKM_HEX_0X_REQUIRED)) &&
            tkm_ok(tkm_eth_address_parse(want, vs, strlen(vs)))) {
            s2[64] = (uint8_t)(s2[64] - 27);
            tkm_counter_state_digest(d, id, (uint64_t)json_integer_value(json_object_get(st, "value")),
                                     (uint64_t)json_integer_value(json_object_get(st, "time")), ch);
            if (tkm_ok(tkm_secp_recover(pub, d, s2, TKM_SECP_REQUIRE_LOW_S))) {
                tkm_eth_address(addr, pub);
                verified = memcmp(addr, want, 20) == 0;
            }
        }
    }
    json_object_set_new(report, "counter", ans ? ans : json_null());
    json_object_set_new(report, "counterSignatureVerified", json_boolean(verified));
    json_decref(info);
    return tkm_ok(rc) && verified ? 0 : 1;
}

int vcmd_sim_instance(int argc, char **argv) {
    const char *url = NULL, *ca = NULL, *sim_key = NULL, *id_s = NULL, *req_out = NULL, *ctr = NULL;
    const char *audit_seed = "audit", *signer_seeds[MAX_SIGNERS];
    size_t n_signers = 0;
    uint64_t state_version = 1, policy_version = 1;
    int key_release = 0, use_nonce = 1, send = 1, counter_only = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *nx = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--url") && nx) url = argv[++i];
        else if (!strcmp(a, "--ca") && nx) ca = argv[++i];
        else if (!strcmp(a, "--sim-key") && nx) sim_key = argv[++i];
        else if (!strcmp(a, "--instance") && nx) id_s = argv[++i];
        else if (!strcmp(a, "--state-version") && nx) state_version = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--policy-version") && nx) policy_version = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--audit-seed") && nx) audit_seed = argv[++i];
        else if (!strcmp(a, "--signer-seed") && nx && n_signers < MAX_SIGNERS) signer_seeds[n_signers++] = argv[++i];
        else if (!strcmp(a, "--key-release")) key_release = 1;
        else if (!strcmp(a, "--no-nonce")) use_nonce = 0;
        else if (!strcmp(a, "--request-out") && nx) req_out = argv[++i];
        else if (!strcmp(a, "--no-send")) send = 0;
        else if (!strcmp(a, "--counter") && nx) ctr = argv[++i];
        else if (!strcmp(a, "--counter-only")) counter_only = 1;
        else return usage();
    }
    uint8_t id[32];
    if (!url || !ca || !sim_key || !id_s || tkm_failed(tkm_hex_decode_exact(id, 32, id_s, strlen(id_s), TKM_HEX_0X_REQUIRED)))
        return usage();
    if (counter_only && !ctr) return usage();
    if (n_signers == 0) signer_seeds[n_signers++] = "signer";
    fprintf(stderr, "teekm-verifier sim-instance: SIMULATED TEE — NOT SECURE (development tool)\n");

    int ret = 1;
    tkm_rc rc;
    tkm_tee *tee = NULL;
    tkm_httpc *h = NULL;
    tkm_secret *audit = NULL;
    tkm_keyrelease *kr = NULL;
    tkm_claims c;
    tkm_claims_init(&c);
    tkm_wr w;
    tkm_wr_init(&w, 0);
    tkm_tee_evidence ev;
    memset(&ev, 0, sizeof ev);
    json_t *report = json_object(), *req = NULL, *ans = NULL;
    tkm_httpc_config hc = {.base_url = url, .ca_file = ca};
    if (tkm_failed(rc = tkm_secure_init(0, 0)) || tkm_failed(rc = tkm_httpc_new(&h, &hc))) {
        vcli_error("sim-instance", rc);
        goto out;
    }
    if (tkm_failed(rc = seed_key(&audit, "audit", audit_seed))) goto fail;
    if (counter_only) {
        ret = counter(h, id, audit, ctr, report);
        vcli_print_json(report);
        goto out;
    }
    tkm_tee_opts to;
    memset(&to, 0, sizeof to);
    to.sim_key_file = sim_key;
    to.sim_create_key = 1;
    if (tkm_failed(rc = tkm_tee_open(&tee, "sim", &to))) goto fail;
    /* claims */
    snprintf(c.platform, sizeof c.platform, "sim");
    size_t spki_len = 0;
    if (tkm_failed(rc = tkm_hex_decode(c.tls_spki, sizeof c.tls_spki, &spki_len, TLS_SPKI, strlen(TLS_SPKI),
                                       TKM_HEX_0X_FORBIDDEN)))
        goto fail;
    c.tls_spki_len = spki_len;
    uint8_t pub[65];
    if (tkm_failed(rc = tkm_secp_pubkey(pub, audit))) goto fail;
    tkm_eth_address(c.audit_addr, pub);
    for (size_t i = 0; i < n_signers; i++) {
        tkm_secret *sk = NULL;
        if (tkm_ok(rc = seed_key(&sk, "signer", signer_seeds[i]))) rc = tkm_secp_pubkey(pub, sk);
        tkm_secret_free(sk);
        if (tkm_ok(rc)) rc = tkm_claims_add_key(&c, TKM_CLAIM_KEY_SECP256K1, pub, 65);
        if (tkm_failed(rc)) goto fail;
    }
    memset(c.policy_hash, 0x70, 32);
    c.policy_version = policy_version;
    memcpy(c.instance_id, id, 32);
    c.state_version = state_version;
    long status = 0;
    if (use_nonce) {
        json_t *n = NULL;
        rc = tkm_httpc_json(h, "POST", "/v1/nonce", NULL, &status, &n);
        const char *ns = n ? json_string_value(json_object_get(n, "nonce")) : NULL;
        if (tkm_ok(rc) && (!ns || tkm_failed(rc = tkm_hex_decode_exact(c.nonce, 32, ns, strlen(ns), TKM_HEX_0X_REQUIRED))))
            rc = TKM_RC(TKM_ERR_REQUEST);
        json_decref(n);
        if (tkm_failed(rc)) goto fail;
        c.nonce_len = 32;
    }
    if (key_release) {
        if (tkm_failed(rc = tkm_keyrelease_begin(&kr, c.hpke_pk))) goto fail;
        c.has_hpke_pk = 1;
    }
    uint8_t rd[TKM_REPORT_DATA_LEN];
    if (tkm_failed(rc = tkm_claims_encode(&c, &w)) || tkm_failed(rc = tkm_claims_report_data(rd, w.p, w.len)) ||
        tkm_failed(rc = tkm_tee_evidence_get(tee, &ev, rd)))
        goto fail;
    req = json_pack("{s:o,s:s%}", "evidence", tkm_json_hex_new(ev.bytes, ev.len), "claims", (const char *)w.p, w.len);
    if (!req) goto out;
    if (req_out && !write_out(req_out, req)) {
        fprintf(stderr, "teekm-verifier: cannot write %s\n", req_out);
        goto out;
    }
    if (!send) {
        ret = 0;
        goto out;
    }
    rc = tkm_httpc_json(h, "POST", "/v1/attest", req, &status, &ans);
    if (!ans) goto fail;
    json_object_set_new(report, "status", json_integer(status));
    json_object_set(report, "response", ans);
    int valid = status == 200 && json_is_true(json_object_get(json_object_get(ans, "keyRelease"), "released")) == key_release;
    if (status == 200 && key_release && json_is_true(json_object_get(json_object_get(ans, "keyRelease"), "released"))) {
        json_t *k = json_object_get(ans, "keyRelease");
        const char *es = json_string_value(json_object_get(k, "enc")), *cs = json_string_value(json_object_get(k, "ciphertext"));
        uint8_t enc[32], ct[48], hash[32];
        tkm_secret *key = NULL;
        valid = es && cs && tkm_ok(tkm_hex_decode_exact(enc, 32, es, strlen(es), TKM_HEX_0X_REQUIRED)) &&
                tkm_ok(tkm_hex_decode_exact(ct, 48, cs, strlen(cs), TKM_HEX_0X_REQUIRED)) &&
                tkm_ok(tkm_keyrelease_open(kr, &key, rd, enc, ct, sizeof ct)) &&
                tkm_ok(tkm_sha256(hash, tkm_secret_ptr(key), tkm_secret_len(key)));
        tkm_secret_free(key);
        if (valid) json_object_set_new(report, "releasedKeySha256", tkm_json_hex_new(hash, 32));
    }
    ret = valid ? 0 : 1;
    if (valid && ctr) ret = counter(h, id, audit, ctr, report);
    vcli_print_json(report);
    goto out;
fail:
    vcli_error("sim-instance", rc);
out:
    json_decref(report);
    json_decref(req);
    json_decref(ans);
    tkm_tee_evidence_free(&ev);
    tkm_wr_free(&w);
    tkm_claims_free(&c);
    tkm_keyrelease_free(kr);
    tkm_secret_free(audit);
    tkm_tee_close(tee);
    tkm_httpc_free(h);
    return ret;
}
