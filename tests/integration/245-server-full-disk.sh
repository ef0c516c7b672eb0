#!/usr/bin/env bash
# ckstored on a full disk (its repository on a 16 MiB tmpfs): a push
# that does not fit fails with a clear message and commits nothing (and
# so does the next one while the disk is still full), the
# server keeps serving reads, and once space is freed the next push
# works without a restart (RocksDB refuses writes after a failed one
# until told the cause is gone). fsck is clean; a restore is byte-exact.
# Needs root to mount a tmpfs (skipped otherwise).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
src=$(series pyweb-direct)
big_dump "$T/gen"
small_disk "$T/small" 16m
R=$T/small/repo
ck -q --repo "$R" init
write_config "$T/ckstored.conf"
start_server "$R" --config "$T/ckstored.conf"
cks -q push c "$src/v01"
expect_fail 1 cks push c "$T/gen/v0001"
grep -q "the server is out of space; nothing was committed" "$T/err" || fail "push message: $(cat "$T/err")"
# again, the disk still full: the same clear failure, not a hang or EBUSY
expect_fail 1 cks push c "$T/gen/v0001"
grep -q "the server is out of space; nothing was committed" "$T/err" || fail "second push message: $(cat "$T/err")"
cks versions c --json >"$T/v.json"
[ "$(json '[v["name"] for v in d]' <"$T/v.json")" = "['v01']" ] || fail "after the failed push: $(cat "$T/v.json")"
cks -q restore c --version v01 "$T/o1"
same_tree "$src/v01" "$T/o1"
mount -o remount,size=256m "$T/small"
cks -q push c "$T/gen/v0001" || { tail -5 "$T/server.log"; fail "push after space was freed"; }
cks -q push c "$src/v02"
cks versions c --json >"$T/v.json"
[ "$(json '[(v["name"], v["state"]) for v in d]' <"$T/v.json")" = "[('v01', 'complete'), ('v0001', 'complete'), ('v02', 'complete')]" ] ||
  fail "after recovery: $(cat "$T/v.json")"
cks -q restore c --version v0001 "$T/o2"
same_tree "$T/gen/v0001" "$T/o2"
stop_server
ck -q --repo "$R" fsck
echo "server full disk: clean failure, reads served, pushes work again once space is freed"
