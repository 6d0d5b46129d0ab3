/* see tkm_token.h */
#include "tkm_token.h"

#include <stdio.h>
#include <string.h>

#define A TKM_ABI_ADDRESS
#define U TKM_ABI_UINT256
#define B TKM_ABI_BOOL
#define S TKM_ABI_STRING
#define AA TKM_ABI_ADDRESS_ARRAY
#define UA TKM_ABI_UINT256_ARRAY
#define BA TKM_ABI_BOOL_ARRAY

/* Selectors = keccak256(signature)[0..4); tests/unit/eth/test_token.c recomputes each. */
static const tkm_token_fn table[TKM_TOKEN_FN_COUNT] = {
    {TKM_TOKEN_TRANSFER, {0xa9, 0x05, 0x9c, 0xbb}, "transfer", "transfer(address,uint256)", "ERC-20", 2, {A, U}, {"to", "value"}},
    {TKM_TOKEN_TRANSFER_FROM, {0x23, 0xb8, 0x72, 0xdd}, "transferFrom", "transferFrom(address,address,uint256)", "ERC-20", 3, {A, A, U}, {"from", "to", "value"}},
    {TKM_TOKEN_APPROVE, {0x09, 0x5e, 0xa7, 0xb3}, "approve", "approve(address,uint256)", "ERC-20", 2, {A, U}, {"spender", "value"}},
    {TKM_TOKEN_INCREASE_ALLOWANCE, {0x39, 0x50, 0x93, 0x51}, "increaseAllowance", "increaseAllowance(address,uint256)", "ERC-20", 2, {A, U}, {"spender", "addedValue"}},
    {TKM_TOKEN_DECREASE_ALLOWANCE, {0xa4, 0x57, 0xc2, 0xd7}, "decreaseAllowance", "decreaseAllowance(address,uint256)", "ERC-20", 2, {A, U}, {"spender", "subtractedValue"}},
    {TKM_TOKEN_SET_NAME, {0xc4, 0x7f, 0x00, 0x27}, "setName", "setName(string)", "ERC-3643", 1, {S}, {"name"}},
    {TKM_TOKEN_SET_SYMBOL, {0xb8, 0x4c, 0x82, 0x46}, "setSymbol", "setSymbol(string)", "ERC-3643", 1, {S}, {"symbol"}},
    {TKM_TOKEN_SET_ONCHAIN_ID, {0x3d, 0x1d, 0xdc, 0x5b}, "setOnchainID", "setOnchainID(address)", "ERC-3643", 1, {A}, {"onchainID"}},
    {TKM_TOKEN_PAUSE, {0x84, 0x56, 0xcb, 0x59}, "pause", "pause()", "ERC-3643", 0, {A}, {NULL}},
    {TKM_TOKEN_UNPAUSE, {0x3f, 0x4b, 0xa8, 0x3a}, "unpause", "unpause()", "ERC-3643", 0, {A}, {NULL}},
    {TKM_TOKEN_SET_ADDRESS_FROZEN, {0xc6, 0x9c, 0x09, 0xcf}, "setAddressFrozen", "setAddressFrozen(address,bool)", "ERC-3643", 2, {A, B}, {"userAddress", "freeze"}},
    {TKM_TOKEN_FREEZE_PARTIAL_TOKENS, {0x12, 0x5c, 0x4a, 0x33}, "freezePartialTokens", "freezePartialTokens(address,uint256)", "ERC-3643", 2, {A, U}, {"userAddress", "amount"}},
    {TKM_TOKEN_UNFREEZE_PARTIAL_TOKENS, {0x1f, 0xe5, 0x6f, 0x7d}, "unfreezePartialTokens", "unfreezePartialTokens(address,uint256)", "ERC-3643", 2, {A, U}, {"userAddress", "amount"}},
    {TKM_TOKEN_SET_IDENTITY_REGISTRY, {0xcb, 0xf3, 0xf8, 0x61}, "setIdentityRegistry", "setIdentityRegistry(address)", "ERC-3643", 1, {A}, {"identityRegistry"}},
    {TKM_TOKEN_SET_COMPLIANCE, {0xf8, 0x98, 0x17, 0x89}, "setCompliance", "setCompliance(address)", "ERC-3643", 1, {A}, {"compliance"}},
    {TKM_TOKEN_FORCED_TRANSFER, {0x9f, 0xc1, 0xd0, 0xe7}, "forcedTransfer", "forcedTransfer(address,address,uint256)", "ERC-3643", 3, {A, A, U}, {"from", "to", "amount"}},
    {TKM_TOKEN_MINT, {0x40, 0xc1, 0x0f, 0x19}, "mint", "mint(address,uint256)", "ERC-3643", 2, {A, U}, {"to", "amount"}},
    {TKM_TOKEN_BURN, {0x9d, 0xc2, 0x9f, 0xac}, "burn", "burn(address,uint256)", "ERC-3643", 2, {A, U}, {"userAddress", "amount"}},
    {TKM_TOKEN_RECOVERY_ADDRESS, {0x92, 0x85, 0x94, 0x8a}, "recoveryAddress", "recoveryAddress(address,address,address)", "ERC-3643", 3, {A, A, A}, {"lostWallet", "newWallet", "investorOnchainID"}},
    {TKM_TOKEN_BATCH_TRANSFER, {0x88, 0xd6, 0x95, 0xb2}, "batchTransfer", "batchTransfer(address[],uint256[])", "ERC-3643", 2, {AA, UA}, {"toList", "amounts"}},
    {TKM_TOKEN_BATCH_FORCED_TRANSFER, {0x42, 0xa4, 0x7a, 0xbc}, "batchForcedTransfer", "batchForcedTransfer(address[],address[],uint256[])", "ERC-3643", 3, {AA, AA, UA}, {"fromList", "toList", "amounts"}},
    {TKM_TOKEN_BATCH_MINT, {0x68, 0x57, 0x31, 0x07}, "batchMint", "batchMint(address[],uint256[])", "ERC-3643", 2, {AA, UA}, {"toList", "amounts"}},
    {TKM_TOKEN_BATCH_BURN, {0x4a, 0x6c, 0xc6, 0x77}, "batchBurn", "batchBurn(address[],uint256[])", "ERC-3643", 2, {AA, UA}, {"userAddresses", "amounts"}},
    {TKM_TOKEN_BATCH_SET_ADDRESS_FROZEN, {0x1a, 0x7a, 0xf3, 0x79}, "batchSetAddressFrozen", "batchSetAddressFrozen(address[],bool[])", "ERC-3643", 2, {AA, BA}, {"userAddresses", "freeze"}},
    {TKM_TOKEN_BATCH_FREEZE_PARTIAL_TOKENS, {0xfc, 0x7e, 0x5f, 0xa8}, "batchFreezePartialTokens", "batchFreezePartialTokens(address[],uint256[])", "ERC-3643", 2, {AA, UA}, {"userAddresses", "amounts"}},
    {TKM_TOKEN_BATCH_UNFREEZE_PARTIAL_TOKENS, {0x47, 0x10, 0x36, 0x2d}, "batchUnfreezePartialTokens", "batchUnfreezePartialTokens(address[],uint256[])", "ERC-3643", 2, {AA, UA}, {"userAddresses", "amounts"}},
    {TKM_TOKEN_ADD_AGENT, {0x84, 0xe7, 0x98, 0x42}, "addAgent", "addAgent(address)", "ERC-3643", 1, {A}, {"agent"}},
    {TKM_TOKEN_REMOVE_AGENT, {0x97, 0xa6, 0x27, 0x8e}, "removeAgent", "removeAgent(address)", "ERC-3643", 1, {A}, {"agent"}},
    {TKM_TOKEN_TRANSFER_OWNERSHIP, {0xf2, 0xfd, 0xe3, 0x8b}, "transferOwnership", "transferOwnership(address)", "ERC-173", 1, {A}, {"newOwner"}},
};

