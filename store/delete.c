/* SPDX-License-Identifier: MIT */
/*
 * delete.c - deleting a version and reclaiming what only it kept alive.
 *
 * Under repo->lock: collect the distinct chunk IDs of the version's files,
 * read their counts, and compute which drop to zero. A chunk that dies
 * releases its delta base, which may die in turn; the cascade is bounded
 * by CK_DELTA_MAX_DEPTH. Then one synced batch deletes the version's keys,
 * the dead chunks with their counts, and applies every decrement. The
 * work is proportional to the size of the deleted version, not to the
 * repository.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "endian.h"
#include "idmap.h"
#include "keys.h"
#include "log.h"
#include "repo_internal.h"

/* Per-ID state during a deletion. */
struct dstate {
	uint64_t count; /* stored reference count */
	uint64_t dec;	/* decrements accumulated */
	bool read;	/* count is known */
	bool present;	/* a count key exists */
	bool dead;
	bool kept;	/* would die, but an open session holds it */
	bool inert;	/* a reclaim candidate that must not die */
};

struct deletion {
	struct ck_repo *r;
	struct ck_idmap map; /* ID -> index into st */
	struct dstate *st;
	struct ck_id *idv;
	size_t n, cap;
};

static int dec(struct deletion *d, const struct ck_id *id)
{
	struct ck_idmap_slot *sl;
	bool isnew;

	sl = ck_idmap_upsert(&d->map, id, &isnew);
	if (!sl)
		return -ENOMEM;
	if (isnew) {
		if (d->n == d->cap) {
			size_t ncap = d->cap ? d->cap * 2 : 4096;
			void *ns = realloc(d->st, ncap * sizeof(*d->st));
			void *ni;

			if (!ns)
				return -ENOMEM;
			d->st = ns;
			ni = realloc(d->idv, ncap * sizeof(*d->idv));
			if (!ni)
				return -ENOMEM;
			d->idv = ni;
			d->cap = ncap;
		}
		memset(&d->st[d->n], 0, sizeof(d->st[d->n]));
		d->idv[d->n] = *id;
		sl->val = d->n++;
	}
	d->st[sl->val].dec++;
	return 0;
}

/* Adds @id with no decrement: a reclaim candidate. */
static int seed(struct deletion *d, const struct ck_id *id)
{
	int q = dec(d, id);

	if (q == 0)
		d->st[ck_idmap_find(&d->map, id)->val].dec--;
	return q;
}

/* One decrement for each of the @n IDs at @v not in @seen yet. */
static int dec_ids(struct deletion *d, struct ck_idmap *seen, const uint8_t *v,
		   size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ck_id id;
		bool isnew;
		int q;

		memcpy(id.b, v + i * CK_ID_SIZE, CK_ID_SIZE);
		if (ck_id_is_zero(&id))
			continue;
		if (!ck_idmap_upsert(seen, &id, &isnew))
			return -ENOMEM;
		if (!isnew)
			continue;
		q = dec(d, &id);
		if (q < 0)
			return q;
	}
	return 0;
}

/* The same for the @n list chunks @v (repo_internal.h) and the IDs
 * they list (each list read once: @lists), read into @buf (CK_LIST_IDS
 * IDs). */
