/* see tkm_instance.h */
#include "tkm_instance.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../crypto/crypto.h"
#include "api_int.h"
#include "tkm_http.h"

#define SEAL_STATE "teekm/state/v1"
#define SEAL_HWM "teekm/hwm/v1"
#define SEAL_INSTANCE "teekm/instance/v1"
/* HKDF salt of the keys derived from a verifier-released state key (labels as the seal key's) */
#define RELEASED_SALT "teekm/released-state-key/v1"
#define VERIFIER_URL_MAX 512
#define INSTANCE_JSON_MAX 8192
#define CERT_DAYS 365

struct tkm_instance {
    char dir[PATH_MAX];
    char client_ca[PATH_MAX + 32];
    int lock_fd;
    tkm_tee *tee;
    tkm_engine *engine;
    tkm_secret *hwm_key;
    char platform[8];
    uint8_t instance_id[32];
    uint8_t operator_fpr[32];
    tkm_ratls_key *tls_key;
    X509 *cert;
    char **names;
    size_t n_names;
    pthread_mutex_t mu; /* key set, attestation */
    tkm_claim_key *keys;
    size_t n_keys, cap_keys;
    _Atomic int64_t evidence_time;
    /* the verifier the instance registers with ("" when none): its state key's source, or given at start */
    char verifier_url[VERIFIER_URL_MAX];
    char verifier_ca[PATH_MAX];
    unsigned verifier_retries;
    /* outcomes of the registrations made through this instance (tkm_instance_registration_info) */
    pthread_mutex_t reg_mu;
    tkm_instance_reg_info reg;
    /* tkm_instance_on_change: called under mu */
    tkm_instance_change_fn on_change;
    void *on_change_arg;
    /* the remote counter and trusted time (vtrust.c); NULL without a verifier */
    api_vtrust *vt;
    uint64_t open_version; /* the state's version as the store found it at open */
};

static const char *const DEFAULT_NAMES[] = {"127.0.0.1", "::1", "localhost"};

static int path_of(char *out, size_t cap, const char *dir, const char *name) {
    return snprintf(out, cap, "%s/%s", dir, name) < (int)cap ? 0 : -1;
}

/* ---- the directory lock ---- */

static tkm_rc lock_dir(const char *dir, int *fd_out) {
    char p[PATH_MAX + 8];
    *fd_out = -1;
    if (path_of(p, sizeof p, dir, "lock") != 0) TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    int fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        tkm_err_detail_set("cannot open %s: %s", p, strerror(errno));
        TKM_ENSURE(0, TKM_ERR_IO);
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        tkm_err_detail_set("%s is in use by another process (teekmd running?)", dir);
        TKM_ENSURE(0, TKM_ERR_STORE_BUSY);
    }
    *fd_out = fd;
    return TKM_RC_OK;
}

/* ---- platform and keys ---- */

static tkm_rc open_tee(tkm_tee **t, const char *dir, const char *name, const char *root, const tkm_tee_sys *sys,
                       int allow_debug, int create_sim_key) {
    char simkey[PATH_MAX + 16];
    if (path_of(simkey, sizeof simkey, dir, "sim.key") != 0) TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    tkm_tee_opts to;
    memset(&to, 0, sizeof to);
    to.root = root;
    to.sys = sys;
    to.sim_key_file = simkey;
    to.sim_create_key = create_sim_key;
    to.allow_debug = allow_debug;
    TKM_TRY(tkm_tee_open(t, name, &to));
    tkm_rc rc = tkm_tee_entropy_check(*t);
    if (tkm_failed(rc)) {
        tkm_tee_close(*t);
        *t = NULL;
    }
    return rc;
}

/*
 * Where the instance's keys come from (recorded in instance.json as
 * "stateKey"): the platform seal key, seal_key(label); or the 32-byte key the
 * verifier released after appraisal (root), with
 * key(label) = HKDF-SHA256(salt RELEASED_SALT, ikm root, info label).
 * The labels are the same either way: the state key, the high-water mark key
 * and the instance.json MAC key.
 */
typedef struct {
    tkm_tee *tee;
    tkm_secret *root; /* NULL: the seal key */
} keysrc;

static tkm_rc derive_key(const keysrc *s, const char *label, tkm_secret **k) {
    *k = NULL;
    if (!s->root) {
        tkm_rc rc = tkm_tee_seal_key(s->tee, k, label);
        if (rc.code == TKM_ERR_TEE_NO_SEAL_KEY)
            tkm_err_detail_set("%s has no seal key: its state key must come from teekm-verifier "
                               "(--state-key verifier --verifier URL --verifier-ca FILE)", tkm_tee_name(s->tee));
        return rc;
    }
    tkm_secret *o = NULL;
    TKM_TRY(tkm_secret_new(&o, 32));
    tkm_rc rc = tkm_hkdf_sha256(tkm_secret_mut(o), 32, (const uint8_t *)RELEASED_SALT, strlen(RELEASED_SALT),
                                tkm_secret_ptr(s->root), tkm_secret_len(s->root), (const uint8_t *)label, strlen(label));
    if (tkm_failed(rc)) {
        tkm_secret_free(o);
        return rc;
    }
    *k = o;
    return TKM_RC_OK;
}

/*
 * The state version to claim when asking for the key, before the state can be
 * opened: the high-water mark's (the largest version this instance attested),
 * read without its MAC — its key comes from the released key. The store's
 * open check verifies the mark (MAC, instance) right after. A missing mark
 * claims 0. Returns: OK; TKM_ERR_STORE_TAMPER (not a mark);
 * TKM_ERR_STORE_CLONE (another instance's).
 */
static tkm_rc hwm_peek(const char *dir, const uint8_t instance_id[32], uint64_t *version) {
    *version = 0;
    char p[PATH_MAX + 8];
    if (path_of(p, sizeof p, dir, "hwm") != 0) TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    tkm_hwm m;
    int present;
    TKM_TRY(tkm_hwm_peek(&m, &present, p));
    if (!present) return TKM_RC_OK;
    if (memcmp(m.instance_id, instance_id, 32) != 0) {
        tkm_err_detail_set("the high-water mark belongs to another instance than instance.json names");
        TKM_ENSURE(0, TKM_ERR_STORE_CLONE);
    }
    *version = m.version;
    return TKM_RC_OK;
}

/*
 * With the remote counter, the state version to claim at key release also
 * covers the local counter file (advanced at every commit, before the remote
 * one: never behind it), read without its MAC like the mark: the verifier
 * refuses to release the key for a claim below its counter (docs/verifier.md
 * "state.version"), and that claim is what an honest directory has.
 */
static tkm_rc counter_peek(const char *dir, uint64_t *version) {
    char p[PATH_MAX + 16];
    int present;
    if (path_of(p, sizeof p, dir, "counter") != 0) TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    return tkm_counter_file_peek(p, version, &present);
}

/*
 * The monotonic counter behind the store's anti-rollback: a MAC'd file next
 * to the state (it catches a state restored without its counter, not a host
 * that restores both: docs/store.md), wrapped with teekm-verifier's remote
 * counter when the instance has it ("remoteCounter", vtrust.c).
 */
static tkm_rc instance_counter(tkm_counter *c, const char *dir, const tkm_secret *seal) {
    char p[PATH_MAX + 16];
    if (path_of(p, sizeof p, dir, "counter") != 0) TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    return tkm_counter_file_open(c, p, seal);
}

