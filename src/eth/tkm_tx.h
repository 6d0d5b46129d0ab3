/*
 * tkm_tx.h — Ethereum transactions: one struct for every supported type.
 *
 *   type 0  legacy, signed with EIP-155 replay protection (chain id in v)
 *   type 1  EIP-2930 access list
 *   type 2  EIP-1559 dynamic fee
 *   type 3  EIP-4844 blob transaction, in the network-less "signed transaction"
 *           form (blob versioned hashes only; no blobs, commitments or proofs)
 *   type 4  EIP-7702 set-code transaction with its authorization list
 *
 * What this header gives:
 *  - tkm_tx_from_json*: a request in the JSON-RPC shape of eth_signTransaction
 *    (see docs/transactions.md for every rule: which fields, how `type` is
 *    inferred, what is contradictory);
 *  - tkm_tx_decode_signed: a signed raw transaction, with its signature checked
 *    (low s, v / yParity rules per type) and its sender recovered;
 *  - tkm_tx_signing_hash, tkm_tx_encode_signed, tkm_tx_hash;
 *  - tkm_tx_sign: the only signing entry point, over a parsed tkm_tx.
 *    There is no function that signs caller-supplied bytes or digests.
 *  - tkm_tx_to_json: the decoded view printed by `teekm tx decode`.
 *
 * Validity rules applied to every transaction, parsed or decoded
 * (TKM_ERR_TX with a detail unless stated):
 *  - nonce < 2^64-1 (EIP-2681); gas fits 64 bits; other quantities 256 bits;
 *  - gas * (gasPrice or maxFeePerGas) fits 256 bits;
 *  - maxPriorityFeePerGas <= maxFeePerGas (types 2-4);
 *  - types 3 and 4 have a destination; type 3 has 1..TKM_TX_MAX_BLOB_HASHES
 *    versioned hashes, each starting with 0x01; type 4 has a non-empty
 *    authorization list;
 *  - size caps below (TKM_ERR_TOO_LARGE / TKM_ERR_RLP_ITEMS).
 * A decoded legacy transaction without EIP-155 (v = 27/28) is reported with
 * eip155 = 0 and no chain id; it can be decoded but never signed.
 * Whether the chain id is acceptable is the caller's decision
 * (tkm_tx_check_chain_id); chain id 0 is decoded but refused for signing.
 *
 * Ownership: a tkm_tx owns its variable-length fields (data, lists); release
 * them with tkm_tx_free (NULL-safe, idempotent). Functions that fill a tkm_tx
 * start by clearing it (do not pass one that still owns memory: free it
 * first) and leave it cleared on failure.
 * Secret?: only the tkm_secret given to tkm_tx_sign. Transactions are public.
 * Thread-safety: a tkm_tx belongs to one thread; functions keep no state.
 */
#ifndef TKM_TX_H
#define TKM_TX_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "../crypto/crypto.h"

/* Size caps (a signer has no use for more; see docs/transactions.md). */
#define TKM_TX_MAX_RAW ((size_t)1 << 20)          /* signed raw transaction bytes */
#define TKM_TX_MAX_JSON ((size_t)4 << 20)         /* JSON request bytes */
#define TKM_TX_JSON_MAX_DEPTH 8                   /* JSON request nesting */
#define TKM_TX_MAX_DATA ((size_t)512 << 10)       /* data / input bytes */
#define TKM_TX_MAX_ACCESS_ENTRIES 4096            /* addresses in an access list */
#define TKM_TX_MAX_STORAGE_KEYS 16384             /* storage keys, all entries together */
#define TKM_TX_MAX_AUTHORIZATIONS 256             /* EIP-7702 authorizations */
#define TKM_TX_MAX_BLOB_HASHES 64                 /* EIP-4844 versioned hashes */

#define TKM_TX_HASH_LEN 32

typedef enum {
    TKM_TX_LEGACY = 0,
    TKM_TX_EIP2930 = 1,
    TKM_TX_EIP1559 = 2,
    TKM_TX_EIP4844 = 3,
    TKM_TX_EIP7702 = 4,
} tkm_tx_type;

typedef struct {
    uint8_t address[TKM_ETH_ADDR_LEN];
    uint8_t (*keys)[32]; /* owned */
    size_t n_keys;
} tkm_tx_access;

/* One EIP-7702 authorization: rlp([chain_id, address, nonce, y_parity, r, s]). */
typedef struct {
    tkm_u256 chain_id; /* 0 = valid on any chain */
    uint8_t address[TKM_ETH_ADDR_LEN];
    uint64_t nonce;
    uint8_t y_parity; /* as encoded (0..255); only 0 and 1 can recover */
    tkm_u256 r, s;
    /*
     * Filled by tkm_tx_decode_signed / tkm_tx_from_json: the authority
     * (signer) recovered from keccak(0x05 ‖ rlp([chain_id, address, nonce])).
     * An authorization that does not recover (high s, bad parity, r or s out
     * of range) does not make the transaction invalid — the EVM skips it — so
     * it is reported here: authority_err != TKM_OK and authority zeroed.
     */
    tkm_err authority_err;
    uint8_t authority[TKM_ETH_ADDR_LEN];
} tkm_tx_auth;