#undef A
#undef U
#undef B
#undef S
#undef AA
#undef UA
#undef BA

const tkm_token_fn *tkm_token_fn_table(size_t *count) {
    *count = TKM_TOKEN_FN_COUNT;
    return table;
}

const tkm_token_fn *tkm_token_fn_by_selector(const uint8_t selector[static 4]) {
    for (size_t i = 0; i < TKM_TOKEN_FN_COUNT; i++)
        if (memcmp(table[i].selector, selector, 4) == 0) return &table[i];
    return NULL;
}

static int is_dynamic(tkm_abi_type t) { return t >= TKM_ABI_STRING; }

static int zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

static tkm_rc arg_fail(tkm_err code, const tkm_token_fn *fn, unsigned i, const char *why) {
    tkm_err_detail_set("%s argument %u (%s): %s", fn->name, i, fn->arg_names[i], why);
    TKM_ENSURE(0, code);
}

/* A static word of type t. */
static tkm_rc word_check(const uint8_t w[32], tkm_abi_type t, const tkm_token_fn *fn, unsigned i) {
    if (t == TKM_ABI_ADDRESS || t == TKM_ABI_ADDRESS_ARRAY) {
        if (!zero(w, 12)) return arg_fail(TKM_ERR_ABI_PADDING, fn, i, "address word with non-zero high bytes");
    } else if (t == TKM_ABI_BOOL || t == TKM_ABI_BOOL_ARRAY) {
        if (!zero(w, 31)) return arg_fail(TKM_ERR_ABI_PADDING, fn, i, "bool word with non-zero high bytes");
        if (w[31] > 1) return arg_fail(TKM_ERR_ABI, fn, i, "bool must be 0 or 1");
    }
    return TKM_RC_OK;
}

