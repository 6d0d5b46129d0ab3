#!/usr/bin/env bash
# keysDigest of the worked example's keys (docs/attestation.md §2), with
# standard tools only: jq sorts the keys by publicKey and writes the array in
# canonical form (keys sorted, no whitespace: RFC 8785 for these ASCII-only
# objects), python3 checks the canonical bytes, sha256sum hashes
#   "teekm/attestation/keys/v1" ‖ 0x00 ‖ JCS(keys).
# Writes keys_digest_example.jcs and keys_digest_example.hex.
set -euo pipefail
cd "$(dirname "$0")"
jq -cjS '.keys | sort_by(.publicKey)' binding_example_claims.json > keys_digest_example.jcs
py=$(python3 -c 'import json,sys; k=json.load(open("binding_example_claims.json"))["keys"]; k.sort(key=lambda e: e["publicKey"]); sys.stdout.write(json.dumps(k, sort_keys=True, separators=(",", ":")))')
[ "$py" = "$(cat keys_digest_example.jcs)" ] || { echo "jq and python disagree" >&2; exit 1; }
{ printf 'teekm/attestation/keys/v1\0'; cat keys_digest_example.jcs; } | sha256sum | cut -d' ' -f1 > keys_digest_example.hex
cat keys_digest_example.hex