typedef struct {
    tkm_tx_type type;
    int eip155;        /* type 0: 1 when the chain id takes part in the signature */
    tkm_u256 chain_id; /* meaningful unless type 0 with eip155 == 0 */
    uint64_t nonce;
    tkm_u256 gas_price;                /* types 0, 1 */
    tkm_u256 max_priority_fee_per_gas; /* types 2, 3, 4 */
    tkm_u256 max_fee_per_gas;          /* types 2, 3, 4 */
    uint64_t gas;
    int has_to; /* 0: contract creation (types 0-2 only) */
    uint8_t to[TKM_ETH_ADDR_LEN];
    tkm_u256 value;
    uint8_t *data; /* owned; NULL when data_len == 0 */
    size_t data_len;
    tkm_tx_access *access_list; /* types 1-4; owned */
    size_t n_access;
    tkm_u256 max_fee_per_blob_gas; /* type 3 */
    uint8_t (*blob_hashes)[32];    /* type 3; owned */
    size_t n_blob_hashes;
    tkm_tx_auth *auths; /* type 4; owned */
    size_t n_auths;

    /*
     * The sender: from a JSON request, the optional `from` (must then match
     * the signing key); after tkm_tx_decode_signed or tkm_tx_sign, the signer.
     */
    int has_from;
    uint8_t from[TKM_ETH_ADDR_LEN];

    /* Signature: set by tkm_tx_decode_signed and tkm_tx_sign. */
    int is_signed;
    uint8_t y_parity; /* 0 or 1 (legacy: from v) */
    uint8_t r[32], s[32];
} tkm_tx;

/* A zeroed, unsigned type-0 transaction that owns nothing. */
TKM_API void tkm_tx_init(tkm_tx *tx);
/* Release what tx owns and zero it. NULL-safe. */
TKM_API void tkm_tx_free(tkm_tx *tx);

/*
 * Parse an eth_signTransaction request object (JSON text, at most
 * TKM_TX_MAX_JSON bytes, nesting at most TKM_TX_JSON_MAX_DEPTH).
 * Out: *tx (unsigned; has_from when given). Gives exactly what
 * tkm_json_load + tkm_tx_from_json_value give for the same text (a
 * tokenizer handles the plain shape most requests have without building
 * a jansson tree, and hands anything else to jansson).
 * Errors name the offending field in tkm_err_detail(): TKM_ERR_JSON_*,
 * TKM_ERR_QUANTITY, TKM_ERR_OVERFLOW, TKM_ERR_ADDRESS/CHECKSUM, TKM_ERR_HEX*,
 * TKM_ERR_TX_TYPE (unknown type), TKM_ERR_TX_FIELD (field not valid for the
 * type), TKM_ERR_TX_AMBIGUOUS (contradictory fields, or a type that cannot be
 * inferred), TKM_ERR_TX_CHAIN_ID (chainId missing), TKM_ERR_TX.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tx_from_json(tkm_tx *tx, const uint8_t *json, size_t len);
/* Same from an already-loaded object (borrowed; not kept). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tx_from_json_value(tkm_tx *tx, const json_t *obj);

/*
 * Decode a signed raw transaction (legacy RLP list, or type byte ‖ RLP),
 * check its signature and recover the sender.
 * Out: *tx (is_signed = 1, has_from = 1, from = the recovered sender).
 * Errors: RLP codes (tkm_rlp.h), TKM_ERR_TX_TYPE, TKM_ERR_TX (field count,
 * validity rules), TKM_ERR_ADDRESS (to / access-list address not 20 bytes),
 * TKM_ERR_OVERFLOW, TKM_ERR_BAD_SIGNATURE (v/yParity, r or s out of range),
 * TKM_ERR_HIGH_S, TKM_ERR_RECOVER, TKM_ERR_TOO_LARGE.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tx_decode_signed(tkm_tx *tx, const uint8_t *raw, size_t raw_len);

/*
 * Returns: OK when tx is replay-protected for chain_id; TKM_ERR_TX_CHAIN_ID
 * for a legacy transaction without EIP-155; TKM_ERR_TX_CHAIN_MISMATCH otherwise.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tx_check_chain_id(const tkm_tx *tx, const tkm_u256 *chain_id);

/* Apply the validity rules listed above (done by every parser; exposed for callers that build a tkm_tx). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tx_validate(const tkm_tx *tx);

/* Out: the hash the signature covers (type 0: EIP-155 form unless eip155 == 0). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tx_signing_hash(const tkm_tx *tx,
                                                   uint8_t out[static TKM_TX_HASH_LEN]);
/* Append the signed serialization (what eth_sendRawTransaction takes). tx must be signed. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tx_encode_signed(const tkm_tx *tx, tkm_wr *w);
/* Out: keccak256 of the signed serialization (the transaction hash). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tx_hash(const tkm_tx *tx, uint8_t out[static TKM_TX_HASH_LEN]);

/*
 * Sign tx with sk, whose address the caller knows (key_addr: from its key
 * record, so no public-key derivation runs on the hot path).
 * Refuses: a legacy transaction without EIP-155 or a chain id of 0
 * (TKM_ERR_TX_CHAIN_ID); a chain id so large that v = 2·id + 36 overflows
 * 256 bits (TKM_ERR_RANGE); has_from with a different address
 * (TKM_ERR_TX_AMBIGUOUS); anything tkm_tx_validate refuses.
 * Out: the signature fields of tx; is_signed = 1; from = key_addr.
 * Secret?: sk is only read inside tkm_secp_sign.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tx_sign(tkm_tx *tx, const tkm_secret *sk,
                                           const uint8_t key_addr[static TKM_ETH_ADDR_LEN]);

/*
 * The decoded view as a JSON object (caller json_decref's): type, chainId,
 * nonce, fee fields of the type, gas, to (EIP-55 or null), value, data,
 * accessList, maxFeePerBlobGas, blobVersionedHashes, authorizationList
 * (with each authority or the reason it does not recover); when signed also
 * v (type 0), yParity, r, s, hash; from when known; always signingHash.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_tx_to_json(const tkm_tx *tx, json_t **out);

#endif
