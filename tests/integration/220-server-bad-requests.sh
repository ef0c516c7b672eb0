#!/usr/bin/env bash
# A catalogue of bad requests, each answered with the right 4xx and a JSON
# error while the server keeps serving: traversal, bad names, oversized
# and malformed bodies, chunks that do not hash to their ID, chunks
# nobody asked for, truncated frames and bodies, unknown routes. Then the
# repository is still intact and usable.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
src=$(series pyweb-direct)
R=$T/repo
ck --repo "$R" init 2>/dev/null
write_config "$T/ckstored.conf" "max_json = 64k
max_body = 1m
max_manifest = 64k"
start_server "$R" --config "$T/ckstored.conf"
cks -q push pyweb "$src/v01"

A=(-H "Authorization: Bearer $TOK_ADMIN")
expect() { # CODE ERROR-CODE METHOD PATH [curl args]
  local want=$1 err=$2; shift 2
  local got
  got=$(http_code "$@" "${A[@]}")
  [ "$got" = "$want" ] || { cat "$T/body" >&2; fail "$*: got $got, want $want"; }
  if [ -n "$err" ]; then
    [ "$(json 'd["error"]' <"$T/body")" = "$err" ] || { cat "$T/body" >&2; fail "$*: error code"; }
  fi
}
F=/v1/containers/pyweb/versions/v01/files

# traversal and names
expect 400 bad_request GET "$F/../../../etc/passwd" --path-as-is
expect 400 bad_request GET "$F/%2e%2e/%2e%2e/etc/passwd" --path-as-is
expect 400 bad_request GET "$F/a%2Fb"
expect 400 bad_request GET "$F/stats-dump%00.txt"
expect 400 bad_request GET "$F//etc/passwd" --path-as-is
expect 400 bad_request GET "$F/a%0ab"
expect 400 bad_request GET "$F/%zz"
expect 400 bad_request GET "/v1/containers/..%2Fpyweb/versions"
expect 400 bad_request GET "/v1/containers/.hidden/versions"
expect 400 bad_request GET "/v1/containers/pyweb/versions/v01%2F..%2Fx"
expect 400 bad_request GET "/v1/containers/pyweb/versions/..."
expect 404 not_found GET "/v1/containers/pyweb/versions/v99"
expect 404 not_found GET "$F/no-such-file"
expect 400 bad_request GET "$F/." --path-as-is
expect 404 not_found GET "/v1/containers/nope/versions"
expect 414 uri_too_long GET "/v1/$(head -c 9000 /dev/zero | tr '\0' a)"

# unknown routes and methods
expect 404 not_found GET /v2/containers
expect 404 not_found GET /
expect 405 method_not_allowed POST /v1/containers/pyweb/versions
expect 405 method_not_allowed PATCH /v1/health
curl -s -D - -o /dev/null -X PUT "$URL/v1/health" | grep -qi '^Allow: GET, HEAD' || fail "Allow header"

# upload begin: malformed and oversized JSON, bad names
U=/v1/containers/pyweb/uploads
expect 400 bad_json POST $U -d '{"name": "v02"'
expect 400 bad_json POST $U -d '[1,2]'
expect 400 bad_json POST $U -d '{"name":"a","name":"b"}'
expect 400 bad_request POST $U -d '{"name":"../etc"}'
expect 400 bad_request POST $U -d '{"name":""}'
expect 400 bad_request POST $U -d '{"name":"ok","complete":"yes"}'
expect 409 conflict POST $U -d '{"name":"v01"}'
head -c 100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
expect 413 too_large POST $U --data-binary "@$T/big.json"
expect 413 too_large POST $U --data-binary "@$T/big.json" -H "Transfer-Encoding: chunked"

# an upload to abuse
expect 201 "" POST $U -d '{"name":"v02"}'
up=$(json 'd["upload"]' <"$T/body")
B=/v1/uploads/$up

# manifests: wrong sizes, wrong chunking, traversal, oversize
python3 -c "import os,sys; sys.stdout.buffer.write(os.urandom(32))" >"$T/ids2"
expect 400 bad_request PUT "$B/files/f?size=10&chunk_size=65536" --data-binary "@$T/ids2"
expect 400 bad_request PUT "$B/files/f?size=70000&chunk_size=4096" --data-binary "@$T/ids2"
expect 400 bad_request PUT "$B/files/f?chunk_size=65536" --data-binary "@$T/ids2"
expect 400 bad_request PUT "$B/files/f?size=-1&chunk_size=65536" --data-binary "@$T/ids2"
expect 400 bad_request PUT "$B/files/../f?size=70000&chunk_size=65536" --path-as-is --data-binary "@$T/ids2"
expect 400 bad_request PUT "$B/files/f?size=70000&chunk_size=65536&mode=99999" --data-binary "@$T/ids2"
head -c 70000 /dev/urandom >"$T/ids-big"
expect 413 too_large PUT "$B/files/f?size=286720000&chunk_size=65536" --data-binary "@$T/ids-big"
expect 415 unsupported_encoding PUT "$B/files/f?size=70000&chunk_size=65536" --data-binary "@$T/ids2" -H "Content-Encoding: gzip"
expect 400 bad_request PUT "$B/files/f?size=70000&chunk_size=65536" --data-binary "@$T/ids2" -H "Content-Encoding: zstd" -H "X-Ck-Raw-Length: 32"
expect 413 too_large PUT "$B/files/f?size=70000&chunk_size=65536" --data-binary "@$T/ids2" -H "Content-Encoding: zstd" -H "X-Ck-Raw-Length: 999999999"
# a valid manifest of two unknown chunks: both are asked for
expect 200 "" PUT "$B/files/f?size=70000&chunk_size=65536" --data-binary "@$T/ids2"
[ "$(od -An -tu1 "$T/body" | tr -d ' ')" = 3 ] || fail "missing bitmap"

