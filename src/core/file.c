/* see tkm_file.h */
#include "tkm_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tkm_log.h"

/* room for "<path>.tmp.<pid>.<counter>" */
#define TMP_CAP (PATH_MAX + 48)
/* first buffer of a TKM_FILE_STREAM read; it doubles up to the bound */
#define STREAM_FIRST 4096

static int link_mode;       /* tkm_file_set_link_mode_for_testing */
static unsigned long tmp_seq; /* makes temporary names unique within the process */

void tkm_file_set_link_mode_for_testing(int mode) { __atomic_store_n(&link_mode, mode, __ATOMIC_RELAXED); }

/* Record "<what> <path>: <strerror(e)>" and fail with code (at the caller's line). */
static tkm_rc sys_fail_at(tkm_err code, const char *what, const char *path, int e, int line) {
    tkm_err_detail_set("%s %s: %s", what, path, strerror(e));
    tkm_err_record_where_(__FILE__, line);
    return TKM_RC(code);
}
#define SYS_FAIL(code, what, path, e) sys_fail_at((code), (what), (path), (e), __LINE__)

/* ---- reading ---- */

static tkm_rc open_checked(const char *path, unsigned flags, int *fdp, struct stat *st) {
    *fdp = -1;
    /* O_NONBLOCK unless a stream is wanted: a FIFO planted where a file belongs must not hang us
     * (it is refused below); regular files ignore the flag. */
    int of = O_RDONLY | O_CLOEXEC | O_NOCTTY;
    if (!(flags & TKM_FILE_FOLLOW)) of |= O_NOFOLLOW;
    if (!(flags & TKM_FILE_STREAM)) of |= O_NONBLOCK;
    int fd;
    do {
        fd = open(path, of);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT) return SYS_FAIL(TKM_ERR_NOT_FOUND, "cannot open", path, e);
        if (e == ELOOP && !(flags & TKM_FILE_FOLLOW)) {
            tkm_err_detail_set("%s is a symbolic link: refused (name the file itself)", path);
            TKM_ENSURE(0, TKM_ERR_PERMISSIONS);
        }
        return SYS_FAIL(TKM_ERR_IO, "cannot open", path, e);
    }
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    if (fstat(fd, st) != 0) {
        rc = SYS_FAIL(TKM_ERR_IO, "cannot stat", path, errno);
        goto out;
    }
    if (S_ISDIR(st->st_mode) || (!(flags & TKM_FILE_STREAM) && !S_ISREG(st->st_mode))) {
        tkm_err_detail_set("%s is not a regular file", path);
        TKM_GOTO(rc, TKM_ERR_FORMAT);
    }
    unsigned mode = (unsigned)(st->st_mode & 07777);
    if ((flags & TKM_FILE_OWNED) && st->st_uid != geteuid()) {
        tkm_err_detail_set("%s is owned by uid %u: it must be owned by uid %u, the user running teekm", path,
                           (unsigned)st->st_uid, (unsigned)geteuid());
        TKM_GOTO(rc, TKM_ERR_PERMISSIONS);
    }
    if ((flags & TKM_FILE_MODE_0600) && mode != 0600) {
        tkm_err_detail_set("%s has mode %04o: it must be exactly 0600 (chmod 600)", path, mode);
        TKM_GOTO(rc, TKM_ERR_PERMISSIONS);
    }
    if ((flags & TKM_FILE_SECRET) && (mode & 077) != 0) {
        tkm_err_detail_set("%s has mode %04o: group and others must have no access (chmod 600)", path, mode);
        TKM_GOTO(rc, TKM_ERR_PERMISSIONS);
    }
    *fdp = fd;
    fd = -1;
    rc = TKM_RC_OK;
out:
    if (fd >= 0) close(fd);
    return rc;
}

