#!/usr/bin/env bash
# The host's clock and disk against teekm-verifier's trusted time and remote monotonic counter, with a
# real `teekm-verifier serve` and real `teekmd`s on random loopback ports:
#  1. forward clock jump: a daily window limit is spent; the host clock (moved by the test-only
#     LD_PRELOAD shim libtkm_clockshift.so, never part of the programs) jumps 25 h ahead, the boot-time
#     clock too, teekmd restarts: with a verifier the window stays closed (WINDOW_LIMIT_EXCEEDED), the
#     off clock is logged, audited (host_clock) and in the metrics; without a verifier the window reopens
#     (the documented limit of an instance without one);
#  2. rollback: a copy of the whole data directory (state, counter file, high-water mark) taken while
#     teekmd runs, one more signature, stop, the copy restored: refused with STORE_ROLLBACK naming the
#     verifier's counter — for a verifier-keyed instance at key release, for a seal-keyed one registered
#     with --verifier by its own check against the remote counter; an edited remoteCounter is refused;
#  3. verifier down while serving with --remote-counter: signing fails with UNAVAILABLE naming the verifier
#     and nothing is released, /healthz says so; the verifier back on its port: signing resumes (ethers
#     recovers the key from the signed transaction).
set -euo pipefail
export TKM_DONT_MLOCK=1
here=$(cd "$(dirname "$0")" && pwd)
src=${TKM_SOURCE_DIR:?}
shim=${TKM_BUILD_DIR:?}/libtkm_clockshift.so
[ -f "$shim" ] || { echo "FAIL: $shim not built" >&2; exit 1; }
"$here/../interop/ensure_deps.sh" ethers
dir=$(mktemp -d)
cleanup() {
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -12 "$f" >&2; }; done
  exit 1
}
ok() { echo "ok: $*"; }
# the shim goes before an ASan runtime when the programs are sanitized: tell ASan that is intended
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
CLOCK="$dir/clock"
echo "0 0" > "$CLOCK"

# ---- the verifier, on a fixed port (it is restarted on it in part 3) ----
teekm-verifier init --data-dir "$dir/v" > /dev/null || fail "verifier init"
echo '{"version": 1, "requireNonce": true, "maxEvidenceAgeSeconds": 60, "sim": {"enabled": true}, "keyRelease": ["sim"]}' \
  > "$dir/v/appraisal.json"
VPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$dir/v/verifier.json" <<JSON
{"dataDir": ".", "institution": "Example Bank AG", "appraisalPolicy": "appraisal.json",
 "listen": {"host": "127.0.0.1", "port": $VPORT, "threads": 2}, "registration": {"maxAgeSeconds": 3600}}
JSON
VURL=https://127.0.0.1:$VPORT
VCA="$dir/v/tls.crt"
vstart() {
  rm -f "$dir/v/port"
  teekm-verifier serve --config "$dir/v/verifier.json" --port-file "$dir/v/port" 2>> "$dir/verifier.log" &
  VPID=$!
  for _ in $(seq 100); do [ -s "$dir/v/port" ] && break; kill -0 "$VPID" 2>/dev/null || fail "verifier died"; sleep 0.1; done
  [ -s "$dir/v/port" ] || fail "verifier did not start"
}
vstop() { kill -TERM "$VPID"; wait "$VPID" || fail "verifier exit status $?"; }
vstart

# a daily window of 0.2 ETH, 0.1 per request; the trusted-time bounds spelt out (the defaults)
cat > "$dir/policy.json" <<'JSON'
{"teekm_policy": 1, "version": 1, "default": "deny", "max_validity_seconds": 3600,
 "admins": {"threshold": 1, "members": ["0xD2e5fcDb5a78CD6afD573c4680718F1833b88F0A"]},
 "address_books": {"payees": ["0xb37F129fFfB8D016d540DBB413E5Ee59f417Db98"]},
 "assets": {"SepoliaETH": {"chain_id": 11155111, "native": true, "decimals": 18}},
 "rules": [{"id": "daily", "effect": "allow", "keys": ["hot"], "action": "transfer", "asset": "SepoliaETH",
            "to": ["@payees"], "max_amount": "0.1", "window_limit": {"amount": "0.2", "seconds": 86400}}],
 "trusted_time": {"max_age_seconds": 300, "skew_seconds": 60}}
JSON

# the same with a larger window, for the rollback and outage parts (which sign more)
sed 's/"amount": "0.2"/"amount": "10"/' "$dir/policy.json" > "$dir/policy-large.json"
POLICY="$dir/policy.json"

