#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint8_t *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) fail_msg("cannot read %s", path);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

const char *tu_vector_path(const char *rel) {
    static char path[4096];
    const char *dir = getenv("TKM_VECTORS_DIR");
    if (!dir) fail_msg("TKM_VECTORS_DIR is not set (run through ctest)");
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return path;
}

json_t *tu_load_vector(const char *rel) {
    json_error_t e;
    json_t *j = json_load_file(tu_vector_path(rel), 0, &e);
    if (!j) fail_msg("cannot load vector %s: %s", rel, e.text);
    return j;
}

uint8_t *tu_hex(const char *hex, size_t *len) {
    size_t n = strlen(hex);
    uint8_t *out = NULL;
    tkm_rc rc = tkm_hex_decode_alloc(&out, len, hex, n, TKM_HEX_0X_OPTIONAL | TKM_HEX_EMPTY_OK, n);
    if (tkm_failed(rc)) fail_msg("bad hex in test data: %.40s", hex);
    return out;
}

void tu_hex_exact(uint8_t *out, size_t n, const char *hex) {
    tkm_rc rc = tkm_hex_decode_exact(out, n, hex, strlen(hex), TKM_HEX_0X_OPTIONAL);
    if (tkm_failed(rc)) fail_msg("bad hex (want %zu bytes) in test data: %.40s", n, hex);
}

const char *tu_tohex(const uint8_t *b, size_t n) {
    static char buf[8192];
    if (TKM_HEX_ENC_LEN(n, 0) > sizeof buf) fail_msg("tu_tohex: too long");
    if (tkm_failed(tkm_hex_encode(buf, sizeof buf, b, n, 0))) fail_msg("hex encode");
    return buf;
}

static int misuse_hits;
static void count_misuse(const char *what, const char *file, int line) {
    (void)what;
    (void)file;
    (void)line;
    misuse_hits++;
}
void tu_misuse_install(void) { tkm_misuse_set_handler(count_misuse); }
int tu_misuse_count(void) {
    int n = misuse_hits;
    misuse_hits = 0;
    return n;
}

static tkm_rc flaky_read(void *ctx, const uint8_t id[32], uint64_t *v, int *ex) {
    tu_flaky_counter *k = ctx;
    return k->inner.read(k->inner.ctx, id, v, ex);
}

static tkm_rc flaky_advance(void *ctx, const uint8_t id[32], uint64_t v) {
    tu_flaky_counter *k = ctx;
    k->advances++;
    if (k->fail_with != TKM_OK) {
        tkm_err_detail_set("flaky counter: away");
        return TKM_RC(k->fail_with);
    }
    return k->inner.advance(k->inner.ctx, id, v);
}

static void flaky_close(void *ctx) {
    tu_flaky_counter *k = ctx;
    if (k->inner.close) k->inner.close(k->inner.ctx);
}

tkm_counter tu_flaky_counter_wrap(tu_flaky_counter *k, tkm_counter inner) {
    k->inner = inner;
    return (tkm_counter){.ctx = k, .read = flaky_read, .advance = flaky_advance, .close = flaky_close};
}
