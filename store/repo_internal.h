/* SPDX-License-Identifier: MIT */
/*
 * repo_internal.h - what the store's modules share about a repository;
 * not for programs. Record codecs for versions (JSON) and entries
 * (binary, see docs/format.md) live in record.c.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "catalog.h"
#include "chunk.h"
#include "id.h"
#include "repo.h"

#define CK_BASE_CACHE_SLOTS 4096

struct base_entry;
struct ck_zdict;

struct ck_repo {
	char *path;
	int lock_fd; /* flock()ed for writers, -1 for readers */
	struct ck_catalog *cat;
	struct ck_repo_settings settings;
	struct ck_hasher hasher;
	uint32_t format; /* meta.format: 2 writes chunk lists (below) */

	/* Serializes check-then-write on chunks, commits and deletions
	 * (repo.h, invariant 3). Taken before cache_lock. */
	pthread_mutex_t lock;
	uint64_t next_vid;  /* protected by lock */
	uint64_t del_epoch; /* protected by lock; bumped by deletions */
	/* Writer epoch: meta.epoch, incremented at every write open. Chunk
	 * writes are journaled under (epoch, session) until their commit, so
	 * gc can find what an interrupted session left (reclaim.c). */
	uint64_t epoch;
	uint64_t next_session; /* protected by lock */
	struct ck_session **live; /* open sessions; protected by lock */
	size_t nlive, live_cap;

	pthread_mutex_t cache_lock;
	struct base_entry *base_cache[CK_BASE_CACHE_SLOTS]; /* cache_lock */
	/* Helpers that decode large reads with their caller (extract.c),
	 * started by the first such read. */
	struct ck_pool *read_pool; /* cache_lock */
	bool read_pool_tried;	   /* cache_lock */

	/* The trained zstd dictionary (compress.h), loaded at first use;
	 * set once, under zdict_lock (taken after lock, never before). */
	pthread_mutex_t zdict_lock;
	struct ck_zdict *_Atomic zdict;
	atomic_bool zdict_checked; /* loaded, or known absent or damaged */
	bool zdict_damaged;	   /* zdict_lock */
	atomic_bool zdict_tried;   /* this process tried to train one */
};

/*
 * Chunk lists (format 2). The IDs of a file's segment (CK_SEG_CHUNKS of
 * them, 16 KiB) are not stored in its 'X' key: they are cut into list
 * chunks of CK_LIST_IDS IDs (4 KiB), stored like any chunk (deduplicated,
 * counted, verified when read, and a delta of the parent version's list
 * chunk at the same place when that is smaller), and the key holds
 * CK_SEG_LISTED followed by their IDs. Consecutive versions mostly list
 * the same pages shifted a little, so a list chunk is a small delta of
 * its parent's instead of 16 bytes per page per version
 * (docs/decisions.md, D18). A list of zero pages only is the zero ID and
 * not stored. Format 1 keys, and those of files of at most
 * CK_LIST_INLINE chunks, hold the IDs themselves.
 */
#define CK_LIST_IDS 256
#define CK_LIST_INLINE 8 /* files of at most this many chunks: IDs in the key */
#define CK_SEG_LISTED 'L'
/* Whether an 'X' value holds list chunks (*ret their IDs, unaligned,
 * *ret_n of them) rather than IDs, whatever the segment's length. */
bool ck_segment_listed(const void *v, size_t vlen, const struct ck_id **ret,
		       size_t *ret_n);
/* Parses an 'X' value of a segment of @seg_n IDs: *ret the list chunks'
 * IDs (unaligned; NULL for a format 1 value, which holds the IDs). */
int ck_segment_lists(const void *v, size_t vlen, uint64_t seg_n,
		     const struct ck_id **ret, size_t *ret_n);
/* The list chunks of file @e (none for format 1 keys); malloc()ed. */
int ck_repo_entry_lists(struct ck_repo *r, uint64_t vid,
			const struct ck_entry *e, struct ck_id **ret,
			size_t *ret_n);

