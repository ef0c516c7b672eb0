#!/usr/bin/env python3
"""Writes a checkpoint archive in the layout of `podman container checkpoint
--export` (and of the kubelet's checkpoint-<pod>_<ns>-<ctr>-<time>.tar, which
CRI-O writes the same way) from a real CRIU image directory.

Members, in the order Podman's exportCheckpoint() includes them: config.dump,
spec.dump, network.status, stats-dump (CRIU writes it to the work dir, which
Podman sets to the bundle, so it sits at the top), checkpoint/ (the images,
lexical order as Go's filepath.Walk), rootfs-diff.tar, deleted.files. The
JSON files are small but shaped like Podman's; rootfs-diff.tar is a real tar
of one changed file. Owners 0:0, mtimes from the image files.

usage: podman-archive.py IMAGES OUT [--compress none|gzip|zstd] [--ctr NAME]
       [--seq N]
"""
import argparse
import io
import json
import os
import subprocess
import sys
import tarfile


def info(name, size, mode, mtime, kind=tarfile.REGTYPE):
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.mode = mode
    ti.mtime = mtime
    ti.type = kind
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def add_bytes(tf, name, data, mode, mtime):
    tf.addfile(info(name, len(data), mode, mtime), io.BytesIO(data))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("images")
    ap.add_argument("out")
    ap.add_argument("--compress", choices=["none", "gzip", "zstd"],
                    default="zstd")
    ap.add_argument("--ctr", default="pyweb")
    ap.add_argument("--seq", type=int, default=1)
    a = ap.parse_args()

    names = sorted(os.listdir(a.images))
    st_dump = os.path.join(a.images, "stats-dump")
    t0 = int(os.stat(os.path.join(a.images, "inventory.img")).st_mtime)
    cid = "%064x" % (0xC0FFEE + a.seq)
    config = {
        "id": cid, "name": a.ctr, "rootfsImageName": "docker.io/library/python:3.11",
        "rootfsImageID": "%064x" % 0xBEEF, "createdTime": "2026-11-22T03:41:00Z",
        "checkpointedTime": "2026-11-22T03:41:%02dZ" % a.seq,
        "restoredTime": "0001-01-01T00:00:00Z", "checkpointRuntimeName": "crun",
    }
    spec = {
        "ociVersion": "1.1.0",
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["python3", "app.py"],
                    "env": ["PATH=/usr/local/bin:/usr/bin", "PORT=8080"], "cwd": "/app"},
        "root": {"path": "/var/lib/containers/storage/overlay/%s/merged" % cid},
        "hostname": a.ctr,
        "annotations": {"io.podman.annotations.checkpoint.seq": str(a.seq),
                        "org.opencontainers.image.stopSignal": "15"},
        "linux": {"namespaces": [{"type": t} for t in
                                 ("pid", "network", "ipc", "uts", "mount")]},
    }
    network = {"podman": {"interfaces": {"eth0": {"subnets": [
        {"ipnet": "10.88.0.%d/16" % (2 + a.seq % 200), "gateway": "10.88.0.1"}],
        "mac_address": "de:ad:be:ef:00:%02x" % (a.seq % 256)}}}}

    diff = io.BytesIO()
    with tarfile.open(fileobj=diff, mode="w", format=tarfile.PAX_FORMAT) as d:
        log = ("request %d served\n" % a.seq).encode() * (50 + a.seq)
        d.addfile(info("tmp/", 0, 0o1777, t0, tarfile.DIRTYPE))
        d.addfile(info("tmp/app.log", len(log), 0o644, t0), io.BytesIO(log))

    raw = a.out + ".raw" if a.compress != "none" else a.out
    with tarfile.open(raw, "w", format=tarfile.PAX_FORMAT) as tf:
        add_bytes(tf, "config.dump", json.dumps(config, indent=2).encode(), 0o600, t0)
        add_bytes(tf, "spec.dump", json.dumps(spec, indent=2).encode(), 0o600, t0)
        add_bytes(tf, "network.status", json.dumps(network).encode(), 0o600, t0)
        if os.path.exists(st_dump):
            with open(st_dump, "rb") as f:
                add_bytes(tf, "stats-dump", f.read(), 0o644,
                          int(os.stat(st_dump).st_mtime))
        tf.addfile(info("checkpoint", 0, 0o700, t0, tarfile.DIRTYPE))
        for n in names:
            p = os.path.join(a.images, n)
            st = os.lstat(p)
            if n == "stats-dump" or n.startswith("."):
                continue
            if os.path.islink(p):
                ti = info("checkpoint/" + n, 0, 0o777, int(st.st_mtime), tarfile.SYMTYPE)
                ti.linkname = os.readlink(p)
                tf.addfile(ti)
                continue
            with open(p, "rb") as f:
                tf.addfile(info("checkpoint/" + n, st.st_size, st.st_mode & 0o7777,
                                int(st.st_mtime)), f)
        add_bytes(tf, "rootfs-diff.tar", diff.getvalue(), 0o600, t0)
        add_bytes(tf, "deleted.files", json.dumps(["/tmp/stale.pid"]).encode(), 0o600, t0)
    if a.compress == "gzip":
        with open(raw, "rb") as i, open(a.out, "wb") as o:
            subprocess.run(["gzip", "-c", "-6"], stdin=i, stdout=o, check=True)
        os.unlink(raw)
    elif a.compress == "zstd":
        subprocess.run(["zstd", "-q", "-f", "--rm", "-3", raw, "-o", a.out], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
