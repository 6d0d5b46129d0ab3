/* see tkm_vcoll.h */
#include "tkm_vcoll.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../crypto/crypto.h"
#include "verifier_int.h"

#define CACHE_SLOTS 64
#define RETRY_SECONDS 60
#define MAX_RESPONSE ((size_t)1 << 20)
#define KEY_MAX 200

struct tkm_vcoll_ref {
    tkm_collateral *c;
    int refs; /* atomic */
};

typedef struct {
    char key[KEY_MAX];
    tkm_vcoll_ref *ref; /* NULL: negative entry (fetch failed, nothing to serve) */
    int64_t fresh_until;
    int64_t retry_after;
    int from_file;
    uint64_t lru;
} entry;

/* The AMD KDS CRL of one product (DER), kept until its nextUpdate; guarded by fetch_mu. */
typedef struct {
    char product[24]; /* "vcek/Milan", "vlek/Genoa", … */
    uint8_t *der;
    size_t len;
    int64_t next_update;
} crl_memo;

struct tkm_vcoll {
    crl_memo crl[4];
    pthread_mutex_t mu;       /* entries and counters */
    pthread_mutex_t fetch_mu; /* one fetch at a time */
    entry e[CACHE_SLOTS];
    entry *files;
    size_t n_files;
    uint64_t clock, fetches, mem_hits, disk_hits;
    char *pccs, *root_crl_url, *kds, *ca_file, *cache_dir;
    unsigned timeout_s;
    char **products;
    size_t n_products;
    int early;
};

static void copy_key(char dst[KEY_MAX], const char *src);

/* ---- references ---- */

static tkm_vcoll_ref *ref_new(tkm_collateral *c) {
    tkm_vcoll_ref *r = malloc(sizeof *r);
    if (!r) return NULL;
    r->c = c;
    r->refs = 1;
    return r;
}

static tkm_vcoll_ref *ref_up(tkm_vcoll_ref *r) {
    __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
    return r;
}

void tkm_vcoll_release(tkm_vcoll_ref *r) {
    if (!r) return;
    if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        tkm_collateral_free(r->c);
        free(r);
    }
}

const tkm_collateral *tkm_vcoll_ref_collateral(const tkm_vcoll_ref *r) { return r->c; }

/* ---- building blocks ---- */

static void hexlow(char *out, const uint8_t *b, size_t n) {
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = 0;
}

/* Skip one JSON value starting at *i (the text is known to be valid JSON). */
static int skip_ws(const uint8_t *b, size_t len, size_t *i) {
    while (*i < len && (b[*i] == ' ' || b[*i] == '\t' || b[*i] == '\n' || b[*i] == '\r')) (*i)++;
    return *i < len;
}

static int skip_string(const uint8_t *b, size_t len, size_t *i) {
    if (*i >= len || b[*i] != '"') return 0;
    for ((*i)++; *i < len; (*i)++) {
        if (b[*i] == '\\') {
            (*i)++;
            continue;
        }
        if (b[*i] == '"') {
            (*i)++;
            return 1;
        }
    }
    return 0;
}

static int skip_value(const uint8_t *b, size_t len, size_t *i) {
    if (!skip_ws(b, len, i)) return 0;
    if (b[*i] == '"') return skip_string(b, len, i);
    if (b[*i] == '{' || b[*i] == '[') {
        unsigned depth = 0;
        while (*i < len) {
            uint8_t ch = b[*i];
            if (ch == '"') {
                if (!skip_string(b, len, i)) return 0;
                continue;
            }
            if (ch == '{' || ch == '[') depth++;
            if (ch == '}' || ch == ']') {
                if (depth == 0) return 0;
                if (--depth == 0) {
                    (*i)++;
                    return 1;
                }
            }
            (*i)++;
        }
        return 0;
    }
    /* number, true, false, null */
    while (*i < len && b[*i] != ',' && b[*i] != '}' && b[*i] != ']' && b[*i] != ' ' && b[*i] != '\t' &&
           b[*i] != '\n' && b[*i] != '\r')
        (*i)++;
    return 1;
}

tkm_rc tkm_vcoll_json_member_span(const uint8_t *buf, size_t len, const char *key, size_t *off, size_t *n) {
    *off = 0;
    *n = 0;
    TKM_ARG_CHECK(buf != NULL || len == 0);
    /* strict validation first (duplicates, depth, trailing data): the scan below relies on it */
    json_t *j = NULL;
    tkm_json_limits lim = {.max_bytes = MAX_RESPONSE, .max_depth = 16};
    TKM_TRY(tkm_json_load(&j, buf, len, &lim));
    int is_obj = json_is_object(j);
    json_decref(j);
    if (!is_obj) {
        tkm_err_detail_set("response is not a JSON object");
        TKM_ENSURE(0, TKM_ERR_JSON_TYPE);
    }
    size_t klen = strlen(key), i = 0;
    if (!skip_ws(buf, len, &i) || buf[i] != '{') TKM_ENSURE(0, TKM_ERR_JSON);
    i++;
    for (;;) {
        if (!skip_ws(buf, len, &i)) TKM_ENSURE(0, TKM_ERR_JSON);
        if (buf[i] == '}') break;
        size_t ks = i;
        if (!skip_string(buf, len, &i)) TKM_ENSURE(0, TKM_ERR_JSON);
        /* raw key bytes between the quotes; escaped keys never match (ours have no escapes) */
        int match = i - ks - 2 == klen && memcmp(buf + ks + 1, key, klen) == 0;
        if (!skip_ws(buf, len, &i) || buf[i] != ':') TKM_ENSURE(0, TKM_ERR_JSON);
        i++;
        if (!skip_ws(buf, len, &i)) TKM_ENSURE(0, TKM_ERR_JSON);
        size_t vs = i;
        if (!skip_value(buf, len, &i)) TKM_ENSURE(0, TKM_ERR_JSON);
        if (match) {
            *off = vs;
            *n = i - vs;
            return TKM_RC_OK;
        }
        if (!skip_ws(buf, len, &i)) TKM_ENSURE(0, TKM_ERR_JSON);
        if (buf[i] == ',') {
            i++;
            continue;
        }
        if (buf[i] == '}') break;
        TKM_ENSURE(0, TKM_ERR_JSON);
    }
    tkm_err_detail_set("response has no \"%s\" member", key);
    TKM_ENSURE(0, TKM_ERR_JSON_MISSING);
}

