/*
 * testutil.h — helpers shared by the cmocka unit tests.
 * Vectors are loaded at run time from $TKM_VECTORS_DIR (set by CTest).
 */
#ifndef TKM_TESTUTIL_H
#define TKM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above first */
#include <cmocka.h>
#include <jansson.h>

#include "core/core.h"

/* Read a whole file; aborts the test on failure. Caller frees. */
uint8_t *tu_read_file(const char *path, size_t *len);
/* Load $TKM_VECTORS_DIR/<rel> as JSON (permissive loader: vectors are trusted data). */
json_t *tu_load_vector(const char *rel);
/* Absolute path of $TKM_VECTORS_DIR/<rel> (static buffer). */
const char *tu_vector_path(const char *rel);
/* Decode hex (with or without 0x) into a malloc'd buffer; aborts on bad hex. */
uint8_t *tu_hex(const char *hex, size_t *len);
/* Decode hex of exactly n bytes into out. */
void tu_hex_exact(uint8_t *out, size_t n, const char *hex);
/* Lower-case hex without prefix of b[0..n) into a static buffer (one per call site use). */
const char *tu_tohex(const uint8_t *b, size_t n);

/* Misuse handler that counts instead of aborting; tu_misuse_count() reads and resets. */
void tu_misuse_install(void);
int tu_misuse_count(void);

/*
 * A monotonic counter over another one whose advances fail with fail_with
 * while it is not TKM_OK (a remote counter that is away, or refuses);
 * advances counts the attempts. tu_flaky_counter_wrap takes ownership of
 * inner and returns the counter to give the store; k must outlive it.
 */
#include "store/tkm_counter.h"
typedef struct {
    tkm_counter inner;
    tkm_err fail_with;
    int advances;
} tu_flaky_counter;
tkm_counter tu_flaky_counter_wrap(tu_flaky_counter *k, tkm_counter inner);

#define TU_ASSERT_RC(expr, want) assert_int_equal((int)(expr).code, (int)(want))
/* Deliberately ignore a result (gcc ignores (void) casts on warn_unused_result). */
static inline void tu_ignore(tkm_rc rc) { (void)rc; }
#define TU_ASSERT_OK(expr) TU_ASSERT_RC(expr, TKM_OK)
/* Assert that expr called the misuse handler (a caller bug) and returned TKM_ERR_MISUSE. */
#define TU_CHECK_ILLEGAL(expr)                                                   \
    do {                                                                         \
        tu_misuse_install();                                                     \
        (void)tu_misuse_count();                                                 \
        tkm_rc tu_rc_ = (expr);                                                  \
        assert_int_equal((int)tu_rc_.code, TKM_ERR_MISUSE);                      \
        assert_int_equal(tu_misuse_count(), 1);                                  \
    } while (0)

#endif
