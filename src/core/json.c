/* see tkm_json.h */
#include "tkm_json.h"
#include "tkm_hex.h"
#include "tkm_secret.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_BYTES ((size_t)1 << 20)
#define DEFAULT_MAX_DEPTH 32u

static void wiping_free(void *p) {
    if (!p) return;
    tkm_wipe(p, malloc_usable_size(p));
    free(p);
}

void tkm_json_init(void) { json_set_alloc_funcs(malloc, wiping_free); }

/* Depth of [ and { nesting outside strings; stops as soon as max is passed. */
static int depth_ok(const uint8_t *buf, size_t len, unsigned max) {
    unsigned depth = 0;
    int in_str = 0, esc = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"')
            in_str = 1;
        else if (c == '[' || c == '{') {
            if (++depth > max) return 0;
        } else if ((c == ']' || c == '}') && depth > 0)
            depth--;
    }
    return 1;
}

tkm_rc tkm_json_load(json_t **out, const uint8_t *buf, size_t len, const tkm_json_limits *lim) {
    *out = NULL;
    size_t max_bytes = lim && lim->max_bytes ? lim->max_bytes : DEFAULT_MAX_BYTES;
    unsigned max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_MAX_DEPTH;
    TKM_ARG_CHECK(buf != NULL || len == 0);
    if (len > max_bytes) {
        tkm_err_detail_set("JSON document of %zu bytes exceeds the %zu byte limit", len, max_bytes);
        TKM_ENSURE(0, TKM_ERR_JSON_SIZE);
    }
    if (!depth_ok(buf, len, max_depth)) {
        tkm_err_detail_set("JSON nesting deeper than %u", max_depth);
        TKM_ENSURE(0, TKM_ERR_JSON_DEPTH);
    }
    json_error_t e;
    json_t *j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        tkm_err_detail_set("line %d column %d: %s", e.line, e.column, e.text);
        if (json_error_code(&e) == json_error_duplicate_key) TKM_ENSURE(0, TKM_ERR_JSON_DUPLICATE);
        if (json_error_code(&e) == json_error_out_of_memory) TKM_ENSURE(0, TKM_ERR_NOMEM);
        TKM_ENSURE(0, TKM_ERR_JSON);
    }
    *out = j;
    return TKM_RC_OK;
}

static tkm_rc fail_at(tkm_err code, const char *path, const char *key, const char *why) {
    if (key)
        tkm_err_detail_set("%s%s%s: %s", path, path[0] ? "." : "", key, why);
    else
        tkm_err_detail_set("%s: %s", path[0] ? path : "(root)", why);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(code);
}

tkm_rc tkm_json_check_fields(const json_t *obj, const char *path, const char *const *allowed) {
    if (!json_is_object(obj)) return fail_at(TKM_ERR_JSON_TYPE, path, NULL, "must be an object");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        (void)val;
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(allowed[i], key) == 0) {
                ok = 1;
                break;
            }
        if (!ok) return fail_at(TKM_ERR_JSON_UNKNOWN_FIELD, path, key, "unknown field");
    }
    return TKM_RC_OK;
}

tkm_rc tkm_json_get(const json_t *obj, const char *path, const char *key, int required, json_t **v) {
    *v = NULL;
    if (!json_is_object(obj)) return fail_at(TKM_ERR_JSON_TYPE, path, NULL, "must be an object");
    json_t *x = json_object_get(obj, key);
    if (!x || json_is_null(x)) {
        if (required) return fail_at(TKM_ERR_JSON_MISSING, path, key, "required field missing");
        return TKM_RC_OK;
    }
    *v = x;
    return TKM_RC_OK;
}

static void set_present(int *present, int v) {
    if (present) *present = v;
}

tkm_rc tkm_json_str(const json_t *obj, const char *path, const char *key, int required,
                    const char **s, size_t *len) {
    json_t *v;
    *s = NULL;
    if (len) *len = 0;
    TKM_TRY(tkm_json_get(obj, path, key, required, &v));
    if (!v) return TKM_RC_OK;
    if (!json_is_string(v)) return fail_at(TKM_ERR_JSON_TYPE, path, key, "must be a string");
    *s = json_string_value(v);
    if (len) *len = json_string_length(v);
    return TKM_RC_OK;
}

