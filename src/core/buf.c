/* see tkm_buf.h */
#include "tkm_buf.h"
#include "tkm_secret.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tkm_rd_init(tkm_rd *r, const uint8_t *buf, size_t len) {
    r->p = buf;
    r->len = buf ? len : 0;
    r->off = 0;
    r->err = TKM_OK;
}

size_t tkm_rd_left(const tkm_rd *r) { return r->err != TKM_OK ? 0 : r->len - r->off; }

tkm_rc tkm_rd_status(const tkm_rd *r) { return TKM_RC(r->err); }

/* Check that n bytes are available; set the sticky error otherwise. */
static tkm_rc rd_need(tkm_rd *r, size_t n) {
    if (r->err != TKM_OK) return TKM_RC(r->err);
    if (n > r->len - r->off) {
        r->err = TKM_ERR_TRUNCATED;
        tkm_err_record_where_(__FILE__, __LINE__);
        return TKM_RC(r->err);
    }
    return TKM_RC_OK;
}

tkm_rc tkm_rd_bytes(tkm_rd *r, uint8_t *dst, size_t n) {
    tkm_rc rc = rd_need(r, n);
    if (tkm_failed(rc)) {
        if (n) memset(dst, 0, n);
        return rc;
    }
    if (n) memcpy(dst, r->p + r->off, n);
    r->off += n;
    return rc;
}

tkm_rc tkm_rd_view(tkm_rd *r, size_t n, const uint8_t **v) {
    tkm_rc rc = rd_need(r, n);
    *v = NULL;
    if (tkm_failed(rc)) return rc;
    *v = r->p ? r->p + r->off : (const uint8_t *)"";
    r->off += n;
    return rc;
}

tkm_rc tkm_rd_skip(tkm_rd *r, size_t n) {
    TKM_TRY(rd_need(r, n));
    r->off += n;
    return TKM_RC_OK;
}

tkm_rc tkm_rd_peek_u8(const tkm_rd *r, uint8_t *v) {
    *v = 0;
    if (r->err != TKM_OK) return TKM_RC(r->err);
    if (r->off >= r->len) return TKM_RC(TKM_ERR_TRUNCATED);
    *v = r->p[r->off];
    return TKM_RC_OK;
}

tkm_rc tkm_rd_u8(tkm_rd *r, uint8_t *v) { return tkm_rd_bytes(r, v, 1); }

static uint64_t load_le(const uint8_t *b, size_t n) {
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | b[i];
    return v;
}

static uint64_t load_be(const uint8_t *b, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = (v << 8) | b[i];
    return v;
}

static tkm_rc rd_uint(tkm_rd *r, size_t n, int big, uint64_t *v) {
    uint8_t b[8];
    *v = 0;
    TKM_TRY(tkm_rd_bytes(r, b, n));
    *v = big ? load_be(b, n) : load_le(b, n);
    return TKM_RC_OK;
}

tkm_rc tkm_rd_u16le(tkm_rd *r, uint16_t *v) {
    uint64_t x;
    tkm_rc rc = rd_uint(r, 2, 0, &x);
    *v = (uint16_t)x;
    return rc;
}
tkm_rc tkm_rd_u32le(tkm_rd *r, uint32_t *v) {
    uint64_t x;
    tkm_rc rc = rd_uint(r, 4, 0, &x);
    *v = (uint32_t)x;
    return rc;
}
tkm_rc tkm_rd_u64le(tkm_rd *r, uint64_t *v) { return rd_uint(r, 8, 0, v); }
tkm_rc tkm_rd_u16be(tkm_rd *r, uint16_t *v) {
    uint64_t x;
    tkm_rc rc = rd_uint(r, 2, 1, &x);
    *v = (uint16_t)x;
    return rc;
}
tkm_rc tkm_rd_u32be(tkm_rd *r, uint32_t *v) {
    uint64_t x;
    tkm_rc rc = rd_uint(r, 4, 1, &x);
    *v = (uint32_t)x;
    return rc;
}
tkm_rc tkm_rd_u64be(tkm_rd *r, uint64_t *v) { return rd_uint(r, 8, 1, v); }

tkm_rc tkm_rd_sub(tkm_rd *r, size_t n, tkm_rd *child) {
    tkm_rd_init(child, NULL, 0);
    tkm_rc rc = rd_need(r, n);
    if (tkm_failed(rc)) {
        child->err = rc.code;
        return rc;
    }
    tkm_rd_init(child, r->p ? r->p + r->off : NULL, n);
    r->off += n;
    return rc;
}

tkm_rc tkm_rd_done(const tkm_rd *r) {
    if (r->err != TKM_OK) return TKM_RC(r->err);
    TKM_ENSURE(r->off == r->len, TKM_ERR_TRAILING);
    return TKM_RC_OK;
}

