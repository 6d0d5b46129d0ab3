/* RLP: the whole-document validator, and a walk that re-encodes every item it reads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth/eth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (tkm_ok(tkm_rlp_check(data, size, 0, 0))) {
        /* canonical input: a string item re-encodes to exactly its bytes */
        tkm_rd r, pl;
        tkm_rlp_kind k;
        tkm_rd_init(&r, data, size);
        if (tkm_failed(tkm_rlp_item(&r, &k, &pl))) abort();
        if (k == TKM_RLP_STRING) {
            tkm_wr w;
            tkm_wr_init(&w, 0);
            if (tkm_failed(tkm_rlp_put_string(&w, pl.p, pl.len)) || w.len != size || memcmp(w.p, data, size) != 0) abort();
            tkm_wr_free(&w);
        }
    }
    return 0;
}
