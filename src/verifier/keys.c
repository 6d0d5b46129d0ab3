/* see tkm_vkeys.h */
#include "tkm_vkeys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "verifier_int.h"

#define EAS_MAGIC "TKMVEAS1"
#define EAS_MAGIC_LEN 8
#define EAS_FILE_LEN (EAS_MAGIC_LEN + TKM_AEAD_RANDOM_OVERHEAD + TKM_SECP_SECKEY_LEN)
#define KDF_SALT "teekm/verifier/v1"
#define LABEL_EAS_WRAP "teekm/verifier/eas-key-wrap/v1"
#define LABEL_STATE_WRAP "teekm/verifier/state-key-wrap/v1"
#define LABEL_SALT "teekm/verifier/eas-salt/v1"
#define STATE_AAD "teekm/verifier/state-key/v1"

struct tkm_vkeys {
    tkm_secret *k_eas_wrap, *k_state_wrap, *k_salt;
    tkm_secret *eas_sk;
    uint8_t eas_pub[TKM_SECP_PUBKEY_LEN];
    uint8_t eas_addr[TKM_ETH_ADDR_LEN];
};

static tkm_rc derive(tkm_secret **out, const tkm_secret *master, const char *label) {
    *out = NULL;
    tkm_secret *k = NULL;
    TKM_TRY(tkm_secret_new(&k, 32));
    tkm_rc rc = tkm_hkdf_sha256(tkm_secret_mut(k), 32, (const uint8_t *)KDF_SALT, strlen(KDF_SALT),
                                tkm_secret_ptr(master), tkm_secret_len(master), (const uint8_t *)label, strlen(label));
    if (tkm_failed(rc)) {
        tkm_secret_free(k);
        return rc;
    }
    *out = k;
    return TKM_RC_OK;
}

static tkm_rc load_master(tkm_secret **out, const char *dir) {
    *out = NULL;
    char path[4096];
    tkm_secret *s = NULL;
    TKM_TRY(vpath_join(path, sizeof path, dir, TKM_VKEYS_MASTER_FILE));
    tkm_rc rc = tkm_file_read_secret(path, 4096, TKM_FILE_SECRET, &s);
    if (rc.code != TKM_ERR_TRUNCATED) TKM_TRY(rc); /* empty: the length message below */
    size_t len = s ? tkm_secret_len(s) : 0;
    if (len != TKM_VKEYS_MASTER_LEN) {
        tkm_secret_free(s);
        tkm_err_detail_set("%s must hold exactly %d bytes (has %zu)", path, TKM_VKEYS_MASTER_LEN, len);
        TKM_ENSURE(0, TKM_ERR_FORMAT);
    }
    *out = s;
    return TKM_RC_OK;
}

void tkm_vkeys_free(tkm_vkeys *k) {
    if (!k) return;
    tkm_secret_free(k->k_eas_wrap);
    tkm_secret_free(k->k_state_wrap);
    tkm_secret_free(k->k_salt);
    tkm_secret_free(k->eas_sk);
    tkm_wipe(k, sizeof *k);
    free(k);
}

