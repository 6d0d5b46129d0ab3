#!/usr/bin/env bash
# Sign-In with Ethereum through a real teekmd: a siwe rule, ethers and SpruceID's siwe (see e2e_siwe.cjs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/../interop/ensure_deps.sh" siwe
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export TKM_DONT_MLOCK=1 SIWE_DIR="$here/../interop/siwe"
if ! node "$here/e2e_siwe.cjs" "$dir"; then
  echo "--- teekmd log (last 40 lines)" >&2
  tail -40 "$dir/teekmd.log" >&2 || true
  exit 1
fi
