/* SPDX-License-Identifier: MIT */
/*
 * push.h - ingesting a checkpoint image directory as a new version.
 *
 * Walks the directory (files, subdirectories, symlinks; modes, owners,
 * mtimes), cuts CRIU page files at the repository's chunk unit and every
 * other file at CK_SMALL_CHUNK, and commits the version atomically. When
 * the directory holds CRIU pagemaps, each page's virtual address is
 * known, and a changed page may be stored as a delta against the page at
 * the same address in the parent version (the `parent` link's target, or
 * the container's previous complete version).
 *
 * Errors: as repo.h; the path that failed is copied to o->errpath.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "repo.h"

struct ck_push_opts {
	const char *name;   /* version name; NULL: the directory's name */
	int complete;	    /* -1: stats-dump decides; 0/1: forced */
	void (*progress)(void *ud, uint64_t done, uint64_t total);
	void *progress_ud;
	char errpath[CK_PATH_MAX + 1]; /* out: where it failed, or "" */
	uint64_t delta_tried, delta_used; /* out */
	/* Store what validation refuses (an abandoned dump's truncated
	 * images) as ordinary files: no placement, no flattened view for a
	 * pagemap that does not parse, chain CK_CHAIN_BROKEN if one cannot
	 * be flattened. For ckstore-fuse's incomplete versions. */
	bool lenient;
	/* When not NULL, called for every entry with the metadata the file
	 * system gives (@m) before it is stored; it may change it. Archive
	 * import (ckarchive.h) keeps the owners, modes and mtimes of the
	 * archive's members rather than those of its staging copy. A
	 * negative return aborts the push with that error. */
	int (*meta)(void *ud, const char *path, struct ck_file_meta *m);
	void *meta_ud;
};

int ck_push_dir(struct ck_repo *r, const char *container, const char *src,
		struct ck_push_opts *o, struct ck_version *ret);

/* --- remote ingest ----------------------------------------------------
 *
 * A client that pushes over the network (ckstored's upload protocol)
 * walks and hashes the directory itself; the server owns the session.
 * These functions give the server what ck_push_dir() does around the
 * files: the parent version's chunks and pages loaded into the session
 * (ck_push_parent_find(), ck_push_parent_load()), where the pages of a
 * pages file live (ck_push_placement(), from its pagemap's bytes, which
 * the client sends whole), the delta base at an address
 * (ck_push_base_for()), and at the end the version's kind and the
 * flattened view of incremental dumps (ck_push_finish()). Address-space
 * IDs agree with ck_push_dir()'s because both derive them from the
 * pagemap's path.
 */

/* Where the chunks of one pages file live: chunk i holds the page at
 * vaddrs[i] of address space @space. */
struct ck_push_placement {
	char pages_path[CK_PATH_MAX + 1]; /* the pages file it describes */
	uint64_t space;
	uint64_t *vaddrs; /* malloc()ed; caller frees with free() */
	size_t n;
};

/* Parses pagemap @buf (@len bytes) stored at @pagemap_path in a version
 * and fills *ret for chunk unit @unit. -EBADMSG for a malformed pagemap
 * (the file is then stored as an ordinary file, without placement). */
int ck_push_placement(const char *pagemap_path, const void *buf, size_t len,
		      uint32_t unit, struct ck_push_placement *ret);
/* The version deltas are computed against: @link_target (the `parent`
 * symlink's target, may be NULL) if its last component names a version
 * of @container, else the newest complete version. -ENOENT if none. */
int ck_push_parent_find(struct ck_repo *r, const char *container,
			const char *link_target, struct ck_version *ret);
/* Declares every chunk of @pv known to @s and registers the address of
 * every page of its pages files as a delta base. */
int ck_push_parent_load(struct ck_repo *r, struct ck_session *s,
			const struct ck_version *pv);
/* The parent's chunk at (@space, @vaddr), or NULL. Borrowed until @s is
 * freed. */
const struct ck_id *ck_push_base_for(struct ck_session *s, uint64_t space,
				     uint64_t vaddr);

/* A pagemap of the version being built, with its bytes. */
struct ck_push_pagemap {
	const char *path;
	const void *buf;
	size_t len;
	struct ck_file_meta meta;	/* the pagemap's */
	struct ck_file_meta pages_meta; /* its pages file's */
};

/* Completes a remotely built session as ck_push_dir() completes its own,
 * after every entry was added and before ck_session_commit(): the kind
 * (dump or pre-dump) from the names of the entries @paths, and for
 * pagemaps with PE_PARENT entries their flattened view against the
 * version @link_target names (flatten.h). @lenient: as in
 * struct ck_push_opts. */
int ck_push_finish(struct ck_repo *r, struct ck_session *s,
		   const char *container, const char *link_target,
		   const char *const *paths, size_t n,
		   const struct ck_push_pagemap *pms, size_t npms, bool lenient);
