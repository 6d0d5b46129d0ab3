/* libFuzzer: bytes → SNP collateral (VCEK + AMD CRL, DER or PEM) → the snp.crl check against the built-in Milan ARK/ASK. */
#include <stdint.h>

#include "attest/attest.h"
#include "attest/attest_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static tkm_attest_ctx *ctx; /* built once, reachable until exit */
    tkm_collateral *c = NULL;
    char d[TKM_CHECK_DETAIL_LEN];
    int revoked;
    if (tkm_ok(tkm_snp_collateral_parse(&c, data, size)) && c->snp.crl && (ctx || tkm_ok(tkm_attest_ctx_new(&ctx)))) {
        (void)attest_snp_crl_eval(c->snp.crl, ctx->amd[0].ark, ctx->amd[0].ask, c->snp.cert, 1785000000, &revoked, d, sizeof d);
        d[0] = 0;
        (void)attest_snp_crl_lists(c->snp.crl, ctx->amd[0].ask, c->snp.cert, d, sizeof d); /* entries even when unsigned */
    }
    tkm_collateral_free(c);
    return 0;
}
