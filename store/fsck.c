/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "endian.h"
#include "fsck.h"
#include "idmap.h"
#include "keys.h"
#include "repo_internal.h"

/* Per stored chunk, in the `chunks` map (val = index into info). */
struct cinfo {
	struct ck_id base; /* deltas */
	uint8_t depth;
	bool delta;
	bool bad;     /* corrupt, or depends on something bad */
	bool counted; /* has a refs key */
	uint32_t len;
};

struct fsck {
	struct ck_repo *r;
	ck_fsck_problem_fn fn;
	void *ud;
	int mask;
	struct ck_fsck_report rep;
	struct ck_idmap expected; /* ID -> expected reference count */
	struct ck_idmap chunks;	  /* ID -> index into info */
	struct cinfo *info;
	struct ck_id *cid;
	size_t n, cap;
	uint8_t *buf;
};

const char *ck_fsck_class_text(enum ck_fsck_class cls)
{
	switch (cls) {
#define CK_FSCK_TEXT(name, bit, text)                                       \
	case CK_FSCK_##name:                                                \
		return text;
		CK_FSCK_CLASSES(CK_FSCK_TEXT)
#undef CK_FSCK_TEXT
	}
	return "unknown problem";
}

const char *ck_fsck_class_name(enum ck_fsck_class cls)
{
	switch (cls) {
#define CK_FSCK_NAME(name, bit, text)                                       \
	case CK_FSCK_##name:                                                \
		return #name;
		CK_FSCK_CLASSES(CK_FSCK_NAME)
#undef CK_FSCK_NAME
	}
	return "UNKNOWN";
}

__attribute__((format(printf, 3, 4))) static void
problem(struct fsck *f, enum ck_fsck_class cls, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->mask |= (int)cls;
	f->rep.problems++;
	if (f->fn)
		f->fn(f->ud, cls, msg);
}

static int expect(struct fsck *f, const struct ck_id *id)
{
	struct ck_idmap_slot *sl;
	bool isnew;

	sl = ck_idmap_upsert(&f->expected, id, &isnew);
	if (!sl)
		return -ENOMEM;
	sl->val++;
	return 0;
}

/* One expected reference for each non-zero ID of @ids not in @seen. */
static int expect_ids(struct fsck *f, struct ck_idmap *seen,
		      const struct ck_id *ids, uint64_t n)
{
	for (uint64_t k = 0; k < n; k++) {
		bool isnew;
		int q;

		if (ck_id_is_zero(&ids[k]))
			continue;
		if (!ck_idmap_upsert(seen, &ids[k], &isnew))
			return -ENOMEM;
		if (isnew && (q = expect(f, &ids[k])) < 0)
			return q;
	}
	return 0;
}

/* The list chunks of file @e (format 2) are references of the version
 * too. */
static int expect_lists(struct fsck *f, const struct ck_version *v,
			const struct ck_entry *e, struct ck_idmap *seen)
{
	struct ck_id *lists = NULL;
	size_t n = 0;
	int q;

	q = ck_repo_entry_lists(f->r, v->vid, e, &lists, &n);
	if (q == -EBADMSG) {
		problem(f, CK_FSCK_BAD_CATALOG,
			"file '%s/%s/%s': chunk list is malformed",
			v->container, v->name, e->path);
		return 0;
	}
	if (q == 0)
		q = expect_ids(f, seen, lists, n);
	free(lists);
	return q;
}

/* The files of one view of a version; @seen dedups references across
 * both views (a version counts once per chunk). */
static int check_view(struct fsck *f, const struct ck_version *v,
		      enum ck_view view, struct ck_idmap *seen)
{
	struct ck_entry *es = NULL;
	size_t ne = 0;
	int q;

