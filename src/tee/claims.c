/* see tkm_claims.h */
#include "tkm_claims.h"

#include <stdlib.h>
#include <string.h>

#include "../crypto/tkm_hash.h"
#include "../crypto/tkm_secp.h"

#define BLS_PUB_LEN 48

void tkm_claims_init(tkm_claims *c) { memset(c, 0, sizeof *c); }

void tkm_claims_free(tkm_claims *c) {
    if (!c) return;
    free(c->keys);
    memset(c, 0, sizeof *c);
}

static int platform_ok(const char *p) {
    return strcmp(p, "sim") == 0 || strcmp(p, "sgx") == 0 || strcmp(p, "tdx") == 0 ||
           strcmp(p, "snp") == 0;
}

static tkm_rc key_check(tkm_claim_key_type type, const uint8_t *pub, size_t pub_len) {
    if (type == TKM_CLAIM_KEY_SECP256K1) {
        TKM_ENSURE(pub_len == TKM_SECP_PUBKEY_LEN && pub[0] == 0x04, TKM_ERR_BAD_KEY);
        uint8_t tmp[TKM_SECP_PUBKEY_LEN];
        TKM_TRY(tkm_secp_pubkey_parse(tmp, pub, pub_len));
        return TKM_RC_OK;
    }
    if (type == TKM_CLAIM_KEY_BLS12381) {
        /* compressed G1: top bit set, infinity bit clear */
        TKM_ENSURE(pub_len == BLS_PUB_LEN && (pub[0] & 0xc0) == 0x80, TKM_ERR_BAD_KEY);
        return TKM_RC_OK;
    }
    TKM_ENSURE(0, TKM_ERR_BAD_KEY);
}

tkm_rc tkm_claim_key_set(tkm_claim_key *k, tkm_claim_key_type type, const uint8_t *pub, size_t pub_len) {
    memset(k, 0, sizeof *k);
    TKM_TRY(key_check(type, pub, pub_len));
    k->type = type;
    memcpy(k->pub, pub, pub_len);
    k->pub_len = pub_len;
    if (type == TKM_CLAIM_KEY_SECP256K1) tkm_eth_address(k->addr, k->pub);
    return TKM_RC_OK;
}

tkm_rc tkm_claims_add_key(tkm_claims *c, tkm_claim_key_type type, const uint8_t *pub, size_t pub_len) {
    TKM_TRY(key_check(type, pub, pub_len));
    TKM_ENSURE(c->n_keys < TKM_CLAIMS_MAX_KEYS, TKM_ERR_LIMIT);
    tkm_claim_key *k = realloc(c->keys, (c->n_keys + 1) * sizeof *k);
    TKM_ENSURE(k != NULL, TKM_ERR_NOMEM);
    c->keys = k;
    tkm_claim_key *n = &k[c->n_keys];
    memset(n, 0, sizeof *n);
    n->type = type;
    memcpy(n->pub, pub, pub_len);
    n->pub_len = pub_len;
    if (type == TKM_CLAIM_KEY_SECP256K1) tkm_eth_address(n->addr, n->pub);
    c->n_keys++;
    return TKM_RC_OK;
}

/* Order of keys: their lower-case hex publicKey strings compared as strings
 * (equal to comparing the raw bytes, a shorter prefix first). */
static int key_cmp(const void *x, const void *y) {
    const tkm_claim_key *a = x, *b = y;
    size_t n = a->pub_len < b->pub_len ? a->pub_len : b->pub_len;
    int r = memcmp(a->pub, b->pub, n);
    if (r) return r;
    return a->pub_len < b->pub_len ? -1 : a->pub_len > b->pub_len ? 1 : 0;
}

/* One key object in canonical form: {"address":…,"publicKey":…,"type":…} (keys sorted). */
static tkm_rc key_jcs(tkm_wr *w, const tkm_claim_key *k) {
    if (k->type == TKM_CLAIM_KEY_SECP256K1) {
        TKM_TRY(tkm_wr_str(w, "{\"address\":\""));
        TKM_TRY(tkm_hex_encode_wr(w, k->addr, 20, 1));
        TKM_TRY(tkm_wr_str(w, "\","));
    } else {
        TKM_TRY(tkm_wr_u8(w, '{'));
    }
    TKM_TRY(tkm_wr_str(w, "\"publicKey\":\""));
    TKM_TRY(tkm_hex_encode_wr(w, k->pub, k->pub_len, 1));
    return tkm_wr_str(w, k->type == TKM_CLAIM_KEY_SECP256K1 ? "\",\"type\":\"secp256k1\"}"
                                                             : "\",\"type\":\"bls12-381\"}");
}

