/* see tkm_secp.h */
#include "tkm_secp.h"
#include "tkm_entropy.h"
#include "tkm_hash.h"

#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static secp256k1_context *ctx;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static tkm_err ctx_err = TKM_OK;

static void illegal_cb(const char *msg, void *data) {
    (void)data;
    fprintf(stderr, "teekm: libsecp256k1 illegal argument: %s\n", msg);
    abort();
}

static void ctx_create(void) {
    uint8_t seed[32];
    secp256k1_context *c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!c) {
        ctx_err = TKM_ERR_NOMEM;
        return;
    }
    secp256k1_context_set_illegal_callback(c, illegal_cb, NULL);
    secp256k1_context_set_error_callback(c, illegal_cb, NULL);
    if (tkm_failed(tkm_entropy_bytes(seed, sizeof seed)) || !secp256k1_context_randomize(c, seed)) {
        tkm_wipe(seed, sizeof seed);
        secp256k1_context_destroy(c);
        ctx_err = TKM_ERR_ENTROPY;
        return;
    }
    tkm_wipe(seed, sizeof seed);
    ctx = c;
}

tkm_rc tkm_secp_init(void) {
    pthread_once(&ctx_once, ctx_create);
    TKM_ENSURE(ctx != NULL, ctx_err ? ctx_err : TKM_ERR_INTERNAL);
    return TKM_RC_OK;
}

static tkm_rc seckey_len_ok(const tkm_secret *sk) {
    TKM_ENSURE(tkm_secret_len(sk) == TKM_SECP_SECKEY_LEN, TKM_ERR_BAD_KEY);
    return TKM_RC_OK;
}

tkm_rc tkm_secp_seckey_check(const tkm_secret *sk) {
    TKM_TRY(tkm_secp_init());
    TKM_TRY(seckey_len_ok(sk));
    TKM_ENSURE(secp256k1_ec_seckey_verify(ctx, tkm_secret_ptr(sk)), TKM_ERR_BAD_KEY);
    return TKM_RC_OK;
}

tkm_rc tkm_secp_keygen(tkm_secret **out) {
    *out = NULL;
    TKM_TRY(tkm_secp_init());
    tkm_secret *sk;
    TKM_TRY(tkm_secret_new(&sk, TKM_SECP_SECKEY_LEN));
    /* Rejection sampling: the chance of an invalid key is ~2^-128. */
    for (int tries = 0; tries < 8; tries++) {
        tkm_rc rc = tkm_entropy_bytes(tkm_secret_mut(sk), TKM_SECP_SECKEY_LEN);
        if (tkm_failed(rc)) {
            tkm_secret_free(sk);
            return rc;
        }
        if (secp256k1_ec_seckey_verify(ctx, tkm_secret_ptr(sk))) {
            *out = sk;
            return TKM_RC_OK;
        }
    }
    tkm_secret_free(sk);
    TKM_ENSURE(0, TKM_ERR_ENTROPY);
}

static void serialize_uncompressed(uint8_t out[static TKM_SECP_PUBKEY_LEN], const secp256k1_pubkey *pk) {
    size_t len = TKM_SECP_PUBKEY_LEN;
    int ok = secp256k1_ec_pubkey_serialize(ctx, out, &len, pk, SECP256K1_EC_UNCOMPRESSED);
    (void)ok; /* cannot fail for a valid pubkey object and a 65-byte buffer */
}

tkm_rc tkm_secp_pubkey(uint8_t pub[static TKM_SECP_PUBKEY_LEN], const tkm_secret *sk) {
    memset(pub, 0, TKM_SECP_PUBKEY_LEN);
    TKM_TRY(tkm_secp_init());
    TKM_TRY(seckey_len_ok(sk));
    secp256k1_pubkey pk;
    TKM_ENSURE(secp256k1_ec_pubkey_create(ctx, &pk, tkm_secret_ptr(sk)), TKM_ERR_BAD_KEY);
    serialize_uncompressed(pub, &pk);
    return TKM_RC_OK;
}

tkm_rc tkm_secp_pubkey_parse(uint8_t pub[static TKM_SECP_PUBKEY_LEN], const uint8_t *in, size_t len) {
    memset(pub, 0, TKM_SECP_PUBKEY_LEN);
    TKM_TRY(tkm_secp_init());
    TKM_ENSURE(len == TKM_SECP_PUBKEY_LEN || len == TKM_SECP_PUBKEY_COMPRESSED_LEN, TKM_ERR_BAD_KEY);
    secp256k1_pubkey pk;
    TKM_ENSURE(secp256k1_ec_pubkey_parse(ctx, &pk, in, len), TKM_ERR_BAD_KEY);
    serialize_uncompressed(pub, &pk);
    return TKM_RC_OK;
}

