#!/usr/bin/env bash
# Token calldata against ethers' ABI coder (see ethers/calldata_interop.mjs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/ensure_deps.sh" ethers
node "$here/ethers/calldata_interop.mjs" --teekm "$(command -v teekm)" --count "${TKM_INTEROP_CALLDATA_COUNT:-3000}"
