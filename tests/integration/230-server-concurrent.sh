#!/usr/bin/env bash
# 8 clients at once against one ckstored, each pushing its own container
# (one CLI run per version) and restoring what it pushed, while readers
# list and restore other containers; afterwards every version restores
# byte-exact and fsck is clean.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
src=$(series pyweb-direct)
R=$T/repo
ck --repo "$R" init 2>/dev/null
write_config "$T/ckstored.conf"
start_server "$R" --config "$T/ckstored.conf"
TOKEN=$TOK_WRITE cks -q push base "$src/v01"

client() { # N: push 4 versions into c-N (or web-N), restore each
  local i=$1 c=c-$1 tok=$TOK_WRITE
  [ $((i % 2)) -eq 0 ] && { c=web-$1; tok=$TOK_WEB; }
  local first=$(( (i % 5) + 1 )) k v
  for k in 0 1 2 3; do
    v=$src/v0$((first + k))
    "$CKSTORE" --server "$URL" --token "$tok" -q push "$c" "$v" || return 1
    "$CKSTORE" --server "$URL" --token "$tok" -q restore "$c" --version "$(basename "$v")" "$T/out-$i-$k" || return 1
    diff -r --no-dereference "$v" "$T/out-$i-$k" >/dev/null || return 1
    rm -rf "$T/out-$i-$k"
    # a read of someone else's data meanwhile
    "$CKSTORE" --server "$URL" --token "$TOK_READ" -q restore base "$T/base-$i-$k" || return 1
    diff -r --no-dereference "$src/v01" "$T/base-$i-$k" >/dev/null || return 1
    rm -rf "$T/base-$i-$k"
    "$CKSTORE" --server "$URL" --token "$TOK_READ" ls >/dev/null || return 1
  done
}
pids=()
for i in 1 2 3 4 5 6 7 8; do
  client "$i" >"$T/client-$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2 3 4 5 6 7 8; do
  wait "${pids[$((i - 1))]}" || { cat "$T/client-$i.log" >&2; fail "client $i failed"; }
done
cks ls --json >"$T/ls.json"
[ "$(json 'len(d)' <"$T/ls.json")" -eq 9 ] || fail "containers: $(cat "$T/ls.json")"
[ "$(json 'all(c["versions"] == 4 for c in d if c["name"] != "base")' <"$T/ls.json")" = True ] \
  || fail "versions per container"
for i in 1 3 6; do
  c=c-$i; [ $((i % 2)) -eq 0 ] && c=web-$i
  first=$(( (i % 5) + 1 ))
  cks -q restore "$c" "$T/final-$i"
  same_tree "$src/v0$((first + 3))" "$T/final-$i"
done
cks fsck || fail "fsck after concurrent clients"
[ "$(metric ckstored_uploads_committed_total)" -eq 33 ] || fail "committed uploads: $(metric ckstored_uploads_committed_total)"
stop_server
ck --repo "$R" fsck >/dev/null || fail "local fsck"
echo "8 concurrent clients: 32 versions pushed and restored"