/* Deltas of the chunk counters (keys.h CK_STAT_*), as a commit or a
 * deletion accumulates them before writing them in its batch. */
enum ck_stat_idx {
	CK_ST_CHUNKS,
	CK_ST_RAW,
	CK_ST_STORED,
	CK_ST_DELTA_CHUNKS,
	CK_ST_DELTA_RAW,
	CK_ST_DELTA_STORED,
	CK_ST_LIST_CHUNKS,
	CK_ST_LIST_STORED,
	CK_ST_N,
};
/* Counts one record (header @h, @len bytes stored) into @st, @sign +1
 * when it is counted, -1 when it is freed: stored bytes for every
 * record, the rest for file content or for list chunks (repo.c). */
void ck_stats_count(int64_t st[CK_ST_N], const struct ck_chunk_hdr *h,
		    size_t len, int sign);
/* Adds the non-zero counters of @st to @b. */
void ck_stats_put(struct ck_batch *b, const int64_t st[CK_ST_N]);

/* The repository's dictionary, or NULL if it has none (loaded at first
 * call); -EBADMSG if it is damaged. */
int ck_repo_zdict(struct ck_repo *r, const struct ck_zdict **ret);
/* Trains and stores the dictionary from @n samples of @len bytes if the
 * repository wants one and has none yet (repo.c). Best effort: a
 * dictionary that cannot be trained leaves pages compressed alone. */
int ck_repo_zdict_train(struct ck_repo *r, const void *samples, size_t n,
			size_t len);

/* Decoded base chunk of a delta (borrowed until ck_repo_base_put());
 * returns its length. @depth is the delta's depth: the base must be
 * shallower. */
int ck_repo_base_get(struct ck_repo *r, const struct ck_id *id,
		     unsigned depth, void **ret);
void ck_repo_base_put(struct ck_repo *r, void *data);
/* The same, also returning the base's record header. */
struct ck_chunk_hdr;
int ck_repo_base_get_hdr(struct ck_repo *r, const struct ck_id *id,
			 unsigned depth, void **ret,
			 struct ck_chunk_hdr *ret_hdr);
/* Reads the delta bases that records @recs (NULL entries skipped) need
 * and the base cache lacks, whole chains, in one batched lookup per
 * chain level, and decodes them into the cache (repo.c). Best effort. */
void ck_repo_bases_prefetch(struct ck_repo *r, size_t n, void *const *recs,
			    const size_t *lens);
/* The same for bases @ids (NULL entries skipped) that ingest will try
 * deltas against, and the chains under them. */
void ck_repo_bases_prefetch_ids(struct ck_repo *r, size_t n,
				const struct ck_id *const *ids);

int ck_repo_version_get_seq(struct ck_repo *r, const char *container,
			    uint32_t seq, struct ck_version *ret);
int ck_repo_version_seq_by_name(struct ck_repo *r, const char *container,
				const char *name, uint32_t *ret);

/* session.c; caller holds r->lock. */
/* Whether session @sid of this writer is open. */
bool ck_repo_session_live(struct ck_repo *r, uint64_t sid);
/* Whether an open session holds chunk @id (delete.c keeps it). */
bool ck_repo_chunk_held(struct ck_repo *r, const struct ck_id *id);

/* record.c */
int ck_version_encode(const struct ck_version *v, char **ret,
		      size_t *ret_len);
int ck_version_decode(const void *buf, size_t len, struct ck_version *ret);
#define CK_ENTRY_HDR 40
/* Writes the entry value into @buf (CK_ENTRY_HDR + CK_PATH_MAX room). */
size_t ck_entry_encode(const struct ck_entry *e, uint8_t *buf);
int ck_entry_decode(const char *path, size_t plen, const void *val,
		    size_t vlen, struct ck_entry *ret);
