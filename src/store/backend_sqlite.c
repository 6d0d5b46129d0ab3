/* see backend.h — SQLite (WAL) backend: prepared statements only. */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/file.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_META_GET,
    ST_META_PUT,
    ST_ROW_GET,
    ST_ROW_INSERT,
    ST_ROW_PUT,
    ST_ROW_DELETE,
    ST_SCAN_ALL,
    ST_SCAN_T,
    ST_SEEK_LE,
    ST_COUNT
};

static const char *const SQL[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_META_GET] = "SELECT v FROM meta WHERE k = ?1",
    [ST_META_PUT] = "INSERT INTO meta(k, v) VALUES(?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
    [ST_ROW_GET] = "SELECT v, mac FROM rows WHERE t = ?1 AND k = ?2",
    [ST_ROW_INSERT] = "INSERT INTO rows(t, k, v, mac) VALUES(?1, ?2, ?3, ?4)",
    [ST_ROW_PUT] = ("INSERT INTO rows(t, k, v, mac) VALUES(?1, ?2, ?3, ?4) "
                    "ON CONFLICT(t, k) DO UPDATE SET v = excluded.v, mac = excluded.mac"),
    [ST_ROW_DELETE] = "DELETE FROM rows WHERE t = ?1 AND k = ?2",
    [ST_SCAN_ALL] = "SELECT t, k, v, mac FROM rows ORDER BY t, k",
    [ST_SCAN_T] = "SELECT t, k, v, mac FROM rows WHERE t = ?1 AND k >= ?2 ORDER BY k",
    [ST_SEEK_LE] = "SELECT k FROM rows WHERE t = ?1 AND k <= ?2 ORDER BY k DESC LIMIT 1",
};

/* one transaction: a crash while creating leaves both tables or neither, never half a schema */
static const char SCHEMA[] =
    "BEGIN;"
    "CREATE TABLE meta(k TEXT PRIMARY KEY NOT NULL, v BLOB NOT NULL) STRICT;"
    /* a rowid table: (t, k) lives in a small unique index, values (audit rows of a whole commit can
       be large) stay out of the b-tree keys */
    "CREATE TABLE rows(t INTEGER NOT NULL, k BLOB NOT NULL, v BLOB NOT NULL, mac BLOB NOT NULL,"
    " PRIMARY KEY(t, k)) STRICT;"
    "COMMIT;";

/*
 * Checkpoints run on their own thread and connection: a checkpoint copies the
 * WAL's pages into the database file and fsyncs it, which on the committing
 * thread stalled every few hundred commits for ~15 ms (the p99 of the
 * signer). A passive checkpoint does not block the writer; the WAL is
 * restarted from its beginning once everything in it was copied.
 */
#define CKPT_PAGES 1024     /* start a background checkpoint at this many WAL pages (4 MiB) */
#define CKPT_HARD 65536     /* past this (256 MiB), the writer checkpoints itself: the WAL stays bounded */

typedef struct {
    store_backend b;
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    int lock_fd; /* flock'ed state.db.lock: one process per state */
    sqlite3 *ck_db;
    pthread_t ck_t;
    int ck_started;
    pthread_mutex_t ck_mu;
    pthread_cond_t ck_cv;
    int ck_pages, ck_stop;
} sq_backend;

static tkm_rc sq_fail(sqlite3 *db, int rc, const char *what) {
    tkm_err_detail_set("sqlite %s: %s (%d)", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
    tkm_err_record_where_(__FILE__, __LINE__);
    int prim = rc & 0xff;
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED) return TKM_RC(TKM_ERR_STORE_BUSY);
    if (prim == SQLITE_CONSTRAINT) return TKM_RC(TKM_ERR_EXISTS);
    if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB) return TKM_RC(TKM_ERR_STORE_TAMPER);
    if (prim == SQLITE_NOMEM) return TKM_RC(TKM_ERR_NOMEM);
    if (prim == SQLITE_IOERR || prim == SQLITE_FULL || prim == SQLITE_CANTOPEN) return TKM_RC(TKM_ERR_IO);
    return TKM_RC(TKM_ERR_STORE);
}

static void done(sqlite3_stmt *st) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static tkm_rc run(sq_backend *q, int which, const char *what) {
    sqlite3_stmt *st = q->st[which];
    int rc = sqlite3_step(st);
    done(st);
    if (rc != SQLITE_DONE) return sq_fail(q->db, rc, what);
    return TKM_RC_OK;
}

