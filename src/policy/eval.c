/* see tkm_eval.h */
#include "tkm_eval.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* snprintf that truncates silently (details and paths are bounded on purpose). */
static void strf(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void strf(char *dst, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

const char *tkm_reason_name(tkm_reason r) {
    if (r == TKM_REASON_NONE) return "OK";
    switch (r) {
#define TKM_REASON_STR_(name, num)                                               \
    case TKM_REASON_##name: return #name;
        TKM_REASON_LIST(TKM_REASON_STR_)
#undef TKM_REASON_STR_
    }
    return NULL;
}

tkm_err tkm_reason_err(tkm_reason r) {
    switch (r) {
    case TKM_REASON_NONE: return TKM_OK;
    case TKM_REASON_REPLAYED_REQUEST: return TKM_ERR_REPLAY;
    case TKM_REASON_NONCE_CONFLICT: return TKM_ERR_NONCE_CONFLICT;
    case TKM_REASON_OUTSIDE_VALIDITY: return TKM_ERR_EXPIRED;
    case TKM_REASON_UNSUPPORTED_PAYLOAD: return TKM_ERR_UNSUPPORTED;
    case TKM_REASON_UNKNOWN_KEY: return TKM_ERR_UNKNOWN_KEY;
    default: return TKM_ERR_POLICY_DENIED;
    }
}

/* Ranks of the conditions, in the documented order. */
enum {
    RANK_CHAIN = 1,
    RANK_DEST = 2,
    RANK_SELECTOR = 3,
    RANK_TYPED_DATA = 4, /* payload content: typed-data matchers or message conditions */
    RANK_MESSAGE = 4,
    RANK_AMOUNT = 5,
    RANK_VALUE = 6,
    RANK_DATES = 7,
    RANK_WINDOW = 8,
    RANK_APPROVALS = 9,
    RANK_ALL_HOLD = 10,
};

static void setd(tkm_decision *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void setd(tkm_decision *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->detail, sizeof d->detail, fmt, ap);
    va_end(ap);
}

static void reject(tkm_decision *d, tkm_reason r) {
    d->allow = 0;
    d->reason = r;
}

static int key_applies(const tkm_policy_rule *r, const tkm_intent *in) {
    if (r->keys_any) return 1;
    for (size_t i = 0; i < r->n_key_labels; i++)
        if (strcmp(r->key_labels[i], in->key_label) == 0) return 1;
    for (size_t i = 0; i < r->n_key_addrs; i++)
        if (memcmp(r->key_addrs[i].b, in->key, 20) == 0) return 1;
    return 0;
}

static int applies(const tkm_policy_rule *r, const tkm_intent *in, long asset) {
    if (!key_applies(r, in)) return 0;
    if (r->action != TKM_ACTION_ANY && r->action != in->action) return 0;
    if (r->has_asset && asset != (long)r->asset) return 0;
    if (in->payload == TKM_PAYLOAD_TX && !(r->tx_types & (1u << in->tx_type))) return 0;
    return 1;
}

static int to_allowed(const tkm_policy *p, const tkm_policy_rule *r, const tkm_intent *in) {
    if (!in->has_to) return 0;
    for (size_t i = 0; i < r->n_to_addrs; i++)
        if (memcmp(r->to_addrs[i].b, in->to, 20) == 0) return 1;
    for (size_t i = 0; i < r->n_to_books; i++)
        if (tkm_policy_set_has(&p->books[r->to_books[i]], in->to)) return 1;
    return 0;
}

static int td_holds(const tkm_policy_rule *r, const tkm_intent *in) {
    if (in->payload != TKM_PAYLOAD_TYPED_DATA) return 0;
    if (r->td_name && (!in->has_td_name || strcmp(r->td_name, in->td_name) != 0)) return 0;
    if (r->td_version && (!in->has_td_version || strcmp(r->td_version, in->td_version) != 0)) return 0;
    if (r->td_primary_type && strcmp(r->td_primary_type, in->td_primary_type) != 0) return 0;
    if (r->has_td_verifying_contract &&
        (!in->has_td_verifying_contract || memcmp(r->td_verifying_contract.b, in->td_verifying_contract, 20) != 0))
        return 0;
    return 1;
}

/* ---- Sign-In with Ethereum (message.siwe; docs/policy.md "Sign-In with Ethereum") ---- */

static uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }

/* body[sp] equals the lower-case want, ignoring ASCII case. */
static int span_ieq(const uint8_t *body, tkm_siwe_span sp, const uint8_t *want, size_t n) {
    if (sp.len != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(body[sp.off + i]) != want[i]) return 0;
    return 1;
}

static int span_starts(const uint8_t *body, tkm_siwe_span sp, const tkm_policy_bytes *pf) {
    return pf->len <= sp.len && memcmp(body + sp.off, pf->b, pf->len) == 0;
}

static int span_starts_any(const uint8_t *body, tkm_siwe_span sp, const tkm_policy_bytes *l, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (span_starts(body, sp, &l[i])) return 1;
    return 0;
}

/* The port an authority names under a scheme: its explicit port, else the scheme's default
 * (https/wss 443, http/ws 80), else 0; -1 when the port is not 0..65535. */
static long eff_port(const uint8_t *body, const tkm_siwe_authority *a, const uint8_t *scheme, size_t sl) {
    if (a->has_port && a->port.len) {
        long v = 0;
        for (size_t i = 0; i < a->port.len; i++) {
            v = v * 10 + (body[a->port.off + i] - '0');
            if (v > 65535) return -1;
        }
        return v;
    }
    char s[6] = "";
    for (size_t i = 0; i < sl && i < 5; i++) s[i] = (char)lower(scheme[i]);
    if (sl <= 5 && (strcmp(s, "https") == 0 || strcmp(s, "wss") == 0)) return 443;
    if (sl <= 5 && (strcmp(s, "http") == 0 || strcmp(s, "ws") == 0)) return 80;
    return 0;
}

/* a strictly before b (instants with a fraction flag; equal seconds with fractions are taken as not before) */
static int time_before(const tkm_siwe_time *a, const tkm_siwe_time *b) {
    return a->secs < b->secs || (a->secs == b->secs && !a->frac && b->frac);
}

/*
 * The siwe condition of r on the intent's message at time now.
 * Returns: 1 when it holds; 0 with the reason in d (when want) naming the field, never the message's content
 * beyond the scheme, the domain and the address.
 */
static int siwe_holds(const tkm_policy_rule *r, const tkm_intent *it, int64_t now, int want, char *d, size_t cap) {
    const tkm_policy_siwe *w = r->siwe;
    const tkm_siwe_msg *m = &it->siwe;
    const uint8_t *b = it->msg_body;
#define WHY(...)                                                                 \
    do {                                                                         \
        if (want) snprintf(d, cap, __VA_ARGS__);                                 \
        return 0;                                                                \
    } while (0)
    if (!it->msg_siwe) WHY("not a Sign-In with Ethereum (EIP-4361) message: %s", it->msg_siwe_why);
    if (memcmp(m->address, it->key, TKM_ETH_ADDR_LEN) != 0) {
        char a[TKM_ETH_ADDR_STR_LEN] = "", k[TKM_ETH_ADDR_STR_LEN] = "";
        if (want) {
            tkm_eth_address_checksum(a, m->address);
            tkm_eth_address_checksum(k, it->key);
        }
        WHY("SIWE address %s is not the signing key %s", a, k);
    }
    static const uint8_t https[] = "https";
    const uint8_t *sch = m->has_scheme ? b + m->scheme.off : https;
    size_t sl = m->has_scheme ? m->scheme.len : 5;
    tkm_siwe_span schs = {m->has_scheme ? m->scheme.off : 0, sl};
    int ok = 0;
    for (size_t i = 0; !ok && i < w->n_schemes; i++)
        ok = m->has_scheme ? span_ieq(b, schs, w->schemes[i].b, w->schemes[i].len)
                           : (w->schemes[i].len == 5 && memcmp(w->schemes[i].b, https, 5) == 0);
    if (!ok) WHY("SIWE scheme %.*s is not one of rule %s's schemes", (int)(sl < 32 ? sl : 32), (const char *)sch, r->id);
    if (m->domain.has_userinfo) WHY("SIWE domain has a userinfo part (user@host): rule %s refuses it", r->id);
    ok = 0;
    for (size_t i = 0; !ok && i < w->n_domains; i++) ok = span_ieq(b, m->domain.all, w->domains[i].b, w->domains[i].len);
    if (!ok)
        WHY("SIWE domain %.*s%s is not one of rule %s's domains", (int)(m->domain.all.len < 64 ? m->domain.all.len : 64),
            (const char *)b + m->domain.all.off, m->domain.all.len > 64 ? "…" : "", r->id);
    /* the URI is bound to the domain: same host, same port (explicit or the schemes' defaults), no userinfo */
    const tkm_siwe_authority *ua = &m->uri.authority;
    if (!m->uri.has_authority) WHY("SIWE URI has no authority (scheme://host…): it is not bound to the domain");
    if (ua->has_userinfo) WHY("SIWE URI has a userinfo part (user@host): rule %s refuses it", r->id);
    ok = ua->host.len == m->domain.host.len;
    for (size_t i = 0; ok && i < ua->host.len; i++) ok = lower(b[ua->host.off + i]) == lower(b[m->domain.host.off + i]);
    if (!ok) WHY("SIWE URI's host is not the domain's host");
    long up = eff_port(b, ua, b + m->uri.scheme.off, m->uri.scheme.len), dp = eff_port(b, &m->domain, sch, sl);
    if (up < 0 || dp < 0 || up != dp) WHY("SIWE URI's port is not the domain's port");
    if (w->n_uris && !span_starts_any(b, m->uri.all, w->uris, w->n_uris))
        WHY("SIWE URI does not start with one of rule %s's %zu uris", r->id, w->n_uris);
    ok = 0;
    for (size_t i = 0; !ok && i < w->n_chain_ids; i++) ok = w->chain_ids[i] == m->chain_id;
    if (!ok)
        WHY("SIWE Chain ID %llu is not allowed by rule %s%s", (unsigned long long)m->chain_id, r->id,
            w->chain_ids_from_assets ? " (the chains of the policy's assets)" : "");
    /* times: ceil() of an instant with a fraction is secs + 1 */
    if (!m->has_expiration_time)
        WHY("SIWE message has no Expiration Time: rule %s requires one (at most %llu s after Issued At)", r->id,
            (unsigned long long)w->max_validity);
    const int64_t exp_ceil = m->expiration_time.secs + m->expiration_time.frac;
    const int64_t iat_ceil = m->issued_at.secs + m->issued_at.frac;
    const int64_t skew = (int64_t)w->max_skew, maxv = (int64_t)w->max_validity;
    if (now >= exp_ceil) WHY("SIWE message expired at %lld (now %lld)", (long long)m->expiration_time.secs, (long long)now);
    if (iat_ceil - skew > now)
        WHY("SIWE Issued At %lld is ahead of now %lld by more than rule %s's max_clock_skew_seconds %llu",
            (long long)m->issued_at.secs, (long long)now, r->id, (unsigned long long)w->max_skew);
    if (m->has_not_before) {
        if (m->not_before.secs + m->not_before.frac - skew > now)
            WHY("SIWE Not Before %lld is ahead of now %lld by more than rule %s's max_clock_skew_seconds %llu",
                (long long)m->not_before.secs, (long long)now, r->id, (unsigned long long)w->max_skew);
        if (!time_before(&m->not_before, &m->expiration_time)) WHY("SIWE Not Before is not before its Expiration Time");
    }
    if (!time_before(&m->issued_at, &m->expiration_time)) WHY("SIWE Expiration Time is not after Issued At");
    if (exp_ceil - m->issued_at.secs > maxv)
        WHY("SIWE validity (Expiration Time - Issued At) is %lld s, over rule %s's max_validity_seconds %lld",
            (long long)(exp_ceil - m->issued_at.secs), r->id, (long long)maxv);
    if (exp_ceil - maxv > now)
        WHY("SIWE Expiration Time %lld is more than rule %s's max_validity_seconds %lld after now %lld",
            (long long)m->expiration_time.secs, r->id, (long long)maxv, (long long)now);
    if (w->n_statement_prefixes && (!m->has_statement || !span_starts_any(b, m->statement, w->statement_prefixes,
                                                                           w->n_statement_prefixes)))
        WHY("SIWE statement %s one of rule %s's %zu statement_prefixes",
            m->has_statement ? "does not start with" : "is absent: it must start with", r->id, w->n_statement_prefixes);
    if (m->n_resources && !w->resources_any) {
        if (!w->n_resource_prefixes)
            WHY("SIWE message lists %zu resource(s): rule %s allows none", m->n_resources, r->id);
        size_t p = 0, k = 0;
        tkm_siwe_span res;
        while (tkm_siwe_resource_next(m, b, &p, &res)) {
            if (!span_starts_any(b, res, w->resource_prefixes, w->n_resource_prefixes))
                WHY("SIWE resource %zu does not start with one of rule %s's %zu resources", k + 1, r->id,
                    w->n_resource_prefixes);
            k++;
        }
    }
#undef WHY
    return 1;
}

/*
 * The message conditions of a sign_message rule (deny rules: prefixes only).
 * Returns: MSG_OK when they hold, else the first that fails (for MSG_SIWE the
 * explanation is in siwe_why when want).
 */
typedef enum { MSG_OK = 0, MSG_TOO_LONG, MSG_HASH_SHAPE, MSG_NOT_TEXT, MSG_PREFIX, MSG_SIWE } msg_fail;

static msg_fail msg_check(const tkm_policy_rule *r, const tkm_intent *in, int deny, int64_t now, int want,
                          char *siwe_why, size_t cap) {
    if (in->payload != TKM_PAYLOAD_MESSAGE) return MSG_PREFIX; /* unreachable: applies() matched the action */
    if (!deny) {
        if (in->msg_len > r->msg_max_len) return MSG_TOO_LONG;
        if (!r->msg_bytes && in->msg_len == 32) return MSG_HASH_SHAPE;
        if (!r->msg_bytes && !in->msg_text) return MSG_NOT_TEXT;
    }
    if (r->n_msg_prefixes) {
        int ok = 0;
        for (size_t i = 0; !ok && i < r->n_msg_prefixes; i++) {
            const tkm_policy_bytes *pf = &r->msg_prefixes[i];
            ok = pf->len <= in->msg_head_len && memcmp(pf->b, in->msg_head, pf->len) == 0;
        }
        if (!ok) return MSG_PREFIX;
    }
    if (!deny && r->siwe && !siwe_holds(r, in, now, want, siwe_why, cap)) return MSG_SIWE;
    return MSG_OK;
}

/* Per-request approval checks, computed once. */
typedef struct {
    tkm_approval_check c[TKM_APPROVALS_MAX];
    size_t n;
} approvals_ctx;

static tkm_rc check_approvals(approvals_ctx *ac, const tkm_eval_input *in) {
    ac->n = in->n_approvals;
    memset(ac->c, 0, sizeof ac->c);
    for (size_t i = 0; i < in->n_approvals; i++) {
        const tkm_approval *a = &in->approvals[i];
        tkm_approval_check *c = &ac->c[i];
        tkm_approval_digest(c->digest, in->instance_id, in->intent, a->expires_at);
        if (in->now < 0 || a->expires_at < (uint64_t)in->now) {
            c->why = "expired";
            continue;
        }
        tkm_rc rc = tkm_approval_recover(c->signer, a, c->digest);
        if (tkm_failed(rc)) {
            c->why = rc.code == TKM_ERR_VERIFY ? "does not sign this request's fields (wrong payload, amount, "
                                                 "destination, expiry or request id)"
                                               : "invalid signature";
            continue;
        }
        int used = 0;
        if (in->state->approval_used) TKM_TRY(in->state->approval_used(in->state->ctx, c->digest, c->signer, &used));
        if (used) {
            c->why = "already used by another request";
            continue;
        }
        c->ok = 1;
    }
    return TKM_RC_OK;
}

/*
 * Approvals condition for one rule. Out: *holds; on failure *invalid_idx is
 * the first presented approval that did not count (or -1), *why explains.
 */
static void rule_approvals(const tkm_policy *p, const tkm_policy_rule *r, const approvals_ctx *ac, int *holds,
                           long *invalid_idx, const char **why, size_t *short_group, unsigned *have) {
    *holds = 1;
    *invalid_idx = -1;
    *why = NULL;
    /* a presented approval that counts for none of the rule's groups */
    for (size_t i = 0; i < ac->n && *invalid_idx < 0; i++) {
        if (!ac->c[i].ok) {
            *invalid_idx = (long)i;
            *why = ac->c[i].why;
            continue;
        }
        int member = 0;
        for (size_t g = 0; g < r->n_approvals; g++)
            if (tkm_policy_set_has(&p->groups[r->approvals[g].group], ac->c[i].signer)) member = 1;
        if (!member && r->n_approvals > 0) {
            *invalid_idx = (long)i;
            *why = "signer is not a member of the required groups (or the approval signs other fields)";
        }
    }
    for (size_t g = 0; g < r->n_approvals; g++) {
        const tkm_policy_set *grp = &p->groups[r->approvals[g].group];
        unsigned count = 0;
        for (size_t i = 0; i < ac->n; i++) {
            if (!ac->c[i].ok || !tkm_policy_set_has(grp, ac->c[i].signer)) continue;
            int dup = 0;
            for (size_t j = 0; j < i; j++)
                if (ac->c[j].ok && memcmp(ac->c[j].signer, ac->c[i].signer, 20) == 0) dup = 1;
            if (!dup) count++;
        }
        if (count < r->approvals[g].threshold) {
            *holds = 0;
            *short_group = g;
            *have = count;
            return;
        }
    }
}

typedef struct {
    int rank;             /* first failing condition (RANK_ALL_HOLD when all hold) */
    tkm_reason reason;
    char detail[256];
} rule_result;

static void units(char out[82], const tkm_policy_asset *a, const tkm_u256 *v) { tkm_u256_to_units(v, a->decimals, out); }

#define DETAIL(...)                                                              \
    do {                                                                         \
        if (want_detail) strf(rr->detail, sizeof rr->detail, __VA_ARGS__);        \
    } while (0)

/*
 * First failing condition of one rule. The operator-facing detail is only
 * written when want_detail (it costs: addresses are EIP-55 formatted).
 */
static tkm_rc eval_rule(rule_result *rr, const tkm_eval_input *in, const tkm_policy_rule *r,
                        const approvals_ctx *ac, int deny, int want_detail) {
    const tkm_policy *p = in->policy;
    const tkm_intent *it = in->intent;
    memset(rr, 0, sizeof *rr);
    char a1[82], a2[82], a3[82];
    /* 1 chain */
    if (r->n_chain_ids) {
        int ok = 0;
        for (size_t i = 0; it->has_chain_id && i < r->n_chain_ids; i++)
            if (r->chain_ids[i] == it->chain_id) ok = 1;
        if (!ok) {
            rr->rank = RANK_CHAIN;
            rr->reason = TKM_REASON_CHAIN_NOT_ALLOWED;
            if (it->has_chain_id)
                DETAIL("chain %llu is not allowed by rule %s",
                         (unsigned long long)it->chain_id, r->id);
            else
                DETAIL("rule %s requires a chain id and the payload has none", r->id);
            return TKM_RC_OK;
        }
    }
    /* 2 destination */
    if (r->has_to && !to_allowed(p, r, it)) {
        rr->rank = RANK_DEST;
        rr->reason = TKM_REASON_DESTINATION_NOT_ALLOWED;
        if (it->has_to) {
            char s[TKM_ETH_ADDR_STR_LEN] = "";
            if (want_detail) tkm_eth_address_checksum(s, it->to);
            DETAIL("destination %s is not in rule %s's list", s, r->id);
        } else {
            DETAIL("rule %s needs a destination and the payload has none", r->id);
        }
        return TKM_RC_OK;
    }
    /* 3 selector */
    if (r->has_selectors) {
        int ok = 0;
        for (size_t i = 0; it->has_selector && i < r->n_selectors; i++)
            if (memcmp(r->selectors[i], it->selector, 4) == 0) ok = 1;
        if (!ok) {
            rr->rank = RANK_SELECTOR;
            rr->reason = TKM_REASON_SELECTOR_NOT_ALLOWED;
            if (it->has_selector)
                DETAIL("function selector 0x%02x%02x%02x%02x is not allowed by rule %s",
                         it->selector[0], it->selector[1], it->selector[2], it->selector[3], r->id);
            else
                DETAIL("rule %s needs a function selector and the calldata has none",
                         r->id);
            return TKM_RC_OK;
        }
    }
    /* 4 typed data */
    if (r->has_typed_data && !td_holds(r, it)) {
        rr->rank = RANK_TYPED_DATA;
        rr->reason = TKM_REASON_TYPED_DATA_NOT_ALLOWED;
        DETAIL("typed data (domain %s, primaryType %s) does not match rule %s",
                 it->has_td_name ? it->td_name : "(no name)", it->td_primary_type, r->id);
        return TKM_RC_OK;
    }
    /* 4 message conditions (the same rank: a rule has typed-data matchers or message conditions, never both) */
    if (r->action == TKM_ACTION_SIGN_MESSAGE) {
        char siwe_why[sizeof rr->detail] = "";
        msg_fail f = msg_check(r, it, deny, in->now, want_detail, siwe_why, sizeof siwe_why);
        if (f != MSG_OK) {
            rr->rank = RANK_MESSAGE;
            rr->reason = TKM_REASON_MESSAGE_NOT_ALLOWED;
            if (f == MSG_TOO_LONG)
                DETAIL("message is %zu bytes, over rule %s's max_length %zu", it->msg_len, r->id, r->msg_max_len);
            else if (f == MSG_HASH_SHAPE)
                DETAIL("message is exactly 32 bytes, the shape of a hash: rule %s allows text only "
                       "(a rule needs encoding \"bytes\" for that)", r->id);
            else if (f == MSG_NOT_TEXT)
                DETAIL("message is not text (invalid UTF-8, control characters other than \\n, or bidi "
                       "controls): rule %s allows text only", r->id);
            else if (f == MSG_SIWE)
                DETAIL("%s", siwe_why);
            else
                DETAIL("message does not start with one of rule %s's %zu prefixes", r->id, r->n_msg_prefixes);
            return TKM_RC_OK;
        }
    }
    /* 7 dates apply to deny rules too: checked in order below */
    if (!deny) {
        /* 5 amount */
        if (r->has_max_amount && (!it->has_amount || tkm_u256_cmp(&it->amount, &r->max_amount) > 0)) {
            const tkm_policy_asset *as = &p->assets[r->asset];
            units(a1, as, &it->amount);
            units(a2, as, &r->max_amount);
            rr->rank = RANK_AMOUNT;
            rr->reason = TKM_REASON_AMOUNT_OVER_MAX;
            DETAIL("amount %s %s is over rule %s's max_amount %s", a1, as->name,
                     r->id, a2);
            return TKM_RC_OK;
        }
        /* 6 native value: without max_value a call or deployment may carry none */
        if ((r->action == TKM_ACTION_CONTRACT_CALL || r->action == TKM_ACTION_DEPLOY) && !tkm_u256_is_zero(&it->value)) {
            tkm_u256 zero = tkm_u256_zero();
            const tkm_u256 *max = r->has_max_value ? &r->max_value : &zero;
            if (tkm_u256_cmp(&it->value, max) > 0) {
                tkm_u256_to_units(&it->value, 18, a1);
                tkm_u256_to_units(max, 18, a2);
                rr->rank = RANK_VALUE;
                rr->reason = TKM_REASON_VALUE_OVER_MAX;
                DETAIL("native value %s is over rule %s's max_value %s", a1, r->id, a2);
                return TKM_RC_OK;
            }
        }
    }
    /* 7 dates */
    if ((r->has_valid_from && in->now < r->valid_from) || (r->has_valid_until && in->now >= r->valid_until)) {
        rr->rank = RANK_DATES;
        rr->reason = TKM_REASON_RULE_NOT_IN_EFFECT;
        DETAIL("rule %s is not in effect at %lld", r->id, (long long)in->now);
        return TKM_RC_OK;
    }
    if (deny) {
        rr->rank = RANK_ALL_HOLD;
        return TKM_RC_OK;
    }
    /* 8 window */
    if (r->has_window) {
        const tkm_policy_asset *as = &p->assets[r->asset];
        tkm_u256 spent = tkm_u256_zero(), total;
        int64_t since = in->now - (int64_t)r->window_seconds;
        TKM_TRY(in->state->window_spent(in->state->ctx, r->id, as->name, since, &spent));
        int over = tkm_failed(tkm_u256_add(&total, &spent, &it->amount)) ||
                   tkm_u256_cmp(&total, &r->window_amount) > 0;
        if (over) {
            units(a1, as, &spent);
            units(a2, as, &it->amount);
            units(a3, as, &r->window_amount);
            rr->rank = RANK_WINDOW;
            rr->reason = TKM_REASON_WINDOW_LIMIT_EXCEEDED;
            DETAIL(
                     "rule %s: %s %s already spent in the last %llu s + %s would exceed the limit %s", r->id, a1,
                     as->name, (unsigned long long)r->window_seconds, a2, a3);
            return TKM_RC_OK;
        }
    }
    /* 9 approvals */
    if (r->n_approvals) {
        int holds;
        long bad;
        const char *why;
        size_t g = 0;
        unsigned have = 0;
        rule_approvals(p, r, ac, &holds, &bad, &why, &g, &have);
        if (!holds) {
            rr->rank = RANK_APPROVALS;
            const tkm_policy_approval_req *req = &r->approvals[g];
            if (bad >= 0) {
                rr->reason = TKM_REASON_APPROVAL_INVALID;
                DETAIL("rule %s: group %s has %u of %u approvals; approvals[%ld] %s",
                         r->id, p->groups[req->group].name, have, req->threshold, bad, why);
            } else {
                rr->reason = TKM_REASON_APPROVALS_MISSING;
                DETAIL("rule %s: group %s has %u of %u approvals", r->id,
                         p->groups[req->group].name, have, req->threshold);
            }
            return TKM_RC_OK;
        }
    }
    rr->rank = RANK_ALL_HOLD;
    return TKM_RC_OK;
}

static void record_used(tkm_decision *d, const tkm_policy *p, const tkm_policy_rule *r, const approvals_ctx *ac) {
    d->n_used = 0;
    for (size_t i = 0; i < ac->n; i++) {
        if (!ac->c[i].ok) continue;
        int member = 0;
        for (size_t g = 0; g < r->n_approvals; g++)
            if (tkm_policy_set_has(&p->groups[r->approvals[g].group], ac->c[i].signer)) member = 1;
        if (!member) continue;
        memcpy(d->used_digest[d->n_used], ac->c[i].digest, 32);
        memcpy(d->used_signer[d->n_used], ac->c[i].signer, 20);
        d->n_used++;
    }
}

static tkm_rc request_checks(tkm_decision *d, const tkm_eval_input *in, int *decided) {
    const tkm_intent *it = in->intent;
    const tkm_policy *p = in->policy;
    *decided = 1;
    if (it->payload == TKM_PAYLOAD_MESSAGE && !p->message_rules) {
        reject(d, TKM_REASON_UNSUPPORTED_PAYLOAD);
        setd(d, "EIP-191 messages are off: policy version %llu has no allow rule with action sign_message",
             (unsigned long long)p->version);
        return TKM_RC_OK;
    }
    if (it->payload == TKM_PAYLOAD_TX && (it->tx_type > 4 || !(p->tx_types_named & (1u << it->tx_type)))) {
        reject(d, TKM_REASON_UNSUPPORTED_PAYLOAD);
        setd(d, "transaction type %u is not named by any rule of policy version %llu", it->tx_type,
             (unsigned long long)p->version);
        return TKM_RC_OK;
    }
    if (in->key_status != TKM_KEY_ACTIVE) {
        reject(d, TKM_REASON_UNKNOWN_KEY);
        setd(d, "key %s is %s", it->key_label, in->key_status == TKM_KEY_RETIRED ? "retired" : "not known");
        return TKM_RC_OK;
    }
    int found = 0;
    uint8_t key[20], ph[32];
    TKM_TRY(in->state->request_get(in->state->ctx, it->request_id, &found, key, ph));
    if (found) {
        if (memcmp(key, it->key, 20) == 0 && memcmp(ph, it->payload_hash, 32) == 0) {
            d->allow = 1;
            d->idempotent = 1;
            d->reason = TKM_REASON_NONE;
            setd(d, "request %s was already allowed with this payload: same result", it->request_id);
            return TKM_RC_OK;
        }
        reject(d, TKM_REASON_REPLAYED_REQUEST);
        setd(d, "request id %s was already used for another payload", it->request_id);
        return TKM_RC_OK;
    }
    if (it->not_after < in->now) {
        reject(d, TKM_REASON_OUTSIDE_VALIDITY);
        setd(d, "request expired at %lld (now %lld)", (long long)it->not_after, (long long)in->now);
        return TKM_RC_OK;
    }
    if ((uint64_t)(it->not_after - in->now) > p->max_validity_seconds) {
        reject(d, TKM_REASON_OUTSIDE_VALIDITY);
        setd(d, "notAfter is %lld s ahead, more than max_validity_seconds %llu", (long long)(it->not_after - in->now),
             (unsigned long long)p->max_validity_seconds);
        return TKM_RC_OK;
    }
    if (it->payload == TKM_PAYLOAD_TX && it->has_nonce && it->has_chain_id) {
        found = 0;
        TKM_TRY(in->state->nonce_get(in->state->ctx, it->key, it->chain_id, it->nonce, &found, ph));
        if (found && memcmp(ph, it->payload_hash, 32) != 0) {
            reject(d, TKM_REASON_NONCE_CONFLICT);
            setd(d, "nonce %llu on chain %llu was already signed for another payload", (unsigned long long)it->nonce,
                 (unsigned long long)it->chain_id);
            return TKM_RC_OK;
        }
    }
    *decided = 0;
    return TKM_RC_OK;
}

tkm_rc tkm_policy_evaluate(tkm_decision *d, const tkm_eval_input *in) {
    TKM_ARG_CHECK(in->policy && in->intent && in->state && in->instance_id);
    TKM_ARG_CHECK(in->n_approvals <= TKM_APPROVALS_MAX && (in->approvals || in->n_approvals == 0));
    memset(d, 0, sizeof *d);
    d->rule = -1;
    d->asset = -1;
    d->now = in->now;
    const tkm_policy *p = in->policy;
    const tkm_intent *it = in->intent;

    if (it->asset_kind != TKM_ASSET_NONE && it->has_chain_id)
        d->asset = tkm_policy_asset_find(p, it->chain_id, it->asset_kind == TKM_ASSET_CONTRACT ? it->asset_contract : NULL);

    int decided;
    TKM_TRY(request_checks(d, in, &decided));
    if (decided) return TKM_RC_OK;

    /* deny rules first */
    rule_result rr;
    for (size_t i = 0; i < p->n_rules; i++) {
        const tkm_policy_rule *r = &p->rules[i];
        if (r->allow || !applies(r, it, d->asset)) continue;
        TKM_TRY(eval_rule(&rr, in, r, NULL, 1, 0));
        if (rr.rank == RANK_ALL_HOLD) {
            reject(d, TKM_REASON_DENIED_BY_RULE);
            d->rule = (long)i;
            strf(d->rule_id, sizeof d->rule_id, "%s", r->id);
            setd(d, "denied by rule %s", r->id);
            return TKM_RC_OK;
        }
    }

    approvals_ctx ac;
    TKM_TRY(check_approvals(&ac, in));
    int best_rank = -1;
    for (size_t i = 0; i < p->n_rules; i++) {
        const tkm_policy_rule *r = &p->rules[i];
        if (!r->allow || !applies(r, it, d->asset)) continue;
        TKM_TRY(eval_rule(&rr, in, r, &ac, 0, 0));
        if (rr.rank == RANK_ALL_HOLD) {
            d->allow = 1;
            d->reason = TKM_REASON_NONE;
            d->rule = (long)i;
            strf(d->rule_id, sizeof d->rule_id, "%s", r->id);
            d->detail[0] = 0;
            if (r->has_asset && (r->action == TKM_ACTION_TRANSFER || r->action == TKM_ACTION_APPROVE) &&
                it->has_amount) {
                d->charge = 1;
                d->amount = it->amount;
            }
            record_used(d, p, r, &ac);
            setd(d, "allowed by rule %s", r->id);
            return TKM_RC_OK;
        }
        if (rr.rank > best_rank) {
            TKM_TRY(eval_rule(&rr, in, r, &ac, 0, 1)); /* again, with the explanation */
            best_rank = rr.rank;
            reject(d, rr.reason);
            d->rule = (long)i;
            strf(d->rule_id, sizeof d->rule_id, "%s", r->id);
            memcpy(d->detail, rr.detail, sizeof d->detail);
        }
    }
    if (best_rank < 0) {
        reject(d, TKM_REASON_NO_MATCHING_RULE);
        d->rule = -1;
        d->rule_id[0] = 0;
        char s[TKM_ETH_ADDR_STR_LEN];
        tkm_eth_address_checksum(s, it->key);
        if (it->payload == TKM_PAYLOAD_MESSAGE)
            setd(d, "no rule applies to sign_message by key %s (%s)", it->key_label, s);
        else
            setd(d, "no rule applies to %s of %s by key %s (%s)", tkm_action_name(it->action),
                 d->asset >= 0 ? p->assets[d->asset].name
                               : (it->asset_kind == TKM_ASSET_NONE ? "no asset" : "an unlisted asset"),
                 it->key_label, s);
    }
    return TKM_RC_OK;
}
