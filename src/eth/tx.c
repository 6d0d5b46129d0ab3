/* see tkm_tx.h — encoding, hashing, decoding, validation and signing. */
#include "tkm_rlp.h"
#include "tkm_tx.h"
#include "tx_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint8_t tkm_secp_n_be_[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                    0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
const uint8_t tkm_secp_half_n_be_[32] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
                                         0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

void tkm_tx_init(tkm_tx *tx) { memset(tx, 0, sizeof *tx); }

void tkm_tx_free(tkm_tx *tx) {
    if (!tx) return;
    free(tx->data);
    for (size_t i = 0; i < tx->n_access; i++) free(tx->access_list[i].keys);
    free(tx->access_list);
    free(tx->blob_hashes);
    free(tx->auths);
    memset(tx, 0, sizeof *tx);
}

/* ---- encoding: one walk of the fields, into a counter, a writer or a hash ---- */

typedef struct {
    tkm_wr *w;          /* NULL: do not write */
    tkm_keccak_ctx *k;  /* NULL: do not hash */
    size_t n;           /* bytes emitted */
    tkm_err err;
} enc;

static void e_raw(enc *e, const uint8_t *p, size_t n) {
    if (e->w && e->err == TKM_OK) {
        tkm_rc rc = tkm_wr_put(e->w, p, n);
        if (tkm_failed(rc)) e->err = rc.code;
    }
    if (e->k) tkm_keccak256_update(e->k, p, n);
    e->n += n;
}

static void e_header(enc *e, uint8_t short_base, size_t len) {
    uint8_t b[9];
    size_t n = 0;
    if (len <= 55) {
        b[n++] = (uint8_t)(short_base + len);
    } else {
        unsigned ll = 0;
        for (uint64_t v = len; v; v >>= 8) ll++;
        b[n++] = (uint8_t)(short_base + 55 + ll);
        for (unsigned i = 0; i < ll; i++) b[n++] = (uint8_t)((uint64_t)len >> (8 * (ll - 1 - i)));
    }
    e_raw(e, b, n);
}

static void e_bytes(enc *e, const uint8_t *p, size_t n) {
    if (n == 1 && p[0] < 0x80) {
        e_raw(e, p, 1);
        return;
    }
    e_header(e, 0x80, n);
    if (n) e_raw(e, p, n);
}

/* Integers straight from the limbs; when only counting, no bytes are made. */
static void e_uint(enc *e, const tkm_u256 *v) {
    unsigned bits = tkm_u256_bits(v);
    size_t n = (bits + 7) / 8;
    uint8_t b[33];
    if (n == 0) {
        b[0] = 0x80;
        e_raw(e, b, 1);
    } else if (n == 1 && v->w[0] < 0x80) {
        b[0] = (uint8_t)v->w[0];
        e_raw(e, b, 1);
    } else if (!e->w && !e->k) {
        e->n += 1 + n;
    } else {
        b[0] = (uint8_t)(0x80 + n);
        for (size_t i = 0; i < n; i++) {
            size_t bit = 8 * (n - 1 - i);
            b[1 + i] = (uint8_t)(v->w[bit / 64] >> (bit % 64));
        }
        e_raw(e, b, 1 + n);
    }
}

static void e_u64(enc *e, uint64_t v) {
    tkm_u256 x = tkm_u256_from_u64(v);
    e_uint(e, &x);
}

/* A 32-byte big-endian integer (r, s) in minimal form. */
static void e_be32(enc *e, const uint8_t b[32]) {
    size_t i = 0;
    while (i < 32 && b[i] == 0) i++;
    e_bytes(e, b + i, 32 - i);
}

typedef void (*body_fn)(enc *e, const void *ctx);

/* Emit a list whose items body() emits: count its payload, then emit. */
static void e_list(enc *e, body_fn body, const void *ctx) {
    enc c = {NULL, NULL, 0, TKM_OK};
    body(&c, ctx);
    e_header(e, 0xc0, c.n);
    if (!e->w && !e->k)
        e->n += c.n;
    else
        body(e, ctx);
}

static void body_keys(enc *e, const void *ctx) {
    const tkm_tx_access *a = ctx;
    for (size_t i = 0; i < a->n_keys; i++) e_bytes(e, a->keys[i], 32);
}

