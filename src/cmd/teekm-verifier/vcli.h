/*
 * vcli.h — private to the teekm-verifier program: subcommands (one file each,
 * thin) and shared helpers. Exit codes: 0 success, 1 failure, 2 usage.
 */
#ifndef TKM_VCLI_H
#define TKM_VCLI_H

#include "core/core.h"

int vcmd_init(int argc, char **argv);
int vcmd_serve(int argc, char **argv);
int vcmd_info(int argc, char **argv);
int vcmd_instances(int argc, char **argv);
int vcmd_eas(int argc, char **argv);
int vcmd_sim_instance(int argc, char **argv);

/* "teekm-verifier: <what>: <message> (NAME): detail" on stderr. */
void vcli_error(const char *what, tkm_rc rc);
/* Print JSON (indented) and a newline on stdout. */
int vcli_print_json(const json_t *v);

#endif
