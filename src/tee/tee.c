/* see tkm_tee.h — the common layer: open/close, dispatch, checks, seal-key derivation, files. */
#include "tee_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../crypto/tkm_entropy.h"
#include "../crypto/tkm_hash.h"

/* ---- files ---- */

tkm_rc tee_path(const tkm_tee *t, char *out, size_t cap, const char *rel) {
    const char *root = t->root;
    size_t rl = strlen(root);
    while (rl > 0 && root[rl - 1] == '/') rl--; /* "/" becomes "" */
    int n = snprintf(out, cap, "%.*s%s", (int)rl, root, rel);
    TKM_ENSURE(n > 0 && (size_t)n < cap, TKM_ERR_TOO_LARGE);
    return TKM_RC_OK;
}

int tee_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static tkm_rc open_fail(const char *path) {
    int e = errno;
    tkm_err_detail_set("%s: %s", path, strerror(e));
    TKM_ENSURE(0, e == ENOENT ? TKM_ERR_NOT_FOUND : TKM_ERR_IO);
}

tkm_rc tee_write_file(const char *path, const uint8_t *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return open_fail(path);
    size_t off = 0;
    tkm_rc rc = TKM_RC_OK;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            tkm_err_detail_set("%s: %s", path, w < 0 ? strerror(errno) : "short write");
            rc = TKM_RC(TKM_ERR_IO);
            break;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0 && tkm_ok(rc)) {
        tkm_err_detail_set("%s: %s", path, strerror(errno));
        rc = TKM_RC(TKM_ERR_IO);
    }
    return rc;
}

tkm_rc tee_read_u64(const char *path, uint64_t *v) {
    *v = 0;
    uint8_t b[32];
    size_t n = 0;
    TKM_TRY(tkm_file_read_into(path, b, sizeof b, TKM_FILE_STREAM, &n));
    if (n > 0 && b[n - 1] == '\n') n--;
    uint64_t x = 0;
    if (n == 0 || n > 19) goto bad;
    for (size_t i = 0; i < n; i++) {
        if (b[i] < '0' || b[i] > '9') goto bad;
        x = x * 10 + (uint64_t)(b[i] - '0');
    }
    *v = x;
    return TKM_RC_OK;
bad:
    tkm_err_detail_set("%s: not a decimal number", path);
    TKM_ENSURE(0, TKM_ERR_TEE_EVIDENCE);
}

/* ---- platform selection ---- */

tkm_rc tkm_tee_kind_parse(const char *s, tkm_tee_kind *kind) {
    *kind = TKM_TEE_KIND_NONE;
    static const struct {
        const char *n;
        tkm_tee_kind k;
    } names[] = {{"sim", TKM_TEE_KIND_SIM}, {"sgx", TKM_TEE_KIND_SGX}, {"tdx", TKM_TEE_KIND_TDX},
                 {"snp", TKM_TEE_KIND_SNP}, {"auto", TKM_TEE_KIND_NONE}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].n) == 0) {
            *kind = names[i].k;
            return TKM_RC_OK;
        }
    }
    tkm_err_detail_set("--tee must be sim, sgx, tdx, snp or auto");
    TKM_ENSURE(0, TKM_ERR_FORMAT);
}

tkm_rc tkm_tee_detect(const char *root, tkm_tee_kind *kind) {
    *kind = TKM_TEE_KIND_NONE;
    tkm_tee tmp;
    memset(&tmp, 0, sizeof tmp);
    snprintf(tmp.root, sizeof tmp.root, "%s", root ? root : "/");
    char p[PATH_MAX];
    int sgx = 0, tsm = 0, tdx = 0, snp = 0;
    if (tkm_ok(tee_path(&tmp, p, sizeof p, "/dev/attestation/quote"))) sgx = tee_exists(p);
    if (tkm_ok(tee_path(&tmp, p, sizeof p, "/sys/kernel/config/tsm/report"))) tsm = tee_exists(p);
    if (tkm_ok(tee_path(&tmp, p, sizeof p, "/dev/tdx_guest"))) tdx = tee_exists(p);
    if (tkm_ok(tee_path(&tmp, p, sizeof p, "/dev/sev-guest"))) snp = tee_exists(p);
    int found = sgx + (tsm && tdx) + (tsm && snp);
    if (found != 1) {
        tkm_err_detail_set(found ? "several TEE platforms look present; choose one with --tee"
                                 : "no SGX (/dev/attestation) or TDX/SNP (configfs-tsm) found; "
                                   "simulation must be chosen explicitly with --tee sim");
        TKM_ENSURE(0, TKM_ERR_TEE_NOT_DETECTED);
    }
    *kind = sgx ? TKM_TEE_KIND_SGX : tdx ? TKM_TEE_KIND_TDX : TKM_TEE_KIND_SNP;
    return TKM_RC_OK;
}

