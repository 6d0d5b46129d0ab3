/*
 * tkm_log.h — time and logging.
 *
 * Logs are JSON lines on stderr: {"ts":…,"level":…,"component":…,"msg":…} plus
 * optional fields. Never pass a secret or a full signing payload to a log call:
 * there is no redaction layer behind these functions, by design the callers
 * only ever hand over identifiers, codes and sizes.
 * Thread-safety: a log line is written with one write(2), so lines from
 * different threads do not interleave.
 */
#ifndef TKM_LOG_H
#define TKM_LOG_H

#include <jansson.h>
#include <stdint.h>

#include "tkm_err.h"

typedef enum { TKM_LOG_DEBUG = 0, TKM_LOG_INFO = 1, TKM_LOG_WARN = 2, TKM_LOG_ERROR = 3 } tkm_log_level;

/* Wall-clock seconds since the epoch (host time: untrusted inside a TEE). */
TKM_API int64_t tkm_time_unix(void);
/* Monotonic nanoseconds, for durations only. */
TKM_API uint64_t tkm_time_mono_ns(void);

TKM_API void tkm_log_set_level(tkm_log_level lvl);
TKM_API tkm_log_level tkm_log_get_level(void);
/* Parse "debug"/"info"/"warn"/"error". Returns: OK or TKM_ERR_FORMAT. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_log_level_parse(const char *s, tkm_log_level *lvl);
/* Write to fd instead of stderr (tests). */
TKM_API void tkm_log_set_fd(int fd);

TKM_API void tkm_log(tkm_log_level lvl, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, with extra fields merged into the line (borrowed; not freed). */
TKM_API void tkm_log_fields(tkm_log_level lvl, const char *component, const json_t *fields,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
