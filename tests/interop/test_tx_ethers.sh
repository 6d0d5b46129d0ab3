#!/usr/bin/env bash
# Transactions against ethers v6, both directions, >= 10,000 random transactions
# of types 0-4 (see ethers/tx_interop.mjs). TKM_INTEROP_TX_COUNT / TKM_INTEROP_SEED
# override the size and the seed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/ensure_deps.sh" ethers
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node "$here/ethers/tx_interop.mjs" --teekm "$(command -v teekm)" --workdir "$work" \
  --count "${TKM_INTEROP_TX_COUNT:-10000}"
