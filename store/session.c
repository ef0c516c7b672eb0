/* SPDX-License-Identifier: MIT */
/*
 * session.c - the write side: building one new version.
 *
 * New chunk records are collected in memory and written in batches
 * (unsynced) under repo->lock after re-checking which of them are still
 * not counted; the commit writes the version in one synced batch. See
 * repo.h for the invariants this keeps and docs/format.md for why.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chunk.h"
#include "compress.h"
#include "endian.h"
#include "fsutil.h"
#include "idmap.h"
#include "keys.h"
#include "log.h"
#include "mem.h"
#include "pool.h"
#include "repo_internal.h"
#include "session_internal.h"

#define MAX_ENTRIES 100000
#define PENDING_FLUSH (8u << 20) /* bytes of new records per batch */
#define BLOCK_CHUNKS 256
/* Dictionaries are for page-sized chunks: trained from at most 4 MiB of
 * chunks no larger than 16 KiB. */
#define ZDICT_UNIT (16u << 10)
#define ZDICT_SAMPLE_BYTES (4u << 20)

/* Flags in the session's ID map. */
enum {
	ID_PENDING = 1, /* record built, not yet written */
	ID_WRITTEN = 2, /* record written by this session */
	ID_REUSED = 4,	/* counted in the repository when we looked */
	ID_UNUSED = 8,	/* put, but no file of the version uses it (commit) */
};

struct pending {
	struct ck_id id;
	size_t off, len; /* in s->pbuf */
};

