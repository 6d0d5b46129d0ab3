/*
 * BLS12-381 against the official vectors, every file of every folder:
 *  - tests/vectors/bls: ethereum/bls12-381-tests v0.1.2 (sign, verify, aggregate,
 *    fast_aggregate_verify, aggregate_verify, batch_verify, hash_to_G2,
 *    deserialization_G1/G2);
 *  - tests/vectors/eip-2333: derive_master_SK / derive_child_SK (+ intermediates);
 *  - tests/vectors/rfc9380: hash_to_curve G2 (u, Q0, Q1, P) and expand_message_xmd;
 *  - tests/vectors/bls-oracle: multi-level EIP-2334 paths, keys and signatures from
 *    @chainsafe/bls-hd-key + @noble/curves (independent of blst).
 * A folder that is empty, missing or unknown fails the test.
 */
#include "testutil.h"

#include "crypto/crypto.h"

#include <blst.h>
#include <dirent.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUUX_G2_DST "QUUX-V01-CS02-with-BLS12381G2_XMD:SHA-256_SSWU_RO_"

/* ------------------------------------------------------------- helpers */

static uint8_t *hexv(json_t *j, size_t *n) {
    assert_true(json_is_string(j));
    return tu_hex(json_string_value(j), n);
}

static json_t *field(json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    if (!v) fail_msg("vector lacks field %s", key);
    return v;
}

static int want_bool(json_t *v) {
    json_t *o = field(v, "output");
    assert_true(json_is_boolean(o));
    return json_is_true(o);
}

static tkm_secret *secret_hex(const char *hex) {
    size_t n;
    uint8_t *b = tu_hex(hex, &n);
    tkm_secret *s;
    TU_ASSERT_OK(tkm_secret_from(&s, b, n));
    tkm_wipe(b, n);
    free(b);
    return s;
}

/* Decimal integer string → 32-byte big-endian. */
static void dec_to_be32(uint8_t out[32], const char *dec) {
    BIGNUM *bn = NULL;
    assert_int_equal(BN_dec2bn(&bn, dec), (int)strlen(dec));
    assert_int_equal(BN_bn2binpad(bn, out, 32), 32);
    BN_free(bn);
}

/* "0x<c0>,0x<c1>" (real, imaginary) → the ZCash order c1 ‖ c0 (96 bytes). */
static void fp2_be(uint8_t out[96], const char *s) {
    const char *comma = strchr(s, ',');
    assert_non_null(comma);
    char re[128], im[128];
    size_t rlen = (size_t)(comma - s);
    assert_true(rlen < sizeof re && strlen(comma + 1) < sizeof im);
    memcpy(re, s, rlen);
    re[rlen] = 0;
    strcpy(im, comma + 1);
    tu_hex_exact(out, 48, im);
    tu_hex_exact(out + 48, 48, re);
}

/* {"x": "c0,c1", "y": "c0,c1"} → 192-byte uncompressed G2 encoding. */
static void g2_affine_be(uint8_t out[192], json_t *pt) {
    fp2_be(out, json_string_value(field(pt, "x")));
    fp2_be(out + 96, json_string_value(field(pt, "y")));
}

/* A list of hex strings of one fixed size; *bad set when any has another length. */
static uint8_t *hex_list(json_t *arr, size_t each, size_t *count, int *bad) {
    assert_true(json_is_array(arr));
    *count = json_array_size(arr);
    uint8_t *all = calloc(*count ? *count : 1, each);
    assert_non_null(all);
    for (size_t i = 0; i < *count; i++) {
        size_t n;
        uint8_t *b = hexv(json_array_get(arr, i), &n);
        if (n == each)
            memcpy(all + i * each, b, each);
        else
            *bad = 1;
        free(b);
    }
    return all;
}

/* -------------------------------------------------- bls12-381-tests handlers */

