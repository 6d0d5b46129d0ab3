/*
 * eth.h — the whole interface of the eth module (uses core and crypto):
 * EIP-712 typed data (tkm_eip712.h). RLP, transactions and token calldata
 * headers are added here by their owners.
 */
#ifndef TKM_ETH_H
#define TKM_ETH_H

#include "tkm_eip712.h"

#endif
