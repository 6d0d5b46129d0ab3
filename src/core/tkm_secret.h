/*
 * tkm_secret.h — secret buffers, wiping and constant-time comparison.
 *
 * A tkm_secret lives in a locked arena (OpenSSL's secure heap: mmap'd, mlocked,
 * guard pages, excluded from core dumps), is zeroed when created and wiped when
 * freed. There is no formatter for it and the helpers never copy its bytes into
 * ordinary buffers; code that needs the bytes reads them through tkm_secret_ptr
 * for the duration of one call.
 *
 * The arena is created on first use (or by tkm_secure_init). If memory cannot
 * be locked the first allocation fails with TKM_ERR_MLOCK, unless the
 * environment sets TKM_DONT_MLOCK=1 (tests on machines without the privilege)
 * or tkm_secure_init was called with allow_unlocked.
 * Under AddressSanitizer builds secrets are ordinary heap blocks (still wiped),
 * so that overflows of secret buffers are caught by the sanitizer.
 *
 * Thread-safety: allocation and free are thread-safe (the arena has a lock);
 * one secret must not be written by two threads at once.
 */
#ifndef TKM_SECRET_H
#define TKM_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include "tkm_err.h"

typedef struct tkm_secret tkm_secret;

/*
 * Create the locked arena of arena_bytes (rounded up to a power of two;
 * 0 = default 8 MiB or $TKM_SECURE_HEAP_BYTES). Idempotent.
 * Returns: OK; TKM_ERR_MLOCK when memory could not be locked and
 * allow_unlocked is 0 and TKM_DONT_MLOCK is not set; TKM_ERR_NOMEM.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_secure_init(size_t arena_bytes, int allow_unlocked);
/* Returns: 1 when the arena exists and is locked. */
TKM_API int tkm_secure_locked(void);

/* Out: *s, a zeroed secret of len bytes (len >= 1). Caller frees with tkm_secret_free. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_secret_new(tkm_secret **s, size_t len) TKM_NONNULL(1);
/* Out: *s, a new secret holding a copy of src[0..len). The caller wipes src. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_secret_from(tkm_secret **s, const uint8_t *src, size_t len)
    TKM_NONNULL(1, 2);
/* Wipe and release; NULL-safe. */
TKM_API void tkm_secret_free(tkm_secret *s);
/* Borrow the bytes (valid until free). Secret: yes. */
TKM_API const uint8_t *tkm_secret_ptr(const tkm_secret *s) TKM_NONNULL(1);
TKM_API uint8_t *tkm_secret_mut(tkm_secret *s) TKM_NONNULL(1);
TKM_API size_t tkm_secret_len(const tkm_secret *s) TKM_NONNULL(1);
/* Returns: 1 when both secrets have the same length and bytes; constant time in the bytes. */
TKM_API int tkm_secret_eq(const tkm_secret *a, const tkm_secret *b) TKM_NONNULL(1, 2);

/* Overwrite n bytes with zeros in a way the compiler cannot elide. NULL-safe when n == 0. */
TKM_API void tkm_wipe(void *p, size_t n);
/* Returns: 1 when a[0..n) == b[0..n). Constant time in the contents (not in n). */
TKM_API int tkm_ct_eq(const void *a, const void *b, size_t n);

/*
 * Declassification points (cf. libsecp256k1's secp256k1_declassify). Code that
 * deliberately reveals one fact derived from a secret (a hex string was not
 * hex, an X25519 result was zero, a signature attempt succeeded) passes that
 * fact through tkm_declassify right before branching on it. In production it
 * does nothing. The constant-time check (tests/ct) installs a hook that tells
 * valgrind the bytes are public, so that every *other* branch or memory index
 * that depends on a secret is reported. Each call site says what it reveals.
 */
typedef void (*tkm_declassify_fn)(const void *p, size_t n);
TKM_API void tkm_declassify(const void *p, size_t n);
/* Test hook (NULL restores the no-op). Not for production. */
TKM_API void tkm_declassify_set_hook_for_testing(tkm_declassify_fn fn);

/*
 * Daemon start-up hardening: not dumpable, no core files.
 * Returns: OK, or TKM_ERR_IO when the kernel refused.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_harden_process(void);

#endif
