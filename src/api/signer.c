/* see tkm_signer.h — lifecycle, key directory, policy snapshots, the committer, hooks, metrics. */
#include "signer_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/crypto.h"
#include "api_int.h"

#define DEF_VALIDITY 300u
#define DEF_MAX_QUEUE 65536u
#define DEF_MAX_PENDING 1024u
#define DEF_BATCH 256u
#define MAX_BATCH 1024u

json_t *signer_addr(const uint8_t a[20]) {
    char s[TKM_ETH_ADDR_STR_LEN];
    tkm_eth_address_checksum(s, a);
    return json_string(s);
}

/* ---- policy snapshots ---- */

tkm_policy *signer_policy(tkm_signer *s) { return atomic_load(&s->policy); }

/* The chain eth_chainId answers: the one chain the policy names (assets and rule chain_ids), if exactly one. */
static void single_chain(const tkm_policy *p, int *single, uint64_t *chain) {
    size_t n = 0;
    uint64_t c = 0;
    int many = 0;
    for (size_t i = 0; i < p->n_assets && !many; i++) {
        if (n++ && p->assets[i].chain_id != c) many = 1;
        c = p->assets[i].chain_id;
    }
    for (size_t i = 0; i < p->n_rules && !many; i++)
        for (size_t j = 0; j < p->rules[i].n_chain_ids && !many; j++) {
            if (n++ && p->rules[i].chain_ids[j] != c) many = 1;
            c = p->rules[i].chain_ids[j];
        }
    *single = n > 0 && !many;
    *chain = c;
}

tkm_rc signer_policy_reload(tkm_signer *s) {
    uint8_t *doc = NULL;
    size_t len = 0;
    tkm_policy *p = NULL;
    TKM_TRY(tkm_engine_policy_canonical(s->e, &doc, &len));
    tkm_rc rc = tkm_policy_load(&p, doc, len);
    free(doc);
    TKM_TRY(rc);
    policy_ref *r = calloc(1, sizeof *r);
    if (!r) {
        tkm_policy_free(p);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    pthread_mutex_lock(&s->policy_mu);
    r->p = p;
    r->next = s->policies; /* readers may still hold the previous one: freed with the signer */
    s->policies = r;
    single_chain(p, &s->chain_single, &s->chain_id);
    atomic_store(&s->policy, p);
    pthread_mutex_unlock(&s->policy_mu);
    if (s->srv) tkm_api_server_roles_changed(s->srv);
    return TKM_RC_OK;
}

/* ---- key directory ---- */

typedef struct {
    key_dir d;
    size_t cap;
    tkm_rc rc;
} dir_build;

static int dir_visit(void *ctx, const tkm_store_key_info *info, const uint8_t *pub) {
    dir_build *b = ctx;
    (void)pub;
    if (b->d.n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        dir_key *k = realloc(b->d.by_label, cap * sizeof *k);
        if (!k) {
            b->rc = TKM_RC(TKM_ERR_NOMEM);
            return 1;
        }
        b->d.by_label = k;
        b->cap = cap;
    }
    dir_key *k = &b->d.by_label[b->d.n++];
    memset(k, 0, sizeof *k);
    snprintf(k->label, sizeof k->label, "%s", info->label);
    memcpy(k->addr, info->address, 20);
    k->status = info->status;
    k->created = info->created;
    if (info->status == TKM_STORE_KEY_ACTIVE) b->d.n_active++;
    return 0;
}

static const dir_key *sort_base;
static int addr_cmp(const void *a, const void *b) {
    return memcmp(sort_base[*(const uint32_t *)a].addr, sort_base[*(const uint32_t *)b].addr, 20);
}

tkm_rc signer_dir_reload(tkm_signer *s) {
    dir_build b;
    memset(&b, 0, sizeof b);
    b.rc = TKM_RC_OK;
    tkm_rc rc = tkm_engine_keys_visit(s->e, 0, dir_visit, &b); /* sorted by label */
    if (tkm_ok(rc)) rc = b.rc;
    if (tkm_ok(rc)) {
        b.d.by_addr = malloc((b.d.n ? b.d.n : 1) * sizeof *b.d.by_addr);
        if (!b.d.by_addr) rc = TKM_RC(TKM_ERR_NOMEM);
    }
    if (tkm_ok(rc)) {
        for (size_t i = 0; i < b.d.n; i++) b.d.by_addr[i] = (uint32_t)i;
        static pthread_mutex_t sort_mu = PTHREAD_MUTEX_INITIALIZER; /* qsort has no context argument */
        pthread_mutex_lock(&sort_mu);
        sort_base = b.d.by_label;
        if (b.d.n > 1) qsort(b.d.by_addr, b.d.n, sizeof *b.d.by_addr, addr_cmp);
        pthread_mutex_unlock(&sort_mu);
    }
    if (tkm_failed(rc)) {
        free(b.d.by_label);
        free(b.d.by_addr);
        return rc;
    }
    pthread_rwlock_wrlock(&s->dir_rw);
    key_dir old = s->dir;
    s->dir = b.d;
    pthread_rwlock_unlock(&s->dir_rw);
    free(old.by_label);
    free(old.by_addr);
    return TKM_RC_OK;
}

int signer_key_by_label(tkm_signer *s, const char *label, dir_key *out) {
    int found = 0;
    pthread_rwlock_rdlock(&s->dir_rw);
    size_t lo = 0, hi = s->dir.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->dir.by_label[mid].label, label);
        if (c == 0) {
            *out = s->dir.by_label[mid];
            found = 1;
            break;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    pthread_rwlock_unlock(&s->dir_rw);
    return found;
}

/* The active key with this address (a retired key may share it after a rotation back: active wins). */
int signer_key_by_addr(tkm_signer *s, const uint8_t addr[20], dir_key *out) {
    int found = 0;
    pthread_rwlock_rdlock(&s->dir_rw);
    size_t lo = 0, hi = s->dir.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(s->dir.by_label[s->dir.by_addr[mid]].addr, addr, 20);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < s->dir.n; i++) {
        const dir_key *k = &s->dir.by_label[s->dir.by_addr[i]];
        if (memcmp(k->addr, addr, 20) != 0) break;
        if (!found || k->status == TKM_STORE_KEY_ACTIVE) {
            *out = *k;
            found = 1;
        }
    }
    pthread_rwlock_unlock(&s->dir_rw);
    return found;
}

