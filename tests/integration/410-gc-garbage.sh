#!/usr/bin/env bash
# Chunks written by pushes that never committed (killed) are garbage: fsck
# reports them as reclaimable, the next gc removes them, and nothing a
# version needs is touched.
. "$(dirname "$0")/lib.sh"
# A seeded synthetic series whose first version is 24 MiB of mostly new
# data: its records are written in batches long before its commit.
src=$T/series
python3 "$CK_SRC/bench/gen-series" "$src" --versions 4 --pages 6000 \
  --zero 0.1 --text 0.3 --seed 5
R=$T/repo
ck --repo "$R" init 2>/dev/null
found=0
# Kills spread over the push: this build writes the first version's
# records between ~0.05 and ~0.12 s here, slower machines later.
for delay in 0.05 0.07 0.09 0.11 0.15 0.25 0.4 0.6 0.9 1.3; do
  "$CKSTORE" -q --repo "$R" push c "$src"/v* 2>/dev/null &
  pid=$!
  sleep $delay
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  ck --repo "$R" fsck --json >"$T/f.json" || fail "fsck after kill"
  g=$(json 'd["garbage_chunks"]' <"$T/f.json")
  [ "$g" -gt 0 ] && found=1
  ck --repo "$R" gc --json >"$T/gc.json"
  [ "$(json 'd["garbage_chunks"]' <"$T/gc.json")" -eq "$g" ] || fail "gc swept $(json 'd["garbage_chunks"]' <"$T/gc.json") of $g garbage chunks"
  ck --repo "$R" fsck --json >"$T/f.json" || fail "fsck after gc"
  [ "$(json 'd["garbage_chunks"]' <"$T/f.json")" -eq 0 ] || fail "garbage left after gc"
  for v in $(ck --repo "$R" versions c --json 2>/dev/null | json '" ".join(v["name"] for v in d)' 2>/dev/null); do
    ck -q --repo "$R" restore c --version "$v" "$T/o"; same_tree "$src/$v" "$T/o"; rm -rf "$T/o"
  done
  for v in $(ck --repo "$R" versions c --json 2>/dev/null | json '" ".join(v["name"] for v in d)' 2>/dev/null); do
    ck -q --repo "$R" rm c "$v"
  done
done
[ $found -eq 1 ] || fail "no kill left garbage to sweep"
echo "garbage of killed pushes reported by fsck and swept by gc"
