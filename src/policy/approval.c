/* see tkm_approval.h — fixed EIP-712 structs hashed directly. */
#include "tkm_approval.h"

#include <stdio.h>
#include <string.h>

static const char DOMAIN_TYPE[] = "EIP712Domain(string name,string version,bytes32 salt)";
static const char APPROVAL_TYPE[] =
    "Approval(string requestId,address key,uint256 chainId,string action,address asset,address to,"
    "uint256 amount,bytes32 payloadHash,uint64 expiresAt)";
static const char POLICY_UPDATE_TYPE[] =
    "PolicyUpdate(uint64 version,bytes32 policyHash,uint64 previousVersion,bytes32 previousPolicyHash,"
    "uint64 expiresAt)";
static const char KEY_EVENT_TYPE[] =
    "KeyEvent(string requestId,string action,string label,address key,uint64 policyVersion,uint64 expiresAt)";

/* Word writers over a keccak context. */
static void w_str_type(tkm_keccak_ctx *c, const char *type) {
    uint8_t h[32];
    tkm_keccak256(h, type, strlen(type));
    tkm_keccak256_update(c, h, 32);
}
static void w_string(tkm_keccak_ctx *c, const char *s) { w_str_type(c, s); /* keccak(utf8) */ }
static void w_addr(tkm_keccak_ctx *c, const uint8_t *a) {
    uint8_t w[32] = {0};
    if (a) memcpy(w + 12, a, 20);
    tkm_keccak256_update(c, w, 32);
}
static void w_u64(tkm_keccak_ctx *c, uint64_t v) {
    uint8_t w[32] = {0};
    for (int i = 0; i < 8; i++) w[31 - i] = (uint8_t)(v >> (8 * i));
    tkm_keccak256_update(c, w, 32);
}
static void w_u256(tkm_keccak_ctx *c, const tkm_u256 *v) {
    uint8_t w[32];
    tkm_u256_to_be32(v, w);
    tkm_keccak256_update(c, w, 32);
}

void tkm_approval_domain(uint8_t out[static 32], const uint8_t instance_id[static TKM_INSTANCE_ID_LEN]) {
    tkm_keccak_ctx c;
    tkm_keccak256_init(&c);
    w_str_type(&c, DOMAIN_TYPE);
    w_string(&c, "teekm");
    w_string(&c, "1");
    tkm_keccak256_update(&c, instance_id, 32);
    tkm_keccak256_final(&c, out);
}

static void finish(uint8_t out[static 32], const uint8_t instance_id[static 32], tkm_keccak_ctx *sc) {
    uint8_t buf[66];
    buf[0] = 0x19;
    buf[1] = 0x01;
    tkm_approval_domain(buf + 2, instance_id);
    tkm_keccak256_final(sc, buf + 34);
    tkm_keccak256(out, buf, sizeof buf);
}

void tkm_approval_digest(uint8_t out[static 32], const uint8_t instance_id[static TKM_INSTANCE_ID_LEN],
                         const tkm_intent *in, uint64_t expires_at) {
    tkm_keccak_ctx c;
    tkm_keccak256_init(&c);
    w_str_type(&c, APPROVAL_TYPE);
    w_string(&c, in->request_id);
    w_addr(&c, in->key);
    w_u64(&c, in->has_chain_id ? in->chain_id : 0);
    w_string(&c, tkm_action_name(in->action));
    w_addr(&c, in->asset_kind == TKM_ASSET_CONTRACT ? in->asset_contract : NULL);
    w_addr(&c, in->has_to ? in->to : NULL);
    tkm_u256 zero = tkm_u256_zero();
    w_u256(&c, in->has_amount ? &in->amount : &zero);
    tkm_keccak256_update(&c, in->payload_hash, 32);
    w_u64(&c, expires_at);
    finish(out, instance_id, &c);
}