/* The instance's verifier link (vtrust.c) and the store's counter through it; *c is closed on failure. */
static tkm_rc verifier_link(tkm_instance *in, const api_verifier *v, int remote, tkm_counter *c) {
    tkm_rc rc = api_vtrust_new(&in->vt, v, in->instance_id, remote);
    if (tkm_failed(rc)) {
        if (c->close) c->close(c->ctx);
        memset(c, 0, sizeof *c);
        return rc;
    }
    return api_vtrust_counter(in->vt, c, *c); /* takes the local counter, also on failure */
}

/* ---- instance.json ---- */

static json_t *addrj(const uint8_t a[20]) {
    char s[TKM_ETH_ADDR_STR_LEN];
    tkm_eth_address_checksum(s, a);
    return json_string(s);
}

/* MAC over the canonical form of the document without "mac". */
static tkm_rc instance_mac(uint8_t mac[32], const json_t *doc, const tkm_secret *k) {
    json_t *c = json_deep_copy(doc);
    TKM_ENSURE(c, TKM_ERR_NOMEM);
    json_object_del(c, "mac");
    tkm_wr w;
    tkm_wr_init(&w, INSTANCE_JSON_MAX);
    tkm_rc rc = tkm_json_canonical(c, &w);
    if (tkm_ok(rc)) rc = tkm_hmac_sha256(mac, tkm_secret_ptr(k), tkm_secret_len(k), w.p, w.len);
    tkm_wr_free(&w);
    json_decref(c);
    return rc;
}

typedef struct {
    char platform[8];
    uint8_t instance_id[32];
    uint8_t operator_fpr[32];
    int from_verifier;                  /* "stateKey": "verifier" (absent: "seal", instances made before it) */
    char verifier_url[VERIFIER_URL_MAX]; /* "verifier": {"url"}, "" when absent */
    int has_signer;                     /* "verifier": {"signer"}: the verifier's pinned signer address */
    uint8_t verifier_signer[20];
    int remote_counter;                 /* "remoteCounter": true (absent: false); never switched off */
    json_t *doc;
} instance_file;

static const char *source_name(int from_verifier) { return from_verifier ? "verifier" : "seal"; }

static tkm_rc read_instance_file(instance_file *f, const char *dir) {
    memset(f, 0, sizeof *f);
    char p[PATH_MAX + 16];
    if (path_of(p, sizeof p, dir, "instance.json") != 0) TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    uint8_t *b = NULL;
    size_t n = 0;
    tkm_rc rc = tkm_file_read(p, INSTANCE_JSON_MAX, 0, &b, &n);
    if (rc.code == TKM_ERR_NOT_FOUND) tkm_err_detail_set("%s holds no instance (run teekm init)", dir);
    TKM_TRY(rc);
    rc = tkm_json_load(&f->doc, b, n, NULL);
    free(b);
    TKM_TRY(rc);
    static const char *const fields[] = {"teekm_instance", "instanceId", "platform", "createdAt", "auditAddress",
                                         "operator", "stateKey", "verifier", "remoteCounter", "mac", NULL};
    static const char *const vf[] = {"url", "signer", NULL};
    static const char *const opf[] = {"subject", "fingerprint", NULL};
    int64_t fmt;
    const char *plat;
    size_t pl;
    json_t *op;
    uint8_t mac[32];
    TKM_TRY(tkm_json_check_fields(f->doc, "instance", fields));
    TKM_TRY(tkm_json_int(f->doc, "instance", "teekm_instance", 1, TKM_INSTANCE_FORMAT, TKM_INSTANCE_FORMAT, &fmt, NULL));
    TKM_TRY(tkm_json_hexfixed(f->doc, "instance", "instanceId", 1, f->instance_id, 32, NULL));
    TKM_TRY(tkm_json_str(f->doc, "instance", "platform", 1, &plat, &pl));
    TKM_TRY(tkm_json_hexfixed(f->doc, "instance", "mac", 1, mac, 32, NULL));
    TKM_TRY(tkm_json_get(f->doc, "instance", "operator", 1, &op));
    TKM_TRY(tkm_json_check_fields(op, "instance.operator", opf));
    TKM_TRY(tkm_json_hexfixed(op, "instance.operator", "fingerprint", 1, f->operator_fpr, 32, NULL));
    tkm_tee_kind kind;
    if (pl >= sizeof f->platform || tkm_failed(tkm_tee_kind_parse(plat, &kind)) || kind == TKM_TEE_KIND_NONE) {
        tkm_err_detail_set("instance.platform: unknown platform");
        TKM_ENSURE(0, TKM_ERR_FORMAT);
    }
    memcpy(f->platform, plat, pl + 1);
    const char *src = NULL, *url = NULL;
    size_t sl = 0, ul = 0;
    json_t *v = NULL;
    TKM_TRY(tkm_json_str(f->doc, "instance", "stateKey", 0, &src, &sl));
    if (src && strcmp(src, "verifier") == 0)
        f->from_verifier = 1;
    else if (src && strcmp(src, "seal") != 0) {
        tkm_err_detail_set("instance.stateKey: \"seal\" or \"verifier\"");
        TKM_ENSURE(0, TKM_ERR_FORMAT);
    }
    TKM_TRY(tkm_json_get(f->doc, "instance", "verifier", 0, &v));
    if (v) {
        TKM_TRY(tkm_json_check_fields(v, "instance.verifier", vf));
        /* the URL is recorded for the verifier source only (a seal-keyed instance records the signer pin) */
        TKM_TRY(tkm_json_str(v, "instance.verifier", "url", f->from_verifier, &url, &ul));
        if (url && (ul == 0 || ul >= sizeof f->verifier_url || strlen(url) != ul)) {
            tkm_err_detail_set("instance.verifier.url: 1..%d bytes", VERIFIER_URL_MAX - 1);
            TKM_ENSURE(0, TKM_ERR_FORMAT);
        }
        if (url) memcpy(f->verifier_url, url, ul + 1);
        const char *sg = NULL;
        size_t sgl = 0;
        TKM_TRY(tkm_json_str(v, "instance.verifier", "signer", 0, &sg, &sgl));
        if (sg) {
            tkm_rc arc = tkm_eth_address_parse(f->verifier_signer, sg, sgl);
            if (tkm_failed(arc)) {
                tkm_err_detail_set("instance.verifier.signer: not an address");
                return arc;
            }
            f->has_signer = 1;
        }
    }
    int rcp = 0;
    TKM_TRY(tkm_json_bool(f->doc, "instance", "remoteCounter", 0, &f->remote_counter, &rcp));
    if (f->remote_counter && !v) {
        tkm_err_detail_set("instance.remoteCounter: needs instance.verifier");
        TKM_ENSURE(0, TKM_ERR_FORMAT);
    }
    if (f->from_verifier && !v) {
        tkm_err_detail_set("instance.verifier: required with \"stateKey\": \"verifier\"");
        TKM_ENSURE(0, TKM_ERR_FORMAT);
    }
    return TKM_RC_OK;
}

static tkm_rc check_instance_mac(const instance_file *f, const keysrc *ks) {
    tkm_secret *k = NULL;
    uint8_t want[32], got[32];
    TKM_TRY(derive_key(ks, SEAL_INSTANCE, &k));
    tkm_rc rc = instance_mac(want, f->doc, k);
    tkm_secret_free(k);
    TKM_TRY(rc);
    TKM_TRY(tkm_json_hexfixed(f->doc, "instance", "mac", 1, got, 32, NULL));
    if (!tkm_ct_eq(want, got, 32)) {
        if (ks->root)
            tkm_err_detail_set("instance.json fails its MAC under the key the verifier released: edited, or "
                               "another verifier (another master key) released a different key; nothing was changed");
        else
            tkm_err_detail_set("instance.json fails its MAC: edited, or sealed by another platform or build");
        TKM_ENSURE(0, TKM_ERR_STORE_TAMPER);
    }
    return TKM_RC_OK;
}

