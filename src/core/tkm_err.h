/*
 * tkm_err.h — the one error list of teekm.
 *
 * Conventions (whole project):
 *  - Every fallible function returns tkm_rc (a one-field struct marked
 *    warn_unused_result), never a bare int. TKM_OK is the only success.
 *  - Bad input returns an error code. A caller bug (NULL where not allowed,
 *    impossible length, wrong state) goes through TKM_ARG_CHECK, which calls
 *    the misuse handler (abort by default) and returns TKM_ERR_MISUSE.
 *  - Codes and names are stable: a code is never renumbered or reused. New
 *    codes are appended inside their category block with the next free number.
 *  - The category is part of the code (code / 100), so the API layer maps a
 *    category to an HTTP status without a long switch.
 *  - Error messages never contain secrets. A detail string (what field, what
 *    path) may be attached with tkm_err_detail_set(); it is thread-local and
 *    must never carry key material either.
 */
#ifndef TKM_ERR_H
#define TKM_ERR_H

#include <stddef.h>

#define TKM_WARN_UNUSED __attribute__((warn_unused_result))
#define TKM_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define TKM_API __attribute__((visibility("default")))

/* Categories: the hundreds digit of every code. */
typedef enum {
    TKM_CAT_OK = 0,
    TKM_CAT_IO = 1,       /* files, sockets, OS */
    TKM_CAT_PARSE = 2,    /* malformed untrusted input */
    TKM_CAT_CRYPTO = 3,   /* signature, MAC, key failures */
    TKM_CAT_POLICY = 4,   /* request refused by policy */
    TKM_CAT_STORE = 5,    /* protected state */
    TKM_CAT_TEE = 6,      /* platform / attestation */
    TKM_CAT_AUTH = 7,     /* caller identity and permissions */
    TKM_CAT_LIMIT = 8,    /* resource limits */
    TKM_CAT_MISUSE = 9,   /* programming errors, internal */
} tkm_err_cat;

/*
 * X(name, number, message). Keep sorted by number inside each block.
 * Module owners append to their block only.
 */
