#!/usr/bin/env bash
# Runs tests/ct/ct_check under valgrind memcheck (see ct_check.c). Fails, never
# skips, when valgrind is missing: scripts/bootstrap.sh installs it.
set -euo pipefail
bin=${1:?usage: run_ct.sh CT_CHECK_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v valgrind >/dev/null; then
  echo "ct: FAIL: valgrind is not installed (scripts/bootstrap.sh installs it); the constant-time check cannot run" >&2
  exit 1
fi
export TKM_DONT_MLOCK=1
exec valgrind --tool=memcheck --error-exitcode=42 --track-origins=yes --leak-check=no \
  --suppressions="$here/ct.supp" --gen-suppressions=all "$bin"
