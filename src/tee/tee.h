/*
 * tee.h — the whole interface of the tee module (uses core and crypto).
 * Platform backends (tkm_tee.h), the byte-exact evidence format parsers
 * (tkm_evidence_format.h), the structural evidence view (tkm_tee_evidence.h), identity
 * claims and their report_data binding (tkm_claims.h), RA-TLS certificates
 * (tkm_ratls.h), anti-rollback high-water mark (tkm_hwm.h), verifier key
 * release for platforms without a seal key (tkm_keyrelease.h).
 */
#ifndef TKM_TEE_MODULE_H
#define TKM_TEE_MODULE_H

#include "tkm_claims.h"
#include "tkm_evidence_format.h"
#include "tkm_tee_evidence.h"
#include "tkm_hwm.h"
#include "tkm_keyrelease.h"
#include "tkm_ratls.h"
#include "tkm_tee.h"

#endif
