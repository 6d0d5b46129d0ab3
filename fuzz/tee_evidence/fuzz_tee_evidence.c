/* Evidence bytes read structurally: the first byte picks the format (sim, SGX quote, TDX quote,
 * SNP report, SGX REPORT), the rest is the evidence. Views of accepted input must serialise, and
 * the verifier's owning parser (attest) must accept the same bytes and see the same facts. */
#include <stdlib.h>
#include <string.h>

#include "attest/attest.h"
#include "tee/tee.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    tkm_ev_view v;
    int report = data[0] % 5 == 4;
    tkm_rc rc = report ? tkm_ev_inspect_sgx_report(&v, data + 1, size - 1)
                       : tkm_ev_inspect(&v, (tkm_ev_format)(data[0] % 5 + 1), data + 1, size - 1);
    if (tkm_failed(rc)) return 0;
    json_t *j = NULL;
    if (tkm_failed(tkm_ev_view_json(&v, 1, &j))) abort();
    json_decref(j);
    if (report) return 0;
    tkm_evidence *ev = NULL;
    size_t ml = 0;
    if (tkm_failed(tkm_evidence_parse(&ev, data + 1, size - 1))) abort();
    const uint8_t *m = tkm_evidence_measurement(ev, &ml);
    if (ml != v.measurement_len || memcmp(m, v.measurement, ml) != 0 ||
        memcmp(tkm_evidence_report_data(ev), v.report_data, 64) != 0 || tkm_evidence_debug(ev) != v.debug)
        abort();
    tkm_evidence_free(ev);
    return 0;
}
