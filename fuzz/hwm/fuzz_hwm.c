/* The high-water mark file layout (tkm_hwm_parse; teekmd peeks at it before it holds the MAC key). */
#include <stdlib.h>
#include <string.h>

#include "tee/tee.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tkm_hwm m;
    uint8_t tag[32];
    if (tkm_failed(tkm_hwm_parse(&m, tag, data, size))) return 0;
    if (size != TKM_HWM_FILE_LEN || memcmp(data, "TKMHWM01", 8) != 0 || memcmp(m.instance_id, data + 8, 32) != 0 ||
        memcmp(tag, data + 48, 32) != 0)
        abort();
    return 0;
}
