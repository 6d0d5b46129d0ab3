/* see verifier_int.h */
#include "verifier_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

tkm_rc vpath_join(char *buf, size_t cap, const char *dir, const char *name) {
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        tkm_err_detail_set("path too long: %s/%s", dir, name);
        TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    }
    return TKM_RC_OK;
}

tkm_rc vfile_read(const char *path, size_t max, int secret_mode, uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    tkm_rc rc = TKM_RC(TKM_ERR_INTERNAL);
    uint8_t *buf = NULL;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        tkm_err_detail_set("cannot open %s: %s", path, strerror(errno));
        TKM_GOTO(rc, errno == ENOENT ? TKM_ERR_NOT_FOUND : errno == ELOOP ? TKM_ERR_PERMISSIONS : TKM_ERR_IO);
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        tkm_err_detail_set("%s is not a regular file", path);
        TKM_GOTO(rc, TKM_ERR_PERMISSIONS);
    }
    if (secret_mode && (st.st_mode & (S_IRWXG | S_IRWXO))) {
        tkm_err_detail_set("%s has mode %04o: group and others must have no access (chmod 600)", path,
                           (unsigned)(st.st_mode & 07777));
        TKM_GOTO(rc, TKM_ERR_PERMISSIONS);
    }
    if ((uint64_t)st.st_size > max) {
        tkm_err_detail_set("%s is larger than %zu bytes", path, max);
        TKM_GOTO(rc, TKM_ERR_TOO_LARGE);
    }
    /* one spare byte so that a file that grew meanwhile is noticed */
    size_t cap = (size_t)st.st_size + 1;
    if (!(buf = malloc(cap))) TKM_GOTO(rc, TKM_ERR_NOMEM);
    for (;;) {
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            tkm_err_detail_set("cannot read %s: %s", path, strerror(errno));
            TKM_GOTO(rc, TKM_ERR_IO);
        }
        if (got == 0) break;
        n += (size_t)got;
        if (n == cap) {
            tkm_err_detail_set("%s changed while being read", path);
            TKM_GOTO(rc, TKM_ERR_IO);
        }
    }
    *out = buf;
    *len = n;
    buf = NULL;
    rc = TKM_RC_OK;
out:
    if (buf) {
        tkm_wipe(buf, n);
        free(buf);
    }
    if (fd >= 0) close(fd);
    return rc;
}

static tkm_rc write_all(int fd, const char *path, const void *data, size_t len) {
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            tkm_err_detail_set("cannot write %s: %s", path, strerror(errno));
            TKM_ENSURE(0, TKM_ERR_IO);
        }
        p += w;
        len -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        tkm_err_detail_set("cannot fsync %s: %s", path, strerror(errno));
        TKM_ENSURE(0, TKM_ERR_IO);
    }
    return TKM_RC_OK;
}

static void fsync_dir_of(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    int dfd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
}

tkm_rc vfile_create(const char *path, mode_t mode, const void *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        tkm_err_detail_set("cannot create %s: %s", path, strerror(errno));
        TKM_ENSURE(0, errno == EEXIST ? TKM_ERR_EXISTS : TKM_ERR_IO);
    }
    tkm_rc rc = TKM_RC_OK;
    if (fchmod(fd, mode) != 0) rc = TKM_RC(TKM_ERR_IO);
    if (tkm_ok(rc)) rc = write_all(fd, path, data, len);
    close(fd);
    if (tkm_failed(rc)) {
        unlink(path);
        return rc;
    }
    fsync_dir_of(path);
    return TKM_RC_OK;
}

tkm_rc vfile_replace(const char *path, mode_t mode, const void *data, size_t len) {
    static unsigned long counter;
    char tmp[4096];
    unsigned long c = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lu", path, (long)getpid(), c);
    if (n < 0 || (size_t)n >= sizeof tmp) TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    unlink(tmp);
    TKM_TRY(vfile_create(tmp, mode, data, len));
    if (rename(tmp, path) != 0) {
        tkm_err_detail_set("cannot rename %s: %s", tmp, strerror(errno));
        unlink(tmp);
        TKM_ENSURE(0, TKM_ERR_IO);
    }
    fsync_dir_of(path);
    return TKM_RC_OK;
}