/* A word that must hold a small offset or length: Out: *v, or error when >= 2^32. */
static tkm_rc word_size(const uint8_t w[32], size_t *v) {
    *v = 0;
    if (!zero(w, 28)) return TKM_RC(TKM_ERR_ABI_OFFSET);
    *v = (size_t)w[28] << 24 | (size_t)w[29] << 16 | (size_t)w[30] << 8 | (size_t)w[31];
    return TKM_RC_OK;
}

static tkm_rc decode_args(tkm_token_call *call, const tkm_token_fn *fn, const uint8_t *body, size_t len) {
    tkm_rd head;
    size_t head_len = 32 * (size_t)fn->n_args;
    if (len < head_len) {
        tkm_err_detail_set("%s: calldata shorter than its %u argument words", fn->name, fn->n_args);
        TKM_ENSURE(0, TKM_ERR_TRUNCATED);
    }
    tkm_rd_init(&head, body, head_len);
    size_t tail = head_len; /* where the next dynamic tail must start (canonical layout) */
    for (unsigned i = 0; i < fn->n_args; i++) {
        tkm_abi_value *v = &call->args[i];
        const uint8_t *w;
        v->type = fn->types[i];
        TKM_TRY(tkm_rd_view(&head, 32, &w));
        if (!is_dynamic(v->type)) {
            TKM_TRY(word_check(w, v->type, fn, i));
            if (v->type == TKM_ABI_ADDRESS) memcpy(v->address, w + 12, TKM_ETH_ADDR_LEN);
            if (v->type == TKM_ABI_UINT256) tkm_u256_from_be32(&v->uint, w);
            if (v->type == TKM_ABI_BOOL) v->boolean = w[31];
            continue;
        }
        size_t off, n;
        if (tkm_failed(word_size(w, &off)) || off != tail)
            return arg_fail(TKM_ERR_ABI_OFFSET, fn, i, "offset is not the canonical one");
        tkm_rd r;
        tkm_rd_init(&r, body + off, len - off); /* off == tail <= len, kept below */
        if (tkm_failed(tkm_rd_view(&r, 32, &w))) return arg_fail(TKM_ERR_TRUNCATED, fn, i, "length word missing");
        if (tkm_failed(word_size(w, &n))) return arg_fail(TKM_ERR_ABI_OFFSET, fn, i, "length runs past the calldata");
        size_t bytes;
        if (v->type == TKM_ABI_STRING) {
            bytes = (n + 31) / 32 * 32;
            if (bytes > tkm_rd_left(&r)) return arg_fail(TKM_ERR_ABI_OFFSET, fn, i, "length runs past the calldata");
            v->bytes = body + off + 32;
            v->len = n;
            if (!zero(v->bytes + n, bytes - n)) return arg_fail(TKM_ERR_ABI_PADDING, fn, i, "string padding is not zero");
        } else {
            if (n > tkm_rd_left(&r) / 32) return arg_fail(TKM_ERR_ABI_OFFSET, fn, i, "length runs past the calldata");
            bytes = 32 * n;
            v->words = body + off + 32;
            v->count = n;
            for (size_t j = 0; j < n; j++) {
                tkm_rc rc = word_check(v->words + 32 * j, v->type, fn, i);
                if (tkm_failed(rc)) {
                    char prev[160];
                    snprintf(prev, sizeof prev, "%s", tkm_err_detail());
                    tkm_err_detail_set("%s (element %zu)", prev, j);
                    return rc;
                }
            }
        }
        tail = off + 32 + bytes;
    }
    if (tail != len) {
        tkm_err_detail_set("%s: %zu bytes after the last argument", fn->name, len - tail);
        TKM_ENSURE(0, TKM_ERR_TRAILING);
    }
    /* batch calls: all arrays the same length */
    for (unsigned i = 1; i < fn->n_args; i++)
        if (is_dynamic(fn->types[i]) && fn->types[i] != TKM_ABI_STRING && call->args[i].count != call->args[0].count)
            return arg_fail(TKM_ERR_ABI, fn, i, "array length differs from the first array's");
    return TKM_RC_OK;
}

