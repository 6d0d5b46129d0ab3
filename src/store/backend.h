/*
 * backend.h — private to the store: the storage engine interface.
 *
 * A backend stores opaque rows (table id, key, value, mac) and a few named
 * meta blobs, with transactions. It checks nothing: integrity lives above it
 * (store.c). SQLite implements it today (backend_sqlite.c); a PostgreSQL
 * backend implements the same operations over
 *   rows(t smallint, k bytea, v bytea, mac bytea, primary key (t, k)),
 *   meta(k text primary key, v bytea)
 * with SERIALIZABLE transactions and synchronous_commit = on.
 *
 * Values returned through out-pointers are malloc'd (caller frees). Rows are
 * visited by scan in (t, k) byte order.
 */
#ifndef TKM_STORE_BACKEND_H
#define TKM_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

typedef struct store_backend store_backend;

typedef int (*backend_row_fn)(void *ctx, unsigned t, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn,
                              const uint8_t *mac, size_t macn);

struct store_backend {
    tkm_rc (*begin)(store_backend *b);
    tkm_rc (*commit)(store_backend *b);
    void (*rollback)(store_backend *b);
    tkm_rc (*meta_get)(store_backend *b, const char *k, uint8_t **v, size_t *vn, int *found);
    tkm_rc (*meta_put)(store_backend *b, const char *k, const uint8_t *v, size_t vn);
    tkm_rc (*row_get)(store_backend *b, unsigned t, const uint8_t *k, size_t kn, uint8_t **v, size_t *vn,
                      uint8_t mac[32], int *found);
    /* insert only: TKM_ERR_EXISTS when (t, k) is present */
    tkm_rc (*row_insert)(store_backend *b, unsigned t, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn,
                         const uint8_t mac[32]);
    /* insert or replace */
    tkm_rc (*row_put)(store_backend *b, unsigned t, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn,
                      const uint8_t mac[32]);
    /* delete (t, k); absent is not an error */
    tkm_rc (*row_delete)(store_backend *b, unsigned t, const uint8_t *k, size_t kn);
    /* t == 0: every table; from_k (may be NULL) = first key to visit within t */
    tkm_rc (*scan)(store_backend *b, unsigned t, const uint8_t *from_k, size_t from_kn, backend_row_fn fn, void *ctx);
    /* the largest key <= k in table t: *out (malloc'd) and *found */
    tkm_rc (*seek_le)(store_backend *b, unsigned t, const uint8_t *k, size_t kn, uint8_t **out, size_t *out_n,
                      int *found);
    void (*close)(store_backend *b);
};

/*
 * Open (create = 1: the file must not exist) the SQLite backend on path.
 * WAL, synchronous=FULL (NORMAL when fast_unsafe), secure_delete,
 * SQLITE_DBCONFIG_DEFENSIVE, one process per state (flock on path.lock: TKM_ERR_STORE_BUSY),
 * checkpoints on a second connection and thread, prepared statements only.
 * Opening (create = 0) a database that has no tables at all (a creation that
 * never committed its schema) fails with TKM_ERR_NOT_FOUND.
 */
tkm_rc store_sqlite_open(store_backend **out, const char *path, int create, int fast_unsafe);

#endif
