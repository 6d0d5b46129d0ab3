/*
 * Strict base64: byte 0 picks the flags, the rest is the text. Whatever
 * decodes must be what OpenSSL's encoder turns back into the same text
 * (white space removed): one canonical text per byte string.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0 || size > 4096) return 0;
    unsigned flags = data[0] & 1u;
    const char *s = (const char *)data + 1;
    size_t n = size - 1, got = 0, alen = 0;
    static uint8_t out[4096];
    static unsigned char enc[4096 / 3 * 4 + 8];
    static char text[4096];
    tkm_rc rc = tkm_b64_decode(out, sizeof out, &got, s, n, flags);
    uint8_t *a = NULL;
    tkm_rc rca = tkm_b64_decode_alloc(&a, &alen, s, n, flags);
    if (tkm_ok(rca) != (tkm_ok(rc) && got > 0) || (tkm_ok(rca) && (alen != got || memcmp(a, out, got) != 0)))
        abort();
    free(a);
    if (tkm_failed(rc)) return 0;
    size_t t = 0;
    for (size_t i = 0; i < n; i++)
        if (!(flags && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))) text[t++] = s[i];
    int el = EVP_EncodeBlock(enc, out, (int)got);
    if (el < 0 || (size_t)el != t || memcmp(enc, text, t) != 0) abort();
    return 0;
}
