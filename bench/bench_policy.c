/*
 * teekm bench policy — raw secp256k1 signing next to the full signing path of
 * the service: evaluate (policy + state) + record (store, durable commit:
 * WAL with synchronous=FULL, plus the monotonic counter's fdatasync) + audit
 * record + sign, on one thread. Group commit: requests are handed to the
 * engine in batches, as concurrent clients would be; the per-request figure
 * includes the batch's share of the commit and of the audit signature.
 * The state lives in a fresh directory under $TMPDIR (default /tmp).
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "crypto/crypto.h"

#define NOW 1750000000

#define MAX_BATCH 1024

typedef struct {
    tkm_engine *e;
    size_t batch;
    size_t n;
    uint64_t seq;
    tkm_sign_request req[MAX_BATCH];
    tkm_sign_result res[MAX_BATCH];
    tkm_rc rcs[MAX_BATCH];
} full_ctx;

/* The template is filled once; each op only changes id, nonce and payload hash (no parsing here). */
static void mk_template(tkm_sign_request *r) {
    memset(r, 0, sizeof *r);
    tkm_intent *it = &r->intent;
    snprintf(it->key_label, sizeof it->key_label, "hot");
    it->payload = TKM_PAYLOAD_TX;
    it->tx_type = 2;
    it->has_chain_id = 1;
    it->chain_id = 1;
    it->action = TKM_ACTION_TRANSFER;
    it->asset_kind = TKM_ASSET_NATIVE;
    it->has_to = 1;
    it->to[19] = 0xe1;
    it->has_amount = 1;
    it->amount = tkm_u256_from_u64(1000000000000000ULL); /* 0.001 ETH */
    it->value = it->amount;
    it->has_nonce = 1;
    it->not_after = NOW + 3000;
    r->host_now = NOW;
    r->sign = 1;
}

static void mk_request(tkm_sign_request *r, uint64_t seq) {
    tkm_intent *it = &r->intent;
    char *p = it->request_id;
    memcpy(p, "bench-", 6);
    p += 6;
    char digits[21];
    int n = 0;
    do {
        digits[n++] = (char)('0' + seq % 10);
        seq /= 10;
    } while (seq);
    while (n) *p++ = digits[--n];
    *p = 0;
    it->nonce = seq;
    /* a distinct 32-byte payload hash per request (a real one comes from the transaction) */
    memset(it->payload_hash, 0, 32);
    memcpy(it->payload_hash, it->request_id, (size_t)(p - it->request_id) < 32 ? (size_t)(p - it->request_id) : 32);
}

static int full_path(void *ctx) {
    full_ctx *c = ctx;
    uint64_t seq = c->seq++;
    mk_request(&c->req[c->n], seq);
    c->req[c->n++].intent.nonce = seq;
    if (c->n < c->batch) return 0;
    size_t n = c->n;
    c->n = 0;
    if (tkm_failed(tkm_engine_sign_batch(c->e, c->req, c->res, c->rcs, n))) return -1;
    for (size_t i = 0; i < n; i++)
        if (tkm_failed(c->rcs[i]) || !c->res[i].decision.allow || !c->res[i].has_sig) return -1;
    return 0;
}

static const char POLICY[] =
    "{\"teekm_policy\":1,\"version\":1,\"default\":\"deny\",\"max_validity_seconds\":3600,"
    "\"admins\":{\"threshold\":1,\"members\":[\"%s\"]},"
    "\"address_books\":{\"ex\":[\"0x00000000000000000000000000000000000000e1\"]},"
    "\"assets\":{\"ETH\":{\"chain_id\":1,\"native\":true,\"decimals\":18}},"
    "\"rules\":[{\"id\":\"deny-x\",\"effect\":\"deny\",\"keys\":[\"*\"],\"to\":[\"0x00000000000000000000000000000000000000ff\"]},"
    "{\"id\":\"small\",\"effect\":\"allow\",\"keys\":[\"hot\"],\"action\":\"transfer\",\"asset\":\"ETH\",\"to\":[\"@ex\"],"
    "\"max_amount\":\"1\",\"window_limit\":{\"amount\":\"100000000\",\"seconds\":86400}}]}";

