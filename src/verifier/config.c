/* see tkm_vconfig.h */
#include "tkm_vconfig.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verifier_int.h"

#define JSON_INT_MAX ((int64_t)9007199254740991)

static tkm_rc cfail(const char *path, const char *why) {
    tkm_err_detail_set("%s: %s", path, why);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(TKM_ERR_CONFIG);
}

static tkm_rc dupstr(char **out, const char *s) {
    if (!(*out = strdup(s))) return TKM_RC(TKM_ERR_NOMEM);
    return TKM_RC_OK;
}

/* A string field; path fields are resolved against base. */
static tkm_rc get_str(const json_t *o, const char *path, const char *key, int required, size_t max, char **out) {
    const char *s;
    size_t l;
    *out = NULL;
    TKM_TRY(tkm_json_str(o, path, key, required, &s, &l));
    if (!s) return TKM_RC_OK;
    char p[96];
    snprintf(p, sizeof p, "%s%s%s", path, path[0] ? "." : "", key);
    if (l == 0 || l > max || memchr(s, 0, l)) return cfail(p, "must be a non-empty string without NUL (bounded length)");
    return dupstr(out, s);
}

static tkm_rc resolve(char **p, const char *base) {
    if (!*p || (*p)[0] == '/' || !base) return TKM_RC_OK;
    size_t n = strlen(base) + strlen(*p) + 2;
    char *r = malloc(n);
    if (!r) return TKM_RC(TKM_ERR_NOMEM);
    snprintf(r, n, "%s/%s", base, *p);
    free(*p);
    *p = r;
    return TKM_RC_OK;
}

static tkm_rc get_path(const json_t *o, const char *path, const char *key, int required, const char *base, char **out) {
    TKM_TRY(get_str(o, path, key, required, 4000, out));
    return resolve(out, base);
}

static tkm_rc get_str_array(const json_t *o, const char *path, const char *key, size_t max, size_t max_len,
                            const char *base, char ***out, size_t *n) {
    json_t *a;
    char p[96];
    *out = NULL;
    *n = 0;
    TKM_TRY(tkm_json_get(o, path, key, 0, &a));
    if (!a) return TKM_RC_OK;
    snprintf(p, sizeof p, "%s%s%s", path, path[0] ? "." : "", key);
    if (!json_is_array(a) || json_array_size(a) > max) return cfail(p, "must be an array of strings (bounded)");
    size_t cnt = json_array_size(a);
    char **v = calloc(cnt ? cnt : 1, sizeof *v);
    if (!v) return TKM_RC(TKM_ERR_NOMEM);
    tkm_rc rc = TKM_RC_OK;
    for (size_t i = 0; i < cnt && tkm_ok(rc); i++) {
        json_t *e = json_array_get(a, i);
        if (!json_is_string(e) || json_string_length(e) == 0 || json_string_length(e) > max_len ||
            strlen(json_string_value(e)) != json_string_length(e))
            rc = cfail(p, "entries must be non-empty strings");
        else if (!(v[i] = strdup(json_string_value(e))))
            rc = TKM_RC(TKM_ERR_NOMEM);
        else if (base)
            rc = resolve(&v[i], base);
    }
    if (tkm_failed(rc)) {
        for (size_t i = 0; i < cnt; i++) free(v[i]);
        free(v);
        return rc;
    }
    *out = v;
    *n = cnt;
    return TKM_RC_OK;
}

static tkm_rc https_url(const char *path, const char *url) {
    if (url && strncmp(url, "https://", 8) != 0) return cfail(path, "must be an https:// URL");
    return TKM_RC_OK;
}

