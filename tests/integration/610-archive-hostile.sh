#!/usr/bin/env bash
# Hostile and broken checkpoint archives: each is refused with a message
# naming the member and the reason, exit code 1, nothing committed (same
# versions, same stored bytes, fsck clean, no garbage chunks), nothing
# written outside the staging directory, and the staging directory gone.
source "$(dirname "$0")/lib.sh"

PY=$CK_SRC/tests/tools/podman-archive.py
R=$T/repo
ck --repo "$R" init >/dev/null 2>&1
pyweb=$(series pyweb-direct)
mkdir -p "$T/h" "$T/spool"

# A good archive first: hostile ones are imported into the same container.
python3 "$PY" "$pyweb/v01" "$T/good.tar" --compress none
ck --repo "$R" -q import web "$T/good.tar"
ck --repo "$R" stats --json >"$T/before.json"

# Builds the hostile archives: the good archive's members plus one evil
# member (or a mutation), with python3's tarfile.
python3 - "$T/good.tar" "$T/h" <<'EOF'
import io, os, sys, tarfile
good, out = sys.argv[1], sys.argv[2]
with tarfile.open(good) as t:
    base = [(m, t.extractfile(m).read() if m.isfile() else None) for m in t]

def write(name, extra=(), drop=(), fmt=tarfile.PAX_FORMAT, members=None):
    with tarfile.open(os.path.join(out, name), "w", format=fmt) as o:
        for m, data in (members if members is not None else base):
            if m.name in drop:
                continue
            o.addfile(m, io.BytesIO(data) if data is not None else None)
        for m, data in extra:
            o.addfile(m, io.BytesIO(data) if data is not None else None)

def reg(name, data=b"x"):
    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644
    return (ti, data)

def other(name, kind, link=""):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = link
    ti.mode = 0o644; ti.devmajor, ti.devminor = 1, 3
    return (ti, None)

write("absolute.tar", [reg("/tmp/ck-evil-abs")])
write("dotdot.tar", [reg("../ck-evil-dotdot")])
write("dotdot-inner.tar", [reg("checkpoint/../../ck-evil-inner")])
write("symlink-abs.tar", [other("checkpoint/etc", tarfile.SYMTYPE, "/etc")])
write("symlink-out.tar", [other("checkpoint/up", tarfile.SYMTYPE, "../../..")])
write("symlink-then-file.tar", [other("link", tarfile.SYMTYPE, "checkpoint"),
                                reg("link/inventory.img")])