static void body_access_entry(enc *e, const void *ctx) {
    const tkm_tx_access *a = ctx;
    e_bytes(e, a->address, TKM_ETH_ADDR_LEN);
    e_list(e, body_keys, a);
}

static void body_access_list(enc *e, const void *ctx) {
    const tkm_tx *tx = ctx;
    for (size_t i = 0; i < tx->n_access; i++) e_list(e, body_access_entry, &tx->access_list[i]);
}

static void body_blob_hashes(enc *e, const void *ctx) {
    const tkm_tx *tx = ctx;
    for (size_t i = 0; i < tx->n_blob_hashes; i++) e_bytes(e, tx->blob_hashes[i], 32);
}

static void body_auth(enc *e, const void *ctx) {
    const tkm_tx_auth *a = ctx;
    e_uint(e, &a->chain_id);
    e_bytes(e, a->address, TKM_ETH_ADDR_LEN);
    e_u64(e, a->nonce);
    e_u64(e, a->y_parity);
    e_uint(e, &a->r);
    e_uint(e, &a->s);
}

static void body_auth_list(enc *e, const void *ctx) {
    const tkm_tx *tx = ctx;
    for (size_t i = 0; i < tx->n_auths; i++) e_list(e, body_auth, &tx->auths[i]);
}

/* What to append after the fields of the type. */
typedef enum { TAIL_NONE, TAIL_EIP155, TAIL_SIGNATURE } tail_kind;

typedef struct {
    const tkm_tx *tx;
    tail_kind tail;
} fields_ctx;

static void body_fields(enc *e, const void *vctx) {
    const fields_ctx *fc = vctx;
    const tkm_tx *tx = fc->tx;
    if (tx->type != TKM_TX_LEGACY) e_uint(e, &tx->chain_id);
    e_u64(e, tx->nonce);
    if (tx->type <= TKM_TX_EIP2930) {
        e_uint(e, &tx->gas_price);
    } else {
        e_uint(e, &tx->max_priority_fee_per_gas);
        e_uint(e, &tx->max_fee_per_gas);
    }
    e_u64(e, tx->gas);
    e_bytes(e, tx->to, tx->has_to ? TKM_ETH_ADDR_LEN : 0);
    e_uint(e, &tx->value);
    e_bytes(e, tx->data, tx->data_len);
    if (tx->type != TKM_TX_LEGACY) e_list(e, body_access_list, tx);
    if (tx->type == TKM_TX_EIP4844) {
        e_uint(e, &tx->max_fee_per_blob_gas);
        e_list(e, body_blob_hashes, tx);
    }
    if (tx->type == TKM_TX_EIP7702) e_list(e, body_auth_list, tx);
    if (fc->tail == TAIL_EIP155) {
        e_uint(e, &tx->chain_id);
        e_u64(e, 0);
        e_u64(e, 0);
    } else if (fc->tail == TAIL_SIGNATURE) {
        if (tx->type == TKM_TX_LEGACY) {
            /* v = 27 + parity, or chain_id * 2 + 35 + parity (EIP-155); range checked by callers */
            tkm_u256 v = tkm_u256_from_u64(27u + tx->y_parity);
            if (tx->eip155) {
                tkm_u256 add = tkm_u256_from_u64(35u + tx->y_parity);
                if (tkm_failed(tkm_u256_mul_u64(&v, &tx->chain_id, 2)) ||
                    tkm_failed(tkm_u256_add(&v, &v, &add)))
                    e->err = TKM_ERR_RANGE;
            }
            e_uint(e, &v);
        } else {
            e_u64(e, tx->y_parity);
        }
        e_be32(e, tx->r);
        e_be32(e, tx->s);
    }
}

static void emit_tx(enc *e, const tkm_tx *tx, tail_kind tail) {
    fields_ctx fc = {tx, tail};
    if (tx->type != TKM_TX_LEGACY) {
        uint8_t t = (uint8_t)tx->type;
        e_raw(e, &t, 1);
    }
    e_list(e, body_fields, &fc);
}

