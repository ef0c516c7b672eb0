#!/usr/bin/env python3
"""pagecount.py - count what an exact page-level dedup store must hold for a CRIU series.

An independent reference (python3 standard library only, no ckstore code) for
integration tests of `ckstore stats` and for benchmarks.

Usage:
    pagecount.py SERIES_DIR                  # whole-series summary, JSON on stdout
    pagecount.py SERIES_DIR --per-version    # per-version new-content counts, JSON
    pagecount.py VERSION_DIR                 # a directory without vNN subdirectories
                                             # is counted as a single version

Options:
    --per-version        for each version (in order) report the distinct non-zero
                         pages (and distinct small-file contents) not seen in any
                         earlier version, plus running totals.
    --versions v01,v02   only these version directories (in the given order).
    --unit-pages N       chunk pages-*.img at N-page boundaries (default 1 = 4 KiB);
                         a chunk counts as zero when all its bytes are zero.
    --count-empty        count the empty file as a distinct small-file content
                         (default: empty files need no chunk and are not counted).
    --indent N           JSON indentation (default 2; 0 = one line).

A SERIES_DIR holds version directories named vNN (v01, v02, ... sorted
numerically), each a complete CRIU image directory. Within a version, every
regular file (recursively; symlinks such as `parent` are not followed and not
counted) is either a pages file (name matches `pages-*.img`) or a "small"
file. Pages files are cut into 4 KiB pages (or --unit-pages chunks); each
page is hashed with SHA-256; all-zero pages are counted but not as content.
Small files are hashed whole with SHA-256.

Whole-series JSON keys:
    versions                    version names, in order
    files, symlinks             regular files / symlinks over all versions
    raw_bytes                   sum of the sizes of all regular files of all versions
    pages_files, pages_bytes    pages-*.img files and their total size
    pages                       number of whole units (4 KiB pages) in pages-*.img
    pages_tail_bytes            bytes after the last whole unit (0 for real dumps)
    zero_pages                  all-zero pages (with multiplicity)
    distinct_nonzero_pages      distinct non-zero page contents over the series
    distinct_nonzero_page_bytes bytes of those distinct pages (distinct_nonzero_pages * 4096
                                unless a partial tail chunk is among them)
    small_files, small_bytes    non-pages files and their total size (with multiplicity)
    empty_small_files           empty non-pages files
    distinct_small_contents     distinct whole-file contents of non-pages files
    distinct_small_bytes        total bytes of those distinct contents
    expected_chunks             distinct_nonzero_pages + distinct_small_contents
                                (= `ckstore stats` chunks when the chunk unit is one
                                page and small files are chunked whole)
    expected_chunks_union       size of the union of both sets of hashes (differs from
                                expected_chunks only if a small file equals a page)
    dedup_bytes                 distinct_nonzero_page_bytes + distinct_small_bytes:
                                bytes an exact-dedup store keeps before compression
    dedup_ratio                 raw_bytes / dedup_bytes
    pages_tail_chunks           distinct non-zero partial tail chunks (0 for real dumps;
                                included in distinct_nonzero_pages when present)
"""

import argparse
import fnmatch
import hashlib
import json
import os
import re
import sys

PAGE = 4096
READ_BLOCK = 1 << 20
VERSION_RE = re.compile(r"^v(\d+)$")


def find_versions(series, only=None):
    """Return [(name, path)] of version dirs; a dir without vNN subdirs is one version."""
    if only:
        out = []
        for name in only:
            p = os.path.join(series, name)
            if not os.path.isdir(p):
                sys.exit(f"pagecount: no version directory {p}")
            out.append((name, p))
        return out
    subs = []
    for name in os.listdir(series):
        m = VERSION_RE.match(name)
        p = os.path.join(series, name)
        if m and os.path.isdir(p) and not os.path.islink(p):
            subs.append((int(m.group(1)), name, p))
    if subs:
        subs.sort()
        return [(name, p) for _, name, p in subs]
    return [(os.path.basename(os.path.abspath(series)), series)]


def walk_files(vdir):
    """Yield (relpath, abspath, is_symlink) for every non-directory entry, sorted."""
    for root, dirs, files in os.walk(vdir):
        dirs.sort()
        for d in list(dirs):
            if os.path.islink(os.path.join(root, d)):
                dirs.remove(d)
                yield os.path.relpath(os.path.join(root, d), vdir), os.path.join(root, d), True
        for f in sorted(files):
            p = os.path.join(root, f)
            yield os.path.relpath(p, vdir), p, os.path.islink(p)


def is_pages_file(relpath):
    return fnmatch.fnmatch(os.path.basename(relpath), "pages-*.img")


def iter_units(path, unit):
    """Yield successive chunks of `unit` bytes (the last one may be shorter)."""
    with open(path, "rb") as f:
        rest = b""
        while True:
            block = f.read(READ_BLOCK)
            if not block:
                break
            if rest:
                block = rest + block
                rest = b""
            mv = memoryview(block)
            n = len(block) - len(block) % unit
            for off in range(0, n, unit):
                yield mv[off:off + unit]
            if n < len(block):
                rest = bytes(mv[n:])
        if rest:
            yield memoryview(rest)