tkm_rc tkm_tee_open(tkm_tee **out, const char *name, const tkm_tee_opts *o) {
    *out = NULL;
    tkm_tee_opts defaults;
    memset(&defaults, 0, sizeof defaults);
    if (!o) o = &defaults;
    tkm_tee_kind kind;
    TKM_TRY(tkm_tee_kind_parse(name, &kind));
    if (kind == TKM_TEE_KIND_NONE) TKM_TRY(tkm_tee_detect(o->root, &kind));
    tkm_tee *t = calloc(1, sizeof *t);
    TKM_ENSURE(t != NULL, TKM_ERR_NOMEM);
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    pthread_mutex_init(&t->lock, NULL);
    t->kind = kind;
    if (snprintf(t->root, sizeof t->root, "%s", o->root ? o->root : "/") >= (int)sizeof t->root)
        TKM_GOTO(rc, TKM_ERR_TOO_LARGE);
    if (o->sim_key_file && !(t->sim_key_file = strdup(o->sim_key_file))) TKM_GOTO(rc, TKM_ERR_NOMEM);
    t->sim_create_key = o->sim_create_key;
    t->allow_debug = o->allow_debug;
    t->snp_vmpl = o->snp_vmpl;
    if (o->sys) t->sys = *o->sys;
    t->hwrng = o->hwrng;
    switch (kind) {
    case TKM_TEE_KIND_SIM: rc = tee_sim_open(t); break;
    case TKM_TEE_KIND_SGX: rc = tee_sgx_open(t); break;
    case TKM_TEE_KIND_TDX: rc = tee_tdx_open(t); break;
    case TKM_TEE_KIND_SNP: rc = tee_snp_open(t); break;
    default: rc = TKM_RC(TKM_ERR_INTERNAL); break;
    }
    if (tkm_failed(rc)) goto out;
    if (t->view.debug) {
        if (!t->allow_debug) {
            tkm_err_detail_set("%s TEE runs in debug mode: its memory is readable by the host "
                               "(start with --allow-debug only for development)",
                               tkm_tee_kind_name(kind));
            TKM_GOTO(rc, TKM_ERR_TEE_DEBUG);
        }
        tkm_log(TKM_LOG_WARN, "tee", "%s TEE in DEBUG mode accepted (--allow-debug): not secure",
                tkm_tee_kind_name(kind));
    }
    *out = t;
    t = NULL;
    rc = TKM_RC_OK;
out:
    tkm_tee_close(t);
    return rc;
}

void tkm_tee_close(tkm_tee *t) {
    if (!t) return;
    if (t->be && t->be->close) t->be->close(t);
    free(t->sim_key_file);
    pthread_mutex_destroy(&t->lock);
    tkm_wipe(t, sizeof *t);
    free(t);
}

tkm_tee_kind tkm_tee_get_kind(const tkm_tee *t) { return t->kind; }
const char *tkm_tee_name(const tkm_tee *t) { return tkm_tee_kind_name(t->kind); }

void tkm_tee_measurement(const tkm_tee *t, const uint8_t **m, size_t *len) {
    *m = t->view.measurement;
    *len = t->view.measurement_len;
}

tkm_rc tkm_tee_info(const tkm_tee *t, json_t **info) { return tkm_ev_view_json(&t->view, 0, info); }

void tkm_tee_evidence_free(tkm_tee_evidence *ev) {
    if (!ev) return;
    free(ev->bytes);
    free(ev->aux);
    memset(ev, 0, sizeof *ev);
}

tkm_rc tee_evidence_checked(tkm_tee *t, tkm_tee_evidence *ev, tkm_ev_view *v,
                            const uint8_t rd[TKM_REPORT_DATA_LEN]) {
    memset(ev, 0, sizeof *ev);
    tkm_rc rc = t->be->evidence(t, ev, rd);
    if (tkm_failed(rc)) goto out;
    rc = tkm_ev_inspect(v, ev->format, ev->bytes, ev->len);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("%s platform returned evidence that does not parse as %s (%s)",
                           tkm_tee_kind_name(t->kind), tkm_ev_format_name(ev->format), tkm_err_name(rc.code));
        TKM_GOTO(rc, TKM_ERR_TEE_EVIDENCE);
    }
    if (v->platform != t->kind) TKM_GOTO(rc, TKM_ERR_TEE_EVIDENCE);
    if (memcmp(v->report_data, rd, TKM_REPORT_DATA_LEN) != 0) {
        tkm_err_detail_set("evidence carries other report_data than requested (concurrent request?)");
        TKM_GOTO(rc, TKM_ERR_TEE_RACE);
    }
