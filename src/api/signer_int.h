/*
 * signer_int.h — private to the api module: the parts of the signer service
 * (signer.c: lifecycle, key directory, policy snapshots, committer, hooks,
 * metrics; signer_rpc.c: the JSON-RPC methods; signer_admin.c: /admin/v1).
 */
#ifndef TKM_SIGNER_INT_H
#define TKM_SIGNER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "tkm_signer.h"

/* ---- key directory: label → key, address → key (read on every request) ---- */
typedef struct {
    char label[TKM_POLICY_NAME_MAX + 1];
    uint8_t addr[20];
    tkm_store_key_status status;
    int64_t created;
} dir_key;

typedef struct {
    dir_key *by_label; /* sorted by label */
    size_t n;
    uint32_t *by_addr; /* indexes into by_label, sorted by address */
    size_t n_active;
} key_dir;

/* ---- the queue in front of the engine ---- */
typedef enum { JOB_SIGN_TX = 1, JOB_SIGN_TYPED = 2, JOB_REJECT = 3, JOB_AUDIT = 4, JOB_SIGN_MESSAGE = 5 } job_kind;

typedef struct job {
    struct job *next;
    job_kind kind;
    tkm_rpc_call *call; /* NULL for audit-only jobs */
    const char *method; /* static: for metrics */
    tkm_sign_request sr;
    tkm_tx tx; /* JOB_SIGN_TX: assembled into the raw signed transaction */
    int has_tx;
    uint8_t key_addr[20];
    json_t *audit_body; /* JOB_AUDIT */
    uint64_t t0;        /* monotonic ns at arrival */
    tkm_sign_result res;
    tkm_rc rc;
} job;

/*
 * ---- requests prepared for approvals (teekm_prepare / teekm_submitApproval) ----
 * The in-memory view of the engine's prepared records (loaded at start, each
 * change committed there first): r.intent.not_after is the request's
 * notAfter, r.approvals[i].signer the recovered signer of each approval.
 */
typedef struct pending {
    struct pending *next;
    tkm_store_pending r;
} pending;

/* ---- outcomes of recent requests (teekm_status) ---- */
typedef struct {
    char request_id[TKM_REQUEST_ID_MAX + 1];
    int allowed;
    char reason[32];
    char rule[TKM_POLICY_NAME_MAX + 1];
    char detail[256];
    uint8_t sig[65];
    int has_sig;
    uint64_t audit_seq;
    int64_t time;
} outcome;
#define OUTCOMES 1024

/* ---- policy proposals (admin): the engine's proposal records, r.doc owned by the entry ---- */
typedef struct proposal {
    struct proposal *next;
    tkm_store_proposal r;
} proposal;

typedef struct policy_ref {
    struct policy_ref *next;
    tkm_policy *p;
} policy_ref;

struct tkm_signer {
    tkm_signer_config cfg;
    tkm_instance *in;
    tkm_engine *e;
    tkm_api_server *srv;
    tkm_rpc_endpoint *ep;
    uint8_t instance_id[32];
    uint8_t operator_fpr[32];

    /* policy: the current snapshot is read lock-free; old ones are kept until free */
    _Atomic(tkm_policy *) policy;
    policy_ref *policies;
    pthread_mutex_t policy_mu;
    int chain_single; /* eth_chainId answer */
    uint64_t chain_id;

    pthread_rwlock_t dir_rw;
    key_dir dir;

    /* committer */
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    job *q_head, *q_tail;
    size_t q_len;
    int q_stop;
    pthread_t committer;
    int committer_started;

    /* aux thread: slow JSON-RPC methods (evidence, status lookups) */
    pthread_mutex_t aux_mu;
    pthread_cond_t aux_cv;
    struct aux_task *aux_head, *aux_tail;
    int aux_stop;
    pthread_t aux;
    int aux_started;

    pthread_mutex_t pend_wr_mu; /* one writer of prepared records at a time (store first, then memory) */
    pthread_mutex_t pend_mu;    /* the list (read on every signing request: never held across a commit) */
    pending *pend;
    size_t n_pend;
    outcome *outcomes; /* ring of OUTCOMES */
    size_t outcome_next;

    pthread_mutex_t prop_mu; /* the proposals, memory and state (admin only: held across their commits) */
    proposal *props;
    size_t n_props;

    pthread_mutex_t admin_mu; /* one admin operation at a time (key events, activation) */

    /* recycled jobs: a job is ~10 KB, allocated on a loop thread and freed on the committer */
    pthread_mutex_t pool_mu;
    job *pool;
    size_t n_pool;

    /* metrics */
    tkm_metric *m_sign_seconds, *m_decisions, *m_rejections, *m_batch, *m_audit_dropped;
    _Atomic uint64_t state_version, audit_seq;
    _Atomic uint64_t id_seq;
    uint32_t id_prefix;
};

typedef struct aux_task {
    struct aux_task *next;
    void (*fn)(struct aux_task *t);
    tkm_signer *s;
    tkm_rpc_call *call;
    char arg[TKM_REQUEST_ID_MAX + 1];
    uint8_t nonce[TKM_CLAIMS_NONCE_MAX];
    size_t nonce_len;
    unsigned roles; /* the caller's */
} aux_task;

/* signer.c */
tkm_policy *signer_policy(tkm_signer *s);
int signer_key_by_addr(tkm_signer *s, const uint8_t addr[20], dir_key *out);
int signer_key_by_label(tkm_signer *s, const char *label, dir_key *out);
tkm_rc signer_dir_reload(tkm_signer *s);
tkm_rc signer_policy_reload(tkm_signer *s);
/* 1 when the caller may sign with this key (operator, insecure-loopback callers, or the policy's clients entry) */
int signer_may_use(tkm_signer *s, const tkm_api_identity *id, const char *label, const uint8_t addr[20]);
/* Queue a job for the committer. Returns: OK or TKM_ERR_QUEUE_FULL / TKM_ERR_SHUTTING_DOWN (job not taken). */
tkm_rc signer_enqueue(tkm_signer *s, job *j);
/* A zeroed job (recycled when possible), NULL when out of memory; back with signer_job_free. */
job *signer_job_new(tkm_signer *s);
void signer_job_free(tkm_signer *s, job *j);
tkm_rc signer_aux(tkm_signer *s, aux_task *t);
void signer_new_request_id(tkm_signer *s, char out[TKM_REQUEST_ID_MAX + 1]);
void signer_outcome_put(tkm_signer *s, const job *j);
int signer_outcome_get(tkm_signer *s, const char *request_id, outcome *out);
void signer_refresh_state(tkm_signer *s);
json_t *signer_addr(const uint8_t a[20]);

/* signer_rpc.c */
extern const tkm_rpc_method signer_rpc_methods[];
extern const size_t signer_rpc_n_methods;
void signer_job_finish(tkm_signer *s, job *j); /* complete a job's call after its commit (committer thread) */

/* signer_admin.c */
tkm_rc signer_admin_routes(tkm_signer *s);

#endif
