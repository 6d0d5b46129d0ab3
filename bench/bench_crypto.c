/* teekm bench crypto — single-thread rates of the primitives, next to raw baselines. */
#include "bench.h"

#include <blst.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"

typedef struct {
    tkm_secret *sk;
    uint8_t pub[65];
    uint8_t digest[32];
    uint8_t sig[65];
    uint32_t counter;
} secp_bench;

/* Vary the digest every op so nothing can be cached. */
static void next_digest(secp_bench *b) {
    b->counter++;
    memcpy(b->digest, &b->counter, sizeof b->counter);
}

static int tkm_sign(void *ctx) {
    secp_bench *b = ctx;
    next_digest(b);
    return tkm_ok(tkm_secp_sign(b->sig, b->sk, b->digest)) ? 0 : -1;
}

static int tkm_sign_hedged(void *ctx) {
    secp_bench *b = ctx;
    next_digest(b);
    return tkm_ok(tkm_secp_sign_hedged(b->sig, b->sk, b->digest)) ? 0 : -1;
}

static int tkm_sign_checked(void *ctx) {
    secp_bench *b = ctx;
    next_digest(b);
    return tkm_ok(tkm_secp_sign_checked(b->sig, b->sk, b->pub, b->digest)) ? 0 : -1;
}

static int tkm_recover(void *ctx) {
    secp_bench *b = ctx;
    uint8_t pub[65];
    return tkm_ok(tkm_secp_recover(pub, b->digest, b->sig, TKM_SECP_REQUIRE_LOW_S)) ? 0 : -1;
}

static int keccak32(void *ctx) {
    uint8_t *buf = ctx;
    tkm_keccak256(buf, buf, 32);
    return 0;
}

/* ---- BLS12-381: teekm wrapper vs. raw blst doing the same work ---- */

typedef struct {
    tkm_secret *sk;
    blst_scalar raw_sk;
    uint8_t pk[TKM_BLS_PUBKEY_LEN];
    uint8_t msg[32];
    uint8_t sig[TKM_BLS_SIG_LEN];
    uint32_t counter;
} bls_bench;

static const uint8_t bls_dst[] = TKM_BLS_DST;

static void bls_next_msg(bls_bench *b) {
    b->counter++;
    memcpy(b->msg, &b->counter, sizeof b->counter);
}

/* hash_to_G2, multiply, compress: what Sign is. */
static int raw_bls_sign(void *ctx) {
    bls_bench *b = ctx;
    blst_p2 h, s;
    uint8_t out[96];
    bls_next_msg(b);
    blst_hash_to_g2(&h, b->msg, sizeof b->msg, bls_dst, sizeof bls_dst - 1, NULL, 0);
    blst_sign_pk_in_g1(&s, &h, &b->raw_sk);
    blst_p2_compress(out, &s);
    return 0;
}

static int tkm_bls_sign_op(void *ctx) {
    bls_bench *b = ctx;
    bls_next_msg(b);
    return tkm_ok(tkm_bls_sign(b->sig, b->sk, b->msg, sizeof b->msg)) ? 0 : -1;
}

/* Verify from wire bytes with the checks the spec requires: decompress both
 * points, subgroup-check both, reject an infinite key, then CoreVerify. */
static int raw_bls_verify(void *ctx) {
    bls_bench *b = ctx;
    blst_p1_affine pk;
    blst_p2_affine sig;
    if (blst_p1_uncompress(&pk, b->pk) != BLST_SUCCESS || !blst_p1_affine_in_g1(&pk) ||
        blst_p1_affine_is_inf(&pk))
        return -1;
    if (blst_p2_uncompress(&sig, b->sig) != BLST_SUCCESS || !blst_p2_affine_in_g2(&sig)) return -1;
    return blst_core_verify_pk_in_g1(&pk, &sig, 1, b->msg, sizeof b->msg, bls_dst, sizeof bls_dst - 1, NULL, 0) ==
                   BLST_SUCCESS
               ? 0
               : -1;
}

static int tkm_bls_verify_op(void *ctx) {
    bls_bench *b = ctx;
    return tkm_ok(tkm_bls_verify(b->pk, b->msg, sizeof b->msg, b->sig)) ? 0 : -1;
}

static int bench_bls(const bench_opts *o) {
    bls_bench b = {0};
    bench_result raw, ours;
    int status = 0;
    if (tkm_failed(tkm_bls_keygen(&b.sk)) || tkm_failed(tkm_bls_sk_to_pk(b.pk, b.sk))) {
        fprintf(stderr, "bench crypto: BLS key generation failed\n");
        return 1;
    }
    blst_scalar_from_bendian(&b.raw_sk, tkm_secret_ptr(b.sk));
    if (bench_pair(o, raw_bls_sign, &b, tkm_bls_sign_op, &b, &raw, &ours) != 0) status = 1;
    bench_print_row("raw blst sign (baseline)", &raw);
    bench_print_ratio("BLS sign (tkm_bls_sign)", &ours, "raw", &raw, 0.90);
    /* verify one fixed (message, signature) pair: a valid signature every time */
    if (tkm_failed(tkm_bls_sign(b.sig, b.sk, b.msg, sizeof b.msg))) status = 1;
    if (bench_pair(o, raw_bls_verify, &b, tkm_bls_verify_op, &b, &raw, &ours) != 0) status = 1;
    bench_print_row("raw blst verify + checks (baseline)", &raw);
    bench_print_ratio("BLS verify (tkm_bls_verify)", &ours, "raw", &raw, 0.90);
    tkm_wipe(&b.raw_sk, sizeof b.raw_sk);
    tkm_secret_free(b.sk);
    return status;
}

