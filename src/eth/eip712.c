/* see tkm_eip712.h */
#include "tkm_eip712.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- limits ---- */

#define DEF_MAX_BYTES ((size_t)1 << 20)
#define DEF_MAX_DEPTH 32u
#define HARD_MAX_DEPTH 64u
#define DEF_MAX_TYPES 64u
#define HARD_MAX_TYPES 1024u
#define DEF_MAX_FIELDS 64u
#define HARD_MAX_FIELDS 1024u
#define DEF_MAX_ARRAY 10000u
#define HARD_MAX_ARRAY (1u << 24)
#define DEF_MAX_VALUES 100000u
#define DEF_MAX_ENCODE ((size_t)256 << 10)
#define MAX_TYPE_STR 256u /* characters of one field type string */

static tkm_eip712_limits limits_resolve(const tkm_eip712_limits *in) {
    tkm_eip712_limits l = in ? *in : (tkm_eip712_limits){0};
    if (!l.max_bytes) l.max_bytes = DEF_MAX_BYTES;
    if (!l.max_depth) l.max_depth = DEF_MAX_DEPTH;
    if (l.max_depth > HARD_MAX_DEPTH) l.max_depth = HARD_MAX_DEPTH;
    if (!l.max_types) l.max_types = DEF_MAX_TYPES;
    if (l.max_types > HARD_MAX_TYPES) l.max_types = HARD_MAX_TYPES;
    if (!l.max_fields) l.max_fields = DEF_MAX_FIELDS;
    if (l.max_fields > HARD_MAX_FIELDS) l.max_fields = HARD_MAX_FIELDS;
    if (!l.max_array_len) l.max_array_len = DEF_MAX_ARRAY;
    if (l.max_array_len > HARD_MAX_ARRAY) l.max_array_len = HARD_MAX_ARRAY;
    if (!l.max_values) l.max_values = DEF_MAX_VALUES;
    if (!l.max_encode_bytes) l.max_encode_bytes = DEF_MAX_ENCODE;
    return l;
}

/* ---- the parsed form ---- */

enum { K_UINT, K_INT, K_BOOL, K_ADDRESS, K_BYTESN, K_BYTES, K_STRING, K_STRUCT };

typedef struct {
    uint8_t kind;
    uint8_t ndims;
    uint16_t size; /* bits of uintN/intN, bytes of bytesN */
    uint32_t st;   /* struct index (K_STRUCT) */
    /* dims[0] is the innermost (written first); 0 = dynamic. "T[2][]": {2, 0}. */
    uint32_t dims[TKM_EIP712_MAX_DIMS];
    /* length of the type string keeping k dimensions: "T[2][]" -> {1, 4, 6} */
    uint16_t prefix_len[TKM_EIP712_MAX_DIMS + 1];
} ttype;

typedef struct {
    const char *name; /* NUL-terminated, borrowed from the JSON document */
    size_t name_len;
    const char *type;
    size_t type_len;
    ttype t;
} tfield;

typedef struct {
    const char *name;
    size_t name_len;
    const json_t *def;
    tfield *fields;
    size_t n_fields;
    char *enc; /* encodeType, NUL-terminated */
    size_t enc_len;
    uint8_t type_hash[32];
    uint8_t mark;
} tstruct;

struct tkm_typed_data {
    json_t *root; /* owned; every borrowed string points into it */
    tstruct *types;
    size_t n_types;
    size_t primary;
    size_t domain_type;
    const json_t *message;
    tkm_eip712_domain domain;
    tkm_eip712_hashes h;
    tkm_eip712_limits lim;
};

/* ---- paths for error details ---- */

typedef struct {
    char b[160];
    size_t len;
} tpath;

static void path_set(tpath *p, const char *s) {
    p->len = 0;
    p->b[0] = 0;
    size_t n = strlen(s);
    if (n >= sizeof p->b) n = sizeof p->b - 1;
    memcpy(p->b, s, n);
    p->b[n] = 0;
    p->len = n;
}

/* Append; returns the previous length for path_pop. A path that does not fit ends in "...". */
static size_t path_push(tpath *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(tpath *p, const char *fmt, ...) {
    size_t old = p->len;
    size_t room = sizeof p->b - p->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->b + p->len, room, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= room) {
        p->len = sizeof p->b - 1;
        memcpy(p->b + p->len - 3, "...", 3);
    } else {
        p->len += (size_t)n;
    }
    return old;
}

static void path_pop(tpath *p, size_t old) {
    p->len = old;
    p->b[old] = 0;
}

static tkm_rc fail_at_(tkm_err code, const tpath *p, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static tkm_rc fail_at_(tkm_err code, const tpath *p, const char *file, int line, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tkm_err_detail_set("%s: %s", p && p->b[0] ? p->b : "(root)", msg);
    tkm_err_record_where_(file, line);
    return TKM_RC(code);
}
#define FAIL(code, p, ...) fail_at_((code), (p), __FILE__, __LINE__, __VA_ARGS__)

/* Print at most 40 bytes of untrusted text in a detail, escaping what is not plain ASCII. */
typedef struct {
    char s[48 * 4 + 4];
} shown;
static shown show(const char *s, size_t n) {
    shown o;
    size_t j = 0, lim = n > 40 ? 40 : n;
    for (size_t i = 0; i < lim; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            o.s[j++] = (char)c;
        else
            j += (size_t)snprintf(o.s + j, sizeof o.s - j, "\\x%02x", c);
    }
    if (lim < n) {
        memcpy(o.s + j, "...", 3);
        j += 3;
    }
    o.s[j] = 0;
    return o;
}

/* ---- names and type strings ---- */

/*
 * Field names: [A-Za-z_$][A-Za-z0-9_$]*. Type names: the same without "$",
 * because MetaMask's eth-sig-util finds dependencies with the pattern ^\w* and so
 * leaves types named with "$" out of encodeType (ethers does not): such a
 * document would hash differently depending on the wallet.
 */
static int is_ident_(const char *s, size_t n, int dollar) {
    if (n == 0 || n > TKM_EIP712_MAX_NAME) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (dollar && c == '$');
        int digit = c >= '0' && c <= '9';
        if (!(alpha || (digit && i > 0))) return 0;
    }
    return 1;
}
static int is_field_name(const char *s, size_t n) { return is_ident_(s, n, 1); }
static int is_type_name(const char *s, size_t n) { return is_ident_(s, n, 0); }

/* Parse canonical decimal digits s[0..n) (1..5 digits, no leading zero). Returns -1 if not. */
static long small_dec(const char *s, size_t n) {
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0')) return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int has_prefix(const char *s, size_t n, const char *pre, size_t *rest) {
    size_t k = strlen(pre);
    if (n < k || memcmp(s, pre, k) != 0) return 0;
    *rest = k;
    return 1;
}

static int all_digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/*
 * Classify a base type name. Returns 1 (valid atomic type, *t filled), -1
 * (looks atomic but is refused: "uint", "int7", "bytes33", "byte", fixed
 * point, "function"), 0 (not atomic: a struct name).
 */
