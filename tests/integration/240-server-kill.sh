#!/usr/bin/env bash
# kill -9 of ckstored while several clients push: after a restart fsck
# is clean (uncommitted chunks are garbage, not damage), no partial
# version is listed, and every version a client saw acknowledged
# restores byte-exact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
s=churn-direct
[ -d "$CK_DATA_DIR/$s" ] || s=pyweb-direct
src=$(series $s)
R=$T/repo
ck --repo "$R" init 2>/dev/null
write_config "$T/ckstored.conf"
: >"$T/acked"
pusher() { # N: push every version into k-N, one CLI run each
  local v
  for v in "$src"/v*; do
    if "$CKSTORE" --server "$URL" --token "$TOK_WRITE" -q push "k-$1" "$v" 2>/dev/null; then
      echo "k-$1 $(basename "$v")" >>"$T/acked"
    else
      return 0
    fi
  done
}
RANDOM=11
for round in 1 2 3; do
  start_server "$R" --config "$T/ckstored.conf"
  pids=()
  for i in 1 2 3; do
    pusher "$i" &
    pids+=($!)
  done
  sleep "$((RANDOM % 3 + 1)).$((RANDOM % 10))"
  kill -9 "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  for p in "${pids[@]}"; do wait "$p" || true; done
  # the repository is consistent without any server
  ck --repo "$R" fsck >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "fsck after kill $round"; }
  start_server "$R" --config "$T/ckstored.conf"
  cks fsck >/dev/null || fail "fsck over HTTP after restart $round"
  while read -r c v; do
    cks -q restore "$c" --version "$v" "$T/ok"
    same_tree "$src/$v" "$T/ok"
    rm -rf "$T/ok"
  done <"$T/acked"
  cks ls --json >"$T/ls.json"
  for c in $(json '" ".join(c["name"] for c in d)' <"$T/ls.json"); do
    cks versions "$c" --json >"$T/v.json"
    [ "$(json 'all(v["state"] == "complete" for v in d)' <"$T/v.json")" = True ] || fail "partial version listed"
    # pushes that were never acknowledged may have committed just before
    # the kill; anything listed must restore
    for v in $(json '" ".join(v["name"] for v in d)' <"$T/v.json"); do
      grep -qx "$c $v" "$T/acked" && continue
      cks -q restore "$c" --version "$v" "$T/ok"
      same_tree "$src/$v" "$T/ok"
      rm -rf "$T/ok"
      echo "$c $v" >>"$T/acked"
    done
    # next round starts the containers over
    for v in $(json '" ".join(v["name"] for v in d)' <"$T/v.json"); do
      cks -q rm "$c" "$v"
    done
  done
  : >"$T/acked"
  stop_server
  echo "round $round: killed during pushes, repository clean"
done
ck --repo "$R" fsck >/dev/null
