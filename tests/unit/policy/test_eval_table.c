/*
 * The table-driven policy suite: tests/vectors/policy/cases.json (expectations
 * written by hand from docs/policy.md, approvals signed by ethers). Each case
 * runs its steps in order against a fresh in-memory state that records what
 * an allowed request records (request id, nonce, window spend, used approvals).
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "policy/policy.h"

#define MAX_REC 256

typedef struct {
    char id[TKM_REQUEST_ID_MAX + 1];
    uint8_t key[20], ph[32];
} req_rec;
typedef struct {
    uint8_t key[20];
    uint64_t chain, nonce;
    uint8_t ph[32];
} nonce_rec;
typedef struct {
    char rule[TKM_POLICY_NAME_MAX + 1], asset[TKM_POLICY_NAME_MAX + 1];
    int64_t t;
    tkm_u256 amount;
} spend_rec;

typedef struct {
    req_rec req[MAX_REC];
    size_t n_req;
    nonce_rec nonce[MAX_REC];
    size_t n_nonce;
    spend_rec spend[MAX_REC];
    size_t n_spend;
    uint8_t used[MAX_REC][32];
    size_t n_used;
} mem_state;

static tkm_rc m_request_get(void *ctx, const char *id, int *found, uint8_t key[20], uint8_t ph[32]) {
    mem_state *m = ctx;
    *found = 0;
    for (size_t i = 0; i < m->n_req; i++)
        if (strcmp(m->req[i].id, id) == 0) {
            *found = 1;
            memcpy(key, m->req[i].key, 20);
            memcpy(ph, m->req[i].ph, 32);
        }
    return TKM_RC_OK;
}
static tkm_rc m_nonce_get(void *ctx, const uint8_t key[20], uint64_t chain, uint64_t nonce, int *found, uint8_t ph[32]) {
    mem_state *m = ctx;
    *found = 0;
    for (size_t i = 0; i < m->n_nonce; i++)
        if (!memcmp(m->nonce[i].key, key, 20) && m->nonce[i].chain == chain && m->nonce[i].nonce == nonce) {
            *found = 1;
            memcpy(ph, m->nonce[i].ph, 32);
        }
    return TKM_RC_OK;
}
static tkm_rc m_window(void *ctx, const char *rule, const char *asset, int64_t since, tkm_u256 *spent) {
    mem_state *m = ctx;
    *spent = tkm_u256_zero();
    for (size_t i = 0; i < m->n_spend; i++)
        if (!strcmp(m->spend[i].rule, rule) && !strcmp(m->spend[i].asset, asset) && m->spend[i].t > since)
            TKM_TRY(tkm_u256_add(spent, spent, &m->spend[i].amount));
    return TKM_RC_OK;
}
static tkm_rc m_used(void *ctx, const uint8_t d[32], const uint8_t signer[20], int *used) {
    (void)signer;
    mem_state *m = ctx;
    *used = 0;
    for (size_t i = 0; i < m->n_used; i++)
        if (!memcmp(m->used[i], d, 32)) *used = 1;
    return TKM_RC_OK;
}

static void record(mem_state *m, const tkm_intent *it, const tkm_decision *d, const tkm_policy *p) {
    if (!d->allow || d->idempotent) return;
    /* the in-memory twin of tkm_store_record_allowed */
    assert_true(m->n_req < MAX_REC);
    req_rec *r = &m->req[m->n_req++];
    snprintf(r->id, sizeof r->id, "%s", it->request_id);
    memcpy(r->key, it->key, 20);
    memcpy(r->ph, it->payload_hash, 32);
    if (it->payload == TKM_PAYLOAD_TX && it->has_nonce) {
        int found = 0;
        uint8_t ph[32];
        tu_ignore(m_nonce_get(m, it->key, it->chain_id, it->nonce, &found, ph));
        if (!found) {
            nonce_rec *n = &m->nonce[m->n_nonce++];
            memcpy(n->key, it->key, 20);
            n->chain = it->chain_id;
            n->nonce = it->nonce;
            memcpy(n->ph, it->payload_hash, 32);
        }
    }
    if (d->charge) {
        spend_rec *s = &m->spend[m->n_spend++];
        snprintf(s->rule, sizeof s->rule, "%s", d->rule_id);
        snprintf(s->asset, sizeof s->asset, "%s", p->assets[p->rules[d->rule].asset].name);
        s->t = d->now;
        s->amount = d->amount;
    }
    for (size_t i = 0; i < d->n_used; i++) memcpy(m->used[m->n_used++], d->used_digest[i], 32);
}

