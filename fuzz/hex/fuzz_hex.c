/*
 * Hex codec: byte 0 picks the flags, the rest is the string. Whatever
 * decodes must re-encode to the same digits (lower-cased) and decode back
 * to the same bytes; decode_exact and decode_alloc must agree with decode.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    unsigned flags = data[0] & 7u;
    const char *s = (const char *)data + 1;
    size_t n = size - 1, got = 0, got2 = 0, alen = 0;
    static uint8_t out[4096], back[4096];
    static char enc[2 * 4096 + 3];
    tkm_rc rc = tkm_hex_decode(out, sizeof out, &got, s, n, flags);
    uint8_t *a = NULL;
    tkm_rc rca = tkm_hex_decode_alloc(&a, &alen, s, n, flags, sizeof out);
    if (tkm_ok(rca) != tkm_ok(rc) || (tkm_ok(rc) && (alen != got || (got && memcmp(a, out, got) != 0)))) abort();
    free(a);
    if (tkm_failed(rc)) return 0;
    int prefix = n >= 2 && s[0] == '0' && s[1] == 'x';
    if (tkm_failed(tkm_hex_encode(enc, sizeof enc, out, got, prefix))) abort();
    for (size_t i = 0; i < n; i++) /* digits may be upper case; the encoding is lower */
        if (enc[i] != ((s[i] >= 'A' && s[i] <= 'F') ? s[i] + 32 : s[i])) abort();
    if (tkm_failed(tkm_hex_decode(back, sizeof back, &got2, enc, strlen(enc), flags)) || got2 != got ||
        (got && memcmp(back, out, got) != 0))
        abort();
    if (tkm_failed(tkm_hex_decode_exact(back, got, s, n, flags)) || (got && memcmp(back, out, got) != 0)) abort();
    return 0;
}
