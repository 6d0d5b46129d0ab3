/* see tkm_siwe.h — the EIP-4361 parser: lines, then each field's grammar, all through tkm_rd. */
#include "tkm_siwe.h"

#include <stdio.h>
#include <string.h>

/* A reader and the offset of its first byte in the whole message (spans are absolute). */
typedef struct {
    tkm_rd r;
    size_t base;
} cur;

static void cur_init(cur *c, const uint8_t *p, size_t n) {
    tkm_rd_init(&c->r, p, n);
    c->base = 0;
}

static size_t left(const cur *c) { return tkm_rd_left(&c->r); }
static size_t pos(const cur *c) { return c->base + c->r.off; }

static tkm_siwe_span span_of(const cur *c) {
    tkm_siwe_span s = {c->base + c->r.off, tkm_rd_left(&c->r)};
    return s;
}

/* The next n bytes of c as their own reader; c moves past them. */
static int carve(cur *c, size_t n, cur *child) {
    child->base = pos(c);
    return tkm_ok(tkm_rd_sub(&c->r, n, &child->r));
}

static int peek_is(const cur *c, uint8_t ch) {
    uint8_t b;
    return tkm_ok(tkm_rd_peek_u8(&c->r, &b)) && b == ch;
}

static int skip1(cur *c) { return tkm_ok(tkm_rd_skip(&c->r, 1)); }

/* Consume the literal s when it comes next (case-sensitive); otherwise c does not move. */
static int lit(cur *c, const char *s) {
    size_t n = strlen(s);
    tkm_rd t = c->r;
    const uint8_t *v;
    if (n > tkm_rd_left(&t) || tkm_failed(tkm_rd_view(&t, n, &v)) || memcmp(v, s, n) != 0) return 0;
    c->r = t;
    return 1;
}

/* Bytes before the first byte of stops (or the end of c); c does not move. */
static size_t count_until(const cur *c, const char *stops) {
    tkm_rd t = c->r;
    size_t n = 0;
    uint8_t b;
    while (tkm_rd_left(&t) && tkm_ok(tkm_rd_u8(&t, &b))) {
        if (b && strchr(stops, b)) break;
        n++;
    }
    return n;
}

/* ---- character classes (RFC 3986 2.2, 2.3; RFC 5234 B.1) ---- */

enum {
    C_ALPHA = 1u << 0,
    C_DIGIT = 1u << 1,
    C_MARK = 1u << 2,    /* - . _ ~ (the rest of unreserved) */
    C_SUB = 1u << 3,     /* ! $ & ' ( ) * + , ; = */
    C_COLON = 1u << 4,
    C_AT = 1u << 5,
    C_SLASH = 1u << 6,
    C_QMARK = 1u << 7,
    C_HASH = 1u << 8,
    C_BRACKET = 1u << 9, /* [ ] */
    C_SPACE = 1u << 10,
};
#define C_UNRES (C_ALPHA | C_DIGIT | C_MARK)
#define C_PCHAR (C_UNRES | C_SUB | C_COLON | C_AT)
#define C_RESERVED (C_COLON | C_SLASH | C_QMARK | C_HASH | C_BRACKET | C_AT | C_SUB)

static unsigned cls(uint8_t b) {
    if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')) return C_ALPHA;
    if (b >= '0' && b <= '9') return C_DIGIT;
    switch (b) {
    case '-': case '.': case '_': case '~': return C_MARK;
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',': case ';': case '=':
        return C_SUB;
    case ':': return C_COLON;
    case '@': return C_AT;
    case '/': return C_SLASH;
    case '?': return C_QMARK;
    case '#': return C_HASH;
    case '[': case ']': return C_BRACKET;
    case ' ': return C_SPACE;
    default: return 0;
    }
}

