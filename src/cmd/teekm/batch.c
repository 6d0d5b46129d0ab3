/* see cli.h — the line-by-line batch mode of `tx decode`, `tx sign-dev` and `calldata decode`. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

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