# chunk frames: wrong bytes for the ID, unrequested, truncated, bad length
frame() { # ID-FILE OFFSET LEN BYTES-LEN: ID + u32 length + bytes
  python3 - "$@" <<'PY'
import struct, sys, os
ids = open(sys.argv[1], 'rb').read()
off, n, blen = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sys.stdout.buffer.write(ids[off:off+16] + struct.pack('<I', n) + os.urandom(blen))
PY
}
frame "$T/ids2" 0 65536 65536 >"$T/f-mismatch"
expect 422 chunk_mismatch POST "$B/chunks" --data-binary "@$T/f-mismatch"
frame "$T/ids2" 16 4464 4464 >"$T/f-short-ok-len"
frame "$T/ids2" 16 100 100 >"$T/f-badlen"
expect 422 chunk_mismatch POST "$B/chunks" --data-binary "@$T/f-badlen"
python3 -c "import os,sys,struct; sys.stdout.buffer.write(os.urandom(16)+struct.pack('<I',4096)+os.urandom(4096))" >"$T/f-unasked"
expect 400 bad_request POST "$B/chunks" --data-binary "@$T/f-unasked"
head -c 4000 "$T/f-mismatch" >"$T/f-trunc"
expect 400 bad_request POST "$B/chunks" --data-binary "@$T/f-trunc"
head -c 10 "$T/f-mismatch" >"$T/f-trunc-hdr"
expect 400 bad_request POST "$B/chunks" --data-binary "@$T/f-trunc-hdr"
frame "$T/ids2" 0 0 0 >"$T/f-zero"
expect 400 bad_request POST "$B/chunks" --data-binary "@$T/f-zero"
frame "$T/ids2" 0 99999999 0 >"$T/f-huge"
expect 400 bad_request POST "$B/chunks" --data-binary "@$T/f-huge"
head -c 2000000 /dev/zero >"$T/zeros"
expect 413 too_large POST "$B/chunks" --data-binary "@$T/zeros"
# entries: malformed
expect 400 bad_json POST "$B/entries" -d 'entries'
expect 400 bad_request POST "$B/entries" -d '{"entries": 5}'
expect 400 bad_request POST "$B/entries" -d '{"entries": [{"path": "../x", "type": "dir"}]}'
expect 400 bad_request POST "$B/entries" -d '{"entries": [{"path": "l", "type": "symlink"}]}'
expect 400 bad_request POST "$B/entries" -d '{"entries": [{"path": "d", "type": "fifo"}]}'
expect 400 bad_request POST "$B/entries" -d '{"entries": [{"path": "d", "type": "dir", "mode": "0755"}]}'
# a commit with chunks that never came fails and drops the upload
expect 400 bad_request POST "$B/commit" -d '{}'
expect 404 not_found POST "$B/commit" -d '{}'
expect 404 not_found PUT "/v1/uploads/0123456789abcdef0123456789abcdef/files/f?size=1&chunk_size=65536" -d x

# transport-level truncation: a body shorter than its Content-Length,
# then the client goes away; and a client that sends half a request line
python3 - "$PORT" "$TOK_ADMIN" <<'PY'
import socket, sys
port, tok = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(("POST /v1/containers/pyweb/uploads HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Bearer %s\r\nContent-Length: 1000\r\n\r\n{\"name\":" % tok).encode())
s.close()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /v1/hea")
s.close()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GARBAGE\r\n\r\n")
print(s.recv(100).split(b"\r\n")[0].decode())
s.close()
PY

# still serving, nothing was committed, the repository is intact
expect 200 "" GET /v1/health
[ "$(json 'len(d)' < <(cks versions pyweb --json))" -eq 1 ] || fail "a bad request committed something"
cks -q push pyweb "$src/v02"
cks -q restore pyweb --version v02 "$T/r"
same_tree "$src/v02" "$T/r"
cks fsck || fail "fsck after the catalogue"
[ "$(metric ckstored_upload_chunks_rejected_total)" -ge 2 ] || fail "rejected chunks metric"
stop_server
echo "bad requests: all answered 4xx, server and repository fine"
