/*
 * Signing requests as the service receives them: request JSON, approvals,
 * typed data, and the intent built from them against a fixed policy.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char POLICY[] =
    "{\"teekm_policy\":1,\"version\":1,\"default\":\"deny\",\"max_validity_seconds\":600,"
    "\"admins\":{\"threshold\":1,\"members\":[\"0x1111111111111111111111111111111111111111\"]},"
    "\"assets\":{\"USDC\":{\"chain_id\":1,\"contract\":\"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48\","
    "\"standard\":\"erc20\",\"decimals\":6}},\"rules\":[]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static tkm_policy *p;
    if (!p && tkm_failed(tkm_policy_load(&p, (const uint8_t *)POLICY, sizeof POLICY - 1))) abort();
    tkm_request r;
    if (tkm_ok(tkm_request_parse(&r, data, size))) {
        tkm_intent it;
        int unsupported;
        char why[128];
        static const uint8_t key[20] = {0x11};
        if (tkm_ok(tkm_intent_build(&it, &unsupported, why, sizeof why, &r, key, p)) && !unsupported) {
            json_t *j = NULL;
            if (tkm_failed(tkm_intent_to_json(&j, &it, p))) abort();
            tkm_intent back;
            /* a message intent does not render its content, so it has no JSON form to read back */
            if (it.payload != TKM_PAYLOAD_MESSAGE && tkm_failed(tkm_intent_from_json(&back, j))) abort();
            json_decref(j);
        }
    }
    tkm_request_free(&r);
    return 0;
}
