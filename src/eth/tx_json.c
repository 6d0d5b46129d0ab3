/*
 * see tkm_tx.h — the JSON adapter: eth_signTransaction requests in, the
 * decoded view out. The rules are written down in docs/transactions.md.
 */
#include "tkm_tx.h"
#include "tx_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T0 = 1u << 0, T1 = 1u << 1, T2 = 1u << 2, T3 = 1u << 3, T4 = 1u << 4, TALL = 0x1fu };

/* The request fields, in the order of request_fields[]. */
enum {
    F_FROM, F_TO, F_GAS, F_GAS_LIMIT, F_GAS_PRICE, F_MAX_FEE, F_MAX_PRIO, F_VALUE, F_DATA, F_INPUT,
    F_NONCE, F_CHAIN_ID, F_TYPE, F_ACCESS_LIST, F_AUTH_LIST, F_MAX_FEE_BLOB, F_BLOB_HASHES, N_FIELDS
};

static const struct {
    const char *name;
    unsigned types; /* the types for which the field is valid */
} request_fields[N_FIELDS] = {
    [F_FROM] = {"from", TALL},
    [F_TO] = {"to", TALL},
    [F_GAS] = {"gas", TALL},
    [F_GAS_LIMIT] = {"gasLimit", TALL},
    [F_GAS_PRICE] = {"gasPrice", T0 | T1},
    [F_MAX_FEE] = {"maxFeePerGas", T2 | T3 | T4},
    [F_MAX_PRIO] = {"maxPriorityFeePerGas", T2 | T3 | T4},
    [F_VALUE] = {"value", TALL},
    [F_DATA] = {"data", TALL},
    [F_INPUT] = {"input", TALL},
    [F_NONCE] = {"nonce", TALL},
    [F_CHAIN_ID] = {"chainId", TALL},
    [F_TYPE] = {"type", TALL},
    [F_ACCESS_LIST] = {"accessList", T1 | T2 | T3 | T4},
    [F_AUTH_LIST] = {"authorizationList", T4},
    [F_MAX_FEE_BLOB] = {"maxFeePerBlobGas", T3},
    [F_BLOB_HASHES] = {"blobVersionedHashes", T3},
};

static const char *const access_fields[] = {"address", "storageKeys", NULL};
static const char *const auth_fields[] = {"chainId", "address", "nonce", "yParity", "r", "s", NULL};

/* Index of a request field name, or -1. */
static int field_index(const char *k, size_t len) {
    for (int i = 0; i < N_FIELDS; i++) {
        const char *n = request_fields[i].name;
        if (strlen(n) == len && memcmp(n, k, len) == 0) return i;
    }
    return -1;
}

/*
 * A request field's value, from either reader below: a string (s, len), an
 * array, or any other JSON value (j, the jansson value; NULL on the fast path).
 */
typedef struct {
    int present;     /* given and not JSON null */
    const char *s;   /* non-NULL for a string; len bytes, no NUL inside */
    size_t len;
    const json_t *j; /* jansson path: the value */
    int empty_array; /* fast path: [] */
} fval;

static fval fv_json(const json_t *v) {
    fval f = {0};
    if (!v || json_is_null(v)) return f;
    f.present = 1;
    f.j = v;
    if (json_is_string(v)) {
        f.s = json_string_value(v);
        f.len = json_string_length(v);
    }
    return f;
}

/*
 * Jansson path: one pass over the request's keys; unknown keys are refused,
 * known ones collected (JSON null counts as absent; jansson already refused
 * duplicates).
 */
static tkm_rc collect_fields(const json_t *obj, fval f[N_FIELDS]) {
    memset(f, 0, N_FIELDS * sizeof f[0]);
    if (!json_is_object(obj)) {
        tkm_err_detail_set("(root): must be an object");
        TKM_ENSURE(0, TKM_ERR_JSON_TYPE);
    }
    const char *key;
    size_t klen;
    json_t *v;
    json_object_keylen_foreach((json_t *)obj, key, klen, v) {
        int i = field_index(key, klen);
        if (i < 0) {
            tkm_err_detail_set("%.*s: unknown field", (int)(klen > 64 ? 64 : klen), key);
            TKM_ENSURE(0, TKM_ERR_JSON_UNKNOWN_FIELD);
        }
        f[i] = fv_json(v);
    }
    return TKM_RC_OK;
}

