#!/usr/bin/env bash
# ckstore-fuse, local mode: every real series written into the mount the
# way CRIU writes (one version per dump), read back through the mount byte
# for byte, listed complete by the CLI beside the mount; incremental
# chains (mkchain) get a flattened view under /.flat equal to
# `ckstore restore --flatten`; sealed versions refuse writes (EROFS).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fuselib.sh"
MKCHAIN=${MKCHAIN:?set MKCHAIN}

R=$T/repo M=$T/mnt
ck -q --repo "$R" init
mount_fs "$R" "$M"
pid=$FUSE_PID

# The CLI's writing verbs are refused while the mount holds the repository.
expect_fail 1 ck --repo "$R" push x "$CK_DATA_DIR/pyweb-direct/v01"
grep -q "ckstore-fuse" "$T/err" || fail "holder not named: $(cat "$T/err")"

for s in $(all_series); do
  src=$(series "$s")
  mkdir "$M/$s"
  for v in "$src"/v*; do
    "$CRIU_WRITER" "$v" "$M/$s/$(basename "$v")" || fail "writing $s/$(basename "$v")"
  done
  n=$(ls -d "$src"/v* | wc -l)
  ck --repo "$R" versions "$s" --json >"$T/v.json"
  [ "$(json 'len(d)' <"$T/v.json")" = "$n" ] || fail "$s: $n versions expected"
  [ "$(json 'all(v["state"] == "complete" for v in d)' <"$T/v.json")" = True ] || fail "$s: not all complete"
  for v in "$src"/v*; do
    same_tree "$v" "$M/$s/$(basename "$v")"
  done
  # The same bytes through the CLI (what the mount stored, not its spool).
  last=$(basename "$(ls -d "$src"/v* | tail -1)")
  ck --repo "$R" restore "$s" --version "$last" "$T/r-$s"
  same_tree "$src/$last" "$T/r-$s"
done

# Incremental chains: the written view has the parent link, the flattened
# view is self-contained and equals restore --flatten.
for s in $(all_series); do
  src=$(series "$s")
  "$MKCHAIN" "$T/chain-$s" "$src"/v* >/dev/null
  mkdir "$M/chain-$s"
  for v in "$T/chain-$s"/v*; do
    "$CRIU_WRITER" "$v" "$M/chain-$s/$(basename "$v")" || fail "writing chain $s"
  done
  ck --repo "$R" versions "chain-$s" --json >"$T/v.json"
  [ "$(json 'all(v["chain"] == "flattened" for v in d[1:])' <"$T/v.json")" = True ] || fail "chain state"
  for v in "$T/chain-$s"/v*; do
    b=$(basename "$v")
    same_tree "$v" "$M/chain-$s/$b"
    ck --repo "$R" restore "chain-$s" --version "$b" --flatten "$T/flat-$s-$b" 2>/dev/null
    same_tree "$T/flat-$s-$b" "$M/.flat/chain-$s/$b"
    [ -e "$M/.flat/chain-$s/$b/parent" ] && fail "flattened view has a parent link"
  done
  [ "$(readlink "$M/chain-$s/v02/parent")" = ../v01 ] || fail "parent link"
done
ls -a "$M" | grep -qx .flat || fail "/.flat not listed"

# Sealed versions: every write is EROFS; so is the flattened view.
v=$M/pyweb-direct/v01
expect_errno EROFS "open('$v/new', 'w')"
expect_errno EROFS "open('$v/inventory.img', 'r+b')"
expect_errno EROFS "os.truncate('$v/inventory.img', 0)"
expect_errno EROFS "os.unlink('$v/inventory.img')"
expect_errno EROFS "os.chmod('$v/inventory.img', 0o600)"
expect_errno EROFS "os.utime('$v/inventory.img', (1, 1))"
expect_errno EROFS "os.rename('$v/inventory.img', '$v/x')"
expect_errno EROFS "os.symlink('x', '$v/l')"
expect_errno EROFS "os.mkdir('$v/d')"
expect_errno EROFS "os.mkdir('$M/.flat/x')"
expect_errno EROFS "open('$M/.flat/chain-pyweb-direct/v02/new', 'w')"
expect_errno EEXIST "os.mkdir('$M/pyweb-direct/v01')"
expect_errno EEXIST "os.mkdir('$M/pyweb-direct')"
expect_errno ENOENT "os.stat('$M/pyweb-direct/v99')"
expect_errno ENOENT "os.stat('$M/nosuch')"
expect_errno ENOTEMPTY "os.rmdir('$M/pyweb-direct')"
expect_errno EINVAL "os.mkdir('$M/pyweb-direct/bad:name')"

umount_fs "$M" "$pid"
ck --repo "$R" fsck >/dev/null || fail "fsck after unmount"
[ -z "$(ls -A "$R.spool/data/pyweb-direct" 2>/dev/null)" ] || fail "spool not emptied"
echo ok
