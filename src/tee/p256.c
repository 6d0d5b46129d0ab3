/* P-256 keys for the sim platform and RA-TLS (OpenSSL EVP), see tee_internal.h. */
#include "tee_internal.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/tkm_entropy.h"

/* n of P-256, big-endian */
static const uint8_t P256_N[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
                                   0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

/* 1 when 0 < k < n. Branches only on the (public) accept/reject outcome. */
static int scalar_ok(const uint8_t k[32]) {
    unsigned lt = 0, gt = 0, nz = 0;
    for (size_t i = 0; i < 32; i++) {
        unsigned a = k[i], b = P256_N[i];
        unsigned undecided = 1u ^ (lt | gt);
        lt |= undecided & ((a - b) >> 8 & 1u);
        gt |= undecided & ((b - a) >> 8 & 1u);
        nz |= a;
    }
    return (int)(lt & (nz != 0));
}

tkm_rc tee_p256_scalar_new(tkm_secret **sk) {
    *sk = NULL;
    tkm_secret *s = NULL;
    TKM_TRY(tkm_secret_new(&s, 32));
    for (int i = 0; i < 64; i++) {
        tkm_rc rc = tkm_entropy_bytes(tkm_secret_mut(s), 32);
        if (tkm_failed(rc)) {
            tkm_secret_free(s);
            return rc;
        }
        if (scalar_ok(tkm_secret_ptr(s))) {
            *sk = s;
            return TKM_RC_OK;
        }
    }
    tkm_secret_free(s);
    TKM_ENSURE(0, TKM_ERR_ENTROPY);
}

tkm_rc tee_p256_pkey(EVP_PKEY **pkey, const tkm_secret *sk) {
    *pkey = NULL;
    TKM_ARG_CHECK(tkm_secret_len(sk) == 32);
    tkm_rc rc = TKM_RC(TKM_ERR_CRYPTO);
    EC_GROUP *g = NULL;
    EC_POINT *P = NULL;
    BIGNUM *d = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *k = NULL;
    uint8_t pub[65];
    if (!scalar_ok(tkm_secret_ptr(sk))) TKM_GOTO(rc, TKM_ERR_BAD_KEY);
    g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    d = BN_secure_new();
    P = g ? EC_POINT_new(g) : NULL;
    if (!g || !d || !P) goto fail;
    BN_set_flags(d, BN_FLG_CONSTTIME);
    if (!BN_bin2bn(tkm_secret_ptr(sk), 32, d)) goto fail;
    if (!EC_POINT_mul(g, P, d, NULL, NULL, NULL)) goto fail;
    if (EC_POINT_point2oct(g, P, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof pub, NULL) != sizeof pub) goto fail;
    bld = OSSL_PARAM_BLD_new();
    if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub))
        goto fail;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, params) <= 0)
        goto fail;
    *pkey = k;
    k = NULL;
    rc = TKM_RC_OK;
    goto out;
fail:
    rc = TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "P-256 key");
out:
    EVP_PKEY_free(k);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EC_POINT_free(P);
    BN_clear_free(d);
    EC_GROUP_free(g);
    return rc;
}

tkm_rc tee_p256_pub(uint8_t pub[65], EVP_PKEY *pkey) {
    memset(pub, 0, 65);
    size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, 65, &len) != 1 || len != 65 ||
        pub[0] != 0x04) {
        memset(pub, 0, 65);
        return TKM_OSSL_FAIL(TKM_ERR_BAD_KEY, "P-256 public key");
    }
    return TKM_RC_OK;
}

tkm_rc tee_spki(uint8_t **der, size_t *len, EVP_PKEY *pkey) {
    *der = NULL;
    *len = 0;
    unsigned char *p = NULL;
    int n = i2d_PUBKEY(pkey, &p);
    if (n <= 0) return TKM_OSSL_FAIL(TKM_ERR_CRYPTO, "encode SubjectPublicKeyInfo");
    uint8_t *copy = malloc((size_t)n);
    if (!copy) {
        OPENSSL_free(p);
        TKM_ENSURE(0, TKM_ERR_NOMEM);
    }
    memcpy(copy, p, (size_t)n);
    OPENSSL_free(p);
    *der = copy;
    *len = (size_t)n;
    return TKM_RC_OK;
}
