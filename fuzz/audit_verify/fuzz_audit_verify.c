/* Offline audit-log verification of an untrusted export (any bytes). */
#include <stdlib.h>

#include "audit/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint8_t addr[20] = {0x5a};
    tkm_audit_summary sum;
    tkm_rc rc = tkm_audit_verify(&sum, data, size, addr);
    if (tkm_failed(rc) && sum.bad_record == 0) abort(); /* every failure names its record */
    return 0;
}