static tkm_rc sq_begin(store_backend *b) { return run((sq_backend *)b, ST_BEGIN, "begin"); }
static tkm_rc sq_commit(store_backend *b) { return run((sq_backend *)b, ST_COMMIT, "commit"); }
static void sq_rollback(store_backend *b) {
    sq_backend *q = (sq_backend *)b;
    if (!sqlite3_get_autocommit(q->db)) {
        tkm_rc r = run(q, ST_ROLLBACK, "rollback");
        (void)r;
    }
}

static tkm_rc copy_blob(sqlite3_stmt *st, int col, uint8_t **v, size_t *vn) {
    const void *p = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);
    *v = malloc(n > 0 ? (size_t)n : 1);
    TKM_ENSURE(*v, TKM_ERR_NOMEM);
    if (n > 0) memcpy(*v, p, (size_t)n);
    *vn = (size_t)n;
    return TKM_RC_OK;
}

static tkm_rc sq_meta_get(store_backend *b, const char *k, uint8_t **v, size_t *vn, int *found) {
    sq_backend *q = (sq_backend *)b;
    sqlite3_stmt *st = q->st[ST_META_GET];
    *v = NULL;
    *vn = 0;
    *found = 0;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    tkm_rc r = TKM_RC_OK;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_BLOB)
            r = TKM_RC(TKM_ERR_STORE_TAMPER);
        else {
            r = copy_blob(st, 0, v, vn);
            *found = tkm_ok(r);
        }
    } else if (rc != SQLITE_DONE) {
        r = sq_fail(q->db, rc, "meta get");
    }
    done(st);
    return r;
}

static tkm_rc sq_meta_put(store_backend *b, const char *k, const uint8_t *v, size_t vn) {
    sq_backend *q = (sq_backend *)b;
    sqlite3_stmt *st = q->st[ST_META_PUT];
    TKM_ENSURE(vn <= INT32_MAX, TKM_ERR_TOO_LARGE);
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, vn ? (const void *)v : "", (int)vn, SQLITE_STATIC);
    return run(q, ST_META_PUT, "meta put");
}

static tkm_rc sq_row_get(store_backend *b, unsigned t, const uint8_t *k, size_t kn, uint8_t **v, size_t *vn,
                         uint8_t mac[32], int *found) {
    sq_backend *q = (sq_backend *)b;
    sqlite3_stmt *st = q->st[ST_ROW_GET];
    *v = NULL;
    *vn = 0;
    *found = 0;
    TKM_ENSURE(kn <= INT32_MAX, TKM_ERR_TOO_LARGE);
    sqlite3_bind_int(st, 1, (int)t);
    sqlite3_bind_blob(st, 2, kn ? (const void *)k : "", (int)kn, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    tkm_rc r = TKM_RC_OK;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_BLOB || sqlite3_column_type(st, 1) != SQLITE_BLOB ||
            sqlite3_column_bytes(st, 1) != 32) {
            tkm_err_detail_set("a state row has the wrong shape");
            r = TKM_RC(TKM_ERR_STORE_TAMPER);
        } else {
            memcpy(mac, sqlite3_column_blob(st, 1), 32);
            r = copy_blob(st, 0, v, vn);
            *found = tkm_ok(r);
        }
    } else if (rc != SQLITE_DONE) {
        r = sq_fail(q->db, rc, "row get");
    }
    done(st);
    return r;
}

static tkm_rc row_write(sq_backend *q, int which, unsigned t, const uint8_t *k, size_t kn, const uint8_t *v,
                        size_t vn, const uint8_t mac[32]) {
    sqlite3_stmt *st = q->st[which];
    TKM_ENSURE(kn <= INT32_MAX && vn <= INT32_MAX, TKM_ERR_TOO_LARGE);
    sqlite3_bind_int(st, 1, (int)t);
    sqlite3_bind_blob(st, 2, kn ? (const void *)k : "", (int)kn, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, vn ? (const void *)v : "", (int)vn, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, mac, 32, SQLITE_STATIC);
    return run(q, which, "row write");
}

static tkm_rc sq_row_insert(store_backend *b, unsigned t, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn,
                            const uint8_t mac[32]) {
    return row_write((sq_backend *)b, ST_ROW_INSERT, t, k, kn, v, vn, mac);
}

static tkm_rc sq_row_put(store_backend *b, unsigned t, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn,
                         const uint8_t mac[32]) {
    return row_write((sq_backend *)b, ST_ROW_PUT, t, k, kn, v, vn, mac);
}