int ck_session_begin(struct ck_repo *r, const char *container,
		     const char *name, struct ck_session **ret)
{
	struct ck_session *s;
	uint32_t seq;
	int q;

	if (ck_repo_read_only(r))
		return -EROFS;
	/* A push after one that filled the disk: RocksDB refuses writes
	 * until told the cause is gone. */
	q = ck_catalog_recover(r->cat);
	if (q < 0)
		return q;
	q = ck_name_check(container);
	if (q < 0)
		return q;
	q = ck_name_check(name);
	if (q < 0)
		return q;
	q = ck_repo_version_seq_by_name(r, container, name, &seq);
	if (q == 0)
		return -EEXIST;
	if (q != -ENOENT)
		return q;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->r = r;
	strcpy(s->container, container); /* lengths checked above */
	strcpy(s->name, name);
	pthread_mutex_lock(&r->lock);
	s->epoch = r->del_epoch;
	s->sid = ++r->next_session;
	if (CK_GROW(r->live, r->nlive, r->live_cap, 16) < 0) {
		pthread_mutex_unlock(&r->lock);
		free(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->nlive; i++)
		r->live[i]->alone = false;
	s->alone = r->nlive == 0;
	r->live[r->nlive++] = s;
	pthread_mutex_unlock(&r->lock);
	s->enc.cap = ck_compress_bound(CK_CHUNK_MAX) + CK_CHUNK_HDR_DELTA;
	s->enc.buf = malloc(s->enc.cap);
	if (!s->enc.buf) {
		free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

struct ck_session *ck_session_free(struct ck_session *s)
{
	if (!s)
		return NULL;
	/* An uncommitted session's journal stays for gc (gc.c), and so do
	 * the chunks a deletion kept for it (delete.c, 'Z' keys). */
	pthread_mutex_lock(&s->r->lock);
	for (size_t i = 0; i < s->r->nlive; i++)
		if (s->r->live[i] == s) {
			s->r->live[i] = s->r->live[--s->r->nlive];
			break;
		}
	pthread_mutex_unlock(&s->r->lock);
	for (size_t i = 0; i < s->n; i++) {
		free(s->files[i].ids);
		free(s->files[i].lists);
	}
	free(s->files);
	for (size_t i = 0; i < s->nflat; i++) {
		free(s->flat[i].ids);
		free(s->flat[i].lists);
	}
	free(s->flat);
	free(s->pend);
	free(s->pbuf);
	ck_pool_free(s->pool);
	free(s->enc.buf);
	free(s->par);
	free(s->vmap);
	ck_idmap_release(&s->ids);
	ck_idmap_release(&s->known);
	ck_idmap_release(&s->held);
	ck_idmap_release(&s->whdr);
	free(s->wrec);
	free(s);
	return NULL;
}

bool ck_repo_session_live(struct ck_repo *r, uint64_t sid)
{
	for (size_t i = 0; i < r->nlive; i++)
		if (r->live[i]->sid == sid)
			return true;
	return false;
}

bool ck_repo_chunk_held(struct ck_repo *r, const struct ck_id *id)
{
	for (size_t i = 0; i < r->nlive; i++)
		if (ck_idmap_find(&r->live[i]->held, id))
			return true;
	return false;
}

/* Caller holds r->lock. */
static int hold_locked(struct ck_session *s, const struct ck_id *id)
{
	bool isnew;

	return ck_idmap_upsert(&s->held, id, &isnew) ? 0 : -ENOMEM;
}

/* Whether @id has a count key (1) or not (0). */
static int counted(struct ck_repo *r, const struct ck_id *id)
{
	void *v = NULL;
	size_t n = 0;
	int q;

	q = ck_catalog_get(r->cat, CK_CF_REFS, id->b, CK_ID_SIZE, &v, &n);
	free(v);
	return q == 0 ? 1 : q == -ENOENT ? 0 : q;
}

int ck_session_hold_base(struct ck_session *s, const struct ck_id *id)
{
	const struct ck_idmap_slot *own = ck_idmap_find(&s->ids, id);
	int q;

	/* A base must have a count key: then it is a committed record (or
	 * one a deletion kept), whose own chain its count keeps alive. Not
	 * an uncounted record: another session may replace it. */
	pthread_mutex_lock(&s->r->lock);
	if (ck_idmap_find(&s->held, id) && !(own && (own->val & ID_WRITTEN))) {
		q = 1;
		goto out;
	}
	q = counted(s->r, id);
	if (q == 1 && hold_locked(s, id) < 0)
		q = -ENOMEM;
out:
	pthread_mutex_unlock(&s->r->lock);
	return q;
}

/*
 * Two open sessions may both write the same new chunk; the record stored
 * is the last one written, and whichever commits first owns it. The
 * earlier writer holds its own delta base, not the one the stored record
 * names: so the last writer makes every other open session that holds
 * the chunk hold its base too. Caller holds r->lock.
 */
static int share_base(struct ck_session *s, const struct ck_id *id,
		      const uint8_t *rec, size_t len)
{
	struct ck_repo *r = s->r;
	struct ck_chunk_hdr h;

	if (r->nlive < 2 || ck_chunk_parse(rec, len, &h) < 0 ||
	    h.enc != CK_ENC_DELTA)
		return 0;
	for (size_t i = 0; i < r->nlive; i++) {
		struct ck_session *t = r->live[i];

		if (t != s && ck_idmap_find(&t->held, id) &&
		    hold_locked(t, &h.base) < 0)
			return -ENOMEM;
	}
	return 0;
}

void ck_session_set_complete(struct ck_session *s, bool complete)
{
	s->complete_set = true;
	s->complete = complete;
}

void ck_session_set_progress(struct ck_session *s,
			     void (*fn)(void *ud, uint64_t done), void *ud)
{
	s->progress = fn;
	s->progress_ud = ud;
}

static int add_to(struct ck_sfile **v, size_t *n, size_t *cap,
		  const struct ck_entry *e, struct ck_id *ids)
{
	if (*n >= MAX_ENTRIES)
		return -E2BIG;
	if (CK_GROW(*v, *n, *cap, 32) < 0)
		return -ENOMEM;
	(*v)[*n].e = *e;
	(*v)[*n].ids = ids;
	(*v)[*n].lists = NULL;
	(*n)++;
	return 0;
}

static int add_entry(struct ck_session *s, const struct ck_entry *e,
		     struct ck_id *ids)
{
	return add_to(&s->files, &s->n, &s->cap, e, ids);
}

void ck_session_set_chain(struct ck_session *s, enum ck_chain chain)
{
	s->chain = chain;
}

void ck_session_set_kind(struct ck_session *s, enum ck_kind kind)
{
	s->kind_set = true;
	s->kind = kind;
}

static void fill_meta(struct ck_entry *e, const char *path,
		      const struct ck_file_meta *m)
{
	memset(e, 0, offsetof(struct ck_entry, target));
	e->target[0] = 0;
	strcpy(e->path, path);
	e->mode = m->mode & 07777;
	e->uid = m->uid;
	e->gid = m->gid;
	e->mtime_ns = m->mtime_ns;
}

int ck_session_add_dir(struct ck_session *s, const char *path,
		       const struct ck_file_meta *m)
{
	struct ck_entry e;
	int q = ck_path_check(path);

	if (q < 0)
		return q;
	fill_meta(&e, path, m);
	e.type = CK_ENTRY_DIR;
	return add_entry(s, &e, NULL);
}

int ck_session_add_symlink(struct ck_session *s, const char *path,
			   const char *target, const struct ck_file_meta *m)
{
	struct ck_entry e;
	size_t tl = strlen(target);
	int q = ck_path_check(path);

	if (q < 0)
		return q;
	if (tl == 0 || tl > CK_PATH_MAX)
		return -ENAMETOOLONG;
	fill_meta(&e, path, m);
	e.type = CK_ENTRY_SYMLINK;
	e.size = tl;
	memcpy(e.target, target, tl + 1);
	return add_entry(s, &e, NULL);
}

/* --- chunk writes ----------------------------------------------------- */

/* Keeps the header of a record this session wrote, for its commit. */
static int remember_written(struct ck_session *s, const struct ck_id *id,
			    const uint8_t *rec, size_t len)
{
	struct ck_chunk_hdr h;
	struct ck_idmap_slot *sl;
	bool isnew;
	int q;

	q = ck_chunk_parse(rec, len, &h);
	if (q < 0)
		return q;
	if (CK_GROW(s->wrec, s->nwrec, s->wrec_cap, 1024) < 0)
		return -ENOMEM;
	sl = ck_idmap_upsert(&s->whdr, id, &isnew);
	if (!sl)
		return -ENOMEM;
	s->wrec[s->nwrec] = (struct ck_wrec){ .base = h.base,
					      .raw_len = h.raw_len,
					      .len = (uint32_t)len,
					      .enc = h.enc,
					      .flags = h.flags };
	sl->val = ++s->nwrec;
	return 0;
}

/* Writes the pending records that are still not counted. Caller holds
 * r->lock. */
static int flush_locked(struct ck_session *s)
{
	struct ck_repo *r = s->r;
	struct ck_batch *b = NULL;
	const void **keys = NULL;
	size_t *klens = NULL, *vlens = NULL;
	void **vals = NULL;
	size_t n = s->npend, nj = 0;
	int q = 0;

	if (!n)
		return 0;
	keys = calloc(s->npend, sizeof(*keys));
	klens = calloc(s->npend, sizeof(*klens));
	vals = calloc(s->npend, sizeof(*vals));
	vlens = calloc(s->npend, sizeof(*vlens));
	b = ck_batch_new(r->cat);
	if (!keys || !klens || !vals || !vlens || !b) {
		q = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->npend; i++) {
		keys[i] = s->pend[i].id.b;
		klens[i] = CK_ID_SIZE;
	}
	q = ck_catalog_multi_get(r->cat, CK_CF_REFS, s->npend, keys, klens,
				 vals, vlens);
	if (q < 0)
		goto out;
	for (size_t i = 0; i < s->npend; i++) {
		struct ck_idmap_slot *sl = ck_idmap_find(&s->ids,
							 &s->pend[i].id);

		q = hold_locked(s, &s->pend[i].id);
		if (q < 0)
			goto out;
		if (vals[i]) {
			/* Counted meanwhile (invariant 4: never rewrite). */
			sl->val = ID_REUSED;
			continue;
		}
		q = share_base(s, &s->pend[i].id, s->pbuf + s->pend[i].off,
			       s->pend[i].len);
		if (q < 0)
			goto out;
		ck_batch_put(b, CK_CF_CHUNKS, s->pend[i].id.b, CK_ID_SIZE,
			     s->pbuf + s->pend[i].off, s->pend[i].len);
		sl->val = ID_WRITTEN;
		if (s->alone) {
			q = remember_written(s, &s->pend[i].id,
					     s->pbuf + s->pend[i].off,
					     s->pend[i].len);
			if (q < 0)
				goto out;
		}
		/* Reuse the keys array as the journal of what was written. */
		keys[nj++] = s->pend[i].id.b;
	}
	if (nj) {
		uint8_t jk[32];
		uint8_t *ids = malloc(nj * CK_ID_SIZE);

		if (!ids) {
			q = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < nj; i++)
			memcpy(ids + i * CK_ID_SIZE, keys[i], CK_ID_SIZE);
		ck_batch_put(b, CK_CF_META, jk,
			     ck_key_journal(jk, s->r->epoch, s->sid,
					    s->njournal),
			     ids, nj * CK_ID_SIZE);
		free(ids);
		s->njournal++;
	}
	q = ck_catalog_write(r->cat, b, false);
	if (q < 0)
		goto out;
	s->npend = 0;
	s->pbuf_len = 0;
out:
	if (vals)
		for (size_t i = 0; i < n; i++)
			free(vals[i]);
	free(keys);
	free(klens);
	free(vals);
	free(vlens);
	ck_batch_free(b);
	return q;
}

static int flush(struct ck_session *s)
{
	int q;

	pthread_mutex_lock(&s->r->lock);
	q = flush_locked(s);
	pthread_mutex_unlock(&s->r->lock);
	return q;
}

/* Compresses @data whole: with the repository's dictionary when it has
 * one and @len is a page-file chunk (*ret_enc CK_ENC_ZDICT), else alone
 * (CK_ENC_ZSTD). */
static int compress_whole(struct ck_session *s, const void *data, size_t len,
			  void *dst, size_t cap, size_t *ret_len,
			  enum ck_chunk_enc *ret_enc)
{
	struct ck_repo *r = s->r;
	const struct ck_zdict *d = NULL;

	if (r->settings.dictionary && len <= r->settings.chunk_unit &&
	    ck_repo_zdict(r, &d) == 0 && d) {
		*ret_enc = CK_ENC_ZDICT;
		return ck_compress_dict(d, data, len, dst, cap, ret_len);
	}
	*ret_enc = CK_ENC_ZSTD;
	return ck_compress(r->settings.zstd_level, data, len, NULL, 0, dst,
			   cap, ret_len);
}

/* Encodes @data as a record: a delta against @base when that is smaller,
 * else zstd, else raw. Returns the record in enc->buf (enc->cap bytes at
 * least ck_compress_bound(@len) + CK_CHUNK_HDR_DELTA). The delta is tried
 * first: a page that changed a little is a delta of a few dozen bytes,
 * and then compressing it whole as well would double the work for
 * nothing. */
static int encode(struct ck_session *s, struct ck_enc *enc, const void *data,
		  size_t len, const struct ck_id *base, uint8_t flags,
		  size_t *ret_len)
{
	struct ck_repo *r = s->r;
	struct ck_chunk_hdr h = { .enc = CK_ENC_RAW, .raw_len = (uint32_t)len };
	enum ck_chunk_enc whole;
	uint8_t plain[8192];
	size_t zlen = len, hl;
	int q;

	if (base && r->settings.deltas)
		(void)ck_session_try_delta(s, enc, data, len, base, &h, &zlen);
	if (h.enc != CK_ENC_DELTA) {
		q = compress_whole(s, data, len, enc->buf + CK_CHUNK_HDR_DELTA,
				   enc->cap - CK_CHUNK_HDR_DELTA, &zlen,
				   &whole);
		if (q < 0 && q != -ENOSPC)
			return q;
		if (q == -ENOSPC || zlen >= len)
			zlen = len; /* raw */
		else
			h.enc = whole;
	} else if (zlen > CK_GOOD_DELTA) {
		/* Whole wins unless the delta saves more than its base ID
		 * costs (the rule of ck_session_try_delta()). */
		size_t plen = 0, cap = zlen + CK_ID_SIZE + 8;

		q = compress_whole(s, data, len, plain,
				   cap < sizeof(plain) ? cap : sizeof(plain),
				   &plen, &whole);
		if (q < 0 && q != -ENOSPC)
			return q;
		if (q == 0) {
			h = (struct ck_chunk_hdr){ .enc = whole,
						   .raw_len = (uint32_t)len };
			memcpy(enc->buf + CK_CHUNK_HDR_DELTA, plain, plen);
			zlen = plen;
		}
	}

	h.flags = flags;
	hl = ck_chunk_write_hdr(&h, enc->buf);
	if (h.enc == CK_ENC_RAW)
		memcpy(enc->buf + hl, data, len);
	else if (hl != CK_CHUNK_HDR_DELTA)
		memmove(enc->buf + hl, enc->buf + CK_CHUNK_HDR_DELTA, zlen);
	*ret_len = hl + zlen;
	return 0;
}

static int queue_record(struct ck_session *s, const struct ck_id *id,
			const void *rec, size_t len)
{
	if (CK_GROW(s->pend, s->npend, s->pend_cap, 1024) < 0)
		return -ENOMEM;
	if (s->pbuf_len + len > s->pbuf_cap) {
		size_t ncap = s->pbuf_cap ? s->pbuf_cap : (1u << 20);
		void *nb;

		while (ncap < s->pbuf_len + len)
			ncap *= 2;
		nb = realloc(s->pbuf, ncap);
		if (!nb)
			return -ENOMEM;
		s->pbuf = nb;
		s->pbuf_cap = ncap;
	}
	memcpy(s->pbuf + s->pbuf_len, rec, len);
	s->pend[s->npend].id = *id;
	s->pend[s->npend].off = s->pbuf_len;
	s->pend[s->npend].len = len;
	s->npend++;
	s->pbuf_len += len;
	if (s->pbuf_len >= PENDING_FLUSH)
		return flush(s);
	return 0;
}

int ck_session_put_chunk(struct ck_session *s, const struct ck_id *id,
			 const void *data, size_t len,
			 const struct ck_id *base)
{
	struct ck_chunk_in c = { .id = *id, .data = data, .len = len,
				 .base = base };
	size_t bad;

	return ck_session_put_chunks(s, &c, 1, &bad);
}

/* Looks up @n IDs (none zero, none known to the session) in the refs
 * column family; present[i] says whether each is counted. With @hold,
 * the session holds every present one from then on (invariant 3), so the
 * caller must hold r->lock across the lookup and the hold; without, the
 * caller holds r->lock. */
static int lookup_refs_locked(struct ck_session *s, const struct ck_id *ids,
			      size_t n, bool *present, bool hold)
{
	const void *keys[BLOCK_CHUNKS];
	size_t klens[BLOCK_CHUNKS], vlens[BLOCK_CHUNKS];
	void *vals[BLOCK_CHUNKS];
	size_t done = 0;

	while (done < n) {
		size_t m = n - done > BLOCK_CHUNKS ? BLOCK_CHUNKS : n - done;
		int q;

		for (size_t i = 0; i < m; i++) {
			keys[i] = ids[done + i].b;
			klens[i] = CK_ID_SIZE;
		}
		q = ck_catalog_multi_get(s->r->cat, CK_CF_REFS, m, keys,
					 klens, vals, vlens);
		if (q < 0)
			return q;
		for (size_t i = 0; i < m; i++) {
			present[done + i] = vals[i] != NULL;
			free(vals[i]);
			if (q == 0 && hold && present[done + i])
				q = hold_locked(s, &ids[done + i]);
		}
		if (q < 0)
			return q;
		done += m;
	}
	return 0;
}

/* The same, taking r->lock and holding what is present. */
static int lookup_hold(struct ck_session *s, const struct ck_id *ids,
		       size_t n, bool *present)
{
	int q;

	pthread_mutex_lock(&s->r->lock);
	q = lookup_refs_locked(s, ids, n, present, true);
	pthread_mutex_unlock(&s->r->lock);
	return q;
}

int ck_session_missing(struct ck_session *s, const struct ck_id *ids,
		       size_t n, bool *missing)
{
	struct ck_id *ask = NULL;
	size_t *idx = NULL, na = 0;
	bool *present = NULL;
	int q = 0;

	ask = calloc(n ? n : 1, sizeof(*ask));
	idx = malloc((n ? n : 1) * sizeof(*idx));
	present = malloc((n ? n : 1) * sizeof(*present));
	if (!ask || !idx || !present) {
		q = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct ck_idmap_slot *sl;

		missing[i] = false;
		if (ck_id_is_zero(&ids[i]))
			continue;
		sl = ck_idmap_find(&s->ids, &ids[i]);
		if (sl && sl->val)
			continue;
		ask[na] = ids[i];
		idx[na++] = i;
	}
	q = lookup_hold(s, ask, na, present);
	if (q < 0)
		goto out;
	for (size_t i = 0; i < na; i++) {
		struct ck_idmap_slot *sl;
		bool isnew;

		if (!present[i]) {
			missing[idx[i]] = true;
			continue;
		}
		sl = ck_idmap_upsert(&s->ids, &ask[i], &isnew);
		if (!sl) {
			q = -ENOMEM;
			goto out;
		}
		if (!sl->val)
			sl->val = ID_REUSED;
	}
out:
	free(ask);
	free(idx);
	free(present);
	return q;
}

static int add_ids(struct ck_session *s, bool flat, const char *path,
		   uint64_t size, uint32_t chunk_size, const struct ck_id *ids,
		   uint64_t n, const struct ck_file_meta *m)
{
	struct ck_entry e;
	struct ck_id *copy = NULL;
	bool *missing = NULL;
	int q;

	q = ck_path_check(path);
	if (q < 0)
		return q;
	if (chunk_size == 0 || chunk_size > CK_CHUNK_MAX ||
	    n != (size + chunk_size - 1) / chunk_size)
		return -EINVAL;
	copy = malloc((n ? n : 1) * sizeof(*copy));
	missing = malloc((n ? n : 1) * sizeof(*missing));
	if (!copy || !missing) {
		q = -ENOMEM;
		goto out;
	}
	memcpy(copy, ids, n * sizeof(*copy));
	q = ck_session_missing(s, copy, n, missing);
	if (q < 0)
		goto out;
	for (uint64_t i = 0; i < n; i++)
		if (missing[i]) {
			q = -ENOENT; /* the caller must put it first */
			goto out;
		}
	fill_meta(&e, path, m);
	e.type = CK_ENTRY_FILE;
	e.view = flat ? CK_VIEW_FLAT : CK_VIEW_WRITTEN;
	e.size = size;
	e.chunk_size = chunk_size;
	e.nchunks = n;
	if (flat)
		q = add_to(&s->flat, &s->nflat, &s->flat_cap, &e, copy);
	else
		q = add_entry(s, &e, copy);
	if (q < 0)
		goto out;
	copy = NULL;
	if (!flat)
		s->logical += size;
out:
	free(copy);
	free(missing);
	return q;
}

int ck_session_add_file_ids(struct ck_session *s, const char *path,
			    uint64_t size, uint32_t chunk_size,
			    const struct ck_id *ids, uint64_t n,
			    const struct ck_file_meta *m)
{
	return add_ids(s, false, path, size, chunk_size, ids, n, m);
}

int ck_session_add_flat_ids(struct ck_session *s, const char *path,
			    uint64_t size, uint32_t chunk_size,
			    const struct ck_id *ids, uint64_t n,
			    const struct ck_file_meta *m)
{
	return add_ids(s, true, path, size, chunk_size, ids, n, m);
}

int ck_session_add_bases(struct ck_session *s,
			 const struct ck_page_hint *hint,
			 const struct ck_id *ids)
{
	return ck_session_load_bases(s, hint->space, hint->vaddrs, ids,
				     hint->n);
}

int ck_session_add_known(struct ck_session *s, const struct ck_id *ids,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool isnew;

		if (ck_id_is_zero(&ids[i]))
			continue;
		if (!ck_idmap_upsert(&s->known, &ids[i], &isnew))
			return -ENOMEM;
	}
	return 0;
}

int ck_session_hold_known(struct ck_session *s, const struct ck_version *pv)
{
	struct ck_repo *r = s->r;
	struct ck_version cur;
	struct ck_idmap_slot *sl;
	int q;

	pthread_mutex_lock(&r->lock);
	q = ck_repo_version_get_seq(r, pv->container, pv->seq, &cur);
	if (q == 0 && cur.vid == pv->vid) {
		s->parent_vid = pv->vid;
		/* The parent exists, so every chunk it uses is counted. */
		ck_idmap_foreach(&s->known, sl) {
			q = hold_locked(s, &sl->id);
			if (q < 0)
				goto out;
		}
		q = 1;
	} else if (q == 0 || q == -ENOENT) {
		/* Deleted meanwhile: nothing it used may be assumed. */
		ck_idmap_release(&s->known);
		s->known = (struct ck_idmap)CK_IDMAP_INIT;
		if (s->vmap)
			memset(s->vmap, 0, s->vmap_cap * sizeof(*s->vmap));
		s->vmap_n = 0;
		q = 0;
	}
out:
	pthread_mutex_unlock(&r->lock);
	return q;
}

const struct ck_id *ck_session_file_ids(struct ck_session *s,
					const char *path, uint64_t *ret_n)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->files[i].e.type == CK_ENTRY_FILE &&
		    strcmp(s->files[i].e.path, path) == 0) {
			*ret_n = s->files[i].e.nchunks;
			return s->files[i].ids;
		}
	return NULL;
}

