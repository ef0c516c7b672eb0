/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "catalog.h"
#include "log.h"
#include "rocksdb_ext.h"

static const char *const cf_names[CK_CF_MAX] = {
	[CK_CF_META] = "default",
	[CK_CF_CHUNKS] = "chunks",
	[CK_CF_REFS] = "refs",
	[CK_CF_STATS] = "stats",
};

struct ck_catalog {
	rocksdb_t *db;
	rocksdb_options_t *dbopts;
	rocksdb_options_t *cfopts[CK_CF_MAX];
	rocksdb_column_family_handle_t *cf[CK_CF_MAX];
	rocksdb_block_based_table_options_t *bbto;
	rocksdb_cache_t *cache;
	rocksdb_readoptions_t *ropts;
	rocksdb_writeoptions_t *wopts_sync;
	rocksdb_writeoptions_t *wopts_nosync;
	bool read_only;
	/* A write failed (disk full, I/O error): RocksDB refuses further
	 * writes, and a flush would hit its stored error, until
	 * ck_catalog_recover(). */
	atomic_bool failed;
	_Atomic int fail_err; /* what the failed write returned */
};

struct ck_batch {
	rocksdb_writebatch_t *wb;
	struct ck_catalog *c; /* whose column family handles the ops use */
};

struct ck_iter {
	rocksdb_iterator_t *it;
	rocksdb_readoptions_t *ropts;
	char *prefix;
	size_t plen;
};

/* RocksDB reports text, not codes: classify what callers act on. */
static int catalog_result(char *err, const char *op)
{
	int r = -EIO;

	if (!err)
		return 0;
	if (strstr(err, "No space left") || strstr(err, "NoSpace"))
		r = -ENOSPC;
	else if (strncmp(err, "Corruption", strlen("Corruption")) == 0)
		r = -EBADMSG;
	else if (strstr(err, "lock") && strstr(err, "LOCK"))
		r = -EAGAIN;
	else if (strstr(err, "does not exist"))
		r = -ENOENT;
	else if (strstr(err, "Not implemented") || strstr(err, "read only"))
		r = -EROFS;
	else if (strstr(err, "Too many open files"))
		r = -EMFILE;
	ck_log_debug("rocksdb %s: %s", op, err);
	rocksdb_free(err);
	return r;
}

/*
 * How many files RocksDB may keep open. Unbounded (its default), it kept
 * every table and blob file it had read open, and once a repository had
 * more files than the process may open, reads failed with EIO: at the
 * usual soft limit of 1,024 descriptors that is about 16 GiB of stored
 * pages (16 MiB blob files). Half the limit leaves the rest to sockets,
 * spool files and clients; past it RocksDB closes the least recently
 * used file (docs/decisions.md, D1).
 */
static int open_files_budget(void)
{
	struct rlimit rl;
	rlim_t n = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		n = rl.rlim_cur == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_cur;
	n /= 2;
	if (n < 20)
		n = 20; /* RocksDB keeps max_open_files - 10 */
	if (n > (rlim_t)1 << 19)
		n = (rlim_t)1 << 19;
	return (int)n;
}

int ck_catalog_open(const char *path, const struct ck_catalog_opts *o,
		    struct ck_catalog **ret)
{
	struct ck_catalog *c;
	const rocksdb_options_t *cfo[CK_CF_MAX];
	char *err = NULL;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->read_only = o->read_only;

	c->cache = rocksdb_cache_create_lru(64 << 20);
	c->bbto = rocksdb_block_based_options_create();
	rocksdb_block_based_options_set_block_cache(c->bbto, c->cache);
	rocksdb_block_based_options_set_filter_policy(
		c->bbto, rocksdb_filterpolicy_create_bloom(10));
	rocksdb_block_based_options_set_cache_index_and_filter_blocks(c->bbto,
								      1);

