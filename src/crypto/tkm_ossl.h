/*
 * tkm_ossl.h — OpenSSL's error queue turned into one teekm error at the
 * boundary (STYLE §3, §9). Every module that calls OpenSSL directly
 * (crypto, tee's RA-TLS and sim keys, attest's X.509, the verifier's TLS
 * certificate) reports its failures through this one helper.
 *
 * TKM_OSSL_FAIL(code, what) drains the thread's OpenSSL error queue, puts
 * "what: <OpenSSL's text for the first queued error>" (just "what" when the
 * queue was empty) in the detail slot, records the caller's file:line and
 * returns TKM_RC(code). The queue is left empty so that nothing leaks into an
 * unrelated later call.
 *
 * Args: code — the teekm error to return (never TKM_OK); what — a constant,
 * non-secret description of the operation (never key material: it goes into
 * the detail slot, which callers may log or answer with). OpenSSL's error
 * strings name a library, function and reason, never data.
 * Thread-safety: OpenSSL's error queue and the detail slot are thread-local.
 */
#ifndef TKM_OSSL_H
#define TKM_OSSL_H

#include "../core/core.h"

/* Returns: TKM_RC(code). Use through TKM_OSSL_FAIL so the caller's line is recorded. */
TKM_API tkm_rc tkm_ossl_fail_at(tkm_err code, const char *what, const char *file, int line) TKM_NONNULL(2, 3);
#define TKM_OSSL_FAIL(code, what) tkm_ossl_fail_at((code), (what), __FILE__, __LINE__)

#endif
