/*
 * tkm_policy.h — the policy document: strict loading, canonical hash, lookups.
 *
 * The format is documented in docs/policy.md (with a complete example). The
 * loader rejects, with TKM_ERR_POLICY_DOC / TKM_ERR_POLICY_REF (or the JSON
 * error of the offending field) and the JSON path of the problem in the error
 * detail ("rules[2].to[1]: unknown address book @exchanges"):
 *  - unknown fields anywhere, missing required fields, wrong JSON types;
 *  - dangling references (assets, groups, address books);
 *  - duplicate rule ids, duplicate list entries (addresses, chain ids,
 *    selectors, keys), two assets with the same (chain, contract), two native
 *    assets on one chain;
 *  - anything ambiguous: an allow rule without an action, limits on a rule
 *    that has no asset, limits or approvals on a deny rule, chain_ids that
 *    contradict the asset's chain, fields that do not apply to the action,
 *    amounts with more fractional digits than the asset's decimals;
 *  - message.siwe conditions that no message could meet (a URI prefix whose
 *    host is none of the domains, statement prefixes with characters no
 *    statement has), domains with userinfo or a bad port, siwe on a deny rule
 *    or with encoding "bytes", no chain_ids when the policy lists no asset.
 * Amounts are decimal strings in the asset's units, converted exactly to base
 * units (tkm_u256_from_units). The policy hash is Keccak-256 over the RFC 8785
 * (JCS) canonical form of the document as given.
 *
 * Ownership: tkm_policy_load returns a policy the caller frees with
 * tkm_policy_free. The structure is read-only after loading; all pointers in
 * it are owned by the policy and live until tkm_policy_free.
 * Secret?: no. Thread-safety: a loaded policy may be read from any number of
 * threads at once.
 */
#ifndef TKM_POLICY_H
#define TKM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "../crypto/crypto.h"

#define TKM_POLICY_FORMAT 1
#define TKM_POLICY_MAX_BYTES ((size_t)1 << 20)
#define TKM_POLICY_NAME_MAX 64       /* ids, labels, group/book/asset names */
#define TKM_POLICY_MAX_RULES 512
#define TKM_POLICY_MAX_LIST 4096     /* entries in one list (addresses, chains, …) */
#define TKM_POLICY_MAX_GROUP 64      /* members of one approver group / admins */
#define TKM_POLICY_MAX_APPROVAL_REQS 8
#define TKM_POLICY_MAX_VALIDITY_CAP 2592000 /* max_validity_seconds <= 30 days */
#define TKM_POLICY_MAX_WINDOW 31536000      /* window_limit.seconds <= 365 days */
#define TKM_POLICY_TD_STR_MAX 256    /* typed-data matcher strings */
/* EIP-191 personal messages (sign_message rules, docs/policy.md "Messages") */
#define TKM_POLICY_MSG_MAX 4096          /* message.max_length <= 4096 bytes */
#define TKM_POLICY_MSG_DEFAULT_MAX 1024  /* message.max_length when absent */
#define TKM_POLICY_MSG_PREFIX_MAX 256    /* bytes in one message.prefixes entry */
#define TKM_POLICY_MSG_MAX_PREFIXES 64   /* entries in message.prefixes */
/* Sign-In with Ethereum (message.siwe, docs/policy.md "Sign-In with Ethereum") */
#define TKM_POLICY_SIWE_MAX_LIST 64             /* entries in domains, schemes, uris, statement_prefixes, resources */
#define TKM_POLICY_SIWE_STR_MAX 256             /* bytes in one of those entries */
#define TKM_POLICY_SIWE_DEFAULT_VALIDITY 600    /* max_validity_seconds when absent */
#define TKM_POLICY_SIWE_MAX_VALIDITY 604800     /* max_validity_seconds <= 7 days */
#define TKM_POLICY_SIWE_DEFAULT_SKEW 60         /* max_clock_skew_seconds when absent */
#define TKM_POLICY_SIWE_MAX_SKEW 3600           /* max_clock_skew_seconds <= 1 hour */
/* trusted time (docs/policy.md "Windows"): how far the evaluation clock may run ahead of the verifier's */
#define TKM_POLICY_TIME_MAX_AGE_DEFAULT 300  /* trusted_time.max_age_seconds when absent */
#define TKM_POLICY_TIME_MAX_AGE_CAP 86400
#define TKM_POLICY_TIME_SKEW_DEFAULT 60      /* trusted_time.skew_seconds when absent */
#define TKM_POLICY_TIME_SKEW_CAP 3600

