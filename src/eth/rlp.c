/* see tkm_rlp.h */
#include "tkm_rlp.h"

#include <string.h>

/* Record a failure in the reader (sticky) without moving it. */
static tkm_rc rd_fail(tkm_rd *r, tkm_err e, const char *why) {
    if (r->err == TKM_OK) r->err = e;
    if (why) tkm_err_detail_set("RLP at offset %zu: %s", r->off, why);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(r->err);
}

/*
 * Parse the header at the cursor of a copy of r. On success *t is r advanced
 * past the whole item and *payload covers its payload.
 */
static tkm_rc parse_item(const tkm_rd *r, tkm_rd *t, tkm_rlp_kind *kind, tkm_rd *payload) {
    *t = *r;
    uint8_t b;
    TKM_TRY(tkm_rd_peek_u8(t, &b));
    if (b < 0x80) {
        *kind = TKM_RLP_STRING;
        return tkm_rd_sub(t, 1, payload);
    }
    TKM_TRY(tkm_rd_skip(t, 1));
    size_t len;
    if (b <= 0xb7 || (b >= 0xc0 && b <= 0xf7)) {
        *kind = b <= 0xb7 ? TKM_RLP_STRING : TKM_RLP_LIST;
        len = (size_t)(b - (b <= 0xb7 ? 0x80 : 0xc0));
        TKM_TRY(tkm_rd_sub(t, len, payload));
        if (*kind == TKM_RLP_STRING && len == 1 && payload->p[0] < 0x80) {
            tkm_err_detail_set("RLP at offset %zu: single byte 0x%02x wrapped as a string", r->off,
                               payload->p[0]);
            TKM_ENSURE(0, TKM_ERR_RLP_SINGLE_BYTE);
        }
        return TKM_RC_OK;
    }
    *kind = b <= 0xbf ? TKM_RLP_STRING : TKM_RLP_LIST;
    unsigned lenlen = (unsigned)(b - (b <= 0xbf ? 0xb7 : 0xf7)); /* 1..8 */
    const uint8_t *lb;
    TKM_TRY(tkm_rd_view(t, lenlen, &lb));
    if (lb[0] == 0) {
        tkm_err_detail_set("RLP at offset %zu: length with a leading zero byte", r->off);
        TKM_ENSURE(0, TKM_ERR_RLP_LENGTH_ZEROS);
    }
    uint64_t l = 0;
    for (unsigned i = 0; i < lenlen; i++) l = (l << 8) | lb[i];
    if (l <= 55) {
        tkm_err_detail_set("RLP at offset %zu: long form for a %u-byte payload", r->off, (unsigned)l);
        TKM_ENSURE(0, TKM_ERR_RLP_LONG_FORM);
    }
    /* l may exceed SIZE_MAX on 32-bit targets or the input: both are truncation. */
    TKM_ENSURE(l <= (uint64_t)tkm_rd_left(t), TKM_ERR_TRUNCATED);
    len = (size_t)l;
    return tkm_rd_sub(t, len, payload);
}

tkm_rc tkm_rlp_item(tkm_rd *r, tkm_rlp_kind *kind, tkm_rd *payload) {
    tkm_rd t;
    *kind = TKM_RLP_STRING;
    tkm_rd_init(payload, NULL, 0);
    if (r->err != TKM_OK) {
        payload->err = r->err;
        return TKM_RC(r->err);
    }
    tkm_rc rc = parse_item(r, &t, kind, payload);
    if (tkm_failed(rc)) {
        *kind = TKM_RLP_STRING;
        tkm_rd_init(payload, NULL, 0);
        payload->err = rc.code;
        return rd_fail(r, rc.code, NULL);
    }
    *r = t;
    return rc;
}

