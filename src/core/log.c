/* see tkm_log.h */
#include "tkm_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Read by every loop thread, written by the SIGHUP reload: atomic. */
static _Atomic int log_level = TKM_LOG_INFO;
static int log_fd = 2;

int64_t tkm_time_unix(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

uint64_t tkm_time_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void tkm_log_set_level(tkm_log_level lvl) { log_level = (int)lvl; }
tkm_log_level tkm_log_get_level(void) { return (tkm_log_level)log_level; }
void tkm_log_set_fd(int fd) { log_fd = fd; }

static const char *level_names[] = {"debug", "info", "warn", "error"};

tkm_rc tkm_log_level_parse(const char *s, tkm_log_level *lvl) {
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *lvl = (tkm_log_level)i;
            return TKM_RC_OK;
        }
    TKM_ENSURE(0, TKM_ERR_FORMAT);
}

static void vlog(tkm_log_level lvl, const char *component, const json_t *fields, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void vlog(tkm_log_level lvl, const char *component, const json_t *fields, const char *fmt,
                 va_list ap) {
    if ((int)lvl < log_level) return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_t *o = json_object();
    if (!o) return;
    json_object_set_new(o, "ts", json_real((double)ts.tv_sec + (double)ts.tv_nsec / 1e9));
    json_object_set_new(o, "level", json_string(level_names[lvl]));
    json_object_set_new(o, "component", json_string(component));
    json_object_set_new(o, "msg", json_string(msg));
    if (fields && json_is_object(fields)) json_object_update_missing(o, (json_t *)fields);
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(13));
    json_decref(o);
    if (!line) return;
    size_t n = strlen(line);
    line[n] = '\n'; /* replace the NUL: one write per line */
    ssize_t w = write(log_fd, line, n + 1);
    (void)w;
    free(line);
}

void tkm_log(tkm_log_level lvl, const char *component, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(lvl, component, NULL, fmt, ap);
    va_end(ap);
}

void tkm_log_fields(tkm_log_level lvl, const char *component, const json_t *fields, const char *fmt,
                    ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(lvl, component, fields, fmt, ap);
    va_end(ap);
}
