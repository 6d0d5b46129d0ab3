/* tee_internal.h — private to src/tee: the backend table and pseudo-file helpers. */
#ifndef TKM_TEE_INTERNAL_H
#define TKM_TEE_INTERNAL_H

#include <limits.h>
#include <pthread.h>

#include "tkm_tee.h"

typedef struct {
    /* Produce raw evidence for rd (the common layer inspects and checks it). */
    tkm_rc (*evidence)(tkm_tee *t, tkm_tee_evidence *ev, const uint8_t rd[TKM_REPORT_DATA_LEN]);
    /* The platform root key that seal keys are derived from (NO_SEAL_KEY when none). */
    tkm_rc (*root_key)(tkm_tee *t, tkm_secret **k);
    /* Release backend state (priv). */
    void (*close)(tkm_tee *t);
} tee_backend;

struct tkm_tee {
    tkm_tee_kind kind;
    const tee_backend *be;
    char root[PATH_MAX];
    char *sim_key_file;
    int sim_create_key;
    int allow_debug;
    uint32_t snp_vmpl;
    tkm_tee_sys sys;
    tkm_tee_hwrng_fn hwrng;
    pthread_mutex_t lock;
    tkm_ev_view view; /* from the sample taken at open */
    void *priv;
};

/* Backend constructors: fill t->be / t->priv and t->view; called with t->lock unheld. */
tkm_rc tee_sim_open(tkm_tee *t);
tkm_rc tee_sgx_open(tkm_tee *t);
tkm_rc tee_tdx_open(tkm_tee *t);
tkm_rc tee_snp_open(tkm_tee *t);

/* Take evidence through the backend and check it (format, report data, measurement). */
tkm_rc tee_evidence_checked(tkm_tee *t, tkm_tee_evidence *ev, tkm_ev_view *v,
                            const uint8_t rd[TKM_REPORT_DATA_LEN]);

/* root + rel (rel starts with '/'). Returns OK or TKM_ERR_TOO_LARGE. */
tkm_rc tee_path(const tkm_tee *t, char *out, size_t cap, const char *rel);
/* (Whole pseudo-files are read with core tkm_file_read / tkm_file_read_into and TKM_FILE_STREAM.) */
/* Open an existing file for writing (no create, no truncate) and write all of data. */
tkm_rc tee_write_file(const char *path, const uint8_t *data, size_t len);
/* Read a small text file holding one decimal number (trailing newline allowed). */
tkm_rc tee_read_u64(const char *path, uint64_t *v);
/* Returns 1 when path exists (any type). */
int tee_exists(const char *path);

/* configfs-tsm: one report for inblob; provider must equal want_provider. */
tkm_rc tee_tsm_report(tkm_tee *t, const char *want_provider, const uint8_t rd[TKM_REPORT_DATA_LEN],
                      size_t min_len, size_t max_len, uint8_t **out, size_t *out_len, uint8_t **aux,
                      size_t *aux_len);

/* P-256 helpers shared by sim and RA-TLS (OpenSSL; defined in p256.c). */
#include <openssl/evp.h>

#include "../crypto/tkm_ossl.h" /* TKM_OSSL_FAIL: OpenSSL errors into tkm_err */
/* Out: *sk (32-byte scalar, 0 < sk < n, from the entropy source). */
tkm_rc tee_p256_scalar_new(tkm_secret **sk);
/* Out: *pkey built from the scalar (private key lives in OpenSSL's secure heap). */
tkm_rc tee_p256_pkey(EVP_PKEY **pkey, const tkm_secret *sk);
/* Out: pub = 0x04‖X‖Y of pkey. */
tkm_rc tee_p256_pub(uint8_t pub[65], EVP_PKEY *pkey);
/* Out: DER SubjectPublicKeyInfo (malloc'd). */
tkm_rc tee_spki(uint8_t **der, size_t *len, EVP_PKEY *pkey);

#endif