/*
 * Encoding is most of ingest's CPU (a delta needs its base decoded, the
 * rest is zstd), and the new chunks of one block are independent. So with
 * more than one CPU a block's new page chunks are encoded by the calling
 * thread and the session's helpers at once, each into its own slot of
 * s->par, and queued afterwards in block order: the records are the ones
 * one thread would write. What encode() touches is safe to share: the
 * base cache and RocksDB lock themselves, holds are taken under r->lock,
 * zstd contexts are per thread, and s->ids is only read until the join.
 */
#define PAR_MIN 8 /* fewer new chunks than this: not worth waking helpers */

struct par_item {
	const struct ck_id *id;
	const uint8_t *data;
	size_t len, rlen;
	const struct ck_id *base;
	uint8_t flags; /* record header flags (CK_CHUNK_LIST) */
};

struct par_job {
	struct ck_session *s;
	struct par_item *items;
	size_t n;
	atomic_size_t next;
	atomic_int err;
	atomic_uint_fast64_t tried, used;
};

static void par_encode(void *arg, unsigned k)
{
	struct par_job *j = arg;
	struct ck_session *s = j->s;
	struct ck_enc enc = { .cap = s->par_slot };

	(void)k;
	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		struct par_item *it;
		int q;

		if (i >= j->n || atomic_load(&j->err))
			break;
		it = &j->items[i];
		enc.buf = s->par + i * s->par_slot;
		q = encode(s, &enc, it->data, it->len, it->base, it->flags,
			   &it->rlen);
		if (q < 0) {
			int zero = 0;

			atomic_compare_exchange_strong(&j->err, &zero, q);
			break;
		}
	}
	atomic_fetch_add(&j->tried, enc.delta_tried);
	atomic_fetch_add(&j->used, enc.delta_used);
}

