/*
 * BLS wrapper behaviour beyond the official vectors (test_bls_vectors.c):
 * keygen and the entropy latch, secret-key range, EIP-2334 path syntax,
 * precise error codes and details, aggregation corner cases, batch
 * verification, misuse. Fixed keys and signatures come from the official
 * bls12-381-tests vectors.
 */
#include "testutil.h"

#include "crypto/crypto.h"

#include <stdlib.h>
#include <string.h>

/* bls12-381-tests v0.1.2: three keys, their public keys, and their signatures over 0xab*32. */
static const char *sk_hex[3] = {
    "263dbd792f5b1be47ed85f8938c0f29586af0d3ac7b977f21c278fe1462040e3",
    "47b8192d77bf871b62e87859d653922725724a5c031afeabc60bcef5ff665138",
    "328388aff0d4a5b7dc9205abd374e7e98f3cd9f3418edb4eafda5fb16473d216",
};
static const char *pk_hex[3] = {
    "a491d1b0ecd9bb917989f0e74f0dea0422eac4a873e5e2644f368dffb9a6e20fd6e10c1b77654d067c0618f6e5a7f79a",
    "b301803f8b5ac4a1133581fc676dfedc60d891dd5fa99028805e5ea5b08d3491af75d0707adab3b70c6a6a580217bf81",
    "b53d21a4cfd562c469cc81514d4ce5a6b577d8403d32a394dc265dd190b47fa9f829fdd7963afdf972e5e77854051f6f",
};
/* the group order r, big-endian */
static const char r_hex[] = "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001";
static const char inf_g2[] = "c0"
                             "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
                             "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
static const char inf_g1[] = "c00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

static const uint8_t msg_ab[32] = {
    0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
    0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
};

static tkm_secret *secret_hex(const char *hex) {
    size_t n;
    uint8_t *b = tu_hex(hex, &n);
    tkm_secret *s;
    TU_ASSERT_OK(tkm_secret_from(&s, b, n));
    tkm_wipe(b, n);
    free(b);
    return s;
}

static int failing_source(uint8_t *out, size_t n) {
    (void)out;
    (void)n;
    return -1;
}

static void test_keygen(void **state) {
    (void)state;
    tkm_secret *a = NULL, *b = NULL;
    TU_ASSERT_OK(tkm_bls_keygen(&a));
    TU_ASSERT_OK(tkm_bls_keygen(&b));
    TU_ASSERT_OK(tkm_bls_seckey_check(a));
    assert_int_equal(tkm_secret_len(a), TKM_BLS_SECKEY_LEN);
    assert_false(tkm_secret_eq(a, b));
    uint8_t pk[48], sig[96];
    TU_ASSERT_OK(tkm_bls_sk_to_pk(pk, a));
    TU_ASSERT_OK(tkm_bls_key_validate(pk, sizeof pk));
    TU_ASSERT_OK(tkm_bls_sign(sig, a, msg_ab, sizeof msg_ab));
    TU_ASSERT_OK(tkm_bls_verify(pk, msg_ab, sizeof msg_ab, sig));
    /* the other key's signature does not verify under this key */
    TU_ASSERT_OK(tkm_bls_sign(sig, b, msg_ab, sizeof msg_ab));
    TU_ASSERT_RC(tkm_bls_verify(pk, msg_ab, sizeof msg_ab, sig), TKM_ERR_BAD_SIGNATURE);
    tkm_secret_free(a);
    tkm_secret_free(b);
}

static void test_keygen_refused_without_entropy(void **state) {
    (void)state;
    tkm_entropy_set_source_for_testing(failing_source);
    tkm_secret *sk = (tkm_secret *)&sk; /* not NULL: keygen must clear it */
    TU_ASSERT_RC(tkm_bls_keygen(&sk), TKM_ERR_ENTROPY);
    assert_null(sk);
    /* batch verification draws its weights from the same source */
    tkm_secret *k = secret_hex(sk_hex[0]);
    uint8_t pk[48], sig[96];
    TU_ASSERT_OK(tkm_bls_sk_to_pk(pk, k));
    TU_ASSERT_OK(tkm_bls_sign(sig, k, msg_ab, sizeof msg_ab));
    tkm_bls_sig_set set = {pk, msg_ab, sizeof msg_ab, sig};
    TU_ASSERT_RC(tkm_bls_batch_verify(&set, 1), TKM_ERR_ENTROPY);
    tkm_secret_free(k);
    tkm_entropy_set_source_for_testing(NULL);
    TU_ASSERT_OK(tkm_entropy_init());
    TU_ASSERT_OK(tkm_bls_batch_verify(&set, 1));
}