/* Read until dst[0..cap) is full or end-of-file. Out: *n bytes read. */
static tkm_rc fill(int fd, const char *path, uint8_t *dst, size_t cap, size_t *n) {
    *n = 0;
    while (*n < cap) {
        ssize_t r = read(fd, dst + *n, cap - *n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return SYS_FAIL(TKM_ERR_IO, "cannot read", path, errno);
        if (r == 0) break;
        *n += (size_t)r;
    }
    return TKM_RC_OK;
}

/* Out: *eof = 1 when nothing follows (one byte is tried; it is wiped, it may be secret). */
static tkm_rc at_eof(int fd, const char *path, int *eof) {
    uint8_t extra = 0;
    ssize_t r;
    do {
        r = read(fd, &extra, 1);
    } while (r < 0 && errno == EINTR);
    tkm_wipe(&extra, 1);
    if (r < 0) return SYS_FAIL(TKM_ERR_IO, "cannot read", path, errno);
    *eof = r == 0;
    return TKM_RC_OK;
}

static tkm_rc too_large(const char *path, size_t max) {
    tkm_err_detail_set("%s is larger than %zu bytes", path, max);
    TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
}

/*
 * Read the opened file into dst[0..cap). Regular (not STREAM): exactly
 * st_size bytes, which must fit in cap, and nothing after them. STREAM: up
 * to end-of-file, which must come within cap bytes.
 */
static tkm_rc read_body(int fd, const char *path, const struct stat *st, unsigned flags, uint8_t *dst, size_t cap,
                        size_t *n) {
    *n = 0;
    int eof = 0;
    if (flags & TKM_FILE_STREAM) {
        TKM_TRY(fill(fd, path, dst, cap, n));
        if (*n == cap) TKM_TRY(at_eof(fd, path, &eof));
        if (*n == cap && !eof) return too_large(path, cap);
        return TKM_RC_OK;
    }
    if ((uint64_t)st->st_size > (uint64_t)cap) return too_large(path, cap);
    size_t want = (size_t)st->st_size;
    TKM_TRY(fill(fd, path, dst, want, n));
    if (*n == want) TKM_TRY(at_eof(fd, path, &eof));
    if (*n != want || !eof) {
        tkm_err_detail_set("%s changed while being read", path);
        TKM_ENSURE(0, TKM_ERR_IO);
    }
    return TKM_RC_OK;
}

/* Release a heap buffer that held file bytes: wiped first. */
static void wipe_free(uint8_t *b, size_t n) {
    if (!b) return;
    tkm_wipe(b, n);
    free(b);
}

/* STREAM reads into a heap buffer that doubles up to max (+1 for the NUL). */
static tkm_rc read_stream_heap(int fd, const char *path, size_t max, uint8_t **out, size_t *len) {
    size_t cap = max < STREAM_FIRST ? max : STREAM_FIRST;
    size_t n = 0;
    uint8_t *b = malloc(cap + 1);
    TKM_ENSURE(b != NULL, TKM_ERR_NOMEM);
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    for (;;) {
        size_t got = 0;
        TKM_CHECK_GOTO(rc, fill(fd, path, b + n, cap - n, &got));
        n += got;
        if (n < cap) break; /* end-of-file */
        if (cap == max) {
            int eof = 0;
            TKM_CHECK_GOTO(rc, at_eof(fd, path, &eof));
            if (!eof) TKM_CHECK_GOTO(rc, too_large(path, max));
            break;
        }
        size_t ncap = cap > max / 2 ? max : cap * 2;
        uint8_t *nb = malloc(ncap + 1);
        if (!nb) TKM_GOTO(rc, TKM_ERR_NOMEM);
        memcpy(nb, b, n);
        wipe_free(b, n); /* no realloc: it would leave the old bytes behind unwiped */
        b = nb;
        cap = ncap;
    }
    b[n] = 0;
    *out = b;
    *len = n;
    b = NULL;
    rc = TKM_RC_OK;
out:
    wipe_free(b, cap + 1);
    return rc;
}

tkm_rc tkm_file_read(const char *path, size_t max, unsigned flags, uint8_t **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    TKM_ARG_CHECK(max < SIZE_MAX);
    TKM_ARG_CHECK(!(flags & TKM_FILE_FOLLOW) || !(flags & (TKM_FILE_SECRET | TKM_FILE_OWNED | TKM_FILE_MODE_0600)));
    int fd = -1;
    struct stat st;
    TKM_TRY(open_checked(path, flags, &fd, &st));
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    uint8_t *b = NULL;
    size_t bcap = 0, n = 0;
    if (flags & TKM_FILE_STREAM) {
        rc = read_stream_heap(fd, path, max, buf, len);
        goto out;
    }
    if ((uint64_t)st.st_size > (uint64_t)max) TKM_CHECK_GOTO(rc, too_large(path, max));
    bcap = (size_t)st.st_size + 1;
    if (!(b = malloc(bcap))) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, read_body(fd, path, &st, flags, b, bcap - 1, &n));
    b[n] = 0;
    *buf = b;
    *len = n;
    b = NULL;
    rc = TKM_RC_OK;
out:
    wipe_free(b, bcap);
    close(fd);
    return rc;
}