/* Encodes and queues @items, chunks new to the session whose s->ids
 * slots the caller set to ID_PENDING; on the session's helpers as well
 * when there are enough of them. On failure the slots of the items not
 * queued go back to 0 (not stored: a later put stores them). */
static int put_items(struct ck_session *s, struct par_item *items, size_t n)
{
	const size_t unit = s->r->settings.chunk_unit;
	struct par_job j = { .s = s, .items = items, .n = n };
	bool par = n >= PAR_MIN;
	size_t k = 0;
	int q = 0;

	for (size_t i = 0; par && i < n; i++)
		par = items[i].len <= unit;
	if (s->r->settings.deltas && n <= BLOCK_CHUNKS) {
		const struct ck_id *bases[BLOCK_CHUNKS] = { NULL };

		for (size_t i = 0; i < n; i++)
			bases[i] = items[i].base;
		ck_repo_bases_prefetch_ids(s->r, n, bases);
	}
	if (par && !s->pool_tried) {
		unsigned h = ck_pool_default_helpers();

		s->pool_tried = true;
		s->par_slot = ck_compress_bound(unit) + CK_CHUNK_HDR_DELTA;
		if (h && ck_pool_new(h, &s->pool) == 0) {
			s->par = malloc(BLOCK_CHUNKS * s->par_slot);
			if (!s->par)
				s->pool = (ck_pool_free(s->pool), NULL);
		}
	}
	if (!par || !s->pool) {
		for (; k < n; k++) {
			size_t rlen;

			q = encode(s, &s->enc, items[k].data, items[k].len,
				   items[k].base, items[k].flags, &rlen);
			if (q == 0)
				q = queue_record(s, items[k].id, s->enc.buf,
						 rlen);
			if (q < 0)
				break;
		}
		goto out;
	}
	atomic_init(&j.next, 0);
	atomic_init(&j.err, 0);
	atomic_init(&j.tried, 0);
	atomic_init(&j.used, 0);
	ck_pool_run(s->pool, par_encode, &j);
	s->enc.delta_tried += atomic_load(&j.tried);
	s->enc.delta_used += atomic_load(&j.used);
	q = atomic_load(&j.err);
	for (; q == 0 && k < n; k++) {
		q = queue_record(s, items[k].id, s->par + k * s->par_slot,
				 items[k].rlen);
		if (q < 0)
			break;
	}
out:
	for (; q < 0 && k < n; k++)
		ck_idmap_find(&s->ids, items[k].id)->val = 0;
	return q;
}

/* Stores the chunks ask[j] (at askidx[j] in @buf) not present[j]: chunks
 * of @cs bytes, the last of the block's @blen bytes possibly shorter,
 * with their delta bases from @vaddrs (or none). */
static int encode_block(struct ck_session *s, const struct ck_id *ask,
			const size_t *askidx, const bool *present, size_t na,
			const uint8_t *buf, size_t cs, size_t blen,
			uint64_t space, const uint64_t *vaddrs)
{
	struct par_item items[BLOCK_CHUNKS];
	size_t n = 0;

	for (size_t k = 0; k < na; k++) {
		struct ck_idmap_slot *sl = ck_idmap_find(&s->ids, &ask[k]);
		size_t i = askidx[k];
		const struct ck_id *base = NULL;

		if (present[k]) {
			sl->val = ID_REUSED;
			continue;
		}
		if (vaddrs)
			base = ck_session_base_for(s, space, vaddrs[i]);
		if (base && ck_id_equal(base, &ask[k]))
			base = NULL;
		sl->val = ID_PENDING;
		items[n++] = (struct par_item){
			.id = &ask[k],
			.data = buf + i * cs,
			.len = (i + 1) * cs <= blen ? cs : blen - i * cs,
			.base = base,
		};
	}
	return put_items(s, items, n);
}

/* Whether the repository still wants a dictionary trained (the first
 * pages file of a repository created with one, compress.h). */
static bool wants_zdict(struct ck_session *s)
{
	struct ck_repo *r = s->r;
	const struct ck_zdict *d = NULL;

	return r->settings.dictionary && r->settings.chunk_unit <= ZDICT_UNIT &&
	       !atomic_load(&r->zdict_tried) && ck_repo_zdict(r, &d) == 0 &&
	       !d;
}

/* Trains the dictionary from up to CK_ZDICT_MAX_SAMPLES non-zero chunks
 * taken evenly from the @n chunks get(k) returns (NULL: none). */
static int train_zdict(struct ck_session *s, size_t n,
		       const uint8_t *(*get)(void *ud, size_t k, uint8_t *tmp),
		       void *ud)
{
	const size_t cs = s->r->settings.chunk_unit;
	size_t max = ZDICT_SAMPLE_BYTES / cs, ns = 0;
	uint8_t *samples, *tmp;
	int q = 0;

	if (max > CK_ZDICT_MAX_SAMPLES)
		max = CK_ZDICT_MAX_SAMPLES;
	samples = malloc(max * cs);
	tmp = malloc(cs);
	if (!samples || !tmp) {
		q = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < n && ns < max; k++) {
		/* Evenly: the k-th of max positions spread over n. */
		size_t at = n > max ? (size_t)((uint64_t)k * n / max) : k;
		const uint8_t *c;

		if (at >= n)
			break;
		c = get(ud, at, tmp);
		if (!c || ck_is_zero(c, cs))
			continue;
		memcpy(samples + ns * cs, c, cs);
		ns++;
	}
	q = ck_repo_zdict_train(s->r, samples, ns, cs);
out:
	free(samples);
	free(tmp);
	return q;
}

