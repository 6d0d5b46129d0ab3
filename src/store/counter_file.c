/* see tkm_counter.h — the local file counter (sim / fallback). */
#include "tkm_counter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../crypto/crypto.h"

#define SLOT_LEN 40
#define SLOT_STRIDE 64

typedef struct {
    char *path;
    int fd;
    uint8_t key[32];
} file_counter;

static void slot_mac(uint8_t out[32], const file_counter *fc, const uint8_t id[32], uint64_t v, tkm_rc *rc) {
    uint8_t msg[16 + 32 + 8];
    memcpy(msg, "teekm-counter-v1", 16);
    memcpy(msg + 16, id, 32);
    for (int i = 0; i < 8; i++) msg[48 + i] = (uint8_t)(v >> (56 - 8 * i));
    *rc = tkm_hmac_sha256(out, fc->key, sizeof fc->key, msg, sizeof msg);
}

static tkm_rc fc_open_fd(file_counter *fc, int create) {
    if (fc->fd >= 0) return TKM_RC_OK;
    fc->fd = open(fc->path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (fc->fd < 0) {
        if (errno == ENOENT && !create) return TKM_RC_OK;
        tkm_err_detail_set("counter file %s: %s", fc->path, strerror(errno));
        TKM_ENSURE(0, TKM_ERR_IO);
    }
    if (create) TKM_TRY(tkm_file_sync_dir(fc->path)); /* make the new directory entry durable too */
    return TKM_RC_OK;
}

static tkm_rc fc_read(void *ctx, const uint8_t id[32], uint64_t *value, int *exists) {
    file_counter *fc = ctx;
    *value = 0;
    *exists = 0;
    TKM_TRY(fc_open_fd(fc, 0));
    if (fc->fd < 0) return TKM_RC_OK;
    uint8_t buf[2 * SLOT_STRIDE];
    ssize_t n = pread(fc->fd, buf, sizeof buf, 0);
    TKM_ENSURE(n >= 0, TKM_ERR_IO);
    int any = 0, valid = 0;
    for (int s = 0; s < 2; s++) {
        if ((size_t)n < (size_t)(s * SLOT_STRIDE + SLOT_LEN)) continue;
        const uint8_t *p = buf + s * SLOT_STRIDE;
        int zero = 1;
        for (int i = 0; i < SLOT_LEN; i++)
            if (p[i]) zero = 0;
        if (zero) continue;
        any = 1;
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
        uint8_t mac[32];
        tkm_rc rc;
        slot_mac(mac, fc, id, v, &rc);
        TKM_TRY(rc);
        if (!tkm_ct_eq(mac, p + 8, 32)) continue;
        valid = 1;
        if (v > *value) *value = v;
    }
    if (any && !valid) {
        tkm_err_detail_set("counter file %s does not belong to this instance or was modified", fc->path);
        TKM_ENSURE(0, TKM_ERR_STORE_COUNTER);
    }
    *exists = valid;
    return TKM_RC_OK;
}

static tkm_rc fc_advance(void *ctx, const uint8_t id[32], uint64_t value) {
    file_counter *fc = ctx;
    TKM_TRY(fc_open_fd(fc, 1));
    uint8_t slot[SLOT_LEN];
    for (int i = 0; i < 8; i++) slot[i] = (uint8_t)(value >> (56 - 8 * i));
    tkm_rc rc;
    slot_mac(slot + 8, fc, id, value, &rc);
    TKM_TRY(rc);
    off_t off = (off_t)((value & 1) * SLOT_STRIDE);
    if (pwrite(fc->fd, slot, sizeof slot, off) != (ssize_t)sizeof slot || fdatasync(fc->fd) != 0) {
        tkm_err_detail_set("counter file %s: %s", fc->path, strerror(errno));
        TKM_ENSURE(0, TKM_ERR_IO);
    }
    return TKM_RC_OK;
}

static void fc_close(void *ctx) {
    file_counter *fc = ctx;
    if (!fc) return;
    if (fc->fd >= 0) close(fc->fd);
    tkm_wipe(fc->key, sizeof fc->key);
    free(fc->path);
    free(fc);
}

tkm_rc tkm_counter_file_peek(const char *path, uint64_t *value, int *present) {
    *value = 0;
    *present = 0;
    TKM_ARG_CHECK(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return TKM_RC_OK;
        tkm_err_detail_set("counter file %s: %s", path, strerror(errno));
        TKM_ENSURE(0, TKM_ERR_IO);
    }
    uint8_t buf[2 * SLOT_STRIDE];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    close(fd);
    TKM_ENSURE(n >= 0, TKM_ERR_IO);
    *present = 1;
    for (int s = 0; s < 2; s++) {
        if ((size_t)n < (size_t)(s * SLOT_STRIDE + SLOT_LEN)) continue;
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) v = (v << 8) | buf[s * SLOT_STRIDE + i];
        if (v > *value) *value = v;
    }
    return TKM_RC_OK;
}

tkm_rc tkm_counter_file_open(tkm_counter *out, const char *path, const tkm_secret *seal_key) {
    memset(out, 0, sizeof *out);
    TKM_ARG_CHECK(path && seal_key && tkm_secret_len(seal_key) == 32);
    file_counter *fc = calloc(1, sizeof *fc);
    TKM_ENSURE(fc, TKM_ERR_NOMEM);
    fc->fd = -1;
    fc->path = strdup(path);
    static const char info[] = "teekm counter file";
    tkm_rc rc = fc->path ? tkm_hkdf_sha256(fc->key, sizeof fc->key, NULL, 0, tkm_secret_ptr(seal_key), 32,
                                           (const uint8_t *)info, sizeof info - 1)
                         : TKM_RC(TKM_ERR_NOMEM);
    if (tkm_failed(rc)) {
        fc_close(fc);
        return rc;
    }
    out->ctx = fc;
    out->read = fc_read;
    out->advance = fc_advance;
    out->close = fc_close;
    return TKM_RC_OK;
}