static void h_sign(const char *name, json_t *v) {
    json_t *in = field(v, "input"), *out = field(v, "output");
    tkm_secret *sk = secret_hex(json_string_value(field(in, "privkey")));
    size_t mlen;
    uint8_t *msg = hexv(field(in, "message"), &mlen);
    uint8_t sig[96], pk[48];
    if (json_is_null(out)) {
        TU_ASSERT_RC(tkm_bls_sign(sig, sk, msg, mlen), TKM_ERR_BAD_KEY);
        TU_ASSERT_RC(tkm_bls_sk_to_pk(pk, sk), TKM_ERR_BAD_KEY);
        TU_ASSERT_RC(tkm_bls_seckey_check(sk), TKM_ERR_BAD_KEY);
        static const uint8_t zero[96];
        assert_memory_equal(sig, zero, 96); /* nothing partial on failure */
    } else {
        uint8_t want[96];
        tu_hex_exact(want, 96, json_string_value(out));
        TU_ASSERT_OK(tkm_bls_sign(sig, sk, msg, mlen));
        if (memcmp(sig, want, 96) != 0) fail_msg("%s: signature differs", name);
        TU_ASSERT_OK(tkm_bls_sk_to_pk(pk, sk));
        TU_ASSERT_OK(tkm_bls_key_validate(pk, sizeof pk));
        TU_ASSERT_OK(tkm_bls_verify(pk, msg, mlen, sig));
    }
    free(msg);
    tkm_secret_free(sk);
}

static void h_verify(const char *name, json_t *v) {
    json_t *in = field(v, "input");
    size_t pn, mn, sn;
    uint8_t *pk = hexv(field(in, "pubkey"), &pn), *msg = hexv(field(in, "message"), &mn),
            *sig = hexv(field(in, "signature"), &sn);
    int want = want_bool(v);
    tkm_rc rc = (pn == 48 && sn == 96) ? tkm_bls_verify(pk, msg, mn, sig) : TKM_RC(TKM_ERR_BLS_ENCODING);
    if (tkm_ok(rc) != want) fail_msg("%s: verify gave %s, want %d", name, tkm_err_name(rc.code), want);
    /* a wrong pubkey is a valid key that does not verify the (valid) signature; a
     * tampered signature may not even decode, so only its failure is asserted */
    if (strstr(name, "wrong_pubkey")) TU_ASSERT_RC(rc, TKM_ERR_BAD_SIGNATURE);
    if (strstr(name, "infinity_pubkey")) TU_ASSERT_RC(rc, TKM_ERR_BLS_INFINITY);
    free(pk);
    free(msg);
    free(sig);
}

static void h_aggregate(const char *name, json_t *v) {
    size_t n;
    int bad = 0;
    uint8_t *sigs = hex_list(field(v, "input"), 96, &n, &bad);
    assert_false(bad);
    json_t *out = field(v, "output");
    uint8_t agg[96];
    tkm_rc rc = tkm_bls_aggregate_sigs(agg, (const uint8_t(*)[96])sigs, n);
    if (json_is_null(out)) {
        if (tkm_ok(rc)) fail_msg("%s: aggregate should fail", name);
        if (n == 0) TU_ASSERT_RC(rc, TKM_ERR_BLS_EMPTY);
    } else {
        uint8_t want[96];
        tu_hex_exact(want, 96, json_string_value(out));
        TU_ASSERT_OK(rc);
        if (memcmp(agg, want, 96) != 0) fail_msg("%s: aggregate differs", name);
    }
    free(sigs);
}

static void h_fast_aggregate_verify(const char *name, json_t *v) {
    json_t *in = field(v, "input");
    size_t n, mn, sn;
    int bad = 0;
    uint8_t *pks = hex_list(field(in, "pubkeys"), 48, &n, &bad);
    uint8_t *msg = hexv(field(in, "message"), &mn), *sig = hexv(field(in, "signature"), &sn);
    int want = want_bool(v);
    tkm_rc rc = (!bad && sn == 96)
                    ? tkm_bls_fast_aggregate_verify((const uint8_t(*)[48])pks, n, msg, mn, sig)
                    : TKM_RC(TKM_ERR_BLS_ENCODING);
    if (tkm_ok(rc) != want) fail_msg("%s: gave %s, want %d", name, tkm_err_name(rc.code), want);
    if (strstr(name, "infinity_pubkey")) TU_ASSERT_RC(rc, TKM_ERR_BLS_INFINITY);
    if (strstr(name, "na_pubkeys")) TU_ASSERT_RC(rc, TKM_ERR_BLS_EMPTY);
    free(pks);
    free(msg);
    free(sig);
}

