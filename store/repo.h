/* SPDX-License-Identifier: MIT */
/*
 * repo.h - a checkpoint repository: containers, versions, files, chunks.
 *
 * On disk a repository is a directory:
 *
 *   <repo>/db/     the RocksDB catalog (catalog.h); all state lives here
 *   <repo>/lock    flock()ed by the one process that may write; holds a
 *                  line naming that process ("pid 123 ckstored since ...")
 *
 * Data model. A container has versions numbered 1, 2, ... (seq) with a
 * unique name each. A version is a tree of entries (directories, symlinks,
 * regular files). A file is a list of chunk IDs, each covering
 * chunk_size bytes of it (the last one fewer). CRIU page files
 * (pages-*.img) are cut at the repository's chunk unit (one page by
 * default) so that identical pages are stored once whatever their
 * position; other files are cut at CK_SMALL_CHUNK. A chunk of zero bytes
 * is named by the zero ID and is never stored. docs/format.md has the key
 * layout.
 *
 * Reference counts. refs[X] = number of versions whose files reference X
 * (each version counts once however often it uses X) + number of stored
 * delta chunks whose base is X. A chunk whose count drops to zero is
 * deleted in the same atomic batch that drops it.
 *
 * Ordering invariants (see docs/format.md, "Write ordering"):
 *   1. A chunk record is written (unsynced) before any version that
 *      references it is committed; the commit batch is written with sync,
 *      which makes every earlier WAL record durable too.
 *   2. A version becomes visible in one atomic batch holding its record,
 *      its entries, and the reference count increments of every chunk it
 *      uses. A killed ingest leaves only chunk records nobody counts
 *      ("garbage"): fsck reports them as reclaimable, not as damage.
 *   3. Checking that a chunk is stored and acting on it happen under
 *      repo->lock, the same lock that deletion holds: a session that
 *      finds a chunk counted holds it in the same critical section, and
 *      a deletion keeps every held chunk (delete.c), so it can never free
 *      a chunk an open session is about to reference. The commit still
 *      re-checks that every reused chunk is counted.
 *   4. A chunk record is never rewritten once counted.
 *
 * Threads: a struct ck_repo may be shared by threads; sessions and
 * readers are per thread. Writing operations serialize on repo->lock for
 * short critical sections only (batch checks and writes).
 *
 * Errors: negative errno. -EBUSY: another process holds the repository
 * (ck_repo_holder() says who); -EROFS: opened read-only; -ENOENT: no such
 * container/version/file/chunk; -EEXIST: name taken; -EBADMSG: stored
 * data failed verification; -EAGAIN: a reused chunk vanished during the
 * session (retry); -EINVAL: bad name or argument.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "id.h"

/* Format written by init: 2 (chunk lists stored as chunks, records may
 * be CK_ENC_ZDICT); 1 is read and written as it is. */
#define CK_FORMAT_VERSION 2
#define CK_FORMAT_MIN 1
#define CK_SMALL_CHUNK (64u << 10) /* chunk size of non-page files */
#define CK_NAME_MAX 128		   /* container and version names */
#define CK_PATH_MAX 1024	   /* paths inside a version */
#define CK_SEG_CHUNKS 1024	   /* chunk IDs per manifest segment */

struct ck_repo;

#define CK_GROUP_MAX 16 /* versions in a group of unchained dumps */

struct ck_repo_settings {
	uint32_t chunk_unit;	/* page-file chunk size: 4096 * 2^k */
	int zstd_level;		/* 1..19 */
	bool deltas;		/* store changed pages as deltas */
	uint32_t group_size;	/* VG: dumps per version group, 1..16 */
	bool dictionary;	/* zstd dictionary trained from the first
				 * large pages file (format 2) */
};

#define CK_REPO_SETTINGS_DEFAULT { 4096, 3, true, 5, true }

enum ck_open_flags {
	CK_OPEN_READ = 0,  /* read-only: works while another process holds */
	CK_OPEN_WRITE = 1, /* take the lock; -EBUSY if held */
};

enum ck_kind { CK_KIND_DUMP = 0, CK_KIND_PREDUMP = 1 };

/* Whether a version restores on its own (docs/format.md, "Flattened
 * view"). */
enum ck_chain {
	CK_CHAIN_FULL = 0,	/* no page lives in a parent */
	CK_CHAIN_FLATTENED = 1, /* incremental, with a flattened view */
	CK_CHAIN_BROKEN = 2,	/* incremental, parent pages not stored */
};

