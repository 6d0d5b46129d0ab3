/* teekm bench crypto — single-thread rates of the primitives, next to raw baselines. */
#include "bench.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"

typedef struct {
    secp256k1_context *raw;
    tkm_secret *sk;
    uint8_t skb[32];
    uint8_t digest[32];
    uint8_t sig[65];
    uint32_t counter;
} secp_bench;

/* Vary the digest every op so nothing can be cached. */
static void next_digest(secp_bench *b) {
    b->counter++;
    memcpy(b->digest, &b->counter, sizeof b->counter);
}

static int raw_sign(void *ctx) {
    secp_bench *b = ctx;
    secp256k1_ecdsa_recoverable_signature rs;
    unsigned char out[64];
    int recid;
    next_digest(b);
    if (!secp256k1_ecdsa_sign_recoverable(b->raw, &rs, b->digest, b->skb, NULL, NULL)) return -1;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(b->raw, out, &recid, &rs);
    return 0;
}

static int tkm_sign(void *ctx) {
    secp_bench *b = ctx;
    next_digest(b);
    return tkm_ok(tkm_secp_sign(b->sig, b->sk, b->digest)) ? 0 : -1;
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

int bench_crypto(const bench_opts *o) {
    secp_bench b = {0};
    bench_result raw, ours, r;
    int status = 0;
    if (tkm_failed(tkm_secp_init()) || tkm_failed(tkm_secp_keygen(&b.sk))) {
        fprintf(stderr, "bench crypto: key generation failed\n");
        return 1;
    }
    memcpy(b.skb, tkm_secret_ptr(b.sk), 32);
    b.raw = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    printf("teekm bench crypto (single thread, %.1f s per item)\n", o->seconds);
    if (bench_pair(o, raw_sign, &b, tkm_sign, &b, &raw, &ours) != 0) status = 1;
    bench_print_row("raw libsecp256k1 sign (baseline)", &raw);
    bench_print_ratio("secp256k1 sign (tkm_secp_sign)", &ours, "raw", &raw, 0.90);
    if (tkm_failed(tkm_secp_sign(b.sig, b.sk, b.digest)) || bench_one(o, tkm_recover, &b, &r) != 0) status = 1;
    bench_print_row("secp256k1 recover", &r);
    uint8_t kbuf[32] = {0};
    if (bench_one(o, keccak32, kbuf, &r) != 0) status = 1;
    bench_print_row("keccak-256 of 32 bytes", &r);
    secp256k1_context_destroy(b.raw);
    tkm_wipe(b.skb, sizeof b.skb);
    tkm_secret_free(b.sk);
    return status;
}
