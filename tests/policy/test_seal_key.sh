#!/usr/bin/env bash
# The state seal key (DIR/seal.key) of `teekm policy eval --state`:
#  - a zero-length, short or long seal.key (what a teekm killed while creating
#    it used to leave) is reported clearly, and left exactly as it was: a
#    user's seal key is never replaced or regenerated;
#  - open permissions and symlinks are refused;
#  - a first run creates it 0600 with 32 bytes;
#  - runs SIGKILLed at random points around its creation leave no seal.key or
#    a complete one, so the next run always starts (the CI failure this fixes).
set -euo pipefail
export TKM_DONT_MLOCK=1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

hot=0x1111111111111111111111111111111111111111
good=0x2222222222222222222222222222222222222222
cat > "$dir/policy.json" <<JSON
{"teekm_policy":1,"version":1,"default":"deny","max_validity_seconds":3600,
 "admins":{"threshold":1,"members":["0x4444444444444444444444444444444444444444"]},
 "assets":{"ETH":{"chain_id":1,"native":true,"decimals":18}},
 "rules":[{"id":"eth","effect":"allow","keys":["hot"],"action":"transfer","asset":"ETH","to":["$good"],
           "window_limit":{"amount":"300","seconds":86400}}]}
JSON
printf '{"requestId":"t-1","key":"hot","notAfter":1750000600,"tx":{"type":"0x2","chainId":"0x1","nonce":"0x1","gas":"0x5208","maxFeePerGas":"0x3b9aca00","maxPriorityFeePerGas":"0x1","to":"%s","value":"0xde0b6b3a7640000"}}\n' \
  "$good" > "$dir/req.json"
args=(policy eval --policy "$dir/policy.json" --key hot=$hot --request "$dir/req.json" --now 1750000000)
run() { teekm "${args[@]}" --state "$1"; } # $1 = state dir
fingerprint() { stat -c '%i %s %a %Y' "$1"; od -An -tx1 -v "$1" | tr -d ' \n'; }

# 1. a bad seal.key is reported with its size and what to do, and is left untouched
expect_refused() { # name code pattern
  local s="$dir/s-$1" before after
  before=$(fingerprint "$s/seal.key")
  if run "$s" > /dev/null 2> "$dir/err"; then fail "$1 seal key accepted"; fi
  grep -q "($2)" "$dir/err" || fail "$1: not $2: $(cat "$dir/err")"
  grep -q -- "$3" "$dir/err" || fail "$1: message: $(cat "$dir/err")"
  after=$(fingerprint "$s/seal.key")
  [ "$before" = "$after" ] || fail "$1: the seal key file was changed"
  [ ! -e "$s/state.db" ] || fail "$1: a state was created under an unusable key"
  ! ls "$s" | grep -q '\.tmp\.' || fail "$1: temporary file left: $(ls "$s")"
}
for case in empty:0 short:5 long:33; do
  name=${case%%:*}; size=${case#*:}
  mkdir -m 700 "$dir/s-$name"
  head -c "$size" /dev/urandom > "$dir/s-$name/seal.key"; chmod 600 "$dir/s-$name/seal.key"
done
expect_refused empty FORMAT "seal.key must hold exactly 32 bytes, has 0"
expect_refused short FORMAT "seal.key must hold exactly 32 bytes, has 5"
expect_refused long FORMAT "seal.key must hold exactly 32 bytes, has more"
grep -q "never replaced" "$dir/err" || fail "the message does not say the key is never replaced: $(cat "$dir/err")"
# running again changes nothing either (no regeneration on a second try)
expect_refused empty FORMAT "has 0"

mkdir -m 700 "$dir/s-open"
head -c 32 /dev/urandom > "$dir/s-open/seal.key"; chmod 644 "$dir/s-open/seal.key"
expect_refused open PERMISSIONS "chmod 600"
mkdir -m 700 "$dir/s-link"
head -c 32 /dev/urandom > "$dir/real.key"; chmod 600 "$dir/real.key"
ln -s "$dir/real.key" "$dir/s-link/seal.key"
if run "$dir/s-link" > /dev/null 2> "$dir/err"; then fail "symlinked seal key accepted"; fi
grep -q "(PERMISSIONS)" "$dir/err" && grep -q "symbolic link" "$dir/err" || fail "symlink: $(cat "$dir/err")"

# 2. a first run creates the key: 0600, 32 bytes, nothing else left beside it; a second run uses it
run "$dir/fresh" > "$dir/out" || fail "fresh state: $(cat "$dir/out")"
grep -q '"decision": "allow"' "$dir/out" || fail "fresh state decision: $(cat "$dir/out")"
[ "$(stat -c '%a %s' "$dir/fresh/seal.key")" = "600 32" ] || fail "new seal key: $(stat -c '%a %s' "$dir/fresh/seal.key")"
! ls "$dir/fresh" | grep -q '\.tmp\.' || fail "temporary file left: $(ls "$dir/fresh")"
key1=$(fingerprint "$dir/fresh/seal.key")
run "$dir/fresh" | grep -q '"idempotent": true' || fail "second run did not see the first's state"
[ "$(fingerprint "$dir/fresh/seal.key")" = "$key1" ] || fail "the seal key changed on the second run"

# 3. SIGKILL around the key's creation: the next run always starts
RANDOM=7031
complete=0 absent=0
for ((k = 1; k <= 40; k++)); do
  s="$dir/k$k"
  teekm "${args[@]}" --state "$s" > /dev/null 2>&1 & # the program itself, so the kill reaches it
  pid=$!
  sleep "0.$(printf '%03d' $((RANDOM % 25)))"
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  if [ -e "$s/seal.key" ]; then
    [ "$(stat -c %s "$s/seal.key")" = 32 ] || fail "kill $k left a $(stat -c %s "$s/seal.key")-byte seal key"
    complete=$((complete + 1))
  else
    absent=$((absent + 1))
  fi
  run "$s" > "$dir/out" 2> "$dir/err" || fail "run after kill $k: $(cat "$dir/err")"
done
echo "kills: $absent left no seal key, $complete a complete one"
[ $absent -gt 0 ] && [ $complete -gt 0 ] || fail "kills did not land on both sides of the key's creation (retune the delays)"
echo "seal key: all checks passed"
