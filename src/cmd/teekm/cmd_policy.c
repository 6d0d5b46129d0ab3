/* teekm policy check | eval — see docs/policy.md. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "policy/policy.h"

#define SEAL_KEY_LEN 32

/* Read a seal key file: exactly 32 bytes, no access for group and others. */
static tkm_rc seal_key_read(tkm_secret **out, const char *file) {
    tkm_secret *k = NULL;
    size_t n = 0;
    TKM_TRY(tkm_secret_new(&k, SEAL_KEY_LEN));
    tkm_rc rc = tkm_file_read_into(file, tkm_secret_mut(k), SEAL_KEY_LEN, TKM_FILE_SECRET, &n);
    int short_file = tkm_ok(rc) && n != SEAL_KEY_LEN;
    if (short_file || rc.code == TKM_ERR_TOO_LARGE) {
        /* Never replaced, never regenerated: state may be sealed under it. An empty or short file
         * is what a teekm before tkm_file_create left when killed while creating the key. */
        char has[32] = "more";
        if (short_file) snprintf(has, sizeof has, "%zu", n);
        tkm_err_detail_set("%s must hold exactly 32 bytes, has %s (an older teekm killed while creating it "
                           "leaves it short); it is never replaced: restore it from a backup, or delete it if no "
                           "state was sealed under it",
                           file, has);
        tkm_err_record_where_(__FILE__, __LINE__);
        rc = TKM_RC(TKM_ERR_FORMAT);
    }
    if (tkm_failed(rc)) {
        tkm_secret_free(k);
        return rc;
    }
    *out = k;
    return TKM_RC_OK;
}

tkm_rc cli_state_seal_key(tkm_secret **out, const char *dir, const char *file, int create) {
    char path[4096];
    *out = NULL;
    if (!file) {
        if (snprintf(path, sizeof path, "%s/seal.key", dir) >= (int)sizeof path) TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
        file = path;
    }
    tkm_rc rc = seal_key_read(out, file);
    if (rc.code != TKM_ERR_NOT_FOUND || !create) return rc;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        tkm_err_detail_set("cannot create %s: %s", dir, strerror(errno));
        TKM_ENSURE(0, TKM_ERR_IO);
    }
    /* Created whole or not at all (a kill cannot leave a short key behind), and never over an
     * existing file: when another process won the race, its key is the one. */
    tkm_secret *k = NULL;
    TKM_TRY(tkm_secret_new(&k, SEAL_KEY_LEN));
    rc = tkm_entropy_bytes(tkm_secret_mut(k), SEAL_KEY_LEN);
    if (tkm_ok(rc)) rc = tkm_file_create(file, 0600, tkm_secret_ptr(k), SEAL_KEY_LEN);
    if (tkm_ok(rc)) {
        *out = k;
        return TKM_RC_OK;
    }
    tkm_secret_free(k);
    if (rc.code != TKM_ERR_EXISTS) return rc;
    return seal_key_read(out, file);
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

/* ---- eval ---- */

#define MAX_KEYS 256
#define STREAM_BATCH 256

typedef struct {
    char label[TKM_POLICY_NAME_MAX + 1];
    uint8_t addr[20];
} key_map;

typedef struct {
    tkm_policy *policy;
    key_map keys[MAX_KEYS];
    size_t n_keys;
    uint8_t instance[32];
    int64_t now;
    tkm_engine *engine; /* --state */
} eval_ctx;

/* Empty state for evaluations without --state. */
static tkm_rc none_request(void *c, const char *id, int *found, uint8_t k[20], uint8_t ph[32]) {
    (void)c, (void)id, (void)k, (void)ph;
    *found = 0;
    return TKM_RC_OK;
}
static tkm_rc none_nonce(void *c, const uint8_t k[20], uint64_t ch, uint64_t n, int *found, uint8_t ph[32]) {
    (void)c, (void)k, (void)ch, (void)n, (void)ph;
    *found = 0;
    return TKM_RC_OK;
}
static tkm_rc none_window(void *c, const char *r, const char *a, int64_t since, tkm_u256 *spent) {
    (void)c, (void)r, (void)a, (void)since;
    *spent = tkm_u256_zero();
    return TKM_RC_OK;
}
static tkm_rc none_used(void *c, const uint8_t d[32], const uint8_t s[20], int *used) {
    (void)c, (void)d, (void)s;
    *used = 0;
    return TKM_RC_OK;
}

