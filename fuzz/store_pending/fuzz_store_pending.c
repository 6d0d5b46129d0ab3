/*
 * The prepared-request and policy-proposal record values (tkm_store_pending_decode /
 * tkm_store_proposal_decode). The first byte picks the record kind; whatever decodes must
 * re-encode to exactly the same bytes (the encoding is canonical).
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static tkm_store_pending p;
    tkm_store_proposal q;
    tkm_wr w;
    tkm_rc rc;
    if (size < 1) return 0;
    tkm_wr_init(&w, 0);
    if (data[0] & 1) {
        if (tkm_failed(tkm_store_proposal_decode(&q, data + 1, size - 1))) return 0;
        rc = tkm_store_proposal_encode(&w, &q);
    } else {
        if (tkm_failed(tkm_store_pending_decode(&p, data + 1, size - 1))) return 0;
        rc = tkm_store_pending_encode(&w, &p);
    }
    if (tkm_failed(rc) || w.len != size - 1 || memcmp(w.p, data + 1, w.len) != 0) abort();
    tkm_wr_free(&w);
    return 0;
}