typedef enum {
    TKM_ACTION_ANY = 0, /* deny rules only: "action" absent */
    TKM_ACTION_TRANSFER = 1,
    TKM_ACTION_APPROVE = 2,
    TKM_ACTION_CONTRACT_CALL = 3,
    TKM_ACTION_TYPED_DATA = 4,
    TKM_ACTION_DEPLOY = 5,
    TKM_ACTION_SIGN_MESSAGE = 6, /* an EIP-191 version 0x45 personal message */
} tkm_action;

/* Returns: "transfer", … ("any" for TKM_ACTION_ANY). */
TKM_API const char *tkm_action_name(tkm_action a);
/* Returns: OK and *a for a known action name, TKM_ERR_FORMAT otherwise. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_action_parse(tkm_action *a, const char *s);

typedef enum { TKM_STANDARD_NONE = 0, TKM_STANDARD_ERC20 = 1, TKM_STANDARD_ERC3643 = 2 } tkm_token_standard;

typedef struct {
    uint8_t b[TKM_ETH_ADDR_LEN];
} tkm_addr;

typedef struct {
    char name[TKM_POLICY_NAME_MAX + 1];
    uint64_t chain_id;
    int native;                    /* 1: the chain's native coin; 0: a token contract */
    tkm_addr contract;             /* tokens only */
    tkm_token_standard standard;   /* tokens only */
    unsigned decimals;
} tkm_policy_asset;

/* Approver groups and address books: a name and a set of addresses. */
typedef struct {
    char name[TKM_POLICY_NAME_MAX + 1];
    tkm_addr *addrs;
    size_t n;
} tkm_policy_set;

/* A byte string owned by the policy (message prefixes may hold any bytes, NUL included). */
typedef struct {
    uint8_t *b;
    size_t len;
} tkm_policy_bytes;

/*
 * The siwe condition of a sign_message allow rule: the message must be an
 * EIP-4361 message (tkm_siwe_parse) whose address is the signing key, whose
 * scheme (https when absent) is one of schemes and domain one of domains,
 * whose URI's authority is that domain (and starts with one of uris, when
 * given), whose Chain ID is one of chain_ids, which has an Expiration Time
 * and whose times hold at the evaluation time (max_validity, max_skew), and
 * whose statement and resources are allowed. All strings are owned by the
 * policy; domains and schemes are stored lower-case.
 */
typedef struct {
    tkm_policy_bytes *domains;           /* authorities "host" or "host:port" (no userinfo), host lower-case */
    size_t n_domains;
    tkm_policy_bytes *schemes;           /* lower-case; default {"https"} */
    size_t n_schemes;
    tkm_policy_bytes *uris;              /* URI prefixes; none: any URI (its authority still binds) */
    size_t n_uris;
    uint64_t *chain_ids;                 /* given, or the chains of the policy's assets */
    size_t n_chain_ids;
    int chain_ids_from_assets;
    uint64_t max_validity;               /* Expiration Time - Issued At, and Expiration Time - now, at most */
    uint64_t max_skew;                   /* Issued At and Not Before at most this far after now */
    tkm_policy_bytes *statement_prefixes; /* none: any statement or none */
    size_t n_statement_prefixes;
    int resources_any;                   /* "resources": true */
    tkm_policy_bytes *resource_prefixes; /* "resources": [prefixes]; neither: no resource allowed */
    size_t n_resource_prefixes;
} tkm_policy_siwe;