/* buf is exactly one DER SEQUENCE (definite length, at most 4 length bytes). */
static int der_sequence_exact(const uint8_t *buf, size_t len) {
    if (len < 2 || buf[0] != 0x30) return 0;
    size_t n, hdr;
    if (buf[1] < 0x80) {
        n = buf[1];
        hdr = 2;
    } else {
        size_t k = buf[1] & 0x7f;
        if (k == 0 || k > 4 || len < 2 + k) return 0;
        n = 0;
        for (size_t i = 0; i < k; i++) n = n << 8 | buf[2 + i];
        hdr = 2 + k;
    }
    return n == len - hdr;
}

tkm_rc tkm_vcoll_crl_to_der(uint8_t **der, size_t *der_len, const uint8_t *buf, size_t len) {
    *der = NULL;
    *der_len = 0;
    TKM_ARG_CHECK(buf != NULL || len == 0);
    static const char begin[] = "-----BEGIN X509 CRL-----", end[] = "-----END X509 CRL-----";
    size_t s = 0, e = len;
    while (s < e && (buf[s] == ' ' || buf[s] == '\n' || buf[s] == '\r' || buf[s] == '\t')) s++;
    while (e > s && (buf[e - 1] == ' ' || buf[e - 1] == '\n' || buf[e - 1] == '\r' || buf[e - 1] == '\t' || !buf[e - 1]))
        e--;
    if (e == s) goto bad;
    if (der_sequence_exact(buf, len)) { /* binary DER: one SEQUENCE filling the body */
        if (!(*der = malloc(len))) return TKM_RC(TKM_ERR_NOMEM);
        memcpy(*der, buf, len);
        *der_len = len;
        return TKM_RC_OK;
    }
    if (e - s > sizeof begin - 1 + sizeof end - 1 && memcmp(buf + s, begin, sizeof begin - 1) == 0 &&
        memcmp(buf + e - (sizeof end - 1), end, sizeof end - 1) == 0) {
        size_t bs = s + sizeof begin - 1, be = e - (sizeof end - 1);
        uint8_t *out = NULL;
        size_t o = 0;
        if (tkm_failed(tkm_b64_decode_alloc(&out, &o, (const char *)buf + bs, be - bs, TKM_B64_SKIP_WS)))
            goto bad;
        if (out[0] != 0x30) {
            free(out);
            goto bad;
        }
        *der = out;
        *der_len = o;
        return TKM_RC_OK;
    }
    /* hex text */
    tkm_rc rc = tkm_hex_decode_alloc(der, der_len, (const char *)buf + s, e - s, TKM_HEX_0X_OPTIONAL, MAX_RESPONSE);
    if (tkm_ok(rc) && *der_len > 0 && (*der)[0] == 0x30) return rc;
    free(*der);
    *der = NULL;
    *der_len = 0;
bad:
    tkm_err_detail_set("CRL is neither DER, PEM nor hex-encoded DER");
    TKM_ENSURE(0, TKM_ERR_COLLATERAL);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

tkm_rc tkm_vcoll_url_decode(char **out, size_t *out_len, const char *s, size_t len) {
    *out = NULL;
    *out_len = 0;
    TKM_ARG_CHECK(s != NULL || len == 0);
    char *r = malloc(len + 1);
    if (!r) return TKM_RC(TKM_ERR_NOMEM);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int h = i + 2 < len ? hexval(s[i + 1]) : -1, l = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (h < 0 || l < 0) {
                free(r);
                tkm_err_detail_set("bad percent-encoding in an issuer-chain header");
                TKM_ENSURE(0, TKM_ERR_COLLATERAL);
            }
            r[o++] = (char)(h << 4 | l);
            i += 2;
        } else {
            r[o++] = s[i];
        }
    }
    r[o] = 0;
    *out = r;
    *out_len = o;
    return TKM_RC_OK;
}

/* ---- keys ---- */

static void intel_key(char out[KEY_MAX], tkm_platform p, const uint8_t fmspc[6], int platform_ca, int early) {
    char f[13];
    hexlow(f, fmspc, 6);
    snprintf(out, KEY_MAX, "intel/%s/%s/%s%s", p == TKM_PLATFORM_TDX ? "tdx" : "sgx", f,
             platform_ca ? "platform" : "processor", early ? "/early" : "");
}

