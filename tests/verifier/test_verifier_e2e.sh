#!/usr/bin/env bash
# teekm-verifier end to end: `serve` on a random loopback port (HTTPS, TLS 1.3),
# driven with curl and `teekm-verifier sim-instance` (a sim teekmd built from
# the tee module). Sim rejected unless the policy enables it; registration;
# staleness fields; key release (same state key on re-attestation); claims that
# do not match the evidence (binding check named); replayed nonce; admin
# endpoints without / with an untrusted / with an admin client certificate;
# EAS export; signed counters as the anti-rollback floor; offline CLI; drain.
set -euo pipefail
export TKM_DONT_MLOCK=1
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$tmp/server.log" ] && tail -20 "$tmp/server.log" >&2; exit 1; }
ID=0x1111111111111111111111111111111111111111111111111111111111111111

teekm-verifier init --data-dir "$tmp/data" >"$tmp/init.json" || fail "init"
signer=$(jq -r .signer "$tmp/init.json")
[[ "$signer" =~ ^0x[0-9a-fA-F]{40}$ ]] || fail "init signer $signer"
rc=0; teekm-verifier init --data-dir "$tmp/data" >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "init must refuse to overwrite (exit $rc)"
[ "$(stat -c %a "$tmp/data/master.key")" = 600 ] || fail "master.key mode"

# administrators' PKI (client CA + admin certificate) and a stranger's certificate
cd "$tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 2 \
  -subj "/CN=teekm admin CA" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
for who in admin stranger; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $who.key -out $who.csr -subj "/CN=$who" 2>/dev/null
done
printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n' >ext.cnf
openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 2 -extfile ext.cnf 2>/dev/null
openssl req -x509 -key stranger.key -out stranger.crt -days 2 -subj "/CN=stranger" 2>/dev/null
cd - >/dev/null

write_config() { # $1 = policy file
  cat >"$tmp/verifier.json" <<JSON
{"dataDir": "data", "institution": "Example Bank AG", "appraisalPolicy": "$1",
 "listen": {"host": "127.0.0.1", "port": 0, "threads": 2},
 "tls": {"clientCaFile": "ca.crt"},
 "registration": {"maxAgeSeconds": 3600}, "nonce": {"ttlSeconds": 120},
 "eas": {"chainId": 11155111, "contract": "0xC2679fBD37d54388Ce493F1DB75320D236e1815e", "version": "1.3.0"}}
JSON
}
start() {
  rm -f "$tmp/port"
  teekm-verifier serve --config "$tmp/verifier.json" --port-file "$tmp/port" 2>>"$tmp/server.log" &
  pid=$!
  for _ in $(seq 100); do [ -s "$tmp/port" ] && break; kill -0 $pid 2>/dev/null || fail "serve died"; sleep 0.1; done
  [ -s "$tmp/port" ] || fail "serve did not start"
  URL=https://127.0.0.1:$(cat "$tmp/port")
}
stop() { kill -TERM "$pid"; local rc=0; wait "$pid" || rc=$?; pid=; [ $rc -eq 0 ] || fail "serve exit $rc after SIGTERM"; }
C() { curl -sS --cacert "$tmp/data/tls.crt" "$@"; }
sim() { teekm-verifier sim-instance --url "$URL" --ca "$tmp/data/tls.crt" --sim-key "$tmp/sim.key" "$@" 2>/dev/null; }

# 1. a policy that does not enable sim: sim evidence is rejected, by name
echo '{"version": 1, "requireNonce": true}' >"$tmp/no-sim.json"
write_config no-sim.json
start
[ "$(C "$URL/v1/verifier" | jq -r .signer)" = "$signer" ] || fail "verifier info"
[ "$(C -o /dev/null -w '%{http_code}' "$URL/healthz")" = 200 ] || fail "healthz"
rc=0; sim --instance $ID >"$tmp/r" || rc=$?
[ $rc -eq 1 ] || fail "sim accepted without a sim policy"
[ "$(jq -r .response.error.check "$tmp/r")" = policy.sim ] || fail "no-sim check: $(jq -c .response.error "$tmp/r")"
[ "$(jq -r .status "$tmp/r")" = 403 ] || fail "no-sim status"
[ "$(C -o /dev/null -w '%{http_code}' "$URL/v1/instances/$ID")" = 404 ] || fail "registered anyway"
stop

# 2. sim enabled: a valid binding registers the instance and releases its state key
echo '{"version": 1, "requireNonce": true, "maxEvidenceAgeSeconds": 60, "sim": {"enabled": true}, "keyRelease": ["sim"]}' >"$tmp/sim.json"
write_config sim.json
start
sim --instance $ID --key-release --state-version 1 >"$tmp/r" || fail "sim attest: $(cat "$tmp/r")"
[ "$(jq -r .response.verdict "$tmp/r")" = valid ] || fail "verdict"
key1=$(jq -r .releasedKeySha256 "$tmp/r")
[[ "$key1" =~ ^0x[0-9a-f]{64}$ ]] || fail "no released key"
C "$URL/v1/instances/$ID" >"$tmp/i"
[ "$(jq -r .registration.platform "$tmp/i")" = sim ] || fail "registration platform"
[ "$(jq -r .registration.simulated "$tmp/i")" = true ] || fail "simulated flag"
[ "$(jq -r .registration.institution "$tmp/i")" = "Example Bank AG" ] || fail "institution"
[ "$(jq -r .stale "$tmp/i")" = false ] || fail "fresh registration marked stale"
now=$(date +%s); stale_at=$(jq -r .staleAt "$tmp/i")
[ $((stale_at - now)) -gt 3500 ] && [ $((stale_at - now)) -le 3600 ] || fail "staleAt $stale_at"
# re-attestation (new ephemeral key, rotated signer key): same state key, a new history row
sim --instance $ID --key-release --state-version 2 --signer-seed rotated >"$tmp/r" || fail "re-attest"
[ "$(jq -r .releasedKeySha256 "$tmp/r")" = "$key1" ] || fail "state key changed between attestations"
[ "$(jq -r '.response.registration.changes | join(",")' "$tmp/r")" = signerKeys ] || fail "rotation not recorded"

