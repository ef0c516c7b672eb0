#!/usr/bin/env bash
# A corrupted chunk: fsck names it and exits with the corrupt-chunk bit;
# restore of a version that needs it fails with a clear message.
. "$(dirname "$0")/lib.sh"
src=$(series pyweb-direct)
R=$T/repo
ck --repo "$R" init --no-deltas 2>/dev/null
ck -q --repo "$R" push web "$src/v01" "$src/v02"
ck --repo "$R" fsck
# a page of pages-1.img in v01 and only there? Take page 0 of v02.
id=$("$CK_TESTTOOL" chunk-of "$R" web v02 pages-1.img 0)
"$CK_TESTTOOL" corrupt-id "$R" "$id" >/dev/null
expect_fail 4 ck --repo "$R" fsck      # CORRUPT_CHUNK = 1 << 2
grep -q "CORRUPT_CHUNK: chunk $id" "$T/out" || fail "fsck did not name chunk $id"
expect_fail 1 ck --repo "$R" restore web --version v02 "$T/out2"
grep -q "failed verification" "$T/err" || fail "restore message: $(cat "$T/err")"
grep -q "ckstore fsck" "$T/err" || fail "restore hint missing"
expect_fail 1 ck --repo "$R" cat web v02 pages-1.img
# fsck --json carries the same
set +e; ck --repo "$R" fsck --json >"$T/f.json"; set -e
[ "$(json 'd["clean"]' <"$T/f.json")" = False ] || fail "json clean"
[ "$(json 'd["problems"][0]["class"]' <"$T/f.json")" = CORRUPT_CHUNK ] || fail "json class"
echo "corrupt chunk $id reported"
