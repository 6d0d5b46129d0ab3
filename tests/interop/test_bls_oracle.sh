#!/usr/bin/env bash
# The committed BLS oracle vectors (tests/vectors/bls-oracle) are exactly what the
# pinned independent implementations (@chainsafe/bls-hd-key, @noble/curves) produce.
set -euo pipefail
src=${TKM_SOURCE_DIR:?}
"$src/tests/interop/ensure_deps.sh" bls
out=$(mktemp)
trap 'rm -f "$out"' EXIT
(cd "$src/tests/interop/bls" && node gen_oracle_vectors.mjs) >"$out"
if ! cmp -s "$out" "$src/tests/vectors/bls-oracle/eip2334_noble.json"; then
  echo "bls oracle output differs from tests/vectors/bls-oracle/eip2334_noble.json" >&2
  diff "$out" "$src/tests/vectors/bls-oracle/eip2334_noble.json" | head -20 >&2
  exit 1
fi
echo "bls oracle vectors reproduced: 1 passed, 0 failed"
