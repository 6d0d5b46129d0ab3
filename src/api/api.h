/*
 * api.h — the whole interface of the api module (uses core and crypto; the
 * business handlers of eth/policy/store/audit plug into it through routes,
 * JSON-RPC methods and hooks).
 *  - tkm_http.h      HTTPS server: TLS 1.3 + mutual TLS, routes, roles, limits, drain
 *  - tkm_jsonrpc.h   JSON-RPC 2.0 parsing, dispatch and error mapping
 *  - tkm_metrics.h   metrics registry, Prometheus text format
 *  - tkm_ratelimit.h per-client token buckets
 *  - tkm_httpc.h     HTTPS JSON client over libcurl (CLI)
 *  - tkm_loadgen.h   keep-alive mTLS load generator (teekm bench serve)
 *  - tkm_vclock.h    the evaluation clock bounded by teekm-verifier's trusted time
 *  - tkm_vcounter.h  teekm-verifier's monotonic counter and trusted time: client, answer checks, counter hook
 *  - tkm_registrar.h keeps a teekmd instance's teekm-verifier registration current
 *                    (included directly, like tkm_instance.h and tkm_signer.h)
 */
#ifndef TKM_API_H
#define TKM_API_H

#include "tkm_http.h"
#include "tkm_jsonrpc.h"
#include "tkm_metrics.h"
#include "tkm_ratelimit.h"
#include "tkm_vclock.h"
#include "tkm_vcounter.h"

#endif