typedef struct {
    size_t group; /* index into groups */
    unsigned threshold;
} tkm_policy_approval_req;

typedef struct {
    char id[TKM_POLICY_NAME_MAX + 1];
    int allow; /* 1 allow, 0 deny */
    /* keys: any, or labels and/or addresses */
    int keys_any;
    char (*key_labels)[TKM_POLICY_NAME_MAX + 1];
    size_t n_key_labels;
    tkm_addr *key_addrs;
    size_t n_key_addrs;
    tkm_action action;
    int has_asset;
    size_t asset; /* index into assets */
    /* chains: absent = any (or the asset's chain) */
    uint64_t *chain_ids;
    size_t n_chain_ids;
    /* destination: absent = any */
    int has_to;
    tkm_addr *to_addrs;
    size_t n_to_addrs;
    size_t *to_books; /* indexes into address_books */
    size_t n_to_books;
    /* contract calls */
    int has_selectors;
    uint8_t (*selectors)[4];
    size_t n_selectors;
    /* typed-data matchers (each optional) */
    int has_typed_data;
    char *td_name, *td_version, *td_primary_type; /* NULL = not constrained */
    int has_td_verifying_contract;
    tkm_addr td_verifying_contract;
    /*
     * EIP-191 message conditions (sign_message rules; deny rules: prefixes only).
     * msg_bytes = 0 ("utf8", the default): the message must be text
     * (tkm_policy_message_is_text) and must not be exactly 32 bytes long;
     * msg_bytes = 1 ("bytes"): any bytes. msg_max_len: allow rules only
     * (default TKM_POLICY_MSG_DEFAULT_MAX). Prefixes: none = any content; an
     * allow rule's prefixes fit max_length and, under "utf8", are text; a deny
     * rule's may be any bytes JSON can carry (they match bytes rules' messages too).
     */
    int has_message;
    int msg_bytes;
    size_t msg_max_len;
    tkm_policy_bytes *msg_prefixes;
    size_t n_msg_prefixes;
    tkm_policy_siwe *siwe; /* message.siwe (allow rules only), NULL when absent */
    /* amounts in base units */
    int has_max_amount;
    tkm_u256 max_amount;
    int has_max_value;
    tkm_u256 max_value; /* wei */
    int has_window;
    tkm_u256 window_amount;
    uint64_t window_seconds;
    tkm_policy_approval_req approvals[TKM_POLICY_MAX_APPROVAL_REQS];
    size_t n_approvals;
    int has_valid_from, has_valid_until;
    int64_t valid_from, valid_until; /* unix seconds; the rule is in effect for valid_from <= now < valid_until */
    unsigned tx_types; /* bit i set: transaction type i allowed; default types 0, 1, 2 */
} tkm_policy_rule;

/*
 * Clients (the "clients" section): which API callers may do what. A client is
 * named by the subject CN of its TLS client certificate (a certificate that
 * chains to one of the service's client CAs); optional fingerprints pin the
 * exact certificates (SHA-256 of the DER) so that a CA added by the host
 * cannot mint a certificate with the same name. Roles are the service's
 * (sign, approve, admin, read); `keys` (required with sign, refused
 * otherwise) lists the key labels and/or addresses the client may sign with,
 * or "*" for any key.
 */
#define TKM_POLICY_MAX_CLIENTS 512
#define TKM_POLICY_MAX_FINGERPRINTS 16
enum {
    TKM_POLICY_ROLE_SIGN = 1u << 0,
    TKM_POLICY_ROLE_APPROVE = 1u << 1,
    TKM_POLICY_ROLE_ADMIN = 1u << 2,
    TKM_POLICY_ROLE_READ = 1u << 3,
};

typedef struct {
    char name[TKM_POLICY_NAME_MAX + 1]; /* the certificate subject CN */
    unsigned roles;                    /* TKM_POLICY_ROLE_* */
    int keys_any;
    char (*key_labels)[TKM_POLICY_NAME_MAX + 1];
    size_t n_key_labels;
    tkm_addr *key_addrs;
    size_t n_key_addrs;
    uint8_t (*fingerprints)[32];
    size_t n_fingerprints; /* 0 = any certificate with this CN */
} tkm_policy_client;

