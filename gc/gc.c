/* SPDX-License-Identifier: MIT */
/*
 * gc.c - the gc run, and sweeping what interrupted sessions left.
 *
 * Every batch of new chunk records a session writes carries a journal
 * record 'J' epoch session n listing their IDs (session.c flush_locked);
 * the commit deletes the session's journal in its own batch. So the
 * journal names exactly the records that may be garbage, and the sweep
 * costs what was left behind, not what is stored. The chunks a deletion
 * kept at count zero for a session ('Z' keys, delete.c) are reclaimed in
 * the same sweep.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "endian.h"
#include "fsutil.h"
#include "gc.h"
#include "idmap.h"
#include "keys.h"
#include "mem.h"
#include "repo_internal.h"

#define GC_BATCH_VERSIONS 4

struct jkey {
	uint8_t k[21];
};

static bool session_live(struct ck_repo *r, uint64_t epoch, uint64_t sid)
{
	if (epoch < r->epoch)
		return false; /* that writer is gone */
	if (ck_repo_read_only(r))
		return true; /* another process's sessions: cannot tell */
	return ck_repo_session_live(r, sid);
}

/* Deletes the records of one dead journal entry that are still
 * uncounted and not written by a live session. Caller holds r->lock. */
static int sweep_one(struct ck_repo *r, const struct jkey *jk,
		     const uint8_t *ids, size_t n, const struct ck_idmap *live,
		     bool dry_run, uint64_t *chunks, uint64_t *bytes)
{
	struct ck_batch *b = ck_batch_new(r->cat);
	int q = 0;

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct ck_id id;
		void *rec = NULL;
		size_t len = 0;

		memcpy(id.b, ids + i * CK_ID_SIZE, CK_ID_SIZE);
		if (ck_idmap_find(live, &id))
			continue;
		/* A count key means a commit owns it now (even at 0 it
		 * would be handled by deletion, never by the sweep). */
		q = ck_catalog_get(r->cat, CK_CF_REFS, id.b, CK_ID_SIZE, &rec,
				   &len);
		free(rec);
		rec = NULL;
		if (q == 0)
			continue;
		if (q != -ENOENT)
			goto out;
		q = ck_catalog_get(r->cat, CK_CF_CHUNKS, id.b, CK_ID_SIZE,
				   &rec, &len);
		free(rec);
		if (q == -ENOENT) {
			q = 0; /* already gone (swept, or never flushed) */
			continue;
		}
		if (q < 0)
			goto out;
		(*chunks)++;
		*bytes += len;
		ck_batch_delete(b, CK_CF_CHUNKS, id.b, CK_ID_SIZE);
	}
	ck_batch_delete(b, CK_CF_META, jk->k, sizeof(jk->k));
	if (!dry_run)
		q = ck_catalog_write(r->cat, b, true);
out:
	ck_batch_free(b);
	return q;
}

