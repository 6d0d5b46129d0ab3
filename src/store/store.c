/* see tkm_store.h — integrity, sealing and caches over a backend. */
#include "tkm_store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../crypto/crypto.h"
#include "../crypto/tkm_aead.h"
#include "backend.h"

enum { T_KEY = 1, T_POLICY = 2, T_REQUEST = 3, T_NONCE = 4, T_APPROVAL = 5, T_AUDIT = 6, T_PENDING = 7, T_PROPOSAL = 8 };
static const char *const TABLE_NAMES[] = {"?",     "key",   "policy",  "request", "nonce",
                                          "approval", "audit", "pending", "proposal"};
#define N_TABLES (sizeof TABLE_NAMES / sizeof TABLE_NAMES[0])

#define REC_VER 1
#define HEAD_MAGIC "TKH1"
#define HEAD_LEN (4 + 8 + 32 + 8 + 8 + 8 + 32 + 32)
#define SEALED_KEY_LEN (TKM_AEAD_RANDOM_OVERHEAD + 32)
#define MAX_KEYS TKM_STORE_MAX_KEYS

/* 320-bit cumulative sums so that any number of 256-bit amounts can be added. */
typedef struct {
    uint64_t w[5];
} u320;

typedef struct {
    char rule[TKM_POLICY_NAME_MAX + 1];
    char asset[TKM_POLICY_NAME_MAX + 1];
    size_t n, cap;
    int64_t *t;
    u320 *cum;     /* cum[i] = sum of the amounts of every entry up to i, pruned ones included */
    u320 dropped;  /* sum of the pruned entries (those older than any window) */
} bucket;

typedef struct {
    uint64_t version, rows, audit_seq;
    int64_t max_time;
    uint8_t acc[32], audit_hash[32];
} head_state;

struct tkm_store {
    store_backend *b;
    tkm_counter counter;
    uint8_t instance[32];
    tkm_secret *keys; /* k_row ‖ (reserved) ‖ k_head ‖ k_seal */
    head_state h, saved;
    uint64_t policy_version, saved_policy_version;
    int in_txn, failed;
    int counter_behind; /* committed, but the counter has not caught up: nothing of it may be released */
    bucket *buckets;
    size_t n_buckets, cap_buckets, saved_n_buckets;
    size_t *saved_lens;
    tkm_store_key_info *keyinfo; /* sorted by label */
    size_t n_keys, cap_keys;
};

static const uint8_t *k_row(const tkm_store *s) { return tkm_secret_ptr(s->keys); }

/* Room for one more entry in the key cache (grows geometrically). */
static tkm_rc keycache_reserve(tkm_store *s) {
    if (s->n_keys < s->cap_keys) return TKM_RC_OK;
    size_t cap = s->cap_keys ? s->cap_keys * 2 : 64;
    tkm_store_key_info *nk = realloc(s->keyinfo, cap * sizeof *nk);
    TKM_ENSURE(nk, TKM_ERR_NOMEM);
    s->keyinfo = nk;
    s->cap_keys = cap;
    return TKM_RC_OK;
}

/* Binary search of the sorted cache: the index of label, or where it would go. */
static size_t keycache_find(const tkm_store *s, const char *label, int *found) {
    size_t lo = 0, hi = s->n_keys;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->keyinfo[mid].label, label);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int keyinfo_cmp(const void *a, const void *b) {
    return strcmp(((const tkm_store_key_info *)a)->label, ((const tkm_store_key_info *)b)->label);
}
static const uint8_t *k_head(const tkm_store *s) { return tkm_secret_ptr(s->keys) + 64; }
static const uint8_t *k_seal(const tkm_store *s) { return tkm_secret_ptr(s->keys) + 96; }

static tkm_rc tamper(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static tkm_rc tamper(const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tkm_err_detail_set("%s", msg);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(TKM_ERR_STORE_TAMPER);
}

/* ---- byte helpers ---- */

static void be64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}
static uint64_t rd_be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

/* acc += x (add = 1) or acc -= x, mod 2^256, both big-endian */
static void acc_update(uint8_t acc[32], const uint8_t x[32], int add) {
    unsigned carry = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned v = add ? (unsigned)acc[i] + x[i] + carry : (unsigned)acc[i] - x[i] - carry;
        acc[i] = (uint8_t)v;
        carry = add ? v >> 8 : (v >> 8) & 1;
    }
}

static void u320_add(u320 *r, const u320 *a, const tkm_u256 *b) {
    unsigned __int128 c = 0;
    for (int i = 0; i < 4; i++) {
        c += (unsigned __int128)a->w[i] + b->w[i];
        r->w[i] = (uint64_t)c;
        c >>= 64;
    }
    r->w[4] = a->w[4] + (uint64_t)c;
}
/* r = a - b (a >= b) */
static void u320_sub(u320 *r, const u320 *a, const u320 *b) {
    uint64_t borrow = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t x = a->w[i] - b->w[i];
        uint64_t nb = (a->w[i] < b->w[i]) || (x < borrow);
        r->w[i] = x - borrow;
        borrow = nb;
    }
}

/* ---- MACs ---- */

/*
 * One HMAC-SHA512 per row: the first half is the row MAC (stored next to the
 * row), the second half is the row's term in the set hash (never stored, so
 * the host cannot learn or choose terms). term may be NULL.
 */
static tkm_rc row_mac(tkm_store *s, uint8_t mac[32], uint8_t *term, unsigned t, const uint8_t *k, size_t kn,
                      const uint8_t *v, size_t vn) {
    /* rows hold no plaintext secrets (key material is sealed): no wiping needed for this copy */
    uint8_t stackbuf[2048], out[64];
    size_t n = 6 + kn + vn;
    TKM_ENSURE(kn <= UINT32_MAX && n > vn, TKM_ERR_TOO_LARGE);
    uint8_t *buf = n <= sizeof stackbuf ? stackbuf : malloc(n);
    TKM_ENSURE(buf, TKM_ERR_NOMEM);
    buf[0] = 'R';
    buf[1] = (uint8_t)t;
    buf[2] = (uint8_t)(kn >> 24);
    buf[3] = (uint8_t)(kn >> 16);
    buf[4] = (uint8_t)(kn >> 8);
    buf[5] = (uint8_t)kn;
    if (kn) memcpy(buf + 6, k, kn);
    if (vn) memcpy(buf + 6 + kn, v, vn);
    tkm_rc rc = tkm_hmac_sha512(out, k_row(s), 32, buf, n);
    if (buf != stackbuf) free(buf);
    TKM_TRY(rc);
    memcpy(mac, out, 32);
    if (term) memcpy(term, out + 32, 32);
    tkm_wipe(out, sizeof out);
    return TKM_RC_OK;
}

static void head_encode(uint8_t out[HEAD_LEN - 32], const head_state *h) {
    uint8_t *p = out;
    memcpy(p, HEAD_MAGIC, 4);
    p += 4;
    be64(p, h->version);
    p += 8;
    memcpy(p, h->acc, 32);
    p += 32;
    be64(p, h->rows);
    p += 8;
    be64(p, (uint64_t)h->max_time);
    p += 8;
    be64(p, h->audit_seq);
    p += 8;
    memcpy(p, h->audit_hash, 32);
}

static tkm_rc head_mac(const tkm_store *s, uint8_t mac[32], const uint8_t *body, size_t n) {
    uint8_t buf[19 + 32 + HEAD_LEN];
    memcpy(buf, "teekm-store-head-v1", 19);
    memcpy(buf + 19, s->instance, 32);
    memcpy(buf + 51, body, n);
    return tkm_hmac_sha256(mac, k_head(s), 32, buf, 51 + n);
}

static tkm_rc head_write(tkm_store *s) {
    uint8_t buf[HEAD_LEN];
    head_encode(buf, &s->h);
    TKM_TRY(head_mac(s, buf + HEAD_LEN - 32, buf, HEAD_LEN - 32));
    return s->b->meta_put(s->b, "head", buf, sizeof buf);
}

static tkm_rc head_read(tkm_store *s) {
    uint8_t *v = NULL;
    size_t n = 0;
    int found = 0;
    TKM_TRY(s->b->meta_get(s->b, "head", &v, &n, &found));
    tkm_rc rc = TKM_RC_OK;
    uint8_t mac[32];
    if (!found || n != HEAD_LEN || memcmp(v, HEAD_MAGIC, 4) != 0) {
        rc = tamper("the state head is missing or malformed");
        goto out;
    }
    TKM_CHECK_GOTO(rc, head_mac(s, mac, v, HEAD_LEN - 32));
    if (!tkm_ct_eq(mac, v + HEAD_LEN - 32, 32)) {
        rc = tamper("the state head fails its MAC (edited, or from another instance)");
        goto out;
    }
    const uint8_t *p = v + 4;
    s->h.version = rd_be64(p);
    memcpy(s->h.acc, p + 8, 32);
    s->h.rows = rd_be64(p + 40);
    s->h.max_time = (int64_t)rd_be64(p + 48);
    s->h.audit_seq = rd_be64(p + 56);
    memcpy(s->h.audit_hash, p + 64, 32);
out:
    free(v);
    return rc;
}