static tkm_rc sq_row_delete(store_backend *b, unsigned t, const uint8_t *k, size_t kn) {
    sq_backend *q = (sq_backend *)b;
    sqlite3_stmt *st = q->st[ST_ROW_DELETE];
    TKM_ENSURE(kn <= INT32_MAX, TKM_ERR_TOO_LARGE);
    sqlite3_bind_int(st, 1, (int)t);
    sqlite3_bind_blob(st, 2, kn ? (const void *)k : "", (int)kn, SQLITE_STATIC);
    return run(q, ST_ROW_DELETE, "row delete");
}

static tkm_rc sq_scan(store_backend *b, unsigned t, const uint8_t *from_k, size_t from_kn, backend_row_fn fn,
                      void *ctx) {
    sq_backend *q = (sq_backend *)b;
    sqlite3_stmt *st = q->st[t ? ST_SCAN_T : ST_SCAN_ALL];
    if (t) {
        TKM_ENSURE(from_kn <= INT32_MAX, TKM_ERR_TOO_LARGE);
        sqlite3_bind_int(st, 1, (int)t);
        sqlite3_bind_blob(st, 2, from_kn ? (const void *)from_k : "", (int)from_kn, SQLITE_STATIC);
    }
    tkm_rc r = TKM_RC_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_INTEGER || sqlite3_column_type(st, 1) != SQLITE_BLOB ||
            sqlite3_column_type(st, 2) != SQLITE_BLOB || sqlite3_column_type(st, 3) != SQLITE_BLOB) {
            tkm_err_detail_set("a state row has the wrong shape");
            r = TKM_RC(TKM_ERR_STORE_TAMPER);
            break;
        }
        sqlite3_int64 tt = sqlite3_column_int64(st, 0);
        const uint8_t *k = sqlite3_column_blob(st, 1);
        size_t kn = (size_t)sqlite3_column_bytes(st, 1);
        const uint8_t *v = sqlite3_column_blob(st, 2);
        size_t vn = (size_t)sqlite3_column_bytes(st, 2);
        const uint8_t *mac = sqlite3_column_blob(st, 3);
        size_t macn = (size_t)sqlite3_column_bytes(st, 3);
        static const uint8_t empty[1] = {0};
        if (tt < 1 || tt > 255) {
            tkm_err_detail_set("a state row has an unknown table %lld", (long long)tt);
            r = TKM_RC(TKM_ERR_STORE_TAMPER);
            break;
        }
        if (fn(ctx, (unsigned)tt, k ? k : empty, kn, v ? v : empty, vn, mac ? mac : empty, macn)) break;
    }
    if (tkm_ok(r) && rc != SQLITE_ROW && rc != SQLITE_DONE) r = sq_fail(q->db, rc, "scan");
    done(st);
    return r;
}

static tkm_rc sq_seek_le(store_backend *b, unsigned t, const uint8_t *k, size_t kn, uint8_t **out, size_t *out_n,
                         int *found) {
    sq_backend *q = (sq_backend *)b;
    sqlite3_stmt *st = q->st[ST_SEEK_LE];
    *out = NULL;
    *out_n = 0;
    *found = 0;
    TKM_ENSURE(kn <= INT32_MAX, TKM_ERR_TOO_LARGE);
    sqlite3_bind_int(st, 1, (int)t);
    sqlite3_bind_blob(st, 2, kn ? (const void *)k : "", (int)kn, SQLITE_STATIC);
    tkm_rc r = TKM_RC_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_BLOB) {
            tkm_err_detail_set("a state row has the wrong shape");
            r = TKM_RC(TKM_ERR_STORE_TAMPER);
        } else {
            size_t n = (size_t)sqlite3_column_bytes(st, 0);
            const uint8_t *v = sqlite3_column_blob(st, 0);
            uint8_t *c = malloc(n ? n : 1);
            if (!c) {
                r = TKM_RC(TKM_ERR_NOMEM);
            } else {
                if (n) memcpy(c, v, n);
                *out = c;
                *out_n = n;
                *found = 1;
            }
        }
    } else if (rc != SQLITE_DONE) {
        r = sq_fail(q->db, rc, "seek");
    }
    done(st);
    return r;
}

