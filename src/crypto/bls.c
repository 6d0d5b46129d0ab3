/* see tkm_bls.h */
#include "tkm_bls.h"
#include "tkm_entropy.h"

#include <blst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t bls_dst[] = TKM_BLS_DST;
#define BLS_DST_LEN (sizeof bls_dst - 1)

/* blst wants a non-NULL pointer even for empty messages. */
static const uint8_t *msg_ptr(const uint8_t *msg) {
    static const uint8_t empty[1] = {0};
    return msg ? msg : empty;
}

/* ------------------------------------------------------------- errors */

static tkm_err from_blst(BLST_ERROR e) {
    switch (e) {
    case BLST_SUCCESS: return TKM_OK;
    case BLST_BAD_ENCODING: return TKM_ERR_BLS_ENCODING;
    case BLST_POINT_NOT_ON_CURVE: return TKM_ERR_BLS_NOT_ON_CURVE;
    case BLST_POINT_NOT_IN_GROUP: return TKM_ERR_BLS_SUBGROUP;
    case BLST_PK_IS_INFINITY: return TKM_ERR_BLS_INFINITY;
    case BLST_VERIFY_FAIL: return TKM_ERR_BAD_SIGNATURE;
    case BLST_BAD_SCALAR: return TKM_ERR_BAD_KEY;
    case BLST_AGGR_TYPE_MISMATCH: break;
    }
    return TKM_ERR_INTERNAL;
}

/* Name the failing input in the detail slot: "pubkeys[3]: BLS point at infinity". */
static tkm_rc input_err(tkm_err code, const char *what, size_t idx, int indexed) {
    if (indexed)
        tkm_err_detail_set("%s[%zu]: %s", what, idx, tkm_err_str(code));
    else
        tkm_err_detail_set("%s: %s", what, tkm_err_str(code));
    return TKM_RC(code);
}

/* ------------------------------------------------------ point decoding */

/* Compressed G1 → affine point in G1 (infinity allowed: it is in G1). */
static tkm_err g1_decode(blst_p1_affine *p, const uint8_t *in, size_t len) {
    memset(p, 0, sizeof *p);
    if (len != TKM_BLS_PUBKEY_LEN) return TKM_ERR_BLS_ENCODING;
    tkm_err e = from_blst(blst_p1_uncompress(p, in));
    if (e != TKM_OK) return e;
    if (!blst_p1_affine_in_g1(p)) return TKM_ERR_BLS_SUBGROUP;
    return TKM_OK;
}

/* KeyValidate: G1 decode plus "not infinity". */
static tkm_err pk_decode(blst_p1_affine *p, const uint8_t *in, size_t len) {
    tkm_err e = g1_decode(p, in, len);
    if (e != TKM_OK) return e;
    if (blst_p1_affine_is_inf(p)) return TKM_ERR_BLS_INFINITY;
    return TKM_OK;
}

/* Compressed G2 → affine point in G2 (infinity allowed). */
static tkm_err g2_decode(blst_p2_affine *p, const uint8_t *in, size_t len) {
    memset(p, 0, sizeof *p);
    if (len != TKM_BLS_SIG_LEN) return TKM_ERR_BLS_ENCODING;
    tkm_err e = from_blst(blst_p2_uncompress(p, in));
    if (e != TKM_OK) return e;
    if (!blst_p2_affine_in_g2(p)) return TKM_ERR_BLS_SUBGROUP;
    return TKM_OK;
}

static tkm_rc load_pk(blst_p1_affine *p, const uint8_t *in, const char *what, size_t idx, int indexed) {
    tkm_err e = pk_decode(p, in, TKM_BLS_PUBKEY_LEN);
    if (e != TKM_OK) {
        tkm_err_record_where_(__FILE__, __LINE__);
        return input_err(e, what, idx, indexed);
    }
    return TKM_RC_OK;
}

static tkm_rc load_sig(blst_p2_affine *p, const uint8_t *in, const char *what, size_t idx, int indexed) {
    tkm_err e = g2_decode(p, in, TKM_BLS_SIG_LEN);
    if (e != TKM_OK) {
        tkm_err_record_where_(__FILE__, __LINE__);
        return input_err(e, what, idx, indexed);
    }
    return TKM_RC_OK;
}

