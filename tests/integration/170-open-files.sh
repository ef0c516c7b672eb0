#!/usr/bin/env bash
# A repository with more files than the process may keep open still reads:
# RocksDB keeps at most half the descriptor limit open and closes the least
# recently used past it (store/catalog.c). Before, every table and blob file
# read stayed open and reads past the limit failed with an I/O error.
. "$(dirname "$0")/lib.sh"
src=$T/series
python3 "$CK_SRC/bench/gen-series" "$src" --versions 48 --pages 256 \
  --dirty 0.3 --seed 7 >/dev/null
R=$T/repo
ck --repo "$R" init 2>/dev/null
# One push per version: each leaves its own blob file.
for v in "$src"/v*; do ck -q --repo "$R" push c "$v"; done
files=$(find "$R/db" -name '*.blob' -o -name '*.sst' | wc -l)
# 48 descriptors: RocksDB may keep 14 files in its cache, and an iterator
# pins every level-0 table of its family beyond that (up to 20 when the
# pushes' background compactions lagged, as under a loaded CI: with 40
# descriptors fsck then failed about one run in five, by every build).
lim=48
[ "$files" -gt "$lim" ] || fail "only $files table and blob files; the test needs more than $lim"
(
  ulimit -n $lim
  ck --repo "$R" fsck >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out" >&2; exit 1; }
  ck -q --repo "$R" restore c "$T/o"
  ck -q --repo "$R" restore c --version v0001 "$T/o1"
) || fail "fsck or restore under 'ulimit -n $lim' with $files repository files"
same_tree "$src/v0048" "$T/o"
same_tree "$src/v0001" "$T/o1"
# Far too few descriptors: a clear error, not an I/O error.
set +e
(ulimit -n 24; "$CKSTORE" --repo "$R" fsck) >"$T/out" 2>"$T/err"
rc=$?
set -e
if [ $rc -ne 0 ]; then
  grep -q "Too many open files" "$T/err" || { cat "$T/err" >&2; fail "unclear error with 24 descriptors"; }
fi
echo "$files repository files read with $lim descriptors"