class Counter:
    def __init__(self, unit, count_empty):
        self.unit = unit
        self.zero = bytes(unit)
        self.count_empty = count_empty
        self.page_hashes = set()
        self.page_bytes = 0              # bytes of the distinct non-zero chunks
        self.small_hashes = {}           # sha256 -> size
        self.s = dict(files=0, symlinks=0, raw_bytes=0, pages_files=0, pages_bytes=0,
                      pages=0, pages_tail_bytes=0, zero_pages=0, small_files=0,
                      small_bytes=0, empty_small_files=0, pages_tail_chunks=0)

    def add_version(self, vdir):
        """Count one version; return per-version numbers (new contents etc.)."""
        v = dict(files=0, raw_bytes=0, pages=0, zero_pages=0, small_files=0, small_bytes=0)
        vpages, vsmall = set(), set()
        new_pages = new_small = new_small_bytes = 0
        tail_hashes = set()
        for rel, path, link in walk_files(vdir):
            if link:
                self.s["symlinks"] += 1
                continue
            if not os.path.isfile(path):
                continue
            size = os.path.getsize(path)
            self.s["files"] += 1
            self.s["raw_bytes"] += size
            v["files"] += 1
            v["raw_bytes"] += size
            if is_pages_file(rel):
                self.s["pages_files"] += 1
                self.s["pages_bytes"] += size
                for chunk in iter_units(path, self.unit):
                    if len(chunk) < self.unit:
                        self.s["pages_tail_bytes"] += len(chunk)
                        if chunk == self.zero[:len(chunk)]:
                            continue
                        h = hashlib.sha256(chunk).digest()
                        tail_hashes.add(h)
                    else:
                        self.s["pages"] += 1
                        v["pages"] += 1
                        if chunk == self.zero:
                            self.s["zero_pages"] += 1
                            v["zero_pages"] += 1
                            continue
                        h = hashlib.sha256(chunk).digest()
                    vpages.add(h)
                    if h not in self.page_hashes:
                        self.page_hashes.add(h)
                        self.page_bytes += len(chunk)
                        new_pages += 1
                        if h in tail_hashes:
                            self.s["pages_tail_chunks"] += 1
            else:
                self.s["small_files"] += 1
                self.s["small_bytes"] += size
                v["small_files"] += 1
                v["small_bytes"] += size
                if size == 0:
                    self.s["empty_small_files"] += 1
                    if not self.count_empty:
                        continue
                hs = hashlib.sha256()
                with open(path, "rb") as f:
                    for block in iter(lambda: f.read(READ_BLOCK), b""):
                        hs.update(block)
                h = hs.digest()
                vsmall.add(h)
                if h not in self.small_hashes:
                    self.small_hashes[h] = size
                    new_small += 1
                    new_small_bytes += size
        v.update(distinct_nonzero_pages=len(vpages),
                 new_distinct_nonzero_pages=new_pages,
                 distinct_small_contents=len(vsmall),
                 new_distinct_small_contents=new_small,
                 new_distinct_small_bytes=new_small_bytes,
                 new_chunks=new_pages + new_small,
                 cumulative_distinct_nonzero_pages=len(self.page_hashes),
                 cumulative_distinct_small_contents=len(self.small_hashes),
                 cumulative_expected_chunks=len(self.page_hashes) + len(self.small_hashes),
                 cumulative_raw_bytes=self.s["raw_bytes"])
        return v

    def summary(self):
        s = dict(self.s)
        s["distinct_nonzero_pages"] = len(self.page_hashes)
        s["distinct_nonzero_page_bytes"] = self.page_bytes
        s["distinct_small_contents"] = len(self.small_hashes)
        s["distinct_small_bytes"] = sum(self.small_hashes.values())
        s["expected_chunks"] = len(self.page_hashes) + len(self.small_hashes)
        s["expected_chunks_union"] = len(self.page_hashes | set(self.small_hashes))
        s["dedup_bytes"] = s["distinct_nonzero_page_bytes"] + s["distinct_small_bytes"]
        s["dedup_ratio"] = round(s["raw_bytes"] / s["dedup_bytes"], 4) if s["dedup_bytes"] else None
        return s


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Count raw bytes, pages, distinct non-zero pages and distinct small-file "
                    "contents of a CRIU checkpoint series (JSON output).")
    ap.add_argument("series", help="series directory with vNN version dirs (or one version dir)")
    ap.add_argument("--per-version", action="store_true",
                    help="per version: distinct non-zero pages not seen in earlier versions")
    ap.add_argument("--versions", help="comma-separated version names to count, in this order")
    ap.add_argument("--unit-pages", type=int, default=1,
                    help="chunk unit for pages files, in 4 KiB pages (default 1)")
    ap.add_argument("--count-empty", action="store_true",
                    help="count an empty file as a small-file content")
    ap.add_argument("--indent", type=int, default=2, help="JSON indent (0 = compact)")
    a = ap.parse_args(argv)

    if not os.path.isdir(a.series):
        sys.exit(f"pagecount: not a directory: {a.series}")
    if a.unit_pages < 1:
        sys.exit("pagecount: --unit-pages must be >= 1")
    only = [x for x in a.versions.split(",") if x] if a.versions else None
    versions = find_versions(a.series, only)
    c = Counter(PAGE * a.unit_pages, a.count_empty)
    per = []
    for name, path in versions:
        v = c.add_version(path)
        per.append(dict(version=name, **v))
    out = dict(series=os.path.abspath(a.series), unit_bytes=c.unit,
               versions=[n for n, _ in versions])
    if a.per_version:
        out["per_version"] = per
        out["total"] = c.summary()
    else:
        out.update(c.summary())
    json.dump(out, sys.stdout, indent=a.indent or None, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
