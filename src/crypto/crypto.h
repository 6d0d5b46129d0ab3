/*
 * crypto.h — the whole interface of the crypto module (uses core only).
 * Hashes/MAC/HKDF (tkm_hash.h), entropy (tkm_entropy.h), secp256k1 and
 * Ethereum addresses (tkm_secp.h), BLS12-381 (tkm_bls.h), AES-256-GCM
 * (tkm_aead.h), HPKE (tkm_hpke.h), scrypt/PBKDF2 (tkm_kdf.h), known-answer
 * self-tests (tkm_selftest.h), OpenSSL errors into tkm_err (tkm_ossl.h).
 * libsecp256k1 and blst are used only behind these headers; modules that
 * need OpenSSL's X.509/TLS directly report its errors through tkm_ossl.h.
 */
#ifndef TKM_CRYPTO_H
#define TKM_CRYPTO_H

#include "tkm_aead.h"
#include "tkm_bls.h"
#include "tkm_entropy.h"
#include "tkm_hash.h"
#include "tkm_hpke.h"
#include "tkm_kdf.h"
#include "tkm_ossl.h"
#include "tkm_secp.h"
#include "tkm_selftest.h"

#endif
