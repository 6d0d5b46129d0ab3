/*
 * Strict JSON loader, typed getters and the RFC 8785 canonical writer. Every
 * loaded document goes through every getter (on each member of an object or
 * each element of an array); its canonical form must load again and be a
 * fixed point.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void getters(const json_t *obj, const char *key) {
    static const char *const allowed[] = {"a", "value", "to", NULL};
    const char *str;
    size_t len, blen;
    int b, present;
    int64_t i64;
    uint64_t u64;
    tkm_u256 q;
    uint8_t fixed[32], *bytes = NULL;
    json_t *v;
    tkm_rc r[9];
    r[0] = tkm_json_get(obj, "", key, 1, &v);
    r[1] = tkm_json_str(obj, "", key, 0, &str, &len);
    r[2] = tkm_json_bool(obj, "", key, 1, &b, &present);
    r[3] = tkm_json_int(obj, "", key, 0, -1000, 1000000, &i64, &present);
    r[4] = tkm_json_quantity(obj, "", key, 1, &q, &present);
    r[5] = tkm_json_quantity_u64(obj, "", key, 0, &u64, &present);
    r[6] = tkm_json_hexbytes(obj, "", key, 1, 64, &bytes, &blen, &present);
    r[7] = tkm_json_hexfixed(obj, "", key, 0, fixed, sizeof fixed, &present);
    r[8] = tkm_json_check_fields(obj, "", allowed);
    free(bytes);
    (void)r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int init;
    if (!init) tkm_json_init(), init = 1;
    tkm_json_limits lim = {.max_bytes = 65536, .max_depth = 16};
    json_t *j = NULL, *j2 = NULL;
    if (tkm_failed(tkm_json_load(&j, data, size, &lim))) return 0;
    const char *key;
    json_t *v;
    size_t i;
    uint8_t fixed[20];
    tkm_u256 q;
    if (json_is_object(j)) json_object_foreach(j, key, v) getters(j, key);
    if (json_is_array(j)) json_array_foreach(j, i, v) {
            tkm_rc r1 = tkm_json_value_quantity(v, "[]", &q), r2 = tkm_json_value_hexfixed(v, "[]", fixed, 20);
            (void)r1, (void)r2;
        }
    tkm_wr w, w2, d;
    tkm_wr_init(&w, 1 << 20);
    tkm_wr_init(&w2, 1 << 20);
    tkm_wr_init(&d, 1 << 20);
    if (tkm_ok(tkm_json_canonical(j, &w))) {
        tkm_json_limits big = {.max_bytes = 1 << 20, .max_depth = 16};
        if (tkm_failed(tkm_json_load(&j2, w.p, w.len, &big)) || tkm_failed(tkm_json_canonical(j2, &w2)) ||
            w2.len != w.len || memcmp(w.p, w2.p, w.len) != 0)
            abort();
    }
    if (tkm_failed(tkm_json_dump(j, &d))) abort();
    tkm_wr_free(&w);
    tkm_wr_free(&w2);
    tkm_wr_free(&d);
    json_decref(j2);
    json_decref(j);
    return 0;
}