tkm_rc tkm_claims_keys_digest(uint8_t out[static 32], tkm_claim_key *keys, size_t n) {
    static const char domain[] = TKM_CLAIMS_KEYS_DOMAIN; /* sizeof includes the 0x00 separator */
    memset(out, 0, 32);
    TKM_ARG_CHECK(keys || !n);
    if (n > 1) qsort(keys, n, sizeof *keys, key_cmp);
    for (size_t i = 1; i < n; i++)
        if (key_cmp(&keys[i - 1], &keys[i]) == 0) {
            tkm_err_detail_set("keys[%zu]: duplicate key", i);
            TKM_ENSURE(0, TKM_ERR_CLAIMS);
        }
    tkm_wr w;
    tkm_wr_init(&w, 0);
    tkm_rc rc = tkm_wr_put(&w, domain, sizeof domain);
    if (tkm_ok(rc)) rc = tkm_wr_u8(&w, '[');
    for (size_t i = 0; tkm_ok(rc) && i < n; i++) {
        if (i) rc = tkm_wr_u8(&w, ',');
        if (tkm_ok(rc)) rc = key_jcs(&w, &keys[i]);
    }
    if (tkm_ok(rc)) rc = tkm_wr_u8(&w, ']');
    if (tkm_ok(rc)) rc = tkm_sha256(out, w.p, w.len);
    tkm_wr_free(&w);
    return rc;
}

static int set(json_t *o, const char *k, json_t *v) { return v ? json_object_set_new(o, k, v) : -1; }

tkm_rc tkm_claims_to_json(const tkm_claims *c, json_t **out) {
    *out = NULL;
    tkm_rc rc = TKM_RC(TKM_ERR_NOMEM);
    json_t *o = json_object(), *keys = json_array();
    if (!o || !keys) goto out;
    int bad = 0;
    bad |= set(o, "version", json_integer(TKM_CLAIMS_VERSION));
    bad |= set(o, "platform", json_string(c->platform));
    bad |= set(o, "tlsPublicKey", tkm_json_hex_new(c->tls_spki, c->tls_spki_len));
    bad |= set(o, "auditAddress", tkm_json_hex_new(c->audit_addr, 20));
    for (size_t i = 0; i < c->n_keys && !bad; i++) {
        const tkm_claim_key *k = &c->keys[i];
        json_t *e = json_object();
        if (!e) {
            bad = 1;
            break;
        }
        bad |= set(e, "type", json_string(k->type == TKM_CLAIM_KEY_SECP256K1 ? "secp256k1" : "bls12-381"));
        bad |= set(e, "publicKey", tkm_json_hex_new(k->pub, k->pub_len));
        if (k->type == TKM_CLAIM_KEY_SECP256K1) bad |= set(e, "address", tkm_json_hex_new(k->addr, 20));
        bad |= json_array_append_new(keys, e);
    }
    if (bad) goto out;
    bad |= json_object_set(o, "keys", keys);
    bad |= set(o, "policyHash", tkm_json_hex_new(c->policy_hash, 32));
    bad |= set(o, "policyVersion", json_integer((json_int_t)c->policy_version));
    bad |= set(o, "instanceId", tkm_json_hex_new(c->instance_id, 32));
    bad |= set(o, "stateVersion", json_integer((json_int_t)c->state_version));
    if (c->nonce_len) bad |= set(o, "nonce", tkm_json_hex_new(c->nonce, c->nonce_len));
    if (c->has_hpke_pk) bad |= set(o, "hpkePublicKey", tkm_json_hex_new(c->hpke_pk, 32));
    if (c->has_keys_digest) {
        bad |= set(o, "keyCount", json_integer((json_int_t)c->key_count));
        bad |= set(o, "keysDigest", tkm_json_hex_new(c->keys_digest, 32));
    }
    if (bad) goto out;
    *out = o;
    o = NULL;
    rc = TKM_RC_OK;
out:
    json_decref(keys);
    json_decref(o);
    return rc;
}

