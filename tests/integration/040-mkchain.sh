#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 040-mkchain.sh - mkchain turns the pyweb-direct full dumps into a CRIU
# parent chain that restores to exactly the same memory.
#
# Usage: MKCHAIN=/path/to/mkchain [CK_DATA_DIR=/tmp/data] 040-mkchain.sh
#    or: 040-mkchain.sh /path/to/mkchain
#
# For every version N it resolves each page of the chain's vN through
# PE_PARENT entries and the "parent" symlinks (an independent python3
# decoder, no ckstore code) and checks that the result has exactly the
# pages and bytes of full dump vN; that every other file is a byte copy
# with mode and mtime kept; and that most pages became PE_PARENT. It runs
# once plain and once with --predump-first. Exits 77 if the data is absent.
set -euo pipefail

MKCHAIN=${MKCHAIN:-${1:-}}
DATA=${CK_DATA_DIR:-/tmp/data}
SERIES=$DATA/pyweb-direct

if [ -z "$MKCHAIN" ] || [ ! -x "$MKCHAIN" ]; then
	echo "040-mkchain: set MKCHAIN to the mkchain binary" >&2
	exit 2
fi
for v in v01 v02 v03 v04 v05 v06 v07 v08; do
	if [ ! -d "$SERIES/$v" ]; then
		echo "040-mkchain: $SERIES/$v missing: skipped" >&2
		exit 77
	fi
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Usage errors and --help hygiene.
rc=0; "$MKCHAIN" >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" -eq 2 ] && [ -s "$TMP/err" ]
rc=0; "$MKCHAIN" --bogus a b >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" -eq 2 ] && [ -s "$TMP/err" ]
"$MKCHAIN" --help >"$TMP/help" 2>"$TMP/err"
[ -s "$TMP/help" ] && [ ! -s "$TMP/err" ]
[ "$(awk 'length > 80' "$TMP/help" | wc -l)" -eq 0 ]

versions=()
for v in v01 v02 v03 v04 v05 v06 v07 v08; do
	versions+=("$SERIES/$v")
done

"$MKCHAIN" "$TMP/chain" "${versions[@]}" >"$TMP/out"
"$MKCHAIN" --predump-first "$TMP/pchain" "${versions[@]}" >"$TMP/pout"
cat "$TMP/out" >&2

# An existing output dir is an error, not an overwrite.
rc=0; "$MKCHAIN" "$TMP/chain" "$SERIES/v01" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ]
# A chain output is not a full dump.
rc=0; "$MKCHAIN" "$TMP/bad" "$SERIES/v01" "$TMP/chain/v03" \
	>/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ]

python3 - "$SERIES" "$TMP/chain" "$TMP/pchain" <<'EOF'
import os, struct, sys

PAGE = 4096
series, chain, pchain = sys.argv[1:4]
versions = ["v%02d" % i for i in range(1, 9)]

def varint(b, i):
    r = s = 0
    while True:
        c = b[i]; i += 1; r |= (c & 0x7f) << s; s += 7
        if c < 0x80:
            return r, i

def msg(b):
    i, out = 0, {}
    while i < len(b):
        k, i = varint(b, i)
        if k & 7 == 0:
            v, i = varint(b, i)
        else:
            assert k & 7 == 2, "only varint and length-delimited fields"
            n, i = varint(b, i)
            v = b[i:i + n]; i += n
        out[k >> 3] = v
    return out

def records(path, magics):
    b = open(path, "rb").read()
    n = 4 * len(magics)
    assert struct.unpack_from("<%dI" % len(magics), b, 0) == magics, path
    i, recs = n, []
    while i < len(b):
        (ln,) = struct.unpack_from("<I", b, i)
        assert i + 4 + ln <= len(b), path
        recs.append(msg(b[i + 4:i + 4 + ln])); i += 4 + ln
    return recs

def pagemap(d):
    names = [f for f in os.listdir(d) if f.startswith("pagemap-")]
    assert len(names) == 1, d
    recs = records(os.path.join(d, names[0]), (0x54564319, 0x56084025))
    return recs[0][1], recs[1:]

