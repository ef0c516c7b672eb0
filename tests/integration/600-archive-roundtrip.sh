#!/usr/bin/env bash
# Podman/Kubernetes checkpoint archives: import of archives in the Podman
# layout built from the real series (plain, gzip, zstd; from a file and
# from stdin), export in every compression (by file name and to stdout),
# and an independent member-by-member comparison with python3's tarfile:
# names, order, types, modes, owners, mtimes, symlink targets and bytes.
# The CRIU images of an imported version restore byte-exact, and a version
# that was pushed as a directory exports too.
source "$(dirname "$0")/lib.sh"

PY=$CK_SRC/tests/tools/podman-archive.py
R=$T/repo
ck --repo "$R" init >/dev/null 2>&1
pyweb=$(series pyweb-direct)

# members A B: the two archives hold the same members, in the same order,
# with the same metadata and bytes (python3 tarfile; zstd via the CLI).
members() {
  python3 - "$1" "$2" <<'EOF' || fail "archives differ: $1 $2"
import hashlib, subprocess, sys, tarfile
def load(p):
    with open(p, "rb") as f:
        magic = f.read(4)
    if magic == b"\x28\xb5\x2f\xfd":
        # zstd -t also refuses trailing bytes after the frame.
        subprocess.run(["zstd", "-qt", p], check=True)
        src = subprocess.Popen(["zstd", "-dc", p], stdout=subprocess.PIPE).stdout
        t = tarfile.open(fileobj=src, mode="r|")
    elif magic[:2] == b"\x1f\x8b":
        subprocess.run(["gzip", "-t", p], check=True)
        t = tarfile.open(p, "r|*")
    else:
        t = tarfile.open(p, "r|*")
    out = []
    for m in t:
        h = hashlib.sha256(t.extractfile(m).read()).hexdigest() if m.isfile() else None
        out.append((m.name, m.type, m.mode, m.uid, m.gid, m.uname, m.gname,
                    int(m.mtime), m.size, m.linkname, h))
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
for x, y in zip(a, b):
    if x != y:
        print("first difference:\n  %s\n  %s" % (x, y), file=sys.stderr)
        sys.exit(1)
if len(a) != len(b):
    print("%d vs %d members" % (len(a), len(b)), file=sys.stderr)
    sys.exit(1)
EOF
}

# compression FILE: none, gzip or zstd, from the magic bytes.
compression() {
  case $(head -c4 "$1" | od -An -tx1 | tr -d ' \n') in
    28b52ffd) echo zstd ;;
    1f8b*) echo gzip ;;
    *) echo none ;;
  esac
}

mkdir -p "$T/a" "$T/x"
i=0
for c in none gzip zstd; do
  i=$((i + 1))
  v=$(printf v%02d $i)
  ext=$([ $c = none ] && echo tar || { [ $c = gzip ] && echo tar.gz || echo tar.zst; })
  python3 "$PY" "$pyweb/$v" "$T/a/$v.$ext" --compress $c --seq $i
  ck --repo "$R" import web "$T/a/$v.$ext" --json >"$T/imp.json"
  [ "$(json 'd["name"]' <"$T/imp.json")" = "$v" ] || fail "default version name"
  [ "$(json 'd["compression"]' <"$T/imp.json")" = "$c" ] || fail "compression of $v not seen as $c"
  [ "$(json 'd["state"]' <"$T/imp.json")" = complete ] || fail "$v not complete"
  [ "$(json 'd["members"]' <"$T/imp.json")" = 21 ] || fail "$v member count"

  # Export keeps the archive's compression by default (stdout) and
  # takes the file name's otherwise; every result holds the same members.
  ck --repo "$R" export web --version "$v" - >"$T/x/$v.stdout"
  [ "$(compression "$T/x/$v.stdout")" = $c ] || fail "stdout export of $v not $c"
  members "$T/a/$v.$ext" "$T/x/$v.stdout"
  for e in tar tar.gz tgz tar.zst; do
    ck --repo "$R" -q export web --version "$v" "$T/x/$v.$e"
    want=$(case $e in tar) echo none ;; tar.zst) echo zstd ;; *) echo gzip ;; esac)
    [ "$(compression "$T/x/$v.$e")" = "$want" ] || fail "$v.$e is not $want"
    members "$T/a/$v.$ext" "$T/x/$v.$e"
  done
  ck --repo "$R" export web --version "$v" --compress zstd - >"$T/x/$v.forced"
  [ "$(compression "$T/x/$v.forced")" = zstd ] || fail "--compress zstd"

  # The images restore byte-exact (stats-dump sits at the top, as Podman
  # puts it).
  ck --repo "$R" -q restore web --version "$v" "$T/r-$v"
  mkdir "$T/orig-$v"
  cp -a "$pyweb/$v"/. "$T/orig-$v/"
  rm "$T/orig-$v/stats-dump"
  diff -r --no-dereference "$T/orig-$v" "$T/r-$v/checkpoint" >/dev/null ||
    fail "restored images of $v differ"
  cmp -s "$pyweb/$v/stats-dump" "$T/r-$v/stats-dump" || fail "stats-dump of $v"
  [ -f "$T/r-$v/.ckstore-archive.json" ] || fail "no manifest in $v"
done

# Later versions are deltas against the earlier ones, as for push.
ck --repo "$R" versions web --json >"$T/vs.json"
added1=$(json 'd[0]["added_bytes"]' <"$T/vs.json")
added3=$(json 'd[2]["added_bytes"]' <"$T/vs.json")
[ "$added3" -lt $((added1 / 5)) ] || fail "v03 added $added3 bytes, v01 $added1: no dedup"