struct fd_pages {
	int fd;
	size_t cs;
	uint64_t size;
};

static const uint8_t *fd_page(void *ud, size_t k, uint8_t *tmp)
{
	const struct fd_pages *f = ud;
	uint64_t off = (uint64_t)k * f->cs;

	if (off + f->cs > f->size ||
	    ck_pread_all(f->fd, tmp, f->cs, (off_t)off) < 0)
		return NULL;
	return tmp;
}

struct in_pages {
	const struct ck_chunk_in *in;
	size_t cs;
};

static const uint8_t *in_page(void *ud, size_t k, uint8_t *tmp)
{
	const struct in_pages *p = ud;

	(void)tmp;
	return p->in[k].len == p->cs ? p->in[k].data : NULL;
}

static int put_chunks(struct ck_session *s, const struct ck_chunk_in *in,
		      size_t n, size_t *bad, bool train);

int ck_session_put_chunks(struct ck_session *s, const struct ck_chunk_in *in,
			  size_t n, size_t *bad)
{
	return put_chunks(s, in, n, bad, true);
}

/* @train: pages a dictionary may be trained from (not chunk lists). */
static int put_chunks(struct ck_session *s, const struct ck_chunk_in *in,
		      size_t n, size_t *bad, bool train)
{
	struct par_item items[BLOCK_CHUNKS];

	/* Every chunk is checked before any is stored. */
	for (size_t i = 0; i < n; i++) {
		struct ck_id got;

		*bad = i;
		if (in[i].len == 0 || in[i].len > CK_CHUNK_MAX ||
		    ck_id_is_zero(&in[i].id))
			return -EINVAL;
		ck_id_compute(&s->r->hasher, in[i].data, in[i].len, &got);
		if (!ck_id_equal(&got, &in[i].id))
			return -EBADMSG;
	}
	if (train && n >= CK_ZDICT_MIN_SAMPLES && wants_zdict(s)) {
		struct in_pages p = { .in = in,
				      .cs = s->r->settings.chunk_unit };
		int q = train_zdict(s, n, in_page, &p);

		if (q < 0)
			return q;
	}
	for (size_t first = 0; first < n; first += BLOCK_CHUNKS) {
		size_t m = n - first < BLOCK_CHUNKS ? n - first : BLOCK_CHUNKS;
		size_t k = 0;
		int q = 0;

		*bad = first;
		for (size_t i = first; i < first + m; i++) {
			const struct ck_chunk_in *c = &in[i];
			struct ck_idmap_slot *sl;
			bool isnew;

			sl = ck_idmap_upsert(&s->ids, &c->id, &isnew);
			if (!sl) {
				for (size_t j = 0; j < k; j++)
					ck_idmap_find(&s->ids, items[j].id)
						->val = 0;
				return -ENOMEM;
			}
			if (sl->val)
				continue; /* stored, or twice in this batch */
			sl->val = ID_PENDING;
			items[k++] = (struct par_item){
				.id = &c->id,
				.data = c->data,
				.len = c->len,
				.base = c->base && !ck_id_equal(c->base, &c->id)
						? c->base
						: NULL,
				.flags = c->list ? CK_CHUNK_LIST : 0,
			};
		}
		q = put_items(s, items, k);
		if (q < 0)
			return q;
	}
	return 0;
}

int ck_session_add_file_fd(struct ck_session *s, const char *path, int fd,
			   uint64_t size, bool pages,
			   const struct ck_page_hint *hint,
			   const struct ck_file_meta *m)
{
	struct ck_repo *r = s->r;
	uint32_t cs = pages ? r->settings.chunk_unit : CK_SMALL_CHUNK;
	const uint64_t *vaddrs = hint ? hint->vaddrs : NULL;
	uint64_t n = (size + cs - 1) / cs;
	struct ck_entry e;
	struct ck_id *ids = NULL, ask[BLOCK_CHUNKS] = { 0 };
	size_t askidx[BLOCK_CHUNKS];
	bool present[BLOCK_CHUNKS];
	uint8_t *buf = NULL;
	int q;

	q = ck_path_check(path);
	if (q < 0)
		return q;
	if (vaddrs && hint->n != n)
		vaddrs = NULL; /* the pagemap disagrees: no delta hints */
	ids = malloc((n ? n : 1) * sizeof(*ids));
	buf = malloc((size_t)BLOCK_CHUNKS * cs);
	if (!ids || !buf) {
		q = -ENOMEM;
		goto out;
	}
	if (pages && n >= CK_ZDICT_MIN_SAMPLES && wants_zdict(s)) {
		struct fd_pages f = { .fd = fd, .cs = cs, .size = size };

		q = train_zdict(s, (size_t)n, fd_page, &f);
		if (q < 0)
			goto out;
	}
	for (uint64_t first = 0; first < n; first += BLOCK_CHUNKS) {
		uint64_t cnt = n - first > BLOCK_CHUNKS ? BLOCK_CHUNKS
							: n - first;
		uint64_t off = first * cs;
		size_t blen = (size_t)(size - off < cnt * cs ? size - off
							      : cnt * cs);
		size_t na = 0;

		q = ck_pread_all(fd, buf, blen, (off_t)off);
		if (q < 0)
			goto out;
		/* Hash every chunk; note the ones the session has not
		 * seen. */
		for (uint64_t i = 0; i < cnt; i++) {
			size_t clen = i + 1 < cnt ? cs : blen - i * cs;
			const uint8_t *c = buf + i * cs;
			struct ck_idmap_slot *sl;
			bool isnew;

			if (ck_is_zero(c, clen)) {
				memset(&ids[first + i], 0, sizeof(*ids));
				continue;
			}
			ck_id_compute(&r->hasher, c, clen, &ids[first + i]);
			sl = ck_idmap_upsert(&s->ids, &ids[first + i],
					     &isnew);
			if (!sl) {
				q = -ENOMEM;
				goto out;
			}
			if (!isnew)
				continue;
			/* Chunks of the parent version need no lookup;
			 * commit re-checks them if anything was deleted. */
			if (ck_idmap_find(&s->known, &ids[first + i])) {
				sl->val = ID_REUSED;
				continue;
			}
			ask[na] = ids[first + i];
			askidx[na++] = (size_t)i;
		}
		q = lookup_hold(s, ask, na, present);
		if (q < 0)
			goto out;
		q = encode_block(s, ask, askidx, present, na, buf, cs, blen,
				 vaddrs ? hint->space : 0,
				 vaddrs ? vaddrs + first : NULL);
		if (q < 0)
			goto out;
		s->done += blen;
		if (s->progress)
			s->progress(s->progress_ud, s->done);
	}
	fill_meta(&e, path, m);
	e.type = CK_ENTRY_FILE;
	e.size = size;
	e.chunk_size = cs;
	e.nchunks = n;
	q = add_entry(s, &e, ids);
	if (q < 0)
		goto out;
	ids = NULL;
	s->logical += size;
out:
	free(ids);
	free(buf);
	return q;
}

/* --- commit ------------------------------------------------------------ */

static uint64_t nlists(const struct ck_entry *e)
{
	return (e->nchunks + CK_LIST_IDS - 1) / CK_LIST_IDS;
}

#define SEG_LISTS (CK_SEG_CHUNKS / CK_LIST_IDS)

/* The parent's list chunks of segment @seg of file @path in @view into
 * @ret (zero IDs: none, or a format 1 parent): one read per segment. */