#define TKM_ERR_LIST(X)                                                          \
    X(TKM_OK, 0, "ok")                                                           \
    /* IO 1xx */                                                                 \
    X(TKM_ERR_IO, 100, "i/o error")                                              \
    X(TKM_ERR_NOT_FOUND, 101, "not found")                                       \
    X(TKM_ERR_EXISTS, 102, "already exists")                                     \
    X(TKM_ERR_PERMISSIONS, 103, "file permissions are too open")                 \
    X(TKM_ERR_NOMEM, 104, "out of memory")                                       \
    X(TKM_ERR_ENTROPY, 105, "entropy source failed its health check")            \
    X(TKM_ERR_MLOCK, 106, "cannot lock memory for secrets")                      \
    X(TKM_ERR_NETWORK, 107, "network error")                                     \
    X(TKM_ERR_TIMEOUT, 108, "operation timed out")                               \
    X(TKM_ERR_UNAVAILABLE, 109, "service unavailable")                           \
    X(TKM_ERR_TLS, 110, "TLS setup or handshake failed")                         \
    X(TKM_ERR_LISTEN, 111, "cannot listen on the address")                       \
    X(TKM_ERR_HTTP_STATUS, 112, "server answered with an error status")          \
    X(TKM_ERR_SHUTTING_DOWN, 113, "service is shutting down")                    \
    /* PARSE 2xx */                                                              \
    X(TKM_ERR_TRUNCATED, 200, "input truncated")                                 \
    X(TKM_ERR_TRAILING, 201, "trailing bytes after input")                       \
    X(TKM_ERR_HEX, 202, "invalid hex string")                                    \
    X(TKM_ERR_HEX_PREFIX, 203, "hex string 0x prefix rules violated")            \
    X(TKM_ERR_HEX_ODD, 204, "hex string has odd length")                         \
    X(TKM_ERR_JSON, 205, "malformed JSON")                                       \
    X(TKM_ERR_JSON_DUPLICATE, 206, "duplicate key in JSON object")               \
    X(TKM_ERR_JSON_DEPTH, 207, "JSON nested too deeply")                         \
    X(TKM_ERR_JSON_SIZE, 208, "JSON document too large")                         \
    X(TKM_ERR_JSON_TYPE, 209, "JSON value has the wrong type")                   \
    X(TKM_ERR_JSON_MISSING, 210, "required JSON field missing")                  \
    X(TKM_ERR_JSON_UNKNOWN_FIELD, 211, "unknown JSON field")                     \
    X(TKM_ERR_QUANTITY, 212, "invalid hex quantity")                             \
    X(TKM_ERR_RANGE, 213, "value out of range")                                  \
    X(TKM_ERR_OVERFLOW, 214, "arithmetic overflow")                              \
    X(TKM_ERR_DECIMAL, 215, "invalid decimal number")                            \
    X(TKM_ERR_TOO_LARGE, 216, "input too large")                                 \
    X(TKM_ERR_UTF8, 217, "invalid UTF-8")                                        \
    X(TKM_ERR_FORMAT, 218, "invalid format")                                     \
    X(TKM_ERR_RLP, 219, "malformed RLP")                                         \
    X(TKM_ERR_RLP_NONCANONICAL, 220, "non-canonical RLP")                        \
    X(TKM_ERR_RLP_DEPTH, 221, "RLP nested too deeply")                           \
    X(TKM_ERR_TX, 222, "invalid transaction")                                    \
    X(TKM_ERR_TX_TYPE, 223, "unsupported transaction type")                      \
    X(TKM_ERR_TX_CHAIN_ID, 224, "transaction has no chain id")                   \
    X(TKM_ERR_TX_AMBIGUOUS, 225, "contradictory transaction fields")             \
    X(TKM_ERR_TYPED_DATA, 226, "invalid EIP-712 typed data")                     \
    X(TKM_ERR_ABI, 227, "malformed ABI calldata")                                \
    X(TKM_ERR_ABI_UNKNOWN_SELECTOR, 228, "unknown function selector")            \
    X(TKM_ERR_ADDRESS, 229, "invalid address")                                   \
    X(TKM_ERR_CHECKSUM, 230, "address checksum mismatch")                        \
    X(TKM_ERR_SSZ, 231, "malformed SSZ")                                         \
    X(TKM_ERR_EVIDENCE, 232, "malformed attestation evidence")                   \
    X(TKM_ERR_X509, 233, "malformed certificate")                                \
    X(TKM_ERR_POLICY_DOC, 234, "invalid policy document")                        \
    X(TKM_ERR_REQUEST, 235, "invalid request")                                   \
    X(TKM_ERR_COLLATERAL, 236, "malformed attestation collateral")               \
    X(TKM_ERR_HEX_LENGTH, 237, "hex string has the wrong length")                \
    X(TKM_ERR_BASE64, 238, "invalid base64")                                     \
    X(TKM_ERR_RLP_LENGTH_ZEROS, 240, "RLP length has leading zero bytes")       \
    X(TKM_ERR_RLP_LONG_FORM, 241, "RLP long form used for a short payload")     \
    X(TKM_ERR_RLP_SINGLE_BYTE, 242, "RLP single byte below 0x80 wrapped as a string") \
    X(TKM_ERR_RLP_INT_ZEROS, 243, "RLP integer has leading zero bytes")         \
    X(TKM_ERR_RLP_KIND, 244, "RLP list where a string is expected or the reverse") \
    X(TKM_ERR_RLP_ITEMS, 245, "RLP list has too many items")                    \
    X(TKM_ERR_TX_CHAIN_MISMATCH, 246, "transaction is for another chain")        \
    X(TKM_ERR_TX_FIELD, 247, "field not valid for the transaction type")        \
    X(TKM_ERR_ABI_PADDING, 248, "non-zero ABI padding bytes")                   \
    X(TKM_ERR_ABI_OFFSET, 249, "non-canonical ABI offset or length")            \
    X(TKM_ERR_TYPED_DATA_UNKNOWN_TYPE, 260, "unknown EIP-712 type")              \
    X(TKM_ERR_TYPED_DATA_CYCLE, 261, "cyclic EIP-712 type reference")            \
    X(TKM_ERR_TYPED_DATA_DUPLICATE, 262, "duplicate EIP-712 field name")         \
    X(TKM_ERR_TYPED_DATA_DOMAIN, 263, "EIP-712 domain does not match its type")  \
    X(TKM_ERR_TYPED_DATA_FIELD, 264, "typed-data field missing or mistyped")     \
    X(TKM_ERR_CLAIMS, 270, "malformed attestation claims")                       \
    X(TKM_ERR_CLAIMS_NONCANONICAL, 271, "attestation claims not in canonical form")\
    X(TKM_ERR_CBOR, 272, "malformed CBOR")                                       \
    X(TKM_ERR_RATLS_EXT, 273, "certificate has no valid RA-TLS evidence extension") \
    X(TKM_ERR_CONFIG, 280, "invalid configuration")                              \
    X(TKM_ERR_APPROVAL_FORMAT, 290, "malformed approval")                        \
    X(TKM_ERR_AUDIT_RECORD, 291, "malformed audit record")                       \
    X(TKM_ERR_STORE_RECORD, 292, "malformed state record")                       \
    /* CRYPTO 3xx */                                                             \
    X(TKM_ERR_CRYPTO, 300, "cryptographic operation failed")                     \
    X(TKM_ERR_BAD_KEY, 301, "invalid key")                                       \
    X(TKM_ERR_BAD_SIGNATURE, 302, "invalid signature")                           \
    X(TKM_ERR_AUTH_TAG, 303, "authentication tag mismatch")                      \
    X(TKM_ERR_VERIFY, 304, "verification failed")                                \
    X(TKM_ERR_KAT, 305, "known-answer self-test failed")                         \
    X(TKM_ERR_HIGH_S, 306, "signature s value is not low")                       \
    X(TKM_ERR_RECOVER, 307, "public key recovery failed")                        \
    X(TKM_ERR_BLS_SUBGROUP, 308, "BLS point not in the prime-order subgroup")    \
    X(TKM_ERR_BLS_INFINITY, 309, "BLS point at infinity")                        \
    X(TKM_ERR_KDF_PARAMS, 310, "invalid password-KDF parameters")                \
    X(TKM_ERR_KDF_COST, 311, "password-KDF cost exceeds the allowed bound")      \
    X(TKM_ERR_BLS_ENCODING, 320, "malformed BLS point encoding")                 \
    X(TKM_ERR_BLS_NOT_ON_CURVE, 321, "BLS point not on the curve")               \
    X(TKM_ERR_BLS_PATH, 322, "invalid EIP-2334 key path")                        \
    X(TKM_ERR_BLS_EMPTY, 323, "empty set of BLS keys or signatures")             \
    X(TKM_ERR_BLS_DUPLICATE_MSG, 324, "BLS messages are not distinct")          \
    X(TKM_ERR_BLS_SEED, 325, "BLS seed shorter than 32 bytes")                   \
    /* POLICY 4xx */                                                             \
    X(TKM_ERR_POLICY_DENIED, 400, "request denied by policy")                    \
    X(TKM_ERR_POLICY_VERSION, 401, "policy version does not increase")           \
    X(TKM_ERR_REPLAY, 402, "request replayed")                                   \
    X(TKM_ERR_NONCE_CONFLICT, 403, "nonce already used by another payload")      \
    X(TKM_ERR_EXPIRED, 404, "request outside its validity window")               \
    X(TKM_ERR_UNSUPPORTED, 405, "unsupported payload")                           \
    X(TKM_ERR_SLASHABLE, 406, "refused: slashable message")                      \
    X(TKM_ERR_UNKNOWN_KEY, 410, "unknown or retired key")                        \
    X(TKM_ERR_QUORUM, 411, "admin approvals do not meet the quorum")             \
    X(TKM_ERR_POLICY_REF, 412, "policy refers to something it does not define")  \
    /* STORE 5xx */                                                              \
    X(TKM_ERR_STORE, 500, "state store error")                                   \
    X(TKM_ERR_STORE_ROLLBACK, 501, "state is older than the last seen version")  \
    X(TKM_ERR_STORE_TAMPER, 502, "state integrity check failed")                 \
    X(TKM_ERR_STORE_BUSY, 503, "state store busy")                               \
    X(TKM_ERR_STORE_CLONE, 504, "state belongs to another instance")             \
    X(TKM_ERR_AUDIT_CHAIN, 505, "audit chain broken")                            \
    X(TKM_ERR_STORE_COUNTER, 510, "monotonic counter missing or unusable")       \
    X(TKM_ERR_STORE_FORMAT, 511, "unsupported state store format")               \
    X(TKM_ERR_STORE_CLOSED, 512, "state store failed and was closed")            \
    /* TEE 6xx */                                                                \
    X(TKM_ERR_TEE, 600, "TEE platform error")                                    \
    X(TKM_ERR_TEE_NO_SEAL_KEY, 601, "platform has no seal key")                  \
    X(TKM_ERR_TEE_DEBUG, 602, "enclave runs in debug mode")                      \
    X(TKM_ERR_TEE_NOT_DETECTED, 603, "no TEE platform detected")                 \
    X(TKM_ERR_TEE_RACE, 604, "attestation report changed under us")              \
    X(TKM_ERR_APPRAISAL, 605, "evidence appraisal failed")                       \
    X(TKM_ERR_TEE_PROVIDER, 610, "unexpected attestation provider")              \
    X(TKM_ERR_TEE_EVIDENCE, 611, "platform returned malformed evidence")          \
    X(TKM_ERR_TEE_BINDING, 612, "report data does not match the claims")          \
    X(TKM_ERR_TEE_KEY_MISMATCH, 613, "TLS key does not match the attested claims") \
    X(TKM_ERR_TEE_SIM_KEY, 614, "sim platform key file unusable")                \
    X(TKM_ERR_TEE_SEAL, 615, "platform refused to derive the seal key")          \
    X(TKM_ERR_NONCE_UNKNOWN, 660, "nonce was not issued by this verifier")       \
    X(TKM_ERR_NOT_REGISTERED, 661, "instance is not registered")                 \
    X(TKM_ERR_REGISTRATION_STALE, 662, "instance registration is stale: re-attest") \
    X(TKM_ERR_COLLATERAL_UNAVAILABLE, 663, "attestation collateral unavailable") \
    /* AUTH 7xx */                                                               \
    X(TKM_ERR_UNAUTHENTICATED, 700, "unauthenticated")                           \
    X(TKM_ERR_FORBIDDEN, 701, "forbidden")                                       \
    X(TKM_ERR_NO_CLIENT_CERT, 710, "client certificate required")                \
    X(TKM_ERR_CLIENT_CERT_UNTRUSTED, 711, "client certificate not trusted")      \
    X(TKM_ERR_ROLE_MISSING, 712, "caller lacks the required role")               \
    X(TKM_ERR_KEY_NOT_ALLOWED, 730, "client may not use this key")               \
    X(TKM_ERR_NOT_APPROVER, 731, "signer is not an approver in the active policy") \
    /* LIMIT 8xx */                                                              \
    X(TKM_ERR_LIMIT, 800, "limit exceeded")                                      \
    X(TKM_ERR_RATE_LIMIT, 801, "rate limit exceeded")                            \
    X(TKM_ERR_BODY_TOO_LARGE, 810, "request body too large")                     \
    X(TKM_ERR_TOO_MANY_CONNECTIONS, 811, "too many connections")                 \
    X(TKM_ERR_BATCH_TOO_LARGE, 812, "JSON-RPC batch too large")                  \
    X(TKM_ERR_QUEUE_FULL, 820, "signing queue full")                             \
    X(TKM_ERR_PENDING_FULL, 821, "too many requests waiting for approvals")      \
    /* MISUSE / INTERNAL 9xx */                                                  \
    X(TKM_ERR_MISUSE, 900, "API misuse")                                         \
    X(TKM_ERR_INTERNAL, 901, "internal error")                                   \
    X(TKM_ERR_STATE, 902, "operation not valid in this state")                   \
    X(TKM_ERR_NOT_IMPLEMENTED, 903, "not supported by this build")               \
    X(TKM_ERR_SIGN_SELFCHECK, 904, "a fresh signature failed its self-check")