tkm_rc tkm_tx_signing_hash(const tkm_tx *tx, uint8_t out[static TKM_TX_HASH_LEN]) {
    memset(out, 0, TKM_TX_HASH_LEN);
    TKM_ARG_CHECK(tx->type <= TKM_TX_EIP7702);
    tkm_keccak_ctx k;
    tkm_keccak256_init(&k);
    enc e = {NULL, &k, 0, TKM_OK};
    emit_tx(&e, tx, tx->type == TKM_TX_LEGACY && tx->eip155 ? TAIL_EIP155 : TAIL_NONE);
    tkm_keccak256_final(&k, out);
    TKM_ENSURE(e.err == TKM_OK, e.err);
    return TKM_RC_OK;
}

tkm_rc tkm_tx_encode_signed(const tkm_tx *tx, tkm_wr *w) {
    TKM_ARG_CHECK(tx->type <= TKM_TX_EIP7702);
    TKM_ARG_CHECK(tx->is_signed);
    enc c = {NULL, NULL, 0, TKM_OK};
    emit_tx(&c, tx, TAIL_SIGNATURE);
    TKM_ENSURE(c.err == TKM_OK, c.err);
    TKM_TRY(tkm_wr_reserve(w, c.n));
    enc e = {w, NULL, 0, TKM_OK};
    emit_tx(&e, tx, TAIL_SIGNATURE);
    TKM_ENSURE(e.err == TKM_OK, e.err);
    return tkm_wr_status(w);
}

tkm_rc tkm_tx_hash(const tkm_tx *tx, uint8_t out[static TKM_TX_HASH_LEN]) {
    memset(out, 0, TKM_TX_HASH_LEN);
    TKM_ARG_CHECK(tx->type <= TKM_TX_EIP7702);
    TKM_ARG_CHECK(tx->is_signed);
    tkm_keccak_ctx k;
    tkm_keccak256_init(&k);
    enc e = {NULL, &k, 0, TKM_OK};
    emit_tx(&e, tx, TAIL_SIGNATURE);
    tkm_keccak256_final(&k, out);
    TKM_ENSURE(e.err == TKM_OK, e.err);
    return TKM_RC_OK;
}

/* ---- validation ---- */

static tkm_rc fail_detail(tkm_err code, const char *what) {
    tkm_err_detail_set("%s", what);
    TKM_ENSURE(0, code);
}

tkm_rc tkm_tx_validate(const tkm_tx *tx) {
    TKM_ENSURE(tx->type <= TKM_TX_EIP7702, TKM_ERR_TX_TYPE);
    if (tx->nonce == UINT64_MAX) return fail_detail(TKM_ERR_TX, "nonce: must be below 2^64-1 (EIP-2681)");
    TKM_ENSURE(tx->data_len <= TKM_TX_MAX_DATA, TKM_ERR_TOO_LARGE);
    const tkm_u256 *fee = tx->type <= TKM_TX_EIP2930 ? &tx->gas_price : &tx->max_fee_per_gas;
    tkm_u256 prod;
    if (tkm_failed(tkm_u256_mul_u64(&prod, fee, tx->gas)))
        return fail_detail(TKM_ERR_TX, "gas * fee per gas exceeds 2^256-1");
    if (tx->type >= TKM_TX_EIP1559 &&
        tkm_u256_cmp(&tx->max_priority_fee_per_gas, &tx->max_fee_per_gas) > 0)
        return fail_detail(TKM_ERR_TX, "maxPriorityFeePerGas: above maxFeePerGas");
    if (tx->type == TKM_TX_LEGACY)
        TKM_ENSURE(tx->n_access == 0 && tx->n_auths == 0 && tx->n_blob_hashes == 0, TKM_ERR_TX_FIELD);
    if (tx->type != TKM_TX_EIP4844) TKM_ENSURE(tx->n_blob_hashes == 0, TKM_ERR_TX_FIELD);
    if (tx->type != TKM_TX_EIP7702) TKM_ENSURE(tx->n_auths == 0, TKM_ERR_TX_FIELD);
    if (tx->type >= TKM_TX_EIP4844 && !tx->has_to)
        return fail_detail(TKM_ERR_TX, "to: required for blob and set-code transactions");
    if (tx->type == TKM_TX_EIP4844) {
        if (tx->n_blob_hashes == 0)
            return fail_detail(TKM_ERR_TX, "blobVersionedHashes: at least one is required");
        TKM_ENSURE(tx->n_blob_hashes <= TKM_TX_MAX_BLOB_HASHES, TKM_ERR_TOO_LARGE);
        for (size_t i = 0; i < tx->n_blob_hashes; i++)
            if (tx->blob_hashes[i][0] != 0x01) {
                tkm_err_detail_set("blobVersionedHashes[%zu]: version byte must be 0x01", i);
                TKM_ENSURE(0, TKM_ERR_TX);
            }
    }
    if (tx->type == TKM_TX_EIP7702) {
        if (tx->n_auths == 0)
            return fail_detail(TKM_ERR_TX, "authorizationList: must not be empty");
        TKM_ENSURE(tx->n_auths <= TKM_TX_MAX_AUTHORIZATIONS, TKM_ERR_TOO_LARGE);
        for (size_t i = 0; i < tx->n_auths; i++)
            if (tx->auths[i].nonce == UINT64_MAX) {
                tkm_err_detail_set("authorizationList[%zu].nonce: must be below 2^64-1", i);
                TKM_ENSURE(0, TKM_ERR_TX);
            }
    }
    TKM_ENSURE(tx->n_access <= TKM_TX_MAX_ACCESS_ENTRIES, TKM_ERR_TOO_LARGE);
    size_t keys = 0;
    for (size_t i = 0; i < tx->n_access; i++) keys += tx->access_list[i].n_keys;
    TKM_ENSURE(keys <= TKM_TX_MAX_STORAGE_KEYS, TKM_ERR_TOO_LARGE);
    return TKM_RC_OK;
}

