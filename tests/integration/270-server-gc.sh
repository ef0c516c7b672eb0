#!/usr/bin/env bash
# Retention and gc through the server: policy, pin, gc --dry-run and gc
# over HTTP; an upload whose client was killed leaves garbage that the
# reaper's expiry plus gc sweeps away, with fsck clean before and after.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
src=$(series pyweb-direct)
R=$T/repo
ck --repo "$R" init 2>/dev/null
IDLE_TIMEOUT=1 write_config "$T/ckstored.conf"
start_server "$R" --config "$T/ckstored.conf"
for v in v01 v02 v03 v04; do TOKEN=$TOK_WRITE cks -q push pyweb "$src/$v"; done

TOKEN=$TOK_WRITE cks -q policy pyweb --keep-groups 0 --keep-last 2
TOKEN=$TOK_READ cks policy pyweb --json >"$T/p.json"
[ "$(json 'd["keep_last"], d["own"]' <"$T/p.json")" = "(2, True)" ] || fail "policy over HTTP"
TOKEN=$TOK_WRITE cks -q pin pyweb v01
TOKEN=$TOK_WRITE expect_fail 1 cks gc
cks gc --dry-run --json >"$T/dry.json"
[ "$(json '[v["name"] for v in d["versions"]]' <"$T/dry.json")" = "['v02']" ] || fail "dry run: $(cat "$T/dry.json")"
cks -q gc
cks versions pyweb --json >"$T/v.json"
[ "$(json '[v["name"] for v in d]' <"$T/v.json")" = "['v01', 'v03', 'v04']" ] || fail "after gc"
[ "$(json '[v["pinned"] for v in d]' <"$T/v.json")" = "[True, False, False]" ] || fail "pin flag"
TOKEN=$TOK_WRITE cks -q unpin pyweb v01
TOKEN=$TOK_WRITE cks -q policy pyweb --clear
cks -q restore pyweb --version v03 "$T/r3"
same_tree "$src/v03" "$T/r3"

# a client killed in the middle of its upload
mkdir "$T/big"
head -c $((96 << 20)) /dev/urandom >"$T/big/pages-1.img"
base=$(metric ckstored_upload_chunk_bytes_total)
"$CKSTORE" --server "$URL" --token "$TOK_WRITE" -q push victim "$T/big" --name v1 &
victim=$!
for i in $(seq 1 400); do
  # past the session's first flush of new records (8 MiB)
  [ "$(metric ckstored_upload_chunk_bytes_total)" -gt $((base + (12 << 20))) ] && break
  sleep 0.05
done
kill -9 "$victim" 2>/dev/null || true
wait "$victim" 2>/dev/null || true
for i in $(seq 1 100); do
  [ "$(metric ckstored_uploads_active)" = 0 ] && break
  sleep 0.1
done
[ "$(metric ckstored_uploads_active)" = 0 ] || fail "the orphaned upload did not expire"
cks fsck --json >"$T/f1.json" || fail "fsck with garbage"
[ "$(json 'd["garbage_chunks"] > 0' <"$T/f1.json")" = True ] || fail "no garbage left by the killed client"
expect_fail 1 cks versions victim
cks gc --json >"$T/gc.json"
[ "$(json 'd["garbage_chunks"]' <"$T/gc.json")" -gt 0 ] || fail "gc swept nothing"
cks fsck --json >"$T/f2.json" || fail "fsck after gc"
[ "$(json 'd["garbage_chunks"]' <"$T/f2.json")" -eq 0 ] || fail "garbage survived gc"
cks -q restore pyweb --version v04 "$T/r4"
same_tree "$src/v04" "$T/r4"
stop_server
echo "gc over HTTP: retention, pins, garbage of a killed client swept"