# 3. claims that are not the ones the evidence binds: the binding check is named
sim --instance $ID --state-version 3 --no-send --request-out "$tmp/req0.json" || fail "request-out"
jq -c '.claims |= (fromjson | .stateVersion = 99 | tojson)' "$tmp/req0.json" >"$tmp/bad.json"
code=$(C -o "$tmp/r" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$tmp/bad.json" "$URL/v1/attest")
[ "$code" = 403 ] || fail "edited claims: HTTP $code"
[ "$(jq -r .error.check "$tmp/r")" = report_data ] || fail "edited claims check: $(jq -c .error "$tmp/r")"

# 4. a request works once; replaying it fails on the nonce (every attempt consumes its nonce)
sim --instance $ID --state-version 3 --no-send --request-out "$tmp/req.json" || fail "request-out"
code=$(C -o "$tmp/r" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$tmp/req.json" "$URL/v1/attest")
[ "$code" = 200 ] || fail "request: HTTP $code $(cat "$tmp/r")"
code=$(C -o "$tmp/r" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$tmp/req.json" "$URL/v1/attest")
[ "$code" = 403 ] || fail "replay: HTTP $code"
[ "$(jq -r .error.check "$tmp/r")" = nonce ] || fail "replay check: $(jq -c .error "$tmp/r")"
[[ "$(jq -r .error.detail "$tmp/r")" == *REPLAY* ]] || fail "replay detail"
# no Content-Type: refused by the server
[ "$(C -o /dev/null -w '%{http_code}' --data-binary @"$tmp/req.json" "$URL/v1/attest")" = 415 ] || fail "content type"

# 5. admin endpoints: no certificate 401, a stranger's 401, the admin's 200
[ "$(C -o "$tmp/r" -w '%{http_code}' "$URL/admin/v1/instances")" = 401 ] || fail "admin without cert"
[ "$(C -o /dev/null -w '%{http_code}' --cert "$tmp/stranger.crt" --key "$tmp/stranger.key" "$URL/admin/v1/instances")" = 401 ] \
  || fail "admin with an untrusted cert"
A() { C --cert "$tmp/admin.crt" --key "$tmp/admin.key" "$@"; }
A "$URL/admin/v1/instances" >"$tmp/r"
[ "$(jq '.instances | length' "$tmp/r")" = 1 ] || fail "admin list: $(cat "$tmp/r")"
A "$URL/admin/v1/instances/$ID/history" >"$tmp/r"
[ "$(jq '.registrations | length' "$tmp/r")" = 3 ] || fail "history length $(jq '.registrations | length' "$tmp/r")"
[ "$(jq -r '.registrations[0].changes[0]' "$tmp/r")" = initial ] || fail "history[0]"
A "$URL/admin/v1/instances/$ID/eas" >"$tmp/eas.json"
[ "$(jq -r .attester "$tmp/eas.json")" = "$signer" ] || fail "eas attester"
[ "$(jq '.attestations | length' "$tmp/eas.json")" = 1 ] || fail "eas count"
[ "$(jq -r '.attestations[0].onchain.data[0:10]' "$tmp/eas.json")" = 0xf17325e7 ] || fail "attest selector"
A -o /dev/null "$URL/metrics" || fail "metrics for admins"

# 6. counters: signed by the audit key, answered signed by the verifier; a floor for the stateVersion of key release
sim --instance $ID --counter-only --counter advance:5 >"$tmp/r" || fail "counter advance: $(cat "$tmp/r")"
[ "$(jq -r .counter.value "$tmp/r")" = 5 ] && [ "$(jq -r .counterSignatureVerified "$tmp/r")" = true ] || fail "counter"
rc=0; sim --instance $ID --counter-only --counter advance:4 >"$tmp/r" || rc=$?
[ "$(jq -r .counter.error.code "$tmp/r")" = STORE_ROLLBACK ] && [ "$(jq -r .counter.counter.value "$tmp/r")" = 5 ] \
  || fail "counter rollback: $(cat "$tmp/r")"
rc=0; sim --instance $ID --counter-only --counter read --audit-seed somebody-else >"$tmp/r" || rc=$?
[ $rc -eq 1 ] && [ "$(jq -r .counter.error.code "$tmp/r")" = FORBIDDEN ] || fail "counter with a foreign key"
rc=0; sim --instance $ID --state-version 4 --key-release >"$tmp/r" || rc=$?
[ $rc -eq 1 ] && [ "$(jq -r .response.error.check "$tmp/r")" = state.version ] || fail "state below the counter accepted"
sim --instance $ID --state-version 5 >/dev/null || fail "state at the counter refused"

# 7. graceful stop; the registry is readable offline
stop
teekm-verifier instances --config "$tmp/verifier.json" >"$tmp/r" || fail "offline instances"
[ "$(jq -r '.instances[0].instanceId' "$tmp/r")" = $ID ] || fail "offline list"
teekm-verifier eas --config "$tmp/verifier.json" --instance $ID --seq 1 >"$tmp/r" || fail "offline eas"
[ "$(jq -r .seq "$tmp/r")" = 1 ] || fail "offline eas seq"
rc=0; teekm-verifier eas --config "$tmp/verifier.json" --instance 0x12 >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "eas usage"
echo "verifier e2e: ok"