tkm_rc tkm_vkeys_load(tkm_vkeys **out, const char *dir) {
    *out = NULL;
    tkm_rc rc;
    tkm_secret *master = NULL;
    uint8_t *file = NULL;
    size_t file_len = 0;
    char path[4096];
    tkm_vkeys *k = calloc(1, sizeof *k);
    if (!k) return TKM_RC(TKM_ERR_NOMEM);
    TKM_CHECK_GOTO(rc, load_master(&master, dir));
    TKM_CHECK_GOTO(rc, derive(&k->k_eas_wrap, master, LABEL_EAS_WRAP));
    TKM_CHECK_GOTO(rc, derive(&k->k_state_wrap, master, LABEL_STATE_WRAP));
    TKM_CHECK_GOTO(rc, derive(&k->k_salt, master, LABEL_SALT));
    TKM_CHECK_GOTO(rc, vpath_join(path, sizeof path, dir, TKM_VKEYS_EAS_FILE));
    TKM_CHECK_GOTO(rc, tkm_file_read(path, 4096, TKM_FILE_SECRET, &file, &file_len));
    if (file_len != EAS_FILE_LEN || memcmp(file, EAS_MAGIC, EAS_MAGIC_LEN) != 0) {
        tkm_err_detail_set("%s is not a teekm-verifier EAS key file", path);
        TKM_GOTO(rc, TKM_ERR_FORMAT);
    }
    TKM_CHECK_GOTO(rc, tkm_secret_new(&k->eas_sk, TKM_SECP_SECKEY_LEN));
    rc = tkm_aead_open_random(tkm_secret_mut(k->eas_sk), TKM_SECP_SECKEY_LEN, tkm_secret_ptr(k->k_eas_wrap),
                              (const uint8_t *)EAS_MAGIC, EAS_MAGIC_LEN, file + EAS_MAGIC_LEN, file_len - EAS_MAGIC_LEN);
    if (tkm_failed(rc)) {
        tkm_err_detail_set("%s does not open under %s (another verifier's key, or tampered)", path,
                           TKM_VKEYS_MASTER_FILE);
        goto out;
    }
    TKM_CHECK_GOTO(rc, tkm_secp_seckey_check(k->eas_sk));
    TKM_CHECK_GOTO(rc, tkm_secp_pubkey(k->eas_pub, k->eas_sk));
    tkm_eth_address(k->eas_addr, k->eas_pub);
    *out = k;
    k = NULL;
    rc = TKM_RC_OK;
out:
    tkm_secret_free(master);
    if (file) {
        tkm_wipe(file, file_len);
        free(file);
    }
    tkm_vkeys_free(k);
    return rc;
}

tkm_rc tkm_vkeys_init_dir(const char *dir, const tkm_vtls_names *names) {
    tkm_rc rc;
    tkm_secret *master = NULL, *wrap = NULL, *eas = NULL;
    char path[4096], mpath[4096], epath[4096], cert[4096], key[4096];
    uint8_t file[EAS_FILE_LEN];
    int made_master = 0, made_eas = 0;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        tkm_err_detail_set("cannot create %s: %s", dir, strerror(errno));
        TKM_ENSURE(0, TKM_ERR_IO);
    }
    static const char *const files[] = {TKM_VKEYS_MASTER_FILE, TKM_VKEYS_EAS_FILE, TKM_VKEYS_TLS_CERT_FILE,
                                        TKM_VKEYS_TLS_KEY_FILE};
    for (size_t i = 0; i < 4; i++) {
        struct stat st;
        TKM_TRY(vpath_join(path, sizeof path, dir, files[i]));
        if (lstat(path, &st) == 0) {
            tkm_err_detail_set("%s already exists: refusing to overwrite verifier keys", path);
            TKM_ENSURE(0, TKM_ERR_EXISTS);
        }
    }
    TKM_CHECK_GOTO(rc, tkm_secret_new(&master, TKM_VKEYS_MASTER_LEN));
    TKM_CHECK_GOTO(rc, tkm_entropy_bytes(tkm_secret_mut(master), TKM_VKEYS_MASTER_LEN));
    TKM_CHECK_GOTO(rc, tkm_secp_keygen(&eas));
    TKM_CHECK_GOTO(rc, derive(&wrap, master, LABEL_EAS_WRAP));
    memcpy(file, EAS_MAGIC, EAS_MAGIC_LEN);
    TKM_CHECK_GOTO(rc, tkm_aead_seal_random(file + EAS_MAGIC_LEN, sizeof file - EAS_MAGIC_LEN, tkm_secret_ptr(wrap),
                                            (const uint8_t *)EAS_MAGIC, EAS_MAGIC_LEN, tkm_secret_ptr(eas),
                                            TKM_SECP_SECKEY_LEN));
    TKM_CHECK_GOTO(rc, vpath_join(mpath, sizeof mpath, dir, TKM_VKEYS_MASTER_FILE));
    TKM_CHECK_GOTO(rc, vpath_join(epath, sizeof epath, dir, TKM_VKEYS_EAS_FILE));
    TKM_CHECK_GOTO(rc, vpath_join(cert, sizeof cert, dir, TKM_VKEYS_TLS_CERT_FILE));
    TKM_CHECK_GOTO(rc, vpath_join(key, sizeof key, dir, TKM_VKEYS_TLS_KEY_FILE));
    TKM_CHECK_GOTO(rc, tkm_file_create(mpath, 0600, tkm_secret_ptr(master), TKM_VKEYS_MASTER_LEN));
    made_master = 1;
    TKM_CHECK_GOTO(rc, tkm_file_create(epath, 0600, file, sizeof file));
    made_eas = 1;
    TKM_CHECK_GOTO(rc, tkm_vtls_make_self_signed(cert, key, names)); /* creates both or neither */
    rc = TKM_RC_OK;
