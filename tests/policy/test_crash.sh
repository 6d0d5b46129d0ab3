#!/usr/bin/env bash
# Crash safety: SIGKILL `teekm policy eval --state` at random points while it
# works through a stream of signing requests, restart it on the same stream
# each time, then check that
#  - every request ever answered "allow" still has its state record (the final
#    run answers it as an idempotent replay),
#  - the window limit was never exceeded (exactly the first N requests that fit
#    were allowed, whatever the kill points),
#  - the audit log verifies and agrees with the state (one non-idempotent
#    sign_allowed per allowed request, none for the others).
set -euo pipefail
export TKM_DONT_MLOCK=1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
RANDOM=${TKM_CRASH_SEED:-4242} # reproducible kill points
MAX_MS=${TKM_CRASH_MAX_MS:-150} # kill within 2..MAX_MS+1 ms of the start
N=${TKM_CRASH_REQUESTS:-2000}
KILLS=${TKM_CRASH_KILLS:-12}

hot=0x1111111111111111111111111111111111111111
good=0x2222222222222222222222222222222222222222
bad=0x3333333333333333333333333333333333333333
usdc=0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48
cat > "$dir/policy.json" <<JSON
{"teekm_policy":1,"version":1,"default":"deny","max_validity_seconds":3600,
 "admins":{"threshold":1,"members":["0x4444444444444444444444444444444444444444"]},
 "assets":{"USDC":{"chain_id":1,"contract":"$usdc","standard":"erc20","decimals":6},
           "ETH":{"chain_id":1,"native":true,"decimals":18}},
 "rules":[{"id":"permits","effect":"allow","keys":["hot"],"action":"approve","asset":"USDC","to":["$good"],
           "max_amount":"10","window_limit":{"amount":"9800","seconds":86400}},
          {"id":"eth","effect":"allow","keys":["hot"],"action":"transfer","asset":"ETH","to":["$good"],
           "window_limit":{"amount":"300","seconds":86400}}]}
JSON
# N permits of 7 USDC each; every 10th to a spender the policy does not allow
for ((i = 1; i <= N; i++)); do
  sp=$good; [ $((i % 10)) -eq 0 ] && sp=$bad
  printf '{"requestId":"c-%d","key":"hot","notAfter":1750000600,"typedData":{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"},{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],"Permit":[{"name":"owner","type":"address"},{"name":"spender","type":"address"},{"name":"value","type":"uint256"},{"name":"nonce","type":"uint256"},{"name":"deadline","type":"uint256"}]},"primaryType":"Permit","domain":{"name":"USD Coin","version":"2","chainId":1,"verifyingContract":"%s"},"message":{"owner":"%s","spender":"%s","value":"7000000","nonce":%d,"deadline":1760000000}}}\n' \
    "$i" "$usdc" "$hot" "$sp" "$i"
  # every 4th line also a 1 ETH transfer (nonce records); the window admits the first 300
  if [ $((i % 4)) -eq 0 ]; then
    printf '{"requestId":"t-%d","key":"hot","notAfter":1750000600,"tx":{"type":"0x2","chainId":"0x1","nonce":"0x%x","gas":"0x5208","maxFeePerGas":"0x3b9aca00","maxPriorityFeePerGas":"0x1","to":"%s","value":"0xde0b6b3a7640000"}}\n' \
      "$((i / 4))" "$((i / 4))" "$good"
  fi
done > "$dir/stream.jsonl"
N=$(wc -l < "$dir/stream.jsonl")

run() { exec teekm policy eval --policy "$dir/policy.json" --key hot=$hot --requests "$dir/stream.jsonl" \
          --state "$dir/state" --now 1750000000 "$@"; }

killed=0
for ((k = 1; k <= KILLS; k++)); do
  run > "$dir/out.$k" 2> "$dir/err.$k" &
  pid=$!
  sleep "0.$(printf '%03d' $((RANDOM % MAX_MS + 2)))"
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  # killed mid-stream: it had not answered every request
  [ "$(wc -l < "$dir/out.$k")" -lt "$N" ] && killed=$((killed + 1))
  # a run may only fail by being killed: never because the state would not open
  if grep -q 'teekm:' "$dir/err.$k"; then fail "run $k: $(cat "$dir/err.$k")"; fi
done
[ $killed -ge $((KILLS / 2)) ] || fail "only $killed of $KILLS runs were killed mid-stream (raise N)"
(run) > "$dir/final" 2> "$dir/err.final" || fail "final run: $(cat "$dir/err.final")"
[ "$(wc -l < "$dir/final")" -eq "$N" ] || fail "final run answered $(wc -l < "$dir/final") of $N"

decisions() { grep -o '"requestId":"[^"]*","decision":"[a-z]*"' "$@" | sed 's/"requestId":"\([^"]*\)","decision":"\([a-z]*\)"/\1 \2/'; }
# 1. every allow ever printed is an idempotent allow now
decisions "$dir/final" | sort -u > "$dir/final.dec"
cat "$dir"/out.* | decisions | grep ' allow$' | sort -u > "$dir/killed.allow" || true
while read -r id _; do
  grep -q "^$id allow$" "$dir/final.dec" || fail "$id was allowed before a crash but is not now"
  grep -q "\"requestId\":\"$id\",\"decision\":\"allow\".*\"idempotent\":true" "$dir/final" \
    || fail "$id lost its state record (not an idempotent replay)"
done < "$dir/killed.allow"
# 2. the windows: exactly the first 9800/7 = 1400 good permits and the first 300 ETH transfers are allowed
#    (spread over the stream, so kills hit them)
grep ' allow$' "$dir/final.dec" | cut -d' ' -f1 | sort > "$dir/allowed"
{ for ((i = 1, n = 0; n < 1400; i++)); do [ $((i % 10)) -ne 0 ] && { echo "c-$i"; n=$((n + 1)); }; done
  for ((i = 1; i <= 300; i++)); do echo "t-$i"; done; } | sort > "$dir/want"
diff -q "$dir/allowed" "$dir/want" > /dev/null || fail "allowed set differs from the first that fit ($(wc -l < "$dir/allowed") allowed)"
# 3. audit log and state agree
teekm audit export --state "$dir/state" --out "$dir/audit.jsonl"
addr=$(head -1 "$dir/audit.jsonl" | grep -o '"auditAddress":"0x[0-9a-fA-F]*"' | cut -d'"' -f4)
teekm audit verify "$dir/audit.jsonl" --audit-address "$addr" > /dev/null || fail "audit log does not verify"
grep '"type":"sign_allowed"' "$dir/audit.jsonl" | grep '"idempotent":false' \
  | sed 's/.*"requestId":"\([^"]*\)".*/\1/' | sort > "$dir/audit.allowed"
[ "$(uniq -d < "$dir/audit.allowed" | wc -l)" -eq 0 ] || fail "a request was allowed twice in the audit log"
diff -q "$dir/audit.allowed" "$dir/want" > /dev/null || fail "audit log allowed set differs from the state's"
echo "crash test: $killed of $KILLS runs killed mid-stream; $(wc -l < "$dir/killed.allow") allows released before kills all survived; window exact; audit agrees"
