#!/usr/bin/env bash
# gc killed with SIGKILL at random instants, dozens of times: the
# repository stays fsck-clean, no retained version is damaged, and the
# next run finishes the job.
. "$(dirname "$0")/lib.sh"
src=$(series pyweb-direct)
R=$T/repo
ck --repo "$R" init --group-size 1 2>/dev/null
RANDOM=11
i=0
for round in $(seq 1 4); do
  for v in "$src"/v*; do
    ck -q --repo "$R" push c "$v" --name "r$round-$(basename "$v")"
  done
  for k in $(seq 1 6); do
    "$CKSTORE" -q --repo "$R" gc >/dev/null 2>&1 &
    pid=$!
    sleep "0.0$((RANDOM % 9 + 1))"
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    ck -q --repo "$R" fsck || fail "fsck after gc kill $i"
    i=$((i + 1))
  done
  ck -q --repo "$R" gc
  ck -q --repo "$R" fsck
  # exactly the newest 3 groups (one version each) remain, intact
  names=$(ck --repo "$R" versions c --json | json '" ".join(v["name"] for v in d)')
  [ "$names" = "r$round-v06 r$round-v07 r$round-v08" ] || fail "retained '$names'"
  for n in $names; do
    ck -q --repo "$R" restore c --version "$n" "$T/o"
    same_tree "$src/${n#*-}" "$T/o"; rm -rf "$T/o"
  done
done
echo "$i gc runs killed; repository clean, retained versions intact"