static void parent_lists(struct ck_session *s, unsigned view, const char *path,
			 uint64_t seg, struct ck_id ret[SEG_LISTS])
{
	uint8_t key[9 + CK_PATH_MAX + 5];
	const struct ck_id *lv;
	size_t klen, vlen = 0, nl;
	void *v = NULL;

	memset(ret, 0, SEG_LISTS * sizeof(*ret));
	if (!s->parent_vid)
		return;
	klen = ck_key_segment(key, view, s->parent_vid, path, (uint32_t)seg);
	if (ck_catalog_get(s->r->cat, CK_CF_META, key, klen, &v, &vlen) < 0)
		return;
	if (ck_segment_listed(v, vlen, &lv, &nl))
		memcpy(ret, lv, (nl < SEG_LISTS ? nl : SEG_LISTS) * sizeof(*ret));
	free(v);
}

/*
 * Format 2: stores every file's chunk list as list chunks (repo_internal.h),
 * each a delta candidate of the parent version's list chunk at the same
 * place, through the same path as the pages. Before the commit takes
 * r->lock: they are chunks like the others, counted by the commit.
 */
static int put_lists(struct ck_session *s)
{
	struct ck_chunk_in in[BLOCK_CHUNKS];
	struct ck_id bases[BLOCK_CHUNKS], pl[SEG_LISTS];
	size_t nin = 0, bad;
	int q = 0;

	if (s->r->format < 2)
		return 0;
	for (unsigned view = 0; view < 2 && q == 0; view++) {
		struct ck_sfile *f = view ? s->flat : s->files;
		size_t nf = view ? s->nflat : s->n;

		for (size_t i = 0; i < nf && q == 0; i++) {
			uint64_t nl = nlists(&f[i].e);

			/* A few IDs stay in the key: a list chunk would cost
			 * more than it saves. */
			if (f[i].e.type != CK_ENTRY_FILE ||
			    f[i].e.nchunks <= CK_LIST_INLINE)
				continue;
			free(f[i].lists);
			f[i].lists = calloc((size_t)nl, sizeof(*f[i].lists));
			if (!f[i].lists)
				return -ENOMEM;
			for (uint64_t j = 0; j < nl; j++) {
				uint64_t first = j * CK_LIST_IDS;
				uint64_t cnt = f[i].e.nchunks - first;
				const void *data = f[i].ids + first;

				if (cnt > CK_LIST_IDS)
					cnt = CK_LIST_IDS;
				if (j % SEG_LISTS == 0)
					parent_lists(s, view, f[i].e.path,
						     j / SEG_LISTS, pl);
				if (ck_is_zero(data, cnt * CK_ID_SIZE))
					continue; /* zero ID: zero pages */
				ck_id_compute(&s->r->hasher, data,
					      cnt * CK_ID_SIZE, &f[i].lists[j]);
				bases[nin] = pl[j % SEG_LISTS];
				in[nin] = (struct ck_chunk_in){
					.id = f[i].lists[j],
					.data = data,
					.len = cnt * CK_ID_SIZE,
					.base = ck_id_is_zero(&bases[nin])
							? NULL
							: &bases[nin],
					.list = true,
				};
				if (++nin < BLOCK_CHUNKS)
					continue;
				q = put_chunks(s, in, nin, &bad, false);
				nin = 0;
				if (q < 0)
					return q;
			}
		}
	}
	if (q == 0 && nin)
		q = put_chunks(s, in, nin, &bad, false);
	return q;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct ck_sfile *)a)->e.path,
		      ((const struct ck_sfile *)b)->e.path);
}

/* Sorted entries: no duplicates, every parent directory present. */
static int check_tree(struct ck_session *s)
{
	qsort(s->files, s->n, sizeof(*s->files), cmp_entry);
	for (size_t i = 0; i < s->n; i++) {
		const char *p = s->files[i].e.path;
		const char *slash = strrchr(p, '/');
		struct ck_sfile key;
		struct ck_sfile *d;

		if (i > 0 && strcmp(s->files[i - 1].e.path, p) == 0)
			return -EEXIST;
		if (!slash)
			continue;
		memcpy(key.e.path, p, (size_t)(slash - p));
		key.e.path[slash - p] = 0;
		d = bsearch(&key, s->files, s->n, sizeof(*s->files),
			    cmp_entry);
		if (!d || d->e.type != CK_ENTRY_DIR)
			return -ENOTDIR;
	}
	return 0;
}

static const struct ck_sfile *top_entry(struct ck_session *s,
					const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->files[i].e.path, name) == 0)
			return &s->files[i];
	return NULL;
}

static void classify(struct ck_session *s, struct ck_version *v)
{
	const struct ck_sfile *link = top_entry(s, "parent");
	bool pagemap = false, pstree = false;

	for (size_t i = 0; i < s->n; i++) {
		const char *p = s->files[i].e.path;

		if (strncmp(p, "pagemap-", 8) == 0)
			pagemap = true;
		if (strcmp(p, "pstree.img") == 0)
			pstree = true;
	}
	v->complete = s->complete_set ? s->complete
				       : top_entry(s, "stats-dump") != NULL;
	v->kind = s->kind_set ? s->kind
			      : ck_session_dir_kind(s, pagemap, pstree);
	v->parent[0] = 0;
	if (link && link->e.type == CK_ENTRY_SYMLINK) {
		/* CRIU writes "../<dir>"; keep its last component when it
		 * names a version of this container. */
		char t[CK_PATH_MAX + 1];
		char *b;
		uint32_t seq;

		strcpy(t, link->e.target);
		while (strlen(t) > 1 && t[strlen(t) - 1] == '/')
			t[strlen(t) - 1] = 0;
		b = strrchr(t, '/');
		b = b ? b + 1 : t;
		if (ck_name_check(b) == 0 &&
		    ck_repo_version_seq_by_name(s->r, s->container, b, &seq) ==
			    0)
			strcpy(v->parent, b);
	}
}

/* A chunk the commit needs is gone: should not happen while the session
 * holds what it uses, so it is logged. */
static int gone(struct ck_session *s, const char *what, const struct ck_id *id)
{
	char hex[CK_ID_HEX_SIZE];

	ck_log_warning("commit of %s/%s: %s %s is gone", s->container,
		       s->name, what, ck_id_to_hex(id, hex));
	return -EAGAIN;
}

/*
 * A delta must stay deeper than its base (chunk.h). Its depth was taken
 * from the base's record when the delta was made; if that base was
 * deleted and written again since (gc freed it, another session stored
 * the same content as a deeper delta), the stored base may now be as deep
 * or deeper. Before the delta is counted, under r->lock, this is checked;
 * a delta that would break the rule is rewritten as a whole record, its
 * bytes verified against its ID. -EAGAIN if the base is gone. Updates
 * *len and *h to the record as stored. Caller holds r->lock.
 */
static int check_base(struct ck_session *s, struct ck_batch *b,
		      const struct ck_id *id, const void *rec, size_t *len,
		      struct ck_chunk_hdr *h)
{
	struct ck_repo *r = s->r;
	struct ck_chunk_hdr bh, nh = { .enc = CK_ENC_ZSTD };
	uint8_t *base = NULL, *page = NULL;
	struct ck_id got;
	void *brec = NULL;
	size_t blen = 0, zlen = 0;
	int q, n;

	q = ck_catalog_get(r->cat, CK_CF_CHUNKS, h->base.b, CK_ID_SIZE, &brec,
			   &blen);
	if (q < 0)
		return q == -ENOENT ? gone(s, "delta base", &h->base) : q;
	q = ck_chunk_parse(brec, blen, &bh);
	free(brec);
	if (q < 0 || bh.depth < h->depth)
		return q;
	base = malloc(CK_CHUNK_MAX);
	page = malloc(h->raw_len);
	if (!base || !page) {
		q = -ENOMEM;
		goto out;
	}
	n = ck_repo_chunk_read(r, &h->base, base, CK_CHUNK_MAX);
	if (n < 0) {
		q = n == -ENOENT ? gone(s, "delta base", &h->base) : n;
		goto out;
	}
	q = ck_decompress((const uint8_t *)rec + h->body_off,
			  *len - h->body_off, base, (size_t)n, page,
			  h->raw_len);
	if (q < 0)
		goto out;
	ck_id_compute(&r->hasher, page, h->raw_len, &got);
	if (!ck_id_equal(&got, id)) {
		q = -EBADMSG;
		goto out;
	}
	nh.raw_len = h->raw_len;
	nh.flags = h->flags;
	q = ck_compress(r->settings.zstd_level, page, h->raw_len, NULL, 0,
			s->enc.buf + CK_CHUNK_HDR, s->enc.cap - CK_CHUNK_HDR,
			&zlen);
	if (q == -ENOSPC || (q == 0 && zlen >= h->raw_len)) {
		nh.enc = CK_ENC_RAW;
		memcpy(s->enc.buf + CK_CHUNK_HDR, page, h->raw_len);
		zlen = h->raw_len;
		q = 0;
	}
	if (q < 0)
		goto out;
	ck_chunk_write_hdr(&nh, s->enc.buf);
	ck_batch_put(b, CK_CF_CHUNKS, id->b, CK_ID_SIZE, s->enc.buf,
		     CK_CHUNK_HDR + zlen);
	nh.body_off = CK_CHUNK_HDR;
	*h = nh;
	*len = CK_CHUNK_HDR + zlen;
out:
	free(base);
	free(page);
	return q;
}