static int parse_atomic(const char *s, size_t n, ttype *t) {
    size_t k;
    memset(t, 0, sizeof *t);
    if ((n == 4 && memcmp(s, "bool", 4) == 0)) {
        t->kind = K_BOOL;
        return 1;
    }
    if (n == 7 && memcmp(s, "address", 7) == 0) {
        t->kind = K_ADDRESS;
        return 1;
    }
    if (n == 6 && memcmp(s, "string", 6) == 0) {
        t->kind = K_STRING;
        return 1;
    }
    if (n == 5 && memcmp(s, "bytes", 5) == 0) {
        t->kind = K_BYTES;
        return 1;
    }
    if ((n == 4 && memcmp(s, "byte", 4) == 0) || (n == 8 && memcmp(s, "function", 8) == 0)) return -1;
    int is_u = has_prefix(s, n, "uint", &k);
    if (is_u || has_prefix(s, n, "int", &k)) {
        if (!all_digits(s + k, n - k)) return 0;
        long w = small_dec(s + k, n - k);
        if (w < 8 || w > 256 || w % 8 != 0) return -1;
        t->kind = is_u ? K_UINT : K_INT;
        t->size = (uint16_t)w;
        return 1;
    }
    if (has_prefix(s, n, "bytes", &k)) {
        if (!all_digits(s + k, n - k)) return 0;
        long w = small_dec(s + k, n - k);
        if (w < 1 || w > 32) return -1;
        t->kind = K_BYTESN;
        t->size = (uint16_t)w;
        return 1;
    }
    if (has_prefix(s, n, "fixed", &k) || has_prefix(s, n, "ufixed", &k)) {
        /* fixed, fixedMxN: refused (no wallet encodes them the same way) */
        size_t i = k;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == n) return -1;
        if (s[i] == 'x' && i > k && i + 1 < n && all_digits(s + i + 1, n - i - 1)) return -1;
    }
    return 0;
}

