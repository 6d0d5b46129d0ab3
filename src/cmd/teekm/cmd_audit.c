/* teekm audit export | verify — see docs/audit.md. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"

static int usage(void) {
    fprintf(stderr,
            "usage: teekm audit export --state DIR [--seal-key-file F] [--out FILE]   (a state no service holds)\n"
            "       teekm audit export [--from SEQ] [--out FILE] [connection options]   (from a running teekmd)\n"
            "       teekm audit verify FILE --audit-address 0xADDR\n%s",
            cli_conn_usage);
    return 2;
}

static int sink_fn(void *ctx, const uint8_t *data, size_t len) {
    return fwrite(data, 1, len, (FILE *)ctx) == len ? 0 : 1;
}

/* From a running teekmd: GET /admin/v1/audit?from=SEQ, written as it streams in. */
static int audit_export_service(cli_conn *conn, const char *from, const char *out_path) {
    tkm_httpc *h = NULL;
    tkm_rc rc = cli_conn_open(conn, &h);
    if (tkm_failed(rc)) {
        cli_error("audit export", rc);
        return 1;
    }
    FILE *out = out_path ? fopen(out_path, "wb") : stdout;
    if (!out) {
        fprintf(stderr, "teekm: audit export: cannot write %s\n", out_path);
        tkm_httpc_free(h);
        return 1;
    }
    char path[96];
    snprintf(path, sizeof path, "/admin/v1/audit%s%s", from ? "?from=" : "", from ? from : "");
    long status = 0;
    uint8_t *resp = NULL;
    size_t rl = 0;
    rc = tkm_httpc_get_stream(h, path, sink_fn, out, &status, &resp, &rl);
    int st = 1;
    if (tkm_ok(rc) && fflush(out) != 0) rc = TKM_RC(TKM_ERR_IO);
    if (tkm_failed(rc))
        cli_error("audit export (the output is incomplete)", rc);
    else if (status != 200)
        fprintf(stderr, "teekm: audit export: HTTP %ld: %s\n", status, resp ? (const char *)resp : "");
    else
        st = 0;
    free(resp);
    if (out != stdout) fclose(out);
    tkm_httpc_free(h);
    return st;
}

static void hex32(char out[67], const uint8_t h[32]) {
    if (tkm_failed(tkm_hex_encode(out, 67, h, 32, 1))) out[0] = 0;
}

static int write_fn(void *ctx, const uint8_t *line, size_t len) {
    return fwrite(line, 1, len, (FILE *)ctx) == len ? 0 : 1;
}

static int audit_export(int argc, char **argv) {
    const char *dir = NULL, *seal_file = NULL, *out_path = NULL, *from = NULL;
    cli_conn conn = {0};
    int service = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_conn_option(&conn, argc, argv, &i))
            service = 1;
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = argv[++i], service = 1;
        else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--seal-key-file") == 0 && i + 1 < argc)
            seal_file = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out_path = argv[++i];
        else
            return usage();
    }
    if (dir && service) return usage();
    if (!dir) return audit_export_service(&conn, from, out_path);
    tkm_secret *seal = NULL;
    tkm_store *s = NULL;
    FILE *out = stdout;
    int status = 1;
    tkm_rc rc = cli_state_seal_key(&seal, dir, seal_file, 0);
    if (tkm_failed(rc)) {
        cli_error("audit export: seal key", rc);
        goto out;
    }
    char cpath[4096];
    snprintf(cpath, sizeof cpath, "%s/counter", dir);
    tkm_store_opts o = {.dir = dir, .seal_key = seal};
    rc = tkm_counter_file_open(&o.counter, cpath, seal);
    if (tkm_ok(rc)) rc = tkm_store_open(&s, &o);
    if (tkm_failed(rc)) {
        cli_error("audit export: open state", rc);
        goto out;
    }
    if (out_path && !(out = fopen(out_path, "wb"))) {
        fprintf(stderr, "teekm: audit export: cannot write %s\n", out_path);
        out = stdout;
        goto out;
    }
    rc = tkm_audit_export(s, write_fn, out);
    if (tkm_ok(rc) && fflush(out) != 0) rc = TKM_RC(TKM_ERR_IO);
    if (tkm_failed(rc)) {
        cli_error("audit export", rc);
        goto out;
    }
    status = 0;
out:
    if (out != stdout) fclose(out);
    tkm_store_close(s);
    tkm_secret_free(seal);
    return status;
}

static int audit_verify(int argc, char **argv) {
    const char *file = NULL, *addr_s = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--audit-address") == 0 && i + 1 < argc)
            addr_s = argv[++i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else
            return usage();
    }
    if (!file || !addr_s) return usage();
    uint8_t addr[20];
    tkm_rc rc = tkm_eth_address_parse(addr, addr_s, strlen(addr_s));
    if (tkm_failed(rc)) {
        cli_error("audit verify: --audit-address", rc);
        return 2;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    rc = cli_read_input(file, (size_t)1 << 32, &data, &len);
    if (tkm_failed(rc)) {
        cli_error("audit verify: read", rc);
        return 1;
    }
    tkm_audit_summary sum;
    rc = tkm_audit_verify(&sum, data, len, addr);
    free(data);
    if (tkm_failed(rc)) {
        fprintf(stderr, "teekm: audit verify: FAILED at %s\n", tkm_err_detail());
        if (sum.records) fprintf(stderr, "  records 1..%llu verified before the failure\n", (unsigned long long)sum.records);
        return 1;
    }
    char a[TKM_ETH_ADDR_STR_LEN], h[67], inst[67];
    tkm_eth_address_checksum(a, addr);
    hex32(h, sum.last_hash);
    printf("audit log OK: %llu records (seq %llu..%llu), %llu signed by %s\n", (unsigned long long)sum.records,
           (unsigned long long)sum.first_seq, (unsigned long long)sum.last_seq,
           (unsigned long long)sum.signed_records, a);
    if (sum.has_instance_id) {
        hex32(inst, sum.instance_id);
        printf("  instance   %s\n", inst);
    }
    printf("  time       %lld .. %lld\n", (long long)sum.first_time, (long long)sum.last_time);
    printf("  last hash  %s (compare with the service's current audit head)\n", h);
    printf("  events    ");
    for (int i = 0; i < TKM_AUDIT_EVENT_COUNT; i++)
        if (sum.by_type[i])
            printf(" %s=%llu", tkm_audit_event_name((tkm_audit_event)i), (unsigned long long)sum.by_type[i]);
    printf("\n");
    return 0;
}

int cmd_audit(int argc, char **argv) {
    static const cli_command sub[] = {
        {"export", audit_export, "write the audit log of a state directory as JSON Lines"},
        {"verify", audit_verify, "verify an exported audit log offline"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("teekm audit", sub, argc - 1, argv + 1);
}