int signer_may_use(tkm_signer *s, const tkm_api_identity *id, const char *label, const uint8_t addr[20]) {
    if (id->insecure) return 1; /* plain-HTTP loopback callers: whatever roles the operator gave them */
    if (id->authenticated && tkm_ct_eq(id->fingerprint, s->operator_fpr, 32)) return 1;
    const tkm_policy_client *c = tkm_policy_client_find(signer_policy(s), id->cn, id->fingerprint);
    return c && tkm_policy_client_may_use(c, label, addr);
}

/* ---- hooks ---- */

unsigned tkm_signer_authorize(void *arg, const tkm_api_identity *id) {
    tkm_signer *s = arg;
    if (tkm_ct_eq(id->fingerprint, s->operator_fpr, 32)) return TKM_ROLE_ALL;
    const tkm_policy_client *c = tkm_policy_client_find(signer_policy(s), id->cn, id->fingerprint);
    return c ? c->roles : 0; /* TKM_POLICY_ROLE_* has the TKM_ROLE_* bits */
}

_Static_assert((unsigned)TKM_POLICY_ROLE_SIGN == (unsigned)TKM_ROLE_SIGN &&
                   (unsigned)TKM_POLICY_ROLE_APPROVE == (unsigned)TKM_ROLE_APPROVE &&
                   (unsigned)TKM_POLICY_ROLE_ADMIN == (unsigned)TKM_ROLE_ADMIN &&
                   (unsigned)TKM_POLICY_ROLE_READ == (unsigned)TKM_ROLE_READ,
               "policy and api role bits agree");

