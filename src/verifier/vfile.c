/* see verifier_int.h (whole files are read and written with core tkm_file.h) */
#include "verifier_int.h"

#include <stdio.h>

tkm_rc vpath_join(char *buf, size_t cap, const char *dir, const char *name) {
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        tkm_err_detail_set("path too long: %s/%s", dir, name);
        TKM_ENSURE(0, TKM_ERR_TOO_LARGE);
    }
    return TKM_RC_OK;
}
