/*
 * tkm_file.h — reading and writing whole small files, safely.
 *
 * Every file teekm reads whole or writes whole goes through here, so that
 * the rules below hold everywhere:
 *
 * Reading (tkm_file_read, tkm_file_read_into, tkm_file_read_secret):
 *  - The last path component is never a symbolic link (O_NOFOLLOW), unless
 *    TKM_FILE_FOLLOW is given; a link is TKM_ERR_PERMISSIONS.
 *  - The opened file must be a regular file (TKM_ERR_FORMAT otherwise),
 *    unless TKM_FILE_STREAM is given.
 *  - Size: never more than the caller's bound is read (TKM_ERR_TOO_LARGE).
 *    A regular file's size is taken from fstat and must still be the same
 *    when the read is done: a file that grows or shrinks meanwhile is
 *    TKM_ERR_IO ("changed while being read"), never half of two versions.
 *  - Permission flags (TKM_FILE_SECRET, TKM_FILE_OWNED, TKM_FILE_MODE_0600)
 *    are checked on the opened file (fstat), not on the name.
 *  - A missing file is TKM_ERR_NOT_FOUND; other open or read failures are
 *    TKM_ERR_IO.
 *
 * Writing (tkm_file_create, tkm_file_replace): crash-safe. The data is
 * written to a new temporary file in the same directory, named
 * "<path>.tmp.<pid>.<counter>" (O_CREAT|O_EXCL|O_NOFOLLOW), which gets its
 * mode (fchmod, so the umask does not matter), all its bytes and an fsync
 * before it is given the final name; the directory is fsynced after. A
 * process killed at any point (SIGKILL, power loss once the fsyncs are
 * done) leaves `path` either as it was (absent, or the old content) or with
 * exactly the new content — never empty or short. At worst a stray
 * "<path>.tmp.<pid>.<n>" file stays behind; nothing in teekm reads such
 * names, and they may be deleted by hand. On an error return the temporary
 * file has been removed.
 *
 * Errors: the detail (tkm_err_detail) names the path, the step and
 * strerror(errno). File contents never appear in a detail, a log or an
 * error: they may be secret.
 *
 * Conventions: all pointers non-NULL (data may be NULL when len is 0);
 * outputs are cleared on entry and set only on success. Thread-safety: every
 * function may be called from any thread; two writers of the same path race
 * only as the file system lets them (create: exactly one wins; replace: the
 * last rename wins, each result complete). Uses only libc (and tkm_secret
 * for tkm_file_read_secret).
 */
#ifndef TKM_FILE_H
#define TKM_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tkm_err.h"
#include "tkm_secret.h"

/* ---- flags for the readers (bitwise or) ---- */
/* Group and others must have no access to the file (mode & 077 == 0), else
 * TKM_ERR_PERMISSIONS with a "chmod 600" hint. For files holding secrets. */
#define TKM_FILE_SECRET 0x01u
/* The file must be owned by the effective user, else TKM_ERR_PERMISSIONS. */
#define TKM_FILE_OWNED 0x02u
/* The permission bits must be exactly 0600 (for formats documented so, such
 * as the sim platform's key file), else TKM_ERR_PERMISSIONS. */
#define TKM_FILE_MODE_0600 0x04u
/* Also FIFOs, character devices and pseudo-files (sysfs, configfs-tsm,
 * Gramine's /dev/attestation) whose fstat size means nothing: read up to
 * end-of-file; more than the bound is TKM_ERR_TOO_LARGE. A directory is
 * still TKM_ERR_FORMAT. The open blocks as open(2) does on a FIFO. */
#define TKM_FILE_STREAM 0x08u
/* Follow a symbolic link in the last component: only for files an operator
 * names (a TLS certificate and key in a certbot tree). Not with
 * TKM_FILE_SECRET / OWNED / MODE_0600 (a caller bug). */
#define TKM_FILE_FOLLOW 0x10u

