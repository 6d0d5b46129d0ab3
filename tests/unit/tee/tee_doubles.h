/*
 * tee_doubles.h — test doubles of the platform trees the tee backends read
 * (Gramine's /dev/attestation, Linux configfs-tsm, /dev/sev-guest), included
 * by the tee unit tests. A helper thread plays the kernel's part: it reads
 * what the backend writes and answers with evidence built from a real sample
 * (tests/vectors/tee) whose report_data is replaced and which is re-signed
 * with a test signing key (so tests can check the backend hands over the
 * kernel's bytes untouched). FIFOs make the exchange synchronous, as with the
 * real pseudo-files.
 */
#ifndef TKM_TEE_DOUBLES_H
#define TKM_TEE_DOUBLES_H

#pragma GCC diagnostic ignored "-Wunused-function"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "tee/tee.h"

/* Assert OK, naming the error and its detail when not. */
#define TD_OK(expr)                                                                                  \
    do {                                                                                             \
        tkm_rc td_rc_ = (expr);                                                                      \
        if (tkm_failed(td_rc_)) fail_msg("%s: %s (%s)", #expr, tkm_err_name(td_rc_.code), tkm_err_detail()); \
    } while (0)

/* ---- files ---- */

static void td_mkdirs(const char *root, const char *rel) {
    char p[4096];
    snprintf(p, sizeof p, "%s%s", root, rel);
    for (char *s = p + strlen(root) + 1; *s; s++) {
        if (*s == '/') {
            *s = 0;
            (void)mkdir(p, 0755);
            *s = '/';
        }
    }
    (void)mkdir(p, 0755);
}

static void td_write(const char *path, const void *data, size_t n, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

static void td_writef(const char *root, const char *rel, const void *data, size_t n) {
    char p[4096];
    snprintf(p, sizeof p, "%s%s", root, rel);
    td_write(p, data, n, 0644);
}

static void td_fifo(const char *root, const char *rel) {
    char p[4096];
    snprintf(p, sizeof p, "%s%s", root, rel);
    (void)unlink(p);
    assert_int_equal(mkfifo(p, 0600), 0);
}

static char *td_tmpdir(void) {
    char tmpl[] = "/tmp/tkm-tee-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void td_rmrf(const char *dir) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static uint8_t *td_vector(const char *rel, size_t *len) { return tu_read_file(tu_vector_path(rel), len); }

/* Read all of a FIFO end (blocking open). */
static size_t td_read_fd_all(int fd, uint8_t *buf, size_t cap) {
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
        if (n == cap) break;
    }
    return n;
}

static void td_write_fd_all(int fd, const uint8_t *b, size_t n) {
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, b + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break; /* reader went away (SIGPIPE is ignored by the tests) */
        off += (size_t)w;
    }
}

/* ---- test signing keys and re-signing ---- */

static EVP_PKEY *td_keygen(const char *curve) {
    EVP_PKEY *k = EVP_EC_gen(curve);
    assert_non_null(k);
    return k;
}

/* ECDSA over msg; r and s as fixed-size big-endian (le = 0) or little-endian (le = 1) fields of n bytes. */
static void td_sign(EVP_PKEY *k, const EVP_MD *md, const uint8_t *msg, size_t len, uint8_t *r_out, uint8_t *s_out,
                    size_t n, size_t width, int le) {
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    uint8_t der[160];
    size_t dl = sizeof der;
    assert_int_equal(EVP_DigestSignInit(c, NULL, md, NULL, k), 1);
    assert_int_equal(EVP_DigestSign(c, der, &dl, msg, len), 1);
    EVP_MD_CTX_free(c);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    assert_non_null(sig);
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    uint8_t rb[72] = {0}, sb[72] = {0};
    assert_int_equal(BN_bn2binpad(r, rb, (int)n), (int)n);
    assert_int_equal(BN_bn2binpad(s, sb, (int)n), (int)n);
    memset(r_out, 0, width);
    memset(s_out, 0, width);
    for (size_t i = 0; i < n; i++) {
        r_out[le ? i : i] = le ? rb[n - 1 - i] : rb[i];
        s_out[le ? i : i] = le ? sb[n - 1 - i] : sb[i];
    }
    ECDSA_SIG_free(sig);
}

/* Verify r‖s (big-endian, n bytes each) with OpenSSL. */
static int td_verify(EVP_PKEY *k, const EVP_MD *md, const uint8_t *msg, size_t len, const uint8_t *r_in,
                     const uint8_t *s_in, size_t n, int le) {
    uint8_t rb[72], sb[72];
    for (size_t i = 0; i < n; i++) {
        rb[i] = le ? r_in[n - 1 - i] : r_in[i];
        sb[i] = le ? s_in[n - 1 - i] : s_in[i];
    }
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(rb, (int)n, NULL), BN_bin2bn(sb, (int)n, NULL));
    unsigned char *der = NULL;
    int dl = i2d_ECDSA_SIG(sig, &der);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(c, NULL, md, NULL, k) == 1 && EVP_DigestVerify(c, der, (size_t)dl, msg, len) == 1;
    EVP_MD_CTX_free(c);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    return ok;
}

