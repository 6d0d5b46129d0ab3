/*
 * cli.h — private to the teekm program: the subcommand table and shared helpers.
 * Each subcommand lives in its own cmd_<name>.c and returns a process exit code
 * (0 success, 1 failure/invalid, 2 usage).
 */
#ifndef TKM_CLI_H
#define TKM_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef int (*cli_fn)(int argc, char **argv);

typedef struct {
    const char *name;
    cli_fn fn;
    const char *summary;
} cli_command;

/* Dispatch argv[0] among cmds; prints usage for unknown names. */
int cli_dispatch(const char *prog, const cli_command *cmds, int argc, char **argv);

/* Print an error line "teekm: <what>: <message> [detail]" to stderr. */
void cli_error(const char *what, tkm_rc rc);
/* Read all of stdin (or a file when path != NULL and not "-") up to max bytes. Caller frees. */
tkm_rc cli_read_input(const char *path, size_t max, uint8_t **out, size_t *len);
/* Print a JSON value on stdout (indented, keys in insertion order) and a newline. */
int cli_print_json(const json_t *v);

/*
 * Batch mode (batch.c): for each line of stdin (as read, newline included)
 * call fn(line, len, arg, &out) and print out as one compact JSON line, or
 * cli_error_json(rc) when fn fails. Returns the exit code: 0 when every line
 * succeeded, 1 otherwise. fn owns nothing of line; *out is a new reference.
 */
typedef tkm_rc (*cli_batch_fn)(const char *line, size_t len, void *arg, json_t **out);
int cli_batch_lines(cli_batch_fn fn, void *arg);
/*
 * The input side of the decode-style commands (`tx decode`, `calldata
 * decode`, `siwe parse`): with batch, every line of stdin as cli_batch_lines;
 * otherwise the text of arg, or stdin (arg NULL or "-") up to max bytes, once
 * through fn, printed as JSON; a failure is reported as "what: …". Returns
 * the exit code (0, or 1 on a failure).
 */
int cli_run_input(const char *what, const char *arg, int batch, size_t max, cli_batch_fn fn, void *fn_arg);
/*
 * Their arguments from argv[first]: "[INPUT | -]" or "--batch" (not both).
 * Out: *arg (NULL: stdin), *batch. Returns 0, or -1 on a usage error.
 */
int cli_input_args(int argc, char **argv, int first, const char **arg, int *batch);
/* {"error": NAME, "detail": the thread's error detail}: a new reference, NULL when out of memory. */
json_t *cli_error_json(tkm_rc rc);

/*
 * Load a development key file for the *-dev commands: exactly one line,
 * "dev:0x" followed by the 64 hex digits of a secp256k1 private key (a final
 * newline is allowed). Refuses symlinks, non-regular files and files that
 * group or others may access (TKM_ERR_PERMISSIONS). Out: *sk (caller frees
 * with tkm_secret_free). Never copies the key into error details.
 */
TKM_WARN_UNUSED tkm_rc cli_devkey_load(const char *path, tkm_secret **sk);

/* ---- talking to a running teekmd (cmd_client.c) ---- */
#include "api/tkm_httpc.h"
typedef struct {
    const char *url, *data_dir, *cert, *key, *ca;
} cli_conn;
extern const char cli_conn_usage[];
/* Take a connection option at argv[*i] (and its value): 1 when taken. */
int cli_conn_option(cli_conn *c, int argc, char **argv, int *i);
/* The HTTPS client for c (defaults from $TEEKM_URL / $TEEKM_DATA_DIR). Caller frees with tkm_httpc_free. */
TKM_WARN_UNUSED tkm_rc cli_conn_open(cli_conn *c, tkm_httpc **out);
/* Sign a typed-data document with a development key file: the 0x r‖s‖v signature as a JSON string. */
TKM_WARN_UNUSED tkm_rc cli_sign_typed(const json_t *doc, const char *devkey_path, json_t **sig);
/* POST with the admins' quorum (cmd_keys.c): see there. Returns a process status. */
int cli_admin_quorum(tkm_httpc *h, const char *path, json_t *body, const char *const *approver_keys, size_t n_keys,
                     json_t **out);
/* The teekmd program next to teekm (else "teekmd", found on PATH). */
const char *cli_teekmd_path(void);

int cmd_version(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_rpc(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_typed_data(int argc, char **argv);
int cmd_evidence_show(int argc, char **argv);
int cmd_evidence(int argc, char **argv);
int cmd_tx(int argc, char **argv);
int cmd_calldata(int argc, char **argv);
int cmd_siwe(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_audit(int argc, char **argv);
/* The sim seal key of a state directory (DIR/seal.key, 0600; created when create is 1) or from file. */
tkm_rc cli_state_seal_key(tkm_secret **out, const char *dir, const char *file, int create);

#endif