init() { # init NAME [args...]: the hot key's address in $dir/NAME.hot
  local name=$1; shift
  teekm init --data-dir "$dir/$name" --tee sim --policy "$POLICY" --key hot "$@" > "$dir/$name.init.json" \
    2> "$dir/$name.init.log" || fail "init $name: $(tail -3 "$dir/$name.init.log")"
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"]["hot"])' "$dir/$name.init.json" > "$dir/$name.hot"
}
# start NAME [args...]: teekmd with the clock shim; sets URL, PID, DATA
start() {
  local name=$1; shift
  DATA="$dir/$name"
  : > "$dir/ready"
  LD_PRELOAD="$shim" TKM_TEST_CLOCK_FILE="$CLOCK" \
    teekmd --data-dir "$DATA" --listen 127.0.0.1:0 "$@" > "$dir/ready" 2>> "$dir/$name.log" &
  PID=$!
  for _ in $(seq 300); do
    [ -s "$dir/ready" ] && break
    kill -0 "$PID" 2>/dev/null || return 1
    sleep 0.05
  done
  [ -s "$dir/ready" ] || return 1
  URL=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["url"])' "$dir/ready")
}
stop() { kill -TERM "$PID"; wait "$PID" || fail "teekmd exit status $? after SIGTERM"; }
start_fails() { # start_fails NAME ARGS...: must exit non-zero before listening; its last log line in $dir/last
  local name=$1; shift
  : > "$dir/ready"
  local rc=0
  LD_PRELOAD="$shim" TKM_TEST_CLOCK_FILE="$CLOCK" \
    teekmd --data-dir "$dir/$name" --listen 127.0.0.1:0 "$@" > "$dir/ready" 2>> "$dir/$name.log" || rc=$?
  [ "$rc" -ne 0 ] && [ ! -s "$dir/ready" ] || fail "teekmd $name started (exit $rc) with $*"
  tail -1 "$dir/$name.log" > "$dir/last"
  echo "  refused: $(cut -c1-400 "$dir/last")"
}
# the client runs on the same (moved) host clock: the certificate teekmd makes at start is dated by it
c() { LD_PRELOAD="$shim" TKM_TEST_CLOCK_FILE="$CLOCK" curl -sS --cacert "$DATA/tls.crt" --cert "$DATA/client/operator.crt" \
  --key "$DATA/client/operator.key" "$@"; }
# sign NONCE → the JSON-RPC answer (0.1 ETH to the payee)
sign() {
  local hot
  hot=$(cat "$DATA.hot")
  c -H 'Content-Type: application/json' "$URL/" -d '{"jsonrpc":"2.0","id":1,"method":"eth_signTransaction",
    "params":[{"from":"'"$hot"'","to":"0xb37F129fFfB8D016d540DBB413E5Ee59f417Db98","value":"0x16345785d8a0000",
    "gas":"0x5208","maxFeePerGas":"0x3b9aca00","maxPriorityFeePerGas":"0x1","nonce":"'"$1"'","chainId":"0xaa36a7"}]}'
}
# outcome ANSWER → "result" or the error's reason
outcome() {
  python3 -c 'import json,sys; a=json.loads(sys.argv[1]); print("result" if "result" in a else a["error"]["data"]["reason"])' "$1"
}
expect() { # expect NONCE OUTCOME WHAT
  local a
  a=$(sign "$1") || fail "$3: no answer"
  [ "$(outcome "$a")" = "$2" ] || fail "$3: expected $2, got $a"
}
metric() { c "$URL/metrics" | awk -v n="$1" '$1 == n {print $2}'; }

