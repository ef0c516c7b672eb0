#!/usr/bin/env bash
# ckstore-fuse, remote mode, with ckstored's repository on a full disk
# (a 16 MiB tmpfs; the mount's spool has room): a finished dump that the
# server cannot store makes the writer's fsync of the directory fail
# with ENOSPC (the server's 507), the dump stays readable through the
# mount, and once space is freed on the server the next fsync stores it,
# byte-identical through the mount and in the repository. Needs root to
# mount a tmpfs (skipped otherwise).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/fuselib.sh"
big_dump "$T/gen"
small_disk "$T/small" 16m
R=$T/small/repo
ck -q --repo "$R" init
write_config "$T/ckstored.conf"
start_server "$R" --config "$T/ckstored.conf"
M=$T/mnt
mount_remote "$URL" "$TOK_WRITE" "$M"
mkdir "$M/c"
expect_fail 1 "$CRIU_WRITER" "$T/gen/v0001" "$M/c/big"
grep -q "fsync '.*': No space left on device" "$T/err" || fail "writer message: $(cat "$T/err")"
cmp "$T/gen/v0001/pages-1.img" "$M/c/big/pages-1.img" || fail "the dump does not read back from the spool"
TOKEN=$TOK_READ cks versions c --json >"$T/v.json" 2>/dev/null || echo '[]' >"$T/v.json"
[ "$(json 'len(d)' <"$T/v.json")" = 0 ] || fail "a version was listed: $(cat "$T/v.json")"
mount -o remount,size=256m "$T/small"
python3 - "$M/c/big" <<'PY' || { tail -5 "$M.log"; fail "fsync after space was freed"; }
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
os.fsync(fd)
os.close(fd)
PY
TOKEN=$TOK_READ cks versions c --json >"$T/v.json"
[ "$(json '[(v["name"], v["state"]) for v in d]' <"$T/v.json")" = "[('big', 'complete')]" ] ||
  fail "after the retry: $(cat "$T/v.json")"
same_tree "$T/gen/v0001" "$M/c/big"
TOKEN=$TOK_READ cks -q restore c --version big "$T/o"
same_tree "$T/gen/v0001" "$T/o"
fusermount3 -u "$M"
stop_server
ck -q --repo "$R" fsck
echo "remote mount, server disk full: ENOSPC at fsync, readable meanwhile, stored by the fsync after space was freed"
