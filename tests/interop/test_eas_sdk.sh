#!/usr/bin/env bash
# Independent oracle: the EAS SDK (@ethereum-attestation-service/eas-sdk 2.10.0)
# and ethers 6.17.0 verify teekm-verifier's EAS export of a real registration
# (a sim instance with two signer keys registered through `serve`): offchain
# signatures and UIDs, schema UID, SchemaEncoder data, attest() calldata
# against the EAS contract ABI, and tampering. See eas/verify_export.js.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/ensure_deps.sh" eas
export TKM_DONT_MLOCK=1
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
ID=0x2222222222222222222222222222222222222222222222222222222222222222
CHAIN=11155111 CONTRACT=0xc2679fbd37d54388ce493f1db75320d236e1815e VERSION=1.3.0
teekm-verifier init --data-dir "$tmp/data" >/dev/null
echo '{"version": 1, "requireNonce": true, "sim": {"enabled": true}}' >"$tmp/policy.json"
cat >"$tmp/verifier.json" <<JSON
{"dataDir": "data", "institution": "Bänk für Tëst — Zürich", "appraisalPolicy": "policy.json",
 "listen": {"port": 0, "threads": 1},
 "eas": {"chainId": $CHAIN, "contract": "$CONTRACT", "version": "$VERSION"}}
JSON
teekm-verifier serve --config "$tmp/verifier.json" --port-file "$tmp/port" 2>"$tmp/server.log" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
teekm-verifier sim-instance --url "https://127.0.0.1:$(cat "$tmp/port")" --ca "$tmp/data/tls.crt" --sim-key "$tmp/sim.key" \
  --instance $ID --signer-seed one --signer-seed two >/dev/null 2>&1
kill -TERM $pid; wait $pid; pid=
teekm-verifier eas --config "$tmp/verifier.json" --instance $ID >"$tmp/export.json"
teekm-verifier instances --config "$tmp/verifier.json" --instance $ID | node -e \
  'const h=JSON.parse(require("fs").readFileSync(0));process.stdout.write(JSON.stringify(h.registrations[h.registrations.length-1]))' \
  >"$tmp/registration.json"
node "$here/eas/verify_export.js" "$tmp/export.json" $CHAIN $CONTRACT $VERSION "Bänk für Tëst — Zürich" "$tmp/registration.json"