static tkm_rc claims_check(const tkm_claims *c) {
    if (!platform_ok(c->platform)) {
        tkm_err_detail_set("claims.platform: unknown platform");
        TKM_ENSURE(0, TKM_ERR_CLAIMS);
    }
    TKM_ENSURE(c->tls_spki_len > 0 && c->tls_spki_len <= TKM_CLAIMS_SPKI_MAX, TKM_ERR_CLAIMS);
    TKM_ENSURE(c->policy_version <= TKM_CLAIMS_INT_MAX && c->state_version <= TKM_CLAIMS_INT_MAX,
               TKM_ERR_CLAIMS);
    TKM_ENSURE(c->nonce_len <= TKM_CLAIMS_NONCE_MAX, TKM_ERR_CLAIMS);
    TKM_ENSURE(c->n_keys <= TKM_CLAIMS_MAX_KEYS, TKM_ERR_CLAIMS);
    if (c->has_keys_digest && (c->n_keys != 0 || c->key_count < 1 || c->key_count > TKM_CLAIMS_INT_MAX)) {
        tkm_err_detail_set("claims.keysDigest: needs keyCount >= 1 and an empty keys list");
        TKM_ENSURE(0, TKM_ERR_CLAIMS);
    }
    for (size_t i = 1; i < c->n_keys; i++) {
        if (key_cmp(&c->keys[i - 1], &c->keys[i]) >= 0) {
            tkm_err_detail_set("claims.keys[%zu]: keys not sorted or duplicated", i);
            TKM_ENSURE(0, TKM_ERR_CLAIMS);
        }
    }
    return TKM_RC_OK;
}

tkm_rc tkm_claims_encode(tkm_claims *c, tkm_wr *w) {
    if (c->n_keys > 1) qsort(c->keys, c->n_keys, sizeof *c->keys, key_cmp);
    TKM_TRY(claims_check(c));
    json_t *j = NULL;
    TKM_TRY(tkm_claims_to_json(c, &j));
    tkm_rc rc = tkm_json_canonical(j, w);
    json_decref(j);
    return rc;
}

static tkm_rc get_u53(const json_t *o, const char *key, uint64_t *v) {
    int64_t x = 0;
    TKM_TRY(tkm_json_int(o, "claims", key, 1, 0, (int64_t)TKM_CLAIMS_INT_MAX, &x, NULL));
    *v = (uint64_t)x;
    return TKM_RC_OK;
}

static tkm_rc parse_key(tkm_claims *c, const json_t *e, size_t i) {
    char path[48];
    snprintf(path, sizeof path, "claims.keys[%zu]", i);
    const char *type = NULL;
    size_t tl = 0;
    uint8_t pub[TKM_SECP_PUBKEY_LEN];
    TKM_TRY(tkm_json_str(e, path, "type", 1, &type, &tl));
    if (strcmp(type, "secp256k1") == 0) {
        static const char *const allowed[] = {"type", "publicKey", "address", NULL};
        TKM_TRY(tkm_json_check_fields(e, path, allowed));
        uint8_t addr[20];
        TKM_TRY(tkm_json_hexfixed(e, path, "publicKey", 1, pub, TKM_SECP_PUBKEY_LEN, NULL));
        TKM_TRY(tkm_json_hexfixed(e, path, "address", 1, addr, 20, NULL));
        tkm_rc rc = tkm_claims_add_key(c, TKM_CLAIM_KEY_SECP256K1, pub, TKM_SECP_PUBKEY_LEN);
        if (tkm_failed(rc)) {
            tkm_err_detail_set("%s.publicKey: not a valid secp256k1 key", path);
            TKM_ENSURE(0, rc.code == TKM_ERR_BAD_KEY ? TKM_ERR_CLAIMS : rc.code);
        }
        if (memcmp(c->keys[c->n_keys - 1].addr, addr, 20) != 0) {
            tkm_err_detail_set("%s.address: not the address of publicKey", path);
            TKM_ENSURE(0, TKM_ERR_CLAIMS);
        }
        return TKM_RC_OK;
    }
    if (strcmp(type, "bls12-381") == 0) {
        static const char *const allowed[] = {"type", "publicKey", NULL};
        TKM_TRY(tkm_json_check_fields(e, path, allowed));
        TKM_TRY(tkm_json_hexfixed(e, path, "publicKey", 1, pub, BLS_PUB_LEN, NULL));
        tkm_rc rc = tkm_claims_add_key(c, TKM_CLAIM_KEY_BLS12381, pub, BLS_PUB_LEN);
        if (tkm_failed(rc)) {
            tkm_err_detail_set("%s.publicKey: not a compressed BLS12-381 G1 key", path);
            TKM_ENSURE(0, rc.code == TKM_ERR_BAD_KEY ? TKM_ERR_CLAIMS : rc.code);
        }
        return TKM_RC_OK;
    }
    tkm_err_detail_set("%s.type: unknown key type", path);
    TKM_ENSURE(0, TKM_ERR_CLAIMS);
}

