/* see tkm_eas.h */
#include "tkm_eas.h"

#include <stdio.h>
#include <string.h>

#include "../eth/tkm_eip712.h"

static void word_u64(uint8_t w[32], uint64_t v) {
    memset(w, 0, 32);
    for (int i = 0; i < 8; i++) w[31 - i] = (uint8_t)(v >> (8 * i));
}

static void word_addr(uint8_t w[32], const uint8_t a[20]) {
    memset(w, 0, 12);
    memcpy(w + 12, a, 20);
}

void tkm_eas_schema_uid(uint8_t out[static 32], const tkm_eas_config *cfg) {
    tkm_keccak_ctx c;
    uint8_t rev = cfg->revocable ? 1 : 0;
    tkm_keccak256_init(&c);
    tkm_keccak256_update(&c, TKM_EAS_SCHEMA, strlen(TKM_EAS_SCHEMA));
    tkm_keccak256_update(&c, cfg->resolver, 20);
    tkm_keccak256_update(&c, &rev, 1);
    tkm_keccak256_final(&c, out);
}

/* Tail of a dynamic value: length word, bytes, zero padding to 32. */
static tkm_rc put_dynamic(tkm_wr *w, const void *p, size_t n) {
    uint8_t word[32], zero[32] = {0};
    word_u64(word, n);
    TKM_TRY(tkm_wr_put(w, word, 32));
    if (n) TKM_TRY(tkm_wr_put(w, p, n));
    if (n % 32) TKM_TRY(tkm_wr_put(w, zero, 32 - n % 32));
    return TKM_RC_OK;
}

static size_t padded(size_t n) { return 32 + (n + 31) / 32 * 32; }

tkm_rc tkm_eas_encode_data(tkm_wr *w, const tkm_eas_fields *f) {
    TKM_ARG_CHECK(f->institution && f->platform && (f->measurement || !f->measurement_len) &&
                  (f->signer_pub || !f->signer_pub_len));
    size_t inst_len = strlen(f->institution), plat_len = strlen(f->platform);
    /* head: 10 words; dynamic values in order institution, platform, measurement, signerPublicKey */
    size_t off_inst = 10 * 32;
    size_t off_plat = off_inst + padded(inst_len);
    size_t off_meas = off_plat + padded(plat_len);
    size_t off_pub = off_meas + padded(f->measurement_len);
    uint8_t word[32];
    TKM_TRY(tkm_wr_put(w, f->instance_id, 32));
    word_u64(word, off_inst);
    TKM_TRY(tkm_wr_put(w, word, 32));
    word_u64(word, off_plat);
    TKM_TRY(tkm_wr_put(w, word, 32));
    word_u64(word, off_meas);
    TKM_TRY(tkm_wr_put(w, word, 32));
    word_u64(word, f->tcb_status);
    TKM_TRY(tkm_wr_put(w, word, 32));
    TKM_TRY(tkm_wr_put(w, f->policy_hash, 32));
    word_u64(word, f->policy_version);
    TKM_TRY(tkm_wr_put(w, word, 32));
    word_addr(word, f->audit_address);
    TKM_TRY(tkm_wr_put(w, word, 32));
    word_addr(word, f->signer);
    TKM_TRY(tkm_wr_put(w, word, 32));
    word_u64(word, off_pub);
    TKM_TRY(tkm_wr_put(w, word, 32));
    TKM_TRY(put_dynamic(w, f->institution, inst_len));
    TKM_TRY(put_dynamic(w, f->platform, plat_len));
    TKM_TRY(put_dynamic(w, f->measurement, f->measurement_len));
    return put_dynamic(w, f->signer_pub, f->signer_pub_len);
}

static void schema_text(char out[67], const uint8_t schema[32]) {
    /* the 0x-hex text of the schema UID as it appears in the message (lower case) */
    tkm_rc rc = tkm_hex_encode(out, 67, schema, 32, 1);
    (void)rc; /* cannot fail: the buffer has exactly the room needed */
}