/* Takes ownership of the records this session wrote that nobody counted
 * yet (and, transitively, of uncounted delta bases they name), adding
 * reference and statistics updates to @b. Caller holds r->lock. */
static int own_chunks(struct ck_session *s, struct ck_batch *b,
		      struct ck_version *v)
{
	struct ck_repo *r = s->r;
	struct ck_idmap owned = CK_IDMAP_INIT;
	struct ck_id *work = NULL;
	size_t nwork = 0, cap = 0;
	struct ck_idmap_slot *sl;
	int64_t st[CK_ST_N] = { 0 };
	int q = 0;

	ck_idmap_foreach(&s->ids, sl) {
		if (sl->val != ID_WRITTEN)
			continue;
		if (CK_GROW(work, nwork, cap, 1024) < 0) {
			q = -ENOMEM;
			goto out;
		}
		work[nwork++] = sl->id;
	}
	while (nwork > 0) {
		struct ck_id id = work[--nwork];
		struct ck_chunk_hdr h;
		struct ck_idmap_slot *o, *w;
		void *rec = NULL;
		size_t len = 0;
		bool isnew;

		o = ck_idmap_upsert(&owned, &id, &isnew);
		if (!o) {
			q = -ENOMEM;
			goto out;
		}
		if (!isnew)
			continue;
		w = s->alone ? ck_idmap_find(&s->whdr, &id) : NULL;
		if (w) {
			/* Alone, the stored record is the one this session
			 * wrote, nobody counted it, and a delta's base is a
			 * counted chunk this session holds (hold_base):
			 * nothing to read back. */
			const struct ck_wrec *wr = &s->wrec[w->val - 1];

			h = (struct ck_chunk_hdr){ .enc = wr->enc,
						   .flags = wr->flags,
						   .raw_len = wr->raw_len,
						   .base = wr->base };
			len = wr->len;
			goto owned;
		}
		q = ck_catalog_get(r->cat, CK_CF_REFS, id.b, CK_ID_SIZE, &rec,
				   &len);
		free(rec);
		rec = NULL;
		if (q == 0) {
			o->val = 0; /* counted by someone else meanwhile */
			continue;
		}
		if (q != -ENOENT)
			goto out;
		/* The current record may be another session's if two wrote
		 * the same chunk; what counts is the record that is
		 * stored. */
		q = ck_catalog_get(r->cat, CK_CF_CHUNKS, id.b, CK_ID_SIZE,
				   &rec, &len);
		if (q < 0) {
			q = q == -ENOENT ? gone(s, "written chunk", &id) : q;
			goto out;
		}
		q = ck_chunk_parse(rec, len, &h);
		if (q == 0 && h.enc == CK_ENC_DELTA)
			q = check_base(s, b, &id, rec, &len, &h);
		free(rec);
		if (q < 0)
			goto out;
owned:
		o->val = 1;
		/* Bytes added include the chunk lists; chunks are content. */
		v->added_bytes += len;
		if (!(h.flags & CK_CHUNK_LIST))
			v->added_chunks++;
		ck_stats_count(st, &h, len, 1);
		if (h.enc != CK_ENC_DELTA)
			continue;
		ck_batch_add_u64(b, CK_CF_REFS, h.base.b, CK_ID_SIZE, 1);
		if (w)
			continue;
		/* An uncounted base (no count key; a kept one has its key
		 * at zero and is counted again by this +1) must become ours
		 * too. */
		q = counted(r, &h.base);
		if (q < 0)
			goto out;
		if (q == 0 && !ck_idmap_find(&owned, &h.base)) {
			if (CK_GROW(work, nwork, cap, 1024) < 0) {
				q = -ENOMEM;
				goto out;
			}
			work[nwork++] = h.base;
		}
		q = 0;
	}
	/* Every owned chunk that this version does not reference itself
	 * (a transitively owned base) still needs its count key to exist:
	 * the delta's +1 above provides it. */
	ck_stats_put(b, st);
out:
	free(work);
	ck_idmap_release(&owned);
	return q;
}

/* Checks that every chunk the session reuses is still counted. Caller
 * holds r->lock. */
static int check_reused(struct ck_session *s)
{
	struct ck_idmap_slot *sl;
	struct ck_id batch[BLOCK_CHUNKS];
	bool present[BLOCK_CHUNKS];
	size_t nb = 0;
	int q;

	if (s->epoch == s->r->del_epoch)
		return 0; /* nothing was deleted since we looked */
	ck_idmap_foreach(&s->ids, sl) {
		if (sl->val != ID_REUSED)
			continue;
		batch[nb++] = sl->id;
		if (nb < BLOCK_CHUNKS)
			continue;
		q = lookup_refs_locked(s, batch, nb, present, false);
		if (q < 0)
			return q;
		for (size_t i = 0; i < nb; i++)
			if (!present[i])
				return gone(s, "reused chunk", &batch[i]);
		nb = 0;
	}
	q = lookup_refs_locked(s, batch, nb, present, false);
	if (q < 0)
		return q;
	for (size_t i = 0; i < nb; i++)
		if (!present[i])
			return gone(s, "reused chunk", &batch[i]);
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, CK_ID_SIZE);
}

/* Adds the non-zero @ids to @used. */
static int add_used(struct ck_idmap *used, const struct ck_id *ids,
		    uint64_t n)
{
	for (uint64_t k = 0; k < n; k++) {
		bool isnew;

		if (!ck_id_is_zero(&ids[k]) &&
		    !ck_idmap_upsert(used, &ids[k], &isnew))
			return -ENOMEM;
	}
	return 0;
}

/*
 * A client may put chunks that no file of the version uses (an HTTP
 * upload that changed its mind). They are not counted; the records this
 * session wrote for them are left in a journal record of their own that
 * the commit does not delete, so gc's sweep frees them once the session
 * is over. Caller holds r->lock; after flush_locked().
 */
static int mark_unused(struct ck_session *s, struct ck_batch *b)
{
	struct ck_idmap used = CK_IDMAP_INIT;
	struct ck_idmap_slot *sl;
	uint8_t *ids = NULL;
	size_t n = 0;
	int q = 0;

	for (int view = 0; view < 2; view++) {
		const struct ck_sfile *f = view ? s->flat : s->files;
		size_t nf = view ? s->nflat : s->n;

		for (size_t i = 0; i < nf; i++) {
			if (f[i].e.type != CK_ENTRY_FILE)
				continue;
			q = add_used(&used, f[i].ids, f[i].e.nchunks);
			if (q == 0 && f[i].lists)
				q = add_used(&used, f[i].lists,
					     nlists(&f[i].e));
			if (q < 0)
				goto out;
		}
	}
	if (used.n == s->ids.n)
		goto out; /* every chunk put is used */
	ids = malloc(s->ids.n * CK_ID_SIZE);
	if (!ids) {
		q = -ENOMEM;
		goto out;
	}
	ck_idmap_foreach(&s->ids, sl) {
		if (ck_idmap_find(&used, &sl->id))
			continue;
		sl->val |= ID_UNUSED;
		if (sl->val & ID_WRITTEN)
			memcpy(ids + CK_ID_SIZE * n++, sl->id.b, CK_ID_SIZE);
	}
	if (n) {
		uint8_t jk[32];

		ck_batch_put(b, CK_CF_META, jk,
			     ck_key_journal(jk, s->r->epoch, s->sid,
					    s->njournal),
			     ids, n * CK_ID_SIZE);
	}
out:
	free(ids);
	ck_idmap_release(&used);
	return q;
}