tkm_rc tkm_json_bool(const json_t *obj, const char *path, const char *key, int required, int *out,
                     int *present) {
    json_t *v;
    *out = 0;
    set_present(present, 0);
    TKM_TRY(tkm_json_get(obj, path, key, required, &v));
    if (!v) return TKM_RC_OK;
    if (!json_is_boolean(v)) return fail_at(TKM_ERR_JSON_TYPE, path, key, "must be true or false");
    *out = json_is_true(v);
    set_present(present, 1);
    return TKM_RC_OK;
}

tkm_rc tkm_json_int(const json_t *obj, const char *path, const char *key, int required, int64_t min,
                    int64_t max, int64_t *out, int *present) {
    json_t *v;
    *out = 0;
    set_present(present, 0);
    TKM_TRY(tkm_json_get(obj, path, key, required, &v));
    if (!v) return TKM_RC_OK;
    if (!json_is_integer(v)) return fail_at(TKM_ERR_JSON_TYPE, path, key, "must be an integer");
    json_int_t x = json_integer_value(v);
    if (x < min || x > max) return fail_at(TKM_ERR_RANGE, path, key, "integer out of range");
    *out = (int64_t)x;
    set_present(present, 1);
    return TKM_RC_OK;
}

static tkm_rc value_quantity(const json_t *v, const char *path, const char *key, tkm_u256 *out) {
    *out = tkm_u256_zero();
    if (json_is_number(v))
        return fail_at(TKM_ERR_QUANTITY, path, key,
                       "must be a hex string quantity (\"0x...\"), not a JSON number");
    if (!json_is_string(v)) return fail_at(TKM_ERR_QUANTITY, path, key, "must be a hex string quantity");
    tkm_rc rc = tkm_u256_from_quantity(out, json_string_value(v), json_string_length(v));
    if (tkm_failed(rc)) {
        return fail_at(rc.code, path, key,
                       rc.code == TKM_ERR_OVERFLOW ? "quantity exceeds 2^256-1"
                                                   : "invalid quantity (0x, no leading zeros)");
    }
    return rc;
}

tkm_rc tkm_json_value_quantity(const json_t *v, const char *path, tkm_u256 *out) {
    return value_quantity(v, path, NULL, out);
}

tkm_rc tkm_json_quantity(const json_t *obj, const char *path, const char *key, int required,
                         tkm_u256 *out, int *present) {
    json_t *v;
    *out = tkm_u256_zero();
    set_present(present, 0);
    TKM_TRY(tkm_json_get(obj, path, key, required, &v));
    if (!v) return TKM_RC_OK;
    TKM_TRY(value_quantity(v, path, key, out));
    set_present(present, 1);
    return TKM_RC_OK;
}

tkm_rc tkm_json_quantity_u64(const json_t *obj, const char *path, const char *key, int required,
                             uint64_t *out, int *present) {
    tkm_u256 v;
    *out = 0;
    TKM_TRY(tkm_json_quantity(obj, path, key, required, &v, present));
    if (!tkm_u256_to_u64(&v, out)) {
        *out = 0;
        return fail_at(TKM_ERR_RANGE, path, key, "quantity exceeds 2^64-1");
    }
    return TKM_RC_OK;
}

tkm_rc tkm_json_hexbytes(const json_t *obj, const char *path, const char *key, int required,
                         size_t max_len, uint8_t **out, size_t *out_len, int *present) {
    json_t *v;
    *out = NULL;
    *out_len = 0;
    set_present(present, 0);
    TKM_TRY(tkm_json_get(obj, path, key, required, &v));
    if (!v) return TKM_RC_OK;
    if (!json_is_string(v)) return fail_at(TKM_ERR_JSON_TYPE, path, key, "must be a 0x hex string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 2 && s[0] == '0' && s[1] == 'x') {
        set_present(present, 1);
        return TKM_RC_OK;
    }
    tkm_rc rc = tkm_hex_decode_alloc(out, out_len, s, n, TKM_HEX_0X_REQUIRED, max_len);
    if (tkm_failed(rc)) return fail_at(rc.code, path, key, tkm_err_str(rc.code));
    set_present(present, 1);
    return rc;
}

