/*
 * tkm_eip712.h — EIP-712 typed structured data (eth_signTypedData_v4).
 *
 * A typed-data document {types, primaryType, domain, message} is parsed once
 * into an immutable tkm_typed_data object. Parsing validates everything and
 * computes the three hashes:
 *   domainSeparator = hashStruct("EIP712Domain", domain)
 *   structHash      = hashStruct(primaryType, message)
 *   digest          = keccak256(0x19 0x01 ‖ domainSeparator ‖ structHash)
 * so that a parsed object is always one whose digest is known. Policy code
 * then reads the domain fields and message fields through typed accessors;
 * every accessor decodes with the same rules as the hashing did.
 *
 * Rules (docs/eip712.md has the full table and the comparison with ethers v6
 * and MetaMask):
 *  - Types: struct names match [A-Za-z_][A-Za-z0-9_]* and field names
 *    [A-Za-z_$][A-Za-z0-9_$]* (at most 64 characters). Field types are
 *    uint8..uint256 and int8..int256 (multiples of 8), bytes1..bytes32,
 *    bool, address, bytes, string, a declared struct, or any of those followed
 *    by array dimensions "[]" / "[N]" (N >= 1, no leading zero), outermost
 *    last: "T[2][]" is a dynamic array of T[2]. The aliases "uint", "int",
 *    "byte" and fixed-point types are refused (wallets disagree on them).
 *  - Every type other than EIP712Domain must be reachable from primaryType
 *    (ethers' rule; no unused types); cycles are refused; primaryType may not
 *    be EIP712Domain.
 *  - types.EIP712Domain is required and lists a subset of name (string),
 *    version (string), chainId (uint256), verifyingContract (address),
 *    salt (bytes32), in that order; domain holds exactly those fields.
 *  - Values: integers as JSON integers within ±(2^53-1), canonical decimal
 *    strings ("-" only for intN), or "0x" + 1..64 hex digits (never
 *    negative); bool only as true/false; address as "0x" + 40 hex digits,
 *    EIP-55 checksum enforced when mixed case; bytesN as "0x" + exactly 2N
 *    hex digits; bytes as "0x" + an even number of hex digits; string as a
 *    JSON string. Structs carry exactly their declared fields; fixed arrays
 *    exactly their length. JSON null is never a value.
 *  - Bounds (tkm_eip712_limits): document size, value nesting depth, number
 *    of types and fields, array length, number of values and encodeType bytes
 *    are all capped, so work and memory are linear in a bounded input.
 *
 * Errors name the offending path in tkm_err_detail(), e.g.
 * "message.from.wallet: mixed-case address does not match its checksum" or
 * "types.Mail[1].type: unknown type \"Persn\"". Codes: TKM_ERR_TYPED_DATA
 * (structure), TKM_ERR_TYPED_DATA_UNKNOWN_TYPE, TKM_ERR_TYPED_DATA_CYCLE,
 * TKM_ERR_TYPED_DATA_DUPLICATE, TKM_ERR_TYPED_DATA_DOMAIN,
 * TKM_ERR_JSON_MISSING / TKM_ERR_JSON_UNKNOWN_FIELD (missing / extra field),
 * TKM_ERR_JSON_TYPE (wrong JSON type or null), TKM_ERR_RANGE (out of range),
 * TKM_ERR_DECIMAL / TKM_ERR_QUANTITY (malformed number string),
 * TKM_ERR_ADDRESS / TKM_ERR_CHECKSUM, TKM_ERR_HEX* (bytes), TKM_ERR_TOO_LARGE
 * and TKM_ERR_JSON_DEPTH (limits), and the loader's TKM_ERR_JSON* codes
 * (duplicate keys, which includes duplicate type names, are TKM_ERR_JSON_DUPLICATE).
 *
 * Ownership: tkm_typed_data_parse / _from_json return an object the caller
 * frees with tkm_typed_data_free (NULL-safe). Every pointer an accessor
 * returns (strings, type names, hashes, the domain) borrows from the object
 * and lives until it is freed.
 * NULL: pointers are non-NULL unless stated (a NULL is a caller bug: the
 * misuse handler fires, TKM_ERR_MISUSE); `lim` may be NULL (defaults).
 * Secrets: none (typed data is public; nothing here touches keys).
 * Thread-safety: parsing is reentrant; a parsed object is immutable, so any
 * number of threads may call the const accessors on it concurrently.
 */
