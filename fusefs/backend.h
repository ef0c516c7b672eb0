/* SPDX-License-Identifier: MIT */
/*
 * backend.h - what ckstore-fuse needs from a repository, behind a small
 * table of operations, so that the mount can serve a local repository
 * (ck_backend_local_open) or a ckstored over HTTP
 * (ck_backend_remote_open) with the same file-system code.
 *
 * The interface is the mount's whole view of a repository:
 *   - listing: containers, the versions of one container, the entries of
 *     one version in its written or flattened view;
 *   - reading: a byte range of one file entry;
 *   - writing: one call that stores a finished image directory (the
 *     mount's spool of that version) as a new version. The spool is the
 *     unit of ingest because a version is only meaningful whole (its
 *     pagemaps place its pages; an incremental dump is flattened against
 *     its parent), and because a remote backend can then reuse the
 *     upload protocol of `ckstore push` (ask which chunks are missing,
 *     send only those).
 *
 * Version records (struct ck_version) and entries (struct ck_entry) are
 * the store's own types (repo.h): a remote backend decodes them from the
 * server's JSON.
 *
 * Threads: every operation may be called from any thread at any time,
 * concurrently; a backend does its own locking.
 *
 * Errors: negative errno with repo.h's meanings; -ENOENT for a
 * container or version that does not exist, -EEXIST for a version name
 * that is taken, -ENOSPC when the repository is full, -EIO when the
 * backend cannot be reached, -EBADMSG for data that failed verification.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo.h"

struct ck_backend;

struct ck_backend_ops {
	const char *name; /* "local", "remote" */
	/* *ret is malloc()ed; caller frees with free(). */
	int (*containers)(struct ck_backend *b,
			  char (**ret)[CK_NAME_MAX + 1], size_t *ret_n);
	/* Oldest first; *ret is malloc()ed, caller frees with free().
	 * An unknown container has no versions (0, *ret_n = 0). */
	int (*versions)(struct ck_backend *b, const char *container,
			struct ck_version **ret, size_t *ret_n);
	/* Entries sorted by path; @flat: the flattened view
	 * (ck_repo_flat_entries: -ENOLINK for a broken chain). Caller frees
	 * *ret with free(). */
	int (*entries)(struct ck_backend *b, const struct ck_version *v,
		       bool flat, struct ck_entry **ret, size_t *ret_n);
	/* Up to @len bytes at @off of entry @e of @v; returns the count. */
	int (*read)(struct ck_backend *b, const struct ck_version *v,
		    const struct ck_entry *e, uint64_t off, void *buf,
		    size_t len);
	/* Stores directory @dir as version @name of @container. Complete
	 * if @dir holds stats-dump. @lenient: store images that fail
	 * validation as plain files (push.h) instead of refusing them. On
	 * success fills *ret. On failure @errpath (CK_PATH_MAX + 1 bytes)
	 * names the file that failed, or is "". */
	int (*commit_dir)(struct ck_backend *b, const char *container,
			  const char *name, const char *dir, bool lenient,
			  struct ck_version *ret, char *errpath);
	void (*free)(struct ck_backend *b);
};

/* The version of @container named exactly @name (not "latest" or "#N"),
 * found in the backend's listing; -ENOENT if there is none. */
int ck_backend_version_get(struct ck_backend *b, const char *container,
			   const char *name, struct ck_version *ret);

struct ck_backend {
	const struct ck_backend_ops *ops;
	bool read_only; /* no commit_dir (e.g. a token without write) */
};

/* Opens the repository at @path for writing (holding its lock, so the
 * CLI's reading verbs still work but its writing verbs are refused). */
int ck_backend_local_open(const char *path, struct ck_backend **ret);

/* Serves the ckstored at @url (bearer @token, may be NULL), keeping up
 * to @cache_bytes of file blocks in memory (backend-remote.c). Fails if
 * the server cannot be reached or refuses the token. */
int ck_backend_remote_open(const char *url, const char *token,
			   uint64_t cache_bytes, struct ck_backend **ret);

/* NULL-safe; returns NULL. */
struct ck_backend *ck_backend_free(struct ck_backend *b);