static void amd_key(char out[KEY_MAX], const char *product, const uint8_t *hwid, size_t hwid_len, const tkm_snp_tcb *t,
                    int vlek) {
    char h[129] = "";
    if (!vlek) hexlow(h, hwid, hwid_len);
    snprintf(out, KEY_MAX, "amd%s/%.16s/%s/%u.%u.%u.%u.%u", vlek ? "-vlek" : "", product, h, t->bl, t->tee, t->snp,
             t->ucode, t->fmc);
}

static tkm_rc key_of_collateral(char out[KEY_MAX], const tkm_collateral *c) {
    tkm_collateral_info in;
    tkm_collateral_info_get(c, &in);
    if (in.vendor == TKM_PLATFORM_SNP) {
        if (!in.is_vlek && in.hwid_len != 64 && in.hwid_len != 8) {
            tkm_err_detail_set("VCEK without a usable hwID extension");
            TKM_ENSURE(0, TKM_ERR_COLLATERAL);
        }
        char product[32];
        snprintf(product, sizeof product, "%s", in.product);
        product[strcspn(product, "-")] = 0; /* "Milan-B0" → "Milan" */
        amd_key(out, product, in.hwid, in.hwid_len, &in.tcb, in.is_vlek);
    } else {
        tkm_platform p = strcmp(in.tcb_id, "TDX") == 0 ? TKM_PLATFORM_TDX : TKM_PLATFORM_SGX;
        intel_key(out, p, in.fmspc, in.pck_ca_platform, 0);
    }
    return TKM_RC_OK;
}

/* ---- provider ---- */

static void entry_clear(entry *e) {
    tkm_vcoll_release(e->ref);
    memset(e, 0, sizeof *e);
}

void tkm_vcoll_free(tkm_vcoll *p) {
    if (!p) return;
    for (size_t i = 0; i < CACHE_SLOTS; i++) entry_clear(&p->e[i]);
    for (size_t i = 0; i < p->n_files; i++) entry_clear(&p->files[i]);
    free(p->files);
    free(p->pccs);
    free(p->root_crl_url);
    free(p->kds);
    free(p->ca_file);
    free(p->cache_dir);
    for (size_t i = 0; i < p->n_products; i++) free(p->products[i]);
    free(p->products);
    for (size_t i = 0; i < sizeof p->crl / sizeof p->crl[0]; i++) free(p->crl[i].der);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->fetch_mu);
    free(p);
}

static tkm_rc parse_any(tkm_collateral **out, const uint8_t *b, size_t n) {
    size_t i = 0;
    while (i < n && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) i++;
    if (i < n && b[i] == '{') return tkm_dcap_collateral_parse(out, b, n);
    return tkm_snp_collateral_parse(out, b, n);
}

static char *dup_opt(const char *s, int *fail) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *fail = 1;
    return d;
}

/* strip trailing slashes of a base URL */
static void trim_slash(char *s) {
    if (!s) return;
    size_t n = strlen(s);
    while (n > 8 && s[n - 1] == '/') s[--n] = 0;
}

tkm_rc tkm_vcoll_new(tkm_vcoll **out, const tkm_vcoll_config *cfg) {
    *out = NULL;
    tkm_rc rc;
    uint8_t *buf = NULL;
    size_t len = 0;
    tkm_vcoll *p = calloc(1, sizeof *p);
    if (!p) return TKM_RC(TKM_ERR_NOMEM);
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->fetch_mu, NULL);
    int fail = 0;
    p->pccs = dup_opt(cfg->pccs_url, &fail);
    p->root_crl_url = dup_opt(cfg->root_ca_crl_url, &fail);
    p->kds = dup_opt(cfg->kds_url, &fail);
    p->ca_file = dup_opt(cfg->ca_file, &fail);
    p->cache_dir = dup_opt(cfg->cache_dir, &fail);
    trim_slash(p->pccs);
    trim_slash(p->kds);
    p->timeout_s = cfg->timeout_s ? cfg->timeout_s : 10;
    p->early = cfg->tcb_update_early;
    static const char *const def_products[] = {"Milan", "Genoa", "Turin"};
    const char *const *prods = cfg->n_snp_products ? cfg->snp_products : def_products;
    size_t n_prods = cfg->n_snp_products ? cfg->n_snp_products : 3;
    if (!(p->products = calloc(n_prods, sizeof *p->products))) fail = 1;
    for (size_t i = 0; !fail && i < n_prods; i++) p->products[p->n_products++] = dup_opt(prods[i], &fail);
    if (fail) TKM_GOTO(rc, TKM_ERR_NOMEM);
    if (p->cache_dir && mkdir(p->cache_dir, 0700) != 0 && errno != EEXIST) {
        tkm_err_detail_set("cannot create collateral cache %s: %s", p->cache_dir, strerror(errno));
        TKM_GOTO(rc, TKM_ERR_IO);
    }
    if (cfg->n_files && !(p->files = calloc(cfg->n_files, sizeof *p->files))) TKM_GOTO(rc, TKM_ERR_NOMEM);
    for (size_t i = 0; i < cfg->n_files; i++) {
        tkm_collateral *c = NULL;
        TKM_CHECK_GOTO(rc, tkm_file_read(cfg->files[i], MAX_RESPONSE, 0, &buf, &len));
        rc = parse_any(&c, buf, len);
        free(buf);
        buf = NULL;
        if (tkm_ok(rc)) rc = key_of_collateral(p->files[p->n_files].key, c);
        if (tkm_failed(rc)) {
            tkm_err_detail_set("collateral file %s: %s", cfg->files[i], tkm_err_detail());
            tkm_collateral_free(c);
            goto out;
        }
        entry *e = &p->files[p->n_files++];
        e->from_file = 1;
        if (!(e->ref = ref_new(c))) {
            tkm_collateral_free(c);
            TKM_GOTO(rc, TKM_ERR_NOMEM);
        }
    }
    *out = p;
    p = NULL;
    rc = TKM_RC_OK;