tkm_rc tkm_rlp_list(tkm_rd *r, tkm_rd *list) {
    tkm_rd t = *r;
    tkm_rlp_kind k;
    tkm_rc rc = tkm_rlp_item(&t, &k, list);
    if (tkm_failed(rc)) return rd_fail(r, rc.code, NULL);
    if (k != TKM_RLP_LIST) {
        tkm_rd_init(list, NULL, 0);
        list->err = TKM_ERR_RLP_KIND;
        return rd_fail(r, TKM_ERR_RLP_KIND, "string where a list is expected");
    }
    *r = t;
    return rc;
}

tkm_rc tkm_rlp_string(tkm_rd *r, const uint8_t **v, size_t *n) {
    *v = NULL;
    *n = 0;
    tkm_rd t = *r, pl;
    tkm_rlp_kind k;
    tkm_rc rc = tkm_rlp_item(&t, &k, &pl);
    if (tkm_failed(rc)) return rd_fail(r, rc.code, NULL);
    if (k != TKM_RLP_STRING) return rd_fail(r, TKM_ERR_RLP_KIND, "list where a string is expected");
    *v = pl.p ? pl.p : (const uint8_t *)"";
    *n = pl.len;
    *r = t;
    return rc;
}

tkm_rc tkm_rlp_uint(tkm_rd *r, tkm_u256 *v) {
    *v = tkm_u256_zero();
    tkm_rd t = *r;
    const uint8_t *p;
    size_t n;
    tkm_rc rc = tkm_rlp_string(&t, &p, &n);
    if (tkm_failed(rc)) return rd_fail(r, rc.code, NULL);
    if (n > 0 && p[0] == 0) return rd_fail(r, TKM_ERR_RLP_INT_ZEROS, "integer with a leading zero byte");
    if (n > 32) return rd_fail(r, TKM_ERR_OVERFLOW, "integer wider than 256 bits");
    TKM_TRY(tkm_u256_from_be(v, p, n));
    *r = t;
    return TKM_RC_OK;
}

tkm_rc tkm_rlp_u64(tkm_rd *r, uint64_t *v) {
    *v = 0;
    tkm_rd t = *r;
    tkm_u256 x;
    tkm_rc rc = tkm_rlp_uint(&t, &x);
    if (tkm_failed(rc)) return rd_fail(r, rc.code, NULL);
    if (!tkm_u256_to_u64(&x, v)) {
        *v = 0;
        return rd_fail(r, TKM_ERR_OVERFLOW, "integer wider than 64 bits");
    }
    *r = t;
    return TKM_RC_OK;
}

tkm_rc tkm_rlp_count(const tkm_rd *list, size_t max, size_t *count) {
    *count = 0;
    tkm_rd t = *list, pl;
    tkm_rlp_kind k;
    size_t c = 0;
    while (tkm_rd_left(&t) > 0 || t.err != TKM_OK) {
        TKM_TRY(tkm_rlp_item(&t, &k, &pl));
        if (++c > max) {
            tkm_err_detail_set("RLP list has more than %zu items", max);
            TKM_ENSURE(0, TKM_ERR_RLP_ITEMS);
        }
    }
    *count = c;
    return TKM_RC_OK;
}

/* Depth-first walk; recursion is bounded by max_depth. */
static tkm_rc check_items(tkm_rd *r, unsigned depth, unsigned max_depth, size_t *budget) {
    while (tkm_rd_left(r) > 0) {
        tkm_rlp_kind k;
        tkm_rd pl;
        TKM_TRY(tkm_rlp_item(r, &k, &pl));
        if (*budget == 0) {
            tkm_err_detail_set("RLP document has too many items");
            TKM_ENSURE(0, TKM_ERR_RLP_ITEMS);
        }
        (*budget)--;
        if (k == TKM_RLP_LIST) {
            if (depth + 1 > max_depth) {
                tkm_err_detail_set("RLP lists nested deeper than %u", max_depth);
                TKM_ENSURE(0, TKM_ERR_RLP_DEPTH);
            }
            TKM_TRY(check_items(&pl, depth + 1, max_depth, budget));
        }
    }
    return tkm_rd_status(r);
}