static int is_hex(uint8_t b) { return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F'); }
static int is_digit(uint8_t b) { return b >= '0' && b <= '9'; }

/* Consume all of c: each byte in mask, or (pct) a "%" HEXDIG HEXDIG. Returns: 1 when all of it fits. */
static int all_in(cur *c, unsigned mask, int pct) {
    uint8_t b, h1, h2;
    while (left(c)) {
        if (tkm_failed(tkm_rd_u8(&c->r, &b))) return 0;
        if (cls(b) & mask) continue;
        if (!pct || b != '%') return 0;
        if (tkm_failed(tkm_rd_u8(&c->r, &h1)) || tkm_failed(tkm_rd_u8(&c->r, &h2)) || !is_hex(h1) || !is_hex(h2))
            return 0;
    }
    return 1;
}

/* ---- hosts (RFC 3986 3.2.2) ---- */

/* dec-octet "." dec-octet "." dec-octet "." dec-octet; dec-octet without leading zeros, at most 255. */
static int ipv4_ok(cur *c) {
    for (int i = 0; i < 4; i++) {
        if (i && !lit(c, ".")) return 0;
        unsigned v = 0, n = 0;
        uint8_t b, first = 0;
        while (n < 3 && tkm_ok(tkm_rd_peek_u8(&c->r, &b)) && is_digit(b)) {
            if (!skip1(c)) return 0;
            if (!n) first = b;
            v = v * 10 + (unsigned)(b - '0');
            n++;
        }
        if (!n || v > 255 || (n > 1 && first == '0')) return 0;
    }
    return 1;
}

/*
 * IPv6address (RFC 3986 3.2.2): h16 groups of 1-4 hex digits separated by
 * ":", at most one "::", an IPv4 address allowed in place of the last two
 * groups; 8 groups without "::", at most 7 with it (it stands for >= 1).
 */
static int ipv6_ok(cur c) {
    unsigned groups = 0;
    int dcolon = 0;
    if (lit(&c, "::")) {
        dcolon = 1;
        if (!left(&c)) return 1;
    }
    for (;;) {
        tkm_rd save = c.r;
        size_t h = 0;
        uint8_t b;
        while (tkm_ok(tkm_rd_peek_u8(&c.r, &b)) && is_hex(b)) {
            if (++h > 4 || !skip1(&c)) return 0;
        }
        if (peek_is(&c, '.')) { /* ls32 as an IPv4 address: the last thing */
            c.r = save;
            if (!ipv4_ok(&c) || left(&c)) return 0;
            groups += 2;
            break;
        }
        if (!h) return 0;
        groups++;
        if (groups > 8) return 0;
        if (!left(&c)) break;
        if (!lit(&c, ":")) return 0;
        if (lit(&c, ":")) {
            if (dcolon) return 0;
            dcolon = 1;
            if (!left(&c)) break;
        } else if (!left(&c)) {
            return 0; /* a single trailing ":" */
        }
    }
    return dcolon ? groups <= 7 : groups == 8;
}

/* IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) ("v" is case-insensitive in ABNF) */
static int ipvfuture_ok(cur c) {
    uint8_t b;
    if (!lit(&c, "v") && !lit(&c, "V")) return 0;
    size_t h = 0;
    while (tkm_ok(tkm_rd_peek_u8(&c.r, &b)) && is_hex(b)) {
        if (!skip1(&c)) return 0;
        h++;
    }
    if (!h || !lit(&c, ".") || !left(&c)) return 0;
    return all_in(&c, C_UNRES | C_SUB | C_COLON, 0);
}

/* authority = [ userinfo "@" ] host [ ":" port ], all of a. Returns: NULL or what is wrong. */
static const char *authority(cur *a, tkm_siwe_authority *out) {
    cur part;
    memset(out, 0, sizeof *out);
    out->all = span_of(a);
    size_t n = count_until(a, "@");
    if (n < left(a)) {
        if (!carve(a, n, &part)) return "truncated";
        out->has_userinfo = 1;
        out->userinfo = span_of(&part);
        if (!all_in(&part, C_UNRES | C_SUB | C_COLON, 1)) return "invalid character in the userinfo";
        if (!skip1(a)) return "truncated";
    }
    if (peek_is(a, '[')) {
        size_t start = pos(a);
        if (!skip1(a)) return "truncated";
        n = count_until(a, "]");
        if (n == left(a)) return "IP literal without its closing ]";
        if (!carve(a, n, &part) || !skip1(a)) return "truncated";
        if (!ipv6_ok(part) && !ipvfuture_ok(part)) return "invalid IP literal (IPv6 address or IPvFuture)";
        out->host.off = start;
        out->host.len = pos(a) - start;
        out->host_ip_literal = 1;
        if (left(a) && !peek_is(a, ':')) return "only a :port may follow an IP literal";
    } else {
        n = count_until(a, ":");
        if (!carve(a, n, &part)) return "truncated";
        out->host = span_of(&part);
        if (!all_in(&part, C_UNRES | C_SUB, 1)) return "invalid character in the host";
    }
    if (lit(a, ":")) {
        out->has_port = 1;
        out->port = span_of(a);
        if (!all_in(a, C_DIGIT, 0)) return "the port must be digits";
    }
    return left(a) ? "trailing bytes" : NULL;
}

/* ---- URIs (RFC 3986 3) ---- */

static int scheme_ok(cur c) {
    uint8_t b;
    if (tkm_failed(tkm_rd_u8(&c.r, &b)) || !(cls(b) & C_ALPHA)) return 0;
    while (left(&c)) {
        if (tkm_failed(tkm_rd_u8(&c.r, &b))) return 0;
        if (!(cls(b) & (C_ALPHA | C_DIGIT)) && b != '+' && b != '-' && b != '.') return 0;
    }
    return 1;
}

/* URI = scheme ":" hier-part [ "?" query ] [ "#" fragment ], all of u. Returns: NULL or what is wrong. */
static const char *uri(cur *u, tkm_siwe_uri *out) {
    cur part;
    memset(out, 0, sizeof *out);
    out->all = span_of(u);
    size_t n = count_until(u, ":");
    if (n == left(u)) return "a URI starts with a scheme and \":\"";
    if (!carve(u, n, &part)) return "truncated";
    out->scheme = span_of(&part);
    if (!scheme_ok(part)) return "invalid URI scheme";
    if (!skip1(u)) return "truncated";
    if (lit(u, "//")) {
        out->has_authority = 1;
        if (!carve(u, count_until(u, "/?#"), &part)) return "truncated";
        const char *why = authority(&part, &out->authority);
        if (why) return why;
    }
    /* path-abempty after an authority (it starts with "/" or is empty: the authority stopped there);
     * otherwise path-absolute / path-rootless / path-empty, which never start with "//" (that was the authority) */
    if (!carve(u, count_until(u, "?#"), &part)) return "truncated";
    out->path = span_of(&part);
    if (!all_in(&part, C_PCHAR | C_SLASH, 1)) return "invalid character in the URI path";
    if (lit(u, "?")) {
        if (!carve(u, count_until(u, "#"), &part)) return "truncated";
        out->has_query = 1;
        out->query = span_of(&part);
        if (!all_in(&part, C_PCHAR | C_SLASH | C_QMARK, 1)) return "invalid character in the URI query";
    }
    if (lit(u, "#")) {
        out->has_fragment = 1;
        out->fragment = span_of(u);
        if (!all_in(u, C_PCHAR | C_SLASH | C_QMARK, 1)) return "invalid character in the URI fragment";
    }
    return left(u) ? "trailing bytes" : NULL;
}

/* ---- times (RFC 3339 5.6) ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    /* days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm) */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int is_leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
static unsigned month_days(unsigned y, unsigned m) {
    static const unsigned md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

/* Exactly n digits. */
static int digits(cur *c, unsigned n, unsigned *v) {
    *v = 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t b;
        if (tkm_failed(tkm_rd_u8(&c->r, &b)) || !is_digit(b)) return 0;
        *v = *v * 10 + (unsigned)(b - '0');
    }
    return 1;
}

/* The UTC date of a unix day number (inverse of days_from_civil). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* date-time, all of c. Returns: NULL or what is wrong (*range: the shape was right, a value is not). */
static const char *date_time(cur *c, tkm_siwe_time *out, int *range) {
    unsigned y, mo, d, h, mi, s, oh = 0, om = 0;
    int sign = 0;
    *range = 0;
    out->text = span_of(c);
    if (!digits(c, 4, &y) || !lit(c, "-") || !digits(c, 2, &mo) || !lit(c, "-") || !digits(c, 2, &d) ||
        !(lit(c, "T") || lit(c, "t")) || !digits(c, 2, &h) || !lit(c, ":") || !digits(c, 2, &mi) || !lit(c, ":") ||
        !digits(c, 2, &s))
        return "not an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM))";
    int frac = 0;
    if (lit(c, ".")) {
        uint8_t b;
        size_t n = 0;
        while (tkm_ok(tkm_rd_peek_u8(&c->r, &b)) && is_digit(b)) {
            if (!skip1(c)) return "truncated";
            if (b != '0') frac = 1;
            n++;
        }
        if (!n) return "a fraction of a second needs digits after the \".\"";
    }
    if (lit(c, "Z") || lit(c, "z")) {
        sign = 0;
    } else if (peek_is(c, '+') || peek_is(c, '-')) {
        sign = peek_is(c, '+') ? 1 : -1;
        if (!skip1(c) || !digits(c, 2, &oh) || !lit(c, ":") || !digits(c, 2, &om)) return "the offset is Z, +HH:MM or -HH:MM";
    } else {
        return "the time needs an offset: Z, +HH:MM or -HH:MM";
    }
    if (left(c)) return "trailing bytes after the date-time";
    *range = 1;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo)) return "no such date";
    if (h > 23 || mi > 59 || s > 60 || oh > 23 || om > 59) return "hour, minute, second or offset out of range";
    int64_t off = (int64_t)sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
    int64_t t = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + (s == 60 ? 59 : s) - off;
    if (s == 60) {
        /* a leap second: only 23:59:60 UTC on the last day of a month (RFC 3339 5.7) */
        int64_t day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
        int64_t uy;
        unsigned um, ud;
        civil_from_days(day, &uy, &um, &ud);
        if (t - day * 86400 != 86399 || ud != month_days((unsigned)uy, um))
            return "second 60 (a leap second) only at 23:59:60 UTC on the last day of a month";
        frac = 1; /* after 23:59:59, before the next day */
    }
    out->secs = t;
    out->frac = frac;
    *range = 0;
    return NULL;
}