	c->dbopts = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(c->dbopts, o->create);
	rocksdb_options_set_create_missing_column_families(c->dbopts,
							   o->create);
	rocksdb_options_set_max_background_jobs(c->dbopts, 2);
	rocksdb_options_set_keep_log_file_num(c->dbopts, 3);
	/* FATAL only: on a full disk, RocksDB (Debian builds it with
	 * assertions) aborts when it logs to a LOG file whose last write
	 * failed. Errors reach us through return values anyway. */
	rocksdb_options_set_info_log_level(c->dbopts, 4 /* FATAL */);
	/* Opening table files needs no thread pool (the default spawns 16
	 * threads per column family at every open: most of a short CLI's
	 * start-up). */
	rocksdb_options_set_max_file_opening_threads(c->dbopts, 1);
	/* Blob records of one version lie together in its blob files; the
	 * kernel's readahead (off under RocksDB's default fadvise(RANDOM))
	 * turns a cold read of a version into a few large reads. */
	rocksdb_options_set_advise_random_on_open(c->dbopts, 0);
	/* Also opens table files when first read instead of all at open:
	 * `versions` reads no chunk index (5.3 -> 4.5 ms). */
	rocksdb_options_set_max_open_files(c->dbopts, open_files_budget());
	/* The WAL holds every record until its memtable is flushed, and a
	 * log file is deleted only once every column family has flushed
	 * what it holds: with 64 MiB memtables and small families that
	 * never fill, a running server kept every chunk it stored twice.
	 * Past 16 MiB of log, the memtables are flushed (all families
	 * together, as every flush: atomic_flush below; docs/decisions.md,
	 * D1). */
	rocksdb_options_set_max_total_wal_size(c->dbopts, 16 << 20);
	/* Flushes take every column family at once: one job, one MANIFEST
	 * record, one round of fsyncs (ck_catalog_free()). */
	rocksdb_options_set_atomic_flush(c->dbopts, 1);

	for (int i = 0; i < CK_CF_MAX; i++) {
		rocksdb_options_t *co = rocksdb_options_create();

		rocksdb_options_set_block_based_table_factory(co, c->bbto);
		rocksdb_options_set_write_buffer_size(co, 64 << 20);
		rocksdb_options_set_compression(co, rocksdb_zstd_compression);
		if (i == CK_CF_REFS || i == CK_CF_STATS)
			rocksdb_options_set_uint64add_merge_operator(co);
		if (i == CK_CF_META)
			rocksdb_options_set_compression(co,
							rocksdb_zstd_compression);
		if (i == CK_CF_CHUNKS && o->blob_files) {
			rocksdb_options_set_enable_blob_files(co, 1);
			rocksdb_options_set_min_blob_size(co, 512);
			/* Small enough that old files (where retention makes
			 * garbage) can be rewritten without touching new ones. */
			rocksdb_options_set_blob_file_size(co, 16 << 20);
			/* Blob garbage collection relocates every live record
			 * of the oldest blob files that a compaction meets,
			 * garbage or not: during ingest it rewrote the first
			 * version's records again and again. It runs only in
			 * the compaction after a deletion, where the garbage
			 * is (ck_catalog_compact(); docs/decisions.md, D1). */
			rocksdb_options_set_enable_blob_gc(co, 0);
			rocksdb_options_set_blob_gc_age_cutoff(co, 0.5);
			rocksdb_options_set_blob_gc_force_threshold(co, 0.5);
			rocksdb_options_set_blob_compression_type(
				co, rocksdb_no_compression);
		}
		c->cfopts[i] = co;
		cfo[i] = co;
	}

	if (o->read_only)
		c->db = rocksdb_open_for_read_only_column_families(
			c->dbopts, path, CK_CF_MAX, cf_names, cfo, c->cf, 0,
			&err);
	else
		c->db = rocksdb_open_column_families(c->dbopts, path,
						     CK_CF_MAX, cf_names, cfo,
						     c->cf, &err);
	r = catalog_result(err, "open");
	if (r < 0)
		goto fail;

	c->ropts = rocksdb_readoptions_create();
	/* Every chunk read is verified against its keyed hash (repo.h);
	 * RocksDB's own block and blob checksums would verify it twice. */
	rocksdb_readoptions_set_verify_checksums(c->ropts, 0);
	c->wopts_sync = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(c->wopts_sync, 1);
	c->wopts_nosync = rocksdb_writeoptions_create();
	*ret = c;
	return 0;
fail:
	ck_catalog_free(c);
	return r;
}

