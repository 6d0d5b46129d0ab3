/* The sgx platform: Gramine's /dev/attestation pseudo-files (DCAP). */
#include "tee_internal.h"

#include <stdlib.h>
#include <string.h>

#define SGX_QUOTE_MIN 436 /* header + body + signature length */
#define SGX_MRENCLAVE_KEY_LEN 16 /* Gramine's keys are 128-bit */

static tkm_rc sgx_evidence(tkm_tee *t, tkm_tee_evidence *ev, const uint8_t rd[TKM_REPORT_DATA_LEN]) {
    char p[PATH_MAX];
    TKM_TRY(tee_path(t, p, sizeof p, "/dev/attestation/user_report_data"));
    TKM_TRY(tee_write_file(p, rd, TKM_REPORT_DATA_LEN));
    TKM_TRY(tee_path(t, p, sizeof p, "/dev/attestation/quote"));
    uint8_t *q = NULL;
    size_t n = 0;
    tkm_rc rc = tkm_file_read(p, TKM_EV_MAX_BYTES, TKM_FILE_STREAM, &q, &n);
    if (rc.code == TKM_ERR_TOO_LARGE) {
        tkm_err_detail_set("SGX quote larger than %zu bytes", TKM_EV_MAX_BYTES);
        TKM_ENSURE(0, TKM_ERR_TEE_EVIDENCE);
    }
    TKM_TRY(rc);
    if (n < SGX_QUOTE_MIN) {
        free(q);
        tkm_err_detail_set("SGX quote of %zu bytes is too short", n);
        TKM_ENSURE(0, TKM_ERR_TEE_EVIDENCE);
    }
    ev->format = TKM_EV_SGX_QUOTE;
    ev->bytes = q;
    ev->len = n;
    return TKM_RC_OK;
}

static tkm_rc sgx_root_key(tkm_tee *t, tkm_secret **k) {
    *k = NULL;
    char p[PATH_MAX];
    TKM_TRY(tee_path(t, p, sizeof p, "/dev/attestation/keys/_sgx_mrenclave"));
    tkm_secret *s = NULL;
    TKM_TRY(tkm_secret_new(&s, SGX_MRENCLAVE_KEY_LEN));
    size_t n = 0;
    tkm_rc rc = tkm_file_read_into(p, tkm_secret_mut(s), SGX_MRENCLAVE_KEY_LEN, TKM_FILE_STREAM, &n);
    if (tkm_ok(rc) && n != SGX_MRENCLAVE_KEY_LEN) {
        tkm_err_detail_set("_sgx_mrenclave key is %zu bytes, expected %d", n, SGX_MRENCLAVE_KEY_LEN);
        rc = TKM_RC(TKM_ERR_TEE_SEAL);
    }
    if (tkm_failed(rc)) {
        tkm_secret_free(s);
        return rc.code == TKM_ERR_TOO_LARGE ? TKM_RC(TKM_ERR_TEE_SEAL) : rc;
    }
    *k = s;
    return TKM_RC_OK;
}

static const tee_backend sgx_backend = {sgx_evidence, sgx_root_key, NULL};

tkm_rc tee_sgx_open(tkm_tee *t) {
    t->be = &sgx_backend;
    char p[PATH_MAX];
    uint8_t type[16];
    size_t n = 0;
    TKM_TRY(tee_path(t, p, sizeof p, "/dev/attestation/attestation_type"));
    TKM_TRY(tkm_file_read_into(p, type, sizeof type, TKM_FILE_STREAM, &n));
    if (n > 0 && type[n - 1] == '\n') n--;
    if (!(n == 4 && memcmp(type, "dcap", 4) == 0)) {
        tkm_err_detail_set("Gramine attestation type is '%.*s'; teekm needs sgx.remote_attestation = \"dcap\"",
                           (int)n, (const char *)type);
        TKM_ENSURE(0, TKM_ERR_TEE_PROVIDER);
    }
    /* The local REPORT tells MRENCLAVE and the DEBUG attribute without a quote round trip. */
    static const uint8_t zero[TKM_REPORT_DATA_LEN] = {0};
    TKM_TRY(tee_path(t, p, sizeof p, "/dev/attestation/user_report_data"));
    TKM_TRY(tee_write_file(p, zero, sizeof zero));
    uint8_t rep[TKM_TEE_SGX_REPORT_LEN + 1];
    TKM_TRY(tee_path(t, p, sizeof p, "/dev/attestation/report"));
    tkm_rc rc = tkm_file_read_into(p, rep, sizeof rep, TKM_FILE_STREAM, &n);
    if (tkm_ok(rc)) rc = tkm_ev_inspect_sgx_report(&t->view, rep, n);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("/dev/attestation/report: not an SGX report (%zu bytes)", n);
        TKM_ENSURE(0, TKM_ERR_TEE_EVIDENCE);
    }
    if (memcmp(t->view.report_data, zero, sizeof zero) != 0) {
        tkm_err_detail_set("SGX report carries other report_data than written");
        TKM_ENSURE(0, TKM_ERR_TEE_RACE);
    }
    memset(t->view.report_data, 0, sizeof t->view.report_data);
    return TKM_RC_OK;
}
