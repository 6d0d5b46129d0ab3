/* teekm-verifier init | info | instances | eas — administration without the server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "verifier/tkm_vconfig.h"
#include "verifier/tkm_verifier.h"
#include "verifier/tkm_vkeys.h"
#include "vcli.h"

#define MAX_NAMES 16

int vcmd_init(int argc, char **argv) {
    const char *dir = NULL, *dns[MAX_NAMES], *ips[MAX_NAMES];
    size_t n_dns = 0, n_ips = 0;
    unsigned days = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--dns") == 0 && i + 1 < argc && n_dns < MAX_NAMES)
            dns[n_dns++] = argv[++i];
        else if (strcmp(argv[i], "--ip") == 0 && i + 1 < argc && n_ips < MAX_NAMES)
            ips[n_ips++] = argv[++i];
        else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc)
            days = (unsigned)strtoul(argv[++i], NULL, 10);
        else
            dir = NULL, i = argc;
    }
    if (!dir) {
        fprintf(stderr, "usage: teekm-verifier init --data-dir DIR [--dns NAME]... [--ip ADDR]... [--days N]\n"
                        "  Creates DIR (0700) with master.key (0600: back it up, keep it secret), eas.key\n"
                        "  (the EAS/counter signing key, sealed under master.key), tls.key and a\n"
                        "  self-signed tls.crt for the names given (default localhost, 127.0.0.1, ::1).\n"
                        "  Never overwrites existing keys.\n");
        return 2;
    }
    tkm_vtls_names names = {dns, n_dns, ips, n_ips, days};
    tkm_rc rc = tkm_secure_init(0, 0);
    if (tkm_ok(rc)) rc = tkm_vkeys_init_dir(dir, &names);
    tkm_vkeys *k = NULL;
    if (tkm_ok(rc)) rc = tkm_vkeys_load(&k, dir);
    if (tkm_failed(rc)) {
        vcli_error("init", rc);
        return 1;
    }
    char addr[TKM_ETH_ADDR_STR_LEN], cert[4200];
    tkm_eth_address_checksum(addr, tkm_vkeys_eas_address(k));
    snprintf(cert, sizeof cert, "%s/%s", dir, TKM_VKEYS_TLS_CERT_FILE);
    json_t *o = json_pack("{s:s,s:s,s:s}", "dataDir", dir, "signer", addr, "tlsCertificate", cert);
    tkm_vkeys_free(k);
    int r = o ? vcli_print_json(o) : 1;
    json_decref(o);
    return r;
}

/* Open the verifier of a configuration and answer one request as an administrator. */
static int offline(const char *cfg_path, const char *path, const char *query) {
    tkm_vconfig *cfg = NULL;
    tkm_verifier *v = NULL;
    tkm_rc rc = tkm_secure_init(0, 0);
    if (tkm_ok(rc)) rc = tkm_vconfig_load(&cfg, cfg_path);
    if (tkm_ok(rc)) rc = tkm_verifier_open(&v, cfg);
    if (tkm_failed(rc)) {
        vcli_error(cfg_path, rc);
        tkm_vconfig_free(cfg);
        return 1;
    }
    tkm_vreq q = {.method = TKM_VREQ_GET, .path = path, .query = query, .admin = 1, .now = tkm_time_unix()};
    int status;
    json_t *resp = NULL;
    tkm_verifier_handle(v, &q, &status, &resp);
    int ret = resp && status == 200 ? 0 : 1;
    if (resp) {
        if (status == 200)
            vcli_print_json(resp);
        else
            fprintf(stderr, "teekm-verifier: %s: %s\n",
                    json_string_value(json_object_get(json_object_get(resp, "error"), "code")),
                    json_string_value(json_object_get(json_object_get(resp, "error"), "detail")));
    }
    json_decref(resp);
    tkm_verifier_close(v);
    tkm_vconfig_free(cfg);
    return ret;
}

int vcmd_info(int argc, char **argv) {
    if (argc != 3 || strcmp(argv[1], "--config") != 0) {
        fprintf(stderr, "usage: teekm-verifier info --config FILE\n");
        return 2;
    }
    return offline(argv[2], "/v1/verifier", NULL);
}

static int id_ok(const char *s) {
    uint8_t id[32];
    return s && tkm_ok(tkm_hex_decode_exact(id, 32, s, strlen(s), TKM_HEX_0X_REQUIRED));
}

int vcmd_instances(int argc, char **argv) {
    const char *cfg = NULL, *id = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            cfg = argv[++i];
        else if (strcmp(argv[i], "--instance") == 0 && i + 1 < argc)
            id = argv[++i];
        else
            cfg = NULL, i = argc;
    }
    if (!cfg || (id && !id_ok(id))) {
        fprintf(stderr, "usage: teekm-verifier instances --config FILE [--instance 0xID]\n"
                        "  Without --instance: every instance's current registration (with stale flags).\n"
                        "  With it: that instance's whole history, evidence and claims included.\n");
        return 2;
    }
    char path[128];
    if (id)
        snprintf(path, sizeof path, "/admin/v1/instances/%s/history", id);
    else
        snprintf(path, sizeof path, "/admin/v1/instances");
    return offline(cfg, path, "limit=1000");
}

int vcmd_eas(int argc, char **argv) {
    const char *cfg = NULL, *id = NULL, *seq = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            cfg = argv[++i];
        else if (strcmp(argv[i], "--instance") == 0 && i + 1 < argc)
            id = argv[++i];
        else if (strcmp(argv[i], "--seq") == 0 && i + 1 < argc)
            seq = argv[++i];
        else
            cfg = NULL, i = argc;
    }
    if (!cfg || !id_ok(id) || (seq && strspn(seq, "0123456789") != strlen(seq))) {
        fprintf(stderr, "usage: teekm-verifier eas --config FILE --instance 0xID [--seq N]\n"
                        "  One EAS attestation per signer key of the registration (default: current):\n"
                        "  the SDK's offchain package signed by this verifier, and the calldata of\n"
                        "  EAS.attest for the same record (docs/verifier.md).\n");
        return 2;
    }
    char path[128], query[64];
    snprintf(path, sizeof path, "/admin/v1/instances/%s/eas", id);
    if (seq) snprintf(query, sizeof query, "seq=%s", seq);
    return offline(cfg, path, seq ? query : NULL);
}
