#!/usr/bin/env bash
# teekmd operated like an operator would, with the teekm CLI and curl: key events and a policy change under
# the admins' quorum, SIGHUP (log level, client CA list), SIGTERM, snapshot and clone detection at start,
# plain HTTP only on loopback, and the readiness line.
set -euo pipefail
export TKM_DONT_MLOCK=1
src=${TKM_SOURCE_DIR:?}
dir=$(mktemp -d)
cleanup() {
  # only our own children that still run (a recorded pid of an exited one may belong to someone else by now)
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [ -f "$dir/teekmd.log" ] && tail -20 "$dir/teekmd.log" >&2
  exit 1
}
ok() { echo "ok: $*"; }

# demo approvers (public test keys from demo/): admin signs key events and policy changes
install -m 0600 "$src/demo/admin.devkey" "$dir/admin.devkey"
install -m 0600 "$src/demo/risk.devkey" "$dir/risk.devkey"
cp "$src/demo/policy.json" "$dir/policy.json"
DATA="$dir/data"
teekm init --data-dir "$DATA" --tee sim --policy "$dir/policy.json" --key hot > "$dir/init.json" 2>/dev/null
AUDIT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["auditAddress"])' "$dir/init.json")
[ "$(stat -c %a "$DATA/client/operator.key")" = 600 ] || fail "operator key not 0600"
[ "$(stat -c %a "$DATA")" = 700 ] || fail "data directory not 0700"
grep -q "PRIVATE KEY" "$DATA/sim.key" && [ "$(stat -c %a "$DATA/sim.key")" = 600 ] || fail "sim key"
! grep -rl "PRIVATE KEY" "$DATA" | grep -v -e sim.key -e operator.key || fail "a private key in clear outside sim.key and the operator key"
ok "init: files and modes"