static tkm_policy *load_policy(const json_t *doc) {
    char *s = json_dumps(doc, JSON_COMPACT);
    tkm_policy *p = NULL;
    tkm_rc rc = tkm_policy_load(&p, (const uint8_t *)s, strlen(s));
    if (tkm_failed(rc)) fail_msg("policy: %s: %s", tkm_err_name(rc.code), tkm_err_detail());
    free(s);
    return p;
}

static const json_t *keys;

/* The intent read from a request must carry what ethers says the transaction is. */
static void check_intent(const char *name, const tkm_intent *it, const json_t *want, int unsupported) {
    const char *ph = json_string_value(json_object_get(want, "payloadHash"));
    uint8_t h[32];
    tu_hex_exact(h, 32, ph);
    if (memcmp(h, it->payload_hash, 32) != 0)
        fail_msg("%s: payload hash differs from ethers' (unsignedHash, hashMessage)", name);
    if (unsupported) return;
    const char *action = json_string_value(json_object_get(want, "action"));
    if (action && strcmp(action, tkm_action_name(it->action)) != 0)
        fail_msg("%s: action %s, want %s", name, tkm_action_name(it->action), action);
    const char *to = json_string_value(json_object_get(want, "to"));
    uint8_t a[20];
    if (to) {
        TU_ASSERT_OK(tkm_eth_address_parse(a, to, strlen(to)));
        if (!it->has_to || memcmp(a, it->to, 20) != 0) fail_msg("%s: destination differs", name);
    }
    const char *asset = json_string_value(json_object_get(want, "asset"));
    if (asset) {
        TU_ASSERT_OK(tkm_eth_address_parse(a, asset, strlen(asset)));
        if (it->asset_kind != TKM_ASSET_CONTRACT || memcmp(a, it->asset_contract, 20) != 0)
            fail_msg("%s: asset differs", name);
    }
    const char *amount = json_string_value(json_object_get(want, "amount"));
    if (amount) {
        tkm_u256 x;
        TU_ASSERT_OK(tkm_u256_from_dec(&x, amount, strlen(amount)));
        if (!it->has_amount || tkm_u256_cmp(&x, &it->amount) != 0) fail_msg("%s: amount differs", name);
    }
    json_t *ml = json_object_get(want, "messageLength");
    if (ml && (it->payload != TKM_PAYLOAD_MESSAGE || it->msg_len != (size_t)json_integer_value(ml)))
        fail_msg("%s: message length differs", name);
    const char *sel = json_string_value(json_object_get(want, "selector"));
    if (sel) {
        uint8_t b[4];
        tu_hex_exact(b, 4, sel);
        if (!it->has_selector || memcmp(b, it->selector, 4) != 0) fail_msg("%s: selector differs", name);
    }
}

