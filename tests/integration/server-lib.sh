# Sourced by tests/integration/2NN-server-*.sh after lib.sh: starts and
# stops a real ckstored on 127.0.0.1 (any free port) in the test's
# scratch directory. Environment: CKSTORED (set by CTest).
CKSTORED=${CKSTORED:?set CKSTORED to the ckstored binary}
command -v curl >/dev/null || skip "curl is not installed"

# write_config FILE [EXTRA-LINES]: a config with three tokens:
#   reader (read), writer (write), admin (admin), web (write, web-*).
TOK_READ=read-secret-0123456789abcdef
TOK_WRITE=write-secret-0123456789abcdef
TOK_ADMIN=admin-secret-0123456789abcdef
TOK_WEB=web-only-secret-0123456789abcd
write_config() {
  cat >"$1" <<CONF
# test config
upload_idle_timeout = ${IDLE_TIMEOUT:-300}
${2:-}

[token reader]
secret = $TOK_READ
role = read

[token writer]
secret = $TOK_WRITE
role = write

[token admin]
secret = $TOK_ADMIN
role = admin

[token web]
secret = $TOK_WEB
role = write
containers = web-*
CONF
}

# start_server REPO [ckstored args...]: sets SERVER_PID, PORT, URL.
start_server() {
  local repo=$1; shift
  rm -f "$T/port"
  "$CKSTORED" --repo "$repo" --listen 127.0.0.1 --port 0 \
    --port-file "$T/port" "$@" >>"$T/server.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  local i
  for i in $(seq 1 400); do
    [ -s "$T/port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$T/server.log" >&2; fail "ckstored exited at start"; }
    sleep 0.05
  done
  [ -s "$T/port" ] || fail "ckstored did not start"
  PORT=$(cat "$T/port")
  URL=http://127.0.0.1:$PORT
}

# stop_server: SIGTERM, then wait; fails unless it exits 0.
stop_server() {
  kill -TERM "$SERVER_PID"
  local rc=0
  wait "$SERVER_PID" || rc=$?
  [ "$rc" -eq 0 ] || { tail -20 "$T/server.log" >&2; fail "ckstored exited $rc after SIGTERM"; }
  ! grep -qE "ERROR: [A-Za-z]+Sanitizer|runtime error:" "$T/server.log" ||
    { cat "$T/server.log" >&2; fail "ckstored: sanitizer report"; }
}

# cks ARGS...: the CLI against the running server with the admin token.
cks() { "$CKSTORE" --server "$URL" --token "${TOKEN:-$TOK_ADMIN}" "$@"; }

# http_code METHOD PATH [curl args...]: prints the status code.
http_code() {
  local m=$1 p=$2; shift 2
  curl -s -o "$T/body" -w '%{http_code}' -X "$m" "$URL$p" "$@"
}

# metric NAME: a counter of the running server (admin token).
metric() {
  curl -s -H "Authorization: Bearer $TOK_ADMIN" "$URL/metrics" |
    awk -v n="$1" '$1 == n { print $2 }'
}