	q = ck_repo_view_entries(f->r, v->vid, view, &es, &ne);
	if (q == -EBADMSG) {
		problem(f, CK_FSCK_BAD_CATALOG,
			"version '%s/%s': a file record does not parse",
			v->container, v->name);
		return 0;
	}
	if (q < 0)
		return q;
	if (view == CK_VIEW_WRITTEN)
		f->rep.files += ne;
	else if (v->chain == CK_CHAIN_FLATTENED && ne == 0)
		problem(f, CK_FSCK_BAD_CATALOG,
			"version '%s/%s': flattened view is missing",
			v->container, v->name);
	for (size_t j = 0; j < ne && q >= 0; j++) {
		struct ck_id *ids;

		if (es[j].type != CK_ENTRY_FILE || !es[j].nchunks)
			continue;
		ids = malloc(es[j].nchunks * sizeof(*ids));
		if (!ids) {
			q = -ENOMEM;
			break;
		}
		q = ck_repo_entry_chunks(f->r, v->vid, &es[j], 0,
					 (size_t)es[j].nchunks, ids);
		if (q == -EBADMSG) {
			/* The IDs past the damage were not read: count
			 * none of them. */
			problem(f, CK_FSCK_BAD_CATALOG,
				"file '%s/%s/%s': chunk list is malformed",
				v->container, v->name, es[j].path);
			q = 0;
		} else if (q == 0) {
			q = expect_ids(f, seen, ids, es[j].nchunks);
		}
		free(ids);
		if (q == 0)
			q = expect_lists(f, v, &es[j], seen);
	}
	free(es);
	return q;
}

/* Pass 1: versions, entries and segments; expected counts from files. */
static int check_versions(struct fsck *f)
{
	char(*names)[CK_NAME_MAX + 1] = NULL;
	size_t nn = 0;
	int q;

	q = ck_repo_containers(f->r, &names, &nn);
	if (q < 0)
		return q;
	for (size_t c = 0; c < nn; c++) {
		struct ck_version *vs = NULL;
		size_t nv = 0;

		q = ck_repo_versions(f->r, names[c], &vs, &nv);
		if (q == -EBADMSG) {
			problem(f, CK_FSCK_BAD_CATALOG,
				"container '%s': a version record does not "
				"parse",
				names[c]);
			continue;
		}
		if (q < 0)
			goto out;
		for (size_t i = 0; i < nv; i++) {
			struct ck_idmap seen = CK_IDMAP_INIT;

			f->rep.versions++;
			for (unsigned view = 0; view < 2 && q >= 0; view++)
				q = check_view(f, &vs[i], view, &seen);
			ck_idmap_release(&seen);
			if (q < 0) {
				free(vs);
				goto out;
			}
		}
		free(vs);
	}
	q = 0;
out:
	free(names);
	return q;
}

static int add_chunk(struct fsck *f, const struct ck_id *id,
		     struct cinfo **ret)
{
	struct ck_idmap_slot *sl;
	bool isnew;

	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 4096;
		void *ni = realloc(f->info, ncap * sizeof(*f->info));
		void *nc;

		if (!ni)
			return -ENOMEM;
		f->info = ni;
		nc = realloc(f->cid, ncap * sizeof(*f->cid));
		if (!nc)
			return -ENOMEM;
		f->cid = nc;
		f->cap = ncap;
	}
	sl = ck_idmap_upsert(&f->chunks, id, &isnew);
	if (!sl)
		return -ENOMEM;
	sl->val = f->n;
	memset(&f->info[f->n], 0, sizeof(f->info[f->n]));
	f->cid[f->n] = *id;
	*ret = &f->info[f->n++];
	return 0;
}

/* Pass 2: every chunk record; non-deltas are verified here, deltas are
 * noted for pass 3. */
