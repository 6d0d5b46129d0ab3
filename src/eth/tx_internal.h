/* tx_internal.h — private to src/eth: helpers shared by tx.c and tx_json.c. */
#ifndef TKM_TX_INTERNAL_H
#define TKM_TX_INTERNAL_H

#include "tkm_tx.h"

/* Fill authority / authority_err of every authorization of tx. */
void tkm_tx_recover_authorities_(tkm_tx *tx);

/* secp256k1 order n and n/2, big-endian. */
extern const uint8_t tkm_secp_n_be_[32];
extern const uint8_t tkm_secp_half_n_be_[32];

#endif
