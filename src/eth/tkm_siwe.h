/*
 * tkm_siwe.h — Sign-In with Ethereum (EIP-4361) messages, parsed exactly by
 * the EIP's ABNF (with RFC 3986 for the scheme, authority and URIs, RFC 3339
 * for times), over tkm_rd.
 *
 * The message, as the EIP writes it (LF = 0x0a; no CR, no final newline):
 *
 *   [ scheme "://" ] domain " wants you to sign in with your Ethereum account:" LF
 *   address LF
 *   LF
 *   [ statement LF ]
 *   LF
 *   "URI: " uri LF
 *   "Version: 1" LF
 *   "Chain ID: " 1*DIGIT LF
 *   "Nonce: " 8*(ALPHA / DIGIT) LF
 *   "Issued At: " date-time
 *   [ LF "Expiration Time: " date-time ]
 *   [ LF "Not Before: " date-time ]
 *   [ LF "Request ID: " *pchar ]
 *   [ LF "Resources:" *( LF "- " URI ) ]
 *
 * Choices where the EIP leaves room (docs/policy.md "Sign-In with Ethereum"):
 *  - address: "0x" and 40 hex digits that must be the address's EIP-55 form
 *    (the EIP's "must conform ... where applicable (EOAs)"; every teekm key is
 *    an EOA, and the reference implementation refuses other forms):
 *    TKM_ERR_CHECKSUM otherwise, all-lower-case included.
 *  - domain: an RFC 3986 authority, not empty (REQUIRED by the EIP).
 *  - statement: reserved / unreserved / " " characters, so ASCII only; the
 *    two blank-line forms are distinct: no statement (has_statement = 0)
 *    and an empty statement (has_statement = 1, length 0).
 *  - Chain ID: at most 2^64-1 (TKM_ERR_RANGE beyond; leading zeros are digits).
 *  - times: RFC 3339 date-time with "T"/"t", "Z"/"z" or a numeric offset,
 *    any number of fraction digits; calendar-checked (leap years); a leap
 *    second (":60") only where one can be inserted, 23:59:60 UTC on the last
 *    day of a month (RFC 3339 5.7; negative leap seconds are not modelled).
 *  - IPv4 octets inside an IPv6 literal: no leading zeros (RFC 3986).
 *
 * Errors: TKM_ERR_FORMAT (TKM_ERR_RANGE for numbers and dates out of range,
 * TKM_ERR_CHECKSUM for the address), with a detail naming the line and the
 * field and what is wrong ("line 6 (Version): must be 1") — never the
 * message's content.
 *
 * Results are spans (offset, length) into the parsed bytes rather than
 * pointers, so a tkm_siwe_msg can be copied along with a copy of the bytes.
 * Pointers are non-NULL unless stated. Secret?: no. Thread-safety: no global
 * state.
 */
#ifndef TKM_SIWE_H
#define TKM_SIWE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "../crypto/crypto.h"

#define TKM_SIWE_HEADER " wants you to sign in with your Ethereum account:"

/* Bytes [off, off + len) of the parsed message. */
typedef struct {
    size_t off, len;
} tkm_siwe_span;

typedef struct {
    tkm_siwe_span text; /* as written */
    int64_t secs;       /* unix seconds, UTC, offset applied, a fraction of a second dropped (a leap second: 23:59:59) */
    int frac;           /* 1: the instant lies strictly between unix and unix + 1 */
} tkm_siwe_time;

/* An RFC 3986 authority: [ userinfo "@" ] host [ ":" port ]. */
typedef struct {
    tkm_siwe_span all;
    int has_userinfo;
    tkm_siwe_span userinfo;
    tkm_siwe_span host; /* a reg-name (IPv4 addresses included) or an IP-literal with its brackets */
    int host_ip_literal;
    int has_port;
    tkm_siwe_span port; /* digits; may be empty ("host:") */
} tkm_siwe_authority;

/* An RFC 3986 URI: scheme ":" hier-part [ "?" query ] [ "#" fragment ]. */
typedef struct {
    tkm_siwe_span all;
    tkm_siwe_span scheme;
    int has_authority; /* hier-part "//" authority path-abempty */
    tkm_siwe_authority authority;
    tkm_siwe_span path;
    int has_query;
    tkm_siwe_span query;
    int has_fragment;
    tkm_siwe_span fragment;
} tkm_siwe_uri;

typedef struct {
    int has_scheme;
    tkm_siwe_span scheme; /* without "://" */
    tkm_siwe_authority domain;
    uint8_t address[TKM_ETH_ADDR_LEN];
    int has_statement;
    tkm_siwe_span statement;
    tkm_siwe_uri uri;
    uint64_t chain_id;
    tkm_siwe_span nonce;
    tkm_siwe_time issued_at;
    int has_expiration_time;
    tkm_siwe_time expiration_time;
    int has_not_before;
    tkm_siwe_time not_before;
    int has_request_id;
    tkm_siwe_span request_id; /* may be empty */
    int has_resources;        /* a "Resources:" line (possibly followed by no resource) */
    size_t n_resources;
    tkm_siwe_span resources;  /* the resource lines after "Resources:" (each LF "- " URI); see tkm_siwe_resource_next */
} tkm_siwe_msg;

/*
 * Parse msg[0..len) (msg may be NULL when len is 0).
 * Out: *out (zeroed on failure); its spans index msg.
 * Returns: OK; TKM_ERR_FORMAT / TKM_ERR_RANGE / TKM_ERR_CHECKSUM with the
 * line and field in tkm_err_detail().
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_siwe_parse(tkm_siwe_msg *out, const uint8_t *msg, size_t len);

/*
 * The resources one by one: start with *pos = 0; each call sets *res to the
 * span of the next resource URI (without "- ") and returns 1, then 0 when
 * there are no more. m and msg are those of a successful tkm_siwe_parse.
 */
TKM_API int tkm_siwe_resource_next(const tkm_siwe_msg *m, const uint8_t *msg, size_t *pos, tkm_siwe_span *res);

/*
 * Parse an RFC 3986 URI on its own (policy URI prefixes are checked with
 * it). Out: *out, spans into s. Returns: OK or TKM_ERR_FORMAT with a detail.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_siwe_uri_parse(tkm_siwe_uri *out, const uint8_t *s, size_t len);
/* The same for an authority (policy domains). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_siwe_authority_parse(tkm_siwe_authority *out, const uint8_t *s, size_t len);

/* Returns: 1 when s[0..len) could be (the start of) a statement: reserved / unreserved / " " characters only. */
TKM_API int tkm_siwe_statement_chars_ok(const uint8_t *s, size_t len);

/*
 * All fields as JSON (for `teekm siwe parse` and tests): scheme, domain,
 * address (EIP-55), statement, uri, version, chainId (a decimal string),
 * nonce, issuedAt, expirationTime, notBefore (as written, with their unix
 * seconds in issuedAtUnix …), requestId, resources (an array); absent fields
 * are omitted. This renders the message's content: never use it for audit
 * records or answers. Out: *out (caller json_decref's).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_siwe_to_json(json_t **out, const tkm_siwe_msg *m, const uint8_t *msg);

#endif
