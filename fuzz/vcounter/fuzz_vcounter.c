/*
 * teekm-verifier counter answers as teekmd checks them (tkm_vcounter.h): the
 * first byte picks the HTTP status (200, 409, 403, 404, 500) and the op, the
 * rest is the answer body, checked against the pinned signer, instance and
 * challenge of tests/vectors/api/counter_states.json. A valid answer must have
 * a value and time the client can use; a failed one must leave *out zeroed.
 */
#include <stdlib.h>
#include <string.h>

#include "api/tkm_vcounter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const long statuses[] = {200, 409, 403, 404, 500, 200, 409, 200};
    static const uint8_t signer[20] = {0x19, 0xe7, 0xe3, 0x76, 0xe7, 0xc2, 0x13, 0xb7, 0xe7, 0xe7,
                                       0xe4, 0x6c, 0xc7, 0x0a, 0x5d, 0xd0, 0x86, 0xda, 0xff, 0x2a};
    uint8_t inst[32], chal[32];
    memset(inst, 0xa1, 32);
    memset(chal, 0xc3, 32);
    if (size < 1) return 0;
    json_t *ans = NULL;
    tkm_json_limits lim = {.max_bytes = 64u << 10, .max_depth = 64};
    if (tkm_failed(tkm_json_load(&ans, data + 1, size - 1, &lim))) return 0;
    tkm_vcounter_state out;
    int rereg;
    const char *op = data[0] & 0x80 ? "read" : "advance";
    tkm_rc rc = tkm_vcounter_answer_check(&out, &rereg, statuses[data[0] & 7], ans, op, (uint64_t)(data[0] >> 3 & 0xf) * 10,
                                          signer, inst, chal);
    if (tkm_failed(rc) && rc.code != TKM_ERR_STORE_ROLLBACK && (out.value || out.time)) abort();
    json_decref(ans);
    return 0;
}