#ifndef TKM_EIP712_H
#define TKM_EIP712_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "../crypto/crypto.h"

#define TKM_EIP712_HASH_LEN 32
#define TKM_EIP712_MAX_NAME 64  /* characters in a type or field name */
#define TKM_EIP712_MAX_DIMS 24  /* array dimensions of one type (Seaport bulk orders use up to 24) */

typedef struct tkm_typed_data tkm_typed_data;

/* Bounds on a document; a zero field takes the default shown. */
typedef struct {
    size_t max_bytes;        /* JSON document size (parse only); default 1 MiB */
    unsigned max_depth;      /* nesting of structs and arrays inside a value; default 32, at most 64 */
    size_t max_types;        /* struct types including EIP712Domain; default 64, at most 1024 */
    size_t max_fields;       /* fields of one struct; default 64, at most 1024 */
    size_t max_array_len;    /* elements of one array (and declared fixed sizes); default 10000, at most 2^24 */
    size_t max_values;       /* values (atomic, struct, array) in domain + message; default 100000 */
    size_t max_encode_bytes; /* sum of the encodeType lengths of all types; default 256 KiB */
} tkm_eip712_limits;

/* Bits of tkm_eip712_domain.fields, in the canonical EIP-712 order. */
enum {
    TKM_EIP712_DOMAIN_NAME = 1u << 0,
    TKM_EIP712_DOMAIN_VERSION = 1u << 1,
    TKM_EIP712_DOMAIN_CHAIN_ID = 1u << 2,
    TKM_EIP712_DOMAIN_VERIFYING_CONTRACT = 1u << 3,
    TKM_EIP712_DOMAIN_SALT = 1u << 4,
};

/*
 * The EIP712Domain values. Only the fields whose bit is set in `fields` are
 * meaningful (the others are zero / NULL). name and version are
 * NUL-terminated UTF-8 and never contain an embedded NUL (refused at parse),
 * so strcmp is a safe comparison; their lengths are given too.
 */
typedef struct {
    unsigned fields;
    const char *name;
    size_t name_len;
    const char *version;
    size_t version_len;
    tkm_u256 chain_id;
    uint8_t verifying_contract[TKM_ETH_ADDR_LEN];
    uint8_t salt[32];
} tkm_eip712_domain;

typedef struct {
    uint8_t domain_separator[TKM_EIP712_HASH_LEN];
    uint8_t struct_hash[TKM_EIP712_HASH_LEN];
    uint8_t digest[TKM_EIP712_HASH_LEN];
} tkm_eip712_hashes;

/* ---- parsing ---- */

/*
 * Parse and hash a JSON typed-data document json[0..len).
 * Out: *out on success (caller frees with tkm_typed_data_free), NULL on failure.
 * Returns: OK or one of the codes listed at the top, detail naming the path.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_typed_data_parse(tkm_typed_data **out, const uint8_t *json,
                                                    size_t len, const tkm_eip712_limits *lim);
/*
 * Same from an already loaded JSON object (e.g. the second parameter of an
 * eth_signTypedData_v4 request). The object is deep-copied: later changes to
 * `root` do not affect the result. The caller should have loaded `root` with
 * tkm_json_load (duplicate keys, size and depth checked there).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_typed_data_from_json(tkm_typed_data **out, const json_t *root,
                                                        const tkm_eip712_limits *lim);
TKM_API void tkm_typed_data_free(tkm_typed_data *td);

/* ---- results ---- */

/* Returns: the domain separator, struct hash of the primary type, and digest. */
TKM_API const tkm_eip712_hashes *tkm_typed_data_hashes(const tkm_typed_data *td);
/* Returns: the domain values. */
TKM_API const tkm_eip712_domain *tkm_typed_data_domain(const tkm_typed_data *td);
/* Returns: primaryType (NUL-terminated identifier). */
TKM_API const char *tkm_typed_data_primary_type(const tkm_typed_data *td);

