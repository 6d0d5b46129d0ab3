/* teekm bench tee — binding, sim evidence and RA-TLS checks next to raw OpenSSL/jansson baselines. */
#include "bench.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "tee/tee.h"

typedef struct {
    tkm_claims c;
    json_t *j;
    uint8_t *jcs;
    size_t jcs_len;
    tkm_tee *tee;
    EVP_PKEY *p256;
    uint8_t *cert;
    size_t cert_len;
    const uint8_t *spki;
    size_t spki_len;
} tee_bench;

/* claims → JCS → SHA-512 (what teekmd does before every evidence) */
static int ours_bind(void *ctx) {
    tee_bench *b = ctx;
    tkm_wr w;
    tkm_wr_init(&w, 0);
    uint8_t rd[64];
    int r = tkm_ok(tkm_claims_encode(&b->c, &w)) && tkm_ok(tkm_claims_report_data(rd, w.p, w.len)) ? 0 : -1;
    tkm_wr_free(&w);
    return r;
}

/* raw: jansson sorted compact dump of the same document + SHA-512 */
static int raw_bind(void *ctx) {
    tee_bench *b = ctx;
    char *s = json_dumps(b->j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s) return -1;
    uint8_t md[64];
    unsigned int ml = 0;
    int r = EVP_Digest(s, strlen(s), md, &ml, EVP_sha512(), NULL) == 1 ? 0 : -1;
    free(s);
    return r;
}

/* verifier side: strict parse + canonical check + binding */
static int ours_verify_claims(void *ctx) {
    tee_bench *b = ctx;
    uint8_t rd[64];
    if (tkm_failed(tkm_claims_report_data(rd, b->jcs, b->jcs_len))) return -1;
    return tkm_ok(tkm_claims_verify_report_data(rd, b->jcs, b->jcs_len)) ? 0 : -1;
}

static int raw_parse_claims(void *ctx) {
    tee_bench *b = ctx;
    json_error_t e;
    json_t *j = json_loadb((const char *)b->jcs, b->jcs_len, JSON_REJECT_DUPLICATES, &e);
    if (!j) return -1;
    uint8_t md[64];
    unsigned int ml = 0;
    int r = EVP_Digest(b->jcs, b->jcs_len, md, &ml, EVP_sha512(), NULL) == 1 ? 0 : -1;
    json_decref(j);
    return r;
}

static int ours_sim_evidence(void *ctx) {
    tee_bench *b = ctx;
    uint8_t rd[64] = {1};
    tkm_tee_evidence ev;
    if (tkm_failed(tkm_tee_evidence_get(b->tee, &ev, rd))) return -1;
    tkm_tee_evidence_free(&ev);
    return 0;
}

/* raw: one ECDSA P-256/SHA-256 signature over 236 bytes */
static int raw_p256_sign(void *ctx) {
    tee_bench *b = ctx;
    uint8_t msg[236] = {1}, sig[80];
    size_t sl = sizeof sig;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int r = c && EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, b->p256) == 1 &&
                    EVP_DigestSign(c, sig, &sl, msg, sizeof msg) == 1
                ? 0
                : -1;
    EVP_MD_CTX_free(c);
    return r;
}

static int ours_inspect(void *ctx) {
    tee_bench *b = ctx;
    tkm_ratls_peer p;
    if (tkm_failed(tkm_ratls_verify(&p, b->cert, b->cert_len, b->spki, b->spki_len))) return -1;
    tkm_ratls_peer_free(&p);
    return 0;
}

/* raw: OpenSSL parse + self-signature check of the same certificate */
static int raw_x509(void *ctx) {
    tee_bench *b = ctx;
    const unsigned char *p = b->cert;
    X509 *x = d2i_X509(NULL, &p, (long)b->cert_len);
    int r = x && X509_verify(x, X509_get0_pubkey(x)) == 1 ? 0 : -1;
    X509_free(x);
    return r;
}

