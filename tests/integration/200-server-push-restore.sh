#!/usr/bin/env bash
# ckstored end to end: every version of every real series pushed over
# HTTP (one CLI run per version, as a checkpoint loop would), restored
# byte-exact, listed, read (cat, ranges, ETag, tar), counted exactly as
# a local push counts, and a second push of stored pages sends only a
# small fraction of their bytes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"

write_config "$T/ckstored.conf"
for s in $(all_series); do
  src=$(series "$s")
  R=$T/repo-$s
  ck --repo "$R" init 2>/dev/null
  start_server "$R" --config "$T/ckstored.conf"
  n=0
  for v in "$src"/v*; do
    TOKEN=$TOK_WRITE cks -q push "$s" "$v"
    n=$((n + 1))
  done
  TOKEN=$TOK_READ cks versions "$s" --json >"$T/versions.json"
  [ "$(json 'len(d)' <"$T/versions.json")" -eq "$n" ] || fail "$s: version count"
  [ "$(json 'all(v["state"] == "complete" and v["kind"] == "dump" for v in d)' <"$T/versions.json")" = True ] \
    || fail "$s: state/kind"
  for v in "$src"/v*; do
    name=$(basename "$v")
    TOKEN=$TOK_READ cks -q restore "$s" --version "$name" "$T/out-$name"
    same_tree "$v" "$T/out-$name"
    rm -rf "$T/out-$name"
  done
  TOKEN=$TOK_READ cks -q restore "$s" "$T/latest"
  same_tree "$(ls -d "$src"/v* | tail -1)" "$T/latest"
  rm -rf "$T/latest"

  # the same counts as a local push of the same series (pagecount.py)
  python3 "$CK_SRC/tests/tools/pagecount.py" "$src" --indent 0 >"$T/count.json"
  cks stats --json >"$T/stats.json"
  [ "$(json 'd["chunks"]' <"$T/stats.json")" -eq "$(json 'd["expected_chunks"]' <"$T/count.json")" ] \
    || fail "$s: chunks differ from the independent count"
  [ "$(json 'd["logical_bytes"]' <"$T/stats.json")" -eq "$(json 'd["raw_bytes"]' <"$T/count.json")" ] \
    || fail "$s: logical bytes"
  cks fsck || fail "$s: fsck over HTTP not clean"
  # the same output as the local CLI reading the same repository
  drop='{k: v for k, v in d.items() if k not in ("disk_bytes", "disk")}'
  diff <(cks stats --json | json "$drop") <(ck --repo "$R" stats --json | json "$drop") \
    || fail "$s: stats --json differs from local"
  diff <(cks stats | grep -v "on disk") <(ck --repo "$R" stats | grep -v "on disk") || fail "$s: stats differs"
  diff <(cks versions "$s") <(ck --repo "$R" versions "$s") || fail "$s: versions differs"
  diff <(cks ls --json) <(ck --repo "$R" ls --json) || fail "$s: ls --json differs"
  diff <(cks ls "$s" v01) <(ck --repo "$R" ls "$s" v01) || fail "$s: ls VERSION differs"
  diff <(cks stats "$s") <(ck --repo "$R" stats "$s") || fail "$s: stats CONTAINER differs"

  # cat, ls, ranges, ETag, HEAD
  first=$src/v01
  TOKEN=$TOK_READ cks cat "$s" v01 stats-dump | cmp - "$first/stats-dump" || fail "cat"
  TOKEN=$TOK_READ cks ls "$s" v01 | grep -q "pages-1.img" || fail "ls version"
  H=(-H "Authorization: Bearer $TOK_READ")
  f=/v1/containers/$s/versions/v01/files/pages-1.img
  [ "$(http_code GET "$f" "${H[@]}" -r 4096-12287)" = 206 ] || fail "range status"
  cmp "$T/body" <(tail -c +4097 "$first/pages-1.img" | head -c 8192) || fail "range bytes"
  [ "$(http_code GET "$f" "${H[@]}" -r -100)" = 206 ] || fail "suffix range"
  cmp "$T/body" <(tail -c 100 "$first/pages-1.img") || fail "suffix range bytes"
  size=$(stat -c %s "$first/pages-1.img")
  [ "$(http_code GET "$f" "${H[@]}" -r "$size-")" = 416 ] || fail "unsatisfiable range"
  etag=$(curl -sI "${H[@]}" "$URL$f" | awk 'tolower($1)=="etag:" {print $2}' | tr -d '\r')
  [ -n "$etag" ] || fail "no ETag"
  [ "$(http_code GET "$f" "${H[@]}" -H "If-None-Match: $etag")" = 304 ] || fail "If-None-Match"
  [ "$(http_code GET "$f" "${H[@]}" -H 'If-Range: "other"' -r 0-9)" = 200 ] || fail "If-Range mismatch serves all"
  [ "$(curl -sI "${H[@]}" "$URL$f" | awk 'tolower($1)=="content-length:" {print $2}' | tr -d '\r')" = "$size" ] \
    || fail "HEAD content-length"

  # the whole version as a tar stream
  mkdir "$T/tar"
  curl -sf "${H[@]}" "$URL/v1/containers/$s/versions/v01/tar" | tar -x -C "$T/tar"
  diff -r --no-dereference "$first" "$T/tar/v01" >/dev/null || fail "tar differs"
  rm -rf "$T/tar"

  # pages already stored cost the wire only their IDs
  last=$(ls -d "$src"/v* | tail -1)
  logical=$(du -sb --apparent-size "$last" | cut -f1)
  rx0=$(metric ckstored_received_bytes_total)
  TOKEN=$TOK_WRITE cks push "$s" "$last" --name again --json >"$T/again.json"
  rx1=$(metric ckstored_received_bytes_total)
  sent=$(json 'd["wire_bytes_sent"]' <"$T/again.json")
  pct=$(python3 -c "print(round(100.0 * $sent / $logical, 2))")
  echo "$s: second push of $(basename "$last"): $sent of $logical bytes sent ($pct%), server received $((rx1 - rx0))"
  python3 -c "import sys; sys.exit(0 if $sent < 0.05 * $logical and $((rx1 - rx0)) < 0.05 * $logical else 1)" \
    || fail "$s: second push sent $sent bytes (server got $((rx1 - rx0))) of $logical"
  [ "$(json 'd["chunks_sent"]' <"$T/again.json")" -eq 0 ] || fail "$s: chunks sent again"
  TOKEN=$TOK_READ cks -q restore "$s" --version again "$T/again"
  same_tree "$last" "$T/again"
  rm -rf "$T/again"
  cks fsck || fail "$s: fsck after the second push"
  stop_server
  ck --repo "$R" fsck || fail "$s: local fsck after shutdown"
  echo "$s: $n versions over HTTP, restored byte-exact"
done