def resolve(d, memo):
    """vaddr -> page bytes for image dir d, following PE_PARENT."""
    d = os.path.realpath(d)
    if d in memo:
        return memo[d]
    pages_id, ents = pagemap(d)
    out, parent = {}, None
    with open(os.path.join(d, "pages-%d.img" % pages_id), "rb") as f:
        data = f.read()
    off = 0
    for e in ents:
        flags, va, n = e.get(4, 4), e[1], e[5]
        assert e.get(2) == 0 and flags in (1, 4, 6), (d, e)
        if flags & 4:
            for k in range(n):
                out[va + k * PAGE] = data[off:off + PAGE]; off += PAGE
        else:
            if parent is None:
                parent = resolve(os.path.join(d, "parent"), memo)
            for k in range(n):
                out[va + k * PAGE] = parent[va + k * PAGE]  # KeyError: hole
    assert off == len(data), "pages file size != PE_PRESENT pages"
    memo[d] = out
    return out

def full(v):
    pages_id, ents = pagemap(os.path.join(series, v))
    data = open(os.path.join(series, v, "pages-%d.img" % pages_id), "rb").read()
    out, off = {}, 0
    for e in ents:
        for k in range(e[5]):
            out[e[1] + k * PAGE] = data[off:off + PAGE]; off += PAGE
    return out

def same_file(a, b):
    sa, sb = os.stat(a), os.stat(b)
    assert open(a, "rb").read() == open(b, "rb").read(), b
    assert sa.st_mode == sb.st_mode and sa.st_mtime_ns == sb.st_mtime_ns, b

def check(root, predump):
    memo, parent_pages, pages = {}, 0, 0
    for i, v in enumerate(versions):
        src, dst = os.path.join(series, v), os.path.join(root, v)
        got, want = resolve(dst, memo), full(v)
        assert got.keys() == want.keys(), v
        bad = [va for va in want if got[va] != want[va]]
        assert not bad, "%s: %d pages differ" % (v, len(bad))
        names = set(os.listdir(dst))
        if i == 0:
            assert "parent" not in names
        else:
            assert os.readlink(os.path.join(dst, "parent")) == "../" + versions[i - 1]
            names.discard("parent")
            _, ents = pagemap(dst)
            parent_pages += sum(e[5] for e in ents if e[4] & 1)
            pages += sum(e[5] for e in ents)
        if i == 0 and predump:
            keep = {f for f in os.listdir(src) if f.startswith(("pagemap-", "pages-"))}
            assert names == keep | {"inventory.img", "stats-dump"}, names
            (inv,) = records(os.path.join(dst, "inventory.img"), (0x58313116,))
            assert inv.get(1) == 0 and inv.get(9) == 1 and 2 not in inv, inv
            same_file(os.path.join(src, "stats-dump"), os.path.join(dst, "stats-dump"))
            continue
        assert names == set(os.listdir(src)), (v, names)
        for f in names:
            if i == 0 or not f.startswith(("pagemap-", "pages-")):
                same_file(os.path.join(src, f), os.path.join(dst, f))
            else:
                st, sd = os.stat(os.path.join(src, f)), os.stat(os.path.join(dst, f))
                assert st.st_mode == sd.st_mode and st.st_mtime_ns == sd.st_mtime_ns, f
        sd, dd = os.stat(src), os.stat(dst)
        assert sd.st_mode == dd.st_mode and sd.st_mtime_ns == dd.st_mtime_ns, v
    return parent_pages, pages

p, n = check(chain, False)
print("040-mkchain: %d of %d pages of v02..v08 are PE_PARENT (%.1f%%)"
      % (p, n, 100.0 * p / n), file=sys.stderr)
assert p * 100 >= 80 * n, "PE_PARENT share too small"
assert check(pchain, True) == (p, n)
EOF
echo "040-mkchain: ok" >&2
