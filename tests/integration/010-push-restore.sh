#!/usr/bin/env bash
# Every version of every real series: push one invocation per version (as
# a checkpoint loop would), list, restore each byte-exact, cat, ls, and
# check `stats` against an independent count of unique pages.
. "$(dirname "$0")/lib.sh"

for s in $(all_series); do
  src=$(series "$s")
  R=$T/repo-$s
  ck --repo "$R" init 2>/dev/null
  n=0
  for v in "$src"/v*; do
    ck -q --repo "$R" push "$s" "$v"
    n=$((n + 1))
  done
  # versions: oldest first, all complete full dumps
  ck --repo "$R" versions "$s" --json >"$T/versions.json"
  [ "$(json 'len(d)' <"$T/versions.json")" -eq "$n" ] || fail "$s: version count"
  [ "$(json '[v["seq"] for v in d] == list(range(1, len(d)+1))' <"$T/versions.json")" = True ] \
    || fail "$s: versions not oldest first"
  [ "$(json 'all(v["state"] == "complete" and v["kind"] == "dump" for v in d)' <"$T/versions.json")" = True ] \
    || fail "$s: state/kind"
  ck --repo "$R" versions "$s" | grep -q "^ *1  v01 " || fail "$s: table output"

  for v in "$src"/v*; do
    name=$(basename "$v")
    ck -q --repo "$R" restore "$s" --version "$name" "$T/out-$name"
    same_tree "$v" "$T/out-$name"
    rm -rf "$T/out-$name"
  done
  # latest, and #N addressing
  ck -q --repo "$R" restore "$s" "$T/latest-$s"
  same_tree "$(ls -d "$src"/v* | tail -1)" "$T/latest-$s"
  ck -q --repo "$R" restore "$s" --version '#1' "$T/first-$s"
  same_tree "$src/v01" "$T/first-$s"

  ck --repo "$R" cat "$s" v01 stats-dump | cmp - "$src/v01/stats-dump" || fail "cat"
  ck --repo "$R" ls "$s" v01 | grep -q "pages-1.img" || fail "ls version"
  ck --repo "$R" ls --json | python3 -c "import json,sys; d=json.load(sys.stdin); assert d[0]['name']=='$s' and d[0]['versions']==$n" \
    || fail "ls containers"

  # stats against an independent count (sha256 of every page)
  python3 "$CK_SRC/tests/tools/pagecount.py" "$src" --indent 0 >"$T/count.json"
  ck --repo "$R" stats --json >"$T/stats.json"
  want_chunks=$(json 'd["expected_chunks"]' <"$T/count.json")
  want_logical=$(json 'd["raw_bytes"]' <"$T/count.json")
  want_unique=$(json 'd["dedup_bytes"]' <"$T/count.json")
  [ "$(json 'd["chunks"]' <"$T/stats.json")" -eq "$want_chunks" ] || fail "$s: chunks $(json 'd["chunks"]' <"$T/stats.json") != $want_chunks"
  [ "$(json 'd["logical_bytes"]' <"$T/stats.json")" -eq "$want_logical" ] || fail "$s: logical bytes"
  [ "$(json 'd["raw_bytes"]' <"$T/stats.json")" -eq "$want_unique" ] || fail "$s: unique bytes"
  ck --repo "$R" fsck || fail "$s: fsck not clean"
  echo "$s: $n versions, $want_chunks chunks, ratio $(json 'round(d["total_ratio"],2)' <"$T/stats.json")x"
done