tkm_rc tkm_tx_check_chain_id(const tkm_tx *tx, const tkm_u256 *chain_id) {
    if (tx->type == TKM_TX_LEGACY && !tx->eip155)
        return fail_detail(TKM_ERR_TX_CHAIN_ID, "legacy transaction without EIP-155 replay protection");
    if (tkm_u256_cmp(&tx->chain_id, chain_id) != 0) {
        char have[67], want[67];
        tkm_u256_to_quantity(&tx->chain_id, have);
        tkm_u256_to_quantity(chain_id, want);
        tkm_err_detail_set("chainId: %s, expected %s", have, want);
        TKM_ENSURE(0, TKM_ERR_TX_CHAIN_MISMATCH);
    }
    return TKM_RC_OK;
}

/* ---- signatures ---- */

/* r and s as 32-byte big-endian values in [1, n-1]. */
static tkm_rc sig_scalar(uint8_t out[32], const tkm_u256 *v, const char *name) {
    tkm_u256_to_be32(v, out);
    if (tkm_u256_is_zero(v) || memcmp(out, tkm_secp_n_be_, 32) >= 0) {
        tkm_err_detail_set("%s: must be in [1, n-1]", name);
        TKM_ENSURE(0, TKM_ERR_BAD_SIGNATURE);
    }
    return TKM_RC_OK;
}

static tkm_rc recover_address(uint8_t addr[TKM_ETH_ADDR_LEN], const uint8_t digest[32], const uint8_t r[32],
                              const uint8_t s[32], uint8_t parity) {
    uint8_t sig[65], pub[TKM_SECP_PUBKEY_LEN];
    memcpy(sig, r, 32);
    memcpy(sig + 32, s, 32);
    sig[64] = parity;
    TKM_TRY(tkm_secp_recover(pub, digest, sig, TKM_SECP_REQUIRE_LOW_S));
    tkm_eth_address(addr, pub);
    return TKM_RC_OK;
}

static void body_auth_msg(enc *e, const void *ctx) {
    const tkm_tx_auth *a = ctx;
    e_uint(e, &a->chain_id);
    e_bytes(e, a->address, TKM_ETH_ADDR_LEN);
    e_u64(e, a->nonce);
}

