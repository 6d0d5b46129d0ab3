/*
 * attest.h — the whole interface of the attest module (uses core, crypto and
 * the evidence format parsers of tee, tkm_evidence_format.h).
 * The owning evidence object (tkm_evidence.h) and verification/appraisal (tkm_attest.h).
 * OpenSSL's X509/CRL/EVP APIs are used only inside src/attest/.
 */
#ifndef TKM_ATTEST_MODULE_H
#define TKM_ATTEST_MODULE_H

#include "tkm_attest.h"
#include "tkm_evidence.h"

#endif
