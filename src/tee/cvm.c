/* The tdx and snp platforms: Linux configfs-tsm reports; SNP derived keys via /dev/sev-guest. */
#include "tee_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sev-guest.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define TSM_REPORT_DIR "/sys/kernel/config/tsm/report"
#define TDX_QUOTE_MIN (48 + 584 + 4)
#define SNP_AUX_MAX ((size_t)64 * 1024)

static int sys_mkdir(tkm_tee *t, const char *path) {
    if (t->sys.mkdir) return t->sys.mkdir(t->sys.ctx, path, 0700);
    return mkdir(path, 0700);
}

static int sys_rmdir(tkm_tee *t, const char *path) {
    if (t->sys.rmdir) return t->sys.rmdir(t->sys.ctx, path);
    return rmdir(path);
}

static tkm_rc join(char *out, size_t cap, const char *dir, const char *name) {
    int n = snprintf(out, cap, "%s/%s", dir, name);
    TKM_ENSURE(n > 0 && (size_t)n < cap, TKM_ERR_TOO_LARGE);
    return TKM_RC_OK;
}

static tkm_rc check_provider(const char *entry, const char *want) {
    char p[PATH_MAX];
    TKM_TRY(join(p, sizeof p, entry, "provider"));
    uint8_t b[64];
    size_t n = 0;
    tkm_rc rc = tkm_file_read_into(p, b, sizeof b, TKM_FILE_STREAM, &n);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("configfs-tsm entry has no readable provider (%s)", tkm_err_name(rc.code));
        TKM_ENSURE(0, TKM_ERR_TEE_PROVIDER);
    }
    if (n > 0 && b[n - 1] == '\n') n--;
    if (n != strlen(want) || memcmp(b, want, n) != 0) {
        tkm_err_detail_set("configfs-tsm provider is '%.*s', expected '%s'", (int)n, (const char *)b, want);
        TKM_ENSURE(0, TKM_ERR_TEE_PROVIDER);
    }
    return TKM_RC_OK;
}

tkm_rc tee_tsm_report(tkm_tee *t, const char *want_provider, const uint8_t rd[TKM_REPORT_DATA_LEN],
                      size_t min_len, size_t max_len, uint8_t **out, size_t *out_len, uint8_t **aux,
                      size_t *aux_len) {
    *out = NULL;
    *out_len = 0;
    if (aux) {
        *aux = NULL;
        *aux_len = 0;
    }
    static atomic_uint_fast64_t counter;
    char base[PATH_MAX], entry[PATH_MAX], p[PATH_MAX];
    TKM_TRY(tee_path(t, base, sizeof base, TSM_REPORT_DIR));
    uint64_t seq = (uint64_t)atomic_fetch_add(&counter, 1);
    int n = snprintf(entry, sizeof entry, "%s/teekm-%ld-%llu-%llx", base, (long)getpid(),
                     (unsigned long long)seq, (unsigned long long)(tkm_time_mono_ns() & 0xffffffffu));
    TKM_ENSURE(n > 0 && (size_t)n < sizeof entry, TKM_ERR_TOO_LARGE);
    if (sys_mkdir(t, entry) != 0) {
        tkm_err_detail_set("mkdir %s: %s", entry, strerror(errno));
        TKM_ENSURE(0, TKM_ERR_IO);
    }
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    uint8_t *blob = NULL, *ab = NULL;
    size_t len = 0, alen = 0;
    uint64_t g0 = 0, g1 = 0;
    TKM_CHECK_GOTO(rc, check_provider(entry, want_provider));
    TKM_CHECK_GOTO(rc, join(p, sizeof p, entry, "generation"));
    TKM_CHECK_GOTO(rc, tee_read_u64(p, &g0));
    TKM_CHECK_GOTO(rc, join(p, sizeof p, entry, "inblob"));
    TKM_CHECK_GOTO(rc, tee_write_file(p, rd, TKM_REPORT_DATA_LEN));
    TKM_CHECK_GOTO(rc, join(p, sizeof p, entry, "outblob"));
    rc = tkm_file_read(p, max_len, TKM_FILE_STREAM, &blob, &len);
    if (rc.code == TKM_ERR_TOO_LARGE) {
        tkm_err_detail_set("%s outblob larger than %zu bytes", want_provider, max_len);
        TKM_GOTO(rc, TKM_ERR_TEE_EVIDENCE);
    }
    if (tkm_failed(rc)) goto out;
    if (len < min_len) {
        tkm_err_detail_set("%s outblob of %zu bytes is shorter than %zu", want_provider, len, min_len);
        TKM_GOTO(rc, TKM_ERR_TEE_EVIDENCE);
    }
    /* Exactly our one write happened between the two reads: otherwise the
     * outblob may answer someone else's inblob. */
    TKM_CHECK_GOTO(rc, join(p, sizeof p, entry, "generation"));
    TKM_CHECK_GOTO(rc, tee_read_u64(p, &g1));
    if (g1 != g0 + 1) {
        tkm_err_detail_set("configfs-tsm generation went from %llu to %llu across our request",
                           (unsigned long long)g0, (unsigned long long)g1);
        TKM_GOTO(rc, TKM_ERR_TEE_RACE);
    }
    if (aux) {
        TKM_CHECK_GOTO(rc, join(p, sizeof p, entry, "auxblob"));
        if (tee_exists(p)) {
            rc = tkm_file_read(p, SNP_AUX_MAX, TKM_FILE_STREAM, &ab, &alen);
            if (tkm_failed(rc)) goto out;
        }
    }
    *out = blob;
    *out_len = len;
    blob = NULL;
    if (aux && alen > 0) {
        *aux = ab;
        *aux_len = alen;
        ab = NULL;
    }
    rc = TKM_RC_OK;
out:
    free(blob);
    free(ab);
    if (sys_rmdir(t, entry) != 0)
        tkm_log(TKM_LOG_WARN, "tee", "cannot remove configfs-tsm entry %s: %s", entry, strerror(errno));
    return rc;
}