static tkm_rc auth_authority(tkm_tx_auth *a) {
    uint8_t r[32], s[32], digest[32];
    TKM_ENSURE(a->y_parity <= 1, TKM_ERR_BAD_SIGNATURE);
    TKM_TRY(sig_scalar(r, &a->r, "r"));
    TKM_TRY(sig_scalar(s, &a->s, "s"));
    /* EIP-7702: keccak(MAGIC ‖ rlp([chain_id, address, nonce])), MAGIC = 0x05 */
    tkm_keccak_ctx k;
    tkm_keccak256_init(&k);
    enc e = {NULL, &k, 0, TKM_OK};
    const uint8_t magic = 0x05;
    e_raw(&e, &magic, 1);
    e_list(&e, body_auth_msg, a);
    tkm_keccak256_final(&k, digest);
    return recover_address(a->authority, digest, r, s, a->y_parity);
}

void tkm_tx_recover_authorities_(tkm_tx *tx) {
    for (size_t i = 0; i < tx->n_auths; i++) {
        tkm_tx_auth *a = &tx->auths[i];
        memset(a->authority, 0, sizeof a->authority);
        tkm_rc rc = auth_authority(a);
        a->authority_err = rc.code;
        if (tkm_failed(rc)) memset(a->authority, 0, sizeof a->authority);
    }
    tkm_err_detail_clear();
}

tkm_rc tkm_tx_sign(tkm_tx *tx, const tkm_secret *sk, const uint8_t key_addr[static TKM_ETH_ADDR_LEN]) {
    TKM_ARG_CHECK(tx->type <= TKM_TX_EIP7702);
    tx->is_signed = 0;
    memset(tx->r, 0, 32);
    memset(tx->s, 0, 32);
    tx->y_parity = 0;
    TKM_TRY(tkm_tx_validate(tx));
    if (tx->type == TKM_TX_LEGACY && !tx->eip155)
        return fail_detail(TKM_ERR_TX_CHAIN_ID, "refusing to sign a legacy transaction without EIP-155");
    if (tkm_u256_is_zero(&tx->chain_id)) return fail_detail(TKM_ERR_TX_CHAIN_ID, "chainId: 0 is refused");
    if (tx->type == TKM_TX_LEGACY) {
        tkm_u256 v, add = tkm_u256_from_u64(36);
        if (tkm_failed(tkm_u256_mul_u64(&v, &tx->chain_id, 2)) || tkm_failed(tkm_u256_add(&v, &v, &add)))
            return fail_detail(TKM_ERR_RANGE, "chainId: too large for a legacy v value");
    }
    if (tx->has_from && memcmp(tx->from, key_addr, TKM_ETH_ADDR_LEN) != 0)
        return fail_detail(TKM_ERR_TX_AMBIGUOUS, "from: does not match the signing key");
    uint8_t digest[32], sig[TKM_SECP_SIG_LEN];
    TKM_TRY(tkm_tx_signing_hash(tx, digest));
    TKM_TRY(tkm_secp_sign(sig, sk, digest));
    TKM_ENSURE(sig[64] <= 1, TKM_ERR_CRYPTO); /* recid 2/3 needs r >= n: not reachable */
    memcpy(tx->r, sig, 32);
    memcpy(tx->s, sig + 32, 32);
    tx->y_parity = sig[64];
    tx->is_signed = 1;
    tx->has_from = 1;
    memcpy(tx->from, key_addr, TKM_ETH_ADDR_LEN);
    return TKM_RC_OK;
}

/* ---- decoding a signed raw transaction ---- */

static const char *const type_names[] = {"legacy", "EIP-2930", "EIP-1559", "EIP-4844", "EIP-7702"};
static const size_t type_fields[] = {9, 11, 12, 14, 13};

static tkm_rc field_fail(tkm_err code, const char *field, const char *why) {
    tkm_err_detail_set("%s: %s", field, why);
    TKM_ENSURE(0, code);
}

/* Prefix a lower-level failure's detail with the field name. */
static tkm_rc named(tkm_rc rc, const char *field) {
    if (tkm_ok(rc)) return rc;
    char prev[200];
    snprintf(prev, sizeof prev, "%s", tkm_err_detail());
    tkm_err_detail_set("%s: %s", field, prev[0] ? prev : tkm_err_str(rc.code));
    return rc;
}