/* One increment per distinct chunk, in key order: the memtable's skip
 * list inserts sorted keys much faster than random ones. */
static int add_refs(struct ck_session *s, struct ck_batch *b)
{
	struct ck_idmap_slot *sl;
	struct ck_id *v;
	size_t n = 0;

	v = malloc((s->ids.n ? s->ids.n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	ck_idmap_foreach(&s->ids, sl) {
		if (!(sl->val & ID_UNUSED))
			v[n++] = sl->id;
	}
	qsort(v, n, sizeof(*v), cmp_id);
	for (size_t i = 0; i < n; i++)
		ck_batch_add_u64(b, CK_CF_REFS, v[i].b, CK_ID_SIZE, 1);
	free(v);
	return 0;
}

static int last_seq(struct ck_session *s, uint32_t *ret)
{
	uint8_t prefix[2 + CK_NAME_MAX], key[2 + CK_NAME_MAX + 4];
	size_t plen = ck_key_version_prefix(prefix, s->container);
	size_t klen = ck_key_version(key, s->container, UINT32_MAX);
	struct ck_iter *it = NULL;
	int q;

	q = ck_iter_new(s->r->cat, CK_CF_META, prefix, plen, &it);
	if (q < 0)
		return q;
	ck_iter_seek_for_prev(it, key, klen);
	*ret = 0;
	if (ck_iter_valid(it)) {
		size_t n;
		const uint8_t *k = ck_iter_key(it, &n);

		if (n == plen + 4)
			*ret = ck_get_be32(k + plen);
	}
	q = ck_iter_status(it);
	ck_iter_free(it);
	return q;
}

static void put_list(struct ck_batch *b, const struct ck_sfile *v,
		     size_t n, unsigned view, uint64_t vid)
{
	uint8_t key[9 + CK_PATH_MAX + 5];
	uint8_t val[CK_ENTRY_HDR + CK_PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		const struct ck_entry *e = &v[i].e;
		size_t klen = ck_key_entry(key, view, vid, e->path);
		size_t vlen = ck_entry_encode(e, val);

		ck_batch_put(b, CK_CF_META, key, klen, val, vlen);
		if (e->type != CK_ENTRY_FILE)
			continue;
		for (uint64_t first = 0; first < e->nchunks;
		     first += CK_SEG_CHUNKS) {
			uint64_t cnt = e->nchunks - first;

			if (cnt > CK_SEG_CHUNKS)
				cnt = CK_SEG_CHUNKS;
			klen = ck_key_segment(key, view, vid, e->path,
					      (uint32_t)(first /
							 CK_SEG_CHUNKS));
			if (v[i].lists) {
				uint8_t lv[1 + SEG_LISTS * CK_ID_SIZE];
				size_t nl = (size_t)((cnt + CK_LIST_IDS - 1) /
						     CK_LIST_IDS);

				lv[0] = CK_SEG_LISTED;
				memcpy(lv + 1,
				       v[i].lists + first / CK_LIST_IDS,
				       nl * CK_ID_SIZE);
				ck_batch_put(b, CK_CF_META, key, klen, lv,
					     1 + nl * CK_ID_SIZE);
				continue;
			}
			ck_batch_put(b, CK_CF_META, key, klen, v[i].ids + first,
				     cnt * CK_ID_SIZE);
		}
	}
}

/*
 * Version groups (the thesis's VG, seeds/003 section 3.4): a pre-dump
 * starts a group and the dumps chained to it join it. Full dumps with no
 * parent link (what runs without memory tracking produce) are grouped by
 * count: each joins the previous version's group until that group holds
 * group_size versions. Caller holds r->lock.
 */
static int assign_group(struct ck_session *s, struct ck_version *v)
{
	struct ck_repo *r = s->r;
	struct ck_version pv;
	uint32_t ps;
	int q;

	v->group = v->seq;
	if (v->kind == CK_KIND_PREDUMP)
		return 0;
	if (v->parent[0]) {
		if (ck_repo_version_seq_by_name(r, s->container, v->parent,
						&ps) == 0 &&
		    ck_repo_version_get_seq(r, s->container, ps, &pv) == 0)
			v->group = pv.group;
		return 0;
	}
	if (v->seq == 1)
		return 0;
	q = ck_repo_version_get_seq(r, s->container, v->seq - 1, &pv);
	if (q == -ENOENT)
		return 0; /* the previous version was deleted */
	if (q < 0)
		return q;
	if (v->seq - pv.group < r->settings.group_size)
		v->group = pv.group;
	return 0;
}

int ck_session_commit(struct ck_session *s, struct ck_version *ret)
{
	struct ck_repo *r = s->r;
	struct ck_version v = { 0 };
	struct ck_batch *b = NULL;
	struct timespec ts;
	uint8_t key[3 + 2 * CK_NAME_MAX + 4], seqbuf[4];
	char *json = NULL;
	size_t jlen = 0, klen;
	uint32_t seq;
	int q;

	if (s->committed)
		return -EINVAL;
	q = check_tree(s);
	if (q < 0)
		return q;
	q = put_lists(s);
	if (q < 0)
		return q;
	b = ck_batch_new(r->cat);
	if (!b)
		return -ENOMEM;

	pthread_mutex_lock(&r->lock);
	q = flush_locked(s);
	if (q < 0)
		goto out;
	q = check_reused(s);
	if (q < 0)
		goto out;
	q = ck_repo_version_seq_by_name(r, s->container, s->name, &seq);
	if (q == 0) {
		q = -EEXIST;
		goto out;
	}
	if (q != -ENOENT)
		goto out;
	q = last_seq(s, &seq);
	if (q < 0)
		goto out;
	if (seq == UINT32_MAX) {
		q = -E2BIG;
		goto out;
	}

	v.vid = r->next_vid;
	v.seq = seq + 1;
	strcpy(v.container, s->container);
	strcpy(v.name, s->name);
	clock_gettime(CLOCK_REALTIME, &ts);
	v.created_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	v.logical_bytes = s->logical;
	v.files = s->n;
	classify(s, &v);
	q = assign_group(s, &v);
	if (q < 0)
		goto out;

	q = mark_unused(s, b);
	if (q < 0)
		goto out;
	q = own_chunks(s, b, &v);
	if (q < 0)
		goto out;
	q = add_refs(s, b);
	if (q < 0)
		goto out;
	for (uint32_t j = 0; j < s->njournal; j++) {
		uint8_t jk[32];

		ck_batch_delete(b, CK_CF_META, jk,
				ck_key_journal(jk, r->epoch, s->sid, j));
	}
	put_list(b, s->files, s->n, CK_VIEW_WRITTEN, v.vid);
	put_list(b, s->flat, s->nflat, CK_VIEW_FLAT, v.vid);
	v.chain = s->chain;
	q = ck_version_encode(&v, &json, &jlen);
	if (q < 0)
		goto out;
	klen = ck_key_version(key, v.container, v.seq);
	ck_batch_put(b, CK_CF_META, key, klen, json, jlen);
	klen = ck_key_name(key, v.container, v.name);
	ck_put_be32(seqbuf, v.seq);
	ck_batch_put(b, CK_CF_META, key, klen, seqbuf, sizeof(seqbuf));
	{
		char num[32];
		int nl = snprintf(num, sizeof(num), "%" PRIu64, v.vid + 1);

		ck_batch_put(b, CK_CF_META, CK_KEY_NEXT_VID,
			     strlen(CK_KEY_NEXT_VID), num, (size_t)nl);
	}
	q = ck_catalog_write(r->cat, b, true);
	if (q < 0)
		goto out;
	r->next_vid++;
	s->committed = true;
	if (ret)
		*ret = v;
out:
	pthread_mutex_unlock(&r->lock);
	free(json);
	ck_batch_free(b);
	return q;
}
