#!/usr/bin/env bash
# teekmd with its state key released by a real teekm-verifier (the TDX path, exercised on sim with
# --state-key verifier): init and start get the key after appraisal, the instance signs a transaction
# (checked with ethers as the oracle), restarts and reopens the same state; a stopped verifier, a
# verifier that does not release, a verifier with another master key and a switched source are refused
# with the documented errors and leave the state intact; the verifier's registry shows the instance.
set -euo pipefail
export TKM_DONT_MLOCK=1
here=$(cd "$(dirname "$0")" && pwd)
src=${TKM_SOURCE_DIR:?}
"$here/../interop/ensure_deps.sh" ethers
dir=$(mktemp -d)
vpids=()
cleanup() {
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/teekmd.log "$dir"/v*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -15 "$f" >&2; }; done
  exit 1
}
ok() { echo "ok: $*"; }

# two verifiers: A (the instance's) and B (another master key); both allow sim and release to it
for v in A B; do
  teekm-verifier init --data-dir "$dir/v$v" > /dev/null || fail "verifier $v init"
  echo '{"version": 1, "requireNonce": true, "maxEvidenceAgeSeconds": 60, "sim": {"enabled": true}, "keyRelease": ["sim"]}' \
    > "$dir/v$v/appraisal.json"
  cat > "$dir/v$v/verifier.json" <<JSON
{"dataDir": ".", "institution": "Example Bank AG", "appraisalPolicy": "appraisal.json",
 "listen": {"host": "127.0.0.1", "port": 0, "threads": 2}, "registration": {"maxAgeSeconds": 3600}}
JSON
done
echo '{"version": 1, "requireNonce": true, "sim": {"enabled": true}}' > "$dir/vA/no-release.json"
echo '{"version": 1, "requireNonce": true}' > "$dir/vA/no-sim.json"
declare -A VPID VURL
vstart() { # vstart A|B
  rm -f "$dir/v$1/port"
  teekm-verifier serve --config "$dir/v$1/verifier.json" --port-file "$dir/v$1/port" 2>> "$dir/v$1.log" &
  VPID[$1]=$!
  for _ in $(seq 100); do [ -s "$dir/v$1/port" ] && break; kill -0 "${VPID[$1]}" 2>/dev/null || fail "verifier $1 died"; sleep 0.1; done
  [ -s "$dir/v$1/port" ] || fail "verifier $1 did not start"
  VURL[$1]=https://127.0.0.1:$(cat "$dir/v$1/port")
}
vstop() { kill -TERM "${VPID[$1]}"; wait "${VPID[$1]}" || fail "verifier $1 exit status $?"; }
vstart A

cp "$src/demo/policy.json" "$dir/policy.json"
DATA="$dir/data"
KR=(--state-key verifier --verifier "${VURL[A]}" --verifier-ca "$dir/vA/tls.crt")

# init without the CA, or with another verifier's CA: refused, nothing created
teekm init --data-dir "$DATA" --tee sim --policy "$dir/policy.json" --key hot --state-key verifier \
  --verifier "${VURL[A]}" > /dev/null 2> "$dir/err" && fail "init without --verifier-ca"
grep -q -- '--verifier-ca' "$dir/err" || fail "missing CA not named: $(cat "$dir/err")"
teekm init --data-dir "$DATA" --tee sim --policy "$dir/policy.json" --key hot --state-key verifier \
  --verifier "${VURL[A]}" --verifier-ca "$dir/vB/tls.crt" --verifier-retries 0 > /dev/null 2> "$dir/err" &&
  fail "init against a verifier whose certificate the CA does not sign"
grep -q '(TLS): verifier nonce' "$dir/err" || fail "TLS failure not named: $(cat "$dir/err")"
[ -e "$DATA/instance.json" ] && fail "a failed init left instance.json"
ok "init refuses a missing verifier CA and an untrusted verifier certificate"

teekm init --data-dir "$DATA" --tee sim --policy "$dir/policy.json" --key hot "${KR[@]}" > "$dir/init.json" 2> "$dir/init.log" ||
  fail "init: $(cat "$dir/init.log")"
read -r IID HOT SK < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["instanceId"], d["keys"]["hot"], d["stateKey"])' "$dir/init.json")
[ "$SK" = verifier ] || fail "init stateKey $SK"
python3 - "$DATA/instance.json" "${VURL[A]}" <<'PY' || fail "instance.json fields"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["stateKey"] == "verifier", d
assert d["verifier"]["url"] == sys.argv[2] and set(d["verifier"]) == {"url", "signer"}, d
PY
! grep -rqi -e ca.crt -e "BEGIN CERT" "$DATA/instance.json" || fail "instance.json records more than the URL"
ok "init: state key released by the verifier; instance.json records stateKey, the verifier URL and its signer"