tkm_rc tkm_bls_key_validate(const uint8_t *in, size_t len) {
    TKM_ARG_CHECK(in != NULL || len == 0);
    blst_p1_affine p;
    TKM_ENSURE(in != NULL, TKM_ERR_BLS_ENCODING);
    tkm_err e = pk_decode(&p, in, len);
    TKM_ENSURE(e == TKM_OK, e);
    return TKM_RC_OK;
}

tkm_rc tkm_bls_g1_check(const uint8_t *in, size_t len) {
    TKM_ARG_CHECK(in != NULL || len == 0);
    blst_p1_affine p;
    TKM_ENSURE(in != NULL, TKM_ERR_BLS_ENCODING);
    tkm_err e = g1_decode(&p, in, len);
    TKM_ENSURE(e == TKM_OK, e);
    return TKM_RC_OK;
}

tkm_rc tkm_bls_g2_check(const uint8_t *in, size_t len) {
    TKM_ARG_CHECK(in != NULL || len == 0);
    blst_p2_affine p;
    TKM_ENSURE(in != NULL, TKM_ERR_BLS_ENCODING);
    tkm_err e = g2_decode(&p, in, len);
    TKM_ENSURE(e == TKM_OK, e);
    return TKM_RC_OK;
}

/* --------------------------------------------------------------- keys */

/* Load a secret key into s and check 0 < s < r. The caller wipes s on every path. */
static tkm_rc load_sk(blst_scalar *s, const tkm_secret *sk) {
    memset(s, 0, sizeof *s);
    TKM_ENSURE(tkm_secret_len(sk) == TKM_BLS_SECKEY_LEN, TKM_ERR_BAD_KEY);
    blst_scalar_from_bendian(s, tkm_secret_ptr(sk));
    TKM_ENSURE(blst_sk_check(s), TKM_ERR_BAD_KEY);
    return TKM_RC_OK;
}

/* Store s (a valid scalar) into a new secret. */
static tkm_rc store_sk(tkm_secret **out, const blst_scalar *s) {
    tkm_secret *sk = NULL;
    TKM_TRY(tkm_secret_new(&sk, TKM_BLS_SECKEY_LEN));
    blst_bendian_from_scalar(tkm_secret_mut(sk), s);
    *out = sk;
    return TKM_RC_OK;
}

tkm_rc tkm_bls_seckey_check(const tkm_secret *sk) {
    blst_scalar s;
    tkm_rc rc = load_sk(&s, sk);
    tkm_wipe(&s, sizeof s);
    return rc;
}

tkm_rc tkm_bls_derive_master_sk(tkm_secret **out, const tkm_secret *seed) {
    *out = NULL;
    blst_scalar s;
    tkm_rc rc = TKM_RC_OK;
    memset(&s, 0, sizeof s);
    if (tkm_secret_len(seed) < TKM_BLS_SEED_MIN_LEN) TKM_GOTO(rc, TKM_ERR_BLS_SEED);
    blst_derive_master_eip2333(&s, tkm_secret_ptr(seed), tkm_secret_len(seed));
    /* KeyGen loops until SK != 0, so this holds; keep the check in release builds. */
    if (!blst_sk_check(&s)) TKM_GOTO(rc, TKM_ERR_INTERNAL);
    TKM_CHECK_GOTO(rc, store_sk(out, &s));
out:
    tkm_wipe(&s, sizeof s);
    return rc;
}

tkm_rc tkm_bls_derive_child_sk(tkm_secret **out, const tkm_secret *parent, uint32_t index) {
    *out = NULL;
    blst_scalar p, c;
    tkm_rc rc = TKM_RC_OK;
    memset(&c, 0, sizeof c);
    TKM_CHECK_GOTO(rc, load_sk(&p, parent));
    blst_derive_child_eip2333(&c, &p, index);
    if (!blst_sk_check(&c)) TKM_GOTO(rc, TKM_ERR_INTERNAL);
    TKM_CHECK_GOTO(rc, store_sk(out, &c));
out:
    tkm_wipe(&p, sizeof p);
    tkm_wipe(&c, sizeof c);
    return rc;
}