static void h_aggregate_verify(const char *name, json_t *v) {
    json_t *in = field(v, "input");
    size_t n, sn;
    int bad = 0;
    uint8_t *pks = hex_list(field(in, "pubkeys"), 48, &n, &bad);
    json_t *marr = field(in, "messages");
    assert_int_equal(json_array_size(marr), n);
    tkm_iov *msgs = calloc(n ? n : 1, sizeof *msgs);
    uint8_t **bufs = calloc(n ? n : 1, sizeof *bufs);
    for (size_t i = 0; i < n; i++) {
        size_t ml;
        bufs[i] = hexv(json_array_get(marr, i), &ml);
        msgs[i] = (tkm_iov){bufs[i], ml};
    }
    uint8_t *sig = hexv(field(in, "signature"), &sn);
    int want = want_bool(v);
    for (unsigned flags = 0; flags <= TKM_BLS_REQUIRE_DISTINCT_MSGS; flags++) {
        tkm_rc rc = (!bad && sn == 96)
                        ? tkm_bls_aggregate_verify((const uint8_t(*)[48])pks, msgs, n, sig, flags)
                        : TKM_RC(TKM_ERR_BLS_ENCODING);
        if (tkm_ok(rc) != want) fail_msg("%s: gave %s, want %d", name, tkm_err_name(rc.code), want);
        if (strstr(name, "infinity_pubkey")) TU_ASSERT_RC(rc, TKM_ERR_BLS_INFINITY);
        if (strstr(name, "na_pubkeys")) TU_ASSERT_RC(rc, TKM_ERR_BLS_EMPTY);
    }
    for (size_t i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    free(msgs);
    free(pks);
    free(sig);
}

static void h_batch_verify(const char *name, json_t *v) {
    json_t *in = field(v, "input");
    size_t n, ns;
    int bad = 0;
    uint8_t *pks = hex_list(field(in, "pubkeys"), 48, &n, &bad);
    uint8_t *sigs = hex_list(field(in, "signatures"), 96, &ns, &bad);
    json_t *marr = field(in, "messages");
    assert_int_equal(ns, n);
    assert_int_equal(json_array_size(marr), n);
    assert_false(bad);
    tkm_bls_sig_set *sets = calloc(n ? n : 1, sizeof *sets);
    for (size_t i = 0; i < n; i++) {
        size_t ml;
        uint8_t *m = hexv(json_array_get(marr, i), &ml);
        sets[i] = (tkm_bls_sig_set){pks + 48 * i, m, ml, sigs + 96 * i};
    }
    int want = want_bool(v);
    tkm_rc rc = tkm_bls_batch_verify(sets, n);
    if (tkm_ok(rc) != want) fail_msg("%s: gave %s, want %d", name, tkm_err_name(rc.code), want);
    if (strstr(name, "infinity")) TU_ASSERT_RC(rc, TKM_ERR_BLS_INFINITY);
    if (strstr(name, "forged")) TU_ASSERT_RC(rc, TKM_ERR_BAD_SIGNATURE);
    /* the batch answer agrees with verifying each set alone */
    int all = 1;
    for (size_t i = 0; i < n; i++) all &= tkm_ok(tkm_bls_verify(sets[i].pk, sets[i].msg, sets[i].msg_len, sets[i].sig));
    assert_int_equal(all, want);
    for (size_t i = 0; i < n; i++) free((void *)sets[i].msg);
    free(sets);
    free(pks);
    free(sigs);
}

static void h_hash_to_g2(const char *name, json_t *v) {
    const char *msg = json_string_value(field(field(v, "input"), "msg"));
    assert_non_null(msg);
    uint8_t want[192], got[192];
    g2_affine_be(want, field(v, "output"));
    TU_ASSERT_OK(tkm_bls_hash_to_g2(got, (const uint8_t *)msg, strlen(msg), (const uint8_t *)QUUX_G2_DST,
                                    strlen(QUUX_G2_DST)));
    if (memcmp(got, want, 192) != 0) fail_msg("%s: hash_to_G2 differs", name);
}

/* Expected error of a failing deserialization case, from its name (0 = any failure). */
static tkm_err deser_code(const char *name) {
    if (strstr(name, "not_in_G")) return TKM_ERR_BLS_SUBGROUP;
    if (strstr(name, "not_in_curve")) return TKM_ERR_BLS_NOT_ON_CURVE;
    if (strstr(name, "too_few") || strstr(name, "too_many") || strstr(name, "modulus") ||
        strstr(name, "b_flag_and") || strstr(name, "wrong_c_flag") || strstr(name, "infinity_with_true_b"))
        return TKM_ERR_BLS_ENCODING;
    return TKM_OK;
}

static void h_deser(const char *name, json_t *v, int g2) {
    json_t *in = field(v, "input");
    size_t n;
    const char *s = json_string_value(field(in, g2 ? "signature" : "pubkey"));
    assert_non_null(s);
    assert_false(s[0] == '0' && s[1] == 'x'); /* v0.1.2: no prefix in these files */
    uint8_t *b = tu_hex(s, &n);
    int want = want_bool(v);
    tkm_rc rc = g2 ? tkm_bls_g2_check(b, n) : tkm_bls_g1_check(b, n);
    if (tkm_ok(rc) != want) fail_msg("%s: gave %s, want %d", name, tkm_err_name(rc.code), want);
    if (!want && deser_code(name) != TKM_OK) TU_ASSERT_RC(rc, deser_code(name));
    if (!g2) {
        /* KeyValidate agrees, except that it refuses the point at infinity */
        tkm_rc kv = tkm_bls_key_validate(b, n);
        if (strstr(name, "succeeds_infinity"))
            TU_ASSERT_RC(kv, TKM_ERR_BLS_INFINITY);
        else
            assert_int_equal(kv.code, rc.code);
    }
    free(b);
}
static void h_deser_g1(const char *name, json_t *v) { h_deser(name, v, 0); }
static void h_deser_g2(const char *name, json_t *v) { h_deser(name, v, 1); }

typedef struct {
    const char *dir;
    void (*fn)(const char *name, json_t *v);
    size_t seen;
} handler;

static handler handlers[] = {
    {"sign", h_sign, 0},
    {"verify", h_verify, 0},
    {"aggregate", h_aggregate, 0},
    {"fast_aggregate_verify", h_fast_aggregate_verify, 0},
    {"aggregate_verify", h_aggregate_verify, 0},
    {"batch_verify", h_batch_verify, 0},
    {"hash_to_G2", h_hash_to_g2, 0},
    {"deserialization_G1", h_deser_g1, 0},
    {"deserialization_G2", h_deser_g2, 0},
};
#define NHANDLERS (sizeof handlers / sizeof handlers[0])

static int is_json(const char *f) {
    size_t n = strlen(f);
    return n > 5 && strcmp(f + n - 5, ".json") == 0;
}

static size_t run_handler(handler *h) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tu_vector_path("bls"));
    size_t dl = strlen(dir);
    snprintf(dir + dl, sizeof dir - dl, "/%s", h->dir);
    DIR *d = opendir(dir);
    if (!d) fail_msg("missing vector folder %s", dir);
    struct dirent *e;
    size_t count = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (!is_json(e->d_name)) fail_msg("unexpected file %s/%s", dir, e->d_name);
        char rel[1024];
        snprintf(rel, sizeof rel, "bls/%s/%s", h->dir, e->d_name);
        json_t *v = tu_load_vector(rel);
        h->fn(e->d_name, v);
        json_decref(v);
        count++;
    }
    closedir(d);
    if (count == 0) fail_msg("vector folder %s is empty", dir);
    return count;
}

