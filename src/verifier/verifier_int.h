/*
 * verifier_int.h — private to src/verifier/: helpers shared by the key store,
 * the collateral cache and the service (whole files: core tkm_file.h). Not
 * part of the interface.
 */
#ifndef TKM_VERIFIER_INT_H
#define TKM_VERIFIER_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/core.h"

/* "dir/name" into buf. Returns: OK or TKM_ERR_TOO_LARGE. */
tkm_rc vpath_join(char *buf, size_t cap, const char *dir, const char *name);

/* ---- HTTPS GET (libcurl), vhttp.c ---- */
typedef struct {
    long status;    /* HTTP status */
    uint8_t *body;  /* malloc'd */
    size_t len;
    char *header;   /* value of the first header found among the names asked for (malloc'd, NUL-terminated) */
    size_t header_len;
} vhttp_resp;

/*
 * GET url over HTTPS only (no redirects, TLS >= 1.2, peer and host verified
 * against ca_file or the system store). Any completed HTTP exchange is OK
 * (read out->status); body over max_body is TKM_ERR_TOO_LARGE.
 * Returns: OK; TKM_ERR_NETWORK (connect/TLS/transfer, detail says which);
 * TKM_ERR_TIMEOUT; TKM_ERR_TOO_LARGE; TKM_ERR_NOMEM.
 */
tkm_rc vhttp_get(const char *url, const char *ca_file, unsigned timeout_s, size_t max_body,
                 const char *const *header_names, vhttp_resp *out);
void vhttp_resp_free(vhttp_resp *r);

#endif
