#!/usr/bin/env bash
# Extracts the real CRIU series the tests use into $1 (default
# build/testdata): pyweb-direct from the project (always there), every
# series in ../shared/data/criu when that directory exists. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/build/testdata}
shared=${CK_SHARED_DATA:-$here/../shared/data/criu}
mkdir -p "$out"

extract() { # archive name
  local archive=$1 name=$2
  [ -d "$out/$name" ] && [ -f "$out/$name/.complete" ] && return 0
  rm -rf "$out/$name"
  tar -C "$out" --zstd -xf "$archive"
  touch "$out/$name/.complete"
}

extract "$here/tests/data/pyweb-direct.tar.zst" pyweb-direct
if [ -d "$shared" ]; then
  for a in "$shared"/*.tar.zst; do
    [ -e "$a" ] || continue
    n=$(basename "$a" .tar.zst)
    extract "$a" "$n"
  done
else
  echo "note: $shared not found; tests use only pyweb-direct" >&2
fi