static void test_table(void **state) {
    (void)state;
    json_t *v = tu_load_vector("policy/cases.json");
    uint8_t instance[32];
    tu_hex_exact(instance, 32, json_string_value(json_object_get(v, "instanceId")));
    tkm_policy *main_p = load_policy(json_object_get(json_object_get(v, "policies"), "main"));
    tkm_policy *second_p = load_policy(json_object_get(json_object_get(v, "policies"), "second"));
    json_t *cases = json_object_get(v, "cases");
    keys = json_object_get(v, "keys");
    size_t steps = 0, failures = 0;
    int reasons_seen[32] = {0};
    size_t ci;
    json_t *c;
    json_array_foreach(cases, ci, c) {
        static mem_state m;
        memset(&m, 0, sizeof m);
        tkm_policy_state st = {&m, m_request_get, m_nonce_get, m_window, m_used};
        size_t si;
        json_t *s;
        json_array_foreach(json_object_get(c, "steps"), si, s) {
            const char *pname = json_string_value(json_object_get(s, "policy"));
            const tkm_policy *p = strcmp(pname, "second") == 0 ? second_p : main_p;
            tkm_intent it;
            tkm_approval ap[TKM_APPROVALS_MAX];
            size_t n_ap = 0, ai;
            json_t *a;
            const char *cname = json_string_value(json_object_get(c, "name"));
            int unsupported = 0;
            char why[200] = "";
            json_t *rq = json_object_get(s, "request");
            if (rq) {
                /* the service's path: request -> intent (transactions decoded by the eth module) */
                static tkm_request r;
                TU_ASSERT_OK(tkm_request_from_json(&r, rq));
                const char *kaddr = json_string_value(json_object_get(keys, r.key_label));
                uint8_t ka[20];
                TU_ASSERT_OK(tkm_eth_address_parse(ka, kaddr, strlen(kaddr)));
                TU_ASSERT_OK(tkm_intent_build(&it, &unsupported, why, sizeof why, &r, ka, p));
                memcpy(ap, r.approvals, sizeof ap);
                n_ap = r.n_approvals;
                tkm_request_free(&r);
                check_intent(cname, &it, json_object_get(s, "expectIntent"), unsupported);
            } else {
                tkm_rc rc = tkm_intent_from_json(&it, json_object_get(s, "intent"));
                if (tkm_failed(rc)) fail_msg("%s step %zu: intent: %s", cname, si, tkm_err_detail());
                json_array_foreach(json_object_get(s, "approvals"), ai, a) {
                    TU_ASSERT_OK(tkm_approval_parse(&ap[n_ap], a, "approvals[]", (uint64_t)it.not_after));
                    n_ap++;
                }
            }
            const char *ks = json_string_value(json_object_get(s, "keyStatus"));
            tkm_eval_input in = {
                .policy = p, .intent = &it, .approvals = ap, .n_approvals = n_ap, .instance_id = instance,
                .now = json_integer_value(json_object_get(s, "now")), .state = &st,
                .key_status = !ks ? TKM_KEY_ACTIVE : strcmp(ks, "retired") == 0 ? TKM_KEY_RETIRED : TKM_KEY_UNKNOWN,
            };
            tkm_decision d;
            if (unsupported) {
                /* what the service answers when no intent can be built */
                memset(&d, 0, sizeof d);
                d.reason = TKM_REASON_UNSUPPORTED_PAYLOAD;
                snprintf(d.detail, sizeof d.detail, "%s", why);
            } else {
                TU_ASSERT_OK(tkm_policy_evaluate(&d, &in));
            }
            json_t *e = json_object_get(s, "expect");
            const char *want_dec = json_string_value(json_object_get(e, "decision"));
            const char *want_reason = json_string_value(json_object_get(e, "reason"));
            const char *want_rule = json_string_value(json_object_get(e, "rule"));
            int want_idem = json_is_true(json_object_get(e, "idempotent"));
            int ok = (strcmp(want_dec, "allow") == 0) == (d.allow != 0) &&
                     strcmp(want_reason, tkm_reason_name(d.reason)) == 0 &&
                     (want_rule ? strcmp(want_rule, d.rule_id) == 0 : d.rule_id[0] == 0) && want_idem == d.idempotent;
            /* idempotent replays carry no rule of their own */
            if (want_idem && d.idempotent && d.allow) ok = 1;
            if (!ok) {
                failures++;
                print_error("FAIL %s, step %zu: want %s %s %s%s, got %s %s %s%s (%s)\n",
                            json_string_value(json_object_get(c, "name")), si, want_dec, want_reason,
                            want_rule ? want_rule : "-", want_idem ? " idempotent" : "", d.allow ? "allow" : "deny",
                            tkm_reason_name(d.reason), d.rule_id[0] ? d.rule_id : "-", d.idempotent ? " idempotent" : "",
                            d.detail);
            }
            reasons_seen[d.reason] = 1;
            record(&m, &it, &d, p);
            steps++;
        }
    }
    assert_int_equal(failures, 0);
    assert_true(steps >= 100);
    assert_int_equal((int)steps, (int)json_integer_value(json_object_get(v, "stepCount")));
    /* every reason code is exercised by the table */
#define CHECK_SEEN(name, num) if (!reasons_seen[num]) fail_msg("reason %s never produced by the table", #name);
    TKM_REASON_LIST(CHECK_SEEN)
#undef CHECK_SEEN
    tkm_policy_free(main_p);
    tkm_policy_free(second_p);
    json_decref(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
