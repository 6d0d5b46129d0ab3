#!/usr/bin/env bash
# Policy evaluation and the audit log against ethers 6.17.0 (see ethers/policy_interop.cjs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/ensure_deps.sh" ethers
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export TKM_DONT_MLOCK=1
cd "$here/ethers"
node policy_interop.cjs "$dir"
