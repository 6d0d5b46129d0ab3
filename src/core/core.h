/*
 * core.h — the whole interface of the core module (bottom of the stack).
 *
 * Conventions for all of teekm (see each header for details):
 *  - Functions return tkm_rc (warn_unused_result); outputs come first, then
 *    in/out, then inputs; a length always follows its buffer.
 *  - Pointers are non-NULL unless a header says otherwise; a NULL where one is
 *    required is a caller bug (TKM_ARG_CHECK → misuse handler).
 *  - Outputs are cleared on entry and assigned only on success.
 *  - Ownership: "caller frees with X" is stated wherever memory is returned;
 *    views borrow from their input and live as long as it does.
 *  - Secrets live only in tkm_secret buffers or on the stack wiped before
 *    return; nothing in core prints them.
 */
#ifndef TKM_CORE_H
#define TKM_CORE_H

#include "tkm_b64.h"
#include "tkm_buf.h"
#include "tkm_err.h"
#include "tkm_file.h"
#include "tkm_hex.h"
#include "tkm_json.h"
#include "tkm_log.h"
#include "tkm_secret.h"
#include "tkm_u256.h"

#endif
