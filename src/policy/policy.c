/* see tkm_policy.h — the strict policy loader. */
#include "tkm_policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../eth/tkm_siwe.h"

/* snprintf that truncates silently (details and paths are bounded on purpose). */
static void strf(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void strf(char *dst, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

#define PATH_MAX_LEN 192

static const char *const action_names[] = {"any", "transfer", "approve", "contract_call", "typed_data",
                                           "deploy", "sign_message"};

const char *tkm_action_name(tkm_action a) {
    if ((unsigned)a < sizeof action_names / sizeof action_names[0]) return action_names[a];
    return "?";
}

tkm_rc tkm_action_parse(tkm_action *a, const char *s) {
    *a = TKM_ACTION_ANY;
    for (unsigned i = 1; i < sizeof action_names / sizeof action_names[0]; i++)
        if (strcmp(s, action_names[i]) == 0) {
            *a = (tkm_action)i;
            return TKM_RC_OK;
        }
    TKM_ENSURE(0, TKM_ERR_FORMAT);
}

/* Fail with code and "path: message". */
static tkm_rc failf(tkm_err code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static tkm_rc failf(tkm_err code, const char *path, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tkm_err_detail_set("%s: %s", path[0] ? path : "(root)", msg);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(code);
}

/* A failure from a helper that did not name the path: prefix it. */
static tkm_rc at_path(tkm_rc rc, const char *path) {
    if (tkm_ok(rc)) return rc;
    char prev[200];
    strf(prev, sizeof prev, "%s", tkm_err_detail());
    tkm_err_detail_set("%s: %s", path, prev[0] ? prev : tkm_err_str(rc.code));
    return rc;
}

static void subpath(char out[PATH_MAX_LEN], const char *path, const char *key) {
    strf(out, PATH_MAX_LEN, "%s%s%s", path, path[0] ? "." : "", key);
}
static void idxpath(char out[PATH_MAX_LEN], const char *path, size_t i) {
    strf(out, PATH_MAX_LEN, "%s[%zu]", path, i);
}

/* Names: 1..64 of [A-Za-z0-9_.-], not starting with "0x" (those are addresses). */
static int name_ok(const char *s, size_t n) {
    if (n < 1 || n > TKM_POLICY_NAME_MAX) return 0;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static tkm_rc parse_addr(tkm_addr *a, const json_t *v, const char *path) {
    memset(a, 0, sizeof *a);
    if (!json_is_string(v)) return failf(TKM_ERR_JSON_TYPE, path, "must be an address string");
    tkm_rc rc = tkm_eth_address_parse(a->b, json_string_value(v), json_string_length(v));
    if (tkm_failed(rc))
        return failf(rc.code, path, "%s", rc.code == TKM_ERR_CHECKSUM ? "EIP-55 checksum mismatch"
                                                                       : "must be 0x followed by 40 hex digits");
    return rc;
}

static tkm_rc get_array(const json_t *obj, const char *path, const char *key, int required, size_t min,
                        size_t max, json_t **arr) {
    char p[PATH_MAX_LEN];
    *arr = NULL;
    TKM_TRY(tkm_json_get(obj, path, key, required, arr));
    if (!*arr) return TKM_RC_OK;
    subpath(p, path, key);
    if (!json_is_array(*arr)) return failf(TKM_ERR_JSON_TYPE, p, "must be an array");
    size_t n = json_array_size(*arr);
    if (n < min) return failf(TKM_ERR_POLICY_DOC, p, "must have at least %zu entr%s", min, min == 1 ? "y" : "ies");
    if (n > max) return failf(TKM_ERR_POLICY_DOC, p, "more than %zu entries", max);
    return TKM_RC_OK;
}

static int addr_in(const tkm_addr *list, size_t n, const tkm_addr *a) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(list[i].b, a->b, TKM_ETH_ADDR_LEN) == 0) return 1;
    return 0;
}

/* An array of unique addresses. Out: *out (calloc'd, owned by the policy). */
static tkm_rc parse_addr_list(const json_t *arr, const char *path, tkm_addr **out, size_t *n_out) {
    size_t n = json_array_size(arr);
    *out = NULL;
    *n_out = 0;
    tkm_addr *list = calloc(n ? n : 1, sizeof *list);
    TKM_ENSURE(list, TKM_ERR_NOMEM);
    char p[PATH_MAX_LEN];
    for (size_t i = 0; i < n; i++) {
        idxpath(p, path, i);
        tkm_rc rc = parse_addr(&list[i], json_array_get(arr, i), p);
        if (tkm_ok(rc) && addr_in(list, i, &list[i])) rc = failf(TKM_ERR_POLICY_DOC, p, "duplicate address");
        if (tkm_failed(rc)) {
            free(list);
            return rc;
        }
    }
    *out = list;
    *n_out = n;
    return TKM_RC_OK;
}

/* A JSON integer in [min, max] as a bare value. */
static tkm_rc value_int(const json_t *v, const char *path, int64_t min, int64_t max, int64_t *out) {
    *out = 0;
    if (!json_is_integer(v)) return failf(TKM_ERR_JSON_TYPE, path, "must be an integer");
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return failf(TKM_ERR_RANGE, path, "must be between %lld and %lld", (long long)min, (long long)max);
    *out = (int64_t)x;
    return TKM_RC_OK;
}

static tkm_rc get_int(const json_t *obj, const char *path, const char *key, int required, int64_t min,
                      int64_t max, int64_t *out, int *present) {
    json_t *v;
    char p[PATH_MAX_LEN];
    *out = 0;
    if (present) *present = 0;
    TKM_TRY(tkm_json_get(obj, path, key, required, &v));
    if (!v) return TKM_RC_OK;
    subpath(p, path, key);
    TKM_TRY(value_int(v, p, min, max, out));
    if (present) *present = 1;
    return TKM_RC_OK;
}

/* A decimal amount string in the asset's units. */
static tkm_rc get_amount(const json_t *obj, const char *path, const char *key, unsigned decimals,
                         tkm_u256 *out) {
    char p[PATH_MAX_LEN];
    json_t *v;
    *out = tkm_u256_zero();
    TKM_TRY(tkm_json_get(obj, path, key, 1, &v));
    subpath(p, path, key);
    if (!json_is_string(v))
        return failf(TKM_ERR_JSON_TYPE, p, "must be a decimal string in the asset's units (\"1.5\"), not a JSON number");
    tkm_rc rc = tkm_u256_from_units(out, json_string_value(v), json_string_length(v), decimals);
    if (tkm_failed(rc)) {
        if (rc.code == TKM_ERR_DECIMAL && strstr(tkm_err_detail(), "fractional"))
            return failf(rc.code, p, "more fractional digits than the asset's %u decimals", decimals);
        return failf(rc.code, p, "invalid decimal amount (digits, optional '.' and up to %u decimals)", decimals);
    }
    return TKM_RC_OK;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    /* H. Hinnant's algorithm: days since 1970-01-01 in the proleptic Gregorian calendar. */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

tkm_rc tkm_policy_parse_time(int64_t *out, const json_t *v, const char *path) {
    *out = 0;
    if (json_is_integer(v)) return value_int(v, path, 0, (int64_t)253402300799LL, out);
    if (!json_is_string(v))
        return failf(TKM_ERR_JSON_TYPE, path, "must be unix seconds or \"YYYY-MM-DDTHH:MM:SSZ\"");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    int ok = n == sizeof shape - 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = shape[i] == 'd' ? (s[i] >= '0' && s[i] <= '9') : s[i] == shape[i];
    if (!ok) return failf(TKM_ERR_FORMAT, path, "time must be \"YYYY-MM-DDTHH:MM:SSZ\" (UTC) or unix seconds");
#define D2(i) ((unsigned)(s[i] - '0') * 10 + (unsigned)(s[(i) + 1] - '0'))
    unsigned year = D2(0) * 100 + D2(2), mon = D2(5), day = D2(8), hh = D2(11), mm = D2(14), ss = D2(17);
#undef D2
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1] ||
        (mon == 2 && day == 29 && !leap) || hh > 23 || mm > 59 || ss > 59)
        return failf(TKM_ERR_RANGE, path, "not a valid UTC date and time");
    *out = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
    return TKM_RC_OK;
}

static void bytes_list_free(tkm_policy_bytes *l, size_t n) {
    for (size_t i = 0; l && i < n; i++) free(l[i].b);
    free(l);
}

static void siwe_free(tkm_policy_siwe *w) {
    if (!w) return;
    bytes_list_free(w->domains, w->n_domains);
    bytes_list_free(w->schemes, w->n_schemes);
    bytes_list_free(w->uris, w->n_uris);
    free(w->chain_ids);
    bytes_list_free(w->statement_prefixes, w->n_statement_prefixes);
    bytes_list_free(w->resource_prefixes, w->n_resource_prefixes);
    free(w);
}

void tkm_policy_free(tkm_policy *p) {
    if (!p) return;
    free(p->admins);
    for (size_t i = 0; i < p->n_groups; i++) free(p->groups[i].addrs);
    free(p->groups);
    for (size_t i = 0; i < p->n_books; i++) free(p->books[i].addrs);
    free(p->books);
    free(p->assets);
    for (size_t i = 0; i < p->n_rules; i++) {
        tkm_policy_rule *r = &p->rules[i];
        free(r->key_labels);
        free(r->key_addrs);
        free(r->chain_ids);
        free(r->to_addrs);
        free(r->to_books);
        free(r->selectors);
        free(r->td_name);
        free(r->td_version);
        free(r->td_primary_type);
        for (size_t j = 0; j < r->n_msg_prefixes; j++) free(r->msg_prefixes[j].b);
        free(r->msg_prefixes);
        siwe_free(r->siwe);
    }
    free(p->rules);
    for (size_t i = 0; i < p->n_clients; i++) {
        free(p->clients[i].key_labels);
        free(p->clients[i].key_addrs);
        free(p->clients[i].fingerprints);
    }
    free(p->clients);
    free(p->canonical);
    free(p);
}

const tkm_policy_client *tkm_policy_client_find(const tkm_policy *p, const char *cn, const uint8_t fpr[static 32]) {
    for (size_t i = 0; i < p->n_clients; i++) {
        const tkm_policy_client *c = &p->clients[i];
        if (strcmp(c->name, cn) != 0) continue;
        if (!c->n_fingerprints) return c;
        for (size_t j = 0; j < c->n_fingerprints; j++)
            if (memcmp(c->fingerprints[j], fpr, 32) == 0) return c;
        return NULL;
    }
    return NULL;
}

int tkm_policy_client_may_use(const tkm_policy_client *c, const char *label, const uint8_t addr[static TKM_ETH_ADDR_LEN]) {
    if (!(c->roles & TKM_POLICY_ROLE_SIGN)) return 0;
    if (c->keys_any) return 1;
    for (size_t i = 0; i < c->n_key_labels; i++)
        if (strcmp(c->key_labels[i], label) == 0) return 1;
    for (size_t i = 0; i < c->n_key_addrs; i++)
        if (memcmp(c->key_addrs[i].b, addr, TKM_ETH_ADDR_LEN) == 0) return 1;
    return 0;
}

long tkm_policy_asset_by_name(const tkm_policy *p, const char *name) {
    for (size_t i = 0; i < p->n_assets; i++)
        if (strcmp(p->assets[i].name, name) == 0) return (long)i;
    return -1;
}

long tkm_policy_asset_find(const tkm_policy *p, uint64_t chain_id, const uint8_t *contract) {
    for (size_t i = 0; i < p->n_assets; i++) {
        const tkm_policy_asset *a = &p->assets[i];
        if (a->chain_id != chain_id) continue;
        if (!contract && a->native) return (long)i;
        if (contract && !a->native && memcmp(a->contract.b, contract, TKM_ETH_ADDR_LEN) == 0) return (long)i;
    }
    return -1;
}

int tkm_policy_set_has(const tkm_policy_set *s, const uint8_t addr[static TKM_ETH_ADDR_LEN]) {
    for (size_t i = 0; i < s->n; i++)
        if (memcmp(s->addrs[i].b, addr, TKM_ETH_ADDR_LEN) == 0) return 1;
    return 0;
}

int tkm_policy_is_admin(const tkm_policy *p, const uint8_t addr[static TKM_ETH_ADDR_LEN]) {
    for (size_t i = 0; i < p->n_admins; i++)
        if (memcmp(p->admins[i].b, addr, TKM_ETH_ADDR_LEN) == 0) return 1;
    return 0;
}

/* One code point of strict UTF-8 (RFC 3629 Table 3-7). Out: *cp. Returns: 0 when malformed or truncated. */
static int utf8_next(tkm_rd *r, uint32_t *cp) {
    uint8_t b0, b;
    *cp = 0;
    if (tkm_failed(tkm_rd_u8(r, &b0))) return 0;
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    unsigned n;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 1;
        *cp = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 2;
        *cp = b0 & 0x0Fu;
        if (b0 == 0xE0) lo = 0xA0;      /* no overlong forms */
        if (b0 == 0xED) hi = 0x9F;      /* no surrogates */
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 3;
        *cp = b0 & 0x07u;
        if (b0 == 0xF0) lo = 0x90;      /* no overlong forms */
        if (b0 == 0xF4) hi = 0x8F;      /* nothing above U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
    }
    for (unsigned i = 0; i < n; i++) {
        if (tkm_failed(tkm_rd_u8(r, &b)) || b < lo || b > hi) return 0;
        lo = 0x80;
        hi = 0xBF;
        *cp = (*cp << 6) | (b & 0x3Fu);
    }
    return 1;
}

int tkm_policy_message_is_text(const uint8_t *msg, size_t len) {
    tkm_rd r;
    tkm_rd_init(&r, msg, len);
    while (tkm_rd_left(&r)) {
        uint32_t c;
        if (!utf8_next(&r, &c)) return 0;
        if ((c < 0x20 && c != 0x0A) || (c >= 0x7F && c <= 0x9F)) return 0; /* C0 but LF, DEL, C1 */
        if (c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
            (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029)
            return 0; /* bidi controls and separators: text that displays other than it reads */
    }
    return tkm_ok(tkm_rd_done(&r));
}

/* ---- sections ---- */

static tkm_rc parse_admins(tkm_policy *p, const json_t *root) {
    static const char *const fields[] = {"threshold", "members", NULL};
    json_t *a, *members;
    TKM_TRY(tkm_json_get(root, "", "admins", 1, &a));
    TKM_TRY(tkm_json_check_fields(a, "admins", fields));
    TKM_TRY(get_array(a, "admins", "members", 1, 1, TKM_POLICY_MAX_GROUP, &members));
    TKM_TRY(parse_addr_list(members, "admins.members", &p->admins, &p->n_admins));
    int64_t t;
    TKM_TRY(get_int(a, "admins", "threshold", 1, 1, (int64_t)p->n_admins, &t, NULL));
    p->admin_threshold = (unsigned)t;
    return TKM_RC_OK;
}

/* groups / address_books: object name -> array of addresses. */
static tkm_rc parse_sets(const json_t *root, const char *key, int required, size_t max_members,
                         size_t min_members, tkm_policy_set **out, size_t *n_out) {
    json_t *obj;
    TKM_TRY(tkm_json_get(root, "", key, required, &obj));
    if (!obj) return TKM_RC_OK;
    if (!json_is_object(obj)) return failf(TKM_ERR_JSON_TYPE, key, "must be an object of name -> addresses");
    size_t n = json_object_size(obj);
    if (n > TKM_POLICY_MAX_RULES) return failf(TKM_ERR_POLICY_DOC, key, "too many entries");
    *out = calloc(n ? n : 1, sizeof **out);
    TKM_ENSURE(*out, TKM_ERR_NOMEM);
    const char *name;
    json_t *v;
    char p[PATH_MAX_LEN];
    json_object_foreach(obj, name, v) {
        subpath(p, key, name);
        if (!name_ok(name, strlen(name)))
            return failf(TKM_ERR_POLICY_DOC, p, "names are 1-64 characters of A-Z a-z 0-9 _ . - (not 0x…)");
        if (!json_is_array(v)) return failf(TKM_ERR_JSON_TYPE, p, "must be an array of addresses");
        size_t m = json_array_size(v);
        if (m < min_members) return failf(TKM_ERR_POLICY_DOC, p, "must not be empty");
        if (m > max_members) return failf(TKM_ERR_POLICY_DOC, p, "more than %zu members", max_members);
        tkm_policy_set *s = &(*out)[*n_out];
        strf(s->name, sizeof s->name, "%s", name);
        (*n_out)++;
        TKM_TRY(parse_addr_list(v, p, &s->addrs, &s->n));
    }
    return TKM_RC_OK;
}

static tkm_rc parse_assets(tkm_policy *p, const json_t *root) {
    static const char *const fields[] = {"chain_id", "native", "contract", "standard", "decimals", NULL};
    json_t *obj;
    TKM_TRY(tkm_json_get(root, "", "assets", 1, &obj));
    if (!json_is_object(obj)) return failf(TKM_ERR_JSON_TYPE, "assets", "must be an object of name -> asset");
    size_t n = json_object_size(obj);
    if (n > TKM_POLICY_MAX_RULES) return failf(TKM_ERR_POLICY_DOC, "assets", "too many assets");
    p->assets = calloc(n ? n : 1, sizeof *p->assets);
    TKM_ENSURE(p->assets, TKM_ERR_NOMEM);
    const char *name;
    json_t *v;
    char path[PATH_MAX_LEN], fp[PATH_MAX_LEN];
    json_object_foreach(obj, name, v) {
        subpath(path, "assets", name);
        if (!name_ok(name, strlen(name)))
            return failf(TKM_ERR_POLICY_DOC, path, "names are 1-64 characters of A-Z a-z 0-9 _ . - (not 0x…)");
        TKM_TRY(tkm_json_check_fields(v, path, fields));
        tkm_policy_asset *a = &p->assets[p->n_assets];
        strf(a->name, sizeof a->name, "%s", name);
        int64_t x;
        TKM_TRY(get_int(v, path, "chain_id", 1, 1, INT64_MAX, &x, NULL));
        a->chain_id = (uint64_t)x;
        TKM_TRY(get_int(v, path, "decimals", 1, 0, 77, &x, NULL));
        a->decimals = (unsigned)x;
        int native = 0, has_native = 0;
        TKM_TRY(tkm_json_bool(v, path, "native", 0, &native, &has_native));
        json_t *contract, *standard;
        TKM_TRY(tkm_json_get(v, path, "contract", 0, &contract));
        TKM_TRY(tkm_json_get(v, path, "standard", 0, &standard));
        if (has_native && !native)
            return failf(TKM_ERR_POLICY_DOC, path, "\"native\": false is ambiguous: omit it and give \"contract\"");
        if (native && (contract || standard))
            return failf(TKM_ERR_POLICY_DOC, path, "a native asset has no contract or standard");
        if (!native && !contract)
            return failf(TKM_ERR_POLICY_DOC, path, "needs either \"native\": true or a \"contract\"");
        if (native) {
            a->native = 1;
            if (tkm_policy_asset_find(p, a->chain_id, NULL) >= 0)
                return failf(TKM_ERR_POLICY_DOC, path, "a second native asset for chain %llu",
                             (unsigned long long)a->chain_id);
        } else {
            subpath(fp, path, "contract");
            TKM_TRY(parse_addr(&a->contract, contract, fp));
            subpath(fp, path, "standard");
            if (!standard) return failf(TKM_ERR_JSON_MISSING, fp, "required field missing (erc20 or erc3643)");
            if (!json_is_string(standard)) return failf(TKM_ERR_JSON_TYPE, fp, "must be \"erc20\" or \"erc3643\"");
            if (strcmp(json_string_value(standard), "erc20") == 0)
                a->standard = TKM_STANDARD_ERC20;
            else if (strcmp(json_string_value(standard), "erc3643") == 0)
                a->standard = TKM_STANDARD_ERC3643;
            else
                return failf(TKM_ERR_POLICY_DOC, fp, "must be \"erc20\" or \"erc3643\"");
            if (tkm_policy_asset_find(p, a->chain_id, a->contract.b) >= 0)
                return failf(TKM_ERR_POLICY_DOC, path, "the same contract on the same chain is listed twice");
        }
        p->n_assets++;
    }
    return TKM_RC_OK;
}

static long set_index(const tkm_policy_set *sets, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(sets[i].name, name) == 0) return (long)i;
    return -1;
}