int bench_tee(const bench_opts *o) {
    tee_bench b;
    memset(&b, 0, sizeof b);
    int status = 1;
    char dir[] = "/tmp/teekm-bench-XXXXXX", key[64];
    tkm_ratls_key *k = NULL;
    tkm_secret *sk = NULL;
    bench_result raw, ours;
    if (!mkdtemp(dir)) return 1;
    snprintf(key, sizeof key, "%s/sim.pem", dir);
    tkm_tee_opts to;
    memset(&to, 0, sizeof to);
    to.sim_key_file = key;
    to.sim_create_key = 1;
    tkm_log_level lvl = tkm_log_get_level();
    tkm_log_set_level(TKM_LOG_ERROR); /* the sim warning once is enough */
    tkm_rc rc = tkm_tee_open(&b.tee, "sim", &to);
    tkm_log_set_level(lvl);
    if (tkm_failed(rc) || tkm_failed(tkm_ratls_key_new(&k)) || tkm_failed(tkm_secret_new(&sk, 32))) goto out;
    /* claims with 8 secp256k1 signer keys */
    for (int i = 1; i <= 8; i++) {
        uint8_t pub[65];
        tkm_secret_mut(sk)[31] = (uint8_t)i;
        if (tkm_failed(tkm_secp_pubkey(pub, sk)) ||
            tkm_failed(tkm_claims_add_key(&b.c, TKM_CLAIM_KEY_SECP256K1, pub, 65)))
            goto out;
    }
    memset(b.c.policy_hash, 0x11, 32);
    memset(b.c.instance_id, 0x22, 32);
    b.c.state_version = 7;
    int64_t now = tkm_time_unix();
    if (tkm_failed(tkm_ratls_issue(&b.cert, &b.cert_len, b.tee, k, &b.c, now, now + 3600))) goto out;
    tkm_ratls_key_spki(k, &b.spki, &b.spki_len);
    tkm_wr w;
    tkm_wr_init(&w, 0);
    if (tkm_failed(tkm_claims_encode(&b.c, &w)) || tkm_failed(tkm_wr_take(&w, &b.jcs, &b.jcs_len)) ||
        tkm_failed(tkm_claims_to_json(&b.c, &b.j)))
        goto out;
    tkm_wr_free(&w);
    b.p256 = EVP_EC_gen("P-256");
    if (!b.p256) goto out;
    status = 0;
    printf("teekm bench tee (single thread, %.1f s per item; claims with 8 signer keys, %zu bytes)\n", o->seconds,
           b.jcs_len);
    if (bench_pair(o, raw_bind, &b, ours_bind, &b, &raw, &ours) != 0) status = 1;
    bench_print_row("raw jansson sorted dump + SHA-512 (baseline)", &raw);
    bench_print_ratio("claims JCS + report_data", &ours, "raw", &raw, 0);
    if (bench_pair(o, raw_parse_claims, &b, ours_verify_claims, &b, &raw, &ours) != 0) status = 1;
    bench_print_row("raw jansson parse + SHA-512 (baseline)", &raw);
    bench_print_ratio("claims strict parse + binding check", &ours, "raw", &raw, 0);
    if (bench_pair(o, raw_p256_sign, &b, ours_sim_evidence, &b, &raw, &ours) != 0) status = 1;
    bench_print_row("raw OpenSSL ECDSA P-256 sign (baseline)", &raw);
    bench_print_ratio("sim evidence (build + sign)", &ours, "raw", &raw, 0.80);
    if (bench_pair(o, raw_x509, &b, ours_inspect, &b, &raw, &ours) != 0) status = 1;
    bench_print_row("raw OpenSSL d2i_X509 + X509_verify (baseline)", &raw);
    bench_print_ratio("RA-TLS certificate check (tkm_ratls_verify)", &ours, "raw", &raw, 0.50);
out:
    if (status) fprintf(stderr, "bench tee: setup or measurement failed\n");
    EVP_PKEY_free(b.p256);
    json_decref(b.j);
    free(b.jcs);
    free(b.cert);
    tkm_claims_free(&b.c);
    tkm_secret_free(sk);
    tkm_ratls_key_free(k);
    tkm_tee_close(b.tee);
    unlink(key);
    rmdir(dir);
    return status;
}
