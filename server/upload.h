/* SPDX-License-Identifier: MIT */
/*
 * upload.h - upload sessions: a version built over several HTTP requests
 * that sends only the chunks the repository lacks.
 *
 * Protocol (docs/http-api.md has the wire format):
 *   1. begin: a new engine session (repo.h ck_session_begin()) for
 *      CONTAINER/NAME, with the parent version's chunks declared known
 *      and its pages registered as delta bases (push.h);
 *   2. per file, a manifest: the chunk IDs the client computed with the
 *      repository's keyed hash. The answer flags the IDs the repository
 *      lacks, each exactly once per upload. CRIU pagemaps are sent
 *      inline (their bytes, not IDs): the server needs them to place the
 *      pages of the matching pages file in memory, which picks each new
 *      page's delta base (the page at the same address in the parent);
 *   3. chunk batches: bodies of flagged chunks only. Each is hashed and
 *      must match its ID (-EILSEQ otherwise), then stored (unsynced);
 *   4. directories and symlinks;
 *   5. commit: every manifest becomes a file of the version and the
 *      version is committed in one synced batch (repo.h invariants 1-2).
 *
 * Invariant: every chunk ID the engine session holds belongs to a
 * manifest of the upload. Chunks nobody flagged are refused, so a commit
 * can never count a chunk that no file of the version uses.
 *
 * An upload belongs to the token that began it and serves one request
 * at a time (a second one waits). One idle for longer than the timeout
 * is dropped by a reaper thread: its session is freed, nothing is
 * committed, and the chunks it wrote are uncounted garbage that fsck
 * reports and gc reclaims. Commit and abort also drop the upload.
 *
 * Threads: every function is safe from any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "repo.h"

#define CK_UPLOAD_ID_HEX 33 /* 32 hex digits and a NUL */

struct ck_uploads;
struct ck_upload;

struct ck_uploads_opts {
	unsigned max_uploads;
	unsigned idle_timeout; /* seconds */
	unsigned max_files;    /* entries of all kinds per upload */
	uint64_t max_chunks;   /* chunk IDs in all manifests of one upload */
};

int ck_uploads_new(struct ck_repo *r, const struct ck_uploads_opts *o,
		   struct ck_metrics *m, struct ck_uploads **ret);
/* Drops every upload (nothing is committed) and stops the reaper. No
 * upload may be in use. NULL-safe; returns NULL. */
struct ck_uploads *ck_uploads_free(struct ck_uploads *u);
size_t ck_uploads_active(struct ck_uploads *u);

struct ck_upload_begin {
	const char *container, *name;
	const char *parent_link; /* target of the `parent` symlink, or NULL */
	int complete;		 /* -1: stats-dump decides; 0, 1: forced */
	bool lenient;		 /* as struct ck_push_opts (push.h) */
	const char *owner;	 /* token name */
};

/* Starts an upload. @id receives its ID, @parent the name of the version
 * deltas are taken against ("" if none). -EUSERS when max_uploads are
 * open; -EEXIST if the name is taken. */
int ck_upload_begin(struct ck_uploads *u, const struct ck_upload_begin *b,
		    char id[CK_UPLOAD_ID_HEX], char parent[CK_NAME_MAX + 1],
		    char *err, size_t cap);

/* Takes upload @id for one request: -ENOENT (unknown or expired), -EPERM
 * (another owner; @admin may use any), -EBUSY (still in use after
 * waiting). Release with ck_upload_release() unless committed or
 * aborted. */
int ck_upload_acquire(struct ck_uploads *u, const char *id, const char *owner,
		      bool admin, struct ck_upload **ret);
void ck_upload_release(struct ck_uploads *u, struct ck_upload *up);
const char *ck_upload_container(const struct ck_upload *up);

struct ck_upload_file {
	const char *path;
	uint64_t size;
	uint32_t chunk_size;
	struct ck_file_meta m;
};

/* Registers a file from its chunk IDs (@ids: @len bytes, 16 per chunk).
 * *bitmap (malloc()ed, caller frees) has bit i (LSB first) set if chunk
 * i must be sent; *nmissing counts them. */
int ck_upload_manifest(struct ck_upload *up, const struct ck_upload_file *f,
		       const void *ids, size_t len, uint8_t **bitmap,
		       size_t *bitmap_len, uint64_t *nmissing, char *err,
		       size_t cap);
/* Registers a file from its bytes (pagemaps, small files). */
int ck_upload_inline(struct ck_upload *up, const struct ck_upload_file *f,
		     const void *data, size_t len, char *err, size_t cap);

struct ck_upload_batch {
	uint64_t chunks, bytes; /* received */
	uint64_t duplicates;	/* already had them */
	uint64_t with_base;	/* page chunks offered a delta base */
};

/* Stores a batch of chunk frames: [16-byte ID][u32 LE length][bytes]...
 * -EPROTO for a malformed or truncated frame, -EILSEQ if bytes do not
 * hash to their ID, -EINVAL for a chunk nobody asked for. Chunks before
 * the failing frame are kept. */
int ck_upload_chunks(struct ck_upload *up, const void *body, size_t len,
		     struct ck_upload_batch *st, char *err, size_t cap);

int ck_upload_add_dir(struct ck_upload *up, const char *path,
		      const struct ck_file_meta *m);
int ck_upload_add_symlink(struct ck_upload *up, const char *path,
			  const char *target, const struct ck_file_meta *m);

/* Commits the upload as a version; the upload is gone afterwards,
 * whatever the result (-EAGAIN: a reused chunk was deleted meanwhile,
 * upload again). */
int ck_upload_commit(struct ck_uploads *u, struct ck_upload *up,
		     struct ck_version *ret, char *err, size_t cap);
/* Drops an acquired upload; nothing is committed. */
void ck_upload_abort(struct ck_uploads *u, struct ck_upload *up);