/* A "keys" list: labels and/or addresses, or ["*"]. Arrays are owned by the caller's struct. */
typedef struct {
    int *keys_any;
    char (**key_labels)[TKM_POLICY_NAME_MAX + 1];
    size_t *n_key_labels;
    tkm_addr **key_addrs;
    size_t *n_key_addrs;
} key_list_out;

static tkm_rc parse_key_list(const key_list_out *r0, const json_t *obj, const char *path);

static tkm_rc parse_rule_keys(tkm_policy_rule *r, const json_t *rule, const char *path) {
    key_list_out o = {&r->keys_any, &r->key_labels, &r->n_key_labels, &r->key_addrs, &r->n_key_addrs};
    return parse_key_list(&o, rule, path);
}

static tkm_rc parse_key_list(const key_list_out *o, const json_t *obj, const char *path) {
    json_t *arr;
    char p[PATH_MAX_LEN], kp[PATH_MAX_LEN];
    TKM_TRY(get_array(obj, path, "keys", 1, 1, TKM_POLICY_MAX_LIST, &arr));
    subpath(kp, path, "keys");
    size_t n = json_array_size(arr);
    /* owned by the caller's struct from here on (freed with the policy, also after a failure) */
    char (*labels)[TKM_POLICY_NAME_MAX + 1] = *o->key_labels = calloc(n, sizeof *labels);
    tkm_addr *addrs = *o->key_addrs = calloc(n, sizeof *addrs);
    TKM_ENSURE(labels && addrs, TKM_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        idxpath(p, kp, i);
        if (!json_is_string(v)) return failf(TKM_ERR_JSON_TYPE, p, "must be a key label, an address or \"*\"");
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (strcmp(s, "*") == 0) {
            if (n != 1) return failf(TKM_ERR_POLICY_DOC, p, "\"*\" (any key) must be the only entry");
            *o->keys_any = 1;
        } else if (len >= 2 && s[0] == '0' && s[1] == 'x') {
            tkm_addr a;
            TKM_TRY(parse_addr(&a, v, p));
            if (addr_in(addrs, *o->n_key_addrs, &a)) return failf(TKM_ERR_POLICY_DOC, p, "duplicate key");
            addrs[(*o->n_key_addrs)++] = a;
        } else {
            if (!name_ok(s, len))
                return failf(TKM_ERR_POLICY_DOC, p, "a key label is 1-64 characters of A-Z a-z 0-9 _ . -");
            for (size_t j = 0; j < *o->n_key_labels; j++)
                if (strcmp(labels[j], s) == 0) return failf(TKM_ERR_POLICY_DOC, p, "duplicate key");
            strf(labels[(*o->n_key_labels)++], TKM_POLICY_NAME_MAX + 1, "%s", s);
        }
    }
    return TKM_RC_OK;
}