static void test_bls12_381_tests(void **state) {
    (void)state;
    /* every folder under bls/ must have a handler: nothing is skipped silently */
    DIR *d = opendir(tu_vector_path("bls"));
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "MANIFEST.md") == 0 || strcmp(e->d_name, "SHA256SUMS") == 0)
            continue;
        int known = 0;
        for (size_t i = 0; i < NHANDLERS; i++) known |= strcmp(e->d_name, handlers[i].dir) == 0;
        if (!known) fail_msg("no handler for vector folder bls/%s", e->d_name);
    }
    closedir(d);
    size_t total = 0;
    for (size_t i = 0; i < NHANDLERS; i++) {
        handlers[i].seen = run_handler(&handlers[i]);
        print_message("  bls/%-22s %zu files\n", handlers[i].dir, handlers[i].seen);
        total += handlers[i].seen;
    }
    assert_int_equal(total, 98); /* the v0.1.2 release has 98 files (MANIFEST) */
}

/* ----------------------------------------------------------------- EIP-2333 */

static void assert_sk_dec(const tkm_secret *sk, const char *dec) {
    uint8_t want[32];
    dec_to_be32(want, dec);
    assert_int_equal(tkm_secret_len(sk), 32);
    assert_memory_equal(tkm_secret_ptr(sk), want, 32);
}

