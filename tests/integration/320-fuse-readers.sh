#!/usr/bin/env bash
# ckstore-fuse under concurrent use: several readers at once (sequential
# reads and CRIU-like preadv of page runs) of committed versions, of the
# flattened view and of a version still being written, while a writer
# adds versions; every reader sees the source bytes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fuselib.sh"
CRIU_READER=${CRIU_READER:?set CRIU_READER}
MKCHAIN=${MKCHAIN:?set MKCHAIN}

src=$(series pyweb-direct)
R=$T/repo M=$T/mnt
ck -q --repo "$R" init
"$MKCHAIN" "$T/chain" "$src"/v* >/dev/null
mount_fs "$R" "$M" --threads 4
pid=$FUSE_PID
mkdir "$M/p" "$M/ch"
for v in v01 v02 v03; do
  "$CRIU_WRITER" "$src/$v" "$M/p/$v" || fail "writer"
  "$CRIU_WRITER" "$T/chain/$v" "$M/ch/$v" || fail "writer"
done

# What each reader must see: the memory of the full dumps.
for v in v01 v02 v03 v04 v05 v06; do
  "$CRIU_READER" "$src/$v" | cut -d' ' -f3 >"$T/want-$v"
done

reader() { # N
  local n=$1 v i
  for i in 1 2 3; do
    for v in v01 v02 v03; do
      cmp "$src/$v/pages-1.img" "$M/p/$v/pages-1.img" || { echo "reader $n: $v pages" >&2; return 1; }
      [ "$("$CRIU_READER" "$M/p/$v" | cut -d' ' -f3)" = "$(cat "$T/want-$v")" ] || { echo "reader $n: $v preadv" >&2; return 1; }
      [ "$("$CRIU_READER" "$M/.flat/ch/$v" | cut -d' ' -f3)" = "$(cat "$T/want-$v")" ] || { echo "reader $n: flat $v" >&2; return 1; }
    done
  done
}

rpids=()
for n in 1 2 3 4 5 6; do reader "$n" & rpids+=($!); done
# A writer at the same time, and readers of what it is writing.
( for v in v04 v05 v06; do
    "$CRIU_WRITER" "$src/$v" "$M/p/$v" || exit 1
    "$CRIU_WRITER" "$T/chain/$v" "$M/ch/$v" || exit 1
  done ) & wpid=$!
ok=1
for p in "${rpids[@]}"; do wait "$p" || ok=0; done
wait "$wpid" || fail "writer failed while readers ran"
[ $ok = 1 ] || fail "a reader saw wrong bytes"
for v in v04 v05 v06; do
  [ "$("$CRIU_READER" "$M/p/$v" | cut -d' ' -f3)" = "$(cat "$T/want-$v")" ] || fail "p/$v"
  [ "$("$CRIU_READER" "$M/.flat/ch/$v" | cut -d' ' -f3)" = "$(cat "$T/want-$v")" ] || fail "flat ch/$v"
done

# A reader keeps its open file across the commit of the version it reads.
mkdir "$M/p/w"
"$CRIU_WRITER" --no-stats "$src/v07" "$M/p/w" || fail "writer"
exec 7<"$M/p/w/pages-1.img"
cp "$src/v07/stats-dump" "$M/p/w/stats-dump"
python3 -c "import os; fd = os.open('$M/p/w', os.O_RDONLY); os.fsync(fd)"
cmp <(cat <&7) "$src/v07/pages-1.img" || fail "open file across the commit"
exec 7<&-
wait_version "$R" p w complete
same_tree "$src/v07" "$M/p/w"

umount_fs "$M" "$pid"
pgrep -f "^$CKSTORE_FUSE .*$M\$" >/dev/null && fail "a ckstore-fuse process is left"
echo ok