static tkm_rc rd_address(tkm_rd *r, int allow_empty, int *present, uint8_t out[TKM_ETH_ADDR_LEN],
                         const char *field) {
    const uint8_t *p;
    size_t n;
    memset(out, 0, TKM_ETH_ADDR_LEN);
    if (present) *present = 0;
    TKM_TRY(named(tkm_rlp_string(r, &p, &n), field));
    if (n == 0 && allow_empty) return TKM_RC_OK;
    if (n != TKM_ETH_ADDR_LEN) return field_fail(TKM_ERR_ADDRESS, field, n < 20 ? "shorter than 20 bytes" : "longer than 20 bytes");
    memcpy(out, p, TKM_ETH_ADDR_LEN);
    if (present) *present = 1;
    return TKM_RC_OK;
}

static tkm_rc rd_word32(tkm_rd *r, uint8_t out[32], const char *field) {
    const uint8_t *p;
    size_t n;
    TKM_TRY(named(tkm_rlp_string(r, &p, &n), field));
    if (n != 32) return field_fail(TKM_ERR_TX, field, n < 32 ? "shorter than 32 bytes" : "longer than 32 bytes");
    memcpy(out, p, 32);
    return TKM_RC_OK;
}

static tkm_rc rd_access_list(tkm_rd *r, tkm_tx *tx) {
    tkm_rd list;
    size_t n;
    TKM_TRY(named(tkm_rlp_list(r, &list), "accessList"));
    TKM_TRY(named(tkm_rlp_count(&list, TKM_TX_MAX_ACCESS_ENTRIES, &n), "accessList"));
    if (n == 0) return TKM_RC_OK;
    tx->access_list = calloc(n, sizeof *tx->access_list);
    TKM_ENSURE(tx->access_list, TKM_ERR_NOMEM);
    tx->n_access = n;
    size_t total_keys = 0;
    for (size_t i = 0; i < n; i++) {
        tkm_tx_access *a = &tx->access_list[i];
        tkm_rd entry, keys;
        size_t items, nk;
        TKM_TRY(named(tkm_rlp_list(&list, &entry), "accessList entry"));
        TKM_TRY(tkm_rlp_count(&entry, 2, &items));
        if (items != 2) return field_fail(TKM_ERR_TX, "accessList entry", "must be [address, storageKeys]");
        TKM_TRY(rd_address(&entry, 0, NULL, a->address, "accessList address"));
        TKM_TRY(named(tkm_rlp_list(&entry, &keys), "accessList storageKeys"));
        TKM_TRY(named(tkm_rlp_count(&keys, TKM_TX_MAX_STORAGE_KEYS, &nk), "accessList storageKeys"));
        total_keys += nk;
        if (total_keys > TKM_TX_MAX_STORAGE_KEYS)
            return field_fail(TKM_ERR_RLP_ITEMS, "accessList", "too many storage keys");
        if (nk) {
            a->keys = calloc(nk, 32);
            TKM_ENSURE(a->keys, TKM_ERR_NOMEM);
            a->n_keys = nk;
            for (size_t j = 0; j < nk; j++) TKM_TRY(rd_word32(&keys, a->keys[j], "accessList storage key"));
        }
        TKM_TRY(tkm_rd_done(&keys));
        TKM_TRY(tkm_rd_done(&entry));
    }
    return tkm_rd_done(&list);
}

static tkm_rc rd_blob_hashes(tkm_rd *r, tkm_tx *tx) {
    tkm_rd list;
    size_t n;
    TKM_TRY(named(tkm_rlp_list(r, &list), "blobVersionedHashes"));
    TKM_TRY(named(tkm_rlp_count(&list, TKM_TX_MAX_BLOB_HASHES, &n), "blobVersionedHashes"));
    if (n) {
        tx->blob_hashes = calloc(n, 32);
        TKM_ENSURE(tx->blob_hashes, TKM_ERR_NOMEM);
        tx->n_blob_hashes = n;
        for (size_t i = 0; i < n; i++) TKM_TRY(rd_word32(&list, tx->blob_hashes[i], "blobVersionedHashes"));
    }
    return tkm_rd_done(&list);
}