/* Views of a version's files. */
enum ck_view { CK_VIEW_WRITTEN = 0, CK_VIEW_FLAT = 1 };

struct ck_version {
	uint64_t vid;		/* repository-wide unique, never reused */
	uint32_t seq;		/* 1, 2, ... within the container */
	char container[CK_NAME_MAX + 1];
	char name[CK_NAME_MAX + 1];
	int64_t created_ns;	/* CLOCK_REALTIME at commit */
	bool complete;		/* stats-dump present, or said so */
	enum ck_kind kind;
	char parent[CK_NAME_MAX + 1]; /* from the `parent` link, or "" */
	uint32_t group;		/* version group: seq of its first member;
				 * a pre-dump starts one, a dump joins its
				 * parent link's group, a dump without a
				 * parent link joins the previous version's
				 * group until it holds group_size versions */
	enum ck_chain chain;
	bool pinned;
	uint64_t logical_bytes; /* sum of file sizes */
	uint64_t added_bytes;	/* stored bytes of chunks it added */
	uint64_t added_chunks;
	uint64_t files;		/* entries of all kinds */
};

enum ck_entry_type { CK_ENTRY_FILE = 1, CK_ENTRY_DIR = 2, CK_ENTRY_SYMLINK = 3 };

struct ck_entry {
	char path[CK_PATH_MAX + 1]; /* relative, '/'-separated */
	enum ck_entry_type type;
	enum ck_view view; /* which view the entry belongs to */
	uint32_t mode; /* permission bits incl. suid/sgid/sticky */
	uint32_t uid, gid;
	int64_t mtime_ns;
	uint64_t size;	     /* file size, or symlink target length */
	uint32_t chunk_size; /* files */
	uint64_t nchunks;    /* files */
	char target[CK_PATH_MAX + 1]; /* symlinks */
};

struct ck_stats {
	uint64_t containers, versions;
	uint64_t logical_bytes; /* sum over versions */
	uint64_t chunks;	/* stored chunks */
	uint64_t raw_bytes;	/* decoded size of stored chunks */
	uint64_t stored_bytes;	/* size of chunk records, list chunks too */
	uint64_t delta_chunks;
	uint64_t delta_raw_bytes, delta_stored_bytes;
	/* Chunk lists (format 2): in stored_bytes, not in the others. */
	uint64_t list_chunks, list_stored_bytes;
	uint64_t disk_bytes;	/* bytes of <repo>/ on disk */
	uint64_t sst_bytes[CK_CF_MAX]; /* RocksDB table files per family */
	uint64_t blob_bytes;	/* RocksDB blob files (chunk records) */
};

/* --- lifecycle ------------------------------------------------------ */

int ck_repo_init(const char *path, const struct ck_repo_settings *s);
/* @program names the opener in the lock file ("ckstore push", ...). */
int ck_repo_open(const char *path, enum ck_open_flags flags,
		 const char *program, struct ck_repo **ret);
struct ck_repo *ck_repo_free(struct ck_repo *r);
/* Describes the holder of @path's lock in @buf, or "" if none. */
int ck_repo_holder(const char *path, char *buf, size_t cap);
bool ck_repo_read_only(const struct ck_repo *r);
const struct ck_repo_settings *ck_repo_settings(const struct ck_repo *r);
const struct ck_hasher *ck_repo_hasher(const struct ck_repo *r);
const char *ck_repo_path(const struct ck_repo *r);
struct ck_catalog *ck_repo_catalog(struct ck_repo *r);

/* --- names ----------------------------------------------------------- */

/* Container and version names: 1..CK_NAME_MAX of [A-Za-z0-9._-], not
 * starting with '.' or '-'. Paths: relative, no "." or ".." components,
 * no empty components, no NUL, at most CK_PATH_MAX bytes. */
int ck_name_check(const char *name);
int ck_path_check(const char *path);

/* --- catalogue -------------------------------------------------------- */

/* *ret is a malloc()ed array, caller frees with free(); oldest first. */
int ck_repo_containers(struct ck_repo *r, char (**ret)[CK_NAME_MAX + 1],
		       size_t *ret_n);
int ck_repo_versions(struct ck_repo *r, const char *container,
		     struct ck_version **ret, size_t *ret_n);
/* @spec: a version name, "latest" (newest complete version), or "#N"
 * (sequence number N). */
int ck_repo_version_find(struct ck_repo *r, const char *container,
			 const char *spec, struct ck_version *ret);