out:
    if (tkm_failed(rc)) {
        tkm_tee_evidence_free(ev);
        memset(v, 0, sizeof *v);
    }
    return rc;
}

tkm_rc tkm_tee_evidence_get(tkm_tee *t, tkm_tee_evidence *ev, const uint8_t report_data[static TKM_REPORT_DATA_LEN]) {
    memset(ev, 0, sizeof *ev);
    tkm_ev_view v;
    pthread_mutex_lock(&t->lock);
    tkm_rc rc = tee_evidence_checked(t, ev, &v, report_data);
    pthread_mutex_unlock(&t->lock);
    if (tkm_failed(rc)) return rc;
    if (v.measurement_len != t->view.measurement_len ||
        memcmp(v.measurement, t->view.measurement, v.measurement_len) != 0 || v.debug != t->view.debug) {
        tkm_tee_evidence_free(ev);
        tkm_err_detail_set("evidence measurement differs from the one seen at start-up");
        TKM_ENSURE(0, TKM_ERR_TEE_EVIDENCE);
    }
    return TKM_RC_OK;
}

static int label_ok(const char *label) {
    size_t n = strlen(label);
    if (n == 0 || n > TKM_SEAL_LABEL_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (label[i] < 0x21 || label[i] > 0x7e) return 0;
    return 1;
}

tkm_rc tkm_tee_seal_key(tkm_tee *t, tkm_secret **key, const char *label) {
    *key = NULL;
    TKM_ARG_CHECK(label_ok(label));
    tkm_secret *root = NULL, *k = NULL;
    pthread_mutex_lock(&t->lock);
    tkm_rc rc = t->be->root_key(t, &root);
    pthread_mutex_unlock(&t->lock);
    if (tkm_failed(rc)) return rc;
    /* info = platform ‖ 0x00 ‖ measurement ‖ label */
    uint8_t info[4 + 1 + TKM_EV_MEASUREMENT_MAX + TKM_SEAL_LABEL_MAX];
    size_t n = 0;
    const char *pname = tkm_tee_kind_name(t->kind);
    memcpy(info, pname, strlen(pname));
    n += strlen(pname);
    info[n++] = 0;
    memcpy(info + n, t->view.measurement, t->view.measurement_len);
    n += t->view.measurement_len;
    memcpy(info + n, label, strlen(label));
    n += strlen(label);
    static const char salt[] = "teekm/seal/v1";
    TKM_CHECK_GOTO(rc, tkm_secret_new(&k, TKM_SEAL_KEY_LEN));
    TKM_CHECK_GOTO(rc, tkm_hkdf_sha256(tkm_secret_mut(k), TKM_SEAL_KEY_LEN, (const uint8_t *)salt,
                                       sizeof salt - 1, tkm_secret_ptr(root), tkm_secret_len(root), info, n));
    *key = k;
    k = NULL;
out:
    tkm_secret_free(k);
    tkm_secret_free(root);
    return rc;
}

#if defined(__x86_64__)
#include <cpuid.h>
static int rdrand_real(uint64_t *out) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 30))) return 0;
    for (int i = 0; i < 10; i++) {
        unsigned long long v;
        unsigned char ok;
        __asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok));
        if (ok) {
            *out = v;
            return 1;
        }
    }
    return 0;
}
#else
static int rdrand_real(uint64_t *out) {
    *out = 0;
    return 0;
}
#endif

tkm_rc tkm_tee_entropy_check(tkm_tee *t) {
    TKM_TRY(tkm_entropy_init());
    if (t->kind == TKM_TEE_KIND_SIM) return TKM_RC_OK;
    tkm_tee_hwrng_fn f = t->hwrng ? t->hwrng : rdrand_real;
    uint64_t v[8];
    for (int i = 0; i < 8; i++) {
        if (!f(&v[i])) {
            tkm_err_detail_set("RDRAND unavailable or failing");
            TKM_ENSURE(0, TKM_ERR_ENTROPY);
        }
    }
    int distinct = 0;
    for (int i = 1; i < 8; i++)
        if (v[i] != v[0]) distinct = 1;
    tkm_wipe(v, sizeof v);
    if (!distinct) {
        tkm_err_detail_set("RDRAND returns a constant value");
        TKM_ENSURE(0, TKM_ERR_ENTROPY);
    }
    return TKM_RC_OK;
}