static void test_eip2333(void **state) {
    (void)state;
    json_t *v = tu_load_vector("eip-2333/eip2333_vectors.json");
    json_t *cases = field(v, "cases");
    assert_true(json_array_size(cases) >= 4);
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        tkm_secret *seed = secret_hex(json_string_value(field(c, "seed")));
        tkm_secret *master = NULL, *child = NULL, *viapath = NULL;
        json_int_t index = json_integer_value(field(c, "child_index"));
        assert_true(index >= 0 && index <= 0xffffffffLL);
        TU_ASSERT_OK(tkm_bls_derive_master_sk(&master, seed));
        assert_sk_dec(master, json_string_value(field(c, "master_SK")));
        TU_ASSERT_OK(tkm_bls_derive_child_sk(&child, master, (uint32_t)index));
        assert_sk_dec(child, json_string_value(field(c, "child_SK")));
        /* the same key through the path interface: m/<index> */
        char path[32];
        snprintf(path, sizeof path, "m/%lld", (long long)index);
        TU_ASSERT_OK(tkm_bls_derive_path(&viapath, seed, path, strlen(path)));
        assert_sk_dec(viapath, json_string_value(field(c, "child_SK")));
        tkm_secret_free(viapath);
        TU_ASSERT_OK(tkm_bls_derive_path(&viapath, seed, "m", 1));
        assert_sk_dec(viapath, json_string_value(field(c, "master_SK")));
        tkm_secret_free(viapath);
        tkm_secret_free(child);
        tkm_secret_free(master);
        tkm_secret_free(seed);
    }

    /* Intermediate values: compressed_lamport_PK = SHA256(SHA256(l0[0]) ‖ … ‖ SHA256(l1[254]))
     * (data consistency), and child_SK = HKDF_mod_r(compressed_lamport_PK), which is
     * derive_master_SK applied to it (EIP-2333 defines both through HKDF_mod_r). */
    json_t *im = field(v, "intermediate");
    json_t *l0 = field(im, "lamport_0"), *l1 = field(im, "lamport_1");
    assert_int_equal(json_array_size(l0), 255);
    assert_int_equal(json_array_size(l1), 255);
    uint8_t *cat = malloc(510 * 32);
    assert_non_null(cat);
    for (size_t i = 0; i < 510; i++) {
        uint8_t l[32];
        tu_hex_exact(l, 32, json_string_value(json_array_get(i < 255 ? l0 : l1, i % 255)));
        TU_ASSERT_OK(tkm_sha256(cat + 32 * i, l, 32));
    }
    uint8_t cpk[32], want_cpk[32];
    TU_ASSERT_OK(tkm_sha256(cpk, cat, 510 * 32));
    free(cat);
    tu_hex_exact(want_cpk, 32, json_string_value(field(im, "compressed_lamport_PK")));
    assert_memory_equal(cpk, want_cpk, 32);
    tkm_secret *cs, *k, *seed = secret_hex(json_string_value(field(im, "seed"))), *m, *c;
    TU_ASSERT_OK(tkm_secret_from(&cs, cpk, 32));
    TU_ASSERT_OK(tkm_bls_derive_master_sk(&k, cs));
    assert_sk_dec(k, json_string_value(field(im, "child_SK")));
    TU_ASSERT_OK(tkm_bls_derive_master_sk(&m, seed));
    assert_sk_dec(m, json_string_value(field(im, "master_SK")));
    TU_ASSERT_OK(tkm_bls_derive_child_sk(&c, m, (uint32_t)json_integer_value(field(im, "child_index"))));
    assert_true(tkm_secret_eq(c, k));
    tkm_secret_free(c);
    tkm_secret_free(m);
    tkm_secret_free(k);
    tkm_secret_free(cs);

    /* Test case 0's seed is the BIP-39 seed of the given mnemonic (PBKDF2-HMAC-SHA512, 2048). */
    json_t *b39 = field(v, "test0_bip39");
    const char *mn = json_string_value(field(b39, "mnemonic")), *pp = json_string_value(field(b39, "passphrase"));
    char salt[128];
    snprintf(salt, sizeof salt, "mnemonic%s", pp);
    uint8_t bseed[64];
    assert_int_equal(PKCS5_PBKDF2_HMAC(mn, (int)strlen(mn), (const unsigned char *)salt, (int)strlen(salt), 2048,
                                       EVP_sha512(), 64, bseed),
                     1);
    tkm_secret *s0 = secret_hex(json_string_value(field(json_array_get(cases, 0), "seed")));
    assert_int_equal(tkm_secret_len(s0), 64);
    assert_memory_equal(tkm_secret_ptr(s0), bseed, 64);
    tkm_secret_free(s0);
    tkm_secret_free(seed);
    json_decref(v);
}

