/*
 * tkm_eval.h — evaluation of one intent against a policy, its protected state
 * and the approvals presented.
 *
 * Order (docs/policy.md "Evaluation"):
 *  1. request level, in this order: UNSUPPORTED_PAYLOAD (transaction types 3
 *     and 4 unless a rule names them; EIP-191 messages unless an allow rule
 *     has action sign_message), UNKNOWN_KEY, the request id (same id,
 *     key and payload: allowed again as an idempotent replay, nothing new is
 *     charged; same id otherwise: REPLAYED_REQUEST), OUTSIDE_VALIDITY
 *     (notAfter before now or more than max_validity_seconds ahead),
 *     NONCE_CONFLICT (another payload already signed at this key/chain/nonce);
 *  2. deny rules, in document order: the first whose matchers all hold
 *     rejects with DENIED_BY_RULE;
 *  3. allow rules, in document order: the first whose conditions all hold
 *     allows (and its window is charged).
 *  Otherwise the rejection names the applicable rule whose first failing
 *  condition comes latest in the fixed order below (the first such rule on
 *  a tie) and that condition's reason; NO_MATCHING_RULE when no rule applies.
 *
 * Condition order of a rule (rank): applicability = keys, then action and
 * asset (and the transaction type); then 1 chain (CHAIN_NOT_ALLOWED),
 * 2 destination (DESTINATION_NOT_ALLOWED), 3 selector (SELECTOR_NOT_ALLOWED),
 * 4 payload content: typed-data matchers (TYPED_DATA_NOT_ALLOWED) or, for
 * sign_message rules, the message conditions (MESSAGE_NOT_ALLOWED: length
 * over max_length; then for "utf8" rules a message of exactly 32 bytes — the
 * shape of a hash — and a message that is not text; then the prefixes; then
 * the siwe condition — an EIP-4361 message whose address, scheme, domain,
 * URI, Chain ID, times (against `now`), statement and resources hold, in
 * that order; deny rules match prefixes only), 5 amount (AMOUNT_OVER_MAX),
 * 6 native value (VALUE_OVER_MAX; no max_value means no value), 7 validity
 * dates (RULE_NOT_IN_EFFECT), 8 window limit (WINDOW_LIMIT_EXCEEDED),
 * 9 approvals (APPROVAL_INVALID when a presented approval did not count,
 * APPROVALS_MISSING otherwise).
 *
 * Time: `now` is the effective time, max(host clock, largest time the state
 * has seen); the caller computes it (the store keeps the largest time), so
 * windows never reopen when the host clock goes back. A spend at time t
 * counts in a window of S seconds while now < t + S.
 *
 * Secret?: no. Thread-safety: reentrant; the state callbacks are called on
 * the caller's thread.
 */
#ifndef TKM_EVAL_H
#define TKM_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "tkm_approval.h"
#include "tkm_intent.h"
#include "tkm_policy.h"

/* Stable reason codes: X(enum suffix, number). Never renumbered. */
#define TKM_REASON_LIST(X)                                                       \
    X(NONE, 0)                                                                   \
    X(NO_MATCHING_RULE, 1)                                                       \
    X(DENIED_BY_RULE, 2)                                                         \
    X(CHAIN_NOT_ALLOWED, 3)                                                      \
    X(DESTINATION_NOT_ALLOWED, 4)                                                \
    X(SELECTOR_NOT_ALLOWED, 5)                                                   \
    X(TYPED_DATA_NOT_ALLOWED, 6)                                                 \
    X(AMOUNT_OVER_MAX, 7)                                                        \
    X(VALUE_OVER_MAX, 8)                                                         \
    X(RULE_NOT_IN_EFFECT, 9)                                                     \
    X(WINDOW_LIMIT_EXCEEDED, 10)                                                 \
    X(APPROVALS_MISSING, 11)                                                     \
    X(APPROVAL_INVALID, 12)                                                      \
    X(NONCE_CONFLICT, 13)                                                        \
    X(REPLAYED_REQUEST, 14)                                                      \
    X(OUTSIDE_VALIDITY, 15)                                                      \
    X(UNSUPPORTED_PAYLOAD, 16)                                                   \
    X(UNKNOWN_KEY, 17)                                                           \
    X(MESSAGE_NOT_ALLOWED, 18)

typedef enum {
#define TKM_REASON_ENUM_(name, num) TKM_REASON_##name = num,
    TKM_REASON_LIST(TKM_REASON_ENUM_)
#undef TKM_REASON_ENUM_
} tkm_reason;

/* Returns: "NO_MATCHING_RULE", … ("OK" for NONE), or NULL for unknown numbers. */
TKM_API const char *tkm_reason_name(tkm_reason r);
/* Returns: the error code an API answers with (POLICY category). */
TKM_API tkm_err tkm_reason_err(tkm_reason r);

/*
 * Read access to protected state. Every callback returns OK or a store error
 * (which aborts the evaluation with that error: no decision is made).
 */
typedef struct {
    void *ctx;
    /* The recorded request with this id: *found, its key and payload hash. */
    tkm_rc (*request_get)(void *ctx, const char *request_id, int *found, uint8_t key[20],
                          uint8_t payload_hash[32]);
    /* The payload recorded at (key, chain, nonce). */
    tkm_rc (*nonce_get)(void *ctx, const uint8_t key[20], uint64_t chain_id, uint64_t nonce, int *found,
                        uint8_t payload_hash[32]);
    /* Sum of the amounts charged to rule_id in asset_name at times > since. */
    tkm_rc (*window_spent)(void *ctx, const char *rule_id, const char *asset_name, int64_t since,
                           tkm_u256 *spent);
    /* Whether this signer's approval of this digest was already used by a recorded request. */
    tkm_rc (*approval_used)(void *ctx, const uint8_t digest[32], const uint8_t signer[20], int *used);
} tkm_policy_state;

typedef enum { TKM_KEY_ACTIVE = 0, TKM_KEY_UNKNOWN = 1, TKM_KEY_RETIRED = 2 } tkm_key_status;

typedef struct {
    const tkm_policy *policy;
    const tkm_intent *intent;
    tkm_key_status key_status;
    const tkm_approval *approvals; /* may be NULL when n_approvals == 0 */
    size_t n_approvals;            /* <= TKM_APPROVALS_MAX */
    const uint8_t *instance_id;    /* TKM_INSTANCE_ID_LEN bytes */
    int64_t now;                   /* effective time (see above) */
    const tkm_policy_state *state;
} tkm_eval_input;

typedef struct {
    int allow;
    int idempotent;        /* allowed as a replay of a recorded request: nothing to record */
    tkm_reason reason;     /* NONE when allowed */
    long rule;             /* index of the deciding/reported rule, -1 when none */
    char rule_id[TKM_POLICY_NAME_MAX + 1];
    char detail[256];      /* operator-facing explanation, no secrets */
    long asset;            /* the intent's asset in the policy, -1 when not listed */
    int charge;            /* 1: record `amount` against rule_id/asset at `now` */
    tkm_u256 amount;
    size_t n_used;         /* approvals that counted (to record as used) */
    uint8_t used_digest[TKM_APPROVALS_MAX][32];
    uint8_t used_signer[TKM_APPROVALS_MAX][TKM_ETH_ADDR_LEN];
    int64_t now;
} tkm_decision;

/*
 * Evaluate. Out: *d (always filled when OK is returned: allow or a reason).
 * Returns: OK when a decision was made; a state callback's error otherwise
 * (no decision: the caller must not sign).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_policy_evaluate(tkm_decision *d, const tkm_eval_input *in);

#endif
