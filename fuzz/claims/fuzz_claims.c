/* Attestation claims from a peer: strict parse; whatever is accepted is a fixed point of
 * encode, and its report_data verifies against itself. */
#include <stdlib.h>
#include <string.h>

#include "tee/tee.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_claims c;
    if (tkm_failed(tkm_claims_parse(&c, data, size))) return 0;
    tkm_wr w;
    tkm_wr_init(&w, 0);
    uint8_t rd[64];
    if (tkm_failed(tkm_claims_encode(&c, &w)) || w.len != size || memcmp(w.p, data, size) != 0 ||
        tkm_failed(tkm_claims_report_data(rd, data, size)) || tkm_failed(tkm_claims_verify_report_data(rd, data, size)))
        abort();
    tkm_wr_free(&w);
    tkm_claims_free(&c);
    return 0;
}
