/*
 * tkm_b64.h — strict base64 decoding (RFC 4648 §4, the standard alphabet).
 *
 * Used for the bodies of PEM blocks (certificates and CRLs in collateral and
 * configuration). Strict: padding is required and only at the end, no
 * character outside the alphabet, and the unused bits of the last group must
 * be zero (one canonical text per byte string). With TKM_B64_SKIP_WS, the
 * white space PEM puts between lines (space, tab, CR, LF; RFC 7468 §3) is
 * skipped wherever it stands. Errors: TKM_ERR_BASE64, TKM_ERR_TOO_LARGE
 * (over the caller's cap). Not constant-time: for public data only.
 *
 * NULL: in may be NULL only with a zero length. Ownership: the _alloc form
 * returns a malloc'd buffer the caller frees. Thread-safety: reentrant.
 */
#ifndef TKM_B64_H
#define TKM_B64_H

#include <stddef.h>
#include <stdint.h>

#include "tkm_err.h"

enum { TKM_B64_STRICT = 0, TKM_B64_SKIP_WS = 1 };

/* Upper bound of the decoded length of n characters. */
#define TKM_B64_DEC_MAX(n) (((size_t)(n) / 4 + 1) * 3)

/* Decode in[0..n) into out[0..cap). Out: *out_len. On failure *out_len = 0. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_b64_decode(uint8_t *out, size_t cap, size_t *out_len, const char *in, size_t n,
                                              unsigned flags);
/* Decode into a new buffer (caller frees with free()); empty input is TKM_ERR_BASE64. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_b64_decode_alloc(uint8_t **out, size_t *out_len, const char *in, size_t n,
                                                    unsigned flags);

#endif
