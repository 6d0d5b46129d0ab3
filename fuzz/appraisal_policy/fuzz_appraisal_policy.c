/* libFuzzer: bytes → appraisal policy JSON parser. */
#include <stdint.h>

#include "attest/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_appraisal_policy *p = NULL;
    if (tkm_ok(tkm_appraisal_policy_parse(&p, data, size))) tkm_appraisal_policy_free(p);
    return 0;
}
