#!/usr/bin/env bash
# Incremental chains (made from the real full dumps with tools/mkchain,
# exactly as CRIU writes them): every version restores flattened to the
# page content of the full dump, kind/parent/group are known, and a
# flattened restore keeps working after every ancestor was removed.
. "$(dirname "$0")/lib.sh"
MKCHAIN=${MKCHAIN:?set MKCHAIN}

# pages_equal FULL FLAT: same page content at every virtual address.
pages_equal() {
  python3 - "$1" "$2" <<'PY'
import struct, sys, os, glob
def varint(b, i):
    r = s = 0
    while True:
        c = b[i]; i += 1; r |= (c & 0x7f) << s; s += 7
        if c < 0x80: return r, i
def msg(b):
    i, out = 0, {}
    while i < len(b):
        k, i = varint(b, i)
        if k & 7 == 0: v, i = varint(b, i)
        elif k & 7 == 2: n, i = varint(b, i); v = b[i:i+n]; i += n
        else: raise SystemExit("wire type")
        out[k >> 3] = v
    return out
def pages(d):
    out = {}
    for pm in glob.glob(os.path.join(d, "pagemap-*.img")):
        b = open(pm, "rb").read()
        assert struct.unpack_from("<II", b, 0) == (0x54564319, 0x56084025)
        i, recs = 8, []
        while i < len(b):
            (n,) = struct.unpack_from("<I", b, i); recs.append(msg(b[i+4:i+4+n])); i += 4 + n
        head, ents = recs[0], recs[1:]
        f = open(os.path.join(d, "pages-%d.img" % head[1]), "rb")
        for e in ents:
            assert e.get(4, 4) & 1 == 0, "flattened image still has PE_PARENT"
            if e.get(4, 4) & 4:
                for k in range(e.get(5, e.get(2, 0))):
                    out[(pm.split("/")[-1], e[1] + 4096 * k)] = f.read(4096)
    return out
a, b = pages(sys.argv[1]), pages(sys.argv[2])
if a != b:
    raise SystemExit("page content differs: %d vs %d pages" % (len(a), len(b)))
PY
}

for s in $(all_series); do
  src=$(series "$s")
  for mode in plain predump; do
    opt=; [ $mode = predump ] && opt=--predump-first
    "$MKCHAIN" $opt "$T/chain-$s-$mode" "$src"/v* >/dev/null
    R=$T/repo-$s-$mode
    ck --repo "$R" init 2>/dev/null
    for v in "$T/chain-$s-$mode"/v*; do ck -q --repo "$R" push "$s" "$v"; done
    ck --repo "$R" versions "$s" --json >"$T/v.json"
    [ "$(json 'all(v["chain"] == "flattened" for v in d[1:])' <"$T/v.json")" = True ] || fail "chain state"
    [ "$(json 'all(v["parent"] == d[i]["name"] for i, v in enumerate(d[1:]))' <"$T/v.json")" = True ] || fail "parents"
    if [ $mode = predump ]; then
      [ "$(json 'd[0]["kind"]' <"$T/v.json")" = pre-dump ] || fail "pre-dump kind"
      [ "$(json 'all(v["group"] == 1 for v in d)' <"$T/v.json")" = True ] || fail "version group"
    else
      [ "$(json 'd[0]["kind"]' <"$T/v.json")" = dump ] || fail "dump kind"
    fi
    last=
    for v in "$src"/v*; do
      n=$(basename "$v")
      ck -q --repo "$R" restore "$s" --version "$n" --flatten "$T/flat"
      [ ! -e "$T/flat/parent" ] || fail "flattened $n still has a parent link"
      if [ $mode = plain ] || [ "$n" != v01 ]; then pages_equal "$v" "$T/flat" || fail "$s/$n pages"; fi
      # every other file is as in the full dump
      for f in "$v"/*; do
        b=$(basename "$f")
        case $b in pagemap-*|pages-*) continue ;; esac
        [ $mode = predump ] && [ "$n" = v01 ] && continue
        cmp -s "$f" "$T/flat/$b" || fail "$s/$n/$b differs"
      done
      rm -rf "$T/flat"
      last=$n
    done
    # remove every ancestor of the last version; it still restores alone
    for v in "$src"/v*; do
      n=$(basename "$v"); [ "$n" = "$last" ] && break
      ck -q --repo "$R" rm "$s" "$n"
    done
    ck -q --repo "$R" fsck || fail "fsck after removing ancestors"
    ck -q --repo "$R" restore "$s" --version "$last" --flatten "$T/flat"
    pages_equal "$src/$last" "$T/flat" || fail "$s/$last after rm"
    rm -rf "$T/flat"
    echo "$s ($mode chain): every version flattens to its full dump; $last survives its ancestors"
  done
done

# A version whose parent was never stored cannot be flattened, and says so.
src=$(series pyweb-direct)
"$MKCHAIN" "$T/c2" "$src/v01" "$src/v02" >/dev/null
R=$T/repo-broken
ck --repo "$R" init 2>/dev/null
ck -q --repo "$R" push web "$T/c2/v02"
[ "$(ck --repo "$R" versions web --json | json 'd[0]["chain"]')" = broken ] || fail "broken chain state"
expect_fail 1 ck --repo "$R" restore web --flatten "$T/nope"
grep -q "cannot be flattened" "$T/err" || fail "broken chain message"
