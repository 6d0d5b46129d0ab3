/* see tkm_intent.h */
#include "tkm_intent.h"

#include <stdio.h>
#include <string.h>

int tkm_request_id_ok(const char *s, size_t n) {
    if (n < 1 || n > TKM_REQUEST_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-' || c == ':'))
            return 0;
    }
    return 1;
}

static tkm_rc bad(tkm_err code, const char *field, const char *why) {
    tkm_err_detail_set("intent.%s: %s", field, why);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(code);
}

static tkm_rc get_addr(const json_t *o, const char *key, int required, uint8_t out[20], int *present) {
    const char *s;
    size_t n;
    *present = 0;
    TKM_TRY(tkm_json_str(o, "intent", key, required, &s, &n));
    if (!s) return TKM_RC_OK;
    tkm_rc rc = tkm_eth_address_parse(out, s, n);
    if (tkm_failed(rc)) return bad(rc.code, key, "invalid address");
    *present = 1;
    return TKM_RC_OK;
}

static tkm_rc get_dec(const json_t *o, const char *key, tkm_u256 *out, int *present) {
    const char *s;
    size_t n;
    *present = 0;
    TKM_TRY(tkm_json_str(o, "intent", key, 0, &s, &n));
    if (!s) return TKM_RC_OK;
    tkm_rc rc = tkm_u256_from_dec(out, s, n);
    if (tkm_failed(rc)) return bad(rc.code, key, "must be a decimal integer string (base units)");
    *present = 1;
    return TKM_RC_OK;
}

static tkm_rc get_td_str(const json_t *o, const char *key, char *out, int *present) {
    const char *s;
    size_t n;
    *present = 0;
    TKM_TRY(tkm_json_str(o, "intent.typedData", key, 0, &s, &n));
    if (!s) return TKM_RC_OK;
    if (n > TKM_POLICY_TD_STR_MAX || memchr(s, 0, n)) return bad(TKM_ERR_TOO_LARGE, key, "too long or contains NUL");
    memcpy(out, s, n);
    out[n] = 0;
    *present = 1;
    return TKM_RC_OK;
}

