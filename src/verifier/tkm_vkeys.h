/*
 * tkm_vkeys.h — the verifier's own keys and data directory.
 *
 * Data directory (created by tkm_vkeys_init_dir, mode 0700):
 *   master.key    32 random bytes, mode 0600. The one secret to protect and
 *                 back up: every other secret of the verifier is sealed under
 *                 keys derived from it.
 *   eas.key       the secp256k1 key that signs EAS attestations and counter
 *                 answers: "TKMVEAS1" ‖ nonce ‖ AES-256-GCM(K_eas, key) ‖ tag,
 *                 aad "TKMVEAS1" (68 bytes, mode 0600).
 *   tls.key       the HTTPS server key (P-256, PEM, mode 0600) and
 *   tls.crt       its self-signed certificate (see tkm_vtls.h).
 *   registry.db   the SQLite registry (tkm_registry.h), created on first open.
 *
 * Derived keys: K_x = HKDF-SHA256(salt = "teekm/verifier/v1", ikm = master,
 * info = label) with labels "teekm/verifier/eas-key-wrap/v1",
 * "teekm/verifier/state-key-wrap/v1" and "teekm/verifier/eas-salt/v1".
 *
 * State keys (key release, docs/verifier.md): 32 random bytes per instance,
 * stored as nonce ‖ AES-256-GCM(K_state, key, aad = "teekm/verifier/state-key/v1"
 * ‖ instance id) ‖ tag (60 bytes), so a sealed key copied to another
 * instance's row does not open.
 *
 * Files are read and written with core tkm_file.h: no symlinks
 * (TKM_ERR_PERMISSIONS), regular files only (TKM_ERR_FORMAT), secrets with no
 * group/other permission bits (TKM_ERR_PERMISSIONS); created atomically.
 * Ownership: tkm_vkeys_load returns an object freed with tkm_vkeys_free.
 * Secrets: the master key, derived keys and the EAS key live in tkm_secret
 * buffers inside the object; nothing here logs or returns them.
 * Thread-safety: a loaded tkm_vkeys is immutable; all functions on it are
 * reentrant.
 */
#ifndef TKM_VKEYS_H
#define TKM_VKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "../crypto/crypto.h"

#define TKM_VKEYS_MASTER_FILE "master.key"
#define TKM_VKEYS_EAS_FILE "eas.key"
#define TKM_VKEYS_TLS_CERT_FILE "tls.crt"
#define TKM_VKEYS_TLS_KEY_FILE "tls.key"
#define TKM_VKEYS_REGISTRY_FILE "registry.db"
#define TKM_VKEYS_MASTER_LEN 32
#define TKM_STATE_KEY_LEN 32
#define TKM_SEALED_STATE_KEY_LEN (TKM_AEAD_RANDOM_OVERHEAD + TKM_STATE_KEY_LEN)

typedef struct tkm_vkeys tkm_vkeys;

/* Names for the TLS certificate made at init (NULL = "localhost" and 127.0.0.1, ::1). */
typedef struct {
    const char *const *dns; /* subjectAltName DNS names */
    size_t n_dns;
    const char *const *ips; /* subjectAltName IP addresses (numeric) */
    size_t n_ips;
    unsigned days;          /* validity, 0 = 825 */
} tkm_vtls_names;

/*
 * Create dir (mode 0700; an existing directory must be empty of the four key
 * files) with a new master key, EAS key, TLS key and certificate. All or
 * nothing: on failure none of the four files is left behind.
 * Returns: OK; TKM_ERR_EXISTS (a key file is already there: never overwritten);
 * TKM_ERR_FORMAT (a certificate name is empty or holds ',' or a line break);
 * TKM_ERR_TOO_LARGE; TKM_ERR_IO; TKM_ERR_ENTROPY; TKM_ERR_CRYPTO.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vkeys_init_dir(const char *dir, const tkm_vtls_names *names) TKM_NONNULL(1);

/*
 * Load master.key and eas.key from dir. Out: *out.
 * Returns: OK; TKM_ERR_NOT_FOUND; TKM_ERR_PERMISSIONS (mode or not a regular
 * file); TKM_ERR_FORMAT (wrong size/magic); TKM_ERR_AUTH_TAG (eas.key does not
 * open under this master key); TKM_ERR_BAD_KEY; TKM_ERR_IO; TKM_ERR_NOMEM.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vkeys_load(tkm_vkeys **out, const char *dir) TKM_NONNULL(1, 2);
/* Wipe and free; NULL-safe. */
TKM_API void tkm_vkeys_free(tkm_vkeys *k);

/* The EAS signer: address and uncompressed public key (views into k). */
TKM_API const uint8_t *tkm_vkeys_eas_address(const tkm_vkeys *k) TKM_NONNULL(1);
TKM_API const uint8_t *tkm_vkeys_eas_pubkey(const tkm_vkeys *k) TKM_NONNULL(1);
/* Sign a 32-byte digest with the EAS key. Out: sig = r ‖ s ‖ recid (low s). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vkeys_sign(const tkm_vkeys *k, uint8_t sig[static TKM_SECP_SIG_LEN],
                                              const uint8_t digest[static 32]) TKM_NONNULL(1, 2, 3);

/* Out: a fresh state key (32 random bytes; caller frees). */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vkeys_state_key_new(tkm_secret **key) TKM_NONNULL(1);
/* Seal key for instance_id. Out: sealed[TKM_SEALED_STATE_KEY_LEN]. */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vkeys_state_key_seal(const tkm_vkeys *k, uint8_t sealed[static TKM_SEALED_STATE_KEY_LEN],
                                                        const uint8_t instance_id[static 32], const tkm_secret *key)
    TKM_NONNULL(1, 2, 3, 4);
/*
 * Open a sealed state key for instance_id. Out: *key (caller frees).
 * Returns: OK; TKM_ERR_FORMAT (length); TKM_ERR_AUTH_TAG (other instance, other master key, tampered).
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vkeys_state_key_open(const tkm_vkeys *k, tkm_secret **key,
                                                        const uint8_t instance_id[static 32], const uint8_t *sealed,
                                                        size_t sealed_len) TKM_NONNULL(1, 2, 3);
/*
 * A 32-byte value derived from the master key for (label, data): HMAC-SHA256
 * under the "eas-salt" key. Used for EAS salts, which must be unpredictable
 * yet stable for a given registration and signer key. Not secret once used.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vkeys_salt(const tkm_vkeys *k, uint8_t out[static 32], const uint8_t *data,
                                              size_t len) TKM_NONNULL(1, 2);

/*
 * Make the TLS key (P-256, PEM, 0600) and a self-signed certificate into
 * key_path/cert_path (O_EXCL: never overwrites). Used by tkm_vkeys_init_dir
 * and by tests.
 */
TKM_API TKM_WARN_UNUSED tkm_rc tkm_vtls_make_self_signed(const char *cert_path, const char *key_path,
                                                         const tkm_vtls_names *names) TKM_NONNULL(1, 2);

#endif
