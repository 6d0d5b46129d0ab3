/* The sim platform (docs/sim-evidence.md): evidence signed by a P-256 key in a 0600 file. NOT SECURE. */
#include "tee_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../crypto/tkm_hash.h"

#define SIM_KEY_FILE_MAX 16384

typedef struct {
    EVP_PKEY *pkey;
    tkm_secret *scalar;
    uint8_t pub[65];
} sim_priv;

/* Create the key file atomically (a crash leaves no key file or a complete one). When another
 * process created it first, that key is the one used. */
static tkm_rc sim_create(const char *path) {
    tkm_secret *sk = NULL;
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    char *pem = NULL;
    long n = 0;
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    TKM_CHECK_GOTO(rc, tee_p256_scalar_new(&sk));
    TKM_CHECK_GOTO(rc, tee_p256_pkey(&pkey, sk));
    bio = BIO_new(BIO_s_secmem()); /* wiped when freed */
    if (!bio || !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) ||
        (n = BIO_get_mem_data(bio, &pem)) <= 0) {
        rc = TKM_OSSL_FAIL(TKM_ERR_IO, "write sim key file");
        goto out;
    }
    rc = tkm_file_create(path, 0600, pem, (size_t)n);
    if (rc.code == TKM_ERR_EXISTS) rc = TKM_RC_OK;
    if (tkm_failed(rc)) tkm_err_detail_set("cannot create sim key file: %s", tkm_err_detail());
out:
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    tkm_secret_free(sk);
    return rc;
}

/* Read the key file: regular, not a symlink, owned by us, mode exactly 0600. */
static tkm_rc sim_load(sim_priv *p, const char *path) {
    tkm_secret *pem = NULL;
    BIO *bio = NULL;
    BIGNUM *d = NULL;
    tkm_rc rc = tkm_file_read_secret(path, SIM_KEY_FILE_MAX, TKM_FILE_OWNED | TKM_FILE_MODE_0600, &pem);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("sim key file: %s", tkm_err_detail());
        tkm_err c = rc.code;
        if (c != TKM_ERR_NOT_FOUND && c != TKM_ERR_PERMISSIONS && c != TKM_ERR_NOMEM && c != TKM_ERR_MLOCK)
            rc = TKM_RC(TKM_ERR_TEE_SIM_KEY);
        goto out;
    }
    bio = BIO_new_mem_buf(tkm_secret_ptr(pem), (int)tkm_secret_len(pem));
    if (!bio || !(p->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL))) {
        rc = TKM_OSSL_FAIL(TKM_ERR_TEE_SIM_KEY, "sim key file is not a PEM private key");
        goto out;
    }
    char gbuf[64];
    size_t glen = 0;
    if (!EVP_PKEY_is_a(p->pkey, "EC") ||
        EVP_PKEY_get_utf8_string_param(p->pkey, OSSL_PKEY_PARAM_GROUP_NAME, gbuf, sizeof gbuf, &glen) != 1 ||
        strcmp(gbuf, "prime256v1") != 0) {
        tkm_err_detail_set("sim key file %s: not a P-256 key", path);
        TKM_GOTO(rc, TKM_ERR_TEE_SIM_KEY);
    }
    if (EVP_PKEY_get_bn_param(p->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) {
        rc = TKM_OSSL_FAIL(TKM_ERR_TEE_SIM_KEY, "sim key has no private scalar");
        goto out;
    }
    TKM_CHECK_GOTO(rc, tkm_secret_new(&p->scalar, 32));
    if (BN_bn2binpad(d, tkm_secret_mut(p->scalar), 32) != 32) TKM_GOTO(rc, TKM_ERR_TEE_SIM_KEY);
    TKM_CHECK_GOTO(rc, tee_p256_pub(p->pub, p->pkey));
    rc = TKM_RC_OK;
out:
    BN_clear_free(d);
    BIO_free(bio);
    tkm_secret_free(pem);
    return rc;
}

static tkm_rc sha384_file(uint8_t out[48], const char *path) {
    memset(out, 0, 48);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tkm_err_detail_set("%s: %s", path, strerror(errno));
        TKM_ENSURE(0, TKM_ERR_IO);
    }
    tkm_rc rc = TKM_RC(TKM_ERR_CRYPTO);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || EVP_DigestInit_ex(c, EVP_sha384(), NULL) != 1) goto out;
    uint8_t buf[65536];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) TKM_GOTO(rc, TKM_ERR_IO);
        if (r == 0) break;
        if (EVP_DigestUpdate(c, buf, (size_t)r) != 1) goto out;
    }
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(c, out, &len) != 1 || len != 48) goto out;
    rc = TKM_RC_OK;
out:
    EVP_MD_CTX_free(c);
    close(fd);
    return rc;
}