/* One parsed request on its way through. */
typedef struct {
    int parse_failed;      /* the document is not a request: error output, nothing recorded */
    tkm_rc parse_rc;
    char parse_detail[256];
    tkm_request req;
    int unsupported;
    char why[200];
    tkm_key_status key_status;
    tkm_sign_request sr;   /* intent + approvals */
    tkm_sign_result res;
    tkm_rc rc;
    int rejected_early;    /* decided before evaluation (unsupported payload, bad approval) */
    tkm_reason early_reason;
    uint64_t early_seq;
} item;

static void prepare(eval_ctx *c, item *it, const uint8_t *doc, size_t len) {
    memset(it, 0, sizeof *it);
    it->parse_rc = tkm_request_parse(&it->req, doc, len);
    if (tkm_failed(it->parse_rc)) {
        it->parse_failed = 1;
        snprintf(it->parse_detail, sizeof it->parse_detail, "%s", tkm_err_detail());
        return;
    }
    uint8_t addr[20] = {0};
    it->key_status = TKM_KEY_UNKNOWN;
    for (size_t i = 0; i < c->n_keys; i++)
        if (strcmp(c->keys[i].label, it->req.key_label) == 0) {
            memcpy(addr, c->keys[i].addr, 20);
            it->key_status = TKM_KEY_ACTIVE;
        }
    tkm_rc rc = tkm_intent_build(&it->sr.intent, &it->unsupported, it->why, sizeof it->why, &it->req, addr, c->policy);
    if (tkm_failed(rc)) {
        it->parse_failed = 1;
        it->parse_rc = rc;
        snprintf(it->parse_detail, sizeof it->parse_detail, "%s", tkm_err_detail());
        return;
    }
    if (it->unsupported) {
        it->rejected_early = 1;
        it->early_reason = TKM_REASON_UNSUPPORTED_PAYLOAD;
    } else if (it->req.approvals_bad) {
        it->rejected_early = 1;
        it->early_reason = TKM_REASON_APPROVAL_INVALID;
        snprintf(it->why, sizeof it->why, "%s", it->req.approvals_why);
    }
    memcpy(it->sr.approvals, it->req.approvals, sizeof it->sr.approvals);
    it->sr.n_approvals = it->req.n_approvals;
    it->sr.host_now = c->now;
    it->sr.sign = 0;
    it->sr.key_status = it->key_status;
}

static json_t *result_json(eval_ctx *c, item *it) {
    json_t *o = json_object();
    if (!o) return NULL;
    if (it->parse_failed) {
        json_object_set_new(o, "error", json_string(tkm_err_name(it->parse_rc.code)));
        json_object_set_new(o, "detail", json_string(it->parse_detail));
        return o;
    }
    const tkm_decision *d = &it->res.decision;
    json_object_set_new(o, "requestId", json_string(it->req.request_id));
    if (tkm_failed(it->rc)) {
        json_object_set_new(o, "error", json_string(tkm_err_name(it->rc.code)));
        json_object_set_new(o, "detail", json_string(tkm_err_detail()));
        return o;
    }
    if (it->rejected_early) {
        json_object_set_new(o, "decision", json_string("deny"));
        json_object_set_new(o, "rule", json_null());
        json_object_set_new(o, "reason", json_string(tkm_reason_name(it->early_reason)));
        json_object_set_new(o, "detail", json_string(it->why));
    } else {
        json_object_set_new(o, "decision", json_string(d->allow ? "allow" : "deny"));
        json_object_set_new(o, "rule", d->rule_id[0] ? json_string(d->rule_id) : json_null());
        json_object_set_new(o, "reason", json_string(tkm_reason_name(d->reason)));
        json_object_set_new(o, "detail", json_string(d->detail));
        if (d->allow) json_object_set_new(o, "idempotent", json_boolean(d->idempotent));
    }
    json_t *ij = NULL;
    if (tkm_ok(tkm_intent_to_json(&ij, &it->sr.intent, c->policy))) json_object_set_new(o, "intent", ij);
    if (c->engine) json_object_set_new(o, "auditSeq", json_integer((json_int_t)(it->rejected_early ? it->early_seq : it->res.audit_seq)));
    return o;
}