static int name_cmp(const void *a, const void *b) {
    const tstruct *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static long find_struct(const tkm_typed_data *td, const char *name, size_t len) {
    size_t lo = 0, hi = td->n_types;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const tstruct *s = &td->types[mid];
        size_t m = s->name_len < len ? s->name_len : len;
        int c = memcmp(s->name, name, m);
        if (c == 0) c = (s->name_len > len) - (s->name_len < len);
        if (c == 0) return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Parse a field type string such as "Person[2][]" through a bounded reader. */
static tkm_rc parse_type(const tkm_typed_data *td, const tpath *p, const char *s, size_t n, ttype *t) {
    memset(t, 0, sizeof *t);
    if (n == 0 || n > MAX_TYPE_STR) return FAIL(TKM_ERR_TYPED_DATA, p, "type must have 1..%u characters", MAX_TYPE_STR);
    size_t base_len = 0;
    while (base_len < n && s[base_len] != '[') base_len++;
    if (!is_type_name(s, base_len))
        return FAIL(TKM_ERR_TYPED_DATA, p, "invalid type \"%s\"", show(s, n).s);
    ttype base;
    int a = parse_atomic(s, base_len, &base);
    if (a < 0)
        return FAIL(TKM_ERR_TYPED_DATA_UNKNOWN_TYPE, p,
                    "unsupported type \"%s\" (use uint256, int256, bytes1.. spelled out)",
                    show(s, base_len).s);
    if (a == 0) {
        long idx = find_struct(td, s, base_len);
        if (idx < 0) return FAIL(TKM_ERR_TYPED_DATA_UNKNOWN_TYPE, p, "unknown type \"%s\"", show(s, base_len).s);
        if ((size_t)idx == td->domain_type)
            return FAIL(TKM_ERR_TYPED_DATA, p, "EIP712Domain cannot be used as a field type");
        base.kind = K_STRUCT;
        base.st = (uint32_t)idx;
    }
    *t = base;
    t->prefix_len[0] = (uint16_t)base_len;
    tkm_rd r;
    tkm_rd_init(&r, (const uint8_t *)s + base_len, n - base_len);
    while (tkm_rd_left(&r) > 0) {
        uint8_t c;
        if (tkm_failed(tkm_rd_u8(&r, &c)) || c != '[')
            return FAIL(TKM_ERR_TYPED_DATA, p, "invalid array suffix in \"%s\"", show(s, n).s);
        if (t->ndims >= TKM_EIP712_MAX_DIMS)
            return FAIL(TKM_ERR_TOO_LARGE, p, "more than %d array dimensions", TKM_EIP712_MAX_DIMS);
        uint64_t v = 0;
        size_t digits = 0;
        int leading_zero = 0;
        for (;;) {
            if (tkm_failed(tkm_rd_u8(&r, &c)))
                return FAIL(TKM_ERR_TYPED_DATA, p, "unterminated array suffix in \"%s\"", show(s, n).s);
            if (c == ']') break;
            if (c < '0' || c > '9')
                return FAIL(TKM_ERR_TYPED_DATA, p, "invalid array length in \"%s\"", show(s, n).s);
            if (digits == 0 && c == '0') leading_zero = 1;
            if (v <= UINT32_MAX) v = v * 10 + (uint64_t)(c - '0'); /* saturates above 2^32: refused below */
            digits++;
        }
        if (digits > 0 && (leading_zero || v == 0))
            return FAIL(TKM_ERR_TYPED_DATA, p, "array length must be >= 1 without leading zeros in \"%s\"",
                        show(s, n).s);
        if (v > td->lim.max_array_len)
            return FAIL(TKM_ERR_TOO_LARGE, p, "fixed array length %llu exceeds the limit %zu",
                        (unsigned long long)v, td->lim.max_array_len);
        t->dims[t->ndims++] = (uint32_t)v;
        t->prefix_len[t->ndims] = (uint16_t)(n - tkm_rd_left(&r));
    }
    tkm_rc rc = tkm_rd_done(&r);
    if (tkm_failed(rc)) return FAIL(TKM_ERR_TYPED_DATA, p, "invalid type \"%s\"", show(s, n).s);
    return TKM_RC_OK;
}

/* ---- values ---- */

typedef struct {
    const tkm_typed_data *td;
    tpath path;
    size_t values;
} enc_ctx;

/* 2^53 - 1: JSON numbers beyond it are not exact in JavaScript (and ethers refuses them). */
#define MAX_SAFE_INT 9007199254740991LL

/*
 * An integer value as a magnitude and sign: a JSON integer within
 * ±(2^53-1), a canonical decimal string with an optional "-", or "0x" with
 * 1..64 hex digits (leading zeros allowed, never negative).
 */
static tkm_rc dec_integer(const json_t *v, const tpath *p, tkm_u256 *mag, int *neg) {
    *mag = tkm_u256_zero();
    *neg = 0;
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x > MAX_SAFE_INT || x < -MAX_SAFE_INT)
            return FAIL(TKM_ERR_RANGE, p, "JSON number beyond 2^53-1 is not exact: write it as a string");
        *neg = x < 0;
        *mag = tkm_u256_from_u64((uint64_t)(x < 0 ? -x : x));
        return TKM_RC_OK;
    }
    if (json_is_real(v)) return FAIL(TKM_ERR_JSON_TYPE, p, "must be an integer (no fraction or exponent)");
    if (!json_is_string(v)) return FAIL(TKM_ERR_JSON_TYPE, p, "must be an integer or an integer string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    int negative = 0;
    if (n >= 1 && s[0] == '-') {
        negative = 1;
        s++;
        n--;
    }
    tkm_u256 m;
    if (n >= 2 && s[0] == '0' && s[1] == 'x') {
        if (negative) return FAIL(TKM_ERR_QUANTITY, p, "negative hex numbers are not accepted");
        size_t nd = n - 2;
        if (nd == 0 || nd > 64) return FAIL(nd ? TKM_ERR_RANGE : TKM_ERR_QUANTITY, p, "hex number must have 1..64 digits");
        char digits[64];
        memset(digits, '0', sizeof digits);
        memcpy(digits + 64 - nd, s + 2, nd);
        uint8_t be[32];
        if (tkm_failed(tkm_hex_decode_exact(be, 32, digits, 64, TKM_HEX_0X_FORBIDDEN)))
            return FAIL(TKM_ERR_QUANTITY, p, "invalid hex number");
        tkm_u256_from_be32(&m, be);
    } else {
        if (n > TKM_U256_DEC_MAX) return FAIL(TKM_ERR_RANGE, p, "number out of range");
        tkm_rc rc = tkm_u256_from_dec(&m, s, n);
        if (rc.code == TKM_ERR_OVERFLOW) return FAIL(TKM_ERR_RANGE, p, "number out of range");
        if (tkm_failed(rc))
            return FAIL(TKM_ERR_DECIMAL, p, "invalid integer string (decimal without leading zeros or 0x hex)");
        if (negative && tkm_u256_is_zero(&m)) return FAIL(TKM_ERR_DECIMAL, p, "\"-0\" is not a canonical integer");
    }
    *mag = m;
    *neg = negative;
    return TKM_RC_OK;
}

/* Range check for uintN / intN (negative values need magnitude <= 2^(N-1)). */
static tkm_rc int_in_range(const ttype *t, const tkm_u256 *mag, int neg, const tpath *p) {
    unsigned bits = tkm_u256_bits(mag);
    unsigned w = t->size;
    int ok;
    if (t->kind == K_UINT) {
        ok = !neg && bits <= w;
    } else if (!neg) {
        ok = bits <= w - 1;
    } else {
        /* |v| <= 2^(w-1): fewer than w bits, or exactly 2^(w-1) */
        ok = bits <= w - 1;
        if (!ok && bits == w) {
            tkm_u256 pw = tkm_u256_zero();
            pw.w[(w - 1) / 64] = (uint64_t)1 << ((w - 1) % 64);
            ok = tkm_u256_cmp(mag, &pw) == 0;
        }
    }
    if (!ok) return FAIL(TKM_ERR_RANGE, p, "value out of range for %sint%u", t->kind == K_UINT ? "u" : "", w);
    return TKM_RC_OK;
}

/* Two's complement on 256 bits. */
static void twos(tkm_u256 *v) {
    int carry = 1;
    for (int i = 0; i < 4; i++) {
        v->w[i] = ~v->w[i];
        if (carry) {
            v->w[i] += 1;
            carry = v->w[i] == 0;
        }
    }
}

static tkm_rc dec_string(const json_t *v, const tpath *p, const char **s, size_t *n) {
    *s = NULL;
    *n = 0;
    if (!json_is_string(v)) return FAIL(TKM_ERR_JSON_TYPE, p, "must be a string");
    *s = json_string_value(v);
    *n = json_string_length(v);
    return TKM_RC_OK;
}

static tkm_rc dec_address(const json_t *v, const tpath *p, uint8_t addr[20]) {
    memset(addr, 0, 20);
    if (!json_is_string(v)) return FAIL(TKM_ERR_JSON_TYPE, p, "address must be a 0x string");
    tkm_rc rc = tkm_eth_address_parse(addr, json_string_value(v), json_string_length(v));
    if (tkm_failed(rc))
        return FAIL(rc.code, p, "%s",
                    rc.code == TKM_ERR_CHECKSUM ? "mixed-case address does not match its EIP-55 checksum"
                                                : "address must be 0x followed by 40 hex digits");
    return TKM_RC_OK;
}

static tkm_rc dec_bytesn(const json_t *v, const tpath *p, size_t size, uint8_t out[32]) {
    memset(out, 0, 32);
    if (!json_is_string(v)) return FAIL(TKM_ERR_JSON_TYPE, p, "bytes%zu must be a 0x hex string", size);
    tkm_rc rc = tkm_hex_decode_exact(out, size, json_string_value(v), json_string_length(v), TKM_HEX_0X_REQUIRED);
    if (tkm_failed(rc))
        return FAIL(rc.code, p, "bytes%zu must be 0x followed by exactly %zu hex digits", size, size * 2);
    return TKM_RC_OK;
}

/* Check a dynamic bytes value ("0x" + even hex digits). Out: hex digits view. */
static tkm_rc check_bytes(const json_t *v, const tpath *p, const char **hex, size_t *nhex) {
    *hex = NULL;
    *nhex = 0;
    if (!json_is_string(v)) return FAIL(TKM_ERR_JSON_TYPE, p, "bytes must be a 0x hex string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n < 2 || s[0] != '0' || s[1] != 'x') return FAIL(TKM_ERR_HEX_PREFIX, p, "bytes must start with 0x");
    if ((n - 2) % 2) return FAIL(TKM_ERR_HEX_ODD, p, "bytes must have an even number of hex digits");
    *hex = s + 2;
    *nhex = n - 2;
    return TKM_RC_OK;
}

/* keccak256 of a dynamic bytes value, decoded in chunks (no allocation). */
static tkm_rc hash_bytes(const json_t *v, const tpath *p, uint8_t out[32]) {
    const char *hex;
    size_t nhex;
    TKM_TRY(check_bytes(v, p, &hex, &nhex));
    tkm_keccak_ctx k;
    tkm_keccak256_init(&k);
    uint8_t buf[128];
    for (size_t off = 0; off < nhex;) {
        size_t take = nhex - off < 2 * sizeof buf ? nhex - off : 2 * sizeof buf;
        size_t got;
        if (tkm_failed(tkm_hex_decode(buf, sizeof buf, &got, hex + off, take, TKM_HEX_0X_FORBIDDEN)))
            return FAIL(TKM_ERR_HEX, p, "bytes has a non-hex digit");
        tkm_keccak256_update(&k, buf, got);
        off += take;
    }
    tkm_keccak256_final(&k, out);
    return TKM_RC_OK;
}

static tkm_rc enc_struct(enc_ctx *c, size_t st, const json_t *v, unsigned depth, uint8_t out[32],
                         tkm_wr *raw);

/* Encode one value of type t with `dims` array dimensions left into its 32-byte word. */
static tkm_rc enc_value(enc_ctx *c, const ttype *t, unsigned dims, const json_t *v, unsigned depth,
                        uint8_t out[32]) {
    memset(out, 0, 32);
    if (++c->values > c->td->lim.max_values)
        return FAIL(TKM_ERR_TOO_LARGE, &c->path, "more than %zu values", c->td->lim.max_values);
    if (dims > 0) {
        if (depth + 1 > c->td->lim.max_depth)
            return FAIL(TKM_ERR_JSON_DEPTH, &c->path, "values nested deeper than %u", c->td->lim.max_depth);
        if (!json_is_array(v)) return FAIL(TKM_ERR_JSON_TYPE, &c->path, "must be an array");
        size_t n = json_array_size(v);
        if (n > c->td->lim.max_array_len)
            return FAIL(TKM_ERR_TOO_LARGE, &c->path, "array of %zu elements exceeds the limit %zu", n,
                        c->td->lim.max_array_len);
        uint32_t want = t->dims[dims - 1];
        if (want && n != want)
            return FAIL(TKM_ERR_TYPED_DATA, &c->path, "array has %zu elements, its type requires %u", n, want);
        tkm_keccak_ctx k;
        tkm_keccak256_init(&k);
        for (size_t i = 0; i < n; i++) {
            uint8_t w[32];
            size_t old = path_push(&c->path, "[%zu]", i);
            TKM_TRY(enc_value(c, t, dims - 1, json_array_get(v, i), depth + 1, w));
            path_pop(&c->path, old);
            tkm_keccak256_update(&k, w, 32);
        }
        tkm_keccak256_final(&k, out);
        return TKM_RC_OK;
    }
    switch (t->kind) {
    case K_STRUCT:
        if (depth + 1 > c->td->lim.max_depth)
            return FAIL(TKM_ERR_JSON_DEPTH, &c->path, "values nested deeper than %u", c->td->lim.max_depth);
        return enc_struct(c, t->st, v, depth + 1, out, NULL);
    case K_UINT:
    case K_INT: {
        tkm_u256 m;
        int neg;
        TKM_TRY(dec_integer(v, &c->path, &m, &neg));
        TKM_TRY(int_in_range(t, &m, neg, &c->path));
        if (neg) twos(&m);
        tkm_u256_to_be32(&m, out);
        return TKM_RC_OK;
    }
    case K_BOOL:
        if (!json_is_boolean(v)) return FAIL(TKM_ERR_JSON_TYPE, &c->path, "must be true or false");
        out[31] = json_is_true(v) ? 1 : 0;
        return TKM_RC_OK;
    case K_ADDRESS: return dec_address(v, &c->path, out + 12);
    case K_BYTESN: return dec_bytesn(v, &c->path, t->size, out);
    case K_BYTES: return hash_bytes(v, &c->path, out);
    case K_STRING: {
        const char *s;
        size_t n;
        TKM_TRY(dec_string(v, &c->path, &s, &n));
        tkm_keccak256(out, s, n);
        return TKM_RC_OK;
    }
    default: break;
    }
    return FAIL(TKM_ERR_INTERNAL, &c->path, "unknown kind");
}

static int field_named(const tstruct *s, const char *key, size_t key_len) {
    for (size_t i = 0; i < s->n_fields; i++)
        if (s->fields[i].name_len == key_len && memcmp(s->fields[i].name, key, key_len) == 0) return 1;
    return 0;
}

/* hashStruct of v as struct st (and, when raw is given, encodeData appended to it). */
static tkm_rc enc_struct(enc_ctx *c, size_t st, const json_t *v, unsigned depth, uint8_t out[32],
                         tkm_wr *raw) {
    const tstruct *s = &c->td->types[st];
    memset(out, 0, 32);
    if (!json_is_object(v)) return FAIL(TKM_ERR_JSON_TYPE, &c->path, "must be an object (struct %s)", s->name);
    if (json_object_size(v) > s->n_fields) {
        const char *key;
        size_t key_len;
        json_t *x;
        json_object_keylen_foreach((json_t *)v, key, key_len, x) {
            (void)x;
            if (!field_named(s, key, key_len))
                return FAIL(TKM_ERR_JSON_UNKNOWN_FIELD, &c->path, "unknown field \"%s\" (struct %s)",
                            show(key, key_len).s, s->name);
        }
        return FAIL(TKM_ERR_JSON_UNKNOWN_FIELD, &c->path, "more fields than struct %s declares", s->name);
    }
    tkm_keccak_ctx k;
    tkm_keccak256_init(&k);
    tkm_keccak256_update(&k, s->type_hash, 32);
    if (raw) TKM_TRY(tkm_wr_put(raw, s->type_hash, 32));
    for (size_t i = 0; i < s->n_fields; i++) {
        const tfield *f = &s->fields[i];
        size_t old = path_push(&c->path, ".%s", f->name);
        const json_t *x = json_object_get(v, f->name);
        if (!x) return FAIL(TKM_ERR_JSON_MISSING, &c->path, "missing field (%s %s)", f->type, f->name);
        if (json_is_null(x)) return FAIL(TKM_ERR_JSON_TYPE, &c->path, "null is not a %s", f->type);
        uint8_t w[32];
        TKM_TRY(enc_value(c, &f->t, f->t.ndims, x, depth, w));
        path_pop(&c->path, old);
        tkm_keccak256_update(&k, w, 32);
        if (raw) TKM_TRY(tkm_wr_put(raw, w, 32));
    }
    tkm_keccak256_final(&k, out);
    return TKM_RC_OK;
}

/* ---- building the object ---- */

static const struct {
    const char *name;
    const char *type;
    unsigned bit;
} domain_fields[] = {
    {"name", "string", TKM_EIP712_DOMAIN_NAME},
    {"version", "string", TKM_EIP712_DOMAIN_VERSION},
    {"chainId", "uint256", TKM_EIP712_DOMAIN_CHAIN_ID},
    {"verifyingContract", "address", TKM_EIP712_DOMAIN_VERIFYING_CONTRACT},
    {"salt", "bytes32", TKM_EIP712_DOMAIN_SALT},
};
#define N_DOMAIN_FIELDS (sizeof domain_fields / sizeof domain_fields[0])

/* Exactly the keys in `allowed` (n of them), all required; keys compared with their full length. */
static tkm_rc exact_fields(const json_t *obj, tpath *p, const char *const *allowed, size_t n) {
    if (!json_is_object(obj)) return FAIL(TKM_ERR_JSON_TYPE, p, "must be an object");
    const char *key;
    size_t key_len;
    json_t *x;
    json_object_keylen_foreach((json_t *)obj, key, key_len, x) {
        (void)x;
        int ok = 0;
        for (size_t i = 0; i < n && !ok; i++) ok = strlen(allowed[i]) == key_len && memcmp(allowed[i], key, key_len) == 0;
        if (!ok) return FAIL(TKM_ERR_JSON_UNKNOWN_FIELD, p, "unknown field \"%s\"", show(key, key_len).s);
    }
    for (size_t i = 0; i < n; i++) {
        x = json_object_get(obj, allowed[i]);
        if (!x || json_is_null(x)) {
            size_t old = path_push(p, "%s%s", p->len ? "." : "", allowed[i]);
            tkm_rc rc = FAIL(TKM_ERR_JSON_MISSING, p, "required field missing");
            path_pop(p, old);
            return rc;
        }
    }
    return TKM_RC_OK;
}

static tkm_rc load_types(tkm_typed_data *td, const json_t *types, tpath *p) {
    if (!json_is_object(types)) return FAIL(TKM_ERR_JSON_TYPE, p, "must be an object");
    size_t n = json_object_size(types);
    if (n > td->lim.max_types) return FAIL(TKM_ERR_TOO_LARGE, p, "%zu types exceed the limit %zu", n, td->lim.max_types);
    td->types = calloc(n ? n : 1, sizeof *td->types);
    if (!td->types) return FAIL(TKM_ERR_NOMEM, p, "out of memory");
    const char *key;
    size_t key_len;
    json_t *def;
    json_object_keylen_foreach((json_t *)types, key, key_len, def) {
        size_t old = path_push(p, ".%s", show(key, key_len).s);
        ttype dummy;
        if (!is_type_name(key, key_len))
            return FAIL(TKM_ERR_TYPED_DATA, p, "type name must match [A-Za-z_][A-Za-z0-9_]* (at most %d characters)",
                        TKM_EIP712_MAX_NAME);
        if (parse_atomic(key, key_len, &dummy) != 0)
            return FAIL(TKM_ERR_TYPED_DATA, p, "type name is reserved for an atomic type");
        if (!json_is_array(def)) return FAIL(TKM_ERR_JSON_TYPE, p, "must be an array of {name, type}");
        if (json_array_size(def) > td->lim.max_fields)
            return FAIL(TKM_ERR_TOO_LARGE, p, "%zu fields exceed the limit %zu", json_array_size(def),
                        td->lim.max_fields);
        path_pop(p, old);
        tstruct *s = &td->types[td->n_types++];
        s->name = key; /* identifiers hold no NUL, so the key is the whole name */
        s->name_len = key_len;
        s->def = def;
    }
    qsort(td->types, td->n_types, sizeof *td->types, name_cmp);
    long d = find_struct(td, "EIP712Domain", 12);
    if (d < 0) {
        size_t old = path_push(p, ".EIP712Domain");
        tkm_rc rc = FAIL(TKM_ERR_JSON_MISSING, p, "required type missing");
        path_pop(p, old);
        return rc;
    }
    td->domain_type = (size_t)d;
    return TKM_RC_OK;
}

static tkm_rc load_fields(tkm_typed_data *td, tstruct *s, tpath *p) {
    size_t n = json_array_size(s->def);
    s->fields = calloc(n ? n : 1, sizeof *s->fields);
    if (!s->fields) return FAIL(TKM_ERR_NOMEM, p, "out of memory");
    static const char *const keys[] = {"name", "type"};
    for (size_t i = 0; i < n; i++) {
        const json_t *fo = json_array_get(s->def, i);
        size_t old = path_push(p, ".%s[%zu]", s->name, i);
        TKM_TRY(exact_fields(fo, p, keys, 2));
        tfield *f = &s->fields[s->n_fields];
        const json_t *jn = json_object_get(fo, "name"), *jt = json_object_get(fo, "type");
        size_t old2 = path_push(p, ".name");
        if (!json_is_string(jn)) return FAIL(TKM_ERR_JSON_TYPE, p, "must be a string");
        f->name = json_string_value(jn);
        f->name_len = json_string_length(jn);
        if (!is_field_name(f->name, f->name_len))
            return FAIL(TKM_ERR_TYPED_DATA, p, "field name \"%s\" must be an identifier of at most %d characters",
                        show(f->name, f->name_len).s, TKM_EIP712_MAX_NAME);
        for (size_t j = 0; j < s->n_fields; j++)
            if (strcmp(s->fields[j].name, f->name) == 0)
                return FAIL(TKM_ERR_TYPED_DATA_DUPLICATE, p, "duplicate field name \"%s\" in %s", f->name, s->name);
        path_pop(p, old2);
        old2 = path_push(p, ".type");
        if (!json_is_string(jt)) return FAIL(TKM_ERR_JSON_TYPE, p, "must be a string");
        f->type = json_string_value(jt);
        f->type_len = json_string_length(jt);
        TKM_TRY(parse_type(td, p, f->type, f->type_len, &f->t));
        if (f->t.kind == K_STRUCT && f->t.st == (size_t)(s - td->types))
            return FAIL(TKM_ERR_TYPED_DATA_CYCLE, p, "struct %s refers to itself", s->name);
        path_pop(p, old2);
        path_pop(p, old);
        s->n_fields++;
    }
    return TKM_RC_OK;
}

static tkm_rc check_domain_type(const tkm_typed_data *td, tpath *p) {
    const tstruct *s = &td->types[td->domain_type];
    size_t next = 0;
    for (size_t i = 0; i < s->n_fields; i++) {
        const tfield *f = &s->fields[i];
        size_t old = path_push(p, ".EIP712Domain[%zu]", i);
        size_t j = 0;
        while (j < N_DOMAIN_FIELDS && strcmp(domain_fields[j].name, f->name) != 0) j++;
        if (j == N_DOMAIN_FIELDS)
            return FAIL(TKM_ERR_TYPED_DATA_DOMAIN, p,
                        "\"%s\" is not an EIP-712 domain field (name, version, chainId, verifyingContract, salt)",
                        f->name);
        if (strcmp(domain_fields[j].type, f->type) != 0)
            return FAIL(TKM_ERR_TYPED_DATA_DOMAIN, p, "domain field %s must have type %s", f->name,
                        domain_fields[j].type);
        if (j < next)
            return FAIL(TKM_ERR_TYPED_DATA_DOMAIN, p,
                        "domain fields must be in the order name, version, chainId, verifyingContract, salt");
        next = j + 1;
        path_pop(p, old);
    }
    return TKM_RC_OK;
}

/* Depth-first cycle check: mark 1 = on the stack, 2 = done. */
static tkm_rc visit_cycles(tkm_typed_data *td, size_t i, tpath *p) {
    tstruct *s = &td->types[i];
    if (s->mark == 2) return TKM_RC_OK;
    s->mark = 1;
    for (size_t f = 0; f < s->n_fields; f++) {
        const ttype *t = &s->fields[f].t;
        if (t->kind != K_STRUCT) continue;
        if (td->types[t->st].mark == 1) {
            size_t old = path_push(p, ".%s[%zu].type", s->name, f);
            tkm_rc rc = FAIL(TKM_ERR_TYPED_DATA_CYCLE, p, "cyclic reference to %s", td->types[t->st].name);
            path_pop(p, old);
            return rc;
        }
        TKM_TRY(visit_cycles(td, t->st, p));
    }
    s->mark = 2;
    return TKM_RC_OK;
}

/* Mark (with `seen`) every struct reachable from i, i included. The graph is acyclic. */
static void reach(const tkm_typed_data *td, size_t i, uint8_t *seen) {
    if (seen[i]) return;
    seen[i] = 1;
    const tstruct *s = &td->types[i];
    for (size_t f = 0; f < s->n_fields; f++)
        if (s->fields[f].t.kind == K_STRUCT) reach(td, s->fields[f].t.st, seen);
}

static tkm_rc put_def(tkm_wr *w, const tstruct *s) {
    TKM_TRY(tkm_wr_put(w, s->name, s->name_len));
    TKM_TRY(tkm_wr_u8(w, '('));
    for (size_t f = 0; f < s->n_fields; f++) {
        if (f) TKM_TRY(tkm_wr_u8(w, ','));
        TKM_TRY(tkm_wr_put(w, s->fields[f].type, s->fields[f].type_len));
        TKM_TRY(tkm_wr_u8(w, ' '));
        TKM_TRY(tkm_wr_put(w, s->fields[f].name, s->fields[f].name_len));
    }
    return tkm_wr_u8(w, ')');
}

/* encodeType and typeHash of every type; dependencies come out sorted because types are. */
static tkm_rc encode_types(tkm_typed_data *td, tpath *p) {
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    uint8_t *seen = calloc(td->n_types ? td->n_types : 1, 1);
    size_t budget = td->lim.max_encode_bytes;
    tkm_wr w;
    tkm_wr_init(&w, budget);
    if (!seen) {
        rc = FAIL(TKM_ERR_NOMEM, p, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < td->n_types; i++) {
        tstruct *s = &td->types[i];
        memset(seen, 0, td->n_types);
        reach(td, i, seen);
        if (budget == 0) {
            rc = FAIL(TKM_ERR_TOO_LARGE, p, "encodeType strings exceed %zu bytes in total",
                      td->lim.max_encode_bytes);
            goto out;
        }
        tkm_wr_init(&w, budget);
        rc = put_def(&w, s);
        for (size_t j = 0; j < td->n_types && tkm_ok(rc); j++)
            if (seen[j] && j != i) rc = put_def(&w, &td->types[j]);
        if (tkm_ok(rc)) rc = tkm_wr_nul(&w);
        if (tkm_failed(rc)) {
            rc = rc.code == TKM_ERR_TOO_LARGE
                     ? FAIL(TKM_ERR_TOO_LARGE, p, "encodeType strings exceed %zu bytes in total",
                            td->lim.max_encode_bytes)
                     : FAIL(rc.code, p, "cannot build encodeType");
            goto out;
        }
        budget -= w.len;
        tkm_keccak256(s->type_hash, w.p, w.len);
        uint8_t *enc = NULL;
        rc = tkm_wr_take(&w, &enc, &s->enc_len);
        if (tkm_failed(rc)) goto out;
        s->enc = (char *)enc;
    }
    rc = TKM_RC_OK;
out:
    tkm_wr_free(&w);
    free(seen);
    return rc;
}

static tkm_rc load_domain_values(tkm_typed_data *td, const json_t *dom, tpath *p) {
    const tstruct *s = &td->types[td->domain_type];
    tkm_eip712_domain *d = &td->domain;
    for (size_t i = 0; i < s->n_fields; i++) {
        const tfield *f = &s->fields[i];
        const json_t *v = json_object_get(dom, f->name);
        size_t old = path_push(p, ".%s", f->name);
        if (strcmp(f->name, "name") == 0 || strcmp(f->name, "version") == 0) {
            const char *str;
            size_t n;
            TKM_TRY(dec_string(v, p, &str, &n));
            if (strlen(str) != n) return FAIL(TKM_ERR_TYPED_DATA_DOMAIN, p, "domain strings may not contain NUL");
            if (f->name[0] == 'n') {
                d->name = str;
                d->name_len = n;
                d->fields |= TKM_EIP712_DOMAIN_NAME;
            } else {
                d->version = str;
                d->version_len = n;
                d->fields |= TKM_EIP712_DOMAIN_VERSION;
            }
        } else if (strcmp(f->name, "chainId") == 0) {
            int neg;
            TKM_TRY(dec_integer(v, p, &d->chain_id, &neg));
            d->fields |= TKM_EIP712_DOMAIN_CHAIN_ID;
        } else if (strcmp(f->name, "verifyingContract") == 0) {
            TKM_TRY(dec_address(v, p, d->verifying_contract));
            d->fields |= TKM_EIP712_DOMAIN_VERIFYING_CONTRACT;
        } else {
            uint8_t w[32];
            TKM_TRY(dec_bytesn(v, p, 32, w));
            memcpy(d->salt, w, 32);
            d->fields |= TKM_EIP712_DOMAIN_SALT;
        }
        path_pop(p, old);
    }
    return TKM_RC_OK;
}

static tkm_rc build(tkm_typed_data *td) {
    tpath p;
    path_set(&p, "");
    static const char *const root_keys[] = {"types", "primaryType", "domain", "message"};
    TKM_TRY(exact_fields(td->root, &p, root_keys, 4));
    const json_t *types = json_object_get(td->root, "types");
    const json_t *primary = json_object_get(td->root, "primaryType");
    const json_t *domain = json_object_get(td->root, "domain");
    td->message = json_object_get(td->root, "message");

    path_set(&p, "types");
    TKM_TRY(load_types(td, types, &p));
    for (size_t i = 0; i < td->n_types; i++) TKM_TRY(load_fields(td, &td->types[i], &p));
    TKM_TRY(check_domain_type(td, &p));
    for (size_t i = 0; i < td->n_types; i++) TKM_TRY(visit_cycles(td, i, &p));

    path_set(&p, "primaryType");
    if (!json_is_string(primary)) return FAIL(TKM_ERR_JSON_TYPE, &p, "must be a string");
    long pi = find_struct(td, json_string_value(primary), json_string_length(primary));
    if (pi < 0)
        return FAIL(TKM_ERR_TYPED_DATA_UNKNOWN_TYPE, &p, "\"%s\" is not a declared type",
                    show(json_string_value(primary), json_string_length(primary)).s);
    if ((size_t)pi == td->domain_type)
        return FAIL(TKM_ERR_TYPED_DATA, &p, "primaryType may not be EIP712Domain (nothing would be signed)");
    td->primary = (size_t)pi;

    /* every type other than the domain must be used by the primary type (as ethers requires) */
    path_set(&p, "types");
    uint8_t *seen = calloc(td->n_types, 1);
    if (!seen) return FAIL(TKM_ERR_NOMEM, &p, "out of memory");
    reach(td, td->primary, seen);
    for (size_t i = 0; i < td->n_types; i++) {
        if (!seen[i] && i != td->domain_type) {
            path_push(&p, ".%s", td->types[i].name);
            free(seen);
            return FAIL(TKM_ERR_TYPED_DATA, &p, "type is not used by primaryType %s", td->types[td->primary].name);
        }
    }
    free(seen);
    TKM_TRY(encode_types(td, &p));

    enc_ctx c = {.td = td, .values = 0};
    path_set(&c.path, "domain");
    TKM_TRY(enc_struct(&c, td->domain_type, domain, 0, td->h.domain_separator, NULL));
    TKM_TRY(load_domain_values(td, domain, &c.path));
    path_set(&c.path, "message");
    TKM_TRY(enc_struct(&c, td->primary, td->message, 0, td->h.struct_hash, NULL));
    tkm_eip712_digest(td->h.digest, td->h.domain_separator, td->h.struct_hash);
    return TKM_RC_OK;
}

static tkm_rc finish(tkm_typed_data **out, json_t *root, const tkm_eip712_limits *lim) {
    tkm_rc rc;
    tkm_typed_data *td = calloc(1, sizeof *td);
    if (!td) {
        json_decref(root);
        tkm_err_detail_set("out of memory");
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    td->root = root;
    td->lim = limits_resolve(lim);
    rc = build(td);
    if (tkm_failed(rc)) {
        tkm_typed_data_free(td);
        return rc;
    }
    *out = td;
    return TKM_RC_OK;
}

tkm_rc tkm_typed_data_parse(tkm_typed_data **out, const uint8_t *json, size_t len,
                            const tkm_eip712_limits *lim) {
    TKM_ARG_CHECK(out != NULL);
    *out = NULL;
    TKM_ARG_CHECK(json != NULL || len == 0);
    tkm_eip712_limits l = limits_resolve(lim);
    tkm_json_limits jl = {.max_bytes = l.max_bytes, .max_depth = l.max_depth + 4};
    json_t *root = NULL;
    TKM_TRY(tkm_json_load(&root, json, len, &jl));
    return finish(out, root, &l);
}

tkm_rc tkm_typed_data_from_json(tkm_typed_data **out, const json_t *root, const tkm_eip712_limits *lim) {
    TKM_ARG_CHECK(out != NULL);
    *out = NULL;
    TKM_ARG_CHECK(root != NULL);
    tkm_eip712_limits l = limits_resolve(lim);
    json_t *copy = json_deep_copy(root);
    if (!copy) {
        tkm_err_detail_set("cannot copy the typed-data document");
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    return finish(out, copy, &l);
}

void tkm_typed_data_free(tkm_typed_data *td) {
    if (!td) return;
    for (size_t i = 0; i < td->n_types; i++) {
        free(td->types[i].fields);
        free(td->types[i].enc);
    }
    free(td->types);
    json_decref(td->root);
    free(td);
}

/* ---- results ---- */

const tkm_eip712_hashes *tkm_typed_data_hashes(const tkm_typed_data *td) { return &td->h; }
const tkm_eip712_domain *tkm_typed_data_domain(const tkm_typed_data *td) { return &td->domain; }
const char *tkm_typed_data_primary_type(const tkm_typed_data *td) { return td->types[td->primary].name; }

tkm_rc tkm_typed_data_encode_type(const tkm_typed_data *td, const char *type, const char **s, size_t *len) {
    TKM_ARG_CHECK(td && type && s);
    *s = NULL;
    if (len) *len = 0;
    long i = find_struct(td, type, strlen(type));
    if (i < 0) {
        tkm_err_detail_set("type \"%s\" is not declared", show(type, strlen(type)).s);
        TKM_ENSURE(0, TKM_ERR_TYPED_DATA_UNKNOWN_TYPE);
    }
    *s = td->types[i].enc;
    if (len) *len = td->types[i].enc_len;
    return TKM_RC_OK;
}

tkm_rc tkm_typed_data_type_hash(const tkm_typed_data *td, const char *type, uint8_t out[static 32]) {
    TKM_ARG_CHECK(td && type && out);
    memset(out, 0, 32);
    long i = find_struct(td, type, strlen(type));
    if (i < 0) {
        tkm_err_detail_set("type \"%s\" is not declared", show(type, strlen(type)).s);
        TKM_ENSURE(0, TKM_ERR_TYPED_DATA_UNKNOWN_TYPE);
    }
    memcpy(out, td->types[i].type_hash, 32);
    return TKM_RC_OK;
}

tkm_rc tkm_typed_data_encode_data(const tkm_typed_data *td, tkm_wr *w) {
    TKM_ARG_CHECK(td && w);
    enc_ctx c = {.td = td, .values = 0};
    path_set(&c.path, "message");
    uint8_t h[32];
    return enc_struct(&c, td->primary, td->message, 0, h, w);
}

tkm_rc tkm_typed_data_recover(const tkm_typed_data *td, uint8_t addr[static TKM_ETH_ADDR_LEN],
                              const uint8_t *sig, size_t sig_len) {
    TKM_ARG_CHECK(td && addr && sig);
    memset(addr, 0, TKM_ETH_ADDR_LEN);
    if (sig_len != 65) {
        tkm_err_detail_set("signature must be 65 bytes (r, s, v), not %zu", sig_len);
        TKM_ENSURE(0, TKM_ERR_BAD_SIGNATURE);
    }
    uint8_t s[65], pub[TKM_SECP_PUBKEY_LEN];
    memcpy(s, sig, 65);
    if (s[64] == 27 || s[64] == 28) s[64] = (uint8_t)(s[64] - 27);
    if (s[64] > 1) {
        tkm_err_detail_set("signature v must be 27 or 28 (or 0 or 1)");
        TKM_ENSURE(0, TKM_ERR_BAD_SIGNATURE);
    }
    TKM_TRY(tkm_secp_recover(pub, td->h.digest, s, TKM_SECP_REQUIRE_LOW_S));
    tkm_eth_address(addr, pub);
    return TKM_RC_OK;
}

/* ---- accessors ---- */

typedef struct {
    const ttype *t;
    unsigned dims;
    const json_t *v;
    const char *type;
    size_t type_len;
} cursor;

static tkm_rc no_field(const char *path, const char *why) {
    tkm_err_detail_set("message%s%s: %s", path[0] && path[0] != '[' ? "." : "", show(path, strlen(path)).s, why);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(TKM_ERR_TYPED_DATA_FIELD);
}

/* Walk a path ("a.b[2].c") from the message through a bounded reader. */
static tkm_rc resolve(const tkm_typed_data *td, const char *path, cursor *cur, ttype *root_type) {
    memset(root_type, 0, sizeof *root_type);
    root_type->kind = K_STRUCT;
    root_type->st = (uint32_t)td->primary;
    root_type->prefix_len[0] = (uint16_t)td->types[td->primary].name_len;
    *cur = (cursor){root_type, 0, td->message, td->types[td->primary].name, td->types[td->primary].name_len};
    tkm_rd r;
    tkm_rd_init(&r, (const uint8_t *)path, strlen(path));
    int first = 1;
    while (tkm_rd_left(&r) > 0) {
        uint8_t c;
        if (tkm_failed(tkm_rd_peek_u8(&r, &c))) return no_field(path, "invalid path");
        if (c == '[') {
            if (tkm_failed(tkm_rd_skip(&r, 1))) return no_field(path, "invalid path");
            if (cur->dims == 0) return no_field(path, "not an array");
            uint64_t idx = 0;
            size_t digits = 0;
            for (;;) {
                if (tkm_failed(tkm_rd_u8(&r, &c))) return no_field(path, "invalid path");
                if (c == ']') break;
                if (c < '0' || c > '9' || digits >= 9) return no_field(path, "invalid index");
                idx = idx * 10 + (uint64_t)(c - '0');
                digits++;
            }
            if (digits == 0) return no_field(path, "invalid index");
            if (idx >= json_array_size(cur->v)) return no_field(path, "index out of range");
            cur->v = json_array_get(cur->v, (size_t)idx);
            cur->dims--;
            cur->type_len = cur->t->prefix_len[cur->dims];
        } else {
            if (!first) {
                if (c != '.' || tkm_failed(tkm_rd_skip(&r, 1))) return no_field(path, "invalid path");
            }
            size_t start = r.off, n = 0;
            while (tkm_ok(tkm_rd_peek_u8(&r, &c)) && c != '.' && c != '[') {
                if (tkm_failed(tkm_rd_skip(&r, 1))) return no_field(path, "invalid path");
                n++;
            }
            const char *name = path + start;
            if (cur->dims != 0 || cur->t->kind != K_STRUCT) return no_field(path, "not a struct");
            const tstruct *s = &td->types[cur->t->st];
            const tfield *f = NULL;
            for (size_t i = 0; i < s->n_fields && !f; i++)
                if (s->fields[i].name_len == n && memcmp(s->fields[i].name, name, n) == 0) f = &s->fields[i];
            if (!f) return no_field(path, "no such field");
            cur->t = &f->t;
            cur->dims = f->t.ndims;
            cur->v = json_object_get(cur->v, f->name);
            cur->type = f->type;
            cur->type_len = f->type_len;
        }
        first = 0;
    }
    if (tkm_failed(tkm_rd_done(&r))) return no_field(path, "invalid path");
    return TKM_RC_OK;
}

static tkm_rc resolve_kind(const tkm_typed_data *td, const char *path, int kind, int kind2, cursor *cur,
                           ttype *root_type) {
    TKM_TRY(resolve(td, path, cur, root_type));
    if (cur->dims != 0 || (cur->t->kind != kind && cur->t->kind != kind2))
        return no_field(path, "the field has another type");
    return TKM_RC_OK;
}

tkm_rc tkm_typed_data_type_of(const tkm_typed_data *td, const char *path, const char **type, size_t *len) {
    TKM_ARG_CHECK(td && path && type && len);
    *type = NULL;
    *len = 0;
    cursor cur;
    ttype rt;
    TKM_TRY(resolve(td, path, &cur, &rt));
    *type = cur.type;
    *len = cur.type_len;
    return TKM_RC_OK;
}

tkm_rc tkm_typed_data_array_len(const tkm_typed_data *td, const char *path, size_t *n) {
    TKM_ARG_CHECK(td && path && n);
    *n = 0;
    cursor cur;
    ttype rt;
    TKM_TRY(resolve(td, path, &cur, &rt));
    if (cur.dims == 0) return no_field(path, "not an array");
    *n = json_array_size(cur.v);
    return TKM_RC_OK;
}

/* The integer at path, of kind K_UINT or K_INT, checked against its declared width. */
static tkm_rc get_integer(const tkm_typed_data *td, const char *path, int kind, tkm_u256 *magnitude, int *negative) {
    cursor cur;
    ttype rt;
    tpath p;
    TKM_TRY(resolve_kind(td, path, kind, kind, &cur, &rt));
    path_set(&p, path);
    tkm_u256 m;
    int neg;
    TKM_TRY(dec_integer(cur.v, &p, &m, &neg));
    TKM_TRY(int_in_range(cur.t, &m, neg, &p));
    *magnitude = m;
    *negative = neg;
    return TKM_RC_OK;
}

tkm_rc tkm_typed_data_get_uint(const tkm_typed_data *td, const char *path, tkm_u256 *v) {
    TKM_ARG_CHECK(td && path && v);
    *v = tkm_u256_zero();
    int neg = 0;
    return get_integer(td, path, K_UINT, v, &neg);
}

tkm_rc tkm_typed_data_get_int(const tkm_typed_data *td, const char *path, tkm_u256 *magnitude, int *negative) {
    TKM_ARG_CHECK(td && path && magnitude && negative);
    *magnitude = tkm_u256_zero();
    *negative = 0;
    return get_integer(td, path, K_INT, magnitude, negative);
}

tkm_rc tkm_typed_data_get_bool(const tkm_typed_data *td, const char *path, int *v) {
    TKM_ARG_CHECK(td && path && v);
    *v = 0;
    cursor cur;
    ttype rt;
    TKM_TRY(resolve_kind(td, path, K_BOOL, K_BOOL, &cur, &rt));
    *v = json_is_true(cur.v) ? 1 : 0;
    return TKM_RC_OK;
}

tkm_rc tkm_typed_data_get_address(const tkm_typed_data *td, const char *path, uint8_t addr[static 20]) {
    TKM_ARG_CHECK(td && path && addr);
    memset(addr, 0, 20);
    cursor cur;
    ttype rt;
    tpath p;
    TKM_TRY(resolve_kind(td, path, K_ADDRESS, K_ADDRESS, &cur, &rt));
    path_set(&p, path);
    return dec_address(cur.v, &p, addr);
}

tkm_rc tkm_typed_data_get_bytes(const tkm_typed_data *td, const char *path, uint8_t **out, size_t *len) {
    TKM_ARG_CHECK(td && path && out && len);
    *out = NULL;
    *len = 0;
    cursor cur;
    ttype rt;
    tpath p;
    TKM_TRY(resolve_kind(td, path, K_BYTES, K_BYTESN, &cur, &rt));
    path_set(&p, path);
    const char *hex;
    size_t nhex;
    TKM_TRY(check_bytes(cur.v, &p, &hex, &nhex));
    if (nhex == 0) return TKM_RC_OK;
    uint8_t *b = NULL;
    size_t n = 0;
    tkm_rc rc = tkm_hex_decode_alloc(&b, &n, hex, nhex, TKM_HEX_0X_FORBIDDEN, nhex / 2);
    if (tkm_failed(rc)) return FAIL(rc.code, &p, "invalid hex");
    *out = b;
    *len = n;
    return TKM_RC_OK;
}

tkm_rc tkm_typed_data_get_string(const tkm_typed_data *td, const char *path, const char **s, size_t *len) {
    TKM_ARG_CHECK(td && path && s && len);
    *s = NULL;
    *len = 0;
    cursor cur;
    ttype rt;
    tpath p;
    TKM_TRY(resolve_kind(td, path, K_STRING, K_STRING, &cur, &rt));
    path_set(&p, path);
    return dec_string(cur.v, &p, s, len);
}

/* ---- building blocks ---- */

void tkm_eip712_hash_struct(uint8_t out[static 32], const char *encode_type, size_t encode_type_len,
                            const uint8_t *words, size_t n_words) {
    uint8_t th[32];
    tkm_keccak256(th, encode_type, encode_type_len);
    tkm_keccak_ctx k;
    tkm_keccak256_init(&k);
    tkm_keccak256_update(&k, th, 32);
    if (n_words) tkm_keccak256_update(&k, words, 32 * n_words);
    tkm_keccak256_final(&k, out);
}

void tkm_eip712_domain_separator(uint8_t out[static 32], const tkm_eip712_domain *d) {
    char enc[128];
    uint8_t words[N_DOMAIN_FIELDS * 32];
    size_t n = 0, len = 0;
    memcpy(enc, "EIP712Domain(", 13);
    len = 13;
    memset(words, 0, sizeof words);
    for (size_t i = 0; i < N_DOMAIN_FIELDS; i++) {
        if (!(d->fields & domain_fields[i].bit)) continue;
        int w = snprintf(enc + len, sizeof enc - len, "%s%s %s", n ? "," : "", domain_fields[i].type,
                         domain_fields[i].name);
        len += (size_t)w;
        uint8_t *wd = words + 32 * n;
        switch (domain_fields[i].bit) {
        case TKM_EIP712_DOMAIN_NAME: tkm_keccak256(wd, d->name ? d->name : "", d->name ? d->name_len : 0); break;
        case TKM_EIP712_DOMAIN_VERSION:
            tkm_keccak256(wd, d->version ? d->version : "", d->version ? d->version_len : 0);
            break;
        case TKM_EIP712_DOMAIN_CHAIN_ID: tkm_u256_to_be32(&d->chain_id, wd); break;
        case TKM_EIP712_DOMAIN_VERIFYING_CONTRACT: memcpy(wd + 12, d->verifying_contract, 20); break;
        default: memcpy(wd, d->salt, 32); break;
        }
        n++;
    }
    enc[len++] = ')';
    tkm_eip712_hash_struct(out, enc, len, words, n);
}

void tkm_eip712_digest(uint8_t out[static 32], const uint8_t ds[static 32], const uint8_t sh[static 32]) {
    uint8_t buf[66];
    buf[0] = 0x19;
    buf[1] = 0x01;
    memcpy(buf + 2, ds, 32);
    memcpy(buf + 34, sh, 32);
    tkm_keccak256(out, buf, sizeof buf);
}
