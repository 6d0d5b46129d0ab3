/* teekm-verifier — the institution's attestation verifier. Thin: each command is in its own file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcli.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} vcommand;

static const vcommand commands[] = {
    {"init", vcmd_init, "create a data directory: master key, EAS signing key, TLS key and certificate"},
    {"serve", vcmd_serve, "serve the verifier API over HTTPS (admin endpoints behind mTLS): serve --config FILE"},
    {"info", vcmd_info, "print this verifier's identity (EAS signer address, schema, policy hash)"},
    {"instances", vcmd_instances, "list current registrations, or one instance's history, from the registry"},
    {"eas", vcmd_eas, "export a registration as EAS attestations (offchain + onchain calldata)"},
    {"sim-instance", vcmd_sim_instance, "DEVELOPMENT ONLY: act as a sim teekmd instance against a verifier"},
    {NULL, NULL, NULL},
};

void vcli_error(const char *what, tkm_rc rc) {
    const char *d = tkm_err_detail();
    fprintf(stderr, "teekm-verifier: %s: %s (%s)%s%s\n", what, tkm_err_str(rc.code), tkm_err_name(rc.code),
            d[0] ? ": " : "", d);
}

int vcli_print_json(const json_t *v) {
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!s) return 1;
    puts(s);
    free(s);
    return 0;
}

int main(int argc, char **argv) {
    tkm_json_init();
    if (argc >= 2) {
        for (const vcommand *c = commands; c->name; c++)
            if (strcmp(argv[1], c->name) == 0) return c->fn(argc - 1, argv + 1);
        if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
            printf("teekm-verifier %s\n", TKM_VERSION);
            return 0;
        }
    }
    int help = argc >= 2 && (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0);
    FILE *out = help ? stdout : stderr;
    if (argc >= 2 && !help) fprintf(stderr, "teekm-verifier: unknown command '%s'\n", argv[1]);
    fprintf(out, "usage: teekm-verifier COMMAND [ARGS]\n\ncommands:\n");
    for (const vcommand *c = commands; c->name; c++) fprintf(out, "  %-13s %s\n", c->name, c->summary);
    fprintf(out, "  %-13s %s\n", "version", "print the version");
    return help ? 0 : 2;
}
