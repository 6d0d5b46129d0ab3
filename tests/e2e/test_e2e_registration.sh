#!/usr/bin/env bash
# teekmd keeps its teekm-verifier registration current (docs/verifier.md "Freshness and re-attestation"),
# against a real verifier: a seal-keyed (sim) instance given --verifier registers at init and at start; a
# key generated through the admin API and a policy activated show in the verifier's registry within
# seconds although the schedule is an hour away (so it is the change that registered), and the history
# keeps the older registrations; with the verifier down teekmd keeps signing, counts the failures
# (metrics, /healthz), and catches up once the verifier is back.
set -euo pipefail
export TKM_DONT_MLOCK=1
src=${TKM_SOURCE_DIR:?}
dir=$(mktemp -d)
cleanup() {
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/teekmd.log "$dir"/v.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -15 "$f" >&2; }; done
  exit 1
}
ok() { echo "ok: $*"; }

# the verifier: sim accepted (registration only, no key release)
teekm-verifier init --data-dir "$dir/v" > /dev/null || fail "verifier init"
echo '{"version": 1, "requireNonce": true, "sim": {"enabled": true}}' > "$dir/v/appraisal.json"
vconf() { # vconf PORT
  cat > "$dir/v/verifier.json" <<JSON
{"dataDir": ".", "institution": "Example Bank AG", "appraisalPolicy": "appraisal.json",
 "listen": {"host": "127.0.0.1", "port": $1, "threads": 2}, "registration": {"maxAgeSeconds": 3600}}
JSON
}
vstart() {
  rm -f "$dir/v/port"
  teekm-verifier serve --config "$dir/v/verifier.json" --port-file "$dir/v/port" 2>> "$dir/v.log" &
  VPID=$!
  for _ in $(seq 100); do [ -s "$dir/v/port" ] && break; kill -0 "$VPID" 2>/dev/null || fail "verifier died"; sleep 0.1; done
  [ -s "$dir/v/port" ] || fail "verifier did not start"
  VURL=https://127.0.0.1:$(cat "$dir/v/port")
}
vstop() { kill -TERM "$VPID"; wait "$VPID" || fail "verifier exit status $?"; }
vconf 0
vstart
VCA="$dir/v/tls.crt"
vconf "$(cat "$dir/v/port")" # restarts keep the port: the instance's --verifier URL stays right

install -m 0600 "$src/demo/admin.devkey" "$dir/admin.devkey"
cp "$src/demo/policy.json" "$dir/policy.json"
DATA="$dir/data"
teekm init --data-dir "$DATA" --tee sim --policy "$dir/policy.json" --key hot --verifier "$VURL" --verifier-ca "$VCA" \
  > "$dir/init.json" 2> "$dir/init.log" || fail "init: $(cat "$dir/init.log")"
read -r IID HOT PH SK REGD < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(d["instanceId"], d["keys"]["hot"], d["policyHash"], d["stateKey"], d["registered"])' "$dir/init.json")
[ "$SK" = seal ] && [ "$REGD" = True ] || fail "init: stateKey $SK, registered $REGD"
# the URL is not recorded (registration only); the verifier's signer is pinned (trusted time, docs/teekmd.md)
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=d.get("verifier", {}); assert set(v) <= {"signer"}, d' \
  "$DATA/instance.json" || fail "a registration-only verifier URL was recorded in instance.json"

