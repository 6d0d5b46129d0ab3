#!/usr/bin/env bash
# teekm policy check / eval and teekm audit export / verify, driven like an operator would.
set -euo pipefail
export TKM_DONT_MLOCK=1
src=${TKM_SOURCE_DIR:?}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. the complete example in docs/policy.md is valid and is the one in the vectors
awk '/^```json$/{f=1;next} /^```$/{if(f){exit}} f' "$src/docs/policy.md" > "$dir/doc_example.json"
h1=$(teekm policy check "$dir/doc_example.json" 2>/dev/null) || fail "docs example does not check"
h2=$(teekm policy check "$src/tests/vectors/policy/example_policy.json" 2>/dev/null)
[ "$h1" = "$h2" ] || fail "docs example differs from tests/vectors/policy/example_policy.json"
[[ "$h1" =~ ^0x[0-9a-f]{64}$ ]] || fail "hash output: $h1"

# 2. problems are named with their path, exit 1
sed 's/"@exchanges", "@cold"/"@exchanges", "@colder"/' "$dir/doc_example.json" > "$dir/bad.json"
if teekm policy check "$dir/bad.json" 2>"$dir/err"; then fail "dangling book accepted"; fi
grep -q 'rules\[1\].to\[1\]: unknown address book @colder' "$dir/err" || fail "path not named: $(cat "$dir/err")"
sed 's/"max_amount": "10",/"max_amount": "10", "maxAmount": "5",/' "$dir/doc_example.json" > "$dir/bad.json"
if teekm policy check "$dir/bad.json" 2>"$dir/err"; then fail "unknown field accepted"; fi
grep -q 'rules\[1\].maxAmount' "$dir/err" || fail "unknown field not named: $(cat "$dir/err")"
set +e; teekm policy check "$dir/missing.json" 2>/dev/null; rc=$?; set -e
[ $rc -eq 1 ] || fail "missing file exit $rc"

# 3. eval: a Seaport order (typed data), no state
hot=0x98b995617Fee50EC3B7255bBdAF16c1Df70a363b
order() { # $1 = requestId, $2 = version
  cat <<JSON
{"requestId":"$1","key":"hot","notAfter":1750000600,"typedData":{
 "types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"},{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],
  "OrderComponents":[{"name":"offerer","type":"address"},{"name":"salt","type":"uint256"}]},
 "primaryType":"OrderComponents",
 "domain":{"name":"Seaport","version":"$2","chainId":1,"verifyingContract":"0x00000000000000ADc04C56Bf30aC9d3c0aAF14dC"},
 "message":{"offerer":"$hot","salt":"42"}}}
JSON
}
order o-1 1.5 > "$dir/r1.json"
out=$(teekm policy eval --policy "$dir/doc_example.json" --key hot=$hot --request "$dir/r1.json" --now 1750000000) \
  || fail "order not allowed: $out"
echo "$out" | grep -q '"decision": "allow"' || fail "$out"
echo "$out" | grep -q '"rule": "seaport-listings"' || fail "$out"
order o-2 1.4 > "$dir/r2.json"
set +e; out=$(teekm policy eval --policy "$dir/doc_example.json" --key hot=$hot --request "$dir/r2.json" --now 1750000000); rc=$?; set -e
[ $rc -eq 1 ] || fail "deny exit $rc"
echo "$out" | grep -q '"reason": "TYPED_DATA_NOT_ALLOWED"' || fail "$out"
# unknown key, malformed request
set +e; out=$(teekm policy eval --policy "$dir/doc_example.json" --request "$dir/r1.json" --now 1750000000); rc=$?; set -e
[ $rc -eq 1 ] && echo "$out" | grep -q UNKNOWN_KEY || fail "unknown key: $out"
echo '{"requestId":"x","key":"hot","notAfter":1}' > "$dir/r3.json"
set +e; out=$(teekm policy eval --policy "$dir/doc_example.json" --key hot=$hot --request "$dir/r3.json"); rc=$?; set -e
[ $rc -eq 2 ] && echo "$out" | grep -q REQUEST || fail "malformed request: rc $rc $out"
# an EIP-191 message ("app.example.com wants you to sign in…" as hex): off without a sign_message rule, then allowed by one
msg=0x$(printf 'app.example.com wants you to sign in with your Ethereum account:\n%s' "$hot" | od -An -tx1 -v | tr -d ' \n')
echo "{\"requestId\":\"m-1\",\"key\":\"hot\",\"notAfter\":1750000600,\"message\":\"$msg\"}" > "$dir/m1.json"
set +e; out=$(teekm policy eval --policy "$dir/doc_example.json" --key hot=$hot --request "$dir/m1.json" --now 1750000000); rc=$?; set -e
[ $rc -eq 1 ] && echo "$out" | grep -q '"reason": "UNSUPPORTED_PAYLOAD"' || fail "message without sign_message rules: rc $rc $out"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["rules"].append({"id":"siwe","effect":"allow","keys":["hot"],"action":"sign_message","message":{"prefixes":["app.example.com wants you to sign in with your Ethereum account:\n"]}}); json.dump(d,open(sys.argv[2],"w"))' \
  "$dir/doc_example.json" "$dir/with_messages.json"
