/* see tkm_audit.h — offline verification of an exported log (untrusted input). */
#include "tkm_audit.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../crypto/crypto.h"

static tkm_rc bad(tkm_audit_summary *sum, uint64_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static tkm_rc bad(tkm_audit_summary *sum, uint64_t n, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sum->bad_record = n;
    tkm_err_detail_set("record %llu: %s", (unsigned long long)n, msg);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(TKM_ERR_AUDIT_CHAIN);
}

static int event_index(const char *s) {
    for (int i = 0; i < TKM_AUDIT_EVENT_COUNT; i++)
        if (strcmp(s, tkm_audit_event_name((tkm_audit_event)i)) == 0) return i;
    return -1;
}

/* Check one line. Out: hash, signed flag. */
static tkm_rc check_line(tkm_audit_summary *sum, uint64_t n, const uint8_t *p, size_t len, const uint8_t prev[32],
                         int64_t prev_time, const uint8_t addr[20], uint8_t hash_out[32], int *is_signed) {
    static const char *const fields[] = {"body", "hash", "prev", "seq", "sig", "time", "type", NULL};
    json_t *o = NULL;
    tkm_wr canon;
    tkm_wr_init(&canon, TKM_AUDIT_LINE_MAX * 2);
    tkm_rc rc = TKM_RC_OK;
    *is_signed = 0;
    tkm_json_limits lim = {.max_bytes = TKM_AUDIT_LINE_MAX, .max_depth = 16};
    if (tkm_failed(tkm_json_load(&o, p, len, &lim)) || !json_is_object(o)) {
        rc = bad(sum, n, "not a JSON object (%s)", tkm_err_detail());
        goto out;
    }
    if (tkm_failed(tkm_json_check_fields(o, "", fields)) || json_object_size(o) != 7) {
        rc = bad(sum, n, "fields must be exactly body, hash, prev, seq, sig, time, type");
        goto out;
    }
    /* byte-exact canonical form: nothing may differ from what was hashed and signed */
    if (tkm_failed(tkm_json_canonical(o, &canon)) || canon.len != len || memcmp(canon.p, p, len) != 0) {
        rc = bad(sum, n, "not in canonical form (modified)");
        goto out;
    }
    json_t *seq = json_object_get(o, "seq"), *time = json_object_get(o, "time"), *type = json_object_get(o, "type");
    json_t *body = json_object_get(o, "body"), *sig = json_object_get(o, "sig");
    if (!json_is_integer(seq) || json_integer_value(seq) < 0 || (uint64_t)json_integer_value(seq) != n) {
        rc = bad(sum, n, "seq is not %llu (records missing, repeated or reordered)", (unsigned long long)n);
        goto out;
    }
    if (!json_is_integer(time) || json_integer_value(time) < prev_time) {
        rc = bad(sum, n, "time is not an integer at least the previous record's");
        goto out;
    }
    int ev = json_is_string(type) ? event_index(json_string_value(type)) : -1;
    if (ev < 0 || !json_is_object(body)) {
        rc = bad(sum, n, "unknown event type or body not an object");
        goto out;
    }
    uint8_t h[32], got_prev[32];
    if (tkm_failed(tkm_json_hexfixed(o, "", "hash", 1, h, 32, NULL)) ||
        tkm_failed(tkm_json_hexfixed(o, "", "prev", 1, got_prev, 32, NULL))) {
        rc = bad(sum, n, "hash or prev is not 32 bytes of 0x hex");
        goto out;
    }
    if (memcmp(got_prev, prev, 32) != 0) {
        rc = bad(sum, n, "prev does not match the previous record's hash");
        goto out;
    }
    /* recompute the hash over the record without hash and sig */
    json_t *pre = json_deep_copy(o);
    if (!pre) {
        rc = TKM_RC(TKM_ERR_NOMEM);
        goto out;
    }
    json_object_del(pre, "hash");
    json_object_del(pre, "sig");
    tkm_wr_reset(&canon);
    rc = tkm_json_canonical(pre, &canon);
    json_decref(pre);
    if (tkm_failed(rc)) goto out;
    uint8_t want[32];
    rc = tkm_sha256(want, canon.p, canon.len);
    if (tkm_failed(rc)) goto out;
    if (memcmp(want, h, 32) != 0) {
        rc = bad(sum, n, "hash does not match the record's contents (modified)");
        goto out;
    }
    if (!json_is_null(sig)) {
        uint8_t s[65], d[32], pub[65], a[20];
        if (!json_is_string(sig) || tkm_failed(tkm_hex_decode_exact(s, 65, json_string_value(sig),
                                                                     json_string_length(sig), TKM_HEX_0X_REQUIRED)) ||
            (s[64] != 27 && s[64] != 28)) {
            rc = bad(sum, n, "sig is not 65 bytes r ‖ s ‖ v (v 27 or 28)");
            goto out;
        }
        s[64] = (uint8_t)(s[64] - 27);
        tkm_audit_sig_digest(d, h);
        if (tkm_failed(tkm_secp_recover(pub, d, s, TKM_SECP_REQUIRE_LOW_S))) {
            rc = bad(sum, n, "invalid signature");
            goto out;
        }
        tkm_eth_address(a, pub);
        if (memcmp(a, addr, 20) != 0) {
            rc = bad(sum, n, "signature is not by the audit key");
            goto out;
        }
        *is_signed = 1;
        sum->signed_records++;
    }
    if (n == 1) {
        const char *aa;
        size_t an;
        uint8_t ba[20];
        if (ev != TKM_AUDIT_INIT || tkm_failed(tkm_json_str(body, "body", "auditAddress", 1, &aa, &an)) ||
            tkm_failed(tkm_eth_address_parse(ba, aa, an)) || memcmp(ba, addr, 20) != 0) {
            rc = bad(sum, n, "the first record must be init naming this audit address");
            goto out;
        }
        if (tkm_ok(tkm_json_hexfixed(body, "body", "instanceId", 1, sum->instance_id, 32, NULL)))
            sum->has_instance_id = 1;
        sum->first_time = json_integer_value(time);
        sum->first_seq = 1;
    } else if (ev == TKM_AUDIT_INIT) {
        rc = bad(sum, n, "init may only be the first record");
        goto out;
    }
    sum->by_type[ev]++;
    sum->last_time = json_integer_value(time);
    sum->last_seq = n;
    memcpy(hash_out, h, 32);
out:
    json_decref(o);
    tkm_wr_free(&canon);
    return rc;
}

tkm_rc tkm_audit_verify(tkm_audit_summary *sum, const uint8_t *data, size_t len, const uint8_t addr[static 20]) {
    memset(sum, 0, sizeof *sum);
    TKM_ARG_CHECK(data || len == 0);
    uint8_t prev[32] = {0};
    int64_t prev_time = 0;
    uint64_t n = 0, unsigned_since = 0;
    size_t off = 0;
    while (off < len) {
        const uint8_t *nl = memchr(data + off, '\n', len - off);
        size_t ll = nl ? (size_t)(nl - (data + off)) : len - off;
        n++;
        if (!nl) return bad(sum, n, "does not end with a newline (truncated or modified)");
        if (ll + 1 > TKM_AUDIT_LINE_MAX) return bad(sum, n, "line too long");
        uint8_t h[32];
        int is_signed;
        TKM_TRY(check_line(sum, n, data + off, ll, prev, prev_time, addr, h, &is_signed));
        memcpy(prev, h, 32);
        memcpy(sum->last_hash, h, 32);
        prev_time = sum->last_time;
        sum->records = n;
        if (is_signed)
            unsigned_since = 0;
        else if (!unsigned_since)
            unsigned_since = n;
        off += ll + 1;
    }
    if (n == 0) return bad(sum, 1, "the log is empty");
    if (unsigned_since) return bad(sum, unsigned_since, "no signed record follows it (the log ends unsigned)");
    return TKM_RC_OK;
}