/* A refused caller (401/403): an access_denied audit record, in the next group commit. */
void tkm_signer_audit(void *arg, const tkm_api_audit_event *ev) {
    tkm_signer *s = arg;
    char need[64], held[64];
    tkm_api_roles_str(ev->roles_required, need, sizeof need);
    tkm_api_roles_str(ev->roles_held, held, sizeof held);
    const tkm_api_identity *id = ev->identity;
    json_t *client = json_object();
    if (client) {
        json_object_set_new(client, "peer", json_string(id->peer));
        json_object_set_new(client, "certificate", json_boolean(id->cert_presented));
        if (id->cert_presented) {
            json_object_set_new(client, "cn", json_string(id->cn));
            json_object_set_new(client, "subject", json_string(id->subject));
            json_object_set_new(client, "fingerprint", tkm_json_hex_new(id->fingerprint, 32));
        }
    }
    json_t *b = json_pack("{s:i,s:s,s:s,s:s,s:s,s:o*,s:s,s:s,s:o*}", "status", ev->http_status, "code",
                          tkm_err_name(ev->code) ? tkm_err_name(ev->code) : "UNKNOWN", "requestId",
                          ev->request_id ? ev->request_id : "", "method", ev->method ? ev->method : "", "path",
                          ev->path ? ev->path : "", "rpcMethod", ev->rpc_method ? json_string(ev->rpc_method) : NULL,
                          "rolesRequired", need, "rolesHeld", held, "client", client);
    job *j = b ? signer_job_new(s) : NULL;
    const char *why = "NOMEM";
    if (j) {
        j->kind = JOB_AUDIT;
        j->audit_body = b;
        j->sr.kind = TKM_JOB_AUDIT;
        j->sr.audit_type = TKM_AUDIT_ACCESS_DENIED;
        j->sr.audit_body = b;
        j->sr.host_now = tkm_time_unix();
        j->t0 = tkm_time_mono_ns();
        tkm_rc rc = signer_enqueue(s, j);
        if (tkm_ok(rc)) return;
        why = tkm_err_name(rc.code);
    }
    /* the queue is full, stopping, or out of memory: count it and say so (the request was refused anyway) */
    json_decref(b);
    signer_job_free(s, j);
    tkm_metric_inc(tkm_metric_child_get(s->m_audit_dropped, NULL), 1);
    tkm_log(TKM_LOG_ERROR, "signer", "access denial not audited: %s", why);
}

tkm_rc tkm_signer_write_ca_bundle(const char *out, const char *local_ca, const char *const *sources, size_t n) {
    tkm_wr w;
    tkm_wr_init(&w, 16u << 20);
    tkm_rc rc = TKM_RC_OK;
    for (size_t i = 0; tkm_ok(rc) && i <= n; i++) {
        uint8_t *b = NULL;
        size_t len = 0;
        rc = tkm_file_read(i == 0 ? local_ca : sources[i - 1], 8u << 20, 0, &b, &len);
        if (tkm_ok(rc)) rc = tkm_wr_put(&w, b, len);
        if (tkm_ok(rc) && len && b[len - 1] != '\n') rc = tkm_wr_u8(&w, '\n');
        free(b);
    }
    if (tkm_ok(rc)) rc = tkm_file_replace(out, 0644, w.p, w.len);
    tkm_wr_free(&w);
    return rc;
}

void tkm_signer_reload(void *arg, tkm_api_reload *out) {
    tkm_signer *s = arg;
    if (s->cfg.client_ca_out) {
        tkm_rc rc = tkm_signer_write_ca_bundle(s->cfg.client_ca_out, tkm_instance_client_ca_path(s->in),
                                               s->cfg.client_ca_sources, s->cfg.n_client_ca_sources);
        if (tkm_failed(rc))
            tkm_log(TKM_LOG_ERROR, "signer", "client CA list not rebuilt, keeping the previous one: %s (%s)",
                    tkm_err_str(rc.code), tkm_err_detail());
        else
            tkm_log(TKM_LOG_INFO, "signer", "client CA list rebuilt from %zu file(s)", s->cfg.n_client_ca_sources + 1);
    }
    if (s->cfg.log_level_file) {
        uint8_t *b = NULL;
        size_t len = 0;
        tkm_log_level lvl;
        if (tkm_ok(tkm_file_read(s->cfg.log_level_file, 256, 0, &b, &len))) {
            char *nl = strpbrk((char *)b, "\r\n \t");
            if (nl) *nl = 0;
            if (tkm_ok(tkm_log_level_parse((const char *)b, &lvl))) {
                out->set_log_level = 1;
                out->log_level = lvl;
                tkm_log(TKM_LOG_INFO, "signer", "log level: %s", (const char *)b);
            } else {
                tkm_log(TKM_LOG_ERROR, "signer", "%s: not a log level (debug, info, warn, error)",
                        s->cfg.log_level_file);
            }
        } else {
            tkm_log(TKM_LOG_ERROR, "signer", "cannot read %s: %s", s->cfg.log_level_file, tkm_err_detail());
        }
        free(b);
    }
}

