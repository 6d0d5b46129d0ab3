/*
 * The fixture the store tests share: a temporary state directory with its
 * counter file and a seal key, opening the store there, expecting an open to
 * fail, and raw SQL on the database (to play the host that edits it).
 * Included by the test files of this folder only (static functions).
 */
#ifndef TKM_TEST_STORE_FIXTURE_H
#define TKM_TEST_STORE_FIXTURE_H

#include "testutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

typedef struct {
    char dir[256];
    char counter[300];
    tkm_secret *seal;
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tkm-store-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->counter, sizeof f->counter, "%s/counter", f->dir);
    uint8_t k[32];
    memset(k, 0x5a, 32);
    if (tkm_failed(tkm_secret_from(&f->seal, k, 32))) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) return -1;
    tkm_secret_free(f->seal);
    free(f);
    return 0;
}

/* Store options for the fixture's directory, with its counter file, under seal (NULL: the fixture's key). */
static tkm_store_opts opts(fx *f, const tkm_secret *seal) {
    tkm_store_opts o = {.dir = f->dir, .seal_key = seal ? seal : f->seal, .fast_unsafe = 1};
    TU_ASSERT_OK(tkm_counter_file_open(&o.counter, f->counter, seal ? seal : f->seal));
    return o;
}

static tkm_rc open_store(fx *f, tkm_store **s) {
    tkm_store_opts o = opts(f, NULL);
    return tkm_store_open(s, &o);
}

/* The open fails with want, and its detail names detail_part (when given). */
static void expect_open(fx *f, tkm_err want, const char *detail_part) {
    tkm_store *s = NULL;
    tkm_rc rc = open_store(f, &s);
    if (rc.code != want) fail_msg("open: want %s got %s (%s)", tkm_err_name(want), tkm_err_name(rc.code), tkm_err_detail());
    assert_null(s);
    if (detail_part && !strstr(tkm_err_detail(), detail_part))
        fail_msg("detail '%s' lacks '%s'", tkm_err_detail(), detail_part);
}

/* Run q on the database directly, as the host can. */
static void sql(fx *f, const char *q) {
    char path[300];
    snprintf(path, sizeof path, "%s/state.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK) fail_msg("sql %s: %s", q, err);
    sqlite3_close(db);
}

#endif