static void test_seckey_range(void **state) {
    (void)state;
    uint8_t pk[48], sig[96];
    static const uint8_t zero48[48], zero96[96];
    /* r itself and r+1 are out of range; r-1 is the largest valid key */
    uint8_t b[32];
    tu_hex_exact(b, 32, r_hex);
    tkm_secret *s;
    TU_ASSERT_OK(tkm_secret_from(&s, b, 32));
    TU_ASSERT_RC(tkm_bls_seckey_check(s), TKM_ERR_BAD_KEY);
    memset(pk, 0xee, sizeof pk);
    TU_ASSERT_RC(tkm_bls_sk_to_pk(pk, s), TKM_ERR_BAD_KEY);
    assert_memory_equal(pk, zero48, 48);
    memset(sig, 0xee, sizeof sig);
    TU_ASSERT_RC(tkm_bls_sign(sig, s, msg_ab, 32), TKM_ERR_BAD_KEY);
    assert_memory_equal(sig, zero96, 96);
    tkm_secret *child = (tkm_secret *)&child;
    TU_ASSERT_RC(tkm_bls_derive_child_sk(&child, s, 0), TKM_ERR_BAD_KEY);
    assert_null(child);
    tkm_secret_free(s);
    b[31] = 0x02; /* r + 1 */
    TU_ASSERT_OK(tkm_secret_from(&s, b, 32));
    TU_ASSERT_RC(tkm_bls_seckey_check(s), TKM_ERR_BAD_KEY);
    tkm_secret_free(s);
    b[31] = 0x00; /* r - 1 */
    TU_ASSERT_OK(tkm_secret_from(&s, b, 32));
    TU_ASSERT_OK(tkm_bls_seckey_check(s));
    TU_ASSERT_OK(tkm_bls_sk_to_pk(pk, s));
    tkm_secret_free(s);
    /* 1 → the G1 generator (the pubkey of bls12-381-tests verifycase_one_privkey) */
    memset(b, 0, 32);
    b[31] = 1;
    TU_ASSERT_OK(tkm_secret_from(&s, b, 32));
    TU_ASSERT_OK(tkm_bls_sk_to_pk(pk, s));
    assert_string_equal(tu_tohex(pk, 48), "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb");
    tkm_secret_free(s);
    /* wrong lengths */
    TU_ASSERT_OK(tkm_secret_from(&s, b, 31));
    TU_ASSERT_RC(tkm_bls_seckey_check(s), TKM_ERR_BAD_KEY);
    TU_ASSERT_RC(tkm_bls_sign(sig, s, msg_ab, 32), TKM_ERR_BAD_KEY);
    tkm_secret_free(s);
    TU_ASSERT_OK(tkm_secret_from(&s, (const uint8_t *)"0123456789abcdef0123456789abcdef!", 33));
    TU_ASSERT_RC(tkm_bls_seckey_check(s), TKM_ERR_BAD_KEY);
    tkm_secret_free(s);
}

static void test_seed_too_short(void **state) {
    (void)state;
    uint8_t b[32] = {1};
    tkm_secret *seed, *sk = (tkm_secret *)&sk;
    TU_ASSERT_OK(tkm_secret_from(&seed, b, 31));
    TU_ASSERT_RC(tkm_bls_derive_master_sk(&sk, seed), TKM_ERR_BLS_SEED);
    assert_null(sk);
    sk = (tkm_secret *)&sk;
    TU_ASSERT_RC(tkm_bls_derive_path(&sk, seed, "m/12381/3600/0/0/0", 18), TKM_ERR_BLS_SEED);
    assert_null(sk);
    tkm_secret_free(seed);
    TU_ASSERT_OK(tkm_secret_from(&seed, b, 32));
    TU_ASSERT_OK(tkm_bls_derive_master_sk(&sk, seed));
    tkm_secret_free(sk);
    tkm_secret_free(seed);
}