tkm_rc tkm_bls_keygen(tkm_secret **out) {
    *out = NULL;
    tkm_secret *ikm = NULL;
    TKM_TRY(tkm_secret_new(&ikm, TKM_BLS_SEED_MIN_LEN));
    tkm_rc rc = tkm_entropy_bytes(tkm_secret_mut(ikm), TKM_BLS_SEED_MIN_LEN);
    if (tkm_ok(rc)) rc = tkm_bls_derive_master_sk(out, ikm);
    tkm_secret_free(ikm);
    return rc;
}

static tkm_rc path_err(const char *why, size_t component) {
    tkm_err_detail_set("key path component %zu: %s", component, why);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(TKM_ERR_BLS_PATH);
}

tkm_rc tkm_bls_path_parse(uint32_t idx[static TKM_BLS_PATH_MAX_DEPTH], size_t *depth, const char *path,
                          size_t path_len) {
    memset(idx, 0, TKM_BLS_PATH_MAX_DEPTH * sizeof idx[0]);
    *depth = 0;
    TKM_ARG_CHECK(path != NULL || path_len == 0);
    uint32_t tmp[TKM_BLS_PATH_MAX_DEPTH] = {0};
    size_t d = 0;
    tkm_rd r;
    uint8_t c;
    tkm_rd_init(&r, (const uint8_t *)path, path_len);
    if (tkm_failed(tkm_rd_u8(&r, &c)) || c != 'm') return path_err("path must start with \"m\"", 0);
    while (tkm_rd_left(&r) > 0) {
        TKM_TRY(tkm_rd_u8(&r, &c));
        if (c != '/') return path_err("expected '/'", d + 1);
        if (d == TKM_BLS_PATH_MAX_DEPTH) return path_err("path too deep", d + 1);
        uint64_t v = 0;
        size_t digits = 0;
        uint8_t first = 0;
        while (tkm_rd_left(&r) > 0) {
            TKM_TRY(tkm_rd_peek_u8(&r, &c));
            if (c < '0' || c > '9') break;
            TKM_TRY(tkm_rd_u8(&r, &c));
            if (digits == 0) first = c;
            else if (first == '0') return path_err("leading zero", d + 1);
            v = v * 10 + (uint64_t)(c - '0');
            if (v > UINT32_MAX) return path_err("index above 2^32-1", d + 1);
            digits++;
        }
        if (digits == 0) return path_err("expected a decimal index", d + 1);
        tmp[d++] = (uint32_t)v;
    }
    TKM_TRY(tkm_rd_done(&r));
    memcpy(idx, tmp, sizeof tmp);
    *depth = d;
    return TKM_RC_OK;
}

tkm_rc tkm_bls_derive_path(tkm_secret **out, const tkm_secret *seed, const char *path, size_t path_len) {
    *out = NULL;
    uint32_t idx[TKM_BLS_PATH_MAX_DEPTH];
    size_t depth;
    TKM_TRY(tkm_bls_path_parse(idx, &depth, path, path_len));
    tkm_secret *sk = NULL;
    TKM_TRY(tkm_bls_derive_master_sk(&sk, seed));
    for (size_t i = 0; i < depth; i++) {
        tkm_secret *child = NULL;
        tkm_rc rc = tkm_bls_derive_child_sk(&child, sk, idx[i]);
        tkm_secret_free(sk);
        TKM_TRY(rc);
        sk = child;
    }
    *out = sk;
    return TKM_RC_OK;
}

void tkm_bls_eip2334_signing_path(char out[static TKM_BLS_EIP2334_PATH_LEN], uint32_t account) {
    snprintf(out, TKM_BLS_EIP2334_PATH_LEN, "m/12381/3600/%u/0/0", (unsigned)account);
}