/* Write doc (without "mac") with its MAC to DIR/instance.json, atomically. doc gets the "mac" member. */
static tkm_rc write_instance_file(const char *dir, json_t *doc, const keysrc *ks) {
    tkm_secret *ik = NULL;
    uint8_t mac[32];
    char p[PATH_MAX + 16];
    json_object_del(doc, "mac");
    TKM_TRY(derive_key(ks, SEAL_INSTANCE, &ik));
    tkm_rc rc = instance_mac(mac, doc, ik);
    tkm_secret_free(ik);
    TKM_TRY(rc);
    TKM_ENSURE(json_object_set_new(doc, "mac", tkm_json_hex_new(mac, 32)) == 0, TKM_ERR_NOMEM);
    char *txt = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    TKM_ENSURE(txt, TKM_ERR_NOMEM);
    size_t tl = strlen(txt);
    txt[tl] = '\n';
    if (path_of(p, sizeof p, dir, "instance.json") != 0) {
        free(txt);
        TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    }
    rc = tkm_file_replace(p, 0644, txt, tl + 1);
    free(txt);
    return rc;
}

/*
 * Record what the verifier link learned or was asked for: the verifier's
 * signer (pinned on first use) and "remoteCounter": true (switched on, never
 * off). Under the MAC, so a host cannot edit either back.
 */
static tkm_rc record_verifier_link(const char *dir, json_t *doc, const keysrc *ks, const uint8_t *signer,
                                   int remote_counter) {
    if (signer) {
        json_t *v = json_object_get(doc, "verifier");
        if (!v) {
            TKM_ENSURE(json_object_set_new(doc, "verifier", json_object()) == 0, TKM_ERR_NOMEM);
            v = json_object_get(doc, "verifier");
        }
        TKM_ENSURE(json_is_object(v), TKM_ERR_INTERNAL);
        TKM_ENSURE(json_object_set_new(v, "signer", addrj(signer)) == 0, TKM_ERR_NOMEM);
    }
    if (remote_counter) TKM_ENSURE(json_object_set_new(doc, "remoteCounter", json_true()) == 0, TKM_ERR_NOMEM);
    return write_instance_file(dir, doc, ks);
}

/* ---- claims and attestation ---- */

static tkm_rc keys_push(tkm_instance *in, const uint8_t pub[65]) {
    if (in->n_keys == in->cap_keys) {
        size_t cap = in->cap_keys ? in->cap_keys * 2 : 64;
        tkm_claim_key *k = realloc(in->keys, cap * sizeof *k);
        TKM_ENSURE(k, TKM_ERR_NOMEM);
        in->keys = k;
        in->cap_keys = cap;
    }
    TKM_TRY(tkm_claim_key_set(&in->keys[in->n_keys], TKM_CLAIM_KEY_SECP256K1, pub, 65));
    in->n_keys++;
    return TKM_RC_OK;
}

typedef struct {
    tkm_instance *in;
    tkm_rc rc;
} visit_ctx;

static int visit_key(void *ctx, const tkm_store_key_info *info, const uint8_t *pub) {
    visit_ctx *v = ctx;
    if (info->status != TKM_STORE_KEY_ACTIVE) return 0;
    v->rc = keys_push(v->in, pub);
    return tkm_failed(v->rc);
}

static tkm_rc load_keys(tkm_instance *in) {
    visit_ctx v = {in, TKM_RC_OK};
    TKM_TRY(tkm_engine_keys_visit(in->engine, 1, visit_key, &v));
    return v.rc;
}

/* Claims over the current state (caller holds in->mu). */
static tkm_rc make_claims(tkm_instance *in, tkm_claims *c, const uint8_t *nonce, size_t nonce_len) {
    tkm_claims_init(c);
    memcpy(c->platform, in->platform, sizeof c->platform - 1); /* "sim", "sgx", "tdx", "snp" */
    c->platform[sizeof c->platform - 1] = 0;
    const uint8_t *spki;
    size_t spki_len;
    tkm_ratls_key_spki(in->tls_key, &spki, &spki_len);
    TKM_ENSURE(spki_len <= sizeof c->tls_spki, TKM_ERR_INTERNAL);
    memcpy(c->tls_spki, spki, spki_len);
    c->tls_spki_len = spki_len;
    tkm_engine_audit_address(in->engine, c->audit_addr);
    tkm_engine_policy_info(in->engine, &c->policy_version, c->policy_hash);
    memcpy(c->instance_id, in->instance_id, 32);
    uint64_t seq;
    tkm_engine_state_info(in->engine, &c->state_version, &seq);
    if (nonce_len) {
        TKM_ENSURE(nonce_len <= TKM_CLAIMS_NONCE_MAX, TKM_ERR_RANGE);
        memcpy(c->nonce, nonce, nonce_len);
        c->nonce_len = nonce_len;
    }
    if (in->n_keys <= TKM_INSTANCE_INLINE_KEYS) {
        for (size_t i = 0; i < in->n_keys; i++)
            TKM_TRY(tkm_claims_add_key(c, in->keys[i].type, in->keys[i].pub, in->keys[i].pub_len));
    } else {
        c->has_keys_digest = 1;
        c->key_count = in->n_keys;
        TKM_TRY(tkm_claims_keys_digest(c->keys_digest, in->keys, in->n_keys));
    }
    return TKM_RC_OK;
}

static tkm_rc hwm_path(char *p, size_t cap, const tkm_instance *in) {
    TKM_ENSURE(path_of(p, cap, in->dir, "hwm") == 0, TKM_ERR_TOO_LARGE);
    return TKM_RC_OK;
}

/* Claims, high-water mark, evidence: the shared part of the certificate and of teekm_evidence. */
static tkm_rc produce(tkm_instance *in, tkm_claims *c, tkm_wr *jcs, uint8_t rd[64], tkm_tee_evidence *ev,
                      const uint8_t *nonce, size_t nonce_len) {
    char hp[PATH_MAX + 8];
    TKM_TRY(hwm_path(hp, sizeof hp, in));
    TKM_TRY(make_claims(in, c, nonce, nonce_len));
    TKM_TRY(tkm_claims_encode(c, jcs));
    TKM_TRY(tkm_claims_report_data(rd, jcs->p, jcs->len));
    /* attesting an older state than one already attested would itself be a rollback */
    TKM_TRY(tkm_hwm_advance(hp, in->hwm_key, in->instance_id, c->state_version));
    TKM_TRY(tkm_tee_evidence_get(in->tee, ev, rd));
    atomic_store(&in->evidence_time, tkm_time_unix());
    return TKM_RC_OK;
}