static const char *const role_names[] = {"sign", "approve", "admin", "read"};

/* clients: object CN -> {roles, keys?, fingerprints?} */
static tkm_rc parse_clients(tkm_policy *pol, const json_t *root) {
    static const char *const fields[] = {"roles", "keys", "fingerprints", NULL};
    json_t *obj;
    TKM_TRY(tkm_json_get(root, "", "clients", 0, &obj));
    if (!obj) return TKM_RC_OK;
    if (!json_is_object(obj)) return failf(TKM_ERR_JSON_TYPE, "clients", "must be an object of name -> client");
    size_t n = json_object_size(obj);
    if (n > TKM_POLICY_MAX_CLIENTS) return failf(TKM_ERR_POLICY_DOC, "clients", "more than %d clients", TKM_POLICY_MAX_CLIENTS);
    pol->clients = calloc(n ? n : 1, sizeof *pol->clients);
    TKM_ENSURE(pol->clients, TKM_ERR_NOMEM);
    const char *name;
    json_t *v;
    char p[PATH_MAX_LEN], q[PATH_MAX_LEN], e[PATH_MAX_LEN];
    json_object_foreach(obj, name, v) {
        subpath(p, "clients", name);
        if (!name_ok(name, strlen(name)))
            return failf(TKM_ERR_POLICY_DOC, p, "a client is named by its certificate CN: 1-64 characters of A-Z a-z 0-9 _ . - (not 0x…)");
        if (!json_is_object(v)) return failf(TKM_ERR_JSON_TYPE, p, "must be an object {roles, keys, fingerprints}");
        TKM_TRY(tkm_json_check_fields(v, p, fields));
        tkm_policy_client *c = &pol->clients[pol->n_clients++];
        strf(c->name, sizeof c->name, "%s", name);
        json_t *roles;
        TKM_TRY(get_array(v, p, "roles", 1, 1, 4, &roles));
        subpath(q, p, "roles");
        for (size_t i = 0; i < json_array_size(roles); i++) {
            json_t *r = json_array_get(roles, i);
            idxpath(e, q, i);
            unsigned bit = 0;
            for (unsigned k = 0; json_is_string(r) && k < 4; k++)
                if (strcmp(json_string_value(r), role_names[k]) == 0) bit = 1u << k;
            if (!bit) return failf(TKM_ERR_POLICY_DOC, e, "a role is \"sign\", \"approve\", \"admin\" or \"read\"");
            if (c->roles & bit) return failf(TKM_ERR_POLICY_DOC, e, "duplicate role");
            c->roles |= bit;
        }
        json_t *keys;
        TKM_TRY(tkm_json_get(v, p, "keys", 0, &keys));
        if (c->roles & TKM_POLICY_ROLE_SIGN) {
            if (!keys) return failf(TKM_ERR_POLICY_DOC, p, "a client with role sign needs \"keys\" (labels, addresses or [\"*\"])");
            key_list_out o = {&c->keys_any, &c->key_labels, &c->n_key_labels, &c->key_addrs, &c->n_key_addrs};
            TKM_TRY(parse_key_list(&o, v, p));
        } else if (keys) {
            subpath(q, p, "keys");
            return failf(TKM_ERR_POLICY_DOC, q, "only applies to clients with role sign");
        }
        json_t *fp;
        TKM_TRY(get_array(v, p, "fingerprints", 0, 1, TKM_POLICY_MAX_FINGERPRINTS, &fp));
        if (fp) {
            subpath(q, p, "fingerprints");
            c->fingerprints = calloc(json_array_size(fp), sizeof *c->fingerprints);
            TKM_ENSURE(c->fingerprints, TKM_ERR_NOMEM);
            for (size_t i = 0; i < json_array_size(fp); i++) {
                idxpath(e, q, i);
                TKM_TRY(at_path(tkm_json_value_hexfixed(json_array_get(fp, i), e, c->fingerprints[i], 32), e));
                for (size_t j = 0; j < i; j++)
                    if (memcmp(c->fingerprints[j], c->fingerprints[i], 32) == 0)
                        return failf(TKM_ERR_POLICY_DOC, e, "duplicate fingerprint");
                c->n_fingerprints++;
            }
        }
    }
    return TKM_RC_OK;
}

