#!/usr/bin/env bash
# SIGKILL a push at random instants: no partial version is ever listed,
# fsck stays clean, committed versions restore, and the push can be redone.
. "$(dirname "$0")/lib.sh"
s=churn-direct
[ -d "$CK_DATA_DIR/$s" ] || s=pyweb-direct
src=$(series $s)
R=$T/repo
ck --repo "$R" init 2>/dev/null
RANDOM=7
for i in $(seq 1 6); do
  "$CKSTORE" -q --repo "$R" push c "$src"/v* 2>/dev/null &
  pid=$!
  sleep "0.$((RANDOM % 60 + 5))"
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  ck -q --repo "$R" fsck || fail "fsck after kill $i"
  ck --repo "$R" versions c --json 2>/dev/null >"$T/v.json" || echo '[]' >"$T/v.json"
  # the newest listed version is complete and restores byte-exact
  last=$(json '(d[-1]["name"] if d else "")' <"$T/v.json")
  if [ -n "$last" ]; then
    [ "$(json 'all(v["state"] == "complete" for v in d)' <"$T/v.json")" = True ] || fail "partial version listed"
    ck -q --repo "$R" restore c --version "$last" "$T/ok"
    same_tree "$src/$last" "$T/ok"
    rm -rf "$T/ok"
  fi
  # start over for the next round: remove what this round committed
  for name in $(json '" ".join(v["name"] for v in d)' <"$T/v.json"); do
    ck -q --repo "$R" rm c "$name"
  done
done
ck -q --repo "$R" push c "$src"/v*
ck --repo "$R" fsck
echo "6 killed pushes, repository clean"