static tkm_rc audit_attestation(tkm_instance *in, const char *purpose, const tkm_claims *c, const uint8_t rd[64],
                                const uint8_t *cert_fpr) {
    json_t *b = json_object();
    TKM_ENSURE(b, TKM_ERR_NOMEM);
    int bad = 0;
    bad |= json_object_set_new(b, "purpose", json_string(purpose));
    bad |= json_object_set_new(b, "platform", json_string(c->platform));
    bad |= json_object_set_new(b, "reportData", tkm_json_hex_new(rd, 64));
    bad |= json_object_set_new(b, "stateVersion", json_integer((json_int_t)c->state_version));
    bad |= json_object_set_new(b, "policyVersion", json_integer((json_int_t)c->policy_version));
    bad |= json_object_set_new(b, "policyHash", tkm_json_hex_new(c->policy_hash, 32));
    bad |= json_object_set_new(b, "keyCount", json_integer((json_int_t)in->n_keys));
    if (c->nonce_len) bad |= json_object_set_new(b, "nonce", tkm_json_hex_new(c->nonce, c->nonce_len));
    if (cert_fpr) bad |= json_object_set_new(b, "certificateSha256", tkm_json_hex_new(cert_fpr, 32));
    tkm_rc rc = bad ? TKM_RC(TKM_ERR_NOMEM)
                    : tkm_engine_audit_event(in->engine, TKM_AUDIT_ATTESTATION_PRODUCED, b, tkm_time_unix());
    json_decref(b);
    return rc;
}

/* A new TLS key and RA-TLS certificate over the current state; written to DIR/tls.crt. */
static tkm_rc issue_cert(tkm_instance *in) {
    tkm_claims c;
    tkm_claims_init(&c);
    tkm_wr jcs;
    tkm_wr_init(&jcs, TKM_CLAIMS_MAX_BYTES);
    tkm_tee_evidence ev;
    memset(&ev, 0, sizeof ev);
    uint8_t rd[64], fpr[32];
    uint8_t *der = NULL;
    size_t der_len = 0, pem_len = 0;
    char *pem = NULL;
    char p[PATH_MAX + 16];
    tkm_rc rc;
    pthread_mutex_lock(&in->mu);
    /* a key made earlier at this start (the key-release claims named it) is the one served */
    if (!in->tls_key) TKM_CHECK_GOTO(rc, tkm_ratls_key_new(&in->tls_key));
    TKM_CHECK_GOTO(rc, produce(in, &c, &jcs, rd, &ev, NULL, 0));
    int64_t now = tkm_time_unix();
    TKM_CHECK_GOTO(rc, tkm_ratls_cert_new_names(&der, &der_len, in->tls_key, ev.format, ev.bytes, ev.len, jcs.p, jcs.len,
                                                now - 300, now + CERT_DAYS * 86400LL, (const char *const *)in->names,
                                                in->n_names));
    const unsigned char *dp = der;
    in->cert = d2i_X509(NULL, &dp, (long)der_len);
    if (!in->cert) TKM_GOTO(rc, TKM_ERR_X509);
    TKM_CHECK_GOTO(rc, tkm_sha256(fpr, der, der_len));
    TKM_CHECK_GOTO(rc, api_der_to_pem(der, der_len, &pem, &pem_len));
    if (path_of(p, sizeof p, in->dir, "tls.crt") != 0) TKM_GOTO(rc, TKM_ERR_TOO_LARGE);
    TKM_CHECK_GOTO(rc, tkm_file_replace(p, 0644, pem, pem_len));
    TKM_CHECK_GOTO(rc, audit_attestation(in, "tls-certificate", &c, rd, fpr));
out:
    pthread_mutex_unlock(&in->mu);
    free(pem);
    free(der);
    tkm_tee_evidence_free(&ev);
    tkm_wr_free(&jcs);
    tkm_claims_free(&c);
    return rc;
}

tkm_rc tkm_instance_attest(tkm_instance *in, const uint8_t *nonce, size_t nonce_len, json_t **out) {
    *out = NULL;
    tkm_claims c;
    tkm_claims_init(&c);
    tkm_wr jcs;
    tkm_wr_init(&jcs, TKM_CLAIMS_MAX_BYTES);
    tkm_tee_evidence ev;
    memset(&ev, 0, sizeof ev);
    uint8_t rd[64];
    json_t *o = NULL, *cj = NULL, *view = NULL;
    tkm_rc rc;
    pthread_mutex_lock(&in->mu);
    TKM_CHECK_GOTO(rc, produce(in, &c, &jcs, rd, &ev, nonce, nonce_len));
    tkm_ev_view v;
    TKM_CHECK_GOTO(rc, tkm_ev_inspect(&v, ev.format, ev.bytes, ev.len));
    TKM_CHECK_GOTO(rc, tkm_ev_view_json(&v, 0, &view));
    TKM_CHECK_GOTO(rc, tkm_claims_to_json(&c, &cj));
    o = json_object();
    if (!o) TKM_GOTO(rc, TKM_ERR_NOMEM);
    int bad = 0;
    bad |= json_object_set_new(o, "platform", json_string(in->platform));
    bad |= json_object_set_new(o, "format", json_string(tkm_ev_format_name(ev.format)));
    bad |= json_object_set_new(o, "claims", json_stringn((const char *)jcs.p, jcs.len));
    bad |= json_object_set(o, "claimsObject", cj);
    bad |= json_object_set_new(o, "evidence", tkm_json_hex_new(ev.bytes, ev.len));
    bad |= json_object_set_new(o, "reportData", tkm_json_hex_new(rd, 64));
    bad |= json_object_set_new(o, "stateVersion", json_integer((json_int_t)c.state_version));
    bad |= json_object_set(o, "view", view);
    if (c.has_keys_digest) {
        json_t *list = json_array();
        bad |= !list;
        for (size_t i = 0; !bad && i < in->n_keys; i++) {
            const tkm_claim_key *k = &in->keys[i]; /* sorted by the digest computation */
            bad |= json_array_append_new(list, json_pack("{s:s,s:o,s:o}", "type", "secp256k1", "publicKey",
                                                         tkm_json_hex_new(k->pub, k->pub_len), "address", tkm_json_hex_new(k->addr, 20)));
        }
        bad |= json_object_set_new(o, "keys", list);
    }
    if (bad) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, audit_attestation(in, "evidence", &c, rd, NULL));
    *out = o;
    o = NULL;
out:
    pthread_mutex_unlock(&in->mu);
    json_decref(o);
    json_decref(cj);
    json_decref(view);
    tkm_tee_evidence_free(&ev);
    tkm_wr_free(&jcs);
    tkm_claims_free(&c);
    return rc;
}

/* Tell the change hook (caller holds in->mu). */
static void notify_locked(tkm_instance *in) {
    if (in->on_change) in->on_change(in->on_change_arg);
}

tkm_rc tkm_instance_key_added(tkm_instance *in, const uint8_t pub[65]) {
    pthread_mutex_lock(&in->mu);
    tkm_rc rc = keys_push(in, pub);
    if (tkm_ok(rc)) notify_locked(in);
    pthread_mutex_unlock(&in->mu);
    return rc;
}

void tkm_instance_key_removed(tkm_instance *in, const uint8_t addr[20]) {
    pthread_mutex_lock(&in->mu);
    for (size_t i = 0; i < in->n_keys; i++)
        if (memcmp(in->keys[i].addr, addr, 20) == 0) {
            memmove(&in->keys[i], &in->keys[i + 1], (in->n_keys - i - 1) * sizeof *in->keys);
            in->n_keys--;
            notify_locked(in);
            break;
        }
    pthread_mutex_unlock(&in->mu);
}

void tkm_instance_claims_changed(tkm_instance *in) {
    pthread_mutex_lock(&in->mu);
    notify_locked(in);
    pthread_mutex_unlock(&in->mu);
}

void tkm_instance_on_change(tkm_instance *in, tkm_instance_change_fn fn, void *arg) {
    pthread_mutex_lock(&in->mu); /* a call in progress finishes first */
    in->on_change = fn;
    in->on_change_arg = fn ? arg : NULL;
    pthread_mutex_unlock(&in->mu);
}

/* ---- open ---- */

