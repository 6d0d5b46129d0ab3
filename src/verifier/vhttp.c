/* see verifier_int.h — HTTPS GET through libcurl, bounded. */
#include "verifier_int.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEADER_BYTES ((size_t)64 * 1024)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct {
    tkm_wr body;
    const char *const *names;
    char *header;
    size_t header_len;
    size_t header_bytes;
    int too_large;
} ctx_t;

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg) {
    ctx_t *c = arg;
    size_t n = size * nmemb;
    if (tkm_failed(tkm_wr_put(&c->body, p, n))) {
        c->too_large = 1;
        return 0; /* abort the transfer */
    }
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg) {
    ctx_t *c = arg;
    size_t n = size * nmemb;
    c->header_bytes += n;
    if (c->header_bytes > MAX_HEADER_BYTES) return 0;
    /* a new response (e.g. after 100-continue) starts again */
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        free(c->header);
        c->header = NULL;
        c->header_len = 0;
        return n;
    }
    const char *colon = memchr(p, ':', n);
    if (!colon || c->header) return n;
    size_t name_len = (size_t)(colon - p);
    for (const char *const *h = c->names; h && *h; h++) {
        if (strlen(*h) != name_len || strncasecmp(*h, p, name_len) != 0) continue;
        const char *v = colon + 1, *end = p + n;
        while (v < end && (*v == ' ' || *v == '\t')) v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) end--;
        size_t vl = (size_t)(end - v);
        if (!(c->header = malloc(vl + 1))) return 0;
        memcpy(c->header, v, vl);
        c->header[vl] = 0;
        c->header_len = vl;
        break;
    }
    return n;
}

void vhttp_resp_free(vhttp_resp *r) {
    if (!r) return;
    free(r->body);
    free(r->header);
    memset(r, 0, sizeof *r);
}

tkm_rc vhttp_get(const char *url, const char *ca_file, unsigned timeout_s, size_t max_body,
                 const char *const *header_names, vhttp_resp *out) {
    memset(out, 0, sizeof *out);
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        tkm_err_detail_set("libcurl initialisation failed");
        TKM_ENSURE(0, TKM_ERR_NETWORK);
    }
    ctx_t c;
    memset(&c, 0, sizeof c);
    tkm_wr_init(&c.body, max_body);
    c.names = header_names;
    tkm_rc rc = TKM_RC_OK;
    CURL *h = curl_easy_init();
    if (!h) return TKM_RC(TKM_ERR_NOMEM);
    char errbuf[CURL_ERROR_SIZE] = "";
    long t = timeout_s ? (long)timeout_s : 10;
    int ok = curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_TIMEOUT, t) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, t) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
             (!ca_file || curl_easy_setopt(h, CURLOPT_CAINFO, ca_file) == CURLE_OK) &&
             curl_easy_setopt(h, CURLOPT_USERAGENT, "teekm-verifier/" TKM_VERSION) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_WRITEDATA, &c) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_HEADERDATA, &c) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
    if (!ok) {
        tkm_err_detail_set("libcurl refused an option (HTTPS-only build required)");
        TKM_GOTO(rc, TKM_ERR_NETWORK);
    }
    CURLcode cr = curl_easy_perform(h);
    if (cr != CURLE_OK) {
        tkm_err_detail_set("GET %.200s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cr));
        if (c.too_large || cr == CURLE_FILESIZE_EXCEEDED) TKM_GOTO(rc, TKM_ERR_TOO_LARGE);
        TKM_GOTO(rc, cr == CURLE_OPERATION_TIMEDOUT ? TKM_ERR_TIMEOUT : TKM_ERR_NETWORK);
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    TKM_CHECK_GOTO(rc, tkm_wr_take(&c.body, &out->body, &out->len));
    out->header = c.header;
    out->header_len = c.header_len;
    c.header = NULL;
    rc = TKM_RC_OK;
out:
    curl_easy_cleanup(h);
    tkm_wr_free(&c.body);
    free(c.header);
    return rc;
}