/* ---- request ids, outcomes ---- */

void signer_new_request_id(tkm_signer *s, char out[TKM_REQUEST_ID_MAX + 1]) {
    uint64_t n = atomic_fetch_add(&s->id_seq, 1);
    snprintf(out, TKM_REQUEST_ID_MAX + 1, "rpc-%08x-%llu", s->id_prefix, (unsigned long long)n);
}

void signer_outcome_put(tkm_signer *s, const job *j) {
    if (!j->call || j->kind == JOB_AUDIT || !j->sr.intent.request_id[0]) return;
    pthread_mutex_lock(&s->pend_mu);
    outcome *o = &s->outcomes[s->outcome_next++ % OUTCOMES];
    memset(o, 0, sizeof *o);
    snprintf(o->request_id, sizeof o->request_id, "%s", j->sr.intent.request_id);
    o->time = j->res.decision.now;
    o->audit_seq = j->res.audit_seq;
    if (tkm_ok(j->rc)) {
        o->allowed = j->res.decision.allow;
        snprintf(o->reason, sizeof o->reason, "%s", tkm_reason_name(j->res.decision.reason));
        snprintf(o->rule, sizeof o->rule, "%s", j->res.decision.rule_id);
        snprintf(o->detail, sizeof o->detail, "%s", j->res.decision.detail);
        if (j->res.has_sig) {
            memcpy(o->sig, j->res.sig, 65);
            o->has_sig = 1;
        }
    } else {
        snprintf(o->reason, sizeof o->reason, "%s", tkm_err_name(j->rc.code) ? tkm_err_name(j->rc.code) : "ERROR");
    }
    pthread_mutex_unlock(&s->pend_mu);
}

int signer_outcome_get(tkm_signer *s, const char *request_id, outcome *out) {
    int found = 0;
    pthread_mutex_lock(&s->pend_mu);
    for (size_t i = 0; i < OUTCOMES && !found; i++) { /* newest first */
        const outcome *o = &s->outcomes[(s->outcome_next + OUTCOMES - 1 - i) % OUTCOMES];
        if (o->request_id[0] && strcmp(o->request_id, request_id) == 0) {
            *out = *o;
            found = 1;
        }
    }
    pthread_mutex_unlock(&s->pend_mu);
    return found;
}

/* ---- the committer ---- */

#define POOL_MAX 1024