out:
    /* All or nothing: a half-initialised directory would refuse the next init and not load. */
    if (tkm_failed(rc) && made_eas) (void)unlink(epath);
    if (tkm_failed(rc) && made_master) (void)unlink(mpath);
    tkm_wipe(file, sizeof file);
    tkm_secret_free(master);
    tkm_secret_free(wrap);
    tkm_secret_free(eas);
    return rc;
}

const uint8_t *tkm_vkeys_eas_address(const tkm_vkeys *k) { return k->eas_addr; }
const uint8_t *tkm_vkeys_eas_pubkey(const tkm_vkeys *k) { return k->eas_pub; }

tkm_rc tkm_vkeys_sign(const tkm_vkeys *k, uint8_t sig[static TKM_SECP_SIG_LEN], const uint8_t digest[static 32]) {
    return tkm_secp_sign_checked(sig, k->eas_sk, k->eas_pub, digest);
}

tkm_rc tkm_vkeys_state_key_new(tkm_secret **key) {
    *key = NULL;
    tkm_secret *s = NULL;
    TKM_TRY(tkm_secret_new(&s, TKM_STATE_KEY_LEN));
    tkm_rc rc = tkm_entropy_bytes(tkm_secret_mut(s), TKM_STATE_KEY_LEN);
    if (tkm_failed(rc)) {
        tkm_secret_free(s);
        return rc;
    }
    *key = s;
    return TKM_RC_OK;
}

static void state_aad(uint8_t aad[sizeof STATE_AAD - 1 + 32], const uint8_t id[32]) {
    memcpy(aad, STATE_AAD, sizeof STATE_AAD - 1);
    memcpy(aad + sizeof STATE_AAD - 1, id, 32);
}

tkm_rc tkm_vkeys_state_key_seal(const tkm_vkeys *k, uint8_t sealed[static TKM_SEALED_STATE_KEY_LEN],
                                const uint8_t instance_id[static 32], const tkm_secret *key) {
    memset(sealed, 0, TKM_SEALED_STATE_KEY_LEN);
    TKM_ARG_CHECK(tkm_secret_len(key) == TKM_STATE_KEY_LEN);
    uint8_t aad[sizeof STATE_AAD - 1 + 32];
    state_aad(aad, instance_id);
    return tkm_aead_seal_random(sealed, TKM_SEALED_STATE_KEY_LEN, tkm_secret_ptr(k->k_state_wrap), aad, sizeof aad,
                                tkm_secret_ptr(key), TKM_STATE_KEY_LEN);
}

tkm_rc tkm_vkeys_state_key_open(const tkm_vkeys *k, tkm_secret **key, const uint8_t instance_id[static 32],
                                const uint8_t *sealed, size_t sealed_len) {
    *key = NULL;
    TKM_ARG_CHECK(sealed != NULL || sealed_len == 0);
    if (sealed_len != TKM_SEALED_STATE_KEY_LEN) {
        tkm_err_detail_set("sealed state key has %zu bytes, expected %d", sealed_len, TKM_SEALED_STATE_KEY_LEN);
        TKM_ENSURE(0, TKM_ERR_FORMAT);
    }
    uint8_t aad[sizeof STATE_AAD - 1 + 32];
    state_aad(aad, instance_id);
    tkm_secret *s = NULL;
    TKM_TRY(tkm_secret_new(&s, TKM_STATE_KEY_LEN));
    tkm_rc rc = tkm_aead_open_random(tkm_secret_mut(s), TKM_STATE_KEY_LEN, tkm_secret_ptr(k->k_state_wrap), aad,
                                     sizeof aad, sealed, sealed_len);
    if (tkm_failed(rc)) {
        tkm_secret_free(s);
        return rc;
    }
    *key = s;
    return TKM_RC_OK;
}

tkm_rc tkm_vkeys_salt(const tkm_vkeys *k, uint8_t out[static 32], const uint8_t *data, size_t len) {
    TKM_ARG_CHECK(data != NULL || len == 0);
    return tkm_hmac_sha256(out, tkm_secret_ptr(k->k_salt), tkm_secret_len(k->k_salt), data, len);
}