typedef struct tkm_policy {
    uint64_t version;
    uint8_t hash[TKM_KECCAK256_LEN];
    uint64_t max_validity_seconds;
    unsigned admin_threshold;
    tkm_addr *admins;
    size_t n_admins;
    tkm_policy_set *groups;
    size_t n_groups;
    tkm_policy_set *books;
    size_t n_books;
    tkm_policy_asset *assets;
    size_t n_assets;
    tkm_policy_rule *rules;
    size_t n_rules;
    unsigned tx_types_named; /* union of the rules' tx_types */
    size_t message_rules;    /* allow rules with action sign_message: 0 = EIP-191 messages are off */
    tkm_policy_client *clients;
    size_t n_clients;
    /* trusted_time (tkm_vclock.h): effective only when the instance has a verifier */
    uint64_t time_max_age_seconds; /* the bound grows with the monotonic clock this long past a trusted time */
    uint64_t time_skew_seconds;    /* allowance above the trusted estimate; also the host-clock alarm threshold */
    uint8_t *canonical;      /* JCS bytes of the document (what the hash covers) */
    size_t canonical_len;
} tkm_policy;

/*
 * Parse and validate a policy document.
 * Out: *out (caller frees with tkm_policy_free), NULL on failure.
 * Returns: OK; TKM_ERR_POLICY_DOC, TKM_ERR_POLICY_REF or a JSON/decimal/address
 * error with the path in tkm_err_detail().
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_policy_load(tkm_policy **out, const uint8_t *json, size_t len);
/* NULL-safe. */
TKM_API void tkm_policy_free(tkm_policy *p);

/* Returns: index of the asset with that name, or -1. */
TKM_API long tkm_policy_asset_by_name(const tkm_policy *p, const char *name);
/*
 * The asset a payload moves: the chain's native asset (contract == NULL) or
 * the token at contract on that chain. Returns: index or -1 when not listed.
 */
TKM_API long tkm_policy_asset_find(const tkm_policy *p, uint64_t chain_id, const uint8_t *contract);
/* Returns: 1 when addr is in the set. */
TKM_API int tkm_policy_set_has(const tkm_policy_set *s, const uint8_t addr[static TKM_ETH_ADDR_LEN]);
/* Returns: 1 when addr is an admin. */
TKM_API int tkm_policy_is_admin(const tkm_policy *p, const uint8_t addr[static TKM_ETH_ADDR_LEN]);

/*
 * The client entry for a certificate: the one named cn whose fingerprints (if
 * any) include fpr. Returns: the entry (borrowed from p) or NULL.
 */
TKM_API const tkm_policy_client *tkm_policy_client_find(const tkm_policy *p, const char *cn,
                                                        const uint8_t fpr[static 32]);
/* Returns: 1 when the client may sign with the key (label, address). */
TKM_API int tkm_policy_client_may_use(const tkm_policy_client *c, const char *label,
                                      const uint8_t addr[static TKM_ETH_ADDR_LEN]);

/*
 * Whether msg[0..len) is text a person can read for what it is: valid UTF-8
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF) with no
 * control characters other than \n (no C0 but LF, no DEL, no C1 U+0080-U+009F)
 * and no characters that reorder or hide text (bidi controls U+061C, U+200E,
 * U+200F, U+202A-U+202E, U+2066-U+2069; line/paragraph separators U+2028,
 * U+2029). msg may be NULL when len is 0. Returns: 1 when text, 0 otherwise.
 */
TKM_API int tkm_policy_message_is_text(const uint8_t *msg, size_t len);

/* Parse a time: JSON integer (unix seconds) or "YYYY-MM-DDTHH:MM:SSZ". Used for valid_from/until. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_policy_parse_time(int64_t *out, const json_t *v, const char *path);

#endif
