/*
 * store.h — the whole interface of the store module (uses core, crypto, policy).
 * Protected state (tkm_store.h) and the monotonic-counter hook (tkm_counter.h).
 */
#ifndef TKM_STORE_MODULE_H
#define TKM_STORE_MODULE_H

#include "tkm_counter.h"
#include "tkm_store.h"

#endif
