/*
 * eth.h — the whole interface of the eth module (uses core and crypto).
 * Everything the key manager needs to understand exactly what it is asked to
 * sign: canonical RLP (tkm_rlp.h), transactions of types 0-4 with their
 * signing hash, signing and sender recovery (tkm_tx.h), typed decoding of
 * ERC-20 / ERC-3643 token calldata (tkm_token.h), EIP-712 typed data with
 * accessors for policy matchers (tkm_eip712.h), Sign-In with Ethereum
 * (EIP-4361) messages (tkm_siwe.h).
 * No function of this module signs caller-supplied bytes: the only signing
 * entry points are tkm_tx_sign over a parsed transaction and the digest of a
 * parsed typed-data document.
 */
#ifndef TKM_ETH_H
#define TKM_ETH_H

#include "tkm_eip712.h"
#include "tkm_rlp.h"
#include "tkm_siwe.h"
#include "tkm_token.h"
#include "tkm_tx.h"

#endif