static tkm_rc value_hexfixed(const json_t *v, const char *path, const char *key, uint8_t *out,
                             size_t n) {
    if (!json_is_string(v)) {
        memset(out, 0, n);
        return fail_at(TKM_ERR_JSON_TYPE, path, key, "must be a 0x hex string");
    }
    tkm_rc rc = tkm_hex_decode_exact(out, n, json_string_value(v), json_string_length(v),
                                     TKM_HEX_0X_REQUIRED);
    if (tkm_failed(rc)) return fail_at(rc.code, path, key, tkm_err_str(rc.code));
    return rc;
}

tkm_rc tkm_json_value_hexfixed(const json_t *v, const char *path, uint8_t *out, size_t n) {
    return value_hexfixed(v, path, NULL, out, n);
}

tkm_rc tkm_json_hexfixed(const json_t *obj, const char *path, const char *key, int required,
                         uint8_t *out, size_t n, int *present) {
    json_t *v;
    memset(out, 0, n);
    set_present(present, 0);
    TKM_TRY(tkm_json_get(obj, path, key, required, &v));
    if (!v) return TKM_RC_OK;
    TKM_TRY(value_hexfixed(v, path, key, out, n));
    set_present(present, 1);
    return TKM_RC_OK;
}

/* ---- RFC 8785 canonical form ---- */

