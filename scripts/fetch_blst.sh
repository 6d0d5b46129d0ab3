#!/usr/bin/env bash
# Builds blst from the C sources inside the npm tarball @chainsafe/blst@0.2.11,
# after checking the tarball against its registry integrity. Nothing of blst is
# committed; the result is cached in build/blst (libblst.a + bindings/).
set -euo pipefail
cd "$(dirname "$0")/.."

PKG="@chainsafe/blst@0.2.11"
INTEGRITY="sha512-URyOLq5GtxBoxibOnd2pgLydCy0UZzbiIIBcsRAvGxAsRzjZL04TsQfwRkz5aphU3a1ebeRoMmI/HHyMCiFSQg=="
DEST="build/blst"
STAMP="$DEST/.integrity"

if [ -f "$DEST/libblst.a" ] && [ -f "$DEST/bindings/blst.h" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$INTEGRITY" ]; then
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "bootstrap: fetching $PKG"
(cd "$tmp" && npm pack "$PKG" --silent >/dev/null)
tarball=$(ls "$tmp"/*.tgz)
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$INTEGRITY" ]; then
  echo "bootstrap: INTEGRITY MISMATCH for $PKG" >&2
  echo "  expected $INTEGRITY" >&2
  echo "  got      $actual" >&2
  echo "  refusing to build blst from an unverified tarball" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$tmp" package/blst
echo "bootstrap: building blst"
# __BLST_PORTABLE__ selects ADX code paths at run time, so a cached build moves between CPUs.
(cd "$tmp/package/blst" && ./build.sh -D__BLST_PORTABLE__ >build.log 2>&1) || { cat "$tmp/package/blst/build.log" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST/bindings"
cp "$tmp/package/blst/libblst.a" "$DEST/"
cp "$tmp/package/blst/bindings/blst.h" "$tmp/package/blst/bindings/blst_aux.h" "$DEST/bindings/"
echo "$INTEGRITY" > "$STAMP"