void tkm_eas_offchain_uid(uint8_t out[static 32], const tkm_eas_attestation *a) {
    tkm_keccak_ctx c;
    char sch[67];
    uint8_t be[8], zero20[20] = {0}, zero4[4] = {0}, rev = a->revocable ? 1 : 0;
    uint8_t ver[2] = {0, TKM_EAS_OFFCHAIN_VERSION};
    schema_text(sch, a->schema);
    tkm_keccak256_init(&c);
    tkm_keccak256_update(&c, ver, 2);
    tkm_keccak256_update(&c, sch, 66);
    tkm_keccak256_update(&c, a->recipient, 20);
    tkm_keccak256_update(&c, zero20, 20);
    for (int i = 0; i < 8; i++) be[i] = (uint8_t)(a->time >> (56 - 8 * i));
    tkm_keccak256_update(&c, be, 8);
    for (int i = 0; i < 8; i++) be[i] = (uint8_t)(a->expiration_time >> (56 - 8 * i));
    tkm_keccak256_update(&c, be, 8);
    tkm_keccak256_update(&c, &rev, 1);
    tkm_keccak256_update(&c, a->ref_uid, 32);
    if (a->data_len) tkm_keccak256_update(&c, a->data, a->data_len);
    tkm_keccak256_update(&c, a->salt, 32);
    tkm_keccak256_update(&c, zero4, 4);
    tkm_keccak256_final(&c, out);
}

static void domain_of(tkm_eip712_domain *d, const tkm_eas_config *cfg) {
    memset(d, 0, sizeof *d);
    d->fields = TKM_EIP712_DOMAIN_NAME | TKM_EIP712_DOMAIN_VERSION | TKM_EIP712_DOMAIN_CHAIN_ID |
                TKM_EIP712_DOMAIN_VERIFYING_CONTRACT;
    d->name = TKM_EAS_DOMAIN_NAME;
    d->name_len = strlen(TKM_EAS_DOMAIN_NAME);
    d->version = cfg->version;
    d->version_len = strlen(cfg->version);
    d->chain_id = tkm_u256_from_u64(cfg->chain_id);
    memcpy(d->verifying_contract, cfg->contract, 20);
}

void tkm_eas_offchain_digest(uint8_t out[static 32], const tkm_eas_config *cfg, const tkm_eas_attestation *a) {
    uint8_t words[9 * 32], ds[32], sh[32];
    word_u64(words, TKM_EAS_OFFCHAIN_VERSION);
    memcpy(words + 32, a->schema, 32);
    word_addr(words + 64, a->recipient);
    word_u64(words + 96, a->time);
    word_u64(words + 128, a->expiration_time);
    word_u64(words + 160, a->revocable ? 1 : 0);
    memcpy(words + 192, a->ref_uid, 32);
    tkm_keccak256(words + 224, a->data, a->data_len);
    memcpy(words + 256, a->salt, 32);
    tkm_eip712_domain d;
    domain_of(&d, cfg);
    tkm_eip712_domain_separator(ds, &d);
    tkm_eip712_hash_struct(sh, TKM_EAS_ATTEST_TYPE, strlen(TKM_EAS_ATTEST_TYPE), words, 9);
    tkm_eip712_digest(out, ds, sh);
}

/* Hex fields of the offchain package are at most 4096 bytes (NULL beyond: the package fails). */
static json_t *hexj(const uint8_t *b, size_t n) { return n > 4096 ? NULL : tkm_json_hex_new(b, n); }

static json_t *addrj(const uint8_t a[20]) {
    char s[TKM_ETH_ADDR_STR_LEN];
    tkm_eth_address_checksum(s, a);
    return json_string(s);
}

static json_t *field(const char *name, const char *type) {
    return json_pack("{s:s,s:s}", "name", name, "type", type);
}