/* ---- writer ---- */

void tkm_wr_init(tkm_wr *w, size_t max) {
    w->p = NULL;
    w->len = 0;
    w->cap = 0;
    w->max = max ? max : TKM_WR_DEFAULT_MAX;
    w->err = TKM_OK;
}

tkm_rc tkm_wr_status(const tkm_wr *w) { return TKM_RC(w->err); }

static tkm_rc wr_fail(tkm_wr *w, tkm_err e) {
    w->err = e;
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(e);
}

tkm_rc tkm_wr_reserve(tkm_wr *w, size_t extra) {
    if (w->err != TKM_OK) return TKM_RC(w->err);
    /* +1 keeps room for an optional NUL terminator. */
    if (extra > w->max - w->len || extra + 1 > SIZE_MAX - w->len) return wr_fail(w, TKM_ERR_TOO_LARGE);
    size_t need = w->len + extra + 1;
    if (need <= w->cap) return TKM_RC_OK;
    size_t ncap = w->cap ? w->cap : 64;
    while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    /* Grow by copy rather than realloc so the old block can be wiped. */
    uint8_t *np = malloc(ncap);
    if (!np) return wr_fail(w, TKM_ERR_NOMEM);
    if (w->len) memcpy(np, w->p, w->len);
    if (w->p) {
        tkm_wipe(w->p, w->cap);
        free(w->p);
    }
    w->p = np;
    w->cap = ncap;
    return TKM_RC_OK;
}

tkm_rc tkm_wr_put(tkm_wr *w, const void *data, size_t n) {
    TKM_TRY(tkm_wr_reserve(w, n));
    if (n) memcpy(w->p + w->len, data, n);
    w->len += n;
    return TKM_RC_OK;
}

tkm_rc tkm_wr_u8(tkm_wr *w, uint8_t v) { return tkm_wr_put(w, &v, 1); }

static tkm_rc wr_uint(tkm_wr *w, uint64_t v, size_t n, int big) {
    uint8_t b[8];
    for (size_t i = 0; i < n; i++) {
        size_t idx = big ? n - 1 - i : i;
        b[idx] = (uint8_t)(v >> (8 * i));
    }
    return tkm_wr_put(w, b, n);
}

tkm_rc tkm_wr_u16be(tkm_wr *w, uint16_t v) { return wr_uint(w, v, 2, 1); }
tkm_rc tkm_wr_u32be(tkm_wr *w, uint32_t v) { return wr_uint(w, v, 4, 1); }
tkm_rc tkm_wr_u64be(tkm_wr *w, uint64_t v) { return wr_uint(w, v, 8, 1); }

tkm_rc tkm_wr_dec_u64(tkm_wr *w, uint64_t v) {
    char d[20];
    size_t n = 0;
    do {
        d[sizeof d - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return tkm_wr_put(w, d + sizeof d - n, n);
}
tkm_rc tkm_wr_u16le(tkm_wr *w, uint16_t v) { return wr_uint(w, v, 2, 0); }
tkm_rc tkm_wr_u32le(tkm_wr *w, uint32_t v) { return wr_uint(w, v, 4, 0); }
tkm_rc tkm_wr_u64le(tkm_wr *w, uint64_t v) { return wr_uint(w, v, 8, 0); }

tkm_rc tkm_wr_str(tkm_wr *w, const char *s) { return tkm_wr_put(w, s, strlen(s)); }

tkm_rc tkm_wr_fmt(tkm_wr *w, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return wr_fail(w, TKM_ERR_INTERNAL);
    TKM_TRY(tkm_wr_reserve(w, (size_t)n));
    va_start(ap, fmt);
    vsnprintf((char *)w->p + w->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    w->len += (size_t)n;
    return TKM_RC_OK;
}

tkm_rc tkm_wr_nul(tkm_wr *w) {
    TKM_TRY(tkm_wr_reserve(w, 0));
    w->p[w->len] = 0;
    return TKM_RC_OK;
}

void tkm_wr_reset(tkm_wr *w) {
    if (w->p) tkm_wipe(w->p, w->cap);
    w->len = 0;
    w->err = TKM_OK;
}

void tkm_wr_free(tkm_wr *w) {
    if (!w) return;
    if (w->p) {
        tkm_wipe(w->p, w->cap);
        free(w->p);
    }
    tkm_wr_init(w, w->max);
}

tkm_rc tkm_wr_take(tkm_wr *w, uint8_t **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (w->err != TKM_OK) return TKM_RC(w->err);
    TKM_TRY(tkm_wr_nul(w));
    *out = w->p;
    *out_len = w->len;
    size_t max = w->max;
    tkm_wr_init(w, max);
    return TKM_RC_OK;
}
