/* see tkm_ossl.h */
#include "tkm_ossl.h"

#include <openssl/err.h>

tkm_rc tkm_ossl_fail_at(tkm_err code, const char *what, const char *file, int line) {
    unsigned long e = ERR_get_error();
    char buf[160] = "";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    tkm_err_detail_set("%s%s%s", what, buf[0] ? ": " : "", buf);
    tkm_err_record_where_(file, line);
    return TKM_RC(code);
}