/*
 * Fast path (the signer's hot path): a strict tokenizer for the plain shape
 * almost every request has — one object whose values are strings without
 * escapes (printable ASCII), null, or empty arrays, each key a known field
 * given once. It never reports an error: anything outside that subset
 * (escapes, numbers, booleans, nested values, non-ASCII, unknown or repeated
 * keys, more than TKM_TX_MAX_JSON bytes) returns 0 and the request goes
 * through jansson instead, so every error — and every accepted request — is
 * exactly what the jansson path gives (the tx_json fuzzer checks both paths
 * against each other). On this subset both paths see the same fields and
 * the same string bytes.
 */
static void skip_ws(tkm_rd *r) {
    uint8_t c;
    while (tkm_ok(tkm_rd_peek_u8(r, &c)) && (c == ' ' || c == '\t' || c == '\n' || c == '\r'))
        if (tkm_failed(tkm_rd_skip(r, 1))) return;
}

static int expect(tkm_rd *r, uint8_t want) {
    uint8_t c;
    skip_ws(r);
    return tkm_ok(tkm_rd_u8(r, &c)) && c == want;
}

/* After the opening quote: the bytes up to the closing quote, all printable ASCII but '"' and '\\'. */
static int fast_string(tkm_rd *r, const char **s, size_t *len) {
    tkm_rd t = *r;
    uint8_t c;
    size_t n = 0;
    for (;;) {
        if (tkm_failed(tkm_rd_u8(&t, &c))) return 0;
        if (c == '"') break;
        if (c < 0x20 || c > 0x7e || c == '\\') return 0;
        n++;
    }
    const uint8_t *v;
    if (tkm_failed(tkm_rd_view(r, n, &v)) || tkm_failed(tkm_rd_skip(r, 1))) return 0;
    *s = (const char *)v;
    *len = n;
    return 1;
}

static int fast_collect(const uint8_t *json, size_t len, fval f[N_FIELDS]) {
    tkm_rd r;
    uint8_t c;
    memset(f, 0, N_FIELDS * sizeof f[0]);
    if (len > TKM_TX_MAX_JSON) return 0;
    tkm_rd_init(&r, json, len);
    unsigned seen = 0;
    if (!expect(&r, '{')) return 0;
    skip_ws(&r);
    if (tkm_ok(tkm_rd_peek_u8(&r, &c)) && c == '}') {
        if (tkm_failed(tkm_rd_skip(&r, 1))) return 0;
    } else {
        for (;;) {
            const char *k;
            size_t klen;
            if (!expect(&r, '"') || !fast_string(&r, &k, &klen)) return 0;
            int i = field_index(k, klen);
            if (i < 0 || (seen & (1u << i))) return 0;
            seen |= 1u << i;
            if (!expect(&r, ':')) return 0;
            skip_ws(&r);
            if (tkm_failed(tkm_rd_u8(&r, &c))) return 0;
            if (c == '"') {
                if (!fast_string(&r, &f[i].s, &f[i].len)) return 0;
                f[i].present = 1;
            } else if (c == '[') {
                if (!expect(&r, ']')) return 0;
                f[i].present = 1;
                f[i].empty_array = 1;
            } else if (c == 'n') {
                const uint8_t *v;
                if (tkm_failed(tkm_rd_view(&r, 3, &v)) || memcmp(v, "ull", 3) != 0) return 0;
            } else {
                return 0;
            }
            skip_ws(&r);
            if (tkm_failed(tkm_rd_u8(&r, &c))) return 0;
            if (c == '}') break;
            if (c != ',') return 0;
        }
    }
    skip_ws(&r);
    return tkm_ok(tkm_rd_done(&r));
}

static tkm_rc fail_field(tkm_err code, const char *field, const char *why) {
    tkm_err_detail_set("%s: %s", field, why);
    TKM_ENSURE(0, code);
}