/* Decide n prepared items: in one commit with --state, against an empty state otherwise. */
static tkm_rc decide(eval_ctx *c, item *items, size_t n) {
    if (!c->engine) {
        tkm_policy_state st = {NULL, none_request, none_nonce, none_window, none_used};
        for (size_t i = 0; i < n; i++) {
            item *it = &items[i];
            if (it->parse_failed || it->rejected_early) continue;
            tkm_eval_input in = {.policy = c->policy, .intent = &it->sr.intent, .key_status = it->key_status,
                                 .approvals = it->sr.approvals, .n_approvals = it->sr.n_approvals,
                                 .instance_id = c->instance, .now = c->now, .state = &st};
            it->rc = tkm_policy_evaluate(&it->res.decision, &in);
        }
        return TKM_RC_OK;
    }
    static tkm_sign_request reqs[STREAM_BATCH];
    static tkm_sign_result res[STREAM_BATCH];
    static tkm_rc rcs[STREAM_BATCH];
    size_t idx[STREAM_BATCH], m = 0;
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        if (it->parse_failed) continue;
        if (it->rejected_early) {
            /* audited as the service would: a rejection before evaluation */
            it->rc = tkm_engine_reject(c->engine, it->req.request_id, it->req.key_label, it->early_reason, it->why,
                                       c->now, &it->early_seq);
            if (tkm_failed(it->rc)) return it->rc;
            continue;
        }
        reqs[m] = it->sr;
        idx[m++] = i;
    }
    if (!m) return TKM_RC_OK;
    tkm_rc rc = tkm_engine_sign_batch(c->engine, reqs, res, rcs, m);
    for (size_t j = 0; j < m; j++) {
        items[idx[j]].res = res[j];
        items[idx[j]].rc = rcs[j];
    }
    return rc;
}

static int print_item(eval_ctx *c, item *it, int pretty) {
    json_t *o = result_json(c, it);
    if (!o) return -1;
    char *s = json_dumps(o, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s) return -1;
    puts(s);
    free(s);
    return 0;
}

static int eval_usage(void) {
    fprintf(stderr, "usage: teekm policy eval --policy P.json --key LABEL=0xADDR ... (--request R.json | --requests R.jsonl)\n"
                    "                         [--state DIR] [--now UNIX] [--instance-id 0x<32 bytes>]\n");
    return 2;
}

