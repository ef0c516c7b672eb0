#!/usr/bin/env bash
# While another process holds the repository, reading verbs work and
# writing verbs say who holds it.
. "$(dirname "$0")/lib.sh"
src=$(series pyweb-direct)
R=$T/repo
ck --repo "$R" init 2>/dev/null
ck -q --repo "$R" push web "$src/v01"
"$CK_TESTTOOL" hold "$R" >"$T/hold.out" &
PIDS+=($!)
for _ in $(seq 50); do grep -q held "$T/hold.out" 2>/dev/null && break; sleep 0.1; done
grep -q held "$T/hold.out" || fail "holder did not start"
ck --repo "$R" versions web >/dev/null
ck --repo "$R" stats >/dev/null
ck -q --repo "$R" restore web "$T/restored"
same_tree "$src/v01" "$T/restored"
ck -q --repo "$R" fsck
expect_fail 1 ck --repo "$R" push web "$src/v02"
grep -q "is held by ck-testtool hold (pid ${PIDS[0]})" "$T/err" || fail "holder not named: $(cat "$T/err")"
expect_fail 1 ck --repo "$R" rm web v01
grep -q "is held by" "$T/err" || fail "rm message"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; PIDS=()
ck -q --repo "$R" push web "$src/v02"
echo "held repository: reads ok, writes refused with the holder named"
