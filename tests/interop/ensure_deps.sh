#!/usr/bin/env bash
# ensure_deps.sh DIR — install the pinned node dependencies of one interop
# oracle (tests/interop/<DIR>) from its committed lockfile, once, under a lock
# so that tests running in parallel do not race.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir="$here/$1"
exec 9>"$dir/.install.lock"
flock 9
if [ ! -f "$dir/node_modules/.teekm-installed" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.teekm-installed" ]; then
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$dir/node_modules/.teekm-installed"
fi