tkm_rc tkm_secp_pubkey_compress(uint8_t out[static TKM_SECP_PUBKEY_COMPRESSED_LEN],
                                const uint8_t pub[static TKM_SECP_PUBKEY_LEN]) {
    memset(out, 0, TKM_SECP_PUBKEY_COMPRESSED_LEN);
    TKM_TRY(tkm_secp_init());
    secp256k1_pubkey pk;
    TKM_ENSURE(secp256k1_ec_pubkey_parse(ctx, &pk, pub, TKM_SECP_PUBKEY_LEN), TKM_ERR_BAD_KEY);
    size_t len = TKM_SECP_PUBKEY_COMPRESSED_LEN;
    TKM_ENSURE(secp256k1_ec_pubkey_serialize(ctx, out, &len, &pk, SECP256K1_EC_COMPRESSED), TKM_ERR_INTERNAL);
    return TKM_RC_OK;
}

/* ndata: NULL for RFC 6979 as written; 32 bytes of extra data (§3.6) for a hedged nonce. */
static tkm_rc sign_with(uint8_t sig[static TKM_SECP_SIG_LEN], const tkm_secret *sk,
                        const uint8_t digest[static TKM_SECP_DIGEST_LEN], const uint8_t *ndata) {
    memset(sig, 0, TKM_SECP_SIG_LEN);
    TKM_TRY(tkm_secp_init());
    TKM_TRY(seckey_len_ok(sk));
    secp256k1_ecdsa_recoverable_signature rs;
    int ok = secp256k1_ecdsa_sign_recoverable(ctx, &rs, digest, tkm_secret_ptr(sk), NULL, ndata);
    /* Declassified: whether signing succeeded (it fails only for an invalid key, reported as such). */
    tkm_declassify(&ok, sizeof ok);
    TKM_ENSURE(ok, TKM_ERR_BAD_KEY);
    int recid = 0;
    (void)secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sig, &recid, &rs);
    sig[64] = (uint8_t)recid;
    return TKM_RC_OK;
}

tkm_rc tkm_secp_sign(uint8_t sig[static TKM_SECP_SIG_LEN], const tkm_secret *sk,
                     const uint8_t digest[static TKM_SECP_DIGEST_LEN]) {
    return sign_with(sig, sk, digest, NULL);
}

tkm_rc tkm_secp_sign_hedged(uint8_t sig[static TKM_SECP_SIG_LEN], const tkm_secret *sk,
                            const uint8_t digest[static TKM_SECP_DIGEST_LEN]) {
    uint8_t noise[32];
    memset(sig, 0, TKM_SECP_SIG_LEN);
    TKM_TRY(tkm_entropy_bytes(noise, sizeof noise));
    tkm_rc rc = sign_with(sig, sk, digest, noise);
    tkm_wipe(noise, sizeof noise);
    return rc;
}

tkm_rc tkm_secp_sign_checked(uint8_t sig[static TKM_SECP_SIG_LEN], const tkm_secret *sk,
                             const uint8_t pub[static TKM_SECP_PUBKEY_LEN],
                             const uint8_t digest[static TKM_SECP_DIGEST_LEN]) {
    TKM_TRY(tkm_secp_sign(sig, sk, digest));
    /* recovery checks r, s and the recovery id at once, for the price of one verification */
    uint8_t got[TKM_SECP_PUBKEY_LEN];
    tkm_rc rc = tkm_secp_recover(got, digest, sig, TKM_SECP_REQUIRE_LOW_S);
    if (tkm_failed(rc) || memcmp(got, pub, TKM_SECP_PUBKEY_LEN) != 0) {
        tkm_wipe(sig, TKM_SECP_SIG_LEN);
        tkm_err_detail_set("signature self-check failed: it does not recover to the key's public key; nothing "
                           "was released");
        TKM_ENSURE(0, TKM_ERR_SIGN_SELFCHECK);
    }
    return TKM_RC_OK;
}

tkm_rc tkm_secp_verify(const uint8_t pub[static TKM_SECP_PUBKEY_LEN],
                       const uint8_t digest[static TKM_SECP_DIGEST_LEN], const uint8_t sig64[static 64]) {
    TKM_TRY(tkm_secp_init());
    secp256k1_pubkey pk;
    secp256k1_ecdsa_signature s, norm;
    TKM_ENSURE(secp256k1_ec_pubkey_parse(ctx, &pk, pub, TKM_SECP_PUBKEY_LEN), TKM_ERR_BAD_KEY);
    TKM_ENSURE(secp256k1_ecdsa_signature_parse_compact(ctx, &s, sig64), TKM_ERR_BAD_SIGNATURE);
    /* normalize returns 1 when s was high: refuse malleable forms outright. */
    TKM_ENSURE(!secp256k1_ecdsa_signature_normalize(ctx, &norm, &s), TKM_ERR_HIGH_S);
    TKM_ENSURE(secp256k1_ecdsa_verify(ctx, &s, digest, &pk), TKM_ERR_BAD_SIGNATURE);
    return TKM_RC_OK;
}