out:
    free(buf);
    tkm_vcoll_free(p);
    return rc;
}

void tkm_vcoll_stats(tkm_vcoll *p, uint64_t *fetches, uint64_t *memory_hits, uint64_t *disk_hits) {
    pthread_mutex_lock(&p->mu);
    *fetches = p->fetches;
    *memory_hits = p->mem_hits;
    *disk_hits = p->disk_hits;
    pthread_mutex_unlock(&p->mu);
}

/* mu held */
static entry *find(tkm_vcoll *p, const char *key) {
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (p->e[i].key[0] && strcmp(p->e[i].key, key) == 0) return &p->e[i];
    return NULL;
}

/* mu held: the slot for key (existing, empty or least recently used) */
static entry *slot_for(tkm_vcoll *p, const char *key) {
    entry *e = find(p, key), *victim = &p->e[0];
    if (e) return e;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (!p->e[i].key[0]) return &p->e[i];
        if (p->e[i].lru < victim->lru) victim = &p->e[i];
    }
    entry_clear(victim);
    return victim;
}

/* mu held: store c (owned) under key. */
static tkm_rc store(tkm_vcoll *p, const char *key, tkm_collateral *c, int64_t fresh_until, int64_t retry_after) {
    tkm_vcoll_ref *r = ref_new(c);
    if (!r) {
        tkm_collateral_free(c);
        return TKM_RC(TKM_ERR_NOMEM);
    }
    entry *e = slot_for(p, key);
    tkm_vcoll_release(e->ref);
    memset(e, 0, sizeof *e);
    copy_key(e->key, key);
    e->ref = r;
    e->fresh_until = fresh_until;
    e->retry_after = retry_after;
    e->lru = ++p->clock;
    return TKM_RC_OK;
}

static void disk_path(char *out, size_t cap, const tkm_vcoll *p, const char *key) {
    uint8_t h[32];
    char hx[65];
    if (tkm_failed(tkm_sha256(h, key, strlen(key)))) memset(h, 0, sizeof h);
    hexlow(hx, h, 32);
    snprintf(out, cap, "%s/%s.bin", p->cache_dir, hx);
}

static int64_t fresh_until_of(const tkm_collateral *c) {
    tkm_collateral_info in;
    tkm_collateral_info_get(c, &in);
    /* an AMD entry without its CRL (a disk cache written before CRLs were fetched) is never fresh: refetched */
    if (in.vendor == TKM_PLATFORM_SNP && !in.has_crl) return 0;
    return in.next_update;
}

/* ---- fetching ---- */

static tkm_rc get_ok(tkm_vcoll *p, const char *url, const char *const *hdrs, vhttp_resp *r) {
    pthread_mutex_lock(&p->mu);
    p->fetches++;
    pthread_mutex_unlock(&p->mu);
    TKM_TRY(vhttp_get(url, p->ca_file, p->timeout_s, MAX_RESPONSE, hdrs, r));
    if (r->status != 200) {
        tkm_err_detail_set("GET %.200s: HTTP %ld", url, r->status);
        vhttp_resp_free(r);
        TKM_ENSURE(0, TKM_ERR_COLLATERAL_UNAVAILABLE);
    }
    if (hdrs && !r->header) {
        tkm_err_detail_set("GET %.200s: no %s header", url, hdrs[0]);
        vhttp_resp_free(r);
        TKM_ENSURE(0, TKM_ERR_COLLATERAL);
    }
    return TKM_RC_OK;
}

/* {"<doc_key>": {...}, "signature": "hex"} → exact doc text + signature string, into o. */
static tkm_rc signed_doc(json_t *o, const vhttp_resp *r, const char *doc_key, const char *text_field,
                         const char *sig_field, const char *chain_field) {
    size_t off, n;
    TKM_TRY(tkm_vcoll_json_member_span(r->body, r->len, doc_key, &off, &n));
    json_t *j = NULL;
    TKM_TRY(tkm_json_load(&j, r->body, r->len, NULL));
    json_t *sig = json_object_get(j, "signature");
    tkm_rc rc = TKM_RC_OK;
    char *chain = NULL;
    size_t chain_len;
    if (!json_is_string(sig)) {
        tkm_err_detail_set("%s response has no signature string", doc_key);
        tkm_err_record_where_(__FILE__, __LINE__);
        rc = TKM_RC(TKM_ERR_COLLATERAL);
    } else if (tkm_ok(rc = tkm_vcoll_url_decode(&chain, &chain_len, r->header, r->header_len))) {
        if (json_object_set_new(o, text_field, json_stringn((const char *)r->body + off, n)) ||
            json_object_set(o, sig_field, sig) || json_object_set_new(o, chain_field, json_stringn(chain, chain_len)))
            rc = TKM_RC(TKM_ERR_COLLATERAL); /* not UTF-8, or out of memory */
    }
    free(chain);
    json_decref(j);
    return rc;
}