struct ck_catalog *ck_catalog_free(struct ck_catalog *c)
{
	if (!c)
		return NULL;
	if (c->db) {
		if (!c->read_only && !atomic_load(&c->failed)) {
			/* Leave no WAL to replay: the next open (often a
			 * short-lived CLI) starts at once. */
			char *err = NULL;

			(void)ck_rocksdb_flush_cfs(c->db, c->cf, CK_CF_MAX,
						   &err);
			(void)catalog_result(err, "flush");
		}
		for (int i = 0; i < CK_CF_MAX; i++)
			if (c->cf[i])
				rocksdb_column_family_handle_destroy(c->cf[i]);
		rocksdb_close(c->db);
	}
	for (int i = 0; i < CK_CF_MAX; i++)
		if (c->cfopts[i])
			rocksdb_options_destroy(c->cfopts[i]);
	if (c->dbopts)
		rocksdb_options_destroy(c->dbopts);
	if (c->bbto)
		rocksdb_block_based_options_destroy(c->bbto);
	if (c->cache)
		rocksdb_cache_destroy(c->cache);
	if (c->ropts)
		rocksdb_readoptions_destroy(c->ropts);
	if (c->wopts_sync)
		rocksdb_writeoptions_destroy(c->wopts_sync);
	if (c->wopts_nosync)
		rocksdb_writeoptions_destroy(c->wopts_nosync);
	free(c);
	return NULL;
}

bool ck_catalog_read_only(const struct ck_catalog *c)
{
	return c->read_only;
}

int ck_catalog_get(struct ck_catalog *c, enum ck_cf cf, const void *key,
		   size_t klen, void **ret, size_t *ret_len)
{
	char *err = NULL, *v;
	size_t vlen = 0;
	void *copy;
	int r;

	v = rocksdb_get_cf(c->db, c->ropts, c->cf[cf], key, klen, &vlen,
			   &err);
	r = catalog_result(err, "get");
	if (r < 0)
		return r;
	if (!v)
		return -ENOENT;
	/* Hand out memory the caller can free() with the system allocator. */
	copy = malloc(vlen ? vlen : 1);
	if (!copy) {
		rocksdb_free(v);
		return -ENOMEM;
	}
	memcpy(copy, v, vlen);
	rocksdb_free(v);
	*ret = copy;
	*ret_len = vlen;
	return 0;
}

int ck_catalog_multi_get(struct ck_catalog *c, enum ck_cf cf, size_t n,
			 const void *const *keys, const size_t *klens,
			 void **vals, size_t *lens)
{
	rocksdb_pinnableslice_t **v;
	char **errs;
	int r = 0;

	for (size_t i = 0; i < n; i++)
		vals[i] = NULL;
	v = calloc(n ? n : 1, sizeof(*v));
	errs = calloc(n ? n : 1, sizeof(*errs));
	if (!v || !errs) {
		r = -ENOMEM;
		goto out;
	}
	/* The batched MultiGet: one pass over each table file for all the
	 * keys and blob reads sorted by offset, values pinned instead of
	 * copied (rocksdb_multi_get_cf() is a Get() per key). */
	rocksdb_batched_multi_get_cf(c->db, c->ropts, c->cf[cf], n,
				     (const char *const *)keys, klens, v,
				     errs, false);
	for (size_t i = 0; i < n; i++) {
		int q = catalog_result(errs[i], "multi_get");

		if (q < 0 && r == 0)
			r = q;
		if (v[i] && r == 0) {
			size_t vlen = 0;
			const char *p = rocksdb_pinnableslice_value(v[i],
								    &vlen);

			vals[i] = malloc(vlen ? vlen : 1);
			if (!vals[i])
				r = -ENOMEM;
			else
				memcpy(vals[i], p, vlen);
			lens[i] = vlen;
		}
		if (v[i])
			rocksdb_pinnableslice_destroy(v[i]);
	}
	if (r < 0)
		for (size_t i = 0; i < n; i++) {
			free(vals[i]);
			vals[i] = NULL;
		}
out:
	free(v);
	free(errs);
	return r;
}

int ck_catalog_get_u64(struct ck_catalog *c, enum ck_cf cf, const void *key,
		       size_t klen, uint64_t *ret)
{
	void *v = NULL;
	size_t n = 0;
	int r;

	r = ck_catalog_get(c, cf, key, klen, &v, &n);
	if (r == -ENOENT) {
		*ret = 0;
		return 0;
	}
	if (r < 0)
		return r;
	if (n != 8) {
		free(v);
		return -EBADMSG;
	}
	memcpy(ret, v, 8); /* little-endian hosts only; checked in CMake */
	free(v);
	return 0;
}

