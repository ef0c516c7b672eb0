/* SPDX-License-Identifier: MIT */
/*
 * remote.h - a repository behind ckstored, seen through its HTTP API
 * (docs/http-api.md): the store's own records (repo.h) decoded from the
 * server's JSON, downloads, and the upload protocol. The CLI's --server
 * mode uses it; ckstore-fuse's remote backend can too.
 *
 * Upload (ck_remote_push_dir(), remote-push.c). The client walks the
 * directory as ck_push_dir() does, cuts and hashes every file itself
 * with the repository's secret (fetched once from /v1/repo/params,
 * which needs the write role), sends pagemaps whole (the server places
 * pages with them), every other file as a manifest of chunk IDs, and then
 * only the chunks the server says it lacks, in zstd-compressed batches.
 * A sender thread posts batches while the main thread reads and hashes
 * the next ones. Commit makes the version appear atomically; a failure
 * anywhere aborts the upload (nothing is committed).
 *
 * Restore (ck_remote_restore(), remote-restore.c) lists the entries,
 * creates the tree, downloads files in byte ranges over a few parallel
 * connections, leaves chunks of zeros as holes (as a local restore
 * does), then applies modes, owners (as root) and mtimes.
 *
 * Errors: -errno. HTTP statuses map to the store's meanings: 400
 * -EINVAL, 401 -EACCES, 403 -EPERM, 404 -ENOENT, 409 -EEXIST (-EAGAIN
 * for "retry", -ENOLINK for a broken chain), 413 -EFBIG, 429 -EUSERS,
 * 500 "corrupt" -EBADMSG, 501 -EOPNOTSUPP, 503 -ESHUTDOWN, 507 -ENOSPC,
 * others -EIO; transport failures as http.h. ck_remote_error() then
 * holds the server's message (or curl's).
 *
 * Threads: a struct ck_remote belongs to one thread at a time (it
 * clones its connection for the threads it starts itself).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo.h"

struct ck_remote;
struct ck_http;

int ck_remote_open(const char *url, const char *token, const char *cacert,
		   struct ck_remote **ret);
struct ck_remote *ck_remote_free(struct ck_remote *rm);
/* The last failure's message; "" if none. Borrowed until the next call. */
const char *ck_remote_error(const struct ck_remote *rm);
/* The last response's HTTP status (0: none). */
long ck_remote_status(const struct ck_remote *rm);
const char *ck_remote_url(const struct ck_remote *rm);
/* Bytes moved over the wire so far (headers included). */
uint64_t ck_remote_bytes_sent(const struct ck_remote *rm);
uint64_t ck_remote_bytes_received(const struct ck_remote *rm);

struct ck_remote_container {
	char name[CK_NAME_MAX + 1];
	uint64_t versions;
	char latest[CK_NAME_MAX + 1]; /* "" if no complete version */
	uint64_t logical_bytes;
};

/* *ret is malloc()ed; caller frees with free(). */
int ck_remote_containers(struct ck_remote *rm,
			 struct ck_remote_container **ret, size_t *ret_n);
int ck_remote_versions(struct ck_remote *rm, const char *container,
		       struct ck_version **ret, size_t *ret_n);
/* @spec: a name, "latest" or "#N". */
int ck_remote_version_get(struct ck_remote *rm, const char *container,
			  const char *spec, struct ck_version *ret);
/* @view: "written" (NULL), "flat" or "flattened" (-ENOLINK if broken).
 * Caller frees *ret with free(). */
int ck_remote_entries(struct ck_remote *rm, const struct ck_version *v,
		      const char *view, struct ck_entry **ret, size_t *ret_n);
/* Up to @len bytes at @off of entry @e; returns the count. */
int ck_remote_read(struct ck_remote *rm, const struct ck_version *v,
		   const struct ck_entry *e, uint64_t off, void *buf,
		   size_t len);
/* The whole file @path of @v to @fd; a symlink writes its target and a
 * newline (as `ckstore cat`). -EISDIR for a directory. */
int ck_remote_cat(struct ck_remote *rm, const struct ck_version *v,
		  const char *path, int fd);
int ck_remote_delete(struct ck_remote *rm, const struct ck_version *v,
		     uint64_t *ret_freed);
/* @container NULL: the whole repository. */
int ck_remote_stats(struct ck_remote *rm, const char *container,
		    struct ck_stats *ret);

/* A JSON body of a POST, returned as text (fsck, gc). *ret is
 * malloc()ed; caller frees with free(). */
int ck_remote_post_json(struct ck_remote *rm, const char *path,
			const char *body, char **ret);

struct ck_remote_push_opts {
	const char *name; /* NULL: the directory's name */
	int complete;	  /* -1: stats-dump decides; 0/1: forced */
	void (*progress)(void *ud, uint64_t done, uint64_t total);
	void *progress_ud;
	bool no_compress; /* send chunk batches uncompressed */
	bool lenient;	  /* as struct ck_push_opts (push.h) */
	/* out */
	char errpath[CK_PATH_MAX + 1];
	uint64_t chunks_offered, chunks_sent, chunk_bytes_sent;
	uint64_t wire_sent, wire_received; /* bytes of this push */
};

int ck_remote_push_dir(struct ck_remote *rm, const char *container,
		       const char *dir, struct ck_remote_push_opts *o,
		       struct ck_version *ret);

struct ck_remote_restore_opts {
	bool flatten;	   /* the flattened view (no `parent` needed) */
	unsigned parallel; /* connections; 0: 4 */
	void (*progress)(void *ud, uint64_t done, uint64_t total);
	void *progress_ud;
};

int ck_remote_restore(struct ck_remote *rm, const struct ck_version *v,
		      const char *dest, const struct ck_remote_restore_opts *o);

/* --- for remote-*.c ------------------------------------------------------ */

struct ck_http *ck_remote_http(struct ck_remote *rm);
/* Records a failure message; returns @r. */
int ck_remote_fail(struct ck_remote *rm, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Runs a request: 0 and the parsed JSON body (*ret may be NULL if the
 * caller does not want it, caller json_decref()s it) for a 2xx status,
 * else -errno from the status with the message recorded. */
struct ck_http_req;
int ck_remote_call(struct ck_remote *rm, const struct ck_http_req *q,
		   void **ret_json);
/* The repository's chunking parameters and secret (cached). */
struct ck_remote_params {
	uint32_t chunk_unit, small_chunk;
	uint64_t max_body, max_manifest, max_json;
	struct ck_hasher hasher;
};
int ck_remote_params(struct ck_remote *rm,
		     const struct ck_remote_params **ret);
/* Fills a path with escaped segments: "/v1/containers/<c>/versions/<v>"
 * plus @suffix. */
int ck_remote_version_path(const struct ck_version *v, const char *suffix,
			   char *buf, size_t cap);
int ck_remote_version_json(const void *json, struct ck_version *ret);
