/*
 * tkm_intent.h — a signing intent: what one request would do, reduced to the
 * facts a policy looks at.
 *
 * Builders (tkm_intent_from_*) fill it from a parsed transaction or EIP-712
 * document (see docs/policy.md "Intents"); tkm_intent_to_json renders it for
 * answers and audit records. An intent holds no pointers: copy it freely.
 *
 * Field rules:
 *  - key: the label and address of the key that would sign.
 *  - chain_id: the transaction's chain id, or the EIP-712 domain chainId
 *    (has_chain_id = 0 when a typed-data domain has none).
 *  - asset: what moves. NATIVE for value transfers (and the native value of
 *    calls), CONTRACT for ERC-20/ERC-3643 calls and EIP-2612 permits to a
 *    token contract, NONE otherwise. Whether the policy lists it is decided
 *    at evaluation (tkm_policy_asset_find).
 *  - to: the destination (transfer recipient, approve/permit spender, called
 *    contract, typed-data verifyingContract); has_to = 0 for deployments.
 *  - amount: base units moved or approved (transfer, approve), the native
 *    value for contract_call and deploy; has_amount = 0 for typed_data.
 *  - value: native value attached to the transaction (wei).
 *  - selector / calldata_hash: first 4 bytes and Keccak-256 of the calldata.
 *  - nonce: the transaction nonce (has_nonce = 0 for typed data).
 *  - payload_hash: the transaction signing hash, the EIP-712 digest, or the
 *    EIP-191 digest keccak256("\x19Ethereum Signed Message:\n" ‖ decimal
 *    length ‖ message) of a personal message.
 *  - msg_*: personal messages (payload MESSAGE, action sign_message; no
 *    chain, asset, destination or amount): msg_len the message's length,
 *    msg_text whether it is text (tkm_policy_message_is_text; only computed
 *    up to TKM_POLICY_MSG_MAX bytes — a longer message is no rule's business
 *    but its length), msg_head its first min(msg_len, TKM_POLICY_MSG_PREFIX_MAX)
 *    bytes (what prefix conditions compare). The content is never rendered.
 *  - msg_siwe: a message of at most TKM_POLICY_MSG_MAX bytes is parsed as
 *    Sign-In with Ethereum (tkm_siwe_parse, for siwe conditions): msg_siwe = 1
 *    with the fields in siwe, whose spans index msg_body (a copy of the
 *    message); otherwise msg_siwe_why says why it is not one (a line and a
 *    field, no content). Rendered: domain, scheme, chain id, nonce, times and
 *    the number of resources (docs/policy.md "Sign-In with Ethereum").
 *  - not_after: the request's validity end (unix seconds).
 * Secret?: no. Thread-safety: plain data.
 */
#ifndef TKM_INTENT_H
#define TKM_INTENT_H

#include <stddef.h>
#include <stdint.h>

#include "../eth/tkm_siwe.h"
#include "tkm_policy.h"

#define TKM_REQUEST_ID_MAX 128

typedef enum { TKM_PAYLOAD_TX = 1, TKM_PAYLOAD_TYPED_DATA = 2, TKM_PAYLOAD_MESSAGE = 3 } tkm_payload_kind;
typedef enum { TKM_ASSET_NONE = 0, TKM_ASSET_NATIVE = 1, TKM_ASSET_CONTRACT = 2 } tkm_asset_kind;

typedef struct {
    char request_id[TKM_REQUEST_ID_MAX + 1];
    char key_label[TKM_POLICY_NAME_MAX + 1];
    uint8_t key[TKM_ETH_ADDR_LEN];
    tkm_payload_kind payload;
    unsigned tx_type; /* 0..4, transactions only */
    int has_chain_id;
    uint64_t chain_id;
    tkm_action action;
    tkm_asset_kind asset_kind;
    uint8_t asset_contract[TKM_ETH_ADDR_LEN];
    int has_to;
    uint8_t to[TKM_ETH_ADDR_LEN];
    int has_amount;
    tkm_u256 amount;
    tkm_u256 value;
    int has_selector;
    uint8_t selector[4];
    int has_calldata;
    uint8_t calldata_hash[TKM_KECCAK256_LEN];
    int has_nonce;
    uint64_t nonce;
    uint8_t payload_hash[TKM_KECCAK256_LEN];
    /* typed data: domain name/version/verifyingContract and primaryType */
    int has_td_name, has_td_version, has_td_verifying_contract;
    char td_name[TKM_POLICY_TD_STR_MAX + 1];
    char td_version[TKM_POLICY_TD_STR_MAX + 1];
    uint8_t td_verifying_contract[TKM_ETH_ADDR_LEN];
    char td_primary_type[TKM_POLICY_TD_STR_MAX + 1];
    /* EIP-191 personal message */
    size_t msg_len;
    int msg_text;
    size_t msg_head_len;
    uint8_t msg_head[TKM_POLICY_MSG_PREFIX_MAX];
    int msg_siwe;
    tkm_siwe_msg siwe;
    char msg_siwe_why[160];
    uint8_t msg_body[TKM_POLICY_MSG_MAX]; /* msg_siwe only */
    int64_t not_after;
} tkm_intent;

/* Returns: 1 when s[0..n) is a valid request id: 1-128 of [A-Za-z0-9._:-]. */
TKM_API int tkm_request_id_ok(const char *s, size_t n);

/*
 * Read a hand-written intent (tests, tools): an object with the fields of
 * docs/policy.md "Intent JSON". Strict: unknown fields rejected, paths in the
 * error detail. Personal messages are refused here (their content is not part
 * of the JSON form): build them from a request. Out: *out (zeroed on failure).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_intent_from_json(tkm_intent *out, const json_t *obj);

/*
 * Render an intent as a JSON object (decimal amounts, 0x hex, EIP-55
 * addresses, the asset name when the policy lists it; p may be NULL).
 * Out: *out (caller json_decref's).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_intent_to_json(json_t **out, const tkm_intent *in, const tkm_policy *p);

#endif
