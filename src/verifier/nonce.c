/* see tkm_nonce.h */
#include "tkm_nonce.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/crypto.h"

#define NONCE_TAG "teekm/verifier/nonce/v1"
#define MAC_LEN 16

typedef struct {
    uint8_t n[TKM_NONCE_LEN];
    int64_t expires;
    int full;
} used_entry;

struct tkm_nonce_table {
    pthread_mutex_t mu;
    tkm_secret *key;
    int64_t ttl;
    size_t max_used;
    size_t cap; /* power of two, >= 2 * max_used */
    size_t count;
    int64_t earliest; /* smallest expiry among entries (INT64_MAX when empty) */
    used_entry *tab;
};

static void put_be64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}
static uint64_t get_be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static tkm_rc nonce_mac(const tkm_nonce_table *t, const uint8_t first16[16], uint8_t mac[MAC_LEN]) {
    uint8_t msg[sizeof NONCE_TAG + 16], full[TKM_SHA256_LEN];
    memcpy(msg, NONCE_TAG, sizeof NONCE_TAG); /* includes the 0x00 */
    memcpy(msg + sizeof NONCE_TAG, first16, 16);
    tkm_rc rc = tkm_hmac_sha256(full, tkm_secret_ptr(t->key), tkm_secret_len(t->key), msg, sizeof msg);
    if (tkm_ok(rc)) memcpy(mac, full, MAC_LEN);
    tkm_wipe(full, sizeof full);
    return rc;
}

tkm_rc tkm_nonce_table_new(tkm_nonce_table **out, int64_t ttl_seconds, size_t max_used) {
    *out = NULL;
    TKM_ARG_CHECK(ttl_seconds >= 1 && ttl_seconds <= 86400);
    TKM_ARG_CHECK(max_used >= 1 && max_used <= ((size_t)1 << 24));
    tkm_rc rc;
    tkm_nonce_table *t = calloc(1, sizeof *t);
    if (!t) return TKM_RC(TKM_ERR_NOMEM);
    pthread_mutex_init(&t->mu, NULL);
    t->ttl = ttl_seconds;
    t->max_used = max_used;
    t->cap = 16;
    while (t->cap < 2 * max_used) t->cap <<= 1;
    t->earliest = INT64_MAX;
    if (!(t->tab = calloc(t->cap, sizeof *t->tab))) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, tkm_secret_new(&t->key, 32));
    TKM_CHECK_GOTO(rc, tkm_entropy_bytes(tkm_secret_mut(t->key), 32));
    *out = t;
    t = NULL;
    rc = TKM_RC_OK;
out:
    tkm_nonce_table_free(t);
    return rc;
}

void tkm_nonce_table_free(tkm_nonce_table *t) {
    if (!t) return;
    tkm_secret_free(t->key);
    free(t->tab);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

tkm_rc tkm_nonce_issue(tkm_nonce_table *t, int64_t now, uint8_t nonce[static TKM_NONCE_LEN], int64_t *expires_at) {
    memset(nonce, 0, TKM_NONCE_LEN);
    *expires_at = 0;
    TKM_ARG_CHECK(now >= 0);
    uint8_t n[TKM_NONCE_LEN];
    put_be64(n, (uint64_t)now);
    TKM_TRY(tkm_entropy_bytes(n + 8, 8));
    TKM_TRY(nonce_mac(t, n, n + 16));
    memcpy(nonce, n, TKM_NONCE_LEN);
    *expires_at = now + t->ttl;
    return TKM_RC_OK;
}

static size_t slot_of(const tkm_nonce_table *t, const uint8_t *n) {
    /* bytes 8..15 are random: a good hash as is */
    return (size_t)get_be64(n + 8) & (t->cap - 1);
}

/* Drop expired entries (rebuild in place through a fresh array). Called with mu held. */
static void purge(tkm_nonce_table *t, int64_t now) {
    if (now < t->earliest) return;
    used_entry *old = t->tab;
    used_entry *neu = calloc(t->cap, sizeof *neu);
    if (!neu) return; /* keep everything: consume then reports LIMIT, never forgets */
    size_t count = 0;
    int64_t earliest = INT64_MAX;
    for (size_t i = 0; i < t->cap; i++) {
        if (!old[i].full || old[i].expires <= now) continue;
        size_t j = slot_of(t, old[i].n);
        while (neu[j].full) j = (j + 1) & (t->cap - 1);
        neu[j] = old[i];
        count++;
        if (old[i].expires < earliest) earliest = old[i].expires;
    }
    free(old);
    t->tab = neu;
    t->count = count;
    t->earliest = earliest;
}

tkm_rc tkm_nonce_consume(tkm_nonce_table *t, int64_t now, const uint8_t *nonce, size_t len, int64_t *issued_at) {
    *issued_at = 0;
    TKM_ARG_CHECK(nonce != NULL || len == 0);
    if (len != TKM_NONCE_LEN) {
        tkm_err_detail_set("nonce has %zu bytes; this verifier issues %d-byte nonces", len, TKM_NONCE_LEN);
        TKM_ENSURE(0, TKM_ERR_NONCE_UNKNOWN);
    }
    uint8_t mac[MAC_LEN];
    TKM_TRY(nonce_mac(t, nonce, mac));
    if (!tkm_ct_eq(mac, nonce + 16, MAC_LEN)) {
        tkm_err_detail_set("nonce was not issued by this verifier process (or it restarted since)");
        TKM_ENSURE(0, TKM_ERR_NONCE_UNKNOWN);
    }
    uint64_t at = get_be64(nonce);
    if (at > (uint64_t)now) {
        tkm_err_detail_set("nonce issued in the future (clock went back)");
        TKM_ENSURE(0, TKM_ERR_NONCE_UNKNOWN);
    }
    int64_t expires = (int64_t)at + t->ttl;
    if (now >= expires) {
        tkm_err_detail_set("nonce expired %llds ago (lifetime %llds)", (long long)(now - expires), (long long)t->ttl);
        TKM_ENSURE(0, TKM_ERR_EXPIRED);
    }
    tkm_rc rc = TKM_RC_OK;
    pthread_mutex_lock(&t->mu);
    size_t j = slot_of(t, nonce);
    while (t->tab[j].full) {
        if (memcmp(t->tab[j].n, nonce, TKM_NONCE_LEN) == 0) {
            tkm_err_detail_set("nonce already used");
            tkm_err_record_where_(__FILE__, __LINE__);
            rc = TKM_RC(TKM_ERR_REPLAY);
            goto out;
        }
        j = (j + 1) & (t->cap - 1);
    }
    if (t->count >= t->max_used) {
        purge(t, now);
        if (t->count >= t->max_used) {
            tkm_err_detail_set("%zu unexpired nonces already consumed", t->count);
            tkm_err_record_where_(__FILE__, __LINE__);
            rc = TKM_RC(TKM_ERR_LIMIT);
            goto out;
        }
        j = slot_of(t, nonce);
        while (t->tab[j].full) j = (j + 1) & (t->cap - 1);
    }
    memcpy(t->tab[j].n, nonce, TKM_NONCE_LEN);
    t->tab[j].expires = expires;
    t->tab[j].full = 1;
    t->count++;
    if (expires < t->earliest) t->earliest = expires;
    *issued_at = (int64_t)at;
out:
    pthread_mutex_unlock(&t->mu);
    return rc;
}

size_t tkm_nonce_table_used(tkm_nonce_table *t) {
    pthread_mutex_lock(&t->mu);
    size_t n = t->count;
    pthread_mutex_unlock(&t->mu);
    return n;
}
