/*
 * tkm_keyrelease.h — the instance side of verifier key release, for platforms
 * without a seal key (TDX). The verifier issue builds the other side.
 *
 *  1. tkm_keyrelease_begin: an ephemeral X25519 key pair (tkm_hpke_keygen);
 *     its public key goes into the claims as hpkePublicKey, so the
 *     report_data of the evidence binds it.
 *  2. teekmd sends evidence + claims to the verifier, which appraises them and
 *     answers enc ‖ ct with
 *        HPKE base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM,
 *        pkR  = claims.hpkePublicKey,
 *        info = "teekm/key-release/v1",
 *        aad  = the 64-byte report_data of the appraised evidence,
 *        pt   = the 32-byte state key.
 *  3. tkm_keyrelease_open opens it into a tkm_secret. The ephemeral private
 *     key is wiped after the first open attempt, successful or not: one
 *     evidence, one release.
 *
 * Binding the aad to report_data means a response made for other evidence
 * (another instance, other claims) does not open.
 * Secrets: the ephemeral private key and the released key. Thread-safety: one
 * tkm_keyrelease belongs to one thread.
 */
#ifndef TKM_KEYRELEASE_H
#define TKM_KEYRELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "../crypto/tkm_hpke.h"
#include "tkm_claims.h"

#define TKM_KEYRELEASE_INFO "teekm/key-release/v1"
#define TKM_KEYRELEASE_KEY_LEN 32

typedef struct tkm_keyrelease tkm_keyrelease;

/* Out: *kr and its public key (put it in claims.hpkePublicKey). Caller frees with tkm_keyrelease_free. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_keyrelease_begin(tkm_keyrelease **kr, uint8_t pk[static TKM_X25519_LEN])
    TKM_NONNULL(1, 2);
/*
 * Open the verifier's answer. Out: *key (32 bytes, caller frees with tkm_secret_free).
 * Returns: OK; TKM_ERR_AUTH_TAG (not for this key / report_data); TKM_ERR_FORMAT
 * (ct is not 32 + 16 bytes); TKM_ERR_STATE (already used).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_keyrelease_open(tkm_keyrelease *kr, tkm_secret **key,
                                                   const uint8_t report_data[static TKM_REPORT_DATA_LEN],
                                                   const uint8_t enc[static TKM_HPKE_ENC_LEN], const uint8_t *ct,
                                                   size_t ct_len) TKM_NONNULL(1, 2, 3, 4);
TKM_API void tkm_keyrelease_free(tkm_keyrelease *kr);

#endif
