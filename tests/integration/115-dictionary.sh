#!/usr/bin/env bash
# The repository's zstd dictionary: trained at the first pages file of a
# new repository, it makes the stored pages smaller and restores stay
# byte-exact; `init --no-dictionary` makes a repository without one; a
# damaged dictionary is reported by fsck and makes restore fail clearly.
. "$(dirname "$0")/lib.sh"
src=$(series pyweb-direct)
A=$T/dict B=$T/plain
ck -q --repo "$A" init
ck -q --repo "$B" init --no-dictionary
for v in v01 v02 v03; do
  ck -q --repo "$A" push web "$src/$v"
  ck -q --repo "$B" push web "$src/$v"
done
read -r _ fa _ da _ < <("$CK_TESTTOOL" dict "$A")
read -r _ fb _ db _ < <("$CK_TESTTOOL" dict "$B")
[ "$fa" = 2 ] && [ "$da" -gt 1000 ] && [ "$da" -le 32768 ] ||
  fail "default repository: format $fa, dictionary $da B"
[ "$fb" = 2 ] && [ "$db" = 0 ] || fail "--no-dictionary: format $fb, dictionary $db B"
sa=$(ck --repo "$A" stats --json | json 'd["stored_bytes"]')
sb=$(ck --repo "$B" stats --json | json 'd["stored_bytes"]')
# pyweb-direct v01-v03: about 6 % smaller pages; demand 3 %.
[ $((sa * 100)) -lt $((sb * 97)) ] || fail "dictionary did not shrink the pages ($sb -> $sa B)"
ck -q --repo "$A" fsck
for v in v01 v02 v03; do
  ck -q --repo "$A" restore web --version "$v" "$T/o"; same_tree "$src/$v" "$T/o"; rm -rf "$T/o"
done
# trained once: later pushes keep it
before=$("$CK_TESTTOOL" dict "$A")
ck -q --repo "$A" push other "$src/v08"
[ "$("$CK_TESTTOOL" dict "$A")" = "$before" ] || fail "dictionary changed"
ck -q --repo "$A" restore other "$T/o"; same_tree "$src/v08" "$T/o"; rm -rf "$T/o"

# damage: fsck finds the records it can no longer verify, restore says so
"$CK_TESTTOOL" corrupt-dict "$A"
# CORRUPT_CHUNK (4) for the pages stored whole, BROKEN_DELTA (64) for
# the deltas made against them
expect_fail 68 ck --repo "$A" fsck
expect_fail 1 ck --repo "$A" restore web --version v01 "$T/o2"
grep -q "failed verification" "$T/err" || fail "restore message: $(cat "$T/err")"
# a dictionary whose header is damaged cannot be loaded: said once, never
# replaced (its records would be lost for good), and new pushes store
# their pages without it
"$CK_TESTTOOL" corrupt-dict "$A" head
damaged=$("$CK_TESTTOOL" dict "$A")
python3 "$CK_SRC/bench/gen-series" "$T/g" --versions 1 --pages 300 --seed 3 >/dev/null
ck -q --repo "$A" push third "$T/g/v0001" 2>"$T/err" || fail "push with a damaged dictionary: $(cat "$T/err")"
grep -q "dictionary is damaged" "$T/err" || fail "no warning: $(cat "$T/err")"
[ "$(grep -c "dictionary is damaged" "$T/err")" = 1 ] || fail "warned more than once"
[ "$("$CK_TESTTOOL" dict "$A")" = "$damaged" ] || fail "damaged dictionary replaced"
ck -q --repo "$A" restore third "$T/o3" 2>/dev/null; same_tree "$T/g/v0001" "$T/o3"
echo "dictionary trained once ($da B): $sb -> $sa stored bytes; damage reported"