void tkm_bls_eip2334_withdrawal_path(char out[static TKM_BLS_EIP2334_PATH_LEN], uint32_t account) {
    snprintf(out, TKM_BLS_EIP2334_PATH_LEN, "m/12381/3600/%u/0", (unsigned)account);
}

tkm_rc tkm_bls_sk_to_pk(uint8_t pk[static TKM_BLS_PUBKEY_LEN], const tkm_secret *sk) {
    memset(pk, 0, TKM_BLS_PUBKEY_LEN);
    blst_scalar s;
    blst_p1 p;
    tkm_rc rc = load_sk(&s, sk);
    if (tkm_ok(rc)) {
        blst_sk_to_pk_in_g1(&p, &s);
        blst_p1_compress(pk, &p);
    }
    tkm_wipe(&s, sizeof s);
    return rc;
}

/* ------------------------------------------------------ sign and verify */

tkm_rc tkm_bls_sign(uint8_t sig[static TKM_BLS_SIG_LEN], const tkm_secret *sk, const uint8_t *msg,
                    size_t msg_len) {
    memset(sig, 0, TKM_BLS_SIG_LEN);
    TKM_ARG_CHECK(msg != NULL || msg_len == 0);
    blst_scalar s;
    blst_p2 h, out;
    tkm_rc rc = load_sk(&s, sk);
    if (tkm_ok(rc)) {
        blst_hash_to_g2(&h, msg_ptr(msg), msg_len, bls_dst, BLS_DST_LEN, NULL, 0);
        blst_sign_pk_in_g1(&out, &h, &s);
        blst_p2_compress(sig, &out);
    }
    tkm_wipe(&s, sizeof s);
    return rc;
}

/* CoreVerify over decoded and checked points. */
static tkm_rc core_verify(const blst_p1_affine *pk, const blst_p2_affine *sig, const uint8_t *msg,
                          size_t msg_len) {
    BLST_ERROR e = blst_core_verify_pk_in_g1(pk, sig, 1, msg_ptr(msg), msg_len, bls_dst, BLS_DST_LEN, NULL, 0);
    TKM_ENSURE(e != BLST_PK_IS_INFINITY, TKM_ERR_BLS_INFINITY);
    TKM_ENSURE(e == BLST_SUCCESS, TKM_ERR_BAD_SIGNATURE);
    return TKM_RC_OK;
}

tkm_rc tkm_bls_verify(const uint8_t pk[static TKM_BLS_PUBKEY_LEN], const uint8_t *msg, size_t msg_len,
                      const uint8_t sig[static TKM_BLS_SIG_LEN]) {
    TKM_ARG_CHECK(msg != NULL || msg_len == 0);
    blst_p1_affine p;
    blst_p2_affine s;
    TKM_TRY(load_pk(&p, pk, "pubkey", 0, 0));
    TKM_TRY(load_sig(&s, sig, "signature", 0, 0));
    return core_verify(&p, &s, msg, msg_len);
}

tkm_rc tkm_bls_aggregate_sigs(uint8_t out[static TKM_BLS_SIG_LEN], const uint8_t (*sigs)[TKM_BLS_SIG_LEN],
                              size_t n) {
    memset(out, 0, TKM_BLS_SIG_LEN);
    TKM_ARG_CHECK(sigs != NULL || n == 0);
    TKM_ENSURE(n > 0, TKM_ERR_BLS_EMPTY);
    blst_p2 acc;
    blst_p2_affine a;
    for (size_t i = 0; i < n; i++) {
        TKM_TRY(load_sig(&a, sigs[i], "signatures", i, 1));
        if (i == 0)
            blst_p2_from_affine(&acc, &a);
        else
            blst_p2_add_or_double_affine(&acc, &acc, &a);
    }
    blst_p2_compress(out, &acc);
    return TKM_RC_OK;
}

