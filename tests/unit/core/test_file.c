/*
 * Whole-file reads and crash-safe writes (tkm_file.h): round trips, bounds,
 * symlinks, file types, permission rules, no-clobber creation, and writers
 * SIGKILLed at random points that must leave either the old or the complete
 * new file, never a partial one.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[256];

static const char *p(const char *name) {
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static void put(const char *path, const void *data, size_t len, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void rmrf(const char *d) {
    DIR *dh = opendir(d);
    if (!dh) return;
    struct dirent *e;
    char q[1024];
    while ((e = readdir(dh)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(q, sizeof q, "%s/%s", d, e->d_name);
        struct stat st;
        if (lstat(q, &st) == 0 && S_ISDIR(st.st_mode))
            rmrf(q);
        else
            unlink(q);
    }
    closedir(dh);
    rmdir(d);
}

/* Number of names in dir containing needle. */
static int count_names(const char *needle) {
    DIR *dh = opendir(dir);
    assert_non_null(dh);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) n += strstr(e->d_name, needle) != NULL;
    closedir(dh);
    return n;
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tkm_file_XXXXXX");
    assert_non_null(mkdtemp(dir));
    tkm_file_set_link_mode_for_testing(0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tkm_file_set_link_mode_for_testing(0);
    rmrf(dir);
    return 0;
}