static tkm_rc from_json(tkm_intent *in, const json_t *o) {
    static const char *const fields[] = {"requestId", "key", "keyAddress", "payload", "txType", "chainId",
                                         "action", "asset", "to", "amount", "value", "selector",
                                         "calldataHash", "nonce", "payloadHash", "typedData", "notAfter",
                                         "assetName", NULL};
    const char *s;
    size_t n;
    int present;
    int64_t x;
    TKM_TRY(tkm_json_check_fields(o, "intent", fields));
    TKM_TRY(tkm_json_str(o, "intent", "requestId", 1, &s, &n));
    if (!tkm_request_id_ok(s, n)) return bad(TKM_ERR_REQUEST, "requestId", "1-128 of A-Z a-z 0-9 . _ : -");
    memcpy(in->request_id, s, n + 1);
    TKM_TRY(tkm_json_str(o, "intent", "key", 1, &s, &n));
    if (n < 1 || n > TKM_POLICY_NAME_MAX) return bad(TKM_ERR_REQUEST, "key", "label of 1-64 characters");
    memcpy(in->key_label, s, n + 1);
    TKM_TRY(get_addr(o, "keyAddress", 1, in->key, &present));
    TKM_TRY(tkm_json_str(o, "intent", "payload", 1, &s, &n));
    if (strcmp(s, "tx") == 0)
        in->payload = TKM_PAYLOAD_TX;
    else if (strcmp(s, "typed_data") == 0)
        in->payload = TKM_PAYLOAD_TYPED_DATA;
    else if (strcmp(s, "message") == 0)
        return bad(TKM_ERR_REQUEST, "payload", "a personal message intent is built from a request with \"message\"");
    else
        return bad(TKM_ERR_REQUEST, "payload", "must be \"tx\" or \"typed_data\"");
    TKM_TRY(tkm_json_int(o, "intent", "txType", 0, 0, 4, &x, &present));
    in->tx_type = (unsigned)x;
    TKM_TRY(tkm_json_int(o, "intent", "chainId", 0, 1, INT64_MAX, &x, &in->has_chain_id));
    in->chain_id = (uint64_t)x;
    TKM_TRY(tkm_json_str(o, "intent", "action", 1, &s, &n));
    if (tkm_failed(tkm_action_parse(&in->action, s))) return bad(TKM_ERR_REQUEST, "action", "unknown action");
    TKM_TRY(tkm_json_str(o, "intent", "asset", 0, &s, &n));
    if (!s)
        in->asset_kind = TKM_ASSET_NONE;
    else if (strcmp(s, "native") == 0)
        in->asset_kind = TKM_ASSET_NATIVE;
    else {
        TKM_TRY(get_addr(o, "asset", 1, in->asset_contract, &present));
        in->asset_kind = TKM_ASSET_CONTRACT;
    }
    TKM_TRY(get_addr(o, "to", 0, in->to, &in->has_to));
    TKM_TRY(get_dec(o, "amount", &in->amount, &in->has_amount));
    TKM_TRY(get_dec(o, "value", &in->value, &present));
    TKM_TRY(tkm_json_hexfixed(o, "intent", "selector", 0, in->selector, 4, &in->has_selector));
    TKM_TRY(tkm_json_hexfixed(o, "intent", "calldataHash", 0, in->calldata_hash, 32, &in->has_calldata));
    TKM_TRY(tkm_json_int(o, "intent", "nonce", 0, 0, INT64_MAX, &x, &in->has_nonce));
    in->nonce = (uint64_t)x;
    TKM_TRY(tkm_json_hexfixed(o, "intent", "payloadHash", 1, in->payload_hash, 32, &present));
    TKM_TRY(tkm_json_int(o, "intent", "notAfter", 1, 0, INT64_MAX, &in->not_after, &present));
    json_t *td;
    TKM_TRY(tkm_json_get(o, "intent", "typedData", 0, &td));
    if (td) {
        static const char *const tdf[] = {"name", "version", "verifyingContract", "primaryType", NULL};
        TKM_TRY(tkm_json_check_fields(td, "intent.typedData", tdf));
        TKM_TRY(get_td_str(td, "name", in->td_name, &in->has_td_name));
        TKM_TRY(get_td_str(td, "version", in->td_version, &in->has_td_version));
        TKM_TRY(get_td_str(td, "primaryType", in->td_primary_type, &present));
        TKM_TRY(tkm_json_str(td, "intent.typedData", "verifyingContract", 0, &s, &n));
        if (s) {
            tkm_rc rc = tkm_eth_address_parse(in->td_verifying_contract, s, n);
            if (tkm_failed(rc)) return bad(rc.code, "typedData.verifyingContract", "invalid address");
            in->has_td_verifying_contract = 1;
        }
    }
    return TKM_RC_OK;
}

tkm_rc tkm_intent_from_json(tkm_intent *out, const json_t *obj) {
    tkm_intent in;
    memset(out, 0, sizeof *out);
    memset(&in, 0, sizeof in);
    TKM_TRY(from_json(&in, obj));
    *out = in;
    return TKM_RC_OK;
}

/* ---- rendering ---- */

static int set_new(json_t *o, const char *k, json_t *v) { return v ? json_object_set_new(o, k, v) : -1; }

static json_t *addr_json(const uint8_t a[20]) {
    char s[TKM_ETH_ADDR_STR_LEN];
    tkm_eth_address_checksum(s, a);
    return json_string(s);
}

static json_t *dec_json(const tkm_u256 *v) {
    char s[TKM_U256_DEC_MAX + 1];
    tkm_u256_to_dec(v, s);
    return json_string(s);
}

static json_t *span_json(const tkm_intent *in, tkm_siwe_span sp) {
    if (sp.off > sizeof in->msg_body || sp.len > sizeof in->msg_body - sp.off) return NULL;
    return json_stringn(sp.len ? (const char *)in->msg_body + sp.off : "", sp.len);
}

/*
 * What a SIWE message says about the sign-in, for answers and the audit log:
 * which site (scheme, domain), which chain, which nonce (the relying party's
 * session), when; the number of resources. Not the statement, the URI (its
 * path or query may carry session data), the request id or the resources
 * themselves (docs/policy.md "Sign-In with Ethereum").
 */