static tkm_rc parse_obj(tkm_claims *c, const json_t *o) {
    static const char *const allowed[] = {"version",      "platform",   "tlsPublicKey", "auditAddress",
                                          "keys",         "policyHash", "policyVersion", "instanceId",
                                          "stateVersion", "nonce",      "hpkePublicKey", "keyCount",
                                          "keysDigest",   NULL};
    TKM_ENSURE(json_is_object(o), TKM_ERR_JSON_TYPE);
    TKM_TRY(tkm_json_check_fields(o, "claims", allowed));
    uint64_t version = 0;
    TKM_TRY(get_u53(o, "version", &version));
    if (version != TKM_CLAIMS_VERSION) {
        tkm_err_detail_set("claims.version: unsupported version %llu", (unsigned long long)version);
        TKM_ENSURE(0, TKM_ERR_CLAIMS);
    }
    const char *s = NULL;
    size_t sl = 0;
    TKM_TRY(tkm_json_str(o, "claims", "platform", 1, &s, &sl));
    if (sl != 3 || !platform_ok(s)) {
        tkm_err_detail_set("claims.platform: unknown platform");
        TKM_ENSURE(0, TKM_ERR_CLAIMS);
    }
    memcpy(c->platform, s, 4);
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    TKM_TRY(tkm_json_hexbytes(o, "claims", "tlsPublicKey", 1, TKM_CLAIMS_SPKI_MAX, &spki, &spki_len, NULL));
    if (spki_len == 0) {
        free(spki);
        tkm_err_detail_set("claims.tlsPublicKey: empty");
        TKM_ENSURE(0, TKM_ERR_CLAIMS);
    }
    memcpy(c->tls_spki, spki, spki_len);
    c->tls_spki_len = spki_len;
    free(spki);
    TKM_TRY(tkm_json_hexfixed(o, "claims", "auditAddress", 1, c->audit_addr, 20, NULL));
    json_t *keys = NULL;
    TKM_TRY(tkm_json_get(o, "claims", "keys", 1, &keys));
    if (!json_is_array(keys)) {
        tkm_err_detail_set("claims.keys: not an array");
        TKM_ENSURE(0, TKM_ERR_JSON_TYPE);
    }
    if (json_array_size(keys) > TKM_CLAIMS_MAX_KEYS) {
        tkm_err_detail_set("claims.keys: more than %d keys", TKM_CLAIMS_MAX_KEYS);
        TKM_ENSURE(0, TKM_ERR_LIMIT);
    }
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const json_t *e = json_array_get(keys, i);
        if (!json_is_object(e)) {
            tkm_err_detail_set("claims.keys[%zu]: not an object", i);
            TKM_ENSURE(0, TKM_ERR_JSON_TYPE);
        }
        TKM_TRY(parse_key(c, e, i));
    }
    TKM_TRY(tkm_json_hexfixed(o, "claims", "policyHash", 1, c->policy_hash, 32, NULL));
    TKM_TRY(get_u53(o, "policyVersion", &c->policy_version));
    TKM_TRY(tkm_json_hexfixed(o, "claims", "instanceId", 1, c->instance_id, 32, NULL));
    TKM_TRY(get_u53(o, "stateVersion", &c->state_version));
    uint8_t *nonce = NULL;
    size_t nonce_len = 0;
    int present = 0;
    TKM_TRY(tkm_json_hexbytes(o, "claims", "nonce", 0, TKM_CLAIMS_NONCE_MAX, &nonce, &nonce_len, &present));
    if (present && nonce_len == 0) {
        tkm_err_detail_set("claims.nonce: empty (omit the field instead)");
        TKM_ENSURE(0, TKM_ERR_CLAIMS);
    }
    if (nonce_len) memcpy(c->nonce, nonce, nonce_len);
    c->nonce_len = nonce_len;
    free(nonce);
    TKM_TRY(tkm_json_hexfixed(o, "claims", "hpkePublicKey", 0, c->hpke_pk, 32, &c->has_hpke_pk));
    int has_count = 0;
    int64_t count = 0;
    TKM_TRY(tkm_json_int(o, "claims", "keyCount", 0, 1, (int64_t)TKM_CLAIMS_INT_MAX, &count, &has_count));
    TKM_TRY(tkm_json_hexfixed(o, "claims", "keysDigest", 0, c->keys_digest, 32, &c->has_keys_digest));
    if (has_count != c->has_keys_digest) {
        tkm_err_detail_set("claims: keyCount and keysDigest go together");
        TKM_ENSURE(0, TKM_ERR_CLAIMS);
    }
    c->key_count = (uint64_t)count;
    return claims_check(c);
}

