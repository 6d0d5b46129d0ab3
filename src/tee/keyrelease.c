/* see tkm_keyrelease.h */
#include "tkm_keyrelease.h"

#include <stdlib.h>
#include <string.h>

struct tkm_keyrelease {
    tkm_secret *sk; /* NULL once used */
    uint8_t pk[TKM_X25519_LEN];
};

tkm_rc tkm_keyrelease_begin(tkm_keyrelease **kr, uint8_t pk[static TKM_X25519_LEN]) {
    *kr = NULL;
    memset(pk, 0, TKM_X25519_LEN);
    tkm_keyrelease *k = calloc(1, sizeof *k);
    TKM_ENSURE(k != NULL, TKM_ERR_NOMEM);
    tkm_rc rc = tkm_hpke_keygen(&k->sk, k->pk);
    if (tkm_failed(rc)) {
        free(k);
        return rc;
    }
    memcpy(pk, k->pk, TKM_X25519_LEN);
    *kr = k;
    return TKM_RC_OK;
}

tkm_rc tkm_keyrelease_open(tkm_keyrelease *kr, tkm_secret **key, const uint8_t report_data[static TKM_REPORT_DATA_LEN],
                           const uint8_t enc[static TKM_HPKE_ENC_LEN], const uint8_t *ct, size_t ct_len) {
    *key = NULL;
    if (!kr->sk) {
        tkm_err_detail_set("key release already used: start a new one with fresh evidence");
        TKM_ENSURE(0, TKM_ERR_STATE);
    }
    tkm_rc rc;
    if (!ct || ct_len != TKM_KEYRELEASE_KEY_LEN + TKM_HPKE_TAG_LEN) {
        tkm_err_detail_set("released key ciphertext must be %d bytes", TKM_KEYRELEASE_KEY_LEN + TKM_HPKE_TAG_LEN);
        rc = TKM_RC(TKM_ERR_FORMAT);
    } else {
        static const char info[] = TKM_KEYRELEASE_INFO;
        rc = tkm_hpke_open_secret(key, kr->sk, enc, (const uint8_t *)info, sizeof info - 1, report_data,
                                  TKM_REPORT_DATA_LEN, ct, ct_len);
    }
    tkm_secret_free(kr->sk); /* one evidence, one release */
    kr->sk = NULL;
    return rc;
}

void tkm_keyrelease_free(tkm_keyrelease *kr) {
    if (!kr) return;
    tkm_secret_free(kr->sk);
    tkm_wipe(kr, sizeof *kr);
    free(kr);
}
