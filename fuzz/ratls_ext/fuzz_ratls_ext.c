/*
 * The RA-TLS extension value (CBOR tag [evidence, claims]) as a peer sends it:
 * parse it, read the evidence structurally, parse the claims strictly; claims
 * that parse must re-encode to the very same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "tee/tee.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_ratls_ext e;
    if (tkm_failed(tkm_ratls_ext_parse(&e, data, size))) return 0;
    tkm_ev_view v;
    tkm_rc r1 = tkm_ev_inspect(&v, e.format, e.evidence, e.evidence_len);
    (void)r1;
    tkm_claims c;
    if (tkm_ok(tkm_claims_parse(&c, e.claims, e.claims_len))) {
        tkm_wr w;
        tkm_wr_init(&w, 0);
        if (tkm_failed(tkm_claims_encode(&c, &w)) || w.len != e.claims_len || memcmp(w.p, e.claims, w.len)) abort();
        tkm_wr_free(&w);
        tkm_claims_free(&c);
    }
    return 0;
}