/* ---- the message ---- */

static tkm_rc bad(tkm_err code, size_t line, const char *field, const char *what) {
    tkm_err_detail_set("line %zu (%s): %s", line, field, what);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(code);
}

typedef struct {
    cur msg;
    size_t line_no;
    int more; /* an LF followed the last line read: another line exists */
} lines;

/* The next line (without its LF). Returns: 0 when there is none. */
static int next_line(lines *L, cur *line) {
    if (!L->more) return 0;
    size_t n = count_until(&L->msg, "\n");
    if (!carve(&L->msg, n, line)) return 0;
    L->more = lit(&L->msg, "\n");
    L->line_no++;
    return 1;
}

static int ends_with_cr(const cur *line) {
    size_t n = left(line);
    if (!n) return 0;
    tkm_rd t = line->r;
    uint8_t b;
    return tkm_ok(tkm_rd_skip(&t, n - 1)) && tkm_ok(tkm_rd_u8(&t, &b)) && b == '\r';
}

/* "Name: value" lines: the value as its own reader when the line starts with the name. */
static int field(cur *line, const char *name, cur *value) {
    cur t = *line;
    if (!lit(&t, name)) return 0;
    *line = t;
    return carve(line, left(line), value);
}

static tkm_rc parse_header(cur *line, size_t ln, tkm_siwe_msg *m) {
    static const char hdr[] = TKM_SIWE_HEADER;
    const size_t hl = sizeof hdr - 1;
    cur pre;
    if (left(line) <= hl || !carve(line, left(line) - hl, &pre) || !lit(line, hdr))
        return bad(TKM_ERR_FORMAT, ln, "header", "must be [scheme://]domain followed by \"" TKM_SIWE_HEADER "\"");
    /* a "://" can only end a scheme: an authority has no "/" */
    cur t = pre;
    size_t n = 0;
    int found = 0;
    while (left(&t)) {
        if (lit(&t, "://")) {
            found = 1;
            break;
        }
        if (!skip1(&t)) break;
        n++;
    }
    if (found) {
        cur sch;
        if (!carve(&pre, n, &sch) || !lit(&pre, "://")) return bad(TKM_ERR_FORMAT, ln, "scheme", "truncated");
        m->has_scheme = 1;
        m->scheme = span_of(&sch);
        if (!scheme_ok(sch))
            return bad(TKM_ERR_FORMAT, ln, "scheme", "a scheme is a letter followed by letters, digits, + - .");
    }
    if (!left(&pre)) return bad(TKM_ERR_FORMAT, ln, "domain", "the domain is empty");
    const char *why = authority(&pre, &m->domain);
    if (why) return bad(TKM_ERR_FORMAT, ln, "domain", why);
    return TKM_RC_OK;
}