static void test_path_parse(void **state) {
    (void)state;
    uint32_t idx[TKM_BLS_PATH_MAX_DEPTH];
    size_t depth;
    TU_ASSERT_OK(tkm_bls_path_parse(idx, &depth, "m/12381/3600/7/0/0", 18));
    assert_int_equal(depth, 5);
    assert_int_equal(idx[0], 12381);
    assert_int_equal(idx[1], 3600);
    assert_int_equal(idx[2], 7);
    assert_int_equal(idx[3], 0);
    assert_int_equal(idx[4], 0);
    TU_ASSERT_OK(tkm_bls_path_parse(idx, &depth, "m", 1));
    assert_int_equal(depth, 0);
    TU_ASSERT_OK(tkm_bls_path_parse(idx, &depth, "m/4294967295", 12));
    assert_int_equal(depth, 1);
    assert_int_equal(idx[0], 4294967295u);
    /* exactly TKM_BLS_PATH_MAX_DEPTH components */
    char deep[128] = "m";
    for (int i = 0; i < TKM_BLS_PATH_MAX_DEPTH; i++) strcat(deep, "/1");
    TU_ASSERT_OK(tkm_bls_path_parse(idx, &depth, deep, strlen(deep)));
    assert_int_equal(depth, TKM_BLS_PATH_MAX_DEPTH);
    strcat(deep, "/1");
    TU_ASSERT_RC(tkm_bls_path_parse(idx, &depth, deep, strlen(deep)), TKM_ERR_BLS_PATH);

    static const char *bad[] = {
        "", "M", "M/1", "n/1", "m1", "m/", "m//1", "m/1/", "m/01", "m/00", "m/4294967296",
        "m/99999999999999999999", "m/1'", "m/-1", "m/+1", "m/ 1", "m/1 ", "m\\1", "/1", "m/0x10", "mm/1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(idx, 0xee, sizeof idx);
        depth = 99;
        tkm_rc rc = tkm_bls_path_parse(idx, &depth, bad[i], strlen(bad[i]));
        if (rc.code != TKM_ERR_BLS_PATH) fail_msg("path \"%s\" gave %s", bad[i], tkm_err_name(rc.code));
        assert_int_equal(depth, 0);
        for (size_t k = 0; k < TKM_BLS_PATH_MAX_DEPTH; k++) assert_int_equal(idx[k], 0);
        assert_true(strlen(tkm_err_detail()) > 0);
    }
    /* an embedded NUL is not accepted as the end of the path */
    TU_ASSERT_RC(tkm_bls_path_parse(idx, &depth, "m/1\0/2", 6), TKM_ERR_BLS_PATH);
}

static void test_eip2334_paths(void **state) {
    (void)state;
    char p[TKM_BLS_EIP2334_PATH_LEN];
    tkm_bls_eip2334_signing_path(p, 0);
    assert_string_equal(p, "m/12381/3600/0/0/0");
    tkm_bls_eip2334_signing_path(p, 4294967295u);
    assert_string_equal(p, "m/12381/3600/4294967295/0/0");
    tkm_bls_eip2334_withdrawal_path(p, 12);
    assert_string_equal(p, "m/12381/3600/12/0");

    /* derive_path walks derive_child_SK along the path (each step is checked
     * against the EIP-2333 vectors in test_bls_vectors.c) */
    tkm_secret *seed = secret_hex("c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04");
    tkm_secret *viapath, *k, *next;
    tkm_bls_eip2334_signing_path(p, 3);
    TU_ASSERT_OK(tkm_bls_derive_path(&viapath, seed, p, strlen(p)));
    TU_ASSERT_OK(tkm_bls_derive_master_sk(&k, seed));
    static const uint32_t steps[] = {12381, 3600, 3, 0, 0};
    for (size_t i = 0; i < 5; i++) {
        TU_ASSERT_OK(tkm_bls_derive_child_sk(&next, k, steps[i]));
        tkm_secret_free(k);
        k = next;
    }
    assert_true(tkm_secret_eq(viapath, k));
    tkm_secret_free(k);
    tkm_secret_free(viapath);
    viapath = (tkm_secret *)&viapath;
    TU_ASSERT_RC(tkm_bls_derive_path(&viapath, seed, "m/12381/3600/3/0/0/", 19), TKM_ERR_BLS_PATH);
    assert_null(viapath);
    tkm_secret_free(seed);
}

static void load_pks(uint8_t pks[][48], size_t n) {
    for (size_t i = 0; i < n; i++) tu_hex_exact(pks[i], 48, pk_hex[i]);
}

static void sign_hex(uint8_t sig[96], const char *skh, const uint8_t *msg, size_t len) {
    tkm_secret *k = secret_hex(skh);
    TU_ASSERT_OK(tkm_bls_sign(sig, k, msg, len));
    tkm_secret_free(k);
}

