/* see tkm_hex.h */
#include "tkm_hex.h"
#include "tkm_secret.h"

#include <stdlib.h>
#include <string.h>

/*
 * Constant-time digit decode. Invariants: no branch and no table index depends
 * on the value of c; returns the nibble in bits 0..3 and sets bit 8 when c is
 * not a hex digit. Same construction as WireGuard's encoding.c.
 */
static unsigned ct_nibble(unsigned char c) {
    int d = (int)c - 0x30;          /* '0'..'9' -> 0..9 */
    int l = (int)(c | 0x20u) - 0x61; /* 'a'..'f' and 'A'..'F' -> 0..5 */
    /* x in [0, k] iff neither x nor k - x is negative. */
    unsigned d_ok = ~((unsigned)(d | (9 - d)) >> 31) & 1u;
    unsigned l_ok = ~((unsigned)(l | (5 - l)) >> 31) & 1u;
    unsigned v = ((unsigned)d & (0u - d_ok)) | ((unsigned)(l + 10) & (0u - l_ok));
    unsigned bad = (d_ok | l_ok) ^ 1u;
    return (v & 0xfu) | (bad << 8);
}

static tkm_rc strip_prefix(const char **s, size_t *len, unsigned flags) {
    int has = *len >= 2 && (*s)[0] == '0' && (*s)[1] == 'x';
    unsigned mode = flags & 3u;
    if (mode == TKM_HEX_0X_REQUIRED && !has) {
        tkm_err_detail_set("hex string must start with 0x");
        TKM_ENSURE(0, TKM_ERR_HEX_PREFIX);
    }
    if (mode == TKM_HEX_0X_FORBIDDEN && has) {
        tkm_err_detail_set("hex string must not start with 0x");
        TKM_ENSURE(0, TKM_ERR_HEX_PREFIX);
    }
    if (has) {
        *s += 2;
        *len -= 2;
    }
    return TKM_RC_OK;
}

tkm_rc tkm_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *s, size_t s_len,
                      unsigned flags) {
    *out_len = 0;
    TKM_ARG_CHECK(s != NULL || s_len == 0);
    TKM_TRY(strip_prefix(&s, &s_len, flags));
    TKM_ENSURE(s_len % 2 == 0, TKM_ERR_HEX_ODD);
    TKM_ENSURE(s_len > 0 || (flags & TKM_HEX_EMPTY_OK), TKM_ERR_HEX);
    size_t n = s_len / 2;
    TKM_ENSURE(n <= out_cap, TKM_ERR_TOO_LARGE);
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned hi = ct_nibble((unsigned char)s[2 * i]);
        unsigned lo = ct_nibble((unsigned char)s[2 * i + 1]);
        bad |= (hi | lo) & 0x100u;
        out[i] = (uint8_t)(((hi & 0xfu) << 4) | (lo & 0xfu));
    }
    /* Declassified: whether the string was hex at all (the error code says so anyway). */
    tkm_declassify(&bad, sizeof bad);
    if (bad) {
        tkm_wipe(out, n);
        TKM_ENSURE(0, TKM_ERR_HEX);
    }
    *out_len = n;
    return TKM_RC_OK;
}

tkm_rc tkm_hex_decode_exact(uint8_t *out, size_t n, const char *s, size_t s_len, unsigned flags) {
    size_t got = 0;
    const char *t = s;
    size_t tl = s_len;
    memset(out, 0, n);
    TKM_ARG_CHECK(s != NULL || s_len == 0);
    /* Check the length before decoding so we never write past out. */
    TKM_TRY(strip_prefix(&t, &tl, flags));
    if (tl != 2 * n) {
        memset(out, 0, n);
        if (tl % 2) TKM_ENSURE(0, TKM_ERR_HEX_ODD);
        TKM_ENSURE(0, TKM_ERR_HEX_LENGTH);
    }
    tkm_rc rc = tkm_hex_decode(out, n, &got, s, s_len, flags | (n == 0 ? TKM_HEX_EMPTY_OK : 0));
    if (tkm_failed(rc)) memset(out, 0, n);
    return rc;
}

tkm_rc tkm_hex_decode_alloc(uint8_t **out, size_t *out_len, const char *s, size_t s_len,
                            unsigned flags, size_t max_len) {
    *out = NULL;
    *out_len = 0;
    TKM_ARG_CHECK(s != NULL || s_len == 0);
    size_t cap = s_len / 2 + 1;
    TKM_ENSURE(s_len / 2 <= max_len + 1, TKM_ERR_TOO_LARGE);
    uint8_t *buf = malloc(cap);
    TKM_ENSURE(buf, TKM_ERR_NOMEM);
    size_t n = 0;
    tkm_rc rc = tkm_hex_decode(buf, cap > max_len ? max_len : cap, &n, s, s_len, flags);
    if (tkm_failed(rc)) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = n;
    return rc;
}

/* Constant-time nibble to lower-case digit: '0'+v, plus 39 when v >= 10. */
static char ct_digit(unsigned v) {
    unsigned ge10 = ((9u - v) >> 8) & 1u;
    return (char)(0x30u + v + (39u & (0u - ge10)));
}

tkm_rc tkm_hex_encode(char *out, size_t out_cap, const uint8_t *in, size_t n, int prefix) {
    TKM_ARG_CHECK(in != NULL || n == 0);
    TKM_ARG_CHECK(n <= (SIZE_MAX - 3) / 2 && out_cap >= TKM_HEX_ENC_LEN(n, prefix));
    size_t o = 0;
    if (prefix) {
        out[o++] = '0';
        out[o++] = 'x';
    }
    for (size_t i = 0; i < n; i++) {
        out[o++] = ct_digit(in[i] >> 4);
        out[o++] = ct_digit(in[i] & 0xfu);
    }
    out[o] = 0;
    return TKM_RC_OK;
}

tkm_rc tkm_hex_encode_wr(tkm_wr *w, const uint8_t *in, size_t n, int prefix) {
    TKM_ARG_CHECK(in != NULL || n == 0);
    TKM_ARG_CHECK(n <= (SIZE_MAX - 3) / 2);
    TKM_TRY(tkm_wr_reserve(w, n * 2 + 2));
    TKM_TRY(tkm_hex_encode((char *)w->p + w->len, w->cap - w->len, in, n, prefix));
    w->len += n * 2 + (prefix ? 2 : 0);
    return TKM_RC_OK;
}