static tkm_rc sim_sign(uint8_t sig[64], EVP_PKEY *pkey, const uint8_t *msg, size_t len) {
    tkm_rc rc = TKM_RC(TKM_ERR_CRYPTO);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    ECDSA_SIG *es = NULL;
    uint8_t der[80];
    size_t der_len = sizeof der;
    if (!c || EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, pkey) != 1 ||
        EVP_DigestSign(c, der, &der_len, msg, len) != 1) {
        rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "sim evidence signature");
        goto out;
    }
    const unsigned char *p = der;
    es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    const BIGNUM *r = NULL, *s = NULL;
    if (!es) goto out;
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32) goto out;
    rc = TKM_RC_OK;
out:
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(c);
    return rc;
}

static tkm_rc sim_evidence(tkm_tee *t, tkm_tee_evidence *ev, const uint8_t rd[TKM_REPORT_DATA_LEN]) {
    sim_priv *p = t->priv;
    static const uint8_t label[TKM_SIM_LABEL_LEN] = TKM_SIM_LABEL; /* text, then zero bytes */
    tkm_wr w;
    tkm_wr_init(&w, TKM_TEE_SIM_EVIDENCE_LEN);
    tkm_rc rc;
    static const uint8_t zeros[3] = {0};
    int64_t now = tkm_time_unix();
    TKM_CHECK_GOTO(rc, tkm_wr_put(&w, TKM_SIM_MAGIC, 8));
    TKM_CHECK_GOTO(rc, tkm_wr_u32le(&w, 1)); /* format version */
    TKM_CHECK_GOTO(rc, tkm_wr_u32le(&w, TKM_SIM_FLAG_SIMULATED_NOT_SECURE));
    TKM_CHECK_GOTO(rc, tkm_wr_put(&w, label, sizeof label));
    TKM_CHECK_GOTO(rc, tkm_wr_put(&w, t->view.measurement, 48));
    TKM_CHECK_GOTO(rc, tkm_wr_put(&w, rd, TKM_REPORT_DATA_LEN));
    TKM_CHECK_GOTO(rc, tkm_wr_u64le(&w, now > 0 ? (uint64_t)now : 0));
    TKM_CHECK_GOTO(rc, tkm_wr_put(&w, p->pub, 65));
    TKM_CHECK_GOTO(rc, tkm_wr_put(&w, zeros, 3));
    if (w.len != TKM_SIM_SIGNED_LEN) TKM_GOTO(rc, TKM_ERR_INTERNAL);
    uint8_t sig[64];
    TKM_CHECK_GOTO(rc, sim_sign(sig, p->pkey, w.p, w.len));
    TKM_CHECK_GOTO(rc, tkm_wr_put(&w, sig, 64));
    ev->format = TKM_EV_SIM_V1;
    TKM_CHECK_GOTO(rc, tkm_wr_take(&w, &ev->bytes, &ev->len));
out:
    tkm_wr_free(&w);
    return rc;
}

static tkm_rc sim_root_key(tkm_tee *t, tkm_secret **k) {
    sim_priv *p = t->priv;
    return tkm_secret_from(k, tkm_secret_ptr(p->scalar), 32);
}

static void sim_close(tkm_tee *t) {
    sim_priv *p = t->priv;
    if (!p) return;
    EVP_PKEY_free(p->pkey);
    tkm_secret_free(p->scalar);
    free(p);
    t->priv = NULL;
}

static const tee_backend sim_backend = {sim_evidence, sim_root_key, sim_close};

tkm_rc tee_sim_open(tkm_tee *t) {
    tkm_log(TKM_LOG_WARN, "tee",
            "SIMULATED TEE \xe2\x80\x94 NOT SECURE: no hardware isolation, evidence signed by a key in "
            "an ordinary file; never use with real keys");
    if (!t->sim_key_file) {
        tkm_err_detail_set("the sim platform needs a key file (--sim-key FILE)");
        TKM_ENSURE(0, TKM_ERR_TEE_SIM_KEY);
    }
    if (t->sim_create_key && !tee_exists(t->sim_key_file)) TKM_TRY(sim_create(t->sim_key_file));
    sim_priv *p = calloc(1, sizeof *p);
    TKM_ENSURE(p != NULL, TKM_ERR_NOMEM);
    t->priv = p;
    t->be = &sim_backend;
    TKM_TRY(sim_load(p, t->sim_key_file)); /* tkm_tee_open closes t on failure */
    char exe[PATH_MAX];
    TKM_TRY(tee_path(t, exe, sizeof exe, "/proc/self/exe"));
    TKM_TRY(sha384_file(t->view.measurement, exe));
    t->view.measurement_len = 48;
    t->view.platform = TKM_TEE_KIND_SIM;
    memcpy(t->view.sim_signer, p->pub, 65);
    return TKM_RC_OK;
}
