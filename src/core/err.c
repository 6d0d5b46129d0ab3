/* see tkm_err.h */
#include "tkm_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

typedef struct {
    tkm_err code;
    const char *name;
    const char *msg;
} err_entry;

static const err_entry err_table[] = {
#define TKM_ERR_ROW_(name, num, msg) {name, #name, msg},
    TKM_ERR_LIST(TKM_ERR_ROW_)
#undef TKM_ERR_ROW_
};

static const err_entry *err_find(tkm_err code) {
    for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
        if (err_table[i].code == code) return &err_table[i];
    return NULL;
}

const char *tkm_err_str(tkm_err code) {
    const err_entry *e = err_find(code);
    return e ? e->msg : "unknown error";
}

const char *tkm_err_name(tkm_err code) {
    const err_entry *e = err_find(code);
    if (!e) return NULL;
    /* "TKM_ERR_TRUNCATED" -> "TRUNCATED"; "TKM_OK" -> "OK" */
    if (e->name[4] == 'E' && e->name[5] == 'R' && e->name[6] == 'R') return e->name + 8;
    return e->name + 4;
}

tkm_err_cat tkm_err_category(tkm_err code) { return (tkm_err_cat)((unsigned)code / 100u); }

static _Thread_local char detail_buf[256];
static _Thread_local char where_buf[96];

void tkm_err_detail_set(const char *fmt, ...) {
    /* Format into a copy first: callers wrap the current detail ("ctx: %s", tkm_err_detail()),
     * and vsnprintf must not read the buffer it writes (undefined behaviour, garbled in practice). */
    char tmp[sizeof detail_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(detail_buf, tmp, sizeof detail_buf);
}

void tkm_err_detail_clear(void) {
    detail_buf[0] = 0;
    where_buf[0] = 0;
}

const char *tkm_err_detail(void) { return detail_buf; }
const char *tkm_err_where(void) { return where_buf; }

void tkm_err_record_where_(const char *file, int line) {
    snprintf(where_buf, sizeof where_buf, "%s:%d", file, line);
}

static void misuse_abort(const char *what, const char *file, int line) {
    fprintf(stderr, "teekm: API misuse: %s at %s:%d\n", what, file, line);
    abort();
}

static tkm_misuse_fn misuse_handler = misuse_abort;

void tkm_misuse_set_handler(tkm_misuse_fn fn) { misuse_handler = fn ? fn : misuse_abort; }

void tkm_misuse_(const char *what, const char *file, int line) { misuse_handler(what, file, line); }
