/* JSON-RPC 2.0 request parser (tkm_rpc_parse) and the error objects built from its verdicts. */
#include <stdint.h>
#include <stdlib.h>

#include "api/tkm_jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_rpc_request *r = NULL;
    tkm_rpc_limits lim = {.max_batch = 16, .json = {.max_bytes = 65536, .max_depth = 16}};
    tkm_rpc_error e;
    tkm_rc rc = tkm_rpc_parse(&r, data, size, &lim);
    if (tkm_failed(rc)) {
        tkm_rpc_error_for_parse(&e, rc);
        if (e.code != TKM_RPC_PARSE_ERROR && e.code != TKM_RPC_INVALID_REQUEST && e.code != TKM_RPC_INTERNAL_ERROR)
            abort();
        json_decref(tkm_rpc_error_json(&e));
        return 0;
    }
    for (size_t i = 0; i < r->n; i++) {
        const tkm_rpc_item *it = &r->items[i];
        if (it->invalid == (it->method != NULL)) abort(); /* exactly one of: valid with a method, invalid */
        if (it->params && !json_is_array(it->params) && !json_is_object(it->params)) abort();
        if (it->invalid) {
            tkm_rpc_error_std(&e, TKM_RPC_INVALID_REQUEST, it->why);
            json_decref(tkm_rpc_error_json(&e));
        }
    }
    tkm_rpc_request_free(r);
    return 0;
}
