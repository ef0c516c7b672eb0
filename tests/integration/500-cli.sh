#!/usr/bin/env bash
# CLI hygiene and bad input: help on stdout within 80 columns, usage
# errors exit 2 on stderr, runtime errors exit 1 with a message that names
# the problem, and a failed command leaves the repository as it was.
. "$(dirname "$0")/lib.sh"
src=$(series pyweb-direct)
R=$T/repo

ck --help >"$T/help" 2>"$T/err"
[ -s "$T/help" ] && [ ! -s "$T/err" ] || fail "--help must go to stdout only"
awk 'length > 80 { exit 1 }' "$T/help" || fail "--help wider than 80 columns"
for v in init push versions ls cat restore rm stats fsck; do
  ck "$v" --help >"$T/help" 2>"$T/err" || fail "$v --help exit code"
  grep -q "usage: ckstore" "$T/help" || fail "$v --help text"
  [ ! -s "$T/err" ] || fail "$v --help wrote to stderr"
done
ck --version | grep -q '^ckstore ' || fail "--version"

expect_fail 2 ck
expect_fail 2 ck frobnicate
grep -q "unknown command 'frobnicate'" "$T/err" || fail "unknown command message"
expect_fail 2 ck --bogus
expect_fail 2 ck --repo "$R" push
expect_fail 2 ck --repo "$R" versions --bogus x
grep -q "not valid" "$T/err" || fail "unknown option message"
[ ! -s "$T/out" ] || fail "usage error wrote to stdout"

# Not a repository yet.
expect_fail 1 ck --repo "$R" versions web
grep -q "is not a ckstore repository" "$T/err" || fail "missing repo message"
grep -q "init" "$T/err" || fail "missing repo hint"

ck --repo "$R" init 2>/dev/null
expect_fail 1 ck --repo "$R" init
grep -q "not empty" "$T/err" || fail "init twice message"
expect_fail 2 ck --repo "$T/r2" init --chunk-size 1000
expect_fail 2 ck --repo "$R" push "../evil" "$src/v01"
grep -q "invalid container name" "$T/err" || fail "bad container message"
expect_fail 1 ck --repo "$R" push web "$T/does-not-exist"
grep -q "does-not-exist" "$T/err" || fail "missing dir not named"
grep -q "nothing was committed" "$T/err" || fail "push failure should say nothing was committed"

# A directory CRIU never writes: a FIFO in it. Refused, nothing stored.
mkdir "$T/bad"; cp "$src/v01/stats-dump" "$T/bad/"; mkfifo "$T/bad/fifo"
expect_fail 1 ck --repo "$R" push web "$T/bad"
grep -q "unsupported file type" "$T/err" || fail "fifo message"
grep -q "fifo" "$T/err" || fail "fifo path not named"
expect_fail 1 ck --repo "$R" versions web
grep -q "no container 'web'" "$T/err" || fail "failed push left a container"

ck -q --repo "$R" push web "$src/v01"
expect_fail 1 ck --repo "$R" push web "$src/v01"
grep -q "already exists" "$T/err" || fail "duplicate name message"
ck -q --repo "$R" push web "$src/v01" --name again
expect_fail 1 ck --repo "$R" restore web --version nope "$T/o"
grep -q "no version 'nope'" "$T/err" || fail "missing version message"
mkdir "$T/full"; touch "$T/full/x"
expect_fail 1 ck --repo "$R" restore web "$T/full"
grep -q "not empty" "$T/err" || fail "restore into non-empty dir message"
expect_fail 1 ck --repo "$R" cat web v01 no-such-file
grep -q "no file 'no-such-file'" "$T/err" || fail "cat missing file message"
expect_fail 1 ck --repo "$R" rm web nope
ck -q --repo "$R" rm web again
[ "$(ck --repo "$R" versions web --json | json 'len(d)')" -eq 1 ] || fail "rm"
ck --repo "$R" fsck

# A version without stats-dump is incomplete and never "latest".
mkdir "$T/partial"; cp "$src/v02/"*.img "$T/partial/"
ck -q --repo "$R" push web "$T/partial"
[ "$(ck --repo "$R" versions web --json | json 'd[-1]["state"]')" = incomplete ] || fail "incomplete state"
ck -q --repo "$R" restore web "$T/latest"
same_tree "$src/v01" "$T/latest"
# libcurl is loaded only for --server; a missing one is a clear error.
expect_fail 1 env CKSTORE_LIBCURL=/nonexistent/libcurl.so.4 "$CKSTORE" --server http://127.0.0.1:9 versions web
grep -q "cannot load libcurl" "$T/err" || fail "missing libcurl message"
grep -q "install the libcurl4 package" "$T/err" || fail "missing libcurl hint"
echo "cli checks passed"