static tkm_rc crl_field(json_t *o, const char *field, const vhttp_resp *r) {
    uint8_t *der = NULL;
    size_t der_len = 0;
    TKM_TRY(tkm_vcoll_crl_to_der(&der, &der_len, r->body, r->len));
    char *hx = malloc(TKM_HEX_ENC_LEN(der_len, 0));
    tkm_rc rc = hx ? tkm_hex_encode(hx, TKM_HEX_ENC_LEN(der_len, 0), der, der_len, 0) : TKM_RC(TKM_ERR_NOMEM);
    if (tkm_ok(rc) && json_object_set_new(o, field, json_string(hx))) rc = TKM_RC(TKM_ERR_NOMEM);
    free(hx);
    free(der);
    return rc;
}

static tkm_rc fetch_intel(tkm_vcoll *p, const tkm_collateral_id *id, uint8_t **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (!p->pccs) {
        tkm_err_detail_set("no Intel collateral file matches and no pccsUrl is configured");
        TKM_ENSURE(0, TKM_ERR_COLLATERAL_UNAVAILABLE);
    }
    const char *tee = id->platform == TKM_PLATFORM_TDX ? "tdx" : "sgx";
    char url[2400], fm[13];
    static const char *const tcb_h[] = {"TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain", NULL};
    static const char *const qe_h[] = {"SGX-Enclave-Identity-Issuer-Chain", "Enclave-Identity-Issuer-Chain", NULL};
    static const char *const crl_h[] = {"SGX-PCK-CRL-Issuer-Chain", NULL};
    vhttp_resp r;
    tkm_rc rc;
    tkm_wr w;
    tkm_wr_init(&w, 0);
    json_t *o = json_object();
    if (!o) return TKM_RC(TKM_ERR_NOMEM);
    hexlow(fm, id->fmspc, 6);
    for (int i = 0; fm[i]; i++)
        if (fm[i] >= 'a') fm[i] = (char)(fm[i] - 32); /* PCS spells FMSPCs in upper case */
    snprintf(url, sizeof url, "%s/%s/certification/v4/tcb?fmspc=%s%s", p->pccs, tee, fm, p->early ? "&update=early" : "");
    TKM_CHECK_GOTO(rc, get_ok(p, url, tcb_h, &r));
    rc = signed_doc(o, &r, "tcbInfo", "tcb_info", "tcb_info_signature", "tcb_info_issuer_chain");
    vhttp_resp_free(&r);
    if (tkm_failed(rc)) goto out;
    snprintf(url, sizeof url, "%s/%s/certification/v4/qe/identity%s", p->pccs, tee, p->early ? "?update=early" : "");
    TKM_CHECK_GOTO(rc, get_ok(p, url, qe_h, &r));
    rc = signed_doc(o, &r, "enclaveIdentity", "qe_identity", "qe_identity_signature", "qe_identity_issuer_chain");
    vhttp_resp_free(&r);
    if (tkm_failed(rc)) goto out;
    snprintf(url, sizeof url, "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", p->pccs,
             id->pck_ca_platform ? "platform" : "processor");
    TKM_CHECK_GOTO(rc, get_ok(p, url, crl_h, &r));
    rc = crl_field(o, "pck_crl", &r);
    if (tkm_ok(rc)) {
        char *chain = NULL;
        size_t chain_len;
        rc = tkm_vcoll_url_decode(&chain, &chain_len, r.header, r.header_len);
        if (tkm_ok(rc) && json_object_set_new(o, "pck_crl_issuer_chain", json_stringn(chain, chain_len)))
            rc = TKM_RC(TKM_ERR_COLLATERAL);
        free(chain);
    }
    vhttp_resp_free(&r);
    if (tkm_failed(rc)) goto out;
    if (p->root_crl_url)
        snprintf(url, sizeof url, "%s", p->root_crl_url);
    else
        snprintf(url, sizeof url, "%s/sgx/certification/v4/rootcacrl", p->pccs);
    TKM_CHECK_GOTO(rc, get_ok(p, url, NULL, &r));
    rc = crl_field(o, "root_ca_crl", &r);
    vhttp_resp_free(&r);
    if (tkm_failed(rc)) goto out;
    TKM_CHECK_GOTO(rc, tkm_json_dump(o, &w));
    TKM_CHECK_GOTO(rc, tkm_wr_take(&w, out, out_len));
    rc = TKM_RC_OK;
out:
    if (tkm_failed(rc) && rc.code != TKM_ERR_COLLATERAL_UNAVAILABLE && rc.code != TKM_ERR_NETWORK &&
        rc.code != TKM_ERR_TIMEOUT)
        tkm_err_detail_set("PCCS response unusable: %s", tkm_err_detail());
    json_decref(o);
    tkm_wr_free(&w);
    return rc;
}

/*
 * The product's CRL as DER: from the memo while before its nextUpdate, else
 * GET {kds}/vcek/v1/{product}/crl (VLEK: {kds}/vlek/v1/{product}/crl). vcek:
 * a DER certificate of that product, used to read the CRL's nextUpdate.
 * Call with fetch_mu held. *der stays owned by the memo (valid until the next call).
 */