static void test_sk_to_pk_matches_vectors(void **state) {
    (void)state;
    uint8_t pk[48], want[48];
    for (int i = 0; i < 3; i++) {
        tkm_secret *k = secret_hex(sk_hex[i]);
        TU_ASSERT_OK(tkm_bls_sk_to_pk(pk, k));
        tu_hex_exact(want, 48, pk_hex[i]);
        assert_memory_equal(pk, want, 48);
        tkm_secret_free(k);
    }
}

static void test_error_details(void **state) {
    (void)state;
    uint8_t pks[3][48], out[48], sig[96];
    load_pks(pks, 3);
    tu_hex_exact(pks[1], 48, inf_g1);
    tkm_err_detail_clear();
    TU_ASSERT_RC(tkm_bls_aggregate_pubkeys(out, (const uint8_t(*)[48])pks, 3), TKM_ERR_BLS_INFINITY);
    assert_non_null(strstr(tkm_err_detail(), "pubkeys[1]"));
    static const uint8_t zero48[48];
    assert_memory_equal(out, zero48, 48);
    /* a pubkey with the compression bit cleared: encoding error naming "pubkey" */
    load_pks(pks, 1);
    sign_hex(sig, sk_hex[0], msg_ab, 32);
    TU_ASSERT_OK(tkm_bls_verify(pks[0], msg_ab, 32, sig));
    pks[0][0] &= 0x7f;
    TU_ASSERT_RC(tkm_bls_verify(pks[0], msg_ab, 32, sig), TKM_ERR_BLS_ENCODING);
    assert_non_null(strstr(tkm_err_detail(), "pubkey"));
    /* a signature whose x is not on the curve: flip the last byte until it fails to decode */
    load_pks(pks, 1);
    uint8_t bad[96];
    memcpy(bad, sig, 96);
    tkm_rc rc;
    int tries = 0;
    do {
        bad[95]++;
        rc = tkm_bls_verify(pks[0], msg_ab, 32, bad);
        tries++;
    } while (rc.code == TKM_ERR_BAD_SIGNATURE && tries < 64);
    assert_true(rc.code == TKM_ERR_BLS_NOT_ON_CURVE || rc.code == TKM_ERR_BLS_SUBGROUP);
    assert_non_null(strstr(tkm_err_detail(), "signature"));
}

static void test_key_validate_lengths(void **state) {
    (void)state;
    uint8_t pk[49];
    tu_hex_exact(pk, 48, pk_hex[0]);
    pk[48] = 0;
    TU_ASSERT_OK(tkm_bls_key_validate(pk, 48));
    TU_ASSERT_RC(tkm_bls_key_validate(pk, 47), TKM_ERR_BLS_ENCODING);
    TU_ASSERT_RC(tkm_bls_key_validate(pk, 49), TKM_ERR_BLS_ENCODING);
    TU_ASSERT_RC(tkm_bls_key_validate(NULL, 0), TKM_ERR_BLS_ENCODING);
    TU_ASSERT_RC(tkm_bls_g1_check(NULL, 0), TKM_ERR_BLS_ENCODING);
    TU_ASSERT_RC(tkm_bls_g2_check(NULL, 0), TKM_ERR_BLS_ENCODING);
    /* every truncation of a valid signature fails cleanly */
    uint8_t sig[96];
    sign_hex(sig, sk_hex[0], msg_ab, 32);
    TU_ASSERT_OK(tkm_bls_g2_check(sig, 96));
    for (size_t n = 0; n < 96; n++) TU_ASSERT_RC(tkm_bls_g2_check(sig, n), TKM_ERR_BLS_ENCODING);
    for (size_t n = 0; n < 48; n++) TU_ASSERT_RC(tkm_bls_key_validate(pk, n), TKM_ERR_BLS_ENCODING);
}

static void test_empty_message(void **state) {
    (void)state;
    uint8_t pk[48], sig[96];
    tkm_secret *k = secret_hex(sk_hex[2]);
    TU_ASSERT_OK(tkm_bls_sk_to_pk(pk, k));
    TU_ASSERT_OK(tkm_bls_sign(sig, k, NULL, 0));
    TU_ASSERT_OK(tkm_bls_verify(pk, NULL, 0, sig));
    TU_ASSERT_OK(tkm_bls_verify(pk, (const uint8_t *)"", 0, sig));
    TU_ASSERT_RC(tkm_bls_verify(pk, msg_ab, 1, sig), TKM_ERR_BAD_SIGNATURE);
    tkm_secret_free(k);
}