static tkm_rc parse_rule_to(const tkm_policy *pol, tkm_policy_rule *r, const json_t *arr, const char *path) {
    size_t n = json_array_size(arr);
    char p[PATH_MAX_LEN];
    r->has_to = 1;
    r->to_addrs = calloc(n, sizeof *r->to_addrs);
    r->to_books = calloc(n, sizeof *r->to_books);
    TKM_ENSURE(r->to_addrs && r->to_books, TKM_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        idxpath(p, path, i);
        if (json_is_string(v) && json_string_value(v)[0] == '@') {
            const char *book = json_string_value(v) + 1;
            long b = set_index(pol->books, pol->n_books, book);
            if (b < 0) return failf(TKM_ERR_POLICY_REF, p, "unknown address book @%s", book);
            for (size_t j = 0; j < r->n_to_books; j++)
                if (r->to_books[j] == (size_t)b) return failf(TKM_ERR_POLICY_DOC, p, "duplicate entry");
            r->to_books[r->n_to_books++] = (size_t)b;
        } else {
            tkm_addr a;
            TKM_TRY(parse_addr(&a, v, p));
            if (addr_in(r->to_addrs, r->n_to_addrs, &a)) return failf(TKM_ERR_POLICY_DOC, p, "duplicate entry");
            r->to_addrs[r->n_to_addrs++] = a;
        }
    }
    return TKM_RC_OK;
}

static tkm_rc dup_str(char **out, const json_t *obj, const char *path, const char *key) {
    const char *s;
    size_t n;
    char p[PATH_MAX_LEN];
    *out = NULL;
    TKM_TRY(tkm_json_str(obj, path, key, 0, &s, &n));
    if (!s) return TKM_RC_OK;
    subpath(p, path, key);
    if (n > TKM_POLICY_TD_STR_MAX) return failf(TKM_ERR_POLICY_DOC, p, "longer than %d bytes", TKM_POLICY_TD_STR_MAX);
    if (memchr(s, 0, n)) return failf(TKM_ERR_POLICY_DOC, p, "contains a NUL character");
    *out = strdup(s);
    TKM_ENSURE(*out, TKM_ERR_NOMEM);
    return TKM_RC_OK;
}

static tkm_rc parse_typed_data_matcher(tkm_policy_rule *r, const json_t *td, const char *path) {
    static const char *const fields[] = {"name", "version", "verifying_contract", "primary_type", NULL};
    TKM_TRY(tkm_json_check_fields(td, path, fields));
    if (json_object_size(td) == 0)
        return failf(TKM_ERR_POLICY_DOC, path, "an empty matcher is ambiguous: omit \"typed_data\" to match any");
    r->has_typed_data = 1;
    TKM_TRY(dup_str(&r->td_name, td, path, "name"));
    TKM_TRY(dup_str(&r->td_version, td, path, "version"));
    TKM_TRY(dup_str(&r->td_primary_type, td, path, "primary_type"));
    json_t *vc;
    TKM_TRY(tkm_json_get(td, path, "verifying_contract", 0, &vc));
    if (vc) {
        char p[PATH_MAX_LEN];
        subpath(p, path, "verifying_contract");
        TKM_TRY(parse_addr(&r->td_verifying_contract, vc, p));
        r->has_td_verifying_contract = 1;
    }
    return TKM_RC_OK;
}

/* ---- message.siwe (docs/policy.md "Sign-In with Ethereum") ---- */

static uint8_t ascii_lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }

/* The host of a domain entry ("host" or "host:port", an IP literal in brackets). */
static size_t domain_host_len(const tkm_policy_bytes *d) {
    size_t i = 0;
    if (d->len && d->b[0] == '[') {
        while (i < d->len && d->b[i] != ']') i++;
        return i < d->len ? i + 1 : i;
    }
    while (i < d->len && d->b[i] != ':') i++;
    return i;
}

/* A check of one entry of a siwe list: NULL when fine, else the problem. It may lower-case b in place. */
typedef const char *(*siwe_entry_check)(uint8_t *b, size_t n, const tkm_policy_siwe *w);

