/* Evidence bytes read structurally: the first byte picks the format (sim, SGX quote, TDX quote,
 * SNP report, SGX REPORT), the rest is the evidence. Views of accepted input must serialise. */
#include <stdlib.h>

#include "tee/tee.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    tkm_ev_view v;
    tkm_rc rc = data[0] % 5 == 4 ? tkm_ev_inspect_sgx_report(&v, data + 1, size - 1)
                                 : tkm_ev_inspect(&v, (tkm_ev_format)(data[0] % 5 + 1), data + 1, size - 1);
    if (tkm_failed(rc)) return 0;
    json_t *j = NULL;
    if (tkm_failed(tkm_ev_view_json(&v, 1, &j))) abort();
    json_decref(j);
    return 0;
}