/* Sum of n >= 1 KeyValidate'd public keys. */
static tkm_rc sum_pks(blst_p1 *acc, const uint8_t (*pks)[TKM_BLS_PUBKEY_LEN], size_t n) {
    blst_p1_affine a;
    for (size_t i = 0; i < n; i++) {
        TKM_TRY(load_pk(&a, pks[i], "pubkeys", i, 1));
        if (i == 0)
            blst_p1_from_affine(acc, &a);
        else
            blst_p1_add_or_double_affine(acc, acc, &a);
    }
    return TKM_RC_OK;
}

tkm_rc tkm_bls_aggregate_pubkeys(uint8_t out[static TKM_BLS_PUBKEY_LEN],
                                 const uint8_t (*pks)[TKM_BLS_PUBKEY_LEN], size_t n) {
    memset(out, 0, TKM_BLS_PUBKEY_LEN);
    TKM_ARG_CHECK(pks != NULL || n == 0);
    TKM_ENSURE(n > 0, TKM_ERR_BLS_EMPTY);
    blst_p1 acc;
    TKM_TRY(sum_pks(&acc, pks, n));
    blst_p1_compress(out, &acc);
    return TKM_RC_OK;
}

tkm_rc tkm_bls_fast_aggregate_verify(const uint8_t (*pks)[TKM_BLS_PUBKEY_LEN], size_t n, const uint8_t *msg,
                                     size_t msg_len, const uint8_t sig[static TKM_BLS_SIG_LEN]) {
    TKM_ARG_CHECK(pks != NULL || n == 0);
    TKM_ARG_CHECK(msg != NULL || msg_len == 0);
    TKM_ENSURE(n > 0, TKM_ERR_BLS_EMPTY);
    blst_p1 acc;
    blst_p1_affine agg;
    blst_p2_affine s;
    TKM_TRY(sum_pks(&acc, pks, n));
    TKM_TRY(load_sig(&s, sig, "signature", 0, 0));
    blst_p1_to_affine(&agg, &acc);
    tkm_rc rc = core_verify(&agg, &s, msg, msg_len);
    if (rc.code == TKM_ERR_BLS_INFINITY) tkm_err_detail_set("aggregate public key is the point at infinity");
    return rc;
}

tkm_rc tkm_bls_aggregate_verify(const uint8_t (*pks)[TKM_BLS_PUBKEY_LEN], const tkm_iov *msgs, size_t n,
                                const uint8_t sig[static TKM_BLS_SIG_LEN], unsigned flags) {
    TKM_ARG_CHECK((pks != NULL && msgs != NULL) || n == 0);
    TKM_ARG_CHECK((flags & ~(unsigned)TKM_BLS_REQUIRE_DISTINCT_MSGS) == 0);
    for (size_t i = 0; i < n; i++) TKM_ARG_CHECK(msgs[i].p != NULL || msgs[i].n == 0);
    TKM_ENSURE(n > 0, TKM_ERR_BLS_EMPTY);
    blst_p2_affine s;
    TKM_TRY(load_sig(&s, sig, "signature", 0, 0));

    tkm_rc rc = TKM_RC_OK;
    blst_pairing *ctx = NULL;
    blst_uniq *uniq = NULL;
    if (flags & TKM_BLS_REQUIRE_DISTINCT_MSGS) {
        uniq = malloc(blst_uniq_sizeof(n));
        if (!uniq) TKM_GOTO(rc, TKM_ERR_NOMEM);
        blst_uniq_init(uniq);
    }
    ctx = malloc(blst_pairing_sizeof());
    if (!ctx) TKM_GOTO(rc, TKM_ERR_NOMEM);
    blst_pairing_init(ctx, 1, bls_dst, BLS_DST_LEN);
    for (size_t i = 0; i < n; i++) {
        blst_p1_affine p;
        TKM_CHECK_GOTO(rc, load_pk(&p, pks[i], "pubkeys", i, 1));
        if (uniq && !blst_uniq_test(uniq, msg_ptr(msgs[i].p), msgs[i].n)) {
            tkm_err_detail_set("messages[%zu] repeats an earlier message", i);
            TKM_GOTO(rc, TKM_ERR_BLS_DUPLICATE_MSG);
        }
        BLST_ERROR e = blst_pairing_aggregate_pk_in_g1(ctx, &p, i == 0 ? &s : NULL, msg_ptr(msgs[i].p),
                                                       msgs[i].n, NULL, 0);
        if (e != BLST_SUCCESS) TKM_GOTO(rc, from_blst(e));
    }
    blst_pairing_commit(ctx);
    if (!blst_pairing_finalverify(ctx, NULL)) TKM_GOTO(rc, TKM_ERR_BAD_SIGNATURE);
out:
    free(ctx);
    free(uniq);
    return rc;
}

