/* SPDX-License-Identifier: MIT */
/*
 * catalog.h - the repository's one database: RocksDB with four column
 * families. catalog.c is the only file that includes <rocksdb/c.h>; it
 * turns RocksDB's error strings into negative errno values.
 *
 * Column families (key layouts are owned by repo.c, see docs/format.md):
 *   CK_CF_META    repository settings, container/version records, file
 *                 manifests; ordinary values.
 *   CK_CF_CHUNKS  chunk ID -> chunk record. Values are kept in RocksDB's
 *                 integrated blob files (key-value separation), so the LSM
 *                 tree holds only small keys and blob pointers.
 *   CK_CF_REFS    chunk ID -> little-endian u64 reference count, updated
 *                 with RocksDB's uint64add merge operator.
 *   CK_CF_STATS   counter name -> little-endian u64, uint64add merges.
 *
 * Durability: ck_catalog_write(sync=true) returns after the WAL is
 * fsync'ed; every earlier unsynced write is then durable too (the WAL is
 * one ordered log). A crash loses at most unsynced writes, never part of
 * a batch.
 *
 * A read-only catalog (opened while another process holds the repository)
 * sees the state as of its open and fails every write with -EROFS.
 *
 * Threads: a catalog and its reads/writes are safe from any thread;
 * batches and iterators belong to one thread at a time.
 *
 * Errors: -ENOENT (no such key), -ENOSPC (disk full), -EBADMSG (RocksDB
 * reports corruption), -EAGAIN (the database is locked by a process),
 * -EROFS, -EIO (anything else; the RocksDB text goes to the debug log).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ck_cf {
	CK_CF_META = 0,
	CK_CF_CHUNKS,
	CK_CF_REFS,
	CK_CF_STATS,
	CK_CF_MAX,
};

struct ck_catalog;
struct ck_batch;
struct ck_iter;

struct ck_catalog_opts {
	bool read_only;
	bool create;	 /* create the database if missing */
	bool blob_files; /* key-value separation for CK_CF_CHUNKS */
};

int ck_catalog_open(const char *path, const struct ck_catalog_opts *o,
		    struct ck_catalog **ret);
struct ck_catalog *ck_catalog_free(struct ck_catalog *c);
bool ck_catalog_read_only(const struct ck_catalog *c);

/* On success *ret is malloc()ed; caller frees with free(). */
int ck_catalog_get(struct ck_catalog *c, enum ck_cf cf, const void *key,
		   size_t klen, void **ret, size_t *ret_len);

/* Reads @n keys of one column family at once. vals[i] is set to a
 * malloc()ed value (caller frees each with free()) or NULL if the key is
 * absent. Returns 0 or the first error. */
int ck_catalog_multi_get(struct ck_catalog *c, enum ck_cf cf, size_t n,
			 const void *const *keys, const size_t *klens,
			 void **vals, size_t *lens);

/* Convenience for the u64 counters; an absent key reads as 0. */
int ck_catalog_get_u64(struct ck_catalog *c, enum ck_cf cf, const void *key,
		       size_t klen, uint64_t *ret);

/* A batch of writes to @c; NULL only for ENOMEM. */
struct ck_batch *ck_batch_new(struct ck_catalog *c);
struct ck_batch *ck_batch_free(struct ck_batch *b);
void ck_batch_clear(struct ck_batch *b);
size_t ck_batch_count(const struct ck_batch *b);
void ck_batch_put(struct ck_batch *b, enum ck_cf cf, const void *key,
		  size_t klen, const void *val, size_t vlen);
void ck_batch_delete(struct ck_batch *b, enum ck_cf cf, const void *key,
		     size_t klen);
/* Adds @delta (two's complement for decrements) to a u64 counter. */
void ck_batch_add_u64(struct ck_batch *b, enum ck_cf cf, const void *key,
		      size_t klen, int64_t delta);
int ck_catalog_write(struct ck_catalog *c, struct ck_batch *b, bool sync);
/* After a write failed (a full disk): lets RocksDB accept writes again
 * if the cause is gone (0), else the error (-ENOSPC...). A no-op when
 * no write failed. Callers start their work afresh after it. */
int ck_catalog_recover(struct ck_catalog *c);

/* Iterates keys starting with @prefix (all keys if @plen is 0). */
int ck_iter_new(struct ck_catalog *c, enum ck_cf cf, const void *prefix,
		size_t plen, struct ck_iter **ret);
struct ck_iter *ck_iter_free(struct ck_iter *it);
bool ck_iter_valid(struct ck_iter *it);
void ck_iter_next(struct ck_iter *it);
/* Positions at the last key <= @key within the prefix. */
void ck_iter_seek_for_prev(struct ck_iter *it, const void *key, size_t klen);
/* Borrowed; valid until the next call on @it. */
const void *ck_iter_key(struct ck_iter *it, size_t *ret_len);
const void *ck_iter_value(struct ck_iter *it, size_t *ret_len);
/* Returns the iterator's error, if any (0 after a clean end). */
int ck_iter_status(struct ck_iter *it);

/* Flushes memtables and compacts @cf so that deleted values leave the
 * disk (blob files are garbage collected during compaction). */
int ck_catalog_compact(struct ck_catalog *c, enum ck_cf cf);
/*
 * Every commit adds one uint64add operand per distinct chunk its version
 * uses, so each flush leaves the counts family a level-0 table of about
 * 30 bytes per chunk of the version, which RocksDB merges only once four
 * have piled up (pyweb-direct pushed version by version: 328 KB of counts
 * where the merged counts take 105 KB, 5 % of the repository). Merges
 * them now when level 0 holds at least half as many bytes as the levels
 * below it (or two tables and nothing below): each byte of counts is
 * then rewritten about three times at most on average, whatever the
 * repository's size. Returns whether it compacted. Not at close: the
 * compaction's fsyncs cost a short push 20 ms (docs/decisions.md, D16).
 */
bool ck_catalog_settle_counts(struct ck_catalog *c);
/* A RocksDB integer property (e.g. "rocksdb.total-blob-file-size"). */
int ck_catalog_property_u64(struct ck_catalog *c, enum ck_cf cf,
			    const char *name, uint64_t *ret);