static tkm_rc open_state(eval_ctx *c, const char *dir, const uint8_t *policy_doc, size_t policy_len, int have_instance) {
    tkm_secret *seal = NULL;
    char cpath[4200];
    snprintf(cpath, sizeof cpath, "%s/counter", dir);
    TKM_TRY(cli_state_seal_key(&seal, dir, NULL, 1));
    tkm_engine_opts o = {.dir = dir, .seal_key = seal};
    tkm_rc rc = tkm_counter_file_open(&o.counter, cpath, seal);
    if (tkm_ok(rc)) rc = tkm_engine_open(&c->engine, &o, c->now);
    if (rc.code == TKM_ERR_NOT_FOUND) {
        /* no state yet (or an initialisation that never committed): create it with this policy */
        rc = tkm_counter_file_open(&o.counter, cpath, seal);
        if (tkm_ok(rc))
            rc = tkm_engine_init(&c->engine, &o, have_instance ? c->instance : NULL, policy_doc, policy_len, c->now);
    }
    tkm_secret_free(seal);
    TKM_TRY(rc);
    uint8_t inst[32], h[32];
    uint64_t v;
    tkm_engine_instance_id(c->engine, inst);
    if (have_instance && memcmp(inst, c->instance, 32) != 0) {
        tkm_err_detail_set("--instance-id differs from the state's instance id");
        TKM_ENSURE(0, TKM_ERR_STORE_CLONE);
    }
    memcpy(c->instance, inst, 32);
    tkm_engine_policy_info(c->engine, &v, h);
    if (memcmp(h, c->policy->hash, 32) == 0) return TKM_RC_OK;
    if (c->policy->version <= v) {
        tkm_err_detail_set("the state's active policy is version %llu with another hash; --policy must be it or a higher version",
                           (unsigned long long)v);
        TKM_ENSURE(0, TKM_ERR_POLICY_VERSION);
    }
    /* offline tool: a newer policy is activated without admin approvals (audited as unapproved) */
    return tkm_engine_policy_activate(c->engine, policy_doc, policy_len, NULL, 0, c->now, 1);
}

static int policy_eval(int argc, char **argv) {
    const char *policy_path = NULL, *req_path = NULL, *stream_path = NULL, *dir = NULL;
    eval_ctx *c = calloc(1, sizeof *c);
    int have_instance = 0, have_now = 0, status = 2;
    uint8_t *pdoc = NULL, *rdoc = NULL;
    size_t plen = 0, rlen = 0;
    item *items = NULL;
    FILE *in = NULL;
    if (!c) return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            status = eval_usage();
            goto out;
        }
        i++;
        if (strcmp(a, "--policy") == 0)
            policy_path = v;
        else if (strcmp(a, "--request") == 0)
            req_path = v;
        else if (strcmp(a, "--requests") == 0)
            stream_path = v;
        else if (strcmp(a, "--state") == 0)
            dir = v;
        else if (strcmp(a, "--now") == 0) {
            char *end;
            long long t = strtoll(v, &end, 10);
            if (*end || t < 0) {
                status = eval_usage();
                goto out;
            }
            c->now = t;
            have_now = 1;
        } else if (strcmp(a, "--instance-id") == 0) {
            if (tkm_failed(tkm_hex_decode_exact(c->instance, 32, v, strlen(v), TKM_HEX_0X_REQUIRED))) {
                fprintf(stderr, "teekm: policy eval: --instance-id must be 0x and 64 hex digits\n");
                goto out;
            }
            have_instance = 1;
        } else if (strcmp(a, "--key") == 0) {
            const char *eq = strchr(v, '=');
            if (!eq || c->n_keys == MAX_KEYS || !tkm_key_label_ok(v, (size_t)(eq - v)) ||
                tkm_failed(tkm_eth_address_parse(c->keys[c->n_keys].addr, eq + 1, strlen(eq + 1)))) {
                fprintf(stderr, "teekm: policy eval: --key wants LABEL=0xADDRESS (got %s)\n", v);
                goto out;
            }
            memcpy(c->keys[c->n_keys].label, v, (size_t)(eq - v));
            c->n_keys++;
        } else {
            status = eval_usage();
            goto out;
        }
    }
    if (!policy_path || !req_path == !stream_path) {
        status = eval_usage();
        goto out;
    }
    if (!have_now) c->now = tkm_time_unix();
    tkm_rc rc = cli_read_input(policy_path, TKM_POLICY_MAX_BYTES + 1, &pdoc, &plen);
    if (tkm_ok(rc)) rc = tkm_policy_load(&c->policy, pdoc, plen);
    if (tkm_failed(rc)) {
        cli_error("policy eval: --policy", rc);
        goto out;
    }
    if (dir) {
        rc = open_state(c, dir, pdoc, plen, have_instance);
        if (tkm_failed(rc)) {
            cli_error("policy eval: --state", rc);
            goto out;
        }
    }
    items = calloc(STREAM_BATCH, sizeof *items);
    if (!items) goto out;
    if (req_path) {
        rc = cli_read_input(req_path, TKM_REQUEST_MAX_BYTES + 1, &rdoc, &rlen);
        if (tkm_failed(rc)) {
            cli_error("policy eval: --request", rc);
            goto out;
        }
        prepare(c, &items[0], rdoc, rlen);
        rc = decide(c, items, 1);
        if (tkm_failed(rc) && !items[0].parse_failed) {
            cli_error("policy eval", rc);
            goto out;
        }
        if (print_item(c, &items[0], 1) != 0) goto out;
        const item *it = &items[0];
        status = it->parse_failed ? 2 : (!it->rejected_early && it->res.decision.allow) ? 0 : 1;
        goto out;
    }
    /* stream: JSON Lines, STREAM_BATCH per commit; decisions are printed only once committed */
    in = strcmp(stream_path, "-") == 0 ? stdin : fopen(stream_path, "rb");
    if (!in) {
        fprintf(stderr, "teekm: policy eval: cannot open %s\n", stream_path);
        goto out;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t ll;
    int eof = 0;
    status = 0;
    while (!eof) {
        size_t n = 0;
        while (n < STREAM_BATCH) {
            ll = getline(&line, &cap, in);
            if (ll < 0) {
                eof = 1;
                break;
            }
            while (ll > 0 && (line[ll - 1] == '\n' || line[ll - 1] == '\r')) ll--;
            if (ll == 0) continue;
            prepare(c, &items[n++], (const uint8_t *)line, (size_t)ll);
        }
        if (!n) break;
        rc = decide(c, items, n);
        for (size_t i = 0; i < n; i++) {
            if (tkm_failed(rc)) items[i].rc = rc;
            if (print_item(c, &items[i], 0) != 0) status = 2;
            tkm_request_free(&items[i].req);
        }
        fflush(stdout);
        if (tkm_failed(rc)) {
            cli_error("policy eval", rc);
            status = 2;
            break;
        }
    }
    free(line);
out:
    if (in && in != stdin) fclose(in);
    if (items) {
        tkm_request_free(&items[0].req);
        free(items);
    }
    if (c) {
        tkm_engine_close(c->engine);
        tkm_policy_free(c->policy);
        free(c);
    }
    free(pdoc);
    free(rdoc);
    return status;
}

