/*
 * tkm_u256.h — unsigned 256-bit integers for Ethereum quantities and amounts.
 *
 * Parsing is strict:
 *  - Hex quantities (JSON-RPC QUANTITY): "0x" then at least one digit, no
 *    leading zero digits except "0x0" itself (as go-ethereum's hexutil), at
 *    most 64 digits. Anything else is TKM_ERR_QUANTITY; values over 2^256-1
 *    are TKM_ERR_OVERFLOW.
 *  - Decimal integers: digits only, no sign, no leading zeros (except "0").
 *  - Decimal amounts in units ("1.25" with decimals 6 -> 1250000): more
 *    fractional digits than decimals is TKM_ERR_DECIMAL, never rounded.
 * Arithmetic reports overflow/underflow instead of wrapping.
 * Not constant time (amounts are not secret): functions are plain.
 *
 * Values are plain structs (nothing to free). NULL: pointers are never NULL;
 * a string given with its length may be NULL only with length 0.
 * Outputs are zero on failure. Thread-safety: reentrant. Secret?: no.
 */
#ifndef TKM_U256_H
#define TKM_U256_H

#include <stddef.h>
#include <stdint.h>

#include "tkm_buf.h"
#include "tkm_err.h"

typedef struct {
    uint64_t w[4]; /* little-endian limbs: w[0] is the least significant */
} tkm_u256;

#define TKM_U256_DEC_MAX 79 /* digits of 2^256-1 */

static inline tkm_u256 tkm_u256_zero(void) { return (tkm_u256){{0, 0, 0, 0}}; }
static inline tkm_u256 tkm_u256_from_u64(uint64_t v) { return (tkm_u256){{v, 0, 0, 0}}; }
TKM_API int tkm_u256_is_zero(const tkm_u256 *a);
/* Returns: -1, 0, 1. */
TKM_API int tkm_u256_cmp(const tkm_u256 *a, const tkm_u256 *b);
/* Returns: 1 and *v when a fits in 64 bits. */
TKM_API int tkm_u256_to_u64(const tkm_u256 *a, uint64_t *v);

TKM_API TKM_WARN_UNUSED tkm_rc tkm_u256_add(tkm_u256 *r, const tkm_u256 *a, const tkm_u256 *b);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_u256_sub(tkm_u256 *r, const tkm_u256 *a, const tkm_u256 *b);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_u256_mul_u64(tkm_u256 *r, const tkm_u256 *a, uint64_t m);

/* 32-byte big-endian <-> value. */
TKM_API void tkm_u256_from_be32(tkm_u256 *r, const uint8_t be[static 32]);
TKM_API void tkm_u256_to_be32(const tkm_u256 *a, uint8_t be[static 32]);
/*
 * Big-endian bytes of any length up to 32 (leading zeros allowed here: this is
 * the raw decoder; RLP canonical checks live in the RLP reader).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_u256_from_be(tkm_u256 *r, const uint8_t *be, size_t n);
/* Minimal big-endian bytes (0 -> zero bytes). Out: out[0..*n), out has 32 bytes. */
TKM_API void tkm_u256_to_be_min(const tkm_u256 *a, uint8_t out[static 32], size_t *n);
/* Bit length (0 for zero). */
TKM_API unsigned tkm_u256_bits(const tkm_u256 *a);

TKM_API TKM_WARN_UNUSED tkm_rc tkm_u256_from_quantity(tkm_u256 *r, const char *s, size_t len);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_u256_from_dec(tkm_u256 *r, const char *s, size_t len);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_u256_from_units(tkm_u256 *r, const char *s, size_t len,
                                                   unsigned decimals);

/* Shortest "0x…" quantity form ("0x0" for zero). out needs 67 bytes. */
TKM_API void tkm_u256_to_quantity(const tkm_u256 *a, char out[static 67]);
/* Decimal digits. out needs TKM_U256_DEC_MAX + 1 bytes. */
TKM_API void tkm_u256_to_dec(const tkm_u256 *a, char out[static TKM_U256_DEC_MAX + 1]);
/* Decimal with a decimal point after `decimals` digits, trailing zeros trimmed ("1.25"). out: 82 bytes. */
TKM_API void tkm_u256_to_units(const tkm_u256 *a, unsigned decimals, char out[static 82]);

#endif
