#!/usr/bin/env bash
# Installs what teekm needs on Debian 12 and builds blst. Quick when all is present.
# Called by `make run`, `make test` and CI; safe to run any number of times.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the build, the tests and the fuzzers need.
PACKAGES=(
  pkg-config libssl-dev openssl libsecp256k1-dev libjansson-dev libsqlite3-dev sqlite3
  libevent-dev libcurl4-openssl-dev curl libcmocka-dev clang libclang-rt-14-dev llvm
  ca-certificates valgrind python3-prometheus-client
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

for tool in cmake make cc node npm; do
  command -v "$tool" >/dev/null || { echo "bootstrap: $tool is required but not installed" >&2; exit 1; }
done

scripts/fetch_blst.sh