/* Value-level readers; name is the field in error details (the wording of tkm_json.h's getters). */
static tkm_rc val_u256(const fval *v, const char *name, tkm_u256 *out) {
    *out = tkm_u256_zero();
    if (!v->s)
        return fail_field(TKM_ERR_QUANTITY, name,
                          v->j && json_is_number(v->j)
                              ? "must be a hex string quantity (\"0x...\"), not a JSON number"
                              : "must be a hex string quantity");
    tkm_rc rc = tkm_u256_from_quantity(out, v->s, v->len);
    if (tkm_failed(rc))
        return fail_field(rc.code, name,
                          rc.code == TKM_ERR_OVERFLOW ? "quantity exceeds 2^256-1"
                                                      : "invalid quantity (0x, no leading zeros)");
    return rc;
}

static tkm_rc val_u64(const fval *v, const char *name, uint64_t *out) {
    tkm_u256 x;
    *out = 0;
    TKM_TRY(val_u256(v, name, &x));
    if (!tkm_u256_to_u64(&x, out)) return fail_field(TKM_ERR_RANGE, name, "quantity exceeds 2^64-1");
    return TKM_RC_OK;
}

static tkm_rc val_address(const fval *v, const char *name, uint8_t out[TKM_ETH_ADDR_LEN]) {
    memset(out, 0, TKM_ETH_ADDR_LEN);
    if (!v->s) return fail_field(TKM_ERR_JSON_TYPE, name, "must be a string");
    tkm_rc rc = tkm_eth_address_parse(out, v->s, v->len);
    if (tkm_failed(rc))
        return fail_field(rc.code, name,
                          rc.code == TKM_ERR_CHECKSUM ? "mixed-case address does not match its EIP-55 checksum"
                                                      : "must be 0x followed by 40 hex digits");
    return rc;
}

/*
 * "0x"-prefixed hex bytes of public data (calldata): the same rules as
 * tkm_json_hexbytes (prefix required, even length, "0x" is empty), decoded
 * with a table rather than the constant-time codec meant for key material.
 * Out: *out (malloc'd, NULL when empty; caller frees).
 */
static tkm_rc val_public_hex(const fval *v, const char *name, size_t max, uint8_t **out, size_t *out_len) {
    static const int8_t hv[256] = {
        ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
        ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
        ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
    }; /* digit value + 1; 0 = not a hex digit */
    *out = NULL;
    *out_len = 0;
    if (!v->s) return fail_field(TKM_ERR_JSON_TYPE, name, "must be a 0x hex string");
    const unsigned char *s = (const unsigned char *)v->s;
    size_t n = v->len;
    if (n < 2 || s[0] != '0' || s[1] != 'x') return fail_field(TKM_ERR_HEX_PREFIX, name, "hex string must start with 0x");
    s += 2;
    n -= 2;
    if (n % 2) return fail_field(TKM_ERR_HEX_ODD, name, "hex string has odd length");
    if (n / 2 > max) return fail_field(TKM_ERR_TOO_LARGE, name, "larger than the cap");
    if (n == 0) return TKM_RC_OK;
    uint8_t *b = malloc(n / 2);
    TKM_ENSURE(b, TKM_ERR_NOMEM);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hv[s[2 * i]], lo = hv[s[2 * i + 1]];
        if (!hi || !lo) {
            free(b);
            return fail_field(TKM_ERR_HEX, name, "invalid hex string");
        }
        b[i] = (uint8_t)(((hi - 1) << 4) | (lo - 1));
    }
    *out = b;
    *out_len = n / 2;
    return TKM_RC_OK;
}

/*
 * The type when the request has none; only when every client agrees
 * (docs/transactions.md, "Type inference").
 */
