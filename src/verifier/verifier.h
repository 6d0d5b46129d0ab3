/*
 * verifier.h — the whole interface of the verifier module (uses core, crypto,
 * eth, tee and attest): the teekm-verifier service logic.
 *  - tkm_verifier.h  requests in, HTTP status + JSON out (nonce, attest, instances, counters, admin)
 *  - tkm_vconfig.h   the configuration file
 *  - tkm_nonce.h     single-use expiring nonces
 *  - tkm_registry.h  the append-only SQLite registry, sealed state keys, counters
 *  - tkm_vkeys.h     master key, EAS signing key, state-key sealing, TLS certificate
 *  - tkm_vcoll.h     collateral from files / PCCS / KDS with caches
 *  - tkm_eas.h       EAS schema, offchain attestations, attest() calldata
 */
#ifndef TKM_VERIFIER_MODULE_H
#define TKM_VERIFIER_MODULE_H

#include "tkm_eas.h"
#include "tkm_nonce.h"
#include "tkm_registry.h"
#include "tkm_vcoll.h"
#include "tkm_vconfig.h"
#include "tkm_verifier.h"
#include "tkm_vkeys.h"

#endif