static tkm_rc parse_address(cur *line, size_t ln, tkm_siwe_msg *m) {
    const uint8_t *v;
    size_t n = left(line);
    if (n != 42 || tkm_failed(tkm_rd_view(&line->r, n, &v)) || v[0] != '0' || (v[1] != 'x' && v[1] != 'X'))
        return bad(TKM_ERR_FORMAT, ln, "address", "must be 0x followed by 40 hex digits");
    for (size_t i = 2; i < 42; i++)
        if (!is_hex(v[i])) return bad(TKM_ERR_FORMAT, ln, "address", "must be 0x followed by 40 hex digits");
    tkm_rc rc = tkm_eth_address_parse(m->address, (const char *)v, n);
    char want[TKM_ETH_ADDR_STR_LEN];
    if (tkm_ok(rc)) tkm_eth_address_checksum(want, m->address);
    if (tkm_failed(rc) || memcmp(want, v, n) != 0)
        return bad(TKM_ERR_CHECKSUM, ln, "address", "not in its EIP-55 checksummed form");
    return TKM_RC_OK;
}

static tkm_rc parse_time_field(cur *v, size_t ln, const char *name, tkm_siwe_time *t) {
    int range;
    const char *why = date_time(v, t, &range);
    return why ? bad(range ? TKM_ERR_RANGE : TKM_ERR_FORMAT, ln, name, why) : TKM_RC_OK;
}

