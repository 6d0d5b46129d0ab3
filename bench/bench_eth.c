/*
 * teekm bench eth — the signer's hot path for a type-2 ERC-20 transfer given
 * as an eth_signTransaction JSON request: parse (strict JSON → tkm_tx, with
 * the validity rules) + calldata decode + signing hash + sign + signed
 * serialization, next to the raw libsecp256k1 sign rate measured in the same
 * run (target: the whole path at >= 0.8 of raw). And a Sign-In with Ethereum
 * (EIP-4361) message parsed, next to Keccak-256 over the same bytes (what its
 * EIP-191 digest costs).
 */
#include "bench.h"

#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "eth/eth.h"

/* The nonce field is rewritten in place every op ("0x1" + 7 hex digits) so no two requests are equal. */
static const char request_template[] =
    "{\"from\":\"0x%s\",\"to\":\"0xdac17f958d2ee523a2206206994597c13d831ec7\",\"gas\":\"0xfde8\","
    "\"maxFeePerGas\":\"0x6fc23ac00\",\"maxPriorityFeePerGas\":\"0x59682f00\",\"value\":\"0x0\","
    "\"data\":\"0xa9059cbb0000000000000000000000005aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
    "00000000000000000000000000000000000000000000d3c21bcecceda1000000\","
    "\"nonce\":\"0x10000000\",\"chainId\":\"0x1\",\"type\":\"0x2\",\"accessList\":[]}";

typedef struct {
    tkm_secret *sk;
    uint8_t addr[20];
    char json[1024];
    size_t json_len;
    char *nonce_digits; /* 7 hex digits inside json */
    uint32_t counter;
    uint8_t digest[32];
    tkm_wr out;
} eth_bench;

static void next_request(eth_bench *b) {
    static const char hexd[] = "0123456789abcdef";
    uint32_t c = ++b->counter;
    for (int i = 6; i >= 0; i--) {
        b->nonce_digits[i] = hexd[c & 15];
        c >>= 4;
    }
}

/* JSON request -> signed raw transaction, as the signer does it. */
static int whole_path(void *ctx) {
    eth_bench *b = ctx;
    tkm_tx tx;
    tkm_token_call call;
    next_request(b);
    if (tkm_failed(tkm_tx_from_json(&tx, (const uint8_t *)b->json, b->json_len))) return -1;
    int rc = tkm_ok(tkm_token_call_decode(&call, tx.data, tx.data_len)) && tkm_ok(tkm_tx_sign(&tx, b->sk, b->addr));
    tkm_wr_reset(&b->out);
    rc = rc && tkm_ok(tkm_tx_encode_signed(&tx, &b->out));
    tkm_tx_free(&tx);
    return rc ? 0 : -1;
}

static int parse_only(void *ctx) {
    eth_bench *b = ctx;
    tkm_tx tx;
    next_request(b);
    tkm_rc rc = tkm_tx_from_json(&tx, (const uint8_t *)b->json, b->json_len);
    tkm_tx_free(&tx);
    return tkm_ok(rc) ? 0 : -1;
}

static int parse_and_hash(void *ctx) {
    eth_bench *b = ctx;
    tkm_tx tx;
    next_request(b);
    if (tkm_failed(tkm_tx_from_json(&tx, (const uint8_t *)b->json, b->json_len))) return -1;
    tkm_rc rc = tkm_tx_signing_hash(&tx, b->digest);
    tkm_tx_free(&tx);
    return tkm_ok(rc) ? 0 : -1;
}

/* The EIP's example with an explicit scheme, an expiry and two resources. */
static const char siwe_msg[] =
    "https://example.com wants you to sign in with your Ethereum account:\n"
    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n\n"
    "I accept the ExampleOrg Terms of Service: https://example.com/tos\n\n"
    "URI: https://example.com/login\nVersion: 1\nChain ID: 1\nNonce: 32891756\n"
    "Issued At: 2021-09-30T16:25:24Z\nExpiration Time: 2021-09-30T16:35:24.000Z\n"
    "Resources:\n- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n"
    "- https://example.com/my-web2-claim.json";

static int siwe_keccak(void *ctx) {
    uint8_t *d = ctx;
    tkm_keccak256(d, siwe_msg, sizeof siwe_msg - 1);
    return 0;
}

static int siwe_parse(void *ctx) {
    tkm_siwe_msg *m = ctx;
    return tkm_ok(tkm_siwe_parse(m, (const uint8_t *)siwe_msg, sizeof siwe_msg - 1)) ? 0 : -1;
}

int bench_eth(const bench_opts *o) {
    eth_bench b;
    memset(&b, 0, sizeof b);
    bench_result raw, whole, r;
    int status = 0;
    uint8_t pub[TKM_SECP_PUBKEY_LEN];
    bench_raw_secp *rs = NULL;
    char from[41];
    if (tkm_failed(tkm_secp_init()) || tkm_failed(tkm_secp_keygen(&b.sk)) || tkm_failed(tkm_secp_pubkey(pub, b.sk)) ||
        bench_raw_secp_new(&rs, b.sk) != 0) {
        fprintf(stderr, "bench eth: key generation failed\n");
        tkm_secret_free(b.sk);
        return 1;
    }
    tkm_eth_address(b.addr, pub);
    if (tkm_failed(tkm_hex_encode(from, sizeof from, b.addr, 20, 0))) {
        bench_raw_secp_free(rs);
        tkm_secret_free(b.sk);
        return 1;
    }
    int n = snprintf(b.json, sizeof b.json, request_template, from);
    b.json_len = (size_t)n;
    b.nonce_digits = strstr(b.json, "\"nonce\":\"0x1") + strlen("\"nonce\":\"0x1");
    tkm_wr_init(&b.out, 0);
    printf("teekm bench eth (single thread, %.1f s per item; type-2 ERC-20 transfer, %zu-byte JSON request)\n",
           o->seconds, b.json_len);
    if (bench_pair(o, bench_raw_secp_sign, rs, whole_path, &b, &raw, &whole) != 0) status = 1;
    bench_print_row("raw libsecp256k1 sign (baseline)", &raw);
    bench_print_ratio("JSON -> signed raw tx (whole path)", &whole, "raw", &raw, 0.80);
    if (bench_one(o, parse_only, &b, &r) != 0) status = 1;
    bench_print_row("  JSON parse + validate only", &r);
    if (bench_one(o, parse_and_hash, &b, &r) != 0) status = 1;
    bench_print_row("  JSON parse + signing hash", &r);
    uint8_t kd[32];
    tkm_siwe_msg sm;
    bench_result rk, rp;
    if (bench_pair(o, siwe_keccak, kd, siwe_parse, &sm, &rk, &rp) != 0) status = 1;
    char name[96];
    snprintf(name, sizeof name, "keccak-256 of a %zu-byte SIWE message (baseline)", sizeof siwe_msg - 1);
    bench_print_row(name, &rk);
    bench_print_ratio("EIP-4361 parse of it (every field)", &rp, "keccak", &rk, 0);
    bench_raw_secp_free(rs);
    tkm_wr_free(&b.out);
    tkm_secret_free(b.sk);
    return status;
}
