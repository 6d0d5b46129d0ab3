/* teekm evidence show --tls HOST:PORT — what an RA-TLS server presents, and whether it binds. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tee/tee.h"

static int show_usage(void) {
    fprintf(stderr,
            "usage: teekm evidence show --tls HOST:PORT [--timeout SECONDS]\n"
            "  Connects with TLS 1.3 (no CA verification: it shows what the server presents),\n"
            "  reads the RA-TLS certificate and prints one JSON object: platform, measurement,\n"
            "  claims, evidence (hex), reportDataMatches. reportDataMatches is true only when the\n"
            "  report_data recomputed from the claims equals the one in the evidence AND the\n"
            "  claims' TLS key is the key the server used. The evidence itself is NOT appraised\n"
            "  here (signatures, TCB, measurement policy): that is the verifier's job.\n"
            "  Exit status: 0 when reportDataMatches, 1 otherwise or on error, 2 on usage.\n");
    return 2;
}

/* HOST:PORT or [V6]:PORT into host and port buffers. */
static int split_hostport(const char *s, char *host, size_t hcap, char *port, size_t pcap) {
    const char *colon;
    const char *h = s;
    size_t hl;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':') return 0;
        h = s + 1;
        hl = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return 0;
        hl = (size_t)(colon - s);
    }
    const char *p = colon + 1;
    size_t pl = strlen(p);
    if (hl == 0 || hl >= hcap || pl == 0 || pl >= pcap || strspn(p, "0123456789") != pl) return 0;
    memcpy(host, h, hl);
    host[hl] = 0;
    memcpy(port, p, pl + 1);
    return 1;
}

static int evidence_show(int argc, char **argv) {
    const char *target = NULL;
    int timeout_s = 10;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tls") == 0 && i + 1 < argc) {
            target = argv[++i];
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            char *end = NULL;
            long v = strtol(argv[++i], &end, 10);
            if (!end || *end || v < 1 || v > 600) return show_usage();
            timeout_s = (int)v;
        } else {
            return show_usage();
        }
    }
    char host[256], port[16];
    if (!target || !split_hostport(target, host, sizeof host, port, sizeof port)) return show_usage();
    uint8_t *cert = NULL, *spki = NULL;
    size_t cert_len = 0, spki_len = 0;
    tkm_rc rc = tkm_ratls_fetch(&cert, &cert_len, &spki, &spki_len, host, port, timeout_s * 1000);
    if (tkm_failed(rc)) {
        cli_error("evidence show", rc);
        return 1;
    }
    tkm_ratls_peer peer;
    rc = tkm_ratls_inspect(&peer, cert, cert_len, spki, spki_len);
    free(cert);
    free(spki);
    if (tkm_failed(rc)) {
        cli_error("evidence show", rc);
        return 1;
    }
    json_t *out = NULL;
    rc = tkm_ratls_peer_json(&peer, &out);
    int matches = peer.report_data_matches && peer.tls_key_matches;
    tkm_ratls_peer_free(&peer);
    if (tkm_failed(rc)) {
        cli_error("evidence show", rc);
        return 1;
    }
    int r = cli_print_json(out);
    json_decref(out);
    return r != 0 ? 1 : matches ? 0 : 1;
}

/* Called by cmd_evidence for "evidence show ..." (argv[0] == "show"). */
int cmd_evidence_show(int argc, char **argv) { return evidence_show(argc, argv); }
