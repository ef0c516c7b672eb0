#!/usr/bin/env bash
# ckstore-fuse, the life of a version being written: what CRIU and runc
# do in an image directory (openat relative to the directory, pwrite at
# offsets, truncate, chmod, utimens, rename, unlink, rmdir, symlink,
# fallocate(PUNCH_HOLE), fsync) reaches the stored version; a dump
# without stats-dump is stored as incomplete after the idle timeout and
# at unmount, a truncated one too; a killed ckstore-fuse leaves the
# repository fsck-clean and the next mount stores what it left; the
# daemon exits on fusermount3 -u and on SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fuselib.sh"

src=$(series pyweb-direct)
R=$T/repo M=$T/mnt
ck -q --repo "$R" init
mount_fs "$R" "$M" --idle-timeout 2
pid=$FUSE_PID

# --- POSIX operations inside a version being written --------------------
mkdir "$M/c"
mkdir "$M/c/w1"
python3 - "$M/c/w1" <<'PY' || fail "posix operations"
import errno, os, sys
d = sys.argv[1]
dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
# openat relative to the directory, pwrite at offsets (out of order)
fd = os.open("a.img", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640, dir_fd=dfd)
os.pwrite(fd, b"B" * 5000, 5000)
os.pwrite(fd, b"A" * 5000, 0)
os.fsync(fd)
os.close(fd)
assert open(os.path.join(d, "a.img"), "rb").read() == b"A" * 5000 + b"B" * 5000
# truncate, chmod, utimens
os.truncate(os.path.join(d, "a.img"), 6000)
os.chmod("a.img", 0o600, dir_fd=dfd)
os.utime("a.img", ns=(1500000000123456789, 1500000000123456789), dir_fd=dfd)
st = os.stat("a.img", dir_fd=dfd)
assert st.st_size == 6000 and st.st_mode & 0o777 == 0o600, st
assert st.st_mtime_ns == 1500000000123456789, st.st_mtime_ns
# punch a hole (criu --auto-dedup): the range reads back as zeros
fd = os.open("a.img", os.O_RDWR, dir_fd=dfd)
try:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    r = libc.fallocate(fd, 3, ctypes.c_long(4096), ctypes.c_long(1024))
    assert r == 0 or ctypes.get_errno() == errno.EOPNOTSUPP, ctypes.get_errno()
    if r == 0:
        b = os.pread(fd, 6000, 0)
        assert b[:4096] == b"A" * 4096 and b[4096:5000] == bytes(904), "hole"
finally:
    os.close(fd)
os.utime("a.img", ns=(1500000000123456789, 1500000000123456789), dir_fd=dfd)
# rename over an existing file, unlink, a subdirectory and rmdir
open(os.path.join(d, "tmp"), "w").write("x")
open(os.path.join(d, "old"), "w").write("old")
os.rename("tmp", "old", src_dir_fd=dfd, dst_dir_fd=dfd)
assert open(os.path.join(d, "old")).read() == "x"
os.unlink("old", dir_fd=dfd)
os.mkdir("sub", dir_fd=dfd)
open(os.path.join(d, "sub", "f"), "w").write("f")
try:
    os.rmdir(os.path.join(d, "sub"))
    raise SystemExit("rmdir of a non-empty directory worked")
except OSError as e:
    assert e.errno == errno.ENOTEMPTY, e