static int run_full(const bench_opts *o, size_t batch, bench_raw_secp *raw, const char *dir, bench_result *rr,
                    bench_result *rf) {
    int status = 1;
    tkm_secret *seal = NULL, *admin = NULL;
    full_ctx *c = calloc(1, sizeof *c);
    char policy[2048], cpath[600], a[TKM_ETH_ADDR_STR_LEN];
    uint8_t pub[65], addr[20], inst[32], d[32], ph[32];
    uint64_t ver;
    if (!c || tkm_failed(tkm_secp_keygen(&seal)) || tkm_failed(tkm_secp_keygen(&admin))) goto out;
    if (tkm_failed(tkm_secp_pubkey(pub, admin))) goto out;
    tkm_eth_address(addr, pub);
    tkm_eth_address_checksum(a, addr);
    snprintf(policy, sizeof policy, POLICY, a);
    snprintf(cpath, sizeof cpath, "%s/counter", dir);
    tkm_engine_opts eo = {.dir = dir, .seal_key = seal, .max_batch = MAX_BATCH};
    if (tkm_failed(tkm_counter_file_open(&eo.counter, cpath, seal))) goto out;
    if (tkm_failed(tkm_engine_init(&c->e, &eo, NULL, (const uint8_t *)policy, strlen(policy), NOW))) goto out;
    tkm_engine_instance_id(c->e, inst);
    tkm_engine_policy_info(c->e, &ver, ph);
    tkm_key_event_digest(d, inst, "bench-key", TKM_KEY_EVENT_GENERATE, "hot", NULL, ver, NOW + 60);
    tkm_approval ap = {.expires_at = NOW + 60};
    if (tkm_failed(tkm_secp_sign(ap.sig, admin, d))) goto out;
    if (tkm_failed(tkm_engine_key_event(c->e, TKM_KEY_EVENT_GENERATE, "bench-key", "hot", NULL, &ap, 1, NOW, addr)))
        goto out;
    c->batch = batch;
    for (size_t i = 0; i < MAX_BATCH; i++) mk_template(&c->req[i]);
    if (bench_pair(o, bench_raw_secp_sign, raw, full_path, c, rr, rf) != 0) goto out;
    status = 0;
out:
    if (c) tkm_engine_close(c->e);
    free(c);
    tkm_secret_free(seal);
    tkm_secret_free(admin);
    return status;
}

int bench_policy(const bench_opts *o) {
    bench_raw_secp *raw = NULL;
    tkm_secret *sk = NULL;
    int status = 0;
    const char *tmp = getenv("TMPDIR");
    char dir[512];
    if (tkm_failed(tkm_secp_keygen(&sk)) || bench_raw_secp_new(&raw, sk) != 0) {
        tkm_secret_free(sk);
        return 1;
    }
    tkm_secret_free(sk);
    printf("teekm bench policy (single thread, %.1f s per pair, durable commits: WAL synchronous=FULL + counter fdatasync)\n",
           o->seconds);
    static const size_t batches[] = {1, 16, 64, 256, 1024};
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
        snprintf(dir, sizeof dir, "%s/teekm-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            status = 1;
            break;
        }
        bench_result rr, rf;
        char name[96];
        if (run_full(o, batches[i], raw, dir, &rr, &rf) != 0) {
            fprintf(stderr, "bench policy: full path failed (%s)\n", tkm_err_detail());
            status = 1;
        } else {
            if (i == 0) bench_print_row("raw libsecp256k1 sign (baseline)", &rr);
            snprintf(name, sizeof name, "evaluate+commit+audit+sign, %zu/commit", batches[i]);
            bench_print_ratio(name, &rf, "raw", &rr, batches[i] >= 64 ? 0.50 : 0);
        }
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) status = 1;
    }
    bench_raw_secp_free(raw);
    return status;
}