out=$(teekm policy eval --policy "$dir/with_messages.json" --key hot=$hot --request "$dir/m1.json" --now 1750000000) || fail "message not allowed: $out"
echo "$out" | grep -q '"rule": "siwe"' && echo "$out" | grep -q '"length": 107' || fail "$out"
echo "$out" | grep -q 'example.com\|6578616d706c65' && fail "the message content is in the decision: $out"

# 4. a stream with --state: recorded, idempotent, audited
{ order s-1 1.5 | tr -d '\n'; echo; order s-2 1.5 | tr -d '\n'; echo; order s-1 1.5 | tr -d '\n'; echo; order s-3 1.4 | tr -d '\n'; echo; } > "$dir/stream.jsonl"
teekm policy eval --policy "$dir/doc_example.json" --key hot=$hot --requests "$dir/stream.jsonl" --state "$dir/state" \
  --now 1750000000 > "$dir/out.jsonl"
[ "$(wc -l < "$dir/out.jsonl")" -eq 4 ] || fail "stream output: $(cat "$dir/out.jsonl")"
sed -n 3p "$dir/out.jsonl" | grep -q '"idempotent":true' || fail "replay not idempotent: $(sed -n 3p "$dir/out.jsonl")"
sed -n 4p "$dir/out.jsonl" | grep -q '"decision":"deny"' || fail "s-3 not denied"
[ "$(stat -c %a "$dir/state/seal.key")" = 600 ] || fail "seal key mode"
# a second run sees the first run's records
order s-1 1.5 > "$dir/r4.json"
out=$(teekm policy eval --policy "$dir/doc_example.json" --key hot=$hot --request "$dir/r4.json" --state "$dir/state" --now 1750000100)
echo "$out" | grep -q '"idempotent": true' || fail "state not kept: $out"
# another payload under a used id
order s-1 1.4 > "$dir/r5.json"
set +e; out=$(teekm policy eval --policy "$dir/doc_example.json" --key hot=$hot --request "$dir/r5.json" --state "$dir/state" --now 1750000100); set -e
echo "$out" | grep -q REPLAYED_REQUEST || fail "replay: $out"
# a lower policy version is refused
sed 's/"version": 12,/"version": 11,/' "$dir/doc_example.json" > "$dir/older.json"
if teekm policy eval --policy "$dir/older.json" --key hot=$hot --request "$dir/r4.json" --state "$dir/state" 2>/dev/null; then
  fail "older policy accepted"; fi

# 5. export and verify; one flipped byte is reported with its record number
teekm audit export --state "$dir/state" --out "$dir/audit.jsonl"
addr=$(head -1 "$dir/audit.jsonl" | grep -o '"auditAddress":"0x[0-9a-fA-F]*"' | cut -d'"' -f4)
teekm audit verify "$dir/audit.jsonl" --audit-address "$addr" > "$dir/v" || fail "verify: $(cat "$dir/v")"
grep -q 'audit log OK' "$dir/v" || fail "verify output"
n=$(wc -l < "$dir/audit.jsonl")
for rec in 1 3 $n; do
  line=$(sed -n "${rec}p" "$dir/audit.jsonl")
  off=$(( $(head -n $((rec - 1)) "$dir/audit.jsonl" | wc -c) + ${#line} / 2 ))
  cp "$dir/audit.jsonl" "$dir/bad.jsonl"
  printf "$(printf '\\x%02x' $(( $(od -An -tu1 -j $off -N1 "$dir/audit.jsonl") ^ 1 )))" | dd of="$dir/bad.jsonl" bs=1 seek=$off conv=notrunc status=none
  if teekm audit verify "$dir/bad.jsonl" --audit-address "$addr" 2>"$dir/err"; then fail "flip in record $rec accepted"; fi
  grep -q "record $rec:" "$dir/err" || fail "flip in record $rec reported as: $(cat "$dir/err")"
done
echo "policy CLI: all checks passed"
