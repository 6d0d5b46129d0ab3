/* see tkm_request.h */
#include "tkm_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tkm_key_label_ok(const char *s, size_t n) {
    if (n < 1 || n > TKM_POLICY_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return 0;
    }
    return 1;
}

void tkm_request_free(tkm_request *r) {
    if (!r) return;
    if (r->has_tx) tkm_tx_free(&r->tx);
    tkm_typed_data_free(r->td);
    free(r->msg);
    memset(r, 0, sizeof *r);
}

static tkm_rc bad(const char *path, const char *why) {
    tkm_err_detail_set("%s: %s", path, why);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(TKM_ERR_REQUEST);
}

tkm_rc tkm_request_from_json(tkm_request *r, const json_t *o) {
    static const char *const fields[] = {"requestId", "key", "tx", "typedData", "message", "approvals", "notAfter",
                                         NULL};
    memset(r, 0, sizeof *r);
    const char *s;
    size_t n;
    int present;
    TKM_TRY(tkm_json_check_fields(o, "", fields));
    TKM_TRY(tkm_json_str(o, "", "requestId", 1, &s, &n));
    if (!tkm_request_id_ok(s, n)) return bad("requestId", "1-128 characters of A-Z a-z 0-9 . _ : -");
    memcpy(r->request_id, s, n + 1);
    TKM_TRY(tkm_json_str(o, "", "key", 1, &s, &n));
    if (!tkm_key_label_ok(s, n)) return bad("key", "a key label: 1-64 characters of A-Z a-z 0-9 _ . -");
    memcpy(r->key_label, s, n + 1);
    TKM_TRY(tkm_json_int(o, "", "notAfter", 1, 0, 9007199254740991LL, &r->not_after, &present));
    json_t *tx, *td, *msg, *ap;
    TKM_TRY(tkm_json_get(o, "", "tx", 0, &tx));
    TKM_TRY(tkm_json_get(o, "", "typedData", 0, &td));
    TKM_TRY(tkm_json_get(o, "", "message", 0, &msg));
    if ((tx != NULL) + (td != NULL) + (msg != NULL) != 1)
        return bad("(root)", "exactly one of tx, typedData and message is required");
    tkm_rc rc;
    char prev[200];
    if (msg) {
        r->has_msg = 1;
        TKM_TRY(tkm_json_hexbytes(o, "", "message", 1, TKM_REQUEST_MESSAGE_MAX, &r->msg, &r->msg_len, &present));
    } else if (tx) {
        if (!json_is_object(tx)) return bad("tx", "must be an eth_signTransaction object");
        tkm_tx_init(&r->tx);
        r->has_tx = 1;
        rc = tkm_tx_from_json_value(&r->tx, tx);
        if (tkm_failed(rc)) {
            snprintf(prev, sizeof prev, "%s", tkm_err_detail());
            tkm_err_detail_set("tx.%s", prev);
            return rc;
        }
    } else {
        if (!json_is_object(td)) return bad("typedData", "must be an EIP-712 document object");
        rc = tkm_typed_data_from_json(&r->td, td, NULL);
        if (tkm_failed(rc)) {
            snprintf(prev, sizeof prev, "%s", tkm_err_detail());
            tkm_err_detail_set("typedData.%s", prev);
            return rc;
        }
    }
    TKM_TRY(tkm_json_get(o, "", "approvals", 0, &ap));
    if (ap) {
        if (!json_is_array(ap)) return bad("approvals", "must be an array");
        if (json_array_size(ap) > TKM_APPROVALS_MAX) return bad("approvals", "more than 32 approvals");
        for (size_t i = 0; i < json_array_size(ap); i++) {
            char p[32];
            snprintf(p, sizeof p, "approvals[%zu]", i);
            rc = tkm_approval_parse(&r->approvals[r->n_approvals], json_array_get(ap, i), p,
                                    (uint64_t)r->not_after);
            if (tkm_failed(rc)) {
                if (!r->approvals_bad) snprintf(r->approvals_why, sizeof r->approvals_why, "%s", tkm_err_detail());
                r->approvals_bad = 1;
                continue;
            }
            r->n_approvals++;
        }
    }
    return TKM_RC_OK;
}

tkm_rc tkm_request_parse(tkm_request *r, const uint8_t *json, size_t len) {
    json_t *o = NULL;
    memset(r, 0, sizeof *r);
    tkm_json_limits lim = {.max_bytes = TKM_REQUEST_MAX_BYTES, .max_depth = 48};
    TKM_TRY(tkm_json_load(&o, json, len, &lim));
    tkm_rc rc = json_is_object(o) ? tkm_request_from_json(r, o) : bad("(root)", "a request is a JSON object");
    json_decref(o);
    return rc;
}