void tkm_policy_update_digest(uint8_t out[static 32], const uint8_t instance_id[static TKM_INSTANCE_ID_LEN],
                              uint64_t version, const uint8_t policy_hash[static 32], uint64_t prev_version,
                              const uint8_t prev_hash[static 32], uint64_t expires_at) {
    tkm_keccak_ctx c;
    tkm_keccak256_init(&c);
    w_str_type(&c, POLICY_UPDATE_TYPE);
    w_u64(&c, version);
    tkm_keccak256_update(&c, policy_hash, 32);
    w_u64(&c, prev_version);
    tkm_keccak256_update(&c, prev_hash, 32);
    w_u64(&c, expires_at);
    finish(out, instance_id, &c);
}

const char *tkm_key_event_name(tkm_key_event e) {
    switch (e) {
    case TKM_KEY_EVENT_GENERATE: return "generate";
    case TKM_KEY_EVENT_IMPORT: return "import";
    case TKM_KEY_EVENT_ROTATE: return "rotate";
    case TKM_KEY_EVENT_RETIRE: return "retire";
    }
    return "?";
}

void tkm_key_event_digest(uint8_t out[static 32], const uint8_t instance_id[static TKM_INSTANCE_ID_LEN],
                          const char *request_id, tkm_key_event ev, const char *label, const uint8_t *key,
                          uint64_t policy_version, uint64_t expires_at) {
    tkm_keccak_ctx c;
    tkm_keccak256_init(&c);
    w_str_type(&c, KEY_EVENT_TYPE);
    w_string(&c, request_id);
    w_string(&c, tkm_key_event_name(ev));
    w_string(&c, label);
    w_addr(&c, key);
    w_u64(&c, policy_version);
    w_u64(&c, expires_at);
    finish(out, instance_id, &c);
}

/* ---- the same structs as eth_signTypedData_v4 documents ---- */

static json_t *td_addr(const uint8_t *a) {
    static const uint8_t zero[20];
    char s[TKM_ETH_ADDR_STR_LEN];
    tkm_eth_address_checksum(s, a ? a : zero);
    return json_string(s);
}
static json_t *td_u64(uint64_t v) {
    if (v <= 9007199254740991ULL) return json_integer((json_int_t)v);
    char d[24];
    snprintf(d, sizeof d, "%llu", (unsigned long long)v);
    return json_string(d);
}
static json_t *td_u256(const tkm_u256 *v) {
    char d[TKM_U256_DEC_MAX + 1];
    tkm_u256_to_dec(v, d);
    return json_string(d);
}

/* "name type,name type" (a type's member list as in its encodeType) → [{name, type}, …] */
static json_t *td_fields(const char *members) {
    json_t *a = json_array();
    const char *p = members;
    while (a && *p) {
        const char *sp = strchr(p, ' '), *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        if (!sp || sp > end) {
            json_decref(a);
            return NULL;
        }
        json_t *f = json_pack("{s:s%,s:s%}", "name", sp + 1, (size_t)(end - sp - 1), "type", p, (size_t)(sp - p));
        if (!f || json_array_append_new(a, f) != 0) {
            json_decref(f);
            json_decref(a);
            return NULL;
        }
        p = *end ? end + 1 : end;
    }
    return a;
}

