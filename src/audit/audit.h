/*
 * audit.h — the whole interface of the audit module (uses core, crypto,
 * policy, store): the signed audit log (tkm_audit.h) and the decision
 * pipeline served by teekmd (tkm_engine.h).
 */
#ifndef TKM_AUDIT_MODULE_H
#define TKM_AUDIT_MODULE_H

#include "tkm_audit.h"
#include "tkm_engine.h"

#endif
