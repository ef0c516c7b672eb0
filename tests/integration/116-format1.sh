#!/usr/bin/env bash
# Chunk lists (format 2) against the IDs-in-keys layout of format 1:
# a format 2 repository keeps its file lists as list chunks (small meta
# tables, list_chunks in stats) and survives rm + gc + fsck; a format 1
# repository, as earlier builds made them, is still read and written as
# it is (no list chunks, no dictionary), byte-exact; a newer format than
# this build knows is refused with a clear message by the CLI, ckstored
# and ckstore-fuse.
. "$(dirname "$0")/lib.sh"
src=$(series pyweb-direct)
N=$T/new O=$T/old
ck -q --repo "$N" init
"$CK_TESTTOOL" init-format1 "$O"
for v in "$src"/v*; do
  ck -q --repo "$N" push web "$v"
  ck -q --repo "$O" push web "$v"
done
[ "$("$CK_TESTTOOL" dict "$O")" = "format 1 dict 0 0000000000000000" ] || fail "format 1 repository changed: $("$CK_TESTTOOL" dict "$O")"
ck --repo "$N" stats --json >"$T/n.json"
ck --repo "$O" stats --json >"$T/o.json"
[ "$(json 'd["list_chunks"]' <"$T/o.json")" = 0 ] || fail "format 1 wrote list chunks"
[ "$(json 'd["list_chunks"] > 0' <"$T/n.json")" = True ] || fail "format 2 wrote no list chunks"
# the same pages either way
[ "$(json 'd["chunks"]' <"$T/n.json")" = "$(json 'd["chunks"]' <"$T/o.json")" ] || fail "chunk counts differ"
# pyweb-direct, 8 versions: 339 KB of segment keys in format 1, ~22 KB
# of keys + ~116 KB of list chunks in format 2
mo=$(json 'd["disk"]["meta_tables"]' <"$T/o.json")
mn=$(json 'd["disk"]["meta_tables"] + d["list_stored_bytes"]' <"$T/n.json")
[ $((mn * 2)) -lt "$mo" ] || fail "chunk lists did not shrink: $mo -> $mn B"
for R in "$N" "$O"; do
  ck -q --repo "$R" fsck
  for v in v01 v04 v08; do
    ck -q --repo "$R" restore web --version $v "$T/o"; same_tree "$src/$v" "$T/o"; rm -rf "$T/o"
  done
  # deletion reads list chunks to find what they list; the newer lists
  # that are deltas of the deleted ones keep them as bases
  ck -q --repo "$R" rm web v01
  ck -q --repo "$R" rm web v02
  ck -q --repo "$R" gc
  ck -q --repo "$R" fsck
  for v in v03 v08; do
    ck -q --repo "$R" restore web --version $v "$T/o"; same_tree "$src/$v" "$T/o"; rm -rf "$T/o"
  done
  for v in v03 v04 v05 v06 v07 v08; do ck -q --repo "$R" rm web $v; done
  ck -q --repo "$R" gc
  ck -q --repo "$R" fsck
  ck --repo "$R" stats --json >"$T/e.json"
  [ "$(json 'd["chunks"] == 0 and d["list_chunks"] == 0 and d["stored_bytes"] == 0 and d["list_stored_bytes"] == 0' <"$T/e.json")" = True ] ||
    fail "$R: empty repository still counts $(json '(d["chunks"], d["list_chunks"], d["stored_bytes"], d["list_stored_bytes"])' <"$T/e.json")"
done

# A repository of a format this build does not know (a newer build's) is
# refused by every program, saying so.
F=$T/future
ck -q --repo "$F" init
ck -q --repo "$F" push web "$src/v01"
"$CK_TESTTOOL" set-format "$F" 99
expect_fail 1 ck --repo "$F" versions web
grep -q "on-disk format this ckstore does not know" "$T/err" || fail "ckstore: $(cat "$T/err")"
expect_fail 1 ck --repo "$F" push web "$src/v02"
grep -q "on-disk format this ckstore does not know" "$T/err" || fail "ckstore push: $(cat "$T/err")"
set +e
timeout 20 "$CKSTORED" --config "$CK_SRC/conf/ckstored.conf" --set anonymous=read --set port=0 --repo "$F" >"$T/out" 2>"$T/err"
rc=$?
set -e
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "ckstored on a newer repository exited $rc"
grep -q "on-disk format this ckstored does not know" "$T/err" || fail "ckstored: $(cat "$T/err")"
if [ -e /dev/fuse ] && [ -n "${CKSTORE_FUSE:-}" ]; then
  mkdir -p "$T/fm"
  set +e
  timeout 20 "$CKSTORE_FUSE" -f --repo "$F" "$T/fm" >"$T/out" 2>"$T/err"
  rc=$?
  set -e
  mountpoint -q "$T/fm" && fusermount3 -u "$T/fm"
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "ckstore-fuse on a newer repository exited $rc"
  grep -q "on-disk format this ckstore-fuse does not know" "$T/err" || fail "ckstore-fuse: $(cat "$T/err")"
fi
echo "chunk lists: $mo B of keys (format 1) -> $mn B (format 2); both read, written and emptied cleanly; a newer format refused"