job *signer_job_new(tkm_signer *s) {
    pthread_mutex_lock(&s->pool_mu);
    job *j = s->pool;
    if (j) {
        s->pool = j->next;
        s->n_pool--;
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (!j) return calloc(1, sizeof *j);
    memset(j, 0, sizeof *j);
    return j;
}

void signer_job_free(tkm_signer *s, job *j) {
    if (!j) return;
    pthread_mutex_lock(&s->pool_mu);
    if (s->n_pool < POOL_MAX) {
        j->next = s->pool;
        s->pool = j;
        s->n_pool++;
        j = NULL;
    }
    pthread_mutex_unlock(&s->pool_mu);
    free(j);
}

tkm_rc signer_enqueue(tkm_signer *s, job *j) {
    j->next = NULL;
    pthread_mutex_lock(&s->q_mu);
    if (s->q_stop || s->q_len >= s->cfg.max_queue) {
        int stop = s->q_stop;
        pthread_mutex_unlock(&s->q_mu);
        TKM_ENSURE(0, stop ? TKM_ERR_SHUTTING_DOWN : TKM_ERR_QUEUE_FULL);
    }
    if (s->q_tail)
        s->q_tail->next = j;
    else
        s->q_head = j;
    s->q_tail = j;
    s->q_len++;
    pthread_cond_signal(&s->q_cv);
    pthread_mutex_unlock(&s->q_mu);
    return TKM_RC_OK;
}

void signer_refresh_state(tkm_signer *s) {
    uint64_t v, seq;
    tkm_engine_state_info(s->e, &v, &seq);
    atomic_store(&s->state_version, v);
    atomic_store(&s->audit_seq, seq);
}

static void *committer_main(void *arg) {
    tkm_signer *s = arg;
    pthread_setname_np(pthread_self(), "tkm-commit");
    size_t cap = s->cfg.batch;
    tkm_sign_request *reqs = malloc(cap * sizeof *reqs);
    tkm_sign_result *res = malloc(cap * sizeof *res);
    tkm_rc *rcs = malloc(cap * sizeof *rcs);
    job **jobs = malloc(cap * sizeof *jobs);
    tkm_metric_child *batch = tkm_metric_child_get(s->m_batch, NULL);
    if (!reqs || !res || !rcs || !jobs) {
        tkm_log(TKM_LOG_ERROR, "signer", "committer: out of memory");
        cap = 1; /* degrade: one job per commit through the stack buffers below */
    }
    tkm_sign_request one_req;
    tkm_sign_result one_res;
    tkm_rc one_rc;
    job *one_job;
    for (;;) {
        pthread_mutex_lock(&s->q_mu);
        while (!s->q_head && !s->q_stop) pthread_cond_wait(&s->q_cv, &s->q_mu);
        if (!s->q_head) {
            pthread_mutex_unlock(&s->q_mu);
            break;
        }
        size_t n = 0;
        job **jp = jobs ? jobs : &one_job;
        while (s->q_head && n < cap) {
            jp[n++] = s->q_head;
            s->q_head = s->q_head->next;
        }
        if (!s->q_head) s->q_tail = NULL;
        s->q_len -= n;
        pthread_mutex_unlock(&s->q_mu);
        tkm_sign_request *rq = reqs ? reqs : &one_req;
        tkm_sign_result *rs = res ? res : &one_res;
        tkm_rc *rr = rcs ? rcs : &one_rc;
        for (size_t i = 0; i < n; i++) rq[i] = jp[i]->sr;
        tkm_rc rc = tkm_engine_sign_batch(s->e, rq, rs, rr, n);
        (void)rc; /* per job in rr */
        tkm_metric_observe(batch, (double)n);
        signer_refresh_state(s);
        for (size_t i = 0; i < n; i++) {
            job *j = jp[i];
            j->res = rs[i];
            j->rc = rr[i];
            signer_job_finish(s, j); /* completes the call, frees the job */
        }
    }
    free(reqs);
    free(res);
    free(rcs);
    free(jobs);
    return NULL;
}

/* ---- aux thread ---- */

tkm_rc signer_aux(tkm_signer *s, aux_task *t) {
    t->next = NULL;
    t->s = s;
    pthread_mutex_lock(&s->aux_mu);
    if (s->aux_stop) {
        pthread_mutex_unlock(&s->aux_mu);
        TKM_ENSURE(0, TKM_ERR_SHUTTING_DOWN);
    }
    if (s->aux_tail)
        s->aux_tail->next = t;
    else
        s->aux_head = t;
    s->aux_tail = t;
    pthread_cond_signal(&s->aux_cv);
    pthread_mutex_unlock(&s->aux_mu);
    return TKM_RC_OK;
}

static void *aux_main(void *arg) {
    tkm_signer *s = arg;
    pthread_setname_np(pthread_self(), "tkm-aux");
    for (;;) {
        pthread_mutex_lock(&s->aux_mu);
        while (!s->aux_head && !s->aux_stop) pthread_cond_wait(&s->aux_cv, &s->aux_mu);
        aux_task *t = s->aux_head;
        if (t) {
            s->aux_head = t->next;
            if (!s->aux_head) s->aux_tail = NULL;
        }
        pthread_mutex_unlock(&s->aux_mu);
        if (!t) break;
        t->fn(t); /* completes its call and frees t */
    }
    return NULL;
}

/* ---- metrics and health ---- */

static double g_state(void *arg) { return (double)atomic_load(&((tkm_signer *)arg)->state_version); }
static double g_audit(void *arg) { return (double)atomic_load(&((tkm_signer *)arg)->audit_seq); }
static double g_keys(void *arg) {
    tkm_signer *s = arg;
    pthread_rwlock_rdlock(&s->dir_rw);
    size_t n = s->dir.n_active;
    pthread_rwlock_unlock(&s->dir_rw);
    return (double)n;
}
static double g_evidence_age(void *arg) {
    tkm_signer *s = arg;
    int64_t t = tkm_instance_evidence_time(s->in);
    return t ? (double)(tkm_time_unix() - t) : -1;
}
static double g_queue(void *arg) {
    tkm_signer *s = arg;
    pthread_mutex_lock(&s->q_mu);
    size_t n = s->q_len;
    pthread_mutex_unlock(&s->q_mu);
    return (double)n;
}

static tkm_rc health_state(void *arg) { return tkm_engine_health(((tkm_signer *)arg)->e); }
static tkm_rc health_keys(void *arg) {
    tkm_signer *s = arg;
    /* the audit key is unsealed when the state opens; signing keys are listed and unseal on first use */
    TKM_TRY(tkm_engine_health(s->e));
    pthread_rwlock_rdlock(&s->dir_rw);
    int ok = s->dir.by_addr != NULL;
    pthread_rwlock_unlock(&s->dir_rw);
    if (!ok) tkm_err_detail_set("the key directory is not loaded");
    TKM_ENSURE(ok, TKM_ERR_UNAVAILABLE);
    return TKM_RC_OK;
}

static tkm_rc register_metrics(tkm_signer *s, tkm_metrics *m) {
    static const double lat[] = {0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 1};
    static const double sizes[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
    static const char *const by_method[] = {"method", NULL};
    static const char *const by_decision[] = {"method", "decision", NULL};
    static const char *const by_reason[] = {"reason", NULL};
    TKM_TRY(tkm_metrics_histogram(m, &s->m_sign_seconds, "teekm_sign_duration_seconds",
                                  "Signing requests from arrival to answer (queue, evaluation, durable commit, signature)",
                                  by_method, lat, sizeof lat / sizeof lat[0]));
    TKM_TRY(tkm_metrics_counter(m, &s->m_decisions, "teekm_sign_requests_total",
                                "Signing requests by method and decision (allow, deny, error)", by_decision));
    TKM_TRY(tkm_metrics_counter(m, &s->m_rejections, "teekm_policy_rejections_total",
                                "Signing requests refused, by policy reason code", by_reason));
    TKM_TRY(tkm_metrics_histogram(m, &s->m_batch, "teekm_commit_batch_size", "Jobs per durable group commit", NULL,
                                  sizes, sizeof sizes / sizeof sizes[0]));
    TKM_TRY(tkm_metrics_counter(m, &s->m_audit_dropped, "teekm_audit_dropped_total",
                                "Access denials that could not be audited (signing queue full)", NULL));
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_keys_loaded", "Active signer keys", g_keys, s));
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_state_version", "Version of the protected state", g_state, s));
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_audit_sequence", "Sequence number of the last audit record", g_audit, s));
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_evidence_age_seconds", "Seconds since attestation evidence was last produced",
                                 g_evidence_age, s));
    TKM_TRY(tkm_metrics_gauge_fn(m, "teekm_sign_queue_depth", "Jobs waiting for a commit", g_queue, s));
    return TKM_RC_OK;
}