static tkm_rc amd_crl(tkm_vcoll *p, const char *product, int vlek, const uint8_t *vcek, size_t vcek_len, int64_t now,
                      const uint8_t **der, size_t *der_len) {
    char mk[24];
    snprintf(mk, sizeof mk, "%s/%.15s", vlek ? "vlek" : "vcek", product);
    crl_memo *m = NULL;
    for (size_t i = 0; i < sizeof p->crl / sizeof p->crl[0] && !m; i++)
        if (strcmp(p->crl[i].product, mk) == 0) m = &p->crl[i];
    for (size_t i = 0; i < sizeof p->crl / sizeof p->crl[0] && !m; i++)
        if (!p->crl[i].product[0]) m = &p->crl[i];
    if (!m) m = &p->crl[0]; /* more kinds than slots: reuse */
    if (m->der && strcmp(m->product, mk) == 0 && now < m->next_update) {
        *der = m->der;
        *der_len = m->len;
        return TKM_RC_OK;
    }
    char url[600];
    snprintf(url, sizeof url, "%s/%s/v1/%s/crl", p->kds, vlek ? "vlek" : "vcek", product);
    vhttp_resp r;
    TKM_TRY(get_ok(p, url, NULL, &r));
    uint8_t *crl = NULL, *both = NULL;
    size_t crl_len = 0;
    tkm_rc rc = tkm_vcoll_crl_to_der(&crl, &crl_len, r.body, r.len);
    vhttp_resp_free(&r);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("GET %.200s: %s", url, tkm_err_detail());
        return rc;
    }
    /* its nextUpdate, read by parsing it together with the VCEK (the CRL itself is verified at appraisal) */
    tkm_collateral *c = NULL;
    if (!(both = malloc(vcek_len + crl_len))) {
        free(crl);
        return TKM_RC(TKM_ERR_NOMEM);
    }
    memcpy(both, vcek, vcek_len);
    memcpy(both + vcek_len, crl, crl_len);
    rc = tkm_snp_collateral_parse(&c, both, vcek_len + crl_len);
    free(both);
    if (tkm_failed(rc)) {
        free(crl);
        tkm_err_detail_set("GET %.200s: %s", url, tkm_err_detail());
        return rc;
    }
    tkm_collateral_info in;
    tkm_collateral_info_get(c, &in);
    tkm_collateral_free(c);
    free(m->der);
    snprintf(m->product, sizeof m->product, "%s", mk);
    m->der = crl;
    m->len = crl_len;
    m->next_update = in.crl_next_update;
    *der = m->der;
    *der_len = m->len;
    return TKM_RC_OK;
}

/* The VCEK (DER, as KDS serves it) directly followed by the product's CRL (DER): one SNP collateral. */
static tkm_rc fetch_amd(tkm_vcoll *p, const char *product, const tkm_collateral_id *id, int64_t now, uint8_t **out,
                        size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    int turin = strcmp(product, "Turin") == 0;
    tkm_snp_tcb t;
    tkm_snp_tcb_split(id->reported_tcb, turin, &t);
    char hw[129], url[2400];
    hexlow(hw, id->chip_id, turin ? 8 : 64);
    if (turin)
        snprintf(url, sizeof url, "%s/vcek/v1/%s/%s?fmcSPL=%u&blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", p->kds,
                 product, hw, t.fmc, t.bl, t.tee, t.snp, t.ucode);
    else
        snprintf(url, sizeof url, "%s/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", p->kds, product, hw,
                 t.bl, t.tee, t.snp, t.ucode);
    vhttp_resp r;
    TKM_TRY(get_ok(p, url, NULL, &r));
    if (r.len == 0 || r.body[0] != 0x30) {
        tkm_err_detail_set("GET %.200s: the VCEK is not DER", url);
        vhttp_resp_free(&r);
        TKM_ENSURE(0, TKM_ERR_COLLATERAL);
    }
    const uint8_t *crl;
    size_t crl_len;
    tkm_rc rc = amd_crl(p, product, 0, r.body, r.len, now, &crl, &crl_len);
    uint8_t *b = tkm_ok(rc) ? malloc(r.len + crl_len) : NULL;
    if (tkm_ok(rc) && !b) rc = TKM_RC(TKM_ERR_NOMEM);
    if (tkm_ok(rc)) {
        memcpy(b, r.body, r.len);
        memcpy(b + r.len, crl, crl_len);
        *out = b;
        *out_len = r.len + crl_len;
    }
    vhttp_resp_free(&r);
    return rc;
}