static const char *check_domain(uint8_t *b, size_t n, const tkm_policy_siwe *w) {
    (void)w;
    tkm_siwe_authority a;
    if (tkm_failed(tkm_siwe_authority_parse(&a, b, n))) return "not an RFC 3986 authority (host or host:port)";
    if (a.has_userinfo) return "no userinfo: a domain is host or host:port (user@host is a phishing device)";
    if (!a.host.len) return "the host is empty";
    if (!a.host_ip_literal)
        for (size_t i = a.host.off; i < a.host.off + a.host.len; i++)
            if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= 'A' && b[i] <= 'Z') || (b[i] >= '0' && b[i] <= '9') ||
                  b[i] == '-' || b[i] == '.'))
                return "a host is a DNS name (letters, digits, - and .), an IPv4 address or an [IPv6] literal";
    if (a.has_port) {
        unsigned long port = 0;
        if (a.port.len < 1 || a.port.len > 5 || b[a.port.off] == '0') return "a port is 1 to 65535, without leading zeros";
        for (size_t i = a.port.off; i < a.port.off + a.port.len; i++) port = port * 10 + (unsigned long)(b[i] - '0');
        if (port > 65535) return "a port is 1 to 65535, without leading zeros";
    }
    for (size_t i = 0; i < n; i++) b[i] = ascii_lower(b[i]);
    return NULL;
}

static const char *check_scheme(uint8_t *b, size_t n, const tkm_policy_siwe *w) {
    (void)w;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = ascii_lower(b[i]);
        if (!((c >= 'a' && c <= 'z') || (i && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))))
            return "a scheme is a letter followed by letters, digits, + - . (\"https\")";
        b[i] = c;
    }
    return NULL;
}

static const char *check_uri_prefix(uint8_t *b, size_t n, const tkm_policy_siwe *w) {
    tkm_siwe_uri u;
    if (tkm_failed(tkm_siwe_uri_parse(&u, b, n)) || !u.has_authority || u.authority.has_userinfo)
        return "a URI prefix is an RFC 3986 URI with an authority and no userinfo (\"https://app.example.com/\")";
    for (size_t i = 0; i < w->n_domains; i++) {
        size_t hl = domain_host_len(&w->domains[i]);
        if (hl != u.authority.host.len) continue;
        size_t j = 0;
        while (j < hl && ascii_lower(b[u.authority.host.off + j]) == w->domains[i].b[j]) j++;
        if (j == hl) return NULL;
    }
    return "its host is none of domains: no message could match (the URI's authority must be the message's domain)";
}

static const char *check_statement_prefix(uint8_t *b, size_t n, const tkm_policy_siwe *w) {
    (void)w;
    return tkm_siwe_statement_chars_ok(b, n)
               ? NULL
               : "a statement has only RFC 3986 reserved and unreserved characters and spaces: no message could match";
}

static const char *check_resource_prefix(uint8_t *b, size_t n, const tkm_policy_siwe *w) {
    (void)w;
    tkm_siwe_uri u;
    return tkm_ok(tkm_siwe_uri_parse(&u, b, n)) ? NULL : "a resource prefix is an RFC 3986 URI (\"https://app.example.com/\", \"urn:recap:\")";
}

/* A list of 1..64 distinct strings of 1..256 bytes, each passing check. */
static tkm_rc siwe_list(const json_t *arr, const char *p, siwe_entry_check check, const tkm_policy_siwe *w,
                        tkm_policy_bytes **out, size_t *n_out) {
    char q[PATH_MAX_LEN];
    size_t n = json_array_size(arr);
    *out = calloc(n ? n : 1, sizeof **out);
    TKM_ENSURE(*out, TKM_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        idxpath(q, p, i);
        if (!json_is_string(e)) return failf(TKM_ERR_JSON_TYPE, q, "must be a string");
        size_t len = json_string_length(e);
        if (len < 1 || len > TKM_POLICY_SIWE_STR_MAX)
            return failf(TKM_ERR_POLICY_DOC, q, "must be 1 to %d bytes", TKM_POLICY_SIWE_STR_MAX);
        uint8_t *b = malloc(len);
        TKM_ENSURE(b, TKM_ERR_NOMEM);
        memcpy(b, json_string_value(e), len);
        (*out)[i].b = b; /* owned by the rule from here on */
        (*out)[i].len = len;
        (*n_out)++;
        const char *why = check(b, len, w);
        if (why) return failf(TKM_ERR_POLICY_DOC, q, "%s", why);
        for (size_t j = 0; j < i; j++)
            if ((*out)[j].len == len && memcmp((*out)[j].b, b, len) == 0)
                return failf(TKM_ERR_POLICY_DOC, q, "duplicate entry");
    }
    return TKM_RC_OK;
}

static tkm_rc siwe_get_list(const json_t *v, const char *path, const char *key, int required, siwe_entry_check check,
                            const tkm_policy_siwe *w, tkm_policy_bytes **out, size_t *n_out) {
    json_t *arr;
    char p[PATH_MAX_LEN];
    TKM_TRY(get_array(v, path, key, required, 1, TKM_POLICY_SIWE_MAX_LIST, &arr));
    if (!arr) return TKM_RC_OK;
    subpath(p, path, key);
    return siwe_list(arr, p, check, w, out, n_out);
}

static tkm_rc parse_siwe(const tkm_policy *pol, tkm_policy_rule *r, const json_t *v, const char *path) {
    static const char *const fields[] = {"domains", "schemes", "uris", "chain_ids", "max_validity_seconds",
                                         "max_clock_skew_seconds", "statement_prefixes", "resources", NULL};
    char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
    if (!r->allow) return failf(TKM_ERR_POLICY_DOC, path, "siwe conditions apply to allow rules (deny rules match prefixes)");
    if (!json_is_object(v))
        return failf(TKM_ERR_JSON_TYPE, path, "must be an object {domains, schemes, uris, chain_ids, max_validity_seconds, "
                                              "max_clock_skew_seconds, statement_prefixes, resources}");
    TKM_TRY(tkm_json_check_fields(v, path, fields));
    tkm_policy_siwe *w = r->siwe = calloc(1, sizeof *r->siwe);
    TKM_ENSURE(w, TKM_ERR_NOMEM);
    TKM_TRY(siwe_get_list(v, path, "domains", 1, check_domain, w, &w->domains, &w->n_domains));
    TKM_TRY(siwe_get_list(v, path, "schemes", 0, check_scheme, w, &w->schemes, &w->n_schemes));
    if (!w->n_schemes) { /* the EIP's default scheme */
        w->schemes = calloc(1, sizeof *w->schemes);
        TKM_ENSURE(w->schemes, TKM_ERR_NOMEM);
        w->schemes[0].b = (uint8_t *)strdup("https");
        TKM_ENSURE(w->schemes[0].b, TKM_ERR_NOMEM);
        w->schemes[0].len = 5;
        w->n_schemes = 1;
    }
    TKM_TRY(siwe_get_list(v, path, "uris", 0, check_uri_prefix, w, &w->uris, &w->n_uris));
    TKM_TRY(siwe_get_list(v, path, "statement_prefixes", 0, check_statement_prefix, w, &w->statement_prefixes,
                          &w->n_statement_prefixes));

    json_t *arr;
    TKM_TRY(get_array(v, path, "chain_ids", 0, 1, TKM_POLICY_MAX_LIST, &arr));
    subpath(p, path, "chain_ids");
    size_t n = arr ? json_array_size(arr) : pol->n_assets;
    w->chain_ids = calloc(n ? n : 1, sizeof *w->chain_ids);
    TKM_ENSURE(w->chain_ids, TKM_ERR_NOMEM);
    if (arr) {
        for (size_t i = 0; i < n; i++) {
            int64_t c;
            idxpath(q, p, i);
            TKM_TRY(value_int(json_array_get(arr, i), q, 1, INT64_MAX, &c));
            for (size_t j = 0; j < i; j++)
                if (w->chain_ids[j] == (uint64_t)c) return failf(TKM_ERR_POLICY_DOC, q, "duplicate chain id");
            w->chain_ids[w->n_chain_ids++] = (uint64_t)c;
        }
    } else {
        w->chain_ids_from_assets = 1;
        for (size_t i = 0; i < pol->n_assets; i++) {
            int seen = 0;
            for (size_t j = 0; j < w->n_chain_ids; j++) seen |= w->chain_ids[j] == pol->assets[i].chain_id;
            if (!seen) w->chain_ids[w->n_chain_ids++] = pol->assets[i].chain_id;
        }
        if (!w->n_chain_ids)
            return failf(TKM_ERR_POLICY_DOC, p, "required when the policy lists no asset (the default is the assets' chains)");
    }

    int64_t x;
    int present;
    TKM_TRY(get_int(v, path, "max_validity_seconds", 0, 1, TKM_POLICY_SIWE_MAX_VALIDITY, &x, &present));
    w->max_validity = present ? (uint64_t)x : TKM_POLICY_SIWE_DEFAULT_VALIDITY;
    TKM_TRY(get_int(v, path, "max_clock_skew_seconds", 0, 0, TKM_POLICY_SIWE_MAX_SKEW, &x, &present));
    w->max_skew = present ? (uint64_t)x : TKM_POLICY_SIWE_DEFAULT_SKEW;

    json_t *res;
    TKM_TRY(tkm_json_get(v, path, "resources", 0, &res));
    subpath(p, path, "resources");
    if (json_is_boolean(res)) {
        w->resources_any = json_is_true(res);
    } else if (json_is_array(res)) {
        n = json_array_size(res);
        if (n < 1) return failf(TKM_ERR_POLICY_DOC, p, "an empty list is ambiguous: false allows no resource, true any");
        if (n > TKM_POLICY_SIWE_MAX_LIST) return failf(TKM_ERR_POLICY_DOC, p, "more than %d entries", TKM_POLICY_SIWE_MAX_LIST);
        TKM_TRY(siwe_list(res, p, check_resource_prefix, w, &w->resource_prefixes, &w->n_resource_prefixes));
    } else if (res) {
        return failf(TKM_ERR_JSON_TYPE, p, "must be false (no resource, the default), true (any) or a list of URI prefixes");
    }
    return TKM_RC_OK;
}

