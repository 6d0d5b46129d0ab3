/*
 * verifier_int.h — private to src/verifier/: file helpers shared by the key
 * store, the collateral cache and the service. Not part of the interface.
 */
#ifndef TKM_VERIFIER_INT_H
#define TKM_VERIFIER_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/core.h"

/*
 * Read a whole regular file (O_NOFOLLOW) of at most max bytes. With
 * secret_mode, group/other permission bits are refused (TKM_ERR_PERMISSIONS).
 * Out: *out (malloc'd, caller frees; wipe first when secret), *len.
 */
tkm_rc vfile_read(const char *path, size_t max, int secret_mode, uint8_t **out, size_t *len);
/* Create path exclusively (O_EXCL|O_NOFOLLOW) with mode, write, fsync. TKM_ERR_EXISTS when present. */
tkm_rc vfile_create(const char *path, mode_t mode, const void *data, size_t len);
/* Replace path atomically: write path.tmp.<pid>, fsync, rename, fsync the directory. */
tkm_rc vfile_replace(const char *path, mode_t mode, const void *data, size_t len);
/* "dir/name" into buf. Returns: OK or TKM_ERR_TOO_LARGE. */
tkm_rc vpath_join(char *buf, size_t cap, const char *dir, const char *name);

#endif
