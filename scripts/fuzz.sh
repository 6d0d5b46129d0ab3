#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD for SECONDS each, starting from its checked-in
# corpus. New interesting inputs go to BUILD/fuzz-corpus/<target>; crashes fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$1
SECONDS_EACH=${2:-60}
status=0
for src in fuzz/*/fuzz_*.c; do
  name=$(basename "$src" .c)
  dir=$(dirname "$src")
  bin="$BUILD/$name"
  [ -x "$bin" ] || { echo "fuzz: $bin not built" >&2; exit 1; }
  work="$BUILD/fuzz-corpus/$name"
  mkdir -p "$work" "$BUILD/fuzz-artifacts"
  echo "fuzz: $name for ${SECONDS_EACH}s"
  dict=()
  [ -f "$dir/dict" ] && dict=(-dict="$dir/dict")
  if ! "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$BUILD/fuzz-artifacts/${name}-" "${dict[@]}" "$work" "$dir/corpus" \
       >"$BUILD/fuzz-$name.log" 2>&1; then
    echo "fuzz: $name FAILED, see $BUILD/fuzz-$name.log and $BUILD/fuzz-artifacts/" >&2
    tail -n 30 "$BUILD/fuzz-$name.log" >&2
    status=1
  else
    grep -E "^#[0-9]+.*DONE" "$BUILD/fuzz-$name.log" | tail -n 1 || true
  fi
done
exit $status