static tkm_rc rd_auth_list(tkm_rd *r, tkm_tx *tx) {
    tkm_rd list;
    size_t n;
    TKM_TRY(named(tkm_rlp_list(r, &list), "authorizationList"));
    TKM_TRY(named(tkm_rlp_count(&list, TKM_TX_MAX_AUTHORIZATIONS, &n), "authorizationList"));
    if (n == 0) return TKM_RC_OK;
    tx->auths = calloc(n, sizeof *tx->auths);
    TKM_ENSURE(tx->auths, TKM_ERR_NOMEM);
    tx->n_auths = n;
    for (size_t i = 0; i < n; i++) {
        tkm_tx_auth *a = &tx->auths[i];
        tkm_rd t;
        size_t items;
        uint64_t yp;
        TKM_TRY(named(tkm_rlp_list(&list, &t), "authorization"));
        TKM_TRY(tkm_rlp_count(&t, 6, &items));
        if (items != 6)
            return field_fail(TKM_ERR_TX, "authorization", "must be [chainId, address, nonce, yParity, r, s]");
        TKM_TRY(named(tkm_rlp_uint(&t, &a->chain_id), "authorization chainId"));
        TKM_TRY(rd_address(&t, 0, NULL, a->address, "authorization address"));
        TKM_TRY(named(tkm_rlp_u64(&t, &a->nonce), "authorization nonce"));
        TKM_TRY(named(tkm_rlp_u64(&t, &yp), "authorization yParity"));
        if (yp > 255) return field_fail(TKM_ERR_OVERFLOW, "authorization yParity", "wider than 8 bits");
        a->y_parity = (uint8_t)yp;
        TKM_TRY(named(tkm_rlp_uint(&t, &a->r), "authorization r"));
        TKM_TRY(named(tkm_rlp_uint(&t, &a->s), "authorization s"));
        TKM_TRY(tkm_rd_done(&t));
    }
    return tkm_rd_done(&list);
}

static tkm_rc decode_fields(tkm_rd *f, tkm_tx *tx, tkm_u256 *v) {
    const uint8_t *p;
    size_t n;
    if (tx->type != TKM_TX_LEGACY) TKM_TRY(named(tkm_rlp_uint(f, &tx->chain_id), "chainId"));
    TKM_TRY(named(tkm_rlp_u64(f, &tx->nonce), "nonce"));
    if (tx->type <= TKM_TX_EIP2930) {
        TKM_TRY(named(tkm_rlp_uint(f, &tx->gas_price), "gasPrice"));
    } else {
        TKM_TRY(named(tkm_rlp_uint(f, &tx->max_priority_fee_per_gas), "maxPriorityFeePerGas"));
        TKM_TRY(named(tkm_rlp_uint(f, &tx->max_fee_per_gas), "maxFeePerGas"));
    }
    TKM_TRY(named(tkm_rlp_u64(f, &tx->gas), "gas"));
    TKM_TRY(rd_address(f, 1, &tx->has_to, tx->to, "to"));
    TKM_TRY(named(tkm_rlp_uint(f, &tx->value), "value"));
    TKM_TRY(named(tkm_rlp_string(f, &p, &n), "data"));
    if (n > TKM_TX_MAX_DATA) return field_fail(TKM_ERR_TOO_LARGE, "data", "larger than the cap");
    if (n) {
        tx->data = malloc(n);
        TKM_ENSURE(tx->data, TKM_ERR_NOMEM);
        memcpy(tx->data, p, n);
        tx->data_len = n;
    }
    if (tx->type != TKM_TX_LEGACY) TKM_TRY(rd_access_list(f, tx));
    if (tx->type == TKM_TX_EIP4844) {
        TKM_TRY(named(tkm_rlp_uint(f, &tx->max_fee_per_blob_gas), "maxFeePerBlobGas"));
        TKM_TRY(rd_blob_hashes(f, tx));
    }
    if (tx->type == TKM_TX_EIP7702) TKM_TRY(rd_auth_list(f, tx));
    TKM_TRY(named(tkm_rlp_uint(f, v), tx->type == TKM_TX_LEGACY ? "v" : "yParity"));
    tkm_u256 r, s;
    TKM_TRY(named(tkm_rlp_uint(f, &r), "r"));
    TKM_TRY(named(tkm_rlp_uint(f, &s), "s"));
    TKM_TRY(tkm_rd_done(f));
    TKM_TRY(sig_scalar(tx->r, &r, "r"));
    TKM_TRY(sig_scalar(tx->s, &s, "s"));
    return TKM_RC_OK;
}

