#!/usr/bin/env bash
# teekm typed-data: hash/sign-dev/recover on the EIP-712 Mail example (values
# from the EIP), the development key-file rules, batch mode and usage errors.
set -euo pipefail
vec="$TKM_VECTORS_DIR/eip712/eip712_mail_example.json"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
field() { node -e 'const v=require(process.argv[1]); const p=process.argv[2].split("."); let x=v; for (const k of p) x=x[k]; process.stdout.write(typeof x==="string"?x:JSON.stringify(x))' "$vec" "$1"; }

field typedData > "$work/mail.json"
out=$(teekm typed-data hash < "$work/mail.json")
for k in domainSeparator digest; do
  grep -q "\"$k\": \"$(field expected.$k)\"" <<<"$out" || fail "hash: $k"
done
grep -q "\"structHash\": \"$(field expected.structHash_Mail)\"" <<<"$out" || fail "hash: structHash"
teekm typed-data hash "$work/mail.json" | grep -q "$(field expected.digest)" || fail "hash FILE"

# key = keccak256("cow") (the EIP's example key); the signature must be the EIP's r, s, v
key="$work/dev.key"
umask 077
printf 'dev:0xc85ef7d79691fe79573b1a7064c19c1a9819ebdbd1faaab1a8ec92344438aaf4\n' > "$key"
want="$(field expected.r)$(field expected.s | cut -c3-)$(printf '%02x' "$(field expected.v)")"
sig=$(teekm typed-data sign-dev --key-file "$key" < "$work/mail.json")
[ "$sig" = "$want" ] || fail "sign-dev: $sig != $want"
who=$(teekm typed-data recover --signature "$sig" < "$work/mail.json")
[ "$(tr A-F a-f <<<"$who")" = "$(field expected.signerAddress)" ] || fail "recover: $who"

# the key file rules: one line "dev:0x" + 64 hex digits, mode 600, regular file, no symlink
expect_refused() { # name code
  if teekm typed-data sign-dev --key-file "$key" < "$work/mail.json" >/dev/null 2>"$work/err"; then fail "key file $1 accepted"; fi
  grep -q "($2)" "$work/err" || fail "key file $1: $(cat "$work/err")"
  ! grep -qi "c85ef7d7" "$work/err" || fail "key file $1: the key appears in the error"
}
chmod 640 "$key"; expect_refused "mode 640" PERMISSIONS
chmod 604 "$key"; expect_refused "mode 604" PERMISSIONS
chmod 600 "$key"
good=c85ef7d79691fe79573b1a7064c19c1a9819ebdbd1faaab1a8ec92344438aaf4
for bad in "0x$good" "DEV:0x$good" "dev:0X$good" "dev:$good" "dev:0x${good:0:63}" "dev:0x${good}00" "dev:0x$good " \
           "dev:0x${good:0:62}zz"; do
  printf '%s\n' "$bad" > "$key"; expect_refused "'$bad'" FORMAT
done
printf 'dev:0x%s\n\n' "$good" > "$key"; expect_refused "two lines" FORMAT
printf 'dev:0x%s\r\n' "$good" > "$key"; expect_refused "CRLF" FORMAT
printf 'dev:0x%064d\n' 0 > "$key"; expect_refused "zero key" BAD_KEY
printf 'dev:0x%s' "$good" > "$key"
teekm typed-data sign-dev --key-file "$key" < "$work/mail.json" | grep -q "^$want$" || fail "key without final newline"
ln -s "$key" "$work/link.key"
if teekm typed-data sign-dev --key-file "$work/link.key" < "$work/mail.json" >/dev/null 2>&1; then fail "symlink accepted"; fi
if teekm typed-data sign-dev --key-file "$work" < "$work/mail.json" >/dev/null 2>&1; then fail "directory accepted"; fi

# batch: one answer per line, errors as data
{ cat "$work/mail.json"; echo; echo '{"types":{}}'; cat "$work/mail.json"; echo; } > "$work/batch"
teekm typed-data hash --batch < "$work/batch" > "$work/out"
[ "$(wc -l < "$work/out")" = 3 ] || fail "batch line count"
sed -n 1p "$work/out" | grep -q "$(field expected.digest)" || fail "batch line 1"
sed -n 2p "$work/out" | grep -q '"error":"JSON_UNKNOWN_FIELD"\|"error":"JSON_MISSING"' || fail "batch line 2: $(sed -n 2p "$work/out")"
sed -n 3p "$work/out" | grep -q "$(field expected.digest)" || fail "batch line 3"
printf '{"typedData":%s,"signature":"%s"}\n' "$(cat "$work/mail.json")" "$want" | teekm typed-data recover --batch | grep -qi "$(field expected.signerAddress)" || fail "recover --batch"

# invalid input: exit 1 with the error name and the path
sed 's/"Hello, Bob!"/7/' "$work/mail.json" > "$work/bad.json"
if teekm typed-data hash < "$work/bad.json" 2>"$work/err"; then fail "bad document accepted"; fi
grep -q "JSON_TYPE.*message.contents" "$work/err" || fail "error detail: $(cat "$work/err")"
# usage errors: exit 2
set +e
teekm typed-data >/dev/null 2>&1; [ $? = 2 ] || fail "no subcommand"
teekm typed-data sign-dev < "$work/mail.json" >/dev/null 2>&1; [ $? = 2 ] || fail "sign-dev without key"
teekm typed-data recover < "$work/mail.json" >/dev/null 2>&1; [ $? = 2 ] || fail "recover without signature"
teekm typed-data recover --signature 0x00 < "$work/mail.json" >/dev/null 2>&1; [ $? = 1 ] || fail "short signature"
set -e
echo "typed-data CLI: ok"