tkm_rc tkm_vcoll_snp_collateral(tkm_vcoll *p, const uint8_t *cert, size_t len, int64_t now, tkm_collateral **out,
                                 char *note, size_t note_cap) {
    *out = NULL;
    if (note_cap) note[0] = 0;
    tkm_collateral *c = NULL;
    TKM_TRY(tkm_snp_collateral_parse(&c, cert, len));
    tkm_collateral_info in;
    tkm_collateral_info_get(c, &in);
    if (in.has_crl || !p->kds || len == 0 || cert[0] != 0x30) {
        if (!in.has_crl && note_cap)
            snprintf(note, note_cap, "%s", p->kds ? "no AMD CRL attached: the certificate is not DER" : "no kdsUrl configured for the AMD CRL");
        *out = c;
        return TKM_RC_OK;
    }
    char product[32];
    snprintf(product, sizeof product, "%s", in.product);
    product[strcspn(product, "-")] = 0; /* "Milan-B0" → "Milan" */
    const uint8_t *crl = NULL;
    size_t crl_len = 0;
    uint8_t *both = NULL;
    pthread_mutex_lock(&p->fetch_mu);
    tkm_rc rc = amd_crl(p, product, in.is_vlek, cert, len, now, &crl, &crl_len);
    if (tkm_ok(rc) && !(both = malloc(len + crl_len))) rc = TKM_RC(TKM_ERR_NOMEM);
    if (tkm_ok(rc)) {
        memcpy(both, cert, len);
        memcpy(both + len, crl, crl_len);
    }
    pthread_mutex_unlock(&p->fetch_mu);
    tkm_collateral *with = NULL;
    if (tkm_ok(rc)) rc = tkm_snp_collateral_parse(&with, both, len + crl_len);
    free(both);
    if (tkm_failed(rc)) {
        if (rc.code == TKM_ERR_NOMEM) {
            tkm_collateral_free(c);
            return rc;
        }
        /* the certificate is still appraised; snp.crl then fails as not evaluated */
        if (note_cap) snprintf(note, note_cap, "AMD CRL unavailable: %s", tkm_err_detail());
        tkm_log(TKM_LOG_WARN, "collateral", "AMD CRL for %s %s: %s", product, in.is_vlek ? "VLEK" : "VCEK", tkm_err_detail());
        *out = c;
        return TKM_RC_OK;
    }
    tkm_collateral_free(c);
    if (note_cap) snprintf(note, note_cap, "AMD %s CRL attached", product);
    *out = with;
    return TKM_RC_OK;
}

/* ---- lookup ---- */

