/*
 * tkm_hex.h — strict hex codec.
 *
 * Rules: the prefix is exactly "0x" (lower-case x); whether it is required,
 * optional or forbidden is the caller's choice. Digits may be upper or lower
 * case. An odd number of digits is an error (TKM_ERR_HEX_ODD), so is any
 * non-hex character (TKM_ERR_HEX), a missing/forbidden prefix
 * (TKM_ERR_HEX_PREFIX) and a decoded size over the caller's cap
 * (TKM_ERR_TOO_LARGE). "0x" alone decodes to zero bytes only with
 * TKM_HEX_EMPTY_OK. Decoding and encoding run in time independent of the
 * digit values (they may see key material), though not of the length.
 * On failure outputs are zeroed.
 *
 * NULL: s and in may be NULL only with a zero length (misuse otherwise);
 * outputs are never NULL. Ownership: tkm_hex_decode_alloc returns a malloc'd
 * buffer the caller frees (and wipes first if it held a secret); the others
 * write into the caller's buffers. Thread-safety: reentrant.
 */
#ifndef TKM_HEX_H
#define TKM_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "tkm_buf.h"
#include "tkm_err.h"

enum {
    TKM_HEX_0X_OPTIONAL = 0,
    TKM_HEX_0X_REQUIRED = 1,
    TKM_HEX_0X_FORBIDDEN = 2,
    TKM_HEX_EMPTY_OK = 4,
};

/*
 * Decode s[0..s_len) into out[0..out_cap).
 * Out: *out_len = decoded length.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len,
                                              const char *s, size_t s_len, unsigned flags);
/* Decode exactly n bytes; any other length is TKM_ERR_HEX_LENGTH. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hex_decode_exact(uint8_t *out, size_t n, const char *s,
                                                    size_t s_len, unsigned flags);
/* Decode into a new heap buffer (caller frees with free()); at most max_len bytes. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hex_decode_alloc(uint8_t **out, size_t *out_len, const char *s,
                                                    size_t s_len, unsigned flags, size_t max_len);

/* Bytes needed by tkm_hex_encode, NUL included. */
#define TKM_HEX_ENC_LEN(n, prefix) ((size_t)(n) * 2 + ((prefix) ? 2 : 0) + 1)
/*
 * Encode in[0..n) as lower-case hex with an optional "0x" and a NUL.
 * out_cap must be at least TKM_HEX_ENC_LEN(n, prefix) (misuse otherwise).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hex_encode(char *out, size_t out_cap, const uint8_t *in, size_t n,
                                              int prefix);
/* Append the encoding to a writer (no NUL counted). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_hex_encode_wr(tkm_wr *w, const uint8_t *in, size_t n, int prefix);

#endif
