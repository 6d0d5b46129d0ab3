/* The teekm-verifier configuration file parser. */
#include "verifier/tkm_vconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_vconfig *c = NULL;
    if (tkm_ok(tkm_vconfig_parse(&c, data, size, "/etc/teekm"))) {
        if (!c->data_dir || !c->institution || !c->appraisal_policy || !c->tls_cert_file) __builtin_trap();
        tkm_vconfig_free(c);
    }
    return 0;
}