# ---- 1. forward clock jump ----
init tt --state-key verifier --verifier "$VURL" --verifier-ca "$VCA"
python3 - "$dir/tt/instance.json" <<'PY' || fail "instance.json of a verifier instance"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["verifier"]["signer"].startswith("0x") and len(d["verifier"]["signer"]) == 42, d
assert "remoteCounter" not in d, d
PY
start tt --verifier-ca "$VCA" --trusted-time-seconds 1 || fail "start tt"
expect 0x0 result "first 0.1"
expect 0x1 result "second 0.1"
expect 0x2 WINDOW_LIMIT_EXCEEDED "third 0.1 within the day"
grep -q 'host clock is off' "$dir/tt.log" && fail "host clock reported off before it moved"
echo "90000 0" > "$CLOCK" # the host clock 25 h ahead, while teekmd runs
expect 0x2 WINDOW_LIMIT_EXCEEDED "after the host clock jumped 25 h (running)"
for _ in $(seq 60); do grep -q 'host clock is off' "$dir/tt.log" && break; sleep 0.1; done
grep -q 'host clock is off' "$dir/tt.log" || fail "the off host clock is not logged"
[ "$(metric teekm_host_clock_off)" = 1 ] || fail "teekm_host_clock_off not 1: $(metric teekm_host_clock_off)"
above=$(metric teekm_host_clock_clamped_above)
python3 -c 'import sys; assert float(sys.argv[1]) >= 1' "$above" || fail "no clamped evaluation counted ($above)"
off=$(metric teekm_host_clock_offset_seconds)
python3 -c 'import sys; assert 89990 <= float(sys.argv[1]) <= 90010' "$off" || fail "offset $off"
stop
start tt --verifier-ca "$VCA" || fail "restart tt with the clock 25 h ahead"
expect 0x2 WINDOW_LIMIT_EXCEEDED "after a restart with the host clock 25 h ahead"
echo "90000 90000" > "$CLOCK" # and the boot-time clock too: the bound grows at most max_age past a trusted time
expect 0x2 WINDOW_LIMIT_EXCEEDED "with the monotonic (boot-time) clock 25 h ahead as well"
LD_PRELOAD="$shim" TKM_TEST_CLOCK_FILE="$CLOCK" teekm audit export --url "$URL" --data-dir "$DATA" \
  --out "$dir/tt.audit" 2> "$dir/export.log" || fail "audit export: $(cat "$dir/export.log")"
python3 - "$dir/tt.audit" <<'PY' || fail "host_clock audit records"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
hc = [r for r in recs if r["type"] == "host_clock"]
assert hc, "no host_clock record"
b = hc[-1]["body"]
assert b["state"] == "off" and 89990 <= b["offsetSeconds"] <= 90010 and b["skewSeconds"] == 60, b
# every decision after the jump was taken at (about) the verifier's time, not the host's
late = [r for r in recs if r["type"] == "sign_rejected"]
assert late and all(r["time"] < hc[-1]["body"]["hostTime"] - 80000 for r in late), [r["time"] for r in late]
PY
stop
echo "0 0" > "$CLOCK"
ok "forward jump with a verifier: the window stays closed (running, restarted, boot-time clock moved too); host_clock audited, metrics set"

# the same without a verifier: the documented limit (docs/policy.md "Windows")
init plain
start plain || fail "start plain"
expect 0x0 result "plain first"
expect 0x1 result "plain second"
expect 0x2 WINDOW_LIMIT_EXCEEDED "plain third"
echo "90000 0" > "$CLOCK"
expect 0x2 result "plain after the host clock jumped 25 h (no verifier: the window reopens)"
[ -z "$(metric teekm_host_clock_off)" ] || fail "a verifier-less instance has trusted-time metrics"
stop
echo "0 0" > "$CLOCK"
ok "forward jump without a verifier: the window reopens (documented: no trusted time)"

# ---- 2. rollback of the whole data directory, with the remote counter ----
POLICY="$dir/policy-large.json"
init rc --state-key verifier --verifier "$VURL" --verifier-ca "$VCA" --remote-counter
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["remoteCounter"] is True, d' "$dir/rc/instance.json" ||
  fail "remoteCounter not recorded"
start rc --verifier-ca "$VCA" || fail "start rc"
expect 0x0 result "rc first"
cp -a "$dir/rc" "$dir/rc.copy" # the whole directory, taken while teekmd runs and is idle
expect 0x1 result "rc second (after the copy)"
v_now=$(metric teekm_state_version)
[ "$(metric teekm_remote_counter_value)" = "$v_now" ] || fail "remote counter $(metric teekm_remote_counter_value) != state $v_now"
stop
mv "$dir/rc" "$dir/rc.now"
cp -a "$dir/rc.copy" "$dir/rc"
start_fails rc --verifier-ca "$VCA" --verifier-retries 0
grep -q 'STORE_ROLLBACK' "$dir/last" && grep -q 'counter' "$dir/last" || fail "rollback not refused: $(cat "$dir/last")"
rm -rf "$dir/rc"
mv "$dir/rc.now" "$dir/rc"
ok "an older copy of the whole data directory is refused (STORE_ROLLBACK, the verifier's counter named)"

