/* see tkm_u256.h */
#include "tkm_u256.h"

#include <string.h>

int tkm_u256_is_zero(const tkm_u256 *a) { return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0; }

int tkm_u256_cmp(const tkm_u256 *a, const tkm_u256 *b) {
    for (int i = 3; i >= 0; i--) {
        if (a->w[i] != b->w[i]) return a->w[i] < b->w[i] ? -1 : 1;
    }
    return 0;
}

int tkm_u256_to_u64(const tkm_u256 *a, uint64_t *v) {
    *v = a->w[0];
    return (a->w[1] | a->w[2] | a->w[3]) == 0;
}

tkm_rc tkm_u256_add(tkm_u256 *r, const tkm_u256 *a, const tkm_u256 *b) {
    tkm_u256 t;
    unsigned carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t s = a->w[i] + b->w[i];
        unsigned c1 = s < a->w[i];
        uint64_t s2 = s + carry;
        unsigned c2 = s2 < s;
        t.w[i] = s2;
        carry = c1 | c2;
    }
    TKM_ENSURE(!carry, TKM_ERR_OVERFLOW);
    *r = t;
    return TKM_RC_OK;
}

tkm_rc tkm_u256_sub(tkm_u256 *r, const tkm_u256 *a, const tkm_u256 *b) {
    TKM_ENSURE(tkm_u256_cmp(a, b) >= 0, TKM_ERR_OVERFLOW);
    tkm_u256 t;
    unsigned borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t d = a->w[i] - b->w[i];
        unsigned b1 = a->w[i] < b->w[i];
        uint64_t d2 = d - borrow;
        unsigned b2 = d < (uint64_t)borrow;
        t.w[i] = d2;
        borrow = b1 | b2;
    }
    *r = t;
    return TKM_RC_OK;
}

tkm_rc tkm_u256_mul_u64(tkm_u256 *r, const tkm_u256 *a, uint64_t m) {
    tkm_u256 t;
    unsigned __int128 carry = 0;
    for (int i = 0; i < 4; i++) {
        unsigned __int128 p = (unsigned __int128)a->w[i] * m + carry;
        t.w[i] = (uint64_t)p;
        carry = p >> 64;
    }
    TKM_ENSURE(carry == 0, TKM_ERR_OVERFLOW);
    *r = t;
    return TKM_RC_OK;
}

/* r = a / d, returns remainder. */
static uint64_t divmod_u64(tkm_u256 *r, const tkm_u256 *a, uint64_t d) {
    unsigned __int128 rem = 0;
    tkm_u256 q;
    for (int i = 3; i >= 0; i--) {
        unsigned __int128 cur = (rem << 64) | a->w[i];
        q.w[i] = (uint64_t)(cur / d);
        rem = cur % d;
    }
    *r = q;
    return (uint64_t)rem;
}

void tkm_u256_from_be32(tkm_u256 *r, const uint8_t be[static 32]) {
    for (int i = 0; i < 4; i++) {
        uint64_t v = 0;
        for (int j = 0; j < 8; j++) v = (v << 8) | be[(3 - i) * 8 + j];
        r->w[i] = v;
    }
}

void tkm_u256_to_be32(const tkm_u256 *a, uint8_t be[static 32]) {
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) be[(3 - i) * 8 + j] = (uint8_t)(a->w[i] >> (56 - 8 * j));
}

tkm_rc tkm_u256_from_be(tkm_u256 *r, const uint8_t *be, size_t n) {
    uint8_t buf[32] = {0};
    *r = tkm_u256_zero();
    TKM_ENSURE(n <= 32, TKM_ERR_OVERFLOW);
    if (n) memcpy(buf + 32 - n, be, n);
    tkm_u256_from_be32(r, buf);
    return TKM_RC_OK;
}

void tkm_u256_to_be_min(const tkm_u256 *a, uint8_t out[static 32], size_t *n) {
    uint8_t buf[32];
    tkm_u256_to_be32(a, buf);
    size_t i = 0;
    while (i < 32 && buf[i] == 0) i++;
    *n = 32 - i;
    memmove(out, buf + i, *n);
}

