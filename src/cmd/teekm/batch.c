/* see cli.h — the input side of the decode-style commands and their line-by-line batch mode. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *cli_error_json(tkm_rc rc) {
    const char *name = tkm_err_name(rc.code);
    return json_pack("{s:s, s:s}", "error", name ? name : "UNKNOWN", "detail", tkm_err_detail());
}

int cli_batch_lines(cli_batch_fn fn, void *arg) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int status = 0;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        json_t *out = NULL;
        tkm_err_detail_clear();
        tkm_rc rc = fn(line, (size_t)got, arg, &out);
        if (tkm_failed(rc)) {
            json_decref(out);
            out = cli_error_json(rc);
            status = 1;
        }
        char *s = out ? json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        printf("%s\n", s ? s : "{\"error\":\"NOMEM\"}");
        free(s);
        json_decref(out);
    }
    free(line);
    return status;
}

int cli_run_input(const char *what, const char *arg, int batch, size_t max, cli_batch_fn fn, void *fn_arg) {
    if (batch) return cli_batch_lines(fn, fn_arg);
    uint8_t *in = NULL;
    size_t in_len = 0;
    tkm_rc rc = TKM_RC_OK;
    if (arg && strcmp(arg, "-") != 0)
        in_len = strlen(arg);
    else
        rc = cli_read_input(NULL, max, &in, &in_len);
    json_t *out = NULL;
    if (tkm_ok(rc)) {
        tkm_err_detail_clear();
        rc = fn(in ? (const char *)in : arg, in_len, fn_arg, &out);
    }
    free(in);
    if (tkm_failed(rc)) {
        json_decref(out);
        cli_error(what, rc);
        return 1;
    }
    int st = cli_print_json(out);
    json_decref(out);
    return st;
}

int cli_input_args(int argc, char **argv, int first, const char **arg, int *batch) {
    *arg = NULL;
    *batch = 0;
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--batch") == 0)
            *batch = 1;
        else if (!*arg && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
            *arg = argv[i];
        else
            return -1;
    }
    return *batch && *arg ? -1 : 0;
}