/* Entries of a version, sorted by path. Caller frees *ret with free(). */
int ck_repo_entries(struct ck_repo *r, uint64_t vid, struct ck_entry **ret,
		    size_t *ret_n);
int ck_repo_entry_get(struct ck_repo *r, uint64_t vid, const char *path,
		      struct ck_entry *ret);
/* The same for one view: CK_VIEW_FLAT holds only the flattened CRIU page
 * files (pagemap-*.img, pages-*.img) of an incremental version. */
int ck_repo_view_entries(struct ck_repo *r, uint64_t vid, enum ck_view view,
			 struct ck_entry **ret, size_t *ret_n);
int ck_repo_view_entry_get(struct ck_repo *r, uint64_t vid,
			   enum ck_view view, const char *path,
			   struct ck_entry *ret);
/* The flattened version as a whole: written entries with the flattened
 * page files in place of the written ones and no `parent` link. -ENOLINK
 * if the version's chain is CK_CHAIN_BROKEN. */
int ck_repo_flat_entries(struct ck_repo *r, const struct ck_version *v,
			 struct ck_entry **ret, size_t *ret_n);
/* Chunk IDs [first, first + n) of a file. */
int ck_repo_entry_chunks(struct ck_repo *r, uint64_t vid,
			 const struct ck_entry *e, uint64_t first, size_t n,
			 struct ck_id *ret);

/* Deletes a version and reclaims every chunk only it kept alive, in one
 * atomic batch. Sets *ret_freed to the chunk record bytes reclaimed. */
int ck_repo_version_delete(struct ck_repo *r, const char *container,
			   uint64_t vid, uint64_t *ret_freed);

struct ck_delete_report {
	uint64_t versions;
	uint64_t chunks_freed; /* records that no remaining version needs */
	uint64_t bytes_freed;  /* their size */
};

/* Deletes @n versions of @container (records as listed by
 * ck_repo_versions()) together, in one atomic batch: a chunk they share
 * is freed once none of them remains. -ENOENT if one is gone. With
 * @dry_run nothing is written and @rep says exactly what would be
 * freed. */
int ck_repo_versions_delete(struct ck_repo *r, const char *container,
			    const struct ck_version *vs, size_t n,
			    bool dry_run, struct ck_delete_report *rep);
/* Frees the chunks a deletion kept at count zero for an open session
 * ('Z' keys, delete.c) that no commit counted again and no open session
 * still holds, with what they alone kept alive. */
int ck_repo_reclaim(struct ck_repo *r, bool dry_run, uint64_t *ret_chunks,
		    uint64_t *ret_bytes);
/* Compacts the chunk and reference families, collecting blob garbage
 * (the space of freed records returns to the file system), if a
 * deletion freed records since the last such compaction, or if @force;
 * *ret_done says whether it ran. Otherwise merges the reference counts'
 * operands if they have piled up (ck_catalog_settle_counts(); *ret_done
 * says whether that ran). */
int ck_repo_compact(struct ck_repo *r, bool force, bool *ret_done);
/* Pins (never deleted by retention) or unpins a version. */
int ck_repo_version_pin(struct ck_repo *r, const char *container,
			uint32_t seq, bool pinned);

int ck_repo_stats(struct ck_repo *r, const char *container,
		  struct ck_stats *ret);

/* --- chunks ----------------------------------------------------------- */

/* Reads, decodes and verifies chunk @id into @buf (capacity @cap);
 * returns its length. The zero ID cannot be read (callers zero-fill). */
int ck_repo_chunk_read(struct ck_repo *r, const struct ck_id *id, void *buf,
		       size_t cap);
/* Decodes a record already fetched (e.g. by a multi-get) for @id. */
int ck_repo_chunk_decode(struct ck_repo *r, const struct ck_id *id,
			 const void *rec, size_t len, void *buf, size_t cap);
/* Reads @n chunk records at once; see ck_catalog_multi_get(). */
int ck_repo_chunk_records(struct ck_repo *r, size_t n,
			  const struct ck_id *ids, void **recs,
			  size_t *lens);

/* --- write side (session.c) ------------------------------------------ */

struct ck_session;

struct ck_file_meta {
	uint32_t mode, uid, gid;
	int64_t mtime_ns;
};

/* Starts a new version of @container named @name. Fails with -EEXIST if
 * the name is taken. */
int ck_session_begin(struct ck_repo *r, const char *container,
		     const char *name, struct ck_session **ret);