static void copy_key(char dst[KEY_MAX], const char *src) {
    size_t n = strnlen(src, KEY_MAX - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
}

static void note(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *buf, size_t cap, const char *fmt, ...) {
    size_t used = strnlen(buf, cap);
    if (used + 3 >= cap) return;
    if (used) {
        memcpy(buf + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
}

typedef struct {
    char key[KEY_MAX];
    const char *product; /* AMD: the product this key's layout is for */
} cand;

static size_t candidates(const tkm_vcoll *p, const tkm_collateral_id *id, cand *out, size_t cap) {
    size_t n = 0;
    if (id->platform == TKM_PLATFORM_SGX || id->platform == TKM_PLATFORM_TDX) {
        intel_key(out[0].key, id->platform, id->fmspc, id->pck_ca_platform, p->early);
        out[0].product = NULL;
        return 1;
    }
    static const char *one[1];
    const char *const *prods = (const char *const *)p->products;
    size_t np = p->n_products;
    if (id->snp_product) {
        one[0] = id->snp_product;
        prods = one;
        np = 1;
    }
    for (size_t i = 0; i < np && n < cap; i++) {
        int turin = strcmp(prods[i], "Turin") == 0;
        tkm_snp_tcb t;
        tkm_snp_tcb_split(id->reported_tcb, turin, &t);
        if (!turin) t.fmc = 0;
        amd_key(out[n].key, prods[i], id->chip_id, turin ? 8 : 64, &t, id->snp_vlek);
        out[n].product = prods[i];
        n++;
    }
    return n;
}

/* Parse bytes for key and check they are what the key asked for. */
static tkm_rc parse_for_key(tkm_collateral **c, const char *key, const uint8_t *b, size_t n) {
    *c = NULL;
    TKM_TRY(parse_any(c, b, n));
    char got[KEY_MAX];
    tkm_rc rc = key_of_collateral(got, *c);
    /* the Intel key may carry "/early"; compare the part before it */
    size_t kl = strlen(got);
    if (tkm_ok(rc) && (strncmp(got, key, kl) != 0 || (key[kl] != 0 && strcmp(key + kl, "/early") != 0))) {
        tkm_err_detail_set("collateral is for %s, not %s", got, key);
        tkm_err_record_where_(__FILE__, __LINE__);
        rc = TKM_RC(TKM_ERR_COLLATERAL);
    }
    if (tkm_failed(rc)) {
        tkm_collateral_free(*c);
        *c = NULL;
    }
    return rc;
}

tkm_rc tkm_vcoll_get(tkm_vcoll *p, const tkm_evidence *ev, int64_t now, tkm_vcoll_ref **ref, const char **source) {
    *ref = NULL;
    *source = "none";
    tkm_collateral_id id;
    TKM_TRY(tkm_evidence_collateral_id(ev, &id));
    if (id.platform == TKM_PLATFORM_SIM || id.platform == TKM_PLATFORM_UNKNOWN) return TKM_RC_OK;
    if (id.platform == TKM_PLATFORM_SNP && id.snp_chip_masked && !id.snp_vlek) {
        tkm_err_detail_set("the report masks CHIP_ID (MASK_CHIP_KEY): no VCEK can be looked up; send it with the request");
        TKM_ENSURE(0, TKM_ERR_COLLATERAL_UNAVAILABLE);
    }
    cand cs[4];
    size_t nc = candidates(p, &id, cs, 4);
    /* 1. configured files */
    for (size_t k = 0; k < nc; k++)
        for (size_t i = 0; i < p->n_files; i++) {
            /* files are stored under the plain key (no "/early") */
            size_t fl = strlen(p->files[i].key);
            if (strncmp(p->files[i].key, cs[k].key, fl) == 0 && (cs[k].key[fl] == 0 || !strcmp(cs[k].key + fl, "/early"))) {
                *ref = ref_up(p->files[i].ref);
                *source = "file";
                return TKM_RC_OK;
            }
        }
    /* 2. memory, then disk, then network, one key at a time under the fetch lock */
    pthread_mutex_lock(&p->mu);
    for (size_t k = 0; k < nc; k++) {
        entry *e = find(p, cs[k].key);
        if (e && e->ref && now < e->fresh_until) {
            e->lru = ++p->clock;
            p->mem_hits++;
            *ref = ref_up(e->ref);
            *source = "memory";
            pthread_mutex_unlock(&p->mu);
            return TKM_RC_OK;
        }
    }
    pthread_mutex_unlock(&p->mu);

    pthread_mutex_lock(&p->fetch_mu);
    tkm_rc rc = TKM_RC(TKM_ERR_COLLATERAL_UNAVAILABLE);
    tkm_vcoll_ref *stale = NULL;
    char tried[600] = "";
    for (size_t k = 0; k < nc && !*ref; k++) {
        const char *key = cs[k].key;
        int64_t retry_after = 0;
        /* someone else may have refreshed it while we waited for the lock */
        pthread_mutex_lock(&p->mu);
        entry *e = find(p, key);
        if (e && e->ref && now < e->fresh_until) {
            *ref = ref_up(e->ref);
            *source = "memory";
            p->mem_hits++;
        } else if (e) {
            if (e->ref && !stale) stale = ref_up(e->ref);
            retry_after = e->retry_after;
        }
        pthread_mutex_unlock(&p->mu);
        if (*ref) break;
        /* disk */
        char path[4200];
        uint8_t *buf = NULL;
        size_t len = 0;
        if (p->cache_dir && !(e && e->ref)) {
            disk_path(path, sizeof path, p, key);
            tkm_collateral *c = NULL;
            if (tkm_ok(tkm_file_read(path, MAX_RESPONSE, 0, &buf, &len)) && tkm_ok(parse_for_key(&c, key, buf, len))) {
                int64_t fu = fresh_until_of(c);
                pthread_mutex_lock(&p->mu);
                if (tkm_ok(store(p, key, c, fu, 0))) {
                    entry *ne = find(p, key);
                    if (now < fu) {
                        *ref = ref_up(ne->ref);
                        *source = "disk";
                        p->disk_hits++;
                    } else if (!stale) {
                        stale = ref_up(ne->ref);
                    }
                }
                pthread_mutex_unlock(&p->mu);
            }
            free(buf);
            buf = NULL;
            if (*ref) break;
        }
        /* network */
        if (now < retry_after) {
            note(tried, sizeof tried, "%s: recent fetch failed", key);
            continue;
        }
        if (cs[k].product && !p->kds) {
            note(tried, sizeof tried, "no kdsUrl configured");
            continue;
        }
        if (cs[k].product && id.snp_vlek) {
            note(tried, sizeof tried, "report signed by a VLEK: send the VLEK with the request");
            continue;
        }
        tkm_rc fr = cs[k].product ? fetch_amd(p, cs[k].product, &id, now, &buf, &len) : fetch_intel(p, &id, &buf, &len);
        tkm_collateral *c = NULL;
        if (tkm_ok(fr)) fr = parse_for_key(&c, key, buf, len);
        if (tkm_failed(fr)) {
            note(tried, sizeof tried, "%s", tkm_err_detail());
            tkm_log(TKM_LOG_WARN, "collateral", "fetch for %s failed: %s", key, tkm_err_detail());
            pthread_mutex_lock(&p->mu);
            entry *ne = find(p, key);
            if (!ne) {
                ne = slot_for(p, key);
                copy_key(ne->key, key);
            }
            ne->retry_after = now + RETRY_SECONDS;
            ne->lru = ++p->clock;
            pthread_mutex_unlock(&p->mu);
            free(buf);
            continue;
        }
        if (p->cache_dir) {
            disk_path(path, sizeof path, p, key);
            tkm_rc wr = tkm_file_replace(path, 0644, buf, len);
            if (tkm_failed(wr)) tkm_log(TKM_LOG_WARN, "collateral", "cannot write cache %s: %s", path, tkm_err_detail());
        }
        free(buf);
        int64_t fu = fresh_until_of(c);
        pthread_mutex_lock(&p->mu);
        /* even a fetch that brought stale data is not repeated for a while */
        rc = store(p, key, c, fu, now + RETRY_SECONDS);
        if (tkm_ok(rc)) {
            *ref = ref_up(find(p, key)->ref);
            *source = "fetched";
        }
        pthread_mutex_unlock(&p->mu);
        if (tkm_failed(rc)) break;
    }
    pthread_mutex_unlock(&p->fetch_mu);
    if (*ref) {
        tkm_vcoll_release(stale);
        return TKM_RC_OK;
    }
    if (stale) {
        *ref = stale;
        *source = "stale";
        return TKM_RC_OK;
    }
    if (rc.code == TKM_ERR_COLLATERAL_UNAVAILABLE) {
        tkm_err_detail_set("no collateral for %s: %s", cs[0].key, tried[0] ? tried : "nothing configured");
        tkm_err_record_where_(__FILE__, __LINE__);
    }
    return rc;
}