# stdin, a kubelet-style name (':' is not allowed in version names), and
# a re-export of what was imported from stdin.
k="checkpoint-web-7d9f_default-web-2026-11-22T03:41:51Z.tar"
python3 "$PY" "$pyweb/v04" "$T/a/$k" --compress none --seq 4
ck --repo "$R" -q import web "$T/a/$k"
ck --repo "$R" versions web | grep -q "checkpoint-web-7d9f_default-web-2026-11-22T03_41_51Z" ||
  fail "kubelet archive name not turned into a version name"
python3 "$PY" "$pyweb/v05" "$T/a/v05.tar.zst" --seq 5
ck --repo "$R" -q import web - --name from-stdin <"$T/a/v05.tar.zst"
ck --repo "$R" -q export web --version from-stdin "$T/x/from-stdin.tar.zst"
members "$T/a/v05.tar.zst" "$T/x/from-stdin.tar.zst"
expect_fail 1 ck --repo "$R" import web "$T/a/v05.tar.zst" --name from-stdin
grep -q "already exists" "$T/err" || fail "duplicate name message"

# An archive without stats-dump is an incomplete version, never latest.
python3 - "$T/a/v05.tar.zst" "$T/a/nostats.tar" <<'EOF'
import subprocess, sys, tarfile
src = subprocess.Popen(["zstd", "-dc", sys.argv[1]], stdout=subprocess.PIPE).stdout
with tarfile.open(fileobj=src, mode="r|") as i, tarfile.open(sys.argv[2], "w") as o:
    for m in i:
        if m.name != "stats-dump":
            o.addfile(m, i.extractfile(m) if m.isfile() else None)
EOF
ck --repo "$R" import web "$T/a/nostats.tar" --name crashed --json >"$T/imp.json"
[ "$(json 'd["state"]' <"$T/imp.json")" = incomplete ] || fail "no stats-dump but complete"
ck --repo "$R" export web "$T/x/latest.tar"
members "$T/a/v05.tar.zst" "$T/x/latest.tar"

# Unusual but legal archives keep their form: a "./" root entry and
# "./"-prefixed names, sub-second mtimes, owner names, an extended
# attribute, a non-ASCII name, a symlink that stays inside, GNU format.
for fmt in pax gnu; do
  python3 - "$T/a/v01.tar" "$T/a/odd-$fmt.tar" $fmt <<'EOF'
import io, sys, tarfile
fmt = tarfile.PAX_FORMAT if sys.argv[3] == "pax" else tarfile.GNU_FORMAT
with tarfile.open(sys.argv[1]) as i, tarfile.open(sys.argv[2], "w", format=fmt) as o:
    root = tarfile.TarInfo("./"); root.type = tarfile.DIRTYPE; root.mode = 0o755
    root.mtime = 1700000000
    o.addfile(root)
    for m in i:
        data = i.extractfile(m).read() if m.isfile() else None
        m.name = "./" + m.name
        m.uname, m.gname, m.uid, m.gid = "root", "wheel", 0, 10
        if sys.argv[3] == "pax":
            m.mtime = m.mtime + 0.25
            if m.name.endswith("config.dump"):
                m.pax_headers = {"SCHILY.xattr.user.ckstore": "podman"}
        o.addfile(m, io.BytesIO(data) if data is not None else None)
    data = b"unicode\n"
    ti = tarfile.TarInfo("./artifacts/caf\u00e9 \u2014 notes.txt")
    ti.size = len(data); ti.mode = 0o640; ti.mtime = 1700000001
    o.addfile(ti, io.BytesIO(data))
    ln = tarfile.TarInfo("./checkpoint/config-link"); ln.type = tarfile.SYMTYPE
    ln.linkname = "../config.dump"; ln.mtime = 1700000002
    o.addfile(ln)
EOF
  ck --repo "$R" -q import odd "$T/a/odd-$fmt.tar" --name "odd-$fmt"
  ck --repo "$R" -q export odd --version "odd-$fmt" "$T/x/odd-$fmt.tar"
  members "$T/a/odd-$fmt.tar" "$T/x/odd-$fmt.tar"
  python3 - "$T/a/odd-$fmt.tar" "$T/x/odd-$fmt.tar" <<'EOF' || fail "odd-$fmt: mtimes or xattrs"
import sys, tarfile
def load(p):
    return [(m.name, m.mtime, {k: v for k, v in m.pax_headers.items() if "xattr" in k})
            for m in tarfile.open(p)]
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a == b, [(x, y) for x, y in zip(a, b) if x != y][:3]
EOF
done

# A version pushed as a directory exports its tree (sorted, pax).
ck --repo "$R" -q push plain "$pyweb/v01"
ck --repo "$R" -q export plain "$T/x/plain.tar.gz"
python3 - "$T/x/plain.tar.gz" "$pyweb/v01" <<'EOF' || fail "export of a pushed version"
import os, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    names = [m.name for m in t]
    for m in t:
        if m.isfile():
            with open(os.path.join(sys.argv[2], m.name), "rb") as f:
                assert t.extractfile(m).read() == f.read(), m.name
assert sorted(names) == sorted(os.listdir(sys.argv[2])), names
EOF

# A failed export leaves no file behind.
expect_fail 1 ck --repo "$R" export web --version nosuch "$T/x/none.tar"
[ ! -e "$T/x/none.tar" ] || fail "failed export left a file"
ls "$T/x" | grep -q tmp- && fail "temporary file left behind"

ck --repo "$R" fsck >/dev/null || fail "fsck after imports"
echo "ok"
