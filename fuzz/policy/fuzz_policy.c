/*
 * The policy loader (untrusted: proposed by admins, checked by `teekm policy
 * check`). A document that loads must have a canonical form that loads again
 * to the same hash, and must evaluate a fixed transfer, a fixed personal
 * message and a fixed Sign-In with Ethereum message without failing.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tkm_rc nr(void *c, const char *id, int *f, uint8_t k[20], uint8_t ph[32]) {
    (void)c, (void)id, (void)k, (void)ph;
    *f = 0;
    return TKM_RC_OK;
}
static tkm_rc nn(void *c, const uint8_t k[20], uint64_t ch, uint64_t n, int *f, uint8_t ph[32]) {
    (void)c, (void)k, (void)ch, (void)n, (void)ph;
    *f = 0;
    return TKM_RC_OK;
}
static tkm_rc nw(void *c, const char *r, const char *a, int64_t s, tkm_u256 *sp) {
    (void)c, (void)r, (void)a, (void)s;
    *sp = tkm_u256_from_u64(3);
    return TKM_RC_OK;
}
static tkm_rc nu(void *c, const uint8_t d[32], const uint8_t s[20], int *u) {
    (void)c, (void)d, (void)s;
    *u = 0;
    return TKM_RC_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_policy *p = NULL, *q = NULL;
    if (tkm_failed(tkm_policy_load(&p, data, size))) return 0;
    if (tkm_failed(tkm_policy_load(&q, p->canonical, p->canonical_len)) || memcmp(p->hash, q->hash, 32) != 0) abort();
    tkm_intent it;
    memset(&it, 0, sizeof it);
    memcpy(it.request_id, "fuzz", 5);
    memcpy(it.key_label, "hot", 4);
    it.payload = TKM_PAYLOAD_TX;
    it.tx_type = 2;
    it.has_chain_id = 1;
    it.chain_id = 1;
    it.action = TKM_ACTION_TRANSFER;
    it.asset_kind = TKM_ASSET_NATIVE;
    it.has_to = 1;
    it.has_amount = 1;
    it.amount = tkm_u256_from_u64(1000);
    it.not_after = 100;
    static const uint8_t inst[32];
    tkm_policy_state st = {NULL, nr, nn, nw, nu};
    tkm_eval_input in = {.policy = p, .intent = &it, .instance_id = inst, .now = 50, .state = &st};
    tkm_decision d;
    if (tkm_failed(tkm_policy_evaluate(&d, &in)) || !tkm_reason_name(d.reason)) abort();
    /* and a personal message (sign_message rules) */
    static const char msg[] = "app.example.com wants you to sign in with your Ethereum account:\n0x";
    tkm_request r;
    memset(&r, 0, sizeof r);
    memcpy(r.request_id, "fuzz-m", 7);
    memcpy(r.key_label, "hot", 4);
    r.not_after = 100;
    r.has_msg = 1;
    r.msg = (uint8_t *)msg;
    r.msg_len = sizeof msg - 1;
    int unsupported = 0;
    char why[8];
    static const uint8_t key[20];
    if (tkm_failed(tkm_intent_build(&it, &unsupported, why, sizeof why, &r, key, p)) || unsupported) abort();
    if (tkm_failed(tkm_policy_evaluate(&d, &in)) || !tkm_reason_name(d.reason)) abort();
    /* and a Sign-In with Ethereum message of that key, valid at now = 50 (siwe conditions) */
    static const char siwe[] = "app.example.com wants you to sign in with your Ethereum account:\n"
                               "0x0000000000000000000000000000000000000000\n\n\nURI: https://app.example.com/\nVersion: 1\n"
                               "Chain ID: 1\nNonce: 12345678\nIssued At: 1970-01-01T00:00:40Z\n"
                               "Expiration Time: 1970-01-01T00:01:40Z";
    r.msg = (uint8_t *)siwe;
    r.msg_len = sizeof siwe - 1;
    if (tkm_failed(tkm_intent_build(&it, &unsupported, why, sizeof why, &r, key, p)) || unsupported || !it.msg_siwe) abort();
    if (tkm_failed(tkm_policy_evaluate(&d, &in)) || !tkm_reason_name(d.reason)) abort();
    tkm_policy_free(p);
    tkm_policy_free(q);
    return 0;
}