/* SGX v3 / TDX v4 quote: put report_data, re-sign header+body with the test
 * attestation key (signature and key are the first 128 bytes of the
 * signature data). body_end = 432 (SGX) or 632 (TDX v4). */
static void td_quote_resign(uint8_t *q, size_t body_end, size_t rd_off, const uint8_t rd[64], EVP_PKEY *k) {
    memcpy(q + rd_off, rd, 64);
    uint8_t *sig = q + body_end + 4;
    td_sign(k, EVP_sha256(), q, body_end, sig, sig + 32, 32, 32, 0);
    uint8_t pub[65];
    size_t pl = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &pl), 1);
    memcpy(sig + 64, pub + 1, 64);
}

/* SNP report: report_data @0x50, ECDSA P-384 over 0..0x2A0, r/s little-endian 72-byte fields. */
static void td_snp_resign(uint8_t *rep, const uint8_t rd[64], EVP_PKEY *k) {
    memcpy(rep + 0x50, rd, 64);
    td_sign(k, EVP_sha384(), rep, 0x2A0, rep + 0x2A0, rep + 0x2E8, 48, 72, 1);
}

/* ---- configfs-tsm double ---- */

typedef enum { TSM_OK, TSM_SHORT, TSM_OVERSIZED, TSM_GEN_SKIP, TSM_NO_PROVIDER, TSM_WRONG_PROVIDER } tsm_mode;

typedef struct {
    const char *provider; /* "tdx_guest" / "sev_guest" */
    tsm_mode mode;
    uint8_t *tmpl; /* evidence template */
    size_t tmpl_len;
    int snp;       /* 1: SNP report layout, 0: TDX v4 quote */
    EVP_PKEY *key; /* test signing key */
    uint64_t generation;
    int reports;   /* served */
    int entries;   /* currently existing */
    pthread_t th;
    int th_running;
    char entry[4096];
    /* SNP derived-key double */
    uint8_t snp_root[32];
    int ioctl_calls;
    uint32_t want_vmpl;
} tsm_double;

static void *tsm_kernel(void *arg) {
    tsm_double *d = arg;
    char p[4200];
    snprintf(p, sizeof p, "%s/inblob", d->entry);
    int fd = open(p, O_RDONLY);
    if (fd < 0) return NULL;
    uint8_t rd[64];
    size_t n = td_read_fd_all(fd, rd, sizeof rd);
    close(fd);
    if (n != 64) return NULL;
    d->generation += d->mode == TSM_GEN_SKIP ? 2 : 1; /* another writer sneaked in */
    char g[32];
    snprintf(g, sizeof g, "%llu\n", (unsigned long long)d->generation);
    snprintf(p, sizeof p, "%s/generation", d->entry);
    td_write(p, g, strlen(g), 0644);
    uint8_t *ev = malloc(40000);
    memcpy(ev, d->tmpl, d->tmpl_len);
    size_t evl = d->tmpl_len;
    if (d->snp)
        td_snp_resign(ev, rd, d->key);
    else
        td_quote_resign(ev, 632, 568, rd, d->key);
    if (d->mode == TSM_SHORT) evl = 100;
    if (d->mode == TSM_OVERSIZED) {
        memset(ev + evl, 0, 40000 - evl);
        evl = 40000;
    }
    snprintf(p, sizeof p, "%s/outblob", d->entry);
    fd = open(p, O_WRONLY);
    if (fd >= 0) {
        td_write_fd_all(fd, ev, evl);
        close(fd);
    }
    free(ev);
    d->reports++;
    return NULL;
}