/* ---- what was collected before a restart ---- */

typedef struct {
    tkm_signer *s;
    tkm_rc rc;
} load_ctx;

static int load_pending(void *ctx, const tkm_store_pending *r) {
    load_ctx *c = ctx;
    pending *p = calloc(1, sizeof *p);
    if (!p) {
        c->rc = TKM_RC(TKM_ERR_NOMEM);
        return 1;
    }
    p->r = *r;
    p->next = c->s->pend;
    c->s->pend = p;
    c->s->n_pend++;
    return 0;
}

static int load_proposal(void *ctx, const tkm_store_proposal *r) {
    load_ctx *c = ctx;
    proposal *p = calloc(1, sizeof *p);
    uint8_t *doc = p ? malloc(r->doc_len) : NULL;
    if (!doc) {
        free(p);
        c->rc = TKM_RC(TKM_ERR_NOMEM);
        return 1;
    }
    memcpy(doc, r->doc, r->doc_len);
    p->r = *r;
    p->r.doc = doc;
    p->next = c->s->props;
    c->s->props = p;
    c->s->n_props++;
    return 0;
}

/*
 * The requests prepared for approvals and the policy proposals the state
 * holds (the engine dropped the expired ones when it opened): a restart or a
 * crash loses no approval. The caps (max_pending, MAX_PROPOSALS) count them:
 * while more are held than a lowered cap allows, new ones are refused until
 * they are decided or expire; none is thrown away.
 */