static tkm_rc hwm_check(void *ctx, const uint8_t instance_id[32], uint64_t state_version) {
    tkm_instance *in = ctx;
    if (memcmp(instance_id, in->instance_id, 32) != 0) {
        tkm_err_detail_set("the state belongs to another instance than instance.json names");
        TKM_ENSURE(0, TKM_ERR_STORE_CLONE);
    }
    char hp[PATH_MAX + 8];
    TKM_TRY(hwm_path(hp, sizeof hp, in));
    in->open_version = state_version; /* what the remote counter is checked against (vtrust.c) */
    return tkm_hwm_check(hp, in->hwm_key, instance_id, state_version, NULL);
}

static tkm_rc set_names(tkm_instance *in, const char *const *names, size_t n) {
    if (!names || !n) {
        names = DEFAULT_NAMES;
        n = sizeof DEFAULT_NAMES / sizeof DEFAULT_NAMES[0];
    }
    TKM_ENSURE(n <= TKM_RATLS_MAX_NAMES, TKM_ERR_RANGE);
    in->names = calloc(n, sizeof *in->names);
    TKM_ENSURE(in->names, TKM_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        in->names[i] = strdup(names[i]);
        TKM_ENSURE(in->names[i], TKM_ERR_NOMEM);
        in->n_names = i + 1;
    }
    return TKM_RC_OK;
}

/* "auto"/NULL, "seal" or "verifier" → *src (-1 = auto, 0 = seal, 1 = verifier). */
static tkm_rc parse_source(const char *s, int *src) {
    if (!s || strcmp(s, "auto") == 0)
        *src = -1;
    else if (strcmp(s, "seal") == 0)
        *src = 0;
    else if (strcmp(s, "verifier") == 0)
        *src = 1;
    else {
        tkm_err_detail_set("--state-key: seal, verifier or auto (got %s)", s);
        TKM_ENSURE(0, TKM_ERR_CONFIG);
    }
    return TKM_RC_OK;
}

/* Keep the verifier's address for re-registration (verifier_of has bounded the URL and the CA path). */
static void remember_verifier(tkm_instance *in, const api_verifier *v) {
    snprintf(in->verifier_url, sizeof in->verifier_url, "%s", v->url);
    snprintf(in->verifier_ca, sizeof in->verifier_ca, "%s", v->ca_file);
    in->verifier_retries = v->retries;
}

/*
 * The verifier connection: URL and CA are both needed, for the state key
 * (why = "the state key comes from teekm-verifier") or for registration only
 * (a seal-keyed instance given --verifier).
 */
static tkm_rc verifier_of(api_verifier *v, const char *url, const char *ca, unsigned retries, const char *why) {
    memset(v, 0, sizeof *v);
    if (!url || !url[0]) {
        tkm_err_detail_set("%s: --verifier URL is required", why);
        TKM_ENSURE(0, TKM_ERR_CONFIG);
    }
    if (!ca || !ca[0]) {
        tkm_err_detail_set("%s: --verifier-ca FILE (its TLS certificate or CA) is required", why);
        TKM_ENSURE(0, TKM_ERR_CONFIG);
    }
    if (strlen(url) >= VERIFIER_URL_MAX) {
        tkm_err_detail_set("--verifier: at most %d bytes", VERIFIER_URL_MAX - 1);
        TKM_ENSURE(0, TKM_ERR_CONFIG);
    }
    if (strlen(ca) >= PATH_MAX) {
        tkm_err_detail_set("--verifier-ca: at most %d bytes", PATH_MAX - 1);
        TKM_ENSURE(0, TKM_ERR_CONFIG);
    }
    v->url = url;
    v->ca_file = ca;
    v->retries = retries;
    return TKM_RC_OK;
}

#define WHY_KEY "the state key comes from teekm-verifier"
#define WHY_REG "registration with teekm-verifier (the state key comes from the platform seal key)"

/* One registration of the full claims (api_verifier_register), its outcome kept for tkm_instance_registration_info. */
static tkm_rc do_register(tkm_instance *in, const api_verifier *v) {
    tkm_rc rc = api_verifier_register(v, in);
    int64_t now = tkm_time_unix();
    pthread_mutex_lock(&in->reg_mu);
    in->reg.last_attempt = now;
    in->reg.last_err = rc.code;
    if (tkm_ok(rc)) in->reg.last_ok = now;
    pthread_mutex_unlock(&in->reg_mu);
    return rc;
}

/* A seal-keyed instance's registration at init or start: a failure is a warning (the state does not depend on it). */
static void register_soft(tkm_instance *in, const api_verifier *v, const char *when) {
    tkm_rc rc = do_register(in, v);
    if (tkm_ok(rc)) return;
    json_t *f = json_pack("{s:s,s:s}", "error", tkm_err_name(rc.code), "detail", tkm_err_detail());
    tkm_log_fields(TKM_LOG_WARN, "teekmd", f,
                   "registration with the verifier %s failed at %s: %s; going on (the state key comes from the "
                   "platform seal key), the registry does not show this instance's current claims until a "
                   "registration succeeds",
                   v->url, when, tkm_err_name(rc.code));
    json_decref(f);
}

/* Ask the verifier for the state key (the TLS key to serve is made now: the claims name it). */
static tkm_rc released_root(tkm_instance *in, keysrc *ks, const api_verifier *v, uint64_t state_version) {
    if (!in->tls_key) TKM_TRY(tkm_ratls_key_new(&in->tls_key));
    const uint8_t *spki;
    size_t spki_len;
    tkm_ratls_key_spki(in->tls_key, &spki, &spki_len);
    return api_keyrel_fetch(&ks->root, v, in->tee, in->instance_id, state_version, spki, spki_len);
}

static tkm_instance *instance_alloc(const char *dir) {
    tkm_instance *in = calloc(1, sizeof *in);
    if (!in) return NULL;
    in->lock_fd = -1;
    pthread_mutex_init(&in->mu, NULL);
    pthread_mutex_init(&in->reg_mu, NULL);
    if (!realpath(dir, in->dir)) snprintf(in->dir, sizeof in->dir, "%s", dir);
    snprintf(in->client_ca, sizeof in->client_ca, "%s/client-ca.crt", in->dir);
    return in;
}