tkm_rc tkm_eas_offchain_json(json_t **out, const tkm_eas_config *cfg, const tkm_eas_attestation *a,
                             const uint8_t sig[static TKM_SECP_SIG_LEN], const uint8_t signer[static 20]) {
    *out = NULL;
    TKM_ARG_CHECK(a->data_len <= 4096 && sig[64] <= 1);
    uint8_t uid[32];
    char sch[67];
    tkm_eas_offchain_uid(uid, a);
    schema_text(sch, a->schema);
    json_t *types = json_pack("{s:[o,o,o,o,o,o,o,o,o]}", "Attest", field("version", "uint16"),
                              field("schema", "bytes32"), field("recipient", "address"), field("time", "uint64"),
                              field("expirationTime", "uint64"), field("revocable", "bool"),
                              field("refUID", "bytes32"), field("data", "bytes"), field("salt", "bytes32"));
    json_t *domain = json_pack("{s:s,s:s,s:I,s:o}", "name", TKM_EAS_DOMAIN_NAME, "version", cfg->version, "chainId",
                               (json_int_t)cfg->chain_id, "verifyingContract", addrj(cfg->contract));
    json_t *message = json_pack("{s:i,s:s,s:o,s:I,s:I,s:b,s:o,s:o,s:o}", "version", TKM_EAS_OFFCHAIN_VERSION,
                                "schema", sch, "recipient", addrj(a->recipient), "time", (json_int_t)a->time,
                                "expirationTime", (json_int_t)a->expiration_time, "revocable", a->revocable,
                                "refUID", hexj(a->ref_uid, 32), "data", hexj(a->data, a->data_len), "salt",
                                hexj(a->salt, 32));
    json_t *signature = json_pack("{s:i,s:o,s:o}", "v", 27 + sig[64], "r", hexj(sig, 32), "s", hexj(sig + 32, 32));
    if (!types || !domain || !message || !signature) {
        json_decref(types);
        json_decref(domain);
        json_decref(message);
        json_decref(signature);
        return TKM_RC(TKM_ERR_NOMEM);
    }
    json_t *o = json_pack("{s:{s:i,s:o,s:o,s:s,s:o,s:o,s:o},s:o}", "sig", "version", TKM_EAS_OFFCHAIN_VERSION, "uid",
                          hexj(uid, 32), "domain", domain, "primaryType", "Attest", "types", types, "message",
                          message, "signature", signature, "signer", addrj(signer));
    if (!o) return TKM_RC(TKM_ERR_NOMEM);
    *out = o;
    return TKM_RC_OK;
}

tkm_rc tkm_eas_attest_calldata(tkm_wr *w, const tkm_eas_attestation *a) {
    uint8_t sel[32], word[32];
    tkm_keccak256(sel, TKM_EAS_ATTEST_SIGNATURE, strlen(TKM_EAS_ATTEST_SIGNATURE));
    TKM_TRY(tkm_wr_put(w, sel, 4));
    /* one dynamic tuple argument: its offset */
    word_u64(word, 32);
    TKM_TRY(tkm_wr_put(w, word, 32));
    /* AttestationRequest: schema, offset of the (dynamic) AttestationRequestData */
    TKM_TRY(tkm_wr_put(w, a->schema, 32));
    word_u64(word, 64);
    TKM_TRY(tkm_wr_put(w, word, 32));
    /* AttestationRequestData: recipient, expirationTime, revocable, refUID, offset(data), value */
    word_addr(word, a->recipient);
    TKM_TRY(tkm_wr_put(w, word, 32));
    word_u64(word, a->expiration_time);
    TKM_TRY(tkm_wr_put(w, word, 32));
    word_u64(word, a->revocable ? 1 : 0);
    TKM_TRY(tkm_wr_put(w, word, 32));
    TKM_TRY(tkm_wr_put(w, a->ref_uid, 32));
    word_u64(word, 6 * 32);
    TKM_TRY(tkm_wr_put(w, word, 32));
    word_u64(word, 0);
    TKM_TRY(tkm_wr_put(w, word, 32));
    return put_dynamic(w, a->data, a->data_len);
}
