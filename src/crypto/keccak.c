/*
 * Keccak-256 as Ethereum uses it: Keccak-f[1600], rate 136 bytes, capacity
 * 512 bits, domain padding 0x01 ... 0x80 (the pre-FIPS "Keccak" padding).
 * The permutation follows the Keccak reference (theta, rho+pi, chi, iota);
 * written with lane arrays rather than macros to stay readable, and unrolled
 * by the compiler at -O2.
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

/* rho offsets and pi destinations, in the order lanes are visited from lane 1. */
static const unsigned rho[24] = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                                 27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
static const unsigned pi[24] = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                                15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

static inline uint64_t rotl(uint64_t x, unsigned n) { return (x << n) | (x >> ((64 - n) & 63)); }

static void keccak_f1600(uint64_t s[25]) {
    uint64_t bc[5];
    for (int round = 0; round < 24; round++) {
        /* theta */
        for (int i = 0; i < 5; i++) bc[i] = s[i] ^ s[i + 5] ^ s[i + 10] ^ s[i + 15] ^ s[i + 20];
        for (int i = 0; i < 5; i++) {
            uint64_t t = bc[(i + 4) % 5] ^ rotl(bc[(i + 1) % 5], 1);
            for (int j = 0; j < 25; j += 5) s[j + i] ^= t;
        }
        /* rho and pi */
        uint64_t t = s[1];
        for (int i = 0; i < 24; i++) {
            unsigned j = pi[i];
            uint64_t tmp = s[j];
            s[j] = rotl(t, rho[i]);
            t = tmp;
        }
        /* chi */
        for (int j = 0; j < 25; j += 5) {
            for (int i = 0; i < 5; i++) bc[i] = s[j + i];
            for (int i = 0; i < 5; i++) s[j + i] ^= (~bc[(i + 1) % 5]) & bc[(i + 2) % 5];
        }
        /* iota */
        s[0] ^= round_consts[round];
    }
}

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
