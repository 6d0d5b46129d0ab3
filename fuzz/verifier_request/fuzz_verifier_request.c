/*
 * The verifier service's request handling: the input is sent as the body of
 * POST /v1/attest and of POST /v1/instances/{id}/counter, and (its first
 * bytes) as a path and query, to a verifier opened once in a temporary data
 * directory with a sim-enabling policy. Every answer must be a JSON object
 * with a sane status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verifier/tkm_verifier.h"
#include "verifier/tkm_vkeys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tkm_verifier *v;
static char dir[64];

static void cleanup(void) {
    tkm_verifier_close(v);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

static void init(void) {
    setenv("TKM_DONT_MLOCK", "1", 1);
    tkm_json_init();
    tkm_log_set_level(TKM_LOG_ERROR);
    snprintf(dir, sizeof dir, "/tmp/tkm_fuzz_verifier_XXXXXX");
    if (!mkdtemp(dir)) abort();
    char p[128], cfg[512];
    snprintf(p, sizeof p, "%s/data", dir);
    if (tkm_failed(tkm_vkeys_init_dir(p, NULL))) abort();
    snprintf(p, sizeof p, "%s/policy.json", dir);
    FILE *f = fopen(p, "w");
    if (!f) abort();
    fputs("{\"version\":1,\"requireNonce\":true,\"sim\":{\"enabled\":true},\"keyRelease\":[\"sim\"]}", f);
    fclose(f);
    snprintf(cfg, sizeof cfg,
             "{\"dataDir\":\"data\",\"institution\":\"fuzz\",\"appraisalPolicy\":\"policy.json\","
             "\"eas\":{\"chainId\":1,\"contract\":\"0x0000000000000000000000000000000000000001\",\"version\":\"1\"}}");
    tkm_vconfig *c = NULL;
    if (tkm_failed(tkm_vconfig_parse(&c, (const uint8_t *)cfg, strlen(cfg), dir))) abort();
    if (tkm_failed(tkm_verifier_open(&v, c))) abort();
    tkm_vconfig_free(c);
    atexit(cleanup);
}

static void one(unsigned method, const char *path, const char *query, const uint8_t *body, size_t len, int admin) {
    tkm_vreq r = {method, path, query, body, len, admin, 1800000000};
    int status = 0;
    json_t *resp = NULL;
    tkm_verifier_handle(v, &r, &status, &resp);
    if (!resp || !json_is_object(resp) || status < 200 || status > 599) abort();
    json_decref(resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!v) init();
    one(TKM_VREQ_POST, "/v1/attest", NULL, data, size, 0);
    one(TKM_VREQ_POST, "/v1/instances/0x1111111111111111111111111111111111111111111111111111111111111111/counter",
        NULL, data, size, 0);
    char path[96];
    size_t n = size < sizeof path - 1 ? size : sizeof path - 1;
    memcpy(path, data, n);
    path[n] = 0;
    const char *q = strchr(path, '?') ? strchr(path, '?') + 1 : NULL;
    if (q) path[q - path - 1] = 0;
    one(TKM_VREQ_GET, path, q, NULL, 0, 1);
    return 0;
}