/* The kernel creates the entry's attributes when the directory is made. */
static int tsm_mkdir(void *ctx, const char *path, mode_t mode) {
    tsm_double *d = ctx;
    if (mkdir(path, mode) != 0) return -1;
    char p[4200];
    snprintf(d->entry, sizeof d->entry, "%s", path);
    if (d->mode != TSM_NO_PROVIDER) {
        const char *prov = d->mode == TSM_WRONG_PROVIDER ? (d->snp ? "tdx_guest\n" : "sev_guest\n") : NULL;
        char buf[64];
        if (!prov) {
            snprintf(buf, sizeof buf, "%s\n", d->provider);
            prov = buf;
        }
        snprintf(p, sizeof p, "%s/provider", path);
        td_write(p, prov, strlen(prov), 0644);
    }
    char g[32];
    snprintf(g, sizeof g, "%llu\n", (unsigned long long)d->generation);
    snprintf(p, sizeof p, "%s/generation", path);
    td_write(p, g, strlen(g), 0644);
    snprintf(p, sizeof p, "%s/inblob", path);
    assert_int_equal(mkfifo(p, 0600), 0);
    snprintf(p, sizeof p, "%s/outblob", path);
    assert_int_equal(mkfifo(p, 0600), 0);
    d->entries++;
    assert_int_equal(pthread_create(&d->th, NULL, tsm_kernel, d), 0);
    d->th_running = 1;
    return 0;
}