tkm_rc tkm_claims_parse(tkm_claims *c, const uint8_t *buf, size_t len) {
    tkm_claims_init(c);
    TKM_ARG_CHECK(buf != NULL || len == 0);
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    json_t *j = NULL;
    tkm_wr w;
    tkm_wr_init(&w, TKM_CLAIMS_MAX_BYTES + 1);
    if (len > TKM_CLAIMS_MAX_BYTES) {
        tkm_err_detail_set("claims: larger than %zu bytes", TKM_CLAIMS_MAX_BYTES);
        TKM_GOTO(rc, TKM_ERR_TOO_LARGE);
    }
    tkm_json_limits lim = {.max_bytes = TKM_CLAIMS_MAX_BYTES, .max_depth = 4};
    TKM_CHECK_GOTO(rc, tkm_json_load(&j, buf, len, &lim));
    TKM_CHECK_GOTO(rc, parse_obj(c, j));
    TKM_CHECK_GOTO(rc, tkm_claims_encode(c, &w));
    if (w.len != len || memcmp(w.p, buf, len) != 0) {
        tkm_err_detail_set("claims: bytes are not the RFC 8785 canonical form");
        TKM_GOTO(rc, TKM_ERR_CLAIMS_NONCANONICAL);
    }
    rc = TKM_RC_OK;
out:
    tkm_wr_free(&w);
    json_decref(j);
    if (tkm_failed(rc)) tkm_claims_free(c);
    return rc;
}

tkm_rc tkm_claims_report_data(uint8_t rd[static TKM_REPORT_DATA_LEN], const uint8_t *jcs, size_t len) {
    static const char domain[] = TKM_CLAIMS_DOMAIN; /* sizeof includes the 0x00 separator */
    tkm_iov v[2] = {{domain, sizeof domain}, {jcs, len}};
    return tkm_sha512_v(rd, v, 2);
}

tkm_rc tkm_claims_verify_report_data(const uint8_t rd[static TKM_REPORT_DATA_LEN], const uint8_t *jcs,
                                     size_t len) {
    tkm_claims c;
    TKM_TRY(tkm_claims_parse(&c, jcs, len));
    tkm_claims_free(&c);
    uint8_t want[TKM_REPORT_DATA_LEN];
    TKM_TRY(tkm_claims_report_data(want, jcs, len));
    if (!tkm_ct_eq(want, rd, sizeof want)) {
        tkm_err_detail_set("report_data is not SHA-512 of the claims");
        TKM_ENSURE(0, TKM_ERR_TEE_BINDING);
    }
    return TKM_RC_OK;
}
