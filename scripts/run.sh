#!/usr/bin/env bash
# `make run`: a demo teekmd instance under ./run/ (sim TEE — NOT SECURE — with
# demo/policy.json and its demo approver keys), initialised on the first run
# with one key "hot", then started in the foreground. A second `make run`
# reuses ./run/. Environment: TEEKM_LISTEN (default 127.0.0.1:8545),
# TEEKM_RUN_DIR (default run).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
BIN=$(cd "$BUILD" && pwd)
RUN=${TEEKM_RUN_DIR:-run}
LISTEN=${TEEKM_LISTEN:-127.0.0.1:8545}
DATA="$RUN/data"
HOSTPORT=${LISTEN}
URL="https://${HOSTPORT}"

mkdir -p "$RUN/demo"
chmod 700 "$RUN" "$RUN/demo"
for k in admin risk; do # the demo approvers' keys: public on purpose, 0600 for the dev-key loader
  install -m 0600 "demo/$k.devkey" "$RUN/demo/$k.devkey"
done

# Locked memory for secrets: root may lock what it needs; others are held to RLIMIT_MEMLOCK.
if [ "$(id -u)" != 0 ]; then
  lim=$(ulimit -l)
  if [ "$lim" != unlimited ] && [ "$lim" -lt 16384 ]; then
    echo "run: RLIMIT_MEMLOCK is ${lim} KiB: secrets will not be locked in memory (TKM_DONT_MLOCK=1; demo only)" >&2
    export TKM_DONT_MLOCK=1
  fi
fi

# The sim seal key is bound to the teekmd binary (as SGX's is to MRENCLAVE): a rebuilt teekmd
# cannot open a state the previous build sealed. Keep that one aside and start a new demo.
sum=$(sha256sum "$BIN/teekmd" | cut -d' ' -f1)
if [ -f "$DATA/instance.json" ] && [ "$(cat "$RUN/teekmd.sha256" 2>/dev/null)" != "$sum" ]; then
  old="$RUN/old-$(date +%Y%m%d-%H%M%S)"
  echo "run: teekmd was rebuilt since $DATA was initialised; its sealed state cannot be opened by this build." >&2
  echo "run: moving it to $old and initialising a new demo instance" >&2
  mkdir -p "$old"
  mv "$DATA" "$RUN/init.json" "$old/" 2>/dev/null || true
fi

if [ ! -f "$DATA/instance.json" ]; then
  "$BIN/teekm" init --data-dir "$DATA" --tee sim --policy demo/policy.json --key hot > "$RUN/init.json"
  echo "$sum" > "$RUN/teekmd.sha256"
  echo "run: initialised a demo instance in $DATA (see $RUN/init.json)"
else
  echo "run: reusing the demo instance in $DATA"
fi

HOT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"]["hot"])' "$RUN/init.json")
AUDIT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["auditAddress"])' "$RUN/init.json")

cat <<EOF

teekmd demo — SIMULATED TEE, NOT SECURE: demo keys and policy only
  endpoint     $URL   (JSON-RPC on /, admin API on /admin/v1, /healthz, /metrics)
  client cert  $DATA/client/operator.crt   (the operator: every role)
  client key   $DATA/client/operator.key
  server cert  $DATA/tls.crt   (RA-TLS, rewritten at every start: use it as the CA file)
  key "hot"    $HOT
  audit key    $AUDIT
  approvers    $RUN/demo/admin.devkey (admins), $RUN/demo/risk.devkey (group risk)

Sign a transaction (0.1 SepoliaETH to a payee the policy allows):
  curl --cacert $DATA/tls.crt --cert $DATA/client/operator.crt --key $DATA/client/operator.key \\
       -H 'Content-Type: application/json' $URL/ -d '{"jsonrpc":"2.0","id":1,"method":"eth_signTransaction","params":[{"from":"$HOT","to":"0xb37F129fFfB8D016d540DBB413E5Ee59f417Db98","value":"0x16345785d8a0000","gas":"0x5208","maxFeePerGas":"0x3b9aca00","maxPriorityFeePerGas":"0x3b9aca00","nonce":"0x0","chainId":"0xaa36a7"}]}'

The operator CLI (in another terminal):
  export TEEKM_DATA_DIR=$DATA TEEKM_URL=$URL
  $BUILD/teekm rpc eth_accounts
  $BUILD/teekm keys list
  $BUILD/teekm keys generate cold --approver-key $RUN/demo/admin.devkey
  $BUILD/teekm audit export --out $RUN/audit.jsonl && $BUILD/teekm audit verify $RUN/audit.jsonl --audit-address $AUDIT

Stop with Ctrl-C (SIGTERM/SIGINT drain in-flight requests and close the state).

EOF
exec "$BIN/teekmd" --data-dir "$DATA" --listen "$LISTEN"