static void test_aggregation(void **state) {
    (void)state;
    uint8_t pks[3][48], sigs[4][96], agg[96], aggpk[48];
    load_pks(pks, 3);
    for (int i = 0; i < 3; i++) sign_hex(sigs[i], sk_hex[i], msg_ab, 32);
    /* adding the point at infinity changes nothing */
    tu_hex_exact(sigs[3], 96, inf_g2);
    uint8_t pair[2][96];
    memcpy(pair[0], sigs[0], 96);
    memcpy(pair[1], sigs[3], 96);
    TU_ASSERT_OK(tkm_bls_aggregate_sigs(agg, (const uint8_t(*)[96])pair, 2));
    assert_memory_equal(agg, sigs[0], 96);
    /* the aggregate of three signers over one message; also via the aggregate key */
    TU_ASSERT_OK(tkm_bls_aggregate_sigs(agg, (const uint8_t(*)[96])sigs, 3));
    TU_ASSERT_OK(tkm_bls_fast_aggregate_verify((const uint8_t(*)[48])pks, 3, msg_ab, 32, agg));
    TU_ASSERT_OK(tkm_bls_aggregate_pubkeys(aggpk, (const uint8_t(*)[48])pks, 3));
    TU_ASSERT_OK(tkm_bls_verify(aggpk, msg_ab, 32, agg));
    /* fewer signers than signatures: refused */
    TU_ASSERT_RC(tkm_bls_fast_aggregate_verify((const uint8_t(*)[48])pks, 2, msg_ab, 32, agg), TKM_ERR_BAD_SIGNATURE);
    uint8_t none[96], nonepk[48];
    TU_ASSERT_RC(tkm_bls_aggregate_sigs(none, NULL, 0), TKM_ERR_BLS_EMPTY);
    TU_ASSERT_RC(tkm_bls_aggregate_pubkeys(nonepk, NULL, 0), TKM_ERR_BLS_EMPTY);

    /* AggregateVerify with a repeated message: valid under POP, refused on request */
    tkm_iov msgs[3] = {{msg_ab, 32}, {msg_ab, 32}, {msg_ab, 32}};
    TU_ASSERT_OK(tkm_bls_aggregate_verify((const uint8_t(*)[48])pks, msgs, 3, agg, 0));
    TU_ASSERT_RC(tkm_bls_aggregate_verify((const uint8_t(*)[48])pks, msgs, 3, agg, TKM_BLS_REQUIRE_DISTINCT_MSGS),
                 TKM_ERR_BLS_DUPLICATE_MSG);
    assert_non_null(strstr(tkm_err_detail(), "messages[1]"));
    /* two empty messages are the same message */
    uint8_t e2[2][96];
    sign_hex(e2[0], sk_hex[0], NULL, 0);
    sign_hex(e2[1], sk_hex[1], NULL, 0);
    TU_ASSERT_OK(tkm_bls_aggregate_sigs(agg, (const uint8_t(*)[96])e2, 2));
    tkm_iov empty[2] = {{NULL, 0}, {"", 0}};
    TU_ASSERT_OK(tkm_bls_aggregate_verify((const uint8_t(*)[48])pks, empty, 2, agg, 0));
    TU_ASSERT_RC(tkm_bls_aggregate_verify((const uint8_t(*)[48])pks, empty, 2, agg, TKM_BLS_REQUIRE_DISTINCT_MSGS),
                 TKM_ERR_BLS_DUPLICATE_MSG);
    /* n = 0 */
    TU_ASSERT_RC(tkm_bls_aggregate_verify(NULL, NULL, 0, agg, 0), TKM_ERR_BLS_EMPTY);
}