start() { # start [args...]: teekmd on a free port; sets URL, PID
  : > "$dir/ready"
  teekmd --data-dir "$DATA" --listen 127.0.0.1:0 "$@" > "$dir/ready" 2>> "$dir/teekmd.log" &
  PID=$!
  for _ in $(seq 300); do
    [ -s "$dir/ready" ] && break
    kill -0 "$PID" 2>/dev/null || return 1
    sleep 0.05
  done
  [ -s "$dir/ready" ] || return 1
  URL=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["url"])' "$dir/ready")
}
stop() {
  kill -TERM "$PID"
  wait "$PID" || fail "teekmd exit status $? after SIGTERM"
}
# start_fails ARGS...: teekmd must exit non-zero before listening; the last log line is in $dir/last
start_fails() {
  : > "$dir/ready"
  local rc=0
  teekmd --data-dir "$DATA" --listen 127.0.0.1:0 "$@" > "$dir/ready" 2>> "$dir/teekmd.log" || rc=$?
  [ "$rc" -ne 0 ] && [ ! -s "$dir/ready" ] || fail "teekmd started (exit $rc) with $*"
  tail -1 "$dir/teekmd.log" > "$dir/last"
  echo "  refused: $(cat "$dir/last")"
}
CURL=(curl -sS --cacert "$DATA/tls.crt" --cert "$DATA/client/operator.crt" --key "$DATA/client/operator.key")
sign() { # sign NONCE → raw transaction
  "${CURL[@]}" -H 'Content-Type: application/json' "$URL/" -d '{"jsonrpc":"2.0","id":1,"method":"eth_signTransaction",
    "params":[{"from":"'"$HOT"'","to":"0xb37F129fFfB8D016d540DBB413E5Ee59f417Db98","value":"0x16345785d8a0000",
    "gas":"0x5208","maxFeePerGas":"0x3b9aca00","maxPriorityFeePerGas":"0x1","nonce":"'"$1"'","chainId":"0xaa36a7"}]}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])'
}
# the signer of a raw transaction, by ethers (the oracle)
recover() {
  ETHERS_DIR="$here/../interop/ethers" node -e '
    const { ethers } = require(process.env.ETHERS_DIR + "/node_modules/ethers");
    const t = ethers.Transaction.from(process.argv[1]);
    console.log(t.from, t.to, t.value.toString(), t.chainId.toString());' "$1"
}

start --verifier-ca "$dir/vA/tls.crt" || fail "start"
[ "$("${CURL[@]}" "$URL/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = ok ] || fail "healthz"
raw=$(sign 0x0) || fail "sign"
[ "$(recover "$raw")" = "$HOT 0xb37F129fFfB8D016d540DBB413E5Ee59f417Db98 100000000000000000 11155111" ] ||
  fail "signed transaction: $(recover "$raw")"
grep -q 'state key released by the verifier' "$dir/teekmd.log" || fail "no key-release log line"
ok "start: key released again, serves, signs (ethers recovers the hot key)"

# the verifier's registry: the full claims registered after the state opened
curl -sS --cacert "$dir/vA/tls.crt" "${VURL[A]}/v1/instances/$IID" > "$dir/reg.json"
python3 - "$dir/reg.json" "$HOT" <<'PY' || fail "registry: $(cat "$dir/reg.json")"
import json, sys
r = json.load(open(sys.argv[1]))["registration"]
assert r["platform"] == "sim", r
assert any(k.get("address", "").lower() == sys.argv[2].lower() for k in r["keys"]), r["keys"]
assert r["auditAddress"] != "0x" + "00" * 20, r
PY
teekm-verifier instances --config "$dir/vA/verifier.json" | grep -qi "${IID#0x}" || fail "verifier instances CLI"
ok "the verifier's registry shows the instance with its signer key and audit address"

stop

# periodic re-attestation: new registrations (higher seq) while serving, every --reattest-seconds
seq0=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registration"]["seq"])' "$dir/reg.json")
start --verifier-ca "$dir/vA/tls.crt" --reattest-seconds 1 || fail "start with --reattest-seconds 1"
for _ in $(seq 100); do
  [ "$(grep -c 're-attested to the verifier' "$dir/teekmd.log")" -ge 2 ] && break
  sleep 0.1
done
[ "$(grep -c 're-attested to the verifier' "$dir/teekmd.log")" -ge 2 ] || fail "no periodic re-attestation logged"
curl -sS --cacert "$dir/vA/tls.crt" "${VURL[A]}/v1/instances/$IID" > "$dir/reg2.json"
python3 - "$dir/reg2.json" "$seq0" <<'PY' || fail "re-attestation not registered: $(cat "$dir/reg2.json")"
import json, sys
d = json.load(open(sys.argv[1]))
# the start registers once (seq0 + 1); two periodic re-attestations follow
assert d["registration"]["seq"] >= int(sys.argv[2]) + 3, (d["registration"]["seq"], sys.argv[2])
assert d["stale"] is False, d
PY
stop
ok "periodic re-attestation: the instance registers again while it serves (--reattest-seconds)"

start --verifier-ca "$dir/vA/tls.crt" || fail "restart"
raw=$(sign 0x1) || fail "sign after restart"
[ "$(recover "$raw" | cut -d' ' -f1)" = "$HOT" ] || fail "signer after restart"
stop
ok "restart: the same state reopened with the key released again"