/* ------------------------------------------------------------------ RFC 9380 */

static void fp2_from_vec(blst_fp2 *out, const char *s) {
    uint8_t b[96];
    fp2_be(b, s); /* c1 ‖ c0 */
    blst_fp_from_bendian(&out->fp[1], b);
    blst_fp_from_bendian(&out->fp[0], b + 48);
}

/* RFC 9380 §8.8.2: h_eff of BLS12-381 G2, big-endian hex. */
static const char h_eff_hex[] =
    "0bc69f08f2ee75b3584c6a0ea91b352888e2a8e9145ad7689986ff031508ffe1329c2f178731db956d82bf015d1212b02e"
    "c0ec69d7477c1ae954cbc06689f6a359894c0adebbf6b4e8020005aaa95551";

static void test_rfc9380_hash_to_g2(void **state) {
    (void)state;
    json_t *v = tu_load_vector("rfc9380/BLS12381G2_XMD-SHA-256_SSWU_RO_.json");
    const char *dst = json_string_value(field(v, "dst"));
    assert_string_equal(dst, QUUX_G2_DST);
    json_t *vecs = field(v, "vectors");
    assert_true(json_array_size(vecs) >= 5);
    /* h_eff as a little-endian scalar for blst_p2_mult */
    uint8_t heff_be[80], heff_le[80];
    tu_hex_exact(heff_be, sizeof heff_be, h_eff_hex);
    for (size_t i = 0; i < sizeof heff_be; i++) heff_le[i] = heff_be[sizeof heff_be - 1 - i];
    for (size_t i = 0; i < json_array_size(vecs); i++) {
        json_t *t = json_array_get(vecs, i);
        const char *msg = json_string_value(field(t, "msg"));
        uint8_t want[192], got[192];
        g2_affine_be(want, field(t, "P"));
        /* hash_to_curve through the teekm wrapper */
        TU_ASSERT_OK(tkm_bls_hash_to_g2(got, (const uint8_t *)msg, strlen(msg), (const uint8_t *)dst, strlen(dst)));
        assert_memory_equal(got, want, 192);
        /* map_to_curve(u0) + map_to_curve(u1), cofactor cleared, from the vector's u */
        json_t *u = field(t, "u");
        assert_int_equal(json_array_size(u), 2);
        blst_fp2 u0, u1;
        fp2_from_vec(&u0, json_string_value(json_array_get(u, 0)));
        fp2_from_vec(&u1, json_string_value(json_array_get(u, 1)));
        blst_p2 p;
        blst_p2_affine a;
        blst_map_to_g2(&p, &u0, &u1);
        blst_p2_to_affine(&a, &p);
        blst_p2_affine_serialize(got, &a);
        assert_memory_equal(got, want, 192);
        /* Q0, Q1 are on E2 and P = h_eff * (Q0 + Q1) */
        uint8_t q0b[192], q1b[192];
        g2_affine_be(q0b, field(t, "Q0"));
        g2_affine_be(q1b, field(t, "Q1"));
        blst_p2_affine q0, q1;
        assert_int_equal(blst_p2_deserialize(&q0, q0b), BLST_SUCCESS);
        assert_int_equal(blst_p2_deserialize(&q1, q1b), BLST_SUCCESS);
        blst_p2 sum, cleared;
        blst_p2_from_affine(&sum, &q0);
        blst_p2_add_or_double_affine(&sum, &sum, &q1);
        blst_p2_mult(&cleared, &sum, heff_le, 636);
        blst_p2_to_affine(&a, &cleared);
        blst_p2_affine_serialize(got, &a);
        assert_memory_equal(got, want, 192);
        assert_true(blst_p2_affine_in_g2(&a));
    }
    json_decref(v);
}