/* Aborts an uncommitted session (its chunks become garbage). */
struct ck_session *ck_session_free(struct ck_session *s);

int ck_session_add_dir(struct ck_session *s, const char *path,
		       const struct ck_file_meta *m);
int ck_session_add_symlink(struct ck_session *s, const char *path,
			   const char *target, const struct ck_file_meta *m);
/* Where the chunks of a CRIU page file live in the process's address
 * space: chunk i holds the page at vaddrs[i] of address space @space. */
struct ck_page_hint {
	uint64_t space;
	const uint64_t *vaddrs;
	size_t n;
};

/* Reads file @fd (@size bytes) from its current content and stores it.
 * @pages: true for CRIU page files (chunked at the repository unit).
 * @hint, when not NULL, places the chunks in memory to find delta bases. */
int ck_session_add_file_fd(struct ck_session *s, const char *path, int fd,
			   uint64_t size, bool pages,
			   const struct ck_page_hint *hint,
			   const struct ck_file_meta *m);
/* Chunk IDs of a file added to this session (for building base maps);
 * NULL if there is no such file. Borrowed until the session is freed. */
const struct ck_id *ck_session_file_ids(struct ck_session *s,
					const char *path, uint64_t *ret_n);
/* Declares @ids as referenced by a committed version (the parent), so
 * that adding them needs no lookup. */
int ck_session_add_known(struct ck_session *s, const struct ck_id *ids,
			 size_t n);
/* After the known chunks and bases of parent @pv are added: if @pv still
 * exists, the session holds them (deletion keeps them until the session
 * ends) and this returns 1; if it was deleted meanwhile, forgets them and
 * returns 0. */
int ck_session_hold_known(struct ck_session *s, const struct ck_version *pv);
/* Registers the parent's chunk at each address (see ck_page_hint). */
int ck_session_add_bases(struct ck_session *s,
			 const struct ck_page_hint *hint,
			 const struct ck_id *ids);
/* Adds a file from chunk IDs the caller hashed; every non-zero ID must be
 * stored or put with ck_session_put_chunk() first. */
int ck_session_add_file_ids(struct ck_session *s, const char *path,
			    uint64_t size, uint32_t chunk_size,
			    const struct ck_id *ids, uint64_t n,
			    const struct ck_file_meta *m);
/* Marks which of @n IDs the repository lacks (missing[i] = true). */
int ck_session_missing(struct ck_session *s, const struct ck_id *ids,
		       size_t n, bool *missing);
/* Stores one chunk given its raw bytes, after checking that they hash to
 * @id (-EBADMSG otherwise). @base, if not NULL, suggests a delta base. */
int ck_session_put_chunk(struct ck_session *s, const struct ck_id *id,
			 const void *data, size_t len,
			 const struct ck_id *base);
/* ck_session_put_chunk() of @n chunks at once: their encoding runs on
 * every CPU (docs/decisions.md, D13). Every chunk is checked first: on a
 * bad one (-EINVAL, -EBADMSG) *bad is its index and nothing is stored. On
 * another error the chunks before *bad are stored, those from it on may
 * not be. */
struct ck_chunk_in {
	struct ck_id id;
	const void *data;
	size_t len;
	const struct ck_id *base; /* suggested delta base, or NULL */
	bool list; /* a chunk list (session.c), not file content */
};
int ck_session_put_chunks(struct ck_session *s, const struct ck_chunk_in *in,
			  size_t n, size_t *bad);
/* Adds a file of the flattened view (chunks as for add_file_ids). */
int ck_session_add_flat_ids(struct ck_session *s, const char *path,
			    uint64_t size, uint32_t chunk_size,
			    const struct ck_id *ids, uint64_t n,
			    const struct ck_file_meta *m);
/* Sets the version's kind (default: pre-dump if it has pagemaps but no
 * process tree). */
void ck_session_set_kind(struct ck_session *s, enum ck_kind kind);
/* Records whether the version restores on its own (enum ck_chain). */
void ck_session_set_chain(struct ck_session *s, enum ck_chain chain);
/* Declares the version complete even without stats-dump. */
void ck_session_set_complete(struct ck_session *s, bool complete);
/* Progress callback: called with bytes processed so far. */
void ck_session_set_progress(struct ck_session *s,
			     void (*fn)(void *ud, uint64_t done), void *ud);
/* Commits atomically; on success fills *ret (if not NULL). The session
 * must still be freed. */
int ck_session_commit(struct ck_session *s, struct ck_version *ret);