/*
 * The message block of a sign_message rule: {encoding, max_length, prefixes,
 * siwe} (deny rules: prefixes only).
 */
static tkm_rc parse_message_conditions(const tkm_policy *pol, tkm_policy_rule *r, const json_t *m, const char *path) {
    static const char *const fields[] = {"encoding", "max_length", "prefixes", "siwe", NULL};
    char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
    TKM_TRY(tkm_json_check_fields(m, path, fields));
    if (json_object_size(m) == 0)
        return failf(TKM_ERR_POLICY_DOC, path, "an empty block is ambiguous: omit \"message\" for the defaults");
    r->has_message = 1;
    r->msg_max_len = TKM_POLICY_MSG_DEFAULT_MAX;
    const char *s;
    size_t n;
    TKM_TRY(tkm_json_str(m, path, "encoding", 0, &s, &n));
    if (s) {
        subpath(p, path, "encoding");
        if (!r->allow) return failf(TKM_ERR_POLICY_DOC, p, "limits do not apply to deny rules (they match prefixes)");
        if (strcmp(s, "bytes") == 0)
            r->msg_bytes = 1;
        else if (strcmp(s, "utf8") != 0)
            return failf(TKM_ERR_POLICY_DOC, p, "must be \"utf8\" (text, the default) or \"bytes\" (any bytes)");
    }
    json_t *v;
    TKM_TRY(tkm_json_get(m, path, "max_length", 0, &v));
    if (v) {
        int64_t x;
        subpath(p, path, "max_length");
        if (!r->allow) return failf(TKM_ERR_POLICY_DOC, p, "limits do not apply to deny rules (they match prefixes)");
        TKM_TRY(value_int(v, p, 1, TKM_POLICY_MSG_MAX, &x));
        r->msg_max_len = (size_t)x;
    }
    json_t *arr;
    TKM_TRY(get_array(m, path, "prefixes", 0, 1, TKM_POLICY_MSG_MAX_PREFIXES, &arr));
    if (arr) {
        subpath(p, path, "prefixes");
        n = json_array_size(arr);
        r->msg_prefixes = calloc(n, sizeof *r->msg_prefixes);
        TKM_ENSURE(r->msg_prefixes, TKM_ERR_NOMEM);
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(arr, i);
            idxpath(q, p, i);
            if (!json_is_string(e)) return failf(TKM_ERR_JSON_TYPE, q, "a prefix is a string (the message's first bytes, UTF-8)");
            const uint8_t *b = (const uint8_t *)json_string_value(e);
            size_t len = json_string_length(e);
            if (len < 1 || len > TKM_POLICY_MSG_PREFIX_MAX)
                return failf(TKM_ERR_POLICY_DOC, q, "a prefix is 1 to %d bytes", TKM_POLICY_MSG_PREFIX_MAX);
            if (r->allow && len > r->msg_max_len)
                return failf(TKM_ERR_POLICY_DOC, q, "longer than max_length %zu: no message could match", r->msg_max_len);
            if (r->allow && !r->msg_bytes && !tkm_policy_message_is_text(b, len))
                return failf(TKM_ERR_POLICY_DOC, q, "not text (control characters other than \\n, or bidi controls): "
                                                    "no utf8 message could match");
            for (size_t j = 0; j < i; j++)
                if (r->msg_prefixes[j].len == len && memcmp(r->msg_prefixes[j].b, b, len) == 0)
                    return failf(TKM_ERR_POLICY_DOC, q, "duplicate prefix");
            r->msg_prefixes[i].b = malloc(len);
            TKM_ENSURE(r->msg_prefixes[i].b, TKM_ERR_NOMEM);
            memcpy(r->msg_prefixes[i].b, b, len);
            r->msg_prefixes[i].len = len;
            r->n_msg_prefixes++;
        }
    }
    TKM_TRY(tkm_json_get(m, path, "siwe", 0, &v));
    if (v) {
        subpath(p, path, "siwe");
        if (r->msg_bytes) return failf(TKM_ERR_POLICY_DOC, p, "a SIWE message is text: siwe needs encoding \"utf8\"");
        TKM_TRY(parse_siwe(pol, r, v, p));
    }
    return TKM_RC_OK;
}