tkm_rc tkm_token_call_decode(tkm_token_call *call, const uint8_t *data, size_t len) {
    memset(call, 0, sizeof *call);
    TKM_ARG_CHECK(data != NULL || len == 0);
    tkm_err_detail_clear();
    if (len < 4) {
        tkm_err_detail_set(len == 0 ? "empty calldata is not a function call" : "calldata shorter than a selector");
        TKM_ENSURE(0, TKM_ERR_ABI);
    }
    const tkm_token_fn *fn = tkm_token_fn_by_selector(data);
    if (!fn) {
        tkm_err_detail_set("selector 0x%02x%02x%02x%02x is not a known token function", data[0], data[1], data[2],
                           data[3]);
        TKM_ENSURE(0, TKM_ERR_ABI_UNKNOWN_SELECTOR);
    }
    tkm_rc rc = decode_args(call, fn, data + 4, len - 4);
    if (tkm_failed(rc)) {
        memset(call, 0, sizeof *call);
        return rc;
    }
    call->fn = fn;
    return rc;
}

tkm_rc tkm_abi_array_address(const tkm_abi_value *v, size_t i, uint8_t out[static TKM_ETH_ADDR_LEN]) {
    memset(out, 0, TKM_ETH_ADDR_LEN);
    TKM_ARG_CHECK(v->type == TKM_ABI_ADDRESS_ARRAY && i < v->count);
    memcpy(out, v->words + 32 * i + 12, TKM_ETH_ADDR_LEN);
    return TKM_RC_OK;
}

tkm_rc tkm_abi_array_uint(const tkm_abi_value *v, size_t i, tkm_u256 *out) {
    *out = tkm_u256_zero();
    TKM_ARG_CHECK(v->type == TKM_ABI_UINT256_ARRAY && i < v->count);
    tkm_u256_from_be32(out, v->words + 32 * i);
    return TKM_RC_OK;
}

