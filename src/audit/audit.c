/* see tkm_audit.h — writer, export. */
#include "tkm_audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/crypto.h"

static const char *const EVENT_NAMES[TKM_AUDIT_EVENT_COUNT] = {
    "init",          "key_generated", "key_imported",         "key_rotated",  "key_retired",
    "policy_activated", "sign_allowed", "sign_rejected", "attestation_produced", "state_opened",
    "access_denied", "request_prepared", "approval_received", "policy_proposed", "host_clock",
};

const char *tkm_audit_event_name(tkm_audit_event e) {
    if ((unsigned)e < TKM_AUDIT_EVENT_COUNT) return EVENT_NAMES[e];
    return NULL;
}

void tkm_audit_sig_digest(uint8_t out[static 32], const uint8_t hash[static 32]) {
    static const char prefix[] = "\x19" "Ethereum Signed Message:\n32";
    uint8_t buf[sizeof prefix - 1 + 32];
    memcpy(buf, prefix, sizeof prefix - 1);
    memcpy(buf + sizeof prefix - 1, hash, 32);
    tkm_keccak256(out, buf, sizeof buf);
}

typedef struct {
    uint64_t seq;
    int64_t time;
    tkm_audit_event type;
    uint8_t *body; /* canonical JSON */
    size_t body_len;
    uint8_t prev[32], hash[32];
} pending;

struct tkm_audit_writer {
    tkm_store *store;
    const tkm_secret *key;
    uint8_t pub[TKM_SECP_PUBKEY_LEN]; /* every record signature must recover to it */
    int sign_every;
    pending *p;
    size_t n, cap;
};

tkm_rc tkm_audit_writer_new(tkm_audit_writer **out, tkm_store *store, const tkm_secret *audit_key, int sign_every) {
    *out = NULL;
    tkm_audit_writer *w = calloc(1, sizeof *w);
    TKM_ENSURE(w, TKM_ERR_NOMEM);
    tkm_rc rc = tkm_secp_pubkey(w->pub, audit_key);
    if (tkm_failed(rc)) {
        free(w);
        return rc;
    }
    w->store = store;
    w->key = audit_key;
    w->sign_every = sign_every;
    *out = w;
    return TKM_RC_OK;
}

void tkm_audit_discard(tkm_audit_writer *w) {
    for (size_t i = 0; i < w->n; i++) free(w->p[i].body);
    w->n = 0;
}

void tkm_audit_writer_free(tkm_audit_writer *w) {
    if (!w) return;
    tkm_audit_discard(w);
    free(w->p);
    free(w);
}

/* The canonical hash preimage: keys body, prev, seq, time, type (already sorted). */
static tkm_rc preimage(tkm_wr *o, const pending *r) {
    TKM_TRY(tkm_wr_str(o, "{\"body\":"));
    TKM_TRY(tkm_wr_put(o, r->body, r->body_len));
    TKM_TRY(tkm_wr_str(o, ",\"prev\":\""));
    TKM_TRY(tkm_hex_encode_wr(o, r->prev, 32, 1));
    TKM_TRY(tkm_wr_str(o, "\",\"seq\":"));
    TKM_TRY(tkm_wr_dec_u64(o, r->seq));
    TKM_TRY(tkm_wr_str(o, ",\"time\":"));
    TKM_TRY(tkm_wr_dec_u64(o, (uint64_t)r->time)); /* time >= 0 (checked when queued) */
    TKM_TRY(tkm_wr_str(o, ",\"type\":\""));
    TKM_TRY(tkm_wr_str(o, EVENT_NAMES[r->type]));
    TKM_TRY(tkm_wr_str(o, "\"}"));
    return TKM_RC_OK;
}

static tkm_rc add_pending(tkm_audit_writer *w, int64_t time, tkm_audit_event type, uint8_t *body, size_t body_len,
                          uint64_t *seq) {
    if (seq) *seq = 0;
    TKM_ENSURE(time >= 0 && time <= 9007199254740991LL, TKM_ERR_RANGE);
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        pending *np = realloc(w->p, cap * sizeof *np);
        TKM_ENSURE(np, TKM_ERR_NOMEM);
        w->p = np;
        w->cap = cap;
    }
    pending r;
    memset(&r, 0, sizeof r);
    uint64_t tail;
    if (w->n) {
        tail = w->p[w->n - 1].seq;
        memcpy(r.prev, w->p[w->n - 1].hash, 32);
    } else {
        tkm_store_audit_tail(w->store, &tail, r.prev);
    }
    r.seq = tail + 1;
    r.time = time;
    r.type = type;
    r.body = body;
    r.body_len = body_len;
    TKM_ENSURE(r.seq <= 9007199254740991ULL, TKM_ERR_RANGE);
    tkm_wr pre;
    tkm_wr_init(&pre, TKM_AUDIT_LINE_MAX);
    tkm_rc rc = preimage(&pre, &r);
    if (tkm_ok(rc)) rc = tkm_sha256(r.hash, pre.p, pre.len);
    if (tkm_ok(rc)) {
        w->p[w->n++] = r;
        if (seq) *seq = r.seq;
    }
    tkm_wr_free(&pre);
    return rc;
}