/* ---- rows ---- */

/* Read and verify one row. Out: *v (caller frees), *found. */
static tkm_rc get_row(tkm_store *s, unsigned t, const uint8_t *k, size_t kn, uint8_t **v, size_t *vn, int *found) {
    uint8_t mac[32], want[32];
    TKM_TRY(s->b->row_get(s->b, t, k, kn, v, vn, mac, found));
    if (!*found) return TKM_RC_OK;
    tkm_rc rc = row_mac(s, want, NULL, t, k, kn, *v, *vn);
    if (tkm_ok(rc) && !tkm_ct_eq(mac, want, 32)) rc = tamper("a %s row fails its MAC (edited on disk)", TABLE_NAMES[t]);
    if (tkm_failed(rc)) {
        free(*v);
        *v = NULL;
        *vn = 0;
        *found = 0;
    }
    return rc;
}

/* Write a row (insert only, or replace) and account for it in the head. */
static tkm_rc put_row(tkm_store *s, unsigned t, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn, int replace) {
    TKM_ENSURE(s->in_txn && !s->failed, s->failed ? TKM_ERR_STORE_CLOSED : TKM_ERR_STATE);
    uint8_t mac[32], term[32];
    if (replace) {
        uint8_t oldmac[32], *old = NULL;
        size_t on = 0;
        int found = 0;
        TKM_TRY(s->b->row_get(s->b, t, k, kn, &old, &on, oldmac, &found));
        if (found) {
            tkm_rc rc = row_mac(s, mac, term, t, k, kn, old, on);
            free(old);
            TKM_TRY(rc);
            if (!tkm_ct_eq(mac, oldmac, 32)) return tamper("a %s row fails its MAC (edited on disk)", TABLE_NAMES[t]);
            acc_update(s->h.acc, term, 0);
            s->h.rows--;
        }
    }
    TKM_TRY(row_mac(s, mac, term, t, k, kn, v, vn));
    TKM_TRY(replace ? s->b->row_put(s->b, t, k, kn, v, vn, mac) : s->b->row_insert(s->b, t, k, kn, v, vn, mac));
    acc_update(s->h.acc, term, 1);
    s->h.rows++;
    return TKM_RC_OK;
}

/* Delete a row when present (its MAC checked first) and take it out of the head. Out: *deleted. */
static tkm_rc del_row(tkm_store *s, unsigned t, const uint8_t *k, size_t kn, int *deleted) {
    *deleted = 0;
    TKM_ENSURE(s->in_txn && !s->failed, s->failed ? TKM_ERR_STORE_CLOSED : TKM_ERR_STATE);
    uint8_t mac[32], term[32], oldmac[32], *old = NULL;
    size_t on = 0;
    int found = 0;
    TKM_TRY(s->b->row_get(s->b, t, k, kn, &old, &on, oldmac, &found));
    if (!found) return TKM_RC_OK;
    tkm_rc rc = row_mac(s, mac, term, t, k, kn, old, on);
    free(old);
    TKM_TRY(rc);
    if (!tkm_ct_eq(mac, oldmac, 32)) return tamper("a %s row fails its MAC (edited on disk)", TABLE_NAMES[t]);
    TKM_TRY(s->b->row_delete(s->b, t, k, kn));
    acc_update(s->h.acc, term, 0);
    s->h.rows--;
    *deleted = 1;
    return TKM_RC_OK;
}

/* ---- window ledger ---- */

static bucket *bucket_find(tkm_store *s, const char *rule, const char *asset, int create) {
    for (size_t i = 0; i < s->n_buckets; i++)
        if (strcmp(s->buckets[i].rule, rule) == 0 && strcmp(s->buckets[i].asset, asset) == 0) return &s->buckets[i];
    if (!create) return NULL;
    if (s->n_buckets == s->cap_buckets) {
        size_t cap = s->cap_buckets ? s->cap_buckets * 2 : 8;
        bucket *nb = realloc(s->buckets, cap * sizeof *nb);
        size_t *nl = realloc(s->saved_lens, cap * sizeof *nl);
        if (nl) s->saved_lens = nl;
        if (!nb || !nl) {
            if (nb) s->buckets = nb;
            return NULL;
        }
        s->buckets = nb;
        s->cap_buckets = cap;
    }
    bucket *b = &s->buckets[s->n_buckets++];
    memset(b, 0, sizeof *b);
    snprintf(b->rule, sizeof b->rule, "%s", rule);
    snprintf(b->asset, sizeof b->asset, "%s", asset);
    return b;
}

static tkm_rc ledger_add(tkm_store *s, const char *rule, const char *asset, int64_t t, const tkm_u256 *amount) {
    bucket *b = bucket_find(s, rule, asset, 1);
    TKM_ENSURE(b, TKM_ERR_NOMEM);
    TKM_ENSURE(b->n == 0 || b->t[b->n - 1] <= t, TKM_ERR_INTERNAL); /* effective time never goes back */
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        int64_t *nt = realloc(b->t, cap * sizeof *nt);
        if (nt) b->t = nt;
        u320 *nc = realloc(b->cum, cap * sizeof *nc);
        if (nc) b->cum = nc;
        TKM_ENSURE(nt && nc, TKM_ERR_NOMEM);
        b->cap = cap;
    }
    u320_add(&b->cum[b->n], b->n ? &b->cum[b->n - 1] : &b->dropped, amount);
    b->t[b->n++] = t;
    return TKM_RC_OK;
}

/* Drop entries older than the longest window any policy may have (outside transactions). */
static void ledger_prune(tkm_store *s) {
    int64_t horizon = s->h.max_time - TKM_POLICY_MAX_WINDOW;
    for (size_t i = 0; i < s->n_buckets; i++) {
        bucket *b = &s->buckets[i];
        size_t k = 0;
        while (k < b->n && b->t[k] <= horizon) k++;
        if (k < 1024 && k < b->n / 2 + 1) continue; /* amortize the move */
        if (k == 0) continue;
        b->dropped = b->cum[k - 1];
        memmove(b->t, b->t + k, (b->n - k) * sizeof *b->t);
        memmove(b->cum, b->cum + k, (b->n - k) * sizeof *b->cum);
        b->n -= k;
    }
}

tkm_rc tkm_store_window_spent(tkm_store *s, const char *rule_id, const char *asset, int64_t since, tkm_u256 *spent) {
    *spent = tkm_u256_zero();
    bucket *b = bucket_find(s, rule_id, asset, 0);
    if (!b || b->n == 0 || b->t[b->n - 1] <= since) return TKM_RC_OK;
    /* j = first index with t > since */
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->t[mid] <= since)
            lo = mid + 1;
        else
            hi = mid;
    }
    u320 r;
    u320_sub(&r, &b->cum[b->n - 1], lo ? &b->cum[lo - 1] : &b->dropped);
    if (r.w[4]) {
        memset(spent->w, 0xff, sizeof spent->w); /* beyond 2^256: saturate (no limit can hold it) */
        return TKM_RC_OK;
    }
    memcpy(spent->w, r.w, sizeof spent->w);
    return TKM_RC_OK;
}

/* ---- records ---- */

typedef struct {
    int64_t t;
    tkm_u256 amount;
    char rule[TKM_POLICY_NAME_MAX + 1], asset[TKM_POLICY_NAME_MAX + 1];
} spend_tmp;

static tkm_rc rd_str8(tkm_rd *r, char *out, size_t cap) {
    uint8_t n;
    out[0] = 0;
    TKM_TRY(tkm_rd_u8(r, &n));
    TKM_ENSURE((size_t)n < cap, TKM_ERR_STORE_RECORD);
    TKM_TRY(tkm_rd_bytes(r, (uint8_t *)out, n));
    out[n] = 0;
    TKM_ENSURE(strlen(out) == n, TKM_ERR_STORE_RECORD);
    return TKM_RC_OK;
}

static tkm_rc wr_str8(tkm_wr *w, const char *s) {
    size_t n = strlen(s);
    TKM_ENSURE(n <= 255, TKM_ERR_TOO_LARGE);
    TKM_TRY(tkm_wr_u8(w, (uint8_t)n));
    return tkm_wr_put(w, s, n);
}