static void *ckpt_main(void *arg) {
    sq_backend *q = arg;
    pthread_mutex_lock(&q->ck_mu);
    for (;;) {
        while (!q->ck_stop && q->ck_pages < CKPT_PAGES) pthread_cond_wait(&q->ck_cv, &q->ck_mu);
        if (q->ck_stop) break;
        q->ck_pages = 0;
        pthread_mutex_unlock(&q->ck_mu);
        int log = 0, done = 0;
        /* SQLITE_BUSY (the writer holds a lock a moment) is retried at the next signal */
        (void)sqlite3_wal_checkpoint_v2(q->ck_db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        pthread_mutex_lock(&q->ck_mu);
    }
    pthread_mutex_unlock(&q->ck_mu);
    return NULL;
}

/* After each commit of the writer: the WAL's size in pages. */
static int on_wal(void *arg, sqlite3 *db, const char *name, int pages) {
    sq_backend *q = arg;
    if (pages >= CKPT_HARD) { /* the background checkpoints fell behind */
        int log = 0, done = 0;
        (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        return SQLITE_OK;
    }
    if (pages >= CKPT_PAGES && q->ck_started) {
        pthread_mutex_lock(&q->ck_mu);
        q->ck_pages = pages;
        pthread_cond_signal(&q->ck_cv);
        pthread_mutex_unlock(&q->ck_mu);
    }
    return SQLITE_OK;
}

static void sq_close(store_backend *b) {
    sq_backend *q = (sq_backend *)b;
    if (!q) return;
    if (q->ck_started) {
        pthread_mutex_lock(&q->ck_mu);
        q->ck_stop = 1;
        pthread_cond_signal(&q->ck_cv);
        pthread_mutex_unlock(&q->ck_mu);
        pthread_join(q->ck_t, NULL);
    }
    if (q->ck_db) sqlite3_close(q->ck_db);
    pthread_mutex_destroy(&q->ck_mu);
    pthread_cond_destroy(&q->ck_cv);
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(q->st[i]);
    if (q->db) sqlite3_close(q->db); /* the last connection checkpoints the rest and removes the WAL */
    if (q->lock_fd >= 0) close(q->lock_fd);
    free(q);
}

/* One process per state: an flock'ed companion file (SQLite's own locks stay untouched). */
static tkm_rc lock_state(sq_backend *q, const char *path) {
    char lp[4200];
    if (snprintf(lp, sizeof lp, "%s.lock", path) >= (int)sizeof lp) TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    q->lock_fd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (q->lock_fd < 0) {
        tkm_err_detail_set("cannot open %s: %s", lp, strerror(errno));
        TKM_ENSURE(0, TKM_ERR_IO);
    }
    if (flock(q->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        tkm_err_detail_set("the state is open in another process");
        TKM_ENSURE(0, TKM_ERR_STORE_BUSY);
    }
    return TKM_RC_OK;
}

static tkm_rc open_conn(sqlite3 **db, const char *path, int flags) {
    mode_t old = umask(077);
    int rc = sqlite3_open_v2(path, db, flags, NULL);
    umask(old);
    if (rc != SQLITE_OK) return sq_fail(*db, rc, "open");
    int on = 1;
    if (sqlite3_db_config(*db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) != SQLITE_OK ||
        sqlite3_db_config(*db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) != SQLITE_OK ||
        sqlite3_db_config(*db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL) != SQLITE_OK ||
        sqlite3_db_config(*db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL) != SQLITE_OK)
        return sq_fail(*db, SQLITE_ERROR, "db_config");
    sqlite3_busy_timeout(*db, 0);
    return TKM_RC_OK;
}

static tkm_rc exec_sql(sqlite3 *db, const char *sql, const char *what) {
    /* fixed statements only (pragmas, schema): never built from input */
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) return sq_fail(db, rc, what);
    return TKM_RC_OK;
}

/*
 * A database with no tables at all is what a creation killed before its
 * schema committed leaves behind (the file, maybe the WAL header): it never
 * held anything, so it reads as "not initialised", not as a foreign format.
 */
static tkm_rc refuse_empty(sqlite3 *db, const char *path) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(db, "SELECT count(*) FROM sqlite_schema", -1, 0, &st, NULL);
    if (rc != SQLITE_OK) return sq_fail(db, rc, "schema count");
    rc = sqlite3_step(st);
    sqlite3_int64 n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) return sq_fail(db, rc, "schema count");
    if (n == 0) {
        tkm_err_detail_set("%s was never initialised (an interrupted initialisation): initialise it again", path);
        TKM_ENSURE(0, TKM_ERR_NOT_FOUND);
    }
    return TKM_RC_OK;
}