tkm_rc tkm_bls_batch_verify(const tkm_bls_sig_set *sets, size_t n) {
    TKM_ARG_CHECK(sets != NULL || n == 0);
    for (size_t i = 0; i < n; i++) {
        TKM_ARG_CHECK(sets[i].pk != NULL && sets[i].sig != NULL);
        TKM_ARG_CHECK(sets[i].msg != NULL || sets[i].msg_len == 0);
    }
    TKM_ENSURE(n > 0, TKM_ERR_BLS_EMPTY);
    tkm_rc rc = TKM_RC_OK;
    blst_pairing *ctx = malloc(blst_pairing_sizeof());
    if (!ctx) TKM_GOTO(rc, TKM_ERR_NOMEM);
    blst_pairing_init(ctx, 1, bls_dst, BLS_DST_LEN);
    for (size_t i = 0; i < n; i++) {
        blst_p1_affine p;
        blst_p2_affine s;
        uint8_t r[8];
        TKM_CHECK_GOTO(rc, load_pk(&p, sets[i].pk, "sets.pk", i, 1));
        TKM_CHECK_GOTO(rc, load_sig(&s, sets[i].sig, "sets.sig", i, 1));
        TKM_CHECK_GOTO(rc, tkm_entropy_bytes(r, sizeof r));
        uint8_t any = 0;
        for (size_t k = 0; k < sizeof r; k++) any |= r[k];
        if (!any) r[0] = 1; /* a zero weight would drop the set from the check */
        BLST_ERROR e = blst_pairing_mul_n_aggregate_pk_in_g1(ctx, &p, &s, r, 64, msg_ptr(sets[i].msg),
                                                             sets[i].msg_len, NULL, 0);
        if (e != BLST_SUCCESS) TKM_GOTO(rc, from_blst(e));
    }
    blst_pairing_commit(ctx);
    if (!blst_pairing_finalverify(ctx, NULL)) TKM_GOTO(rc, TKM_ERR_BAD_SIGNATURE);
out:
    free(ctx);
    return rc;
}

/* --------------------------------------------------------- hash to curve */

tkm_rc tkm_bls_hash_to_g2(uint8_t out[static TKM_BLS_G2_UNCOMPRESSED_LEN], const uint8_t *msg,
                          size_t msg_len, const uint8_t *dst, size_t dst_len) {
    memset(out, 0, TKM_BLS_G2_UNCOMPRESSED_LEN);
    TKM_ARG_CHECK(msg != NULL || msg_len == 0);
    TKM_ARG_CHECK(dst_len >= 1);
    blst_p2 p;
    blst_p2_affine a;
    blst_hash_to_g2(&p, msg_ptr(msg), msg_len, dst, dst_len, NULL, 0);
    blst_p2_to_affine(&a, &p);
    blst_p2_affine_serialize(out, &a);
    return TKM_RC_OK;
}

tkm_rc tkm_bls_expand_message_xmd(uint8_t *out, size_t out_len, const uint8_t *msg, size_t msg_len,
                                  const uint8_t *dst, size_t dst_len) {
    /* blst loops without end on out_len 0 and silently writes nothing above 8160. */
    TKM_ARG_CHECK(out_len >= 1 && out_len <= TKM_BLS_XMD_MAX_LEN);
    memset(out, 0, out_len);
    TKM_ARG_CHECK(msg != NULL || msg_len == 0);
    TKM_ARG_CHECK(dst_len >= 1);
    blst_expand_message_xmd(out, out_len, msg_ptr(msg), msg_len, dst, dst_len);
    return TKM_RC_OK;
}