/*
 * encodeType of a declared struct type (the type, then its dependencies sorted
 * by name), e.g. "Mail(Person from,Person to,string contents)Person(string name,address wallet)".
 * Out: *s (NUL-terminated, borrowed from td), *len (len may be NULL).
 * Returns: OK; TKM_ERR_TYPED_DATA_UNKNOWN_TYPE when `type` is not declared.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_typed_data_encode_type(const tkm_typed_data *td, const char *type,
                                                          const char **s, size_t *len);
/* typeHash = keccak256(encodeType). Same errors. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_typed_data_type_hash(const tkm_typed_data *td, const char *type,
                                                        uint8_t out[static TKM_EIP712_HASH_LEN]);
/*
 * Append encodeData(primaryType, message) — typeHash ‖ one 32-byte word per
 * field — to w (for test vectors and diagnostics; structHash is its keccak).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_typed_data_encode_data(const tkm_typed_data *td, tkm_wr *w);

/*
 * Recover the signer of the digest from a 65-byte r ‖ s ‖ v signature as
 * wallets return it (v = 27/28; 0/1 also accepted). s must be low (EIP-2).
 * Out: addr. Returns: OK, TKM_ERR_BAD_SIGNATURE, TKM_ERR_HIGH_S, TKM_ERR_RECOVER.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_typed_data_recover(const tkm_typed_data *td,
                                                      uint8_t addr[static TKM_ETH_ADDR_LEN],
                                                      const uint8_t *sig, size_t sig_len);

/* ---- message accessors (for policy matchers) ----
 *
 * A path names a value inside the message: field names joined by ".", array
 * elements by "[i]": "owner", "details.token", "details[0].amount",
 * "tree[1][0]". "" is the message itself. A path that does not exist, or a
 * getter that does not match the declared type, is TKM_ERR_TYPED_DATA_FIELD
 * (with the path in the detail); the out-parameters are then zeroed.
 * Match a schema by primaryType and tkm_typed_data_type_hash (which covers
 * every field name and type), then read its fields; e.g. EIP-2612 Permit is
 * "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)".
 */

/*
 * Out: *type, *len — the declared type of the value, e.g. "uint256",
 * "Person[]", "Person" (borrowed; not NUL-terminated for array elements).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_typed_data_type_of(const tkm_typed_data *td, const char *path,
                                                      const char **type, size_t *len);
/* Out: *n, the element count of an array value. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_typed_data_array_len(const tkm_typed_data *td, const char *path,
                                                        size_t *n);
/* uintN. Out: *v. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_typed_data_get_uint(const tkm_typed_data *td, const char *path,
                                                       tkm_u256 *v);
/* intN. Out: *magnitude (|v|) and *negative (1 when v < 0). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_typed_data_get_int(const tkm_typed_data *td, const char *path,
                                                      tkm_u256 *magnitude, int *negative);
/* bool. Out: *v (0 or 1). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_typed_data_get_bool(const tkm_typed_data *td, const char *path,
                                                       int *v);
/* address. Out: addr. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_typed_data_get_address(const tkm_typed_data *td, const char *path,
                                                          uint8_t addr[static TKM_ETH_ADDR_LEN]);
/* bytes or bytesN. Out: *out (malloc'd, NULL when empty; caller frees), *len. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_typed_data_get_bytes(const tkm_typed_data *td, const char *path,
                                                        uint8_t **out, size_t *len);
/* string. Out: *s (borrowed, NUL-terminated, may contain NUL bytes: use *len), *len. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_typed_data_get_string(const tkm_typed_data *td, const char *path,
                                                         const char **s, size_t *len);

/* ---- building blocks (for structs built in C, e.g. teekm's own Approval) ---- */

/* domainSeparator of a domain given as values (fields as in tkm_eip712_domain). */
TKM_API void tkm_eip712_domain_separator(uint8_t out[static TKM_EIP712_HASH_LEN],
                                         const tkm_eip712_domain *d);
/*
 * hashStruct = keccak256(keccak256(encode_type) ‖ words), where words holds
 * n_words 32-byte encoded field values (the caller encodes them: atomic
 * values as 32-byte words, strings/bytes as their keccak256, structs as their
 * hashStruct). encode_type must be the full encodeType string.
 */
TKM_API void tkm_eip712_hash_struct(uint8_t out[static TKM_EIP712_HASH_LEN], const char *encode_type,
                                    size_t encode_type_len, const uint8_t *words, size_t n_words);
/* digest = keccak256(0x1901 ‖ domain_separator ‖ struct_hash). */
TKM_API void tkm_eip712_digest(uint8_t out[static TKM_EIP712_HASH_LEN],
                               const uint8_t domain_separator[static TKM_EIP712_HASH_LEN],
                               const uint8_t struct_hash[static TKM_EIP712_HASH_LEN]);

#endif
