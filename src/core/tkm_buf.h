/*
 * tkm_buf.h — the bounded reader (tkm_rd) and the growing writer (tkm_wr).
 *
 * Every untrusted byte in teekm is parsed through tkm_rd. Rules:
 *  - Every read checks the remaining length first, written so that it cannot
 *    overflow (n > len - off).
 *  - Errors are sticky: after the first failure every read fails with the same
 *    code and writes zeros to its output.
 *  - A failed read never moves the cursor.
 *  - A parse ends with tkm_rd_done(), which rejects trailing bytes.
 *  - Views (tkm_rd_view) borrow the input: valid while the input is unchanged.
 *
 * tkm_wr is a heap buffer that grows on demand, with a hard cap so a hostile
 * length cannot make it allocate without bound. Errors are sticky as well;
 * check once with tkm_wr_status() or at the end via the return of the last put.
 * Writers that may hold secrets are freed with tkm_wr_free(), which always
 * wipes; there is no non-wiping free.
 *
 * Thread-safety: none; a reader or writer belongs to one thread.
 * Secrets: a reader over secret bytes is fine (it never copies anywhere but the
 * caller's buffers); a writer that held secrets is wiped by tkm_wr_free().
 */
#ifndef TKM_BUF_H
#define TKM_BUF_H

#include <stdint.h>
#include <stddef.h>

#include "tkm_err.h"

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t off;
    tkm_err err;
} tkm_rd;

/* Start reading buf[0..len). buf may be NULL only when len == 0. */
TKM_API void tkm_rd_init(tkm_rd *r, const uint8_t *buf, size_t len);
/* Returns: bytes left (0 after an error). */
TKM_API size_t tkm_rd_left(const tkm_rd *r);

TKM_API TKM_WARN_UNUSED tkm_rc tkm_rd_u8(tkm_rd *r, uint8_t *v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rd_u16le(tkm_rd *r, uint16_t *v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rd_u32le(tkm_rd *r, uint32_t *v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rd_u64le(tkm_rd *r, uint64_t *v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rd_u16be(tkm_rd *r, uint16_t *v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rd_u32be(tkm_rd *r, uint32_t *v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rd_u64be(tkm_rd *r, uint64_t *v);
/* Copy n bytes to dst (dst is zeroed on failure). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rd_bytes(tkm_rd *r, uint8_t *dst, size_t n);
/* Borrow n bytes: *v points into the input (NULL on failure). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rd_view(tkm_rd *r, size_t n, const uint8_t **v);
/* Skip n bytes. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rd_skip(tkm_rd *r, size_t n);
/* Peek at the next byte without consuming it. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rd_peek_u8(const tkm_rd *r, uint8_t *v);
/* Carve the next n bytes out as an independent child reader; r advances by n. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rd_sub(tkm_rd *r, size_t n, tkm_rd *child);
/* Returns: the sticky error if any, TKM_ERR_TRAILING if bytes remain, else OK. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rd_done(const tkm_rd *r);
/* Returns: the sticky error (TKM_OK when none). */
TKM_API tkm_rc tkm_rd_status(const tkm_rd *r);

typedef struct {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len */
    tkm_err err;
} tkm_wr;

#define TKM_WR_DEFAULT_MAX ((size_t)64 << 20) /* 64 MiB */

/* Empty writer with the given hard cap (0 = TKM_WR_DEFAULT_MAX). No allocation yet. */
TKM_API void tkm_wr_init(tkm_wr *w, size_t max);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_wr_reserve(tkm_wr *w, size_t extra);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_wr_put(tkm_wr *w, const void *data, size_t n);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_wr_u8(tkm_wr *w, uint8_t v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_wr_u16be(tkm_wr *w, uint16_t v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_wr_u32be(tkm_wr *w, uint32_t v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_wr_u64be(tkm_wr *w, uint64_t v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_wr_u16le(tkm_wr *w, uint16_t v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_wr_u32le(tkm_wr *w, uint32_t v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_wr_u64le(tkm_wr *w, uint64_t v);
/* Append v in decimal ASCII, no sign, no leading zeros (hot paths: no printf). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_wr_dec_u64(tkm_wr *w, uint64_t v);
/* Append a C string without its NUL. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_wr_str(tkm_wr *w, const char *s);
/* Append printf-formatted text (no NUL kept in len). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_wr_fmt(tkm_wr *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ensure p[len] == 0 without counting it, so p can be used as a C string. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_wr_nul(tkm_wr *w);
TKM_API tkm_rc tkm_wr_status(const tkm_wr *w);
/* Drop the contents (wiped) but keep the allocation. */
TKM_API void tkm_wr_reset(tkm_wr *w);
/* Wipe and free; the writer is back to its init state. NULL-safe. */
TKM_API void tkm_wr_free(tkm_wr *w);
/* Hand the buffer to the caller (who frees with free()); the writer is emptied. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_wr_take(tkm_wr *w, uint8_t **out, size_t *out_len);

#endif