static tkm_rc request_decode(tkm_store_request *o, const char *id, size_t idn, const uint8_t *v, size_t vn) {
    tkm_rd r;
    uint8_t ver, charged, amount[32];
    uint64_t t;
    uint16_t rl;
    memset(o, 0, sizeof *o);
    TKM_ENSURE(idn <= TKM_REQUEST_ID_MAX, TKM_ERR_STORE_RECORD);
    memcpy(o->request_id, id, idn);
    tkm_rd_init(&r, v, vn);
    TKM_TRY(tkm_rd_u8(&r, &ver));
    TKM_ENSURE(ver == REC_VER, TKM_ERR_STORE_RECORD);
    TKM_TRY(tkm_rd_bytes(&r, o->key, 20));
    TKM_TRY(tkm_rd_bytes(&r, o->payload_hash, 32));
    TKM_TRY(tkm_rd_u64be(&r, &t));
    o->time = (int64_t)t;
    TKM_TRY(tkm_rd_u64be(&r, &o->policy_version));
    TKM_TRY(rd_str8(&r, o->rule_id, sizeof o->rule_id));
    TKM_TRY(rd_str8(&r, o->asset, sizeof o->asset));
    TKM_TRY(tkm_rd_u8(&r, &charged));
    TKM_ENSURE(charged <= 1, TKM_ERR_STORE_RECORD);
    o->charged = charged;
    TKM_TRY(tkm_rd_bytes(&r, amount, 32));
    tkm_u256_from_be32(&o->amount, amount);
    TKM_TRY(tkm_rd_u16be(&r, &rl));
    TKM_ENSURE(rl <= TKM_STORE_RESULT_MAX, TKM_ERR_STORE_RECORD);
    TKM_TRY(tkm_rd_bytes(&r, o->result, rl));
    o->result_len = rl;
    return tkm_rd_done(&r);
}

static tkm_rc key_decode(tkm_store_key_info *o, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn,
                         const uint8_t **sealed, size_t *sealed_len) {
    tkm_rd r;
    uint8_t ver, role, st;
    uint64_t created;
    uint16_t sl;
    memset(o, 0, sizeof *o);
    TKM_ENSURE(kn >= 1 && kn <= TKM_POLICY_NAME_MAX, TKM_ERR_STORE_RECORD);
    memcpy(o->label, k, kn);
    TKM_ENSURE(strlen(o->label) == kn, TKM_ERR_STORE_RECORD);
    tkm_rd_init(&r, v, vn);
    TKM_TRY(tkm_rd_u8(&r, &ver));
    TKM_ENSURE(ver == REC_VER, TKM_ERR_STORE_RECORD);
    TKM_TRY(tkm_rd_bytes(&r, o->address, 20));
    TKM_TRY(tkm_rd_u8(&r, &role));
    TKM_TRY(tkm_rd_u8(&r, &st));
    TKM_ENSURE(role <= TKM_KEY_ROLE_AUDIT && st <= TKM_STORE_KEY_RETIRED, TKM_ERR_STORE_RECORD);
    o->role = (tkm_key_role)role;
    o->status = (tkm_store_key_status)st;
    TKM_TRY(tkm_rd_u64be(&r, &created));
    o->created = (int64_t)created;
    TKM_TRY(tkm_rd_u16be(&r, &sl));
    TKM_TRY(tkm_rd_view(&r, sl, sealed));
    *sealed_len = sl;
    return tkm_rd_done(&r);
}

/* ---- open-time verification ---- */

typedef struct {
    tkm_store *s;
    tkm_rc rc;
    uint8_t acc[32];
    uint64_t rows;
    uint64_t last_audit;
    uint8_t last_audit_hash[32];
    uint64_t policy_version;
    spend_tmp *spends;
    size_t n_spends, cap_spends;
} verify_ctx;

static int verify_row(void *ctx, unsigned t, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn,
                      const uint8_t *mac, size_t macn) {
    verify_ctx *c = ctx;
    tkm_store *s = c->s;
    uint8_t want[32], term[32];
    if (macn != 32) {
        c->rc = tamper("a %s row has a malformed MAC", t < N_TABLES ? TABLE_NAMES[t] : "?");
        return 1;
    }
    c->rc = row_mac(s, want, term, t, k, kn, v, vn);
    if (tkm_failed(c->rc)) return 1;
    if (!tkm_ct_eq(want, mac, 32)) {
        c->rc = tamper("a %s row fails its MAC (edited on disk, or not written by this instance)",
                       t < N_TABLES ? TABLE_NAMES[t] : "unknown");
        return 1;
    }
    acc_update(c->acc, term, 1);
    c->rows++;
    switch (t) {
    case T_AUDIT: {
        uint64_t seq = kn == 8 ? rd_be64(k) : 0;
        uint32_t count = vn >= 36 ? ((uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3]) : 0;
        if (kn != 8 || count == 0 || seq != c->last_audit + 1) {
            c->rc = tamper("the audit log is not contiguous after record %llu", (unsigned long long)c->last_audit);
            return 1;
        }
        c->last_audit = seq + count - 1;
        memcpy(c->last_audit_hash, v + 4, 32);
        break;
    }
    case T_POLICY:
        if (kn == 8 && rd_be64(k) > c->policy_version) c->policy_version = rd_be64(k);
        break;
    case T_KEY: {
        tkm_store_key_info info;
        const uint8_t *sealed;
        size_t sl;
        c->rc = key_decode(&info, k, kn, v, vn, &sealed, &sl);
        if (tkm_failed(c->rc)) return 1;
        if (s->n_keys >= MAX_KEYS) {
            tkm_err_detail_set("more than %d keys", MAX_KEYS);
            c->rc = TKM_RC(TKM_ERR_LIMIT);
            return 1;
        }
        c->rc = keycache_reserve(s);
        if (tkm_failed(c->rc)) return 1;
        s->keyinfo[s->n_keys++] = info;
        break;
    }
    case T_REQUEST: {
        static tkm_store_request rq; /* large; open runs on one thread per store */
        c->rc = request_decode(&rq, (const char *)k, kn, v, vn);
        if (tkm_failed(c->rc)) return 1;
        if (rq.charged) {
            if (c->n_spends == c->cap_spends) {
                size_t cap = c->cap_spends ? c->cap_spends * 2 : 256;
                spend_tmp *ns = realloc(c->spends, cap * sizeof *ns);
                if (!ns) {
                    c->rc = TKM_RC(TKM_ERR_NOMEM);
                    return 1;
                }
                c->spends = ns;
                c->cap_spends = cap;
            }
            spend_tmp *sp = &c->spends[c->n_spends++];
            sp->t = rq.time;
            sp->amount = rq.amount;
            memcpy(sp->rule, rq.rule_id, sizeof sp->rule);
            memcpy(sp->asset, rq.asset, sizeof sp->asset);
        }
        break;
    }
    case T_NONCE:
    case T_APPROVAL:
    case T_PENDING:  /* decoded by whoever loads them (tkm_store_pending_scan) */
    case T_PROPOSAL:
        break;
    default:
        c->rc = tamper("a row of unknown table %u", t);
        return 1;
    }
    return 0;
}

