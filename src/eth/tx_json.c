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

static const struct {
    const char *name;
    unsigned types; /* the types for which the field is valid */
} request_fields[] = {
    {"from", TALL},
    {"to", TALL},
    {"gas", TALL},
    {"gasLimit", TALL},
    {"gasPrice", T0 | T1},
    {"maxFeePerGas", T2 | T3 | T4},
    {"maxPriorityFeePerGas", T2 | T3 | T4},
    {"value", TALL},
    {"data", TALL},
    {"input", TALL},
    {"nonce", TALL},
    {"chainId", TALL},
    {"type", TALL},
    {"accessList", T1 | T2 | T3 | T4},
    {"authorizationList", T4},
    {"maxFeePerBlobGas", T3},
    {"blobVersionedHashes", T3},
};
#define N_REQUEST_FIELDS (sizeof request_fields / sizeof request_fields[0])

static const char *const request_field_names[N_REQUEST_FIELDS + 1] = {
    "from", "to", "gas", "gasLimit", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "value", "data",
    "input", "nonce", "chainId", "type", "accessList", "authorizationList", "maxFeePerBlobGas",
    "blobVersionedHashes", NULL};

static const char *const access_fields[] = {"address", "storageKeys", NULL};
static const char *const auth_fields[] = {"chainId", "address", "nonce", "yParity", "r", "s", NULL};

/* Present = there and not JSON null (tkm_json treats null as absent). */
static int has(const json_t *obj, const char *key) {
    const json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v);
}

static tkm_rc fail_field(tkm_err code, const char *field, const char *why) {
    tkm_err_detail_set("%s: %s", field, why);
    TKM_ENSURE(0, code);
}

/*
 * The type when the request has none; only when every client agrees
 * (docs/transactions.md, "Type inference").
 */
static tkm_rc infer_type(const json_t *obj, tkm_tx_type *t) {
    *t = TKM_TX_LEGACY;
    int fee1559 = has(obj, "maxFeePerGas") || has(obj, "maxPriorityFeePerGas");
    if (has(obj, "gasPrice") && fee1559)
        return fail_field(TKM_ERR_TX_AMBIGUOUS, "gasPrice",
                          "given together with maxFeePerGas/maxPriorityFeePerGas");
    if (has(obj, "authorizationList")) {
        *t = TKM_TX_EIP7702;
        return TKM_RC_OK;
    }
    if (has(obj, "blobVersionedHashes") || has(obj, "maxFeePerBlobGas"))
        return fail_field(TKM_ERR_TX_AMBIGUOUS, "type",
                          "required for a blob transaction (clients disagree on what to infer)");
    if (fee1559) {
        *t = TKM_TX_EIP1559;
        return TKM_RC_OK;
    }
    if (has(obj, "gasPrice")) {
        if (has(obj, "accessList")) {
            *t = TKM_TX_EIP2930;
            return TKM_RC_OK;
        }
        return fail_field(TKM_ERR_TX_AMBIGUOUS, "type",
                          "required when only gasPrice is given (geth infers 0x0, ethers 0x1)");
    }
    return fail_field(TKM_ERR_JSON_MISSING, "type",
                      "cannot be inferred: give type and its fee fields (gasPrice or maxFeePerGas)");
}

static tkm_rc json_address(const json_t *obj, const char *path, const char *key, int required,
                           int *present, uint8_t out[TKM_ETH_ADDR_LEN]) {
    const char *s;
    size_t n;
    memset(out, 0, TKM_ETH_ADDR_LEN);
    if (present) *present = 0;
    TKM_TRY(tkm_json_str(obj, path, key, required, &s, &n));
    if (!s) return TKM_RC_OK;
    tkm_rc rc = tkm_eth_address_parse(out, s, n);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("%s%s%s: %s", path, path[0] ? "." : "", key,
                           rc.code == TKM_ERR_CHECKSUM ? "mixed-case address does not match its EIP-55 checksum"
                                                       : "must be 0x followed by 40 hex digits");
        return rc;
    }
    if (present) *present = 1;
    return rc;
}