static tkm_rc infer_type(const fval f[N_FIELDS], tkm_tx_type *t) {
    *t = TKM_TX_LEGACY;
    int fee1559 = f[F_MAX_FEE].present || f[F_MAX_PRIO].present;
    if (f[F_GAS_PRICE].present && fee1559)
        return fail_field(TKM_ERR_TX_AMBIGUOUS, "gasPrice",
                          "given together with maxFeePerGas/maxPriorityFeePerGas");
    if (f[F_AUTH_LIST].present) {
        *t = TKM_TX_EIP7702;
        return TKM_RC_OK;
    }
    if (f[F_BLOB_HASHES].present || f[F_MAX_FEE_BLOB].present)
        return fail_field(TKM_ERR_TX_AMBIGUOUS, "type",
                          "required for a blob transaction (clients disagree on what to infer)");
    if (fee1559) {
        *t = TKM_TX_EIP1559;
        return TKM_RC_OK;
    }
    if (f[F_GAS_PRICE].present) {
        if (f[F_ACCESS_LIST].present) {
            *t = TKM_TX_EIP2930;
            return TKM_RC_OK;
        }
        return fail_field(TKM_ERR_TX_AMBIGUOUS, "type",
                          "required when only gasPrice is given (geth infers 0x0, ethers 0x1)");
    }
    return fail_field(TKM_ERR_JSON_MISSING, "type",
                      "cannot be inferred: give type and its fee fields (gasPrice or maxFeePerGas)");
}

/* An element address of a nested object (access list, authorization). */
static tkm_rc json_address(const json_t *obj, const char *path, const char *key, uint8_t out[TKM_ETH_ADDR_LEN]) {
    json_t *v;
    char name[112];
    memset(out, 0, TKM_ETH_ADDR_LEN);
    TKM_TRY(tkm_json_get(obj, path, key, 1, &v));
    snprintf(name, sizeof name, "%s.%s", path, key);
    fval fv = fv_json(v);
    return val_address(&fv, name, out);
}

/* Out: *arr, the jansson array (NULL for the fast path's []). */
static tkm_rc get_array(const fval *v, const char *name, size_t max, const json_t **arr) {
    *arr = NULL;
    if (v->empty_array) return TKM_RC_OK;
    if (!v->j || !json_is_array(v->j)) return fail_field(TKM_ERR_JSON_TYPE, name, "must be an array");
    if (json_array_size(v->j) > max) return fail_field(TKM_ERR_TOO_LARGE, name, "too many elements");
    *arr = v->j;
    return TKM_RC_OK;
}

static tkm_rc parse_access_list(tkm_tx *tx, const json_t *arr) {
    size_t n = arr ? json_array_size(arr) : 0, total = 0;
    if (n == 0) return TKM_RC_OK;
    tx->access_list = calloc(n, sizeof *tx->access_list);
    TKM_ENSURE(tx->access_list, TKM_ERR_NOMEM);
    tx->n_access = n;
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "accessList[%zu]", i);
        const json_t *e = json_array_get(arr, i);
        tkm_tx_access *a = &tx->access_list[i];
        json_t *keys;
        TKM_TRY(tkm_json_check_fields(e, path, access_fields));
        TKM_TRY(json_address(e, path, "address", a->address));
        TKM_TRY(tkm_json_get(e, path, "storageKeys", 1, &keys));
        if (!json_is_array(keys)) {
            tkm_err_detail_set("%s.storageKeys: must be an array", path);
            TKM_ENSURE(0, TKM_ERR_JSON_TYPE);
        }
        size_t nk = json_array_size(keys);
        total += nk;
        if (total > TKM_TX_MAX_STORAGE_KEYS) return fail_field(TKM_ERR_TOO_LARGE, "accessList", "too many storage keys");
        if (nk == 0) continue;
        a->keys = calloc(nk, 32);
        TKM_ENSURE(a->keys, TKM_ERR_NOMEM);
        a->n_keys = nk;
        for (size_t j = 0; j < nk; j++) {
            char kpath[112];
            snprintf(kpath, sizeof kpath, "%s.storageKeys[%zu]", path, j);
            TKM_TRY(tkm_json_value_hexfixed(json_array_get(keys, j), kpath, a->keys[j], 32));
        }
    }
    return TKM_RC_OK;
}

