#!/usr/bin/env bash
# Malformed CRIU images (hand-made and from the fuzzer corpus) in place of
# a real pagemap or inventory: every push is refused with a clear error and
# nothing is stored.
. "$(dirname "$0")/lib.sh"
src=$(series pyweb-direct)
R=$T/repo
ck --repo "$R" init 2>/dev/null
corpus=$CK_SRC/tests/fuzz/corpus/criu
n=0
for f in "$corpus"/pm-* "$corpus"/fuzz-* "$corpus"/varint-max.bin; do
  for target in pagemap-6141.img inventory.img core-6141.img; do
    rm -rf "$T/img"; cp -a "$src/v01" "$T/img"
    cp "$f" "$T/img/$target"
    if cmp -s "$f" "$src/v01/$target"; then continue; fi
    set +e
    "$CKSTORE" -q --repo "$R" push web "$T/img" --name bad 2>"$T/err"
    rc=$?
    set -e
    if [ $rc -eq 0 ]; then
      # Accepted: it must be a valid image of that kind; take it back out.
      ck -q --repo "$R" rm web bad
      continue
    fi
    [ $rc -eq 1 ] || fail "$(basename "$f") as $target: exit $rc"
    grep -q "not a valid CRIU image" "$T/err" || fail "$(basename "$f") as $target: $(cat "$T/err")"
    grep -q "$target" "$T/err" || fail "message does not name $target"
    n=$((n + 1))
  done
done
[ $n -gt 100 ] || fail "only $n malformed images refused"
expect_fail 1 ck --repo "$R" versions web
ck -q --repo "$R" fsck
# truncating a real pagemap or pages file is refused too
rm -rf "$T/img"; cp -a "$src/v01" "$T/img"
truncate -s -4096 "$T/img/pages-1.img"
expect_fail 1 ck --repo "$R" push web "$T/img"
grep -q "pagemap-6141.img" "$T/err" || fail "pages/pagemap disagreement not named"
rm -rf "$T/img"; cp -a "$src/v01" "$T/img"
truncate -s 100 "$T/img/pagemap-6141.img"
expect_fail 1 ck --repo "$R" push web "$T/img"
echo "$n malformed images refused, nothing stored"