/* Wrap message (stolen) in the document whose primary type has this encodeType "Name(members)". */
static tkm_rc td_doc(json_t **out, const char *encode_type, const uint8_t instance_id[static 32], json_t *message) {
    *out = NULL;
    char name[32], members[256];
    const char *lp = strchr(encode_type, '(');
    size_t nl = lp ? (size_t)(lp - encode_type) : 0, ml = lp ? strlen(lp + 1) : 0;
    json_t *doc = json_object(), *types = json_object(), *domain = json_object();
    int bad = !lp || nl >= sizeof name || ml < 1 || ml > sizeof members || !doc || !types || !domain || !message;
    if (!bad) {
        memcpy(name, encode_type, nl);
        name[nl] = 0;
        memcpy(members, lp + 1, ml - 1); /* without the closing parenthesis */
        members[ml - 1] = 0;
        json_t *salt = tkm_json_hex_new(instance_id, 32);
        bad |= !salt || json_object_set_new(domain, "name", json_string("teekm")) != 0 ||
               json_object_set_new(domain, "version", json_string("1")) != 0 ||
               json_object_set_new(domain, "salt", salt) != 0;
        json_t *df = td_fields("string name,string version,bytes32 salt"), *mf = td_fields(members);
        bad |= !df || !mf || json_object_set_new(types, "EIP712Domain", df) != 0 ||
               json_object_set_new(types, name, mf) != 0;
        bad |= json_object_set(doc, "types", types) != 0 ||
               json_object_set_new(doc, "primaryType", json_string(name)) != 0 ||
               json_object_set(doc, "domain", domain) != 0 || json_object_set(doc, "message", message) != 0;
    }
    json_decref(types);
    json_decref(domain);
    json_decref(message);
    if (bad) {
        json_decref(doc);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    *out = doc;
    return TKM_RC_OK;
}

tkm_rc tkm_approval_typed_data(json_t **out, const uint8_t instance_id[static TKM_INSTANCE_ID_LEN], const tkm_intent *in,
                               uint64_t expires_at) {
    tkm_u256 zero = tkm_u256_zero(), chain = tkm_u256_from_u64(in->has_chain_id ? in->chain_id : 0);
    json_t *m = json_pack("{s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:o,s:o}", "requestId", in->request_id, "key",
                          td_addr(in->key), "chainId", td_u256(&chain), "action", tkm_action_name(in->action), "asset",
                          td_addr(in->asset_kind == TKM_ASSET_CONTRACT ? in->asset_contract : NULL), "to",
                          td_addr(in->has_to ? in->to : NULL), "amount", td_u256(in->has_amount ? &in->amount : &zero),
                          "payloadHash", tkm_json_hex_new(in->payload_hash, 32), "expiresAt", td_u64(expires_at));
    return td_doc(out, APPROVAL_TYPE, instance_id, m);
}

tkm_rc tkm_policy_update_typed_data(json_t **out, const uint8_t instance_id[static TKM_INSTANCE_ID_LEN], uint64_t version,
                                    const uint8_t policy_hash[static 32], uint64_t prev_version,
                                    const uint8_t prev_hash[static 32], uint64_t expires_at) {
    json_t *m = json_pack("{s:o,s:o,s:o,s:o,s:o}", "version", td_u64(version), "policyHash", tkm_json_hex_new(policy_hash, 32),
                          "previousVersion", td_u64(prev_version), "previousPolicyHash", tkm_json_hex_new(prev_hash, 32),
                          "expiresAt", td_u64(expires_at));
    return td_doc(out, POLICY_UPDATE_TYPE, instance_id, m);
}

tkm_rc tkm_key_event_typed_data(json_t **out, const uint8_t instance_id[static TKM_INSTANCE_ID_LEN],
                                const char *request_id, tkm_key_event ev, const char *label, const uint8_t *key,
                                uint64_t policy_version, uint64_t expires_at) {
    json_t *m = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o}", "requestId", request_id, "action", tkm_key_event_name(ev),
                          "label", label, "key", td_addr(key), "policyVersion", td_u64(policy_version), "expiresAt",
                          td_u64(expires_at));
    return td_doc(out, KEY_EVENT_TYPE, instance_id, m);
}

static tkm_rc fail_at(const char *path, const char *why) {
    tkm_err_detail_set("%s: %s", path, why);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(TKM_ERR_APPROVAL_FORMAT);
}

static tkm_rc sig_from_str(tkm_approval *a, const json_t *v, const char *path) {
    if (!json_is_string(v)) return fail_at(path, "a signature is a 0x hex string of 65 bytes");
    tkm_rc rc = tkm_hex_decode_exact(a->sig, 65, json_string_value(v), json_string_length(v), TKM_HEX_0X_REQUIRED);
    if (tkm_failed(rc)) return fail_at(path, "a signature is 0x followed by 130 hex digits (r ‖ s ‖ v)");
    uint8_t vv = a->sig[64];
    if (vv == 27 || vv == 28)
        a->sig[64] = (uint8_t)(vv - 27);
    else if (vv != 0 && vv != 1)
        return fail_at(path, "v must be 27, 28, 0 or 1");
    return TKM_RC_OK;
}