/* secp256k1 group order n, big-endian; s must be <= n/2 for low-s. */
static const uint8_t half_n[32] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
                                   0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};
static const uint8_t order_n[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                    0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

static int is_zero32(const uint8_t *b) {
    uint8_t acc = 0;
    for (int i = 0; i < 32; i++) acc |= b[i];
    return acc == 0;
}

tkm_rc tkm_secp_recover(uint8_t pub[static TKM_SECP_PUBKEY_LEN],
                        const uint8_t digest[static TKM_SECP_DIGEST_LEN],
                        const uint8_t sig[static TKM_SECP_SIG_LEN], int flags) {
    memset(pub, 0, TKM_SECP_PUBKEY_LEN);
    TKM_TRY(tkm_secp_init());
    const uint8_t *r = sig, *s = sig + 32;
    TKM_ENSURE(sig[64] <= 3, TKM_ERR_BAD_SIGNATURE);
    /* libsecp256k1 reduces r and s mod n in parse_compact's overflow check;
     * be explicit so that out-of-range values are rejected, not wrapped. */
    TKM_ENSURE(!is_zero32(r) && !is_zero32(s), TKM_ERR_BAD_SIGNATURE);
    TKM_ENSURE(memcmp(r, order_n, 32) < 0 && memcmp(s, order_n, 32) < 0, TKM_ERR_BAD_SIGNATURE);
    if (flags & TKM_SECP_REQUIRE_LOW_S) TKM_ENSURE(memcmp(s, half_n, 32) <= 0, TKM_ERR_HIGH_S);
    secp256k1_ecdsa_recoverable_signature rs;
    TKM_ENSURE(secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, sig, sig[64]),
               TKM_ERR_BAD_SIGNATURE);
    secp256k1_pubkey pk;
    TKM_ENSURE(secp256k1_ecdsa_recover(ctx, &pk, &rs, digest), TKM_ERR_RECOVER);
    serialize_uncompressed(pub, &pk);
    return TKM_RC_OK;
}

void tkm_eth_address(uint8_t addr[static TKM_ETH_ADDR_LEN], const uint8_t pub[static TKM_SECP_PUBKEY_LEN]) {
    uint8_t h[32];
    tkm_keccak256(h, pub + 1, 64);
    memcpy(addr, h + 12, TKM_ETH_ADDR_LEN);
}

/* The EIP-55 case pattern: nibble i of keccak(lower-hex) >= 8 means upper case. */
static void checksum_mask(const char lower[40], uint8_t hash[32]) { tkm_keccak256(hash, lower, 40); }

void tkm_eth_address_checksum(char out[static TKM_ETH_ADDR_STR_LEN], const uint8_t addr[static TKM_ETH_ADDR_LEN]) {
    static const char dig[] = "0123456789abcdef";
    char lower[40];
    uint8_t h[32];
    for (int i = 0; i < 20; i++) {
        lower[2 * i] = dig[addr[i] >> 4];
        lower[2 * i + 1] = dig[addr[i] & 15];
    }
    checksum_mask(lower, h);
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < 40; i++) {
        unsigned nib = (h[i / 2] >> (i % 2 ? 0 : 4)) & 15;
        char c = lower[i];
        out[2 + i] = (c >= 'a' && nib >= 8) ? (char)(c - 32) : c;
    }
    out[42] = 0;
}

tkm_rc tkm_eth_address_parse(uint8_t addr[static TKM_ETH_ADDR_LEN], const char *s, size_t len) {
    memset(addr, 0, TKM_ETH_ADDR_LEN);
    if (len != 42 || s[0] != '0' || s[1] != 'x') {
        tkm_err_detail_set("address must be 0x followed by 40 hex digits");
        TKM_ENSURE(0, TKM_ERR_ADDRESS);
    }
    int has_lower = 0, has_upper = 0;
    for (size_t i = 2; i < 42; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'f') has_lower = 1;
        else if (c >= 'A' && c <= 'F') has_upper = 1;
        else if (!(c >= '0' && c <= '9')) TKM_ENSURE(0, TKM_ERR_ADDRESS);
    }
    uint8_t a[20];
    size_t n;
    TKM_TRY(tkm_hex_decode(a, sizeof a, &n, s, len, TKM_HEX_0X_REQUIRED));
    if (has_lower && has_upper) {
        char want[TKM_ETH_ADDR_STR_LEN];
        tkm_eth_address_checksum(want, a);
        if (memcmp(want, s, 42) != 0) {
            tkm_err_detail_set("mixed-case address does not match its EIP-55 checksum");
            TKM_ENSURE(0, TKM_ERR_CHECKSUM);
        }
    }
    memcpy(addr, a, 20);
    return TKM_RC_OK;
}