static int dec_lists(struct deletion *d, struct ck_idmap *seen,
		     struct ck_idmap *lists, const struct ck_id *v, size_t n,
		     struct ck_id **buf)
{
	if (!*buf && !(*buf = malloc(CK_LIST_IDS * sizeof(**buf))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct ck_id id = v[i];
		bool isnew;
		int q;

		q = dec_ids(d, seen, id.b, 1);
		if (q < 0)
			return q;
		if (ck_id_is_zero(&id))
			continue; /* a list of zero pages, not stored */
		if (!ck_idmap_upsert(lists, &id, &isnew))
			return -ENOMEM;
		if (!isnew)
			continue; /* the same list twice: its IDs too */
		q = ck_repo_chunk_read(d->r, &id, *buf,
				       CK_LIST_IDS * sizeof(**buf));
		if (q < 0)
			return q == -ENOENT ? -EBADMSG : q;
		if (q % CK_ID_SIZE)
			return -EBADMSG;
		q = dec_ids(d, seen, (const uint8_t *)*buf,
			    (size_t)q / CK_ID_SIZE);
		if (q < 0)
			return q;
	}
	return 0;
}

/* Collects one decrement per distinct chunk of version @vid and the keys
 * to delete. */
static int collect(struct deletion *d, uint64_t vid, struct ck_batch *b)
{
	struct ck_id *list = NULL;
	struct ck_idmap seen = CK_IDMAP_INIT, lists = CK_IDMAP_INIT;
	uint8_t prefix[9];
	struct ck_iter *it = NULL;
	int q = 0;

	for (unsigned view = 0; view < 2 && q == 0; view++) {
		ck_key_entry_prefix(prefix, view, vid);
		q = ck_iter_new(d->r->cat, CK_CF_META, prefix, sizeof(prefix),
				&it);
		if (q < 0)
			goto out;
		for (; ck_iter_valid(it); ck_iter_next(it)) {
			size_t klen;
			const void *k = ck_iter_key(it, &klen);

			ck_batch_delete(b, CK_CF_META, k, klen);
		}
		q = ck_iter_status(it);
		it = ck_iter_free(it);
		if (q < 0)
			goto out;

		/* A chunk used by both views is one reference. */
		ck_key_segment_prefix(prefix, view, vid);
		q = ck_iter_new(d->r->cat, CK_CF_META, prefix, sizeof(prefix),
				&it);
		if (q < 0)
			goto out;
		for (; ck_iter_valid(it); ck_iter_next(it)) {
			size_t klen, vlen;
			const void *k = ck_iter_key(it, &klen);
			const uint8_t *v = ck_iter_value(it, &vlen);
			const struct ck_id *lv;
			size_t nl;

			ck_batch_delete(b, CK_CF_META, k, klen);
			if (ck_segment_listed(v, vlen, &lv, &nl))
				q = dec_lists(d, &seen, &lists, lv, nl, &list);
			else if (vlen % CK_ID_SIZE == 0)
				q = dec_ids(d, &seen, v, vlen / CK_ID_SIZE);
			else
				q = -EBADMSG;
			if (q < 0)
				goto out;
		}
		q = ck_iter_status(it);
		it = ck_iter_free(it);
	}
out:
	ck_iter_free(it);
	free(list);
	ck_idmap_release(&lists);
	ck_idmap_release(&seen);
	return q;
}

/* Reads counts of IDs [from, d->n) in one multi-get. */
static int read_counts(struct deletion *d, size_t from)
{
	for (size_t i = from; i < d->n; i += 256) {
		size_t m = d->n - i > 256 ? 256 : d->n - i;
		const void *keys[256];
		size_t klens[256], vlens[256];
		void *vals[256];
		int q;

		for (size_t j = 0; j < m; j++) {
			keys[j] = d->idv[i + j].b;
			klens[j] = CK_ID_SIZE;
		}
		q = ck_catalog_multi_get(d->r->cat, CK_CF_REFS, m, keys, klens,
					 vals, vlens);
		if (q < 0)
			return q;
		for (size_t j = 0; j < m; j++) {
			struct dstate *s = &d->st[i + j];

			s->read = true;
			s->present = vals[j] != NULL;
			s->count = 0;
			if (vals[j] && vlens[j] == 8)
				s->count = ck_get_le64(vals[j]);
			else if (vals[j])
				q = -EBADMSG;
			free(vals[j]);
		}
		if (q < 0)
			return q;
	}
	return 0;
}

/* Takes r->lock with a new batch for a deletion (@dry_run: one that
 * only reports). */
static int deletion_begin(struct ck_repo *r, bool dry_run,
			  struct ck_batch **ret)
{
	int q;

