/*
 * policy.h — the whole interface of the policy module (uses core, crypto; eth
 * for building intents from transactions and typed data).
 * Document and hash (tkm_policy.h), intents (tkm_intent.h), requests and
 * intent building (tkm_request.h), approvals and admin quorums
 * (tkm_approval.h), evaluation (tkm_eval.h).
 */
#ifndef TKM_POLICY_MODULE_H
#define TKM_POLICY_MODULE_H

#include "tkm_approval.h"
#include "tkm_eval.h"
#include "tkm_intent.h"
#include "tkm_policy.h"
#include "tkm_request.h"

#endif
