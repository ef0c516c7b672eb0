#!/usr/bin/env bash
# A full disk: the push fails with a clear message and commits nothing,
# the repository stays fsck-clean, and once space is freed gc reclaims
# what the failed push wrote and pushes work again. Needs root to mount a
# small tmpfs (skipped otherwise).
. "$(dirname "$0")/lib.sh"
# A generated dump of 5,000 incompressible pages (20 MB): the push writes
# its first 8 MiB batch of records, journaled, and the disk fills during
# the second. (A real series depended on which was present: pyweb-direct
# v01 stores its 2.5 MB in the commit's one batch, so a full disk left no
# garbage to reclaim and the test failed without ../shared.)
big_dump "$T/gen"
src=$T/gen
small_disk "$T/small" 16m
R=$T/small/repo
ck -q --repo "$R" init
expect_fail 1 ck --repo "$R" push c "$src/v0001"
grep -q "No space left on device" "$T/err" || fail "message: $(cat "$T/err")"
grep -q "nothing was committed" "$T/err" || fail "message does not say nothing was committed"
if grep -q "Assertion" "$T/err"; then fail "aborted instead of failing cleanly"; fi
ck -q --repo "$R" fsck || fail "fsck after a full disk"
expect_fail 1 ck --repo "$R" versions c
mount -o remount,size=256m "$T/small"
ck --repo "$R" gc --json >"$T/gc.json"
[ "$(json 'd["garbage_chunks"] > 0' <"$T/gc.json")" = True ] || fail "gc found no garbage"
ck -q --repo "$R" push c "$src/v0001"
ck -q --repo "$R" restore c "$T/restored"
same_tree "$src/v0001" "$T/restored"
ck -q --repo "$R" fsck
echo "full disk: clean failure, nothing committed, recovered after gc"
