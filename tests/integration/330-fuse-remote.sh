#!/usr/bin/env bash
# ckstore-fuse, remote mode: two mounts of one ckstored (two "nodes").
# Every real series is written into mount A the way CRIU writes and read
# back through mount B byte for byte (close-to-open: once the writer's
# fsync of the directory returned); the flattened view through B equals
# `restore --flatten`; readers on B run while A writes; ckstored killed
# and restarted while mounted: reads fail with EIO while it is down and
# work again after, a dump written meanwhile is stored once it is back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/fuselib.sh"
CRIU_READER=${CRIU_READER:?set CRIU_READER}
MKCHAIN=${MKCHAIN:?set MKCHAIN}

R=$T/repo
ck -q --repo "$R" init
write_config "$T/ckstored.conf"
start_server "$R" --config "$T/ckstored.conf"
A=$T/a B=$T/b
mount_remote "$URL" "$TOK_WRITE" "$A"
pa=$FUSE_PID
mount_remote "$URL" "$TOK_READ" "$B" --cache-size 64
pb=$FUSE_PID

for s in $(all_series); do
  src=$(series "$s")
  mkdir "$A/$s"
  for v in "$src"/v*; do
    "$CRIU_WRITER" "$v" "$A/$s/$(basename "$v")" || fail "writing $s/$(basename "$v")"
    # visible and identical through the other node at once
    same_tree "$v" "$B/$s/$(basename "$v")"
  done
  TOKEN=$TOK_READ cks versions "$s" --json >"$T/v.json"
  [ "$(json 'all(v["state"] == "complete" for v in d)' <"$T/v.json")" = True ] || fail "$s: states"
  [ "$(json 'len(d)' <"$T/v.json")" = "$(ls -d "$src"/v* | wc -l)" ] || fail "$s: count"
done

# A mount with a read-only token is read-only.
expect_errno EROFS "os.mkdir('$B/pyweb-direct/ro-1')"
expect_errno EROFS "os.mkdir('$B/newctr')"

# An incremental chain through A, its flattened view through B.
src=$(series pyweb-direct)
"$MKCHAIN" "$T/chain" "$src"/v0[1-4] >/dev/null
mkdir "$A/chain"
readers=()
for v in "$T/chain"/v*; do
  "$CRIU_WRITER" "$v" "$A/chain/$(basename "$v")" || fail "writing chain"
  # readers of the series on B while A writes
  ( for w in v01 v02 v03; do cmp "$src/$w/pages-1.img" "$B/pyweb-direct/$w/pages-1.img" || exit 1; done ) &
  readers+=($!)
done
for p in "${readers[@]}"; do wait "$p" || fail "a reader on B saw wrong bytes"; done
for v in v02 v04; do
  TOKEN=$TOK_READ cks restore chain --version "$v" --flatten "$T/flat-$v" 2>/dev/null
  same_tree "$T/flat-$v" "$B/.flat/chain/$v"
  [ "$("$CRIU_READER" "$B/.flat/chain/$v" | cut -d' ' -f3)" = "$("$CRIU_READER" "$src/$v" | cut -d' ' -f3)" ] || fail "flat memory $v"
done

# ckstored goes away while mounted: a read of what B never cached fails
# with EIO (after the documented retries), a dump written into A stays in
# A's spool; both work once the server is back.
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
expect_errno EIO "open('$B/.flat/pyweb-direct/v08/pages-1.img', 'rb').read()"
mkdir "$A/later"
"$CRIU_WRITER" "$src/v05" "$A/later/v05" &
wpid=$!
sleep 1
start_server "$R" --config "$T/ckstored.conf" --port "$PORT"
wait "$wpid" || fail "writer while the server was down"
cmp "$src/v08/pages-1.img" "$B/.flat/pyweb-direct/v08/pages-1.img" || fail "read after the restart"
for i in $(seq 400); do
  TOKEN=$TOK_READ cks versions later --json >"$T/v.json" 2>/dev/null && [ "$(json 'len(d)' <"$T/v.json")" = 1 ] && break
  sleep 0.1
done
[ "$(json 'd[0]["state"]' <"$T/v.json")" = complete ] || fail "dump written while the server was down"
same_tree "$src/v05" "$B/later/v05"

umount_fs "$A" "$pa"
umount_fs "$B" "$pb"
stop_server
ck --repo "$R" fsck >/dev/null 2>&1 || fail "fsck"
echo ok