/* Split v into parity and chain id by the rules of the type. */
static tkm_rc apply_v(tkm_tx *tx, const tkm_u256 *v) {
    uint64_t small;
    int fits = tkm_u256_to_u64(v, &small);
    if (tx->type != TKM_TX_LEGACY) {
        if (!fits || small > 1) return field_fail(TKM_ERR_BAD_SIGNATURE, "yParity", "must be 0 or 1");
        tx->y_parity = (uint8_t)small;
        return TKM_RC_OK;
    }
    if (fits && (small == 27 || small == 28)) {
        tx->eip155 = 0;
        tx->y_parity = (uint8_t)(small - 27);
        return TKM_RC_OK;
    }
    if (fits && small < 35) return field_fail(TKM_ERR_BAD_SIGNATURE, "v", "must be 27, 28 or chainId * 2 + 35/36");
    /* v = chain_id * 2 + 35 + parity */
    tkm_u256 t, k35 = tkm_u256_from_u64(35);
    TKM_TRY(tkm_u256_sub(&t, v, &k35));
    tx->y_parity = (uint8_t)(t.w[0] & 1);
    for (int i = 0; i < 4; i++) tx->chain_id.w[i] = (t.w[i] >> 1) | (i < 3 ? t.w[i + 1] << 63 : 0);
    tx->eip155 = 1;
    return TKM_RC_OK;
}

static tkm_rc decode_signed(tkm_tx *tx, const uint8_t *raw, size_t raw_len) {
    TKM_ENSURE(raw_len > 0, TKM_ERR_TRUNCATED);
    if (raw_len > TKM_TX_MAX_RAW) return fail_detail(TKM_ERR_TOO_LARGE, "raw transaction larger than the cap");
    tkm_rd r, f;
    if (raw[0] < 0x80) {
        if (raw[0] == 0 || raw[0] > TKM_TX_EIP7702) {
            tkm_err_detail_set("transaction type 0x%02x is not supported", raw[0]);
            TKM_ENSURE(0, TKM_ERR_TX_TYPE);
        }
        tx->type = (tkm_tx_type)raw[0];
        tkm_rd_init(&r, raw + 1, raw_len - 1);
    } else {
        tx->type = TKM_TX_LEGACY;
        tkm_rd_init(&r, raw, raw_len);
    }
    TKM_TRY(tkm_rlp_list(&r, &f));
    TKM_TRY(tkm_rd_done(&r));
    size_t want = type_fields[tx->type], have;
    TKM_TRY(tkm_rlp_count(&f, 64, &have));
    if (have != want) {
        tkm_rd peek = f, pl;
        tkm_rlp_kind k;
        if (tx->type == TKM_TX_EIP4844 && have == 4 && tkm_ok(tkm_rlp_item(&peek, &k, &pl)) && k == TKM_RLP_LIST)
            return fail_detail(TKM_ERR_TX, "blob transaction in its network form (with blobs, commitments and "
                                            "proofs): give the signed transaction without them");
        tkm_err_detail_set("%s transaction has %zu fields, expected %zu", type_names[tx->type], have, want);
        TKM_ENSURE(0, TKM_ERR_TX);
    }
    tkm_u256 v;
    TKM_TRY(decode_fields(&f, tx, &v));
    TKM_TRY(apply_v(tx, &v));
    TKM_TRY(tkm_tx_validate(tx));
    tx->is_signed = 1;
    uint8_t digest[32];
    TKM_TRY(tkm_tx_signing_hash(tx, digest));
    TKM_TRY(recover_address(tx->from, digest, tx->r, tx->s, tx->y_parity));
    tx->has_from = 1;
    tkm_tx_recover_authorities_(tx);
    return TKM_RC_OK;
}

tkm_rc tkm_tx_decode_signed(tkm_tx *tx, const uint8_t *raw, size_t raw_len) {
    TKM_ARG_CHECK(raw != NULL || raw_len == 0);
    tkm_tx_init(tx);
    tkm_err_detail_clear(); /* details below name fields; none may be stale */
    tkm_rc rc = decode_signed(tx, raw, raw_len);
    if (tkm_failed(rc)) tkm_tx_free(tx);
    return rc;
}
