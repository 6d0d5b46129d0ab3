/* libFuzzer: bytes → AMD VCEK/VLEK collateral parser (DER cert [+ DER CRL] or PEM cert [+ CRL], TCB/hwID extensions). */
#include <stdint.h>

#include "attest/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_collateral *c = NULL;
    if (tkm_ok(tkm_snp_collateral_parse(&c, data, size))) tkm_collateral_free(c);
    return 0;
}