start() { # start [args...]: teekmd on a free port; sets URL, PID
  : > "$dir/ready"
  teekmd --data-dir "$DATA" --listen 127.0.0.1:0 "$@" > "$dir/ready" 2>> "$dir/teekmd.log" &
  PID=$!
  for _ in $(seq 200); do
    [ -s "$dir/ready" ] && break
    kill -0 "$PID" 2>/dev/null || return 1
    sleep 0.05
  done
  URL=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["url"])' "$dir/ready")
  export TEEKM_URL=$URL TEEKM_DATA_DIR=$DATA
}
stop() {
  kill -TERM "$PID"
  for _ in $(seq 150); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$PID" 2>/dev/null; then
    grep -H -E '^(Name|State|SigPnd|ShdPnd|SigBlk):' /proc/"$PID"/task/*/status >&2 || true
    kill -KILL "$PID"
    fail "teekmd did not stop within 15 s of SIGTERM"
  fi
  wait "$PID" || fail "teekmd exit status $? after SIGTERM"
}
CURL=(curl -sS --cacert "$DATA/tls.crt" --cert "$DATA/client/operator.crt" --key "$DATA/client/operator.key")

echo info > "$dir/loglevel"
start --log-level-file "$dir/loglevel" --client-ca "$dir/extra-ca.pem" 2>/dev/null && fail "started with a missing --client-ca file"
wait "$PID" 2>/dev/null || true
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca2.key" -out "$dir/ca2.crt" \
  -days 2 -subj /CN=ca2 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/app.key" -out "$dir/app.csr" \
  -subj /CN=demo-app 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > "$dir/app.ext"
openssl x509 -req -in "$dir/app.csr" -CA "$dir/ca2.crt" -CAkey "$dir/ca2.key" -CAcreateserial -out "$dir/app.crt" \
  -days 2 -extfile "$dir/app.ext" 2>/dev/null
: > "$dir/extra-ca.pem" # empty at first: demo-app's CA is not trusted yet
start --log-level-file "$dir/loglevel" --client-ca "$dir/extra-ca.pem" || fail "start"
grep -q '"event":"listening"' "$dir/ready" || fail "no readiness line"
ok "readiness line on stdout: $URL"
APP=(curl -sS --cacert "$DATA/tls.crt" --cert "$dir/app.crt" --key "$dir/app.key" -H 'Content-Type: application/json')
"${APP[@]}" "$URL/" -d '{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}' | grep -q CLIENT_CERT_UNTRUSTED ||
  fail "demo-app accepted before its CA was added"
cat "$dir/ca2.crt" > "$dir/extra-ca.pem"
kill -HUP "$PID"
sleep 0.5
out=$("${APP[@]}" "$URL/" -d '{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}')
echo "$out" | grep -q '"result":\["0x' || fail "SIGHUP did not add the client CA: $out"
ok "SIGHUP re-reads the client CA list (demo-app gets the roles of its policy entry)"
n0=$(grep -c '"msg":"request"' "$dir/teekmd.log" || true)
echo warn > "$dir/loglevel"
kill -HUP "$PID"
sleep 0.5
"${CURL[@]}" "$URL/healthz" > /dev/null
n1=$(grep -c '"msg":"request"' "$dir/teekmd.log" || true)
echo info > "$dir/loglevel"
kill -HUP "$PID"
sleep 0.5
"${CURL[@]}" "$URL/healthz" > /dev/null
n2=$(grep -c '"msg":"request"' "$dir/teekmd.log" || true)
[ "$n1" = "$n0" ] && [ "$n2" -gt "$n1" ] || fail "log level not reloaded ($n0 $n1 $n2)"
ok "SIGHUP re-reads the log level (warn: no request lines; info: back)"

# key events under the admins' quorum
teekm keys generate cold > "$dir/q.json" 2>/dev/null && fail "key generated without approvals"
grep -q '"primaryType": "KeyEvent"' "$dir/q.json" || fail "no KeyEvent to sign"
teekm keys generate cold --approver-key "$dir/risk.devkey" > /dev/null 2>&1 && fail "a non-admin's approval counted"
teekm keys generate cold --approver-key "$dir/admin.devkey" > "$dir/cold.json" || fail "keys generate"
COLD=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["address"])' "$dir/cold.json")
teekm keys show cold | grep -q '"publicKey": "0x04' || fail "keys show"
teekm rpc eth_accounts | grep -q "$COLD" || fail "the new key is not listed"
teekm keys retire cold --approver-key "$dir/admin.devkey" | grep -q '"status": "retired"' || fail "retire"
teekm rpc eth_accounts | grep -q "$COLD" && fail "a retired key is listed"
ok "keys generate / show / retire with the admin's approval; refused without it"

# a policy change: propose, approve, activate
python3 - "$dir/policy.json" "$dir/policy2.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["version"] = 2
p["rules"][0]["max_amount"] = "2"
json.dump(p, open(sys.argv[2], "w"))
PY
HASH=$(teekm policy propose "$dir/policy2.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["hash"])')
[ "$HASH" = "$(teekm policy check "$dir/policy2.json" 2>/dev/null)" ] || fail "proposal hash differs from teekm policy check"
teekm policy activate "$HASH" > /dev/null 2>&1 && fail "activated without approvals"
teekm policy approve "$HASH" --approver-key "$dir/admin.devkey" > /dev/null || fail "approve"
teekm policy activate "$HASH" | grep -q '"version": 2' || fail "activate"
teekm policy get | grep -q "\"hash\": \"$HASH\"" || fail "the active policy is not the new one"
ok "policy propose / approve / activate under the admins' quorum"

# SIGTERM: drain and clean exit; the audit chain verifies
teekm audit export --out "$dir/audit.jsonl" || fail "audit export"
teekm audit verify "$dir/audit.jsonl" --audit-address "$AUDIT" > /dev/null || fail "audit verify"
stop
grep -q '"msg":"stopped; state closed"' "$dir/teekmd.log" || fail "no clean stop"
ok "SIGTERM: drained and closed; audit log verifies"

# snapshot detection: an older copy of the state
mkdir -p "$dir/snap"
cp "$DATA/state.db" "$DATA/counter" "$DATA/hwm" "$dir/snap/"
start || fail "restart"
"${CURL[@]}" -H 'Content-Type: application/json' "$URL/" -d '{"jsonrpc":"2.0","id":1,"method":"teekm_evidence"}' > /dev/null
stop
cp "$dir/snap/state.db" "$DATA/state.db"
rm -f "$DATA/state.db-wal" "$DATA/state.db-shm"
start 2>/dev/null && fail "an older state.db (counter newer) was accepted"
wait "$PID" 2>/dev/null || true
grep -q 'STORE_ROLLBACK' "$dir/teekmd.log" || fail "rollback not named"
cp "$dir/snap/counter" "$DATA/counter"
start 2>/dev/null && fail "an older state.db and counter (attested mark newer) were accepted"
wait "$PID" 2>/dev/null || true
[ "$(grep -c 'STORE_ROLLBACK' "$dir/teekmd.log")" -ge 2 ] || fail "high-water mark rollback not named"
ok "an older state is refused: by the counter, and with the counter rolled back too by the attested mark"
cp "$dir/snap/hwm" "$DATA/hwm"
start 2>/dev/null || fail "all three restored together should open (the documented limit of host-side files)"
stop
ok "state, counter and mark restored together open (the documented limit: a remote counter closes it)"

# instance.json edited (the operator certificate swapped for another): refused
cp "$DATA/instance.json" "$dir/instance.json.bak"
# flip the fingerprint's first hex digit (to one it cannot already be)
sed -i -e 's/"fingerprint": "0x0/"fingerprint": "0xT/' -e 's/"fingerprint": "0x[1-9a-f]/"fingerprint": "0x0/' \
    -e 's/"fingerprint": "0xT/"fingerprint": "0x1/' "$DATA/instance.json"
cmp -s "$DATA/instance.json" "$dir/instance.json.bak" && fail "the edit did not change instance.json"
start 2>/dev/null && fail "an edited instance.json was accepted"
wait "$PID" 2>/dev/null || true
tail -2 "$dir/teekmd.log" | grep -q 'instance.json fails its MAC' || fail "instance.json edit not named"
cp "$dir/instance.json.bak" "$DATA/instance.json"
ok "an edited instance.json is refused (MAC under the platform seal key)"

# clone: another instance's state under this instance.json
teekm init --data-dir "$dir/other" --tee sim --policy "$dir/policy.json" > /dev/null 2>&1
cp "$DATA/state.db" "$dir/mine.db"
cp "$dir/other/state.db" "$DATA/state.db"
start 2>/dev/null && fail "another instance's state was accepted"
wait "$PID" 2>/dev/null || true
tail -3 "$dir/teekmd.log" | grep -Eq 'STORE_CLONE|STORE_TAMPER|STORE_COUNTER' || fail "clone not named"
cp "$dir/mine.db" "$DATA/state.db"
ok "another instance's state is refused"

# plain HTTP: only on loopback, loudly, with the roles given
teekmd --data-dir "$DATA" --listen 0.0.0.0:0 --insecure-http > /dev/null 2>> "$dir/teekmd.log" && fail "plain HTTP on 0.0.0.0"
tail -2 "$dir/teekmd.log" | grep -q 'loopback' || fail "the refusal does not say why"
start --insecure-http --insecure-roles read || fail "plain HTTP on loopback"
case "$URL" in http://127.0.0.1:*) ;; *) fail "url $URL" ;; esac
grep -q 'PLAIN HTTP WITHOUT TLS' "$dir/teekmd.log" || fail "no loud warning"
curl -sS "$URL/healthz" | grep -q '"status":"ok"' || fail "healthz over http"
curl -sS -H 'Content-Type: application/json' "$URL/" -d '{"jsonrpc":"2.0","id":1,"method":"eth_signTransaction","params":[{}]}' |
  grep -q '"code":701' || fail "a read-only plain-HTTP caller could call a signing method"
stop
ok "plain HTTP refused off loopback; on loopback with a warning and only the given roles"
echo "e2e ops: all checks passed"
