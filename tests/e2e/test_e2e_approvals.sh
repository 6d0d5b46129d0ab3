#!/usr/bin/env bash
# Approvals collected by a real teekmd survive SIGTERM and SIGKILL; ethers v6 makes them (see e2e_approvals.cjs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/../interop/ensure_deps.sh" ethers
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export TKM_DONT_MLOCK=1 ETHERS_DIR="$here/../interop/ethers"
if ! node "$here/e2e_approvals.cjs" "$dir"; then
  echo "--- teekmd log (last 40 lines)" >&2
  tail -40 "$dir/teekmd.log" >&2 || true
  exit 1
fi