static tkm_rc parse_auth_list(tkm_tx *tx, const json_t *arr) {
    size_t n = arr ? json_array_size(arr) : 0;
    if (n == 0) return TKM_RC_OK; /* refused by tkm_tx_validate with its reason */
    tx->auths = calloc(n, sizeof *tx->auths);
    TKM_ENSURE(tx->auths, TKM_ERR_NOMEM);
    tx->n_auths = n;
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "authorizationList[%zu]", i);
        const json_t *e = json_array_get(arr, i);
        tkm_tx_auth *a = &tx->auths[i];
        uint64_t yp;
        TKM_TRY(tkm_json_check_fields(e, path, auth_fields));
        TKM_TRY(tkm_json_quantity(e, path, "chainId", 1, &a->chain_id, NULL));
        TKM_TRY(json_address(e, path, "address", a->address));
        TKM_TRY(tkm_json_quantity_u64(e, path, "nonce", 1, &a->nonce, NULL));
        TKM_TRY(tkm_json_quantity_u64(e, path, "yParity", 1, &yp, NULL));
        if (yp > 255) {
            tkm_err_detail_set("%s.yParity: wider than 8 bits", path);
            TKM_ENSURE(0, TKM_ERR_RANGE);
        }
        a->y_parity = (uint8_t)yp;
        TKM_TRY(tkm_json_quantity(e, path, "r", 1, &a->r, NULL));
        TKM_TRY(tkm_json_quantity(e, path, "s", 1, &a->s, NULL));
    }
    return TKM_RC_OK;
}

