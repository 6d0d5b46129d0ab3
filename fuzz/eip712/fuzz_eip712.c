/* libFuzzer: EIP-712 typed-data parsing, hashing and the policy accessors. */
#include <stdlib.h>
#include <string.h>

#include "eth/eth.h"

static size_t hits;
static void sink(tkm_rc rc) { hits += tkm_ok(rc); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_typed_data *td = NULL;
    if (tkm_failed(tkm_typed_data_parse(&td, data, size, NULL))) return 0;
    static const char *const paths[] = {"", "owner", "value", "from.wallet", "contents", "details[0].amount",
                                        "tree[1][0]", "grid[1][1]", "v", "v[0]", "x"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        const char *s;
        size_t n;
        tkm_u256 u;
        uint8_t addr[20], *b = NULL;
        int neg;
        sink(tkm_typed_data_type_of(td, paths[i], &s, &n));
        sink(tkm_typed_data_array_len(td, paths[i], &n));
        sink(tkm_typed_data_get_uint(td, paths[i], &u));
        sink(tkm_typed_data_get_int(td, paths[i], &u, &neg));
        sink(tkm_typed_data_get_bool(td, paths[i], &neg));
        sink(tkm_typed_data_get_address(td, paths[i], addr));
        sink(tkm_typed_data_get_string(td, paths[i], &s, &n));
        sink(tkm_typed_data_get_bytes(td, paths[i], &b, &n));
        free(b);
    }
    tkm_wr w;
    tkm_wr_init(&w, 0);
    if (tkm_failed(tkm_typed_data_encode_data(td, &w))) abort(); /* a parsed document always re-encodes */
    tkm_wr_free(&w);
    uint8_t ds[32];
    tkm_eip712_domain_separator(ds, tkm_typed_data_domain(td));
    if (memcmp(ds, tkm_typed_data_hashes(td)->domain_separator, 32) != 0) abort(); /* both paths agree */
    tkm_typed_data_free(td);
    return 0;
}
