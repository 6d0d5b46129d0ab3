/* teekm policy check | eval — see docs/policy.md. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "policy/policy.h"

tkm_rc cli_state_seal_key(tkm_secret **out, const char *dir, const char *file, int create) {
    char path[4096];
    *out = NULL;
    if (!file) {
        snprintf(path, sizeof path, "%s/seal.key", dir);
        file = path;
    }
    uint8_t k[32];
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            tkm_err_detail_set("cannot create %s", dir);
            TKM_ENSURE(0, TKM_ERR_IO);
        }
        TKM_TRY(tkm_entropy_bytes(k, sizeof k));
        int wfd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        int ok = wfd >= 0 && write(wfd, k, sizeof k) == (ssize_t)sizeof k && fsync(wfd) == 0;
        if (wfd >= 0) close(wfd);
        tkm_rc rc = ok ? tkm_secret_from(out, k, sizeof k) : TKM_RC(TKM_ERR_IO);
        tkm_wipe(k, sizeof k);
        if (!ok) tkm_err_detail_set("cannot write %s", file);
        return rc;
    }
    if (fd < 0) {
        tkm_err_detail_set("cannot open seal key %s", file);
        TKM_ENSURE(0, TKM_ERR_NOT_FOUND);
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        close(fd);
        tkm_err_detail_set("%s must be mode 0600", file);
        TKM_ENSURE(0, TKM_ERR_PERMISSIONS);
    }
    ssize_t n = read(fd, k, sizeof k);
    uint8_t extra;
    ssize_t m = read(fd, &extra, 1);
    close(fd);
    if (n != (ssize_t)sizeof k || m != 0) {
        tkm_wipe(k, sizeof k);
        tkm_err_detail_set("%s must hold exactly 32 bytes", file);
        TKM_ENSURE(0, TKM_ERR_FORMAT);
    }
    tkm_rc rc = tkm_secret_from(out, k, sizeof k);
    tkm_wipe(k, sizeof k);
    return rc;
}

static int policy_check(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: teekm policy check POLICY.json\n");
        return 2;
    }
    uint8_t *doc = NULL;
    size_t len = 0;
    tkm_rc rc = cli_read_input(argv[1], TKM_POLICY_MAX_BYTES + 1, &doc, &len);
    if (tkm_failed(rc)) {
        cli_error("policy check", rc);
        return 1;
    }
    tkm_policy *p = NULL;
    rc = tkm_policy_load(&p, doc, len);
    free(doc);
    if (tkm_failed(rc)) {
        cli_error("policy check", rc);
        return 1;
    }
    char h[67];
    if (tkm_failed(tkm_hex_encode(h, sizeof h, p->hash, 32, 1))) h[0] = 0;
    printf("%s\n", h);
    fprintf(stderr, "policy OK: version %llu, %zu rules, %zu assets, %zu groups, %zu address books, admins %u of %zu\n",
            (unsigned long long)p->version, p->n_rules, p->n_assets, p->n_groups, p->n_books, p->admin_threshold,
            p->n_admins);
    tkm_policy_free(p);
    return 0;
}

int cmd_policy(int argc, char **argv) {
    static const cli_command sub[] = {
        {"check", policy_check, "validate a policy document and print its hash"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("teekm policy", sub, argc - 1, argv + 1);
}
