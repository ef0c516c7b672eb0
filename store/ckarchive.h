/* SPDX-License-Identifier: MIT */
/*
 * ckarchive.h - Podman and Kubernetes checkpoint archives in and out.
 * (Not "archive.h": store/ is on every program's include path, and that
 * name would shadow libarchive's <archive.h>.)
 *
 * `podman container checkpoint --export FILE` and the kubelet's checkpoint
 * API (checkpoint-<pod>_<ns>-<ctr>-<time>.tar, written by CRI-O) produce
 * a tar archive, plain or compressed with gzip or zstd, that holds the
 * container's bundle:
 *
 *   checkpoint/        the CRIU image directory (pages-*.img, ...)
 *   config.dump        the container's configuration (JSON)
 *   spec.dump          its OCI runtime spec (JSON)
 *   rootfs-diff.tar    files the container changed in its root file system
 *   deleted.files, network.status, bind.mounts, stats-dump, dump.log, ...
 *
 * Import makes one version of a container from such an archive: every
 * member becomes an entry of the version under its own path, so the CRIU
 * images under checkpoint/ are chunked like those of any pushed directory
 * (pages files at the repository's chunk unit, placed in memory by their
 * pagemap, deltas against the container's previous version) and the
 * other members are ordinary files. The version also holds
 * CK_ARCHIVE_MANIFEST, a JSON file that keeps what a directory tree does
 * not: the members' names as written (a leading "./", a trailing '/'),
 * their order, owner names, times and extended attributes, the tar format
 * and the compression. Export writes the members back in that order with
 * that metadata, so an exported archive holds the same members with the
 * same bytes as the imported one, and `podman container restore --import`
 * accepts it.
 *
 * Import in three steps, so that a refused archive stores nothing:
 *   1. Read the archive with libarchive (tar formats only; gzip, zstd or
 *      no compression) into a private staging directory (mkdtemp, 0700):
 *      each member is created with openat() relative to directories the
 *      import made itself, O_EXCL|O_NOFOLLOW, so no member can write
 *      outside it. Refused: absolute paths, ".." and "." components,
 *      empty names, hard links, devices, FIFOs, sockets, symlinks whose
 *      target is absolute or leaves the archive, a member below a
 *      non-directory, the same path twice, names longer than
 *      CK_PATH_MAX, more members or bytes than the limits (a tar bomb is
 *      refused at the header that crosses them, before its data is
 *      written), and a truncated or corrupt archive or compressed stream.
 *   2. ck_push_dir() on the staging directory with the members' own
 *      metadata (ck_push_opts.meta): it validates every CRIU image before
 *      opening a session and commits the version in one atomic batch.
 *   3. The staging directory is removed, whatever happened.
 *
 * The version is complete if the archive holds a regular `stats-dump`
 * (Podman and CRI-O put CRIU's at the top; a CRIU image directory has it
 * inside checkpoint/) unless the caller says otherwise.
 *
 * A version that was pushed as a directory has no manifest; export then
 * writes its entries sorted by path, in pax format.
 *
 * ckarchive.c and the server's tar stream are the only files that include
 * libarchive's <archive.h>.
 *
 * Errors: negative errno, as repo.h; in addition -EINVAL: the archive is
 * refused (o->errmsg says why, o->errmember names the member); -E2BIG:
 * a member count or size limit was exceeded; -EBADMSG: corrupt or
 * truncated archive, an invalid CRIU image, or a version that does not
 * match its manifest.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "repo.h"

/* The file in an imported version that describes the archive. */
#define CK_ARCHIVE_MANIFEST ".ckstore-archive.json"

enum ck_archive_compression {
	CK_ARCHIVE_AUTO = -1, /* export: as imported (none if unknown) */
	CK_ARCHIVE_NONE = 0,
	CK_ARCHIVE_GZIP = 1,
	CK_ARCHIVE_ZSTD = 2,
};

struct ck_archive_limits {
	uint64_t max_members;	   /* headers, directories included */
	uint64_t max_member_bytes; /* size of one member */
	uint64_t max_total_bytes;  /* sum of member sizes */
};

#define CK_ARCHIVE_LIMITS_DEFAULT                                         \
	{ 100000, 64ull << 30, 256ull << 30 }

struct ck_archive_import_opts {
	const char *name;	/* version name (required) */
	const char *source;	/* the archive's name, kept in the manifest */
	int complete;		/* -1: a stats-dump member decides; 0/1 */
	const char *spool;	/* staging parent dir; NULL: $TMPDIR, else
				 * /var/tmp */
	struct ck_archive_limits limits;
	void (*progress)(void *ud, uint64_t done, uint64_t total);
	void *progress_ud;
	/* out */
	char errmember[CK_PATH_MAX + 1]; /* the member refused, or "" */
	char errmsg[256];		 /* why, or "" */
	uint64_t members, bytes;	 /* what the archive held */
	enum ck_archive_compression compression;
};

/* Reads a tar archive from @fd (not seeked: a pipe works) and commits it
 * as a new version of @container named o->name. */
int ck_archive_import(struct ck_repo *r, const char *container, int fd,
		      struct ck_archive_import_opts *o,
		      struct ck_version *ret);

struct ck_archive_export_opts {
	enum ck_archive_compression compression;
	/* out */
	char errmsg[256];
	uint64_t members, bytes;
};

/* Writes version @v as a tar archive to @fd. */
int ck_archive_export(struct ck_repo *r, const struct ck_version *v, int fd,
		      struct ck_archive_export_opts *o);

/* The compression a file name asks for: ".tar" none, ".tar.gz"/".tgz"
 * gzip, ".tar.zst"/".tar.zstd"/".tzst" zstd; CK_ARCHIVE_AUTO otherwise. */
enum ck_archive_compression ck_archive_compression_for(const char *name);
/* "none", "gzip", "zstd"; ck_archive_compression_parse() the reverse
 * (-EINVAL for anything else). */
const char *ck_archive_compression_name(enum ck_archive_compression c);
int ck_archive_compression_parse(const char *s,
				 enum ck_archive_compression *ret);