/* PRAGMA journal_mode returns a row: step it through a prepared statement. */
static tkm_rc pragma_wal(sqlite3 *db) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(db, "PRAGMA journal_mode=WAL", -1, 0, &st, NULL);
    if (rc != SQLITE_OK) return sq_fail(db, rc, "journal_mode");
    rc = sqlite3_step(st);
    int ok = rc == SQLITE_ROW && sqlite3_column_text(st, 0) &&
             strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (!ok) {
        tkm_err_detail_set("cannot switch the state database to WAL mode");
        TKM_ENSURE(0, TKM_ERR_STORE);
    }
    return TKM_RC_OK;
}

tkm_rc store_sqlite_open(store_backend **out, const char *path, int create, int fast_unsafe) {
    *out = NULL;
    tkm_rc r;
    struct stat sb;
    int exists = stat(path, &sb) == 0;
    if (create && exists) {
        tkm_err_detail_set("%s already exists", path);
        TKM_ENSURE(0, TKM_ERR_EXISTS);
    }
    if (!create && !exists) {
        tkm_err_detail_set("no state database at %s", path);
        TKM_ENSURE(0, TKM_ERR_NOT_FOUND);
    }
    sq_backend *q = calloc(1, sizeof *q);
    TKM_ENSURE(q, TKM_ERR_NOMEM);
    q->lock_fd = -1;
    pthread_mutex_init(&q->ck_mu, NULL);
    pthread_cond_init(&q->ck_cv, NULL);
    TKM_CHECK_GOTO(r, lock_state(q, path));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | (create ? SQLITE_OPEN_CREATE : 0);
    int rc;
    TKM_CHECK_GOTO(r, open_conn(&q->db, path, flags));
    TKM_CHECK_GOTO(r, pragma_wal(q->db));
    TKM_CHECK_GOTO(r, exec_sql(q->db, fast_unsafe ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
                               "synchronous"));
    TKM_CHECK_GOTO(r, exec_sql(q->db, "PRAGMA secure_delete=ON", "secure_delete"));
    TKM_CHECK_GOTO(r, exec_sql(q->db, "PRAGMA cell_size_check=ON", "cell_size_check"));
    TKM_CHECK_GOTO(r, exec_sql(q->db, "PRAGMA cache_size=-16384", "cache_size"));
    if (create)
        TKM_CHECK_GOTO(r, exec_sql(q->db, SCHEMA, "schema"));
    else
        TKM_CHECK_GOTO(r, refuse_empty(q->db, path));
    for (int i = 0; i < ST_COUNT; i++) {
        rc = sqlite3_prepare_v3(q->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &q->st[i], NULL);
        if (rc != SQLITE_OK) {
            r = sq_fail(q->db, rc, "prepare");
            if (!create && r.code == TKM_ERR_STORE) r = TKM_RC(TKM_ERR_STORE_FORMAT);
            goto out;
        }
    }
    TKM_CHECK_GOTO(r, run(q, ST_BEGIN, "lock"));
    TKM_CHECK_GOTO(r, run(q, ST_COMMIT, "lock"));
    /* checkpoints: on a second connection and thread, never on the committing one */
    TKM_CHECK_GOTO(r, open_conn(&q->ck_db, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE));
    TKM_CHECK_GOTO(r, exec_sql(q->ck_db, fast_unsafe ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
                               "synchronous"));
    if (pthread_create(&q->ck_t, NULL, ckpt_main, q) != 0) TKM_GOTO(r, TKM_ERR_NOMEM);
    q->ck_started = 1;
    sqlite3_wal_hook(q->db, on_wal, q); /* replaces the automatic checkpoint on the committing thread */
    q->b.begin = sq_begin;
    q->b.commit = sq_commit;
    q->b.rollback = sq_rollback;
    q->b.meta_get = sq_meta_get;
    q->b.meta_put = sq_meta_put;
    q->b.row_get = sq_row_get;
    q->b.row_insert = sq_row_insert;
    q->b.row_put = sq_row_put;
    q->b.row_delete = sq_row_delete;
    q->b.scan = sq_scan;
    q->b.seek_le = sq_seek_le;
    q->b.close = sq_close;
    *out = &q->b;
    q = NULL;
    r = TKM_RC_OK;
out:
    if (q) sq_close(&q->b);
    return r;
}