tkm_rc tkm_audit_add(tkm_audit_writer *w, int64_t time, tkm_audit_event type, const json_t *body, uint64_t *seq) {
    if (seq) *seq = 0;
    TKM_ARG_CHECK((unsigned)type < TKM_AUDIT_EVENT_COUNT && json_is_object(body));
    tkm_wr b;
    uint8_t *bytes = NULL;
    size_t n = 0;
    tkm_wr_init(&b, TKM_AUDIT_LINE_MAX / 2);
    tkm_rc rc = tkm_json_canonical(body, &b);
    if (tkm_ok(rc)) rc = tkm_wr_take(&b, &bytes, &n);
    tkm_wr_free(&b);
    if (tkm_ok(rc)) rc = add_pending(w, time, type, bytes, n, seq);
    if (tkm_failed(rc)) free(bytes);
    return rc;
}

tkm_rc tkm_audit_add_canonical(tkm_audit_writer *w, int64_t time, tkm_audit_event type, const uint8_t *body,
                               size_t body_len, uint64_t *seq) {
    if (seq) *seq = 0;
    TKM_ARG_CHECK((unsigned)type < TKM_AUDIT_EVENT_COUNT && body_len >= 2 && body[0] == '{');
    TKM_ENSURE(body_len <= TKM_AUDIT_LINE_MAX / 2, TKM_ERR_TOO_LARGE);
    uint8_t *copy = malloc(body_len);
    TKM_ENSURE(copy, TKM_ERR_NOMEM);
    memcpy(copy, body, body_len);
    tkm_rc rc = add_pending(w, time, type, copy, body_len, seq);
    if (tkm_failed(rc)) free(copy);
    return rc;
}

/* The stored/exported line: every field, canonical order, newline. */
static tkm_rc line(tkm_wr *o, const pending *r, const uint8_t *sig) {
    TKM_TRY(tkm_wr_str(o, "{\"body\":"));
    TKM_TRY(tkm_wr_put(o, r->body, r->body_len));
    TKM_TRY(tkm_wr_str(o, ",\"hash\":\""));
    TKM_TRY(tkm_hex_encode_wr(o, r->hash, 32, 1));
    TKM_TRY(tkm_wr_str(o, "\",\"prev\":\""));
    TKM_TRY(tkm_hex_encode_wr(o, r->prev, 32, 1));
    TKM_TRY(tkm_wr_str(o, "\",\"seq\":"));
    TKM_TRY(tkm_wr_dec_u64(o, r->seq));
    TKM_TRY(tkm_wr_str(o, ",\"sig\":"));
    if (sig) {
        TKM_TRY(tkm_wr_u8(o, '"'));
        TKM_TRY(tkm_hex_encode_wr(o, sig, 65, 1));
        TKM_TRY(tkm_wr_u8(o, '"'));
    } else {
        TKM_TRY(tkm_wr_str(o, "null"));
    }
    TKM_TRY(tkm_wr_str(o, ",\"time\":"));
    TKM_TRY(tkm_wr_dec_u64(o, (uint64_t)r->time));
    TKM_TRY(tkm_wr_str(o, ",\"type\":\""));
    TKM_TRY(tkm_wr_str(o, EVENT_NAMES[r->type]));
    TKM_TRY(tkm_wr_str(o, "\"}\n"));
    return TKM_RC_OK;
}

tkm_rc tkm_audit_flush(tkm_audit_writer *w) {
    tkm_rc rc = TKM_RC_OK;
    tkm_wr o;
    tkm_wr_init(&o, 0);
    if (w->n == 0) return rc;
    TKM_ENSURE(w->n <= UINT32_MAX, TKM_ERR_LIMIT);
    for (size_t i = 0; tkm_ok(rc) && i < w->n; i++) {
        uint8_t sig[65], digest[32];
        int do_sign = w->sign_every || i + 1 == w->n;
        if (do_sign) {
            tkm_audit_sig_digest(digest, w->p[i].hash);
            rc = tkm_secp_sign_checked(sig, w->key, w->pub, digest);
            sig[64] = (uint8_t)(sig[64] + 27);
        }
        size_t before = o.len;
        if (tkm_ok(rc)) rc = line(&o, &w->p[i], do_sign ? sig : NULL);
        if (tkm_ok(rc) && o.len - before > TKM_AUDIT_LINE_MAX) rc = TKM_RC(TKM_ERR_TOO_LARGE);
    }
    if (tkm_ok(rc))
        rc = tkm_store_audit_append(w->store, w->p[0].seq, (uint32_t)w->n, w->p[w->n - 1].hash, o.p, o.len);
    tkm_wr_free(&o);
    tkm_audit_discard(w);
    return rc;
}

typedef struct {
    tkm_audit_out_fn fn;
    void *ctx;
    int stopped;
} export_ctx;

static int export_row(void *ctx, uint64_t seq, const uint8_t *rec, size_t len) {
    export_ctx *c = ctx;
    (void)seq;
    if (c->fn(c->ctx, rec, len)) {
        c->stopped = 1;
        return 1;
    }
    return 0;
}

tkm_rc tkm_audit_export(tkm_store *store, tkm_audit_out_fn fn, void *ctx) {
    export_ctx c = {fn, ctx, 0};
    TKM_TRY(tkm_store_audit_scan(store, 1, export_row, &c));
    TKM_ENSURE(!c.stopped, TKM_ERR_IO);
    return TKM_RC_OK;
}