int ck_gc_sweep(struct ck_repo *r, bool dry_run, uint64_t *ret_chunks,
		uint64_t *ret_bytes)
{
	struct ck_idmap live = CK_IDMAP_INIT;
	struct jkey *dead = NULL;
	size_t ndead = 0, cap = 0;
	struct ck_iter *it = NULL;
	uint64_t chunks = 0, bytes = 0;
	int q;

	if (!dry_run && ck_repo_read_only(r))
		return -EROFS;
	pthread_mutex_lock(&r->lock);
	q = ck_iter_new(r->cat, CK_CF_META, "J", 1, &it);
	if (q < 0)
		goto out;
	/* Pass 1: which journal entries are dead; what live ones wrote. */
	for (; ck_iter_valid(it); ck_iter_next(it)) {
		size_t klen, vlen;
		const uint8_t *k = ck_iter_key(it, &klen);
		const uint8_t *v = ck_iter_value(it, &vlen);

		if (klen != sizeof(dead->k) || vlen % CK_ID_SIZE)
			continue;
		if (session_live(r, ck_get_be64(k + 1), ck_get_be64(k + 9))) {
			for (size_t i = 0; i < vlen; i += CK_ID_SIZE) {
				struct ck_id id;
				bool isnew;

				memcpy(id.b, v + i, CK_ID_SIZE);
				if (!ck_idmap_upsert(&live, &id, &isnew)) {
					q = -ENOMEM;
					goto out;
				}
			}
			continue;
		}
		if (CK_GROW(dead, ndead, cap, 64) < 0) {
			q = -ENOMEM;
			goto out;
		}
		memcpy(dead[ndead++].k, k, klen);
	}
	q = ck_iter_status(it);
	it = ck_iter_free(it);
	if (q < 0)
		goto out;
	/* Pass 2: each dead entry in its own atomic batch. */
	for (size_t i = 0; i < ndead && q == 0; i++) {
		void *v = NULL;
		size_t vlen = 0;

		q = ck_catalog_get(r->cat, CK_CF_META, dead[i].k,
				   sizeof(dead[i].k), &v, &vlen);
		if (q == -ENOENT) {
			q = 0;
			continue;
		}
		if (q == 0)
			q = sweep_one(r, &dead[i], v, vlen / CK_ID_SIZE, &live,
				      dry_run, &chunks, &bytes);
		free(v);
	}
out:
	pthread_mutex_unlock(&r->lock);
	ck_iter_free(it);
	ck_idmap_release(&live);
	free(dead);
	if (q == 0) {
		/* What deletions kept for sessions that never committed. */
		uint64_t zc = 0, zb = 0;

		q = ck_repo_reclaim(r, dry_run, &zc, &zb);
		chunks += zc;
		bytes += zb;
	}
	if (q == 0) {
		*ret_chunks = chunks;
		*ret_bytes = bytes;
	}
	return q;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int gc_container(struct ck_repo *r, const char *ctr,
			const struct ck_gc_opts *o, struct ck_gc_report *rep)
{
	struct ck_version *vs = NULL;
	struct ck_delete_report dr = { 0 };
	struct ck_policy p;
	struct timespec ts;
	unsigned *keep = NULL;
	struct ck_version *vids = NULL;
	size_t n = 0, nd = 0;
	int q;

	q = ck_policy_get(r, ctr, &p, NULL);
	if (q < 0)
		return q;
	q = ck_repo_versions(r, ctr, &vs, &n);
	if (q == -ENOENT)
		return 0; /* deleted meanwhile */
	if (q < 0)
		return q;
	keep = calloc(n ? n : 1, sizeof(*keep));
	vids = calloc(n ? n : 1, sizeof(*vids));
	if (!keep || !vids) {
		q = -ENOMEM;
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ck_retention_plan(vs, n, &p,
			  (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, keep);
	for (size_t i = 0; i < n; i++)
		if (!keep[i]) {
			vids[nd++] = vs[i];
			if (o->on_version)
				o->on_version(o->ud, &vs[i]);
		}
	rep->containers++;
	if (o->dry_run) {
		/* Exactly what would go: the whole set at once, since
		 * chunks shared among the deleted versions are freed only
		 * when all of them go. */
		q = ck_repo_versions_delete(r, ctr, vids, nd, true, &dr);
		if (q < 0)
			goto out;
		rep->versions_deleted += dr.versions;
		rep->chunks_freed += dr.chunks_freed;
		rep->bytes_freed += dr.bytes_freed;
		goto out;
	}
	/* A few versions per atomic batch: the lock that ingest also takes
	 * is held for one batch at a time. */
	for (size_t i = 0; i < nd; i += GC_BATCH_VERSIONS) {
		size_t m = nd - i < GC_BATCH_VERSIONS ? nd - i
						      : GC_BATCH_VERSIONS;

		memset(&dr, 0, sizeof(dr));
		q = ck_repo_versions_delete(r, ctr, vids + i, m, false, &dr);
		if (q == -ENOENT)
			q = -EAGAIN; /* a version went meanwhile: rerun */
		if (q < 0)
			goto out;
		rep->versions_deleted += dr.versions;
		rep->chunks_freed += dr.chunks_freed;
		rep->bytes_freed += dr.bytes_freed;
	}
out:
	free(vs);
	free(keep);
	free(vids);
	return q;
}

int ck_gc_run(struct ck_repo *r, const struct ck_gc_opts *o,
	      struct ck_gc_report *ret)
{
	struct ck_gc_report rep = { 0 };
	char(*names)[CK_NAME_MAX + 1] = NULL;
	size_t nn = 0;
	double t0 = now_s();
	int q;

	if (!o->dry_run && ck_repo_read_only(r))
		return -EROFS;
	(void)ck_du(ck_repo_path(r), &rep.disk_before);
	if (o->container) {
		q = ck_name_check(o->container);
		if (q < 0)
			return q;
		q = gc_container(r, o->container, o, &rep);
	} else {
		q = ck_repo_containers(r, &names, &nn);
		for (size_t i = 0; q == 0 && i < nn; i++)
			q = gc_container(r, names[i], o, &rep);
		free(names);
	}
	if (q == 0)
		q = ck_gc_sweep(r, o->dry_run, &rep.garbage_chunks,
				&rep.garbage_bytes);
	if (q == 0 && !o->dry_run && o->compact) {
		bool done;

		/* Also after versions `rm` deleted since the last gc. */
		q = ck_repo_compact(r, rep.versions_deleted ||
					       rep.garbage_chunks,
				    &done);
	}
	(void)ck_du(ck_repo_path(r), &rep.disk_after);
	rep.seconds = now_s() - t0;
	if (q == 0 && ret)
		*ret = rep;
	return q;
}