REG="$dir/reg.json"
reg() { curl -sS --cacert "$VCA" "$VURL/v1/instances/$IID" > "$REG"; }
# check EXPR [ARGS...]: a Python expression over r (the current registration), d (the answer), a (ARGS)
check() {
  python3 - "$REG" "$@" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    r = d["registration"]
except Exception:
    sys.exit(1)
addrs = [k.get("address", "").lower() for k in r["keys"]]
sys.exit(0 if eval(sys.argv[2], {"d": d, "r": r, "a": sys.argv[3:], "addrs": addrs}) else 1)
PY
}
# wait_reg SECONDS EXPR [ARGS...]: poll the registry until check holds (a deadline, not a fixed sleep)
wait_reg() {
  local until=$((SECONDS + $1))
  shift
  while :; do
    reg 2> /dev/null || true
    check "$@" && return 0
    [ "$SECONDS" -lt "$until" ] || return 1
    sleep 0.1
  done
}
reg
check 'r["platform"] == "sim" and a[0].lower() in addrs and r["policyHash"] == a[1] and r["policyVersion"] == 1' \
  "$HOT" "$PH" || fail "registry after init: $(cat "$REG")"
SEQ0=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registration"]["seq"])' "$REG")
ok "init of a seal-keyed instance with --verifier: registered (keys, policy hash), nothing recorded"

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
  export TEEKM_URL=$URL TEEKM_DATA_DIR=$DATA
}
CURL=(curl -sS --cacert "$DATA/tls.crt" --cert "$DATA/client/operator.crt" --key "$DATA/client/operator.key")
sign() { # sign NONCE → raw transaction (0x02…)
  "${CURL[@]}" -H 'Content-Type: application/json' "$URL/" -d '{"jsonrpc":"2.0","id":1,"method":"eth_signTransaction",
    "params":[{"from":"'"$HOT"'","to":"0xb37F129fFfB8D016d540DBB413E5Ee59f417Db98","value":"0x16345785d8a0000",
    "gas":"0x5208","maxFeePerGas":"0x3b9aca00","maxPriorityFeePerGas":"0x1","nonce":"'"$1"'","chainId":"0xaa36a7"}]}' |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; assert r.startswith("0x02"), r; print(r)'
}
healthz() { # healthz EXPR: a Python expression over v (the "verifier" object of /healthz) and h (all of it)
  "${CURL[@]}" "$URL/healthz" > "$dir/health.json"
  python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); v=h["verifier"]; sys.exit(0 if eval(sys.argv[2]) else 1)' \
    "$dir/health.json" "$1"
}
metric() { # metric NAME_WITH_LABELS → value (0 when absent)
  "${CURL[@]}" "$URL/metrics" | awk -v m="$1" '$1 == m {v=$2} END {print v+0}'
}

# the schedule is an hour away (default --reattest-seconds 3600): every registration below comes from a change
start --verifier "$VURL" --verifier-ca "$VCA" || fail "start"
reg
check 'r["seq"] > int(a[0]) and r["policyHash"] == a[1]' "$SEQ0" "$PH" || fail "no registration at start: $(cat "$REG")"
healthz 'h["status"] == "ok" and v["lastResult"] == "ok" and v["lastRegistration"] and not v["pending"]' ||
  fail "healthz: $(cat "$dir/health.json")"
[ "$(metric 'teekm_verifier_registrations_total{result="ok"}')" = 1 ] || fail "the start's registration is not counted"
[ "$(metric teekm_verifier_last_registration_timestamp_seconds)" = \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verifier"]["lastRegistration"])' "$dir/health.json")" ] ||
  fail "metric and /healthz disagree on the last registration"
ok "start: registered (seq > init's); /healthz and the metrics name the last registration"

# a key generated through the admin API: the verifier's entry lists it within seconds
COLD=$(teekm keys generate cold --approver-key "$dir/admin.devkey" | python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])') ||
  fail "keys generate"
t0=$SECONDS
wait_reg 10 'a[0].lower() in addrs and a[1].lower() in addrs and "signerKeys" in r["changes"]' "$COLD" "$HOT" ||
  fail "the generated key is not registered: $(cat "$REG")"
grep -q 're-attested to the verifier (change)' "$dir/teekmd.log" || fail "no change-driven registration logged"
ok "a generated key is in the verifier's registry after $((SECONDS - t0)) s (wakes the registration, no schedule)"

