/* Token calldata: decode; whatever decodes must print as JSON and read back through the accessors. */
#include <stdint.h>
#include <stdlib.h>

#include "eth/eth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_token_call call;
    if (tkm_ok(tkm_token_call_decode(&call, data, size))) {
        json_t *j = NULL;
        if (tkm_failed(tkm_token_call_to_json(&call, &j))) abort();
        json_decref(j);
    }
    return 0;
}
