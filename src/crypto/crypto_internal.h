/*
 * crypto_internal.h — private to src/crypto (not part of the module interface).
 * What the OpenSSL wrappers of aead.c, hpke.c, kdf.c and sha2.c share.
 */
#ifndef TKM_CRYPTO_INTERNAL_H
#define TKM_CRYPTO_INTERNAL_H

#include "../core/core.h"
#include "tkm_ossl.h" /* TKM_OSSL_FAIL */

#endif
