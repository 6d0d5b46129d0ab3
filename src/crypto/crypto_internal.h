/*
 * crypto_internal.h — private to src/crypto (not part of the module interface).
 * Helpers shared by the OpenSSL wrappers of aead.c, hpke.c and kdf.c.
 */
#ifndef TKM_CRYPTO_INTERNAL_H
#define TKM_CRYPTO_INTERNAL_H

#include <openssl/err.h>

#include "../core/core.h"

/*
 * Drain OpenSSL's error queue into one teekm code at the wrapper boundary:
 * the reason string goes to the (non-secret) detail slot, the queue is
 * cleared so that nothing leaks into an unrelated later call.
 */
static inline tkm_rc tkm_ossl_fail_(tkm_err code, const char *what, const char *file, int line) {
    unsigned long e = ERR_peek_last_error();
    const char *why = e ? ERR_reason_error_string(e) : NULL;
    tkm_err_detail_set("%s: openssl: %s", what, why ? why : "unknown error");
    ERR_clear_error();
    tkm_err_record_where_(file, line);
    return TKM_RC(code);
}
#define TKM_OSSL_FAIL(code, what) tkm_ossl_fail_((code), (what), __FILE__, __LINE__)

#endif