static tkm_rc parse_message(tkm_siwe_msg *m, const uint8_t *msg, size_t len) {
    lines L = {.line_no = 0, .more = 1};
    cur line, v;
    cur_init(&L.msg, msg, len);

#define NEXT(field_name)                                                                  \
    do {                                                                                  \
        if (!next_line(&L, &line))                                                        \
            return bad(TKM_ERR_FORMAT, L.line_no + 1, field_name, "missing (the message ends early)"); \
        if (ends_with_cr(&line))                                                          \
            return bad(TKM_ERR_FORMAT, L.line_no, field_name, "ends with CR (lines end with LF only)"); \
    } while (0)

    NEXT("header");
    TKM_TRY(parse_header(&line, L.line_no, m));
    NEXT("address");
    TKM_TRY(parse_address(&line, L.line_no, m));
    NEXT("blank line");
    if (left(&line)) return bad(TKM_ERR_FORMAT, L.line_no, "blank line", "must be empty (after the address)");
    /* [ statement LF ] LF: a non-empty line is the statement; an empty one is either the end of "no
     * statement" (then URI follows) or an empty statement (then one more empty line) */
    NEXT("statement");
    if (left(&line)) {
        m->has_statement = 1;
        m->statement = span_of(&line);
        if (!all_in(&line, C_UNRES | C_RESERVED | C_SPACE, 0))
            return bad(TKM_ERR_FORMAT, L.line_no, "statement",
                       "only RFC 3986 reserved and unreserved characters and spaces (ASCII, no %, no quotes)");
        NEXT("blank line");
        if (left(&line)) return bad(TKM_ERR_FORMAT, L.line_no, "blank line", "must be empty (after the statement)");
        NEXT("URI");
    } else {
        NEXT("URI");
        if (!left(&line)) {
            m->has_statement = 1; /* the empty statement */
            m->statement = span_of(&line);
            NEXT("URI");
        }
    }
    if (!field(&line, "URI: ", &v)) return bad(TKM_ERR_FORMAT, L.line_no, "URI", "must start with \"URI: \"");
    const char *why = uri(&v, &m->uri);
    if (why) return bad(TKM_ERR_FORMAT, L.line_no, "URI", why);
    NEXT("Version");
    if (!field(&line, "Version: ", &v)) return bad(TKM_ERR_FORMAT, L.line_no, "Version", "must start with \"Version: \"");
    if (!lit(&v, "1") || left(&v)) return bad(TKM_ERR_FORMAT, L.line_no, "Version", "must be 1");
    NEXT("Chain ID");
    if (!field(&line, "Chain ID: ", &v)) return bad(TKM_ERR_FORMAT, L.line_no, "Chain ID", "must start with \"Chain ID: \"");
    if (!left(&v)) return bad(TKM_ERR_FORMAT, L.line_no, "Chain ID", "must be decimal digits");
    while (left(&v)) {
        uint8_t b;
        if (tkm_failed(tkm_rd_u8(&v.r, &b)) || !is_digit(b))
            return bad(TKM_ERR_FORMAT, L.line_no, "Chain ID", "must be decimal digits");
        unsigned dgt = (unsigned)(b - '0');
        if (m->chain_id > (UINT64_MAX - dgt) / 10) return bad(TKM_ERR_RANGE, L.line_no, "Chain ID", "larger than 2^64-1");
        m->chain_id = m->chain_id * 10 + dgt;
    }
    NEXT("Nonce");
    if (!field(&line, "Nonce: ", &v)) return bad(TKM_ERR_FORMAT, L.line_no, "Nonce", "must start with \"Nonce: \"");
    m->nonce = span_of(&v);
    if (left(&v) < 8 || !all_in(&v, C_ALPHA | C_DIGIT, 0))
        return bad(TKM_ERR_FORMAT, L.line_no, "Nonce", "must be at least 8 letters and digits");
    NEXT("Issued At");
    if (!field(&line, "Issued At: ", &v)) return bad(TKM_ERR_FORMAT, L.line_no, "Issued At", "must start with \"Issued At: \"");
    TKM_TRY(parse_time_field(&v, L.line_no, "Issued At", &m->issued_at));

    /* the optional fields, each at most once, in this order */
    int stage = 0;
    while (L.more) {
        NEXT("optional field");
        if (stage < 1 && field(&line, "Expiration Time: ", &v)) {
            stage = 1;
            m->has_expiration_time = 1;
            TKM_TRY(parse_time_field(&v, L.line_no, "Expiration Time", &m->expiration_time));
        } else if (stage < 2 && field(&line, "Not Before: ", &v)) {
            stage = 2;
            m->has_not_before = 1;
            TKM_TRY(parse_time_field(&v, L.line_no, "Not Before", &m->not_before));
        } else if (stage < 3 && field(&line, "Request ID: ", &v)) {
            stage = 3;
            m->has_request_id = 1;
            m->request_id = span_of(&v);
            if (!all_in(&v, C_PCHAR, 1))
                return bad(TKM_ERR_FORMAT, L.line_no, "Request ID", "only RFC 3986 pchar characters");
        } else if (stage < 4 && lit(&line, "Resources:") && !left(&line)) {
            stage = 4;
            m->has_resources = 1;
            m->resources.off = pos(&L.msg) - (L.more ? 1 : 0); /* from the LF that ends "Resources:" */
            while (L.more) {
                NEXT("resource");
                if (!left(&line) && !L.more)
                    return bad(TKM_ERR_FORMAT, L.line_no, "end", "a newline after the last field (the message ends without one)");
                if (!lit(&line, "- ")) return bad(TKM_ERR_FORMAT, L.line_no, "resource", "must be \"- \" and a URI");
                tkm_siwe_uri u;
                why = uri(&line, &u);
                if (why) return bad(TKM_ERR_FORMAT, L.line_no, "resource", why);
                m->n_resources++;
            }
            m->resources.len = pos(&L.msg) - m->resources.off;
        } else if (!left(&line) && !L.more) {
            return bad(TKM_ERR_FORMAT, L.line_no, "end", "a newline after the last field (the message ends without one)");
        } else {
            return bad(TKM_ERR_FORMAT, L.line_no, "optional field",
                       "expected Expiration Time, Not Before, Request ID or Resources (each once, in that order)");
        }
    }
#undef NEXT
    return tkm_rd_done(&L.msg.r);
}

