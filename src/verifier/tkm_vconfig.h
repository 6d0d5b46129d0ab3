/*
 * tkm_vconfig.h — the teekm-verifier configuration file (JSON, strict:
 * unknown fields, duplicate keys and wrong types are errors naming the path).
 * docs/verifier.md shows a complete example. Relative paths are resolved
 * against the directory of the configuration file.
 *
 *   dataDir           (required) master.key, eas.key, tls.*, registry.db
 *   institution       (required) recorded with every registration, 1..127 bytes
 *   appraisalPolicy   (required) path of the appraisal policy (tkm_attest.h)
 *   listen            {host = "127.0.0.1", port = 8443, threads = 0 (CPUs)}
 *   tls               {certFile = dataDir/tls.crt, keyFile = dataDir/tls.key,
 *                      clientCaFile (admin mTLS; absent: no admin access),
 *                      adminCommonNames (optional allow-list of client CNs)}
 *   nonce             {ttlSeconds = 300, maxUsed = 65536}
 *   registration      {maxAgeSeconds = 86400}: older current registrations are stale
 *   collateral        {files [paths], pccsUrl, rootCaCrlUrl, kdsUrl, caFile,
 *                      cacheDir = dataDir/collateral, timeoutSeconds = 10,
 *                      snpProducts = ["Milan", "Genoa", "Turin"], tcbUpdate = "standard"}
 *   eas               {chainId, contract, version (required when eas is given),
 *                      resolver = 0x0…0, revocable = true, expireWithRegistration = true}
 *   limits            {maxBodyBytes = 1048576, rate = 0 (per-client requests/s), burst}
 *   logLevel          "debug" | "info" | "warn" | "error" (default info)
 *
 * Ownership: tkm_vconfig_load returns an object freed with tkm_vconfig_free;
 * every string in it is owned by it. NULL: optional settings are NULL / 0
 * when absent. Secrets: none (paths only).
 * Thread-safety: immutable after load.
 */
#ifndef TKM_VCONFIG_H
#define TKM_VCONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "tkm_eas.h"

#define TKM_VCONFIG_MAX_FILES 256

typedef struct {
    char *data_dir;
    char *institution;
    char *appraisal_policy;
    char *listen_host;
    uint16_t listen_port;
    unsigned threads;
    char *tls_cert_file, *tls_key_file, *client_ca_file;
    char **admin_cns;
    size_t n_admin_cns;
    int64_t nonce_ttl;
    size_t nonce_max_used;
    int64_t max_age;
    /* collateral */
    char **coll_files;
    size_t n_coll_files;
    char *pccs_url, *root_ca_crl_url, *kds_url, *coll_ca_file, *coll_cache_dir;
    unsigned coll_timeout_s;
    char **snp_products;
    size_t n_snp_products;
    int tcb_update_early;
    /* EAS */
    int has_eas;
    tkm_eas_config eas;
    int eas_expire_with_registration;
    /* limits */
    size_t max_body;
    double rate, burst;
    tkm_log_level log_level;
} tkm_vconfig;

/*
 * Parse buf (the file's bytes); base_dir resolves relative paths (NULL = ".").
 * Out: *out. Returns: OK; TKM_ERR_JSON* / TKM_ERR_CONFIG with the path in the detail; TKM_ERR_NOMEM.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vconfig_parse(tkm_vconfig **out, const uint8_t *buf, size_t len,
                                                 const char *base_dir) TKM_NONNULL(1);
/* Read and parse a file (at most 1 MiB). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vconfig_load(tkm_vconfig **out, const char *path) TKM_NONNULL(1, 2);
TKM_API void tkm_vconfig_free(tkm_vconfig *c);

#endif