typedef enum {
#define TKM_ERR_ENUM_(name, num, msg) name = num,
    TKM_ERR_LIST(TKM_ERR_ENUM_)
#undef TKM_ERR_ENUM_
} tkm_err;

typedef struct {
    tkm_err code;
} tkm_rc;

#define TKM_RC(e) ((tkm_rc){.code = (e)})
#define TKM_RC_OK TKM_RC(TKM_OK)

static inline int tkm_ok(tkm_rc rc) { return rc.code == TKM_OK; }
static inline int tkm_failed(tkm_rc rc) { return rc.code != TKM_OK; }

/* Returns: the human message of a code ("unknown error" for unknown codes). */
TKM_API const char *tkm_err_str(tkm_err code);
/* Returns: the stable name without the TKM_ERR_ prefix ("TRUNCATED"), or NULL. */
TKM_API const char *tkm_err_name(tkm_err code);
/* Returns: the category (code / 100). */
TKM_API tkm_err_cat tkm_err_category(tkm_err code);

/*
 * Thread-local detail slot: where the last error was raised and a short
 * non-secret explanation (a field name, a JSON path). The explanation is
 * overwritten by tkm_err_detail_set (which may take tkm_err_detail() as an
 * argument to add context: "file x: %s"), truncated to 255 bytes; the
 * location by every TKM_ENSURE / TKM_GOTO failure.
 */