# the same for a seal-keyed instance registered with the verifier: no key release to refuse it, so the
# instance's own check refuses it once registered (the state opened below the remote counter)
init sk --verifier "$VURL" --verifier-ca "$VCA" --remote-counter
python3 - "$dir/sk/instance.json" <<'PY' || fail "seal-keyed instance.json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["stateKey"] == "seal" and d["remoteCounter"] is True and set(d["verifier"]) == {"signer"}, d
PY
start_fails sk --verifier-retries 0
grep -q 'CONFIG' "$dir/last" && grep -q 'remote monotonic counter' "$dir/last" || fail "sk without --verifier: $(cat "$dir/last")"
start sk --verifier "$VURL" --verifier-ca "$VCA" || fail "start sk"
expect 0x0 result "sk first"
cp -a "$dir/sk" "$dir/sk.copy"
expect 0x1 result "sk second (after the copy)"
stop
mv "$dir/sk" "$dir/sk.now"
cp -a "$dir/sk.copy" "$dir/sk"
start_fails sk --verifier "$VURL" --verifier-ca "$VCA"
grep -q 'STORE_ROLLBACK' "$dir/last" && grep -q "older than teekm-verifier's monotonic counter" "$dir/last" ||
  fail "seal-keyed rollback not refused: $(cat "$dir/last")"
rm -rf "$dir/sk"
mv "$dir/sk.now" "$dir/sk"
start sk --verifier "$VURL" --verifier-ca "$VCA" || fail "start sk after the rollback attempt"
expect 0x2 result "sk after"
stop
ok "seal-keyed with --verifier --remote-counter: the restored copy is refused by the instance itself (STORE_ROLLBACK)"

# remoteCounter cannot be edited away: instance.json's MAC covers it, and before the MAC can be checked
# (its key is the released one) the key-release claims without the counter fall below the verifier's counter
cp "$dir/rc/instance.json" "$dir/instance.json.orig"
python3 - "$dir/rc/instance.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p)); d["remoteCounter"] = False
open(p, "w").write(json.dumps(d, indent=2) + "\n")
PY
start_fails rc --verifier-ca "$VCA" --verifier-retries 0
grep -q -e 'STORE_TAMPER' -e 'STORE_ROLLBACK' "$dir/last" || fail "edited remoteCounter: $(cat "$dir/last")"
cp "$dir/instance.json.orig" "$dir/rc/instance.json"
ok "remoteCounter edited out of instance.json: refused"

# ---- 3. the verifier goes away while teekmd serves with the remote counter ----
start rc --verifier-ca "$VCA" || fail "start rc again"
expect 0x1 result "rc: a retried nonce with the same payload signs again"
vstop
a=$(sign 0x2) || fail "no answer while the verifier is down"
[ "$(outcome "$a")" = UNAVAILABLE ] || fail "verifier down: $a"
python3 - "$a" "$VURL" <<'PY' || fail "verifier-down answer: $a"
import json, sys
a = json.loads(sys.argv[1])
assert "result" not in a, a
d = a["error"]["data"]["detail"]
assert sys.argv[2] in d and "nothing of this request was released" in d, d
PY
a=$(sign 0x2) || fail "no second answer while the verifier is down"
[ "$(outcome "$a")" = UNAVAILABLE ] || fail "verifier still down: $a"
c "$URL/healthz" | python3 -c 'import json,sys; h=json.load(sys.stdin); assert h["checks"]["verifier"] != "ok", h' ||
  fail "healthz does not show the verifier"
vstart
for _ in $(seq 50); do
  a=$(sign 0x2) || fail "no answer after the verifier came back"
  [ "$(outcome "$a")" = result ] && break
  sleep 0.1
done
[ "$(outcome "$a")" = result ] || fail "signing did not resume: $a"
raw=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["result"])' "$a")
from=$(ETHERS_DIR="$here/../interop/ethers" node -e '
  const { ethers } = require(process.env.ETHERS_DIR + "/node_modules/ethers");
  console.log(ethers.Transaction.from(process.argv[1]).from);' "$raw")
[ "$from" = "$(cat "$dir/rc.hot")" ] || fail "resumed signature by $from"
c "$URL/healthz" | python3 -c 'import json,sys; h=json.load(sys.stdin); assert h["status"] == "ok", h' || fail "healthz after"
[ "$(metric teekm_remote_counter_value)" = "$(metric teekm_state_version)" ] || fail "counter behind after recovery"
stop
start rc --verifier-ca "$VCA" || fail "restart after the outage"
stop
ok "verifier down: UNAVAILABLE naming it, nothing released, healthz failing; back: signing resumes, state reopens"
