/* BLS point decoding (G1/G2, KeyValidate) and EIP-2334 path parsing on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint32_t idx[TKM_BLS_PATH_MAX_DEPTH];
    size_t depth;
    tkm_rc g1 = tkm_bls_g1_check(data, size), kv = tkm_bls_key_validate(data, size);
    tkm_rc g2 = tkm_bls_g2_check(data, size);
    if (tkm_ok(kv) && !tkm_ok(g1)) __builtin_trap(); /* KeyValidate is stricter than decoding */
    if (size != 48 && (tkm_ok(g1) || tkm_ok(kv))) __builtin_trap();
    if (size != 96 && tkm_ok(g2)) __builtin_trap();
    tkm_rc path = tkm_bls_path_parse(idx, &depth, (const char *)data, size);
    if (tkm_ok(path) && (data[0] != 'm' || depth > TKM_BLS_PATH_MAX_DEPTH || size > 1 + depth * 11)) __builtin_trap();
    if (!tkm_ok(path) && depth != 0) __builtin_trap();
    return 0;
}