write("hardlink.tar", [other("checkpoint/hl", tarfile.LNKTYPE, "config.dump")])
write("chardev.tar", [other("checkpoint/null", tarfile.CHRTYPE)])
write("blockdev.tar", [other("checkpoint/sda", tarfile.BLKTYPE)])
write("fifo.tar", [other("checkpoint/fifo", tarfile.FIFOTYPE)])
write("duplicate.tar", [reg("config.dump", b"{}")])
write("below-file.tar", [reg("config.dump/x")])
write("reserved.tar", [reg(".ckstore-archive.json", b"{}")])
write("empty-name.tar", [reg("./")])  # libarchive: a directory with data
write("no-images.tar", members=[b for b in base if not b[0].name.startswith("checkpoint")])
# A truncated pagemap inside a well-formed tar: the image check refuses it.
bad = []
for m, data in base:
    if m.name.endswith("pagemap-6141.img"):
        data = data[: len(data) // 2]
        m = tarfile.TarInfo(m.name); m.size = len(data); m.mode = 0o644
    bad.append((m, data))
write("bad-image.tar", members=bad)
# Many members (a tar bomb by count), and one large member.
write("many.tar", [reg("junk/%05d" % i, b"") for i in range(3000)])
write("big.tar", [reg("big.bin", b"\1" * (12 << 20))])
EOF

# Truncated and corrupt archives.
python3 "$PY" "$pyweb/v02" "$T/v02.tar.zst" --seq 2
python3 "$PY" "$pyweb/v02" "$T/v02.tar.gz" --compress gzip --seq 2
head -c 1000000 "$T/v02.tar.zst" >"$T/h/truncated.tar.zst"
head -c 1000000 "$T/v02.tar.gz" >"$T/h/truncated.tar.gz"
head -c 3000000 "$T/good.tar" >"$T/h/truncated.tar"
cp "$T/v02.tar.gz" "$T/h/corrupt.tar.gz"
printf '\xff\xff\xff\xff\xff\xff\xff\xff' |
  dd of="$T/h/corrupt.tar.gz" bs=1 seek=500000 conv=notrunc status=none
head -c 100000 /dev/urandom >"$T/h/garbage.tar"
: >"$T/h/empty.tar"
# A zstd bomb: 1 GiB of zeros is ~32 KiB compressed; refused by --max-size
# at the member's header, before its data is staged.
python3 - <<'EOF' | zstd -q -19 -o "$T/h/bomb.tar.zst"
import io, sys, tarfile
class Zeros:
    def __init__(self, n): self.n = n
    def read(self, k=-1):
        k = self.n if k < 0 else min(k, self.n); self.n -= k; return bytes(k)
with tarfile.open(fileobj=sys.stdout.buffer, mode="w|") as t:
    ti = tarfile.TarInfo("checkpoint/pages-1.img"); ti.size = 1 << 30
    t.addfile(ti, Zeros(1 << 30))
EOF

refuse() { # archive expected-message [import options...]
  local a=$1 msg=$2; shift 2
  expect_fail 1 ck --repo "$R" import web "$T/h/$a" --name hostile --spool "$T/spool" "$@"
  grep -q "refused\|failed" "$T/err" || { cat "$T/err"; fail "$a: no refusal message"; }
  grep -q "nothing was committed" "$T/err" || { cat "$T/err"; fail "$a: message"; }
  [ -z "${SHOW:-}" ] || cat "$T/err"
  grep -qi -- "$msg" "$T/err" || { cat "$T/err"; fail "$a: expected '$msg'"; }
  [ -z "$(ls -A "$T/spool")" ] || fail "$a: staging directory left behind"
}

refuse absolute.tar "unsafe name"
refuse dotdot.tar "unsafe name"
refuse dotdot-inner.tar "unsafe name"
refuse symlink-abs.tar "leaves the archive"
refuse symlink-out.tar "leaves the archive"
refuse symlink-then-file.tar "not a directory"
refuse hardlink.tar "hard links"
refuse chardev.tar "devices"
refuse blockdev.tar "devices"
refuse fifo.tar "FIFOs"
refuse duplicate.tar "twice"
refuse below-file.tar "not a directory"
refuse reserved.tar "reserved name"
refuse no-images.tar "not a checkpoint archive"
refuse bad-image.tar "pagemap-6141.img"
refuse many.tar "members (--max-members)" --max-members 1000
refuse big.tar "'big.bin': member of 12582912 bytes exceeds" --max-member-size 11M
refuse empty-name.tar "damaged tar archive"
refuse bomb.tar.zst "more than 104857600 bytes" --max-size 100M
refuse truncated.tar.zst "corrupt or truncated"
refuse truncated.tar.gz "corrupt or truncated"
refuse truncated.tar "corrupt or truncated"
refuse corrupt.tar.gz "corrupt or truncated"
refuse garbage.tar "corrupt or truncated"
refuse empty.tar "unrecognized archive format"

# Without libarchive (it is loaded on first use): a message that says
# what to install, nothing imported or exported.
CKSTORE_LIBARCHIVE=/nonexistent/libarchive.so.13 \
  expect_fail 1 ck --repo "$R" import web "$T/good.tar" --name nolib
grep -q "cannot load libarchive.*install the libarchive13 package" "$T/err" ||
  fail "import without libarchive: $(cat "$T/err")"
CKSTORE_LIBARCHIVE=/nonexistent/libarchive.so.13 \
  expect_fail 1 ck --repo "$R" export web "$T/nolib.tar"
grep -q "cannot load libarchive" "$T/err" || fail "export without libarchive: $(cat "$T/err")"
[ ! -e "$T/nolib.tar" ] || fail "export without libarchive left $T/nolib.tar"

# Nothing escaped, nothing was stored.
for f in /tmp/ck-evil-abs "$T/ck-evil-dotdot" "$T/ck-evil-inner" "$T/spool/../ck-evil-dotdot"; do
  [ ! -e "$f" ] || fail "$f was written"
done
ck --repo "$R" stats --json >"$T/after.json"
for k in versions stored_bytes chunks logical_bytes; do
  [ "$(json "d['$k']" <"$T/before.json")" = "$(json "d['$k']" <"$T/after.json")" ] ||
    fail "$k changed by refused imports"
done
ck --repo "$R" versions web | grep -Eq "hostile|nolib" && fail "a hostile version exists"
ck --repo "$R" fsck --json >"$T/fsck.json" || fail "fsck after hostile imports"
[ "$(json 'd.get("garbage_chunks", 0)' <"$T/fsck.json")" = 0 ] || fail "garbage chunks left"

echo "ok"