os.rename(os.path.join(d, "sub"), os.path.join(d, "sub2"))
assert open(os.path.join(d, "sub2", "f")).read() == "f"
os.mkdir(os.path.join(d, "gone"))
os.rmdir(os.path.join(d, "gone"))
# the parent link, relative, read back as written
os.symlink("../w0", "parent", dir_fd=dfd)
assert os.readlink("parent", dir_fd=dfd) == "../w0"
# O_APPEND and a rename into another version (EXDEV)
fd = os.open(os.path.join(d, "log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
os.write(fd, b"1"); os.write(fd, b"2"); os.close(fd)
assert open(os.path.join(d, "log")).read() == "12"
os.mkdir(os.path.join(os.path.dirname(d), "w2"))
try:
    os.rename(os.path.join(d, "log"), os.path.join(os.path.dirname(d), "w2", "log"))
    raise SystemExit("rename across versions worked")
except OSError as e:
    assert e.errno == errno.EXDEV, e
os.rmdir(os.path.join(os.path.dirname(d), "w2"))  # an empty dump: gone
# statfs works and names a large block size or the spool's
sv = os.statvfs(d)
assert sv.f_bsize > 0 and sv.f_namemax == 255
# stats-dump last: the version seals, fsync of the directory waits for
# the commit
fd = os.open("stats-dump", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=dfd)
os.write(fd, b"stats")
os.close(fd)
os.fsync(dfd)
try:
    open(os.path.join(d, "late"), "w")
    raise SystemExit("a sealed version took a new file")
except OSError as e:
    assert e.errno == errno.EROFS, e
os.close(dfd)
PY
[ -e "$M/c/w2" ] && fail "removed version still listed"
ck --repo "$R" versions c --json >"$T/v.json"
[ "$(json '[(v["name"], v["state"]) for v in d]' <"$T/v.json")" = "[('w1', 'complete')]" ] || fail "versions: $(cat "$T/v.json")"
ck --repo "$R" restore c --version w1 "$T/w1"
same_tree "$T/w1" "$M/c/w1"
[ "$(stat -c %Y "$T/w1/a.img")" = 1500000000 ] || fail "mtime not stored"
[ "$(readlink "$T/w1/parent")" = ../w0 ] || fail "parent link not stored"

# --- abandoned dumps ---------------------------------------------------------
# No stats-dump: stored as incomplete once idle for --idle-timeout.
"$CRIU_WRITER" --no-stats "$src/v01" "$M/c/v01" || fail "writer"
wait_version "$R" c v01 incomplete
cmp <(cd "$src/v01" && ls | grep -vx stats-dump) <(ls "$M/c/v01") || fail "files of the incomplete version"
expect_errno EROFS "open('$M/c/v01/stats-dump', 'w')"
# A writer that died in the middle of a pages file: stored as it is.
set +e; "$CRIU_WRITER" --stop-after 3000000 "$src/v02" "$M/c/v02"; rc=$?; set -e
[ "$rc" = 3 ] || fail "writer did not stop ($rc)"
wait_version "$R" c v02 incomplete
[ "$(stat -c %s "$M/c/v02/pages-1.img")" = 3000000 ] || fail "truncated pages size"
cmp -n 3000000 "$src/v02/pages-1.img" "$M/c/v02/pages-1.img" || fail "truncated pages content"
# The newest complete version is still "latest".
ck --repo "$R" versions c --json >"$T/v.json"
[ "$(json '[v["name"] for v in d if v["state"] == "complete"]' <"$T/v.json")" = "['w1']" ] || fail "complete set"

# An abandoned dump is stored at unmount too (long idle timeout).
umount_fs "$M" "$pid"
mount_fs "$R" "$M" --idle-timeout 3600
pid=$FUSE_PID
"$CRIU_WRITER" --no-stats "$src/v03" "$M/c/v03" || fail "writer"
ck --repo "$R" versions c --json >"$T/v.json"
[ "$(json '[v["name"] for v in d if v["name"] == "v03"]' <"$T/v.json")" = "[]" ] || fail "v03 stored early"
umount_fs "$M" "$pid"
wait_version "$R" c v03 incomplete

# --- kill -9 ---------------------------------------------------------------
mount_fs "$R" "$M" --idle-timeout 3600
pid=$FUSE_PID
"$CRIU_WRITER" "$src/v04" "$M/c/v04" || fail "writer"
"$CRIU_WRITER" --no-stats "$src/v05" "$M/c/v05" || fail "writer"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
fusermount3 -u -z "$M" 2>/dev/null || umount -l "$M" 2>/dev/null || true
ck --repo "$R" fsck >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out" >&2; fail "fsck after kill -9"; }
wait_version "$R" c v04 complete
# The next mount stores what the killed one left in its spool.
mount_fs "$R" "$M" --idle-timeout 3600
pid=$FUSE_PID
wait_version "$R" c v05 incomplete
same_tree "$src/v04" "$M/c/v04"
umount_fs "$M" "$pid"
ck --repo "$R" fsck >/dev/null 2>&1 || fail "fsck after recovery"

# --- daemon mode, SIGTERM ---------------------------------------------------
"$CKSTORE_FUSE" --repo "$R" "$M" || fail "daemon did not start"
MOUNTS+=("$M")
mountpoint -q "$M" || fail "daemon: not mounted"
dpid=$(pgrep -f -n "^$CKSTORE_FUSE --repo $R $M\$" || true)
[ -n "$dpid" ] || fail "daemon process not found"
FUSE_PIDS+=("$dpid")
[ -d "$M/c/w1" ] || fail "daemon: no versions"
# A second mount of the same repository is refused, naming the holder.
mkdir -p "$T/mnt2"
expect_fail 1 "$CKSTORE_FUSE" -f --repo "$R" "$T/mnt2"
grep -q "held by" "$T/err" || fail "second mount: $(cat "$T/err")"
fusermount3 -u "$M"
for i in $(seq 100); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$dpid" 2>/dev/null && fail "daemon still running after fusermount3 -u"

mount_fs "$R" "$M"
pid=$FUSE_PID
kill -TERM "$pid"
for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "still running after SIGTERM"
wait "$pid" || fail "exit status after SIGTERM"
mountpoint -q "$M" && fail "still mounted after SIGTERM"

# --- usage ------------------------------------------------------------------
"$CKSTORE_FUSE" --help >"$T/help" || fail "--help"
[ "$(awk 'length > 80' "$T/help")" = "" ] || fail "--help wider than 80 columns"
expect_fail 2 "$CKSTORE_FUSE" --bogus "$M"
[ -s "$T/out" ] && fail "usage error on stdout"
expect_fail 2 "$CKSTORE_FUSE" "$M"
echo ok
