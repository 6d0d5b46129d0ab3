#!/usr/bin/env python3
"""A tiny HTTPS server playing an Intel PCCS (v4 API) and an AMD KDS for tests.

Usage: pcs_server.py CERT KEY LOG PROFILE...
Prints "PORT <n>" on stdout once listening on 127.0.0.1, then serves until
killed. Every request line ("GET /path?query") is appended to LOG. Unknown
URLs get 404. Profiles (data from $TKM_VECTORS_DIR/attestation):

  sgx-dcap-qvl   PCS-shaped responses for dcap-qvl's sgx_quote, rebuilt from
                 sgx_quote_collateral.json (the exact signed tcb_info / qe_identity
                 texts wrapped as {"tcbInfo": …, "signature": …} with whitespace
                 around, issuer chains URL-encoded in the PCS headers, the PCK CRL
                 as DER and the root CA CRL as hex text, as PCCS serves it)
  tdx-spr-e4     go-tdx-guest's captured PCS v4 responses byte for byte
                 (sample_tcbInfo_response, sample_qeIdentity_response, pckcrl,
                 rootcrl.der) with the issuer chains from the DERIVED_*.pem files
  snp-milan      virtee's Milan VCEK at /vcek/v1/Milan/<chip_id>?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115,
                 go-sev-guest's for its report, and AMD's real Milan CRL at /vcek/v1/Milan/crl
  broken-tcb     like sgx-dcap-qvl but the TCB info response is not JSON
"""
import http.server
import json
import os
import ssl
import sys
import urllib.parse

V = os.path.join(os.environ.get("TKM_VECTORS_DIR", "tests/vectors"), "attestation")


def rd(rel, mode="rb"):
    with open(os.path.join(V, rel), mode) as f:
        return f.read()


def enc(pem):
    return urllib.parse.quote(pem, safe="")


def sgx_routes(broken=False):
    c = json.loads(rd("dcap-qvl/sgx_quote_collateral.json"))
    tcb = ('{\n  "tcbInfo" : ' + c["tcb_info"] + ',\n  "signature":"' + c["tcb_info_signature"] + '"\n}\n').encode()
    if broken:
        tcb = b"<html>maintenance</html>"
    qe = ('{"enclaveIdentity":' + c["qe_identity"] + ',"signature":"' + c["qe_identity_signature"] + '"}').encode()
    base = "/sgx/certification/v4"
    return {
        base + "/tcb?fmspc=00A067110000": (tcb, {"TCB-Info-Issuer-Chain": enc(c["tcb_info_issuer_chain"])}),
        base + "/qe/identity": (qe, {"SGX-Enclave-Identity-Issuer-Chain": enc(c["qe_identity_issuer_chain"])}),
        base + "/pckcrl?ca=processor&encoding=der": (bytes.fromhex(c["pck_crl"]),
                                                     {"SGX-PCK-CRL-Issuer-Chain": enc(c["pck_crl_issuer_chain"])}),
        base + "/rootcacrl": (c["root_ca_crl"].encode(), {}),
    }


def tdx_routes():
    tcb_chain = rd("go-tdx-guest/DERIVED_tcb_info_issuer_chain.pem", "r")
    crl_chain = rd("go-tdx-guest/DERIVED_pck_crl_issuer_chain.pem", "r")
    return {
        "/tdx/certification/v4/tcb?fmspc=50806F000000": (rd("go-tdx-guest/sample_tcbInfo_response"),
                                                          {"TCB-Info-Issuer-Chain": enc(tcb_chain)}),
        "/tdx/certification/v4/qe/identity": (rd("go-tdx-guest/sample_qeIdentity_response"),
                                              {"SGX-Enclave-Identity-Issuer-Chain": enc(tcb_chain)}),
        "/sgx/certification/v4/pckcrl?ca=platform&encoding=der": (rd("go-tdx-guest/pckcrl"),
                                                                   {"SGX-PCK-CRL-Issuer-Chain": enc(crl_chain)}),
        "/sgx/certification/v4/rootcacrl": (rd("go-tdx-guest/rootcrl.der"), {}),
    }


def snp_routes():
    report = rd("virtee-sev/DERIVED_report_milan.bin")
    chip_id = report[0x1A0:0x1E0].hex()
    other = rd("go-sev-guest/attestation.bin")[0x1A0:0x1E0].hex()
    return {"/vcek/v1/Milan/" + chip_id + "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115": (rd("virtee-sev/vcek_milan.der"), {}),
            "/vcek/v1/Milan/" + other + "?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68": (rd("go-sev-guest/vcek.testcer"), {}),
            "/vcek/v1/Milan/crl": (rd("amd-kds/milan.crl.der"), {})}


def main():
    cert, key, log = sys.argv[1:4]
    routes = {}
    for p in sys.argv[4:]:
        routes.update({"sgx-dcap-qvl": sgx_routes, "tdx-spr-e4": tdx_routes, "snp-milan": snp_routes,
                       "broken-tcb": lambda: sgx_routes(True)}[p]())

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            with open(log, "a") as f:
                f.write("GET " + self.path + "\n")
            r = routes.get(self.path)
            if r is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, headers = r
            self.send_response(200)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("PORT", srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
