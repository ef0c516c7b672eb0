#!/usr/bin/env bash
# ckstore-fuse on a full disk (repository and spool on a 16 MiB tmpfs):
# a dump that does not fit fails in the writer with ENOSPC and stores
# nothing, the mount stays usable, and removing the failed dump gives its
# space back; a dump that fits the spool but not the repository fails
# at the fsync of its directory with ENOSPC (CRIU's last step), stays
# readable from the spool, and once space is freed the next fsync stores
# it at once, byte-identical. The repository is fsck-clean throughout.
# Needs root to mount a tmpfs (skipped otherwise).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fuselib.sh"
src=$(series pyweb-direct)
big_dump "$T/gen" # more than the whole disk
small_disk "$T/small" 16m
R=$T/small/repo M=$T/mnt
ck -q --repo "$R" init
mount_fs "$R" "$M"
mkdir "$M/c"

# 1. Larger than the disk: the writer's splice fails, nothing is stored.
expect_fail 1 "$CRIU_WRITER" "$T/gen/v0001" "$M/c/big"
grep -q "No space left on device" "$T/err" || fail "writer message: $(cat "$T/err")"
ls "$M/c" >/dev/null || fail "mount unusable after ENOSPC"
rm -rf "$M/c/big" || fail "cannot remove the failed dump"
[ ! -e "$M/c/big" ] || fail "failed dump still listed"
free=$(df -k --output=avail "$T/small" | tail -1)
[ "$free" -gt 8192 ] || fail "removing the failed dump left ${free} KiB free"

# 2. Fits the spool, not the repository: the fsync of the directory (CRIU's
# last step) says ENOSPC; the dump stays readable, as written.
"$CRIU_WRITER" "$src/v01" "$M/c/p1" 2>"$T/err" && {
  # the repository had room after all (tmpfs accounting): nothing to test
  # beyond the first part
  ck -q --repo "$R" fsck
  echo "full disk: writer got ENOSPC; the second dump fit (not tested)"
  exit 0
}
grep -q "No space left on device" "$T/err" || fail "writer message: $(cat "$T/err")"
cmp "$src/v01/pages-1.img" "$M/c/p1/pages-1.img" || fail "failed dump does not read back"
expect_fail 1 ck --repo "$R" versions c
grep -q "cannot store version 'c/p1': No space left on device" "$M.log" || fail "mount log: $(tail -3 "$M.log")"
ck -q --repo "$R" fsck

# 3. Space freed: the next fsync of the directory stores it now.
mount -o remount,size=256m "$T/small"
python3 - "$M/c/p1" <<'PY' || { cat "$M.log"; fail "fsync after freeing space"; }
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
os.fsync(fd)
os.close(fd)
PY
ck --repo "$R" versions c --json >"$T/v.json"
[ "$(json '[(v["name"], v["state"]) for v in d]' <"$T/v.json")" = "[('p1', 'complete')]" ] ||
  fail "after the retry: $(cat "$T/v.json")"
ck -q --repo "$R" fsck
ck -q --repo "$R" restore c --version p1 "$T/o"
same_tree "$src/v01" "$T/o"
cmp "$src/v01/pages-1.img" "$M/c/p1/pages-1.img" || fail "stored dump does not read back through the mount"
echo "full disk: ENOSPC to the writer at write and at fsync, nothing half-stored; stored on the fsync after space was freed"
