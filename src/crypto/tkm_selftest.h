/*
 * tkm_selftest.h — known-answer tests for every primitive teekm signs or seals
 * with, run at start-up (`teekm selftest`, and by the daemon before it serves).
 * Expected values are from the primitives' standards (FIPS 180, RFC 4231,
 * RFC 5869, EIP-155, the GCM spec, RFC 9180, RFC 7914, …), never from
 * teekm's own output.
 *
 * Secret?: only the public test keys of those standards (still held in
 * tkm_secret, like any key). NULL: report may be NULL (no per-test callback).
 * Thread-safety: reentrant; may run while other threads use the primitives.
 */
#ifndef TKM_SELFTEST_H
#define TKM_SELFTEST_H

#include "../core/core.h"

/* Called once per KAT with its name and result. */
typedef void (*tkm_kat_report_fn)(void *ctx, const char *name, tkm_rc rc);

/*
 * Run every KAT (and the entropy start-up tests). report may be NULL.
 * Returns: OK when all pass, else the first failure (TKM_ERR_KAT or the
 * primitive's own error).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_crypto_selftest(tkm_kat_report_fn report, void *ctx);

#endif
