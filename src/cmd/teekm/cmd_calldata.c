/* teekm calldata decode — the typed view of ERC-20 / ERC-3643 calldata (see docs/calldata.md). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/eth.h"

static void usage(void) {
    fprintf(stderr, "usage: teekm calldata decode [HEX | -]\n"
                    "       teekm calldata decode --batch    (hex lines on stdin, one JSON line out each)\n");
}

static tkm_rc decode_one(const char *hex, size_t n, json_t **out) {
    uint8_t *data = NULL;
    size_t len = 0;
    tkm_token_call call;
    *out = NULL;
    while (n && (hex[n - 1] == '\n' || hex[n - 1] == '\r' || hex[n - 1] == ' ')) n--;
    while (n && (hex[0] == ' ' || hex[0] == '\n')) {
        hex++;
        n--;
    }
    tkm_err_detail_clear();
    TKM_TRY(tkm_hex_decode_alloc(&data, &len, hex, n, TKM_HEX_0X_OPTIONAL | TKM_HEX_EMPTY_OK, TKM_TX_MAX_DATA));
    tkm_rc rc = tkm_token_call_decode(&call, data, len);
    if (tkm_ok(rc)) rc = tkm_token_call_to_json(&call, out);
    free(data);
    return rc;
}

static tkm_rc decode_line(const char *line, size_t len, void *arg, json_t **out) {
    (void)arg;
    return decode_one(line, len, out);
}

int cmd_calldata(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "decode") != 0) {
        usage();
        return 2;
    }
    const char *arg;
    int batch;
    if (cli_input_args(argc, argv, 2, &arg, &batch) != 0) {
        usage();
        return 2;
    }
    return cli_run_input("calldata decode", arg, batch, 2 * TKM_TX_MAX_DATA + 16, decode_line, NULL);
}