static json_t *siwe_json(const tkm_intent *in) {
    const tkm_siwe_msg *w = &in->siwe;
    json_t *o = json_object();
    int e = !o;
    if (!e) {
        if (w->has_scheme) e |= set_new(o, "scheme", span_json(in, w->scheme));
        e |= set_new(o, "domain", span_json(in, w->domain.all));
        if (w->chain_id <= (uint64_t)INT64_MAX) {
            e |= set_new(o, "chainId", json_integer((json_int_t)w->chain_id));
        } else { /* beyond a JSON integer here: its decimal string */
            char dec[24];
            snprintf(dec, sizeof dec, "%llu", (unsigned long long)w->chain_id);
            e |= set_new(o, "chainId", json_string(dec));
        }
        e |= set_new(o, "nonce", span_json(in, w->nonce));
        e |= set_new(o, "issuedAt", span_json(in, w->issued_at.text));
        if (w->has_expiration_time) e |= set_new(o, "expirationTime", span_json(in, w->expiration_time.text));
        if (w->has_not_before) e |= set_new(o, "notBefore", span_json(in, w->not_before.text));
        e |= set_new(o, "resources", json_integer((json_int_t)w->n_resources));
    }
    if (e) {
        json_decref(o);
        return NULL;
    }
    return o;
}

tkm_rc tkm_intent_to_json(json_t **out, const tkm_intent *in, const tkm_policy *p) {
    *out = NULL;
    json_t *o = json_object();
    TKM_ENSURE(o, TKM_ERR_NOMEM);
    int e = 0;
    e |= set_new(o, "requestId", json_string(in->request_id));
    e |= set_new(o, "key", json_string(in->key_label));
    e |= set_new(o, "keyAddress", addr_json(in->key));
    e |= set_new(o, "payload", json_string(in->payload == TKM_PAYLOAD_TX        ? "tx"
                                           : in->payload == TKM_PAYLOAD_MESSAGE ? "message"
                                                                                : "typed_data"));
    if (in->payload == TKM_PAYLOAD_TX) e |= set_new(o, "txType", json_integer((json_int_t)in->tx_type));
    if (in->has_chain_id) e |= set_new(o, "chainId", json_integer((json_int_t)in->chain_id));
    e |= set_new(o, "action", json_string(tkm_action_name(in->action)));
    if (in->asset_kind == TKM_ASSET_NATIVE)
        e |= set_new(o, "asset", json_string("native"));
    else if (in->asset_kind == TKM_ASSET_CONTRACT)
        e |= set_new(o, "asset", addr_json(in->asset_contract));
    if (p && in->asset_kind != TKM_ASSET_NONE && in->has_chain_id) {
        long a = tkm_policy_asset_find(p, in->chain_id,
                                       in->asset_kind == TKM_ASSET_CONTRACT ? in->asset_contract : NULL);
        if (a >= 0) e |= set_new(o, "assetName", json_string(p->assets[a].name));
    }
    if (in->has_to) e |= set_new(o, "to", addr_json(in->to));
    if (in->has_amount) e |= set_new(o, "amount", dec_json(&in->amount));
    if (in->payload == TKM_PAYLOAD_TX) e |= set_new(o, "value", dec_json(&in->value));
    if (in->has_selector) e |= set_new(o, "selector", tkm_json_hex_new(in->selector, 4));
    if (in->has_calldata) e |= set_new(o, "calldataHash", tkm_json_hex_new(in->calldata_hash, 32));
    if (in->has_nonce) e |= set_new(o, "nonce", json_integer((json_int_t)in->nonce));
    e |= set_new(o, "payloadHash", tkm_json_hex_new(in->payload_hash, 32));
    if (in->payload == TKM_PAYLOAD_TYPED_DATA) {
        json_t *td = json_object();
        e |= set_new(o, "typedData", td);
        if (td) {
            if (in->has_td_name) e |= set_new(td, "name", json_string(in->td_name));
            if (in->has_td_version) e |= set_new(td, "version", json_string(in->td_version));
            if (in->has_td_verifying_contract)
                e |= set_new(td, "verifyingContract", addr_json(in->td_verifying_contract));
            e |= set_new(td, "primaryType", json_string(in->td_primary_type));
        }
    }
    if (in->payload == TKM_PAYLOAD_MESSAGE) { /* length and kind: the content is never rendered */
        json_t *m = json_pack("{s:I,s:b}", "length", (json_int_t)in->msg_len, "text", in->msg_text);
        e |= set_new(o, "message", m);
        if (m && in->msg_siwe) e |= set_new(m, "siwe", siwe_json(in));
    }
    e |= set_new(o, "notAfter", json_integer((json_int_t)in->not_after));
    if (e) {
        json_decref(o);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    *out = o;
    return TKM_RC_OK;
}
