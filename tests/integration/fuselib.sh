# Sourced by tests/integration/3xx-*.sh after lib.sh: real ckstore-fuse
# mounts in the scratch directory, unmounted (and their daemons stopped)
# by the EXIT trap before the scratch directory is removed.
# Environment (set by CTest): CKSTORE_FUSE, CRIU_WRITER.
CKSTORE_FUSE=${CKSTORE_FUSE:?set CKSTORE_FUSE to the ckstore-fuse binary}
CRIU_WRITER=${CRIU_WRITER:?set CRIU_WRITER to the criu-writer binary}

[ -c /dev/fuse ] || skip "/dev/fuse is missing"
command -v fusermount3 >/dev/null || skip "fusermount3 is missing"

MOUNTS=()
FUSE_PIDS=()

fuse_cleanup() {
  local m p
  for m in "${MOUNTS[@]}"; do
    mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -u -z "$m" 2>/dev/null || true; }
  done
  for p in "${FUSE_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  cleanup
}
trap fuse_cleanup EXIT

# mount_fs REPO MNT [OPTIONS...]: starts ckstore-fuse in the foreground
# (in the background of this shell), waits until MNT is mounted; the
# daemon's pid is in $FUSE_PID, its stderr in $MNT.log.
mount_fs() {
  local repo=$1 mnt=$2; shift 2
  mkdir -p "$mnt"
  "$CKSTORE_FUSE" -f --repo "$repo" "$@" "$mnt" 2>"$mnt.log" &
  FUSE_PID=$!
  FUSE_PIDS+=("$FUSE_PID")
  MOUNTS+=("$mnt")
  local i
  for i in $(seq 100); do
    mountpoint -q "$mnt" && return 0
    kill -0 "$FUSE_PID" 2>/dev/null || { cat "$mnt.log" >&2; fail "ckstore-fuse exited before mounting $mnt"; }
    sleep 0.05
  done
  fail "$mnt not mounted after 5 s"
}

# mount_remote URL TOKEN MNT [OPTIONS...]: the same against a ckstored
# (remote mode), with a spool of its own beside MNT.
mount_remote() {
  local url=$1 tok=$2 mnt=$3; shift 3
  mkdir -p "$mnt"
  "$CKSTORE_FUSE" -f --server "$url" --token "$tok" --spool "$mnt.spool" "$@" "$mnt" 2>"$mnt.log" &
  FUSE_PID=$!
  FUSE_PIDS+=("$FUSE_PID")
  MOUNTS+=("$mnt")
  local i
  for i in $(seq 100); do
    mountpoint -q "$mnt" && return 0
    kill -0 "$FUSE_PID" 2>/dev/null || { cat "$mnt.log" >&2; fail "ckstore-fuse exited before mounting $mnt"; }
    sleep 0.05
  done
  fail "$mnt not mounted after 5 s"
}

# umount_fs MNT PID: unmounts with fusermount3 -u and checks that the
# daemon exits with status 0 (no leak reported under ASan) within 60 s.
umount_fs() {
  local mnt=$1 pid=$2 rc=0 i
  fusermount3 -u "$mnt" || fail "fusermount3 -u $mnt"
  for i in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "ckstore-fuse $pid still running after unmount"
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$mnt.log" >&2; fail "ckstore-fuse exited $rc"; }
}

# expect_errno ERRNO-NAME PYTHON-STATEMENT: the statement (with os
# imported) must fail with that errno.
expect_errno() {
  python3 - "$1" "$2" <<'PY' || fail "expected $1 from: $2"
import errno, os, sys
want = getattr(errno, sys.argv[1])
try:
    exec(sys.argv[2])
except OSError as e:
    if e.errno == want:
        sys.exit(0)
    print("got %s" % errno.errorcode.get(e.errno, e.errno), file=sys.stderr)
    sys.exit(1)
print("no error", file=sys.stderr)
sys.exit(1)
PY
}

# wait_version REPO CTR NAME STATE: polls `ckstore versions` (read-only,
# beside the mount) until version NAME is listed in STATE (10 s).
wait_version() {
  local i
  for i in $(seq 100); do
    ck --repo "$1" versions "$2" --json 2>/dev/null >"$T/wv.json" &&
      [ "$(json "[v['state'] for v in d if v['name'] == '$3']" <"$T/wv.json")" = "['$4']" ] && return 0
    sleep 0.1
  done
  cat "$T/wv.json" >&2
  fail "version $2/$3 not $4"
}
