#!/usr/bin/env bash
# EIP-4361 messages: teekm's parser against SpruceID's siwe reference implementation (see siwe/siwe_oracle.cjs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/ensure_deps.sh" siwe
node "$here/siwe/siwe_oracle.cjs" --teekm "$(command -v teekm)" --count "${TKM_INTEROP_SIWE_COUNT:-400}" \
  --mutants "${TKM_INTEROP_SIWE_MUTANTS:-2400}"