TKM_API void tkm_err_detail_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
TKM_API void tkm_err_detail_clear(void);
/* Returns: the detail text, "" when none; valid until the next set on this thread. */
TKM_API const char *tkm_err_detail(void);
/* Returns: "file:line" of the last recorded failure, "" when none. */
TKM_API const char *tkm_err_where(void);
TKM_API void tkm_err_record_where_(const char *file, int line);

/* Propagate a failure. */
#define TKM_TRY(expr)                                                            \
    do {                                                                         \
        tkm_rc tkm_try_rc_ = (expr);                                             \
        if (tkm_try_rc_.code != TKM_OK) return tkm_try_rc_;                      \
    } while (0)

/* Fail with a code when cond is false. */
#define TKM_ENSURE(cond, err)                                                    \
    do {                                                                         \
        if (!(cond)) {                                                           \
            tkm_err_record_where_(__FILE__, __LINE__);                           \
            return TKM_RC(err);                                                  \
        }                                                                        \
    } while (0)

/* For one-label cleanup functions: set rc and jump to out. */
#define TKM_GOTO(rcvar, err)                                                     \
    do {                                                                         \
        tkm_err_record_where_(__FILE__, __LINE__);                               \
        (rcvar) = TKM_RC(err);                                                   \
        goto out;                                                                \
    } while (0)
#define TKM_CHECK_GOTO(rcvar, expr)                                              \
    do {                                                                         \
        (rcvar) = (expr);                                                        \
        if ((rcvar).code != TKM_OK) goto out;                                    \
    } while (0)

/*
 * Misuse: caller bugs. The handler is called with a description; the
 * default aborts. Tests install a counting handler to assert it fired.
 */
typedef void (*tkm_misuse_fn)(const char *what, const char *file, int line);
TKM_API void tkm_misuse_set_handler(tkm_misuse_fn fn); /* NULL restores abort */
TKM_API void tkm_misuse_(const char *what, const char *file, int line);

#define TKM_ARG_CHECK(cond)                                                      \
    do {                                                                         \
        if (__builtin_expect(!(cond), 0)) {                                      \
            tkm_misuse_(#cond, __FILE__, __LINE__);                              \
            return TKM_RC(TKM_ERR_MISUSE);                                       \
        }                                                                        \
    } while (0)

#endif