/* Decode one UTF-8 code point; returns bytes consumed (0 on invalid). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
    if (n == 0) return 0;
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t need;
    uint32_t v, min;
    if ((c & 0xe0) == 0xc0) {
        need = 2;
        v = c & 0x1f;
        min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        need = 3;
        v = c & 0x0f;
        min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        need = 4;
        v = c & 0x07;
        min = 0x10000;
    } else
        return 0;
    if (n < need) return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return need;
}

/* Compare two keys by their UTF-16 code units, as RFC 8785 §3.2.3 requires. */
static int utf16_cmp(const char *a, size_t an, const char *b, size_t bn) {
    size_t i = 0, j = 0;
    uint16_t ua[2], ub[2];
    int na = 0, nb = 0, ia = 0, ib = 0;
    for (;;) {
        if (ia == na) {
            if (i >= an) na = 0;
            else {
                uint32_t cp = 0xfffd;
                size_t k = utf8_next((const unsigned char *)a + i, an - i, &cp);
                i += k ? k : 1;
                if (cp >= 0x10000) {
                    ua[0] = (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
                    ua[1] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
                    na = 2;
                } else {
                    ua[0] = (uint16_t)cp;
                    na = 1;
                }
            }
            ia = 0;
        }
        if (ib == nb) {
            if (j >= bn) nb = 0;
            else {
                uint32_t cp = 0xfffd;
                size_t k = utf8_next((const unsigned char *)b + j, bn - j, &cp);
                j += k ? k : 1;
                if (cp >= 0x10000) {
                    ub[0] = (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
                    ub[1] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
                    nb = 2;
                } else {
                    ub[0] = (uint16_t)cp;
                    nb = 1;
                }
            }
            ib = 0;
        }
        if (na == 0 || nb == 0) return (na != 0) - (nb != 0);
        if (ua[ia] != ub[ib]) return ua[ia] < ub[ib] ? -1 : 1;
        ia++;
        ib++;
    }
}

static tkm_rc canon_string(const char *s, size_t n, tkm_wr *w) {
    static const char hexd[] = "0123456789abcdef";
    TKM_TRY(tkm_wr_u8(w, '"'));
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = utf8_next((const unsigned char *)s + i, n - i, &cp);
        TKM_ENSURE(k, TKM_ERR_UTF8);
        if (cp == '"' || cp == '\\') {
            TKM_TRY(tkm_wr_u8(w, '\\'));
            TKM_TRY(tkm_wr_u8(w, (uint8_t)cp));
        } else if (cp < 0x20) {
            const char *e = NULL;
            switch (cp) {
            case '\b': e = "\\b"; break;
            case '\f': e = "\\f"; break;
            case '\n': e = "\\n"; break;
            case '\r': e = "\\r"; break;
            case '\t': e = "\\t"; break;
            default: break;
            }
            if (e)
                TKM_TRY(tkm_wr_str(w, e));
            else {
                char u[7] = {'\\', 'u', '0', '0', hexd[cp >> 4], hexd[cp & 15], 0};
                TKM_TRY(tkm_wr_str(w, u));
            }
        } else {
            TKM_TRY(tkm_wr_put(w, s + i, k));
        }
        i += k;
    }
    return tkm_wr_u8(w, '"');
}

typedef struct {
    const char *key;
    size_t len;
    json_t *val;
} kv;

static int kv_cmp(const void *x, const void *y) {
    const kv *a = x, *b = y;
    return utf16_cmp(a->key, a->len, b->key, b->len);
}

static tkm_rc canon(const json_t *v, tkm_wr *w, unsigned depth) {
    TKM_ENSURE(depth <= 64, TKM_ERR_JSON_DEPTH);
    switch (json_typeof(v)) {
    case JSON_NULL: return tkm_wr_str(w, "null");
    case JSON_TRUE: return tkm_wr_str(w, "true");
    case JSON_FALSE: return tkm_wr_str(w, "false");
    case JSON_INTEGER: {
        json_int_t x = json_integer_value(v);
        /* ES6 Number serialization is exact only up to 2^53. */
        TKM_ENSURE(x <= 9007199254740991LL && x >= -9007199254740991LL, TKM_ERR_RANGE);
        return tkm_wr_fmt(w, "%lld", (long long)x);
    }
    case JSON_REAL:
        tkm_err_detail_set("non-integer numbers have no canonical form in teekm documents");
        TKM_ENSURE(0, TKM_ERR_JSON_TYPE);
    case JSON_STRING: return canon_string(json_string_value(v), json_string_length(v), w);
    case JSON_ARRAY: {
        TKM_TRY(tkm_wr_u8(w, '['));
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) TKM_TRY(tkm_wr_u8(w, ','));
            TKM_TRY(canon(json_array_get(v, i), w, depth + 1));
        }
        return tkm_wr_u8(w, ']');
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        kv *items = n ? calloc(n, sizeof *items) : NULL;
        TKM_ENSURE(n == 0 || items, TKM_ERR_NOMEM);
        size_t i = 0;
        const char *key;
        size_t klen;
        json_t *val;
        json_object_keylen_foreach((json_t *)v, key, klen, val) {
            items[i].key = key;
            items[i].len = klen;
            items[i].val = val;
            i++;
        }
        if (n > 1) qsort(items, n, sizeof *items, kv_cmp); /* qsort(NULL, 0) is UB: found by fuzz_json */
        tkm_rc rc = tkm_wr_u8(w, '{');
        for (i = 0; i < n && tkm_ok(rc); i++) {
            if (i) rc = tkm_wr_u8(w, ',');
            if (tkm_ok(rc)) rc = canon_string(items[i].key, items[i].len, w);
            if (tkm_ok(rc)) rc = tkm_wr_u8(w, ':');
            if (tkm_ok(rc)) rc = canon(items[i].val, w, depth + 1);
        }
        free(items);
        TKM_TRY(rc);
        return tkm_wr_u8(w, '}');
    }
    }
    TKM_ENSURE(0, TKM_ERR_INTERNAL);
}

tkm_rc tkm_json_canonical(const json_t *v, tkm_wr *w) {
    TKM_ARG_CHECK(v != NULL);
    return canon(v, w, 0);
}

static int dump_cb(const char *buffer, size_t size, void *data) {
    return tkm_ok(tkm_wr_put((tkm_wr *)data, buffer, size)) ? 0 : -1;
}

tkm_rc tkm_json_dump(const json_t *v, tkm_wr *w) {
    TKM_ARG_CHECK(v != NULL);
    int r = json_dump_callback(v, dump_cb, w, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    TKM_TRY(tkm_wr_status(w));
    TKM_ENSURE(r == 0, TKM_ERR_INTERNAL);
    return TKM_RC_OK;
}

json_t *tkm_json_hex_new(const uint8_t *b, size_t n) {
    tkm_wr w;
    tkm_wr_init(&w, 0);
    json_t *s = NULL;
    if (tkm_ok(tkm_hex_encode_wr(&w, b, n, 1))) s = json_stringn((const char *)w.p, w.len);
    tkm_wr_free(&w);
    return s;
}