unsigned tkm_u256_bits(const tkm_u256 *a) {
    for (int i = 3; i >= 0; i--)
        if (a->w[i]) return (unsigned)(64 * i + 64 - __builtin_clzll(a->w[i]));
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

tkm_rc tkm_u256_from_quantity(tkm_u256 *r, const char *s, size_t len) {
    *r = tkm_u256_zero();
    if (len < 3 || s[0] != '0' || s[1] != 'x') {
        tkm_err_detail_set("quantity must be 0x followed by hex digits");
        TKM_ENSURE(0, TKM_ERR_QUANTITY);
    }
    s += 2;
    len -= 2;
    if (len > 1 && s[0] == '0') {
        tkm_err_detail_set("quantity has leading zero digits");
        TKM_ENSURE(0, TKM_ERR_QUANTITY);
    }
    if (len > 64) {
        for (size_t i = 0; i < len; i++) TKM_ENSURE(hexval(s[i]) >= 0, TKM_ERR_QUANTITY);
        TKM_ENSURE(0, TKM_ERR_OVERFLOW);
    }
    tkm_u256 t = tkm_u256_zero();
    for (size_t i = 0; i < len; i++) {
        int v = hexval(s[i]);
        if (v < 0) {
            tkm_err_detail_set("quantity has a non-hex digit");
            TKM_ENSURE(0, TKM_ERR_QUANTITY);
        }
        size_t bit = 4 * (len - 1 - i);
        t.w[bit / 64] |= (uint64_t)v << (bit % 64);
    }
    *r = t;
    return TKM_RC_OK;
}

static tkm_rc accumulate_digits(tkm_u256 *t, const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        TKM_ENSURE(s[i] >= '0' && s[i] <= '9', TKM_ERR_DECIMAL);
        TKM_TRY(tkm_u256_mul_u64(t, t, 10));
        tkm_u256 d = tkm_u256_from_u64((uint64_t)(s[i] - '0'));
        TKM_TRY(tkm_u256_add(t, t, &d));
    }
    return TKM_RC_OK;
}

tkm_rc tkm_u256_from_dec(tkm_u256 *r, const char *s, size_t len) {
    *r = tkm_u256_zero();
    TKM_ENSURE(len >= 1, TKM_ERR_DECIMAL);
    TKM_ENSURE(!(len > 1 && s[0] == '0'), TKM_ERR_DECIMAL);
    tkm_u256 t = tkm_u256_zero();
    TKM_TRY(accumulate_digits(&t, s, len));
    *r = t;
    return TKM_RC_OK;
}

tkm_rc tkm_u256_from_units(tkm_u256 *r, const char *s, size_t len, unsigned decimals) {
    *r = tkm_u256_zero();
    TKM_ENSURE(decimals <= 77, TKM_ERR_RANGE);
    size_t dot = len;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '.') {
            dot = i;
            break;
        }
    size_t int_len = dot;
    size_t frac_len = dot < len ? len - dot - 1 : 0;
    TKM_ENSURE(int_len >= 1, TKM_ERR_DECIMAL);
    TKM_ENSURE(!(int_len > 1 && s[0] == '0'), TKM_ERR_DECIMAL);
    TKM_ENSURE(!(dot < len && frac_len == 0), TKM_ERR_DECIMAL); /* "1." */
    if (frac_len > decimals) {
        tkm_err_detail_set("more fractional digits (%zu) than the asset's decimals (%u)", frac_len,
                           decimals);
        TKM_ENSURE(0, TKM_ERR_DECIMAL);
    }
    tkm_u256 t = tkm_u256_zero();
    TKM_TRY(accumulate_digits(&t, s, int_len));
    if (frac_len) TKM_TRY(accumulate_digits(&t, s + dot + 1, frac_len));
    for (size_t i = frac_len; i < decimals; i++) TKM_TRY(tkm_u256_mul_u64(&t, &t, 10));
    *r = t;
    return TKM_RC_OK;
}

void tkm_u256_to_quantity(const tkm_u256 *a, char out[static 67]) {
    static const char dig[] = "0123456789abcdef";
    unsigned bits = tkm_u256_bits(a);
    unsigned nd = bits ? (bits + 3) / 4 : 1;
    out[0] = '0';
    out[1] = 'x';
    for (unsigned i = 0; i < nd; i++) {
        unsigned bit = 4 * (nd - 1 - i);
        out[2 + i] = dig[(a->w[bit / 64] >> (bit % 64)) & 0xf];
    }
    out[2 + nd] = 0;
}

void tkm_u256_to_dec(const tkm_u256 *a, char out[static TKM_U256_DEC_MAX + 1]) {
    char tmp[TKM_U256_DEC_MAX + 1];
    size_t n = 0;
    tkm_u256 t = *a;
    do {
        uint64_t d = divmod_u64(&t, &t, 10);
        tmp[n++] = (char)('0' + d);
    } while (!tkm_u256_is_zero(&t));
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = 0;
}

void tkm_u256_to_units(const tkm_u256 *a, unsigned decimals, char out[static 82]) {
    char dec[TKM_U256_DEC_MAX + 1];
    tkm_u256_to_dec(a, dec);
    size_t n = strlen(dec);
    if (decimals > 77) decimals = 77;
    if (decimals == 0) {
        memcpy(out, dec, n + 1);
        return;
    }
    /* Left-pad to at least decimals + 1 digits. */
    char pad[TKM_U256_DEC_MAX + 80];
    size_t total = n > decimals ? n : decimals + 1;
    memset(pad, '0', total - n);
    memcpy(pad + total - n, dec, n);
    size_t int_len = total - decimals;
    size_t o = 0;
    memcpy(out, pad, int_len);
    o = int_len;
    size_t frac_end = total;
    while (frac_end > int_len && pad[frac_end - 1] == '0') frac_end--;
    if (frac_end > int_len) {
        out[o++] = '.';
        memcpy(out + o, pad + int_len, frac_end - int_len);
        o += frac_end - int_len;
    }
    out[o] = 0;
}