struct ck_batch *ck_batch_new(struct ck_catalog *c)
{
	struct ck_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->c = c;
	b->wb = rocksdb_writebatch_create();
	return b;
}

struct ck_batch *ck_batch_free(struct ck_batch *b)
{
	if (!b)
		return NULL;
	rocksdb_writebatch_destroy(b->wb);
	free(b);
	return NULL;
}

void ck_batch_clear(struct ck_batch *b)
{
	rocksdb_writebatch_clear(b->wb);
}

size_t ck_batch_count(const struct ck_batch *b)
{
	return (size_t)rocksdb_writebatch_count(b->wb);
}

void ck_batch_put(struct ck_batch *b, enum ck_cf cf, const void *key,
		  size_t klen, const void *val, size_t vlen)
{
	rocksdb_writebatch_put_cf(b->wb, b->c->cf[cf], key, klen, val, vlen);
}

void ck_batch_delete(struct ck_batch *b, enum ck_cf cf, const void *key,
		     size_t klen)
{
	rocksdb_writebatch_delete_cf(b->wb, b->c->cf[cf], key, klen);
}

void ck_batch_add_u64(struct ck_batch *b, enum ck_cf cf, const void *key,
		      size_t klen, int64_t delta)
{
	uint64_t v = (uint64_t)delta;

	rocksdb_writebatch_merge_cf(b->wb, b->c->cf[cf], key, klen,
				    (const char *)&v, sizeof(v));
}

int ck_catalog_recover(struct ck_catalog *c)
{
	char *err = NULL;

	if (c->read_only || !atomic_load(&c->failed))
		return 0;
	/* A failed batch was not applied (RocksDB writes the log, syncs it,
	 * then the memtables), so nothing is redone here: the caller starts
	 * its work again. RocksDB may be recovering by itself already (its
	 * error handler retries every second): Resume() is then "busy", and
	 * the recovery's end is awaited, 5 s at most. */
	for (int i = 0; ck_rocksdb_resume(c->db, &err) < 0; i++) {
		if (!err)
			return -ENOMEM; /* the message could not be copied */
		if (!strstr(err, "busy") && !strstr(err, "Busy"))
			return catalog_result(err, "resume");
		if (i == 50) {
			/* Still recovering: the cause is likely still there
			 * (the disk still full). */
			int q = atomic_load(&c->fail_err);

			ck_log_debug("rocksdb resume: %s", err);
			rocksdb_free(err);
			return q < 0 ? q : -EBUSY;
		}
		rocksdb_free(err);
		err = NULL;
		usleep(100 * 1000);
	}
	atomic_store(&c->failed, false);
	ck_log_debug("rocksdb resumed: the repository accepts writes again");
	return 0;
}

int ck_catalog_write(struct ck_catalog *c, struct ck_batch *b, bool sync)
{
	char *err = NULL;
	int q;

	if (c->read_only)
		return -EROFS;
	if (b->c != c)
		return -EINVAL;
	rocksdb_write(c->db, sync ? c->wopts_sync : c->wopts_nosync, b->wb,
		      &err);
	q = catalog_result(err, "write");
	if (q < 0) {
		atomic_store(&c->fail_err, q);
		atomic_store(&c->failed, true);
	}
	return q;
}

int ck_iter_new(struct ck_catalog *c, enum ck_cf cf, const void *prefix,
		size_t plen, struct ck_iter **ret)
{
	struct ck_iter *it = calloc(1, sizeof(*it));

	if (!it)
		return -ENOMEM;
	it->prefix = malloc(plen ? plen : 1);
	if (!it->prefix) {
		free(it);
		return -ENOMEM;
	}
	memcpy(it->prefix, prefix, plen);
	it->plen = plen;
	it->ropts = rocksdb_readoptions_create();
	if (plen)
		rocksdb_readoptions_set_prefix_same_as_start(it->ropts, 0);
	it->it = rocksdb_create_iterator_cf(c->db, it->ropts, c->cf[cf]);
	rocksdb_iter_seek(it->it, prefix, plen);
	*ret = it;
	return 0;
}

struct ck_iter *ck_iter_free(struct ck_iter *it)
{
	if (!it)
		return NULL;
	rocksdb_iter_destroy(it->it);
	rocksdb_readoptions_destroy(it->ropts);
	free(it->prefix);
	free(it);
	return NULL;
}

