/*
 * eth_signTransaction requests: the text entry point (with its fast tokenizer)
 * must agree with jansson + tkm_tx_from_json_value on every input — same
 * verdict, same error code, same transaction; whatever parses must have a
 * signing hash and print as JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth/eth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_tx a, b;
    json_t *obj = NULL;
    tkm_json_limits lim = {.max_bytes = TKM_TX_MAX_JSON, .max_depth = TKM_TX_JSON_MAX_DEPTH};
    tkm_rc ra = tkm_tx_from_json(&a, data, size);
    tkm_rc rb = tkm_json_load(&obj, data, size, &lim);
    if (tkm_ok(rb)) rb = tkm_tx_from_json_value(&b, obj);
    else tkm_tx_init(&b);
    if (ra.code != rb.code) abort();
    if (tkm_ok(ra)) {
        uint8_t ha[TKM_TX_HASH_LEN], hb[TKM_TX_HASH_LEN];
        json_t *j = NULL;
        if (tkm_failed(tkm_tx_signing_hash(&a, ha)) || tkm_failed(tkm_tx_signing_hash(&b, hb)) ||
            memcmp(ha, hb, sizeof ha) != 0 || a.has_from != b.has_from || memcmp(a.from, b.from, 20) != 0)
            abort();
        if (tkm_failed(tkm_tx_to_json(&a, &j))) abort();
        json_decref(j);
    }
    json_decref(obj);
    tkm_tx_free(&a);
    tkm_tx_free(&b);
    return 0;
}