static void test_round_trip(void **state) {
    (void)state;
    static const char msg[] = "hello, file\n";
    mode_t old = umask(077); /* the asked mode wins over the umask */
    TU_ASSERT_OK(tkm_file_create(p("a"), 0644, msg, sizeof msg - 1));
    umask(old);
    struct stat st;
    assert_int_equal(stat(p("a"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    uint8_t *b = NULL;
    size_t n = 0;
    TU_ASSERT_OK(tkm_file_read(p("a"), 100, 0, &b, &n));
    assert_int_equal(n, sizeof msg - 1);
    assert_memory_equal(b, msg, n);
    assert_int_equal(b[n], 0); /* NUL after the content */
    free(b);
    /* exactly max bytes is fine, one less is too large */
    TU_ASSERT_OK(tkm_file_read(p("a"), sizeof msg - 1, 0, &b, &n));
    free(b);
    TU_ASSERT_RC(tkm_file_read(p("a"), sizeof msg - 2, 0, &b, &n), TKM_ERR_TOO_LARGE);
    assert_null(b);
    assert_int_equal(n, 0);
    assert_non_null(strstr(tkm_err_detail(), p("a")));
    /* into a caller buffer */
    uint8_t into[64];
    TU_ASSERT_OK(tkm_file_read_into(p("a"), into, sizeof into, 0, &n));
    assert_int_equal(n, sizeof msg - 1);
    assert_memory_equal(into, msg, n);
    memset(into, 0xee, sizeof into);
    TU_ASSERT_RC(tkm_file_read_into(p("a"), into, 5, 0, &n), TKM_ERR_TOO_LARGE);
    assert_int_equal(n, 0);
    for (size_t i = 0; i < 5; i++) assert_int_equal(into[i], 0); /* wiped on failure */
    /* into a secret of exactly the file's length */
    tkm_secret *s = NULL;
    TU_ASSERT_OK(tkm_file_read_secret(p("a"), 4096, 0, &s));
    assert_int_equal(tkm_secret_len(s), sizeof msg - 1);
    assert_memory_equal(tkm_secret_ptr(s), msg, sizeof msg - 1);
    tkm_secret_free(s);
    TU_ASSERT_RC(tkm_file_read_secret(p("a"), 4, 0, &s), TKM_ERR_TOO_LARGE);
    assert_null(s);
    /* replace: new content and mode, the old ones gone */
    TU_ASSERT_OK(tkm_file_replace(p("a"), 0600, "xyz", 3));
    assert_int_equal(stat(p("a"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    TU_ASSERT_OK(tkm_file_read(p("a"), 100, TKM_FILE_SECRET, &b, &n));
    assert_int_equal(n, 3);
    assert_memory_equal(b, "xyz", 3);
    free(b);
    /* binary content with NULs and an empty file */
    uint8_t bin[300];
    for (size_t i = 0; i < sizeof bin; i++) bin[i] = (uint8_t)(i * 7);
    TU_ASSERT_OK(tkm_file_replace(p("bin"), 0600, bin, sizeof bin));
    TU_ASSERT_OK(tkm_file_read(p("bin"), sizeof bin, 0, &b, &n));
    assert_int_equal(n, sizeof bin);
    assert_memory_equal(b, bin, sizeof bin);
    free(b);
    TU_ASSERT_OK(tkm_file_create(p("empty"), 0600, NULL, 0));
    TU_ASSERT_OK(tkm_file_read(p("empty"), 10, 0, &b, &n));
    assert_int_equal(n, 0);
    assert_int_equal(b[0], 0);
    free(b);
    TU_ASSERT_RC(tkm_file_read_secret(p("empty"), 10, 0, &s), TKM_ERR_TRUNCATED);
    /* no temporary file stays behind */
    assert_int_equal(count_names(".tmp."), 0);
}

static void test_missing_and_types(void **state) {
    (void)state;
    uint8_t *b = NULL;
    size_t n = 7;
    TU_ASSERT_RC(tkm_file_read(p("none"), 10, 0, &b, &n), TKM_ERR_NOT_FOUND);
    assert_null(b);
    assert_int_equal(n, 0);
    /* the detail names the path and the system's reason */
    assert_non_null(strstr(tkm_err_detail(), p("none")));
    assert_non_null(strstr(tkm_err_detail(), strerror(ENOENT)));
    /* a directory is never a file */
    assert_int_equal(mkdir(p("d"), 0700), 0);
    TU_ASSERT_RC(tkm_file_read(p("d"), 10, 0, &b, &n), TKM_ERR_FORMAT);
    TU_ASSERT_RC(tkm_file_read(p("d"), 10, TKM_FILE_STREAM, &b, &n), TKM_ERR_FORMAT);
    /* a FIFO is refused without blocking unless a stream is asked for */
    assert_int_equal(mkfifo(p("fifo"), 0600), 0);
    TU_ASSERT_RC(tkm_file_read(p("fifo"), 10, 0, &b, &n), TKM_ERR_FORMAT);
    pid_t w = fork();
    assert_true(w >= 0);
    if (w == 0) {
        int fd = open(p("fifo"), O_WRONLY);
        ssize_t k = write(fd, "0123456789abcdef", 16);
        close(fd);
        _exit(k == 16 ? 0 : 1);
    }
    TU_ASSERT_OK(tkm_file_read(p("fifo"), 16, TKM_FILE_STREAM, &b, &n));
    assert_int_equal(n, 16);
    assert_memory_equal(b, "0123456789abcdef", 16);
    free(b);
    int status = 0;
    assert_int_equal(waitpid(w, &status, 0), w);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* a stream longer than the bound */
    w = fork();
    assert_true(w >= 0);
    if (w == 0) {
        int fd = open(p("fifo"), O_WRONLY);
        signal(SIGPIPE, SIG_IGN);
        char big[10000];
        memset(big, 'x', sizeof big);
        (void)!write(fd, big, sizeof big);
        close(fd);
        _exit(0);
    }
    TU_ASSERT_RC(tkm_file_read(p("fifo"), 9999, TKM_FILE_STREAM, &b, &n), TKM_ERR_TOO_LARGE);
    assert_null(b);
    assert_int_equal(waitpid(w, &status, 0), w);
    /* a stream of pseudo-file size: st_size is not trusted (regular file, STREAM, into a buffer) */
    put(p("pseudo"), "abc", 3, 0644);
    uint8_t into[8];
    TU_ASSERT_OK(tkm_file_read_into(p("pseudo"), into, sizeof into, TKM_FILE_STREAM, &n));
    assert_int_equal(n, 3);
    TU_ASSERT_RC(tkm_file_read_into(p("pseudo"), into, 2, TKM_FILE_STREAM, &n), TKM_ERR_TOO_LARGE);
}

static void test_symlinks(void **state) {
    (void)state;
    put(p("target"), "secret-ish", 10, 0600);
    assert_int_equal(symlink(p("target"), p("link")), 0);
    uint8_t *b = NULL;
    size_t n = 0;
    tkm_secret *s = NULL;
    uint8_t into[32];
    TU_ASSERT_RC(tkm_file_read(p("link"), 100, 0, &b, &n), TKM_ERR_PERMISSIONS);
    assert_non_null(strstr(tkm_err_detail(), "symbolic link"));
    TU_ASSERT_RC(tkm_file_read_into(p("link"), into, sizeof into, TKM_FILE_SECRET, &n), TKM_ERR_PERMISSIONS);
    TU_ASSERT_RC(tkm_file_read_secret(p("link"), 100, TKM_FILE_SECRET, &s), TKM_ERR_PERMISSIONS);
    /* followed only when asked, and never together with a secret rule (a caller bug) */
    TU_ASSERT_OK(tkm_file_read(p("link"), 100, TKM_FILE_FOLLOW, &b, &n));
    assert_int_equal(n, 10);
    free(b);
    TU_CHECK_ILLEGAL(tkm_file_read(p("link"), 100, TKM_FILE_FOLLOW | TKM_FILE_SECRET, &b, &n));
    TU_CHECK_ILLEGAL(tkm_file_read_secret(p("link"), 100, TKM_FILE_FOLLOW | TKM_FILE_OWNED, &s));
    /* a dangling link: refused as a link, not reported missing */
    assert_int_equal(symlink(p("nowhere"), p("dangling")), 0);
    TU_ASSERT_RC(tkm_file_read(p("dangling"), 100, 0, &b, &n), TKM_ERR_PERMISSIONS);
    /* create never writes through a link: the link counts as an existing file */
    TU_ASSERT_RC(tkm_file_create(p("dangling"), 0600, "x", 1), TKM_ERR_EXISTS);
    struct stat st;
    assert_int_equal(lstat(p("nowhere"), &st), -1);
    /* replace swaps the link itself for the file; the target is untouched */
    TU_ASSERT_OK(tkm_file_replace(p("link"), 0600, "new", 3));
    assert_int_equal(lstat(p("link"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    TU_ASSERT_OK(tkm_file_read(p("target"), 100, 0, &b, &n));
    assert_int_equal(n, 10);
    assert_memory_equal(b, "secret-ish", 10);
    free(b);
}

static void test_secret_permissions(void **state) {
    (void)state;
    static const mode_t open_modes[] = {0640, 0604, 0644, 0660, 0606, 0610, 0601, 0777};
    tkm_secret *s = NULL;
    uint8_t into[16];
    size_t n = 0;
    put(p("k"), "0123456789abcdef", 16, 0600);
    for (size_t i = 0; i < sizeof open_modes / sizeof open_modes[0]; i++) {
        assert_int_equal(chmod(p("k"), open_modes[i]), 0);
        TU_ASSERT_RC(tkm_file_read_secret(p("k"), 100, TKM_FILE_SECRET, &s), TKM_ERR_PERMISSIONS);
        assert_null(s);
        /* the hint says what to do, and the content is not in the detail */
        assert_non_null(strstr(tkm_err_detail(), "chmod 600"));
        assert_null(strstr(tkm_err_detail(), "0123456789"));
        TU_ASSERT_RC(tkm_file_read_into(p("k"), into, sizeof into, TKM_FILE_SECRET, &n), TKM_ERR_PERMISSIONS);
        /* without the flag the mode does not matter */
        TU_ASSERT_OK(tkm_file_read_into(p("k"), into, sizeof into, 0, &n));
    }
    /* owner-only modes pass; exactly-0600 is stricter */
    static const mode_t owner_only[] = {0600, 0400, 0700, 0200};
    for (size_t i = 0; i < sizeof owner_only / sizeof owner_only[0]; i++) {
        assert_int_equal(chmod(p("k"), owner_only[i]), 0);
        if (geteuid() != 0 && !(owner_only[i] & 0400)) continue; /* unreadable for a normal user */
        TU_ASSERT_OK(tkm_file_read_secret(p("k"), 100, TKM_FILE_SECRET | TKM_FILE_OWNED, &s));
        assert_memory_equal(tkm_secret_ptr(s), "0123456789abcdef", 16);
        tkm_secret_free(s);
        s = NULL;
        if (owner_only[i] == 0600) {
            TU_ASSERT_OK(tkm_file_read_secret(p("k"), 100, TKM_FILE_MODE_0600, &s));
            tkm_secret_free(s);
            s = NULL;
        } else {
            TU_ASSERT_RC(tkm_file_read_secret(p("k"), 100, TKM_FILE_MODE_0600, &s), TKM_ERR_PERMISSIONS);
        }
    }
    assert_int_equal(chmod(p("k"), 0600), 0);
    /* another owner (needs root to arrange) */
    if (geteuid() == 0) {
        assert_int_equal(chown(p("k"), 1, 1), 0);
        TU_ASSERT_RC(tkm_file_read_secret(p("k"), 100, TKM_FILE_OWNED, &s), TKM_ERR_PERMISSIONS);
        assert_non_null(strstr(tkm_err_detail(), "owned by uid 1"));
        TU_ASSERT_OK(tkm_file_read_secret(p("k"), 100, TKM_FILE_SECRET, &s));
        tkm_secret_free(s);
    } else {
        print_message("not root: the other-owner case is not exercised\n");
    }
    /* files written by create/replace with 0600 pass the secret rules */
    TU_ASSERT_OK(tkm_file_create(p("k2"), 0600, "abc", 3));
    TU_ASSERT_OK(tkm_file_read_secret(p("k2"), 100, TKM_FILE_SECRET | TKM_FILE_OWNED | TKM_FILE_MODE_0600, &s));
    tkm_secret_free(s);
}

static void test_create_never_clobbers(void **state) {
    (void)state;
    for (int how = 0; how <= 2; how++) { /* link(2); renameat2(NOREPLACE); lstat + rename */
        tkm_file_set_link_mode_for_testing(how);
        char name[32];
        snprintf(name, sizeof name, "c%d", how);
        TU_ASSERT_OK(tkm_file_create(p(name), 0600, "old content", 11));
        TU_ASSERT_RC(tkm_file_create(p(name), 0644, "new", 3), TKM_ERR_EXISTS);
        assert_non_null(strstr(tkm_err_detail(), p(name)));
        uint8_t *b = NULL;
        size_t n = 0;
        TU_ASSERT_OK(tkm_file_read(p(name), 100, 0, &b, &n));
        assert_int_equal(n, 11);
        assert_memory_equal(b, "old content", 11);
        free(b);
        struct stat st;
        assert_int_equal(stat(p(name), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_nlink, 1); /* the temporary link is gone */
        assert_int_equal(count_names(".tmp."), 0);
    }
    tkm_file_set_link_mode_for_testing(0);
    /* no such directory */
    TU_ASSERT_RC(tkm_file_create(p("nodir/x"), 0600, "x", 1), TKM_ERR_NOT_FOUND);
    TU_ASSERT_RC(tkm_file_replace(p("nodir/x"), 0600, "x", 1), TKM_ERR_NOT_FOUND);
    /* a path too long for the temporary name */
    char *longp = malloc(5000);
    memset(longp, 'a', 4999);
    longp[0] = '/';
    longp[4999] = 0;
    TU_ASSERT_RC(tkm_file_create(longp, 0600, "x", 1), TKM_ERR_TOO_LARGE);
    free(longp);
    /* caller bugs */
    TU_CHECK_ILLEGAL(tkm_file_create(p("m"), 010000, "x", 1));
    TU_CHECK_ILLEGAL(tkm_file_replace(p("m"), 0600, NULL, 1));
    tkm_secret *s = NULL;
    TU_CHECK_ILLEGAL(tkm_file_read_secret(p("m"), 0, 0, &s));
    TU_CHECK_ILLEGAL(tkm_file_read_secret(p("m"), ((size_t)1 << 20) + 1, 0, &s));
}

/*
 * Crash safety. Each written version describes itself: 8 bytes of version,
 * 8 bytes of total length, then the payload byte (version * 31) repeated, so
 * a reader can tell a complete version from an empty, short or mixed file.
 * Lengths vary (a few KiB to ~200 KiB) so a kill can land in any step.
 */
static size_t version_len(uint64_t v) { return 16 + 4096 * (size_t)(1 + v % 48) + (size_t)(v % 13); }

static uint8_t *version_make(uint64_t v, size_t *len) {
    size_t n = version_len(v);
    uint8_t *b = malloc(n);
    assert_non_null(b);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    for (int i = 0; i < 8; i++) b[8 + i] = (uint8_t)((uint64_t)n >> (8 * i));
    memset(b + 16, (int)(uint8_t)(v * 31), n - 16);
    *len = n;
    return b;
}

/* Returns the version the file holds completely; fails the test on any partial file. */
static uint64_t version_check(const char *path) {
    uint8_t *b = NULL;
    size_t n = 0;
    TU_ASSERT_OK(tkm_file_read(path, 1 << 20, 0, &b, &n));
    assert_true(n >= 16);
    uint64_t v = 0, want = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
    for (int i = 0; i < 8; i++) want |= (uint64_t)b[8 + i] << (8 * i);
    assert_int_equal(want, n);
    assert_int_equal(n, version_len(v));
    for (size_t i = 16; i < n; i++)
        if (b[i] != (uint8_t)(v * 31)) fail_msg("%s: byte %zu of version %llu is wrong", path, i, (unsigned long long)v);
    free(b);
    return v;
}

/* Child: write versions from..., forever (until killed). */
static void writer_child(int create, const char *path, uint64_t from) {
    for (uint64_t v = from;; v++) {
        size_t n = 0;
        uint8_t *b = version_make(v, &n);
        tkm_rc rc;
        if (create) {
            char q[600];
            snprintf(q, sizeof q, "%s.%llu", path, (unsigned long long)v);
            rc = tkm_file_create(q, 0600, b, n);
        } else {
            rc = tkm_file_replace(path, 0600, b, n);
        }
        free(b);
        if (tkm_failed(rc)) _exit(3);
    }
}

static void crash_rounds(int create, int rounds) {
    unsigned seed = 20240611u + (unsigned)create;
    char path[512]; /* p() reuses its buffers */
    snprintf(path, sizeof path, "%s", p(create ? "created" : "replaced"));
    uint64_t next = 1;
    int mid_write = 0; /* rounds whose kill left a temporary file: the kill landed inside a write */
    if (!create) {
        size_t n = 0;
        uint8_t *b = version_make(0, &n);
        TU_ASSERT_OK(tkm_file_replace(path, 0600, b, n));
        free(b);
    }
    for (int r = 0; r < rounds; r++) {
        uint64_t before = create ? 0 : version_check(path);
        pid_t c = fork();
        assert_true(c >= 0);
        if (c == 0) writer_child(create, path, next);
        struct timespec ts = {0, (long)(rand_r(&seed) % 4000) * 1000L}; /* 0..4 ms */
        nanosleep(&ts, NULL);
        assert_int_equal(kill(c, SIGKILL), 0);
        int status = 0;
        assert_int_equal(waitpid(c, &status, 0), c);
        /* killed, never failed on its own */
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        mid_write += count_names(".tmp.") > 0;
        /* clear the strays so the next round's count means something */
        DIR *dh = opendir(dir);
        struct dirent *e;
        while ((e = readdir(dh)) != NULL)
            if (strstr(e->d_name, ".tmp.")) unlink(p(e->d_name));
        closedir(dh);
        if (create) {
            /* every name that exists is complete; the one being written is absent or complete */
            uint64_t v = next;
            for (;; v++) {
                char q[600];
                snprintf(q, sizeof q, "%s.%llu", path, (unsigned long long)v);
                struct stat st;
                if (lstat(q, &st) != 0) break;
                assert_int_equal(version_check(q), v);
                unlink(q); /* checked: keep the directory small */
            }
            /* the next start can create that name (nothing half-made is in the way) */
            char q[600];
            snprintf(q, sizeof q, "%s.%llu", path, (unsigned long long)v);
            size_t n = 0;
            uint8_t *b = version_make(v, &n);
            TU_ASSERT_OK(tkm_file_create(q, 0600, b, n));
            free(b);
            assert_int_equal(version_check(q), v);
            unlink(q);
            next = v + 1;
        } else {
            uint64_t v = version_check(path); /* the old version or a complete new one */
            assert_true(v >= before);
            next = v + 1;
        }
    }
    print_message("%s: %d rounds, %d kills landed inside a write, %llu versions written\n",
                  create ? "create" : "replace", rounds, mid_write, (unsigned long long)next);
    /* the test means something only if kills hit writes in progress */
    assert_true(mid_write >= rounds / 10);
}

static void test_crash_replace(void **state) {
    (void)state;
    crash_rounds(0, 200);
}

static void test_crash_create(void **state) {
    (void)state;
    crash_rounds(1, 200);
}

static void test_crash_create_without_links(void **state) {
    (void)state;
    tkm_file_set_link_mode_for_testing(1); /* renameat2(RENAME_NOREPLACE) */
    crash_rounds(1, 60);
    tkm_file_set_link_mode_for_testing(2); /* lstat + rename */
    crash_rounds(1, 60);
}

static void test_sync_dir(void **state) {
    (void)state;
    TU_ASSERT_OK(tkm_file_sync_dir(p("anything")));
    TU_ASSERT_OK(tkm_file_sync_dir("relative-name"));
    TU_ASSERT_OK(tkm_file_sync_dir("/top"));
    TU_ASSERT_RC(tkm_file_sync_dir(p("nodir/x")), TKM_ERR_IO);
}

int main(void) {
    setenv("TKM_DONT_MLOCK", "1", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_never_clobbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_create_without_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_dir, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