static tkm_rc parse_request(tkm_tx *tx, const fval f[N_FIELDS]) {
    /* 1. the type: given, or inferred when unambiguous */
    if (f[F_TYPE].present) {
        uint64_t type;
        TKM_TRY(val_u64(&f[F_TYPE], "type", &type));
        if (type > TKM_TX_EIP7702) {
            tkm_err_detail_set("type: 0x%llx is not supported (0x0..0x4)", (unsigned long long)type);
            TKM_ENSURE(0, TKM_ERR_TX_TYPE);
        }
        tx->type = (tkm_tx_type)type;
    } else {
        TKM_TRY(infer_type(f, &tx->type));
    }

    /* 2. no field that the type does not have */
    for (int i = 0; i < N_FIELDS; i++) {
        if (f[i].present && !(request_fields[i].types & (1u << tx->type))) {
            tkm_err_detail_set("%s: not valid for a type-0x%x transaction", request_fields[i].name,
                               (unsigned)tx->type);
            TKM_ENSURE(0, TKM_ERR_TX_FIELD);
        }
    }

    /* 3. chain id: always required; a legacy transaction is always signed with EIP-155 */
    if (!f[F_CHAIN_ID].present) return fail_field(TKM_ERR_TX_CHAIN_ID, "chainId", "required (no default chain)");
    TKM_TRY(val_u256(&f[F_CHAIN_ID], "chainId", &tx->chain_id));
    tx->eip155 = 1;

    if (!f[F_NONCE].present) return fail_field(TKM_ERR_JSON_MISSING, "nonce", "required field missing");
    TKM_TRY(val_u64(&f[F_NONCE], "nonce", &tx->nonce));

    /* 4. gas / gasLimit: either, or both when equal */
    uint64_t gas = 0, gas_limit = 0;
    if (!f[F_GAS].present && !f[F_GAS_LIMIT].present) return fail_field(TKM_ERR_JSON_MISSING, "gas", "required (or gasLimit)");
    if (f[F_GAS].present) TKM_TRY(val_u64(&f[F_GAS], "gas", &gas));
    if (f[F_GAS_LIMIT].present) TKM_TRY(val_u64(&f[F_GAS_LIMIT], "gasLimit", &gas_limit));
    if (f[F_GAS].present && f[F_GAS_LIMIT].present && gas != gas_limit)
        return fail_field(TKM_ERR_TX_AMBIGUOUS, "gasLimit", "differs from gas");
    tx->gas = f[F_GAS].present ? gas : gas_limit;

    /* 5. fees of the type */
    static const int fee_fields[][3] = {
        [TKM_TX_LEGACY] = {F_GAS_PRICE, -1, -1},
        [TKM_TX_EIP2930] = {F_GAS_PRICE, -1, -1},
        [TKM_TX_EIP1559] = {F_MAX_PRIO, F_MAX_FEE, -1},
        [TKM_TX_EIP4844] = {F_MAX_PRIO, F_MAX_FEE, F_MAX_FEE_BLOB},
        [TKM_TX_EIP7702] = {F_MAX_PRIO, F_MAX_FEE, -1},
    };
    for (int i = 0; i < 3; i++) {
        int k = fee_fields[tx->type][i];
        if (k >= 0 && !f[k].present) return fail_field(TKM_ERR_JSON_MISSING, request_fields[k].name, "required field missing");
    }
    if (f[F_GAS_PRICE].present) TKM_TRY(val_u256(&f[F_GAS_PRICE], "gasPrice", &tx->gas_price));
    if (f[F_MAX_PRIO].present) TKM_TRY(val_u256(&f[F_MAX_PRIO], "maxPriorityFeePerGas", &tx->max_priority_fee_per_gas));
    if (f[F_MAX_FEE].present) TKM_TRY(val_u256(&f[F_MAX_FEE], "maxFeePerGas", &tx->max_fee_per_gas));
    if (f[F_MAX_FEE_BLOB].present) TKM_TRY(val_u256(&f[F_MAX_FEE_BLOB], "maxFeePerBlobGas", &tx->max_fee_per_blob_gas));

    /* 6. addresses, value */
    if (f[F_TO].present) {
        TKM_TRY(val_address(&f[F_TO], "to", tx->to));
        tx->has_to = 1;
    }
    if (f[F_FROM].present) {
        TKM_TRY(val_address(&f[F_FROM], "from", tx->from));
        tx->has_from = 1;
    }
    if (f[F_VALUE].present) TKM_TRY(val_u256(&f[F_VALUE], "value", &tx->value));

    /* 7. data / input: either, or both when byte-identical */
    if (f[F_DATA].present) TKM_TRY(val_public_hex(&f[F_DATA], "data", TKM_TX_MAX_DATA, &tx->data, &tx->data_len));
    if (f[F_INPUT].present) {
        uint8_t *input = NULL;
        size_t input_len = 0;
        TKM_TRY(val_public_hex(&f[F_INPUT], "input", TKM_TX_MAX_DATA, &input, &input_len));
        if (f[F_DATA].present) {
            int same = input_len == tx->data_len && (input_len == 0 || memcmp(input, tx->data, input_len) == 0);
            free(input);
            if (!same) return fail_field(TKM_ERR_TX_AMBIGUOUS, "input", "differs from data");
        } else {
            tx->data = input;
            tx->data_len = input_len;
        }
    }

    /* 8. lists */
    const json_t *arr;
    if (f[F_ACCESS_LIST].present) {
        TKM_TRY(get_array(&f[F_ACCESS_LIST], "accessList", TKM_TX_MAX_ACCESS_ENTRIES, &arr));
        TKM_TRY(parse_access_list(tx, arr));
    }
    if (tx->type == TKM_TX_EIP4844) {
        if (!f[F_BLOB_HASHES].present)
            return fail_field(TKM_ERR_JSON_MISSING, "blobVersionedHashes", "required field missing");
        TKM_TRY(get_array(&f[F_BLOB_HASHES], "blobVersionedHashes", TKM_TX_MAX_BLOB_HASHES, &arr));
        size_t n = arr ? json_array_size(arr) : 0;
        if (n) {
            tx->blob_hashes = calloc(n, 32);
            TKM_ENSURE(tx->blob_hashes, TKM_ERR_NOMEM);
            tx->n_blob_hashes = n;
        }
        for (size_t i = 0; i < n; i++) {
            char path[48];
            snprintf(path, sizeof path, "blobVersionedHashes[%zu]", i);
            TKM_TRY(tkm_json_value_hexfixed(json_array_get(arr, i), path, tx->blob_hashes[i], 32));
        }
    }
    if (tx->type == TKM_TX_EIP7702) {
        if (!f[F_AUTH_LIST].present)
            return fail_field(TKM_ERR_JSON_MISSING, "authorizationList", "required field missing");
        TKM_TRY(get_array(&f[F_AUTH_LIST], "authorizationList", TKM_TX_MAX_AUTHORIZATIONS, &arr));
        TKM_TRY(parse_auth_list(tx, arr));
    }

    TKM_TRY(tkm_tx_validate(tx));
    tkm_tx_recover_authorities_(tx);
    return TKM_RC_OK;
}