tkm_rc tkm_approval_parse(tkm_approval *out, const json_t *v, const char *path, uint64_t default_expires_at) {
    tkm_approval a;
    memset(out, 0, sizeof *out);
    memset(&a, 0, sizeof a);
    if (json_is_string(v)) {
        TKM_TRY(sig_from_str(&a, v, path));
        a.expires_at = default_expires_at;
    } else if (json_is_object(v)) {
        static const char *const fields[] = {"signature", "expiresAt", "signer", NULL};
        TKM_TRY(tkm_json_check_fields(v, path, fields));
        json_t *s;
        TKM_TRY(tkm_json_get(v, path, "signature", 1, &s));
        char sp[160];
        snprintf(sp, sizeof sp, "%s.signature", path);
        TKM_TRY(sig_from_str(&a, s, sp));
        int64_t e;
        int present;
        TKM_TRY(tkm_json_int(v, path, "expiresAt", 1, 0, INT64_MAX, &e, &present));
        a.expires_at = (uint64_t)e;
        const char *signer;
        size_t n;
        TKM_TRY(tkm_json_str(v, path, "signer", 0, &signer, &n));
        if (signer) {
            if (tkm_failed(tkm_eth_address_parse(a.signer, signer, n))) {
                snprintf(sp, sizeof sp, "%s.signer", path);
                return fail_at(sp, "invalid address");
            }
            a.has_signer = 1;
        }
    } else {
        return fail_at(path, "an approval is a signature string or {signature, expiresAt, signer}");
    }
    *out = a;
    return TKM_RC_OK;
}

tkm_rc tkm_approval_recover(uint8_t signer[static TKM_ETH_ADDR_LEN], const tkm_approval *a,
                            const uint8_t digest[static 32]) {
    uint8_t pub[TKM_SECP_PUBKEY_LEN], addr[20];
    memset(signer, 0, TKM_ETH_ADDR_LEN);
    TKM_TRY(tkm_secp_recover(pub, digest, a->sig, TKM_SECP_REQUIRE_LOW_S));
    tkm_eth_address(addr, pub);
    TKM_ENSURE(!a->has_signer || memcmp(addr, a->signer, 20) == 0, TKM_ERR_VERIFY);
    memcpy(signer, addr, 20);
    return TKM_RC_OK;
}

tkm_rc tkm_admin_quorum_check(const tkm_policy *p, const tkm_approval *a, size_t n, int64_t now,
                              tkm_digest_fn digest_fn, void *dctx, tkm_used_fn used_fn, void *uctx,
                              tkm_approval_check *checks, unsigned *count) {
    *count = 0;
    TKM_ARG_CHECK(n <= TKM_APPROVALS_MAX);
    memset(checks, 0, n * sizeof *checks);
    int first_bad = -1;
    for (size_t i = 0; i < n; i++) {
        tkm_approval_check *c = &checks[i];
        digest_fn(c->digest, dctx, a[i].expires_at);
        if (now < 0 || a[i].expires_at < (uint64_t)now)
            c->why = "expired";
        else if (tkm_failed(tkm_approval_recover(c->signer, &a[i], c->digest)))
            c->why = a[i].has_signer ? "does not sign these fields (or not by its claimed signer)"
                                     : "invalid signature";
        else if (!tkm_policy_is_admin(p, c->signer))
            c->why = "signer is not an admin of the current policy";
        else {
            int used = 0;
            if (used_fn) TKM_TRY(used_fn(uctx, c->digest, c->signer, &used));
            if (used)
                c->why = "already used";
            else {
                int dup = 0;
                for (size_t j = 0; j < i; j++)
                    if (checks[j].ok && memcmp(checks[j].signer, c->signer, 20) == 0) dup = 1;
                if (dup)
                    c->why = "duplicate signer";
                else {
                    c->ok = 1;
                    (*count)++;
                }
            }
        }
        if (!c->ok && first_bad < 0) first_bad = (int)i;
    }
    if (*count >= p->admin_threshold) return TKM_RC_OK;
    if (first_bad >= 0)
        tkm_err_detail_set("%u of %u admin approvals; approval %d: %s", *count, p->admin_threshold, first_bad,
                           checks[first_bad].why);
    else
        tkm_err_detail_set("%u of %u admin approvals", *count, p->admin_threshold);
    TKM_ENSURE(0, TKM_ERR_QUORUM);
}
