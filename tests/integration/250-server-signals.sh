#!/usr/bin/env bash
# Signals and lifetimes: SIGHUP reloads tokens (and keeps the old ones if
# the file is broken); SIGTERM lets a running download finish, refuses
# new connections, drops open uploads and closes the repository; an
# upload left idle past upload_idle_timeout is dropped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
src=$(series pyweb-direct)
R=$T/repo
ck --repo "$R" init 2>/dev/null
IDLE_TIMEOUT=2 write_config "$T/ckstored.conf"
start_server "$R" --config "$T/ckstored.conf"
TOKEN=$TOK_WRITE cks -q push pyweb "$src/v01"

# SIGHUP: the writer's secret changes, a new reader appears
NEW_WRITE=new-write-secret-0123456789abcd
sed -i "s/$TOK_WRITE/$NEW_WRITE/" "$T/ckstored.conf"
printf '\n[token late]\nsecret = late-reader-0123456789abcdef\nrole = read\n' >>"$T/ckstored.conf"
kill -HUP "$SERVER_PID"
for i in $(seq 1 50); do grep -q "reloaded 5 tokens" "$T/server.log" && break; sleep 0.1; done
grep -q "reloaded 5 tokens" "$T/server.log" || fail "no reload logged"
TOKEN=$TOK_WRITE expect_fail 1 cks versions pyweb
TOKEN=$NEW_WRITE cks -q push pyweb "$src/v02"
TOKEN=late-reader-0123456789abcdef cks versions pyweb >/dev/null
# a broken file: the current tokens stay
cp "$T/ckstored.conf" "$T/good.conf"
echo "role = superuser" >>"$T/ckstored.conf"
kill -HUP "$SERVER_PID"
for i in $(seq 1 50); do grep -q "keeping the current tokens" "$T/server.log" && break; sleep 0.1; done
grep -q "keeping the current tokens" "$T/server.log" || fail "broken config not reported"
TOKEN=$NEW_WRITE cks versions pyweb >/dev/null || fail "tokens lost on a broken reload"
cp "$T/good.conf" "$T/ckstored.conf"

# idle uploads expire
A=(-H "Authorization: Bearer $TOK_ADMIN")
code=$(http_code POST /v1/containers/pyweb/uploads "${A[@]}" -d '{"name":"idle"}')
[ "$code" = 201 ] || fail "begin: $code"
up=$(json 'd["upload"]' <"$T/body")
sleep 4
code=$(http_code POST "/v1/uploads/$up/commit" "${A[@]}" -d '{}')
[ "$code" = 404 ] || fail "an idle upload survived: $code"
[ "$(metric ckstored_uploads_expired_total)" = 1 ] || fail "expired metric"
grep -q "expired after 2 s idle" "$T/server.log" || fail "expiry not logged"

# SIGTERM: a slow download in flight completes; an open upload is dropped
code=$(http_code POST /v1/containers/pyweb/uploads "${A[@]}" -d '{"name":"open"}')
[ "$code" = 201 ] || fail "begin: $code"
curl -sf "${A[@]}" --limit-rate 3M -o "$T/slow" \
  "$URL/v1/containers/pyweb/versions/v01/files/pages-1.img" &
slow=$!
sleep 1
kill -TERM "$SERVER_PID"
sleep 0.3
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/health" || true)
[ "$code" = 000 ] || [ "$code" = 503 ] || fail "new request during drain: $code"
wait "$slow" || fail "the download in flight was cut"
cmp "$T/slow" "$src/v01/pages-1.img" || fail "download in flight incomplete"
rc=0
wait "$SERVER_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "ckstored exit code $rc after SIGTERM"
grep -q "dropping 1 open uploads" "$T/server.log" || fail "open upload not dropped"
grep -q "stopped; repository closed" "$T/server.log" || fail "no clean stop"
# the lock is free and nothing half-done is there
ck -q --repo "$R" push pyweb "$src/v03"
ck --repo "$R" versions pyweb --json >"$T/v.json"
[ "$(json '[v["name"] for v in d]' <"$T/v.json")" = "['v01', 'v02', 'v03']" ] || fail "versions after stop"
ck --repo "$R" fsck >/dev/null || fail "fsck after stop"
echo "signals: SIGHUP reloads, SIGTERM drains, idle uploads expire"
