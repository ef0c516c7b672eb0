/* SPDX-License-Identifier: MIT */
/*
 * extract.h - reading versions back: byte ranges of one file, a whole
 * file to a descriptor, a whole version to a directory.
 *
 * Every chunk read is decoded and verified against its ID (repo.h); a
 * chunk that fails makes the read fail with -EBADMSG and names nothing
 * partial as success. Zero chunks are never read: restore leaves them as
 * holes of a sparse file, which read back as zeros.
 *
 * Restore writes the tree under a new directory (or an empty existing
 * one), then applies modes, owners (when running as root) and mtimes,
 * directories last, so that the result is identical to what was pushed.
 * Large files are written by several threads, each decoding a range of
 * chunks and writing it with pwrite().
 *
 * With opts->flatten the version is written as a self-contained image
 * directory (flatten.h): flattened page files, no `parent` link.
 *
 * Threads: every function may be called from any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo.h"

struct ck_restore_opts {
	unsigned threads; /* 0: one per online CPU */
	bool flatten;	  /* the flattened view: no `parent` link needed */
	void (*progress)(void *ud, uint64_t done, uint64_t total);
	void *progress_ud;
};

/* Reads up to @len bytes at @off of file entry @e of version @vid;
 * returns the number of bytes read (0 at or past the end). -EBADMSG for
 * damage (a chunk missing or failing verification); -ENOENT if the
 * version was deleted during the read. */
int ck_file_read(struct ck_repo *r, uint64_t vid, const struct ck_entry *e,
		 uint64_t off, void *buf, size_t len);
/* Writes the whole file to @fd (sequentially, e.g. stdout). */
int ck_file_write_fd(struct ck_repo *r, uint64_t vid,
		     const struct ck_entry *e, int fd);
int ck_restore(struct ck_repo *r, const struct ck_version *v,
	       const char *dest, const struct ck_restore_opts *o);
/* Gives @e's path under @dfd the entry's mode (not to symlinks) and
 * mtime, and its owner too if @root. A restore does this last, deepest
 * path first, so that directories keep their mtime. */
int ck_entry_apply_meta(int dfd, const struct ck_entry *e, bool root);