static void free_strv(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

void tkm_vconfig_free(tkm_vconfig *c) {
    if (!c) return;
    free(c->data_dir);
    free(c->institution);
    free(c->appraisal_policy);
    free(c->listen_host);
    free(c->tls_cert_file);
    free(c->tls_key_file);
    free(c->client_ca_file);
    free_strv(c->admin_cns, c->n_admin_cns);
    free_strv(c->coll_files, c->n_coll_files);
    free(c->pccs_url);
    free(c->root_ca_crl_url);
    free(c->kds_url);
    free(c->coll_ca_file);
    free(c->coll_cache_dir);
    free_strv(c->snp_products, c->n_snp_products);
    free(c);
}

tkm_rc tkm_vconfig_parse(tkm_vconfig **out, const uint8_t *buf, size_t len, const char *base) {
    *out = NULL;
    TKM_ARG_CHECK(buf != NULL || len == 0);
    tkm_json_limits lim = {.max_bytes = 1 << 20, .max_depth = 8};
    json_t *j = NULL, *o;
    tkm_rc rc;
    int64_t v;
    int present, b;
    tkm_vconfig *c = calloc(1, sizeof *c);
    if (!c) return TKM_RC(TKM_ERR_NOMEM);
    static const char *const top[] = {"dataDir", "institution", "appraisalPolicy", "listen", "tls", "nonce",
                                      "registration", "collateral", "eas", "limits", "logLevel", NULL};
    TKM_CHECK_GOTO(rc, tkm_json_load(&j, buf, len, &lim));
    TKM_CHECK_GOTO(rc, tkm_json_check_fields(j, "", top));
    TKM_CHECK_GOTO(rc, get_path(j, "", "dataDir", 1, base, &c->data_dir));
    TKM_CHECK_GOTO(rc, get_str(j, "", "institution", 1, 127, &c->institution));
    TKM_CHECK_GOTO(rc, get_path(j, "", "appraisalPolicy", 1, base, &c->appraisal_policy));
    /* listen */
    c->listen_port = 8443;
    TKM_CHECK_GOTO(rc, tkm_json_get(j, "", "listen", 0, &o));
    if (o) {
        static const char *const f[] = {"host", "port", "threads", NULL};
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(o, "listen", f));
        TKM_CHECK_GOTO(rc, get_str(o, "listen", "host", 0, 64, &c->listen_host));
        TKM_CHECK_GOTO(rc, tkm_json_int(o, "listen", "port", 0, 0, 65535, &v, &present));
        if (present) c->listen_port = (uint16_t)v;
        TKM_CHECK_GOTO(rc, tkm_json_int(o, "listen", "threads", 0, 0, 256, &v, NULL));
        c->threads = (unsigned)v;
    }
    if (!c->listen_host) TKM_CHECK_GOTO(rc, dupstr(&c->listen_host, "127.0.0.1"));
    /* tls */
    TKM_CHECK_GOTO(rc, tkm_json_get(j, "", "tls", 0, &o));
    if (o) {
        static const char *const f[] = {"certFile", "keyFile", "clientCaFile", "adminCommonNames", NULL};
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(o, "tls", f));
        TKM_CHECK_GOTO(rc, get_path(o, "tls", "certFile", 0, base, &c->tls_cert_file));
        TKM_CHECK_GOTO(rc, get_path(o, "tls", "keyFile", 0, base, &c->tls_key_file));
        TKM_CHECK_GOTO(rc, get_path(o, "tls", "clientCaFile", 0, base, &c->client_ca_file));
        TKM_CHECK_GOTO(rc, get_str_array(o, "tls", "adminCommonNames", 256, 64, NULL, &c->admin_cns, &c->n_admin_cns));
    }
    char tmp[4096];
    if (!c->tls_cert_file) {
        TKM_CHECK_GOTO(rc, vpath_join(tmp, sizeof tmp, c->data_dir, "tls.crt"));
        TKM_CHECK_GOTO(rc, dupstr(&c->tls_cert_file, tmp));
    }
    if (!c->tls_key_file) {
        TKM_CHECK_GOTO(rc, vpath_join(tmp, sizeof tmp, c->data_dir, "tls.key"));
        TKM_CHECK_GOTO(rc, dupstr(&c->tls_key_file, tmp));
    }
    /* nonce */
    c->nonce_ttl = 300;
    c->nonce_max_used = 65536;
    TKM_CHECK_GOTO(rc, tkm_json_get(j, "", "nonce", 0, &o));
    if (o) {
        static const char *const f[] = {"ttlSeconds", "maxUsed", NULL};
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(o, "nonce", f));
        TKM_CHECK_GOTO(rc, tkm_json_int(o, "nonce", "ttlSeconds", 0, 1, 86400, &v, &present));
        if (present) c->nonce_ttl = v;
        TKM_CHECK_GOTO(rc, tkm_json_int(o, "nonce", "maxUsed", 0, 1, 1 << 24, &v, &present));
        if (present) c->nonce_max_used = (size_t)v;
    }
    /* registration */
    c->max_age = 86400;
    TKM_CHECK_GOTO(rc, tkm_json_get(j, "", "registration", 0, &o));
    if (o) {
        static const char *const f[] = {"maxAgeSeconds", NULL};
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(o, "registration", f));
        TKM_CHECK_GOTO(rc, tkm_json_int(o, "registration", "maxAgeSeconds", 0, 1, 366 * 86400, &v, &present));
        if (present) c->max_age = v;
    }
    /* collateral */
    c->coll_timeout_s = 10;
    TKM_CHECK_GOTO(rc, tkm_json_get(j, "", "collateral", 0, &o));
    if (o) {
        static const char *const f[] = {"files",  "pccsUrl", "rootCaCrlUrl", "kdsUrl",      "caFile",
                                        "cacheDir", "timeoutSeconds", "snpProducts", "tcbUpdate", NULL};
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(o, "collateral", f));
        TKM_CHECK_GOTO(rc, get_str_array(o, "collateral", "files", TKM_VCONFIG_MAX_FILES, 4000, base, &c->coll_files,
                                         &c->n_coll_files));
        TKM_CHECK_GOTO(rc, get_str(o, "collateral", "pccsUrl", 0, 2000, &c->pccs_url));
        TKM_CHECK_GOTO(rc, https_url("collateral.pccsUrl", c->pccs_url));
        TKM_CHECK_GOTO(rc, get_str(o, "collateral", "rootCaCrlUrl", 0, 2000, &c->root_ca_crl_url));
        TKM_CHECK_GOTO(rc, https_url("collateral.rootCaCrlUrl", c->root_ca_crl_url));
        TKM_CHECK_GOTO(rc, get_str(o, "collateral", "kdsUrl", 0, 2000, &c->kds_url));
        TKM_CHECK_GOTO(rc, https_url("collateral.kdsUrl", c->kds_url));
        TKM_CHECK_GOTO(rc, get_path(o, "collateral", "caFile", 0, base, &c->coll_ca_file));
        TKM_CHECK_GOTO(rc, get_path(o, "collateral", "cacheDir", 0, base, &c->coll_cache_dir));
        TKM_CHECK_GOTO(rc, tkm_json_int(o, "collateral", "timeoutSeconds", 0, 1, 300, &v, &present));
        if (present) c->coll_timeout_s = (unsigned)v;
        TKM_CHECK_GOTO(rc, get_str_array(o, "collateral", "snpProducts", 3, 8, NULL, &c->snp_products,
                                         &c->n_snp_products));
        for (size_t i = 0; i < c->n_snp_products; i++)
            if (strcmp(c->snp_products[i], "Milan") && strcmp(c->snp_products[i], "Genoa") &&
                strcmp(c->snp_products[i], "Turin")) {
                rc = cfail("collateral.snpProducts", "entries must be Milan, Genoa or Turin");
                goto out;
            }
        char *upd = NULL;
        TKM_CHECK_GOTO(rc, get_str(o, "collateral", "tcbUpdate", 0, 16, &upd));
        if (upd) {
            int ok = strcmp(upd, "standard") == 0 || strcmp(upd, "early") == 0;
            c->tcb_update_early = strcmp(upd, "early") == 0;
            free(upd);
            if (!ok) {
                rc = cfail("collateral.tcbUpdate", "must be \"standard\" or \"early\"");
                goto out;
            }
        }
    }
    if (!c->coll_cache_dir) {
        TKM_CHECK_GOTO(rc, vpath_join(tmp, sizeof tmp, c->data_dir, "collateral"));
        TKM_CHECK_GOTO(rc, dupstr(&c->coll_cache_dir, tmp));
    }
    /* eas */
    c->eas_expire_with_registration = 1;
    TKM_CHECK_GOTO(rc, tkm_json_get(j, "", "eas", 0, &o));
    if (o) {
        static const char *const f[] = {"chainId", "contract", "version", "resolver", "revocable",
                                        "expireWithRegistration", NULL};
        const char *s;
        size_t l;
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(o, "eas", f));
        c->has_eas = 1;
        TKM_CHECK_GOTO(rc, tkm_json_int(o, "eas", "chainId", 1, 1, JSON_INT_MAX, &v, NULL));
        c->eas.chain_id = (uint64_t)v;
        TKM_CHECK_GOTO(rc, tkm_json_str(o, "eas", "contract", 1, &s, &l));
        if (tkm_failed(tkm_eth_address_parse(c->eas.contract, s, l))) {
            rc = cfail("eas.contract", "must be an Ethereum address (EIP-55 checksum when mixed case)");
            goto out;
        }
        TKM_CHECK_GOTO(rc, tkm_json_str(o, "eas", "version", 1, &s, &l));
        if (l == 0 || l >= TKM_EAS_VERSION_MAX || strlen(s) != l) {
            rc = cfail("eas.version", "must be the EAS contract's EIP-712 version string, e.g. \"1.3.0\"");
            goto out;
        }
        memcpy(c->eas.version, s, l + 1);
        TKM_CHECK_GOTO(rc, tkm_json_str(o, "eas", "resolver", 0, &s, &l));
        if (s && tkm_failed(tkm_eth_address_parse(c->eas.resolver, s, l))) {
            rc = cfail("eas.resolver", "must be an Ethereum address");
            goto out;
        }
        c->eas.revocable = 1;
        TKM_CHECK_GOTO(rc, tkm_json_bool(o, "eas", "revocable", 0, &b, &present));
        if (present) c->eas.revocable = b;
        TKM_CHECK_GOTO(rc, tkm_json_bool(o, "eas", "expireWithRegistration", 0, &b, &present));
        if (present) c->eas_expire_with_registration = b;
    }
    /* limits */
    c->max_body = 1 << 20;
    TKM_CHECK_GOTO(rc, tkm_json_get(j, "", "limits", 0, &o));
    if (o) {
        static const char *const f[] = {"maxBodyBytes", "rate", "burst", NULL};
        TKM_CHECK_GOTO(rc, tkm_json_check_fields(o, "limits", f));
        TKM_CHECK_GOTO(rc, tkm_json_int(o, "limits", "maxBodyBytes", 0, 4096, 16 << 20, &v, &present));
        if (present) c->max_body = (size_t)v;
        TKM_CHECK_GOTO(rc, tkm_json_int(o, "limits", "rate", 0, 0, 1000000, &v, NULL));
        c->rate = (double)v;
        TKM_CHECK_GOTO(rc, tkm_json_int(o, "limits", "burst", 0, 0, 1000000, &v, NULL));
        c->burst = (double)v;
    }
    /* log level */
    c->log_level = TKM_LOG_INFO;
    {
        const char *s;
        size_t l;
        TKM_CHECK_GOTO(rc, tkm_json_str(j, "", "logLevel", 0, &s, &l));
        if (s && tkm_failed(tkm_log_level_parse(s, &c->log_level))) {
            rc = cfail("logLevel", "must be debug, info, warn or error");
            goto out;
        }
    }
    *out = c;
    c = NULL;
    rc = TKM_RC_OK;
out:
    json_decref(j);
    tkm_vconfig_free(c);
    return rc;
}

tkm_rc tkm_vconfig_load(tkm_vconfig **out, const char *path) {
    *out = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    TKM_TRY(tkm_file_read(path, 1 << 20, 0, &buf, &len));
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    tkm_rc rc = tkm_vconfig_parse(out, buf, len, dirname(tmp));
    free(buf);
    return rc;
}