static int scan_chunks(struct fsck *f)
{
	struct ck_iter *it = NULL;
	char hex[CK_ID_HEX_SIZE];
	int q;

	q = ck_iter_new(f->r->cat, CK_CF_CHUNKS, "", 0, &it);
	if (q < 0)
		return q;
	for (; ck_iter_valid(it); ck_iter_next(it)) {
		size_t klen, vlen;
		const void *k = ck_iter_key(it, &klen);
		const void *v = ck_iter_value(it, &vlen);
		struct ck_chunk_hdr h;
		struct cinfo *ci;
		struct ck_id id;

		if (klen != CK_ID_SIZE) {
			problem(f, CK_FSCK_BAD_CATALOG,
				"chunk key of %zu bytes", klen);
			continue;
		}
		memcpy(id.b, k, CK_ID_SIZE);
		q = add_chunk(f, &id, &ci);
		if (q < 0)
			goto out;
		f->rep.chunks++;
		ci->len = (uint32_t)vlen;
		if (ck_chunk_parse(v, vlen, &h) < 0) {
			ci->bad = true;
			problem(f, CK_FSCK_CORRUPT_CHUNK,
				"chunk %s: record header is malformed",
				ck_id_to_hex(&id, hex));
			continue;
		}
		if (h.enc == CK_ENC_DELTA) {
			ci->delta = true;
			ci->depth = h.depth;
			ci->base = h.base;
			f->rep.delta_chunks++;
			continue;
		}
		if (ck_repo_chunk_decode(f->r, &id, v, vlen, f->buf,
					 CK_CHUNK_MAX) < 0) {
			ci->bad = true;
			problem(f, CK_FSCK_CORRUPT_CHUNK,
				"chunk %s: stored bytes fail verification",
				ck_id_to_hex(&id, hex));
		}
	}
	q = ck_iter_status(it);
out:
	ck_iter_free(it);
	return q;
}

/* Pass 4: live deltas, shallowest first, so that a delta whose base is
 * bad is reported as depending on it. Uncounted deltas are garbage. */
static int check_deltas(struct fsck *f)
{
	char hex[CK_ID_HEX_SIZE], bhex[CK_ID_HEX_SIZE];

	for (unsigned d = 1; d <= CK_DELTA_MAX_DEPTH; d++) {
		for (size_t i = 0; i < f->n; i++) {
			struct cinfo *ci = &f->info[i];
			struct ck_idmap_slot *bs;
			int q;

			if (!ci->delta || ci->depth != d || ci->bad ||
			    !ci->counted)
				continue;
			ck_id_to_hex(&f->cid[i], hex);
			ck_id_to_hex(&ci->base, bhex);
			bs = ck_idmap_find(&f->chunks, &ci->base);
			if (!bs) {
				ci->bad = true;
				problem(f, CK_FSCK_BROKEN_DELTA,
					"delta %s: base %s is not stored", hex,
					bhex);
				continue;
			}
			if (f->info[bs->val].bad) {
				ci->bad = true;
				problem(f, CK_FSCK_BROKEN_DELTA,
					"delta %s: base %s is corrupt", hex,
					bhex);
				continue;
			}
			if (f->info[bs->val].depth >= d) {
				ci->bad = true;
				problem(f, CK_FSCK_CORRUPT_CHUNK,
					"delta %s: base %s is not shallower",
					hex, bhex);
				continue;
			}
			q = ck_repo_chunk_read(f->r, &f->cid[i], f->buf,
					       CK_CHUNK_MAX);
			if (q == -ENOMEM)
				return q;
			if (q < 0) {
				ci->bad = true;
				problem(f, CK_FSCK_CORRUPT_CHUNK,
					"chunk %s: stored bytes fail "
					"verification",
					hex);
			}
		}
	}
	return 0;
}

/* Pass 3: which chunks are live (have a refs key); live deltas hold their
 * base. */
static int mark_counted(struct fsck *f)
{
	struct ck_iter *it = NULL;
	int q;

	q = ck_iter_new(f->r->cat, CK_CF_REFS, "", 0, &it);
	if (q < 0)
		return q;
	for (; ck_iter_valid(it); ck_iter_next(it)) {
		size_t klen;
		const void *k = ck_iter_key(it, &klen);
		struct ck_idmap_slot *cs;
		struct ck_id id;

		if (klen != CK_ID_SIZE)
			continue;
		memcpy(id.b, k, CK_ID_SIZE);
		cs = ck_idmap_find(&f->chunks, &id);
		if (!cs)
			continue; /* reported below as missing */
		f->info[cs->val].counted = true;
		if (f->info[cs->val].delta) {
			q = expect(f, &f->info[cs->val].base);
			if (q < 0)
				goto out;
		}
	}
	q = ck_iter_status(it);
out:
	ck_iter_free(it);
	return q;
}

