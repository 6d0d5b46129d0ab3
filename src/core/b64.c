/* see tkm_b64.h */
#include "tkm_b64.h"

#include <stdlib.h>
#include <string.h>

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static int is_pem_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static tkm_rc bad(const char *why, size_t at) {
    tkm_err_detail_set("base64: %s at character %zu", why, at);
    TKM_ENSURE(0, TKM_ERR_BASE64);
}

tkm_rc tkm_b64_decode(uint8_t *out, size_t cap, size_t *out_len, const char *in, size_t n, unsigned flags) {
    TKM_ARG_CHECK(out_len && (in || n == 0) && (out || cap == 0));
    *out_len = 0;
    uint32_t acc = 0;
    size_t o = 0, digits = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if ((flags & TKM_B64_SKIP_WS) && is_pem_space(c)) continue;
        if (c == '=') {
            pad++;
            if (pad > 2) return bad("more than two '='", i);
            continue;
        }
        if (pad) return bad("data after '='", i);
        int v = b64_value(c);
        if (v < 0) return bad("character outside the alphabet", i);
        acc = acc << 6 | (uint32_t)v;
        if (++digits % 4 == 0) {
            if (cap - o < 3) TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    size_t rest = digits % 4; /* 0, 2 (one byte) or 3 (two bytes); 1 is never valid */
    if (rest == 1 || pad != (4 - rest) % 4) return bad("wrong length or padding", n);
    if (rest) {
        size_t extra = rest - 1, unused = 6 * rest - 8 * extra;
        if (acc & ((1u << unused) - 1)) return bad("non-zero bits after the last byte", n);
        if (cap - o < extra) TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
        acc >>= unused;
        for (size_t k = extra; k-- > 0;) out[o++] = (uint8_t)(acc >> (8 * k));
    }
    *out_len = o;
    return TKM_RC_OK;
}

tkm_rc tkm_b64_decode_alloc(uint8_t **out, size_t *out_len, const char *in, size_t n, unsigned flags) {
    TKM_ARG_CHECK(out && out_len && (in || n == 0));
    *out = NULL;
    *out_len = 0;
    uint8_t *buf = malloc(TKM_B64_DEC_MAX(n));
    TKM_ENSURE(buf, TKM_ERR_NOMEM);
    tkm_rc rc = tkm_b64_decode(buf, TKM_B64_DEC_MAX(n), out_len, in, n, flags);
    if (tkm_ok(rc) && *out_len == 0) rc = bad("empty", 0);
    if (tkm_failed(rc)) {
        free(buf);
        *out_len = 0;
        return rc;
    }
    *out = buf;
    return TKM_RC_OK;
}