tkm_rc tkm_file_read_into(const char *path, uint8_t *buf, size_t cap, unsigned flags, size_t *len) {
    *len = 0;
    TKM_ARG_CHECK(!(flags & TKM_FILE_FOLLOW) || !(flags & (TKM_FILE_SECRET | TKM_FILE_OWNED | TKM_FILE_MODE_0600)));
    int fd = -1;
    struct stat st;
    tkm_rc rc = open_checked(path, flags, &fd, &st);
    size_t n = 0;
    if (tkm_ok(rc)) {
        rc = read_body(fd, path, &st, flags, buf, cap, &n);
        close(fd);
    }
    if (tkm_failed(rc)) {
        tkm_wipe(buf, cap);
        return rc;
    }
    *len = n;
    return TKM_RC_OK;
}

tkm_rc tkm_file_read_secret(const char *path, size_t max, unsigned flags, tkm_secret **out) {
    *out = NULL;
    TKM_ARG_CHECK(max >= 1 && max <= ((size_t)1 << 20));
    TKM_ARG_CHECK(!(flags & TKM_FILE_FOLLOW) || !(flags & (TKM_FILE_SECRET | TKM_FILE_OWNED | TKM_FILE_MODE_0600)));
    int fd = -1;
    struct stat st;
    TKM_TRY(open_checked(path, flags, &fd, &st));
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    tkm_secret *s = NULL, *whole = NULL;
    size_t n = 0;
    /* a stream's length is known only at its end: read into max bytes, then copy out exactly */
    size_t cap = (flags & TKM_FILE_STREAM) ? max : (size_t)st.st_size;
    if (!(flags & TKM_FILE_STREAM) && (uint64_t)st.st_size > (uint64_t)max) TKM_CHECK_GOTO(rc, too_large(path, max));
    if (cap > 0) {
        TKM_CHECK_GOTO(rc, tkm_secret_new(&s, cap));
        TKM_CHECK_GOTO(rc, read_body(fd, path, &st, flags, tkm_secret_mut(s), cap, &n));
    }
    if (n == 0) {
        tkm_err_detail_set("%s is empty", path);
        TKM_GOTO(rc, TKM_ERR_TRUNCATED);
    }
    if (n == cap) {
        whole = s;
        s = NULL;
    } else {
        TKM_CHECK_GOTO(rc, tkm_secret_from(&whole, tkm_secret_ptr(s), n));
    }
    *out = whole;
    rc = TKM_RC_OK;
out:
    tkm_secret_free(s);
    close(fd);
    return rc;
}

/* ---- writing ---- */

