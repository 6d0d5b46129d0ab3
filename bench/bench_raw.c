/* see bench.h — the raw libsecp256k1 signing baseline shared by the signing suites. */
#include "bench.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

struct bench_raw_secp {
    secp256k1_context *ctx;
    uint8_t sk[32]; /* a copy of the benchmark key (throwaway, wiped at free) */
    uint8_t digest[32];
    uint32_t counter;
};

int bench_raw_secp_new(bench_raw_secp **out, const tkm_secret *sk) {
    *out = NULL;
    if (tkm_secret_len(sk) != 32) return -1;
    bench_raw_secp *r = calloc(1, sizeof *r);
    if (!r) return -1;
    r->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!r->ctx) {
        free(r);
        return -1;
    }
    memcpy(r->sk, tkm_secret_ptr(sk), 32);
    *out = r;
    return 0;
}

void bench_raw_secp_free(bench_raw_secp *r) {
    if (!r) return;
    secp256k1_context_destroy(r->ctx);
    tkm_wipe(r, sizeof *r);
    free(r);
}

int bench_raw_secp_sign(void *ctx) {
    bench_raw_secp *r = ctx;
    secp256k1_ecdsa_recoverable_signature rs;
    unsigned char out[64];
    int recid;
    r->counter++; /* vary the digest every op so nothing can be cached */
    memcpy(r->digest, &r->counter, sizeof r->counter);
    if (!secp256k1_ecdsa_sign_recoverable(r->ctx, &rs, r->digest, r->sk, NULL, NULL)) return -1;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(r->ctx, out, &recid, &rs);
    return 0;
}
