/*
 * clockshift.c — a TEST-ONLY LD_PRELOAD shim that moves a process's clocks,
 * playing a host that sets its clock: never linked into teekm's programs,
 * built only as tests' libtkm_clockshift.so (CMakeLists.txt, tests section).
 *
 * The file named by TKM_TEST_CLOCK_FILE holds "REALTIME BOOTTIME": two signed
 * offsets in seconds added to CLOCK_REALTIME (and time(), gettimeofday()) and
 * to CLOCK_BOOTTIME. It is read at every call, so a test can move the clock
 * of a running process. CLOCK_MONOTONIC is left alone (the event loop's
 * timers run on it); teekm's trusted-time bound uses CLOCK_BOOTTIME.
 * No file, or an unreadable one: no offset.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime(void) {
    static clock_gettime_fn fn;
    if (!fn) fn = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    return fn;
}

static void offsets(long long *realtime, long long *boottime) {
    *realtime = *boottime = 0;
    const char *f = getenv("TKM_TEST_CLOCK_FILE");
    if (!f) return;
    int fd = open(f, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char b[96];
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    if (n <= 0) return;
    b[n] = 0;
    if (sscanf(b, "%lld %lld", realtime, boottime) < 1) *realtime = *boottime = 0;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    clock_gettime_fn real = real_clock_gettime();
    if (!real) return -1;
    int r = real(id, ts);
    if (r != 0) return r;
    long long rt, bt;
    offsets(&rt, &bt);
    if (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE) ts->tv_sec += (time_t)rt;
    if (id == CLOCK_BOOTTIME) ts->tv_sec += (time_t)bt;
    return 0;
}

int gettimeofday(struct timeval *tv, void *tz) {
    (void)tz;
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
    tv->tv_sec = ts.tv_sec; /* glibc declares tv nonnull */
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}

time_t time(time_t *t) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return (time_t)-1;
    if (t) *t = ts.tv_sec;
    return ts.tv_sec;
}
