/* Development key files for the *-dev signing commands (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"

#define DEVKEY_PREFIX "dev:0x"
#define DEVKEY_PREFIX_LEN 6
#define DEVKEY_HEX_LEN 64

tkm_rc cli_devkey_load(const char *path, tkm_secret **sk) {
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    tkm_secret *key = NULL;
    uint8_t buf[DEVKEY_PREFIX_LEN + DEVKEY_HEX_LEN + 2];
    size_t n = 0;
    *sk = NULL;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        tkm_err_detail_set("cannot open key file %s: %s", path, strerror(errno));
        TKM_GOTO(rc, errno == ENOENT ? TKM_ERR_NOT_FOUND : TKM_ERR_IO);
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        tkm_err_detail_set("key file %s is not a regular file", path);
        TKM_GOTO(rc, TKM_ERR_FORMAT);
    }
    if (st.st_uid != geteuid()) {
        tkm_err_detail_set("key file %s must be owned by the user running teekm", path);
        TKM_GOTO(rc, TKM_ERR_PERMISSIONS);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        tkm_err_detail_set("key file %s has mode %04o: group and others must have no access (chmod 600)",
                           path, (unsigned)(st.st_mode & 07777));
        TKM_GOTO(rc, TKM_ERR_PERMISSIONS);
    }
    /* One more byte than the longest valid file, so that longer files are seen. */
    while (n < sizeof buf) {
        ssize_t got = read(fd, buf + n, sizeof buf - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            tkm_err_detail_set("cannot read key file %s", path);
            TKM_GOTO(rc, TKM_ERR_IO);
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    size_t want = DEVKEY_PREFIX_LEN + DEVKEY_HEX_LEN;
    int shape_ok = (n == want || (n == want + 1 && buf[want] == '\n')) &&
                   memcmp(buf, DEVKEY_PREFIX, DEVKEY_PREFIX_LEN) == 0;
    if (!shape_ok) {
        tkm_err_detail_set("%s is not a development key file (exactly one line: dev:0x and 64 hex digits)", path);
        TKM_GOTO(rc, TKM_ERR_FORMAT);
    }
    TKM_CHECK_GOTO(rc, tkm_secret_new(&key, TKM_SECP_SECKEY_LEN));
    rc = tkm_hex_decode_exact(tkm_secret_mut(key), TKM_SECP_SECKEY_LEN, (const char *)buf + DEVKEY_PREFIX_LEN,
                              DEVKEY_HEX_LEN, TKM_HEX_0X_FORBIDDEN);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("%s is not a development key file (exactly one line: dev:0x and 64 hex digits)", path);
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
    if (fd >= 0) close(fd);
    return rc;
}