tkm_rc tkm_rlp_check(const uint8_t *p, size_t n, unsigned max_depth, size_t max_items) {
    TKM_ARG_CHECK(p != NULL || n == 0);
    if (max_depth == 0) max_depth = TKM_RLP_MAX_DEPTH;
    if (max_items == 0) max_items = TKM_RLP_MAX_ITEMS;
    tkm_rd r, pl;
    tkm_rd_init(&r, p, n);
    tkm_rlp_kind k;
    TKM_TRY(tkm_rlp_item(&r, &k, &pl));
    TKM_TRY(tkm_rd_done(&r));
    size_t budget = max_items - 1;
    if (k == TKM_RLP_LIST) {
        if (max_depth < 1) TKM_ENSURE(0, TKM_ERR_RLP_DEPTH);
        TKM_TRY(check_items(&pl, 1, max_depth, &budget));
    }
    return TKM_RC_OK;
}

/* ---- encoder ---- */

static unsigned be_len(uint64_t v) {
    unsigned n = 0;
    while (v) {
        n++;
        v >>= 8;
    }
    return n;
}

size_t tkm_rlp_header_len(size_t payload_len) {
    return payload_len <= 55 ? 1 : 1 + be_len((uint64_t)payload_len);
}

size_t tkm_rlp_string_len(const uint8_t *p, size_t n) {
    if (n == 1 && p[0] < 0x80) return 1;
    return tkm_rlp_header_len(n) + n;
}

size_t tkm_rlp_uint_len(const tkm_u256 *v) {
    unsigned bits = tkm_u256_bits(v);
    size_t n = (bits + 7) / 8;
    if (n == 1 && v->w[0] < 0x80) return 1;
    return 1 + n; /* n <= 32 < 56: short form */
}

size_t tkm_rlp_u64_len(uint64_t v) {
    if (v < 0x80) return 1; /* 0 is 0x80, 1..0x7f stand alone */
    return 1 + be_len(v);
}

static tkm_rc put_header(tkm_wr *w, uint8_t short_base, size_t len) {
    if (len <= 55) return tkm_wr_u8(w, (uint8_t)(short_base + len));
    uint8_t buf[9];
    unsigned n = be_len((uint64_t)len);
    buf[0] = (uint8_t)(short_base + 55 + n);
    for (unsigned i = 0; i < n; i++) buf[1 + i] = (uint8_t)((uint64_t)len >> (8 * (n - 1 - i)));
    return tkm_wr_put(w, buf, 1 + n);
}

tkm_rc tkm_rlp_put_string(tkm_wr *w, const uint8_t *p, size_t n) {
    TKM_ARG_CHECK(p != NULL || n == 0);
    if (n == 1 && p[0] < 0x80) return tkm_wr_u8(w, p[0]);
    TKM_TRY(put_header(w, 0x80, n));
    return tkm_wr_put(w, p, n);
}

tkm_rc tkm_rlp_put_uint(tkm_wr *w, const tkm_u256 *v) {
    uint8_t b[32];
    size_t n;
    tkm_u256_to_be_min(v, b, &n);
    return tkm_rlp_put_string(w, b, n);
}

tkm_rc tkm_rlp_put_u64(tkm_wr *w, uint64_t v) {
    if (v == 0) return tkm_wr_u8(w, 0x80);
    if (v < 0x80) return tkm_wr_u8(w, (uint8_t)v);
    uint8_t buf[9];
    unsigned n = be_len(v);
    buf[0] = (uint8_t)(0x80 + n);
    for (unsigned i = 0; i < n; i++) buf[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return tkm_wr_put(w, buf, 1 + n);
}

tkm_rc tkm_rlp_put_list_header(tkm_wr *w, size_t payload_len) { return put_header(w, 0xc0, payload_len); }