/* Pass 5: stored reference counts against the recomputed ones. */
static int check_refs(struct fsck *f)
{
	struct ck_iter *it = NULL;
	struct ck_idmap_slot *sl;
	char hex[CK_ID_HEX_SIZE];
	int q;

	q = ck_iter_new(f->r->cat, CK_CF_REFS, "", 0, &it);
	if (q < 0)
		return q;
	for (; ck_iter_valid(it); ck_iter_next(it)) {
		size_t klen, vlen;
		const void *k = ck_iter_key(it, &klen);
		const void *v = ck_iter_value(it, &vlen);
		uint64_t want = 0, have;
		struct ck_id id;

		if (klen != CK_ID_SIZE || vlen != 8) {
			problem(f, CK_FSCK_BAD_CATALOG,
				"reference count record is malformed");
			continue;
		}
		memcpy(id.b, k, CK_ID_SIZE);
		have = ck_get_le64(v);
		sl = ck_idmap_find(&f->expected, &id);
		if (sl)
			want = sl->val;
		if (have == 0 && want == 0) {
			/* Kept by a deletion for a session that did not
			 * commit: gc reclaims it (delete.c). */
			struct ck_idmap_slot *cs = ck_idmap_find(&f->chunks,
								 &id);

			if (cs) {
				f->rep.garbage_chunks++;
				f->rep.garbage_bytes += f->info[cs->val].len;
			}
		}
		if (have != want)
			problem(f, CK_FSCK_BAD_REFCOUNT,
				"chunk %s: count is %" PRIu64
				", references are %" PRIu64,
				ck_id_to_hex(&id, hex), have, want);
	}
	q = ck_iter_status(it);
	if (q < 0)
		goto out;

	/* Referenced but not stored, or referenced but uncounted. */
	ck_idmap_foreach(&f->expected, sl) {
		struct ck_idmap_slot *cs = ck_idmap_find(&f->chunks, &sl->id);

		if (!cs)
			problem(f, CK_FSCK_MISSING_CHUNK,
				"chunk %s: referenced %" PRIu64
				" times, not stored",
				ck_id_to_hex(&sl->id, hex), sl->val);
		else if (!f->info[cs->val].counted)
			problem(f, CK_FSCK_BAD_REFCOUNT,
				"chunk %s: referenced %" PRIu64
				" times, has no count",
				ck_id_to_hex(&sl->id, hex), sl->val);
	}
	for (size_t i = 0; i < f->n; i++)
		if (!f->info[i].counted &&
		    !ck_idmap_find(&f->expected, &f->cid[i])) {
			f->rep.garbage_chunks++;
			f->rep.garbage_bytes += f->info[i].len;
		}
out:
	ck_iter_free(it);
	return q;
}

int ck_fsck(struct ck_repo *r, ck_fsck_problem_fn fn, void *ud,
	    struct ck_fsck_report *ret)
{
	struct fsck f = { .r = r, .fn = fn, .ud = ud };
	int q;

	f.buf = malloc(CK_CHUNK_MAX);
	if (!f.buf)
		return -ENOMEM;
	q = check_versions(&f);
	if (q == 0)
		q = scan_chunks(&f);
	if (q == 0)
		q = mark_counted(&f);
	if (q == 0)
		q = check_deltas(&f);
	if (q == 0)
		q = check_refs(&f);
	if (q == 0 && ret)
		*ret = f.rep;
	free(f.buf);
	free(f.info);
	free(f.cid);
	ck_idmap_release(&f.expected);
	ck_idmap_release(&f.chunks);
	return q < 0 ? q : f.mask;
}
