/*
 * tkm_json.h — strict JSON through jansson.
 *
 * Loading: the input is size-capped and its nesting depth is checked on the
 * raw bytes before jansson sees it; jansson then parses with
 * JSON_REJECT_DUPLICATES and rejects trailing data. Errors: TKM_ERR_JSON_SIZE,
 * TKM_ERR_JSON_DEPTH, TKM_ERR_JSON_DUPLICATE, TKM_ERR_JSON (with line/column
 * in the detail).
 *
 * Reading: typed getters check the JSON type before reading and name the
 * offending path in the detail ("rules[2].to": ...). Quantities that must be
 * hex strings reject JSON numbers with TKM_ERR_QUANTITY ("must be a hex
 * string"), never coerce them. tkm_json_check_fields rejects unknown fields.
 * Convert to C structs right after loading: do not pass json_t deeper than the
 * adapter that reads it.
 *
 * Canonical form: tkm_json_canonical writes RFC 8785 (JCS) bytes for documents
 * made of objects, arrays, strings, integers, booleans and null (non-integer
 * numbers are refused: teekm documents never use them).
 *
 * Call tkm_json_init() once at start-up: it makes jansson wipe every block it
 * frees (request bodies may carry secrets).
 *
 * Ownership: tkm_json_load returns a new reference (json_decref); getters
 * return borrowed json_t / string views valid while the document lives,
 * except tkm_json_hexbytes (malloc'd, caller frees); tkm_json_hex_new returns
 * a new reference. NULL: path may be "" (the root), never NULL; an optional
 * getter (required = 0) reports absence through *present / a NULL view.
 * Thread-safety: a document belongs to one thread; call tkm_json_init before
 * starting threads. Secret?: values are not wiped by their readers: keep
 * secrets out of JSON except in request bodies, which jansson wipes on free.
 */
#ifndef TKM_JSON_H
#define TKM_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tkm_buf.h"
#include "tkm_err.h"
#include "tkm_u256.h"

typedef struct {
    size_t max_bytes; /* 0 = 1 MiB */
    unsigned max_depth; /* 0 = 32 */
} tkm_json_limits;

TKM_API void tkm_json_init(void);

/* Out: *out (caller json_decref's). lim may be NULL for the defaults. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_json_load(json_t **out, const uint8_t *buf, size_t len,
                                             const tkm_json_limits *lim);

/*
 * Reject fields not in allowed (a NULL-terminated list). obj must be an object
 * (TKM_ERR_JSON_TYPE otherwise). path names obj in the error detail.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_json_check_fields(const json_t *obj, const char *path,
                                                     const char *const *allowed);

/*
 * Getters. obj must be an object. path names obj ("" for the root).
 * When required is 0 and the field is absent (or JSON null, which teekm
 * treats as absent), they return OK and set *present = 0 where present is
 * given; outputs are zeroed.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_json_get(const json_t *obj, const char *path, const char *key,
                                            int required, json_t **v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_json_str(const json_t *obj, const char *path, const char *key,
                                            int required, const char **s, size_t *len);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_json_bool(const json_t *obj, const char *path, const char *key,
                                             int required, int *v, int *present);
/* A JSON integer in [min, max]. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_json_int(const json_t *obj, const char *path, const char *key,
                                            int required, int64_t min, int64_t max, int64_t *v,
                                            int *present);
/* A hex-string quantity (see tkm_u256.h); JSON numbers are rejected. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_json_quantity(const json_t *obj, const char *path,
                                                 const char *key, int required, tkm_u256 *v,
                                                 int *present);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_json_quantity_u64(const json_t *obj, const char *path,
                                                     const char *key, int required, uint64_t *v,
                                                     int *present);
/* 0x-prefixed hex bytes, at most max_len; *out is malloc'd (NULL for empty) and caller frees. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_json_hexbytes(const json_t *obj, const char *path,
                                                 const char *key, int required, size_t max_len,
                                                 uint8_t **out, size_t *out_len, int *present);
/* 0x-prefixed hex of exactly n bytes. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_json_hexfixed(const json_t *obj, const char *path,
                                                 const char *key, int required, uint8_t *out,
                                                 size_t n, int *present);

/* Same checks on a bare value (array elements): path names the value. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_json_value_quantity(const json_t *v, const char *path,
                                                       tkm_u256 *out);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_json_value_hexfixed(const json_t *v, const char *path,
                                                       uint8_t *out, size_t n);

/* Append the RFC 8785 canonical form of v to w. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_json_canonical(const json_t *v, tkm_wr *w);

/* Serialize compactly (keys in insertion order) into w; for output, not hashing. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_json_dump(const json_t *v, tkm_wr *w);

/*
 * Writing: b[0..n) as a new JSON string "0x…" (lower-case hex; "0x" for n = 0).
 * Returns: a new reference (the caller owns it: hand it to json_object_set_new /
 * json_array_append_new / json_pack "o", which also accept NULL as a failure),
 * or NULL when out of memory. For public values only: JSON output is not wiped
 * by its readers. b may be NULL only with n == 0.
 */
TKM_API json_t *tkm_json_hex_new(const uint8_t *b, size_t n);

#endif
