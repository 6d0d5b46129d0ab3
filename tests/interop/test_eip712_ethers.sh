#!/usr/bin/env bash
# EIP-712 interop with ethers 6.17.0: random documents hashed, signed and
# recovered in both directions, corruptions rejected, checked-in edge and
# invalid cases re-verified. See eip712_ethers.js.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/ensure_deps.sh" ethers
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node "$here/eip712_ethers.js" "$(command -v teekm)" "$work"