static tkm_rc parse_rule(tkm_policy *pol, size_t idx, const json_t *rule) {
    static const char *const fields[] = {"id", "effect", "keys", "chain_ids", "action", "asset", "to",
                                         "max_amount", "window_limit", "approvals", "selectors", "typed_data",
                                         "max_value", "valid_from", "valid_until", "tx_types", "message", NULL};
    char path[PATH_MAX_LEN], p[PATH_MAX_LEN], q[PATH_MAX_LEN];
    idxpath(path, "rules", idx);
    tkm_policy_rule *r = &pol->rules[idx];
    TKM_TRY(tkm_json_check_fields(rule, path, fields));

    const char *s;
    size_t n;
    TKM_TRY(tkm_json_str(rule, path, "id", 1, &s, &n));
    subpath(p, path, "id");
    if (!name_ok(s, n)) return failf(TKM_ERR_POLICY_DOC, p, "ids are 1-64 characters of A-Z a-z 0-9 _ . -");
    for (size_t i = 0; i < idx; i++)
        if (strcmp(pol->rules[i].id, s) == 0)
            return failf(TKM_ERR_POLICY_DOC, p, "duplicate rule id \"%s\" (also rules[%zu])", s, i);
    strf(r->id, sizeof r->id, "%s", s);

    TKM_TRY(tkm_json_str(rule, path, "effect", 1, &s, &n));
    subpath(p, path, "effect");
    if (strcmp(s, "allow") == 0)
        r->allow = 1;
    else if (strcmp(s, "deny") != 0)
        return failf(TKM_ERR_POLICY_DOC, p, "must be \"allow\" or \"deny\"");

    TKM_TRY(parse_rule_keys(r, rule, path));

    TKM_TRY(tkm_json_str(rule, path, "action", 0, &s, &n));
    subpath(p, path, "action");
    if (s) {
        if (tkm_failed(tkm_action_parse(&r->action, s)))
            return failf(TKM_ERR_POLICY_DOC, p,
                         "must be transfer, approve, contract_call, typed_data, deploy or sign_message");
    } else if (r->allow) {
        return failf(TKM_ERR_JSON_MISSING, p, "an allow rule must name its action");
    }
    const tkm_action act = r->action;

    /* asset */
    TKM_TRY(tkm_json_str(rule, path, "asset", 0, &s, &n));
    subpath(p, path, "asset");
    if (s) {
        long a = tkm_policy_asset_by_name(pol, s);
        if (a < 0) return failf(TKM_ERR_POLICY_REF, p, "unknown asset \"%s\"", s);
        if (act == TKM_ACTION_TYPED_DATA || act == TKM_ACTION_DEPLOY || act == TKM_ACTION_SIGN_MESSAGE)
            return failf(TKM_ERR_POLICY_DOC, p, "an asset does not apply to %s", tkm_action_name(act));
        if (act == TKM_ACTION_APPROVE && pol->assets[a].native)
            return failf(TKM_ERR_POLICY_DOC, p, "approve needs a token asset, %s is native", s);
        if (act == TKM_ACTION_CONTRACT_CALL && pol->assets[a].native)
            return failf(TKM_ERR_POLICY_DOC, p, "a contract call targets a token asset, %s is native", s);
        r->has_asset = 1;
        r->asset = (size_t)a;
    } else if (r->allow && (act == TKM_ACTION_TRANSFER || act == TKM_ACTION_APPROVE)) {
        return failf(TKM_ERR_JSON_MISSING, p, "an allow rule for %s must name its asset", tkm_action_name(act));
    }

    /* chain_ids */
    json_t *arr;
    TKM_TRY(get_array(rule, path, "chain_ids", 0, 1, TKM_POLICY_MAX_LIST, &arr));
    if (arr) {
        subpath(p, path, "chain_ids");
        if (act == TKM_ACTION_SIGN_MESSAGE)
            return failf(TKM_ERR_POLICY_DOC, p, "an EIP-191 message has no chain (a message.siwe condition has its own chain_ids)");
        n = json_array_size(arr);
        r->chain_ids = calloc(n, sizeof *r->chain_ids);
        TKM_ENSURE(r->chain_ids, TKM_ERR_NOMEM);
        for (size_t i = 0; i < n; i++) {
            int64_t c;
            idxpath(q, p, i);
            TKM_TRY(value_int(json_array_get(arr, i), q, 1, INT64_MAX, &c));
            for (size_t j = 0; j < i; j++)
                if (r->chain_ids[j] == (uint64_t)c) return failf(TKM_ERR_POLICY_DOC, q, "duplicate chain id");
            if (r->has_asset && pol->assets[r->asset].chain_id != (uint64_t)c)
                return failf(TKM_ERR_POLICY_DOC, q, "chain %lld contradicts asset %s on chain %llu", (long long)c,
                             pol->assets[r->asset].name, (unsigned long long)pol->assets[r->asset].chain_id);
            r->chain_ids[r->n_chain_ids++] = (uint64_t)c;
        }
    }

    /* to */
    TKM_TRY(get_array(rule, path, "to", 0, 1, TKM_POLICY_MAX_LIST, &arr));
    if (arr) {
        subpath(p, path, "to");
        if (act == TKM_ACTION_DEPLOY) return failf(TKM_ERR_POLICY_DOC, p, "a deployment has no destination");
        if (act == TKM_ACTION_SIGN_MESSAGE) return failf(TKM_ERR_POLICY_DOC, p, "an EIP-191 message has no destination");
        TKM_TRY(parse_rule_to(pol, r, arr, p));
    }

    /* selectors */
    TKM_TRY(get_array(rule, path, "selectors", 0, 1, TKM_POLICY_MAX_LIST, &arr));
    if (arr) {
        subpath(p, path, "selectors");
        if (act != TKM_ACTION_CONTRACT_CALL)
            return failf(TKM_ERR_POLICY_DOC, p, "selectors apply to contract_call rules only");
        n = json_array_size(arr);
        r->has_selectors = 1;
        r->selectors = calloc(n, sizeof *r->selectors);
        TKM_ENSURE(r->selectors, TKM_ERR_NOMEM);
        for (size_t i = 0; i < n; i++) {
            idxpath(q, p, i);
            tkm_rc rc = tkm_json_value_hexfixed(json_array_get(arr, i), q, r->selectors[i], 4);
            if (tkm_failed(rc)) return failf(rc.code, q, "a selector is 0x followed by 8 hex digits");
            for (size_t j = 0; j < i; j++)
                if (memcmp(r->selectors[j], r->selectors[i], 4) == 0)
                    return failf(TKM_ERR_POLICY_DOC, q, "duplicate selector");
            r->n_selectors++;
        }
    }

    /* typed_data */
    json_t *td;
    TKM_TRY(tkm_json_get(rule, path, "typed_data", 0, &td));
    if (td) {
        subpath(p, path, "typed_data");
        if (act != TKM_ACTION_TYPED_DATA)
            return failf(TKM_ERR_POLICY_DOC, p, "typed_data matchers apply to typed_data rules only");
        TKM_TRY(parse_typed_data_matcher(r, td, p));
    }

    /* message */
    json_t *msg;
    TKM_TRY(tkm_json_get(rule, path, "message", 0, &msg));
    if (msg) {
        subpath(p, path, "message");
        if (act != TKM_ACTION_SIGN_MESSAGE)
            return failf(TKM_ERR_POLICY_DOC, p, "message conditions apply to sign_message rules only");
        if (!json_is_object(msg)) return failf(TKM_ERR_JSON_TYPE, p, "must be an object {encoding, max_length, prefixes, siwe}");
        TKM_TRY(parse_message_conditions(pol, r, msg, p));
    } else if (act == TKM_ACTION_SIGN_MESSAGE && r->allow) {
        r->msg_max_len = TKM_POLICY_MSG_DEFAULT_MAX; /* text, up to the default length, any content */
    }

    /* amounts */
    json_t *v;
    TKM_TRY(tkm_json_get(rule, path, "max_amount", 0, &v));
    if (v) {
        subpath(p, path, "max_amount");
        if (!r->allow) return failf(TKM_ERR_POLICY_DOC, p, "limits do not apply to deny rules");
        if (!r->has_asset || (act != TKM_ACTION_TRANSFER && act != TKM_ACTION_APPROVE))
            return failf(TKM_ERR_POLICY_DOC, p, "max_amount needs a transfer or approve rule with an asset");
        TKM_TRY(get_amount(rule, path, "max_amount", pol->assets[r->asset].decimals, &r->max_amount));
        r->has_max_amount = 1;
    }
    TKM_TRY(tkm_json_get(rule, path, "max_value", 0, &v));
    if (v) {
        subpath(p, path, "max_value");
        if (!r->allow) return failf(TKM_ERR_POLICY_DOC, p, "limits do not apply to deny rules");
        if (act != TKM_ACTION_CONTRACT_CALL && act != TKM_ACTION_DEPLOY)
            return failf(TKM_ERR_POLICY_DOC, p, "max_value (native value sent with a call, in ether) applies to contract_call and deploy rules");
        TKM_TRY(get_amount(rule, path, "max_value", 18, &r->max_value));
        r->has_max_value = 1;
    }
    TKM_TRY(tkm_json_get(rule, path, "window_limit", 0, &v));
    if (v) {
        static const char *const wf[] = {"amount", "seconds", NULL};
        subpath(p, path, "window_limit");
        if (!r->allow) return failf(TKM_ERR_POLICY_DOC, p, "limits do not apply to deny rules");
        if (!r->has_asset || (act != TKM_ACTION_TRANSFER && act != TKM_ACTION_APPROVE))
            return failf(TKM_ERR_POLICY_DOC, p, "window_limit needs a transfer or approve rule with an asset");
        TKM_TRY(tkm_json_check_fields(v, p, wf));
        TKM_TRY(get_amount(v, p, "amount", pol->assets[r->asset].decimals, &r->window_amount));
        int64_t secs;
        TKM_TRY(get_int(v, p, "seconds", 1, 1, TKM_POLICY_MAX_WINDOW, &secs, NULL));
        r->window_seconds = (uint64_t)secs;
        r->has_window = 1;
    }

    /* approvals */
    TKM_TRY(get_array(rule, path, "approvals", 0, 1, TKM_POLICY_MAX_APPROVAL_REQS, &arr));
    if (arr) {
        static const char *const af[] = {"group", "threshold", NULL};
        subpath(p, path, "approvals");
        if (!r->allow) return failf(TKM_ERR_POLICY_DOC, p, "approvals do not apply to deny rules");
        for (size_t i = 0; i < json_array_size(arr); i++) {
            json_t *e = json_array_get(arr, i);
            idxpath(q, p, i);
            TKM_TRY(tkm_json_check_fields(e, q, af));
            TKM_TRY(tkm_json_str(e, q, "group", 1, &s, &n));
            long g = set_index(pol->groups, pol->n_groups, s);
            char gp[PATH_MAX_LEN];
            subpath(gp, q, "group");
            if (g < 0) return failf(TKM_ERR_POLICY_REF, gp, "unknown group \"%s\"", s);
            for (size_t j = 0; j < r->n_approvals; j++)
                if (r->approvals[j].group == (size_t)g)
                    return failf(TKM_ERR_POLICY_DOC, gp, "group \"%s\" is required twice", s);
            int64_t t;
            TKM_TRY(get_int(e, q, "threshold", 1, 1, (int64_t)pol->groups[g].n, &t, NULL));
            r->approvals[r->n_approvals].group = (size_t)g;
            r->approvals[r->n_approvals].threshold = (unsigned)t;
            r->n_approvals++;
        }
    }

    /* validity dates */
    TKM_TRY(tkm_json_get(rule, path, "valid_from", 0, &v));
    if (v) {
        subpath(p, path, "valid_from");
        TKM_TRY(tkm_policy_parse_time(&r->valid_from, v, p));
        r->has_valid_from = 1;
    }
    TKM_TRY(tkm_json_get(rule, path, "valid_until", 0, &v));
    if (v) {
        subpath(p, path, "valid_until");
        TKM_TRY(tkm_policy_parse_time(&r->valid_until, v, p));
        r->has_valid_until = 1;
        if (r->has_valid_from && r->valid_until <= r->valid_from)
            return failf(TKM_ERR_POLICY_DOC, p, "must be later than valid_from");
    }

    /* transaction types */
    r->tx_types = 0x7;
    TKM_TRY(get_array(rule, path, "tx_types", 0, 1, 5, &arr));
    if (arr) {
        subpath(p, path, "tx_types");
        if (act == TKM_ACTION_TYPED_DATA) return failf(TKM_ERR_POLICY_DOC, p, "typed data is not a transaction");
        if (act == TKM_ACTION_SIGN_MESSAGE) return failf(TKM_ERR_POLICY_DOC, p, "an EIP-191 message is not a transaction");
        r->tx_types = 0;
        for (size_t i = 0; i < json_array_size(arr); i++) {
            int64_t t;
            idxpath(q, p, i);
            TKM_TRY(value_int(json_array_get(arr, i), q, 0, 4, &t));
            if (r->tx_types & (1u << t)) return failf(TKM_ERR_POLICY_DOC, q, "duplicate type");
            r->tx_types |= 1u << t;
        }
    }
    if (act == TKM_ACTION_SIGN_MESSAGE) {
        r->tx_types = 0; /* no transaction is a message */
        if (r->allow) pol->message_rules++;
    }
    pol->tx_types_named |= r->tx_types;
    return TKM_RC_OK;
}

