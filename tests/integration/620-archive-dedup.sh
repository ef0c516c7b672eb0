#!/usr/bin/env bash
# Ten successive checkpoint archives of one container (zstd, as Podman
# exports them by default) cost little more than one: their CRIU images
# dedup and delta against each other exactly as pushed directories do.
# Checked with `stats --json` against the raw sizes, against the same
# images pushed as directories, and per container.
source "$(dirname "$0")/lib.sh"

PY=$CK_SRC/tests/tools/podman-archive.py
if [ -d "$CK_DATA_DIR/churn-direct" ]; then s=churn-direct; else s=pyweb-direct; fi
src=$(series $s)
vs=$(cd "$src" && ls -d v* | head -10)

A=$T/imported P=$T/pushed
ck --repo "$A" init >/dev/null 2>&1
ck --repo "$P" init >/dev/null 2>&1
mkdir -p "$T/a"
raw=0 files=0 n=0 first=0
for v in $vs; do
  n=$((n + 1))
  python3 "$PY" "$src/$v" "$T/a/$v.tar.zst" --ctr app --seq $n
  files=$((files + $(stat -c %s "$T/a/$v.tar.zst")))
  raw=$((raw + $(du -sb --apparent-size "$src/$v" | cut -f1)))
  ck --repo "$A" -q import app "$T/a/$v.tar.zst"
  ck --repo "$P" -q push app "$src/$v"
  [ $n = 1 ] && first=$(ck --repo "$A" stats --json | json 'd["stored_bytes"]')
done
ck --repo "$A" stats --json >"$T/a.json"
ck --repo "$P" stats --json >"$T/p.json"
stored=$(json 'd["stored_bytes"]' <"$T/a.json")
pushed=$(json 'd["stored_bytes"]' <"$T/p.json")
logical=$(json 'd["logical_bytes"]' <"$T/a.json")
echo "$s: $n archives, images $raw B raw, archives as files $files B (zstd)," \
  "ckstore $stored B (first archive alone $first B), pushed dirs $pushed B"

[ "$(json 'd["versions"]' <"$T/a.json")" = $n ] || fail "versions"
[ "$logical" -ge "$raw" ] || fail "logical $logical < raw images $raw"
# The archives' other members and the manifests are small: at most
# 64 KiB per version more than the same images pushed as directories.
[ "$stored" -le $((pushed + n * 65536)) ] ||
  fail "imported $stored B vs pushed $pushed B: archive import loses dedup"
# Ten archives store less than twice what the first one does, and less
# than a third of the zstd archives kept as files.
[ "$stored" -lt $((2 * first)) ] || fail "$n archives store $stored B, the first $first B"
[ "$stored" -lt $((files / 3)) ] || fail "ckstore $stored B vs files $files B"

# Per-container numbers for monitoring.
[ "$(json 'd["per_container"][0]["container"]' <"$T/a.json")" = app ] || fail "per_container"
[ "$(json 'd["per_container"][0]["versions"]' <"$T/a.json")" = $n ] || fail "per_container versions"
[ "$(json 'd["per_container"][0]["complete_versions"]' <"$T/a.json")" = $n ] ||
  fail "per_container complete_versions"
[ "$(json 'd["per_container"][0]["stored_bytes"]' <"$T/a.json")" = "$stored" ] ||
  fail "per_container stored_bytes"
[ "$(json 'd["per_container"][0]["logical_bytes"]' <"$T/a.json")" = "$logical" ] ||
  fail "per_container logical_bytes"
echo "ok"