tkm_rc tkm_abi_array_bool(const tkm_abi_value *v, size_t i, int *out) {
    *out = 0;
    TKM_ARG_CHECK(v->type == TKM_ABI_BOOL_ARRAY && i < v->count);
    *out = v->words[32 * i + 31];
    return TKM_RC_OK;
}

/* ---- JSON ---- */

static const char *const type_names[] = {"address", "uint256", "bool", "string", "address[]", "uint256[]", "bool[]"};

static json_t *j_addr(const uint8_t *a) {
    char s[TKM_ETH_ADDR_STR_LEN];
    tkm_eth_address_checksum(s, a);
    return json_string(s);
}

static json_t *j_dec(const tkm_u256 *v) {
    char s[TKM_U256_DEC_MAX + 1];
    tkm_u256_to_dec(v, s);
    return json_string(s);
}

static int set(json_t *o, const char *k, json_t *v) { return !v || json_object_set_new(o, k, v) != 0; }
static int add(json_t *a, json_t *v) { return !v || json_array_append_new(a, v) != 0; }

static json_t *j_value(const tkm_abi_value *v, int *bad) {
    switch (v->type) {
    case TKM_ABI_ADDRESS: return j_addr(v->address);
    case TKM_ABI_UINT256: return j_dec(&v->uint);
    case TKM_ABI_BOOL: return json_boolean(v->boolean);
    case TKM_ABI_STRING: {
        json_t *o = json_object();
        tkm_wr w;
        tkm_wr_init(&w, 0);
        if (!o || tkm_failed(tkm_hex_encode_wr(&w, v->bytes, v->len, 1))) *bad = 1;
        else *bad |= set(o, "hex", json_stringn((const char *)w.p, w.len));
        tkm_wr_free(&w);
        /* json_stringn refuses invalid UTF-8: then only the hex is given */
        json_t *text = o ? json_stringn((const char *)v->bytes, v->len) : NULL;
        if (text) *bad |= set(o, "text", text);
        return o;
    }
    default: break;
    }
    json_t *a = json_array();
    for (size_t i = 0; a && i < v->count; i++) {
        const uint8_t *w = v->words + 32 * i;
        if (v->type == TKM_ABI_ADDRESS_ARRAY) {
            *bad |= add(a, j_addr(w + 12));
        } else if (v->type == TKM_ABI_UINT256_ARRAY) {
            tkm_u256 x;
            tkm_u256_from_be32(&x, w);
            *bad |= add(a, j_dec(&x));
        } else {
            *bad |= add(a, json_boolean(w[31]));
        }
    }
    return a;
}

tkm_rc tkm_token_call_to_json(const tkm_token_call *call, json_t **out) {
    *out = NULL;
    TKM_ARG_CHECK(call->fn != NULL);
    const tkm_token_fn *fn = call->fn;
    int bad = 0;
    char sel[11];
    snprintf(sel, sizeof sel, "0x%02x%02x%02x%02x", fn->selector[0], fn->selector[1], fn->selector[2], fn->selector[3]);
    json_t *o = json_object(), *args = json_array();
    if (!o || !args) {
        json_decref(o);
        json_decref(args);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    bad |= set(o, "selector", json_string(sel));
    bad |= set(o, "function", json_string(fn->name));
    bad |= set(o, "signature", json_string(fn->signature));
    bad |= set(o, "standard", json_string(fn->standard));
    for (unsigned i = 0; i < fn->n_args; i++) {
        json_t *a = json_object();
        if (!a) {
            bad = 1;
            break;
        }
        bad |= set(a, "name", json_string(fn->arg_names[i]));
        bad |= set(a, "type", json_string(type_names[fn->types[i]]));
        int vbad = 0;
        json_t *val = j_value(&call->args[i], &vbad);
        bad |= vbad;
        bad |= set(a, "value", val);
        bad |= add(args, a);
    }
    bad |= set(o, "args", args);
    if (bad) {
        json_decref(o);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    *out = o;
    return TKM_RC_OK;
}
