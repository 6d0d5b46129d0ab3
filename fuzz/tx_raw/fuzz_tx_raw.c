/* Signed raw transactions: decode; whatever decodes must re-encode to the same bytes and print as JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth/eth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_tx tx;
    if (tkm_ok(tkm_tx_decode_signed(&tx, data, size))) {
        tkm_wr w;
        json_t *j = NULL;
        tkm_wr_init(&w, 0);
        if (tkm_failed(tkm_tx_encode_signed(&tx, &w)) || w.len != size || memcmp(w.p, data, size) != 0) abort();
        if (tkm_failed(tkm_tx_to_json(&tx, &j))) abort();
        json_decref(j);
        tkm_wr_free(&w);
    }
    tkm_tx_free(&tx);
    return 0;
}