static tkm_rc get_array(const json_t *obj, const char *key, size_t max, json_t **arr) {
    TKM_TRY(tkm_json_get(obj, "", key, 0, arr));
    if (!*arr) return TKM_RC_OK;
    if (!json_is_array(*arr)) return fail_field(TKM_ERR_JSON_TYPE, key, "must be an array");
    if (json_array_size(*arr) > max) return fail_field(TKM_ERR_TOO_LARGE, key, "too many elements");
    return TKM_RC_OK;
}

static tkm_rc parse_access_list(tkm_tx *tx, const json_t *arr) {
    size_t n = json_array_size(arr), total = 0;
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
        TKM_TRY(json_address(e, path, "address", 1, NULL, a->address));
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
    size_t n = json_array_size(arr);
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
        TKM_TRY(json_address(e, path, "address", 1, NULL, a->address));
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

static tkm_rc parse_request(tkm_tx *tx, const json_t *obj) {
    TKM_TRY(tkm_json_check_fields(obj, "", request_field_names));

    /* 1. the type: given, or inferred when unambiguous */
    uint64_t type;
    int present;
    TKM_TRY(tkm_json_quantity_u64(obj, "", "type", 0, &type, &present));
    if (present) {
        if (type > TKM_TX_EIP7702) {
            tkm_err_detail_set("type: 0x%llx is not supported (0x0..0x4)", (unsigned long long)type);
            TKM_ENSURE(0, TKM_ERR_TX_TYPE);
        }
        tx->type = (tkm_tx_type)type;
    } else {
        TKM_TRY(infer_type(obj, &tx->type));
    }

    /* 2. no field that the type does not have */
    for (size_t i = 0; i < N_REQUEST_FIELDS; i++) {
        if (!(request_fields[i].types & (1u << tx->type)) && has(obj, request_fields[i].name)) {
            tkm_err_detail_set("%s: not valid for a type-0x%x transaction", request_fields[i].name,
                               (unsigned)tx->type);
            TKM_ENSURE(0, TKM_ERR_TX_FIELD);
        }
    }

    /* 3. chain id: always required; a legacy transaction is always signed with EIP-155 */
    TKM_TRY(tkm_json_quantity(obj, "", "chainId", 0, &tx->chain_id, &present));
    if (!present) return fail_field(TKM_ERR_TX_CHAIN_ID, "chainId", "required (no default chain)");
    tx->eip155 = 1;

    TKM_TRY(tkm_json_quantity_u64(obj, "", "nonce", 1, &tx->nonce, NULL));

    /* 4. gas / gasLimit: either, or both when equal */
    uint64_t gas, gas_limit;
    int has_gas, has_gas_limit;
    TKM_TRY(tkm_json_quantity_u64(obj, "", "gas", 0, &gas, &has_gas));
    TKM_TRY(tkm_json_quantity_u64(obj, "", "gasLimit", 0, &gas_limit, &has_gas_limit));
    if (!has_gas && !has_gas_limit) return fail_field(TKM_ERR_JSON_MISSING, "gas", "required (or gasLimit)");
    if (has_gas && has_gas_limit && gas != gas_limit)
        return fail_field(TKM_ERR_TX_AMBIGUOUS, "gasLimit", "differs from gas");
    tx->gas = has_gas ? gas : gas_limit;

    /* 5. fees of the type */
    if (tx->type <= TKM_TX_EIP2930) {
        TKM_TRY(tkm_json_quantity(obj, "", "gasPrice", 1, &tx->gas_price, NULL));
    } else {
        TKM_TRY(tkm_json_quantity(obj, "", "maxPriorityFeePerGas", 1, &tx->max_priority_fee_per_gas, NULL));
        TKM_TRY(tkm_json_quantity(obj, "", "maxFeePerGas", 1, &tx->max_fee_per_gas, NULL));
    }
    if (tx->type == TKM_TX_EIP4844)
        TKM_TRY(tkm_json_quantity(obj, "", "maxFeePerBlobGas", 1, &tx->max_fee_per_blob_gas, NULL));

    /* 6. addresses, value */
    TKM_TRY(json_address(obj, "", "to", 0, &tx->has_to, tx->to));
    TKM_TRY(json_address(obj, "", "from", 0, &tx->has_from, tx->from));
    TKM_TRY(tkm_json_quantity(obj, "", "value", 0, &tx->value, NULL));

    /* 7. data / input: either, or both when byte-identical */
    uint8_t *data = NULL, *input = NULL;
    size_t data_len = 0, input_len = 0;
    int has_data, has_input;
    TKM_TRY(tkm_json_hexbytes(obj, "", "data", 0, TKM_TX_MAX_DATA, &data, &data_len, &has_data));
    tkm_rc rc = tkm_json_hexbytes(obj, "", "input", 0, TKM_TX_MAX_DATA, &input, &input_len, &has_input);
    if (tkm_failed(rc)) {
        free(data);
        return rc;
    }
    if (has_data && has_input && (data_len != input_len || (data_len && memcmp(data, input, data_len) != 0))) {
        free(data);
        free(input);
        return fail_field(TKM_ERR_TX_AMBIGUOUS, "input", "differs from data");
    }
    if (has_data) {
        free(input);
        tx->data = data;
        tx->data_len = data_len;
    } else {
        tx->data = input;
        tx->data_len = input_len;
    }

    /* 8. lists */
    json_t *arr;
    TKM_TRY(get_array(obj, "accessList", TKM_TX_MAX_ACCESS_ENTRIES, &arr));
    if (arr) TKM_TRY(parse_access_list(tx, arr));
    if (tx->type == TKM_TX_EIP4844) {
        TKM_TRY(get_array(obj, "blobVersionedHashes", TKM_TX_MAX_BLOB_HASHES, &arr));
        if (!arr) return fail_field(TKM_ERR_JSON_MISSING, "blobVersionedHashes", "required field missing");
        size_t n = json_array_size(arr);
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
        TKM_TRY(get_array(obj, "authorizationList", TKM_TX_MAX_AUTHORIZATIONS, &arr));
        if (!arr) return fail_field(TKM_ERR_JSON_MISSING, "authorizationList", "required field missing");
        TKM_TRY(parse_auth_list(tx, arr));
    }

    TKM_TRY(tkm_tx_validate(tx));
    tkm_tx_recover_authorities_(tx);
    return TKM_RC_OK;
}

tkm_rc tkm_tx_from_json_value(tkm_tx *tx, const json_t *obj) {
    TKM_ARG_CHECK(obj != NULL);
    tkm_tx_init(tx);
    tkm_rc rc = parse_request(tx, obj);
    if (tkm_failed(rc)) tkm_tx_free(tx);
    return rc;
}

tkm_rc tkm_tx_from_json(tkm_tx *tx, const uint8_t *json, size_t len) {
    tkm_tx_init(tx);
    TKM_ARG_CHECK(json != NULL || len == 0);
    json_t *obj = NULL;
    tkm_json_limits lim = {.max_bytes = TKM_TX_MAX_JSON, .max_depth = 8};
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

static json_t *j_hex(const uint8_t *p, size_t n) {
    tkm_wr w;
    tkm_wr_init(&w, 0);
    json_t *s = NULL;
    if (tkm_ok(tkm_hex_encode_wr(&w, p, n, 1))) s = json_stringn((const char *)w.p, w.len);
    tkm_wr_free(&w);
    return s;
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
        for (size_t j = 0; j < a->n_keys; j++) append(b, keys, j_hex(a->keys[j], 32));
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
    put(&b, o, "data", j_hex(tx->data, tx->data_len));
    if (tx->type != TKM_TX_LEGACY) put(&b, o, "accessList", j_access_list(&b, tx));
    if (tx->type == TKM_TX_EIP4844) {
        put(&b, o, "maxFeePerBlobGas", j_qty(&tx->max_fee_per_blob_gas));
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < tx->n_blob_hashes; i++) append(&b, arr, j_hex(tx->blob_hashes[i], 32));
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
        if (tkm_ok(rc)) put(&b, o, "hash", j_hex(h, 32));
    }
    if (tkm_ok(rc)) rc = tkm_tx_signing_hash(tx, h);
    if (tkm_ok(rc)) put(&b, o, "signingHash", j_hex(h, 32));
    if (tkm_ok(rc) && b.bad) rc = TKM_RC(TKM_ERR_NOMEM);
    if (tkm_failed(rc)) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return rc;
}