static int tsm_rmdir(void *ctx, const char *path) {
    tsm_double *d = ctx;
    char p[4200];
    /* unblock the kernel thread wherever it waits, until it has finished */
    char in[4200], outb[4200];
    snprintf(in, sizeof in, "%s/inblob", path);
    snprintf(outb, sizeof outb, "%s/outblob", path);
    while (d->th_running) {
        int a = open(in, O_WRONLY | O_NONBLOCK);
        if (a >= 0) close(a);
        int b = open(outb, O_RDONLY | O_NONBLOCK);
        if (pthread_tryjoin_np(d->th, NULL) == 0) d->th_running = 0;
        else usleep(1000);
        if (b >= 0) close(b);
    }
    static const char *const files[] = {"provider", "generation", "inblob", "outblob", NULL};
    for (int i = 0; files[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", path, files[i]);
        (void)unlink(p);
    }
    d->entries--;
    return rmdir(path);
}

/* SNP_GET_DERIVED_KEY answered from a test root key: HMAC(root, measurement ‖ policy) when the
 * request selects exactly POLICY and MEASUREMENT with the VCEK root. */
#include <linux/sev-guest.h>
#include <openssl/hmac.h>
static int tsm_ioctl(void *ctx, int fd, unsigned long req, void *arg) {
    tsm_double *d = ctx;
    d->ioctl_calls++;
    if (fd < 0 || req != SNP_GET_DERIVED_KEY) {
        errno = ENOTTY;
        return -1;
    }
    struct snp_guest_request_ioctl *io = arg;
    struct snp_derived_key_req *rq = (struct snp_derived_key_req *)(uintptr_t)io->req_data;
    struct snp_derived_key_resp *rs = (struct snp_derived_key_resp *)(uintptr_t)io->resp_data;
    if (io->msg_version != 1 || rq->root_key_select != 0 || rq->guest_field_select != 0x9 ||
        rq->vmpl != d->want_vmpl || rq->rsvd != 0) {
        io->fw_error = 0x16; /* INVALID_PARAM */
        errno = EIO;
        return -1;
    }
    uint8_t msg[48 + 8];
    memcpy(msg, d->tmpl + 0x90, 48);
    memcpy(msg + 48, d->tmpl + 8, 8);
    unsigned int ml = 32;
    memset(rs->data, 0, sizeof rs->data);
    HMAC(EVP_sha256(), d->snp_root, 32, msg, sizeof msg, rs->data + 32, &ml);
    return 0;
}

static void tsm_double_init(tsm_double *d, const char *root, int snp, const char *vector) {
    memset(d, 0, sizeof d[0]);
    d->snp = snp;
    d->provider = snp ? "sev_guest" : "tdx_guest";
    d->tmpl = td_vector(vector, &d->tmpl_len);
    d->key = td_keygen(snp ? "P-384" : "P-256");
    d->generation = 7;
    memset(d->snp_root, 0x5a, 32);
    td_mkdirs(root, "/sys/kernel/config/tsm/report");
    td_mkdirs(root, "/dev");
    td_writef(root, snp ? "/dev/sev-guest" : "/dev/tdx_guest", "", 0);
    signal(SIGPIPE, SIG_IGN);
}

static void tsm_double_free(tsm_double *d) {
    free(d->tmpl);
    EVP_PKEY_free(d->key);
}

/* ---- Gramine /dev/attestation double ---- */

typedef struct {
    char root[4096];
    uint8_t *quote; /* template (SGX v3) */
    size_t quote_len;
    EVP_PKEY *key;
    int wrong_report_data; /* answer with other report_data */
    int served;
    volatile int stop;
    pthread_t th;
} sgx_double;

/* Gramine stores user_report_data and makes the quote when it is read: here
 * user_report_data is a plain file and the quote a FIFO whose reader wakes the thread. */
static void *sgx_kernel(void *arg) {
    sgx_double *d = arg;
    char urd[4200], qp[4200];
    snprintf(urd, sizeof urd, "%s/dev/attestation/user_report_data", d->root);
    snprintf(qp, sizeof qp, "%s/dev/attestation/quote", d->root);
    for (;;) {
        int fd = open(qp, O_WRONLY);
        if (fd < 0) return NULL;
        if (d->stop) {
            close(fd);
            return NULL;
        }
        uint8_t rd[64] = {0};
        int rfd = open(urd, O_RDONLY);
        if (rfd >= 0) {
            (void)td_read_fd_all(rfd, rd, sizeof rd);
            close(rfd);
        }
        if (d->wrong_report_data) rd[0] ^= 1;
        uint8_t *q = malloc(d->quote_len);
        memcpy(q, d->quote, d->quote_len);
        td_quote_resign(q, 432, 368, rd, d->key);
        td_write_fd_all(fd, q, d->quote_len);
        /* a fresh FIFO for the next round, so this reader sees EOF after one quote */
        (void)unlink(qp);
        (void)mkfifo(qp, 0600);
        d->served++; /* before close: the reader's EOF comes after it */
        close(fd);
        free(q);
    }
}

/* Build the tree: attestation_type, report (static: from the quote body, report_data zero,
 * DEBUG as asked), keys/_sgx_mrenclave, user_report_data, and the quote FIFO served by a thread. */
static void sgx_double_start(sgx_double *d, const char *root, int debug, const char *att_type) {
    memset(d, 0, sizeof d[0]);
    snprintf(d->root, sizeof d->root, "%s", root);
    d->quote = td_vector("tee/sgx_quote_v3.bin", &d->quote_len);
    if (debug) d->quote[48 + 48] |= 0x02;
    d->key = td_keygen("P-256");
    td_mkdirs(root, "/dev/attestation/keys");
    td_writef(root, "/dev/attestation/attestation_type", att_type, strlen(att_type));
    uint8_t rep[432];
    memset(rep, 0, sizeof rep);
    memcpy(rep, d->quote + 48, 384);
    memset(rep + 320, 0, 64);
    td_writef(root, "/dev/attestation/report", rep, sizeof rep);
    uint8_t k[16];
    for (int i = 0; i < 16; i++) k[i] = (uint8_t)(0xa0 + i);
    td_writef(root, "/dev/attestation/keys/_sgx_mrenclave", k, sizeof k);
    uint8_t z[64] = {0};
    td_writef(root, "/dev/attestation/user_report_data", z, sizeof z);
    td_fifo(root, "/dev/attestation/quote");
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(pthread_create(&d->th, NULL, sgx_kernel, d), 0);
}

static void sgx_double_stop(sgx_double *d) {
    d->stop = 1;
    char p[4200];
    snprintf(p, sizeof p, "%s/dev/attestation/quote", d->root);
    int fd = open(p, O_RDONLY | O_NONBLOCK);
    pthread_join(d->th, NULL);
    if (fd >= 0) close(fd);
    free(d->quote);
    EVP_PKEY_free(d->key);
}

/* HKDF-SHA256 with OpenSSL's EVP_KDF (the independent check of tkm_tee_seal_key's formula). */
static void td_hkdf(uint8_t out[32], const uint8_t *salt, size_t sl, const uint8_t *ikm, size_t il,
                    const uint8_t *info, size_t infol) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *c = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[5];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, sl);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, il);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infol);
    params[4] = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_KDF_derive(c, out, 32, params), 1);
    EVP_KDF_CTX_free(c);
    EVP_KDF_free(kdf);
}

#endif
