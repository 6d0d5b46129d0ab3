/* see tkm_selftest.h */
#include "tkm_selftest.h"
#include "tkm_bls.h"
#include "tkm_aead.h"
#include "tkm_entropy.h"
#include "tkm_hash.h"
#include "tkm_hpke.h"
#include "tkm_kdf.h"
#include "tkm_secp.h"

#include <string.h>

static tkm_rc expect_hex(const uint8_t *got, size_t n, const char *want_hex) {
    uint8_t want[128];
    TKM_ARG_CHECK(n <= sizeof want);
    TKM_TRY(tkm_hex_decode_exact(want, n, want_hex, strlen(want_hex), TKM_HEX_0X_FORBIDDEN));
    TKM_ENSURE(memcmp(got, want, n) == 0, TKM_ERR_KAT);
    return TKM_RC_OK;
}

/* Keccak KAT: ShortMsgKAT_256 Len=0 (Keccak team). */
static tkm_rc kat_keccak256(void) {
    uint8_t h[32];
    tkm_keccak256(h, "", 0);
    return expect_hex(h, 32, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

/* FIPS 180-2 appendix examples: "abc". */
static tkm_rc kat_sha256(void) {
    uint8_t h[32];
    TKM_TRY(tkm_sha256(h, "abc", 3));
    return expect_hex(h, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static tkm_rc kat_sha512(void) {
    uint8_t h[64];
    TKM_TRY(tkm_sha512(h, "abc", 3));
    return expect_hex(h, 64,
                      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

/* RFC 4231 test case 2. */
static tkm_rc kat_hmac_sha256(void) {
    uint8_t h[32];
    static const char data[] = "what do ya want for nothing?";
    TKM_TRY(tkm_hmac_sha256(h, (const uint8_t *)"Jefe", 4, data, sizeof data - 1));
    return expect_hex(h, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* RFC 5869 test case 1. */
static tkm_rc kat_hkdf_sha256(void) {
    uint8_t ikm[22], salt[13], info[10], okm[42];
    memset(ikm, 0x0b, sizeof ikm);
    for (uint8_t i = 0; i < sizeof salt; i++) salt[i] = i;
    for (uint8_t i = 0; i < sizeof info; i++) info[i] = (uint8_t)(0xf0 + i);
    TKM_TRY(tkm_hkdf_sha256(okm, sizeof okm, salt, sizeof salt, ikm, sizeof ikm, info, sizeof info));
    return expect_hex(okm, sizeof okm,
                      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                      "34007208d5b887185865");
}

/* EIP-155 example: key 0x46…46 signs the example's signing hash to v=37, r, s. */
static tkm_rc kat_secp256k1(void) {
    uint8_t skb[32], digest[32], sig[65], pub[65], rec[65];
    memset(skb, 0x46, sizeof skb);
    TKM_TRY(tkm_hex_decode_exact(digest, 32,
                                 "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53", 64,
                                 TKM_HEX_0X_FORBIDDEN));
    tkm_secret *sk = NULL;
    tkm_rc rc = tkm_secret_from(&sk, skb, sizeof skb);
    tkm_wipe(skb, sizeof skb);
    if (tkm_failed(rc)) return rc;
    rc = tkm_secp_sign(sig, sk, digest);
    if (tkm_ok(rc)) rc = tkm_secp_pubkey(pub, sk);
    tkm_secret_free(sk);
    TKM_TRY(rc);
    TKM_TRY(expect_hex(sig, 64,
                       "28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276"
                       "67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"));
    TKM_ENSURE(sig[64] == 0, TKM_ERR_KAT); /* v = 37 = 35 + 2*1 + recid 0 */
    TKM_TRY(tkm_secp_verify(pub, digest, sig));
    TKM_TRY(tkm_secp_recover(rec, digest, sig, TKM_SECP_REQUIRE_LOW_S));
    TKM_ENSURE(memcmp(rec, pub, 65) == 0, TKM_ERR_KAT);
    uint8_t addr[20];
    tkm_eth_address(addr, pub);
    return expect_hex(addr, 20, "9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f");
}

static tkm_rc secret_from_hex(tkm_secret **s, const char *hex, size_t n) {
    uint8_t b[64];
    *s = NULL;
    TKM_ARG_CHECK(n <= sizeof b);
    tkm_rc rc = tkm_hex_decode_exact(b, n, hex, strlen(hex), TKM_HEX_0X_FORBIDDEN);
    if (tkm_ok(rc)) rc = tkm_secret_from(s, b, n);
    tkm_wipe(b, sizeof b);
    return rc;
}

/*
 * ethereum/bls12-381-tests v0.1.2 sign_case_84d45c9c7cca6b92 (identical in
 * consensus-spec-tests general/phase0/bls/sign); the public key is the one the
 * verify_valid_case_195246ee3bd3b6ec vector pairs with that signature.
 */
static tkm_rc kat_bls12_381(void) {
    uint8_t msg[32], sig[TKM_BLS_SIG_LEN], pk[TKM_BLS_PUBKEY_LEN];
    memset(msg, 0xab, sizeof msg);
    tkm_secret *sk = NULL;
    TKM_TRY(secret_from_hex(&sk, "328388aff0d4a5b7dc9205abd374e7e98f3cd9f3418edb4eafda5fb16473d216", 32));
    tkm_rc rc = tkm_bls_sign(sig, sk, msg, sizeof msg);
    if (tkm_ok(rc)) rc = tkm_bls_sk_to_pk(pk, sk);
    tkm_secret_free(sk);
    TKM_TRY(rc);
    TKM_TRY(expect_hex(sig, sizeof sig,
                       "ae82747ddeefe4fd64cf9cedb9b04ae3e8a43420cd255e3c7cd06a8d88b7c7f8"
                       "638543719981c5d16fa3527c468c25f0026704a6951bde891360c7e8d12ddee0"
                       "559004ccdbe6046b55bae1b257ee97f7cdb955773d7cf29adf3ccbb9975e4eb9"));
    TKM_TRY(expect_hex(pk, sizeof pk,
                       "b53d21a4cfd562c469cc81514d4ce5a6b577d8403d32a394dc265dd190b47fa9"
                       "f829fdd7963afdf972e5e77854051f6f"));
    TKM_TRY(tkm_bls_verify(pk, msg, sizeof msg, sig));
    msg[0] ^= 1; /* and a different message must not verify */
    TKM_ENSURE(tkm_bls_verify(pk, msg, sizeof msg, sig).code == TKM_ERR_BAD_SIGNATURE, TKM_ERR_KAT);
    return TKM_RC_OK;
}

/* ERC-2333 test case 1 (SKs converted from decimal to big-endian hex). */
static tkm_rc kat_eip2333(void) {
    tkm_secret *seed = NULL, *master = NULL, *child = NULL;
    TKM_TRY(secret_from_hex(&seed, "3141592653589793238462643383279502884197169399375105820974944592", 32));
    tkm_rc rc = tkm_bls_derive_master_sk(&master, seed);
    if (tkm_ok(rc)) rc = tkm_bls_derive_child_sk(&child, master, 3141592653u);
    if (tkm_ok(rc))
        rc = expect_hex(tkm_secret_ptr(master), 32,
                        "41c9e07822b092a93fd6797396338c3ada4170cc81829fdfce6b5d34bd5e7ec7");
    if (tkm_ok(rc))
        rc = expect_hex(tkm_secret_ptr(child), 32,
                        "384843fad5f3d777ea39de3e47a8f999ae91f89e42bffa993d91d9782d152a0f");
    tkm_secret_free(child);
    tkm_secret_free(master);
    tkm_secret_free(seed);
    return rc;
}

/*
 * McGrew & Viega, GCM spec, Test Case 16 (AES-256, 96-bit IV, 20-byte AAD,
 * 60-byte plaintext): seal must give ct ‖ tag, open must give the plaintext
 * back, and a flipped tag bit must be refused.
 */
static tkm_rc kat_aes256gcm(void) {
    uint8_t key[32], iv[12], aad[20], pt[60], out[76], back[60];
    TKM_TRY(tkm_hex_decode_exact(key, 32, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", 64,
                                 TKM_HEX_0X_FORBIDDEN));
    TKM_TRY(tkm_hex_decode_exact(iv, 12, "cafebabefacedbaddecaf888", 24, TKM_HEX_0X_FORBIDDEN));
    TKM_TRY(tkm_hex_decode_exact(aad, 20, "feedfacedeadbeeffeedfacedeadbeefabaddad2", 40, TKM_HEX_0X_FORBIDDEN));
    static const char pt_hex[] = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                                 "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
    TKM_TRY(tkm_hex_decode_exact(pt, 60, pt_hex, sizeof pt_hex - 1, TKM_HEX_0X_FORBIDDEN));
    TKM_TRY(tkm_aead_seal(out, sizeof out, key, iv, aad, sizeof aad, pt, sizeof pt));
    TKM_TRY(expect_hex(out, 76,
                       "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                       "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
                       "76fc6ece0f4e1768cddf8853bb2d551b"));
    TKM_TRY(tkm_aead_open(back, sizeof back, key, iv, aad, sizeof aad, out, sizeof out));
    TKM_ENSURE(memcmp(back, pt, sizeof pt) == 0, TKM_ERR_KAT);
    out[75] ^= 1;
    tkm_rc rc = tkm_aead_open(back, sizeof back, key, iv, aad, sizeof aad, out, sizeof out);
    TKM_ENSURE(rc.code == TKM_ERR_AUTH_TAG, TKM_ERR_KAT);
    return TKM_RC_OK;
}

/*
 * RFC 9180 test vector, mode_base, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
 * AES-256-GCM: DeriveKeyPair(ikmR) gives pkR, a deterministic seal from ikmE
 * gives the vector's enc and first ciphertext, and the recipient opens it.
 */
static tkm_rc kat_hpke(void) {
    uint8_t ikmE[32], ikmR[32], info[20], aad[7], pt[29], pkR[32], enc[32], ct[45], back[29];
    tkm_secret *skR = NULL;
    TKM_TRY(tkm_hex_decode_exact(ikmE, 32, "2cd7c601cefb3d42a62b04b7a9041494c06c7843818e0ce28a8f704ae7ab20f9", 64,
                                 TKM_HEX_0X_FORBIDDEN));
    TKM_TRY(tkm_hex_decode_exact(ikmR, 32, "dac33b0e9db1b59dbbea58d59a14e7b5896e9bdf98fad6891e99d1686492b9ee", 64,
                                 TKM_HEX_0X_FORBIDDEN));
    TKM_TRY(tkm_hex_decode_exact(info, 20, "4f6465206f6e2061204772656369616e2055726e", 40, TKM_HEX_0X_FORBIDDEN));
    TKM_TRY(tkm_hex_decode_exact(aad, 7, "436f756e742d30", 14, TKM_HEX_0X_FORBIDDEN));
    TKM_TRY(tkm_hex_decode_exact(pt, 29, "4265617574792069732074727574682c20747275746820626561757479", 58,
                                 TKM_HEX_0X_FORBIDDEN));
    TKM_TRY(tkm_hpke_derive_keypair(&skR, pkR, ikmR, sizeof ikmR));
    tkm_rc rc = expect_hex(pkR, 32, "430f4b9859665145a6b1ba274024487bd66f03a2dd577d7753c68d7d7d00c00c");
    if (tkm_ok(rc))
        rc = tkm_hpke_seal_derand(enc, ct, sizeof ct, pkR, ikmE, sizeof ikmE, info, sizeof info, aad, sizeof aad, pt,
                                  sizeof pt);
    if (tkm_ok(rc)) rc = expect_hex(enc, 32, "6c93e09869df3402d7bf231bf540fadd35cd56be14f97178f0954db94b7fc256");
    if (tkm_ok(rc))
        rc = expect_hex(ct, 45,
                        "e5d84cd531cfb583096e7cfa9641bd3079cf3a91cda813c52deb5f512be99319"
                        "80a41de125a925cdad859d5b7a");
    if (tkm_ok(rc)) rc = tkm_hpke_open(back, sizeof back, skR, enc, info, sizeof info, aad, sizeof aad, ct, sizeof ct);
    if (tkm_ok(rc) && memcmp(back, pt, sizeof pt) != 0) rc = TKM_RC(TKM_ERR_KAT);
    tkm_secret_free(skR);
    return rc;
}

/* RFC 7914 §11: PBKDF2-HMAC-SHA256(P="passwd", S="salt", c=1, dkLen=64). */
static tkm_rc kat_pbkdf2(void) {
    tkm_secret *dk = NULL;
    TKM_TRY(tkm_pbkdf2_sha256(&dk, 64, (const uint8_t *)"passwd", 6, (const uint8_t *)"salt", 4, 1));
    tkm_rc rc = expect_hex(tkm_secret_ptr(dk), 64,
                           "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                           "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
    tkm_secret_free(dk);
    return rc;
}

static tkm_rc kat_entropy(void) { return tkm_entropy_init(); }

typedef struct {
    const char *name;
    tkm_rc (*fn)(void);
} kat;

static const kat kats[] = {
    {"entropy-health", kat_entropy},
    {"keccak-256", kat_keccak256},
    {"sha-256", kat_sha256},
    {"sha-512", kat_sha512},
    {"hmac-sha256", kat_hmac_sha256},
    {"hkdf-sha256", kat_hkdf_sha256},
    {"secp256k1", kat_secp256k1},
    {"bls12-381", kat_bls12_381},
    {"eip-2333", kat_eip2333},
    {"aes-256-gcm", kat_aes256gcm},
    {"hpke-rfc9180", kat_hpke},
    {"pbkdf2-sha256", kat_pbkdf2},
};

tkm_rc tkm_crypto_selftest(tkm_kat_report_fn report, void *ctx) {
    tkm_rc first = TKM_RC_OK;
    for (size_t i = 0; i < sizeof kats / sizeof kats[0]; i++) {
        tkm_rc rc = kats[i].fn();
        if (report) report(ctx, kats[i].name, rc);
        if (tkm_failed(rc) && tkm_ok(first)) first = rc;
    }
    return first;
}
