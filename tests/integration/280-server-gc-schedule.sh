#!/usr/bin/env bash
# ckstored runs gc on its schedule (gc_interval) while it serves: a
# container over its policy is trimmed without anyone asking, and the
# runs show in /metrics.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
src=$(series pyweb-direct)
R=$T/repo
ck --repo "$R" init 2>/dev/null
write_config "$T/ckstored.conf" "gc_interval = 1"
start_server "$R" --config "$T/ckstored.conf"
cks -q policy web --keep-groups 0 --keep-last 2
for v in v01 v02 v03 v04 v05; do cks -q push web "$src/$v"; done
for i in $(seq 1 100); do
  n=$(cks versions web --json | json 'len(d)')
  [ "$n" -eq 2 ] && break
  sleep 0.1
done
[ "$n" -eq 2 ] || fail "scheduled gc did not trim web ($n versions)"
[ "$(cks versions web --json | json '[v["name"] for v in d]')" = "['v04', 'v05']" ] || fail "kept the wrong versions"
[ "$(metric ckstored_gc_runs_total)" -ge 1 ] || fail "gc runs not counted"
[ "$(metric ckstored_gc_versions_deleted_total)" -ge 3 ] || fail "deleted versions not counted"
[ "$(metric ckstored_gc_reclaimed_bytes_total)" -gt 0 ] || fail "reclaimed bytes not counted"
cks -q restore web --version v04 "$T/r4"
same_tree "$src/v04" "$T/r4"
stop_server
ck -q --repo "$R" fsck
echo "scheduled gc trimmed the container to its policy"
