/*
 * tkm_token.h — typed decoding of token calldata: ERC-20 and ERC-3643 (T-REX).
 *
 * A call is recognised only by a selector from the fixed table below (the
 * first 4 bytes of keccak256 of the canonical signature; the unit tests
 * recompute every one). Anything else is TKM_ERR_ABI_UNKNOWN_SELECTOR: the
 * decoder never guesses a function from the shape of the arguments.
 *
 * Only the canonical ABI encoding (what solc / ethers produce) is accepted:
 *  - calldata shorter than a selector: TKM_ERR_ABI; empty calldata is not a call;
 *  - head or tail cut short: TKM_ERR_TRUNCATED;
 *  - address words whose 12 high bytes are not zero, bool words whose 31
 *    high bytes are not zero, string padding not zero: TKM_ERR_ABI_PADDING;
 *  - a bool other than 0 or 1: TKM_ERR_ABI;
 *  - a dynamic argument whose offset is not exactly where the canonical
 *    encoder puts it (tails in argument order, right after the head, no gap
 *    or overlap), or whose length runs past the calldata: TKM_ERR_ABI_OFFSET;
 *  - bytes after the last tail: TKM_ERR_TRAILING;
 *  - batch calls whose arrays have different lengths: TKM_ERR_ABI (the
 *    contract would revert or silently ignore the extra elements).
 *
 * Lifetime: strings and arrays in a decoded call are views into the calldata
 * given to tkm_token_call_decode; they are valid while it is unchanged. A
 * call owns no memory (nothing to free).
 * Secret?: no. Thread-safety: the table is constant; calls belong to one thread.
 */
#ifndef TKM_TOKEN_H
#define TKM_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "../crypto/crypto.h"

typedef enum {
    TKM_ABI_ADDRESS,
    TKM_ABI_UINT256,
    TKM_ABI_BOOL,
    TKM_ABI_STRING,
    TKM_ABI_ADDRESS_ARRAY,
    TKM_ABI_UINT256_ARRAY,
    TKM_ABI_BOOL_ARRAY,
} tkm_abi_type;

typedef enum {
    /* ERC-20 (and the OpenZeppelin allowance helpers, also in T-REX tokens) */
    TKM_TOKEN_TRANSFER,
    TKM_TOKEN_TRANSFER_FROM,
    TKM_TOKEN_APPROVE,
    TKM_TOKEN_INCREASE_ALLOWANCE,
    TKM_TOKEN_DECREASE_ALLOWANCE,
    /* ERC-3643 token (T-REX IToken) */
    TKM_TOKEN_SET_NAME,
    TKM_TOKEN_SET_SYMBOL,
    TKM_TOKEN_SET_ONCHAIN_ID,
    TKM_TOKEN_PAUSE,
    TKM_TOKEN_UNPAUSE,
    TKM_TOKEN_SET_ADDRESS_FROZEN,
    TKM_TOKEN_FREEZE_PARTIAL_TOKENS,
    TKM_TOKEN_UNFREEZE_PARTIAL_TOKENS,
    TKM_TOKEN_SET_IDENTITY_REGISTRY,
    TKM_TOKEN_SET_COMPLIANCE,
    TKM_TOKEN_FORCED_TRANSFER,
    TKM_TOKEN_MINT,
    TKM_TOKEN_BURN,
    TKM_TOKEN_RECOVERY_ADDRESS,
    TKM_TOKEN_BATCH_TRANSFER,
    TKM_TOKEN_BATCH_FORCED_TRANSFER,
    TKM_TOKEN_BATCH_MINT,
    TKM_TOKEN_BATCH_BURN,
    TKM_TOKEN_BATCH_SET_ADDRESS_FROZEN,
    TKM_TOKEN_BATCH_FREEZE_PARTIAL_TOKENS,
    TKM_TOKEN_BATCH_UNFREEZE_PARTIAL_TOKENS,
    /* T-REX AgentRole / Ownable, called on the token */
    TKM_TOKEN_ADD_AGENT,
    TKM_TOKEN_REMOVE_AGENT,
    TKM_TOKEN_TRANSFER_OWNERSHIP,
    TKM_TOKEN_FN_COUNT
} tkm_token_fn_id;

#define TKM_TOKEN_MAX_ARGS 3

typedef struct {
    tkm_token_fn_id id;
    uint8_t selector[4];
    const char *name;      /* "transfer" */
    const char *signature; /* "transfer(address,uint256)" */
    const char *standard;  /* "ERC-20", "ERC-3643" */
    unsigned n_args;
    tkm_abi_type types[TKM_TOKEN_MAX_ARGS];
    const char *arg_names[TKM_TOKEN_MAX_ARGS];
} tkm_token_fn;

typedef struct {
    tkm_abi_type type;
    uint8_t address[TKM_ETH_ADDR_LEN]; /* TKM_ABI_ADDRESS */
    tkm_u256 uint;                     /* TKM_ABI_UINT256 */
    int boolean;                       /* TKM_ABI_BOOL */
    const uint8_t *bytes;              /* TKM_ABI_STRING: view of len bytes (not NUL-terminated) */
    size_t len;
    const uint8_t *words; /* arrays: view of count validated 32-byte words */
    size_t count;
} tkm_abi_value;

typedef struct {
    const tkm_token_fn *fn; /* into the constant table */
    tkm_abi_value args[TKM_TOKEN_MAX_ARGS];
} tkm_token_call;

/* The table (TKM_TOKEN_FN_COUNT entries, indexed by id). */
TKM_API const tkm_token_fn *tkm_token_fn_table(size_t *count);
/* Returns: the entry for a selector, or NULL when unknown. */
TKM_API const tkm_token_fn *tkm_token_fn_by_selector(const uint8_t selector[static 4]);

/* Decode calldata into *call (cleared first, and on failure). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_token_call_decode(tkm_token_call *call, const uint8_t *data,
                                                     size_t len);

/* Element i of a decoded array argument (i < count and the right type, else misuse). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_abi_array_address(const tkm_abi_value *v, size_t i,
                                                     uint8_t out[static TKM_ETH_ADDR_LEN]);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_abi_array_uint(const tkm_abi_value *v, size_t i, tkm_u256 *out);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_abi_array_bool(const tkm_abi_value *v, size_t i, int *out);

/*
 * The call as JSON (caller json_decref's):
 * {"selector","function","signature","standard","args":[{"name","type","value"}]}
 * with addresses in EIP-55 form, uint256 as decimal strings, bools as JSON
 * booleans, strings as {"hex", and "text" when valid UTF-8}.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_token_call_to_json(const tkm_token_call *call, json_t **out);

#endif