tkm_rc tkm_siwe_parse(tkm_siwe_msg *out, const uint8_t *msg, size_t len) {
    memset(out, 0, sizeof *out);
    TKM_ARG_CHECK(msg != NULL || len == 0);
    tkm_siwe_msg m;
    memset(&m, 0, sizeof m);
    TKM_TRY(parse_message(&m, msg, len));
    *out = m;
    return TKM_RC_OK;
}

int tkm_siwe_resource_next(const tkm_siwe_msg *m, const uint8_t *msg, size_t *p, tkm_siwe_span *res) {
    memset(res, 0, sizeof *res);
    /* the block is LF "- " URI, repeated; *p counts bytes into it */
    if (!m->has_resources || *p >= m->resources.len) return 0;
    cur c;
    cur_init(&c, msg, m->resources.off + m->resources.len);
    if (tkm_failed(tkm_rd_skip(&c.r, m->resources.off + *p)) || !lit(&c, "\n- ")) return 0;
    size_t n = count_until(&c, "\n");
    res->off = pos(&c);
    res->len = n;
    *p = res->off + n - m->resources.off;
    return 1;
}

tkm_rc tkm_siwe_uri_parse(tkm_siwe_uri *out, const uint8_t *s, size_t len) {
    memset(out, 0, sizeof *out);
    TKM_ARG_CHECK(s != NULL || len == 0);
    cur c;
    cur_init(&c, s, len);
    tkm_siwe_uri u;
    const char *why = uri(&c, &u);
    if (why) {
        tkm_err_detail_set("%s", why);
        tkm_err_record_where_(__FILE__, __LINE__);
        return TKM_RC(TKM_ERR_FORMAT);
    }
    *out = u;
    return TKM_RC_OK;
}