static tkm_rc load_collected(tkm_signer *s) {
    load_ctx c = {s, TKM_RC_OK};
    TKM_TRY(tkm_engine_pending_visit(s->e, load_pending, &c));
    TKM_TRY(c.rc);
    TKM_TRY(tkm_engine_proposal_visit(s->e, load_proposal, &c));
    TKM_TRY(c.rc);
    if (s->n_pend || s->n_props)
        tkm_log(TKM_LOG_INFO, "signer", "%zu prepared request(s) and %zu policy proposal(s) with their approvals loaded",
                s->n_pend, s->n_props);
    if (s->n_pend > s->cfg.max_pending)
        tkm_log(TKM_LOG_WARN, "signer", "%zu prepared requests exceed max_pending %zu: new ones are refused until they "
                "are signed or expire", s->n_pend, s->cfg.max_pending);
    return TKM_RC_OK;
}

/* ---- lifecycle ---- */

tkm_rc tkm_signer_new(tkm_signer **out, const tkm_signer_config *cfg) {
    *out = NULL;
    TKM_ARG_CHECK(cfg && cfg->instance);
    tkm_signer *s = calloc(1, sizeof *s);
    TKM_ENSURE(s, TKM_ERR_NOMEM);
    s->cfg = *cfg;
    if (!s->cfg.default_validity) s->cfg.default_validity = DEF_VALIDITY;
    if (!s->cfg.max_queue) s->cfg.max_queue = DEF_MAX_QUEUE;
    if (!s->cfg.max_pending) s->cfg.max_pending = DEF_MAX_PENDING;
    if (!s->cfg.batch) s->cfg.batch = DEF_BATCH;
    if (s->cfg.batch > MAX_BATCH) s->cfg.batch = MAX_BATCH;
    s->in = cfg->instance;
    s->e = tkm_instance_engine(s->in);
    tkm_engine_instance_id(s->e, s->instance_id);
    memcpy(s->operator_fpr, tkm_instance_operator_fingerprint(s->in), 32);
    pthread_mutex_init(&s->policy_mu, NULL);
    pthread_rwlock_init(&s->dir_rw, NULL);
    pthread_mutex_init(&s->q_mu, NULL);
    pthread_cond_init(&s->q_cv, NULL);
    pthread_mutex_init(&s->aux_mu, NULL);
    pthread_cond_init(&s->aux_cv, NULL);
    pthread_mutex_init(&s->pend_mu, NULL);
    pthread_mutex_init(&s->pend_wr_mu, NULL);
    pthread_mutex_init(&s->prop_mu, NULL);
    pthread_mutex_init(&s->admin_mu, NULL);
    pthread_mutex_init(&s->pool_mu, NULL);
    tkm_rc rc = TKM_RC_OK;
    s->outcomes = calloc(OUTCOMES, sizeof *s->outcomes);
    if (!s->outcomes) rc = TKM_RC(TKM_ERR_NOMEM);
    if (tkm_ok(rc)) rc = tkm_entropy_bytes((uint8_t *)&s->id_prefix, sizeof s->id_prefix);
    if (tkm_ok(rc)) rc = signer_policy_reload(s);
    if (tkm_ok(rc)) rc = signer_dir_reload(s);
    if (tkm_ok(rc)) rc = load_collected(s);
    if (tkm_failed(rc)) {
        tkm_signer_free(s);
        return rc;
    }
    signer_refresh_state(s);
    *out = s;
    return TKM_RC_OK;
}