tkm_rc tkm_instance_open(tkm_instance **out, const tkm_instance_open_opts *o) {
    *out = NULL;
    TKM_ARG_CHECK(o && o->dir);
    tkm_rc rc;
    instance_file f;
    memset(&f, 0, sizeof f);
    tkm_secret *seal = NULL;
    keysrc ks = {NULL, NULL};
    api_verifier v;
    memset(&v, 0, sizeof v);
    int want_src;
    TKM_TRY(parse_source(o->state_key, &want_src));
    tkm_instance *in = instance_alloc(o->dir);
    TKM_ENSURE(in, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, lock_dir(in->dir, &in->lock_fd));
    TKM_CHECK_GOTO(rc, read_instance_file(&f, in->dir));
    /* the source is fixed at init: a start never switches it (the MAC below also binds it) */
    if (want_src >= 0 && want_src != f.from_verifier) {
        tkm_err_detail_set("this instance's state key comes from the %s (recorded at init): --state-key %s would "
                           "switch its source; refused", f.from_verifier ? "verifier" : "platform seal key",
                           source_name(want_src));
        TKM_GOTO(rc, TKM_ERR_CONFIG);
    }
    if (f.from_verifier)
        TKM_CHECK_GOTO(rc, verifier_of(&v, o->verifier_url ? o->verifier_url : f.verifier_url, o->verifier_ca,
                                       o->verifier_retries, WHY_KEY));
    else if (o->verifier_url || o->verifier_ca) /* registration only: nothing recorded, given at every start */
        TKM_CHECK_GOTO(rc, verifier_of(&v, o->verifier_url, o->verifier_ca, o->verifier_retries, WHY_REG));
    /* the remote counter is recorded once chosen: a start cannot switch it off */
    int remote = f.remote_counter || o->remote_counter;
    if (remote && !v.url) {
        tkm_err_detail_set("--remote-counter: %s; teekm-verifier keeps it: --verifier URL --verifier-ca FILE are "
                           "needed at every start", f.remote_counter ? "this instance has the remote monotonic counter "
                           "(recorded in instance.json)" : "the remote monotonic counter is teekm-verifier's");
        TKM_GOTO(rc, TKM_ERR_CONFIG);
    }
    const char *want = o->tee ? o->tee : f.platform;
    if (strcmp(want, "auto") != 0 && strcmp(want, f.platform) != 0) {
        tkm_err_detail_set("this instance was initialised on the %s platform, not %s", f.platform, want);
        TKM_GOTO(rc, TKM_ERR_FORMAT);
    }
    TKM_CHECK_GOTO(rc, open_tee(&in->tee, in->dir, want, o->tee_root, o->tee_sys, o->allow_debug, 0));
    if (strcmp(tkm_tee_name(in->tee), f.platform) != 0) {
        tkm_err_detail_set("detected the %s platform; this instance was initialised on %s", tkm_tee_name(in->tee),
                           f.platform);
        TKM_GOTO(rc, TKM_ERR_FORMAT);
    }
    snprintf(in->platform, sizeof in->platform, "%s", f.platform);
    memcpy(in->instance_id, f.instance_id, 32);
    memcpy(in->operator_fpr, f.operator_fpr, 32);
    ks.tee = in->tee;
    if (f.from_verifier) {
        uint64_t sv, cv = 0;
        TKM_CHECK_GOTO(rc, hwm_peek(in->dir, in->instance_id, &sv));
        if (f.remote_counter) TKM_CHECK_GOTO(rc, counter_peek(in->dir, &cv));
        TKM_CHECK_GOTO(rc, released_root(in, &ks, &v, sv > cv ? sv : cv));
    }
    TKM_CHECK_GOTO(rc, check_instance_mac(&f, &ks));
    TKM_CHECK_GOTO(rc, derive_key(&ks, SEAL_HWM, &in->hwm_key));
    TKM_CHECK_GOTO(rc, derive_key(&ks, SEAL_STATE, &seal));
    tkm_engine_opts eo = {.dir = in->dir, .seal_key = seal, .fast_unsafe = o->fast_unsafe, .max_batch = o->max_batch,
                          .open_check = hwm_check, .open_check_ctx = in};
    TKM_CHECK_GOTO(rc, instance_counter(&eo.counter, in->dir, seal));
    if (v.url) {
        TKM_CHECK_GOTO(rc, verifier_link(in, &v, remote, &eo.counter));
        api_vtrust_engine_clock(in->vt, &eo, 1);
    }
    TKM_CHECK_GOTO(rc, tkm_engine_open(&in->engine, &eo, tkm_time_unix()));
    TKM_CHECK_GOTO(rc, load_keys(in));
    TKM_CHECK_GOTO(rc, set_names(in, o->tls_names, o->n_tls_names));
    TKM_CHECK_GOTO(rc, issue_cert(in));
    if (f.from_verifier) {
        TKM_CHECK_GOTO(rc, do_register(in, &v));
        remember_verifier(in, &v);
    } else if (v.url && remote) {
        /* the remote counter is checked before anything is served: it needs the registration */
        TKM_CHECK_GOTO(rc, do_register(in, &v));
        remember_verifier(in, &v);
    } else if (v.url) {
        /* one attempt: serving does not wait for a verifier that is away (the caller retries with backoff) */
        api_verifier once = v;
        once.retries = 0;
        remember_verifier(in, &v);
        register_soft(in, &once, "start");
    }
    if (in->vt) {
        uint8_t signer[20];
        int learned = 0;
        rc = api_vtrust_start(in->vt, in->engine, in->open_version, f.has_signer ? f.verifier_signer : NULL, signer,
                              &learned);
        if (tkm_failed(rc) && (f.from_verifier || remote)) goto out;
        if (tkm_failed(rc)) {
            /* seal-keyed, trusted time only: serve, with the clock held until a trusted time arrives */
            json_t *fl = json_pack("{s:s,s:s}", "error", tkm_err_name(rc.code), "detail", tkm_err_detail());
            tkm_log_fields(TKM_LOG_WARN, "teekmd", fl,
                           "no trusted time from the verifier at start (%s): the evaluation clock holds at the "
                           "state's largest time seen until one arrives (tried every --trusted-time-seconds)",
                           tkm_err_name(rc.code));
            json_decref(fl);
            rc = TKM_RC_OK;
        } else if (learned || (remote && !f.remote_counter)) {
            TKM_CHECK_GOTO(rc, record_verifier_link(in->dir, f.doc, &ks, learned ? signer : NULL,
                                                    remote && !f.remote_counter));
        }
    }
    *out = in;
    in = NULL;
out:
    json_decref(f.doc);
    tkm_secret_free(seal);
    tkm_secret_free(ks.root);
    tkm_instance_close(in);
    return rc;
}

void tkm_instance_close(tkm_instance *in) {
    if (!in) return;
    api_vtrust_stop(in->vt); /* its schedule uses the engine */
    tkm_engine_close(in->engine);
    api_vtrust_free(in->vt); /* after the engine: the store's counter hook borrows it */
    tkm_tee_close(in->tee);
    tkm_secret_free(in->hwm_key);
    tkm_ratls_key_free(in->tls_key);
    X509_free(in->cert);
    for (size_t i = 0; i < in->n_names; i++) free(in->names[i]);
    free(in->names);
    free(in->keys);
    if (in->lock_fd >= 0) close(in->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&in->mu);
    pthread_mutex_destroy(&in->reg_mu);
    free(in);
}

int tkm_instance_has_verifier(const tkm_instance *in) { return in->verifier_url[0] != 0; }
int tkm_instance_remote_counter(const tkm_instance *in) { return in->vt && api_vtrust_remote(in->vt); }
int64_t tkm_instance_time(tkm_instance *in, const tkm_policy *p) {
    return in->vt ? api_vtrust_time(in->vt, tkm_time_unix(), p) : tkm_time_unix();
}

static tkm_rc verifier_health(void *arg) { return api_vtrust_health(arg); }
static tkm_rc reregister(void *arg) { return tkm_instance_reattest(arg); }

tkm_rc tkm_instance_verifier_attach(tkm_instance *in, tkm_api_server *srv, unsigned refresh_seconds) {
    if (!in->vt) return TKM_RC_OK;
    TKM_ARG_CHECK(refresh_seconds >= 1);
    TKM_TRY(api_vtrust_metrics(in->vt, tkm_api_server_metrics(srv)));
    TKM_TRY(tkm_api_server_health_check(srv, "verifier", verifier_health, in->vt));
    return api_vtrust_schedule(in->vt, refresh_seconds, reregister, in);
}

tkm_rc tkm_instance_reattest(tkm_instance *in) {
    if (!in->verifier_url[0]) {
        tkm_err_detail_set("no teekm-verifier configured for this instance: nothing to re-attest to");
        TKM_ENSURE(0, TKM_ERR_CONFIG);
    }
    api_verifier v = {.url = in->verifier_url, .ca_file = in->verifier_ca, .retries = 0};
    return do_register(in, &v);
}