bool ck_iter_valid(struct ck_iter *it)
{
	const char *k;
	size_t klen;

	if (!rocksdb_iter_valid(it->it))
		return false;
	k = rocksdb_iter_key(it->it, &klen);
	return klen >= it->plen && memcmp(k, it->prefix, it->plen) == 0;
}

void ck_iter_next(struct ck_iter *it)
{
	rocksdb_iter_next(it->it);
}

void ck_iter_seek_for_prev(struct ck_iter *it, const void *key, size_t klen)
{
	rocksdb_iter_seek_for_prev(it->it, key, klen);
}

const void *ck_iter_key(struct ck_iter *it, size_t *ret_len)
{
	return rocksdb_iter_key(it->it, ret_len);
}

const void *ck_iter_value(struct ck_iter *it, size_t *ret_len)
{
	return rocksdb_iter_value(it->it, ret_len);
}

int ck_iter_status(struct ck_iter *it)
{
	char *err = NULL;

	rocksdb_iter_get_error(it->it, &err);
	return catalog_result(err, "iterate");
}

/* Turns blob garbage collection of the chunks family on or off (a
 * mutable option: no reopen). */
static int blob_gc(struct ck_catalog *c, bool on)
{
	static const char *const keys[] = { "enable_blob_garbage_collection" };
	const char *vals[] = { on ? "true" : "false" };
	char *err = NULL;

	rocksdb_set_options_cf(c->db, c->cf[CK_CF_CHUNKS], 1, keys, vals,
			       &err);
	return catalog_result(err, "set blob gc");
}

int ck_catalog_compact(struct ck_catalog *c, enum ck_cf cf)
{
	rocksdb_flushoptions_t *fo;
	char *err = NULL;
	int r;

	if (c->read_only)
		return -EROFS;
	fo = rocksdb_flushoptions_create();
	rocksdb_flushoptions_set_wait(fo, 1);
	rocksdb_flush_cf(c->db, fo, c->cf[cf], &err);
	rocksdb_flushoptions_destroy(fo);
	r = catalog_result(err, "flush");
	if (r < 0)
		return r;
	if (cf == CK_CF_CHUNKS) {
		r = blob_gc(c, true);
		if (r < 0)
			return r;
	}
	{
		/* Force the bottommost level too: that is where deleted
		 * records and the blob files they point into are dropped. */
		rocksdb_compactoptions_t *co = rocksdb_compactoptions_create();

		rocksdb_compactoptions_set_bottommost_level_compaction(co, 2);
		rocksdb_compact_range_cf_opt(c->db, c->cf[cf], co, NULL, 0,
					     NULL, 0);
		rocksdb_compactoptions_destroy(co);
	}
	if (cf == CK_CF_CHUNKS)
		r = blob_gc(c, false);
	return r;
}

bool ck_catalog_settle_counts(struct ck_catalog *c)
{
	rocksdb_column_family_metadata_t *m;
	uint64_t l0 = 0, total, below;
	size_t l0_files = 0;

	if (c->read_only || atomic_load(&c->failed))
		return false;
	m = rocksdb_get_column_family_metadata_cf(c->db, c->cf[CK_CF_REFS]);
	if (!m)
		return false;
	total = rocksdb_column_family_metadata_get_size(m);
	if (rocksdb_column_family_metadata_get_level_count(m) > 0) {
		rocksdb_level_metadata_t *l =
			rocksdb_column_family_metadata_get_level_metadata(m,
									  0);

		if (l) {
			l0 = rocksdb_level_metadata_get_size(l);
			l0_files = rocksdb_level_metadata_get_file_count(l);
			rocksdb_level_metadata_destroy(l);
		}
	}
	rocksdb_column_family_metadata_destroy(m);
	below = total - l0;
	if (!l0_files || (l0_files < 2 && !below) || l0 * 2 < below)
		return false;
	rocksdb_compact_range_cf(c->db, c->cf[CK_CF_REFS], NULL, 0, NULL, 0);
	return true;
}

int ck_catalog_property_u64(struct ck_catalog *c, enum ck_cf cf,
			    const char *name, uint64_t *ret)
{
	char *v = rocksdb_property_value_cf(c->db, c->cf[cf], name);

	if (!v)
		return -ENOENT;
	*ret = strtoull(v, NULL, 10);
	rocksdb_free(v);
	return 0;
}
