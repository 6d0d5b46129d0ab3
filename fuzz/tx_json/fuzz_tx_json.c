/* eth_signTransaction requests: parse; whatever parses must have a signing hash and print as JSON. */
#include <stdint.h>
#include <stdlib.h>

#include "eth/eth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_tx tx;
    if (tkm_ok(tkm_tx_from_json(&tx, data, size))) {
        uint8_t h[TKM_TX_HASH_LEN];
        json_t *j = NULL;
        if (tkm_failed(tkm_tx_signing_hash(&tx, h)) || tkm_failed(tkm_tx_to_json(&tx, &j))) abort();
        json_decref(j);
    }
    tkm_tx_free(&tx);
    return 0;
}
