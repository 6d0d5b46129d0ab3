/*
 * tkm_request.h — a signing request and the intent built from it.
 *
 * Request JSON (docs/policy.md "Requests"), strict (unknown fields refused,
 * paths in error details):
 *   {"requestId": "…", "key": "<label>", "tx": {…} | "typedData": {…} | "message": "0x…",
 *    "approvals": ["0x…" | {"signature","expiresAt","signer"}, …],
 *    "notAfter": <unix seconds>}
 * tx is an eth_signTransaction object (JSON-RPC shape, parsed by the eth
 * module); typedData an eth_signTypedData_v4 document; message the bytes of
 * an EIP-191 personal message as 0x hex (what personal_sign / eth_sign carry;
 * at most TKM_REQUEST_MESSAGE_MAX bytes). Exactly one of them.
 *
 * Building the intent (tkm_intent_build) needs the key's address (from the
 * caller's key registry) and the active policy (which token contracts are
 * listed assets). A payload that cannot be reduced to an intent yields
 * reason UNSUPPORTED_PAYLOAD with an explanation, not an error.
 *
 * Ownership: tkm_request_parse fills a request that owns its payload; free it
 * with tkm_request_free (NULL-safe, idempotent).
 * Secret?: no. Thread-safety: a request belongs to one thread.
 */
#ifndef TKM_REQUEST_H
#define TKM_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "../eth/eth.h"
#include "tkm_approval.h"
#include "tkm_eval.h"
#include "tkm_intent.h"
#include "tkm_policy.h"

#define TKM_REQUEST_MAX_BYTES ((size_t)4 << 20)
#define TKM_REQUEST_MESSAGE_MAX ((size_t)1 << 20) /* bytes of one personal message */

/* EIP-191 version 0x45: the prefix of a personal message's digest. */
#define TKM_EIP191_PREFIX "\x19" "Ethereum Signed Message:\n"

typedef struct {
    char request_id[TKM_REQUEST_ID_MAX + 1];
    char key_label[TKM_POLICY_NAME_MAX + 1];
    int64_t not_after;
    tkm_approval approvals[TKM_APPROVALS_MAX];
    size_t n_approvals;
    int approvals_bad;        /* an approval was malformed: the request is refused (APPROVAL_INVALID) */
    char approvals_why[160];
    int has_tx;
    tkm_tx tx;               /* when has_tx */
    tkm_typed_data *td;      /* typed data */
    int has_msg;             /* a personal message (msg may be NULL when msg_len is 0) */
    uint8_t *msg;
    size_t msg_len;
} tkm_request;

/*
 * The EIP-191 (version 0x45) digest of a personal message:
 * keccak256("\x19Ethereum Signed Message:\n" ‖ decimal len ‖ msg), what
 * eth_sign / personal_sign sign. msg may be NULL when len is 0.
 */
TKM_API void tkm_eip191_digest(uint8_t out[static 32], const uint8_t *msg, size_t len);

/*
 * Parse a request document. Out: *r (free with tkm_request_free, also after
 * a failure). A malformed approval does not fail the parse: it sets
 * approvals_bad (so the service can answer APPROVAL_INVALID and audit it).
 * Returns: OK; TKM_ERR_REQUEST / JSON / eth parse codes with the path.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_request_parse(tkm_request *r, const uint8_t *json, size_t len);
/* The same from a loaded object (borrowed). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_request_from_json(tkm_request *r, const json_t *obj);
TKM_API void tkm_request_free(tkm_request *r);

/*
 * Build the intent of r for the key at key_addr under policy p.
 * Out: *it; *unsupported = 1 with why[0..why_cap) when the payload cannot be
 * signed under any policy (it is then only partially filled: request id, key,
 * payload hash when known).
 * Returns: OK (check *unsupported); TKM_ERR_* on internal failure.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_intent_build(tkm_intent *it, int *unsupported, char *why, size_t why_cap,
                                                const tkm_request *r, const uint8_t key_addr[static 20],
                                                const tkm_policy *p);

/* Returns: 1 when s is a valid key label (1-64 of A-Z a-z 0-9 _ . -). */
TKM_API int tkm_key_label_ok(const char *s, size_t n);

#endif
