/*
 * tkm_rlp.h — canonical RLP (Ethereum Yellow Paper, appendix B) over tkm_rd / tkm_wr.
 *
 * Decoding reads one item at a time from a tkm_rd and hands back a bounded
 * sub-reader (tkm_rd_sub) over its payload; lists are entered by reading
 * their items from that sub-reader, and finished with tkm_rd_done(), which
 * rejects items left over (TKM_ERR_TRAILING).
 *
 * Only the canonical encoding is accepted; each violation has its own code:
 *   TKM_ERR_RLP_SINGLE_BYTE   0x81 0x00..0x7f (a byte < 0x80 must stand alone)
 *   TKM_ERR_RLP_LONG_FORM     0xb8/0xf8.. form for a payload of <= 55 bytes
 *   TKM_ERR_RLP_LENGTH_ZEROS  a long-form length with a leading zero byte
 *   TKM_ERR_RLP_INT_ZEROS     an integer with a leading zero byte (0 is 0x80)
 *   TKM_ERR_RLP_KIND          a list where a string is expected, or the reverse
 *   TKM_ERR_TRUNCATED         a length beyond the end of the enclosing item
 *   TKM_ERR_TRAILING          bytes after the last item (tkm_rd_done)
 *   TKM_ERR_OVERFLOW          an integer wider than the caller's type
 *   TKM_ERR_RLP_DEPTH / TKM_ERR_RLP_ITEMS  caps of tkm_rlp_check / tkm_rlp_count
 *
 * Reader rules (those of tkm_rd): a failed read leaves the cursor where it was
 * and records the error in the reader (sticky), so a whole parse may be checked
 * once at the end; outputs are zeroed on failure. Views (tkm_rlp_string) borrow
 * the input and live as long as it is unchanged.
 *
 * The encoder appends to a tkm_wr (sticky errors too). A list is written as
 * tkm_rlp_put_list_header(payload_len) followed by its items; the *_len
 * helpers give encoded sizes so the payload length is known beforehand.
 *
 * Pointers are non-NULL unless stated. Secret?: no (transactions are public
 * data). Thread-safety: none needed (no global state).
 */
#ifndef TKM_RLP_H
#define TKM_RLP_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#define TKM_RLP_MAX_DEPTH 16        /* default nesting cap of tkm_rlp_check */
#define TKM_RLP_MAX_ITEMS 1000000u  /* default item cap of tkm_rlp_check */

typedef enum { TKM_RLP_STRING = 0, TKM_RLP_LIST = 1 } tkm_rlp_kind;

/*
 * Read the next item of r. Out: *kind, *payload = a reader over the item's
 * payload (for a single byte < 0x80, that byte). r advances past the item.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rlp_item(tkm_rd *r, tkm_rlp_kind *kind, tkm_rd *payload);
/* The next item must be a list: Out: *list reads its items. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rlp_list(tkm_rd *r, tkm_rd *list);
/* The next item must be a string: Out: view *v of *n bytes (lifetime = input). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rlp_string(tkm_rd *r, const uint8_t **v, size_t *n);
/* A canonical unsigned integer of at most 32 bytes. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rlp_uint(tkm_rd *r, tkm_u256 *v);
/* A canonical unsigned integer of at most 8 bytes (TKM_ERR_OVERFLOW beyond). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rlp_u64(tkm_rd *r, uint64_t *v);
/*
 * Count the items left in a list reader without consuming them (headers are
 * checked, payloads are not descended). More than max items is TKM_ERR_RLP_ITEMS.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rlp_count(const tkm_rd *list, size_t max, size_t *count);
/*
 * Validate a whole document: exactly one item, canonical at every level,
 * lists nested at most max_depth deep (TKM_ERR_RLP_DEPTH), at most max_items
 * items in all (TKM_ERR_RLP_ITEMS). 0 selects the defaults above.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rlp_check(const uint8_t *p, size_t n, unsigned max_depth,
                                             size_t max_items);

/* Encoded sizes. */
TKM_API size_t tkm_rlp_header_len(size_t payload_len);
TKM_API size_t tkm_rlp_string_len(const uint8_t *p, size_t n);
TKM_API size_t tkm_rlp_uint_len(const tkm_u256 *v);
TKM_API size_t tkm_rlp_u64_len(uint64_t v);
/* Size of a list with this payload length (header included). */
static inline size_t tkm_rlp_list_len(size_t payload_len) {
    return tkm_rlp_header_len(payload_len) + payload_len;
}

/* Writers. p may be NULL when n == 0. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rlp_put_string(tkm_wr *w, const uint8_t *p, size_t n);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rlp_put_uint(tkm_wr *w, const tkm_u256 *v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rlp_put_u64(tkm_wr *w, uint64_t v);
TKM_API TKM_WARN_UNUSED tkm_rc tkm_rlp_put_list_header(tkm_wr *w, size_t payload_len);

#endif