static void check_xmd_file(const char *rel) {
    json_t *v = tu_load_vector(rel);
    const char *dst = json_string_value(field(v, "DST"));
    size_t dlen = strlen(dst);
    assert_string_equal(json_string_value(field(v, "hash")), "SHA256");
    /* DST_prime (RFC 9380 §5.3.1, §5.3.3 for DSTs over 255 bytes) */
    uint8_t dprime[300];
    size_t dplen;
    if (dlen > 255) {
        uint8_t *cat = malloc(17 + dlen);
        memcpy(cat, "H2C-OVERSIZE-DST-", 17);
        memcpy(cat + 17, dst, dlen);
        TU_ASSERT_OK(tkm_sha256(dprime, cat, 17 + dlen));
        free(cat);
        dprime[32] = 32;
        dplen = 33;
    } else {
        memcpy(dprime, dst, dlen);
        dprime[dlen] = (uint8_t)dlen;
        dplen = dlen + 1;
    }
    json_t *tests = field(v, "tests");
    assert_true(json_array_size(tests) >= 5);
    for (size_t i = 0; i < json_array_size(tests); i++) {
        json_t *t = json_array_get(tests, i);
        const char *msg = json_string_value(field(t, "msg"));
        size_t mlen = strlen(msg), n, pn, un;
        const char *lens = json_string_value(field(t, "len_in_bytes"));
        unsigned long len = strtoul(lens, NULL, 16);
        assert_true(len >= 1 && len <= TKM_BLS_XMD_MAX_LEN);
        uint8_t *want_dp = hexv(field(t, "DST_prime"), &n);
        assert_int_equal(n, dplen);
        assert_memory_equal(want_dp, dprime, dplen);
        /* msg_prime = Z_pad ‖ msg ‖ I2OSP(len, 2) ‖ I2OSP(0, 1) ‖ DST_prime */
        uint8_t *want_mp = hexv(field(t, "msg_prime"), &pn);
        assert_int_equal(pn, 64 + mlen + 3 + dplen);
        static const uint8_t zpad[64];
        assert_memory_equal(want_mp, zpad, 64);
        assert_memory_equal(want_mp + 64, msg, mlen);
        assert_int_equal(want_mp[64 + mlen], (uint8_t)(len >> 8));
        assert_int_equal(want_mp[64 + mlen + 1], (uint8_t)len);
        assert_int_equal(want_mp[64 + mlen + 2], 0);
        assert_memory_equal(want_mp + 64 + mlen + 3, dprime, dplen);
        uint8_t *want = hexv(field(t, "uniform_bytes"), &un);
        assert_int_equal(un, len);
        uint8_t *got = malloc(len);
        TU_ASSERT_OK(tkm_bls_expand_message_xmd(got, len, (const uint8_t *)msg, mlen, (const uint8_t *)dst, dlen));
        assert_memory_equal(got, want, len);
        free(got);
        free(want);
        free(want_mp);
        free(want_dp);
    }
    json_decref(v);
}