/* ---- TDX ---- */

static tkm_rc tdx_evidence(tkm_tee *t, tkm_tee_evidence *ev, const uint8_t rd[TKM_REPORT_DATA_LEN]) {
    TKM_TRY(tee_tsm_report(t, "tdx_guest", rd, TDX_QUOTE_MIN, TKM_EV_MAX_BYTES, &ev->bytes, &ev->len, NULL,
                           NULL));
    ev->format = TKM_EV_TDX_QUOTE;
    return TKM_RC_OK;
}

static tkm_rc tdx_root_key(tkm_tee *t, tkm_secret **k) {
    (void)t;
    *k = NULL;
    tkm_err_detail_set("TDX has no sealing key: state keys are released by the verifier after appraisal");
    TKM_ENSURE(0, TKM_ERR_TEE_NO_SEAL_KEY);
}

static const tee_backend tdx_backend = {tdx_evidence, tdx_root_key, NULL};

/* Learn measurement and debug state from one report with zero report_data. */
static tkm_rc sample(tkm_tee *t) {
    static const uint8_t zero[TKM_REPORT_DATA_LEN] = {0};
    tkm_tee_evidence ev;
    tkm_ev_view v;
    TKM_TRY(tee_evidence_checked(t, &ev, &v, zero));
    tkm_tee_evidence_free(&ev);
    t->view = v;
    memset(t->view.report_data, 0, sizeof t->view.report_data);
    return TKM_RC_OK;
}

tkm_rc tee_tdx_open(tkm_tee *t) {
    t->be = &tdx_backend;
    return sample(t);
}

/* ---- SEV-SNP ---- */

/* MSG_KEY_REQ GUEST_FIELD_SELECT bits (SEV-SNP firmware ABI) */
#define SNP_GFS_GUEST_POLICY ((uint64_t)1 << 0)
#define SNP_GFS_MEASUREMENT ((uint64_t)1 << 3)
#define SNP_ROOT_KEY_VCEK 0

_Static_assert(sizeof(struct snp_derived_key_req) == 32, "uapi snp_derived_key_req layout");
_Static_assert(sizeof(struct snp_derived_key_resp) == 64, "uapi snp_derived_key_resp layout");

static tkm_rc snp_evidence(tkm_tee *t, tkm_tee_evidence *ev, const uint8_t rd[TKM_REPORT_DATA_LEN]) {
    TKM_TRY(tee_tsm_report(t, "sev_guest", rd, TKM_TEE_SNP_REPORT_LEN, TKM_TEE_SNP_REPORT_LEN, &ev->bytes, &ev->len,
                           &ev->aux, &ev->aux_len));
    ev->format = TKM_EV_SNP_REPORT;
    return TKM_RC_OK;
}

static tkm_rc snp_root_key(tkm_tee *t, tkm_secret **k) {
    *k = NULL;
    char p[PATH_MAX];
    TKM_TRY(tee_path(t, p, sizeof p, "/dev/sev-guest"));
    int fd = open(p, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        tkm_err_detail_set("%s: %s", p, strerror(errno));
        TKM_ENSURE(0, TKM_ERR_TEE_SEAL);
    }
    struct snp_derived_key_req req;
    struct snp_derived_key_resp resp;
    struct snp_guest_request_ioctl io;
    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    memset(&io, 0, sizeof io);
    req.root_key_select = SNP_ROOT_KEY_VCEK;
    req.guest_field_select = SNP_GFS_GUEST_POLICY | SNP_GFS_MEASUREMENT;
    req.vmpl = t->snp_vmpl;
    req.guest_svn = 0;
    req.tcb_version = 0;
    io.msg_version = 1;
    io.req_data = (uint64_t)(uintptr_t)&req;
    io.resp_data = (uint64_t)(uintptr_t)&resp;
    int r = t->sys.ioctl ? t->sys.ioctl(t->sys.ctx, fd, SNP_GET_DERIVED_KEY, &io)
                         : ioctl(fd, SNP_GET_DERIVED_KEY, &io);
    int e = errno;
    close(fd);
    tkm_rc rc = TKM_RC_OK;
    uint32_t status = (uint32_t)resp.data[0] | (uint32_t)resp.data[1] << 8 | (uint32_t)resp.data[2] << 16 |
                      (uint32_t)resp.data[3] << 24;
    if (r != 0) {
        tkm_err_detail_set("SNP_GET_DERIVED_KEY failed: %s (fw_error 0x%x, vmm_error 0x%x)", strerror(e),
                           io.fw_error, io.vmm_error);
        rc = TKM_RC(TKM_ERR_TEE_SEAL);
    } else if (status != 0) {
        tkm_err_detail_set("SNP_GET_DERIVED_KEY status 0x%x", status);
        rc = TKM_RC(TKM_ERR_TEE_SEAL);
    } else {
        rc = tkm_secret_from(k, resp.data + 32, 32); /* MSG_KEY_RSP: status, reserved, DERIVED_KEY @0x20 */
    }
    tkm_wipe(&resp, sizeof resp);
    return rc;
}

static const tee_backend snp_backend = {snp_evidence, snp_root_key, NULL};

tkm_rc tee_snp_open(tkm_tee *t) {
    t->be = &snp_backend;
    return sample(t);
}