/* "trusted_time": {"max_age_seconds", "skew_seconds"}, each optional (defaults in tkm_policy.h). */
static tkm_rc parse_trusted_time(tkm_policy *p, const json_t *root) {
    static const char *const fields[] = {"max_age_seconds", "skew_seconds", NULL};
    json_t *t = NULL;
    int64_t x;
    int present;
    p->time_max_age_seconds = TKM_POLICY_TIME_MAX_AGE_DEFAULT;
    p->time_skew_seconds = TKM_POLICY_TIME_SKEW_DEFAULT;
    TKM_TRY(tkm_json_get(root, "", "trusted_time", 0, &t));
    if (!t) return TKM_RC_OK;
    if (!json_is_object(t)) return failf(TKM_ERR_JSON_TYPE, "trusted_time", "must be an object");
    TKM_TRY(tkm_json_check_fields(t, "trusted_time", fields));
    TKM_TRY(get_int(t, "trusted_time", "max_age_seconds", 0, 1, TKM_POLICY_TIME_MAX_AGE_CAP, &x, &present));
    if (present) p->time_max_age_seconds = (uint64_t)x;
    TKM_TRY(get_int(t, "trusted_time", "skew_seconds", 0, 0, TKM_POLICY_TIME_SKEW_CAP, &x, &present));
    if (present) p->time_skew_seconds = (uint64_t)x;
    return TKM_RC_OK;
}

static tkm_rc parse_doc(tkm_policy *p, const json_t *root) {
    static const char *const fields[] = {"teekm_policy", "version", "admins", "groups", "address_books",
                                         "assets", "rules", "max_validity_seconds", "default", "clients",
                                         "trusted_time", NULL};
    TKM_TRY(tkm_json_check_fields(root, "", fields));
    int64_t x;
    TKM_TRY(get_int(root, "", "teekm_policy", 1, TKM_POLICY_FORMAT, TKM_POLICY_FORMAT, &x, NULL));
    TKM_TRY(get_int(root, "", "version", 1, 1, 9007199254740991LL, &x, NULL));
    p->version = (uint64_t)x;
    TKM_TRY(get_int(root, "", "max_validity_seconds", 1, 1, TKM_POLICY_MAX_VALIDITY_CAP, &x, NULL));
    p->max_validity_seconds = (uint64_t)x;
    const char *d;
    TKM_TRY(tkm_json_str(root, "", "default", 1, &d, NULL));
    if (strcmp(d, "deny") != 0) return failf(TKM_ERR_POLICY_DOC, "default", "the only allowed default is \"deny\"");
    TKM_TRY(parse_admins(p, root));
    TKM_TRY(parse_sets(root, "groups", 0, TKM_POLICY_MAX_GROUP, 1, &p->groups, &p->n_groups));
    TKM_TRY(parse_sets(root, "address_books", 0, TKM_POLICY_MAX_LIST, 0, &p->books, &p->n_books));
    TKM_TRY(parse_assets(p, root));
    TKM_TRY(parse_clients(p, root));
    TKM_TRY(parse_trusted_time(p, root));
    json_t *rules;
    TKM_TRY(get_array(root, "", "rules", 1, 0, TKM_POLICY_MAX_RULES, &rules));
    size_t n = json_array_size(rules);
    p->rules = calloc(n ? n : 1, sizeof *p->rules);
    TKM_ENSURE(p->rules, TKM_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        p->n_rules = i + 1; /* so that free() sees partially built rules */
        TKM_TRY(parse_rule(p, i, json_array_get(rules, i)));
    }
    return TKM_RC_OK;
}

tkm_rc tkm_policy_load(tkm_policy **out, const uint8_t *json, size_t len) {
    *out = NULL;
    TKM_ARG_CHECK(json != NULL || len == 0);
    tkm_rc rc;
    json_t *root = NULL;
    tkm_wr w;
    tkm_wr_init(&w, TKM_POLICY_MAX_BYTES * 2);
    tkm_policy *p = calloc(1, sizeof *p);
    if (!p) TKM_GOTO(rc, TKM_ERR_NOMEM);
    tkm_json_limits lim = {.max_bytes = TKM_POLICY_MAX_BYTES, .max_depth = 8};
    TKM_CHECK_GOTO(rc, tkm_json_load(&root, json, len, &lim));
    if (!json_is_object(root)) {
        rc = failf(TKM_ERR_JSON_TYPE, "", "a policy is a JSON object");
        goto out;
    }
    TKM_CHECK_GOTO(rc, parse_doc(p, root));
    rc = tkm_json_canonical(root, &w);
    if (tkm_failed(rc)) {
        rc = at_path(rc, "(canonical form)");
        goto out;
    }
    TKM_CHECK_GOTO(rc, tkm_wr_take(&w, &p->canonical, &p->canonical_len));
    tkm_keccak256(p->hash, p->canonical, p->canonical_len);
    *out = p;
    p = NULL;
    rc = TKM_RC_OK;
out:
    tkm_policy_free(p);
    tkm_wr_free(&w);
    json_decref(root);
    return rc;
}