tkm_rc tkm_signer_attach(tkm_signer *s, tkm_api_server *srv) {
    TKM_ARG_CHECK(s && srv && !s->srv);
    s->srv = srv;
    tkm_metrics *m = tkm_api_server_metrics(srv);
    TKM_TRY(register_metrics(s, m));
    tkm_rpc_limits lim = {.max_batch = 100};
    tkm_rpc_method methods[32];
    TKM_ENSURE(signer_rpc_n_methods <= 32, TKM_ERR_INTERNAL);
    for (size_t i = 0; i < signer_rpc_n_methods; i++) {
        methods[i] = signer_rpc_methods[i];
        methods[i].arg = s;
    }
    TKM_TRY(tkm_rpc_endpoint_new(&s->ep, methods, signer_rpc_n_methods, m, &lim));
    tkm_api_route rpc = {.name = "jsonrpc", .methods = TKM_HTTP_POST, .path = "/", .flags = TKM_API_ROUTE_JSON,
                         .fn = tkm_rpc_handle, .arg = s->ep};
    TKM_TRY(tkm_api_server_route(srv, &rpc));
    TKM_TRY(signer_admin_routes(s));
    TKM_TRY(tkm_api_server_health_check(srv, "state", health_state, s));
    TKM_TRY(tkm_api_server_health_check(srv, "keys", health_keys, s));
    if (pthread_create(&s->committer, NULL, committer_main, s) != 0) TKM_ENSURE(0, TKM_ERR_NOMEM);
    s->committer_started = 1;
    if (pthread_create(&s->aux, NULL, aux_main, s) != 0) TKM_ENSURE(0, TKM_ERR_NOMEM);
    s->aux_started = 1;
    return TKM_RC_OK;
}

void tkm_signer_stop(tkm_signer *s) {
    if (!s) return;
    pthread_mutex_lock(&s->aux_mu);
    s->aux_stop = 1;
    pthread_cond_broadcast(&s->aux_cv);
    pthread_mutex_unlock(&s->aux_mu);
    if (s->aux_started) {
        pthread_join(s->aux, NULL);
        s->aux_started = 0;
    }
    pthread_mutex_lock(&s->q_mu);
    s->q_stop = 1; /* the committer drains what is queued, then exits */
    pthread_cond_broadcast(&s->q_cv);
    pthread_mutex_unlock(&s->q_mu);
    if (s->committer_started) {
        pthread_join(s->committer, NULL);
        s->committer_started = 0;
    }
}

void tkm_signer_free(tkm_signer *s) {
    if (!s) return;
    tkm_signer_stop(s);
    while (s->aux_head) { /* tasks queued after the aux thread stopped */
        aux_task *t = s->aux_head;
        s->aux_head = t->next;
        free(t);
    }
    tkm_rpc_endpoint_free(s->ep);
    while (s->policies) {
        policy_ref *r = s->policies;
        s->policies = r->next;
        tkm_policy_free(r->p);
        free(r);
    }
    while (s->pend) {
        pending *p = s->pend;
        s->pend = p->next;
        free(p);
    }
    while (s->props) {
        proposal *p = s->props;
        s->props = p->next;
        free(p->r.doc);
        free(p);
    }
    while (s->pool) {
        job *j = s->pool;
        s->pool = j->next;
        free(j);
    }
    free(s->outcomes);
    free(s->dir.by_label);
    free(s->dir.by_addr);
    pthread_mutex_destroy(&s->policy_mu);
    pthread_rwlock_destroy(&s->dir_rw);
    pthread_mutex_destroy(&s->q_mu);
    pthread_cond_destroy(&s->q_cv);
    pthread_mutex_destroy(&s->aux_mu);
    pthread_cond_destroy(&s->aux_cv);
    pthread_mutex_destroy(&s->pend_mu);
    pthread_mutex_destroy(&s->pend_wr_mu);
    pthread_mutex_destroy(&s->prop_mu);
    pthread_mutex_destroy(&s->admin_mu);
    pthread_mutex_destroy(&s->pool_mu);
    free(s);
}