static void test_rfc9380_expand_message_xmd(void **state) {
    (void)state;
    /* every expand_message_xmd file in the folder */
    DIR *d = opendir(tu_vector_path("rfc9380"));
    assert_non_null(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "expand_message_xmd_", 19) != 0 || !is_json(e->d_name)) continue;
        char rel[512];
        snprintf(rel, sizeof rel, "rfc9380/%s", e->d_name);
        check_xmd_file(rel);
        files++;
    }
    closedir(d);
    assert_int_equal(files, 2);
}

/* ------------------------------------------- independent oracles (EIP-2334) */

static void check_oracle_file(const char *rel) {
    json_t *v = tu_load_vector(rel);
    assert_string_equal(json_string_value(field(v, "dst")), TKM_BLS_DST);
    json_t *cases = field(v, "cases");
    assert_true(json_array_size(cases) > 0);
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        const char *path = json_string_value(field(c, "path"));
        tkm_secret *seed = secret_hex(json_string_value(field(c, "seed")));
        tkm_secret *want = secret_hex(json_string_value(field(c, "sk")));
        tkm_secret *sk = NULL;
        TU_ASSERT_OK(tkm_bls_derive_path(&sk, seed, path, strlen(path)));
        if (!tkm_secret_eq(sk, want)) fail_msg("%s: derived key differs from the oracle's", path);
        uint8_t pk[48], want_pk[48], sig[96], want_sig[96];
        size_t mlen;
        uint8_t *msg = hexv(field(c, "message"), &mlen);
        tu_hex_exact(want_pk, 48, json_string_value(field(c, "pubkey")));
        tu_hex_exact(want_sig, 96, json_string_value(field(c, "signature")));
        TU_ASSERT_OK(tkm_bls_sk_to_pk(pk, sk));
        assert_memory_equal(pk, want_pk, 48);
        TU_ASSERT_OK(tkm_bls_sign(sig, sk, msg, mlen));
        assert_memory_equal(sig, want_sig, 96);
        TU_ASSERT_OK(tkm_bls_verify(want_pk, msg, mlen, want_sig));
        free(msg);
        tkm_secret_free(sk);
        tkm_secret_free(want);
        tkm_secret_free(seed);
    }
    json_decref(v);
}

static void test_oracle_eip2334(void **state) {
    (void)state;
    DIR *d = opendir(tu_vector_path("bls-oracle"));
    assert_non_null(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL) {
        if (!is_json(e->d_name)) continue;
        char rel[512];
        snprintf(rel, sizeof rel, "bls-oracle/%s", e->d_name);
        check_oracle_file(rel);
        files++;
    }
    closedir(d);
    assert_true(files >= 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bls12_381_tests),
        cmocka_unit_test(test_eip2333),
        cmocka_unit_test(test_rfc9380_hash_to_g2),
        cmocka_unit_test(test_rfc9380_expand_message_xmd),
        cmocka_unit_test(test_oracle_eip2334),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
