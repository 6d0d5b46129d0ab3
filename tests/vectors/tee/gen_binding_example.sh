#!/usr/bin/env bash
# Recompute the report_data of the worked example in docs/attestation.md with
# standard tools only (jq, sha512sum; python3 as a second canonicaliser).
# Writes binding_example_claims.jcs and binding_example_report_data.hex.
# For these claims (ASCII strings, integers, no floats) RFC 8785 JCS is
# exactly "keys sorted, no whitespace", which `jq -cS` and python's
# json.dumps(sort_keys=True, separators=(",", ":")) both produce.
set -euo pipefail
cd "$(dirname "$0")"
jq -cjS . binding_example_claims.json > binding_example_claims.jcs
py=$(python3 -c 'import json,sys; sys.stdout.write(json.dumps(json.load(open("binding_example_claims.json")), sort_keys=True, separators=(",", ":")))')
[ "$py" = "$(cat binding_example_claims.jcs)" ] || { echo "jq and python disagree" >&2; exit 1; }
{ printf 'teekm/attestation/claims/v1\0'; cat binding_example_claims.jcs; } | sha512sum | cut -d' ' -f1 \
  > binding_example_report_data.hex
cat binding_example_report_data.hex
