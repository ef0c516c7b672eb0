#!/usr/bin/env bash
# Online gc under load, through a real ckstored: writers push new versions
# that reuse old pages, readers restore random retained versions and
# compare bytes, gc runs in a loop; bounded in time (CK_STRESS_SECONDS,
# default 90) and seeded. Every successful restore is byte-exact, fsck is
# clean at the end, and the retained set is exactly what the policy says.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
src=$(series pyweb-direct)
secs=${CK_STRESS_SECONDS:-90}
R=$T/repo
ck --repo "$R" init 2>/dev/null
write_config "$T/ckstored.conf"
start_server "$R" --config "$T/ckstored.conf"
for c in w1 w2 w3; do cks -q policy "$c" --keep-groups 0 --keep-last 3; done
versions=($(ls "$src" | grep '^v'))
end=$((SECONDS + secs))

writer() { # CONTAINER SEED
  local c=$1 i=0
  RANDOM=$2
  while [ $SECONDS -lt $end ]; do
    local v=${versions[$((RANDOM % ${#versions[@]}))]}
    cks -q push "$c" "$src/$v" --name "$v-$i" 2>>"$T/$c.err" ||
      { echo "push $c $v-$i failed" >>"$T/failures"; cat "$T/$c.err" >>"$T/failures"; }
    i=$((i + 1))
  done
  echo $i >"$T/$c.count"
}

reader() { # SEED
  local n=0
  RANDOM=$1
  while [ $SECONDS -lt $end ]; do
    local c=w$((RANDOM % 3 + 1)) names name out=$T/read-$1
    names=($(cks versions "$c" --json 2>/dev/null | json '" ".join(v["name"] for v in d)' 2>/dev/null)) || true
    [ ${#names[@]} -gt 0 ] || { sleep 0.2; continue; }
    name=${names[$((RANDOM % ${#names[@]}))]}
    rm -rf "$out"
    if cks -q restore "$c" --version "$name" "$out" 2>/dev/null; then
      diff -r "$src/${name%-*}" "$out" >/dev/null ||
        echo "restore $c/$name differs" >>"$T/failures"
      n=$((n + 1))
    elif cks versions "$c" --json 2>/dev/null | json '"'"$name"'" in [v["name"] for v in d]' | grep -q True; then
      echo "restore $c/$name failed while the version exists" >>"$T/failures"
    fi
  done
  echo $n >"$T/reads-$1"
}

gcloop() {
  local n=0
  while [ $SECONDS -lt $end ]; do
    cks -q gc >/dev/null 2>>"$T/gc.err" || echo "gc failed: $(tail -1 "$T/gc.err")" >>"$T/failures"
    n=$((n + 1))
    sleep 0.5
  done
  echo $n >"$T/gcs"
}

writer w1 1 & w1=$!
writer w2 2 & w2=$!
writer w3 3 & w3=$!
reader 11 & r1=$!
reader 12 & r2=$!
gcloop & g=$!
wait $w1 $w2 $w3 $r1 $r2 $g
[ ! -s "$T/failures" ] || { cat "$T/failures" >&2; fail "errors under load"; }
cks -q gc
stop_server
ck -q --repo "$R" fsck || fail "fsck after the stress run"
for c in w1 w2 w3; do
  n=$(cat "$T/$c.count")
  want=$(for i in $(seq $((n > 3 ? n - 3 : 0)) $((n - 1))); do echo -n "$i "; done)
  got=$(ck --repo "$R" versions "$c" --json | json '" ".join(v["name"].split("-")[1] for v in d)')
  [ "$got " = "$want" ] || fail "$c retained '$got', policy says '$want'"
  for name in $(ck --repo "$R" versions "$c" --json | json '" ".join(v["name"] for v in d)'); do
    ck -q --repo "$R" restore "$c" --version "$name" "$T/final"
    same_tree "$src/${name%-*}" "$T/final"; rm -rf "$T/final"
  done
done
echo "$secs s: pushes $(cat "$T"/w?.count | paste -sd+ | bc), restores $(cat "$T"/reads-* | paste -sd+ | bc), gc runs $(cat "$T/gcs"); all byte-exact, fsck clean"
