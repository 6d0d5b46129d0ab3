/* Development key files for the *-dev signing commands (see cli.h). */
#include "cli.h"

#include <string.h>

#include "crypto/crypto.h"

#define DEVKEY_PREFIX "dev:0x"
#define DEVKEY_PREFIX_LEN 6
#define DEVKEY_HEX_LEN 64
#define NOT_DEVKEY "%s is not a development key file (exactly one line: dev:0x and 64 hex digits)"

tkm_rc cli_devkey_load(const char *path, tkm_secret **sk) {
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    tkm_secret *key = NULL;
    uint8_t buf[DEVKEY_PREFIX_LEN + DEVKEY_HEX_LEN + 2];
    size_t n = 0;
    *sk = NULL;
    /* one byte more than the longest valid file, so that longer files are seen */
    rc = tkm_file_read_into(path, buf, sizeof buf, TKM_FILE_SECRET | TKM_FILE_OWNED, &n);
    if (rc.code == TKM_ERR_TOO_LARGE) {
        tkm_err_detail_set(NOT_DEVKEY, path);
        TKM_GOTO(rc, TKM_ERR_FORMAT);
    }
    if (tkm_failed(rc)) goto out;
    size_t want = DEVKEY_PREFIX_LEN + DEVKEY_HEX_LEN;
    int shape_ok = (n == want || (n == want + 1 && buf[want] == '\n')) &&
                   memcmp(buf, DEVKEY_PREFIX, DEVKEY_PREFIX_LEN) == 0;
    if (!shape_ok) {
        tkm_err_detail_set(NOT_DEVKEY, path);
        TKM_GOTO(rc, TKM_ERR_FORMAT);
    }
    TKM_CHECK_GOTO(rc, tkm_secret_new(&key, TKM_SECP_SECKEY_LEN));
    rc = tkm_hex_decode_exact(tkm_secret_mut(key), TKM_SECP_SECKEY_LEN, (const char *)buf + DEVKEY_PREFIX_LEN,
                              DEVKEY_HEX_LEN, TKM_HEX_0X_FORBIDDEN);
    if (tkm_failed(rc)) {
        tkm_err_detail_set(NOT_DEVKEY, path);
        TKM_GOTO(rc, TKM_ERR_FORMAT);
    }
    rc = tkm_secp_seckey_check(key);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("%s does not hold a valid secp256k1 private key", path);
        goto out;
    }
    *sk = key;
    key = NULL;
    rc = TKM_RC_OK;
out:
    tkm_wipe(buf, sizeof buf);
    tkm_secret_free(key);
    return rc;
}