static int spend_cmp(const void *a, const void *b) {
    const spend_tmp *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

static tkm_rc verify_all(tkm_store *s) {
    verify_ctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.rc = TKM_RC_OK;
    tkm_rc rc = s->b->scan(s->b, 0, NULL, 0, verify_row, &c);
    if (tkm_ok(rc)) rc = c.rc;
    if (tkm_ok(rc) && (c.rows != s->h.rows || !tkm_ct_eq(c.acc, s->h.acc, 32)))
        rc = tamper("the state rows do not match the head (%llu rows, head says %llu): rows were deleted, added or "
                    "restored from an older copy",
                    (unsigned long long)c.rows, (unsigned long long)s->h.rows);
    if (tkm_ok(rc) && (c.last_audit != s->h.audit_seq || (c.last_audit && memcmp(c.last_audit_hash, s->h.audit_hash, 32))))
        rc = tamper("the audit log tail does not match the head");
    if (tkm_ok(rc)) {
        s->policy_version = c.policy_version;
        /* rows come in key byte order, which is label order; sort anyway: lookups binary-search */
        if (s->n_keys > 1) qsort(s->keyinfo, s->n_keys, sizeof *s->keyinfo, keyinfo_cmp);
        for (size_t i = 1; tkm_ok(rc) && i < s->n_keys; i++)
            if (strcmp(s->keyinfo[i - 1].label, s->keyinfo[i].label) == 0) rc = tamper("two key rows share a label");
        if (c.n_spends) qsort(c.spends, c.n_spends, sizeof *c.spends, spend_cmp);
        for (size_t i = 0; tkm_ok(rc) && i < c.n_spends; i++)
            if (c.spends[i].t > s->h.max_time - TKM_POLICY_MAX_WINDOW)
                rc = ledger_add(s, c.spends[i].rule, c.spends[i].asset, c.spends[i].t, &c.spends[i].amount);
    }
    free(c.spends);
    return rc;
}

/* ---- open / create ---- */

static tkm_rc derive_keys(tkm_store *s, const tkm_secret *state_key) {
    static const char info[] = "teekm store keys v1";
    TKM_TRY(tkm_secret_new(&s->keys, 128));
    return tkm_hkdf_sha256(tkm_secret_mut(s->keys), 128, s->instance, 32, tkm_secret_ptr(state_key), 32,
                           (const uint8_t *)info, sizeof info - 1);
}

static void wrap_aad(uint8_t aad[18 + 32], const uint8_t instance[32]) {
    memcpy(aad, "teekm-state-key-v1", 18);
    memcpy(aad + 18, instance, 32);
}

static tkm_rc db_path(char *out, size_t cap, const char *dir) {
    int n = snprintf(out, cap, "%s/%s", dir, TKM_STORE_DB_NAME);
    TKM_ENSURE(n > 0 && (size_t)n < cap, TKM_ERR_TOO_LARGE);
    return TKM_RC_OK;
}

static tkm_store *store_alloc(const tkm_store_opts *o) {
    tkm_store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->counter = o->counter;
    return s;
}

void tkm_store_close(tkm_store *s) {
    if (!s) return;
    if (s->in_txn && s->b) s->b->rollback(s->b);
    if (s->b) s->b->close(s->b);
    if (s->counter.close) s->counter.close(s->counter.ctx);
    tkm_secret_free(s->keys);
    for (size_t i = 0; i < s->n_buckets; i++) {
        free(s->buckets[i].t);
        free(s->buckets[i].cum);
    }
    free(s->buckets);
    free(s->saved_lens);
    free(s->keyinfo);
    free(s);
}

static void remove_db_files(const char *path) {
    char p2[4200];
    unlink(path);
    snprintf(p2, sizeof p2, "%s-wal", path);
    unlink(p2);
    snprintf(p2, sizeof p2, "%s-shm", path);
    unlink(p2);
}

/* Out: *initialized = 1 when path holds a committed teekm state (its format row exists). */
static tkm_rc probe(const char *path, int *initialized) {
    store_backend *b = NULL;
    uint8_t *v = NULL;
    size_t vn = 0;
    *initialized = 0;
    tkm_rc rc = store_sqlite_open(&b, path, 0, 1);
    if (rc.code == TKM_ERR_NOT_FOUND) return TKM_RC_OK; /* no tables: never initialised */
    TKM_TRY(rc);
    rc = b->meta_get(b, "format", &v, &vn, initialized);
    free(v);
    b->close(b);
    return rc;
}

tkm_rc tkm_store_create(tkm_store **out, const tkm_store_opts *o, const uint8_t *instance_id) {
    *out = NULL;
    TKM_ARG_CHECK(o && o->dir && o->seal_key && tkm_secret_len(o->seal_key) == 32 && o->counter.read &&
                  o->counter.advance);
    tkm_rc rc;
    tkm_secret *sk = NULL;
    char path[4096];
    int created = 0;
    uint8_t wrapped[SEALED_KEY_LEN], aad[50], fmt[4] = {0, 0, 0, TKM_STORE_FORMAT};
    tkm_store *s = store_alloc(o);
    if (!s) {
        if (o->counter.close) o->counter.close(o->counter.ctx);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    if (mkdir(o->dir, 0700) != 0 && errno != EEXIST) {
        tkm_err_detail_set("cannot create %s: %s", o->dir, strerror(errno));
        TKM_GOTO(rc, TKM_ERR_IO);
    }
    TKM_CHECK_GOTO(rc, db_path(path, sizeof path, o->dir));
    struct stat sb;
    if (stat(path, &sb) == 0) {
        int initialized = 0;
        rc = probe(path, &initialized);
        if (tkm_failed(rc) || initialized) {
            tkm_err_detail_set("%s already holds a state database", o->dir);
            TKM_GOTO(rc, TKM_ERR_EXISTS);
        }
        /* an initialisation that never committed: nothing in it was ever used */
        remove_db_files(path);
    }
    if (instance_id)
        memcpy(s->instance, instance_id, 32);
    else
        TKM_CHECK_GOTO(rc, tkm_entropy_bytes(s->instance, 32));
    uint64_t cv;
    int cexists;
    TKM_CHECK_GOTO(rc, s->counter.read(s->counter.ctx, s->instance, &cv, &cexists));
    if (cexists) {
        tkm_err_detail_set("a monotonic counter already exists for this instance id: refusing to start it again");
        TKM_GOTO(rc, TKM_ERR_EXISTS);
    }
    created = 1;
    TKM_CHECK_GOTO(rc, store_sqlite_open(&s->b, path, 1, o->fast_unsafe));
    TKM_CHECK_GOTO(rc, tkm_secret_new(&sk, 32));
    TKM_CHECK_GOTO(rc, tkm_entropy_bytes(tkm_secret_mut(sk), 32));
    wrap_aad(aad, s->instance);
    TKM_CHECK_GOTO(rc, tkm_aead_seal_random(wrapped, sizeof wrapped, tkm_secret_ptr(o->seal_key), aad, sizeof aad,
                                            tkm_secret_ptr(sk), 32));
    TKM_CHECK_GOTO(rc, derive_keys(s, sk));
    TKM_CHECK_GOTO(rc, tkm_store_begin(s));
    TKM_CHECK_GOTO(rc, s->b->meta_put(s->b, "format", fmt, sizeof fmt));
    TKM_CHECK_GOTO(rc, s->b->meta_put(s->b, "instance", s->instance, 32));
    TKM_CHECK_GOTO(rc, s->b->meta_put(s->b, "state_key", wrapped, sizeof wrapped));
    /* version 0: the caller's first commit makes it 1, atomically with its first records */
    *out = s;
    s = NULL;
    rc = TKM_RC_OK;
out:
    tkm_secret_free(sk);
    if (s && tkm_failed(rc) && created) {
        /* do not leave a half-created store behind */
        if (s->b) s->b->close(s->b);
        s->b = NULL;
        s->in_txn = 0;
        remove_db_files(path);
    }
    tkm_store_close(s);
    return rc;
}

static tkm_rc probe_open(tkm_store *s, int *initialized) {
    uint8_t *v = NULL;
    size_t vn = 0;
    tkm_rc rc = s->b->meta_get(s->b, "format", &v, &vn, initialized);
    free(v);
    return rc;
}

static tkm_rc read_meta_fixed(tkm_store *s, const char *k, uint8_t *out, size_t n) {
    uint8_t *v = NULL;
    size_t vn = 0;
    int found = 0;
    TKM_TRY(s->b->meta_get(s->b, k, &v, &vn, &found));
    int ok = found && vn == n;
    if (ok) memcpy(out, v, n);
    free(v);
    if (!ok) return tamper("state meta %s is missing or malformed", k);
    return TKM_RC_OK;
}

tkm_rc tkm_store_open(tkm_store **out, const tkm_store_opts *o) {
    *out = NULL;
    TKM_ARG_CHECK(o && o->dir && o->seal_key && tkm_secret_len(o->seal_key) == 32 && o->counter.read &&
                  o->counter.advance);
    tkm_rc rc;
    tkm_secret *sk = NULL;
    char path[4096];
    uint8_t wrapped[SEALED_KEY_LEN], aad[50], fmt[4];
    tkm_store *s = store_alloc(o);
    if (!s) {
        if (o->counter.close) o->counter.close(o->counter.ctx);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    TKM_CHECK_GOTO(rc, db_path(path, sizeof path, o->dir));
    TKM_CHECK_GOTO(rc, store_sqlite_open(&s->b, path, 0, o->fast_unsafe));
    int initialized = 0;
    rc = probe_open(s, &initialized);
    if (tkm_ok(rc) && !initialized) {
        tkm_err_detail_set("%s was never initialised (an interrupted initialisation): initialise it again", path);
        TKM_GOTO(rc, TKM_ERR_NOT_FOUND);
    }
    if (tkm_ok(rc)) rc = read_meta_fixed(s, "format", fmt, 4);
    if (tkm_failed(rc) || fmt[0] || fmt[1] || fmt[2] || fmt[3] != TKM_STORE_FORMAT) {
        tkm_err_detail_set("%s is not a teekm state database of format %d", path, TKM_STORE_FORMAT);
        TKM_GOTO(rc, TKM_ERR_STORE_FORMAT);
    }
    TKM_CHECK_GOTO(rc, read_meta_fixed(s, "instance", s->instance, 32));
    TKM_CHECK_GOTO(rc, read_meta_fixed(s, "state_key", wrapped, sizeof wrapped));
    wrap_aad(aad, s->instance);
    TKM_CHECK_GOTO(rc, tkm_secret_new(&sk, 32));
    rc = tkm_aead_open_random(tkm_secret_mut(sk), 32, tkm_secret_ptr(o->seal_key), aad, sizeof aad, wrapped,
                              sizeof wrapped);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("cannot unwrap the state key: this platform's seal key differs (another machine or "
                           "enclave build) or the database was modified");
        TKM_GOTO(rc, TKM_ERR_STORE_CLONE);
    }
    TKM_CHECK_GOTO(rc, derive_keys(s, sk));
    TKM_CHECK_GOTO(rc, head_read(s));
    TKM_CHECK_GOTO(rc, verify_all(s));
    uint64_t cv = 0;
    int cexists = 0;
    TKM_CHECK_GOTO(rc, s->counter.read(s->counter.ctx, s->instance, &cv, &cexists));
    if (!cexists && s->h.version == 1) {
        /* a crash between the first commit and the first counter write: nothing was used yet */
        cv = 0;
    } else if (!cexists) {
        tkm_err_detail_set("the monotonic counter of this instance is missing: the database may be a restored "
                           "copy (state version %llu); refusing to open",
                           (unsigned long long)s->h.version);
        TKM_GOTO(rc, TKM_ERR_STORE_COUNTER);
    }
    if (s->h.version < cv) {
        tkm_err_detail_set("state version %llu is older than the monotonic counter %llu: an older copy of the "
                           "database was restored; refusing to open",
                           (unsigned long long)s->h.version, (unsigned long long)cv);
        TKM_GOTO(rc, TKM_ERR_STORE_ROLLBACK);
    }
    if (s->h.version > cv) TKM_CHECK_GOTO(rc, s->counter.advance(s->counter.ctx, s->instance, s->h.version));
    *out = s;
    s = NULL;
    rc = TKM_RC_OK;
out:
    tkm_secret_free(sk);
    tkm_store_close(s);
    return rc;
}

const uint8_t *tkm_store_instance_id(const tkm_store *s) { return s->instance; }
uint64_t tkm_store_version(const tkm_store *s) { return s->h.version; }
int64_t tkm_store_max_time(const tkm_store *s) { return s->h.max_time; }
int tkm_store_in_txn(const tkm_store *s) { return s->in_txn; }

/* ---- transactions ---- */

tkm_rc tkm_store_begin(tkm_store *s) {
    TKM_ENSURE(!s->failed, TKM_ERR_STORE_CLOSED);
    TKM_ARG_CHECK(!s->in_txn);
    if (s->counter_behind) {
        /* the last commit's counter write failed: catch up before anything new is decided */
        tkm_rc rc = s->counter.advance(s->counter.ctx, s->instance, s->h.version);
        if (rc.code == TKM_ERR_STORE_ROLLBACK || rc.code == TKM_ERR_STORE_COUNTER) s->failed = 1;
        TKM_TRY(rc);
        s->counter_behind = 0;
    }
    TKM_TRY(s->b->begin(s->b));
    s->in_txn = 1;
    s->saved = s->h;
    s->saved_policy_version = s->policy_version;
    s->saved_n_buckets = s->n_buckets;
    for (size_t i = 0; i < s->n_buckets; i++) s->saved_lens[i] = s->buckets[i].n;
    return TKM_RC_OK;
}

static tkm_rc reload_keys(tkm_store *s);

static void restore_memory(tkm_store *s) {
    s->h = s->saved;
    s->policy_version = s->saved_policy_version;
    for (size_t i = s->saved_n_buckets; i < s->n_buckets; i++) {
        free(s->buckets[i].t);
        free(s->buckets[i].cum);
    }
    s->n_buckets = s->saved_n_buckets;
    for (size_t i = 0; i < s->n_buckets; i++) s->buckets[i].n = s->saved_lens[i];
}

void tkm_store_rollback(tkm_store *s) {
    if (!s->in_txn) return;
    s->b->rollback(s->b);
    s->in_txn = 0;
    restore_memory(s);
    if (tkm_failed(reload_keys(s))) s->failed = 1;
}

tkm_rc tkm_store_commit(tkm_store *s) {
    TKM_ARG_CHECK(s->in_txn);
    TKM_ENSURE(!s->failed, TKM_ERR_STORE_CLOSED);
    s->h.version++;
    tkm_rc rc = head_write(s);
    if (tkm_ok(rc)) rc = s->b->commit(s->b);
    if (tkm_failed(rc)) {
        /* what reached the disk is unknown: stop writing until a reopen re-verifies */
        s->b->rollback(s->b);
        s->in_txn = 0;
        restore_memory(s);
        s->failed = 1;
        return rc;
    }
    s->in_txn = 0;
    ledger_prune(s);
    rc = s->counter.advance(s->counter.ctx, s->instance, s->h.version);
    if (tkm_failed(rc)) {
        /*
         * The database is ahead of the counter: the caller must not release
         * anything of this commit. The state itself is consistent (the same
         * as a crash between the two writes), so the next begin retries the
         * counter and refuses to go on until it has caught up; a counter that
         * refuses for good (it saw a newer state: a rollback or a clone)
         * closes the store.
         */
        if (rc.code == TKM_ERR_STORE_ROLLBACK || rc.code == TKM_ERR_STORE_COUNTER)
            s->failed = 1;
        else
            s->counter_behind = 1;
        return rc;
    }
    return TKM_RC_OK;
}

int tkm_store_counter_behind(const tkm_store *s) { return s->counter_behind; }

int64_t tkm_store_observe_time(tkm_store *s, int64_t host_now) {
    int64_t t = host_now > s->h.max_time ? host_now : s->h.max_time;
    if (s->in_txn) s->h.max_time = t;
    return t;
}

/* ---- requests ---- */

tkm_rc tkm_store_request_get(tkm_store *s, const char *request_id, int *found, tkm_store_request *out) {
    uint8_t *v = NULL;
    size_t vn = 0, idn = strlen(request_id);
    *found = 0;
    TKM_ENSURE(idn >= 1 && idn <= TKM_REQUEST_ID_MAX, TKM_ERR_REQUEST);
    TKM_TRY(get_row(s, T_REQUEST, (const uint8_t *)request_id, idn, &v, &vn, found));
    if (!*found) return TKM_RC_OK;
    tkm_rc rc = request_decode(out, request_id, idn, v, vn);
    free(v);
    if (tkm_failed(rc)) *found = 0;
    return rc;
}

static void nonce_key(uint8_t k[36], const uint8_t key[20], uint64_t chain, uint64_t nonce) {
    memcpy(k, key, 20);
    be64(k + 20, chain);
    be64(k + 28, nonce);
}

static tkm_rc nonce_get(tkm_store *s, const uint8_t key[20], uint64_t chain, uint64_t nonce, int *found,
                        uint8_t ph[32]) {
    uint8_t k[36], *v = NULL;
    size_t vn = 0;
    nonce_key(k, key, chain, nonce);
    TKM_TRY(get_row(s, T_NONCE, k, sizeof k, &v, &vn, found));
    if (!*found) return TKM_RC_OK;
    tkm_rc rc = TKM_RC_OK;
    if (vn < 33 || v[0] != REC_VER)
        rc = TKM_RC(TKM_ERR_STORE_RECORD);
    else
        memcpy(ph, v + 1, 32);
    free(v);
    return rc;
}

tkm_rc tkm_store_approval_used(tkm_store *s, const uint8_t digest[32], const uint8_t signer[20], int *used) {
    uint8_t *v = NULL, k[52];
    size_t vn = 0;
    memcpy(k, digest, 32);
    memcpy(k + 32, signer, 20);
    TKM_TRY(get_row(s, T_APPROVAL, k, sizeof k, &v, &vn, used));
    free(v);
    return TKM_RC_OK;
}

tkm_rc tkm_store_approval_use(tkm_store *s, const uint8_t digest[32], const uint8_t signer[20], const char *context) {
    tkm_wr w;
    uint8_t k[52];
    memcpy(k, digest, 32);
    memcpy(k + 32, signer, 20);
    tkm_wr_init(&w, 4096);
    tkm_rc rc = tkm_wr_u8(&w, REC_VER);
    if (tkm_ok(rc)) rc = wr_str8(&w, context);
    if (tkm_ok(rc)) rc = put_row(s, T_APPROVAL, k, sizeof k, w.p, w.len, 0);
    tkm_wr_free(&w);
    return rc;
}

tkm_rc tkm_store_record_allowed(tkm_store *s, const tkm_intent *it, const tkm_decision *d, uint64_t policy_version,
                                const char *asset_name, const uint8_t *result, size_t result_len) {
    TKM_ARG_CHECK(d->allow && !d->idempotent && result_len <= TKM_STORE_RESULT_MAX && (result || !result_len));
    TKM_ENSURE(s->in_txn && !s->failed, s->failed ? TKM_ERR_STORE_CLOSED : TKM_ERR_STATE);
    tkm_rc rc;
    tkm_wr w;
    uint8_t amount[32];
    tkm_wr_init(&w, 8192);
    tkm_u256_to_be32(&d->amount, amount);
    const char *asset = d->charge && asset_name ? asset_name : "";
    rc = tkm_wr_u8(&w, REC_VER);
    if (tkm_ok(rc)) rc = tkm_wr_put(&w, it->key, 20);
    if (tkm_ok(rc)) rc = tkm_wr_put(&w, it->payload_hash, 32);
    if (tkm_ok(rc)) rc = tkm_wr_u64be(&w, (uint64_t)d->now);
    if (tkm_ok(rc)) rc = tkm_wr_u64be(&w, policy_version);
    if (tkm_ok(rc)) rc = wr_str8(&w, d->rule_id);
    if (tkm_ok(rc)) rc = wr_str8(&w, asset);
    if (tkm_ok(rc)) rc = tkm_wr_u8(&w, d->charge ? 1 : 0);
    if (tkm_ok(rc)) rc = tkm_wr_put(&w, amount, 32);
    if (tkm_ok(rc)) rc = tkm_wr_u16be(&w, (uint16_t)result_len);
    if (tkm_ok(rc)) rc = tkm_wr_put(&w, result, result_len);
    if (tkm_ok(rc))
        rc = put_row(s, T_REQUEST, (const uint8_t *)it->request_id, strlen(it->request_id), w.p, w.len, 0);
    if (tkm_ok(rc) && it->payload == TKM_PAYLOAD_TX && it->has_nonce && it->has_chain_id) {
        /* insert first (the common case); an existing row must carry the same payload */
        uint8_t k[36];
        nonce_key(k, it->key, it->chain_id, it->nonce);
        tkm_wr_reset(&w);
        rc = tkm_wr_u8(&w, REC_VER);
        if (tkm_ok(rc)) rc = tkm_wr_put(&w, it->payload_hash, 32);
        if (tkm_ok(rc)) rc = wr_str8(&w, it->request_id);
        if (tkm_ok(rc)) rc = put_row(s, T_NONCE, k, sizeof k, w.p, w.len, 0);
        if (rc.code == TKM_ERR_EXISTS) {
            int found = 0;
            uint8_t ph[32];
            rc = nonce_get(s, it->key, it->chain_id, it->nonce, &found, ph);
            if (tkm_ok(rc) && (!found || memcmp(ph, it->payload_hash, 32) != 0)) rc = TKM_RC(TKM_ERR_NONCE_CONFLICT);
        }
    }
    if (tkm_ok(rc) && d->charge) rc = ledger_add(s, d->rule_id, asset, d->now, &d->amount);
    for (size_t i = 0; tkm_ok(rc) && i < d->n_used; i++)
        rc = tkm_store_approval_use(s, d->used_digest[i], d->used_signer[i], it->request_id);
    tkm_wr_free(&w);
    return rc;
}

/* policy-state adapter */
static tkm_rc ps_request_get(void *ctx, const char *id, int *found, uint8_t key[20], uint8_t ph[32]) {
    static _Thread_local tkm_store_request rq;
    TKM_TRY(tkm_store_request_get(ctx, id, found, &rq));
    if (*found) {
        memcpy(key, rq.key, 20);
        memcpy(ph, rq.payload_hash, 32);
    }
    return TKM_RC_OK;
}
static tkm_rc ps_nonce_get(void *ctx, const uint8_t key[20], uint64_t chain, uint64_t nonce, int *found,
                           uint8_t ph[32]) {
    return nonce_get(ctx, key, chain, nonce, found, ph);
}
static tkm_rc ps_window(void *ctx, const char *rule, const char *asset, int64_t since, tkm_u256 *spent) {
    return tkm_store_window_spent(ctx, rule, asset, since, spent);
}
static tkm_rc ps_used(void *ctx, const uint8_t d[32], const uint8_t signer[20], int *used) {
    return tkm_store_approval_used(ctx, d, signer, used);
}

void tkm_store_policy_state(tkm_store *s, tkm_policy_state *st) {
    st->ctx = s;
    st->request_get = ps_request_get;
    st->nonce_get = ps_nonce_get;
    st->window_spent = ps_window;
    st->approval_used = ps_used;
}

/* ---- keys ---- */

static void key_aad(uint8_t aad[12 + 32 + TKM_POLICY_NAME_MAX + 1 + 20], size_t *n, const tkm_store *s,
                    const char *label, const uint8_t addr[20]) {
    size_t ln = strlen(label);
    memcpy(aad, "teekm-key-v1", 12);
    memcpy(aad + 12, s->instance, 32);
    memcpy(aad + 44, label, ln);
    aad[44 + ln] = 0;
    memcpy(aad + 45 + ln, addr, 20);
    *n = 65 + ln;
}

static int label_ok(const char *l) {
    size_t n = strlen(l);
    if (n < 1 || n > TKM_POLICY_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = l[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static tkm_rc key_row(tkm_wr *w, const tkm_store_key_info *info, const uint8_t *sealed, size_t sl) {
    TKM_TRY(tkm_wr_u8(w, REC_VER));
    TKM_TRY(tkm_wr_put(w, info->address, 20));
    TKM_TRY(tkm_wr_u8(w, (uint8_t)info->role));
    TKM_TRY(tkm_wr_u8(w, (uint8_t)info->status));
    TKM_TRY(tkm_wr_u64be(w, (uint64_t)info->created));
    TKM_TRY(tkm_wr_u16be(w, (uint16_t)sl));
    return tkm_wr_put(w, sealed, sl);
}

static tkm_rc keycache_set(tkm_store *s, const tkm_store_key_info *info) {
    int found;
    size_t i = keycache_find(s, info->label, &found);
    if (found) {
        s->keyinfo[i] = *info;
        return TKM_RC_OK;
    }
    if (s->n_keys >= MAX_KEYS) {
        tkm_err_detail_set("more than %d keys", MAX_KEYS);
        TKM_ENSURE(0, TKM_ERR_LIMIT);
    }
    TKM_TRY(keycache_reserve(s));
    memmove(&s->keyinfo[i + 1], &s->keyinfo[i], (s->n_keys - i) * sizeof *s->keyinfo);
    s->keyinfo[i] = *info;
    s->n_keys++;
    return TKM_RC_OK;
}

tkm_rc tkm_store_key_put(tkm_store *s, const tkm_store_key_info *info, const tkm_secret *sk) {
    TKM_ARG_CHECK(tkm_secret_len(sk) == 32);
    TKM_ENSURE(label_ok(info->label), TKM_ERR_FORMAT);
    uint8_t aad[12 + 32 + TKM_POLICY_NAME_MAX + 1 + 20], sealed[SEALED_KEY_LEN];
    size_t an;
    key_aad(aad, &an, s, info->label, info->address);
    TKM_TRY(tkm_aead_seal_random(sealed, sizeof sealed, k_seal(s), aad, an, tkm_secret_ptr(sk), 32));
    tkm_wr w;
    tkm_wr_init(&w, 4096);
    tkm_rc rc = key_row(&w, info, sealed, sizeof sealed);
    if (tkm_ok(rc)) rc = put_row(s, T_KEY, (const uint8_t *)info->label, strlen(info->label), w.p, w.len, 1);
    if (tkm_ok(rc)) rc = keycache_set(s, info);
    tkm_wr_free(&w);
    return rc;
}

static tkm_rc key_fetch(tkm_store *s, const char *label, int *found, tkm_store_key_info *info, uint8_t **raw,
                        size_t *rawn, const uint8_t **sealed, size_t *sl) {
    *raw = NULL;
    TKM_ENSURE(label_ok(label), TKM_ERR_FORMAT);
    TKM_TRY(get_row(s, T_KEY, (const uint8_t *)label, strlen(label), raw, rawn, found));
    if (!*found) return TKM_RC_OK;
    tkm_rc rc = key_decode(info, (const uint8_t *)label, strlen(label), *raw, *rawn, sealed, sl);
    if (tkm_failed(rc)) {
        free(*raw);
        *raw = NULL;
        *found = 0;
    }
    return rc;
}

tkm_rc tkm_store_key_set_status(tkm_store *s, const char *label, tkm_store_key_status st) {
    tkm_store_key_info info;
    uint8_t *raw = NULL;
    size_t rawn, sl;
    const uint8_t *sealed;
    int found;
    TKM_TRY(key_fetch(s, label, &found, &info, &raw, &rawn, &sealed, &sl));
    TKM_ENSURE(found, TKM_ERR_NOT_FOUND);
    info.status = st;
    tkm_wr w;
    tkm_wr_init(&w, 4096);
    tkm_rc rc = key_row(&w, &info, sealed, sl);
    if (tkm_ok(rc)) rc = put_row(s, T_KEY, (const uint8_t *)label, strlen(label), w.p, w.len, 1);
    if (tkm_ok(rc)) rc = keycache_set(s, &info);
    tkm_wr_free(&w);
    free(raw);
    return rc;
}

tkm_rc tkm_store_key_info_get(tkm_store *s, const char *label, int *found, tkm_store_key_info *out) {
    memset(out, 0, sizeof *out);
    size_t i = keycache_find(s, label, found);
    if (*found) *out = s->keyinfo[i];
    return TKM_RC_OK;
}

size_t tkm_store_key_count(const tkm_store *s) { return s->n_keys; }
int tkm_store_is_failed(const tkm_store *s) { return s->failed; }

tkm_rc tkm_store_key_unseal(tkm_store *s, const char *label, tkm_secret **out) {
    *out = NULL;
    tkm_store_key_info info;
    uint8_t *raw = NULL, aad[12 + 32 + TKM_POLICY_NAME_MAX + 1 + 20];
    size_t rawn, sl, an;
    const uint8_t *sealed;
    int found;
    tkm_secret *sk = NULL;
    TKM_TRY(key_fetch(s, label, &found, &info, &raw, &rawn, &sealed, &sl));
    tkm_rc rc = TKM_RC_OK;
    if (!found) {
        tkm_err_detail_set("no key labelled %s", label);
        TKM_GOTO(rc, TKM_ERR_NOT_FOUND);
    }
    key_aad(aad, &an, s, info.label, info.address);
    TKM_CHECK_GOTO(rc, tkm_secret_new(&sk, 32));
    rc = tkm_aead_open_random(tkm_secret_mut(sk), 32, k_seal(s), aad, an, sealed, sl);
    if (tkm_failed(rc)) {
        rc = tamper("key %s cannot be unsealed", label);
        goto out;
    }
    *out = sk;
    sk = NULL;
out:
    tkm_secret_free(sk);
    free(raw);
    return rc;
}

tkm_rc tkm_store_key_list(tkm_store *s, tkm_store_key_info *out, size_t cap, size_t *n) {
    *n = 0;
    for (size_t i = 0; i < s->n_keys && i < cap; i++) out[i] = s->keyinfo[i];
    *n = s->n_keys < cap ? s->n_keys : cap;
    return TKM_RC_OK;
}

typedef struct {
    tkm_store *s;
    tkm_rc rc;
} reload_ctx;

static int reload_row(void *ctx, unsigned t, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn,
                      const uint8_t *mac, size_t macn) {
    reload_ctx *c = ctx;
    uint8_t want[32];
    tkm_store_key_info info;
    const uint8_t *sealed;
    size_t sl;
    (void)t;
    c->rc = row_mac(c->s, want, NULL, T_KEY, k, kn, v, vn);
    if (tkm_ok(c->rc) && (macn != 32 || !tkm_ct_eq(want, mac, 32))) c->rc = tamper("a key row fails its MAC");
    if (tkm_ok(c->rc)) c->rc = key_decode(&info, k, kn, v, vn, &sealed, &sl);
    if (tkm_ok(c->rc)) c->rc = keycache_set(c->s, &info);
    return tkm_failed(c->rc);
}

static tkm_rc reload_keys(tkm_store *s) {
    s->n_keys = 0;
    reload_ctx c = {s, TKM_RC_OK};
    TKM_TRY(s->b->scan(s->b, T_KEY, NULL, 0, reload_row, &c));
    return c.rc;
}

/* ---- policy ---- */

tkm_rc tkm_store_policy_put(tkm_store *s, const tkm_policy *p, int64_t now) {
    if (p->version <= s->policy_version) {
        tkm_err_detail_set("policy version %llu does not exceed the active version %llu",
                           (unsigned long long)p->version, (unsigned long long)s->policy_version);
        TKM_ENSURE(0, TKM_ERR_POLICY_VERSION);
    }
    uint8_t k[8];
    be64(k, p->version);
    tkm_wr w;
    tkm_wr_init(&w, TKM_POLICY_MAX_BYTES * 2 + 64);
    tkm_rc rc = tkm_wr_u8(&w, REC_VER);
    if (tkm_ok(rc)) rc = tkm_wr_put(&w, p->hash, 32);
    if (tkm_ok(rc)) rc = tkm_wr_u64be(&w, (uint64_t)now);
    if (tkm_ok(rc)) rc = tkm_wr_put(&w, p->canonical, p->canonical_len);
    if (tkm_ok(rc)) rc = put_row(s, T_POLICY, k, 8, w.p, w.len, 0);
    if (tkm_ok(rc)) s->policy_version = p->version;
    tkm_wr_free(&w);
    return rc;
}

tkm_rc tkm_store_policy_active(tkm_store *s, uint8_t **json, size_t *len, int *found) {
    *json = NULL;
    *len = 0;
    *found = 0;
    if (!s->policy_version) return TKM_RC_OK;
    uint8_t k[8], *v = NULL;
    size_t vn = 0;
    be64(k, s->policy_version);
    TKM_TRY(get_row(s, T_POLICY, k, 8, &v, &vn, found));
    if (!*found) return tamper("the active policy row is missing");
    tkm_rc rc = TKM_RC_OK;
    if (vn < 41 || v[0] != REC_VER) {
        rc = TKM_RC(TKM_ERR_STORE_RECORD);
        *found = 0;
    } else {
        *len = vn - 41;
        *json = malloc(*len ? *len : 1);
        if (!*json) {
            rc = TKM_RC(TKM_ERR_NOMEM);
            *found = 0;
        } else {
            memcpy(*json, v + 41, *len);
        }
    }
    free(v);
    return rc;
}

/* ---- audit ---- */

void tkm_store_audit_tail(const tkm_store *s, uint64_t *seq, uint8_t hash[32]) {
    *seq = s->h.audit_seq;
    memcpy(hash, s->h.audit_hash, 32);
}

/*
 * Audit rows hold the records of one commit: key = first seq, value =
 * u32 count ‖ hash of the last record ‖ the records' lines (each ends in '\n').
 * One row (and one MAC) per commit keeps the per-request cost of the log low.
 */
tkm_rc tkm_store_audit_append(tkm_store *s, uint64_t first_seq, uint32_t count, const uint8_t last_hash[32],
                              const uint8_t *lines, size_t len) {
    TKM_ARG_CHECK(first_seq == s->h.audit_seq + 1 && count >= 1 && len >= count);
    size_t nl = 0;
    for (size_t i = 0; i < len; i++) nl += lines[i] == '\n';
    TKM_ARG_CHECK(nl == count && lines[len - 1] == '\n');
    uint8_t k[8];
    be64(k, first_seq);
    tkm_wr rowv;
    tkm_wr_init(&rowv, 0);
    tkm_rc rc = tkm_wr_u32be(&rowv, count);
    if (tkm_ok(rc)) rc = tkm_wr_put(&rowv, last_hash, 32);
    if (tkm_ok(rc)) rc = tkm_wr_put(&rowv, lines, len);
    if (tkm_ok(rc)) rc = put_row(s, T_AUDIT, k, 8, rowv.p, rowv.len, 0);
    if (tkm_ok(rc)) {
        s->h.audit_seq = first_seq + count - 1;
        memcpy(s->h.audit_hash, last_hash, 32);
    }
    tkm_wr_free(&rowv);
    return rc;
}

typedef struct {
    tkm_store *s;
    tkm_store_audit_fn fn;
    void *ctx;
    tkm_rc rc;
    uint64_t expect;
} audit_scan_ctx;

static int audit_row(void *ctx, unsigned t, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn,
                     const uint8_t *mac, size_t macn) {
    audit_scan_ctx *c = ctx;
    uint8_t want[32];
    (void)t;
    c->rc = row_mac(c->s, want, NULL, T_AUDIT, k, kn, v, vn);
    if (tkm_failed(c->rc)) return 1;
    if (macn != 32 || !tkm_ct_eq(want, mac, 32) || kn != 8 || vn < 32) {
        c->rc = tamper("an audit row fails its MAC");
        return 1;
    }
    uint64_t seq = rd_be64(k);
    uint32_t count = vn >= 36 ? ((uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3]) : 0;
    if (count == 0 || seq > c->expect) {
        c->rc = tamper("the audit log is not contiguous at record %llu", (unsigned long long)c->expect);
        return 1;
    }
    if (seq + count <= c->expect) return 0; /* entirely before from_seq */
    /* split the lines; skip those before from_seq */
    const uint8_t *p = v + 36, *end = v + vn;
    for (uint32_t i = 0; i < count; i++, seq++) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            c->rc = tamper("an audit row is malformed");
            return 1;
        }
        if (seq == c->expect) {
            c->expect++;
            if (c->fn(c->ctx, seq, p, (size_t)(nl - p) + 1)) return 1;
        }
        p = nl + 1;
    }
    if (p != end) {
        c->rc = tamper("an audit row is malformed");
        return 1;
    }
    return 0;
}

tkm_rc tkm_store_audit_scan(tkm_store *s, uint64_t from_seq, tkm_store_audit_fn fn, void *ctx) {
    if (from_seq < 1) from_seq = 1;
    audit_scan_ctx c = {s, fn, ctx, TKM_RC_OK, from_seq};
    /* start at the row (one per commit, keyed by its first seq) that holds from_seq */
    uint8_t want[8], *start = NULL;
    size_t start_n = 0;
    int found = 0;
    be64(want, from_seq);
    TKM_TRY(s->b->seek_le(s->b, T_AUDIT, want, sizeof want, &start, &start_n, &found));
    tkm_rc rc = s->b->scan(s->b, T_AUDIT, found ? start : NULL, found ? start_n : 0, audit_row, &c);
    free(start);
    TKM_TRY(rc);
    return c.rc;
}

/* ---- prepared requests and policy proposals (pending.c encodes them) ---- */

static tkm_rc pending_key(const char *request_id, size_t *n) {
    *n = strlen(request_id);
    if (!tkm_request_id_ok(request_id, *n)) {
        tkm_err_detail_set("not a request id");
        TKM_ENSURE(0, TKM_ERR_REQUEST);
    }
    return TKM_RC_OK;
}

tkm_rc tkm_store_pending_put(tkm_store *s, const tkm_store_pending *p) {
    size_t kn;
    TKM_TRY(pending_key(p->intent.request_id, &kn));
    tkm_wr w;
    tkm_wr_init(&w, 64 << 10);
    tkm_rc rc = tkm_store_pending_encode(&w, p);
    if (tkm_ok(rc)) rc = put_row(s, T_PENDING, (const uint8_t *)p->intent.request_id, kn, w.p, w.len, 1);
    tkm_wr_free(&w);
    return rc;
}

/* A decoded pending row, checked against its key. */
static tkm_rc pending_decode_row(tkm_store_pending *out, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
    TKM_TRY(tkm_store_pending_decode(out, v, vn));
    if (strlen(out->intent.request_id) != kn || memcmp(out->intent.request_id, k, kn) != 0) {
        memset(out, 0, sizeof *out);
        tkm_err_detail_set("a pending row's key and request id differ");
        TKM_ENSURE(0, TKM_ERR_STORE_RECORD);
    }
    return TKM_RC_OK;
}

tkm_rc tkm_store_pending_get(tkm_store *s, const char *request_id, int *found, tkm_store_pending *out) {
    uint8_t *v = NULL;
    size_t vn = 0, kn;
    *found = 0;
    memset(out, 0, sizeof *out);
    TKM_TRY(pending_key(request_id, &kn));
    TKM_TRY(get_row(s, T_PENDING, (const uint8_t *)request_id, kn, &v, &vn, found));
    if (!*found) return TKM_RC_OK;
    tkm_rc rc = pending_decode_row(out, (const uint8_t *)request_id, kn, v, vn);
    free(v);
    if (tkm_failed(rc)) *found = 0;
    return rc;
}

tkm_rc tkm_store_pending_delete(tkm_store *s, const char *request_id, int *deleted) {
    size_t kn;
    int d = 0;
    if (deleted) *deleted = 0;
    TKM_TRY(pending_key(request_id, &kn));
    TKM_TRY(del_row(s, T_PENDING, (const uint8_t *)request_id, kn, &d));
    if (deleted) *deleted = d;
    return TKM_RC_OK;
}

typedef struct {
    tkm_store *s;
    unsigned t;
    tkm_store_pending_fn pfn;
    tkm_store_proposal_fn qfn;
    void *ctx;
    tkm_rc rc;
    tkm_store_pending p; /* large: one per scan, on the heap with its context */
    tkm_store_proposal q;
} rec_scan_ctx;

static int rec_row(void *ctx, unsigned t, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn, const uint8_t *mac,
                   size_t macn) {
    rec_scan_ctx *c = ctx;
    uint8_t want[32];
    c->rc = row_mac(c->s, want, NULL, t, k, kn, v, vn);
    if (tkm_ok(c->rc) && (t != c->t || macn != 32 || !tkm_ct_eq(want, mac, 32)))
        c->rc = tamper("a %s row fails its MAC (edited on disk)", TABLE_NAMES[c->t]);
    if (tkm_failed(c->rc)) return 1;
    if (t == T_PENDING) {
        c->rc = pending_decode_row(&c->p, k, kn, v, vn);
        return tkm_failed(c->rc) || c->pfn(c->ctx, &c->p);
    }
    c->rc = tkm_store_proposal_decode(&c->q, v, vn);
    if (tkm_ok(c->rc) && (kn != 32 || memcmp(k, c->q.hash, 32) != 0)) {
        tkm_err_detail_set("a proposal row's key and hash differ");
        c->rc = TKM_RC(TKM_ERR_STORE_RECORD);
    }
    return tkm_failed(c->rc) || c->qfn(c->ctx, &c->q);
}

static tkm_rc rec_scan(tkm_store *s, unsigned t, tkm_store_pending_fn pfn, tkm_store_proposal_fn qfn, void *ctx) {
    rec_scan_ctx *c = calloc(1, sizeof *c);
    TKM_ENSURE(c, TKM_ERR_NOMEM);
    c->s = s;
    c->t = t;
    c->pfn = pfn;
    c->qfn = qfn;
    c->ctx = ctx;
    c->rc = TKM_RC_OK;
    tkm_rc rc = s->b->scan(s->b, t, NULL, 0, rec_row, c);
    if (tkm_ok(rc)) rc = c->rc;
    free(c);
    return rc;
}

tkm_rc tkm_store_pending_scan(tkm_store *s, tkm_store_pending_fn fn, void *ctx) {
    TKM_ARG_CHECK(fn);
    return rec_scan(s, T_PENDING, fn, NULL, ctx);
}

tkm_rc tkm_store_proposal_put(tkm_store *s, const tkm_store_proposal *p) {
    tkm_wr w;
    tkm_wr_init(&w, TKM_POLICY_MAX_BYTES + (8 << 10));
    tkm_rc rc = tkm_store_proposal_encode(&w, p);
    if (tkm_ok(rc)) rc = put_row(s, T_PROPOSAL, p->hash, 32, w.p, w.len, 1);
    tkm_wr_free(&w);
    return rc;
}

tkm_rc tkm_store_proposal_get(tkm_store *s, const uint8_t hash[32], int *found, tkm_store_proposal *out) {
    uint8_t *v = NULL, *doc = NULL;
    size_t vn = 0;
    *found = 0;
    memset(out, 0, sizeof *out);
    TKM_TRY(get_row(s, T_PROPOSAL, hash, 32, &v, &vn, found));
    if (!*found) return TKM_RC_OK;
    tkm_rc rc = tkm_store_proposal_decode(out, v, vn);
    if (tkm_ok(rc) && memcmp(out->hash, hash, 32) != 0) {
        tkm_err_detail_set("a proposal row's key and hash differ");
        rc = TKM_RC(TKM_ERR_STORE_RECORD);
    }
    if (tkm_ok(rc) && !(doc = malloc(out->doc_len))) rc = TKM_RC(TKM_ERR_NOMEM);
    if (tkm_ok(rc)) {
        memcpy(doc, out->doc, out->doc_len);
        out->doc = doc; /* the caller's from here */
    } else {
        memset(out, 0, sizeof *out);
        *found = 0;
    }
    free(v);
    return rc;
}

tkm_rc tkm_store_proposal_delete(tkm_store *s, const uint8_t hash[32], int *deleted) {
    int d = 0;
    if (deleted) *deleted = 0;
    TKM_TRY(del_row(s, T_PROPOSAL, hash, 32, &d));
    if (deleted) *deleted = d;
    return TKM_RC_OK;
}

tkm_rc tkm_store_proposal_scan(tkm_store *s, tkm_store_proposal_fn fn, void *ctx) {
    TKM_ARG_CHECK(fn);
    return rec_scan(s, T_PROPOSAL, NULL, fn, ctx);
}