# failures: each refused with its step named, nothing changed
cp -a "$DATA" "$dir/data.before"
snap() { (cd "$DATA" && sha256sum instance.json state.db counter hwm 2>/dev/null); }
snap > "$dir/sums.before"

start_fails --verifier-retries 0
grep -q 'CONFIG' "$dir/last" && grep -q -- '--verifier-ca' "$dir/last" || fail "start without CA: $(cat "$dir/last")"

start_fails --verifier-ca "$dir/vA/tls.crt" --state-key seal
grep -q 'would switch its source' "$dir/last" || fail "source switch: $(cat "$dir/last")"

vstop A
t0=$(date +%s)
start_fails --verifier-ca "$dir/vA/tls.crt" --verifier-retries 1
grep -q 'NETWORK' "$dir/last" && grep -q 'verifier nonce' "$dir/last" || fail "verifier down: $(cat "$dir/last")"
grep -q 'attempt 2 of 2' "$dir/teekmd.log" || fail "the retry is not logged"
[ $(($(date +%s) - t0)) -lt 15 ] || fail "bounded retry took too long"
ok "verifier stopped: start fails (ERR_NETWORK, 'verifier nonce'), after one logged retry"

vstart B
start_fails --verifier "${VURL[B]}" --verifier-ca "$dir/vB/tls.crt" --verifier-retries 0
grep -q 'STORE_TAMPER' "$dir/last" && grep -q 'another verifier' "$dir/last" || fail "other verifier: $(cat "$dir/last")"
vstop B
ok "a verifier with another master key: its key does not open the state (STORE_TAMPER, named)"

# a verifier whose policy does not release (valid appraisal, no key)
sed -i 's/appraisal.json/no-release.json/' "$dir/vA/verifier.json"
vstart A
start_fails --verifier "${VURL[A]}" --verifier-ca "$dir/vA/tls.crt" --verifier-retries 0
grep -q 'TEE_NO_SEAL_KEY' "$dir/last" && grep -q 'not released' "$dir/last" || fail "not released: $(cat "$dir/last")"
vstop A
ok "a verifier that does not release: refused with its reason"

# a verifier whose policy does not accept the evidence: verdict invalid, the failed check named
sed -i 's/no-release.json/no-sim.json/' "$dir/vA/verifier.json"
vstart A
start_fails --verifier "${VURL[A]}" --verifier-ca "$dir/vA/tls.crt" --verifier-retries 0
grep -q 'APPRAISAL' "$dir/last" && grep -q 'verdict invalid, check policy.sim' "$dir/last" || fail "invalid: $(cat "$dir/last")"
vstop A
ok "a verifier that does not accept the evidence: refused, the failed check named"

# an edited verifier URL in instance.json: the MAC binds it
sed -i 's/no-sim.json/appraisal.json/' "$dir/vA/verifier.json"
vstart A
python3 - "$DATA/instance.json" "${VURL[A]}" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p)); d["verifier"]["url"] = sys.argv[2]
open(p, "w").write(json.dumps(d, indent=2) + "\n")
PY
start_fails --verifier-ca "$dir/vA/tls.crt" --verifier-retries 0
grep -q 'STORE_TAMPER' "$dir/last" || fail "edited URL: $(cat "$dir/last")"
cp "$dir/data.before/instance.json" "$DATA/instance.json"
ok "an edited verifier URL fails instance.json's MAC"

snap > "$dir/sums.after"
cmp -s "$dir/sums.before" "$dir/sums.after" || fail "a refused start changed the state files"
# the new port: override the recorded URL
start --verifier "${VURL[A]}" --verifier-ca "$dir/vA/tls.crt" || fail "start after the failures"
raw=$(sign 0x2) || fail "sign after the failures"
[ "$(recover "$raw" | cut -d' ' -f1)" = "$HOT" ] || fail "signer after the failures"
stop
ok "after the refused starts the state is unchanged and opens (--verifier overrides the recorded URL)"

# a host that restores an older copy of the whole directory (state, counter and high-water mark together):
# the seal source cannot see it (docs/attestation.md §5); here the key-release claims carry the old mark's
# version, below the one the verifier registered at the last start, and the verifier refuses
mv "$DATA" "$dir/data.now"
cp -a "$dir/data.before" "$DATA"
start_fails --verifier "${VURL[A]}" --verifier-ca "$dir/vA/tls.crt" --verifier-retries 0
grep -q 'STORE_ROLLBACK' "$dir/last" && grep -q 'check state.version' "$dir/last" || fail "rollback: $(cat "$dir/last")"
rm -rf "$DATA"
mv "$dir/data.now" "$DATA"
start --verifier "${VURL[A]}" --verifier-ca "$dir/vA/tls.crt" || fail "start after the rollback attempt"
stop
ok "an older copy of the whole data directory is refused by the verifier (STORE_ROLLBACK, state.version); the current one opens"