void tkm_instance_registration_info(const tkm_instance *in, tkm_instance_reg_info *out) {
    tkm_instance *m = (tkm_instance *)in;
    pthread_mutex_lock(&m->reg_mu);
    *out = m->reg;
    pthread_mutex_unlock(&m->reg_mu);
}

tkm_engine *tkm_instance_engine(const tkm_instance *in) { return in->engine; }
tkm_tee *tkm_instance_tee(const tkm_instance *in) { return in->tee; }
X509 *tkm_instance_cert(const tkm_instance *in) { return in->cert; }
EVP_PKEY *tkm_instance_tls_key(const tkm_instance *in) { return tkm_ratls_key_pkey(in->tls_key); }
const uint8_t *tkm_instance_operator_fingerprint(const tkm_instance *in) { return in->operator_fpr; }
const char *tkm_instance_dir(const tkm_instance *in) { return in->dir; }
const char *tkm_instance_platform(const tkm_instance *in) { return in->platform; }
const char *tkm_instance_client_ca_path(const tkm_instance *in) { return in->client_ca; }
int64_t tkm_instance_evidence_time(const tkm_instance *in) { return atomic_load(&((tkm_instance *)in)->evidence_time); }
size_t tkm_instance_key_count(const tkm_instance *in) {
    tkm_instance *m = (tkm_instance *)in;
    pthread_mutex_lock(&m->mu);
    size_t n = m->n_keys;
    pthread_mutex_unlock(&m->mu);
    return n;
}

/* ---- init ---- */

/* (the writers remove their own temporary files when they fail: tkm_file.h) */
static const char *const CREATED[] = {"state.db", "state.db-wal", "state.db-shm", "state.db.lock", "counter", "hwm", "tls.crt",
                                      "client-ca.crt", "client/operator.crt", "client/operator.key", "instance.json"};

static void init_cleanup(const char *dir, int sim_key_created) {
    char p[PATH_MAX + 32];
    for (size_t i = 0; i < sizeof CREATED / sizeof CREATED[0]; i++)
        if (path_of(p, sizeof p, dir, CREATED[i]) == 0) unlink(p);
    if (path_of(p, sizeof p, dir, "client") == 0) rmdir(p);
    if (sim_key_created && path_of(p, sizeof p, dir, "sim.key") == 0) unlink(p);
}

static int exists_in(const char *dir, const char *name) {
    char p[PATH_MAX + 32];
    struct stat st;
    return path_of(p, sizeof p, dir, name) == 0 && lstat(p, &st) == 0;
}

