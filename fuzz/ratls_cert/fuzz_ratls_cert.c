/* A peer certificate (DER) through tkm_ratls_inspect: OpenSSL's X.509 parser, the self-signature,
 * the evidence extension, the evidence and the claims; the JSON view of anything accepted. */
#include <stdlib.h>

#include "tee/tee.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_ratls_peer p;
    if (tkm_failed(tkm_ratls_inspect(&p, data, size, data, size < 91 ? size : 91))) return 0;
    json_t *j = NULL;
    if (tkm_failed(tkm_ratls_peer_json(&p, &j))) abort();
    json_decref(j);
    tkm_ratls_peer_free(&p);
    return 0;
}
