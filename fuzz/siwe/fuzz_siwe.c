/*
 * EIP-4361 messages (untrusted: the bytes of personal_sign / eth_sign). A
 * message that parses has every span inside the input, as many resources as
 * it counts, and renders; URIs and authorities parse on their own too.
 */
#include <stdlib.h>

#include "eth/eth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void in(tkm_siwe_span s, size_t size) {
    if (s.off > size || s.len > size - s.off) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_siwe_msg m;
    tkm_siwe_uri u;
    tkm_siwe_authority a;
    if (tkm_ok(tkm_siwe_uri_parse(&u, data, size))) in(u.authority.host, size);
    if (tkm_ok(tkm_siwe_authority_parse(&a, data, size))) in(a.port, size);
    if (tkm_failed(tkm_siwe_parse(&m, data, size))) return 0;
    in(m.domain.all, size), in(m.uri.all, size), in(m.nonce, size), in(m.statement, size), in(m.resources, size);
    in(m.issued_at.text, size), in(m.uri.authority.host, size), in(m.domain.host, size), in(m.uri.query, size);
    size_t p = 0, n = 0;
    tkm_siwe_span r;
    while (tkm_siwe_resource_next(&m, data, &p, &r)) in(r, size), n++;
    json_t *j = NULL;
    if (n != m.n_resources || tkm_failed(tkm_siwe_to_json(&j, &m, data))) abort();
    json_decref(j);
    return 0;
}
