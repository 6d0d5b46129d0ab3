/* libFuzzer: bytes → Intel collateral JSON parser (QuoteCollateralV3, nested TCB info / QE identity, CRLs, PEM chains). */
#include <stdint.h>

#include "attest/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_collateral *c = NULL;
    if (tkm_ok(tkm_dcap_collateral_parse(&c, data, size))) tkm_collateral_free(c);
    return 0;
}
