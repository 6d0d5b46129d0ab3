/*
 * Constant-time check, in the spirit of libsecp256k1's src/ctime_tests.c:
 * secrets are marked undefined for valgrind's memcheck
 * (VALGRIND_MAKE_MEM_UNDEFINED), then the code under test runs. Any branch or
 * memory index that depends on them is reported by memcheck as a use of
 * uninitialised data, and valgrind's --error-exitcode fails the test.
 * Deliberate revelations go through tkm_declassify (see tkm_secret.h); this
 * program installs the hook that turns them into VALGRIND_MAKE_MEM_DEFINED.
 *
 * Run only under valgrind (ctest does: tests/ct/run_ct.sh); on its own it
 * refuses to run, because then it would check nothing.
 *
 * Covered: hex encode/decode of secret bytes, tkm_ct_eq, AES-256-GCM seal,
 * HPKE DeriveKeyPair + seal (ephemeral key secret) and the recipient's
 * decap + key schedule (recipient key secret), PBKDF2, and secp256k1 signing
 * through tkm_secp_sign. Not covered: the AEAD tag check of an open (OpenSSL
 * branches on its CRYPTO_memcmp result, which reveals only "tag ok").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/memcheck.h>

#include "core/core.h"
#include "crypto/crypto.h"

#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

static void declassify(const void *p, size_t n) { PUBLIC(p, n); }

static int failures;
static void expect_ok(tkm_rc rc, const char *what) {
    PUBLIC(&rc, sizeof rc);
    if (tkm_failed(rc)) {
        fprintf(stderr, "ct_check: %s failed: %s\n", what, tkm_err_name(rc.code));
        failures++;
    }
}

static void check_hex(const uint8_t key[32]) {
    char enc[TKM_HEX_ENC_LEN(32, 1)];
    uint8_t back[32];
    /* encode secret bytes */
    expect_ok(tkm_hex_encode(enc, sizeof enc, key, 32, 1), "hex encode");
    /* decode secret digits (the string itself is the secret) */
    SECRET(enc + 2, 64);
    expect_ok(tkm_hex_decode_exact(back, 32, enc, sizeof enc - 1, TKM_HEX_0X_REQUIRED), "hex decode");
    PUBLIC(back, 32);
    PUBLIC(enc, sizeof enc);
}

static void check_ct_eq(const uint8_t key[32]) {
    uint8_t other[32];
    memcpy(other, key, 32);
    int eq = tkm_ct_eq(key, other, 32);
    PUBLIC(&eq, sizeof eq);
    if (!eq) failures++;
}

static void check_aead(const uint8_t key[32]) {
    uint8_t nonce[12] = {1, 2, 3}, pt[64], out[64 + 16];
    memset(pt, 0x42, sizeof pt);
    SECRET(pt, sizeof pt);
    expect_ok(tkm_aead_seal(out, sizeof out, key, nonce, (const uint8_t *)"aad", 3, pt, sizeof pt), "aead seal");
}

static void check_hpke(void) {
    uint8_t ikmR[32], ikmE[32], pkR[32], enc[32], pt[32], ct[48];
    tkm_secret *skR = NULL;
    memset(ikmR, 0x11, sizeof ikmR);
    memset(ikmE, 0x22, sizeof ikmE);
    memset(pt, 0x33, sizeof pt);
    /* recipient key derivation from a secret seed */
    SECRET(ikmR, sizeof ikmR);
    expect_ok(tkm_hpke_derive_keypair(&skR, pkR, ikmR, sizeof ikmR), "hpke derive_keypair");
    if (!skR) return;
    PUBLIC(pkR, sizeof pkR); /* a public key is public */
    /* sender: secret ephemeral seed and secret plaintext */
    SECRET(ikmE, sizeof ikmE);
    SECRET(pt, sizeof pt);
    expect_ok(tkm_hpke_seal_derand(enc, ct, sizeof ct, pkR, ikmE, sizeof ikmE, NULL, 0, NULL, 0, pt, sizeof pt),
              "hpke seal");
    PUBLIC(enc, sizeof enc);
    PUBLIC(ct, sizeof ct);
    /* recipient: decap and key schedule with a secret private key */
    SECRET(tkm_secret_mut(skR), 32);
    tkm_hpke_schedule ks;
    expect_ok(tkm_hpke_schedule_for_testing(&ks, skR, enc, (const uint8_t *)"info", 4), "hpke decap+schedule");
    tkm_wipe(&ks, sizeof ks);
    tkm_secret_free(skR);
}

static void check_pbkdf2(void) {
    uint8_t pw[16];
    tkm_secret *dk = NULL;
    memset(pw, 'p', sizeof pw);
    SECRET(pw, sizeof pw);
    expect_ok(tkm_pbkdf2_sha256(&dk, 32, pw, sizeof pw, (const uint8_t *)"salt", 4, 3), "pbkdf2");
    tkm_secret_free(dk);
}

static void check_secp(const uint8_t key[32]) {
    tkm_secret *sk = NULL;
    uint8_t digest[32], sig[65];
    memset(digest, 0x5c, sizeof digest);
    expect_ok(tkm_secp_init(), "secp init");
    expect_ok(tkm_secret_from(&sk, key, 32), "secret");
    if (!sk) return;
    SECRET(tkm_secret_mut(sk), 32);
    expect_ok(tkm_secp_sign(sig, sk, digest), "secp sign");
    tkm_secret_free(sk);
}

int main(void) {
    if (!RUNNING_ON_VALGRIND) {
        fprintf(stderr, "ct_check: must run under valgrind (it checks nothing otherwise)\n");
        return 1;
    }
    tkm_declassify_set_hook_for_testing(declassify);
    if (tkm_failed(tkm_secure_init(0, 1)) || tkm_failed(tkm_entropy_init())) {
        fprintf(stderr, "ct_check: setup failed\n");
        return 1;
    }
    uint8_t key[32];
    for (int i = 0; i < 32; i++) key[i] = (uint8_t)(0x80 + 3 * i);
    SECRET(key, sizeof key);
    check_hex(key);
    check_ct_eq(key);
    check_aead(key);
    check_hpke();
    check_pbkdf2();
    check_secp(key);
    PUBLIC(key, sizeof key);
    if (failures) {
        fprintf(stderr, "ct_check: %d functional failures\n", failures);
        return 1;
    }
    printf("ct_check: done (valgrind decides: any 'uninitialised value' report above is a secret-dependent branch or index)\n");
    return 0;
}
