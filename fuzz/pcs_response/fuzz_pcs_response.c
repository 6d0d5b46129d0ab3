/*
 * What the collateral fetcher takes from a PCCS/KDS response: the exact span
 * of a member's value (which must itself be one JSON value), a CRL in DER,
 * PEM or hex, a URL-encoded issuer chain.
 */
#include <stdlib.h>
#include <string.h>

#include "verifier/tkm_vcoll.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const keys[] = {"tcbInfo", "enclaveIdentity", "signature"};
    for (size_t k = 0; k < 3; k++) {
        size_t off, n;
        if (tkm_ok(tkm_vcoll_json_member_span(data, size, keys[k], &off, &n))) {
            if (off > size || n > size - off || n == 0) abort();
            json_error_t e;
            json_t *v = json_loadb((const char *)data + off, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
            if (!v) abort(); /* the span is exactly one JSON value */
            json_decref(v);
        }
    }
    uint8_t *der = NULL;
    size_t der_len = 0;
    if (tkm_ok(tkm_vcoll_crl_to_der(&der, &der_len, data, size)) && (der_len == 0 || der[0] != 0x30)) abort();
    free(der);
    char *s = NULL;
    size_t sl = 0;
    if (tkm_ok(tkm_vcoll_url_decode(&s, &sl, (const char *)data, size)) && (sl > size || s[sl] != 0)) abort();
    free(s);
    return 0;
}