static void why_set(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

void tkm_eip191_digest(uint8_t out[static 32], const uint8_t *msg, size_t len) {
    char dec[24];
    int n = snprintf(dec, sizeof dec, "%zu", len);
    tkm_keccak_ctx c;
    tkm_keccak256_init(&c);
    tkm_keccak256_update(&c, TKM_EIP191_PREFIX, sizeof TKM_EIP191_PREFIX - 1);
    tkm_keccak256_update(&c, dec, (size_t)n);
    if (len) tkm_keccak256_update(&c, msg, len);
    tkm_keccak256_final(&c, out);
}

/* Personal messages: the digest, the length, whether it is text, the first bytes (prefix conditions). */
static void intent_message(tkm_intent *it, const uint8_t *msg, size_t len) {
    it->payload = TKM_PAYLOAD_MESSAGE;
    it->action = TKM_ACTION_SIGN_MESSAGE;
    tkm_eip191_digest(it->payload_hash, msg, len);
    it->msg_len = len;
    it->msg_text = len <= TKM_POLICY_MSG_MAX && tkm_policy_message_is_text(msg, len);
    it->msg_head_len = len < sizeof it->msg_head ? len : sizeof it->msg_head;
    if (it->msg_head_len) memcpy(it->msg_head, msg, it->msg_head_len);
    /* Sign-In with Ethereum: parsed once here, for the rules' siwe conditions */
    if (len > sizeof it->msg_body) {
        snprintf(it->msg_siwe_why, sizeof it->msg_siwe_why, "longer than %zu bytes", sizeof it->msg_body);
        return;
    }
    tkm_rc rc = tkm_siwe_parse(&it->siwe, msg, len);
    if (tkm_failed(rc)) {
        snprintf(it->msg_siwe_why, sizeof it->msg_siwe_why, "%s", tkm_err_detail());
        return;
    }
    if (len) memcpy(it->msg_body, msg, len);
    it->msg_siwe = 1;
}

static const char PERMIT_TYPE[] = "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)";

/* Typed data: EIP-2612 Permit of a token becomes an approve; anything else is typed_data. */
static tkm_rc intent_typed_data(tkm_intent *it, int *unsupported, char *why, size_t cap, const tkm_typed_data *td,
                                const uint8_t key[20]) {
    const tkm_eip712_domain *d = tkm_typed_data_domain(td);
    memcpy(it->payload_hash, tkm_typed_data_hashes(td)->digest, 32);
    it->payload = TKM_PAYLOAD_TYPED_DATA;
    if (d->fields & TKM_EIP712_DOMAIN_CHAIN_ID) {
        uint64_t c;
        if (!tkm_u256_to_u64(&d->chain_id, &c) || c == 0 || c > (uint64_t)INT64_MAX) {
            *unsupported = 1;
            why_set(why, cap, "domain chainId out of range");
            return TKM_RC_OK;
        }
        it->has_chain_id = 1;
        it->chain_id = c;
    }
    if ((d->fields & TKM_EIP712_DOMAIN_NAME) && d->name_len <= TKM_POLICY_TD_STR_MAX) {
        memcpy(it->td_name, d->name, d->name_len + 1);
        it->has_td_name = 1;
    } else if (d->fields & TKM_EIP712_DOMAIN_NAME) {
        *unsupported = 1;
        why_set(why, cap, "domain name longer than %d bytes", TKM_POLICY_TD_STR_MAX);
        return TKM_RC_OK;
    }
    if ((d->fields & TKM_EIP712_DOMAIN_VERSION) && d->version_len <= TKM_POLICY_TD_STR_MAX) {
        memcpy(it->td_version, d->version, d->version_len + 1);
        it->has_td_version = 1;
    } else if (d->fields & TKM_EIP712_DOMAIN_VERSION) {
        *unsupported = 1;
        why_set(why, cap, "domain version longer than %d bytes", TKM_POLICY_TD_STR_MAX);
        return TKM_RC_OK;
    }
    if (d->fields & TKM_EIP712_DOMAIN_VERIFYING_CONTRACT) {
        memcpy(it->td_verifying_contract, d->verifying_contract, 20);
        it->has_td_verifying_contract = 1;
        memcpy(it->to, d->verifying_contract, 20);
        it->has_to = 1;
    }
    const char *pt = tkm_typed_data_primary_type(td);
    snprintf(it->td_primary_type, sizeof it->td_primary_type, "%s", pt);
    it->action = TKM_ACTION_TYPED_DATA;
    /* EIP-2612: exactly this struct, signed for a token contract */
    uint8_t th[32], want[32];
    if (strcmp(pt, "Permit") == 0 && tkm_ok(tkm_typed_data_type_hash(td, "Permit", th))) {
        tkm_keccak256(want, PERMIT_TYPE, sizeof PERMIT_TYPE - 1);
        if (memcmp(th, want, 32) == 0) {
            uint8_t owner[20], spender[20];
            tkm_u256 value;
            TKM_TRY(tkm_typed_data_get_address(td, "owner", owner));
            TKM_TRY(tkm_typed_data_get_address(td, "spender", spender));
            TKM_TRY(tkm_typed_data_get_uint(td, "value", &value));
            if (memcmp(owner, key, 20) != 0) {
                *unsupported = 1;
                why_set(why, cap, "permit owner is not the signing key");
                return TKM_RC_OK;
            }
            if (!(d->fields & TKM_EIP712_DOMAIN_VERIFYING_CONTRACT) || !it->has_chain_id) {
                *unsupported = 1;
                why_set(why, cap, "a permit must name its token (verifyingContract) and chainId");
                return TKM_RC_OK;
            }
            it->action = TKM_ACTION_APPROVE;
            it->asset_kind = TKM_ASSET_CONTRACT;
            memcpy(it->asset_contract, d->verifying_contract, 20);
            memcpy(it->to, spender, 20);
            it->has_to = 1;
            it->amount = value;
            it->has_amount = 1;
        }
    }
    return TKM_RC_OK;
}

/*
 * Transactions: value transfer, deployment, a decoded ERC-20/ERC-3643 transfer
 * or approve to a listed token, or a contract call (docs/policy.md "Requests
 * and intents").
 */
static tkm_rc intent_tx(tkm_intent *it, int *unsupported, char *why, size_t cap, const tkm_tx *tx,
                        const uint8_t key[20], const tkm_policy *p) {
    it->payload = TKM_PAYLOAD_TX;
    it->tx_type = (unsigned)tx->type;
    TKM_TRY(tkm_tx_signing_hash(tx, it->payload_hash));
    uint64_t chain;
    if ((tx->type == TKM_TX_LEGACY && !tx->eip155) || !tkm_u256_to_u64(&tx->chain_id, &chain) || chain == 0 ||
        chain > (uint64_t)INT64_MAX) {
        *unsupported = 1;
        why_set(why, cap, "the transaction has no usable chain id (EIP-155 replay protection is required)");
        return TKM_RC_OK;
    }
    if (tx->has_from && memcmp(tx->from, key, 20) != 0) {
        *unsupported = 1;
        why_set(why, cap, "tx.from is not the address of key %s", it->key_label);
        return TKM_RC_OK;
    }
    it->has_chain_id = 1;
    it->chain_id = chain;
    it->has_nonce = 1;
    it->nonce = tx->nonce;
    it->value = tx->value;
    if (tx->data_len) {
        it->has_calldata = 1;
        tkm_keccak256(it->calldata_hash, tx->data, tx->data_len);
        if (tx->data_len >= 4) {
            it->has_selector = 1;
            memcpy(it->selector, tx->data, 4);
        }
    }
    if (!tx->has_to) {
        it->action = TKM_ACTION_DEPLOY;
        it->has_amount = 1;
        it->amount = tx->value;
        return TKM_RC_OK;
    }
    memcpy(it->to, tx->to, 20);
    it->has_to = 1;
    if (!tx->data_len) {
        it->action = TKM_ACTION_TRANSFER;
        it->asset_kind = TKM_ASSET_NATIVE;
        it->has_amount = 1;
        it->amount = tx->value;
        return TKM_RC_OK;
    }
    long a = tkm_policy_asset_find(p, chain, tx->to);
    if (a >= 0) {
        it->asset_kind = TKM_ASSET_CONTRACT;
        memcpy(it->asset_contract, tx->to, 20);
    }
    if (a >= 0 && tkm_u256_is_zero(&tx->value)) {
        tkm_token_call call;
        tkm_rc rc = tkm_token_call_decode(&call, tx->data, tx->data_len);
        if (tkm_ok(rc) && (call.fn->id == TKM_TOKEN_TRANSFER || call.fn->id == TKM_TOKEN_APPROVE)) {
            it->action = call.fn->id == TKM_TOKEN_TRANSFER ? TKM_ACTION_TRANSFER : TKM_ACTION_APPROVE;
            memcpy(it->to, call.args[0].address, 20);
            it->has_amount = 1;
            it->amount = call.args[1].uint;
            return TKM_RC_OK;
        }
        if (tkm_failed(rc) && rc.code != TKM_ERR_ABI_UNKNOWN_SELECTOR) {
            *unsupported = 1;
            why_set(why, cap, "malformed call to token %s: %s (%s)", p->assets[a].name, tkm_err_name(rc.code),
                    tkm_err_detail());
            return TKM_RC_OK;
        }
    }
    /* any other call: the selector and calldata hash are what a rule can match */
    it->action = TKM_ACTION_CONTRACT_CALL;
    it->has_amount = 1;
    it->amount = tx->value;
    return TKM_RC_OK;
}

tkm_rc tkm_intent_build(tkm_intent *it, int *unsupported, char *why, size_t why_cap, const tkm_request *r,
                        const uint8_t key_addr[static 20], const tkm_policy *p) {
    memset(it, 0, sizeof *it);
    *unsupported = 0;
    if (why_cap) why[0] = 0;
    memcpy(it->request_id, r->request_id, sizeof it->request_id);
    memcpy(it->key_label, r->key_label, sizeof it->key_label);
    memcpy(it->key, key_addr, 20);
    it->not_after = r->not_after;
    if (r->has_tx) return intent_tx(it, unsupported, why, why_cap, &r->tx, key_addr, p);
    if (r->has_msg) {
        intent_message(it, r->msg, r->msg_len);
        return TKM_RC_OK;
    }
    TKM_ARG_CHECK(r->td != NULL);
    return intent_typed_data(it, unsupported, why, why_cap, r->td, key_addr);
}