tkm_rc tkm_tx_from_json_value(tkm_tx *tx, const json_t *obj) {
    fval f[N_FIELDS];
    tkm_tx_init(tx);
    TKM_ARG_CHECK(obj != NULL);
    tkm_err_detail_clear();
    TKM_TRY(collect_fields(obj, f));
    tkm_rc rc = parse_request(tx, f);
    if (tkm_failed(rc)) tkm_tx_free(tx);
    return rc;
}

tkm_rc tkm_tx_from_json(tkm_tx *tx, const uint8_t *json, size_t len) {
    fval f[N_FIELDS];
    tkm_tx_init(tx);
    TKM_ARG_CHECK(json != NULL || len == 0);
    tkm_err_detail_clear();
    if (fast_collect(json, len, f)) {
        tkm_rc rc = parse_request(tx, f);
        if (tkm_failed(rc)) tkm_tx_free(tx);
        return rc;
    }
    json_t *obj = NULL;
    tkm_json_limits lim = {.max_bytes = TKM_TX_MAX_JSON, .max_depth = TKM_TX_JSON_MAX_DEPTH};
    TKM_TRY(tkm_json_load(&obj, json, len, &lim));
    tkm_rc rc = tkm_tx_from_json_value(tx, obj);
    json_decref(obj);
    return rc;
}

/* ---- the decoded view ---- */

typedef struct {
    int bad;
} jb;

static void put(jb *b, json_t *o, const char *k, json_t *v) {
    if (!v || json_object_set_new(o, k, v) != 0) b->bad = 1;
}

static void append(jb *b, json_t *a, json_t *v) {
    if (!v || json_array_append_new(a, v) != 0) b->bad = 1;
}

static json_t *j_qty(const tkm_u256 *v) {
    char q[67];
    tkm_u256_to_quantity(v, q);
    return json_string(q);
}

static json_t *j_qty64(uint64_t v) {
    tkm_u256 x = tkm_u256_from_u64(v);
    return j_qty(&x);
}

/* A 32-byte big-endian integer as a quantity. */
static json_t *j_qty_be32(const uint8_t b[32]) {
    tkm_u256 v;
    tkm_u256_from_be32(&v, b);
    return j_qty(&v);
}

static json_t *j_addr(const uint8_t a[TKM_ETH_ADDR_LEN]) {
    char s[TKM_ETH_ADDR_STR_LEN];
    tkm_eth_address_checksum(s, a);
    return json_string(s);
}

static json_t *j_access_list(jb *b, const tkm_tx *tx) {
    json_t *arr = json_array();
    if (!arr) return NULL;
    for (size_t i = 0; i < tx->n_access; i++) {
        const tkm_tx_access *a = &tx->access_list[i];
        json_t *e = json_object(), *keys = json_array();
        if (!e || !keys) {
            json_decref(e);
            json_decref(keys);
            b->bad = 1;
            break;
        }
        put(b, e, "address", j_addr(a->address));
        for (size_t j = 0; j < a->n_keys; j++) append(b, keys, tkm_json_hex_new(a->keys[j], 32));
        put(b, e, "storageKeys", keys);
        append(b, arr, e);
    }
    return arr;
}