	if (!dry_run && ck_repo_read_only(r))
		return -EROFS;
	if (!dry_run) {
		q = ck_catalog_recover(r->cat); /* after a full disk */
		if (q < 0)
			return q;
	}
	*ret = ck_batch_new(r->cat);
	if (!*ret)
		return -ENOMEM;
	pthread_mutex_lock(&r->lock);
	return 0;
}

static void deletion_end(struct deletion *d, struct ck_batch *b)
{
	pthread_mutex_unlock(&d->r->lock);
	ck_batch_free(b);
	ck_idmap_release(&d->map);
	free(d->st);
	free(d->idv);
}

/*
 * Evaluates deaths: a dead delta adds a decrement to its base, which is
 * evaluated in the next round. Adds the deletions, decrements, 'Z' keys
 * of kept chunks and statistics to @b; st[] gets the statistics deltas
 * (enum ck_stat_idx). The
 * counts of d->st[0, done) are already read. Caller holds r->lock.
 */
static int settle(struct deletion *d, struct ck_batch *b, int64_t st[CK_ST_N],
		  size_t done)
{
	struct ck_repo *r = d->r;
	int q = 0;

	for (;;) {
		bool changed = false;

		if (done < d->n) {
			q = read_counts(d, done);
			if (q < 0)
				return q;
			done = d->n;
		}
		for (size_t i = 0; i < d->n; i++) {
			struct dstate *s = &d->st[i];
			struct ck_chunk_hdr h;
			void *rec = NULL;
			size_t len = 0;

			if (s->dead || s->kept || s->inert || !s->read ||
			    s->dec < s->count)
				continue;
			if (s->dec > s->count) {
				/* More references dropped than counted: the
				 * counts are wrong; touch nothing. */
				return -EBADMSG;
			}
			if (ck_repo_chunk_held(r, &d->idv[i])) {
				uint8_t zk[1 + CK_ID_SIZE];

				s->kept = true; /* its base keeps its count */
				ck_batch_put(b, CK_CF_META, zk,
					     ck_key_zero(zk, &d->idv[i]), "", 0);
				continue;
			}
			s->dead = true;
			changed = true;
			q = ck_catalog_get(r->cat, CK_CF_CHUNKS, d->idv[i].b,
					   CK_ID_SIZE, &rec, &len);
			if (q == -ENOENT) {
				q = 0; /* already missing: fsck reports */
				continue;
			}
			if (q < 0)
				return q;
			q = ck_chunk_parse(rec, len, &h);
			free(rec);
			if (q < 0) {
				/* Unreadable record: free it anyway, as a
				 * content chunk of unknown size. */
				st[CK_ST_CHUNKS]--;
				st[CK_ST_STORED] -= (int64_t)len;
				q = 0;
				continue;
			}
			ck_stats_count(st, &h, len, -1);
			if (h.enc == CK_ENC_DELTA) {
				q = dec(d, &h.base);
				if (q < 0)
					return q;
			}
		}
		if (!changed && done == d->n)
			break;
	}

	for (size_t i = 0; i < d->n; i++) {
		struct dstate *s = &d->st[i];

		if (s->dead) {
			ck_batch_delete(b, CK_CF_CHUNKS, d->idv[i].b,
					CK_ID_SIZE);
			ck_batch_delete(b, CK_CF_REFS, d->idv[i].b, CK_ID_SIZE);
		} else if (s->dec) {
			ck_batch_add_u64(b, CK_CF_REFS, d->idv[i].b, CK_ID_SIZE,
					 -(int64_t)s->dec);
		}
	}
	ck_stats_put(b, st);
	return 0;
}

/* The space of freed records returns only in a compaction that collects
 * blob garbage (catalog.c), which gc runs: mark that one is due. */
static void mark_compact(struct ck_batch *b)
{
	ck_batch_put(b, CK_CF_META, CK_KEY_COMPACT, strlen(CK_KEY_COMPACT),
		     "1", 1);
}

int ck_repo_versions_delete(struct ck_repo *r, const char *container,
			    const struct ck_version *vs, size_t nvids,
			    bool dry_run, struct ck_delete_report *rep)
{
	struct deletion d = { .r = r };
	struct ck_batch *b = NULL;
	uint8_t key[3 + 2 * CK_NAME_MAX + 4];
	int64_t st[CK_ST_N] = { 0 };
	int q = 0;

	q = deletion_begin(r, dry_run, &b);
	if (q < 0)
		return q;

	/* Every version must still exist (looked up by its key, under the
	 * lock); a chunk shared by several of them drops one count per
	 * version. */
	for (size_t k = 0; k < nvids; k++) {
		const struct ck_version *v = &vs[k];
		struct ck_version cur;

		q = ck_repo_version_get_seq(r, container, v->seq, &cur);
		if (q == 0 && cur.vid != v->vid)
			q = -ENOENT;
		if (q < 0)
			goto out;
		q = collect(&d, v->vid, b);
		if (q < 0)
			goto out;
		ck_batch_delete(b, CK_CF_META, key,
				ck_key_version(key, container, v->seq));
		ck_batch_delete(b, CK_CF_META, key,
				ck_key_name(key, container, v->name));
	}

	q = settle(&d, b, st, 0);
	if (q < 0)
		goto out;
	if (rep) {
		rep->versions = nvids;
		rep->chunks_freed = (uint64_t)-st[CK_ST_CHUNKS];
		rep->bytes_freed = (uint64_t)-st[CK_ST_STORED];
	}
	if (dry_run)
		goto out;
	mark_compact(b);
	q = ck_catalog_write(r->cat, b, true);
	if (q < 0)
		goto out;
	r->del_epoch++;
out:
	deletion_end(&d, b);
	return q;
}

int ck_repo_version_delete(struct ck_repo *r, const char *container,
			   uint64_t vid, uint64_t *ret_freed)
{
	struct ck_delete_report rep = { 0 };
	struct ck_version *vs = NULL, v;
	size_t n = 0;
	int q;

	q = ck_repo_versions(r, container, &vs, &n);
	if (q < 0)
		return q;
	q = -ENOENT;
	for (size_t i = 0; i < n; i++)
		if (vs[i].vid == vid) {
			v = vs[i];
			q = 0;
		}
	free(vs);
	if (q == 0)
		q = ck_repo_versions_delete(r, container, &v, 1, false, &rep);
	if (q == 0 && ret_freed)
		*ret_freed = rep.bytes_freed;
	return q;
}

int ck_repo_reclaim(struct ck_repo *r, bool dry_run, uint64_t *ret_chunks,
		    uint64_t *ret_bytes)
{
	struct deletion d = { .r = r };
	struct ck_batch *b = NULL;
	struct ck_iter *it = NULL;
	int64_t st[CK_ST_N] = { 0 };
	size_t nseeds;
	int q;

	q = deletion_begin(r, dry_run, &b);
	if (q < 0)
		return q;
	q = ck_iter_new(r->cat, CK_CF_META, "Z", 1, &it);
	if (q < 0)
		goto out;
	for (; ck_iter_valid(it); ck_iter_next(it)) {
		size_t klen;
		const uint8_t *k = ck_iter_key(it, &klen);
		struct ck_id id;

		if (klen != 1 + CK_ID_SIZE)
			continue;
		memcpy(id.b, k + 1, CK_ID_SIZE);
		q = seed(&d, &id);
		if (q < 0)
			goto out;
	}
	q = ck_iter_status(it);
	if (q < 0)
		goto out;
	nseeds = d.n;
	q = read_counts(&d, 0);
	if (q < 0)
		goto out;
	/* Only a chunk still at zero dies (one a commit counted again
	 * stays, unless a dying delta was what counted it); one whose count
	 * key is gone is left alone. */
	for (size_t i = 0; i < nseeds; i++)
		if (!d.st[i].present)
			d.st[i].inert = true;
	q = settle(&d, b, st, nseeds);
	if (q < 0)
		goto out;
	for (size_t i = 0; i < nseeds; i++) {
		uint8_t zk[1 + CK_ID_SIZE];

		if (!d.st[i].kept)
			ck_batch_delete(b, CK_CF_META, zk,
					ck_key_zero(zk, &d.idv[i]));
	}
	*ret_chunks = (uint64_t)-st[CK_ST_CHUNKS];
	*ret_bytes = (uint64_t)-st[CK_ST_STORED];
	if (dry_run || nseeds == 0)
		goto out;
	if (st[CK_ST_CHUNKS])
		mark_compact(b);
	q = ck_catalog_write(r->cat, b, true);
	if (q == 0 && st[CK_ST_CHUNKS])
		r->del_epoch++;
out:
	ck_iter_free(it);
	deletion_end(&d, b);
	return q;
}

int ck_repo_compact(struct ck_repo *r, bool force, bool *ret_done)
{
	struct ck_batch *b = NULL;
	void *v = NULL;
	size_t vlen = 0;
	bool due;
	int q;

	*ret_done = false;
	if (ck_repo_read_only(r))
		return -EROFS;
	q = ck_catalog_recover(r->cat);
	if (q < 0)
		return q;
	/* Cleared before the compaction starts: a deletion meanwhile
	 * marks it due again. */
	pthread_mutex_lock(&r->lock);
	q = ck_catalog_get(r->cat, CK_CF_META, CK_KEY_COMPACT,
			   strlen(CK_KEY_COMPACT), &v, &vlen);
	free(v);
	due = q == 0;
	if (q == -ENOENT)
		q = 0;
	if (q == 0 && due) {
		b = ck_batch_new(r->cat);
		if (!b) {
			q = -ENOMEM;
		} else {
			ck_batch_delete(b, CK_CF_META, CK_KEY_COMPACT,
					strlen(CK_KEY_COMPACT));
			q = ck_catalog_write(r->cat, b, true);
			ck_batch_free(b);
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (q == 0 && !(due || force)) {
		/* Nothing freed: merge the counts' operands if they have
		 * piled up (catalog.h). */
		*ret_done = ck_catalog_settle_counts(r->cat);
		return 0;
	}
	if (q < 0)
		return q;
	q = ck_catalog_compact(r->cat, CK_CF_CHUNKS);
	if (q == 0)
		q = ck_catalog_compact(r->cat, CK_CF_REFS);
	if (q == 0) {
		*ret_done = true;
	} else if (due) {
		/* Still due: the next gc tries again (best effort; a
		 * repository that cannot write has bigger problems). */
		b = ck_batch_new(r->cat);
		if (b) {
			mark_compact(b);
			(void)ck_catalog_write(r->cat, b, true);
			ck_batch_free(b);
		}
	}
	return q;
}

