#!/usr/bin/env bash
# A full disk: the push fails with a clear message and commits nothing,
# the repository stays fsck-clean, and once space is freed gc reclaims
# what the failed push wrote and pushes work again. Needs root to mount a
# small tmpfs (skipped otherwise).
. "$(dirname "$0")/lib.sh"
s=churn-direct; [ -d "$CK_DATA_DIR/$s" ] || s=pyweb-direct
src=$(series $s)
mkdir -p "$T/small"
size=24m; [ $s = pyweb-direct ] && size=6m
mount -t tmpfs -o size=$size tmpfs "$T/small" 2>/dev/null || skip "cannot mount a tmpfs (needs root)"
trap 'umount "$T/small" 2>/dev/null; cleanup' EXIT
R=$T/small/repo
ck -q --repo "$R" init
expect_fail 1 ck --repo "$R" push c "$src/v01"
grep -q "No space left on device" "$T/err" || fail "message: $(cat "$T/err")"
grep -q "nothing was committed" "$T/err" || fail "message does not say nothing was committed"
if grep -q "Assertion" "$T/err"; then fail "aborted instead of failing cleanly"; fi
ck -q --repo "$R" fsck || fail "fsck after a full disk"
expect_fail 1 ck --repo "$R" versions c
mount -o remount,size=256m "$T/small"
ck --repo "$R" gc --json >"$T/gc.json"
[ "$(json 'd["garbage_chunks"] > 0' <"$T/gc.json")" = True ] || fail "gc found no garbage"
ck -q --repo "$R" push c "$src/v01"
ck -q --repo "$R" restore c "$T/restored"
same_tree "$src/v01" "$T/restored"
ck -q --repo "$R" fsck
echo "full disk: clean failure, nothing committed, recovered after gc"