static void test_batch_verify(void **state) {
    (void)state;
    uint8_t pks[3][48], sigs[3][96];
    static const uint8_t m[3][4] = {"one", "two", "six"};
    load_pks(pks, 3);
    tkm_bls_sig_set sets[3];
    for (int i = 0; i < 3; i++) {
        sign_hex(sigs[i], sk_hex[i], m[i], 3);
        sets[i] = (tkm_bls_sig_set){pks[i], m[i], 3, sigs[i]};
    }
    TU_ASSERT_OK(tkm_bls_batch_verify(sets, 3));
    /* swapping two valid signatures leaves their sum unchanged, so an unweighted
     * check (one pairing product against the summed signature) would pass: the
     * random weights are what rejects it */
    sets[0].sig = sigs[1];
    sets[1].sig = sigs[0];
    TU_ASSERT_RC(tkm_bls_batch_verify(sets, 3), TKM_ERR_BAD_SIGNATURE);
    /* a signature over another message */
    sets[0].sig = sigs[0];
    sets[1].sig = sigs[1];
    sets[2].msg = m[0];
    TU_ASSERT_RC(tkm_bls_batch_verify(sets, 3), TKM_ERR_BAD_SIGNATURE);
    TU_ASSERT_RC(tkm_bls_batch_verify(NULL, 0), TKM_ERR_BLS_EMPTY);
}

static void test_misuse(void **state) {
    (void)state;
    uint8_t out[TKM_BLS_XMD_MAX_LEN + 1], g2[192], sig[96], pk[48];
    TU_CHECK_ILLEGAL(tkm_bls_expand_message_xmd(out, 0, NULL, 0, (const uint8_t *)"D", 1));
    TU_CHECK_ILLEGAL(tkm_bls_expand_message_xmd(out, TKM_BLS_XMD_MAX_LEN + 1, NULL, 0, (const uint8_t *)"D", 1));
    TU_CHECK_ILLEGAL(tkm_bls_expand_message_xmd(out, 32, NULL, 0, (const uint8_t *)"D", 0));
    TU_CHECK_ILLEGAL(tkm_bls_expand_message_xmd(out, 32, NULL, 5, (const uint8_t *)"D", 1));
    TU_ASSERT_OK(tkm_bls_expand_message_xmd(out, TKM_BLS_XMD_MAX_LEN, NULL, 0, (const uint8_t *)"D", 1));
    TU_ASSERT_OK(tkm_bls_expand_message_xmd(out, 1, NULL, 0, (const uint8_t *)"D", 1));
    TU_CHECK_ILLEGAL(tkm_bls_hash_to_g2(g2, NULL, 0, (const uint8_t *)"D", 0));
    TU_CHECK_ILLEGAL(tkm_bls_hash_to_g2(g2, NULL, 3, (const uint8_t *)"D", 1));
    tkm_secret *k = secret_hex(sk_hex[0]);
    TU_CHECK_ILLEGAL(tkm_bls_sign(sig, k, NULL, 1));
    TU_ASSERT_OK(tkm_bls_sk_to_pk(pk, k));
    TU_ASSERT_OK(tkm_bls_sign(sig, k, msg_ab, 32));
    tkm_secret_free(k);
    TU_CHECK_ILLEGAL(tkm_bls_verify(pk, NULL, 2, sig));
    TU_CHECK_ILLEGAL(tkm_bls_aggregate_sigs(sig, NULL, 2));
    TU_CHECK_ILLEGAL(tkm_bls_fast_aggregate_verify(NULL, 1, msg_ab, 32, sig));
    uint8_t pks[1][48];
    memcpy(pks[0], pk, 48);
    tkm_iov msgs[1] = {{msg_ab, 32}};
    TU_CHECK_ILLEGAL(tkm_bls_aggregate_verify((const uint8_t(*)[48])pks, msgs, 1, sig, 4));
    TU_CHECK_ILLEGAL(tkm_bls_aggregate_verify((const uint8_t(*)[48])pks, NULL, 1, sig, 0));
    tkm_bls_sig_set set = {pk, NULL, 3, sig};
    TU_CHECK_ILLEGAL(tkm_bls_batch_verify(&set, 1));
    TU_CHECK_ILLEGAL(tkm_bls_key_validate(NULL, 48));
    uint32_t idx[TKM_BLS_PATH_MAX_DEPTH];
    size_t depth;
    TU_CHECK_ILLEGAL(tkm_bls_path_parse(idx, &depth, NULL, 3));
    tkm_misuse_set_handler(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_keygen_refused_without_entropy),
        cmocka_unit_test(test_seckey_range),
        cmocka_unit_test(test_seed_too_short),
        cmocka_unit_test(test_path_parse),
        cmocka_unit_test(test_eip2334_paths),
        cmocka_unit_test(test_sk_to_pk_matches_vectors),
        cmocka_unit_test(test_error_details),
        cmocka_unit_test(test_key_validate_lengths),
        cmocka_unit_test(test_empty_message),
        cmocka_unit_test(test_aggregation),
        cmocka_unit_test(test_batch_verify),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