/*
 * Read a whole file of at most max bytes (max <= SIZE_MAX - 1).
 * Out: *buf — malloc'd, len + 1 bytes with a NUL after the content (so text
 *      may be used as a C string; it may contain NULs itself); caller frees
 *      with free(). The buffer is ordinary heap and is NOT wiped by free():
 *      for key material use tkm_file_read_secret or tkm_file_read_into a
 *      tkm_secret. (On failure every internal buffer is wiped before it is
 *      released.)
 *      *len — the content length (0 for an empty file).
 * Returns: OK; TKM_ERR_NOT_FOUND; TKM_ERR_PERMISSIONS (symlink, or a
 * permission flag not met); TKM_ERR_FORMAT (not a regular file);
 * TKM_ERR_TOO_LARGE; TKM_ERR_IO (open/read failed, changed while read);
 * TKM_ERR_NOMEM.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_file_read(const char *path, size_t max, unsigned flags, uint8_t **buf,
                                             size_t *len) TKM_NONNULL(1, 4, 5);

/*
 * Same, into the caller's buf[0..cap) (for fixed-size and secret contents:
 * pass tkm_secret_mut(s) of a tkm_secret). A file longer than cap is
 * TKM_ERR_TOO_LARGE; a shorter one is read whole and *len says how long —
 * the caller checks an exact length itself. Bytes of buf past *len are
 * unspecified (zero on failure: buf[0..cap) is wiped when an error is
 * returned). Returns: as tkm_file_read. Secret: the bytes go only to buf.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_file_read_into(const char *path, uint8_t *buf, size_t cap, unsigned flags,
                                                  size_t *len) TKM_NONNULL(1, 2, 5);

/*
 * Read a whole file of 1..max bytes (max <= 1 MiB) into a new tkm_secret of
 * exactly the file's length. Out: *out, caller frees with tkm_secret_free.
 * Returns: as tkm_file_read, plus TKM_ERR_TRUNCATED for an empty file and
 * TKM_ERR_MLOCK from the secret arena. Secret: yes (never copied to the
 * ordinary heap).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_file_read_secret(const char *path, size_t max, unsigned flags,
                                                    tkm_secret **out) TKM_NONNULL(1, 4);

/*
 * Create path holding data[0..len) with permission bits mode (<= 07777),
 * atomically and without ever replacing an existing file: the complete
 * temporary file is hard-linked to path (link(2) fails when path exists),
 * then unlinked. When the file system has no hard links (Gramine's file
 * systems, vfat) renameat2(RENAME_NOREPLACE) is used instead, which is as
 * strict. Where neither exists, the fallback is "lstat says absent, then
 * rename": still crash-safe, but a concurrent creator in the window between
 * the two calls could be replaced — callers that can race hold a lock
 * (teekmd's directory lock); a debug log line says when this fallback runs.
 * Returns: OK; TKM_ERR_EXISTS (path exists — nothing was changed);
 * TKM_ERR_NOT_FOUND (the directory does not exist); TKM_ERR_TOO_LARGE (path
 * too long for the temporary name); TKM_ERR_IO.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_file_create(const char *path, mode_t mode, const void *data, size_t len)
    TKM_NONNULL(1);

/*
 * Replace (or create) path with data[0..len) and permission bits mode,
 * atomically: temporary file, fsync, rename(2) over path, fsync of the
 * directory. Readers see the old or the new file, never a mix. A symbolic
 * link at path is replaced by the file, not followed.
 * Returns: OK; TKM_ERR_NOT_FOUND (no such directory); TKM_ERR_TOO_LARGE;
 * TKM_ERR_IO.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_file_replace(const char *path, mode_t mode, const void *data, size_t len)
    TKM_NONNULL(1);

/*
 * fsync the directory that holds path, so that a name created or renamed in
 * it survives a power loss. File systems that cannot sync a directory
 * (EINVAL, EROFS, ENOSYS) are not an error.
 * Returns: OK; TKM_ERR_IO.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_file_sync_dir(const char *path) TKM_NONNULL(1);

/* Test hook: 0 = normal; 1 = behave as if link(2) were not supported;
 * 2 = as if neither link(2) nor renameat2(RENAME_NOREPLACE) were. Not for
 * production. */
TKM_API void tkm_file_set_link_mode_for_testing(int mode);

#endif
