/*
 * Keccak-256 as Ethereum uses it: Keccak-f[1600], rate 136 bytes, capacity
 * 512 bits, domain padding 0x01 ... 0x80 (the pre-FIPS "Keccak" padding).
 * The permutation follows the Keccak reference (theta, rho+pi, chi, iota),
 * unrolled over the 25 lanes (it is on the signer's hot path: every
 * transaction signing hash and address).
 */
#include "tkm_hash.h"

#include <string.h>

#define RATE 136

static const uint64_t round_consts[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/*
 * Keccak-f[1600], fully unrolled: the 25 lanes live in local variables (a<x><y>,
 * lane index x + 5y) so the compiler keeps them in registers. One round is
 * theta (c, d), rho and pi together (b<x><y> = rotl(a ^ d, r) moved to its pi
 * position), chi and iota, exactly as in the Keccak reference. The body was
 * generated from the reference offsets; the known-answer tests check it.
 */
#define KROL(x, n) (((x) << (n)) | ((x) >> (64 - (n))))
static void keccak_f1600(uint64_t s[25]) {
    uint64_t a00 = s[0], a10 = s[1], a20 = s[2], a30 = s[3], a40 = s[4],
             a01 = s[5], a11 = s[6], a21 = s[7], a31 = s[8], a41 = s[9],
             a02 = s[10], a12 = s[11], a22 = s[12], a32 = s[13], a42 = s[14],
             a03 = s[15], a13 = s[16], a23 = s[17], a33 = s[18], a43 = s[19],
             a04 = s[20], a14 = s[21], a24 = s[22], a34 = s[23], a44 = s[24];
    for (int round = 0; round < 24; round++) {
        uint64_t c0 = a00 ^ a01 ^ a02 ^ a03 ^ a04;
        uint64_t c1 = a10 ^ a11 ^ a12 ^ a13 ^ a14;
        uint64_t c2 = a20 ^ a21 ^ a22 ^ a23 ^ a24;
        uint64_t c3 = a30 ^ a31 ^ a32 ^ a33 ^ a34;
        uint64_t c4 = a40 ^ a41 ^ a42 ^ a43 ^ a44;
        uint64_t d0 = c4 ^ KROL(c1, 1);
        uint64_t d1 = c0 ^ KROL(c2, 1);
        uint64_t d2 = c1 ^ KROL(c3, 1);
        uint64_t d3 = c2 ^ KROL(c4, 1);
        uint64_t d4 = c3 ^ KROL(c0, 1);
        uint64_t b00 = a00 ^ d0;
        uint64_t b13 = KROL((a01 ^ d0), 36);
        uint64_t b21 = KROL((a02 ^ d0), 3);
        uint64_t b34 = KROL((a03 ^ d0), 41);
        uint64_t b42 = KROL((a04 ^ d0), 18);
        uint64_t b02 = KROL((a10 ^ d1), 1);
        uint64_t b10 = KROL((a11 ^ d1), 44);
        uint64_t b23 = KROL((a12 ^ d1), 10);
        uint64_t b31 = KROL((a13 ^ d1), 45);
        uint64_t b44 = KROL((a14 ^ d1), 2);
        uint64_t b04 = KROL((a20 ^ d2), 62);
        uint64_t b12 = KROL((a21 ^ d2), 6);
        uint64_t b20 = KROL((a22 ^ d2), 43);
        uint64_t b33 = KROL((a23 ^ d2), 15);
        uint64_t b41 = KROL((a24 ^ d2), 61);
        uint64_t b01 = KROL((a30 ^ d3), 28);
        uint64_t b14 = KROL((a31 ^ d3), 55);
        uint64_t b22 = KROL((a32 ^ d3), 25);
        uint64_t b30 = KROL((a33 ^ d3), 21);
        uint64_t b43 = KROL((a34 ^ d3), 56);
        uint64_t b03 = KROL((a40 ^ d4), 27);
        uint64_t b11 = KROL((a41 ^ d4), 20);
        uint64_t b24 = KROL((a42 ^ d4), 39);
        uint64_t b32 = KROL((a43 ^ d4), 8);
        uint64_t b40 = KROL((a44 ^ d4), 14);
        a00 = b00 ^ (~b10 & b20);
        a10 = b10 ^ (~b20 & b30);
        a20 = b20 ^ (~b30 & b40);
        a30 = b30 ^ (~b40 & b00);
        a40 = b40 ^ (~b00 & b10);
        a01 = b01 ^ (~b11 & b21);
        a11 = b11 ^ (~b21 & b31);
        a21 = b21 ^ (~b31 & b41);
        a31 = b31 ^ (~b41 & b01);
        a41 = b41 ^ (~b01 & b11);
        a02 = b02 ^ (~b12 & b22);
        a12 = b12 ^ (~b22 & b32);
        a22 = b22 ^ (~b32 & b42);
        a32 = b32 ^ (~b42 & b02);
        a42 = b42 ^ (~b02 & b12);
        a03 = b03 ^ (~b13 & b23);
        a13 = b13 ^ (~b23 & b33);
        a23 = b23 ^ (~b33 & b43);
        a33 = b33 ^ (~b43 & b03);
        a43 = b43 ^ (~b03 & b13);
        a04 = b04 ^ (~b14 & b24);
        a14 = b14 ^ (~b24 & b34);
        a24 = b24 ^ (~b34 & b44);
        a34 = b34 ^ (~b44 & b04);
        a44 = b44 ^ (~b04 & b14);
        a00 ^= round_consts[round];
    }
    s[0] = a00; s[1] = a10; s[2] = a20; s[3] = a30; s[4] = a40;
    s[5] = a01; s[6] = a11; s[7] = a21; s[8] = a31; s[9] = a41;
    s[10] = a02; s[11] = a12; s[12] = a22; s[13] = a32; s[14] = a42;
    s[15] = a03; s[16] = a13; s[17] = a23; s[18] = a33; s[19] = a43;
    s[20] = a04; s[21] = a14; s[22] = a24; s[23] = a34; s[24] = a44;
}
#undef KROL

/* XOR one byte into the state at byte offset i (lanes are little-endian). */
static inline void xor_byte(uint64_t s[25], size_t i, uint8_t b) {
    s[i / 8] ^= (uint64_t)b << (8 * (i % 8));
}

void tkm_keccak256_init(tkm_keccak_ctx *c) {
    memset(c->st, 0, sizeof c->st);
    c->pos = 0;
}

static inline uint64_t load64_le(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

void tkm_keccak256_update(tkm_keccak_ctx *c, const void *data, size_t n) {
    const uint8_t *p = data;
    /* Finish a partial block byte by byte. */
    while (n > 0 && c->pos != 0) {
        xor_byte(c->st, c->pos++, *p++);
        n--;
        if (c->pos == RATE) {
            keccak_f1600(c->st);
            c->pos = 0;
        }
    }
    /* Whole blocks a lane at a time. */
    while (n >= RATE) {
        for (size_t i = 0; i < RATE / 8; i++) c->st[i] ^= load64_le(p + 8 * i);
        keccak_f1600(c->st);
        p += RATE;
        n -= RATE;
    }
    while (n > 0) {
        xor_byte(c->st, c->pos++, *p++);
        n--;
    }
}

void tkm_keccak256_final(tkm_keccak_ctx *c, uint8_t out[static TKM_KECCAK256_LEN]) {
    xor_byte(c->st, c->pos, 0x01);
    xor_byte(c->st, RATE - 1, 0x80);
    keccak_f1600(c->st);
    for (size_t i = 0; i < TKM_KECCAK256_LEN; i++) out[i] = (uint8_t)(c->st[i / 8] >> (8 * (i % 8)));
    tkm_wipe(c, sizeof *c);
}

void tkm_keccak256(uint8_t out[static TKM_KECCAK256_LEN], const void *data, size_t n) {
    tkm_keccak_ctx c;
    tkm_keccak256_init(&c);
    tkm_keccak256_update(&c, data, n);
    tkm_keccak256_final(&c, out);
}