# a policy activated: the entry shows the new hash and version
python3 - "$dir/policy.json" "$dir/policy2.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["version"] = 2
p["rules"][0]["max_amount"] = "2"
json.dump(p, open(sys.argv[2], "w"))
PY
HASH=$(teekm policy propose "$dir/policy2.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["hash"])')
teekm policy approve "$HASH" --approver-key "$dir/admin.devkey" > /dev/null || fail "approve"
teekm policy activate "$HASH" | grep -q '"version": 2' || fail "activate"
wait_reg 10 'r["policyHash"] == a[0] and r["policyVersion"] == 2 and "policy" in r["changes"]' "$HASH" ||
  fail "the new policy is not registered: $(cat "$REG")"
# history: nothing overwritten — the init's, the start's and the pre-change registrations are all there
teekm-verifier instances --config "$dir/v/verifier.json" --instance "$IID" > "$dir/history.json" || fail "history"
python3 - "$dir/history.json" "$PH" "$HASH" "$COLD" <<'PY' || fail "history: $(head -c 2000 "$dir/history.json")"
import json, sys
regs = json.load(open(sys.argv[1]))["registrations"]
old, new, cold = sys.argv[2], sys.argv[3], sys.argv[4].lower()
assert len(regs) >= 4, len(regs)
v1 = [r for r in regs if r["policyHash"] == old and r["policyVersion"] == 1]
v2 = [r for r in regs if r["policyHash"] == new and r["policyVersion"] == 2]
assert v1 and v2, [(r["seq"], r["policyVersion"]) for r in regs]
assert max(r["seq"] for r in v1) < min(r["seq"] for r in v2)
# registrations of policy 1 without and with the cold key
has = lambda r: any(k.get("address", "").lower() == cold for k in r["keys"])
assert any(not has(r) for r in v1) and any(has(r) for r in v1)
assert "initial" in min(regs, key=lambda r: r["seq"])["changes"]
PY
ok "an activated policy is in the registry within seconds; the history keeps the older registrations"

# the verifier down: signing goes on, failures are counted, the registration catches up when it is back
vstop
WARM=$(teekm keys generate warm --approver-key "$dir/admin.devkey" | python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])') ||
  fail "keys generate with the verifier down"
sign 0x0 > /dev/null || fail "sign with the verifier down"
until=$((SECONDS + 10))
while [ "$(metric 'teekm_verifier_registrations_total{result="unreachable"}')" -lt 1 ]; do
  [ "$SECONDS" -lt "$until" ] || fail "no failed registration counted"
  sleep 0.1
done
healthz 'h["status"] == "ok" and v["pending"] and v["lastResult"] == "NETWORK" and v["consecutiveFailures"] >= 1' ||
  fail "healthz with the verifier down: $(cat "$dir/health.json")"
[ "$(metric teekm_verifier_registration_pending)" = 1 ] || fail "pending metric"
sign 0x1 > /dev/null || fail "sign after the failed registration"
grep -q 're-attestation to the verifier failed (change): NETWORK' "$dir/teekmd.log" || fail "the failure is not logged"
ok "verifier down: teekmd signs on; the failure is logged, counted and shown in /healthz (status still ok)"

vstart
t0=$SECONDS
wait_reg 15 'a[0].lower() in addrs' "$WARM" || fail "no catch-up: $(cat "$REG")"
until=$((SECONDS + 5))
until healthz 'not v["pending"] and v["lastResult"] == "ok" and v["consecutiveFailures"] == 0'; do
  [ "$SECONDS" -lt "$until" ] || fail "healthz after the catch-up: $(cat "$dir/health.json")"
  sleep 0.1
done
grep -q 'the registration caught up' "$dir/teekmd.log" || fail "the catch-up is not logged"
ok "verifier back: the registration caught up within $((SECONDS - t0)) s (the key made meanwhile is listed)"

kill -TERM "$PID"
wait "$PID" || fail "teekmd exit status $? after SIGTERM"
vstop
