#!/usr/bin/env bash
# Bearer tokens: 401 for missing, unknown or malformed tokens (with a
# WWW-Authenticate challenge), 403 for a known token whose role or
# container patterns do not cover the request; listings show a limited
# token only its containers; uploads belong to the token that began them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
src=$(series pyweb-direct)
R=$T/repo
ck --repo "$R" init 2>/dev/null
write_config "$T/ckstored.conf"
start_server "$R" --config "$T/ckstored.conf"

auth() { echo "Authorization: Bearer $1"; }
expect_code() { # CODE METHOD PATH [curl args]
  local want=$1; shift
  local got
  got=$(http_code "$@")
  [ "$got" = "$want" ] || { cat "$T/body" >&2; fail "$*: got $got, want $want"; }
}

# No token, unknown token, malformed header: 401 and a challenge.
expect_code 401 GET /v1/containers
curl -s -D - -o /dev/null "$URL/v1/containers" | grep -qi '^WWW-Authenticate: Bearer' || fail "no challenge"
expect_code 401 GET /v1/containers -H "$(auth wrong-secret-0123456789abcdef)"
expect_code 401 GET /v1/containers -H "$(auth "${TOK_READ}x")"
expect_code 401 GET /v1/containers -H "$(auth "${TOK_READ%?}")"
expect_code 401 GET /v1/containers -H "Authorization: Basic $TOK_READ"
expect_code 401 GET /v1/containers -H "Authorization: Bearer"
expect_code 401 GET /metrics
expect_code 200 GET /v1/health
expect_fail 1 "$CKSTORE" --server "$URL" versions x
grep -q "CKSTORE_TOKEN" "$T/err" || fail "no token hint"
expect_fail 1 "$CKSTORE" --server "$URL" --token nope-nope-nope-nope ls
grep -q "unknown or malformed bearer token" "$T/err" || fail "401 message"

# writer pushes; reader may read but not write
TOKEN=$TOK_WRITE cks -q push pyweb "$src/v01"
TOKEN=$TOK_WRITE cks -q push pyweb "$src/v02"
TOKEN=$TOK_READ cks -q versions pyweb >/dev/null
TOKEN=$TOK_READ cks -q restore pyweb --version v01 "$T/r1"
same_tree "$src/v01" "$T/r1"
TOKEN=$TOK_READ expect_fail 1 cks push pyweb "$src/v03"
grep -q "role read; this needs write" "$T/err" || fail "403 message"
grep -q "role or container patterns" "$T/err" || fail "403 hint"
TOKEN=$TOK_READ expect_fail 1 cks rm pyweb v02
expect_code 403 GET /v1/repo/params -H "$(auth "$TOK_READ")"
expect_code 200 GET /v1/repo/params -H "$(auth "$TOK_WRITE")"
expect_code 200 GET /v1/stats -H "$(auth "$TOK_READ")"
expect_code 200 GET /metrics -H "$(auth "$TOK_READ")"
# fsck and gc are admin's
expect_code 403 POST /v1/fsck -H "$(auth "$TOK_WRITE")" -d '{}'
TOKEN=$TOK_WRITE expect_fail 1 cks fsck
cks fsck
TOKEN=$TOK_WRITE cks -q rm pyweb v02

# a token limited to web-*
TOKEN=$TOK_WEB cks -q push web-1 "$src/v01"
TOKEN=$TOK_WEB expect_fail 1 cks push db-1 "$src/v01"
grep -q "may not use container 'db-1'" "$T/err" || fail "pattern 403 message"
TOKEN=$TOK_WEB cks ls --json >"$T/ls.json"
[ "$(json '[c["name"] for c in d]' <"$T/ls.json")" = "['web-1']" ] || fail "limited listing: $(cat "$T/ls.json")"
TOKEN=$TOK_READ cks ls --json >"$T/ls.json"
[ "$(json 'sorted(c["name"] for c in d)' <"$T/ls.json")" = "['pyweb', 'web-1']" ] || fail "full listing"
expect_code 403 GET /v1/containers/pyweb/versions -H "$(auth "$TOK_WEB")"
expect_code 403 GET /v1/stats -H "$(auth "$TOK_WEB")"
expect_code 200 GET /v1/containers/web-1/stats -H "$(auth "$TOK_WEB")"
TOKEN=$TOK_WEB cks -q restore web-1 "$T/r2"
same_tree "$src/v01" "$T/r2"

# an upload belongs to the token that began it (admin may take any)
code=$(http_code POST /v1/containers/web-2/uploads -H "$(auth "$TOK_WEB")" -d '{"name":"x"}')
[ "$code" = 201 ] || fail "begin upload: $code"
up=$(json 'd["upload"]' <"$T/body")
expect_code 403 POST "/v1/uploads/$up/commit" -H "$(auth "$TOK_WRITE")" -d '{}'
expect_code 204 DELETE "/v1/uploads/$up" -H "$(auth "$TOK_ADMIN")"
expect_code 404 POST "/v1/uploads/$up/commit" -H "$(auth "$TOK_WEB")" -d '{}'
[ "$(metric ckstored_auth_failures_total)" -ge 8 ] || fail "auth failures metric"
stop_server

# anonymous = read: no header reads, cannot write; a wrong token is still 401
write_config "$T/anon.conf" "anonymous = read"
start_server "$R" --config "$T/anon.conf"
"$CKSTORE" --server "$URL" versions pyweb >/dev/null || fail "anonymous read"
expect_fail 1 "$CKSTORE" --server "$URL" push pyweb "$src/v03"
expect_code 401 GET /v1/containers -H "$(auth wrong-secret-0123456789abcdef)"
stop_server

# a config without tokens and without anonymous access is refused
printf 'port = 0\n' >"$T/empty.conf"
expect_fail 2 "$CKSTORED" --config "$T/empty.conf" --repo "$R"
grep -q "nobody could use the server" "$T/err" || fail "empty config message"
printf 'port = 0\n[token x]\nsecret = short\nrole = read\n' >"$T/bad.conf"
expect_fail 2 "$CKSTORED" --config "$T/bad.conf" --repo "$R"
grep -q "bad.conf:3: token 'x': a secret must be 16 to 256 bytes" "$T/err" || { cat "$T/err"; fail "config error message"; }
# the shipped config parses and documents every directive
"$CKSTORED" --config "$CK_SRC/conf/ckstored.conf" --set anonymous=read \
  --check-config >"$T/effective" || fail "conf/ckstored.conf does not parse"
while read -r key _; do
  grep -qE "^$key =( |$)" "$CK_SRC/conf/ckstored.conf" || fail "conf/ckstored.conf does not document '$key'"
done <"$T/effective"
echo "auth: 401/403 as specified"
