#!/usr/bin/env bash
# `teekm evidence verify` end to end on real evidence: exit codes, the result
# JSON fields, hex input, DER and PEM VCEKs, policies, usage errors.
set -euo pipefail
V=${TKM_VECTORS_DIR:?}/attestation
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
field() { node -e 'const r=JSON.parse(require("fs").readFileSync(0));const v=r[process.argv[1]];console.log(typeof v==="object"?JSON.stringify(v):String(v))' "$1"; }
failed_checks() { node -e 'const r=JSON.parse(require("fs").readFileSync(0));console.log(r.checks.filter(c=>!c.ok).map(c=>c.name).join(","))'; }

# SGX: valid, exit 0, every field
rc=0; teekm evidence verify "$V/dcap-qvl/sgx_quote" --collateral "$V/dcap-qvl/sgx_quote_collateral.json" --at 1751624924 >"$tmp/r" || rc=$?
[ $rc -eq 0 ] || fail "sgx exit $rc"
[ "$(field verdict <"$tmp/r")" = valid ] || fail "sgx verdict"
[ "$(field platform <"$tmp/r")" = sgx ] || fail "sgx platform"
[ "$(field tcbStatus <"$tmp/r")" = ConfigurationAndSWHardeningNeeded ] || fail "sgx status"
[ "$(field advisoryIds <"$tmp/r")" = '["INTEL-SA-00289","INTEL-SA-00615"]' ] || fail "sgx advisories"
[ "$(field measurement <"$tmp/r")" = 33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb ] || fail "sgx measurement"
[ "$(field reportData <"$tmp/r" | cut -c1-26)" = 48656c6c6f2c20776f726c6421 ] || fail "sgx reportData"
[ "$(field debug <"$tmp/r")" = false ] || fail "sgx debug"
# the same quote as hex text
node -e 'process.stdout.write(require("fs").readFileSync(process.argv[1]).toString("hex")+"\n")' "$V/dcap-qvl/sgx_quote" >"$tmp/sgx.hex"
teekm evidence verify "$tmp/sgx.hex" --collateral "$V/dcap-qvl/sgx_quote_collateral.json" --at 1751624924 >/dev/null || fail "hex input"
# expired collateral: exit 1 with the named check
rc=0; teekm evidence verify "$V/dcap-qvl/sgx_quote" --collateral "$V/dcap-qvl/sgx_quote_collateral.json" --at 1752919279 >"$tmp/r" || rc=$?
[ $rc -eq 1 ] || fail "expired exit $rc"
[[ "$(failed_checks <"$tmp/r")" == *qeidentity.validity* ]] || fail "expired check"
# no collateral
rc=0; teekm evidence verify "$V/dcap-qvl/tdx-quote.hex" --at 1764000000 >"$tmp/r" || rc=$?
[ $rc -eq 1 ] || fail "no-collateral exit $rc"
[[ "$(failed_checks <"$tmp/r")" == collateral,pck.crl,tcb.status ]] || fail "no-collateral checks: $(failed_checks <"$tmp/r")"
[ "$(field revocation <"$tmp/r")" = not_checked ] || fail "no-collateral revocation"
# TDX: valid; with a policy pinning another MRTD: invalid
teekm evidence verify "$V/dcap-qvl/tdx_quote" --collateral "$V/dcap-qvl/tdx_quote_collateral.json" --at 1751624191 >"$tmp/r" || fail "tdx"
[ "$(field tcbStatus <"$tmp/r")" = UpToDate ] || fail "tdx status"
printf '{"version":1,"tdx":[{"mrtd":"%096d"}]}' 0 >"$tmp/pol.json"
rc=0; teekm evidence verify "$V/dcap-qvl/tdx_quote" --collateral "$V/dcap-qvl/tdx_quote_collateral.json" --at 1751624191 --policy "$tmp/pol.json" >"$tmp/r" || rc=$?
[ $rc -eq 1 ] && [ "$(failed_checks <"$tmp/r")" = policy.measurement ] || fail "tdx policy"
# SNP (real AMD Milan CRL, window 2026-06-22..2026-08-08): DER VCEK + DER CRL valid; PEM bundle too
SNP_AT=1785000000
cat "$V/virtee-sev/vcek_milan.der" "$V/amd-kds/milan.crl.der" >"$tmp/vcek+crl.der"
teekm evidence verify "$V/virtee-sev/report_milan.hex" --collateral "$tmp/vcek+crl.der" --at $SNP_AT >"$tmp/r" || fail "snp"
[ "$(field platform <"$tmp/r")" = snp ] && [ "$(field tcbStatus <"$tmp/r")" = null ] || fail "snp fields"
[ "$(field revocation <"$tmp/r")" = checked ] || fail "snp revocation"
openssl x509 -inform DER -in "$V/virtee-sev/vcek_milan.der" -out "$tmp/vcek.pem"
openssl crl -inform DER -in "$V/amd-kds/milan.crl.der" >>"$tmp/vcek.pem"
teekm evidence verify "$V/virtee-sev/report_milan.hex" --collateral "$tmp/vcek.pem" --at $SNP_AT >/dev/null || fail "snp pem"
# the VCEK alone: revocation not checked, so invalid (exit 1) with snp.crl the only failure
rc=0; teekm evidence verify "$V/virtee-sev/report_milan.hex" --collateral "$V/virtee-sev/vcek_milan.der" --at $SNP_AT >"$tmp/r" || rc=$?
[ $rc -eq 1 ] && [ "$(failed_checks <"$tmp/r")" = snp.crl ] && [ "$(field revocation <"$tmp/r")" = not_checked ] || fail "snp no crl"
# the CRL after its nextUpdate: failed
rc=0; teekm evidence verify "$V/virtee-sev/report_milan.hex" --collateral "$tmp/vcek+crl.der" --at 1786147200 >"$tmp/r" || rc=$?
[ $rc -eq 1 ] && [ "$(failed_checks <"$tmp/r")" = snp.crl ] && [ "$(field revocation <"$tmp/r")" = failed ] || fail "snp crl expired"
cat "$V/go-sev-guest/vcek.testcer" "$V/amd-kds/milan.crl.der" >"$tmp/gsg.der"
rc=0; teekm evidence verify "$V/go-sev-guest/attestation.bin" --collateral "$tmp/gsg.der" --at $SNP_AT >"$tmp/r" || rc=$?
[ $rc -eq 1 ] && [ "$(failed_checks <"$tmp/r")" = debug ] && [ "$(field debug <"$tmp/r")" = true ] || fail "snp debug"
# SGX: the PCK chain's revocation was checked
teekm evidence verify "$V/dcap-qvl/sgx_quote" --collateral "$V/dcap-qvl/sgx_quote_collateral.json" --at 1751624924 >"$tmp/r" || fail "sgx"
[ "$(field revocation <"$tmp/r")" = checked ] || fail "sgx revocation"
# evidence that does not parse: a result, exit 1
rc=0; teekm evidence verify "$V/go-tdx-guest/tdx_prod_quote_SPR_E4.dat" --at 1688173200 >"$tmp/r" || rc=$?
[ $rc -eq 1 ] && [ "$(failed_checks <"$tmp/r")" = evidence.parse ] || fail "parse failure"
# usage and malformed inputs: exit 2
rc=0; teekm evidence verify >/dev/null 2>&1 || rc=$?; [ $rc -eq 2 ] || fail "usage"
rc=0; teekm evidence verify "$V/dcap-qvl/sgx_quote" --at soon >/dev/null 2>&1 || rc=$?; [ $rc -eq 2 ] || fail "bad --at"
echo '{"version":1,' >"$tmp/bad.json"
rc=0; teekm evidence verify "$V/dcap-qvl/sgx_quote" --policy "$tmp/bad.json" >/dev/null 2>&1 || rc=$?; [ $rc -eq 2 ] || fail "bad policy"
rc=0; teekm evidence verify "$V/dcap-qvl/sgx_quote" --collateral "$tmp/bad.json" >/dev/null 2>&1 || rc=$?; [ $rc -eq 2 ] || fail "bad collateral"
echo "teekm evidence verify: all cases behave"
