/* teekm bench eip712 — typed-data parse + hash + sign of an EIP-2612 Permit, next to raw signing. */
#include "bench.h"

#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "eth/eth.h"

static const char permit_json[] =
    "{\"types\":{\"EIP712Domain\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"version\",\"type\":\"string\"},"
    "{\"name\":\"chainId\",\"type\":\"uint256\"},{\"name\":\"verifyingContract\",\"type\":\"address\"}],"
    "\"Permit\":[{\"name\":\"owner\",\"type\":\"address\"},{\"name\":\"spender\",\"type\":\"address\"},"
    "{\"name\":\"value\",\"type\":\"uint256\"},{\"name\":\"nonce\",\"type\":\"uint256\"},"
    "{\"name\":\"deadline\",\"type\":\"uint256\"}]},\"primaryType\":\"Permit\","
    "\"domain\":{\"name\":\"USD Coin\",\"version\":\"2\",\"chainId\":1,"
    "\"verifyingContract\":\"0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48\"},"
    "\"message\":{\"owner\":\"0x5B38Da6a701c568545dCfcB03FcB875f56beddC4\","
    "\"spender\":\"0xAb8483F64d9C6d1EcF9b849Ae677dD3315835cb2\",\"value\":\"1000000000\",\"nonce\":0,"
    "\"deadline\":\"1767225600\"}}";

typedef struct {
    tkm_secret *sk;
} eip712_bench;

static int parse_hash(void *ctx) {
    (void)ctx;
    tkm_typed_data *td = NULL;
    if (tkm_failed(tkm_typed_data_parse(&td, (const uint8_t *)permit_json, sizeof permit_json - 1, NULL))) return -1;
    tkm_typed_data_free(td);
    return 0;
}

/* The whole path a typed-data request takes: parse, validate, hash, read the policy fields, sign. */
static int parse_hash_sign(void *ctx) {
    eip712_bench *b = ctx;
    tkm_typed_data *td = NULL;
    uint8_t sig[65], owner[20];
    tkm_u256 value;
    int rc = -1;
    if (tkm_failed(tkm_typed_data_parse(&td, (const uint8_t *)permit_json, sizeof permit_json - 1, NULL))) goto out;
    if (tkm_failed(tkm_typed_data_get_address(td, "owner", owner))) goto out;
    if (tkm_failed(tkm_typed_data_get_uint(td, "value", &value))) goto out;
    if (tkm_failed(tkm_secp_sign(sig, b->sk, tkm_typed_data_hashes(td)->digest))) goto out;
    rc = 0;
out:
    tkm_typed_data_free(td);
    return rc;
}

int bench_eip712(const bench_opts *o) {
    eip712_bench b = {0};
    bench_raw_secp *rs = NULL;
    bench_result raw, ours, ph;
    int status = 0;
    tkm_json_init();
    if (tkm_failed(tkm_secp_init()) || tkm_failed(tkm_secp_keygen(&b.sk)) || bench_raw_secp_new(&rs, b.sk) != 0) {
        fprintf(stderr, "bench eip712: key generation failed\n");
        tkm_secret_free(b.sk);
        return 1;
    }
    printf("teekm bench eip712 (single thread, %.1f s per item; EIP-2612 Permit, %zu bytes of JSON)\n", o->seconds,
           sizeof permit_json - 1);
    if (bench_pair(o, bench_raw_secp_sign, rs, parse_hash_sign, &b, &raw, &ours) != 0) status = 1;
    bench_print_row("raw libsecp256k1 sign (baseline)", &raw);
    bench_print_ratio("typed data parse+hash+fields+sign", &ours, "raw", &raw, 0);
    if (bench_one(o, parse_hash, NULL, &ph) != 0) status = 1;
    bench_print_ratio("typed data parse+hash only", &ph, "raw", &raw, 0);
    bench_raw_secp_free(rs);
    tkm_secret_free(b.sk);
    return status;
}