static json_t *j_auth_list(jb *b, const tkm_tx *tx) {
    json_t *arr = json_array();
    if (!arr) return NULL;
    for (size_t i = 0; i < tx->n_auths; i++) {
        const tkm_tx_auth *a = &tx->auths[i];
        json_t *e = json_object();
        if (!e) {
            b->bad = 1;
            break;
        }
        put(b, e, "chainId", j_qty(&a->chain_id));
        put(b, e, "address", j_addr(a->address));
        put(b, e, "nonce", j_qty64(a->nonce));
        put(b, e, "yParity", j_qty64(a->y_parity));
        put(b, e, "r", j_qty(&a->r));
        put(b, e, "s", j_qty(&a->s));
        if (a->authority_err == TKM_OK) {
            put(b, e, "authority", j_addr(a->authority));
        } else {
            put(b, e, "authority", json_null());
            put(b, e, "authorityError", json_string(tkm_err_name(a->authority_err)));
        }
        append(b, arr, e);
    }
    return arr;
}

tkm_rc tkm_tx_to_json(const tkm_tx *tx, json_t **out) {
    *out = NULL;
    TKM_ARG_CHECK(tx->type <= TKM_TX_EIP7702);
    uint8_t h[32];
    jb b = {0};
    json_t *o = json_object();
    TKM_ENSURE(o, TKM_ERR_NOMEM);
    put(&b, o, "type", j_qty64((uint64_t)tx->type));
    if (tx->type == TKM_TX_LEGACY && !tx->eip155)
        put(&b, o, "chainId", json_null());
    else
        put(&b, o, "chainId", j_qty(&tx->chain_id));
    put(&b, o, "nonce", j_qty64(tx->nonce));
    if (tx->type <= TKM_TX_EIP2930) {
        put(&b, o, "gasPrice", j_qty(&tx->gas_price));
    } else {
        put(&b, o, "maxPriorityFeePerGas", j_qty(&tx->max_priority_fee_per_gas));
        put(&b, o, "maxFeePerGas", j_qty(&tx->max_fee_per_gas));
    }
    put(&b, o, "gas", j_qty64(tx->gas));
    put(&b, o, "to", tx->has_to ? j_addr(tx->to) : json_null());
    put(&b, o, "value", j_qty(&tx->value));
    put(&b, o, "data", tkm_json_hex_new(tx->data, tx->data_len));
    if (tx->type != TKM_TX_LEGACY) put(&b, o, "accessList", j_access_list(&b, tx));
    if (tx->type == TKM_TX_EIP4844) {
        put(&b, o, "maxFeePerBlobGas", j_qty(&tx->max_fee_per_blob_gas));
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < tx->n_blob_hashes; i++) append(&b, arr, tkm_json_hex_new(tx->blob_hashes[i], 32));
        put(&b, o, "blobVersionedHashes", arr);
    }
    if (tx->type == TKM_TX_EIP7702) put(&b, o, "authorizationList", j_auth_list(&b, tx));
    if (tx->type == TKM_TX_LEGACY) put(&b, o, "eip155", json_boolean(tx->eip155));
    if (tx->is_signed) {
        if (tx->type == TKM_TX_LEGACY) {
            tkm_u256 v = tkm_u256_from_u64(27u + tx->y_parity);
            if (tx->eip155) {
                tkm_u256 add = tkm_u256_from_u64(35u + tx->y_parity);
                if (tkm_failed(tkm_u256_mul_u64(&v, &tx->chain_id, 2)) || tkm_failed(tkm_u256_add(&v, &v, &add)))
                    b.bad = 1;
            }
            put(&b, o, "v", j_qty(&v));
        }
        put(&b, o, "yParity", j_qty64(tx->y_parity));
        put(&b, o, "r", j_qty_be32(tx->r));
        put(&b, o, "s", j_qty_be32(tx->s));
    }
    if (tx->has_from) put(&b, o, "from", j_addr(tx->from));
    tkm_rc rc = TKM_RC_OK;
    if (tx->is_signed) {
        rc = tkm_tx_hash(tx, h);
        if (tkm_ok(rc)) put(&b, o, "hash", tkm_json_hex_new(h, 32));
    }
    if (tkm_ok(rc)) rc = tkm_tx_signing_hash(tx, h);
    if (tkm_ok(rc)) put(&b, o, "signingHash", tkm_json_hex_new(h, 32));
    if (tkm_ok(rc) && b.bad) rc = TKM_RC(TKM_ERR_NOMEM);
    if (tkm_failed(rc)) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return rc;
}