tkm_rc tkm_instance_init(json_t **out, const tkm_instance_init_opts *o) {
    *out = NULL;
    TKM_ARG_CHECK(o && o->dir && o->tee && o->policy && (o->labels || !o->n_labels));
    tkm_rc rc;
    tkm_policy *pol = NULL;
    tkm_secret *seal = NULL, *ik = NULL;
    keysrc ks = {NULL, NULL};
    api_verifier v;
    memset(&v, 0, sizeof v);
    int src;
    json_t *doc = NULL, *res = NULL, *keys = NULL;
    uint8_t(*addrs)[20] = NULL;
    int sim_key_created = 0, dirty = 0;
    char p[PATH_MAX + 64], q[PATH_MAX + 64];
    tkm_instance *in = NULL;
    TKM_TRY(parse_source(o->state_key, &src));
    int want_verifier = o->verifier_url || o->verifier_ca;
    if (src == 1) TKM_TRY(verifier_of(&v, o->verifier_url, o->verifier_ca, o->verifier_retries, WHY_KEY));
    if (src == 0 && want_verifier)
        TKM_TRY(verifier_of(&v, o->verifier_url, o->verifier_ca, o->verifier_retries, WHY_REG));
    if (o->remote_counter && src != 1 && !want_verifier) {
        tkm_err_detail_set("--remote-counter: the remote monotonic counter is teekm-verifier's: --verifier URL "
                           "--verifier-ca FILE are needed");
        TKM_ENSURE(0, TKM_ERR_CONFIG);
    }
    /* the document first: nothing is created for an invalid policy */
    TKM_TRY(tkm_policy_load(&pol, o->policy, o->policy_len));
    if (mkdir(o->dir, 0700) != 0 && errno != EEXIST) {
        tkm_policy_free(pol);
        tkm_err_detail_set("cannot create %s: %s", o->dir, strerror(errno));
        TKM_ENSURE(0, TKM_ERR_IO);
    }
    in = instance_alloc(o->dir);
    if (!in) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, lock_dir(in->dir, &in->lock_fd));
    if (exists_in(in->dir, "instance.json")) {
        tkm_err_detail_set("%s already holds an instance: nothing was changed", in->dir);
        TKM_GOTO(rc, TKM_ERR_EXISTS);
    }
    for (size_t i = 0; i < sizeof CREATED / sizeof CREATED[0]; i++)
        if (exists_in(in->dir, CREATED[i])) {
            tkm_err_detail_set("%s holds %s but no instance.json (an interrupted init or another tool's files): "
                               "move them away first; nothing was changed", in->dir, CREATED[i]);
            TKM_GOTO(rc, TKM_ERR_EXISTS);
        }
    sim_key_created = !exists_in(in->dir, "sim.key");
    dirty = 1;
    TKM_CHECK_GOTO(rc, open_tee(&in->tee, in->dir, o->tee, o->tee_root, o->tee_sys, o->allow_debug, 1));
    snprintf(in->platform, sizeof in->platform, "%s", tkm_tee_name(in->tee));
    ks.tee = in->tee;
    if (src < 0) { /* auto: the seal key where the platform has one, else the verifier */
        tkm_secret *probe = NULL;
        rc = tkm_tee_seal_key(in->tee, &probe, SEAL_STATE);
        tkm_secret_free(probe);
        if (rc.code == TKM_ERR_TEE_NO_SEAL_KEY) {
            src = 1;
            TKM_CHECK_GOTO(rc, verifier_of(&v, o->verifier_url, o->verifier_ca, o->verifier_retries, WHY_KEY));
        } else {
            if (tkm_failed(rc)) goto out;
            src = 0; /* a verifier given is for registration only (--state-key verifier takes the key from it) */
            if (want_verifier)
                TKM_CHECK_GOTO(rc, verifier_of(&v, o->verifier_url, o->verifier_ca, o->verifier_retries, WHY_REG));
        }
    }
    /* the instance id first: the verifier keeps one state key and one counter per instance id */
    if (v.url) TKM_CHECK_GOTO(rc, tkm_entropy_bytes(in->instance_id, 32));
    if (src == 1) TKM_CHECK_GOTO(rc, released_root(in, &ks, &v, 0));
    TKM_CHECK_GOTO(rc, derive_key(&ks, SEAL_HWM, &in->hwm_key));
    TKM_CHECK_GOTO(rc, derive_key(&ks, SEAL_STATE, &seal));
    int64_t now = tkm_time_unix();
    tkm_engine_opts eo = {.dir = in->dir, .seal_key = seal, .fast_unsafe = o->fast_unsafe};
    TKM_CHECK_GOTO(rc, instance_counter(&eo.counter, in->dir, seal));
    if (v.url) {
        TKM_CHECK_GOTO(rc, verifier_link(in, &v, o->remote_counter, &eo.counter));
        api_vtrust_engine_clock(in->vt, &eo, 0);
    }
    TKM_CHECK_GOTO(rc, tkm_engine_init(&in->engine, &eo, v.url ? in->instance_id : NULL, o->policy,
                                       o->policy_len, now));
    tkm_engine_instance_id(in->engine, in->instance_id);
    if (o->n_labels) {
        addrs = calloc(o->n_labels, sizeof *addrs);
        if (!addrs) TKM_GOTO(rc, TKM_ERR_NOMEM);
        TKM_CHECK_GOTO(rc, tkm_engine_keys_initial(in->engine, o->labels, o->n_labels, now, addrs));
    }
    TKM_CHECK_GOTO(rc, load_keys(in));
    /* the operator's credential */
    if (path_of(p, sizeof p, in->dir, "client") != 0) TKM_GOTO(rc, TKM_ERR_TOO_LARGE);
    if (mkdir(p, 0700) != 0 && errno != EEXIST) TKM_GOTO(rc, TKM_ERR_IO);
    char subject[256], ca_cn[96], cert_path[PATH_MAX + 64], key_path[PATH_MAX + 64];
    snprintf(ca_cn, sizeof ca_cn, "teekm client CA %02x%02x%02x%02x", in->instance_id[0], in->instance_id[1],
             in->instance_id[2], in->instance_id[3]);
    snprintf(cert_path, sizeof cert_path, "%s/client/operator.crt", in->dir);
    snprintf(key_path, sizeof key_path, "%s/client/operator.key", in->dir);
    TKM_CHECK_GOTO(rc, api_pki_create(in->client_ca, cert_path, key_path, ca_cn, TKM_INSTANCE_OPERATOR_CN,
                                      in->operator_fpr, subject, sizeof subject));
    /* the initial state, attested */
    TKM_CHECK_GOTO(rc, set_names(in, o->tls_names, o->n_tls_names));
    TKM_CHECK_GOTO(rc, issue_cert(in));
    uint8_t vsigner[20];
    int learned = 0, have_signer = 0;
    /* with the remote counter the registration is required (the counter takes requests from a registered audit key) */
    if (src == 1 || (v.url && o->remote_counter)) TKM_CHECK_GOTO(rc, do_register(in, &v));
    else if (v.url) register_soft(in, &v, "init");
    if (in->vt) {
        /* pin the verifier's signer (recorded below); with --remote-counter, arm it from version 0 */
        rc = api_vtrust_start(in->vt, in->engine, 0, NULL, vsigner, &learned);
        if (tkm_failed(rc) && (src == 1 || o->remote_counter)) goto out;
        if (tkm_failed(rc))
            tkm_log(TKM_LOG_WARN, "teekmd", "no trusted time from the verifier at init: %s (%s); the signer is pinned "
                    "at the first start that reaches it", tkm_err_name(rc.code), tkm_err_detail());
        have_signer = learned;
        rc = TKM_RC_OK;
    }
    /* instance.json last: it marks the directory as initialised */
    uint8_t audit[20], ph[32], mac[32];
    uint64_t pv;
    tkm_engine_audit_address(in->engine, audit);
    tkm_engine_policy_info(in->engine, &pv, ph);
    doc = json_pack("{s:i,s:o,s:s,s:I,s:o,s:{s:s,s:o}}", "teekm_instance", TKM_INSTANCE_FORMAT, "instanceId",
                    tkm_json_hex_new(in->instance_id, 32), "platform", in->platform, "createdAt", (json_int_t)now, "auditAddress",
                    addrj(audit), "operator", "subject", subject, "fingerprint", tkm_json_hex_new(in->operator_fpr, 32));
    if (!doc) TKM_GOTO(rc, TKM_ERR_NOMEM);
    if (json_object_set_new(doc, "stateKey", json_string(source_name(src == 1))) != 0) TKM_GOTO(rc, TKM_ERR_NOMEM);
    if (src == 1 || have_signer) {
        /* the URL for the verifier source (the key's); the signer pin whenever it was learned */
        json_t *vj = json_object();
        int e = !vj;
        if (!e && src == 1) e |= json_object_set_new(vj, "url", json_string(v.url));
        if (!e && have_signer) e |= json_object_set_new(vj, "signer", addrj(vsigner));
        if (e || json_object_set_new(doc, "verifier", vj) != 0) TKM_GOTO(rc, TKM_ERR_NOMEM);
    }
    if (o->remote_counter && json_object_set_new(doc, "remoteCounter", json_true()) != 0) TKM_GOTO(rc, TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, derive_key(&ks, SEAL_INSTANCE, &ik));
    TKM_CHECK_GOTO(rc, instance_mac(mac, doc, ik));
    if (json_object_set_new(doc, "mac", tkm_json_hex_new(mac, 32)) != 0) TKM_GOTO(rc, TKM_ERR_NOMEM);
    char *txt = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!txt) TKM_GOTO(rc, TKM_ERR_NOMEM);
    size_t tl = strlen(txt);
    txt[tl] = '\n';
    if (path_of(p, sizeof p, in->dir, "instance.json") != 0) {
        free(txt);
        TKM_GOTO(rc, TKM_ERR_TOO_LARGE);
    }
    rc = tkm_file_replace(p, 0644, txt, tl + 1);
    free(txt);
    if (tkm_failed(rc)) goto out;
    /* what teekm init prints */
    keys = json_object();
    if (!keys) TKM_GOTO(rc, TKM_ERR_NOMEM);
    for (size_t i = 0; i < o->n_labels; i++)
        if (json_object_set_new(keys, o->labels[i], addrj(addrs[i])) != 0) TKM_GOTO(rc, TKM_ERR_NOMEM);
    snprintf(q, sizeof q, "%s/tls.crt", in->dir);
    res = json_pack("{s:o,s:s,s:s,s:O,s:o,s:o,s:I,s:{s:s,s:s,s:s,s:s}}", "instanceId", tkm_json_hex_new(in->instance_id, 32),
                    "platform", in->platform, "dataDir", in->dir, "keys", keys, "auditAddress", addrj(audit),
                    "policyHash", tkm_json_hex_new(ph, 32), "policyVersion", (json_int_t)pv, "client", "cert", cert_path, "key",
                    key_path, "ca", q, "clientCa", in->client_ca);
    if (!res || json_object_set_new(res, "stateKey", json_string(source_name(src == 1))) != 0)
        TKM_GOTO(rc, TKM_ERR_NOMEM);
    if (v.url) {
        tkm_instance_reg_info ri;
        tkm_instance_registration_info(in, &ri);
        int e = json_object_set_new(res, "verifier", json_string(v.url));
        e |= json_object_set_new(res, "registered", json_boolean(ri.last_err == TKM_OK));
        if (ri.last_err != TKM_OK) e |= json_object_set_new(res, "registrationError", json_string(tkm_err_name(ri.last_err)));
        if (e) TKM_GOTO(rc, TKM_ERR_NOMEM);
    }
    if (json_object_set_new(res, "remoteCounter", json_boolean(o->remote_counter)) != 0) TKM_GOTO(rc, TKM_ERR_NOMEM);
    *out = res;
    res = NULL;
    dirty = 0;
    rc = TKM_RC_OK;
out:
    if (in) {
        /* the engine and store close before their files go */
        tkm_engine_close(in->engine);
        in->engine = NULL;
        if (dirty) init_cleanup(in->dir, sim_key_created);
    }
    tkm_instance_close(in);
    json_decref(doc);
    json_decref(keys);
    json_decref(res);
    free(addrs);
    tkm_secret_free(seal);
    tkm_secret_free(ik);
    tkm_secret_free(ks.root);
    tkm_policy_free(pol);
    return rc;
}