/* ---- the running service's policy (admin API) ---- */

#define MAX_APPROVERS 32

static int policy_service(int argc, char **argv) {
    const char *sub = argv[0], *arg = NULL, *exp = NULL, *signature = NULL;
    const char *keys[MAX_APPROVERS], *sigs[MAX_APPROVERS];
    size_t n_keys = 0, n_sigs = 0;
    cli_conn conn = {0};
    for (int i = 1; i < argc; i++) {
        if (cli_conn_option(&conn, argc, argv, &i)) continue;
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' && !arg) {
            arg = a;
            continue;
        }
        if (!v) goto usage;
        i++;
        if (strcmp(a, "--approver-key") == 0 && n_keys < MAX_APPROVERS)
            keys[n_keys++] = v;
        else if (strcmp(a, "--approval") == 0 && n_sigs < MAX_APPROVERS)
            sigs[n_sigs++] = v;
        else if (strcmp(a, "--signature") == 0)
            signature = v;
        else if (strcmp(a, "--expires-at") == 0)
            exp = v;
        else
            goto usage;
    }
    int get = strcmp(sub, "get") == 0, propose = strcmp(sub, "propose") == 0;
    int approve = strcmp(sub, "approve") == 0; /* else activate */
    if (get == !!arg) goto usage;
    if (approve && !signature == !n_keys) goto usage;
    tkm_httpc *h = NULL;
    tkm_rc rc = cli_conn_open(&conn, &h);
    if (tkm_failed(rc)) {
        cli_error("policy", rc);
        return 1;
    }
    int status = 1;
    long st = 0;
    json_t *out = NULL, *body = NULL, *doc = NULL;
    char path[256];
    if (get) {
        rc = tkm_httpc_json(h, "GET", "/admin/v1/policy", NULL, &st, &out);
    } else if (propose) {
        uint8_t *pd = NULL;
        size_t pl = 0;
        rc = cli_read_input(arg, TKM_POLICY_MAX_BYTES + 1, &pd, &pl);
        if (tkm_ok(rc)) rc = tkm_json_load(&doc, pd, pl, NULL);
        free(pd);
        if (tkm_ok(rc)) {
            body = json_pack("{s:O}", "policy", doc);
            if (exp) json_object_set_new(body, "expiresAt", json_integer(strtoll(exp, NULL, 10)));
            rc = tkm_httpc_json(h, "POST", "/admin/v1/policy/proposals", body, &st, &out);
        }
    } else {
        /* approve / activate: the proposal's typed data is fetched and signed here for --approver-key */
        json_t *prop = NULL;
        snprintf(path, sizeof path, "/admin/v1/policy/proposals/%s", arg);
        if (n_keys) rc = tkm_httpc_json(h, "GET", path, NULL, &st, &prop);
        json_t *apps = json_array();
        for (size_t i = 0; tkm_ok(rc) && i < n_keys; i++) {
            json_t *sig = NULL;
            rc = cli_sign_typed(json_object_get(json_object_get(prop, "approval"), "typedData"), keys[i], &sig);
            if (tkm_ok(rc)) json_array_append_new(apps, sig);
        }
        json_decref(prop);
        for (size_t i = 0; i < n_sigs; i++) json_array_append_new(apps, json_string(sigs[i]));
        if (tkm_ok(rc) && approve) {
            snprintf(path, sizeof path, "/admin/v1/policy/proposals/%s/approvals", arg);
            size_t na = json_array_size(apps);
            for (size_t i = 0; tkm_ok(rc) && i < (signature ? 1 : na); i++) {
                json_decref(body);
                json_decref(out);
                out = NULL;
                json_t *sv = signature ? json_string(signature) : json_incref(json_array_get(apps, i));
                body = json_pack("{s:o}", "signature", sv);
                rc = tkm_httpc_json(h, "POST", path, body, &st, &out);
            }
        } else if (tkm_ok(rc)) {
            snprintf(path, sizeof path, "/admin/v1/policy/proposals/%s/activate", arg);
            body = json_pack("{s:O}", "approvals", apps);
            rc = tkm_httpc_json(h, "POST", path, body, &st, &out);
        }
        json_decref(apps);
    }
    if (tkm_failed(rc)) {
        if (out) cli_print_json(out);
        cli_error("policy", rc);
    } else {
        cli_print_json(out);
        status = 0;
    }
    json_decref(out);
    json_decref(body);
    json_decref(doc);
    tkm_httpc_free(h);
    return status;
usage:
    fprintf(stderr,
            "usage: teekm policy get\n"
            "       teekm policy propose POLICY.json [--expires-at UNIX]\n"
            "       teekm policy approve 0xHASH (--signature 0xSIG | --approver-key DEVKEYFILE...)\n"
            "       teekm policy activate 0xHASH [--approver-key DEVKEYFILE]... [--approval 0xSIG]...\n%s",
            cli_conn_usage);
    return 2;
}

int cmd_policy(int argc, char **argv) {
    static const cli_command sub[] = {
        {"check", policy_check, "validate a policy document and print its hash"},
        {"eval", policy_eval, "evaluate requests against a policy (offline), optionally recording state"},
        {"get", policy_service, "the running service's active policy and its hash"},
        {"propose", policy_service, "propose a new policy to the running service (prints the PolicyUpdate to sign)"},
        {"approve", policy_service, "add an admin approval to a proposal"},
        {"activate", policy_service, "activate a proposal with the admins' approvals"},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("teekm policy", sub, argc - 1, argv + 1);
}
