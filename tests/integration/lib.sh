# Sourced by tests/integration/NNN-*.sh. Provides a scratch directory,
# the ckstore binary, the extracted series, and small assertion helpers.
# Environment (set by CTest): CKSTORE, CK_DATA_DIR, CK_SRC.
set -euo pipefail

CKSTORE=${CKSTORE:?set CKSTORE to the ckstore binary}
CK_DATA_DIR=${CK_DATA_DIR:?set CK_DATA_DIR to the extracted series}
CK_SRC=${CK_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d "${TMPDIR:-/tmp}/ckit-XXXXXX")
PIDS=()
TMPFS=()
cleanup() {
  local p m
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for m in "${TMPFS[@]}"; do umount "$m" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

# small_disk DIR SIZE: a tmpfs of SIZE mounted at DIR (a disk to fill),
# unmounted by cleanup once the processes using it are gone; skips the
# test when it cannot be mounted (needs root).
small_disk() {
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2" tmpfs "$1" 2>/dev/null || skip "cannot mount a tmpfs (needs root)"
  TMPFS+=("$1")
}

# big_dump DIR: DIR/v0001, a generated dump of 5,000 incompressible pages
# (20 MB): more than a 16 MiB small_disk holds.
big_dump() {
  python3 "$CK_SRC/bench/gen-series" "$1" --versions 1 --pages 5000 \
    --seed 5 --zero 0 --text 0 >/dev/null
}

fail() {
  echo "FAIL: $*" >&2
  if [ -s "$T/server.log" ]; then
    echo "--- ckstored's warnings and errors, then its last lines:" >&2
    grep -E "warning|error" "$T/server.log" | tail -n 20 >&2 || true
    tail -n 10 "$T/server.log" >&2
  fi
  exit 1
}
skip() { echo "SKIP: $*" >&2; exit 77; }
ck() { "$CKSTORE" "$@"; }

# series NAME: the path of an extracted series, or skip if absent.
series() {
  local d=$CK_DATA_DIR/$1
  [ -d "$d" ] || skip "series $1 not available (needs ../shared/data/criu/$1.tar.zst)"
  echo "$d"
}

# all_series: the names of every extracted series.
all_series() {
  local d
  for d in "$CK_DATA_DIR"/*/; do
    [ -f "$d/.complete" ] && basename "$d"
  done
}

# expect_fail CODE CMD...: CMD must exit with CODE; its stderr is kept in
# $T/err for message checks.
expect_fail() {
  local want=$1; shift
  set +e
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  set -e
  [ "$got" -eq "$want" ] || { cat "$T/err" >&2; fail "'$*' exited $got, expected $want"; }
}

# same_tree A B: byte-identical trees, symlinks and modes included.
same_tree() {
  diff -r --no-dereference "$1" "$2" >/dev/null || fail "trees differ: $1 $2"
  local a b
  a=$(cd "$1" && find . -printf '%p %y %m %s %l\n' | sort)
  b=$(cd "$2" && find . -printf '%p %y %m %s %l\n' | sort)
  [ "$a" = "$b" ] || fail "metadata differs: $1 $2"
}

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