tkm_rc tkm_siwe_authority_parse(tkm_siwe_authority *out, const uint8_t *s, size_t len) {
    memset(out, 0, sizeof *out);
    TKM_ARG_CHECK(s != NULL || len == 0);
    cur c;
    cur_init(&c, s, len);
    tkm_siwe_authority a;
    const char *why = authority(&c, &a);
    if (why) {
        tkm_err_detail_set("%s", why);
        tkm_err_record_where_(__FILE__, __LINE__);
        return TKM_RC(TKM_ERR_FORMAT);
    }
    *out = a;
    return TKM_RC_OK;
}

int tkm_siwe_statement_chars_ok(const uint8_t *s, size_t len) {
    if (!s && len) return 0;
    cur c;
    cur_init(&c, s, len);
    return all_in(&c, C_UNRES | C_RESERVED | C_SPACE, 0);
}

/* ---- JSON ---- */

static json_t *str_span(const uint8_t *msg, tkm_siwe_span s) {
    return json_stringn(s.len ? (const char *)msg + s.off : "", s.len);
}

static int put(json_t *o, const char *k, json_t *v) { return v ? json_object_set_new(o, k, v) : -1; }

static int put_time(json_t *o, const char *k, const char *ku, const uint8_t *msg, const tkm_siwe_time *t) {
    return put(o, k, str_span(msg, t->text)) | put(o, ku, json_integer((json_int_t)t->secs));
}

tkm_rc tkm_siwe_to_json(json_t **out, const tkm_siwe_msg *m, const uint8_t *msg) {
    *out = NULL;
    json_t *o = json_object(), *res = json_array();
    int e = !o || !res;
    char addr[TKM_ETH_ADDR_STR_LEN], chain[24];
    if (!e) {
        tkm_eth_address_checksum(addr, m->address);
        snprintf(chain, sizeof chain, "%llu", (unsigned long long)m->chain_id);
        if (m->has_scheme) e |= put(o, "scheme", str_span(msg, m->scheme));
        e |= put(o, "domain", str_span(msg, m->domain.all));
        e |= put(o, "address", json_string(addr));
        if (m->has_statement) e |= put(o, "statement", str_span(msg, m->statement));
        e |= put(o, "uri", str_span(msg, m->uri.all));
        e |= put(o, "version", json_string("1"));
        e |= put(o, "chainId", json_string(chain));
        e |= put(o, "nonce", str_span(msg, m->nonce));
        e |= put_time(o, "issuedAt", "issuedAtUnix", msg, &m->issued_at);
        if (m->has_expiration_time) e |= put_time(o, "expirationTime", "expirationTimeUnix", msg, &m->expiration_time);
        if (m->has_not_before) e |= put_time(o, "notBefore", "notBeforeUnix", msg, &m->not_before);
        if (m->has_request_id) e |= put(o, "requestId", str_span(msg, m->request_id));
        size_t p = 0;
        tkm_siwe_span r;
        while (!e && tkm_siwe_resource_next(m, msg, &p, &r)) e |= json_array_append_new(res, str_span(msg, r));
        if (m->has_resources) {
            e |= json_object_set(o, "resources", res);
        }
    }
    json_decref(res);
    if (e) {
        json_decref(o);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    *out = o;
    return TKM_RC_OK;
}
