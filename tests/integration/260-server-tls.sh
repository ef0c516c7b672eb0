#!/usr/bin/env bash
# ckstored over TLS (libmicrohttpd with GnuTLS): push and restore with
# the CA given to the CLI; without it, or with plain HTTP, it fails.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
command -v openssl >/dev/null || skip "openssl is not installed"
src=$(series pyweb-direct)
R=$T/repo
ck --repo "$R" init 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
write_config "$T/ckstored.conf" "tls = yes
tls_cert = $T/cert.pem
tls_key = $T/key.pem"
start_server "$R" --config "$T/ckstored.conf"
URL=https://127.0.0.1:$PORT
cks --cacert "$T/cert.pem" -q push pyweb "$src/v01"
CKSTORE_CACERT=$T/cert.pem cks -q restore pyweb "$T/r"
same_tree "$src/v01" "$T/r"
expect_fail 1 cks versions pyweb
grep -q "cacert" "$T/err" || fail "no CA hint"
expect_fail 1 "$CKSTORE" --server "http://127.0.0.1:$PORT" --token "$TOK_ADMIN" versions pyweb
stop_server
echo "tls: push and restore over https"