typedef struct {
    uint8_t pkR[32];
    uint8_t pt[32];
    uint8_t enc[32];
    uint8_t ct[32 + 16];
} hpke_bench;

static int hpke_seal32(void *ctx) {
    hpke_bench *h = ctx;
    return tkm_ok(tkm_hpke_seal(h->enc, h->ct, sizeof h->ct, h->pkR, NULL, 0, NULL, 0, h->pt, sizeof h->pt)) ? 0 : -1;
}

/*
 * Raw baseline for HPKE seal: the two X25519 operations every DHKEM encap
 * needs (ephemeral public key, DH with pkR) straight through OpenSSL EVP,
 * with no KDF, no AEAD and no entropy health layer.
 */
typedef struct {
    EVP_PKEY *peer;
    uint8_t sk[32];
    uint8_t out[32];
} x25519_raw;

static int raw_x25519_encap(void *ctx) {
    x25519_raw *x = ctx;
    size_t n = 32;
    x->sk[0]++; /* a different ephemeral key each time */
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, x->sk, 32);
    EVP_PKEY_CTX *c = k ? EVP_PKEY_CTX_new(k, NULL) : NULL;
    int ok = c && EVP_PKEY_get_raw_public_key(k, x->out, &n) == 1 && EVP_PKEY_derive_init(c) == 1 &&
             EVP_PKEY_derive_set_peer(c, x->peer) == 1 && (n = 32, EVP_PKEY_derive(c, x->out, &n) == 1);
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

int bench_crypto(const bench_opts *o) {
    secp_bench b = {0};
    bench_raw_secp *rs = NULL;
    bench_result raw, ours, r;
    int status = 0;
    if (tkm_failed(tkm_secp_init()) || tkm_failed(tkm_secp_keygen(&b.sk)) || tkm_failed(tkm_secp_pubkey(b.pub, b.sk)) ||
        bench_raw_secp_new(&rs, b.sk) != 0) {
        fprintf(stderr, "bench crypto: key generation failed\n");
        tkm_secret_free(b.sk);
        return 1;
    }
    printf("teekm bench crypto (single thread, %.1f s per item)\n", o->seconds);
    if (bench_pair(o, bench_raw_secp_sign, rs, tkm_sign, &b, &raw, &ours) != 0) status = 1;
    bench_print_row("raw libsecp256k1 sign (baseline)", &raw);
    bench_print_ratio("secp256k1 sign (tkm_secp_sign)", &ours, "raw", &raw, 0.90);
    if (tkm_failed(tkm_secp_sign(b.sig, b.sk, b.digest)) || bench_one(o, tkm_recover, &b, &r) != 0) status = 1;
    bench_print_row("secp256k1 recover", &r);
    /* what the service signs requests with: a hedged nonce (docs/teekmd.md "Signing faults") */
    if (bench_pair(o, bench_raw_secp_sign, rs, tkm_sign_hedged, &b, &raw, &ours) != 0) status = 1;
    bench_print_ratio("secp256k1 sign, hedged nonce", &ours, "raw sign", &raw, 0.90);
    /* what the audit and EAS keys sign with: sign, then check the signature recovers to the key */
    if (bench_pair(o, bench_raw_secp_sign, rs, tkm_sign_checked, &b, &raw, &ours) != 0) status = 1;
    bench_print_ratio("secp256k1 sign + recover self-check", &ours, "raw sign", &raw, 0);
    uint8_t kbuf[32] = {0};
    if (bench_one(o, keccak32, kbuf, &r) != 0) status = 1;
    bench_print_row("keccak-256 of 32 bytes", &r);
    if (bench_bls(o) != 0) status = 1;
    hpke_bench h = {0};
    tkm_secret *hsk = NULL;
    x25519_raw xr = {0};
    bench_result xbase;
    memset(xr.sk, 0x5a, sizeof xr.sk);
    if (tkm_failed(tkm_hpke_keygen(&hsk, h.pkR)) ||
        !(xr.peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, h.pkR, 32)) ||
        bench_pair(o, raw_x25519_encap, &xr, hpke_seal32, &h, &xbase, &r) != 0)
        status = 1;
    bench_print_row("raw OpenSSL X25519 keygen+DH (baseline)", &xbase);
    bench_print_ratio("HPKE seal of 32 bytes", &r, "raw", &xbase, 0);
    EVP_PKEY_free(xr.peer);
    tkm_wipe(xr.sk, sizeof xr.sk);
    tkm_secret_free(hsk);
    bench_raw_secp_free(rs);
    tkm_secret_free(b.sk);
    return status;
}
