/* libFuzzer: any bytes → evidence parser (DCAP quote, SNP report, sim); parsed evidence is then appraised without collateral. */
#include <stdint.h>
#include <stdlib.h>

#include "attest/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static tkm_attest_ctx *ctx; /* built once: the built-in anchors */
    tkm_evidence *ev = NULL;
    if (!ctx && tkm_failed(tkm_attest_ctx_new(&ctx))) abort();
    if (tkm_ok(tkm_evidence_parse(&ev, data, size))) {
        tkm_appraisal *res = malloc(sizeof *res);
        tkm_appraise_opts o = {.at = 1751624924};
        if (!res || tkm_failed(tkm_appraise(ctx, ev, NULL, NULL, &o, res))) abort();
        free(res);
    }
    tkm_evidence_free(ev);
    return 0;
}
