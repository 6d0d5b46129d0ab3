#!/usr/bin/env bash
# teekm tx decode / sign-dev and calldata decode as a user runs them: outputs,
# exit codes, error names, and every development-key-file refusal.
# Expected values come from the EIP-155 example (tests/vectors/eip-155).
set -uo pipefail
V="$TKM_VECTORS_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
# json FILE EXPR: evaluate a JS expression over the parsed JSON (node is a build prerequisite)
json() { node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); const r=eval(process.argv[2]); process.stdout.write(String(r))' "$1" "$2"; }
# expect_fail NAME ERROR_NAME CMD...: exit status 1 and the error name on stderr
expect_fail() {
  local name=$1 want=$2; shift 2
  if "$@" >"$work/out" 2>"$work/err"; then bad "$name: accepted"; return; fi
  if grep -q "($want)" "$work/err"; then ok "$name"; else bad "$name: $(cat "$work/err")"; fi
}

vec() { node -e 'const j=require(process.argv[1]); process.stdout.write(String(eval("j."+process.argv[2])))' "$V/eip-155/eip155_example.json" "$1"; }
signed=$(vec signedTx)
key=$(vec privateKey)
signing_hash=$(vec signingHash)

# --- tx decode ---
if teekm tx decode "$signed" >"$work/d.json"; then
  [ "$(json "$work/d.json" 'j.signingHash')" = "$signing_hash" ] && ok "decode: signing hash of the EIP-155 example" || bad "decode: signing hash"
  [ "$(json "$work/d.json" 'j.v + j.chainId + j.nonce + j.type + j.eip155')" = "0x250x10x90x0true" ] && ok "decode: v, chainId, nonce, type" || bad "decode: fields $(cat "$work/d.json")"
  [ "$(json "$work/d.json" 'j.to')" = "0x3535353535353535353535353535353535353535" ] && ok "decode: to" || bad "decode: to"
else bad "decode of the EIP-155 example"; fi
echo "$signed" | teekm tx decode - >"$work/d2.json" && cmp -s "$work/d.json" "$work/d2.json" && ok "decode: from stdin" || bad "decode: from stdin"
teekm tx decode --chain-id 0x1 "$signed" >/dev/null && ok "decode: --chain-id 0x1" || bad "decode: --chain-id 0x1"
expect_fail "decode: --chain-id 0x2" TX_CHAIN_MISMATCH teekm tx decode --chain-id 0x2 "$signed"
expect_fail "decode: odd hex" HEX_ODD teekm tx decode "${signed}0"
expect_fail "decode: trailing byte" TRAILING teekm tx decode "${signed}00"
expect_fail "decode: type 5" TX_TYPE teekm tx decode 0x05c0
printf '%s\n%s\n' "$signed" "0x05c0" | teekm tx decode --batch >"$work/b.txt"; st=$?
[ $st = 1 ] && [ "$(wc -l <"$work/b.txt")" = 2 ] && grep -q '"error":"TX_TYPE"' "$work/b.txt" && ok "decode --batch: one line per input, status 1 on a failure" || bad "decode --batch"

# --- sign-dev: the key file ---
kf="$work/dev.key"
printf 'dev:%s\n' "$key" >"$kf"; chmod 600 "$kf"
req='{"type":"0x0","chainId":"0x1","nonce":"0x9","gasPrice":"0x4a817c800","gas":"0x5208","to":"0x3535353535353535353535353535353535353535","value":"0xde0b6b3a7640000","data":"0x"}'
out=$(echo "$req" | teekm tx sign-dev --key-file "$kf") && [ "$out" = "$signed" ] && ok "sign-dev: EIP-155 example, byte for byte" || bad "sign-dev: EIP-155 example ($out)"
printf 'dev:%s' "$key" >"$kf.nonl"; chmod 600 "$kf.nonl"
out=$(echo "$req" | teekm tx sign-dev --key-file "$kf.nonl") && [ "$out" = "$signed" ] && ok "sign-dev: key file without final newline" || bad "sign-dev: no final newline"
for mode in 400 700; do
  cp "$kf" "$kf.$mode"; chmod "$mode" "$kf.$mode"
  out=$(teekm tx sign-dev --key-file "$kf.$mode" <<<"$req") && [ "$out" = "$signed" ] && ok "sign-dev: key file mode $mode accepted" || bad "sign-dev: mode $mode"
done
for mode in 640 604 644 660 770 601 610; do
  cp "$kf" "$kf.$mode"; chmod "$mode" "$kf.$mode"
  expect_fail "sign-dev: key file mode $mode refused" PERMISSIONS teekm tx sign-dev --key-file "$kf.$mode" <<<"$req"
done
i=0
for content in "$key\n" "dev:${key#0x}\n" "DEV:$key\n" "dev: $key\n" "dev:${key}0\n" "dev:${key%?}\n" "dev:$key\r\n" "dev:$key\n\n" "dev:$key \n" "\ndev:$key\n" "dev:$key\ndev:$key\n" "dev:0x$(printf 'g%.0s' {1..64})\n" ""; do
  i=$((i + 1)); f="$work/badfmt$i"; printf "$content" >"$f"; chmod 600 "$f"
  expect_fail "sign-dev: malformed key file #$i refused" FORMAT teekm tx sign-dev --key-file "$f" <<<"$req"