static int write_all(int fd, const uint8_t *p, size_t len) {
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/*
 * Write a complete, fsynced file with mode under a fresh temporary name next
 * to path. Out: tmp (its name). On failure nothing is left behind.
 */
static tkm_rc write_tmp(char tmp[static TMP_CAP], const char *path, mode_t mode, const uint8_t *data, size_t len) {
    TKM_ARG_CHECK((mode & ~(mode_t)07777) == 0);
    TKM_ARG_CHECK(data != NULL || len == 0);
    int fd = -1;
    for (int tries = 0;; tries++) {
        unsigned long seq = __atomic_fetch_add(&tmp_seq, 1, __ATOMIC_RELAXED);
        int k = snprintf(tmp, TMP_CAP, "%s.tmp.%ld.%lu", path, (long)getpid(), seq);
        if (k < 0 || (size_t)k >= TMP_CAP) {
            tkm_err_detail_set("path too long: %s", path);
            TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
        }
        /* 0600 until the content is complete; the asked mode comes from fchmod (no umask) */
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) break;
        int e = errno;
        /* a stray temporary file of a killed process that had our pid: take the next number */
        if ((e == EEXIST || e == EINTR) && tries < 64) continue;
        return SYS_FAIL(e == ENOENT ? TKM_ERR_NOT_FOUND : TKM_ERR_IO, "cannot create", tmp, e);
    }
    const char *step = NULL;
    if (fchmod(fd, mode) != 0)
        step = "cannot chmod";
    else if (write_all(fd, data, len) != 0)
        step = "cannot write";
    else if (fsync(fd) != 0)
        step = "cannot fsync";
    int e = step ? errno : 0;
    if (close(fd) != 0 && !step) {
        step = "cannot close";
        e = errno;
    }
    if (step) {
        (void)unlink(tmp);
        return SYS_FAIL(TKM_ERR_IO, step, tmp, e);
    }
    return TKM_RC_OK;
}

tkm_rc tkm_file_sync_dir(const char *path) {
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        memcpy(dir, ".", 2);
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir) {
            tkm_err_detail_set("path too long: %s", path);
            TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
        }
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    int fd;
    do {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return SYS_FAIL(TKM_ERR_IO, "cannot open directory", dir, errno);
    int r = fsync(fd);
    int e = errno;
    close(fd);
    /* some file systems cannot sync a directory: nothing more can be done there */
    if (r != 0 && e != EINVAL && e != EROFS && e != ENOSYS && e != EBADF)
        return SYS_FAIL(TKM_ERR_IO, "cannot fsync directory", dir, e);
    return TKM_RC_OK;
}

static tkm_rc exists_fail(const char *path) {
    tkm_err_detail_set("%s already exists", path);
    TKM_ENSURE(0, TKM_ERR_EXISTS);
}

/* Give tmp the name path unless path exists. tmp is gone afterwards (renamed, or removed). */
static tkm_rc publish_noreplace(const char *tmp, const char *path) {
    int how = __atomic_load_n(&link_mode, __ATOMIC_RELAXED);
    int e = 0;
    if (how < 1) {
        if (link(tmp, path) == 0) {
            (void)unlink(tmp);
            return TKM_RC_OK;
        }
        e = errno;
        if (e == EEXIST) goto exists;
        /* no hard links on this file system */
        if (e != EPERM && e != ENOSYS && e != EOPNOTSUPP) goto fail;
    }
    if (how < 2) {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) return TKM_RC_OK;
        e = errno;
        if (e == EEXIST) goto exists;
        if (e != EINVAL && e != ENOSYS && e != EOPNOTSUPP) goto fail;
    }
    tkm_log(TKM_LOG_DEBUG, "file", "%s: no hard links or RENAME_NOREPLACE here; creating by lstat then rename", path);
    struct stat st;
    if (lstat(path, &st) == 0) goto exists;
    if (errno != ENOENT) {
        e = errno;
        goto fail;
    }
    if (rename(tmp, path) == 0) return TKM_RC_OK;
    e = errno;
fail:
    (void)unlink(tmp);
    return SYS_FAIL(TKM_ERR_IO, "cannot create", path, e);
exists:
    (void)unlink(tmp);
    return exists_fail(path);
}

tkm_rc tkm_file_create(const char *path, mode_t mode, const void *data, size_t len) {
    char tmp[TMP_CAP];
    TKM_TRY(write_tmp(tmp, path, mode, data, len));
    TKM_TRY(publish_noreplace(tmp, path));
    return tkm_file_sync_dir(path);
}

tkm_rc tkm_file_replace(const char *path, mode_t mode, const void *data, size_t len) {
    char tmp[TMP_CAP];
    TKM_TRY(write_tmp(tmp, path, mode, data, len));
    if (rename(tmp, path) != 0) {
        int e = errno;
        (void)unlink(tmp);
        return SYS_FAIL(TKM_ERR_IO, "cannot rename a new file over", path, e);
    }
    return tkm_file_sync_dir(path);
}
