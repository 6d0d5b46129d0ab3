/*
 * api_int.h — private to the api module: small file and X.509 helpers shared
 * by the instance (data directory) and the signer service.
 */
#ifndef TKM_API_INT_H
#define TKM_API_INT_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

/*
 * Write path atomically: a temporary file in the same directory (mode),
 * fsync, rename over path, fsync of the directory. Returns: OK or TKM_ERR_IO
 * (detail names the path).
 */
tkm_rc api_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* Create path exclusively (O_EXCL, mode), write, fsync. TKM_ERR_EXISTS when it exists. */
tkm_rc api_write_file_new(const char *path, const void *data, size_t len, unsigned mode);
/* Read a whole regular file of at most max bytes. Out: *out (malloc'd, NUL-terminated), *len. */
tkm_rc api_read_file(const char *path, size_t max, uint8_t **out, size_t *len);

/*
 * A local client CA and the operator's client certificate (ECDSA P-256):
 * CA certificate to ca_path (0644), operator certificate to cert_path (0644)
 * and its private key to key_path (0600, unencrypted PEM: it is the
 * operator's credential, handed out in clear). The CA's private key is wiped
 * after signing: further client certificates come from the operator's own
 * CA (teekmd --client-ca). Out: the operator certificate's SHA-256
 * fingerprint (of its DER) and RFC 2253 subject.
 */
tkm_rc api_pki_create(const char *ca_path, const char *cert_path, const char *key_path, const char *ca_cn,
                      const char *client_cn, uint8_t fpr[32], char *subject, size_t subject_cap);

/* PEM of a DER certificate. Out: *pem (malloc'd, NUL-terminated), *len. */
tkm_rc api_der_to_pem(const uint8_t *der, size_t der_len, char **pem, size_t *len);

#endif
