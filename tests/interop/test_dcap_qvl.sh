#!/usr/bin/env bash
# Independent oracle: @phala/dcap-qvl 0.3.9 (pure JS) verifies the same real
# SGX/TDX quotes with the same collateral at the same times as
# `teekm evidence verify`; verdicts and TCB statuses must agree.
# dcap-qvl treats OutOfDate* as valid; teekm's default rules do not — no case
# below has such a status, and the comparison says so if one ever appears.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/ensure_deps.sh" dcap-qvl
V=${TKM_VECTORS_DIR:-$here/../vectors}/attestation
oracle=(node "$here/dcap-qvl/node_modules/@phala/dcap-qvl/test_case.js" verify)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# case: name quote collateral time
check() {
  local name=$1 quote=$2 coll=$3 at=$4
  local o_out o_rc=0 t_rc=0
  o_out=$("${oracle[@]}" --time "$at" "$quote" "$coll" 2>&1) || o_rc=$?
  teekm evidence verify "$quote" --collateral "$coll" --at "$at" >"$tmp/t.json" 2>"$tmp/t.err" || t_rc=$?
  local o_status="" t_status t_verdict
  if [ $o_rc -eq 0 ]; then o_status=$(sed -n 's/^Status: //p' <<<"$o_out"); fi
  t_verdict=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(r.verdict)' "$tmp/t.json" 2>/dev/null || echo error)
  t_status=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(r.tcbStatus===null?"":r.tcbStatus)' "$tmp/t.json" 2>/dev/null || echo error)
  local ok=1
  if [ $o_rc -eq 0 ]; then
    case "$o_status" in
      OutOfDate*) echo "  note: oracle accepts $o_status, teekm's default rules refuse it";
                  [ "$t_verdict" = invalid ] && [ "$t_status" = "$o_status" ] || ok=0 ;;
      *) [ "$t_verdict" = valid ] && [ $t_rc -eq 0 ] && [ "$t_status" = "$o_status" ] || ok=0 ;;
    esac
  else
    [ "$t_verdict" = invalid ] && [ $t_rc -eq 1 ] || ok=0
  fi
  if [ $ok = 1 ]; then
    echo "ok   $name: oracle ${o_status:-$(tr '\n' ' ' <<<"$o_out" | cut -c1-60)} | teekm $t_verdict ${t_status}"
  else
    echo "FAIL $name: oracle rc=$o_rc ${o_status:-$o_out} | teekm rc=$t_rc $t_verdict $t_status" >&2
    cat "$tmp/t.err" >&2
    fails=$((fails + 1))
  fi
}

D=$V/dcap-qvl
check sgx "$D/sgx_quote" "$D/sgx_quote_collateral.json" 1751624924
check sgx-window-lo "$D/sgx_quote" "$D/sgx_quote_collateral.json" 1750330571
check sgx-window-hi "$D/sgx_quote" "$D/sgx_quote_collateral.json" 1752919278
check sgx-before-issue "$D/sgx_quote" "$D/sgx_quote_collateral.json" 1750330570
check sgx-expired "$D/sgx_quote" "$D/sgx_quote_collateral.json" 1752919279
check sgx-now "$D/sgx_quote" "$D/sgx_quote_collateral.json" 1795564800
check tdx "$D/tdx_quote" "$D/tdx_quote_collateral.json" 1751624191
check tdx-expired "$D/tdx_quote" "$D/tdx_quote_collateral.json" 1752922564
check tdx-v5-no-tcb-level "$D/tdx_quote_outdated" "$D/tdx_quote_outdated_collateral.json" 1772707803
check tdx-spr-e4-no-tcb-level "$V/go-tdx-guest/tdx_prod_quote_SPR_E4.dat" "$V/go-tdx-guest/DERIVED_collateral_spr_e4.json" 1688173200
check tdx-with-sgx-collateral "$D/tdx_quote" "$D/sgx_quote_collateral.json" 1751624924
# report_data[0] of the SGX quote flipped (quote byte 368)
node -e 'const fs=require("fs");const b=fs.readFileSync(process.argv[1]);b[368]^=1;fs.writeFileSync(process.argv[2],b)' "$D/sgx_quote" "$tmp/sgx_flipped"
check sgx-flipped-report-data "$tmp/sgx_flipped" "$D/sgx_quote_collateral.json" 1751624924
# tcbEvaluationDataNumber edited inside the signed tcb_info text
node -e 'const fs=require("fs");const c=JSON.parse(fs.readFileSync(process.argv[1]));c.tcb_info=c.tcb_info.replace("\"tcbEvaluationDataNumber\":17","\"tcbEvaluationDataNumber\":18");fs.writeFileSync(process.argv[2],JSON.stringify(c))' "$D/sgx_quote_collateral.json" "$tmp/sgx_coll_edited.json"
check sgx-edited-tcb-info "$D/sgx_quote" "$tmp/sgx_coll_edited.json" 1751624924

if [ $fails -ne 0 ]; then echo "$fails disagreement(s) with dcap-qvl" >&2; exit 1; fi
echo "teekm agrees with @phala/dcap-qvl 0.3.9 on every case"