done
printf 'dev:0x%064d\n' 0 >"$work/zero.key"; chmod 600 "$work/zero.key"
expect_fail "sign-dev: zero key refused" BAD_KEY teekm tx sign-dev --key-file "$work/zero.key" <<<"$req"
printf 'dev:0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141\n' >"$work/n.key"; chmod 600 "$work/n.key"
expect_fail "sign-dev: key = n refused" BAD_KEY teekm tx sign-dev --key-file "$work/n.key" <<<"$req"
mkdir -m 700 "$work/dir.key"
expect_fail "sign-dev: a directory refused" FORMAT teekm tx sign-dev --key-file "$work/dir.key" <<<"$req"
expect_fail "sign-dev: missing file" NOT_FOUND teekm tx sign-dev --key-file "$work/none" <<<"$req"
teekm tx sign-dev <<<"$req" >/dev/null 2>&1; [ $? = 2 ] && ok "sign-dev: --key-file is required" || bad "sign-dev without --key-file"

# --- sign-dev: requests ---
expect_fail "sign-dev: pre-EIP-155 impossible (chainId required)" TX_CHAIN_ID teekm tx sign-dev --key-file "$kf" <<<'{"type":"0x0","nonce":"0x0","gasPrice":"0x1","gas":"0x5208"}'
expect_fail "sign-dev: data/input differ" TX_AMBIGUOUS teekm tx sign-dev --key-file "$kf" <<<'{"type":"0x2","chainId":"0x1","nonce":"0x0","gas":"0x5208","maxFeePerGas":"0x2","maxPriorityFeePerGas":"0x1","data":"0x01","input":"0x02"}'
expect_fail "sign-dev: unknown field" JSON_UNKNOWN_FIELD teekm tx sign-dev --key-file "$kf" <<<'{"type":"0x2","chainId":"0x1","nonce":"0x0","gas":"0x5208","maxFeePerGas":"0x2","maxPriorityFeePerGas":"0x1","blobs":[]}'
expect_fail "sign-dev: from is another address" TX_AMBIGUOUS teekm tx sign-dev --key-file "$kf" <<<'{"type":"0x2","chainId":"0x1","nonce":"0x0","gas":"0x5208","maxFeePerGas":"0x2","maxPriorityFeePerGas":"0x1","from":"0x0000000000000000000000000000000000000001"}'
expect_fail "sign-dev: raw bytes are not a request" JSON teekm tx sign-dev --key-file "$kf" <<<"$signed"
from=$(json "$work/d.json" 'j.from')
echo "{\"type\":\"0x2\",\"chainId\":\"0x1\",\"nonce\":\"0x0\",\"gas\":\"0x5208\",\"maxFeePerGas\":\"0x2\",\"maxPriorityFeePerGas\":\"0x1\",\"from\":\"$from\"}" | teekm tx sign-dev --key-file "$kf" >"$work/s2" \
  && teekm tx decode "$(cat "$work/s2")" >"$work/d3.json" && [ "$(json "$work/d3.json" 'j.from')" = "$from" ] \
  && ok "sign-dev: type 2 with matching from, decodes back to the key's address" || bad "sign-dev: type 2 round trip"
printf '%s\n%s\n' "$req" '{"nonce":"0x0"}' | teekm tx sign-dev --key-file "$kf" --batch >"$work/sb.txt"; st=$?
[ $st = 1 ] && [ "$(head -1 "$work/sb.txt")" = "{\"raw\":\"$signed\"}" ] && sed -n 2p "$work/sb.txt" | grep -q '"error"' \
  && ok "sign-dev --batch: one line per request" || bad "sign-dev --batch: $(cat "$work/sb.txt")"

# --- calldata decode ---
cd_transfer=0xa9059cbb0000000000000000000000005aaeb6053f3e94c9b9a09f33669435e7ef1beaed00000000000000000000000000000000000000000000d3c21bcecceda1000000
teekm calldata decode "$cd_transfer" >"$work/c.json" \
  && [ "$(json "$work/c.json" 'j.function + " " + j.args[0].value + " " + j.args[1].value')" = "transfer 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed 1000000000000000000000000" ] \
  && ok "calldata decode: ERC-20 transfer" || bad "calldata decode: transfer $(cat "$work/c.json")"
expect_fail "calldata decode: unknown selector" ABI_UNKNOWN_SELECTOR teekm calldata decode 0xdeadbeef
expect_fail "calldata decode: trailing junk" TRAILING teekm calldata decode "${cd_transfer}00"
expect_fail "calldata decode: empty" ABI teekm calldata decode 0x

teekm help | grep -q "^  tx " && teekm help | grep -q "^  calldata " && ok "help lists tx and calldata" || bad "help"

[ $fails = 0 ] || { echo "$fails failures"; exit 1; }
